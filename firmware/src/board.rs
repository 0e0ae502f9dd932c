//! The board's initial device configuration: what a given card (or simulator
//! run) presents in the virtio device configuration space.

use vfpga_abi::{blk, net};

/// virtio-blk configuration values (virtio 1.2 §5.2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlkBoardConfig {
    /// Capacity in 512-byte sectors.
    pub capacity: u64,
    /// Geometry: cylinders.
    pub cylinders: u16,
    /// Geometry: heads.
    pub heads: u8,
    /// Geometry: sectors per track.
    pub sectors: u8,
    /// Block size in bytes (a power of two, at least 512).
    pub blk_size: u32,
    /// Maximum data segments per request (at most [`blk::SEG_MAX`]).
    pub seg_max: u32,
    /// Maximum bytes per segment (at most [`blk::SIZE_MAX`]).
    pub size_max: u32,
    /// Request queues presented (1 ..= the hardware's queue count).
    pub num_queues: u16,
}

/// virtio-net configuration values (virtio 1.2 §5.1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetBoardConfig {
    /// MAC address.
    pub mac: [u8; 6],
    /// MTU (68 ..= [`net::MAX_MTU`]).
    pub mtu: u16,
    /// Queue pairs presented (1 ..= the hardware's pairs).
    pub max_queue_pairs: u16,
    /// Link status ([`net::S_LINK_UP`]).
    pub status: u16,
}

/// Initial device configuration of both personalities; the hardware's
/// PERSONALITY register says which one is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoardConfig {
    /// Used by the blk personality.
    pub blk: BlkBoardConfig,
    /// Used by the net personality.
    pub net: NetBoardConfig,
}

impl BoardConfig {
    /// A 64 MiB disk and a link-up NIC with a locally administered MAC.
    pub const DEFAULT: BoardConfig = BoardConfig {
        blk: BlkBoardConfig {
            capacity: (64 << 20) / blk::SECTOR_SIZE,
            cylinders: 0,
            heads: 0,
            sectors: 0,
            blk_size: 512,
            seg_max: blk::SEG_MAX,
            size_max: blk::SIZE_MAX,
            num_queues: blk::NUM_QUEUES,
        },
        net: NetBoardConfig {
            mac: [0x02, 0x56, 0x46, 0x50, 0x47, 0x01],
            mtu: 1500,
            max_queue_pairs: net::MAX_QUEUE_PAIRS,
            status: net::S_LINK_UP,
        },
    };
}

impl Default for BoardConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}
