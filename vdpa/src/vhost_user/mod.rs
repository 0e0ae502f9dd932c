//! vhost-user front end: QEMU's vhost-user protocol served by hardware rings.
//!
//! This is a vDPA parent in userspace, in the manner of DPDK's vDPA drivers:
//! the daemon maps the guest's memory into the device's IOMMU (IOVA = guest
//! physical address), programs the device's queues with the guest's ring
//! addresses, turns kicks into doorbells and the device's MSI-X vectors into
//! the guest's call eventfds, and then stays out of the datapath. It never
//! reads a descriptor.
//!
//! `vhost-user-backend`'s daemon is built for software backends (it owns the
//! rings and polls kicks itself), so this module implements the protocol
//! handler trait of the `vhost` crate directly.

mod backend;
mod ctrl;
mod early_enable;
mod error;
mod iova_window;
mod kick;
mod memory;
pub mod net;
mod server;

pub use backend::{VdpaBackend, VringConfig};
pub use error::VdpaError;
pub use memory::GuestMemoryTable;
pub use server::serve;
