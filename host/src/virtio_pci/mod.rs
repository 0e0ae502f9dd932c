//! A userspace virtio-pci (modern) driver on the [`crate::Device`] trait:
//! capability walk, reset, feature negotiation, queues with MSI-X,
//! notifications, device configuration, and vfpga's optional vendor region.

pub mod caps;
mod transport;
pub mod vendor;

pub use caps::{CapError, Capabilities};
pub use transport::{VirtioError, VirtioPci};
pub use vendor::{RingState, VendorRegion};
