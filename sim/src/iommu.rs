//! The IOMMU model: the only way the engine's DMA reaches memory.
//!
//! A mapping makes `iova .. iova + size` reach this process's memory at
//! `vaddr`, exactly like a VFIO type-1 DMA map. Each mapping becomes a
//! `vm-memory` region placed at its IOVA, so the DMA model reads and writes
//! through `vm-memory` with the IOVA as the guest address. An access that is
//! not wholly inside mappings is a fault: it is counted, reported to the
//! caller (who turns it into an error completion) and touches nothing — the
//! range is checked before a single byte moves.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use vm_memory::{
    Bytes, GuestAddress, GuestMemoryBackend, GuestMemoryMmap, GuestRegionMmap, MmapRegion,
};

/// Why a map or unmap request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    /// The range is empty, wraps, or leaves the usable IOVA ranges.
    #[error("IOVA {iova:#x}+{size:#x} is outside the usable IOVA ranges")]
    OutOfRange {
        /// Start of the mapping.
        iova: u64,
        /// Length of the mapping.
        size: u64,
    },
    /// The range overlaps an existing mapping.
    #[error("IOVA {iova:#x}+{size:#x} overlaps an existing mapping")]
    Overlap {
        /// Start of the mapping.
        iova: u64,
        /// Length of the mapping.
        size: u64,
    },
    /// An unmap that is not exactly one existing mapping.
    #[error("no mapping at IOVA {iova:#x}+{size:#x}")]
    NoMapping {
        /// Start of the range.
        iova: u64,
        /// Length of the range.
        size: u64,
    },
    /// IOVA, size or address not page aligned (VFIO refuses these too).
    #[error("mapping {iova:#x}+{size:#x} at {vaddr:#x} is not page aligned")]
    Unaligned {
        /// Start of the mapping.
        iova: u64,
        /// Length of the mapping.
        size: u64,
        /// Process address.
        vaddr: u64,
    },
}

/// A DMA access the IOMMU refused; nothing was read or written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("DMA {} at IOVA {iova:#x}+{len} is not mapped", if *.write { "write" } else { "read" })]
pub struct DmaFault {
    /// First byte of the access.
    pub iova: u64,
    /// Length of the access.
    pub len: u64,
    /// A write (else a read).
    pub write: bool,
}

/// One live mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapping {
    /// Device-visible address.
    pub iova: u64,
    /// Length in bytes.
    pub size: u64,
    /// Process address.
    pub vaddr: u64,
}

/// The default usable IOVA space: 48 bits, minus the x86 MSI window that a
/// VFIO type-1 container reserves.
pub fn default_iova_ranges() -> Vec<Range<u64>> {
    vec![0..0xFEE0_0000, 0xFF00_0000..(1 << 48)]
}

/// Page size mappings must be aligned to.
pub fn page_size() -> u64 {
    // SAFETY: sysconf has no side effects.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 { p as u64 } else { 4096 }
}

/// IOVA-to-memory translation with fault accounting.
#[derive(Debug)]
pub struct Iommu {
    ranges: Vec<Range<u64>>,
    mappings: Vec<Mapping>,
    mem: Option<GuestMemoryMmap>,
    faults: AtomicU64,
}

impl Default for Iommu {
    fn default() -> Self {
        Iommu::new(default_iova_ranges())
    }
}

impl Iommu {
    /// An IOMMU with no mappings that accepts mappings inside `ranges`.
    pub fn new(ranges: Vec<Range<u64>>) -> Self {
        Iommu {
            ranges,
            mappings: Vec::new(),
            mem: None,
            faults: AtomicU64::new(0),
        }
    }

    /// The usable IOVA ranges.
    pub fn iova_ranges(&self) -> &[Range<u64>] {
        &self.ranges
    }

    /// The live mappings, sorted by IOVA.
    pub fn mappings(&self) -> &[Mapping] {
        &self.mappings
    }

    /// Number of refused DMA accesses since creation.
    pub fn faults(&self) -> u64 {
        self.faults.load(Ordering::Relaxed)
    }

    /// Makes `iova .. iova + size` reach `vaddr .. vaddr + size`.
    ///
    /// # Safety
    ///
    /// `vaddr .. vaddr + size` must be memory mapped read/write in this
    /// process and stay so until [`Iommu::unmap`] of this range (or until the
    /// IOMMU is dropped).
    pub unsafe fn map(&mut self, iova: u64, size: u64, vaddr: u64) -> Result<(), MapError> {
        let page = page_size();
        if (iova | size | vaddr) & (page - 1) != 0 {
            return Err(MapError::Unaligned { iova, size, vaddr });
        }
        let end = iova.checked_add(size);
        let inside = end.is_some_and(|end| {
            size > 0 && self.ranges.iter().any(|r| r.start <= iova && end <= r.end)
        });
        if !inside {
            return Err(MapError::OutOfRange { iova, size });
        }
        if self
            .mappings
            .iter()
            .any(|m| iova < m.iova + m.size && m.iova < iova + size)
        {
            return Err(MapError::Overlap { iova, size });
        }
        let Ok(len) = usize::try_from(size) else {
            return Err(MapError::OutOfRange { iova, size });
        };
        // SAFETY: the caller guarantees the range is mapped read/write and
        // outlives the mapping; build_raw does not take ownership (it never
        // unmaps it).
        let region = unsafe {
            MmapRegion::build_raw(
                vaddr as *mut u8,
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
            )
        }
        .map_err(|_| MapError::Unaligned { iova, size, vaddr })?;
        let region = GuestRegionMmap::new(region, GuestAddress(iova))
            .ok_or(MapError::OutOfRange { iova, size })?;
        let mem = match &self.mem {
            Some(mem) => mem.insert_region(Arc::new(region)),
            None => GuestMemoryMmap::from_regions(vec![region]),
        }
        .map_err(|_| MapError::Overlap { iova, size })?;
        self.mem = Some(mem);
        let at = self.mappings.partition_point(|m| m.iova < iova);
        self.mappings.insert(at, Mapping { iova, size, vaddr });
        tracing::debug!(iova, size, "IOMMU map");
        Ok(())
    }

    /// Removes the mapping made with exactly this `iova` and `size`. When it
    /// returns, no access reaches that memory any more.
    pub fn unmap(&mut self, iova: u64, size: u64) -> Result<(), MapError> {
        let Some(i) = self
            .mappings
            .iter()
            .position(|m| m.iova == iova && m.size == size)
        else {
            return Err(MapError::NoMapping { iova, size });
        };
        self.mappings.remove(i);
        self.mem = match &self.mem {
            Some(mem) if !self.mappings.is_empty() => Some(
                mem.remove_region(GuestAddress(iova), size)
                    .map_err(|_| MapError::NoMapping { iova, size })?
                    .0,
            ),
            _ => None,
        };
        tracing::debug!(iova, size, "IOMMU unmap");
        Ok(())
    }

    /// Removes every mapping (function reset, container closed).
    pub fn unmap_all(&mut self) {
        self.mappings.clear();
        self.mem = None;
    }

    /// Whether every byte of `iova .. iova + len` is mapped.
    pub fn is_mapped(&self, iova: u64, len: u64) -> bool {
        let (Some(mem), Ok(len)) = (&self.mem, usize::try_from(len)) else {
            return false;
        };
        len > 0
            && iova.checked_add(len as u64).is_some()
            && GuestMemoryBackend::check_range(mem, GuestAddress(iova), len)
    }

    fn fault(&self, iova: u64, len: usize, write: bool) -> DmaFault {
        self.faults.fetch_add(1, Ordering::Relaxed);
        let f = DmaFault {
            iova,
            len: len as u64,
            write,
        };
        tracing::warn!(%f, "IOMMU fault");
        f
    }

    /// Reads `buf.len()` bytes at `iova`; a fault when any byte is unmapped.
    pub fn read(&self, iova: u64, buf: &mut [u8]) -> Result<(), DmaFault> {
        match &self.mem {
            Some(mem) if self.is_mapped(iova, buf.len() as u64) => mem
                .read_slice(buf, GuestAddress(iova))
                .map_err(|_| self.fault(iova, buf.len(), false)),
            _ => Err(self.fault(iova, buf.len(), false)),
        }
    }

    /// Writes `buf` at `iova`; a fault (and nothing written) when any byte is
    /// unmapped.
    pub fn write(&self, iova: u64, buf: &[u8]) -> Result<(), DmaFault> {
        match &self.mem {
            Some(mem) if self.is_mapped(iova, buf.len() as u64) => mem
                .write_slice(buf, GuestAddress(iova))
                .map_err(|_| self.fault(iova, buf.len(), true)),
            _ => Err(self.fault(iova, buf.len(), true)),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use vm_memory::GuestMemoryRegion;

    /// Guest memory of `pages` pages at GPA 0, mapped at IOVA = GPA.
    pub(crate) fn mapped_memory(pages: u64) -> (GuestMemoryMmap, Iommu) {
        let size = pages * page_size();
        let mem: GuestMemoryMmap =
            GuestMemoryMmap::from_ranges(&[(GuestAddress(0), size as usize)]).unwrap();
        let mut iommu = Iommu::default();
        for r in mem.iter() {
            let host = mem.get_host_address(r.start_addr()).unwrap() as u64;
            // SAFETY: `mem` outlives `iommu` in every test that uses this.
            unsafe { iommu.map(r.start_addr().0, r.len(), host).unwrap() };
        }
        (mem, iommu)
    }

    #[test]
    fn mapped_range_reads_and_writes_the_process_memory() {
        let (mem, iommu) = mapped_memory(2);
        mem.write_slice(b"hello", GuestAddress(0x100)).unwrap();
        let mut buf = [0u8; 5];
        iommu.read(0x100, &mut buf).unwrap();
        assert_eq!(&buf, b"hello");
        let p = page_size();
        iommu.write(p - 2, b"abcd").unwrap(); // crosses a page, same mapping
        let mut back = [0u8; 4];
        mem.read_slice(&mut back, GuestAddress(p - 2)).unwrap();
        assert_eq!(&back, b"abcd");
        assert_eq!(iommu.faults(), 0);
    }

    #[test]
    fn unmapped_address_faults_and_is_counted() {
        let (_mem, iommu) = mapped_memory(1);
        let mut buf = [0u8; 16];
        let f = iommu.read(0x10_0000, &mut buf).unwrap_err();
        assert_eq!(
            f,
            DmaFault {
                iova: 0x10_0000,
                len: 16,
                write: false
            }
        );
        assert!(iommu.write(0x10_0000, &buf).is_err());
        assert_eq!(iommu.faults(), 2);
    }

    #[test]
    fn access_straddling_the_end_of_a_mapping_touches_nothing() {
        let (mem, iommu) = mapped_memory(1);
        let end = page_size();
        mem.write_slice(&[0x55; 8], GuestAddress(end - 8)).unwrap();
        // Half inside, half outside: refused as a whole.
        assert!(iommu.write(end - 8, &[0xAA; 16]).is_err());
        let mut back = [0u8; 8];
        mem.read_slice(&mut back, GuestAddress(end - 8)).unwrap();
        assert_eq!(back, [0x55; 8], "no partial write before the fault");
        let mut buf = [0x11u8; 16];
        assert!(iommu.read(end - 8, &mut buf).is_err());
        assert_eq!(buf, [0x11; 16], "no partial read before the fault");
    }

    #[test]
    fn unmap_makes_the_range_unreachable() {
        let (mem, mut iommu) = mapped_memory(1);
        mem.write_slice(&[7; 4], GuestAddress(0)).unwrap();
        iommu.unmap(0, page_size()).unwrap();
        let mut buf = [0u8; 4];
        assert!(iommu.read(0, &mut buf).is_err());
        assert!(iommu.write(0, &[9; 4]).is_err());
        let mut back = [0u8; 4];
        mem.read_slice(&mut back, GuestAddress(0)).unwrap();
        assert_eq!(back, [7; 4]);
    }

    #[test]
    fn map_refuses_overlap_unaligned_and_out_of_range() {
        let (mem, mut iommu) = mapped_memory(2);
        let host = mem.get_host_address(GuestAddress(0)).unwrap() as u64;
        let p = page_size();
        // SAFETY: refused requests map nothing; `mem` outlives `iommu`.
        unsafe {
            assert!(matches!(
                iommu.map(p, p, host),
                Err(MapError::Overlap { .. })
            ));
            assert!(matches!(
                iommu.map(0x1000_0001, p, host),
                Err(MapError::Unaligned { .. })
            ));
            assert!(matches!(
                iommu.map(0xFEE0_0000, p, host),
                Err(MapError::OutOfRange { .. })
            ));
        }
        assert!(matches!(iommu.unmap(0, p), Err(MapError::NoMapping { .. })));
    }

    #[test]
    fn two_adjacent_mappings_serve_one_access_across_both() {
        let p = page_size();
        let mem: GuestMemoryMmap =
            GuestMemoryMmap::from_ranges(&[(GuestAddress(0), 2 * p as usize)]).unwrap();
        let host = mem.get_host_address(GuestAddress(0)).unwrap() as u64;
        let mut iommu = Iommu::default();
        // SAFETY: `mem` outlives `iommu`.
        unsafe {
            iommu.map(0x10_0000, p, host).unwrap();
            iommu.map(0x10_0000 + p, p, host + p).unwrap();
        }
        iommu.write(0x10_0000 + p - 2, &[1, 2, 3, 4]).unwrap();
        let mut back = [0u8; 4];
        mem.read_slice(&mut back, GuestAddress(p - 2)).unwrap();
        assert_eq!(back, [1, 2, 3, 4]);
    }
}
