//! vfpga device management firmware.
//!
//! The control processor next to the virtqueue engine runs this crate: the
//! policy the hardware should not hard-wire. The hardware latches every driver
//! write with side effects (device_status, queue_enable, queue_reset, vendor
//! queue control) and posts it as a [`vfpga_abi::mgmt::Event`]; the firmware
//! decides and answers through the management registers. See `docs/firmware.md`.
//!
//! The crate is `no_std` and allocation-free. It talks to the hardware only
//! through [`Hal`], and never waits inside a call: [`Firmware::poll`] handles
//! what is pending, advances work in progress (a reset waiting for DMA to
//! drain) and returns, so a simulator can step it with the engine and a soft
//! CPU can call it in a loop.

#![no_std]
#![deny(missing_docs)]

#[cfg(feature = "test-utils")]
extern crate std;

pub mod board;
pub mod counters;
pub mod devcfg;
pub mod error;
#[cfg(feature = "test-utils")]
pub mod fake;
pub mod features;
pub mod firmware;
pub mod hal;
pub mod net_ctrl;
pub mod net_regs;
pub mod queue;

pub use board::{BlkBoardConfig, BoardConfig, NetBoardConfig};
pub use counters::Counters;
pub use error::Error;
pub use firmware::{FatalCause, Firmware};
pub use hal::{Hal, MmioHal};
