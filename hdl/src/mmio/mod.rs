//! The BAR0 target and the firmware management port.
//!
//! [`RegFile`] implements the virtio common configuration (virtio 1.2
//! §4.1.4.3), the notify doorbells (§4.1.4.4), the ISR read (§4.1.4.5, bits
//! kept in [`crate::msix::Msix`]), the device configuration window (§4.1.4.6,
//! a RAM firmware fills), the vfpga vendor region and the MSI-X table/PBA
//! decode, plus every register of the management port
//! ([`vfpga_abi::mgmt`]). Writes that need policy become events in the
//! [`EventFifo`]; reads that must see the firmware's answer are held.

mod bar0;
mod event_fifo;
mod regfile;
mod regfile_verilog;

pub use bar0::Bar0;
pub use event_fifo::EventFifo;
pub use regfile::{GState, MState, RegFile};

/// Queues the register file implements (blk personality default).
pub const NQ: usize = vfpga_abi::blk::NUM_QUEUES as usize;
/// Largest queue size; `queue_size` reads it after reset.
pub const QMAX: u16 = vfpga_abi::ring::MAX_QUEUE_SIZE;
/// Device configuration RAM: 32-bit words (256 bytes).
pub const DEVCFG_WORDS: usize = vfpga_abi::bar0::DEVICE_CFG_LEN as usize / 4;
/// Address bits of the device configuration RAM.
pub const DEVCFG_ADDR_BITS: usize = 6;
/// Width of a BAR0 offset.
pub const MMIO_ADDR_BITS: usize = vfpga_abi::ports::MMIO_ADDR_BITS as usize;
/// Width of a management register address.
pub const MGMT_ADDR_BITS: usize = vfpga_abi::mgmt::ADDR_BITS as usize;

const _: () = assert!(DEVCFG_WORDS == 1 << DEVCFG_ADDR_BITS);
const _: () = assert!(NQ <= vfpga_abi::vendor::MAX_QUEUES as usize);
