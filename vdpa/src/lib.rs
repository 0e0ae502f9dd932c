//! vfpga's vDPA front ends and the pieces of the `vfpga` command.

#![deny(missing_docs)]

pub mod regmap;
pub mod vhost_user;
pub mod selftest;
