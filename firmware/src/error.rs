//! Errors of the firmware's own API (driver mistakes are not errors here: they
//! are answered through the status registers, see `docs/firmware.md`).

use vfpga_abi::Personality;

/// Why a firmware call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The management port's ID register does not read "VFPG".
    #[error("management port id {0:#010x} is not \"VFPG\"")]
    BadMagic(u32),
    /// The PERSONALITY register holds an unknown virtio device type.
    #[error("unknown personality (device type {0})")]
    UnknownPersonality(u32),
    /// The hardware reports more queues than the vendor region can describe.
    #[error("hardware reports {0} queues, more than the vendor region holds")]
    TooManyQueues(u32),
    /// A net function's queue count is not `2 * pairs + 1` (RX/TX pairs and
    /// the control queue, virtio 1.2 §5.1.2) with at least one pair.
    #[error("net hardware reports {0} queues, not 2 * pairs + 1")]
    NetQueueCount(u32),
    /// The hardware's QUEUE_SIZE_MAX is zero, not a power of two or above 32768.
    #[error("hardware queue size maximum {0} is invalid")]
    BadQueueSizeMax(u32),
    /// A board configuration value is out of range for the hardware.
    #[error("board configuration: {0}")]
    BoardConfig(&'static str),
    /// The call applies to another personality (e.g. capacity on a net device).
    #[error("not supported by the {} personality", .0.name())]
    WrongPersonality(Personality),
}
