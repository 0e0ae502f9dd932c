//! vfpga-hdl: the virtqueue engine and the virtio functions built on it,
//! written in rust-hdl with valid/ready handshakes on every channel.
//!
//! Blocks (one module each, each with its own testbench next to it):
//! `mmio` (BAR0 target and register file), `msix`, `dma` (tagged DMA master),
//! `vq` (split-ring engine), `blk` (virtio-blk request processing) and `top`
//! (the blk personality's top level, written out as Verilog by `vfpga-hdl-gen`).

#![deny(missing_docs)]

// Modules are added below as each one compiles.
pub mod blk;
pub mod dma;
pub mod engine;
pub mod mmio;
pub mod msix;
pub mod net;
pub mod slice;
#[cfg(any(test, feature = "test-models"))]
pub mod testbench;
pub mod top;
pub mod vq;
