//! virtio-net over vhost-user: what QEMU sees and what the daemon keeps.
//!
//! With `-netdev vhost-user` QEMU emulates the control virtqueue itself and
//! hands the backend the data rings only: one socket for every pair, vring
//! indices absolute (pair `p` is receiveq `2p` and transmitq `2p + 1`, the
//! device's own numbering, virtio 1.2 §5.1.2), and SET_VRING_ENABLE on a
//! pair's two rings when the guest's VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET changes
//! how many it uses. The hardware's RX steering follows the pair count its
//! own control queue was given, so the daemon drives that queue itself (see
//! [`super::ctrl`]) and tells it the pairs the guest enabled.

use vfpga_abi::features::{self, bit};
use vfpga_abi::net;

/// Features QEMU implements itself for a vhost-user net device (its
/// control queue, the config space it emulates): never offered to it, so a
/// guest's choice of them never reaches the device. QEMU only passes on the
/// bits of its `user_feature_bits` list (hw/net/vhost_net.c); these are not
/// in it.
pub const QEMU_OWNS: u64 = bit(features::NET_CTRL_VQ)
    | bit(features::NET_CTRL_RX)
    | bit(features::NET_CTRL_MAC_ADDR)
    | bit(features::NET_MAC)
    | bit(features::NET_STATUS);

/// Features the daemon negotiates with the device for its own use whenever
/// the device offers them: the control queue, and multiqueue so that the
/// pair count can be set. MQ is also offered to QEMU (it is in QEMU's list:
/// without it the guest gets no multiqueue).
pub const DAEMON_ADDS: u64 = bit(features::NET_CTRL_VQ) | bit(features::NET_MQ);

/// Feature bits offered to the frontend, from those the device offers
/// (daemon-only and transport bits already removed by the caller).
pub fn offered_to_frontend(device: u64) -> u64 {
    device & !QEMU_OWNS
}

/// Feature bits to accept on the device: what the frontend acked plus what
/// the daemon needs for itself.
pub fn device_side(acked: u64, device: u64) -> u64 {
    acked | (device & DAEMON_ADDS)
}

/// Number of pairs the hardware should spread RX over: the leading pairs
/// whose two rings both run (the guest enables pairs `0..n`; a pair with a
/// stopped ring must not be given frames). At least 1, since the device
/// cannot be told 0 (§5.1.6.5.5: 1..=max_virtqueue_pairs).
pub fn running_pairs(pairs: u16, running: impl Fn(usize) -> bool) -> u16 {
    let n = (0..pairs as usize)
        .take_while(|p| running(2 * p) && running(2 * p + 1))
        .count() as u16;
    n.max(1)
}

/// The control-queue command that sets the pair count: header (class,
/// command) and its `virtio_net_ctrl_mq` payload (§5.1.6.5.5).
pub fn mq_pairs_set(pairs: u16) -> ([u8; 2], [u8; 2]) {
    (
        [net::ctrl::CLASS_MQ, net::ctrl::MQ_VQ_PAIRS_SET],
        pairs.to_le_bytes(),
    )
}

/// Index of the control queue on a device with `max_pairs` pairs and MQ
/// negotiated (§5.1.2: it follows the last transmitq).
pub fn ctrl_queue_index(max_pairs: u16) -> u16 {
    2 * max_pairs
}

/// Parses `aa:bb:cc:dd:ee:ff` (vfpga-host's parser) for the command line:
/// the error names the argument and refuses a multicast address.
pub fn parse_mac(s: &str) -> Result<[u8; 6], String> {
    let mac = vfpga_host::net::parse_mac(s)
        .ok_or_else(|| format!("`{s}`: expected a MAC address like 02:56:46:50:47:01"))?;
    if mac[0] & 1 != 0 {
        return Err(format!(
            "`{s}` is a multicast address; a NIC needs a unicast one"
        ));
    }
    Ok(mac)
}

pub use vfpga_host::net::format_mac;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_gets_the_datapath_bits_and_mq_not_the_control_bits() {
        let offered = offered_to_frontend(features::NET_OFFERED);
        for f in [
            features::VERSION_1,
            features::NET_MRG_RXBUF,
            features::NET_MTU,
            features::RING_EVENT_IDX,
            features::RING_INDIRECT_DESC,
            features::NET_MQ,
        ] {
            assert_ne!(offered & bit(f), 0, "feature {f} must reach QEMU");
        }
        for f in [
            features::NET_CTRL_VQ,
            features::NET_CTRL_RX,
            features::NET_CTRL_MAC_ADDR,
            features::NET_MAC,
            features::NET_STATUS,
        ] {
            assert_eq!(offered & bit(f), 0, "feature {f} is QEMU's own");
        }
    }

    /// §5.1.3.1: MQ requires CTRL_VQ; the daemon supplies the control queue
    /// the guest's MQ needs on the device side.
    #[test]
    fn spec_5_1_3_1_device_side_mq_comes_with_ctrl_vq() {
        let acked = bit(features::VERSION_1) | bit(features::NET_MQ);
        let dev = device_side(acked, features::NET_OFFERED);
        assert_ne!(dev & bit(features::NET_CTRL_VQ), 0);
        assert_ne!(dev & bit(features::NET_MQ), 0);
        assert_eq!(dev & bit(features::NET_CTRL_RX), 0, "not ours to ask for");
        // A device without a control queue gets nothing added.
        let plain = features::NET_OFFERED & !DAEMON_ADDS;
        assert_eq!(device_side(acked, plain), acked);
    }

    #[test]
    fn running_pairs_counts_leading_complete_pairs() {
        let on = |set: &'static [usize]| move |q: usize| set.contains(&q);
        assert_eq!(running_pairs(2, on(&[0, 1, 2, 3])), 2);
        assert_eq!(running_pairs(2, on(&[0, 1])), 1);
        // Pair 1 half up (rx only): not given frames yet.
        assert_eq!(running_pairs(2, on(&[0, 1, 2])), 1);
        // Nothing running: the device's minimum.
        assert_eq!(running_pairs(2, on(&[])), 1);
        // Pair 0 down but pair 1 up cannot be expressed: leading pairs only.
        assert_eq!(running_pairs(2, on(&[2, 3])), 1);
    }

    /// §5.1.6.5.5: class 4, command 0, `virtqueue_pairs` little-endian.
    #[test]
    fn spec_5_1_6_5_5_mq_vq_pairs_set_encoding() {
        assert_eq!(mq_pairs_set(2), ([4, 0], [2, 0]));
        assert_eq!(mq_pairs_set(0x0102), ([4, 0], [2, 1]));
    }

    /// §5.1.2: the control queue is 2N with N = max_virtqueue_pairs.
    #[test]
    fn spec_5_1_2_ctrl_queue_follows_the_pairs() {
        assert_eq!(ctrl_queue_index(net::MAX_QUEUE_PAIRS), net::CTRL_QUEUE);
        assert_eq!(ctrl_queue_index(1), 2);
    }

    #[test]
    fn mac_round_trip_and_refusals() {
        let m = parse_mac("02:56:46:50:47:0a").unwrap();
        assert_eq!(m, [0x02, 0x56, 0x46, 0x50, 0x47, 0x0a]);
        assert_eq!(format_mac(&m), "02:56:46:50:47:0a");
        assert!(parse_mac("02:56:46:50:47").is_err());
        assert!(parse_mac("02:56:46:50:47:0g").is_err());
        assert!(parse_mac("2:56:46:50:47:0a").is_err());
        assert!(parse_mac("01:00:5e:00:00:01").is_err(), "multicast");
    }
}
