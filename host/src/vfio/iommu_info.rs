//! Parsing `VFIO_IOMMU_GET_INFO` (type1): page sizes and the usable IOVA
//! ranges (`VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE`).
//!
//! The kernel returns a `vfio_iommu_type1_info` followed by a chain of
//! capabilities whose `next` offsets count from the start of the info. Parsing
//! is kept apart from the ioctl so that it can be tested on byte images.

use std::ops::Range;

/// `vfio_iommu_type1_info.flags`: `cap_offset` is valid.
pub const VFIO_IOMMU_INFO_CAPS: u32 = 1 << 1;
/// Capability id of the IOVA range list.
pub const VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE: u16 = 1;
/// Size of `vfio_iommu_type1_info` (argsz, flags, iova_pgsizes, cap_offset, pad).
pub const INFO_LEN: usize = 24;

/// What the IOMMU behind a container can translate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IommuInfo {
    /// Bitmap of supported page sizes; the lowest set bit is the granule.
    pub page_sizes: u64,
    /// Usable IOVA ranges, end exclusive. Empty when the kernel did not say
    /// (kernels before 5.4): then the whole 64-bit space is assumed.
    pub iova_ranges: Vec<Range<u64>>,
}

fn u16_at(b: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(o..o + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?))
}
fn u64_at(b: &[u8], o: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(o..o + 8)?.try_into().ok()?))
}

/// Parses a `vfio_iommu_type1_info` image with its capability chain.
/// Returns `None` on a malformed image (offsets pointing outside, loops).
pub fn parse(b: &[u8]) -> Option<IommuInfo> {
    let flags = u32_at(b, 4)?;
    let page_sizes = u64_at(b, 8)?;
    let mut iova_ranges = Vec::new();
    if flags & VFIO_IOMMU_INFO_CAPS != 0 {
        let mut off = u32_at(b, 16)? as usize;
        // Each hop must move forward, which also bounds the walk.
        let mut last = 0usize;
        while off != 0 {
            if off <= last || off + 8 > b.len() {
                return None;
            }
            let id = u16_at(b, off)?;
            let next = u32_at(b, off + 4)? as usize;
            if id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE {
                let n = u32_at(b, off + 8)? as usize;
                for i in 0..n {
                    let e = off + 16 + 16 * i;
                    let start = u64_at(b, e)?;
                    let end_incl = u64_at(b, e + 8)?;
                    if end_incl < start {
                        return None;
                    }
                    iova_ranges.push(start..end_incl.saturating_add(1));
                }
            }
            last = off;
            off = next;
        }
    }
    if iova_ranges.is_empty() {
        iova_ranges.push(0..u64::MAX);
    }
    Some(IommuInfo {
        page_sizes,
        iova_ranges,
    })
}

/// Whether `iova .. iova + size` lies inside one of `ranges`.
pub fn fits(ranges: &[Range<u64>], iova: u64, size: u64) -> bool {
    let Some(end) = iova.checked_add(size) else {
        return false;
    };
    size > 0 && ranges.iter().any(|r| iova >= r.start && end <= r.end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(ranges: &[(u64, u64)]) -> Vec<u8> {
        let mut b = vec![0u8; INFO_LEN];
        b[4..8].copy_from_slice(&VFIO_IOMMU_INFO_CAPS.to_le_bytes());
        b[8..16].copy_from_slice(&0x4000_1000u64.to_le_bytes());
        // An unrelated capability first, then the range list.
        b[16..20].copy_from_slice(&(INFO_LEN as u32).to_le_bytes());
        let other = INFO_LEN;
        b.resize(other + 12, 0);
        b[other..other + 2].copy_from_slice(&2u16.to_le_bytes());
        let cap = other + 12;
        b[other + 4..other + 8].copy_from_slice(&(cap as u32).to_le_bytes());
        b.resize(cap + 16 + 16 * ranges.len(), 0);
        b[cap..cap + 2].copy_from_slice(&VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE.to_le_bytes());
        b[cap + 8..cap + 12].copy_from_slice(&(ranges.len() as u32).to_le_bytes());
        for (i, (s, e)) in ranges.iter().enumerate() {
            let o = cap + 16 + 16 * i;
            b[o..o + 8].copy_from_slice(&s.to_le_bytes());
            b[o + 8..o + 16].copy_from_slice(&e.to_le_bytes());
        }
        b
    }

    #[test]
    fn iova_ranges_follow_the_capability_chain() {
        // What an Intel IOMMU reports: everything but the MSI window.
        let info = parse(&image(&[(0, 0xfedf_ffff), (0xfef0_0000, 0x7f_ffff_ffff)])).unwrap();
        assert_eq!(info.page_sizes, 0x4000_1000);
        assert_eq!(
            info.iova_ranges,
            vec![0..0xfee0_0000, 0xfef0_0000..0x80_0000_0000]
        );
        assert!(fits(&info.iova_ranges, 0x10_0000, 0x1000));
        assert!(!fits(&info.iova_ranges, 0xfedf_f000, 0x2000));
        assert!(!fits(&info.iova_ranges, 0x7f_ffff_f000, 0x2000));
        assert!(!fits(&info.iova_ranges, u64::MAX - 0xfff, 0x1000));
        assert!(!fits(&info.iova_ranges, 0x1000, 0));
    }

    #[test]
    fn no_capabilities_means_the_whole_space() {
        let mut b = vec![0u8; INFO_LEN];
        b[8..16].copy_from_slice(&0x1000u64.to_le_bytes());
        assert_eq!(parse(&b).unwrap().iova_ranges, vec![0..u64::MAX]);
    }

    #[test]
    fn malformed_chains_are_refused() {
        let mut b = image(&[(0, 0xffff)]);
        // Point the capability at itself: a loop.
        let cap = INFO_LEN + 12;
        b[cap + 4..cap + 8].copy_from_slice(&(cap as u32).to_le_bytes());
        assert_eq!(parse(&b), None);
        let mut b = image(&[(0, 0xffff)]);
        b.truncate(b.len() - 4);
        assert_eq!(parse(&b), None);
    }
}
