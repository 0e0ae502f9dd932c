//! vfpga-sim: a cycle-level simulator of a vfpga board.
//!
//! The real hardware of `vfpga-hdl` runs in one of two [`backend`]s
//! (rust-hdl in-process, or the committed Verilog compiled by Verilator),
//! connected at its top-level [`ports`] to models of everything a board
//! talks to:
//!
//! - the host bus: guest memory through an [`iommu`], a [`dma`] channel with
//!   latency, bandwidth and out-of-order completions, [`mmio`] accesses to
//!   BAR0, [`msix`] messages delivered to eventfds, and the PCI
//!   configuration space ([`pci`]);
//! - the block-storage port ([`storage`]: a RAM or file image) for blk, or
//!   the MAC streams ([`net`]: a MAC FIFO and a network port: loopback, a
//!   link between two devices, UDP, TAP) for net.
//!
//! Time is counted in engine cycles ([`clock`]); an idle device sleeps
//! ([`idle`]). A waveform of the ports can be written ([`vcd`]). [`bench`]
//! measures how fast the simulator runs.

#![deny(missing_docs)]

pub mod backend;
pub mod bench;
pub mod bus;
pub mod clock;
pub mod device;
pub mod dma;
pub mod error;
pub mod idle;
pub mod iommu;
pub mod machine;
pub mod mmio;
pub mod msix;
pub mod net;
pub mod pci;
pub mod ports;
pub mod rng;
pub mod storage;
pub mod vcd;

pub use backend::{Backend, BackendKind};
pub use device::{SimConfig, SimDevice};
pub use error::SimError;
pub use machine::Function;
