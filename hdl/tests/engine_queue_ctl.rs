//! The per-queue controls the register file drives: `q_run` (stop fetching
//! new chains, finish those in flight) and `q_set_idx` (load the indices of
//! a stopped, empty queue, e.g. for migration).

mod engine_common;

use engine_common::*;
use vfpga_abi::blk::{req, status};
use vfpga_hdl::testbench::BenchConfig;

#[test]
fn q_run_low_fetches_nothing_and_keeps_the_doorbell() {
    let mut d = Blk::new(BenchConfig::default(), 16);
    d.b.set_run(0, false);
    let r = d.submit(0, req::IN, 0, &[512]);
    d.kick(0);
    d.b.run(1000);
    assert!(d.b.mem.reads.is_empty(), "DMA while the queue is stopped");
    assert!(d.b.quiet());
    d.b.set_run(0, true);
    assert!(d.run_until_used(0, 1, 20_000));
    d.check(&r, 0, status::OK);
}

#[test]
fn q_run_low_finishes_chains_in_flight() {
    let mut d = Blk::new(BenchConfig::default(), 16);
    let reqs: Vec<_> = (0..3)
        .map(|i| d.submit(0, req::IN, i * 4, &[2048]))
        .collect();
    d.kick(0);
    // Stop as soon as the heads are fetched: the chains still complete.
    assert!(d.b.run_until(5_000, |b| b.e.q_inflight_0.val().to_u64() == 3));
    d.b.set_run(0, false);
    assert!(d.run_until_used(0, 3, 30_000));
    assert!(d.settle(5_000));
    for (i, r) in reqs.iter().enumerate() {
        d.check(r, i as u16, status::OK);
    }
    assert_eq!(d.b.e.q_inflight_0.val().to_u64(), 0);
    // A new chain while stopped is not fetched.
    d.submit(0, req::IN, 0, &[512]);
    d.kick(0);
    d.b.run(1000);
    assert_eq!(d.vq[0].used_idx(&d.b.mem), 3);
    assert_eq!(d.b.e.q_last_avail_0.val().to_u64(), 3);
}

#[test]
fn q_set_idx_loads_a_stopped_queue() {
    let mut d = Blk::new(BenchConfig::default(), 16);
    d.b.set_run(1, false);
    // The driver's side of a queue that already moved 5 entries.
    d.vq[1].avail_idx = 5;
    d.b.mem.write_u16(d.vq[1].used + 2, 5);
    d.b.set_indices(1, 5, 5);
    d.b.run(2);
    assert_eq!(d.b.e.q_last_avail_1.val().to_u64(), 5);
    assert_eq!(d.b.e.q_used_idx_1.val().to_u64(), 5);
    let r = d.submit(1, req::IN, 3, &[1024]);
    d.b.set_run(1, true);
    d.kick(1);
    assert!(d.run_until_used(1, 6, 20_000));
    d.check(&r, 5, status::OK);
    assert_eq!(d.b.e.q_last_avail_1.val().to_u64(), 6);
}

#[test]
fn q_set_idx_is_ignored_while_running() {
    let mut d = Blk::new(BenchConfig::default(), 16);
    d.b.set_indices(0, 9, 9);
    d.b.run(2);
    assert_eq!(d.b.e.q_last_avail_0.val().to_u64(), 0);
    assert_eq!(d.b.e.q_used_idx_0.val().to_u64(), 0);
}

#[test]
fn spec_2_7_indices_wrap_at_65536() {
    let mut d = Blk::new(
        BenchConfig {
            event_idx: true,
            ..Default::default()
        },
        16,
    );
    d.b.set_run(0, false);
    d.vq[0].avail_idx = 65534;
    d.b.mem.write_u16(d.vq[0].used + 2, 65534);
    d.vq[0].set_used_event(&mut d.b.mem, 65535);
    d.b.set_indices(0, 65534, 65534);
    d.b.run(2);
    let reqs: Vec<_> = (0..4).map(|i| d.submit(0, req::IN, i, &[512])).collect();
    d.b.set_run(0, true);
    d.kick(0);
    assert!(d.run_until_used(0, 2, 30_000));
    assert!(d.settle(5_000));
    for (i, r) in reqs.iter().enumerate() {
        d.check(r, 65534u16.wrapping_add(i as u16), status::OK);
    }
    assert_eq!(d.b.e.q_last_avail_0.val().to_u64(), 2);
    assert_eq!(d.vq[0].avail_event(&d.b.mem), 2);
    // used_event 65535: exactly one interrupt, when used.idx went 65535 -> 0.
    assert_eq!(d.b.irqs.len(), 1);
}
