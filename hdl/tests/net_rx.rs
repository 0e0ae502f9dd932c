//! virtio-net receive (virtio 1.2 §5.1.6.3, §5.1.6.4) and the RX filter
//! (§5.1.6.5.1, §5.1.6.5.2) through the net engine.

mod net_common;

use net_common::*;
use vfpga_abi::mgmt::net as regs;
use vfpga_abi::ring::USED_IDX;
use vfpga_hdl::testbench::net_bench::NetBenchConfig;

const MRG: u32 = regs::RX_MODE_MRG_RXBUF;

/// Posts `n` buffers of `len` bytes and waits until the device holds them.
fn post_buffers(net: &mut Net, n: usize, len: u32, max_parts: u64) {
    let before = net.b.e.q_inflight[0].val().to_u64();
    for _ in 0..n {
        net.post_rx(len, max_parts);
    }
    net.b.kick(0);
    let want = before + n as u64;
    assert!(
        net.b
            .run_until(50_000, |b| b.e.q_inflight[0].val().to_u64() == want
                && b.quiet()),
        "RX buffers not fetched"
    );
}

/// Sends `frames`, waits for them to be delivered, checks each one.
fn receive(net: &mut Net, frames: &[Vec<u8>]) -> Vec<u16> {
    for f in frames {
        net.b.mac_rx.send(f);
    }
    let mut nbufs = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        let mut got = None;
        let ok = net.b.run_until(200_000, |b| {
            b.mac_rx.pending() == 0 && b.quiet() && net.rxq.used_idx(&b.mem) != net.rx_seen
        });
        if ok {
            got = net.take_rx_frame();
        }
        let (hdr, data, nbuf) = got.unwrap_or_else(|| panic!("frame {i} not received"));
        assert_eq!(
            &hdr[..10],
            &[0u8; 10],
            "header fields other than num_buffers"
        );
        assert_eq!(data.len(), f.len(), "frame {i} length");
        if data != *f {
            let at = data.iter().zip(f).position(|(a, b)| a != b).unwrap();
            panic!(
                "frame {i} ({} bytes) differs from byte {at}: got {:02x?} want {:02x?}",
                f.len(),
                &data[at..(at + 8).min(data.len())],
                &f[at..(at + 8).min(f.len())]
            );
        }
        nbufs.push(nbuf);
    }
    assert!(!net.b.error().0, "engine error {:?}", net.b.error());
    nbufs
}

fn used_idx_writes(net: &Net) -> Vec<u16> {
    let at = net.rxq.used + USED_IDX as u64;
    net.b
        .mem
        .writes
        .iter()
        .filter(|w| w.addr == at)
        .map(|w| u16::from_le_bytes([w.data[0], w.data[1]]))
        .collect()
}

#[test]
fn spec_5_1_6_4_rx_frame_in_one_buffer() {
    let mut net = Net::new(NetBenchConfig::default(), 64);
    net.program(MAC, regs::RX_MODE_PROMISC | MRG);
    post_buffers(&mut net, 4, 2048, 1);
    let f = frame(&mut net.rng, MAC, 60);
    assert_eq!(receive(&mut net, &[f]), vec![1]);
    let (id, len) = net.rxq.used_elem(&net.b.mem, 0);
    assert_eq!(
        (id, len),
        (0, 72),
        "used element: head 0, header + 60 bytes"
    );
}

#[test]
fn spec_5_1_6_4_rx_mergeable_num_buffers_across_buffers() {
    let mut net = Net::new(NetBenchConfig::default(), 256);
    net.program(MAC, regs::RX_MODE_PROMISC | MRG);
    post_buffers(&mut net, 80, 512, 3);
    // 500 fills one 512-byte buffer exactly; 501 spills one byte over.
    let sizes = [60, 499, 500, 501, 1514, 4000, 9000, 9014];
    let frames: Vec<Vec<u8>> = sizes.iter().map(|&s| frame(&mut net.rng, MAC, s)).collect();
    let nbufs = receive(&mut net, &frames);
    let want: Vec<u16> = sizes
        .iter()
        .map(|&s| (s as u16 + 12).div_ceil(512))
        .collect();
    assert_eq!(nbufs, want, "num_buffers = used elements each frame took");
}

#[test]
fn spec_5_1_6_4_used_idx_published_once_per_frame() {
    // The driver reads num_buffers, then that many used elements: used.idx
    // must never show part of a frame's buffers.
    let mut net = Net::new(NetBenchConfig::default(), 64);
    net.program(MAC, regs::RX_MODE_PROMISC | MRG);
    post_buffers(&mut net, 40, 128, 1);
    let frames: Vec<Vec<u8>> = [1000, 64, 300]
        .iter()
        .map(|&s| frame(&mut net.rng, MAC, s))
        .collect();
    let nbufs = receive(&mut net, &frames);
    assert_eq!(nbufs, vec![8, 1, 3]);
    assert_eq!(used_idx_writes(&net), vec![8, 9, 12]);
    // §2.7.8 order: the idx write comes after the data and elements it covers.
    let at = net.rxq.used + USED_IDX as u64;
    let first_idx = net.b.mem.writes.iter().position(|w| w.addr == at).unwrap();
    let ring = net.rxq.used + 4;
    let elems_before = net.b.mem.writes[..first_idx]
        .iter()
        .filter(|w| w.addr >= ring && w.addr < ring + 8 * 64)
        .count();
    assert_eq!(elems_before, 8, "all 8 elements written before used.idx");
}

#[test]
fn rx_drops_and_counts_when_no_buffer_is_posted() {
    let mut net = Net::new(NetBenchConfig::default(), 64);
    net.program(MAC, regs::RX_MODE_PROMISC | MRG);
    let writes = net.b.mem.writes.len();
    for len in [60, 1500] {
        let f = frame(&mut net.rng, MAC, len);
        net.b.mac_rx.send(&f);
    }
    // Each frame waits RX_WAIT_CYCLES for a buffer before it is dropped.
    let budget = 2 * vfpga_hdl::net::rx::RX_WAIT_CYCLES + 5_000;
    assert!(
        net.b
            .run_until(budget, |b| b.mac_rx.pending() == 0 && b.quiet())
    );
    assert_eq!(net.b.reg_read(regs::RX_DROP_NOBUF), 2);
    assert_eq!(
        net.b.mem.writes.len(),
        writes,
        "a dropped frame writes nothing"
    );
    // Once a buffer is posted, frames are received again.
    post_buffers(&mut net, 2, 2048, 1);
    let f = frame(&mut net.rng, MAC, 100);
    receive(&mut net, &[f]);
    assert_eq!(net.b.reg_read(regs::RX_DROP_NOBUF), 2);
    assert_eq!(net.b.reg_read(regs::RX_FRAMES), 1);
}

#[test]
fn spec_5_1_6_5_1_filter_unicast_broadcast_promisc() {
    let mut net = Net::new(NetBenchConfig::default(), 64);
    net.program(MAC, MRG);
    post_buffers(&mut net, 16, 2048, 1);
    let other = [0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc];
    let mine = frame(&mut net.rng, MAC, 80);
    let bcast = frame(&mut net.rng, [0xff; 6], 80);
    let theirs = frame(&mut net.rng, other, 80);
    for f in [&theirs, &mine, &theirs, &bcast] {
        net.b.mac_rx.send(f);
    }
    assert!(
        net.b
            .run_until(20_000, |b| b.mac_rx.pending() == 0 && b.quiet())
    );
    assert_eq!(net.take_rx_frame().unwrap().1, mine);
    assert_eq!(net.take_rx_frame().unwrap().1, bcast);
    assert!(net.take_rx_frame().is_none());
    assert_eq!(net.b.reg_read(regs::RX_DROP_FILTER), 2);
    // Promiscuous: everything.
    net.program(MAC, regs::RX_MODE_PROMISC | MRG);
    receive(&mut net, std::slice::from_ref(&theirs));
    // A MAC_ADDR_SET to `other`: the old address is filtered now.
    net.program(other, MRG);
    net.b.mac_rx.send(&mine);
    receive(&mut net, &[theirs]);
    assert_eq!(net.b.reg_read(regs::RX_DROP_FILTER), 3);
}

#[test]
fn spec_5_1_6_5_2_filter_table_and_allmulti() {
    let mut net = Net::new(NetBenchConfig::default(), 64);
    net.program(MAC, MRG);
    post_buffers(&mut net, 16, 2048, 1);
    let uni = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];
    let mc = [0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb];
    let mc2 = [0x33, 0x33, 0x00, 0x00, 0x00, 0x01];
    let f_uni = frame(&mut net.rng, uni, 70);
    let f_mc = frame(&mut net.rng, mc, 70);
    let f_mc2 = frame(&mut net.rng, mc2, 70);
    // Not in the table: all dropped.
    for f in [&f_uni, &f_mc, &f_mc2] {
        net.b.mac_rx.send(f);
    }
    assert!(
        net.b
            .run_until(20_000, |b| b.mac_rx.pending() == 0 && b.quiet())
    );
    assert!(net.take_rx_frame().is_none());
    assert_eq!(net.b.reg_read(regs::RX_DROP_FILTER), 3);
    // Table: one unicast, one multicast entry (the last slot, to cover it).
    net.table_entry(0, uni, true);
    net.table_entry(15, mc, true);
    assert_eq!(
        net.b.reg_read(regs::FILTER_HI) & regs::FILTER_VALID,
        regs::FILTER_VALID
    );
    receive(&mut net, &[f_uni.clone(), f_mc.clone()]);
    net.b.mac_rx.send(&f_mc2);
    assert!(
        net.b
            .run_until(20_000, |b| b.mac_rx.pending() == 0 && b.quiet())
    );
    assert!(net.take_rx_frame().is_none());
    // All-multicast: any multicast, but unicast still filtered.
    net.program(MAC, regs::RX_MODE_ALLMULTI | MRG);
    net.table_entry(0, uni, false);
    net.b.mac_rx.send(&f_uni);
    receive(&mut net, &[f_mc2]);
    assert_eq!(net.b.reg_read(regs::RX_DROP_FILTER), 5);
}

#[test]
fn rx_without_mrg_rxbuf_one_chain_per_frame_truncates() {
    let mut net = Net::new(NetBenchConfig::default(), 64);
    net.program(MAC, regs::RX_MODE_PROMISC);
    post_buffers(&mut net, 4, 1526, 3);
    let ok = frame(&mut net.rng, MAC, 1514);
    assert_eq!(receive(&mut net, &[ok]), vec![1]);
    let big = frame(&mut net.rng, MAC, 3000);
    net.b.mac_rx.send(&big);
    assert!(
        net.b
            .run_until(50_000, |b| b.mac_rx.pending() == 0 && b.quiet())
    );
    let (hdr, data, nbuf) = net.take_rx_frame().unwrap();
    assert_eq!((nbuf, hdr[10], data.len()), (1, 1, 1514));
    assert!(data == big[..1514]);
    assert_eq!(net.b.reg_read(regs::RX_TRUNCATED), 1);
    assert_eq!(
        net.b.e.q_inflight[0].val().to_u64(),
        2,
        "one chain per frame"
    );
}

#[test]
fn rx_and_tx_together_with_random_stalls_seeded() {
    for seed in 1..=3 {
        let cfg = NetBenchConfig {
            seed,
            dma_jitter: 80,
            dma_ready_pct: 60,
            mac_tx_ready_pct: 40,
            mac_rx_valid_pct: 50,
            irq_ready_pct: 50,
            ..Default::default()
        };
        let mut net = Net::new(cfg, 256);
        net.program(MAC, regs::RX_MODE_PROMISC | MRG);
        post_buffers(&mut net, 80, 512, 3);
        let rx: Vec<Vec<u8>> = (0..8)
            .map(|_| {
                let len = 60 + net.rng.below(3000) as usize;
                frame(&mut net.rng, MAC, len)
            })
            .collect();
        let tx: Vec<Vec<u8>> = (0..8)
            .map(|_| {
                let len = 60 + net.rng.below(3000) as usize;
                frame(&mut net.rng, [0xff; 6], len)
            })
            .collect();
        for f in &tx {
            net.post_tx(f, 4);
        }
        net.b.kick(1);
        receive(&mut net, &rx);
        assert!(
            net.b
                .run_until(400_000, |b| b.mac_tx.frames.len() == tx.len() && b.quiet())
        );
        for (g, f) in net.b.mac_tx.frames.iter().zip(&tx) {
            assert!(g.1 == *f, "seed {seed}: TX frame differs");
        }
        assert!(!net.b.error().0);
    }
}

#[test]
fn spec_2_7_10_rx_event_idx_interrupt_for_a_multi_buffer_frame() {
    // The driver asks for an interrupt at used index 0; a frame then takes
    // three buffers, published at once (used.idx 0 -> 3): need_event(0, 3,
    // 0) holds, though 0 != 3 - 1.
    let cfg = NetBenchConfig {
        event_idx: true,
        ..Default::default()
    };
    let mut net = Net::new(cfg, 64);
    net.program(MAC, regs::RX_MODE_PROMISC | MRG);
    net.rxq.set_used_event(&mut net.b.mem, 0);
    post_buffers(&mut net, 8, 128, 1);
    let f = frame(&mut net.rng, MAC, 300);
    assert_eq!(receive(&mut net, &[f]), vec![3]);
    assert_eq!(
        net.b.irqs.iter().filter(|i| i.1 == 0).count(),
        1,
        "one RX interrupt"
    );
    // used_event 3: the next frame (index 3 -> 4) interrupts.
    net.rxq.set_used_event(&mut net.b.mem, 3);
    let f = frame(&mut net.rng, MAC, 60);
    receive(&mut net, &[f]);
    assert_eq!(net.b.irqs.iter().filter(|i| i.1 == 0).count(), 2);
    // used_event 10 is not crossed by 4 -> 6: no interrupt.
    net.rxq.set_used_event(&mut net.b.mem, 10);
    let f = frame(&mut net.rng, MAC, 200);
    assert_eq!(receive(&mut net, &[f]), vec![2]);
    assert_eq!(net.b.irqs.iter().filter(|i| i.1 == 0).count(), 2);
}
