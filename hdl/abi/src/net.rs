//! virtio-net (virtio 1.2 §5.1): configuration layout, header, control queue.

/// Queue pairs the hardware implements (default HDL parameter).
pub const MAX_QUEUE_PAIRS: u16 = 2;
/// Queues: RX/TX per pair, then the control queue.
pub const NUM_QUEUES: u16 = 2 * MAX_QUEUE_PAIRS + 1;
/// Index of the control queue.
pub const CTRL_QUEUE: u16 = 2 * MAX_QUEUE_PAIRS;
/// Largest frame the MAC port carries (jumbo).
pub const MAX_MTU: u16 = 9000;
/// Length of `virtio_net_hdr_v1` (with `num_buffers`; VERSION_1 always has it).
pub const HDR_LEN: u32 = 12;
/// Offset of `num_buffers` in the header.
pub const HDR_NUM_BUFFERS: u32 = 10;
/// Link status bit in `status`: link up.
pub const S_LINK_UP: u16 = 1;

/// Offsets in `virtio_net_config` (§5.1.4).
pub mod config {
    /// MAC address (6 bytes).
    pub const MAC: u32 = 0;
    /// Link status (u16).
    pub const STATUS: u32 = 6;
    /// Maximum queue pairs (u16).
    pub const MAX_VIRTQUEUE_PAIRS: u32 = 8;
    /// MTU (u16).
    pub const MTU: u32 = 10;
    /// Speed in Mb/s (u32).
    pub const SPEED: u32 = 12;
    /// Duplex (u8).
    pub const DUPLEX: u32 = 16;
    /// Bytes the hardware serves (through `duplex`, padded); the rest reads zero.
    pub const LEN: u32 = 20;
}

/// Control queue classes and commands (§5.1.6.5).
pub mod ctrl {
    /// Ack: success.
    pub const OK: u8 = 0;
    /// Ack: failure.
    pub const ERR: u8 = 1;
    /// Class: receive filtering.
    pub const CLASS_RX: u8 = 0;
    /// RX: promiscuous mode (1 byte on/off).
    pub const RX_PROMISC: u8 = 0;
    /// RX: all-multicast mode (1 byte on/off).
    pub const RX_ALLMULTI: u8 = 1;
    /// Class: MAC address filtering.
    pub const CLASS_MAC: u8 = 1;
    /// MAC: set unicast and multicast tables.
    pub const MAC_TABLE_SET: u8 = 0;
    /// MAC: set the primary address.
    pub const MAC_ADDR_SET: u8 = 1;
    /// Class: multiqueue.
    pub const CLASS_MQ: u8 = 4;
    /// MQ: set the number of queue pairs in use (u16).
    pub const MQ_VQ_PAIRS_SET: u8 = 0;
    /// Entries the hardware MAC filter holds (unicast + multicast).
    pub const MAC_TABLE_ENTRIES: usize = 16;
}
