//! Feature bits (virtio 1.2 §6 reserved bits, §5.1.3 net, §5.2.3 blk) and the
//! sets each personality offers.

/// Generic bit: indirect descriptors (§2.7.5.3).
pub const RING_INDIRECT_DESC: u32 = 28;
/// Generic bit: used_event / avail_event suppression (§2.7.7, §2.7.10).
pub const RING_EVENT_IDX: u32 = 29;
/// Generic bit: virtio 1.x compliance.
pub const VERSION_1: u32 = 32;
/// Generic bit: the device's DMA goes through a platform IOMMU.
pub const ACCESS_PLATFORM: u32 = 33;
/// Generic bit: packed ring (not offered).
pub const RING_PACKED: u32 = 34;
/// Generic bit: buffers used in order (not offered).
pub const IN_ORDER: u32 = 35;
/// Generic bit: driver notifications carry the avail index (§4.1.5.2).
pub const NOTIFICATION_DATA: u32 = 38;
/// Generic bit: per-queue reset (not offered).
pub const RING_RESET: u32 = 40;

/// blk: maximum segment size in `size_max`.
pub const BLK_SIZE_MAX: u32 = 1;
/// blk: maximum segments per request in `seg_max`.
pub const BLK_SEG_MAX: u32 = 2;
/// blk: block size in `blk_size`.
pub const BLK_BLK_SIZE: u32 = 6;
/// blk: cache flush command.
pub const BLK_FLUSH: u32 = 9;
/// blk: multiple queues, count in `num_queues`.
pub const BLK_MQ: u32 = 12;

/// net: MTU in `mtu`.
pub const NET_MTU: u32 = 3;
/// net: MAC address in `mac`.
pub const NET_MAC: u32 = 5;
/// net: merge receive buffers.
pub const NET_MRG_RXBUF: u32 = 15;
/// net: link status in `status`.
pub const NET_STATUS: u32 = 16;
/// net: control virtqueue.
pub const NET_CTRL_VQ: u32 = 17;
/// net: control channel RX mode.
pub const NET_CTRL_RX: u32 = 18;
/// net: multiqueue with automatic steering.
pub const NET_MQ: u32 = 22;
/// net: set MAC address through the control queue.
pub const NET_CTRL_MAC_ADDR: u32 = 23;

/// The bit mask of one feature number.
pub const fn bit(feature: u32) -> u64 {
    1u64 << feature
}

const COMMON: u64 = bit(VERSION_1)
    | bit(ACCESS_PLATFORM)
    | bit(RING_EVENT_IDX)
    | bit(RING_INDIRECT_DESC)
    | bit(NOTIFICATION_DATA);

/// Features the blk personality offers.
pub const BLK_OFFERED: u64 = COMMON
    | bit(BLK_SEG_MAX)
    | bit(BLK_SIZE_MAX)
    | bit(BLK_BLK_SIZE)
    | bit(BLK_FLUSH)
    | bit(BLK_MQ);

/// Features the net personality offers.
pub const NET_OFFERED: u64 = COMMON
    | bit(NET_MAC)
    | bit(NET_MTU)
    | bit(NET_STATUS)
    | bit(NET_MRG_RXBUF)
    | bit(NET_CTRL_VQ)
    | bit(NET_CTRL_RX)
    | bit(NET_CTRL_MAC_ADDR)
    | bit(NET_MQ);

/// Features that may only be accepted together with another one
/// (`(feature, requires)`, virtio 1.2 §5.1.3.1). Firmware refuses FEATURES_OK
/// when a driver breaks one.
pub const DEPENDENCIES: [(u32, u32); 3] = [
    (NET_CTRL_RX, NET_CTRL_VQ),
    (NET_CTRL_MAC_ADDR, NET_CTRL_VQ),
    (NET_MQ, NET_CTRL_VQ),
];

/// Features a driver must accept for this device to work at all.
pub const REQUIRED: u64 = bit(VERSION_1);
