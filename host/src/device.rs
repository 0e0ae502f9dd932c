//! The device trait: one vfpga PCI function as the host sees it.
//!
//! Two implementations exist: VFIO (a board, or any virtio-pci function bound
//! to `vfio-pci`) and the simulator's `SimDevice`. The trait mirrors what VFIO
//! offers a userspace driver, so that nothing above it depends on which one
//! it has: configuration space reads and writes, BAR reads and writes,
//! IOMMU mappings from IOVA to this process's memory, MSI-X vectors signalled
//! on eventfds, and function reset.
//!
//! Implementations are `Send + Sync`: a vDPA front end programs queues from
//! one thread while another forwards doorbells, and the simulator's clock runs
//! on a thread of its own.

use std::fmt::Debug;
use std::ops::Range;

use vmm_sys_util::eventfd::EventFd;

use crate::DeviceError;

/// Result of device operations.
pub type Result<T> = std::result::Result<T, DeviceError>;

/// One IOMMU mapping: device-visible `iova .. iova + size` is this process's
/// memory at `vaddr .. vaddr + size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DmaMapping {
    /// I/O virtual address the device uses.
    pub iova: u64,
    /// Length in bytes (a multiple of the page size for VFIO).
    pub size: u64,
    /// Start of the memory in this process.
    pub vaddr: u64,
}

/// A PCI function the host drives: a vfpga board, a simulated one, or any
/// virtio-pci device behind VFIO.
pub trait Device: Send + Sync + Debug {
    /// Human-readable identity for logs ("vfio 0000:01:00.0", "sim blk (verilator)").
    fn describe(&self) -> String;

    /// Reads configuration space at `offset` into `data` (1, 2 or 4 bytes,
    /// naturally aligned).
    fn config_read(&self, offset: u16, data: &mut [u8]) -> Result<()>;

    /// Writes configuration space (command register, MSI-X control, ...).
    fn config_write(&self, offset: u16, data: &[u8]) -> Result<()>;

    /// Size of BAR `bar`, or `None` when it is not implemented.
    fn bar_size(&self, bar: u8) -> Option<u64>;

    /// Reads `data.len()` bytes (1, 2, 4 or 8, naturally aligned) from a BAR.
    /// Reads may have side effects (the ISR clears on read).
    fn bar_read(&self, bar: u8, offset: u64, data: &mut [u8]) -> Result<()>;

    /// Writes `data` (1, 2, 4 or 8 bytes, naturally aligned) to a BAR.
    fn bar_write(&self, bar: u8, offset: u64, data: &[u8]) -> Result<()>;

    /// The IOVA ranges the IOMMU can translate; mappings must fall inside one.
    fn iova_ranges(&self) -> Vec<Range<u64>>;

    /// Granule of DMA mappings: `iova`, `size` and `vaddr` of a
    /// [`DmaMapping`] must be multiples of it. VFIO reports the IOMMU's
    /// smallest page; a simulator may keep the default.
    fn dma_page_size(&self) -> u64 {
        4096
    }

    /// Cycles the device's clock has run, when the device is simulated (a
    /// board answers `None`): lets a benchmark report the hardware's rate
    /// in simulated time beside the wall-clock one.
    fn simulated_cycles(&self) -> Option<u64> {
        None
    }

    /// Lets the device reach `mapping.vaddr .. + size` at `mapping.iova`.
    ///
    /// # Safety
    ///
    /// The memory must stay allocated and mapped in this process until
    /// [`Device::dma_unmap`] of the same range returns (or the device is
    /// dropped): the device reads and writes it at any time in between.
    unsafe fn dma_map(&self, mapping: DmaMapping) -> Result<()>;

    /// Removes a mapping made by [`Device::dma_map`] with the same `iova` and
    /// `size`. When it returns, the device no longer touches that memory; DMA
    /// still aimed at it fails with an error the device reports.
    fn dma_unmap(&self, iova: u64, size: u64) -> Result<()>;

    /// Number of MSI-X vectors the function has.
    fn msix_vectors(&self) -> u16;

    /// Routes MSI-X vector `i` to `fds[i]` (a `None` leaves it unrouted) and
    /// enables MSI-X. Replaces any earlier routing.
    fn enable_msix(&self, fds: &[Option<&EventFd>]) -> Result<()>;

    /// Stops signalling MSI-X eventfds.
    fn disable_msix(&self) -> Result<()>;

    /// Lets writes of `data` to `offset` in `bar` be triggered by signalling
    /// `fd`, without a thread of ours in between (KVM ioeventfd style). Returns
    /// `Ok(false)` when the device cannot: the caller then forwards itself.
    /// `data` of `None` means "the queue index" for a plain doorbell.
    fn attach_doorbell(
        &self,
        bar: u8,
        offset: u64,
        data: Option<u32>,
        fd: &EventFd,
    ) -> Result<bool> {
        let _ = (bar, offset, data, fd);
        Ok(false)
    }

    /// Function-level reset: the device returns to its power-on state
    /// (virtio status 0, queues disabled, MSI-X masked).
    fn reset(&self) -> Result<()>;
}

/// Convenience accessors built on [`Device`]'s byte interface.
pub trait DeviceExt: Device {
    /// Reads a little-endian u8 from configuration space.
    fn config_read_u8(&self, offset: u16) -> Result<u8> {
        let mut b = [0; 1];
        self.config_read(offset, &mut b)?;
        Ok(b[0])
    }
    /// Reads a little-endian u16 from configuration space.
    fn config_read_u16(&self, offset: u16) -> Result<u16> {
        let mut b = [0; 2];
        self.config_read(offset, &mut b)?;
        Ok(u16::from_le_bytes(b))
    }
    /// Reads a little-endian u32 from configuration space.
    fn config_read_u32(&self, offset: u16) -> Result<u32> {
        let mut b = [0; 4];
        self.config_read(offset, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    /// Writes a little-endian u16 to configuration space.
    fn config_write_u16(&self, offset: u16, v: u16) -> Result<()> {
        self.config_write(offset, &v.to_le_bytes())
    }
    /// Sets Memory Space and Bus Master Enable in the command register: a
    /// function issues no DMA (and VFIO leaves bus mastering off) until its
    /// driver does this.
    fn enable_bus_master(&self) -> Result<()> {
        use vfpga_abi::pci::header;
        let cmd = self.config_read_u16(header::COMMAND)?;
        let want = cmd | header::COMMAND_MEMORY | header::COMMAND_BUS_MASTER;
        if want != cmd {
            self.config_write_u16(header::COMMAND, want)?;
        }
        Ok(())
    }
    /// Reads a u8 from a BAR.
    fn read_u8(&self, bar: u8, offset: u64) -> Result<u8> {
        let mut b = [0; 1];
        self.bar_read(bar, offset, &mut b)?;
        Ok(b[0])
    }
    /// Reads a little-endian u16 from a BAR.
    fn read_u16(&self, bar: u8, offset: u64) -> Result<u16> {
        let mut b = [0; 2];
        self.bar_read(bar, offset, &mut b)?;
        Ok(u16::from_le_bytes(b))
    }
    /// Reads a little-endian u32 from a BAR.
    fn read_u32(&self, bar: u8, offset: u64) -> Result<u32> {
        let mut b = [0; 4];
        self.bar_read(bar, offset, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    /// Writes a u8 to a BAR.
    fn write_u8(&self, bar: u8, offset: u64, v: u8) -> Result<()> {
        self.bar_write(bar, offset, &[v])
    }
    /// Writes a little-endian u16 to a BAR.
    fn write_u16(&self, bar: u8, offset: u64, v: u16) -> Result<()> {
        self.bar_write(bar, offset, &v.to_le_bytes())
    }
    /// Writes a little-endian u32 to a BAR.
    fn write_u32(&self, bar: u8, offset: u64, v: u32) -> Result<()> {
        self.bar_write(bar, offset, &v.to_le_bytes())
    }
    /// Writes a 64-bit register as two 32-bit writes, low half first, as
    /// virtio 1.2 §4.1.3.1 requires drivers to do for 64-bit fields.
    fn write_u64_split(&self, bar: u8, offset: u64, v: u64) -> Result<()> {
        self.write_u32(bar, offset, v as u32)?;
        self.write_u32(bar, offset + 4, (v >> 32) as u32)
    }
}

impl<T: Device + ?Sized> DeviceExt for T {}
