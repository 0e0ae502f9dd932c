//! Seeded random stress: random stalls on every channel, random DMA and
//! storage latency (so completions come back out of order), random request
//! mixes, segment layouts, indirect tables, both queues, ring wrap-around.
//! Every used element, status byte and data byte is checked against the
//! spec as the driver sees it.

mod engine_common;

use engine_common::*;
use std::collections::VecDeque;
use vfpga_abi::blk::{req, status};
use vfpga_hdl::testbench::{BenchConfig, Buffer, XorShift};

const QSIZE: u16 = 32;

struct Pending {
    r: Req,
    descs: u16,
    expect: u8,
}

/// Splits `total` bytes into 1..=4 random non-empty pieces.
fn split(rng: &mut XorShift, total: u32) -> Vec<u32> {
    let n = 1 + rng.below(4) as usize;
    let mut cuts: Vec<u32> = (0..n - 1)
        .map(|_| 1 + rng.below(total as u64 - 1) as u32)
        .collect();
    cuts.sort();
    cuts.dedup();
    let mut out = Vec::new();
    let mut prev = 0;
    for c in cuts.into_iter().chain(std::iter::once(total)) {
        out.push(c - prev);
        prev = c;
    }
    out
}

fn stress(seed: u64, n: usize, event_idx: bool) {
    let cfg = BenchConfig {
        seed,
        dma_jitter: 250,
        dma_ready_pct: 70,
        sto_jitter: 80,
        sto_ready_pct: 60,
        irq_ready_pct: 50,
        event_idx,
        ..Default::default()
    };
    let mut d = Blk::new(cfg, QSIZE);
    let mut rng = XorShift::new(seed);
    let mut pending: [VecDeque<Pending>; 2] = [VecDeque::new(), VecDeque::new()];
    let mut in_flight = [0u16; 2];
    let mut pos = [0u16; 2];
    let mut submitted = 0;
    let mut done = 0;
    let mut next_out = 1024u64;
    let mut written: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut guard = 0u64;
    while done < n {
        guard += 1;
        assert!(guard < 20_000, "stress made no progress");
        // Submit a few requests.
        for _ in 0..rng.below(4) {
            if submitted == n {
                break;
            }
            let q = rng.below(2) as usize;
            let pick = rng.below(100);
            let (typ, sector, segs, expect) = if pick < 50 {
                let k = 1 + rng.below(8) as u32;
                (
                    req::IN,
                    rng.below(1000),
                    split(&mut rng, 512 * k),
                    status::OK,
                )
            } else if pick < 75 {
                let k = 1 + rng.below(8) as u32;
                let s = next_out;
                next_out += k as u64;
                (req::OUT, s, split(&mut rng, 512 * k), status::OK)
            } else if pick < 82 {
                (req::FLUSH, 0, vec![], status::OK)
            } else if pick < 89 {
                let l = 1 + rng.below(30) as u32;
                (req::GET_ID, 0, split(&mut rng, l.max(2)), status::OK)
            } else if pick < 94 {
                (3, 0, vec![512], status::UNSUPP)
            } else {
                (req::IN, 2048 - rng.below(2), vec![1024], status::IOERR)
            };
            let indirect = rng.chance(30);
            let descs = if indirect { 1 } else { segs.len() as u16 + 2 };
            if in_flight[q] + descs > QSIZE {
                continue;
            }
            let r = if indirect {
                let hdr = d.alloc(16);
                d.b.mem.write(hdr, &header(typ, sector));
                let write = typ != req::OUT;
                let mut data = Vec::new();
                for &l in &segs {
                    let a = d.alloc_at(l, rng.below(4096));
                    let fill: Vec<u8> = (0..l)
                        .map(|i| {
                            if write {
                                0xee
                            } else {
                                (i * 31 + seed as u32) as u8
                            }
                        })
                        .collect();
                    d.b.mem.write(a, &fill);
                    data.push(Buffer {
                        addr: a,
                        len: l,
                        write,
                    });
                }
                let st = d.alloc(1);
                d.b.mem.write(st, &[0xee]);
                let mut bufs = vec![Buffer::r(hdr, 16)];
                bufs.extend_from_slice(&data);
                bufs.push(Buffer::w(st, 1));
                let table = d.alloc(16 * bufs.len() as u32);
                let head = d.vq[q].add_indirect(&mut d.b.mem, table, &bufs);
                d.vq[q].make_available(&mut d.b.mem, head);
                Req {
                    q,
                    head,
                    typ,
                    sector,
                    hdr,
                    data,
                    status: st,
                }
            } else {
                let offs: Vec<u64> = (0..4).map(|_| rng.below(4096)).collect();
                d.submit_at(q, typ, sector, &segs, &offs)
            };
            if typ == req::OUT {
                let mut bytes = Vec::new();
                for b in &r.data {
                    bytes.extend(d.b.mem.read(b.addr, b.len as usize));
                }
                written.push((sector, bytes));
            }
            in_flight[q] += descs;
            pending[q].push_back(Pending { r, descs, expect });
            submitted += 1;
            if rng.chance(60) {
                d.kick(q);
            }
        }
        // Run a while, then kick every queue with work so nothing starves.
        d.b.run(rng.below(300));
        for (q, p) in pending.iter().enumerate() {
            if !p.is_empty() && rng.chance(30) {
                d.kick(q);
            }
        }
        assert!(!d.b.e.error.val(), "engine fault {:?}", d.b.error());
        // Check what the device returned, in ring order. Requests may
        // complete out of order (OUT and FLUSH park while storage works):
        // each used element names its request by head index.
        for q in 0..2 {
            while d.vq[q].used_idx(&d.b.mem) != pos[q] {
                let (id, _) = d.vq[q].used_elem(&d.b.mem, pos[q]);
                let k = pending[q]
                    .iter()
                    .position(|p| p.r.head as u32 == id)
                    .expect("used entry without a request");
                let p = pending[q].remove(k).expect("found above");
                d.check(&p.r, pos[q], p.expect);
                d.check_order(&p.r, pos[q]);
                in_flight[q] -= p.descs;
                pos[q] = pos[q].wrapping_add(1);
                done += 1;
            }
        }
    }
    assert!(d.settle(20_000));
    for (sector, bytes) in &written {
        let s = *sector as usize * 512;
        assert_eq!(
            &d.b.sto.disk[s..s + bytes.len()],
            &bytes[..],
            "OUT data on disk"
        );
    }
    assert_eq!(d.b.e.cnt_requests.val().to_u64(), n as u64);
    assert_eq!(
        d.b.e.q_inflight_0.val().to_u64() + d.b.e.q_inflight_1.val().to_u64(),
        0
    );
    if !event_idx {
        assert_eq!(
            d.b.irqs.len(),
            n,
            "one interrupt per used buffer without EVENT_IDX"
        );
    } else {
        assert!(!d.b.irqs.is_empty());
    }
}

#[test]
fn stress_random_seed_1() {
    stress(1, 80, false);
}

#[test]
fn stress_random_seed_2_event_idx() {
    stress(2, 80, true);
}

#[test]
fn stress_random_seed_3() {
    stress(0xdead_beef, 80, false);
}
