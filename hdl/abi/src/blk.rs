//! virtio-blk (virtio 1.2 §5.2): configuration layout, request format, status.

/// Request queues the hardware implements (default HDL parameter).
pub const NUM_QUEUES: u16 = 2;
/// Sector size the protocol counts in, whatever `blk_size` says.
pub const SECTOR_SIZE: u64 = 512;
/// Length of `virtio_blk_outhdr` (`type: u32, reserved: u32, sector: u64`).
pub const REQ_HEADER_LEN: u32 = 16;
/// Length of the id string GET_ID returns.
pub const ID_BYTES: u32 = 20;
/// `seg_max` the hardware advertises: data segments per request.
pub const SEG_MAX: u32 = 64;
/// `size_max` the hardware advertises: bytes per segment.
pub const SIZE_MAX: u32 = 1 << 20;

/// Request types (`virtio_blk_outhdr.type`).
pub mod req {
    /// Read.
    pub const IN: u32 = 0;
    /// Write.
    pub const OUT: u32 = 1;
    /// Flush the volatile cache.
    pub const FLUSH: u32 = 4;
    /// Read the device id string.
    pub const GET_ID: u32 = 8;
}

/// Status byte values.
pub mod status {
    /// Success.
    pub const OK: u8 = 0;
    /// Device or driver error.
    pub const IOERR: u8 = 1;
    /// Request unsupported by this device.
    pub const UNSUPP: u8 = 2;
}

/// Offsets in `virtio_blk_config` (§5.2.4).
pub mod config {
    /// Capacity in 512-byte sectors (u64).
    pub const CAPACITY: u32 = 0;
    /// Maximum segment size (u32), with SIZE_MAX.
    pub const SIZE_MAX: u32 = 8;
    /// Maximum segments per request (u32), with SEG_MAX.
    pub const SEG_MAX: u32 = 12;
    /// Geometry: cylinders (u16).
    pub const GEOMETRY_CYLINDERS: u32 = 16;
    /// Geometry: heads (u8).
    pub const GEOMETRY_HEADS: u32 = 18;
    /// Geometry: sectors (u8).
    pub const GEOMETRY_SECTORS: u32 = 19;
    /// Block size (u32), with BLK_SIZE.
    pub const BLK_SIZE: u32 = 20;
    /// Topology: log2 physical blocks per logical block (u8).
    pub const PHYSICAL_BLOCK_EXP: u32 = 24;
    /// Topology: alignment offset (u8).
    pub const ALIGNMENT_OFFSET: u32 = 25;
    /// Topology: minimum I/O size in blocks (u16).
    pub const MIN_IO_SIZE: u32 = 26;
    /// Topology: optimal I/O size in blocks (u32).
    pub const OPT_IO_SIZE: u32 = 28;
    /// Writeback cache mode (u8), with CONFIG_WCE.
    pub const WRITEBACK: u32 = 32;
    /// Number of request queues (u16), with MQ.
    pub const NUM_QUEUES: u32 = 34;
    /// Bytes the hardware serves (through `num_queues`); the rest reads zero.
    pub const LEN: u32 = 36;
}
