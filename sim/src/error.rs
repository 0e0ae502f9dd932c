//! Errors of the simulator and its models.

use std::io;

/// What went wrong in the simulator.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A DMA mapping request the IOMMU model refuses.
    #[error("IOMMU: {0}")]
    Iommu(#[from] crate::iommu::MapError),
    /// The requested engine backend was not built into this binary.
    #[error("the {0} backend is unavailable: {1}")]
    BackendUnavailable(&'static str, &'static str),
    /// The compiled model's ports do not match what the simulator drives.
    #[error("the Verilator model does not match the simulator: {0}")]
    BackendMismatch(String),
    /// A storage image could not be opened or sized.
    #[error("storage image {path}: {source}")]
    StorageImage {
        /// The image path.
        path: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A storage image whose size is not a whole number of sectors.
    #[error("storage size {0} is not a multiple of 512 bytes")]
    StorageSize(u64),
    /// The firmware refused to start on the hardware.
    #[error("firmware: {0}")]
    Firmware(vfpga_firmware::Error),
    /// Writing a waveform failed.
    #[error("VCD trace: {0}")]
    Trace(#[source] io::Error),
    /// The backend simulates another personality than the function needs.
    #[error("the backend simulates a {backend} top level, the function is {function}")]
    Personality {
        /// The backend's personality.
        backend: &'static str,
        /// The function's personality.
        function: &'static str,
    },
    /// A network port could not be opened.
    #[error("network port: {0}")]
    Port(#[from] crate::net::PortError),
    /// An eventfd or poll call failed.
    #[error("{op}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}
