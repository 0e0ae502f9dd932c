//! End-to-end test harness for vfpga.
//!
//! [`guest`] boots a Linux guest under QEMU (TCG) from a busybox initramfs
//! that carries our binaries and chosen kernel modules, and captures its
//! console. Suites in other crates use it for VFIO-in-a-guest, VDUSE and
//! vhost-user guests.

#![deny(missing_docs)]

pub mod guest;
