//! The daemon's own corner of the device's IOVA space.
//!
//! The guest's memory table is mapped with IOVA = guest physical address, so
//! memory the daemon itself gives the device (the net control queue) must
//! live at IOVAs no guest RAM can have. We take the top of the highest range
//! the IOMMU translates, far above any guest's RAM, and hand it to
//! `vfpga-host`'s allocator through a device view that reports only that
//! window as usable.

use std::ops::Range;
use std::sync::Arc;

use vfpga_host::{Device, DmaMapping, Result};
use vmm_sys_util::eventfd::EventFd;

/// Size of the daemon's window: a control queue and its command buffer fit
/// many times over.
pub const WINDOW_SIZE: u64 = 1 << 20;

/// The top [`WINDOW_SIZE`] bytes of the highest usable IOVA range, aligned to
/// `page`; `None` when no range is large enough.
pub fn daemon_window(ranges: &[Range<u64>], page: u64) -> Option<Range<u64>> {
    let r = ranges.iter().max_by_key(|r| r.end)?;
    let end = r.end - r.end % page.max(1);
    let start = end.checked_sub(WINDOW_SIZE)?;
    (start >= r.start).then_some(start..end)
}

/// `dev`, with only `window` reported as usable IOVA space: an allocator
/// built on it places everything inside the window. Every other call goes
/// to `dev` unchanged.
#[derive(Debug)]
pub struct IovaWindow {
    dev: Arc<dyn Device>,
    window: Range<u64>,
}

impl IovaWindow {
    /// A view of `dev` restricted to `window`.
    pub fn new(dev: Arc<dyn Device>, window: Range<u64>) -> Self {
        IovaWindow { dev, window }
    }
}

impl Device for IovaWindow {
    fn describe(&self) -> String {
        self.dev.describe()
    }
    fn config_read(&self, offset: u16, data: &mut [u8]) -> Result<()> {
        self.dev.config_read(offset, data)
    }
    fn config_write(&self, offset: u16, data: &[u8]) -> Result<()> {
        self.dev.config_write(offset, data)
    }
    fn bar_size(&self, bar: u8) -> Option<u64> {
        self.dev.bar_size(bar)
    }
    fn bar_read(&self, bar: u8, offset: u64, data: &mut [u8]) -> Result<()> {
        self.dev.bar_read(bar, offset, data)
    }
    fn bar_write(&self, bar: u8, offset: u64, data: &[u8]) -> Result<()> {
        self.dev.bar_write(bar, offset, data)
    }
    fn iova_ranges(&self) -> Vec<Range<u64>> {
        vec![self.window.clone()]
    }
    fn dma_page_size(&self) -> u64 {
        self.dev.dma_page_size()
    }
    fn simulated_cycles(&self) -> Option<u64> {
        self.dev.simulated_cycles()
    }
    unsafe fn dma_map(&self, mapping: DmaMapping) -> Result<()> {
        // SAFETY: forwarded with the caller's own guarantee.
        unsafe { self.dev.dma_map(mapping) }
    }
    fn dma_unmap(&self, iova: u64, size: u64) -> Result<()> {
        self.dev.dma_unmap(iova, size)
    }
    fn msix_vectors(&self) -> u16 {
        self.dev.msix_vectors()
    }
    fn enable_msix(&self, fds: &[Option<&EventFd>]) -> Result<()> {
        self.dev.enable_msix(fds)
    }
    fn disable_msix(&self) -> Result<()> {
        self.dev.disable_msix()
    }
    fn attach_doorbell(
        &self,
        bar: u8,
        offset: u64,
        data: Option<u32>,
        fd: &EventFd,
    ) -> Result<bool> {
        self.dev.attach_doorbell(bar, offset, data, fd)
    }
    fn reset(&self) -> Result<()> {
        self.dev.reset()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_is_the_top_of_the_highest_range() {
        let ranges = [0..0xFEE0_0000, 0xFF00_0000..(1 << 48)];
        assert_eq!(
            daemon_window(&ranges, 4096),
            Some((1 << 48) - WINDOW_SIZE..(1 << 48))
        );
        // Order does not matter; an unaligned end is trimmed to the page.
        let ranges = [0x1_0000_0000..0x2_0000_0123, 0..0x1000_0000];
        assert_eq!(
            daemon_window(&ranges, 4096),
            Some(0x2_0000_0000 - WINDOW_SIZE..0x2_0000_0000)
        );
    }

    #[test]
    fn no_window_in_a_range_too_small() {
        let small = vec![Range {
            start: 0x1000u64,
            end: 0x2000,
        }];
        assert_eq!(daemon_window(&small, 4096), None);
        assert_eq!(daemon_window(&[], 4096), None);
    }
}
