//! Receive buffers the driver posts (virtio 1.2 §5.1.6.3, §5.1.6.4) reach
//! the RX stage without waiting behind transmit or control chains that
//! cannot make progress: a TX backlog held up by a slow MAC, control
//! commands waiting for firmware. Every queue has its own head FIFO; the
//! avail fetcher leaves a queue whose FIFO is full and the walker only
//! starts a chain whose destination FIFOs can take all of it. Cycle
//! counts here are deterministic (seeded models), never wall time.

mod net_common;

use net_common::*;
use vfpga_abi::mgmt::net as regs;
use vfpga_abi::net::ctrl as cmds;
use vfpga_hdl::testbench::net_bench::NetBenchConfig;
use vfpga_hdl::testbench::{Buffer, XorShift};

const MRG: u32 = regs::RX_MODE_MRG_RXBUF;

/// Cycles from an RX doorbell to the frame's `used.idx` within which a
/// re-posted buffer must be filled, whatever waits on the other queues:
/// the fetcher finishing a read, the avail index and ring reads, at most
/// one chain walk of each other queue, the RX walk, the frame's writes
/// and the used-ring writes are about ten DMA round trips of 125 cycles.
const RX_REPOST_BOUND: u64 = 2_000;

/// A TX backlog the MAC drains slowly (one cycle in twenty ready): 64
/// frames of 1500 bytes, more than a head FIFO holds, take about 120 k
/// cycles. An RX buffer posted after them is filled within
/// [`RX_REPOST_BOUND`] cycles and the frame waiting for it is not
/// dropped (before, the RX head waited in the one head FIFO behind every
/// TX chain fetched ahead of it, the frame was not delivered within 6000
/// cycles and was dropped after `RX_WAIT_CYCLES`).
#[test]
fn spec_5_1_6_4_reposted_rx_buffer_overtakes_a_tx_backlog() {
    const NT: usize = 64;
    let cfg = NetBenchConfig {
        seed: 41,
        mac_tx_ready_pct: 5,
        ..Default::default()
    };
    let mut n = Net::new(cfg, 256);
    n.program(MAC, regs::RX_MODE_PROMISC | MRG);
    let tx: Vec<Vec<u8>> = (0..NT)
        .map(|_| frame(&mut n.rng, [0x02, 0, 0, 0, 0, 0x77], 1500))
        .collect();
    for f in &tx {
        n.post_tx_in_page(f);
    }
    n.b.kick(1);
    // The TX stage, the TX FIFOs and the head FIFO fill; the MAC is slow.
    n.b.run(3_000);
    let sent_before = n.b.mac_tx.frames.len();
    assert!(sent_before < 4, "the MAC drains the backlog slowly");

    let rx = frame(&mut n.rng, MAC, 1500);
    n.post_rx(2048, 1);
    n.b.kick(0);
    n.b.mac_rx.send(&rx);
    let start = n.b.cycle;
    let got =
        n.b.run_until(3 * RX_REPOST_BOUND, |b| n.rxq.used_idx(&b.mem) == 1);
    let took = n.b.cycle - start;
    let sent = n.b.mac_tx.frames.len();
    println!(
        "RX buffer posted behind {NT} TX frames: frame used after {took} cycles, {sent} TX frames sent by then"
    );
    assert!(
        got,
        "RX frame not delivered within {} cycles",
        3 * RX_REPOST_BOUND
    );
    assert!(
        took <= RX_REPOST_BOUND,
        "RX frame took {took} cycles behind the TX backlog"
    );
    assert!(sent < NT / 4, "the TX backlog is still there: {sent} sent");
    assert_eq!(n.b.reg_read(regs::RX_DROP_NOBUF), 0);
    let (hdr, data, nbuf) = n.take_rx_frame().unwrap();
    assert_eq!(u16::from_le_bytes([hdr[10], hdr[11]]), 1);
    assert!(data == rx && nbuf == 1, "RX frame content");

    // A faster MAC drains the backlog: every TX frame, whole and in order.
    n.b.mac_tx.ready_pct = 100;
    assert!(
        n.b.run_until(400_000, |b| b.mac_tx.frames.len() == NT && b.quiet()),
        "TX backlog not sent"
    );
    for (i, (g, f)) in n.b.mac_tx.frames.iter().zip(&tx).enumerate() {
        assert!(g.1 == *f, "TX frame {i}");
    }
    assert_eq!(n.txq.used_idx(&n.b.mem), NT as u16);
    assert!(!n.b.error().0, "device error");
}

/// Control commands waiting for firmware's `CTRL_ACK` (more than the
/// control chain FIFO holds) do not hold up an RX buffer posted after
/// them; the commands are served once acked.
#[test]
fn spec_5_1_6_5_rx_buffer_not_held_behind_unacked_control_commands() {
    const NC: usize = 8;
    let mut m = NetMq::new(NetBenchConfig::default(), 64);
    m.set_queues(1, 4);
    m.b.reg_write(regs::RX_MODE, regs::RX_MODE_PROMISC | MRG);
    m.b.run(4);
    let mut cmd_heads = Vec::new();
    for k in 0..NC {
        let readable = [cmds::CLASS_RX, cmds::RX_PROMISC, (k & 1) as u8];
        cmd_heads.push(m.post_ctrl(4, &readable, &[]));
    }
    m.b.kick(4);
    // The first command reaches firmware; the rest wait behind it.
    assert!(m.b.run_until(5_000, |b| !b.events.is_empty()));
    m.b.run(2_000);

    let f = frame(&mut m.rng, [0x52, 0x54, 0, 0, 0, 1], 1000);
    m.post_rx(0, 2048);
    m.b.kick(0);
    m.b.mac_rx.send(&f);
    let start = m.b.cycle;
    let got =
        m.b.run_until(3 * RX_REPOST_BOUND, |b| m.q[0].used_idx(&b.mem) == 1);
    let took = m.b.cycle - start;
    println!(
        "RX buffer posted behind {NC} unacked control commands: frame used after {took} cycles"
    );
    assert!(got, "RX frame not delivered behind the control commands");
    assert!(took <= RX_REPOST_BOUND, "RX frame took {took} cycles");
    assert_eq!(m.take_rx_frame(0).unwrap(), f);
    assert_eq!(m.b.reg_read(regs::RX_DROP_NOBUF), 0);

    // Firmware acks each command in turn; each is used with length 1.
    for (k, &(head, ack)) in cmd_heads.iter().enumerate() {
        assert!(
            m.b.run_until(20_000, |b| b.events.len() > k),
            "command {k} not posted to firmware"
        );
        let c = m.b.reg_read(regs::CTRL_CMD);
        assert_ne!(c & regs::CTRL_CMD_PENDING, 0, "command {k} pending");
        m.b.reg_write(regs::CTRL_ACK, cmds::OK as u32);
        assert!(
            m.b.run_until(20_000, |b| m.q[4].used_idx(&b.mem) == k as u16 + 1),
            "command {k} not used"
        );
        assert_eq!(m.take_used(4), Some((head as u32, 1)));
        assert_eq!(m.b.mem.read(ack, 1), vec![cmds::OK]);
    }
    assert!(!m.b.error().0, "device error");
}

/// Per seed: random MAC and DMA stalls, a slow or fast MAC TX, EVENT_IDX
/// on or off. The driver keeps a few RX buffers posted and re-posts each
/// one after it took a frame (after a random delay), while it keeps a
/// TX backlog of random frames queued. Every RX frame must arrive whole
/// and in order with none dropped, every TX frame leaves whole and in
/// order, and each re-posted buffer is taken within a bound.
#[test]
fn spec_5_1_6_rx_reposts_and_tx_backlog_seeded_stress() {
    for (seed, mac_tx_ready_pct) in [(3u64, 8u32), (17, 25), (29, 100)] {
        stress(seed, mac_tx_ready_pct);
    }
}

const RX_BUF: u32 = 2048;
const TX_AREA: u64 = DATA + 0x20_0000;

fn stress(seed: u64, mac_tx_ready_pct: u32) {
    const QS: u16 = 64;
    const NR: usize = 40;
    const NT: usize = 40;
    const RX_WINDOW: usize = 4;
    const TX_BACKLOG: usize = 24;
    let mut r = XorShift::new(seed);
    let cfg = NetBenchConfig {
        seed,
        dma_latency: 100 + r.below(60),
        dma_jitter: r.below(40),
        dma_ready_pct: 80 + r.below(21) as u32,
        mac_tx_ready_pct,
        mac_rx_valid_pct: 50 + r.below(51) as u32,
        irq_ready_pct: 50 + r.below(51) as u32,
        event_idx: r.chance(50),
        indirect: true,
    };
    let mut n = Net::new(cfg, QS);
    n.program(MAC, regs::RX_MODE_PROMISC | MRG);
    let rx: Vec<Vec<u8>> = (0..NR)
        .map(|_| {
            let len = 60 + r.below(1455) as usize;
            frame(&mut r, MAC, len)
        })
        .collect();
    let tx: Vec<Vec<u8>> = (0..NT)
        .map(|_| {
            let len = 60 + r.below(1455) as usize;
            frame(&mut r, [0x02, 0, 0, 0, 0, 0x55], len)
        })
        .collect();
    // Each descriptor index has its own buffer, so a re-posted descriptor
    // (single-descriptor chains, fewer outstanding than the queue size)
    // never overwrites a live one.
    let post_rx = |n: &mut Net| {
        let a = DATA + n.rxq.next_desc as u64 * RX_BUF as u64;
        n.b.mem.write(a, &vec![0xee; RX_BUF as usize]);
        let head = n.rxq.add_chain(&mut n.b.mem, &[Buffer::w(a, RX_BUF)]);
        n.rxq.make_available(&mut n.b.mem, head);
        n.b.kick(0);
    };
    let post_tx = |n: &mut Net, f: &[u8]| {
        let a = TX_AREA + n.txq.next_desc as u64 * 2048;
        let mut bytes = vec![0u8; 12];
        bytes.extend_from_slice(f);
        n.b.mem.write(a, &bytes);
        let head = n
            .txq
            .add_chain(&mut n.b.mem, &[Buffer::r(a, bytes.len() as u32)]);
        n.txq.make_available(&mut n.b.mem, head);
    };
    // Cycle each outstanding RX buffer was posted (None: before the frames).
    let mut posted_at = std::collections::VecDeque::new();
    for _ in 0..RX_WINDOW {
        post_rx(&mut n);
        posted_at.push_back(None);
    }
    for f in &rx {
        n.b.mac_rx.send(f);
    }
    let mut tx_posted = 0;
    let mut rx_got = 0;
    // Cycles at which the driver re-posts a buffer whose frame it took.
    let mut reposts: Vec<u64> = Vec::new();
    // Longest time from a re-post to its buffer's frame being used.
    let mut worst = 0u64;
    let limit = 600_000;
    while rx_got < NR || n.b.mac_tx.frames.len() < NT || !n.b.quiet() {
        assert!(
            n.b.cycle < limit,
            "seed {seed}: stuck: rx {rx_got}/{NR}, tx {}/{NT}",
            n.b.mac_tx.frames.len()
        );
        // The driver keeps a backlog of up to TX_BACKLOG chains queued.
        let tx_used = n.txq.used_idx(&n.b.mem) as usize;
        if tx_posted < NT && tx_posted - tx_used < TX_BACKLOG && r.chance(2) {
            let burst = (1 + r.below(8) as usize).min(NT - tx_posted);
            for _ in 0..burst {
                post_tx(&mut n, &tx[tx_posted]);
                tx_posted += 1;
            }
            n.b.kick(1);
        }
        while let Some((hdr, data, nbuf)) = n.take_rx_frame() {
            assert_eq!(nbuf, 1, "seed {seed}: one buffer per frame");
            assert_eq!(&hdr[..10], &[0u8; 10]);
            assert!(data == rx[rx_got], "seed {seed}: RX frame {rx_got}");
            if let Some(at) = posted_at.pop_front().unwrap() {
                worst = worst.max(n.b.cycle - at);
            }
            rx_got += 1;
            reposts.push(n.b.cycle + r.below(300));
        }
        let now = n.b.cycle;
        let due = reposts.iter().filter(|&&c| c <= now).count();
        reposts.retain(|&c| c > now);
        for _ in 0..due {
            post_rx(&mut n);
            posted_at.push_back(Some(now));
        }
        n.b.step();
    }
    println!(
        "seed {seed}: MAC TX ready {mac_tx_ready_pct}%: {} cycles, longest re-post to frame used {worst} cycles",
        n.b.cycle
    );
    assert_eq!(n.b.reg_read(regs::RX_DROP_NOBUF), 0, "seed {seed}: drops");
    assert_eq!(n.b.reg_read(regs::RX_FRAMES), NR as u32);
    assert_eq!(n.b.mac_tx.frames.len(), NT);
    for (i, (g, f)) in n.b.mac_tx.frames.iter().zip(&tx).enumerate() {
        assert!(g.1 == *f, "seed {seed}: TX frame {i}");
    }
    assert!(
        worst < vfpga_hdl::net::rx::RX_WAIT_CYCLES / 2,
        "seed {seed}: a re-posted buffer took {worst} cycles"
    );
    assert!(!n.b.error().0, "seed {seed}: device error");
}
