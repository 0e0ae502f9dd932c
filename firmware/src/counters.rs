//! What the firmware counts. There is no logging on the soft CPU: these
//! counters are the log. The two the vendor region shows (`device_errors`,
//! `resets`) are mirrored into the management port's FW_COUNTERS.

/// Firmware event counters (since firmware start, wrapping).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Device resets completed (driver wrote 0 and the reset finished).
    pub resets: u32,
    /// Fatal device errors: engine errors and event FIFO overflows.
    pub device_errors: u32,
    /// FEATURES_OK refused because of the driver's feature set.
    pub feature_rejections: u32,
    /// StatusWrite events handled.
    pub status_writes: u32,
    /// Queues enabled.
    pub queue_enables: u32,
    /// queue_enable writes refused (queue_enable read back 0).
    pub queue_refusals: u32,
    /// Per-queue resets completed.
    pub queue_resets: u32,
    /// Vendor queue stop requests seen.
    pub vendor_stops: u32,
    /// Vendor queue start (stop cleared) requests seen.
    pub vendor_starts: u32,
    /// Event FIFO overflows seen.
    pub event_overflows: u32,
    /// Device configuration changes after start (capacity, link).
    pub config_changes: u32,
    /// Configuration-change interrupts sent.
    pub config_irqs: u32,
    /// Event words that did not decode, or named a queue that does not exist.
    pub bad_events: u32,
    /// Control queue commands answered (either ack).
    pub ctrl_commands: u32,
    /// Control queue commands answered with an error.
    pub ctrl_errors: u32,
}
