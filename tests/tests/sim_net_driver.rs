//! vfpga-host's virtio-net driver against the simulated NIC with a
//! loopback port, on both engine backends: bring-up (virtio 1.2 §3.1.1,
//! §5.1.5), frames of every size out and back with mergeable RX buffers
//! (§5.1.6.2-4), and without them.

mod sim_net_common;

use sim_net_common::{MAC, MTU, backend_or_skip, driver, loop_sizes, nic};
use vfpga_abi::{features as f, net as n, status};
use vfpga_host::net::{NetDriver, NetOptions};
use vfpga_sim::backend::BackendKind;

fn bring_up(kind: BackendKind) {
    let dev = nic(kind);
    let drv = driver(&dev, NetOptions::default());
    let pci = drv.pci();
    assert_eq!(
        pci.status().unwrap(),
        status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK | status::DRIVER_OK,
        "§3.1.1: every step of the initialisation stuck"
    );
    let transport = f::bit(f::VERSION_1) | f::bit(f::ACCESS_PLATFORM);
    assert_eq!(
        pci.negotiated(),
        f::NET_OFFERED & (NetDriver::FEATURES | transport),
        "negotiated {:#x}",
        pci.negotiated()
    );
    let cfg = drv.config();
    assert_eq!(cfg.mac, MAC, "§5.1.4: mac from the device configuration");
    assert_eq!(cfg.mtu, MTU, "§5.1.4: mtu");
    assert_eq!(
        cfg.max_pairs,
        n::MAX_QUEUE_PAIRS,
        "§5.1.4: max_virtqueue_pairs"
    );
    assert!(cfg.link_up(), "§5.1.4: link up in status");
    assert!(drv.has_ctrl(), "control queue negotiated");
    // §5.1.2 with MQ: receiveq1, transmitq1 and the control queue after
    // the last pair are enabled; the second pair was not asked for.
    assert!(pci.queue_enabled(0).unwrap() && pci.queue_enabled(1).unwrap());
    assert!(pci.queue_enabled(n::CTRL_QUEUE).unwrap(), "control queue");
    assert!(!pci.queue_enabled(2).unwrap(), "receiveq2 not set up");
    assert_eq!(drv.active_pairs(), 1);
    assert_eq!(
        drv.rx_posted(0),
        NetOptions::default().queue_size as usize,
        "every RX buffer posted"
    );
    pci.check_needs_reset().unwrap();
}

#[test]
fn spec_5_1_5_bring_up_on_rust_hdl() {
    bring_up(BackendKind::RustHdl);
}

#[test]
fn spec_5_1_5_bring_up_on_verilator() {
    if backend_or_skip(BackendKind::Verilator, "spec_5_1_5_bring_up_on_verilator") {
        bring_up(BackendKind::Verilator);
    }
}

/// Sizes around the places where a frame's buffers split: the 2048-byte
/// RX buffers hold 2036 frame bytes behind the header, then 2048 each.
fn boundary_sizes() -> Vec<usize> {
    let mut v = vec![60, 61, 64, 1500, 1514];
    for edge in [2036, 2036 + 2048, 2036 + 3 * 2048] {
        v.extend([edge - 1, edge, edge + 1]);
    }
    v.push(n::MAX_MTU as usize);
    v
}

fn mergeable_loopback(kind: BackendKind, sizes: &[usize]) {
    let dev = nic(kind);
    let mut drv = driver(&dev, NetOptions::default());
    let back = loop_sizes(&mut drv, sizes, 16);
    for (f, &len) in back.iter().zip(sizes) {
        // §5.1.6.4: num_buffers is the number of buffers the frame took.
        let want = (len + n::HDR_LEN as usize).div_ceil(2048) as u16;
        assert_eq!(f.buffers, want, "{len}-byte frame: num_buffers");
    }
    let st = drv.stats();
    assert_eq!(st.rx_frames, sizes.len() as u64);
    assert_eq!(st.tx_frames, sizes.len() as u64);
    assert!(st.interrupts > 0, "completions came by MSI-X");
    let port = dev.net_stats().expect("a NIC has port counters");
    assert_eq!(
        port.tx_frames,
        sizes.len() as u64,
        "the port saw every frame"
    );
    assert_eq!(dev.bus().iommu().faults(), 0, "no DMA outside the mappings");
    drv.pci().check_needs_reset().unwrap();
}

#[test]
fn spec_5_1_6_4_mergeable_buffers_at_the_split_points_on_rust_hdl() {
    mergeable_loopback(BackendKind::RustHdl, &boundary_sizes());
}

#[test]
fn spec_5_1_6_4_every_size_from_60_to_9000_on_verilator() {
    if backend_or_skip(
        BackendKind::Verilator,
        "spec_5_1_6_4_every_size_from_60_to_9000_on_verilator",
    ) {
        let sizes: Vec<usize> = (60..=n::MAX_MTU as usize).collect();
        mergeable_loopback(BackendKind::Verilator, &sizes);
    }
}

fn without_mergeable(kind: BackendKind) {
    let dev = nic(kind);
    let mut drv = driver(
        &dev,
        NetOptions {
            withhold: f::bit(f::NET_MRG_RXBUF),
            queue_size: 16,
            ..NetOptions::default()
        },
    );
    assert!(!drv.pci().has(f::NET_MRG_RXBUF));
    let sizes = [60, 1514, 4000, n::MAX_MTU as usize];
    let back = loop_sizes(&mut drv, &sizes, 4);
    // §5.1.6.3.1 / §5.1.6.4.1: one buffer holds the whole frame and
    // num_buffers is 1.
    assert!(back.iter().all(|f| f.buffers == 1));
}

#[test]
fn spec_5_1_6_3_without_mergeable_buffers_one_buffer_per_frame_on_rust_hdl() {
    without_mergeable(BackendKind::RustHdl);
}

#[test]
fn spec_5_1_6_3_without_mergeable_buffers_one_buffer_per_frame_on_verilator() {
    if backend_or_skip(
        BackendKind::Verilator,
        "spec_5_1_6_3_without_mergeable_buffers_one_buffer_per_frame_on_verilator",
    ) {
        without_mergeable(BackendKind::Verilator);
    }
}
