//! `virtio_pci_common_cfg` (virtio 1.2 §4.1.4.3): byte offsets inside the
//! common configuration structure, and the width of each field.

/// Selects which 32 feature bits `DEVICE_FEATURE` shows (u32, RW).
pub const DEVICE_FEATURE_SELECT: u32 = 0x00;
/// 32 feature bits offered by the device (u32, RO).
pub const DEVICE_FEATURE: u32 = 0x04;
/// Selects which 32 feature bits `DRIVER_FEATURE` accesses (u32, RW).
pub const DRIVER_FEATURE_SELECT: u32 = 0x08;
/// 32 feature bits accepted by the driver (u32, RW).
pub const DRIVER_FEATURE: u32 = 0x0C;
/// MSI-X vector for configuration changes (u16, RW).
pub const CONFIG_MSIX_VECTOR: u32 = 0x10;
/// Number of queues the device supports (u16, RO).
pub const NUM_QUEUES: u32 = 0x12;
/// Device status (u8, RW; writing 0 resets).
pub const DEVICE_STATUS: u32 = 0x14;
/// Configuration atomicity counter (u8, RO).
pub const CONFIG_GENERATION: u32 = 0x15;
/// Queue select (u16, RW); the fields below refer to the selected queue.
pub const QUEUE_SELECT: u32 = 0x16;
/// Queue size (u16, RW; reads the maximum after reset, 0 = no such queue).
pub const QUEUE_SIZE: u32 = 0x18;
/// MSI-X vector for the queue (u16, RW).
pub const QUEUE_MSIX_VECTOR: u32 = 0x1A;
/// Queue enable (u16, RW).
pub const QUEUE_ENABLE: u32 = 0x1C;
/// Doorbell index of the queue (u16, RO).
pub const QUEUE_NOTIFY_OFF: u32 = 0x1E;
/// Descriptor area address (u64, RW).
pub const QUEUE_DESC: u32 = 0x20;
/// Driver (avail) area address (u64, RW).
pub const QUEUE_DRIVER: u32 = 0x28;
/// Device (used) area address (u64, RW).
pub const QUEUE_DEVICE: u32 = 0x30;
/// Value to use in notifications with VIRTIO_F_NOTIF_CONFIG_DATA (u16, RO).
pub const QUEUE_NOTIFY_DATA: u32 = 0x38;
/// Per-queue reset with VIRTIO_F_RING_RESET (u16, RW).
pub const QUEUE_RESET: u32 = 0x3A;
/// Length of the structure through `queue_reset`.
pub const LEN: u32 = 0x3C;

/// Value of `QUEUE_MSIX_VECTOR` / `CONFIG_MSIX_VECTOR` meaning "no vector".
pub const NO_VECTOR: u16 = 0xFFFF;

/// Every field: (offset, width in bytes, name).
pub const FIELDS: [(u32, u8, &str); 19] = [
    (DEVICE_FEATURE_SELECT, 4, "device_feature_select"),
    (DEVICE_FEATURE, 4, "device_feature"),
    (DRIVER_FEATURE_SELECT, 4, "driver_feature_select"),
    (DRIVER_FEATURE, 4, "driver_feature"),
    (CONFIG_MSIX_VECTOR, 2, "config_msix_vector"),
    (NUM_QUEUES, 2, "num_queues"),
    (DEVICE_STATUS, 1, "device_status"),
    (CONFIG_GENERATION, 1, "config_generation"),
    (QUEUE_SELECT, 2, "queue_select"),
    (QUEUE_SIZE, 2, "queue_size"),
    (QUEUE_MSIX_VECTOR, 2, "queue_msix_vector"),
    (QUEUE_ENABLE, 2, "queue_enable"),
    (QUEUE_NOTIFY_OFF, 2, "queue_notify_off"),
    (QUEUE_DESC, 8, "queue_desc"),
    (QUEUE_DRIVER, 8, "queue_driver"),
    (QUEUE_DEVICE, 8, "queue_device"),
    (QUEUE_NOTIFY_DATA, 2, "queue_notify_data"),
    (QUEUE_RESET, 2, "queue_reset"),
    (LEN, 0, "(end)"),
];
