//! Cycle figures (printed, not asserted: run with `--nocapture`), with the
//! default 125-cycle DMA read latency and 40-cycle storage latency.

mod engine_common;

use engine_common::*;
use vfpga_abi::blk::{req, status};
use vfpga_abi::ports::DMA_DATA_BYTES;
use vfpga_hdl::testbench::BenchConfig;

#[test]
fn perf_doorbell_to_irq_one_4k_read() {
    let mut d = Blk::new(BenchConfig::default(), 64);
    let r = d.submit(0, req::IN, 16, &[4096]);
    d.kick(0);
    assert!(d.b.run_until(20_000, |b| !b.irqs.is_empty()));
    d.check(&r, 0, status::OK);
    let cycles = d.b.irqs[0].0 - d.b.doorbell_cycles[0];
    println!(
        "doorbell -> irq request, one 4 KiB IN, queue depth 1, DMA latency 125: {cycles} cycles \
         ({} DMA reads)",
        d.b.mem.reads.len()
    );
}

#[test]
fn perf_bus_utilisation_depth_32_4k_reads() {
    let mut d = Blk::new(BenchConfig::default(), 128);
    let reqs: Vec<_> = (0..32)
        .map(|i| d.submit(0, req::IN, i * 8, &[4096]))
        .collect();
    d.kick(0);
    assert!(d.run_until_used(0, 32, 200_000));
    let start = d.b.doorbell_cycles[0];
    let end = d.b.cycle;
    for (i, r) in reqs.iter().enumerate() {
        d.check(r, i as u16, status::OK);
    }
    let bytes = 32 * 4096u64;
    let cycles = end - start;
    println!(
        "queue depth 32, 4 KiB IN: {bytes} bytes in {cycles} cycles from doorbell to the last used.idx: \
         data-bus utilisation {:.1}% ({} write beats, {} read beats; at most {} DMA reads in flight)",
        100.0 * bytes as f64 / (cycles as f64 * DMA_DATA_BYTES as f64),
        d.b.mem.write_beats,
        d.b.mem.read_beats,
        d.b.mem.max_reads_in_flight
    );
}

#[test]
fn perf_bus_utilisation_depth_32_4k_writes() {
    let mut d = Blk::new(BenchConfig::default(), 128);
    let reqs: Vec<_> = (0..32)
        .map(|i| d.submit(0, req::OUT, i * 8, &[4096]))
        .collect();
    d.kick(0);
    assert!(d.run_until_used(0, 32, 200_000));
    let cycles = d.b.cycle - d.b.doorbell_cycles[0];
    for (i, r) in reqs.iter().enumerate() {
        d.check(r, i as u16, status::OK);
    }
    println!(
        "queue depth 32, 4 KiB OUT: {} bytes in {cycles} cycles: read-completion bus utilisation {:.1}% \
         (at most {} DMA reads in flight)",
        32 * 4096,
        100.0 * (32.0 * 4096.0) / (cycles as f64 * DMA_DATA_BYTES as f64),
        d.b.mem.max_reads_in_flight
    );
}
