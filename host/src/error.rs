//! Errors a [`crate::Device`] reports.

use std::io;

/// What went wrong talking to a device.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// An access fell outside configuration space or a BAR.
    #[error("{what} access at {offset:#x}+{len} is outside its {size:#x}-byte region")]
    OutOfRange {
        /// Which region (e.g. "config space", "BAR0").
        what: &'static str,
        /// Offset of the access.
        offset: u64,
        /// Length of the access.
        len: usize,
        /// Size of the region.
        size: u64,
    },
    /// The device has no such BAR.
    #[error("BAR{0} is not implemented by this device")]
    NoSuchBar(u8),
    /// An access of a width the region does not support.
    #[error(
        "{len}-byte access at {offset:#x} is not supported (use 1, 2, 4 or 8 bytes, naturally aligned)"
    )]
    BadAccess {
        /// Offset of the access.
        offset: u64,
        /// Length of the access.
        len: usize,
    },
    /// A DMA mapping outside what the IOMMU can translate.
    #[error("DMA mapping {iova:#x}+{size:#x} is outside the IOMMU's usable IOVA ranges")]
    IovaOutOfRange {
        /// Start of the mapping.
        iova: u64,
        /// Length of the mapping.
        size: u64,
    },
    /// A DMA mapping that overlaps an existing one.
    #[error("DMA mapping {iova:#x}+{size:#x} overlaps an existing mapping")]
    MappingOverlap {
        /// Start of the mapping.
        iova: u64,
        /// Length of the mapping.
        size: u64,
    },
    /// An unmap that does not match a mapping.
    #[error("no DMA mapping at {iova:#x}+{size:#x}")]
    NoMapping {
        /// Start of the range.
        iova: u64,
        /// Length of the range.
        size: u64,
    },
    /// No free IOVA range of this size is left in the IOMMU's usable ranges.
    #[error("no free IOVA range of {size:#x} bytes left in the IOMMU's usable ranges")]
    IovaExhausted {
        /// Requested length.
        size: u64,
    },
    /// The device or its backend does not offer this operation.
    #[error("not supported by this device: {0}")]
    Unsupported(&'static str),
    /// The device stopped responding (simulator gone, device removed).
    #[error("device is gone: {0}")]
    Gone(String),
    /// A system call failed.
    #[error("{op}: {source}")]
    Io {
        /// What was being done.
        op: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

impl DeviceError {
    /// Wraps an OS error with what was being done.
    pub fn io(op: impl Into<String>, source: io::Error) -> Self {
        DeviceError::Io {
            op: op.into(),
            source,
        }
    }
}
