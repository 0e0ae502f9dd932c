//! The device-specific configuration image (virtio 1.2 §5.1.4, §5.2.4) and
//! how it reaches the hardware's device-config RAM.

use vfpga_abi::{Personality, blk, mgmt, net};

use crate::board::{BlkBoardConfig, NetBoardConfig};
use crate::hal::Hal;

/// Largest image any personality has ([`blk::config::LEN`]).
pub const MAX_LEN: usize = blk::config::LEN as usize;

/// A device configuration image, little-endian as virtio requires (§2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigImage {
    bytes: [u8; MAX_LEN],
    len: usize,
}

impl ConfigImage {
    fn new(len: u32) -> Self {
        ConfigImage {
            bytes: [0; MAX_LEN],
            len: len as usize,
        }
    }

    fn put(&mut self, offset: u32, value: &[u8]) {
        let o = offset as usize;
        self.bytes[o..o + value.len()].copy_from_slice(value);
    }

    /// The blk layout of `cfg`.
    pub fn blk(cfg: &BlkBoardConfig) -> Self {
        use blk::config as c;
        let mut img = Self::new(c::LEN);
        img.put(c::CAPACITY, &cfg.capacity.to_le_bytes());
        img.put(c::SIZE_MAX, &cfg.size_max.to_le_bytes());
        img.put(c::SEG_MAX, &cfg.seg_max.to_le_bytes());
        img.put(c::GEOMETRY_CYLINDERS, &cfg.cylinders.to_le_bytes());
        img.put(c::GEOMETRY_HEADS, &[cfg.heads]);
        img.put(c::GEOMETRY_SECTORS, &[cfg.sectors]);
        img.put(c::BLK_SIZE, &cfg.blk_size.to_le_bytes());
        img.put(c::NUM_QUEUES, &cfg.num_queues.to_le_bytes());
        img
    }

    /// The net layout of `cfg`.
    pub fn net(cfg: &NetBoardConfig) -> Self {
        use net::config as c;
        let mut img = Self::new(c::LEN);
        img.put(c::MAC, &cfg.mac);
        img.put(c::STATUS, &cfg.status.to_le_bytes());
        img.put(c::MAX_VIRTQUEUE_PAIRS, &cfg.max_queue_pairs.to_le_bytes());
        img.put(c::MTU, &cfg.mtu.to_le_bytes());
        // SPEED_DUPLEX is not offered; still show "unknown" (§5.1.4) rather
        // than a 0 Mb/s half-duplex link to anyone who reads the fields.
        img.put(c::SPEED, &u32::MAX.to_le_bytes());
        img.put(c::DUPLEX, &[0xFF]);
        img
    }

    /// The image for `personality`.
    pub fn for_personality(
        personality: Personality,
        blk: &BlkBoardConfig,
        net: &NetBoardConfig,
    ) -> Self {
        match personality {
            Personality::Blk => Self::blk(blk),
            Personality::Net => Self::net(net),
        }
    }

    /// The image's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Writes the image word by word through DEVCFG_ADDR / DEVCFG_DATA.
    pub fn write_to<H: Hal>(&self, hal: &mut H) {
        for (i, chunk) in self.as_bytes().chunks(4).enumerate() {
            let mut word = [0u8; 4];
            word[..chunk.len()].copy_from_slice(chunk);
            hal.write(mgmt::DEVCFG_ADDR, 4 * i as u32);
            hal.write(mgmt::DEVCFG_DATA, u32::from_le_bytes(word));
        }
    }
}
