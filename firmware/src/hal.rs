//! The hardware abstraction: the engine's firmware management port.

/// Register access to the management port (word addresses from
/// [`vfpga_abi::mgmt`]). Reads may have side effects (reading
/// [`vfpga_abi::mgmt::EVENT`] pops the event FIFO), hence `&mut self`.
pub trait Hal {
    /// Reads the 32-bit register at word address `addr`.
    fn read(&mut self, addr: u16) -> u32;
    /// Writes the 32-bit register at word address `addr`.
    fn write(&mut self, addr: u16, value: u32);
}

impl<H: Hal + ?Sized> Hal for &mut H {
    fn read(&mut self, addr: u16) -> u32 {
        (**self).read(addr)
    }

    fn write(&mut self, addr: u16, value: u32) {
        (**self).write(addr, value)
    }
}

/// The management port mapped into the soft CPU's address space: register
/// `addr` is the 32-bit word at byte address `base + 4 * addr`.
#[derive(Debug)]
pub struct MmioHal {
    base: *mut u32,
}

impl MmioHal {
    /// Creates the accessor for a port mapped at byte address `base`.
    ///
    /// # Safety
    ///
    /// `base` must be 4-byte aligned and the start of the management port's
    /// 256 words of device memory, valid for volatile access for as long as
    /// the returned value is used, and used by nothing else.
    pub const unsafe fn new(base: usize) -> Self {
        MmioHal {
            base: base as *mut u32,
        }
    }
}

impl Hal for MmioHal {
    fn read(&mut self, addr: u16) -> u32 {
        let a = (addr as usize) & ((1 << vfpga_abi::mgmt::ADDR_BITS) - 1);
        // SAFETY: `new`'s contract: the 256-word port is mapped at `base`, and
        // `a` is masked to the port's address width.
        unsafe { self.base.add(a).read_volatile() }
    }

    fn write(&mut self, addr: u16, value: u32) {
        let a = (addr as usize) & ((1 << vfpga_abi::mgmt::ADDR_BITS) - 1);
        // SAFETY: as in `read`.
        unsafe { self.base.add(a).write_volatile(value) }
    }
}
