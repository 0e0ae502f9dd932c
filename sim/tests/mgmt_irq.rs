//! The firmware sleeps on the hardware's management interrupt (`mgmt_irq`,
//! high while an event waits in EVENT), as a soft CPU would: a driver's
//! status write is answered within a few cycles even when the firmware's
//! timers are far off, and an idle board polls only on the slow timer,
//! so its quiet cycles stay quiet (and the simulator can skip them).

mod common;

use common::{Board, verilator_or_skip};
use vfpga_abi::{bar0, common_cfg as cc, status};
use vfpga_sim::backend::BackendKind;
use vfpga_sim::machine::MachineConfig;

const DEVICE_STATUS: u32 = bar0::COMMON_CFG + cc::DEVICE_STATUS;

/// virtio 1.2 §2.1: the device answers the driver's device_status write
/// (the hardware holds the read until the firmware has). With both poll
/// timers set beyond the test's length, only the interrupt can wake it.
fn spec_2_1_status_write_answered_on_the_interrupt(kind: BackendKind) {
    let cfg = MachineConfig {
        fw_poll_interval: 1 << 40,
        fw_idle_poll_interval: 1 << 40,
        ..MachineConfig::default()
    };
    let mut b = Board::new(kind, 2048, cfg);
    // The first poll runs at once; after it only the interrupt is left.
    b.run_until(100, |_| false);
    let polls = b.machine.polls();
    let start = b.machine.now();
    b.write(DEVICE_STATUS, 1, status::ACKNOWLEDGE.into());
    assert_eq!(b.read(DEVICE_STATUS, 1), u32::from(status::ACKNOWLEDGE));
    let took = b.machine.now() - start;
    assert!(
        b.machine.polls() > polls,
        "answered without a poll of the firmware"
    );
    // A write, an event, one poll of a few management accesses, the read.
    assert!(took < 200, "status answered after {took} cycles");
}

#[test]
fn spec_2_1_status_write_answered_on_the_interrupt_on_rust_hdl() {
    spec_2_1_status_write_answered_on_the_interrupt(BackendKind::RustHdl);
}

#[test]
fn spec_2_1_status_write_answered_on_the_interrupt_on_verilator() {
    if verilator_or_skip("spec_2_1_status_write_answered_on_the_interrupt_on_verilator") {
        spec_2_1_status_write_answered_on_the_interrupt(BackendKind::Verilator);
    }
}

/// With no event and no work in progress, the firmware polls once per
/// `fw_idle_poll_interval`, not once per `fw_poll_interval`.
#[test]
fn idle_board_polls_on_the_slow_timer() {
    if !verilator_or_skip("idle_board_polls_on_the_slow_timer") {
        return;
    }
    let cfg = MachineConfig::default();
    let (idle, busy) = (cfg.fw_idle_poll_interval, cfg.fw_poll_interval);
    assert!(
        idle >= 8 * busy,
        "the test needs the slow timer much slower"
    );
    let mut b = Board::new(BackendKind::Verilator, 2048, cfg);
    b.run_until(10 * idle, |_| false);
    let polls = b.machine.polls();
    b.machine.run(64 * idle);
    let polls = b.machine.polls() - polls;
    // Each poll's own accesses add a few cycles to the interval.
    assert!(
        (48..=64).contains(&polls),
        "{polls} polls in {} idle cycles",
        64 * idle
    );
}
