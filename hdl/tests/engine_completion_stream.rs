//! The DMA read-completion stream is shared by every client of the engine
//! (avail fetch, chain walker, blk data reader, used writer), and the host
//! delivers it in order: a completion one client holds blocks all the
//! others. No client may hold a completion while it waits for another
//! client's progress. Found with a Linux guest, whose multi-segment writes
//! filled the walker's segment FIFO while the blk stage waited on data reads
//! queued behind the walker's next descriptor window.

mod engine_common;

use engine_common::*;
use vfpga_abi::blk::{req, status};
use vfpga_hdl::testbench::{BenchConfig, Buffer};

/// Segments per request, and requests: together more segments than the
/// engine's segment FIFO holds (128), all made available before one kick.
const SEGS: usize = 24;
const REQS: u16 = 9;

/// A request whose header, data and status buffers are in an indirect
/// table, as Linux lays out its multi-segment requests.
fn submit_indirect(d: &mut Blk, typ: u32, sector: u64) -> Req {
    let hdr = d.alloc(16);
    d.b.mem.write(hdr, &header(typ, sector));
    let write = typ != req::OUT;
    let data: Vec<Buffer> = (0..SEGS)
        .map(|_| {
            let addr = d.alloc(512);
            let fill: Vec<u8> = (0..512u32)
                .map(|i| (addr as u32 + i * 5 + 1) as u8)
                .collect();
            d.b.mem.write(addr, &fill);
            Buffer {
                addr,
                len: 512,
                write,
            }
        })
        .collect();
    let status = d.alloc(1);
    d.b.mem.write(status, &[0xee]);
    let mut bufs = vec![Buffer::r(hdr, 16)];
    bufs.extend_from_slice(&data);
    bufs.push(Buffer::w(status, 1));
    let table = d.alloc(16 * bufs.len() as u32);
    let head = d.vq[0].add_indirect(&mut d.b.mem, table, &bufs);
    d.vq[0].make_available(&mut d.b.mem, head);
    Req {
        q: 0,
        head,
        typ,
        sector,
        hdr,
        data,
        status,
    }
}

fn many_long_chains(typ: u32, cfg: BenchConfig) {
    let mut d = Blk::new(cfg, 256);
    let segs = [512u32; SEGS];
    let reqs: Vec<_> = (0..REQS)
        .map(|i| {
            let sector = u64::from(i) * SEGS as u64;
            if cfg.indirect && i % 2 == 1 {
                submit_indirect(&mut d, typ, sector)
            } else {
                d.submit(0, typ, sector, &segs)
            }
        })
        .collect();
    d.kick(0);
    assert!(
        d.run_until_used(0, REQS, 2_000_000),
        "stalled with {} of {REQS} requests used (error: {:?})",
        d.b.mem.read_u16(d.vq[0].used + 2),
        d.b.error()
    );
    for (i, r) in reqs.iter().enumerate() {
        d.check(r, i as u16, status::OK);
    }
}

/// Slow storage: the blk stage lags, and the walker runs ahead until the
/// segment FIFO is full.
fn slow_storage() -> BenchConfig {
    BenchConfig {
        sto_latency: 3000,
        ..BenchConfig::default()
    }
}

#[test]
fn spec_2_7_5_long_out_chains_beyond_the_segment_fifo_complete() {
    many_long_chains(req::OUT, slow_storage());
}

#[test]
fn spec_2_7_5_long_in_chains_beyond_the_segment_fifo_complete() {
    many_long_chains(req::IN, slow_storage());
}

#[test]
fn spec_2_7_5_long_chains_with_random_stalls_and_completion_order() {
    for seed in 1..=3 {
        let cfg = BenchConfig {
            seed,
            dma_jitter: 200,
            sto_latency: 2000,
            dma_ready_pct: 70,
            sto_ready_pct: 60,
            sto_jitter: 100,
            ..BenchConfig::default()
        };
        many_long_chains(if seed % 2 == 0 { req::IN } else { req::OUT }, cfg);
    }
}
