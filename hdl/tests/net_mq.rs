//! Two queue pairs (virtio 1.2 §5.1.2) through the net engine: TX from
//! both pairs onto the one MAC port, whole frames at a time, and automatic
//! receive steering (§5.1.6.5.5): a flow's RX goes to the pair whose TX
//! last sent it, never to a pair the driver has not enabled.

mod net_common;

use net_common::*;
use vfpga_abi::mgmt::net as regs;
use vfpga_hdl::net::steer::{QUEUES_RESET, flow_hash};
use vfpga_hdl::testbench::XorShift;
use vfpga_hdl::testbench::net_bench::NetBenchConfig;

const A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
const B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];
const C: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0c];

fn peers_apart() {
    // Distinct table entries, or the tests would not tell flows apart.
    let h = [flow_hash(A), flow_hash(B), flow_hash(C)];
    assert!(h[0] != h[1] && h[1] != h[2] && h[0] != h[2], "{h:?}");
}

/// Posts `n` RX buffers on each RX queue and waits until the device holds them.
fn post_rx_buffers(m: &mut NetMq, n: usize) {
    let before = [
        m.b.e.q_inflight[0].val().to_u64(),
        m.b.e.q_inflight[2].val().to_u64(),
    ];
    for _ in 0..n {
        m.post_rx(0, 2048);
        m.post_rx(2, 2048);
    }
    m.b.kick(0);
    m.b.kick(2);
    let n = n as u64;
    assert!(
        m.b.run_until(200_000, |b| b.e.q_inflight[0].val().to_u64()
            == before[0] + n
            && b.e.q_inflight[2].val().to_u64() == before[1] + n
            && b.quiet()),
        "RX buffers not fetched"
    );
}

/// Sends one frame from pair `pair` to `dst` and waits until it left.
fn send_from(m: &mut NetMq, pair: usize, dst: [u8; 6]) -> Vec<u8> {
    let f = frame_from(&mut m.rng, MAC, dst, 100);
    let sent = m.b.mac_tx.frames.len();
    m.post_tx(2 * pair + 1, &f);
    m.b.kick(2 * pair as u16 + 1);
    assert!(m.settle(200_000), "TX not done");
    assert_eq!(m.b.mac_tx.frames.len(), sent + 1);
    assert_eq!(m.b.mac_tx.frames[sent].1, f);
    assert_eq!(m.take_used(2 * pair + 1).map(|u| u.1), Some(0));
    f
}

/// Receives one frame from `src` and returns the RX queue it landed on.
fn receive_from(m: &mut NetMq, src: [u8; 6]) -> usize {
    let f = frame_from(&mut m.rng, src, MAC, 200);
    m.b.mac_rx.send(&f);
    assert!(m.settle(200_000), "RX not done");
    let on0 = m.take_rx_frame(0);
    let on2 = m.take_rx_frame(2);
    match (on0, on2) {
        (Some(g), None) => {
            assert_eq!(g, f);
            0
        }
        (None, Some(g)) => {
            assert_eq!(g, f);
            2
        }
        other => panic!("frame delivered {other:?}"),
    }
}

#[test]
fn spec_5_1_2_two_pairs_carry_tx_and_rx_at_once() {
    peers_apart();
    for seed in [3, 8] {
        let cfg = NetBenchConfig {
            seed,
            dma_latency: 60,
            dma_jitter: 40,
            dma_ready_pct: 70,
            mac_tx_ready_pct: 60,
            mac_rx_valid_pct: 70,
            irq_ready_pct: 80,
            ..NetBenchConfig::default()
        };
        let mut m = NetMq::new(cfg, 64);
        m.set_queues(2, 4);
        // Each pair sends to its own peer first: the flows are learnt.
        send_from(&mut m, 0, A);
        send_from(&mut m, 1, B);
        post_rx_buffers(&mut m, 8);

        // Then both pairs send while both peers answer.
        let mut rng = XorShift::new(seed);
        let mut tx = [Vec::new(), Vec::new()];
        let mut rx = [Vec::new(), Vec::new()];
        for i in 0..6 {
            for (pair, peer) in [(0, A), (1, B)] {
                let len = 60 + rng.below(1440) as usize;
                let f = frame_from(&mut rng, MAC, peer, len);
                m.post_tx(2 * pair + 1, &f);
                tx[pair].push(f);
                let len = 60 + rng.below(1440) as usize;
                let g = frame_from(&mut rng, peer, MAC, len);
                m.b.mac_rx.send(&g);
                rx[pair].push(g);
            }
            if i == 0 {
                m.b.kick(1);
                m.b.kick(3);
            }
        }
        m.b.kick(1);
        m.b.kick(3);
        assert!(m.settle(3_000_000), "seed {seed}: not done");
        assert!(!m.b.error().0, "seed {seed}: error {:?}", m.b.error());

        // Whole frames on the MAC port, each pair's in its own order.
        let out: Vec<Vec<u8>> = m.b.mac_tx.frames[2..].iter().map(|f| f.1.clone()).collect();
        assert_eq!(out.len(), 12, "seed {seed}");
        for (pair, peer) in [(0, A), (1, B)] {
            let got: Vec<&Vec<u8>> = out.iter().filter(|f| f[..6] == peer).collect();
            assert_eq!(got.len(), 6, "seed {seed} pair {pair}");
            for (g, w) in got.iter().zip(&tx[pair]) {
                assert_eq!(*g, w, "seed {seed}: pair {pair} frame out of order or torn");
            }
            for _ in 0..6 {
                assert_eq!(m.take_used(2 * pair + 1).map(|u| u.1), Some(0));
            }
            assert_eq!(m.take_used(2 * pair + 1), None);
        }
        // Each peer's frames on the RX queue of the pair that talks to it.
        for (pair, q) in [(0, 0), (1, 2)] {
            for (k, w) in rx[pair].iter().enumerate() {
                let g = m.take_rx_frame(q);
                assert_eq!(g.as_ref(), Some(w), "seed {seed}: RX {k} of pair {pair}");
            }
            assert_eq!(m.take_rx_frame(q), None, "seed {seed}");
        }
        for q in 0..4u16 {
            assert!(
                m.b.irqs.iter().any(|i| i.1 == q && i.2 == q),
                "seed {seed}: no interrupt on queue {q}"
            );
        }
        assert_eq!(m.b.reg_read(regs::TX_FRAMES), 14);
        assert_eq!(m.b.reg_read(regs::RX_FRAMES), 12);
    }
}

#[test]
fn spec_5_1_6_5_5_rx_follows_the_pair_that_last_sent_the_flow() {
    peers_apart();
    let mut m = NetMq::new(NetBenchConfig::default(), 32);
    m.set_queues(2, 4);
    post_rx_buffers(&mut m, 6);
    // A peer no pair has sent to: pair 0.
    assert_eq!(receive_from(&mut m, C), 0);
    send_from(&mut m, 1, B);
    assert_eq!(receive_from(&mut m, B), 2);
    assert_eq!(receive_from(&mut m, C), 0);
    // The flow moves with the pair that sends it.
    send_from(&mut m, 0, B);
    assert_eq!(receive_from(&mut m, B), 0);
    send_from(&mut m, 1, A);
    assert_eq!(receive_from(&mut m, A), 2);
    assert_eq!(receive_from(&mut m, B), 0);
    assert!(!m.b.error().0);
}

#[test]
fn spec_5_1_6_5_5_rx_never_goes_to_an_inactive_pair() {
    peers_apart();
    let mut m = NetMq::new(NetBenchConfig::default(), 32);
    assert_eq!(m.b.reg_read(regs::QUEUES), QUEUES_RESET);
    post_rx_buffers(&mut m, 4);
    // One pair in use (reset value): pair 2's TX does not pull RX to it.
    send_from(&mut m, 1, B);
    assert_eq!(receive_from(&mut m, B), 0);
    // VQ_PAIRS_SET 2: now it does.
    m.set_queues(2, 4);
    assert_eq!(m.b.reg_read(regs::QUEUES), 2 | 4 << 8);
    assert_eq!(receive_from(&mut m, B), 2);
    // Back to one pair.
    m.set_queues(1, 4);
    assert_eq!(receive_from(&mut m, B), 0);
    // The layout without MQ (control queue 2) has one pair whatever
    // the pairs field says.
    m.set_queues(2, 2);
    assert_eq!(receive_from(&mut m, B), 0);
    assert!(!m.b.error().0);
}
