//! Errors of the vhost-user front end.

use vfpga_host::DeviceError;
use vfpga_host::virtio_pci::VirtioError;
use vfpga_host::virtio_pci::vendor::VendorError;

/// Why a vhost-user request failed. Each one names the offending value, so
/// that a broken frontend can be diagnosed from the daemon's log alone.
#[derive(Debug, thiserror::Error)]
pub enum VdpaError {
    /// A vring index at or above the number of queues.
    #[error("vring index {index} out of range: the device has {queues} queues")]
    NoSuchVring {
        /// Index the frontend sent.
        index: u32,
        /// Queues the device serves.
        queues: u16,
    },
    /// A vring size that is zero, not a power of two or above the maximum.
    #[error("vring {index}: size {num} is not a power of two in 1..={max}")]
    BadVringSize {
        /// Vring index.
        index: u32,
        /// Size sent.
        num: u32,
        /// Largest size the device supports.
        max: u16,
    },
    /// A base index that does not fit 16 bits.
    #[error("vring {index}: base {base} does not fit a 16-bit ring index")]
    BadVringBase {
        /// Vring index.
        index: u32,
        /// Base sent.
        base: u32,
    },
    /// A memory table that cannot describe guest memory.
    #[error("memory table rejected: {0}")]
    BadMemoryTable(String),
    /// A ring address that is not inside the memory table.
    #[error(
        "vring {index}: {what} address {addr:#x} (+{len} bytes) is not inside the memory table"
    )]
    AddressOutsideTable {
        /// Vring index.
        index: u32,
        /// Which ring part.
        what: &'static str,
        /// Address sent (frontend virtual address).
        addr: u64,
        /// Bytes the ring part spans.
        len: u64,
    },
    /// Features the device does not offer.
    #[error("features {0:#x} were not offered")]
    FeaturesNotOffered(u64),
    /// A request that needs an earlier one (e.g. a kick before the memory table).
    #[error("{0}")]
    OutOfOrder(&'static str),
    /// Not supported by this backend.
    #[error("not supported: {0}")]
    Unsupported(&'static str),
    /// A command on the device's own net control queue failed.
    #[error("device control queue: class {class} command {cmd}: {why}")]
    CtrlCommand {
        /// Command class (§5.1.6.5).
        class: u8,
        /// Command within the class.
        cmd: u8,
        /// What went wrong.
        why: String,
    },
    /// More queue pairs asked for than the net device has.
    #[error("{asked} queue pairs asked for: the device has 1..={max}")]
    TooManyPairs {
        /// Pairs asked for.
        asked: u16,
        /// Pairs the device has.
        max: u16,
    },
    /// The device is neither virtio-net nor virtio-blk.
    #[error("virtio device type {0} is not served over vhost-user (net is 1, blk is 2)")]
    UnsupportedDeviceType(u16),
    /// The device lacks the vfpga vendor region (ring state); vDPA needs it.
    #[error("the device has no vfpga vendor region: cannot save or restore ring state")]
    NoRingState,
    /// The device refused or failed.
    #[error(transparent)]
    Virtio(#[from] VirtioError),
    /// Saving or restoring ring state failed.
    #[error(transparent)]
    RingState(#[from] VendorError),
    /// A device access failed.
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// A system call failed.
    #[error("{0}: {1}")]
    Io(&'static str, #[source] std::io::Error),
}

impl VdpaError {
    /// The error of a request whose reply cannot say "failed" (GET_VRING_BASE,
    /// GET_MAX_MEM_SLOTS...): the `vhost` crate sends no reply when the
    /// handler fails, so the frontend would wait forever. Logged here; the
    /// returned error is one the serve loop answers by hanging up.
    pub fn fatal(self) -> vhost::vhost_user::Error {
        tracing::error!(
            "vhost-user request failed, no reply can say so: dropping the frontend: {self}"
        );
        vhost::vhost_user::Error::InvalidOperation("request failed with no error reply")
    }
}

impl From<VdpaError> for vhost::vhost_user::Error {
    fn from(e: VdpaError) -> Self {
        // Logged here, where the context is still known; the vhost crate only
        // tells the frontend that the request failed.
        tracing::error!("vhost-user request failed: {e}");
        vhost::vhost_user::Error::ReqHandlerError(std::io::Error::other(e.to_string()))
    }
}
