//! Several storage commands in flight (issue #3): OUT and FLUSH requests
//! park while storage works, so the next request starts at once, and their
//! completions, which storage returns in any order, finish them in that
//! order (virtio 1.2 §2.7.8: without IN_ORDER the device may use buffers
//! in any order).

mod engine_common;

use engine_common::*;
use vfpga_abi::blk::{req, status};
use vfpga_hdl::blk::request::PARKED;
use vfpga_hdl::testbench::BenchConfig;

#[test]
fn spec_2_7_8_out_requests_complete_out_of_order_with_storage_commands_overlapping() {
    let cfg = BenchConfig {
        sto_latency: 100,
        sto_jitter: 3000,
        seed: 7,
        ..BenchConfig::default()
    };
    let mut d = Blk::new(cfg, 64);
    let reqs: Vec<_> = (0..12)
        .map(|i| d.submit(0, req::OUT, i * 8, &[4096]))
        .collect();
    let flush = d.submit(0, req::FLUSH, 0, &[]);
    d.kick(0);
    let used = d.vq[0].used;
    let mut most = 0;
    assert!(d.b.run_until(200_000, |b| {
        most = most.max(b.sto.outstanding());
        b.mem.read_u16(used + 2) == 13 || b.e.error.val()
    }));
    assert!(!d.b.e.error.val(), "engine fault {:?}", d.b.error());
    for (i, r) in reqs.iter().enumerate() {
        d.check(r, i as u16, status::OK);
        d.check_order(r, i as u16);
    }
    d.check(&flush, 12, status::OK);
    assert!(
        most > 1 && most <= PARKED,
        "storage commands in flight at once: {most} (at most {PARKED} parked)"
    );
    let order: Vec<u32> = (0..13).map(|i| d.vq[0].used_elem(&d.b.mem, i).0).collect();
    let submitted: Vec<u32> = reqs
        .iter()
        .chain([&flush])
        .map(|r| u32::from(r.head))
        .collect();
    assert_ne!(order, submitted, "completions overtook each other");
    assert!(d.settle(20_000), "idle once every parked request is used");
}

#[test]
fn in_after_parked_out_reads_the_written_data() {
    // A read submitted behind writes to the same sectors sees their data:
    // storage takes a write's data before the next request starts.
    let cfg = BenchConfig {
        sto_latency: 300,
        sto_jitter: 300,
        ..BenchConfig::default()
    };
    let mut d = Blk::new(cfg, 64);
    let w = d.submit(0, req::OUT, 16, &[2048]);
    let r = d.submit(0, req::IN, 16, &[2048]);
    d.kick(0);
    assert!(d.run_until_used(0, 2, 100_000));
    d.check(&w, 0, status::OK);
    d.check(&r, 1, status::OK);
    assert_eq!(
        d.b.mem.read(r.data[0].addr, 2048),
        d.b.mem.read(w.data[0].addr, 2048)
    );
}
