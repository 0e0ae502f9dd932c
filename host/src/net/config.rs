//! The virtio-net device configuration (virtio 1.2 §5.1.4), read with the
//! `config_generation` check.

use vfpga_abi::features as f;
use vfpga_abi::net::{self, config as c};

use crate::virtio_pci::{VirtioError, VirtioPci};

/// A MAC address, byte 0 first on the wire.
pub type Mac = [u8; 6];

/// Address used when the device does not offer VIRTIO_NET_F_MAC: locally
/// administered, unicast (§5.1.4.1: the driver picks one itself).
pub const FALLBACK_MAC: Mac = [0x02, 0x76, 0x66, 0x70, 0x67, 0x61];

/// Ethernet header bytes in front of the MTU-sized payload.
pub const ETH_HLEN: usize = 14;

/// MTU assumed when the device does not report one.
pub const DEFAULT_MTU: u16 = 1500;

/// The fields the negotiated features make valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetConfig {
    /// `mac`, or [`FALLBACK_MAC`] without VIRTIO_NET_F_MAC.
    pub mac: Mac,
    /// `status` (bit 0 link up), `None` without VIRTIO_NET_F_STATUS.
    pub status: Option<u16>,
    /// `max_virtqueue_pairs`, 1 without VIRTIO_NET_F_MQ.
    pub max_pairs: u16,
    /// `mtu`, [`DEFAULT_MTU`] without VIRTIO_NET_F_MTU.
    pub mtu: u16,
}

impl NetConfig {
    /// Reads the configuration valid under `negotiated` features in one
    /// consistent snapshot (§2.5.1).
    pub fn read(pci: &VirtioPci, negotiated: u64) -> Result<Self, VirtioError> {
        let has = |b: u32| negotiated & f::bit(b) != 0;
        pci.read_config(|p| {
            let mut mac = FALLBACK_MAC;
            if has(f::NET_MAC) {
                // Byte accesses: the field is 6 bytes, not a power of two.
                for (i, b) in mac.iter_mut().enumerate() {
                    let mut v = [0u8];
                    p.read_config_raw(c::MAC + i as u32, &mut v)?;
                    *b = v[0];
                }
            }
            let u16_at = |off: u32| -> Result<u16, VirtioError> {
                let mut v = [0u8; 2];
                p.read_config_raw(off, &mut v)?;
                Ok(u16::from_le_bytes(v))
            };
            Ok(NetConfig {
                mac,
                status: if has(f::NET_STATUS) {
                    Some(u16_at(c::STATUS)?)
                } else {
                    None
                },
                max_pairs: if has(f::NET_MQ) {
                    u16_at(c::MAX_VIRTQUEUE_PAIRS)?
                } else {
                    1
                },
                mtu: if has(f::NET_MTU) {
                    u16_at(c::MTU)?
                } else {
                    DEFAULT_MTU
                },
            })
        })
    }

    /// Whether the link is up (always, without VIRTIO_NET_F_STATUS: §5.1.4.2).
    pub fn link_up(&self) -> bool {
        self.status.is_none_or(|s| s & net::S_LINK_UP != 0)
    }

    /// The largest frame the driver sends or expects: MTU plus the Ethernet
    /// header (no FCS, as the MAC port carries frames).
    pub fn max_frame(&self) -> usize {
        self.mtu as usize + ETH_HLEN
    }
}

/// Formats a MAC as `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(m: &Mac) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Parses `aa:bb:cc:dd:ee:ff`.
pub fn parse_mac(s: &str) -> Option<Mac> {
    let mut m = [0u8; 6];
    let mut parts = s.split(':');
    for b in &mut m {
        let p = parts.next()?;
        if p.len() != 2 {
            return None;
        }
        *b = u8::from_str_radix(p, 16).ok()?;
    }
    parts.next().is_none().then_some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_text_round_trip() {
        let m = [0x02, 0, 0xab, 0x10, 0xff, 0x7];
        assert_eq!(format_mac(&m), "02:00:ab:10:ff:07");
        assert_eq!(parse_mac("02:00:ab:10:ff:07"), Some(m));
        assert_eq!(parse_mac("02:00:ab:10:ff"), None);
        assert_eq!(parse_mac("02:00:ab:10:ff:07:00"), None);
        assert_eq!(parse_mac("2:00:ab:10:ff:07"), None);
    }

    #[test]
    fn fallback_mac_is_local_unicast() {
        assert_eq!(FALLBACK_MAC[0] & 1, 0, "unicast");
        assert_eq!(FALLBACK_MAC[0] & 2, 2, "locally administered");
    }
}
