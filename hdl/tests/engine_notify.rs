//! Notification suppression in both directions (virtio 1.2 §2.7.7, §2.7.10)
//! and the interrupt request channel.

mod engine_common;

use engine_common::*;
use vfpga_abi::blk::{req, status};
use vfpga_abi::ring::AVAIL_F_NO_INTERRUPT;
use vfpga_hdl::testbench::BenchConfig;

fn event_idx() -> BenchConfig {
    BenchConfig {
        event_idx: true,
        ..Default::default()
    }
}

/// Submits one IN on `q`, kicks, waits for its used entry and for the
/// engine to settle; returns the number of interrupt requests so far.
fn one(d: &mut Blk, q: usize, n: u16) -> usize {
    let r = d.submit(q, req::IN, n as u64, &[512]);
    d.kick(q);
    assert!(d.run_until_used(q, n + 1, 20_000));
    assert!(d.settle(5_000));
    d.check(&r, n, status::OK);
    d.b.irqs.len()
}

#[test]
fn spec_2_7_10_no_interrupt_flag_suppresses_interrupts() {
    let mut d = Blk::new(BenchConfig::default(), 16);
    d.vq[0].set_avail_flags(&mut d.b.mem, AVAIL_F_NO_INTERRUPT);
    assert_eq!(one(&mut d, 0, 0), 0);
    assert_eq!(one(&mut d, 0, 1), 0);
    d.vq[0].set_avail_flags(&mut d.b.mem, 0);
    assert_eq!(one(&mut d, 0, 2), 1);
    assert_eq!((d.b.irqs[0].1, d.b.irqs[0].2), (0, 1));
}

#[test]
fn spec_2_7_10_used_event_decides_the_interrupt() {
    let mut d = Blk::new(event_idx(), 16);
    // The driver wants to hear when used.idx passes 2 (i.e. becomes 3).
    d.vq[1].set_used_event(&mut d.b.mem, 2);
    // With EVENT_IDX the NO_INTERRUPT flag is ignored (§2.7.10).
    d.vq[1].set_avail_flags(&mut d.b.mem, AVAIL_F_NO_INTERRUPT);
    assert_eq!(one(&mut d, 1, 0), 0);
    assert_eq!(one(&mut d, 1, 1), 0);
    assert_eq!(one(&mut d, 1, 2), 1);
    assert_eq!(one(&mut d, 1, 3), 1);
    assert_eq!((d.b.irqs[0].1, d.b.irqs[0].2), (1, 2), "queue 1's vector");
    // Moving used_event ahead again re-arms it.
    d.vq[1].set_used_event(&mut d.b.mem, 4);
    assert_eq!(one(&mut d, 1, 4), 2);
}

#[test]
fn spec_2_7_10_avail_event_follows_consumption() {
    let mut d = Blk::new(event_idx(), 16);
    for i in 0..3 {
        d.submit(0, req::IN, i, &[512]);
    }
    d.kick(0);
    assert!(d.run_until_used(0, 3, 30_000));
    assert!(d.settle(5_000));
    assert_eq!(d.vq[0].avail_event(&d.b.mem), 3);
    // Without EVENT_IDX the field is never written.
    let mut e = Blk::new(BenchConfig::default(), 16);
    e.submit(0, req::IN, 0, &[512]);
    e.kick(0);
    assert!(e.run_until_used(0, 1, 20_000));
    assert!(e.settle(5_000));
    assert_eq!(e.vq[0].avail_event(&e.b.mem), 0);
}

#[test]
fn spec_2_7_10_entries_added_while_busy_are_seen_without_a_kick() {
    // With EVENT_IDX the device re-reads avail.idx after writing
    // avail_event, so an entry published while it was fetching is found
    // even though the driver (seeing the old avail_event) did not notify.
    let mut d = Blk::new(event_idx(), 16);
    d.submit(0, req::IN, 0, &[512]);
    d.kick(0);
    // Wait until the engine has read avail.idx once, then publish more.
    assert!(d.b.run_until(2_000, |b| !b.mem.reads.is_empty()));
    d.b.run(3);
    d.submit(0, req::IN, 1, &[512]);
    assert!(d.run_until_used(0, 2, 30_000));
}

#[test]
fn interrupt_channel_backpressure_loses_nothing() {
    let mut d = Blk::new(
        BenchConfig {
            irq_ready_pct: 10,
            ..Default::default()
        },
        16,
    );
    for i in 0..4 {
        d.submit(i % 2, req::IN, i as u64, &[512]);
    }
    d.kick(0);
    d.kick(1);
    assert!(d.run_until_used(0, 2, 30_000));
    assert!(d.run_until_used(1, 2, 30_000));
    assert!(d.settle(10_000));
    assert_eq!(d.b.irqs.len(), 4);
}

#[test]
fn doorbells_for_other_queues_are_ignored() {
    let mut d = Blk::new(BenchConfig::default(), 16);
    d.b.kick(5);
    d.b.kick(0xffff);
    d.b.run(500);
    assert!(d.b.mem.reads.is_empty());
    assert_eq!(d.b.e.cnt_notifies.val().to_u64(), 2);
}
