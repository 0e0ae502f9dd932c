//! The firmware management port: how the device's control processor sees the
//! engine.
//!
//! The hardware does the datapath and the register file; everything that needs
//! policy is the firmware's. Driver writes with side effects (device_status,
//! queue_enable, queue_reset, vendor queue stop/start) are latched by the
//! hardware and posted as [`Event`]s; the firmware answers by writing the
//! registers below (for example the device_status value the driver reads back,
//! which stays non-zero after a reset write until the firmware has drained DMA).
//!
//! The port is a simple register bus: a word address ([`ADDR_BITS`] wide) and
//! 32-bit data, one access per handshake (see [`crate::ports::MgmtPort`]).

use crate::regmap::{Access, Register};

/// Width of a management register address (word addresses).
pub const ADDR_BITS: u32 = 8;
/// Depth of the hardware event FIFO; when full, the oldest event is kept and
/// [`ENGINE_STATUS_EVENT_OVERFLOW`] is set, which firmware treats as fatal.
pub const EVENT_FIFO_DEPTH: usize = 16;

/// Identification: reads [`crate::vendor::MAGIC_VALUE`].
pub const ID: u16 = 0x00;
/// Personality: the virtio device type (1 net, 2 blk).
pub const PERSONALITY: u16 = 0x01;
/// Queues implemented.
pub const NUM_QUEUES: u16 = 0x02;
/// Largest queue size the engine supports.
pub const QUEUE_SIZE_MAX: u16 = 0x03;
/// Pops the oldest event; 0 when the FIFO is empty.
pub const EVENT: u16 = 0x04;
/// Number of events waiting.
pub const EVENT_COUNT: u16 = 0x05;

/// device_status as the driver reads it (RW by firmware).
pub const DEVICE_STATUS: u16 = 0x08;
/// config_generation as the driver reads it (RW by firmware).
pub const CONFIG_GENERATION: u16 = 0x09;
/// Offered features, bits 31:0 (RW by firmware, RO to the driver).
pub const DEVICE_FEATURE_LO: u16 = 0x0A;
/// Offered features, bits 63:32.
pub const DEVICE_FEATURE_HI: u16 = 0x0B;
/// Features the driver wrote, bits 31:0 (RO).
pub const DRIVER_FEATURE_LO: u16 = 0x0C;
/// Features the driver wrote, bits 63:32 (RO).
pub const DRIVER_FEATURE_HI: u16 = 0x0D;
/// config_msix_vector the driver wrote (RO).
pub const CONFIG_MSIX_VECTOR: u16 = 0x0E;

/// Engine control (RW), see the `ENGINE_CTRL_*` bits.
pub const ENGINE_CTRL: u16 = 0x10;
/// Engine status (RO), see the `ENGINE_STATUS_*` bits.
pub const ENGINE_STATUS: u16 = 0x11;
/// Hardware error cause (RO, [`crate::vendor::ErrorCause`]); sticky until [`ENGINE_RESET`].
pub const ERROR_CAUSE: u16 = 0x12;
/// Queue of the hardware error (RO).
pub const ERROR_QUEUE: u16 = 0x13;
/// Detail of the hardware error (RO).
pub const ERROR_DETAIL: u16 = 0x14;
/// Write 1: clear all queue state, the error, ISR, MSI-X pending bits and
/// driver features (the hardware half of a device reset). Only legal while
/// [`ENGINE_STATUS_IDLE`] is set.
pub const ENGINE_RESET: u16 = 0x15;
/// Write 1: set ISR bit 1 and send the configuration-change MSI-X vector.
pub const CONFIG_IRQ: u16 = 0x16;
/// Firmware status word shown in the vendor region (RW).
pub const FW_STATUS: u16 = 0x17;

/// Queue select for the `Q_*` registers (RW).
pub const QUEUE_SEL: u16 = 0x20;
/// Selected queue: size the driver wrote (RO).
pub const Q_SIZE: u16 = 0x21;
/// Selected queue: MSI-X vector the driver wrote (RO).
pub const Q_MSIX_VECTOR: u16 = 0x22;
/// Selected queue: descriptor table address, low (RO).
pub const Q_DESC_LO: u16 = 0x23;
/// Selected queue: descriptor table address, high (RO).
pub const Q_DESC_HI: u16 = 0x24;
/// Selected queue: avail ring address, low (RO).
pub const Q_DRIVER_LO: u16 = 0x25;
/// Selected queue: avail ring address, high (RO).
pub const Q_DRIVER_HI: u16 = 0x26;
/// Selected queue: used ring address, low (RO).
pub const Q_DEVICE_LO: u16 = 0x27;
/// Selected queue: used ring address, high (RO).
pub const Q_DEVICE_HI: u16 = 0x28;
/// Selected queue: queue_enable as the driver reads it (RW by firmware).
pub const Q_ENABLE: u16 = 0x29;
/// Selected queue: 1 = the engine may fetch from it (RW by firmware).
pub const Q_RUN: u16 = 0x2A;
/// Selected queue: last_avail_idx (RW while not running).
pub const Q_LAST_AVAIL_IDX: u16 = 0x2B;
/// Selected queue: used_idx (RW while not running).
pub const Q_USED_IDX: u16 = 0x2C;
/// Selected queue: chains in flight (RO); 0 with Q_RUN clear means stopped.
pub const Q_INFLIGHT: u16 = 0x2D;

/// Byte offset into the device configuration window for [`DEVCFG_DATA`] (RW).
pub const DEVCFG_ADDR: u16 = 0x30;
/// The 32-bit word of device configuration at `DEVCFG_ADDR & !3` (RW).
pub const DEVCFG_DATA: u16 = 0x31;

/// First firmware-kept counter ([`crate::vendor::FIRST_FW_COUNTER`] onward), RW, 32 bits.
pub const FW_COUNTERS: u16 = 0x40;
/// First hardware counter, low 32 bits (RO); counter `i` at `HW_COUNTERS + i`.
pub const HW_COUNTERS: u16 = 0x48;

/// Address of firmware counter `i` (vendor counter index,
/// [`crate::vendor::FIRST_FW_COUNTER`] `<= i <` [`crate::vendor::NUM_COUNTERS`]):
/// `FW_COUNTERS + i`, so the vendor region's counter `i` reads this register.
pub const fn fw_counter(i: usize) -> u16 {
    FW_COUNTERS + i as u16
}

/// ENGINE_CTRL: the engine may issue DMA (set at DRIVER_OK, cleared to quiesce).
pub const ENGINE_CTRL_DMA_ENABLE: u32 = 1 << 0;
/// ENGINE_CTRL: EVENT_IDX negotiated.
pub const ENGINE_CTRL_EVENT_IDX: u32 = 1 << 1;
/// ENGINE_CTRL: NOTIFICATION_DATA negotiated.
pub const ENGINE_CTRL_NOTIFICATION_DATA: u32 = 1 << 2;
/// ENGINE_CTRL: INDIRECT_DESC negotiated (an indirect descriptor is an error otherwise).
pub const ENGINE_CTRL_INDIRECT: u32 = 1 << 3;

/// ENGINE_STATUS: no DMA in flight and no chain being processed.
pub const ENGINE_STATUS_IDLE: u32 = 1 << 0;
/// ENGINE_STATUS: the engine stopped on an error (see ERROR_CAUSE).
pub const ENGINE_STATUS_ERROR: u32 = 1 << 1;
/// ENGINE_STATUS: events were lost because the FIFO was full.
pub const ENGINE_STATUS_EVENT_OVERFLOW: u32 = 1 << 2;

/// An event the hardware posts to firmware. Encoded in 32 bits as
/// `kind | queue << 8 | value << 16`; the value 0 means "no event".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// Queue concerned, where it applies.
    pub queue: u8,
    /// Value written by the driver, or the error cause.
    pub value: u16,
}

/// Kinds of [`Event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum EventKind {
    /// The driver wrote device_status; value = the byte written.
    StatusWrite = 1,
    /// The driver wrote queue_enable for `queue`; value = the value written.
    QueueEnable = 2,
    /// The driver wrote queue_reset = 1 for `queue`.
    QueueReset = 3,
    /// The engine stopped on an error; value = [`crate::vendor::ErrorCause`].
    EngineError = 4,
    /// The host wrote the vendor Q_CONTROL of `queue`; value = the value written.
    VendorQueueControl = 5,
    /// The driver wrote driver_feature (either half); lets firmware track it.
    DriverFeature = 6,
    /// net: a control-queue command is held in `net::CTRL_CMD` for firmware
    /// (`queue` = the control queue).
    NetCtrl = 7,
}

impl Event {
    /// Encodes the event as the FIFO word.
    pub const fn encode(self) -> u32 {
        self.kind as u32 | (self.queue as u32) << 8 | (self.value as u32) << 16
    }

    /// Decodes a FIFO word; `None` for 0 (empty) and unknown kinds.
    pub const fn decode(word: u32) -> Option<Event> {
        let kind = match word & 0xFF {
            1 => EventKind::StatusWrite,
            2 => EventKind::QueueEnable,
            3 => EventKind::QueueReset,
            4 => EventKind::EngineError,
            5 => EventKind::VendorQueueControl,
            6 => EventKind::DriverFeature,
            7 => EventKind::NetCtrl,
            _ => return None,
        };
        Some(Event {
            kind,
            queue: (word >> 8) as u8,
            value: (word >> 16) as u16,
        })
    }
}

/// Every register, for the register map.
pub const REGISTERS: [Register; 37] = [
    Register::new(ID as u32, 4, "id", Access::Ro, "\"VFPG\""),
    Register::new(
        PERSONALITY as u32,
        4,
        "personality",
        Access::Ro,
        "virtio device type",
    ),
    Register::new(
        NUM_QUEUES as u32,
        4,
        "num_queues",
        Access::Ro,
        "queues implemented",
    ),
    Register::new(
        QUEUE_SIZE_MAX as u32,
        4,
        "queue_size_max",
        Access::Ro,
        "largest queue size",
    ),
    Register::new(
        EVENT as u32,
        4,
        "event",
        Access::Rc,
        "pop oldest event; 0 = empty",
    ),
    Register::new(
        EVENT_COUNT as u32,
        4,
        "event_count",
        Access::Ro,
        "events waiting",
    ),
    Register::new(
        DEVICE_STATUS as u32,
        4,
        "device_status",
        Access::Rw,
        "what the driver reads",
    ),
    Register::new(
        CONFIG_GENERATION as u32,
        4,
        "config_generation",
        Access::Rw,
        "what the driver reads",
    ),
    Register::new(
        DEVICE_FEATURE_LO as u32,
        4,
        "device_feature_lo",
        Access::Rw,
        "offered 31:0",
    ),
    Register::new(
        DEVICE_FEATURE_HI as u32,
        4,
        "device_feature_hi",
        Access::Rw,
        "offered 63:32",
    ),
    Register::new(
        DRIVER_FEATURE_LO as u32,
        4,
        "driver_feature_lo",
        Access::Ro,
        "driver wrote 31:0",
    ),
    Register::new(
        DRIVER_FEATURE_HI as u32,
        4,
        "driver_feature_hi",
        Access::Ro,
        "driver wrote 63:32",
    ),
    Register::new(
        CONFIG_MSIX_VECTOR as u32,
        4,
        "config_msix_vector",
        Access::Ro,
        "driver wrote",
    ),
    Register::new(
        ENGINE_CTRL as u32,
        4,
        "engine_ctrl",
        Access::Rw,
        "b0 dma_enable, b1 event_idx, b2 notification_data, b3 indirect",
    ),
    Register::new(
        ENGINE_STATUS as u32,
        4,
        "engine_status",
        Access::Ro,
        "b0 idle, b1 error, b2 event overflow",
    ),
    Register::new(
        ERROR_CAUSE as u32,
        4,
        "error_cause",
        Access::Ro,
        "ErrorCause, sticky",
    ),
    Register::new(
        ERROR_QUEUE as u32,
        4,
        "error_queue",
        Access::Ro,
        "queue of the error",
    ),
    Register::new(
        ERROR_DETAIL as u32,
        4,
        "error_detail",
        Access::Ro,
        "e.g. descriptor index",
    ),
    Register::new(
        ENGINE_RESET as u32,
        4,
        "engine_reset",
        Access::Wo,
        "1: clear queues, error, ISR, PBA, driver features",
    ),
    Register::new(
        CONFIG_IRQ as u32,
        4,
        "config_irq",
        Access::Wo,
        "1: ISR bit 1 + config vector",
    ),
    Register::new(
        FW_STATUS as u32,
        4,
        "fw_status",
        Access::Rw,
        "shown in the vendor region",
    ),
    Register::new(
        QUEUE_SEL as u32,
        4,
        "queue_sel",
        Access::Rw,
        "selects q_* below",
    ),
    Register::new(
        Q_SIZE as u32,
        4,
        "q_size",
        Access::Ro,
        "driver's queue_size",
    ),
    Register::new(
        Q_MSIX_VECTOR as u32,
        4,
        "q_msix_vector",
        Access::Ro,
        "driver's vector",
    ),
    Register::new(
        Q_DESC_LO as u32,
        4,
        "q_desc_lo",
        Access::Ro,
        "descriptor table",
    ),
    Register::new(Q_DESC_HI as u32, 4, "q_desc_hi", Access::Ro, ""),
    Register::new(
        Q_DRIVER_LO as u32,
        4,
        "q_driver_lo",
        Access::Ro,
        "avail ring",
    ),
    Register::new(Q_DRIVER_HI as u32, 4, "q_driver_hi", Access::Ro, ""),
    Register::new(
        Q_DEVICE_LO as u32,
        4,
        "q_device_lo",
        Access::Ro,
        "used ring",
    ),
    Register::new(Q_DEVICE_HI as u32, 4, "q_device_hi", Access::Ro, ""),
    Register::new(
        Q_ENABLE as u32,
        4,
        "q_enable",
        Access::Rw,
        "what the driver reads",
    ),
    Register::new(Q_RUN as u32, 4, "q_run", Access::Rw, "engine may fetch"),
    Register::new(
        Q_LAST_AVAIL_IDX as u32,
        4,
        "q_last_avail_idx",
        Access::Rw,
        "writable while not running",
    ),
    Register::new(
        Q_USED_IDX as u32,
        4,
        "q_used_idx",
        Access::Rw,
        "writable while not running",
    ),
    Register::new(
        Q_INFLIGHT as u32,
        4,
        "q_inflight",
        Access::Ro,
        "chains in flight",
    ),
    Register::new(
        DEVCFG_ADDR as u32,
        4,
        "devcfg_addr",
        Access::Rw,
        "byte offset in device config",
    ),
    Register::new(
        DEVCFG_DATA as u32,
        4,
        "devcfg_data",
        Access::Rw,
        "word at devcfg_addr",
    ),
];

/// virtio-net personality: management registers of the net function
/// (`NET_*`), decoded beside the common ones. They hold what the control
/// queue sets (virtio 1.2 §5.1.6.5) and the RX filter applies in hardware.
pub mod net {
    /// RX filter mode (RW): see the `RX_MODE_*` bits.
    pub const RX_MODE: u16 = 0x60;
    /// Primary MAC address bytes 0..4, byte 0 in bits 7:0 (RW).
    pub const MAC_LO: u16 = 0x61;
    /// Primary MAC address bytes 4..6 in bits 15:0 (RW).
    pub const MAC_HI: u16 = 0x62;
    /// MAC table entry selected by `FILTER_LO`/`FILTER_HI` (RW,
    /// 0..[`crate::net::ctrl::MAC_TABLE_ENTRIES`]).
    pub const FILTER_SEL: u16 = 0x63;
    /// Selected table entry, address bytes 0..4 (RW; staged until `FILTER_HI`).
    pub const FILTER_LO: u16 = 0x64;
    /// Selected table entry, address bytes 4..6 in bits 15:0 and
    /// [`FILTER_VALID`] (RW); a write stores the whole entry.
    pub const FILTER_HI: u16 = 0x65;
    /// Frames dropped because no RX buffer was posted (RO, 32 bits).
    pub const RX_DROP_NOBUF: u16 = 0x66;
    /// Frames the MAC filter dropped (RO, 32 bits).
    pub const RX_DROP_FILTER: u16 = 0x67;
    /// Frames delivered into RX buffers (RO, 32 bits).
    pub const RX_FRAMES: u16 = 0x68;
    /// Frames sent to the MAC (RO, 32 bits).
    pub const TX_FRAMES: u16 = 0x69;
    /// Frames cut short: longer than the one RX chain they got without
    /// MRG_RXBUF (RO, 32 bits).
    pub const RX_TRUNCATED: u16 = 0x6A;

    /// RX_MODE: accept every frame.
    pub const RX_MODE_PROMISC: u32 = 1 << 0;
    /// RX_MODE: accept every multicast frame.
    pub const RX_MODE_ALLMULTI: u32 = 1 << 1;
    /// RX_MODE: VIRTIO_NET_F_MRG_RXBUF negotiated (a frame may take several buffers).
    pub const RX_MODE_MRG_RXBUF: u32 = 1 << 2;
    /// FILTER_HI: the entry takes part in matching.
    pub const FILTER_VALID: u32 = 1 << 16;
    /// Queue layout and RX steering (RW by firmware), see the `QUEUES_*`
    /// fields. Written at FEATURES_OK and on every accepted
    /// `VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET`; reset value
    /// `1 | (2 * MAX_QUEUE_PAIRS) << QUEUES_CTRL_SHIFT`.
    pub const QUEUES: u16 = 0x6B;
    /// Control command waiting for firmware (RO): [`CTRL_CMD_PENDING`],
    /// class in bits 7:0, command in bits 15:8, payload length in bytes
    /// (the readable bytes after the 2-byte header, may exceed
    /// [`CTRL_PAYLOAD_MAX`]) in bits 27:16.
    pub const CTRL_CMD: u16 = 0x6C;
    /// Word index into the held payload for [`CTRL_DATA`] (RW).
    pub const CTRL_DATA_SEL: u16 = 0x6D;
    /// Payload bytes `4 * CTRL_DATA_SEL ..+ 4`, the first in bits 7:0 (RO);
    /// bytes past the payload read 0.
    pub const CTRL_DATA: u16 = 0x6E;
    /// Write the ack byte (`VIRTIO_NET_OK`/`ERR`) in bits 7:0 (WO): the
    /// hardware writes it into the chain's first writable byte, uses the
    /// chain with length 1, notifies as for any queue and clears
    /// [`CTRL_CMD_PENDING`]. Ignored while nothing is pending.
    pub const CTRL_ACK: u16 = 0x6F;

    /// QUEUES: RX pairs the steering may use (1 ..= `MAX_QUEUE_PAIRS`), bits 3:0.
    pub const QUEUES_PAIRS_MASK: u32 = 0xF;
    /// QUEUES: index of the control queue, bits 11:8 (virtio 1.2 §5.1.2:
    /// 2 without VIRTIO_NET_F_MQ, `2 * max_virtqueue_pairs` with it).
    pub const QUEUES_CTRL_SHIFT: u32 = 8;
    /// QUEUES: mask of the control queue field once shifted down.
    pub const QUEUES_CTRL_MASK: u32 = 0xF;
    /// CTRL_CMD: a command is held and waits for [`CTRL_ACK`].
    pub const CTRL_CMD_PENDING: u32 = 1 << 31;
    /// Payload bytes the hardware holds for firmware; a longer payload is
    /// cut (firmware sees the true length and answers `VIRTIO_NET_ERR`).
    /// A 16-entry MAC table needs 8 + 16 * 6 = 104.
    pub const CTRL_PAYLOAD_MAX: usize = 128;

    /// First and last register of the net block (for decoders).
    pub const FIRST: u16 = RX_MODE;
    /// Last register of the net block.
    pub const LAST: u16 = CTRL_ACK;
}
