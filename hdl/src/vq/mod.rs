//! The split-virtqueue engine (virtio 1.2 §2.7): avail ring fetch, chain
//! walk with validation, used ring writeback and notification suppression.

pub mod avail;
pub mod fifo;
pub mod split;
pub mod used;
pub mod walker;

/// Queues the blk engine serves (its request queues). The stages take the
/// queue count as a const generic: the net engine has its own
/// (`net::engine::NQ`).
pub const NQ: usize = vfpga_abi::blk::NUM_QUEUES as usize;
/// Width of a queue number inside the blk engine.
pub const QUEUE_BITS: usize = 1;
/// Largest queue size accepted.
pub const QMAX: u16 = vfpga_abi::ring::MAX_QUEUE_SIZE;
/// Segments one chain may hand to the device function: the blk header,
/// up to SEG_MAX data buffers and the status byte.
pub const MAX_CHAIN_SEGS: u32 = vfpga_abi::blk::SEG_MAX + 2;

const _: () = assert!(NQ == 1 << QUEUE_BITS, "blk's queue numbers are one bit");
