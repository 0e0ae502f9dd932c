//! [`Device`] over Linux VFIO: a PCI function bound to `vfio-pci`.
//!
//! The container, group and device fds come from `vfio-ioctls`; what it
//! does not offer (IOVA range discovery, MSI-X with unrouted vectors, reset
//! that reports failure, access errors that are not swallowed) is done here
//! with plain ioctls and pread/pwrite on the device fd.

mod error;
pub mod iommu_info;
mod region;
pub mod sysfs;

use std::collections::BTreeMap;
use std::ops::Range;
use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;
use std::sync::{Arc, Mutex};

use vfio_bindings::bindings::vfio as sys;
use vfio_ioctls::{VfioContainer, VfioDevice, VfioError, VfioOps, VfioRegionInfoCap};
use vmm_sys_util::eventfd::EventFd;

pub use error::VfioOpenError;
pub use iommu_info::IommuInfo;
use region::BarRegion;

use crate::DeviceError;
use crate::device::{Device, DmaMapping, Result};

/// `_IO(VFIO_TYPE, VFIO_BASE + nr)`.
const fn vfio_io(nr: u32) -> libc::c_ulong {
    ((sys::VFIO_TYPE as u32) << 8 | (sys::VFIO_BASE + nr)) as libc::c_ulong
}
const VFIO_DEVICE_GET_INFO: libc::c_ulong = vfio_io(7);
const VFIO_DEVICE_SET_IRQS: libc::c_ulong = vfio_io(10);
const VFIO_DEVICE_RESET: libc::c_ulong = vfio_io(11);
const VFIO_IOMMU_GET_INFO: libc::c_ulong = vfio_io(12);

/// A PCI function driven through VFIO.
pub struct VfioPciDevice {
    bdf: String,
    // Field order matters: the BAR mappings go before the device fd closes.
    bars: Vec<Option<BarRegion>>,
    config_offset: u64,
    config_size: u64,
    msix_count: u16,
    can_reset: bool,
    iommu: IommuInfo,
    mappings: Mutex<BTreeMap<u64, u64>>,
    msix_enabled: Mutex<bool>,
    device_fd: RawFd,
    // Owns the device fd (and the group's place in the container) for as
    // long as the BARs and mappings above use it.
    device: VfioDevice,
    container: Arc<VfioContainer>,
}

impl std::fmt::Debug for VfioPciDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VfioPciDevice")
            .field("bdf", &self.bdf)
            .field("device_fd", &self.device.as_raw_fd())
            .field("iommu", &self.iommu)
            .field("msix_count", &self.msix_count)
            .finish_non_exhaustive()
    }
}

fn ioctl_ptr<T>(fd: RawFd, req: libc::c_ulong, arg: *mut T, op: &str) -> std::io::Result<()> {
    // SAFETY: callers pass a request whose argument is `arg`'s type, with
    // argsz set so the kernel stays within the buffer.
    let r = unsafe { libc::ioctl(fd, req as _, arg) };
    if r < 0 {
        let e = std::io::Error::last_os_error();
        tracing::debug!(op, %e, "ioctl failed");
        Err(e)
    } else {
        Ok(())
    }
}

impl VfioPciDevice {
    /// Opens function `bdf` (`DDDD:BB:DD.F`), which must be bound to vfio-pci.
    pub fn open(bdf: &str) -> std::result::Result<Self, VfioOpenError> {
        let group = sysfs::check(Path::new("/sys"), bdf)?;
        if !Path::new("/dev/vfio").join(group.to_string()).exists() {
            return Err(VfioOpenError::NoGroupNode {
                bdf: bdf.to_string(),
                group,
            });
        }
        let container =
            Arc::new(VfioContainer::new(None).map_err(|e| VfioOpenError::Container(chain(&e)))?);
        let sysfs_path = sysfs::device_dir(Path::new("/sys"), bdf);
        let ops: Arc<dyn VfioOps> = container.clone();
        let device = VfioDevice::new(&sysfs_path, ops, false).map_err(|e| match e {
            VfioError::GroupViable => VfioOpenError::GroupNotViable {
                group,
                others: "the kernel reports another member still owned by a host driver \
                         (see /sys/kernel/iommu_groups/<group>/devices)"
                    .to_string(),
            },
            e => VfioOpenError::Open {
                bdf: bdf.to_string(),
                detail: chain(&e),
            },
        })?;
        let device_fd = device.as_raw_fd();

        let mut info = sys::vfio_device_info {
            argsz: std::mem::size_of::<sys::vfio_device_info>() as u32,
            ..Default::default()
        };
        ioctl_ptr(
            device_fd,
            VFIO_DEVICE_GET_INFO,
            &mut info,
            "DEVICE_GET_INFO",
        )
        .map_err(|source| VfioOpenError::Io {
            op: "VFIO_DEVICE_GET_INFO".into(),
            source,
        })?;
        let iommu = iommu_info(container.as_raw_fd()).map_err(|source| VfioOpenError::Io {
            op: "VFIO_IOMMU_GET_INFO".into(),
            source,
        })?;

        let mut bars = Vec::new();
        for i in 0..6u32 {
            let size = device.get_region_size(sys::VFIO_PCI_BAR0_REGION_INDEX + i);
            if size == 0 {
                bars.push(None);
                continue;
            }
            let flags = device.get_region_flags(i);
            let offset = device.get_region_offset(i);
            let mut areas = Vec::new();
            if flags & sys::VFIO_REGION_INFO_FLAG_MMAP != 0 {
                let caps = device.get_region_caps(i);
                let sparse = caps.iter().find_map(|c| match c {
                    VfioRegionInfoCap::SparseMmap(s) => Some(s.areas.clone()),
                    _ => None,
                });
                match sparse {
                    Some(a) => areas.extend(a.iter().map(|a| (a.offset, a.size))),
                    None => areas.push((0, size)),
                }
            }
            let bar = BarRegion::new(i as u8, size, offset, device_fd, &areas);
            tracing::debug!(bdf, bar = i, size, mmapped = bar.mapped_bytes(), "BAR");
            bars.push(Some(bar));
        }
        let msix_count = device
            .get_irq_info(sys::VFIO_PCI_MSIX_IRQ_INDEX)
            .map_or(0, |irq| irq.count.min(u16::MAX as u32) as u16);
        let config_index = sys::VFIO_PCI_CONFIG_REGION_INDEX;
        let bar_summary: Vec<String> = bars
            .iter()
            .enumerate()
            .filter_map(|(i, b)| {
                b.as_ref()
                    .map(|b| format!("BAR{i} {:#x} ({:#x} mmapped)", b.size(), b.mapped_bytes()))
            })
            .collect();
        tracing::info!(
            bdf,
            group,
            bars = ?bar_summary,
            iova_ranges = ?iommu.iova_ranges,
            msix_count,
            reset = info.flags & sys::VFIO_DEVICE_FLAGS_RESET != 0,
            "opened through VFIO"
        );
        Ok(VfioPciDevice {
            bdf: bdf.to_string(),
            bars,
            config_offset: device.get_region_offset(config_index),
            config_size: device.get_region_size(config_index),
            msix_count,
            can_reset: info.flags & sys::VFIO_DEVICE_FLAGS_RESET != 0,
            iommu,
            mappings: Mutex::new(BTreeMap::new()),
            msix_enabled: Mutex::new(false),
            device_fd,
            device,
            container,
        })
    }

    /// What the IOMMU reported.
    pub fn iommu_info(&self) -> &IommuInfo {
        &self.iommu
    }

    fn bar(&self, bar: u8) -> Result<&BarRegion> {
        self.bars
            .get(bar as usize)
            .and_then(Option::as_ref)
            .ok_or(DeviceError::NoSuchBar(bar))
    }

    fn set_msix(&self, fds: &[RawFd]) -> Result<()> {
        // vfio_irq_set is 5 u32s followed by the data: one fd per vector.
        let mut buf: Vec<u32> = vec![0; 5 + fds.len()];
        buf[0] = (4 * buf.len()) as u32;
        buf[1] = if fds.is_empty() {
            sys::VFIO_IRQ_SET_DATA_NONE | sys::VFIO_IRQ_SET_ACTION_TRIGGER
        } else {
            sys::VFIO_IRQ_SET_DATA_EVENTFD | sys::VFIO_IRQ_SET_ACTION_TRIGGER
        };
        buf[2] = sys::VFIO_PCI_MSIX_IRQ_INDEX;
        buf[3] = 0;
        buf[4] = fds.len() as u32;
        for (i, fd) in fds.iter().enumerate() {
            buf[5 + i] = *fd as u32;
        }
        ioctl_ptr(
            self.device_fd,
            VFIO_DEVICE_SET_IRQS,
            buf.as_mut_ptr(),
            "DEVICE_SET_IRQS",
        )
        .map_err(|e| DeviceError::io("VFIO_DEVICE_SET_IRQS (MSI-X)", e))
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        s.push_str(": ");
        s.push_str(&x.to_string());
        src = x.source();
    }
    s
}

fn iommu_info(container_fd: RawFd) -> std::io::Result<IommuInfo> {
    // First call learns the size the capability chain needs.
    let mut buf = vec![0u64; iommu_info::INFO_LEN / 8];
    buf[0] = iommu_info::INFO_LEN as u64;
    ioctl_ptr(
        container_fd,
        VFIO_IOMMU_GET_INFO,
        buf.as_mut_ptr(),
        "IOMMU_GET_INFO",
    )?;
    let need = (buf[0] & 0xffff_ffff) as usize;
    if need > iommu_info::INFO_LEN {
        buf = vec![0u64; need.div_ceil(8)];
        buf[0] = need as u64;
        ioctl_ptr(
            container_fd,
            VFIO_IOMMU_GET_INFO,
            buf.as_mut_ptr(),
            "IOMMU_GET_INFO",
        )?;
    }
    let bytes: Vec<u8> = buf.iter().flat_map(|w| w.to_le_bytes()).collect();
    iommu_info::parse(&bytes).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "malformed VFIO_IOMMU_GET_INFO capability chain",
        )
    })
}

impl Device for VfioPciDevice {
    fn describe(&self) -> String {
        format!("vfio {}", self.bdf)
    }

    fn config_read(&self, offset: u16, data: &mut [u8]) -> Result<()> {
        check_config(offset, data.len(), self.config_size)?;
        // SAFETY: data is a valid buffer of data.len() bytes.
        let n = unsafe {
            libc::pread(
                self.device_fd,
                data.as_mut_ptr().cast(),
                data.len(),
                (self.config_offset + offset as u64) as libc::off_t,
            )
        };
        if n != data.len() as isize {
            return Err(DeviceError::io(
                format!("reading config space at {offset:#x}"),
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    }

    fn config_write(&self, offset: u16, data: &[u8]) -> Result<()> {
        check_config(offset, data.len(), self.config_size)?;
        // SAFETY: data is a valid buffer of data.len() bytes.
        let n = unsafe {
            libc::pwrite(
                self.device_fd,
                data.as_ptr().cast(),
                data.len(),
                (self.config_offset + offset as u64) as libc::off_t,
            )
        };
        if n != data.len() as isize {
            return Err(DeviceError::io(
                format!("writing config space at {offset:#x}"),
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    }

    fn bar_size(&self, bar: u8) -> Option<u64> {
        self.bar(bar).ok().map(BarRegion::size)
    }

    fn bar_read(&self, bar: u8, offset: u64, data: &mut [u8]) -> Result<()> {
        self.bar(bar)?.read(offset, data)
    }

    fn bar_write(&self, bar: u8, offset: u64, data: &[u8]) -> Result<()> {
        self.bar(bar)?.write(offset, data)
    }

    fn iova_ranges(&self) -> Vec<Range<u64>> {
        self.iommu.iova_ranges.clone()
    }

    fn dma_page_size(&self) -> u64 {
        // The smallest page the IOMMU maps; 4 KiB when it did not say.
        match self.iommu.page_sizes {
            0 => 4096,
            p => 1 << p.trailing_zeros(),
        }
    }

    unsafe fn dma_map(&self, m: DmaMapping) -> Result<()> {
        if !iommu_info::fits(&self.iommu.iova_ranges, m.iova, m.size) {
            return Err(DeviceError::IovaOutOfRange {
                iova: m.iova,
                size: m.size,
            });
        }
        let mut maps = self.mappings.lock().unwrap();
        let end = m.iova + m.size;
        if maps
            .range(..end)
            .next_back()
            .is_some_and(|(&s, &len)| s + len > m.iova)
        {
            return Err(DeviceError::MappingOverlap {
                iova: m.iova,
                size: m.size,
            });
        }
        // SAFETY: the caller keeps the memory mapped until dma_unmap (trait contract).
        unsafe {
            self.container
                .vfio_dma_map(m.iova, m.size as usize, m.vaddr as *mut u8)
        }
        .map_err(|e| {
            DeviceError::io(
                format!("VFIO_IOMMU_MAP_DMA {:#x}+{:#x}", m.iova, m.size),
                to_io(e),
            )
        })?;
        maps.insert(m.iova, m.size);
        Ok(())
    }

    fn dma_unmap(&self, iova: u64, size: u64) -> Result<()> {
        let mut maps = self.mappings.lock().unwrap();
        if maps.get(&iova) != Some(&size) {
            return Err(DeviceError::NoMapping { iova, size });
        }
        self.container
            .vfio_dma_unmap(iova, size as usize)
            .map_err(|e| {
                DeviceError::io(
                    format!("VFIO_IOMMU_UNMAP_DMA {iova:#x}+{size:#x}"),
                    to_io(e),
                )
            })?;
        maps.remove(&iova);
        Ok(())
    }

    fn msix_vectors(&self) -> u16 {
        self.msix_count
    }

    fn enable_msix(&self, fds: &[Option<&EventFd>]) -> Result<()> {
        if fds.is_empty() || fds.len() > self.msix_count as usize {
            return Err(DeviceError::Unsupported(
                "MSI-X vector count beyond the table",
            ));
        }
        let mut enabled = self.msix_enabled.lock().unwrap();
        // Disable first: VFIO may refuse to grow an enabled vector set.
        if *enabled {
            self.set_msix(&[])?;
            *enabled = false;
        }
        let raw: Vec<RawFd> = fds
            .iter()
            .map(|f| f.map_or(-1, |f| f.as_raw_fd()))
            .collect();
        self.set_msix(&raw)?;
        *enabled = true;
        Ok(())
    }

    fn disable_msix(&self) -> Result<()> {
        let mut enabled = self.msix_enabled.lock().unwrap();
        // VFIO answers EINVAL to disabling what is not enabled.
        if *enabled {
            self.set_msix(&[])?;
            *enabled = false;
        }
        Ok(())
    }

    fn reset(&self) -> Result<()> {
        if !self.can_reset {
            return Err(DeviceError::Unsupported(
                "function reset (VFIO reports no reset method for this function)",
            ));
        }
        // SAFETY: VFIO_DEVICE_RESET takes no argument.
        let r = unsafe { libc::ioctl(self.device_fd, VFIO_DEVICE_RESET as _) };
        if r < 0 {
            return Err(DeviceError::io(
                "VFIO_DEVICE_RESET",
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    }
}

fn check_config(offset: u16, len: usize, size: u64) -> Result<()> {
    if !matches!(len, 1 | 2 | 4) || !(offset as usize).is_multiple_of(len) {
        return Err(DeviceError::BadAccess {
            offset: offset as u64,
            len,
        });
    }
    if offset as u64 + len as u64 > size {
        return Err(DeviceError::OutOfRange {
            what: "config space",
            offset: offset as u64,
            len,
            size,
        });
    }
    Ok(())
}

fn to_io(e: VfioError) -> std::io::Error {
    std::io::Error::other(chain(&e))
}

impl Drop for VfioPciDevice {
    fn drop(&mut self) {
        // Leave no IOMMU mapping behind pointing at memory about to be freed.
        let maps = std::mem::take(&mut *self.mappings.lock().unwrap());
        for (iova, size) in maps {
            let _ = self.container.vfio_dma_unmap(iova, size as usize);
        }
    }
}
