//! `SimDevice` behind `vfpga-host`'s `Device` trait, driven by the host's
//! own userspace virtio-blk driver: the control plane cannot tell the
//! simulated board from a real one.

use std::sync::Arc;
use std::time::Duration;

use vfpga_abi::pci::header;
use vfpga_host::blk::{BlkDriver, BlkOptions, ReqKind, Request, check_pattern, fill_pattern};
use vfpga_host::{Device, DeviceExt};
use vfpga_sim::machine::MachineConfig;
use vfpga_sim::storage::Image;
use vfpga_sim::{SimConfig, SimDevice};

fn sim(sectors: u64) -> Arc<SimDevice> {
    Arc::new(
        SimDevice::new(SimConfig {
            backend: None,
            machine: MachineConfig::default(),
            image: Image::ram(sectors * 512).unwrap(),
        })
        .unwrap(),
    )
}

#[test]
fn config_space_identity_and_bus_master_through_the_device_trait() {
    let dev = sim(64);
    assert!(dev.describe().starts_with("sim blk"));
    assert_eq!(
        dev.config_read_u16(header::VENDOR_ID).unwrap(),
        vfpga_abi::pci::VENDOR_ID
    );
    assert_eq!(
        dev.config_read_u16(header::DEVICE_ID).unwrap(),
        vfpga_abi::pci::DEVICE_ID_BLK
    );
    let cmd = dev.config_read_u16(header::COMMAND).unwrap();
    assert_ne!(
        cmd & header::COMMAND_MEMORY,
        0,
        "memory decoding on, as after vfio-pci open"
    );
    dev.config_write_u16(header::COMMAND, cmd | header::COMMAND_BUS_MASTER)
        .unwrap();
    assert!(dev.bus().pci_inputs().bus_master);
    // BAR0 reads are MMIO transactions answered by the hardware.
    let magic = dev
        .read_u32(
            0,
            u64::from(vfpga_abi::bar0::VENDOR + vfpga_abi::vendor::MAGIC),
        )
        .unwrap();
    assert_eq!(magic, vfpga_abi::vendor::MAGIC_VALUE);
    assert_eq!(dev.bar_size(0), Some(u64::from(vfpga_abi::bar0::SIZE)));
    assert!(dev.read_u32(1, 0).is_err());
}

#[test]
fn host_blk_driver_writes_then_reads_back_the_pattern() {
    let dev = sim(4096);
    let mut drv = BlkDriver::new(
        dev.clone() as Arc<dyn Device>,
        BlkOptions {
            queues: 1,
            depth: 8,
            request_size: 4096,
            timeout: Duration::from_secs(120),
        },
    )
    .unwrap();
    assert_eq!(drv.capacity(), 4096);
    let seed = 7;
    let reqs = |kind| {
        (0..32u64).map(move |i| Request {
            kind,
            sector: i * 8,
            len: 4096,
        })
    };
    let w = drv
        .run(
            reqs(ReqKind::Write),
            |r, buf| fill_pattern(seed, r.sector * 512, buf),
            |_, _| Ok(()),
        )
        .unwrap();
    assert_eq!(w.requests, 32);
    let r = drv
        .run(
            reqs(ReqKind::Read),
            |_, _| {},
            |r, buf| match check_pattern(seed, r.sector * 512, buf) {
                None => Ok(()),
                Some((bad, first)) => Err(format!("{bad} bad bytes from {first:#x}")),
            },
        )
        .unwrap();
    assert_eq!(r.requests, 32);
    assert!(r.interrupts > 0, "completions were signalled by MSI-X");
    assert_eq!(dev.bus().iommu().faults(), 0);
}

#[test]
fn function_reset_keeps_the_disk_and_the_device_comes_back() {
    let dev = sim(1024);
    let opts = BlkOptions {
        queues: 1,
        depth: 4,
        request_size: 4096,
        timeout: Duration::from_secs(120),
    };
    let seed = 11;
    let reqs = |kind| {
        (0..4u64).map(move |i| Request {
            kind,
            sector: i * 8,
            len: 4096,
        })
    };
    {
        let mut drv = BlkDriver::new(dev.clone() as Arc<dyn Device>, opts).unwrap();
        drv.run(
            reqs(ReqKind::Write),
            |r, buf| fill_pattern(seed, r.sector * 512, buf),
            |_, _| Ok(()),
        )
        .unwrap();
    }
    dev.reset().unwrap();
    assert!(
        !dev.bus().pci_inputs().bus_master,
        "reset clears bus master"
    );
    let st = u64::from(vfpga_abi::bar0::COMMON_CFG + vfpga_abi::common_cfg::DEVICE_STATUS);
    assert_eq!(
        dev.read_u8(0, st).unwrap(),
        0,
        "device_status reads 0 after reset"
    );
    let mut drv = BlkDriver::new(dev.clone() as Arc<dyn Device>, opts).unwrap();
    let r = drv
        .run(
            reqs(ReqKind::Read),
            |_, _| {},
            |r, buf| match check_pattern(seed, r.sector * 512, buf) {
                None => Ok(()),
                Some((bad, first)) => Err(format!("{bad} bad bytes from {first:#x}")),
            },
        )
        .unwrap();
    assert_eq!(r.requests, 4);
}
