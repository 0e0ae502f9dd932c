//! vfpga host control plane.
//!
//! [`Device`] is what every layer above sees of a vfpga function, whether it
//! is a board behind VFIO or the cycle-level simulator: PCI configuration
//! space, BAR accesses, DMA mappings, MSI-X eventfds and reset. The
//! userspace virtio-pci driver and the vDPA front ends are written against it
//! and cannot tell the two apart.

#![deny(missing_docs)]

pub mod device;
pub mod error;

pub use device::{Device, DeviceExt, DmaMapping, Result};
pub use error::DeviceError;
