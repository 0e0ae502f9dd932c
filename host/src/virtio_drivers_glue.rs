//! The `virtio-drivers` crate's drivers on our [`Device`] trait: a
//! [`Transport`] over [`VirtioPci`] and a [`Hal`] whose DMA goes through the
//! device's IOMMU mappings.
//!
//! `virtio-drivers` is a virtio driver nobody here wrote: its `VirtIOBlk`
//! passing the same I/O test as our own driver checks the hardware against
//! someone else's reading of the spec.
//!
//! Its `Hal` is a set of static functions, so the allocator lives in a
//! process-wide slot: install one device at a time with [`DeviceHal::install`].

use std::collections::HashMap;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use virtio_drivers::transport::{DeviceStatus, DeviceType, InterruptStatus, Transport};
use virtio_drivers::{BufferDirection, Hal, PhysAddr};
use zerocopy::{FromBytes, Immutable, IntoBytes};

use crate::Device;
use crate::dma::{DmaAllocator, DmaMemory};
use crate::virtio_pci::{VirtioError, VirtioPci};

/// DMA allocations handed to `virtio-drivers`, by IOVA.
struct HalState {
    alloc: DmaAllocator,
    live: HashMap<u64, DmaMemory>,
}

static HAL: Mutex<Option<HalState>> = Mutex::new(None);

/// [`Hal`] for `virtio-drivers` on the device installed last.
#[derive(Debug)]
pub struct DeviceHal;

impl DeviceHal {
    /// Makes `dev` the device whose IOMMU the HAL maps into. Replaces (and
    /// unmaps) whatever an earlier device had.
    pub fn install(dev: Arc<dyn Device>) {
        *HAL.lock().unwrap() = Some(HalState {
            alloc: DmaAllocator::new(dev),
            live: HashMap::new(),
        });
    }

    /// Drops every mapping and the device reference.
    pub fn uninstall() {
        HAL.lock().unwrap().take();
    }

    fn alloc(len: usize) -> (PhysAddr, NonNull<u8>) {
        let mut g = HAL.lock().unwrap();
        let st = g.as_mut().expect("DeviceHal::install was not called");
        // virtio-drivers' Hal cannot return an error: running out of IOVA
        // space or mappings is fatal for it.
        let mem = st
            .alloc
            .alloc(len)
            .unwrap_or_else(|e| panic!("DMA allocation of {len} bytes failed: {e}"));
        let iova = mem.iova();
        let ptr = NonNull::new(mem.as_ptr()).expect("DMA memory is never null");
        st.live.insert(iova, mem);
        (iova, ptr)
    }

    fn free(iova: PhysAddr) -> Option<DmaMemory> {
        HAL.lock().unwrap().as_mut()?.live.remove(&iova)
    }
}

// SAFETY: dma_alloc returns zeroed, page-aligned memory (fresh anonymous
// mmap) that nothing else aliases, valid until dma_dealloc; share returns an
// IOVA of a bounce buffer the device can reach until unshare.
unsafe impl Hal for DeviceHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        Self::alloc(pages * virtio_drivers::PAGE_SIZE)
    }

    unsafe fn dma_dealloc(paddr: PhysAddr, _vaddr: NonNull<u8>, _pages: usize) -> i32 {
        match Self::free(paddr) {
            Some(_) => 0,
            None => -1,
        }
    }

    unsafe fn mmio_phys_to_virt(_paddr: PhysAddr, _size: usize) -> NonNull<u8> {
        // Only virtio-drivers' own PCI/MMIO transports map BARs this way;
        // DeviceTransport reaches BARs through the Device trait instead.
        panic!("mmio_phys_to_virt is not used with DeviceTransport")
    }

    unsafe fn share(buffer: NonNull<[u8]>, direction: BufferDirection) -> PhysAddr {
        // The caller's buffer is ordinary memory that is not mapped for the
        // device: bounce through DMA memory.
        let len = buffer.len();
        let (iova, ptr) = Self::alloc(len);
        if direction != BufferDirection::DeviceToDriver {
            // SAFETY: the caller guarantees buffer is valid for len bytes;
            // ptr is a fresh allocation of at least len bytes.
            unsafe {
                std::ptr::copy_nonoverlapping(buffer.as_ptr().cast::<u8>(), ptr.as_ptr(), len)
            };
        }
        iova
    }

    unsafe fn unshare(paddr: PhysAddr, buffer: NonNull<[u8]>, direction: BufferDirection) {
        let mem = Self::free(paddr).expect("unshare of an address share did not return");
        if direction != BufferDirection::DriverToDevice {
            // SAFETY: as in share; the device is done with the bounce buffer.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    mem.as_ptr(),
                    buffer.as_ptr().cast::<u8>(),
                    buffer.len(),
                )
            };
        }
    }
}

/// [`Transport`] for `virtio-drivers` over our virtio-pci layer.
#[derive(Debug)]
pub struct DeviceTransport {
    pci: VirtioPci,
    device_type: DeviceType,
    doorbells: HashMap<u16, (u8, u64)>,
}

impl DeviceTransport {
    /// Wraps a device. Fails when it is no virtio-pci function or of a
    /// type `virtio-drivers` does not know.
    pub fn new(dev: Arc<dyn Device>) -> Result<Self, VirtioError> {
        let pci = VirtioPci::new(dev)?;
        let t = pci.device_type()?;
        let device_type = DeviceType::try_from(t as u32).map_err(|_| {
            VirtioError::Caps(crate::virtio_pci::CapError::Missing("known device type"))
        })?;
        Ok(DeviceTransport {
            pci,
            device_type,
            doorbells: HashMap::new(),
        })
    }

    fn log<T: Default>(r: Result<T, VirtioError>, what: &str) -> T {
        // Transport methods cannot fail in virtio-drivers' API; a failing
        // device access is logged and the driver then sees a dead device.
        r.unwrap_or_else(|e| {
            tracing::error!(%e, what, "virtio-pci access failed");
            T::default()
        })
    }
}

impl Transport for DeviceTransport {
    fn device_type(&self) -> DeviceType {
        self.device_type
    }

    fn read_device_features(&mut self) -> u64 {
        Self::log(self.pci.device_features(), "device features")
    }

    fn write_driver_features(&mut self, driver_features: u64) {
        // Our transport goes through the IOMMU: accept ACCESS_PLATFORM when
        // offered, as Linux's transport layer does.
        let offered = self.read_device_features();
        let ap = vfpga_abi::features::bit(vfpga_abi::features::ACCESS_PLATFORM);
        let accepted = driver_features | (offered & ap);
        Self::log(self.pci.write_driver_features(accepted), "driver features");
    }

    fn max_queue_size(&mut self, queue: u16) -> u32 {
        Self::log(self.pci.queue_max_size(queue), "queue size").into()
    }

    fn notify(&mut self, queue: u16) {
        let db = match self.doorbells.get(&queue) {
            Some(d) => *d,
            None => {
                let d = Self::log(self.pci.doorbell(queue), "doorbell");
                self.doorbells.insert(queue, d);
                d
            }
        };
        // NOTIFICATION_DATA is never negotiated here (virtio-drivers does
        // not offer it), so the avail index is not needed.
        Self::log(self.pci.notify(queue, db, 0), "notify");
    }

    fn get_status(&self) -> DeviceStatus {
        DeviceStatus::from_bits_truncate(Self::log(self.pci.status(), "status").into())
    }

    fn set_status(&mut self, status: DeviceStatus) {
        if status.is_empty() {
            // A reset: wait until the device reports it done (§4.1.4.3.2).
            Self::log(self.pci.reset(Duration::from_secs(5)), "reset");
        } else {
            Self::log(self.pci.set_status(status.bits() as u8), "set status");
        }
    }

    fn set_guest_page_size(&mut self, _guest_page_size: u32) {}

    fn requires_legacy_layout(&self) -> bool {
        false
    }

    fn queue_set(
        &mut self,
        queue: u16,
        size: u32,
        descriptors: PhysAddr,
        driver_area: PhysAddr,
        device_area: PhysAddr,
    ) {
        // virtio-drivers polls: no MSI-X vector.
        Self::log(
            self.pci.setup_queue(
                queue,
                size as u16,
                descriptors,
                driver_area,
                device_area,
                vfpga_abi::common_cfg::NO_VECTOR,
            ),
            "queue setup",
        );
    }

    fn queue_unset(&mut self, _queue: u16) {
        // virtio 1.x PCI cannot disable one queue without RING_RESET; the
        // device reset on drop takes them all down.
    }

    fn queue_used(&mut self, queue: u16) -> bool {
        Self::log(self.pci.queue_enabled(queue), "queue enable")
    }

    fn ack_interrupt(&mut self) -> InterruptStatus {
        InterruptStatus::from_bits_truncate(Self::log(self.pci.isr(), "isr").into())
    }

    fn read_config_generation(&self) -> u32 {
        Self::log(self.pci.config_generation(), "config generation").into()
    }

    fn read_config_space<T: FromBytes + IntoBytes>(
        &self,
        offset: usize,
    ) -> virtio_drivers::Result<T> {
        let mut buf = vec![0u8; size_of::<T>()];
        // Field-sized accesses; anything wider than 4 bytes in 4-byte steps
        // (§4.1.3.1: 64-bit fields may be read as two 32-bit halves).
        let step = match buf.len() {
            1 | 2 | 4 => buf.len(),
            n if n % 4 == 0 => 4,
            n if n % 2 == 0 => 2,
            _ => 1,
        };
        for (i, c) in buf.chunks_mut(step).enumerate() {
            self.pci
                .read_config_raw((offset + i * step) as u32, c)
                .map_err(|e| {
                    tracing::error!(%e, "device config read failed");
                    virtio_drivers::Error::ConfigSpaceMissing
                })?;
        }
        T::read_from_bytes(&buf).map_err(|_| virtio_drivers::Error::InvalidParam)
    }

    fn write_config_space<T: IntoBytes + Immutable>(
        &mut self,
        offset: usize,
        value: T,
    ) -> virtio_drivers::Result<()> {
        let b = value.as_bytes();
        let step = match b.len() {
            1 | 2 | 4 => b.len(),
            n if n % 4 == 0 => 4,
            _ => 1,
        };
        for (i, c) in b.chunks(step).enumerate() {
            self.pci
                .write_config_raw((offset + i * step) as u32, c)
                .map_err(|e| {
                    tracing::error!(%e, "device config write failed");
                    virtio_drivers::Error::ConfigSpaceMissing
                })?;
        }
        Ok(())
    }
}

impl Drop for DeviceTransport {
    fn drop(&mut self) {
        // Stop DMA before the HAL's memory goes away.
        let _ = self.pci.reset(Duration::from_secs(5));
    }
}
