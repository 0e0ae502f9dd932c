//! Device status bits (virtio 1.2 §2.1).

/// The guest OS has found the device.
pub const ACKNOWLEDGE: u8 = 1;
/// The guest OS knows how to drive the device.
pub const DRIVER: u8 = 2;
/// The driver is set up and ready to drive the device.
pub const DRIVER_OK: u8 = 4;
/// The driver has acknowledged the features it understands.
pub const FEATURES_OK: u8 = 8;
/// The device has hit an error from which it cannot recover without reset.
pub const DEVICE_NEEDS_RESET: u8 = 64;
/// Something went wrong in the guest; it has given up on the device.
pub const FAILED: u8 = 128;

/// ISR status bit: a virtqueue has used buffers (§4.1.4.5).
pub const ISR_QUEUE: u8 = 1;
/// ISR status bit: the device configuration has changed.
pub const ISR_CONFIG: u8 = 2;
