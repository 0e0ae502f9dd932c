//! Self-test frames: Ethernet frames whose every byte follows from a seed
//! and a sequence number, so a frame that comes back can be checked byte
//! for byte and one delivered twice, late or truncated is caught.

use super::config::{ETH_HLEN, Mac};
use crate::blk::pattern_word;

/// EtherType of self-test frames: IEEE 802 local experimental 1, which no
/// protocol stack claims.
pub const ETHERTYPE: u16 = 0x88B5;

/// The shortest self-test frame: Ethernet header and the sequence number.
pub const MIN_LEN: usize = ETH_HLEN + 4;

/// Builds frame `seq` of `len` bytes (at least [`MIN_LEN`]) from `src` to
/// `dst`: Ethernet header, `seq` (u32 little-endian), then a pattern of
/// `seed` and `seq`.
pub fn build(dst: Mac, src: Mac, seed: u64, seq: u32, len: usize) -> Vec<u8> {
    assert!(
        len >= MIN_LEN,
        "a self-test frame holds at least {MIN_LEN} bytes"
    );
    let mut f = Vec::with_capacity(len);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ETHERTYPE.to_be_bytes());
    f.extend_from_slice(&seq.to_le_bytes());
    let s = seed ^ (seq as u64).rotate_left(40);
    let mut off = 0u64;
    while f.len() < len {
        let w = pattern_word(s, off).to_le_bytes();
        let n = (len - f.len()).min(8);
        f.extend_from_slice(&w[..n]);
        off += 8;
    }
    f
}

/// The sequence number of a self-test frame, or `None` when `frame` is not
/// one (too short, or another EtherType).
pub fn seq_of(frame: &[u8]) -> Option<u32> {
    if frame.len() < MIN_LEN || frame[12..14] != ETHERTYPE.to_be_bytes() {
        return None;
    }
    Some(u32::from_le_bytes(frame[14..18].try_into().unwrap()))
}

/// Source address base of self-test frames (locally administered); the
/// last byte is chosen per destination by [`pair_addresses`].
pub const SRC_BASE: Mac = [0x02, 0x76, 0x66, 0x73, 0x74, 0x00];

/// vfpga's receive-steering hash of a MAC address: the XOR of its twelve
/// nibbles (the hardware's flow table has 16 entries, see docs/net.md).
pub fn flow_hash(mac: &Mac) -> u8 {
    mac.iter().fold(0, |h, b| h ^ (b & 0xF) ^ (b >> 4))
}

/// Destination and source of the self-test frames sent on queue pair
/// `pair` (below 16) of a device whose MAC is `mac`: pair 0 sends to `mac`,
/// pair `p` to `mac` with `p` XORed into its last byte (an address the
/// driver adds to the MAC table). The source hashes like the destination,
/// so on a loopback a device that steers a flow's RX to the pair that last
/// sent to its peer (§5.1.6.5.5) puts each frame back on its own pair,
/// whatever hash of the peer address it uses among vfpga's, and the pairs'
/// flows never share a table entry.
pub fn pair_addresses(mac: Mac, pair: u16) -> (Mac, Mac) {
    assert!(pair < 16, "pair {pair}: at most 16 distinct flows");
    let mut dst = mac;
    dst[5] ^= pair as u8;
    let mut src = SRC_BASE;
    src[5] = (flow_hash(&src) ^ flow_hash(&dst)) & 0xF;
    (dst, src)
}

/// Compares `got` with `want`: `None` when equal, else the number of
/// differing bytes (a length difference counts every missing or extra
/// byte) and the offset of the first.
pub fn diff(got: &[u8], want: &[u8]) -> Option<(usize, usize)> {
    let mut bad = got.len().abs_diff(want.len());
    let mut first = (bad > 0).then_some(got.len().min(want.len()));
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        if a != b {
            bad += 1;
            first = Some(first.map_or(i, |f| f.min(i)));
        }
    }
    first.map(|f| (bad, f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_differ_by_seq_and_check() {
        let a = build([2; 6], [4; 6], 7, 1, 100);
        assert_eq!(a.len(), 100);
        assert_eq!(seq_of(&a), Some(1));
        assert_eq!(diff(&a, &a), None);
        let b = build([2; 6], [4; 6], 7, 2, 100);
        assert!(diff(&a, &b).unwrap().0 > 80);
        let mut c = a.clone();
        c[50] ^= 1;
        assert_eq!(diff(&c, &a), Some((1, 50)));
        assert_eq!(diff(&a[..90], &a), Some((10, 90)));
        assert_eq!(seq_of(&a[..10]), None);
        // Shorter frames are prefixes of longer ones with the same seq: the
        // length check is what tells them apart.
        assert_eq!(&build([2; 6], [4; 6], 7, 1, 60)[..], &a[..60]);
    }

    #[test]
    fn pair_addresses_hash_alike_and_apart() {
        let mac = [0x02, 0x56, 0x46, 0x50, 0x47, 0x01];
        let mut hashes = Vec::new();
        for p in 0..4 {
            let (dst, src) = pair_addresses(mac, p);
            assert_eq!(flow_hash(&dst), flow_hash(&src), "pair {p}");
            assert_eq!(dst[0] & 1, 0, "unicast destination");
            assert_ne!(dst, src);
            hashes.push(flow_hash(&dst));
        }
        assert_eq!(
            pair_addresses(mac, 0).0,
            mac,
            "pair 0 sends to the device's MAC"
        );
        hashes.dedup();
        assert_eq!(hashes.len(), 4, "every pair's flow has its own entry");
    }
}
