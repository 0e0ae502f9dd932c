//! Shared driver-side helpers for the firmware tests: a tiny virtio-pci
//! driver acting on the fake management port.

#![allow(dead_code)]

use vfpga_abi::Personality;
use vfpga_abi::features::{RING_EVENT_IDX, RING_INDIRECT_DESC, VERSION_1, bit};
use vfpga_abi::status::{ACKNOWLEDGE, DRIVER, DRIVER_OK, FEATURES_OK};
use vfpga_firmware::fake::FakeMgmt;
use vfpga_firmware::queue::QueueConfig;
use vfpga_firmware::{BoardConfig, Firmware};

pub type Fw = Firmware<FakeMgmt>;

/// QUEUE_SIZE_MAX of the fake hardware.
pub const QMAX: u16 = 256;

/// A valid queue: power-of-two size, rings aligned per §2.7.
pub const GOOD_QUEUE: QueueConfig = QueueConfig {
    size: 128,
    desc: 0x1_0000,
    driver: 0x2_0000,
    device: 0x3_0000,
};

pub const BASIC_FEATURES: u64 = bit(VERSION_1) | bit(RING_EVENT_IDX) | bit(RING_INDIRECT_DESC);

pub fn firmware(p: Personality) -> Fw {
    Firmware::new(FakeMgmt::new(p, QMAX), BoardConfig::DEFAULT).expect("firmware starts")
}

pub fn blk() -> Fw {
    firmware(Personality::Blk)
}

pub fn net() -> Fw {
    firmware(Personality::Net)
}

/// Writes device_status, lets firmware run once, reads it back (the read must
/// have been released).
pub fn write_status(fw: &mut Fw, value: u8) -> u8 {
    fw.hal_mut().driver_write_status(value);
    assert_eq!(
        fw.hal().driver_read_status(),
        None,
        "read held until firmware answers"
    );
    fw.poll();
    fw.hal_mut()
        .driver_poll_status()
        .expect("firmware answered the status write")
}

/// ACKNOWLEDGE, DRIVER, features, FEATURES_OK; returns the status read back.
pub fn negotiate(fw: &mut Fw, features: u64) -> u8 {
    write_status(fw, ACKNOWLEDGE);
    write_status(fw, ACKNOWLEDGE | DRIVER);
    fw.hal_mut().driver_write_features(features);
    write_status(fw, ACKNOWLEDGE | DRIVER | FEATURES_OK)
}

/// Configures and enables queue `q`; returns queue_enable read back.
pub fn enable_queue(fw: &mut Fw, q: u16, cfg: QueueConfig) -> u16 {
    fw.hal_mut().driver_configure_queue(q, cfg);
    fw.hal_mut().driver_write_queue_enable(q, 1);
    assert_eq!(fw.hal().driver_read_queue_enable(q), None, "read held");
    fw.poll();
    fw.hal()
        .driver_read_queue_enable(q)
        .expect("firmware answered queue_enable")
}

/// The whole §3.1.1 sequence with every queue enabled.
pub fn bring_up(fw: &mut Fw, features: u64) -> u8 {
    let st = negotiate(fw, features);
    assert_ne!(st & FEATURES_OK, 0);
    for q in 0..fw.num_queues() {
        let cfg = QueueConfig {
            desc: GOOD_QUEUE.desc + 0x10_0000 * q as u64,
            ..GOOD_QUEUE
        };
        assert_eq!(enable_queue(fw, q, cfg), 1);
    }
    write_status(fw, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK)
}

pub fn q_run(fw: &Fw, q: u16) -> bool {
    fw.hal().queues[q as usize].run
}

pub fn assert_clean(fw: &Fw) {
    assert!(fw.hal().violations.is_empty(), "{:?}", fw.hal().violations);
    fw.hal().check_invariants().unwrap();
}
