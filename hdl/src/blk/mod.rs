//! virtio-blk (virtio 1.2 §5.2): request processing on top of the
//! virtqueue engine and the block-storage port.

pub mod request;
mod rtl;

pub use request::BlkRequest;

/// The id string GET_ID returns (20 bytes, zero-padded).
pub const BLK_ID: [u8; vfpga_abi::blk::ID_BYTES as usize] = *b"vfpga-blk\0\0\0\0\0\0\0\0\0\0\0";
