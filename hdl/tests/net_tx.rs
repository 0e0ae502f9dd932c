//! virtio-net transmit (virtio 1.2 §5.1.6.2) through the net engine.

mod net_common;

use net_common::*;
use vfpga_hdl::testbench::net_bench::NetBenchConfig;

fn send_all(n: &mut Net, sizes: &[usize], max_parts: u64) {
    let mut frames = Vec::new();
    let mut heads = Vec::new();
    for &len in sizes {
        let f = frame(&mut n.rng, [0xff; 6], len);
        heads.push(n.post_tx(&f, max_parts));
        frames.push(f);
    }
    n.b.kick(1);
    let want = sizes.len();
    let tx_idx = n.txq.used_idx(&n.b.mem).wrapping_add(want as u16);
    let ok = n.b.run_until(400_000, |b| {
        b.mac_tx.frames.len() >= want && n.txq.used_idx(&b.mem) == tx_idx && b.quiet()
    });
    assert!(
        ok,
        "TX did not finish: {} of {want} frames, error {:?}",
        n.b.mac_tx.frames.len(),
        n.b.error()
    );
    assert!(!n.b.error().0, "engine error {:?}", n.b.error());
    let got: Vec<Vec<u8>> = n.b.mac_tx.frames.iter().map(|(_, f)| f.clone()).collect();
    assert_eq!(got.len(), frames.len());
    for (i, (g, f)) in got.iter().zip(&frames).enumerate() {
        assert_eq!(g.len(), f.len(), "frame {i} length");
        assert!(g == f, "frame {i} ({} bytes) differs", f.len());
    }
    // §2.7.8: every chain used, in order here, with length 0 (nothing written).
    for (k, h) in heads.iter().enumerate() {
        let (id, len) = n.txq.used_elem(&n.b.mem, n.tx_seen.wrapping_add(k as u16));
        assert_eq!((id, len), (*h as u32, 0), "used element {k}");
    }
    n.tx_seen = n.tx_seen.wrapping_add(want as u16);
}

#[test]
fn spec_5_1_6_2_tx_single_frame_header_stripped() {
    let mut n = Net::new(NetBenchConfig::default(), 64);
    send_all(&mut n, &[60], 1);
}

#[test]
fn spec_5_1_6_2_tx_frames_60_to_9000_random_descriptor_splits() {
    let mut n = Net::new(NetBenchConfig::default(), 256);
    let mut sizes = vec![
        60, 61, 64, 127, 128, 129, 1500, 1514, 4095, 4096, 4097, 9000,
    ];
    for _ in 0..12 {
        sizes.push(60 + n.rng.below(9000 - 60 + 1) as usize);
    }
    send_all(&mut n, &sizes, 5);
}

#[test]
fn spec_2_7_4_tx_header_split_across_descriptors() {
    // The 12-byte header in pieces of 1..=11 bytes (message framing is free).
    let mut n = Net::new(NetBenchConfig::default(), 64);
    for _ in 0..8 {
        let f = frame(&mut n.rng, MAC, 100);
        let mut bytes = vec![0u8; 12];
        bytes.extend_from_slice(&f);
        let cut = 1 + n.rng.below(11) as usize;
        let a = n.alloc(cut as u64);
        n.b.mem.write(a, &bytes[..cut]);
        let c = n.alloc((bytes.len() - cut) as u64);
        n.b.mem.write(c, &bytes[cut..]);
        let h = n.txq.add_chain(
            &mut n.b.mem,
            &[
                vfpga_hdl::testbench::Buffer::r(a, cut as u32),
                vfpga_hdl::testbench::Buffer::r(c, (bytes.len() - cut) as u32),
            ],
        );
        n.use_descs(1, 2);
        n.txq.make_available(&mut n.b.mem, h);
        n.b.kick(1);
        let want = n.b.mac_tx.frames.len() + 1;
        assert!(n.b.run_until(20_000, |b| b.mac_tx.frames.len() == want && b.quiet()));
        assert!(
            n.b.mac_tx.frames.last().unwrap().1 == f,
            "header cut at {cut}"
        );
    }
}

#[test]
fn tx_random_stalls_seeded() {
    for seed in 1..=3 {
        let cfg = NetBenchConfig {
            seed,
            dma_jitter: 60,
            dma_ready_pct: 60,
            mac_tx_ready_pct: 50,
            irq_ready_pct: 50,
            ..Default::default()
        };
        let mut n = Net::new(cfg, 64);
        let sizes: Vec<usize> = (0..10).map(|_| 60 + n.rng.below(3000) as usize).collect();
        send_all(&mut n, &sizes, 4);
    }
}

#[test]
fn spec_2_7_5_3_tx_and_rx_through_indirect_descriptors() {
    use vfpga_abi::mgmt::net as regs;
    use vfpga_hdl::testbench::Buffer;
    let mut n = Net::new(NetBenchConfig::default(), 16);
    n.program(MAC, regs::RX_MODE_PROMISC | regs::RX_MODE_MRG_RXBUF);
    // TX: header and frame in three pieces of an indirect table.
    let f = frame(&mut n.rng, [0xff; 6], 700);
    let mut bytes = vec![0u8; 12];
    bytes.extend_from_slice(&f);
    let mut bufs = Vec::new();
    for piece in [&bytes[..5], &bytes[5..300], &bytes[300..]] {
        let a = n.alloc(piece.len() as u64);
        n.b.mem.write(a, piece);
        bufs.push(Buffer::r(a, piece.len() as u32));
    }
    let table = n.alloc(48) & !15;
    n.use_descs(1, 1);
    let h = n.txq.add_indirect(&mut n.b.mem, table, &bufs);
    n.txq.make_available(&mut n.b.mem, h);
    n.b.kick(1);
    assert!(n.b.run_until(20_000, |b| b.mac_tx.frames.len() == 1 && b.quiet()));
    assert!(n.b.mac_tx.frames[0].1 == f);
    // RX: one buffer of two writable pieces in an indirect table.
    let a = n.alloc(100);
    let c = n.alloc(1000);
    let table = n.alloc(48) & !15;
    n.use_descs(0, 1);
    let h = n.rxq.add_indirect(
        &mut n.b.mem,
        table,
        &[Buffer::w(a, 100), Buffer::w(c, 1000)],
    );
    n.rxq.make_available(&mut n.b.mem, h);
    n.b.kick(0);
    n.b.run(2_000);
    let g = frame(&mut n.rng, MAC, 600);
    n.b.mac_rx.send(&g);
    assert!(n.b.run_until(20_000, |b| b.mac_rx.pending() == 0 && b.quiet()));
    assert_eq!(n.rxq.used_elem(&n.b.mem, 0), (h as u32, 612));
    let mut got = n.b.mem.read(a, 100);
    got.extend(n.b.mem.read(c, 512));
    assert_eq!(&got[..12], &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
    assert!(got[12..] == g[..]);
    assert!(!n.b.error().0);
}

#[test]
fn spec_2_1_2_tx_buffer_at_unmapped_address_stops_the_device() {
    use vfpga_hdl::testbench::Buffer;
    let mut n = Net::new(NetBenchConfig::default(), 16);
    n.use_descs(1, 1);
    // Outside every mapping: the data read fails.
    let h = n.txq.add_chain(&mut n.b.mem, &[Buffer::r(0x900_0000, 200)]);
    n.txq.make_available(&mut n.b.mem, h);
    n.b.kick(1);
    assert!(n.b.run_until(20_000, |b| b.error().0 && b.quiet()));
    let (_, cause, queue, _) = n.b.error();
    assert_eq!(
        (cause, queue),
        (vfpga_abi::vendor::ErrorCause::DmaError as u8, 1),
        "DmaError on transmitq1"
    );
    assert!(n.b.mac_tx.frames.is_empty());
    assert_eq!(n.txq.used_idx(&n.b.mem), 0, "nothing used after the fault");
}
