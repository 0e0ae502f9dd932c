//! The `virtio-drivers` crate's `VirtIONet` — a virtio-net driver nobody
//! here wrote — over vfpga-host's transport on the simulated NIC with a
//! loopback port, on both engine backends: its own reading of §3.1.1 and of
//! the frame format (§5.1.6) against our hardware, without mergeable
//! buffers, the control queue or multiqueue (it negotiates none of them).

mod sim_net_common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sim_net_common::{MAC, PATIENCE, backend_or_skip, nic, test_frame};
use vfpga_host::Device;
use vfpga_host::net::frame;
use vfpga_host::virtio_drivers_glue::{DeviceHal, DeviceTransport};
use vfpga_sim::backend::BackendKind;
use virtio_drivers::device::net::{TxBuffer, VirtIONet};

/// `DeviceHal` is process-wide: one device at a time in this binary.
static HAL: Mutex<()> = Mutex::new(());

fn round_trip(kind: BackendKind, sizes: &[usize]) {
    let _one = HAL.lock().unwrap_or_else(|e| e.into_inner());
    let dev = nic(kind);
    DeviceHal::install(dev.clone() as Arc<dyn Device>);
    {
        let transport = DeviceTransport::new(dev.clone() as Arc<dyn Device>).unwrap();
        let largest = *sizes.iter().max().unwrap();
        // VirtIONet rounds the buffer length down to whole words.
        let buf_len = (vfpga_abi::net::HDR_LEN as usize + largest).next_multiple_of(8);
        let mut net = VirtIONet::<DeviceHal, DeviceTransport, 16>::new(transport, buf_len).unwrap();
        assert_eq!(
            net.mac_address(),
            MAC,
            "mac read from the device configuration"
        );
        let (dst, src) = frame::pair_addresses(MAC, 0);
        for (seq, &len) in sizes.iter().enumerate() {
            let f = test_frame(dst, src, seq as u32, len);
            net.send(TxBuffer::from(&f[..])).unwrap();
            let start = Instant::now();
            let rx = loop {
                match net.receive() {
                    Ok(rx) => break rx,
                    Err(virtio_drivers::Error::NotReady) => {
                        assert!(
                            start.elapsed() < PATIENCE,
                            "frame {seq} ({len} bytes) did not come back"
                        );
                        std::thread::sleep(Duration::from_micros(50));
                    }
                    Err(e) => panic!("frame {seq}: receive: {e}"),
                }
            };
            assert_eq!(
                frame::diff(rx.packet(), &f),
                None,
                "frame {seq} of {len} bytes came back as {} bytes",
                rx.packet().len()
            );
            net.recycle_rx_buffer(rx).unwrap();
        }
    }
    DeviceHal::uninstall();
    assert_eq!(dev.bus().iommu().faults(), 0);
    assert_eq!(dev.net_stats().unwrap().tx_frames, sizes.len() as u64);
}

#[test]
fn spec_5_1_6_virtio_drivers_net_round_trip_on_rust_hdl() {
    round_trip(BackendKind::RustHdl, &[60, 1514, 4000, 9000]);
}

#[test]
fn spec_5_1_6_virtio_drivers_net_round_trip_on_verilator() {
    if backend_or_skip(
        BackendKind::Verilator,
        "spec_5_1_6_virtio_drivers_net_round_trip_on_verilator",
    ) {
        let mut sizes: Vec<usize> = (60..=300).collect();
        sizes.extend((1400..=1600).step_by(7));
        sizes.extend([4096, 8191, 8192, 9000]);
        round_trip(BackendKind::Verilator, &sizes);
    }
}
