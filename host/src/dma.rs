//! DMA-able memory for drivers: anonymous page-aligned mappings of this
//! process, mapped into the device's IOVA space through [`Device::dma_map`].
//!
//! IOVAs come from [`IovaSpace`], a first-fit allocator over the ranges the
//! IOMMU reported, so a mapping never lands in a reserved window (the x86
//! MSI range, for one).

use std::ops::Range;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use crate::{Device, DeviceError, DmaMapping, Result};

/// Lowest IOVA handed out: keeps 0 (and small values a buggy device might
/// produce from a zeroed register) unmapped, so such DMA faults visibly.
pub const IOVA_FLOOR: u64 = 1 << 20;

/// Free IOVA ranges; first fit, freed ranges merge with their neighbours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IovaSpace {
    free: Vec<Range<u64>>,
}

impl IovaSpace {
    /// The usable part of `ranges` above [`IOVA_FLOOR`], trimmed to `page`.
    pub fn new(ranges: &[Range<u64>], page: u64) -> Self {
        let mut free: Vec<Range<u64>> = ranges
            .iter()
            .filter_map(|r| {
                let start = r.start.max(IOVA_FLOOR).checked_next_multiple_of(page)?;
                let end = r.end - r.end % page;
                (start < end).then_some(start..end)
            })
            .collect();
        free.sort_by_key(|r| r.start);
        IovaSpace { free }
    }

    /// Takes `size` bytes (a multiple of the page) aligned to `align`.
    pub fn alloc(&mut self, size: u64, align: u64) -> Option<u64> {
        for i in 0..self.free.len() {
            let r = self.free[i].clone();
            let Some(start) = r.start.checked_next_multiple_of(align) else {
                continue;
            };
            let Some(end) = start.checked_add(size) else {
                continue;
            };
            if end > r.end {
                continue;
            }
            let mut pieces = Vec::new();
            if r.start < start {
                pieces.push(r.start..start);
            }
            if end < r.end {
                pieces.push(end..r.end);
            }
            self.free.splice(i..=i, pieces);
            return Some(start);
        }
        None
    }

    /// Gives back `iova .. iova + size`.
    pub fn free(&mut self, iova: u64, size: u64) {
        let end = iova + size;
        let i = self.free.partition_point(|r| r.start < iova);
        self.free.insert(i, iova..end);
        // Merge with the next, then with the previous.
        if i + 1 < self.free.len() && self.free[i + 1].start == end {
            self.free[i].end = self.free[i + 1].end;
            self.free.remove(i + 1);
        }
        if i > 0 && self.free[i - 1].end == iova {
            self.free[i - 1].end = self.free[i].end;
            self.free.remove(i);
        }
    }

    /// The free ranges, in address order.
    pub fn free_ranges(&self) -> &[Range<u64>] {
        &self.free
    }
}

/// Hands out [`DmaMemory`] for one device.
#[derive(Debug, Clone)]
pub struct DmaAllocator {
    dev: Arc<dyn Device>,
    space: Arc<Mutex<IovaSpace>>,
    page: u64,
}

impl DmaAllocator {
    /// An allocator over `dev`'s usable IOVA ranges.
    pub fn new(dev: Arc<dyn Device>) -> Self {
        let page = dev.dma_page_size().max(4096);
        let space = IovaSpace::new(&dev.iova_ranges(), page);
        DmaAllocator {
            dev,
            space: Arc::new(Mutex::new(space)),
            page,
        }
    }

    /// The device this allocator maps for.
    pub fn device(&self) -> &Arc<dyn Device> {
        &self.dev
    }

    /// Zeroed memory of at least `len` bytes, mapped for the device.
    pub fn alloc(&self, len: usize) -> Result<DmaMemory> {
        let size = (len.max(1) as u64).next_multiple_of(self.page);
        let iova = self
            .space
            .lock()
            .unwrap()
            .alloc(size, self.page)
            .ok_or(DeviceError::IovaExhausted { size })?;
        // SAFETY: a fresh private anonymous mapping; nothing else is affected.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            self.space.lock().unwrap().free(iova, size);
            return Err(DeviceError::io(
                format!("mmap of {size} bytes of DMA memory"),
                std::io::Error::last_os_error(),
            ));
        }
        let mapping = DmaMapping {
            iova,
            size,
            vaddr: ptr as u64,
        };
        // SAFETY: DmaMemory keeps the mapping alive until after dma_unmap
        // (see its Drop).
        if let Err(e) = unsafe { self.dev.dma_map(mapping) } {
            // SAFETY: we just mapped it and nobody else knows of it.
            unsafe { libc::munmap(ptr, size as usize) };
            self.space.lock().unwrap().free(iova, size);
            return Err(e);
        }
        Ok(DmaMemory {
            alloc: self.clone(),
            ptr: NonNull::new(ptr.cast()).expect("mmap returned null"),
            iova,
            size,
        })
    }
}

/// Memory the device reaches by DMA. The device may write it at any time,
/// so it is only touched through raw pointers (never a Rust reference).
#[derive(Debug)]
pub struct DmaMemory {
    alloc: DmaAllocator,
    ptr: NonNull<u8>,
    iova: u64,
    size: u64,
}

// SAFETY: the memory is owned by this value; accesses are through raw
// pointers with the synchronisation the callers choose (atomics for ring
// indices).
unsafe impl Send for DmaMemory {}
// SAFETY: as above.
unsafe impl Sync for DmaMemory {}

impl DmaMemory {
    /// Device address of the first byte.
    pub fn iova(&self) -> u64 {
        self.iova
    }
    /// Length in bytes (whole pages).
    pub fn len(&self) -> usize {
        self.size as usize
    }
    /// Never empty; present for API symmetry.
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }
    /// Pointer to the first byte in this process.
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    fn at(&self, off: usize, len: usize) -> *mut u8 {
        assert!(
            off.checked_add(len)
                .is_some_and(|e| e <= self.size as usize),
            "DMA memory access {off:#x}+{len} outside {:#x} bytes",
            self.size
        );
        // SAFETY: in bounds, checked above.
        unsafe { self.ptr.as_ptr().add(off) }
    }

    /// Copies `data` in at `off`.
    pub fn write(&self, off: usize, data: &[u8]) {
        let p = self.at(off, data.len());
        // SAFETY: in bounds; the source is ordinary memory not aliasing ours.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), p, data.len()) }
    }

    /// Copies out to `data` from `off`.
    pub fn read(&self, off: usize, data: &mut [u8]) {
        let p = self.at(off, data.len());
        // SAFETY: in bounds; the destination is ordinary memory.
        unsafe { std::ptr::copy_nonoverlapping(p, data.as_mut_ptr(), data.len()) }
    }

    /// Writes a little-endian u16 (plain store; publish with a release).
    pub fn write_u16(&self, off: usize, v: u16) {
        self.write(off, &v.to_le_bytes());
    }
    /// Writes a little-endian u32.
    pub fn write_u32(&self, off: usize, v: u32) {
        self.write(off, &v.to_le_bytes());
    }
    /// Writes a little-endian u64.
    pub fn write_u64(&self, off: usize, v: u64) {
        self.write(off, &v.to_le_bytes());
    }
    /// Reads a little-endian u32.
    pub fn read_u32(&self, off: usize) -> u32 {
        let mut b = [0; 4];
        self.read(off, &mut b);
        u32::from_le_bytes(b)
    }
    /// Reads a little-endian u16.
    pub fn read_u16(&self, off: usize) -> u16 {
        let mut b = [0; 2];
        self.read(off, &mut b);
        u16::from_le_bytes(b)
    }

    fn atomic_u16(&self, off: usize) -> &AtomicU16 {
        assert_eq!(off % 2, 0, "unaligned ring index");
        // SAFETY: in bounds and 2-aligned; the memory lives as long as self.
        unsafe { AtomicU16::from_ptr(self.at(off, 2).cast()) }
    }

    /// Stores a ring index with release ordering: every earlier write
    /// (descriptors, ring entries) is visible before the device sees it.
    pub fn store_u16_release(&self, off: usize, v: u16) {
        self.atomic_u16(off).store(v.to_le(), Ordering::Release);
    }

    /// Loads a ring index with acquire ordering: what the device wrote
    /// before it (used entries, data) is visible after.
    pub fn load_u16_acquire(&self, off: usize) -> u16 {
        u16::from_le(self.atomic_u16(off).load(Ordering::Acquire))
    }
}

impl Drop for DmaMemory {
    fn drop(&mut self) {
        // Unmap from the IOMMU before the memory can be reused.
        match self.alloc.dev.dma_unmap(self.iova, self.size) {
            Ok(()) => {
                // SAFETY: the device can no longer reach it; nothing else refers to it.
                unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.size as usize) };
                self.alloc.space.lock().unwrap().free(self.iova, self.size);
            }
            Err(e) => {
                // Leak rather than let the device write into reused memory.
                tracing::error!(iova = self.iova, %e, "DMA unmap failed; leaking the buffer");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iova_space_skips_reserved_windows_and_the_floor() {
        let s = IovaSpace::new(&[0..0xfee0_0000, 0xfef0_0000..0x1_0000_0800], 0x1000);
        assert_eq!(
            s.free_ranges(),
            &[IOVA_FLOOR..0xfee0_0000, 0xfef0_0000..0x1_0000_0000]
        );
    }

    #[test]
    #[allow(clippy::single_range_in_vec_init)]
    fn iova_space_first_fit_and_merge() {
        let mut s = IovaSpace::new(&[0..0x40_0000], 0x1000);
        let a = s.alloc(0x1000, 0x1000).unwrap();
        let b = s.alloc(0x2000, 0x1000).unwrap();
        let c = s.alloc(0x1000, 0x1000).unwrap();
        assert_eq!(
            (a, b, c),
            (IOVA_FLOOR, IOVA_FLOOR + 0x1000, IOVA_FLOOR + 0x3000)
        );
        s.free(b, 0x2000);
        // The hole is reused first.
        assert_eq!(s.alloc(0x1000, 0x1000), Some(b));
        s.free(b, 0x1000);
        s.free(a, 0x1000);
        s.free(c, 0x1000);
        assert_eq!(s.free_ranges(), &[IOVA_FLOOR..0x40_0000]);
        assert_eq!(s.alloc(0x40_0000, 0x1000), None);
    }

    #[test]
    #[allow(clippy::single_range_in_vec_init)]
    fn iova_space_alignment() {
        let mut s = IovaSpace::new(&[0..0x100_0000], 0x1000);
        s.alloc(0x1000, 0x1000).unwrap();
        let big = s.alloc(0x10_0000, 0x10_0000).unwrap();
        assert_eq!(big % 0x10_0000, 0);
        s.free(big, 0x10_0000);
    }
}
