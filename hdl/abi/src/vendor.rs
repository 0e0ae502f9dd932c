//! The vendor region of BAR0: what virtio lacks and vDPA needs.
//!
//! A host stops a queue, reads its ring state, and later writes it back
//! before starting it again (vhost's GET/SET_VRING_BASE, live migration,
//! daemon reconnect). It also reads engine counters and the cause of the
//! last fatal error. The region is found through the VENDOR capability
//! (`cfg_type` 9, `id` [`crate::pci::VENDOR_CAP_ID`]).

use crate::regmap::{Access, Register};

/// Largest number of queues the region (and the notify area) has room for.
pub const MAX_QUEUES: u16 = 8;

/// Magic value at [`MAGIC`]: "VFPG" in little-endian bytes.
pub const MAGIC_VALUE: u32 = u32::from_le_bytes(*b"VFPG");
/// Version of this layout at [`VERSION`].
pub const VERSION_VALUE: u32 = 1;

/// Magic (u32, RO).
pub const MAGIC: u32 = 0x000;
/// Layout version (u32, RO).
pub const VERSION: u32 = 0x004;
/// Queues implemented (u32, RO).
pub const NUM_QUEUES: u32 = 0x008;
/// Firmware status word (u32, RO), written by firmware.
pub const FW_STATUS: u32 = 0x00C;
/// Cause of the fatal error that set DEVICE_NEEDS_RESET (u32, RO), see [`ErrorCause`].
pub const ERROR_CAUSE: u32 = 0x010;
/// Queue the error happened on (u32, RO).
pub const ERROR_QUEUE: u32 = 0x014;
/// Detail of the error, e.g. the offending descriptor index (u32, RO).
pub const ERROR_DETAIL: u32 = 0x018;

/// Firmware status: firmware is running.
pub const FW_STATUS_RUNNING: u32 = 1;

/// Counters (u64, RO, low dword first). Hardware counters count since
/// power-on; firmware counters since firmware start.
pub const COUNTERS: u32 = 0x040;
/// Number of counters.
pub const NUM_COUNTERS: usize = 8;
/// Counter names, in order; counter `i` is at `COUNTERS + 8 * i`.
pub const COUNTER_NAMES: [&str; NUM_COUNTERS] = [
    "requests",
    "bytes_read",
    "bytes_written",
    "notifies",
    "interrupts",
    "dma_errors",
    "device_errors",
    "resets",
];
/// Index of the first counter kept by firmware rather than hardware
/// (`device_errors`, `resets`).
pub const FIRST_FW_COUNTER: usize = 6;

/// Offset of counter `i`.
pub const fn counter(i: usize) -> u32 {
    COUNTERS + 8 * i as u32
}

/// First per-queue block; queue `q` is at `QUEUES + QUEUE_STRIDE * q`.
pub const QUEUES: u32 = 0x100;
/// Size of one per-queue block.
pub const QUEUE_STRIDE: u32 = 0x10;
/// Per-queue: control/status (u32). Write [`Q_CONTROL_STOP`] to stop fetching,
/// 0 to run again. Reads back the stop request and [`Q_CONTROL_STOPPED`].
pub const Q_CONTROL: u32 = 0x0;
/// Per-queue: `last_avail_idx` (u16, writable only while stopped).
pub const Q_LAST_AVAIL_IDX: u32 = 0x4;
/// Per-queue: `used_idx` (u16, writable only while stopped).
pub const Q_USED_IDX: u32 = 0x6;
/// Per-queue: chains fetched and not yet completed (u32, RO).
pub const Q_INFLIGHT: u32 = 0x8;
/// Q_CONTROL bit: stop requested.
pub const Q_CONTROL_STOP: u32 = 1;
/// Q_CONTROL bit (RO): the queue is stopped: nothing in flight, state stable.
pub const Q_CONTROL_STOPPED: u32 = 2;
/// Length of the vendor region.
pub const LEN: u32 = QUEUES + QUEUE_STRIDE * MAX_QUEUES as u32;

/// Offset of a per-queue register for queue `q`.
pub const fn queue_reg(q: u16, reg: u32) -> u32 {
    QUEUES + QUEUE_STRIDE * q as u32 + reg
}

/// Why the engine stopped a device. The hardware detects these; firmware then
/// sets DEVICE_NEEDS_RESET and sends the configuration interrupt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum ErrorCause {
    /// No error.
    None = 0,
    /// A chain visited more descriptors than the queue (or indirect table) has: a loop.
    ChainTooLong = 1,
    /// A descriptor or avail-ring head index is not below the queue size.
    IndexOutOfRange = 2,
    /// A descriptor has both INDIRECT and NEXT.
    IndirectWithNext = 3,
    /// An indirect table contains an INDIRECT descriptor.
    NestedIndirect = 4,
    /// An indirect table's length is zero or not a multiple of 16.
    IndirectLength = 5,
    /// A chain's buffers add up to zero bytes.
    ZeroLength = 6,
    /// A device-readable descriptor follows a device-writable one.
    WriteBeforeRead = 7,
    /// The buffer lengths of one chain add up to more than 32 bits.
    LengthOverflow = 8,
    /// A DMA request completed with an error (e.g. an unmapped IOVA).
    DmaError = 9,
    /// `avail.idx` moved more than the queue size past `last_avail_idx`.
    AvailIndexJump = 10,
    /// A request is malformed for the device type (blk: no header or no status byte).
    BadRequest = 11,
    /// A ring address is not aligned (§2.7) or the queue size not a power of two.
    BadRingAddress = 12,
}

impl ErrorCause {
    /// Every cause, for tables and round-trip tests.
    pub const ALL: [ErrorCause; 13] = [
        ErrorCause::None,
        ErrorCause::ChainTooLong,
        ErrorCause::IndexOutOfRange,
        ErrorCause::IndirectWithNext,
        ErrorCause::NestedIndirect,
        ErrorCause::IndirectLength,
        ErrorCause::ZeroLength,
        ErrorCause::WriteBeforeRead,
        ErrorCause::LengthOverflow,
        ErrorCause::DmaError,
        ErrorCause::AvailIndexJump,
        ErrorCause::BadRequest,
        ErrorCause::BadRingAddress,
    ];

    /// Decodes a register value.
    pub const fn from_u32(v: u32) -> Option<ErrorCause> {
        if (v as usize) < Self::ALL.len() {
            Some(Self::ALL[v as usize])
        } else {
            None
        }
    }

    /// Short name for logs and the register map.
    pub const fn name(self) -> &'static str {
        match self {
            ErrorCause::None => "none",
            ErrorCause::ChainTooLong => "chain_too_long",
            ErrorCause::IndexOutOfRange => "index_out_of_range",
            ErrorCause::IndirectWithNext => "indirect_with_next",
            ErrorCause::NestedIndirect => "nested_indirect",
            ErrorCause::IndirectLength => "indirect_length",
            ErrorCause::ZeroLength => "zero_length",
            ErrorCause::WriteBeforeRead => "write_before_read",
            ErrorCause::LengthOverflow => "length_overflow",
            ErrorCause::DmaError => "dma_error",
            ErrorCause::AvailIndexJump => "avail_index_jump",
            ErrorCause::BadRequest => "bad_request",
            ErrorCause::BadRingAddress => "bad_ring_address",
        }
    }
}

/// The region's fixed registers, for the register map.
pub const REGISTERS: [Register; 12] = [
    Register::new(MAGIC, 4, "magic", Access::Ro, "\"VFPG\" (0x47504656)"),
    Register::new(VERSION, 4, "version", Access::Ro, "layout version, 1"),
    Register::new(
        NUM_QUEUES,
        4,
        "num_queues",
        Access::Ro,
        "queues implemented",
    ),
    Register::new(
        FW_STATUS,
        4,
        "fw_status",
        Access::Ro,
        "bit 0: firmware running",
    ),
    Register::new(
        ERROR_CAUSE,
        4,
        "error_cause",
        Access::Ro,
        "why the device needs reset (ErrorCause)",
    ),
    Register::new(
        ERROR_QUEUE,
        4,
        "error_queue",
        Access::Ro,
        "queue of the error",
    ),
    Register::new(
        ERROR_DETAIL,
        4,
        "error_detail",
        Access::Ro,
        "e.g. descriptor index",
    ),
    Register::new(
        COUNTERS,
        8,
        "counters[8]",
        Access::Ro,
        "u64 each: see counter names",
    ),
    Register::new(
        QUEUES + Q_CONTROL,
        4,
        "q[n].control",
        Access::Rw,
        "bit 0 stop request, bit 1 stopped (RO); stride 0x10",
    ),
    Register::new(
        QUEUES + Q_LAST_AVAIL_IDX,
        2,
        "q[n].last_avail_idx",
        Access::Rw,
        "next avail entry the engine reads; writable while stopped",
    ),
    Register::new(
        QUEUES + Q_USED_IDX,
        2,
        "q[n].used_idx",
        Access::Rw,
        "next used index the engine writes; writable while stopped",
    ),
    Register::new(
        QUEUES + Q_INFLIGHT,
        4,
        "q[n].inflight",
        Access::Ro,
        "chains fetched, not yet used",
    ),
];
