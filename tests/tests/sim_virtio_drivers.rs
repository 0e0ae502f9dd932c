//! The `virtio-drivers` crate's `VirtIOBlk` — a virtio driver nobody here
//! wrote — over vfpga-host's transport on the simulated board, on both
//! engine backends: its own reading of §3.1.1 initialisation and of the
//! blk request format (§5.2.6) against our hardware.

mod simdev;

use std::sync::{Arc, Mutex};

use simdev::{backend_or_skip, machine, sim};
use vfpga_host::Device;
use vfpga_host::blk::{check_pattern, fill_pattern};
use vfpga_host::virtio_drivers_glue::{DeviceHal, DeviceTransport};
use vfpga_sim::backend::BackendKind;
use virtio_drivers::device::blk::VirtIOBlk;

/// `DeviceHal` is process-wide: one device at a time in this binary.
static HAL: Mutex<()> = Mutex::new(());

fn virtio_drivers_blk(kind: BackendKind, sectors: u64, chunk: usize) {
    let _one = HAL.lock().unwrap_or_else(|e| e.into_inner());
    let dev = sim(kind, sectors, machine(kind));
    DeviceHal::install(dev.clone() as Arc<dyn Device>);
    {
        let transport = DeviceTransport::new(dev.clone() as Arc<dyn Device>).unwrap();
        let mut blk = VirtIOBlk::<DeviceHal, DeviceTransport>::new(transport).unwrap();
        assert_eq!(blk.capacity(), sectors);
        assert!(!blk.readonly());
        let mut id = [0u8; 20];
        let n = blk.device_id(&mut id).unwrap();
        assert_eq!(
            &id[..n],
            &vfpga_hdl::blk::BLK_ID[..n],
            "GET_ID returns the hardware's id string"
        );
        assert!(n > 0);

        let size = sectors as usize * 512;
        let seed = 0x5EED;
        let mut buf = vec![0u8; chunk];
        // Written back to front so that a device ignoring the sector would
        // leave the wrong data in front.
        for off in (0..size).step_by(chunk).rev() {
            fill_pattern(seed, off as u64, &mut buf);
            blk.write_blocks(off / 512, &buf).unwrap();
        }
        blk.flush().unwrap();
        for off in (0..size).step_by(chunk) {
            buf.fill(0);
            blk.read_blocks(off / 512, &mut buf).unwrap();
            assert_eq!(
                check_pattern(seed, off as u64, &buf),
                None,
                "data read back at disk offset {off:#x}"
            );
        }
        // A read past the end is refused by the device (IOERR).
        assert!(blk.read_blocks(sectors as usize, &mut buf[..512]).is_err());
        // ...and it still works afterwards.
        blk.read_blocks(0, &mut buf[..512]).unwrap();
        assert_eq!(check_pattern(seed, 0, &buf[..512]), None);
    }
    DeviceHal::uninstall();
    assert_eq!(dev.bus().iommu().faults(), 0);
}

#[test]
fn spec_5_2_6_virtio_drivers_blk_on_rust_hdl() {
    virtio_drivers_blk(BackendKind::RustHdl, 8, 1024);
}

#[test]
fn spec_5_2_6_virtio_drivers_blk_on_verilator() {
    if backend_or_skip(
        BackendKind::Verilator,
        "spec_5_2_6_virtio_drivers_blk_on_verilator",
    ) {
        virtio_drivers_blk(BackendKind::Verilator, 512, 8192);
    }
}
