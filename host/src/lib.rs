//! vfpga host control plane.
//!
//! [`Device`] is what every layer above sees of a vfpga function, whether it
//! is a board behind VFIO or the cycle-level simulator: PCI configuration
//! space, BAR accesses, DMA mappings, MSI-X eventfds and reset. The
//! userspace virtio-pci driver and the vDPA front ends are written against it
//! and cannot tell the two apart.
//!
//! - [`vfio`]: the trait over Linux VFIO.
//! - [`dma`]: DMA-able memory and IOVA allocation.
//! - [`virtio_pci`]: the modern virtio-pci transport (driver side).
//! - [`split_queue`]: split virtqueues, driver side.
//! - [`queue`]: a virtqueue with its doorbell and interrupt; shared bring-up.
//! - [`interrupts`]: waiting for MSI-X eventfds.
//! - [`blk`]: a virtio-blk driver for self-tests and benchmarks.
//! - [`net`]: a virtio-net driver for self-tests and benchmarks.
//! - [`virtio_drivers_glue`]: the `virtio-drivers` crate on the same trait.

#![deny(missing_docs)]

pub mod blk;
pub mod device;
pub mod dma;
pub mod error;
pub mod interrupts;
pub mod net;
pub mod queue;
pub mod split_queue;
pub mod vfio;
pub mod virtio_drivers_glue;
pub mod virtio_pci;

pub use device::{Device, DeviceExt, DmaMapping, Result};
pub use error::DeviceError;
