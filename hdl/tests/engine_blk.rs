//! virtio-blk requests through the whole engine (virtio 1.2 §5.2.6), with
//! host memory behind a 125-cycle DMA latency and storage with its own.

mod engine_common;

use engine_common::*;
use vfpga_abi::blk::{req, status};
use vfpga_hdl::testbench::{BenchConfig, Buffer};

fn blk() -> Blk {
    Blk::new(BenchConfig::default(), 64)
}

#[test]
fn spec_5_2_6_in_reads_sectors_into_the_buffers() {
    let mut d = blk();
    let r = d.submit(0, req::IN, 8, &[4096]);
    d.kick(0);
    assert!(d.run_until_used(0, 1, 20_000));
    d.check(&r, 0, status::OK);
    d.check_order(&r, 0);
    // The notification follows used.idx (after a read of avail.flags).
    assert!(d.b.run_until(1000, |b| !b.irqs.is_empty()));
    assert_eq!(d.b.irqs.len(), 1);
    assert_eq!((d.b.irqs[0].1, d.b.irqs[0].2), (0, 1), "queue 0's vector");
    assert!(d.settle(2000));
    assert_eq!(d.b.e.q_inflight_0.val().to_u64(), 0);
    assert_eq!(d.b.e.q_last_avail_0.val().to_u64(), 1);
    assert_eq!(d.b.e.q_used_idx_0.val().to_u64(), 1);
    assert_eq!(d.b.e.cnt_requests.val().to_u64(), 1);
    assert_eq!(d.b.e.cnt_bytes_written.val().to_u64(), 4097);
    assert_eq!(d.b.e.cnt_notifies.val().to_u64(), 1);
}

#[test]
fn spec_5_2_6_out_writes_the_buffers_to_storage() {
    let mut d = blk();
    let r = d.submit(0, req::OUT, 3, &[1024]);
    d.kick(0);
    assert!(d.run_until_used(0, 1, 20_000));
    d.check(&r, 0, status::OK);
    d.check_order(&r, 0);
    assert_eq!(d.b.sto.log.len(), 1);
    assert_eq!(
        (d.b.sto.log[0].op, d.b.sto.log[0].sector, d.b.sto.log[0].len),
        (1, 3, 1024)
    );
    assert!(d.settle(2000));
    assert_eq!(d.b.e.cnt_bytes_read.val().to_u64(), 1024);
    // Nothing but the status byte and the used ring was written.
    assert_eq!(d.b.mem.writes.len(), 3);
}

#[test]
fn spec_5_2_6_multi_segment_requests_at_any_alignment() {
    // Segment sizes and buffer offsets that are not multiples of the
    // 16-byte beat: every boundary re-aligns the stream.
    let mut d = blk();
    let segs = [100, 412, 1536, 7, 505, 4096, 3, 509];
    let offs = [3, 4090, 17, 0, 2049, 4095, 8, 1];
    let w = d.submit_at(0, req::OUT, 40, &segs, &offs);
    let r = d.submit_at(1, req::IN, 40, &segs, &offs[1..]);
    d.kick(0);
    assert!(d.run_until_used(0, 1, 40_000));
    d.kick(1);
    assert!(d.run_until_used(1, 1, 40_000));
    d.check(&w, 0, status::OK);
    d.check(&r, 0, status::OK);
    d.check_order(&r, 0);
    // The IN read back what the OUT wrote, byte for byte.
    let mut wrote = Vec::new();
    for b in &w.data {
        wrote.extend(d.b.mem.read(b.addr, b.len as usize));
    }
    let mut read = Vec::new();
    for b in &r.data {
        read.extend(d.b.mem.read(b.addr, b.len as usize));
    }
    assert_eq!(wrote, read);
}

#[test]
fn spec_5_2_6_max_segments() {
    // SEG_MAX data buffers plus header and status: a queue of 128 holds it.
    let mut d = Blk::new(BenchConfig::default(), 128);
    let segs = vec![512u32; vfpga_abi::blk::SEG_MAX as usize];
    let r = d.submit(0, req::IN, 0, &segs);
    d.kick(0);
    assert!(d.run_until_used(0, 1, 100_000));
    d.check(&r, 0, status::OK);
}

#[test]
fn spec_5_2_6_flush() {
    let mut d = blk();
    let r = d.submit(0, req::FLUSH, 0, &[]);
    d.kick(0);
    assert!(d.run_until_used(0, 1, 20_000));
    d.check(&r, 0, status::OK);
    assert_eq!(d.b.sto.flushes, 1);
}

#[test]
fn spec_5_2_6_get_id_returns_the_id_string() {
    let mut d = blk();
    let r = d.submit(0, req::GET_ID, 0, &[20]);
    // Short buffers get a prefix, split buffers the string across them.
    let s = d.submit(0, req::GET_ID, 0, &[5]);
    let t = d.submit_at(0, req::GET_ID, 0, &[7, 13], &[4093, 1]);
    d.kick(0);
    assert!(d.run_until_used(0, 3, 30_000));
    d.check(&r, 0, status::OK);
    d.check(&s, 1, status::OK);
    d.check(&t, 2, status::OK);
    assert!(d.b.sto.log.is_empty(), "GET_ID does not touch storage");
}

#[test]
fn spec_5_2_6_unknown_type_is_unsupp() {
    let mut d = blk();
    let r = d.submit(0, 77, 0, &[512]);
    let s = d.submit(0, 11, 0, &[]); // DISCARD: not offered
    d.kick(0);
    assert!(d.run_until_used(0, 2, 20_000));
    d.check(&r, 0, status::UNSUPP);
    d.check(&s, 1, status::UNSUPP);
    assert!(d.b.sto.log.is_empty());
}

#[test]
fn spec_5_2_6_beyond_capacity_is_ioerr_without_touching_storage() {
    let mut d = blk();
    let cap = 2048;
    let a = d.submit(0, req::IN, cap - 1, &[1024]);
    let b = d.submit(0, req::OUT, cap, &[512]);
    let c = d.submit(0, req::IN, u64::MAX - 1, &[1024]);
    let e = d.submit(0, req::IN, cap - 2, &[1024]); // exactly the last two sectors: fine
    d.kick(0);
    assert!(d.run_until_used(0, 4, 40_000));
    d.check(&a, 0, status::IOERR);
    d.check(&b, 1, status::IOERR);
    d.check(&c, 2, status::IOERR);
    d.check(&e, 3, status::OK);
    assert_eq!(d.b.sto.log.len(), 1);
    assert_eq!(d.b.sto.disk, d.disk0);
}

#[test]
fn spec_5_2_6_partial_sector_is_ioerr() {
    let mut d = blk();
    let a = d.submit(0, req::IN, 0, &[100]);
    let b = d.submit(0, req::OUT, 0, &[513]);
    d.kick(0);
    assert!(d.run_until_used(0, 2, 20_000));
    d.check(&a, 0, status::IOERR);
    d.check(&b, 1, status::IOERR);
    assert!(d.b.sto.log.is_empty());
}

#[test]
fn spec_5_2_6_storage_error_is_reported_in_the_status() {
    let mut d = blk();
    d.b.sto.bad_sectors.push(5);
    let a = d.submit(0, req::OUT, 4, &[1024]);
    let b = d.submit(0, req::IN, 0, &[512]);
    d.kick(0);
    assert!(d.run_until_used(0, 2, 20_000));
    d.check(&a, 0, status::IOERR);
    d.check(&b, 1, status::OK);
}

#[test]
fn spec_5_2_6_header_and_data_share_descriptors() {
    // Header plus OUT data in one readable descriptor; IN data plus the
    // status byte in one writable descriptor: the framing is free (§2.6.4).
    let mut d = blk();
    let hdr = d.alloc(16 + 512);
    let mut bytes = header(req::OUT, 9);
    bytes.extend((0..512u32).map(|i| (i * 3) as u8));
    d.b.mem.write(hdr, &bytes);
    let st = d.alloc(1);
    let h = d.vq[0].add_chain(&mut d.b.mem, &[Buffer::r(hdr, 528), Buffer::w(st, 1)]);
    d.vq[0].make_available(&mut d.b.mem, h);
    let hdr2 = d.alloc(16);
    d.b.mem.write(hdr2, &header(req::IN, 9));
    let buf = d.alloc(513);
    let h2 = d.vq[0].add_chain(&mut d.b.mem, &[Buffer::r(hdr2, 16), Buffer::w(buf, 513)]);
    d.vq[0].make_available(&mut d.b.mem, h2);
    d.kick(0);
    assert!(d.run_until_used(0, 2, 20_000));
    assert_eq!(d.vq[0].used_elem(&d.b.mem, 0), (h as u32, 1));
    assert_eq!(d.vq[0].used_elem(&d.b.mem, 1), (h2 as u32, 513));
    assert_eq!(d.b.mem.read(st, 1), vec![0]);
    assert_eq!(d.b.mem.read(buf, 512), bytes[16..].to_vec());
    assert_eq!(d.b.mem.read(buf + 512, 1), vec![0]);
}

#[test]
fn spec_2_7_5_3_indirect_descriptors() {
    let mut d = blk();
    let hdr = d.alloc(16);
    d.b.mem.write(hdr, &header(req::IN, 12));
    let a = d.alloc_at(700, 100);
    let b2 = d.alloc_at(324, 3000);
    let st = d.alloc(1);
    let table = d.alloc(64);
    let bufs = [
        Buffer::r(hdr, 16),
        Buffer::w(a, 700),
        Buffer::w(b2, 324),
        Buffer::w(st, 1),
    ];
    let h = d.vq[0].add_indirect(&mut d.b.mem, table, &bufs);
    d.vq[0].make_available(&mut d.b.mem, h);
    d.kick(0);
    assert!(d.run_until_used(0, 1, 20_000));
    assert_eq!(d.vq[0].used_elem(&d.b.mem, 0), (h as u32, 1025));
    let disk = &d.b.sto.disk[12 * 512..13 * 512 + 512];
    assert_eq!(d.b.mem.read(a, 700), disk[..700].to_vec());
    assert_eq!(d.b.mem.read(b2, 324), disk[700..].to_vec());
    assert_eq!(d.b.mem.read(st, 1), vec![0]);
}

#[test]
fn spec_2_7_13_both_queues_and_many_requests() {
    let mut d = blk();
    let mut reqs = Vec::new();
    for i in 0..12u64 {
        let q = (i % 2) as usize;
        let typ = if i % 3 == 0 { req::OUT } else { req::IN };
        reqs.push(d.submit(q, typ, i * 16, &[512 * (1 + i as u32 % 4)]));
    }
    d.kick(0);
    d.kick(1);
    assert!(d.run_until_used(0, 6, 100_000));
    assert!(d.run_until_used(1, 6, 100_000));
    let mut pos = [0u16; 2];
    for r in &reqs {
        d.check(r, pos[r.q], status::OK);
        d.check_order(r, pos[r.q]);
        pos[r.q] += 1;
    }
    assert!(d.settle(5000));
    assert_eq!(d.b.e.cnt_requests.val().to_u64(), 12);
}

#[test]
fn out_data_reads_overlap_on_eight_tags_completing_out_of_order() {
    // A 16 KiB OUT in odd-sized buffers with completions reordered by
    // latency jitter: the data reaches storage in order all the same.
    let cfg = BenchConfig {
        dma_jitter: 300,
        ..Default::default()
    };
    let mut d = Blk::new(cfg, 64);
    let w = d.submit_at(0, req::OUT, 100, &[5000, 3192, 8192], &[7, 3001, 0]);
    d.kick(0);
    assert!(d.run_until_used(0, 1, 40_000));
    d.check(&w, 0, status::OK);
    assert_eq!(d.b.mem.max_reads_in_flight, 8);
    let data_reads: Vec<_> =
        d.b.mem
            .reads
            .iter()
            .filter(|r| r.tag >= 16 && r.tag < 24)
            .collect();
    assert!(data_reads.iter().all(|r| r.len <= 512));
    assert_eq!(data_reads.iter().map(|r| r.len as u32).sum::<u32>(), 16384);
}
