//! The host-side state shared between the threads that drive the device
//! (DMA mappings, configuration space, MSI-X routing) and the clock thread
//! that runs it.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use vfpga_abi::Personality;

use crate::iommu::Iommu;
use crate::msix::MsixRoutes;
use crate::pci::ConfigSpace;

const BUS_MASTER: u8 = 1;
const MSIX_ENABLE: u8 = 2;
const MSIX_MASK: u8 = 4;
const MEMORY: u8 = 8;

/// The configuration bits the hardware sees as inputs, sampled every cycle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PciInputs {
    /// Command register: bus master enable.
    pub bus_master: bool,
    /// MSI-X message control: enable.
    pub msix_enable: bool,
    /// MSI-X message control: function mask.
    pub msix_function_mask: bool,
    /// Command register: memory space enable.
    pub memory: bool,
}

/// Host-side state of one simulated function.
#[derive(Debug)]
pub struct HostBus {
    iommu: RwLock<Iommu>,
    config: Mutex<ConfigSpace>,
    /// `PciInputs` packed, so the clock thread reads them without a lock.
    pci_bits: AtomicU8,
    /// Where MSI-X messages go.
    pub msix_routes: MsixRoutes,
}

impl HostBus {
    /// A function of `personality` at power-on with an empty IOMMU.
    pub fn new(personality: Personality, iommu: Iommu) -> Self {
        let bus = HostBus {
            iommu: RwLock::new(iommu),
            config: Mutex::new(ConfigSpace::new(personality)),
            pci_bits: AtomicU8::new(0),
            msix_routes: MsixRoutes::default(),
        };
        bus.sync_pci_bits(&bus.config());
        bus
    }

    /// The IOMMU, for an access (the clock thread).
    pub fn iommu(&self) -> RwLockReadGuard<'_, Iommu> {
        self.iommu.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The IOMMU, to change mappings. Holding it excludes every DMA access,
    /// so when a map or unmap returns the device sees the new state.
    pub fn iommu_mut(&self) -> RwLockWriteGuard<'_, Iommu> {
        self.iommu.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Configuration space, to read.
    pub fn config(&self) -> MutexGuard<'_, ConfigSpace> {
        self.config.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Changes configuration space and republishes the hardware inputs.
    pub fn with_config<R>(&self, f: impl FnOnce(&mut ConfigSpace) -> R) -> R {
        let mut c = self.config();
        let r = f(&mut c);
        self.sync_pci_bits(&c);
        r
    }

    fn sync_pci_bits(&self, c: &ConfigSpace) {
        let mut b = 0;
        if c.bus_master() {
            b |= BUS_MASTER;
        }
        if c.msix_enable() {
            b |= MSIX_ENABLE;
        }
        if c.msix_function_mask() {
            b |= MSIX_MASK;
        }
        if c.memory_enabled() {
            b |= MEMORY;
        }
        self.pci_bits.store(b, Ordering::Release);
    }

    /// The configuration bits the hardware sees now.
    pub fn pci_inputs(&self) -> PciInputs {
        let b = self.pci_bits.load(Ordering::Acquire);
        PciInputs {
            bus_master: b & BUS_MASTER != 0,
            msix_enable: b & MSIX_ENABLE != 0,
            msix_function_mask: b & MSIX_MASK != 0,
            memory: b & MEMORY != 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vfpga_abi::pci::header;

    #[test]
    fn command_register_writes_reach_the_hardware_inputs() {
        let bus = HostBus::new(Personality::Blk, Iommu::default());
        assert!(!bus.pci_inputs().bus_master);
        bus.with_config(|c| c.write(header::COMMAND, &header::COMMAND_BUS_MASTER.to_le_bytes()));
        assert!(bus.pci_inputs().bus_master);
        bus.with_config(|c| c.set_msix(true, true));
        let p = bus.pci_inputs();
        assert!(p.msix_enable && p.msix_function_mask && !p.memory);
    }
}
