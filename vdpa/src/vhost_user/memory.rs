//! The frontend's memory table, mapped into this process and into the
//! device's IOMMU.
//!
//! vhost-user sends guest RAM as (guest physical address, size, frontend
//! virtual address, fd + offset) regions. We mmap each fd with `vm-memory`,
//! and the device gets one IOMMU mapping per region with IOVA = guest
//! physical address: so the guest's own descriptors, which hold guest
//! physical addresses, are valid DMA addresses as they stand.

use std::fs::File;

use vfpga_host::DmaMapping;
use vhost::vhost_user::message::VhostUserMemoryRegion;
use vm_memory::{
    Address, Bytes, GuestAddress, GuestMemoryBackend, GuestMemoryMmap, GuestMemoryRegion,
    GuestRegionMmap,
};

use super::VdpaError;

/// One region as the frontend described it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TableRegion {
    gpa: u64,
    size: u64,
    uaddr: u64,
}

/// Guest memory as sent in SET_MEM_TABLE, mapped.
#[derive(Debug)]
pub struct GuestMemoryTable {
    mem: GuestMemoryMmap,
    regions: Vec<TableRegion>,
}

/// Most regions QEMU sends (VHOST_MEMORY_BASELINE_NREGIONS).
const MAX_REGIONS: usize = 8;

impl GuestMemoryTable {
    /// Validates and maps a memory table. Rejects empty regions, regions
    /// that wrap the address space, and overlaps in guest physical or
    /// frontend virtual addresses, naming the offending region.
    pub fn new(ctx: &[VhostUserMemoryRegion], files: Vec<File>) -> Result<Self, VdpaError> {
        if ctx.is_empty() {
            return Err(VdpaError::BadMemoryTable("no regions".into()));
        }
        if ctx.len() > MAX_REGIONS {
            return Err(VdpaError::BadMemoryTable(format!(
                "{} regions, at most {MAX_REGIONS} supported",
                ctx.len()
            )));
        }
        if files.len() != ctx.len() {
            return Err(VdpaError::BadMemoryTable(format!(
                "{} regions but {} file descriptors",
                ctx.len(),
                files.len()
            )));
        }
        let mut regions: Vec<TableRegion> = Vec::with_capacity(ctx.len());
        for (i, r) in ctx.iter().enumerate() {
            let t = TableRegion {
                gpa: r.guest_phys_addr,
                size: r.memory_size,
                uaddr: r.user_addr,
            };
            if t.size == 0 {
                return Err(VdpaError::BadMemoryTable(format!("region {i} has size 0")));
            }
            if t.gpa.checked_add(t.size).is_none() || t.uaddr.checked_add(t.size).is_none() {
                return Err(VdpaError::BadMemoryTable(format!(
                    "region {i} ({:#x}+{:#x}) wraps the address space",
                    t.gpa, t.size
                )));
            }
            for (j, o) in regions.iter().enumerate() {
                if overlaps(t.gpa, t.size, o.gpa, o.size) {
                    return Err(VdpaError::BadMemoryTable(format!(
                        "region {i} (gpa {:#x}+{:#x}) overlaps region {j} (gpa {:#x}+{:#x})",
                        t.gpa, t.size, o.gpa, o.size
                    )));
                }
                if overlaps(t.uaddr, t.size, o.uaddr, o.size) {
                    return Err(VdpaError::BadMemoryTable(format!(
                        "region {i} (uaddr {:#x}+{:#x}) overlaps region {j} (uaddr {:#x}+{:#x})",
                        t.uaddr, t.size, o.uaddr, o.size
                    )));
                }
            }
            regions.push(t);
        }
        let mut mapped = Vec::with_capacity(ctx.len());
        for (i, (r, file)) in ctx.iter().zip(files).enumerate() {
            let mmap = r
                .mmap_region(file)
                .map_err(|e| VdpaError::BadMemoryTable(format!("region {i}: mmap failed: {e}")))?;
            let region = GuestRegionMmap::new(mmap, GuestAddress(r.guest_phys_addr))
                .ok_or_else(|| VdpaError::BadMemoryTable(format!("region {i}: bad guest range")))?;
            mapped.push(region);
        }
        let mem = GuestMemoryMmap::from_regions(mapped)
            .map_err(|e| VdpaError::BadMemoryTable(e.to_string()))?;
        Ok(GuestMemoryTable { mem, regions })
    }

    /// Translates a frontend virtual address range (as in SET_VRING_ADDR) to
    /// the guest physical address, if the whole range lies in one region.
    pub fn uaddr_to_gpa(&self, uaddr: u64, len: u64) -> Option<u64> {
        self.regions.iter().find_map(|r| {
            let end = uaddr.checked_add(len)?;
            (uaddr >= r.uaddr && end <= r.uaddr + r.size).then(|| r.gpa + (uaddr - r.uaddr))
        })
    }

    /// The first region whose guest physical range meets `range`, as
    /// (gpa, size): such a table would put guest RAM on IOVAs the daemon
    /// keeps for itself.
    pub fn region_meeting(&self, range: &std::ops::Range<u64>) -> Option<(u64, u64)> {
        self.regions
            .iter()
            .find(|r| overlaps(r.gpa, r.size, range.start, range.end - range.start))
            .map(|r| (r.gpa, r.size))
    }

    /// The IOMMU mappings that let the device reach guest memory at IOVA = GPA.
    pub fn dma_mappings(&self) -> Vec<DmaMapping> {
        self.mem
            .iter()
            .map(|r| DmaMapping {
                iova: r.start_addr().raw_value(),
                size: r.len(),
                vaddr: r.as_ptr() as u64,
            })
            .collect()
    }

    /// Reads a little-endian u16 of guest memory (e.g. `used->idx`).
    pub fn read_u16(&self, gpa: u64) -> Option<u16> {
        self.mem
            .read_obj::<u16>(GuestAddress(gpa))
            .ok()
            .map(u16::from_le)
    }

    /// The mapped memory, for tests and diagnostics.
    pub fn memory(&self) -> &GuestMemoryMmap {
        &self.mem
    }
}

fn overlaps(a: u64, alen: u64, b: u64, blen: u64) -> bool {
    a < b + blen && b < a + alen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memfd(size: u64) -> File {
        let fd = nix::sys::memfd::memfd_create("vfpga-test", nix::sys::memfd::MFdFlags::empty())
            .expect("memfd_create");
        let f = File::from(fd);
        f.set_len(size).unwrap();
        f
    }

    fn region(gpa: u64, size: u64, uaddr: u64) -> VhostUserMemoryRegion {
        VhostUserMemoryRegion::new(gpa, size, uaddr, 0)
    }

    #[test]
    fn table_maps_regions_and_translates_user_addresses() {
        let ctx = [
            region(0, 0x10000, 0x7000_0000),
            region(0x100000, 0x10000, 0x7100_0000),
        ];
        let t = GuestMemoryTable::new(&ctx, vec![memfd(0x10000), memfd(0x10000)]).unwrap();
        assert_eq!(t.uaddr_to_gpa(0x7000_1000, 16), Some(0x1000));
        assert_eq!(t.uaddr_to_gpa(0x7100_0010, 16), Some(0x100010));
        // Straddling the end of a region is not inside the table.
        assert_eq!(t.uaddr_to_gpa(0x7000_fff8, 16), None);
        assert_eq!(t.uaddr_to_gpa(0x6000_0000, 1), None);
        let maps = t.dma_mappings();
        assert_eq!(maps.len(), 2);
        assert_eq!((maps[0].iova, maps[0].size), (0, 0x10000));
        assert_eq!((maps[1].iova, maps[1].size), (0x100000, 0x10000));
    }

    #[test]
    fn region_meeting_finds_guest_ram_inside_a_reserved_range() {
        let ctx = [region(0x100000, 0x10000, 0x7000_0000)];
        let t = GuestMemoryTable::new(&ctx, vec![memfd(0x10000)]).unwrap();
        assert_eq!(
            t.region_meeting(&(0x10f000..0x200000)),
            Some((0x100000, 0x10000))
        );
        assert_eq!(t.region_meeting(&(0x110000..0x200000)), None);
        assert_eq!(t.region_meeting(&(0..0x100000)), None);
    }

    #[test]
    fn overlapping_guest_ranges_are_rejected_naming_both_regions() {
        let ctx = [
            region(0, 0x10000, 0x7000_0000),
            region(0x8000, 0x10000, 0x7100_0000),
        ];
        let e = GuestMemoryTable::new(&ctx, vec![memfd(0x10000), memfd(0x10000)]).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("region 1") && msg.contains("region 0"),
            "{msg}"
        );
    }

    #[test]
    fn empty_zero_sized_and_fd_mismatched_tables_are_rejected() {
        assert!(GuestMemoryTable::new(&[], vec![]).is_err());
        let e = GuestMemoryTable::new(&[region(0, 0, 0x1000)], vec![memfd(0x1000)]).unwrap_err();
        assert!(e.to_string().contains("size 0"));
        let e = GuestMemoryTable::new(&[region(0, 0x1000, 0x1000)], vec![]).unwrap_err();
        assert!(e.to_string().contains("file descriptors"));
        let wrap = region(u64::MAX - 0xfff, 0x2000, 0x1000);
        assert!(GuestMemoryTable::new(&[wrap], vec![memfd(0x2000)]).is_err());
    }
}
