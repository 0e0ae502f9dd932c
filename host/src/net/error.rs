//! Errors of the virtio-net driver.

use std::time::Duration;

use crate::DeviceError;
use crate::virtio_pci::VirtioError;

/// What went wrong driving a virtio-net device.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// virtio-pci transport failure (including DEVICE_NEEDS_RESET).
    #[error(transparent)]
    Virtio(#[from] VirtioError),
    /// Device trait failure.
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// Not a network device.
    #[error("device type {0} is not virtio-net (1)")]
    NotNet(u16),
    /// An option the device cannot satisfy.
    #[error("{option}: {reason}")]
    BadOption {
        /// The option, as on the command line.
        option: &'static str,
        /// Why.
        reason: String,
    },
    /// A command or queue that needs a feature the device did not grant.
    #[error("{what} needs {feature}, which was not negotiated")]
    NotNegotiated {
        /// What was asked.
        what: &'static str,
        /// The feature it needs.
        feature: &'static str,
    },
    /// The device answered a control command with `VIRTIO_NET_ERR`.
    #[error(
        "control command class {class} command {command} refused by the device (VIRTIO_NET_ERR)"
    )]
    CtrlRefused {
        /// Command class.
        class: u8,
        /// Command.
        command: u8,
    },
    /// The ack byte was neither OK nor ERR (or never written).
    #[error(
        "control command class {class} command {command}: ack byte {ack:#04x} is neither OK nor ERR"
    )]
    CtrlBadAck {
        /// Command class.
        class: u8,
        /// Command.
        command: u8,
        /// What the device wrote.
        ack: u8,
    },
    /// A control command's payload does not fit the driver's buffer.
    #[error("control command payload of {0} bytes is too long")]
    CtrlTooLong(usize),
    /// A queue pair the driver did not set up or the device does not use.
    #[error("queue pair {pair} is not in use ({active} active)")]
    NoSuchPair {
        /// Pair asked for (0-based).
        pair: u16,
        /// Pairs in use.
        active: u16,
    },
    /// A frame too long for the MTU.
    #[error("frame of {len} bytes exceeds the largest frame {max} (MTU plus Ethernet header)")]
    FrameTooLong {
        /// Frame length.
        len: usize,
        /// Largest allowed.
        max: usize,
    },
    /// The device broke the ring or buffer protocol (§2.7.8, §5.1.6.4).
    #[error("{queue}: {what}")]
    Protocol {
        /// The queue as the spec names it (`receiveq1`, `transmitq2`).
        queue: String,
        /// What was wrong.
        what: String,
    },
    /// Nothing came back in time.
    #[error("{what}: nothing within {timeout:?}")]
    Timeout {
        /// What was awaited.
        what: &'static str,
        /// How long.
        timeout: Duration,
    },
    /// A system call failed.
    #[error("{0}: {1}")]
    Io(&'static str, std::io::Error),
}
