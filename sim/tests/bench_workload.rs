//! The bench workload (`vfpga_sim::bench`, behind `vfpga bench sim` and
//! `cargo bench -p vfpga-sim`) measures real work: its reads complete with
//! status OK and no fault, and over a fixed number of cycles both backends
//! complete exactly the same requests (they are the same hardware).

use vfpga_sim::backend::{self, BackendKind};
use vfpga_sim::bench::{self, Window, Workload};

/// Enough cycles on rust-hdl (~3 k cycles/s) for a few reads to complete.
const CYCLES: u64 = 12_000;

#[test]
fn qd32_reads_complete_with_status_ok_on_rust_hdl() {
    let s = bench::run(
        BackendKind::RustHdl,
        Workload::Qd32Read4k,
        Window::Cycles(CYCLES),
    )
    .unwrap();
    assert!(s.is_clean(), "{}", bench::format_sample(&s));
    assert!(s.cycles >= CYCLES);
    assert!(s.requests > 0, "{}", bench::format_sample(&s));
    assert_eq!(s.bytes, s.requests * u64::from(bench::READ_BYTES));
}

#[test]
fn qd32_reads_are_cycle_identical_on_both_backends() {
    if !backend::verilator_available() {
        let why = backend::verilator_status();
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("the Verilator backend is required under CI=true: {why}");
        }
        eprintln!("skipped: the Verilator backend is unavailable: {why}");
        return;
    }
    let v = bench::run(
        BackendKind::Verilator,
        Workload::Qd32Read4k,
        Window::Cycles(CYCLES),
    )
    .unwrap();
    let r = bench::run(
        BackendKind::RustHdl,
        Workload::Qd32Read4k,
        Window::Cycles(CYCLES),
    )
    .unwrap();
    assert!(v.is_clean() && r.is_clean());
    assert_eq!((v.cycles, v.requests), (r.cycles, r.requests));
    // A longer Verilator run keeps all 32 slots busy and completes many
    // more than the queue depth: resubmission works.
    let long = bench::run(
        BackendKind::Verilator,
        Workload::Qd32Read4k,
        Window::Cycles(400_000),
    )
    .unwrap();
    assert!(long.is_clean(), "{}", bench::format_sample(&long));
    assert!(
        long.requests > 4 * u64::from(bench::DEPTH),
        "{}",
        bench::format_sample(&long)
    );
}

/// The net workload really moves frames: over a fixed number of cycles
/// both backends receive the same frames back through the loopback port,
/// each of the right length in one buffer.
#[test]
fn net_loopback_frames_come_back_cycle_identical_on_both_backends() {
    let w = Workload::NetLoopback { frame: 64 };
    let r = bench::run(BackendKind::RustHdl, w, Window::Cycles(CYCLES)).unwrap();
    assert!(r.is_clean(), "{}", bench::format_sample(&r));
    assert!(r.requests > 0, "{}", bench::format_sample(&r));
    assert_eq!(r.bytes, r.requests * 64);
    if !backend::verilator_available_for(vfpga_abi::Personality::Net) {
        let why = backend::verilator_status_for(vfpga_abi::Personality::Net);
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("the Verilator backend is required under CI=true: {why}");
        }
        eprintln!("skipped the Verilator half: the backend is unavailable: {why}");
        return;
    }
    let v = bench::run(BackendKind::Verilator, w, Window::Cycles(CYCLES)).unwrap();
    assert_eq!((v.cycles, v.requests), (r.cycles, r.requests));
    // Longer: many more frames than the TX depth or the RX ring, so both
    // rings are recycled.
    for frame in [64, 1500] {
        let w = Workload::NetLoopback { frame };
        let long = bench::run(BackendKind::Verilator, w, Window::Cycles(400_000)).unwrap();
        assert!(long.is_clean(), "{}", bench::format_sample(&long));
        assert!(
            long.requests > 2 * u64::from(128u16),
            "{}",
            bench::format_sample(&long)
        );
    }
}
