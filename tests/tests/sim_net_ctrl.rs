//! The control queue and the receive filter through vfpga-host's driver on
//! the simulated NIC with a loopback port (virtio 1.2 §5.1.6.5): MAC
//! address, promiscuous mode, multiqueue with receive steering, and frames
//! arriving with no RX buffer posted.
//!
//! A dropped frame is shown by a marker frame sent right behind it on the
//! same pair: one pair on a loopback keeps order, so the marker arriving
//! first proves the other will never come (no wait on wall time).

mod sim_net_common;

use sim_net_common::{MAC, backend_or_skip, driver, nic, recv, test_frame};
use vfpga_abi::net as n;
use vfpga_host::net::{NetError, NetOptions, frame};
use vfpga_sim::backend::BackendKind;

/// Another unicast address (the source of every frame here).
const PEER: [u8; 6] = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];

/// Sends a frame to `dst` and then a marker to the driver's current MAC;
/// returns whether the first came back (the marker always must).
fn delivered(drv: &mut vfpga_host::net::NetDriver, dst: [u8; 6], seq: u32) -> bool {
    let probe = test_frame(dst, PEER, seq, 100);
    let marker = test_frame(drv.mac(), PEER, seq + 1, 64);
    drv.send(0, &probe).unwrap();
    drv.send(0, &marker).unwrap();
    let first = recv(drv, "probe or marker");
    if first.data == probe {
        let m = recv(drv, "marker");
        assert_eq!(m.data, marker, "the marker follows the probe");
        true
    } else {
        assert_eq!(first.data, marker, "nothing but probe and marker arrives");
        false
    }
}

fn mac_addr_set(kind: BackendKind) {
    let dev = nic(kind);
    let mut drv = driver(&dev, NetOptions::default());
    // Filtering on: only our address (and broadcast) pass.
    drv.set_promisc(false).unwrap();
    assert!(delivered(&mut drv, MAC, 0), "frames to our MAC pass");
    assert!(
        !delivered(&mut drv, PEER, 10),
        "promisc off: a foreign unicast is dropped"
    );
    assert!(delivered(&mut drv, [0xFF; 6], 20), "broadcast passes");
    let new = [0x02, 0x56, 0x46, 0x50, 0x47, 0x99];
    drv.set_mac(new).unwrap();
    assert_eq!(drv.mac(), new);
    assert!(
        !delivered(&mut drv, MAC, 30),
        "§5.1.6.5.2: after MAC_ADDR_SET frames to the old address are dropped"
    );
    assert!(
        delivered(&mut drv, new, 40),
        "and frames to the new one delivered"
    );
    let port = dev.net_stats().unwrap();
    // Every probe and marker reached the hardware from the port: the two
    // missing frames were dropped by the hardware filter, not the wire.
    assert_eq!(port.rx_to_hw, 10, "frames handed to the hardware");
    assert_eq!(drv.stats().rx_frames, 8, "frames the driver received");
    assert_eq!(drv.stats().ctrl_commands, 2);
}

#[test]
fn spec_5_1_6_5_2_mac_addr_set_moves_the_filter_on_rust_hdl() {
    mac_addr_set(BackendKind::RustHdl);
}

#[test]
fn spec_5_1_6_5_2_mac_addr_set_moves_the_filter_on_verilator() {
    if backend_or_skip(
        BackendKind::Verilator,
        "spec_5_1_6_5_2_mac_addr_set_moves_the_filter_on_verilator",
    ) {
        mac_addr_set(BackendKind::Verilator);
    }
}

fn promisc_and_tables(kind: BackendKind) {
    let dev = nic(kind);
    let mut drv = driver(&dev, NetOptions::default());
    // §5.1.6.5.1: the device starts promiscuous (a driver without CTRL_RX
    // must get its traffic).
    assert!(delivered(&mut drv, PEER, 0), "promiscuous after reset");
    drv.set_promisc(false).unwrap();
    assert!(!delivered(&mut drv, PEER, 10), "promisc off");
    drv.set_promisc(true).unwrap();
    assert!(delivered(&mut drv, PEER, 20), "promisc on again");
    drv.set_promisc(false).unwrap();
    let group = [0x01, 0x00, 0x5E, 0x00, 0x00, 0x01];
    assert!(
        !delivered(&mut drv, group, 30),
        "multicast not in the table"
    );
    drv.set_allmulti(true).unwrap();
    assert!(delivered(&mut drv, group, 40), "all-multicast");
    drv.set_allmulti(false).unwrap();
    drv.set_mac_table(&[PEER], &[group]).unwrap();
    assert!(delivered(&mut drv, PEER, 50), "unicast table entry");
    assert!(delivered(&mut drv, group, 60), "multicast table entry");
    drv.set_mac_table(&[], &[]).unwrap();
    assert!(!delivered(&mut drv, PEER, 70), "table emptied");
    // More entries than the hardware holds: the device says ERR and the
    // driver reports it; the device goes on.
    let many: Vec<[u8; 6]> = (0..=n::ctrl::MAC_TABLE_ENTRIES as u8)
        .map(|i| [0x02, 0, 0, 0, 1, i])
        .collect();
    match drv.set_mac_table(&many, &[]) {
        Err(NetError::CtrlRefused { class, command }) => {
            assert_eq!(
                (class, command),
                (n::ctrl::CLASS_MAC, n::ctrl::MAC_TABLE_SET)
            )
        }
        other => panic!("a table of {} entries: {other:?}", many.len()),
    }
    assert!(
        delivered(&mut drv, MAC, 80),
        "the device works after an ERR"
    );
    drv.pci().check_needs_reset().unwrap();
}

#[test]
fn spec_5_1_6_5_1_promiscuous_allmulti_and_mac_table_on_rust_hdl() {
    promisc_and_tables(BackendKind::RustHdl);
}

#[test]
fn spec_5_1_6_5_1_promiscuous_allmulti_and_mac_table_on_verilator() {
    if backend_or_skip(
        BackendKind::Verilator,
        "spec_5_1_6_5_1_promiscuous_allmulti_and_mac_table_on_verilator",
    ) {
        promisc_and_tables(BackendKind::Verilator);
    }
}

/// Sends `per_pair` frames on each active pair (pair `p` to its own
/// flow's addresses, see `frame::pair_addresses`) and returns, per frame,
/// (pair sent on, pair received on).
fn traffic(
    drv: &mut vfpga_host::net::NetDriver,
    addr_pairs: u16,
    per_pair: u32,
    base: u32,
) -> Vec<(u16, u16)> {
    let active = drv.active_pairs();
    let mut sent = std::collections::HashMap::new();
    for i in 0..per_pair * active as u32 {
        let tx = (i % active as u32) as u16;
        // The flow's addresses are those of pair `i % addr_pairs`.
        let flow = (i % addr_pairs as u32) as u16;
        let (dst, src) = frame::pair_addresses(drv.mac(), flow);
        let seq = base + i;
        drv.send(tx, &test_frame(dst, src, seq, 60 + i as usize))
            .unwrap();
        sent.insert(seq, tx);
    }
    let mut out = Vec::new();
    for _ in 0..sent.len() {
        let f = recv(drv, "multiqueue traffic");
        let seq = frame::seq_of(&f.data).expect("a self-test frame");
        let tx = sent.remove(&seq).expect("each frame once");
        out.push((tx, f.pair));
    }
    out
}

fn both_pairs(kind: BackendKind) {
    let dev = nic(kind);
    let mut drv = driver(
        &dev,
        NetOptions {
            pairs: n::MAX_QUEUE_PAIRS,
            ..NetOptions::default()
        },
    );
    // The driver sent VQ_PAIRS_SET 2 during bring-up.
    assert_eq!(drv.active_pairs(), 2);
    for q in 0..2 * n::MAX_QUEUE_PAIRS {
        assert!(drv.pci().queue_enabled(q).unwrap(), "queue {q} enabled");
    }
    let (dst1, _) = frame::pair_addresses(MAC, 1);
    drv.set_mac_table(&[dst1], &[]).unwrap();
    drv.set_promisc(false).unwrap();
    // §5.1.6.5.5: a flow's frames are received on the pair whose transmitq
    // last sent to that peer.
    let got = traffic(&mut drv, 2, 8, 0);
    assert!(
        got.iter().all(|&(tx, rx)| tx == rx),
        "each flow steered to the pair that sent it: {got:?}"
    );
    for p in 0..2 {
        assert!(
            got.iter().any(|&(_, rx)| rx == p),
            "pair {p} carried traffic"
        );
    }
    // Back to one pair: receiveq2 must not be used any more, not even for
    // the flow last steered to it.
    drv.set_queue_pairs(1).unwrap();
    assert!(matches!(
        drv.send(1, &test_frame(MAC, MAC, 0, 60)),
        Err(NetError::NoSuchPair { .. })
    ));
    let got = traffic(&mut drv, 2, 8, 100);
    assert!(
        got.iter().all(|&(_, rx)| rx == 0),
        "§5.1.6.5.5: one pair in use, everything on receiveq1: {got:?}"
    );
    drv.set_queue_pairs(2).unwrap();
    let got = traffic(&mut drv, 2, 8, 200);
    assert!(
        got.iter().all(|&(tx, rx)| tx == rx),
        "steering again: {got:?}"
    );
    // Out of range: the driver refuses before asking the device.
    assert!(drv.set_queue_pairs(3).is_err());
    drv.pci().check_needs_reset().unwrap();
}

#[test]
fn spec_5_1_6_5_5_both_pairs_carry_traffic_after_vq_pairs_set_on_rust_hdl() {
    both_pairs(BackendKind::RustHdl);
}

#[test]
fn spec_5_1_6_5_5_both_pairs_carry_traffic_after_vq_pairs_set_on_verilator() {
    if backend_or_skip(
        BackendKind::Verilator,
        "spec_5_1_6_5_5_both_pairs_carry_traffic_after_vq_pairs_set_on_verilator",
    ) {
        both_pairs(BackendKind::Verilator);
    }
}

fn no_rx_buffer(kind: BackendKind) {
    let dev = nic(kind);
    let mut drv = driver(
        &dev,
        NetOptions {
            post_rx: false,
            ..NetOptions::default()
        },
    );
    assert_eq!(drv.rx_posted(0), 0);
    let lost = test_frame(MAC, PEER, 0, 1500);
    drv.send(0, &lost).unwrap();
    // Sent means the hardware has taken the whole frame off the ring and
    // put it on the wire; on the loopback it is back at the MAC in the
    // next cycle, waits RX_WAIT_CYCLES for a buffer and, with nothing
    // posted, is dropped: the port counts it handed to the hardware then.
    drv.flush_tx().unwrap();
    let t0 = std::time::Instant::now();
    while dev.net_stats().unwrap().rx_to_hw == 0 {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(120),
            "the frame without a buffer was never taken off the port"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    drv.refill_rx().unwrap();
    let next = test_frame(MAC, PEER, 1, 1500);
    drv.send(0, &next).unwrap();
    let f = recv(&mut drv, "the frame after the refill");
    assert_eq!(
        f.data, next,
        "§5.1.6.3: the frame that found no buffer was dropped; the next one is delivered"
    );
    // The device keeps working: a few more round trips.
    for seq in 2..6 {
        let fr = test_frame(MAC, PEER, seq, 60 + 500 * seq as usize);
        drv.send(0, &fr).unwrap();
        assert_eq!(recv(&mut drv, "after the drop").data, fr);
    }
    // The port handed all six frames to the hardware, which delivered
    // five: the first was dropped inside the device.
    assert_eq!(dev.net_stats().unwrap().rx_to_hw, 6);
    assert_eq!(drv.stats().rx_frames, 5);
    drv.pci().check_needs_reset().unwrap();
}

#[test]
fn spec_5_1_6_3_no_rx_buffer_drops_and_the_device_goes_on_on_rust_hdl() {
    no_rx_buffer(BackendKind::RustHdl);
}

#[test]
fn spec_5_1_6_3_no_rx_buffer_drops_and_the_device_goes_on_on_verilator() {
    if backend_or_skip(
        BackendKind::Verilator,
        "spec_5_1_6_3_no_rx_buffer_drops_and_the_device_goes_on_on_verilator",
    ) {
        no_rx_buffer(BackendKind::Verilator);
    }
}
