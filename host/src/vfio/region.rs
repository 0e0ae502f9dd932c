//! One BAR of a VFIO device: mmapped where the kernel allows it (sparse
//! areas or the whole region), pread/pwrite on the device fd elsewhere
//! (e.g. over an MSI-X table the kernel keeps to itself).

use std::os::fd::RawFd;

use crate::{DeviceError, Result};

/// An mmapped window of a BAR.
#[derive(Debug)]
struct Window {
    offset: u64,
    size: u64,
    ptr: *mut u8,
}

/// A BAR as VFIO offers it.
#[derive(Debug)]
pub struct BarRegion {
    index: u8,
    size: u64,
    /// Offset of the region in the device fd.
    fd_offset: u64,
    fd: RawFd,
    windows: Vec<Window>,
}

// SAFETY: the windows are MMIO mappings owned by this struct; accesses are
// single volatile loads/stores, which the hardware serialises.
unsafe impl Send for BarRegion {}
// SAFETY: as above; no Rust reference into the mapping is ever created.
unsafe impl Sync for BarRegion {}

impl BarRegion {
    /// Describes BAR `index` of `size` bytes at `fd_offset` in `fd`, mmapping
    /// the `areas` (offset, size) the kernel allows. An area that fails to
    /// map is left to pread/pwrite.
    pub fn new(index: u8, size: u64, fd_offset: u64, fd: RawFd, areas: &[(u64, u64)]) -> Self {
        let mut windows = Vec::new();
        for &(offset, len) in areas {
            if len == 0 || offset + len > size {
                continue;
            }
            // SAFETY: a fresh shared mapping of the device fd; no existing
            // memory is replaced.
            let ptr = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len as usize,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED,
                    fd,
                    (fd_offset + offset) as libc::off_t,
                )
            };
            if ptr == libc::MAP_FAILED {
                tracing::debug!(
                    bar = index,
                    offset,
                    len,
                    err = %std::io::Error::last_os_error(),
                    "BAR area not mmappable, using pread/pwrite"
                );
                continue;
            }
            windows.push(Window {
                offset,
                size: len,
                ptr: ptr.cast(),
            });
        }
        BarRegion {
            index,
            size,
            fd_offset,
            fd,
            windows,
        }
    }

    /// Size of the BAR.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Bytes of the BAR that are mmapped.
    pub fn mapped_bytes(&self) -> u64 {
        self.windows.iter().map(|w| w.size).sum()
    }

    fn check(&self, offset: u64, len: usize) -> Result<()> {
        if !matches!(len, 1 | 2 | 4 | 8) || !offset.is_multiple_of(len as u64) {
            return Err(DeviceError::BadAccess { offset, len });
        }
        if offset + len as u64 > self.size {
            return Err(DeviceError::OutOfRange {
                what: "BAR",
                offset,
                len,
                size: self.size,
            });
        }
        Ok(())
    }

    fn window(&self, offset: u64, len: usize) -> Option<*mut u8> {
        self.windows
            .iter()
            .find(|w| offset >= w.offset && offset + len as u64 <= w.offset + w.size)
            // SAFETY: inside the window, checked just above.
            .map(|w| unsafe { w.ptr.add((offset - w.offset) as usize) })
    }

    /// Reads 1, 2, 4 or 8 bytes with one access of that width.
    pub fn read(&self, offset: u64, data: &mut [u8]) -> Result<()> {
        self.check(offset, data.len())?;
        if let Some(p) = self.window(offset, data.len()) {
            // SAFETY: p is inside a live mapping and aligned to the access
            // width (checked); MMIO needs one volatile access of that width.
            unsafe {
                match data.len() {
                    1 => data[0] = p.read_volatile(),
                    2 => data.copy_from_slice(&p.cast::<u16>().read_volatile().to_ne_bytes()),
                    4 => data.copy_from_slice(&p.cast::<u32>().read_volatile().to_ne_bytes()),
                    _ => data.copy_from_slice(&p.cast::<u64>().read_volatile().to_ne_bytes()),
                }
            }
            return Ok(());
        }
        // SAFETY: data is a valid buffer of data.len() bytes.
        let n = unsafe {
            libc::pread(
                self.fd,
                data.as_mut_ptr().cast(),
                data.len(),
                (self.fd_offset + offset) as libc::off_t,
            )
        };
        if n != data.len() as isize {
            return Err(DeviceError::io(
                format!("reading BAR{} at {offset:#x}", self.index),
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    }

    /// Writes 1, 2, 4 or 8 bytes with one access of that width.
    pub fn write(&self, offset: u64, data: &[u8]) -> Result<()> {
        self.check(offset, data.len())?;
        if let Some(p) = self.window(offset, data.len()) {
            // SAFETY: as in `read`.
            unsafe {
                match data.len() {
                    1 => p.write_volatile(data[0]),
                    2 => p
                        .cast::<u16>()
                        .write_volatile(u16::from_ne_bytes(data.try_into().unwrap())),
                    4 => p
                        .cast::<u32>()
                        .write_volatile(u32::from_ne_bytes(data.try_into().unwrap())),
                    _ => p
                        .cast::<u64>()
                        .write_volatile(u64::from_ne_bytes(data.try_into().unwrap())),
                }
            }
            return Ok(());
        }
        // SAFETY: data is a valid buffer of data.len() bytes.
        let n = unsafe {
            libc::pwrite(
                self.fd,
                data.as_ptr().cast(),
                data.len(),
                (self.fd_offset + offset) as libc::off_t,
            )
        };
        if n != data.len() as isize {
            return Err(DeviceError::io(
                format!("writing BAR{} at {offset:#x}", self.index),
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    }
}

impl Drop for BarRegion {
    fn drop(&mut self) {
        for w in &self.windows {
            // SAFETY: we mapped exactly this and nothing refers to it any more.
            unsafe {
                libc::munmap(w.ptr.cast(), w.size as usize);
            }
        }
    }
}
