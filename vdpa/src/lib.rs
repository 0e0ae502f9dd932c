//! vfpga's vDPA front ends and the pieces of the `vfpga` command.

#![deny(missing_docs)]

pub mod open;
pub mod regmap;
pub mod run;
pub mod selftest;
pub mod vhost_user;
