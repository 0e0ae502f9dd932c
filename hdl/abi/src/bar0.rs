//! The BAR0 map: where each virtio structure lives in the function's one
//! memory BAR.
//!
//! Every region starts on a 4 KiB boundary so that a host can map (or trap)
//! each one on its own page, as vDPA parents and VFIO users expect.

/// Index of the BAR that holds every structure below.
pub const BAR_INDEX: u8 = 0;
/// Size of BAR0 in bytes (power of two, as PCI requires).
pub const SIZE: u32 = 0x8000;

/// Common configuration (`virtio_pci_common_cfg`, see [`crate::common_cfg`]).
pub const COMMON_CFG: u32 = 0x0000;
/// Length of the common configuration structure, including `queue_reset`.
pub const COMMON_CFG_LEN: u32 = crate::common_cfg::LEN;

/// ISR status byte (§4.1.4.5). Reading it clears it.
pub const ISR: u32 = 0x1000;
/// Length of the ISR region.
pub const ISR_LEN: u32 = 4;

/// Device-specific configuration (blk or net config).
pub const DEVICE_CFG: u32 = 0x2000;
/// Length of the device configuration window (the larger of both personalities).
pub const DEVICE_CFG_LEN: u32 = 0x100;

/// Queue notification doorbells (§4.1.4.4).
pub const NOTIFY: u32 = 0x3000;
/// `notify_off_multiplier`: each queue has its own 4-byte doorbell, so a
/// 32-bit NOTIFICATION_DATA write fits and doorbells can be mapped apart.
pub const NOTIFY_OFF_MULTIPLIER: u32 = 4;
/// Length of the notify region (one doorbell per queue the hardware can have).
pub const NOTIFY_LEN: u32 = NOTIFY_OFF_MULTIPLIER * crate::vendor::MAX_QUEUES as u32;

/// Vendor region: ring state, queue stop/start, counters, error cause
/// (see [`crate::vendor`]).
pub const VENDOR: u32 = 0x4000;
/// Length of the vendor region.
pub const VENDOR_LEN: u32 = crate::vendor::LEN;

/// MSI-X table (16 bytes per vector, see [`crate::msix`]).
pub const MSIX_TABLE: u32 = 0x5000;
/// Length of the MSI-X table.
pub const MSIX_TABLE_LEN: u32 = crate::msix::VECTORS as u32 * crate::msix::ENTRY_SIZE;
/// MSI-X pending bit array.
pub const MSIX_PBA: u32 = 0x6000;
/// Length of the PBA (one 64-bit word covers all our vectors).
pub const MSIX_PBA_LEN: u32 = 8;

/// A named region of BAR0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    /// Common configuration.
    CommonCfg,
    /// ISR status.
    Isr,
    /// Device configuration.
    DeviceCfg,
    /// Doorbells.
    Notify,
    /// Vendor region.
    Vendor,
    /// MSI-X table.
    MsixTable,
    /// MSI-X pending bits.
    MsixPba,
}

/// Every region with its offset and length, in address order.
pub const REGIONS: [(Region, u32, u32); 7] = [
    (Region::CommonCfg, COMMON_CFG, COMMON_CFG_LEN),
    (Region::Isr, ISR, ISR_LEN),
    (Region::DeviceCfg, DEVICE_CFG, DEVICE_CFG_LEN),
    (Region::Notify, NOTIFY, NOTIFY_LEN),
    (Region::Vendor, VENDOR, VENDOR_LEN),
    (Region::MsixTable, MSIX_TABLE, MSIX_TABLE_LEN),
    (Region::MsixPba, MSIX_PBA, MSIX_PBA_LEN),
];

/// Finds the region an offset falls in, and the offset within it.
/// Holes between regions read as zero and ignore writes.
pub const fn decode(offset: u32) -> Option<(Region, u32)> {
    let mut i = 0;
    while i < REGIONS.len() {
        let (r, base, len) = REGIONS[i];
        if offset >= base && offset < base + len {
            return Some((r, offset - base));
        }
        i += 1;
    }
    None
}

/// Byte offset of queue `q`'s doorbell, given its `queue_notify_off`.
pub const fn doorbell(queue_notify_off: u16) -> u32 {
    NOTIFY + queue_notify_off as u32 * NOTIFY_OFF_MULTIPLIER
}

// Both personalities' device configuration must fit the window.
const _: () = assert!(crate::blk::config::LEN <= DEVICE_CFG_LEN);
const _: () = assert!(crate::net::config::LEN <= DEVICE_CFG_LEN);
