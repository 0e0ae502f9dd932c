//! Virtqueue acceptance rules (virtio 1.2 §2.7 split virtqueue sizes and
//! alignment) and per-queue firmware state.

use vfpga_abi::mgmt;

use crate::hal::Hal;

/// Alignment of the descriptor table (§2.7).
pub const DESC_ALIGN: u64 = 16;
/// Alignment of the driver (avail) area (§2.7).
pub const DRIVER_ALIGN: u64 = 2;
/// Alignment of the device (used) area (§2.7).
pub const DEVICE_ALIGN: u64 = 4;
/// Largest queue size the split ring allows (§2.7).
pub const SPEC_MAX_SIZE: u32 = 32768;

/// A queue's configuration as the driver wrote it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueConfig {
    /// queue_size.
    pub size: u16,
    /// queue_desc.
    pub desc: u64,
    /// queue_driver (avail ring).
    pub driver: u64,
    /// queue_device (used ring).
    pub device: u64,
}

impl QueueConfig {
    /// Reads queue `q`'s configuration through the management port.
    pub fn read<H: Hal>(hal: &mut H, q: u16) -> Self {
        hal.write(mgmt::QUEUE_SEL, q as u32);
        let wide =
            |hal: &mut H, lo: u16, hi: u16| hal.read(lo) as u64 | (hal.read(hi) as u64) << 32;
        QueueConfig {
            size: hal.read(mgmt::Q_SIZE) as u16,
            desc: wide(hal, mgmt::Q_DESC_LO, mgmt::Q_DESC_HI),
            driver: wide(hal, mgmt::Q_DRIVER_LO, mgmt::Q_DRIVER_HI),
            device: wide(hal, mgmt::Q_DEVICE_LO, mgmt::Q_DEVICE_HI),
        }
    }

    /// Checks size and alignment against the engine's maximum.
    pub fn validate(&self, size_max: u16) -> Result<(), QueueRefusal> {
        if self.size == 0 || !self.size.is_power_of_two() {
            return Err(QueueRefusal::SizeNotPowerOfTwo(self.size));
        }
        if self.size > size_max {
            return Err(QueueRefusal::SizeTooLarge(self.size));
        }
        if !self.desc.is_multiple_of(DESC_ALIGN) {
            return Err(QueueRefusal::DescMisaligned(self.desc));
        }
        if !self.driver.is_multiple_of(DRIVER_ALIGN) {
            return Err(QueueRefusal::DriverMisaligned(self.driver));
        }
        if !self.device.is_multiple_of(DEVICE_ALIGN) {
            return Err(QueueRefusal::DeviceMisaligned(self.device));
        }
        Ok(())
    }
}

/// Why a queue_enable write was refused (queue_enable reads back 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueRefusal {
    /// queue_size is 0 or not a power of two.
    SizeNotPowerOfTwo(u16),
    /// queue_size is above QUEUE_SIZE_MAX.
    SizeTooLarge(u16),
    /// queue_desc is not 16-byte aligned.
    DescMisaligned(u64),
    /// queue_driver is not 2-byte aligned.
    DriverMisaligned(u64),
    /// queue_device is not 4-byte aligned.
    DeviceMisaligned(u64),
    /// FEATURES_OK is not set yet (§3.1.1: queues are set up after it).
    FeaturesNotOk,
    /// The device is failed, needs reset, or is being reset.
    DeviceNotUsable,
    /// The queue is being reset.
    QueueResetting,
    /// The driver wrote 0, which it must not (§4.1.4.3.2); nothing changes.
    DisableNotSupported,
}

/// Firmware-side state of one queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueState {
    /// queue_enable reads 1.
    pub enabled: bool,
    /// Q_RUN is set: the engine may fetch from it.
    pub running: bool,
    /// A queue_reset is waiting for the queue's chains to drain.
    pub resetting: bool,
}

/// Queues the firmware tracks: the vendor region's maximum.
pub const MAX_QUEUES: usize = vfpga_abi::vendor::MAX_QUEUES as usize;
