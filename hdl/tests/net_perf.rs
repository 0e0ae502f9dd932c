//! Figures in cycles for one queue pair, and TX from both pairs at once
//! (run with `--nocapture`): packets
//! per second at 250 MHz and cycles per packet for 64- and 1500-byte
//! frames, TX and RX, DMA latency 125 cycles, no stalls, each buffer within
//! a 4 KiB page (one DMA read per TX frame). A frame is what
//! the driver hands over after the 12-byte header (no FCS). Steady state:
//! 64 frames back to back, cycles between the first and the last frame at
//! the MAC divided by 63. The checks are on the data, never on the timing.

mod net_common;

use net_common::*;
use vfpga_abi::mgmt::net as regs;
use vfpga_hdl::testbench::net_bench::NetBenchConfig;

const N: usize = 64;
const CLOCK_HZ: f64 = 250e6;

fn report(dir: &str, len: usize, first: u64, cpp: f64) {
    let pps = CLOCK_HZ / cpp;
    println!(
        "net {dir} {len:>5} B: {cpp:>7.1} cycles/packet, {:>6.2} Mpps, {:>6.2} Gb/s at 250 MHz (first packet {first} cycles)",
        pps / 1e6,
        pps * len as f64 * 8.0 / 1e9
    );
}

fn tx(len: usize) {
    let mut n = Net::new(NetBenchConfig::default(), 256);
    let frames: Vec<Vec<u8>> = (0..N).map(|_| frame(&mut n.rng, [0xff; 6], len)).collect();
    for f in &frames {
        // Header and frame in one buffer within a page, as Linux sends a
        // linear packet when it can push the header into its headroom.
        n.post_tx_in_page(f);
    }
    let start = n.b.cycle;
    n.b.kick(1);
    assert!(n.b.run_until(2_000_000, |b| b.mac_tx.frames.len() == N && b.quiet()));
    for (g, f) in n.b.mac_tx.frames.iter().zip(&frames) {
        assert!(g.1 == *f);
    }
    let t: Vec<u64> = n.b.mac_tx.frames.iter().map(|(c, _)| *c).collect();
    let cpp = (t[N - 1] - t[0]) as f64 / (N - 1) as f64;
    report("TX", len, t[0] - start, cpp);
}

fn rx(len: usize) {
    let mut n = Net::new(NetBenchConfig::default(), 256);
    n.program(MAC, regs::RX_MODE_PROMISC | regs::RX_MODE_MRG_RXBUF);
    for _ in 0..N {
        n.post_rx(2048, 1);
    }
    n.b.kick(0);
    assert!(
        n.b.run_until(100_000, |b| b.e.q_inflight[0].val().to_u64() == N as u64
            && b.quiet())
    );
    let frames: Vec<Vec<u8>> = (0..N).map(|_| frame(&mut n.rng, MAC, len)).collect();
    let start = n.b.cycle;
    for f in &frames {
        n.b.mac_rx.send(f);
    }
    let want = N as u16;
    assert!(n.b.run_until(2_000_000, |b| n.rxq.used_idx(&b.mem) == want && b.quiet()));
    // The cycle each frame's used.idx write was accepted: the driver sees it.
    let at = n.rxq.used + vfpga_abi::ring::USED_IDX as u64;
    let t: Vec<u64> =
        n.b.mem
            .writes
            .iter()
            .filter(|w| w.addr == at)
            .map(|w| w.cycle)
            .collect();
    assert_eq!(t.len(), N);
    for f in &frames {
        let (_, d, nbuf) = n.take_rx_frame().unwrap();
        assert!(d == *f && nbuf == 1);
    }
    let cpp = (t[N - 1] - t[0]) as f64 / (N - 1) as f64;
    report("RX", len, t[0] - start, cpp);
}

#[test]
fn net_figures_tx_rx_64_and_1500_bytes() {
    tx(64);
    tx(1500);
    rx(64);
    rx(1500);
}

/// Both pairs sending at once: 32 frames on each transmit queue, cycles
/// between the first and the last of the 64 frames at the one MAC port.
fn tx_two_pairs(len: usize) {
    let mut m = NetMq::new(NetBenchConfig::default(), 64);
    m.set_queues(2, 4);
    let mut frames = Vec::new();
    for _ in 0..N / 2 {
        for q in [1, 3] {
            let f = frame(&mut m.rng, [0xff; 6], len);
            m.post_tx(q, &f);
            frames.push(f);
        }
    }
    let start = m.b.cycle;
    m.b.kick(1);
    m.b.kick(3);
    assert!(m.b.run_until(2_000_000, |b| b.mac_tx.frames.len() == N && b.quiet()));
    for f in &frames {
        assert!(m.b.mac_tx.frames.iter().any(|g| g.1 == *f));
    }
    let t: Vec<u64> = m.b.mac_tx.frames.iter().map(|(c, _)| *c).collect();
    let cpp = (t[N - 1] - t[0]) as f64 / (N - 1) as f64;
    report("TX 2 pairs", len, t[0] - start, cpp);
}

#[test]
fn net_figures_tx_two_pairs_64_and_1500_bytes() {
    tx_two_pairs(64);
    tx_two_pairs(1500);
}
