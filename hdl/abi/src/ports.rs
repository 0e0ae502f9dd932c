//! The engine's top-level ports as plain Rust structs.
//!
//! Each struct is one beat of one channel. The HDL's port bundles carry the
//! same fields with the widths documented here (plus `valid`/`ready`), so that
//! the simulator's host model and a board wrapper can be written against these
//! types and stay in step with the RTL. Every channel is a valid/ready
//! handshake: a beat moves on a clock edge where both are high.

/// Default DMA data-bus width in bits (250 MHz x 128 b = 32 Gb/s, PCIe Gen3 x4).
pub const DMA_DATA_BITS: u32 = 128;
/// Bytes per DMA data beat at the default width.
pub const DMA_DATA_BYTES: u32 = DMA_DATA_BITS / 8;
/// Width of a DMA tag: up to 2^5 = 32 read requests in flight.
pub const DMA_TAG_BITS: u32 = 5;
/// Largest DMA read or write in bytes (one request); requests never cross a
/// 4 KiB boundary, as PCIe requires.
pub const DMA_MAX_LEN: u32 = 4096;
/// Width of a DMA length field (0..=4096 bytes).
pub const DMA_LEN_BITS: u32 = 13;
/// Width of a BAR0 offset on the MMIO port.
pub const MMIO_ADDR_BITS: u32 = 15;
/// Width of a block-storage request tag.
pub const BLK_TAG_BITS: u32 = 5;
/// Bytes per block-storage and network stream beat (same as the DMA width).
pub const STREAM_DATA_BYTES: u32 = DMA_DATA_BYTES;

/// MMIO target, request channel (host -> device). 32-bit accesses with byte enables.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MmioRequest {
    /// BAR0 byte offset, dword aligned (15 bits).
    pub addr: u32,
    /// 1 = write.
    pub write: bool,
    /// Write data (32 bits).
    pub wdata: u32,
    /// Byte enables (4 bits); for reads, the bytes the host wants (reads with
    /// side effects, like ISR, act only when their byte is enabled).
    pub strb: u8,
}

/// MMIO target, read response channel (device -> host), one per read request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MmioResponse {
    /// Read data (32 bits).
    pub rdata: u32,
}

/// DMA master, read request channel (device -> host).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DmaReadRequest {
    /// Tag (DMA_TAG_BITS) that the completion carries back.
    pub tag: u8,
    /// IOVA (64 bits).
    pub addr: u64,
    /// Length in bytes (DMA_LEN_BITS, 1..=4096), not crossing a 4 KiB boundary.
    pub len: u16,
}

/// DMA master, read completion channel (host -> device). A request's beats
/// arrive in order; different tags may interleave at beat granularity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DmaReadCompletion {
    /// Tag of the request.
    pub tag: u8,
    /// Data beat (DMA_DATA_BITS); byte 0 is the byte at the request address
    /// (the host aligns the data to the request, not to the bus).
    pub data: u128,
    /// Last beat of this request.
    pub last: bool,
    /// The request failed (unmapped IOVA, bus error); data is zero. An error
    /// completion is a single beat with `last` set.
    pub error: bool,
}

/// DMA master, posted write channel (device -> host). A write is a header
/// beat's fields repeated on every data beat; the host takes `addr`/`len`
/// from the first beat.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DmaWrite {
    /// IOVA of the first byte (64 bits).
    pub addr: u64,
    /// Total length in bytes (DMA_LEN_BITS).
    pub len: u16,
    /// Data beat; byte 0 of the first beat is written at `addr`.
    pub data: u128,
    /// Last beat of the write.
    pub last: bool,
}

/// DMA master, write response (host -> device): posted writes are
/// acknowledged only so that the engine can count them drained and learn of
/// errors; one per write, in order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DmaWriteResponse {
    /// The write failed (unmapped IOVA); nothing was written.
    pub error: bool,
}

/// MSI-X message (device -> host's interrupt controller): a posted write of
/// `data` to `addr`, taken from the MSI-X table at send time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MsixMessage {
    /// Message address (64 bits).
    pub addr: u64,
    /// Message data (32 bits).
    pub data: u32,
    /// Vector number (for models that deliver to per-vector eventfds).
    pub vector: u16,
}

/// Block-storage port, command channel (device -> storage).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlkCommand {
    /// Tag (BLK_TAG_BITS) the completion carries back.
    pub tag: u8,
    /// Operation: see [`BlkOp`] (2 bits).
    pub op: u8,
    /// First 512-byte sector (64 bits).
    pub sector: u64,
    /// Length in bytes (32 bits), a multiple of 512 for reads and writes.
    pub len: u32,
}

/// Block-storage operations on the command channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum BlkOp {
    /// Read `len` bytes; data comes back on the read-data channel.
    Read = 0,
    /// Write `len` bytes taken from the write-data channel.
    Write = 1,
    /// Make every completed write durable.
    Flush = 2,
}

/// Block-storage port, data beat in either direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlkData {
    /// Tag of the command.
    pub tag: u8,
    /// Data (STREAM_DATA_BYTES).
    pub data: u128,
    /// Last beat of this command's data.
    pub last: bool,
}

/// Block-storage port, completion channel (storage -> device); completions
/// may come in any order across tags. For reads, after the last data beat.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlkCompletion {
    /// Tag of the command.
    pub tag: u8,
    /// The virtio-blk status byte to report (OK or IOERR).
    pub status: u8,
}

/// Network MAC stream beat, TX (device -> MAC) or RX (MAC -> device).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetBeat {
    /// Frame data (STREAM_DATA_BYTES), first byte in bits 7:0.
    pub data: u128,
    /// Number of valid bytes in this beat (1..=16); less than 16 only on the last.
    pub bytes: u8,
    /// Last beat of the frame.
    pub last: bool,
    /// TX queue pair / RX queue pair the frame belongs to (steering hint).
    pub pair: u8,
}

/// Firmware management port, request (firmware -> engine).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MgmtRequest {
    /// Register word address ([`crate::mgmt::ADDR_BITS`]).
    pub addr: u16,
    /// 1 = write.
    pub write: bool,
    /// Write data (32 bits).
    pub wdata: u32,
}

/// Firmware management port, read response (engine -> firmware).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MgmtResponse {
    /// Read data (32 bits); writes return 0.
    pub rdata: u32,
}
