//! The function's PCI configuration space, as the PCIe IP of a board would
//! present it: the image from `vfpga_abi::pci::config_space`, with the few
//! bits a host may change.
//!
//! Writable: the command register (memory space, bus master, INTx disable),
//! BAR0 (with the usual all-ones sizing), the MSI-X capability's enable and
//! function mask, and the VIRTIO_PCI_CAP_PCI_CFG window fields (`bar`,
//! `offset`, `length`, `pci_cfg_data`). Everything else reads as the image
//! and ignores writes.

use vfpga_abi::pci::{
    CAPABILITIES, CONFIG_SPACE_SIZE, VirtioCapType, config_space, header, msix_cap, virtio_cap,
};
use vfpga_abi::{Personality, bar0};

/// Configuration space with its write masks.
#[derive(Debug, Clone)]
pub struct ConfigSpace {
    bytes: [u8; CONFIG_SPACE_SIZE],
    writable: [u8; CONFIG_SPACE_SIZE],
    reset_image: [u8; CONFIG_SPACE_SIZE],
}

fn cap_offset(pred: impl Fn(&vfpga_abi::pci::Capability) -> bool) -> usize {
    CAPABILITIES
        .iter()
        .find(|c| pred(c))
        .map(|c| usize::from(c.config_offset))
        .expect("the abi's capability list has it")
}

/// Offset of the MSI-X capability.
pub fn msix_cap_offset() -> usize {
    cap_offset(|c| c.cap_id == vfpga_abi::pci::cap_id::MSIX)
}

/// Offset of the PCI_CFG access capability.
pub fn pci_cfg_cap_offset() -> usize {
    cap_offset(|c| c.virtio_type == Some(VirtioCapType::PciCfg))
}

impl ConfigSpace {
    /// Configuration space of a function of `personality` at power-on.
    pub fn new(personality: Personality) -> Self {
        let image = config_space(personality);
        let mut writable = [0u8; CONFIG_SPACE_SIZE];
        let mut set = |off: usize, mask: &[u8]| {
            writable[off..off + mask.len()].copy_from_slice(mask);
        };
        let cmd =
            header::COMMAND_MEMORY | header::COMMAND_BUS_MASTER | header::COMMAND_INTX_DISABLE;
        set(usize::from(header::COMMAND), &cmd.to_le_bytes());
        // BAR0 is 64-bit: the low dword's address bits above the size, the
        // whole high dword.
        let low = !(bar0::SIZE - 1) & !0xF;
        set(usize::from(header::BAR0), &low.to_le_bytes());
        set(usize::from(header::BAR0) + 4, &[0xFF; 4]);
        let ctl = msix_cap::CONTROL_ENABLE | msix_cap::CONTROL_FUNCTION_MASK;
        set(
            msix_cap_offset() + usize::from(msix_cap::MESSAGE_CONTROL),
            &ctl.to_le_bytes(),
        );
        let p = pci_cfg_cap_offset();
        set(p + usize::from(virtio_cap::BAR), &[0xFF]);
        set(p + usize::from(virtio_cap::OFFSET), &[0xFF; 4]);
        set(p + usize::from(virtio_cap::LENGTH), &[0xFF; 4]);
        set(p + usize::from(virtio_cap::PCI_CFG_DATA), &[0xFF; 4]);
        ConfigSpace {
            bytes: image,
            writable,
            reset_image: image,
        }
    }

    /// Back to the power-on image (function-level reset).
    pub fn reset(&mut self) {
        self.bytes = self.reset_image;
    }

    /// Reads bytes at `offset`; `None` if outside the 256 bytes.
    pub fn read(&self, offset: u16, data: &mut [u8]) -> Option<()> {
        let o = usize::from(offset);
        let src = self.bytes.get(o..o + data.len())?;
        data.copy_from_slice(src);
        Some(())
    }

    /// Writes bytes at `offset` through the write masks; `None` if outside.
    pub fn write(&mut self, offset: u16, data: &[u8]) -> Option<()> {
        let o = usize::from(offset);
        if o + data.len() > CONFIG_SPACE_SIZE {
            return None;
        }
        for (i, &b) in data.iter().enumerate() {
            let m = self.writable[o + i];
            self.bytes[o + i] = (self.bytes[o + i] & !m) | (b & m);
        }
        Some(())
    }

    fn u16_at(&self, o: usize) -> u16 {
        u16::from_le_bytes([self.bytes[o], self.bytes[o + 1]])
    }

    fn u32_at(&self, o: usize) -> u32 {
        u32::from_le_bytes([
            self.bytes[o],
            self.bytes[o + 1],
            self.bytes[o + 2],
            self.bytes[o + 3],
        ])
    }

    /// The command register.
    pub fn command(&self) -> u16 {
        self.u16_at(usize::from(header::COMMAND))
    }

    /// Bus master enable: the engine may issue DMA.
    pub fn bus_master(&self) -> bool {
        self.command() & header::COMMAND_BUS_MASTER != 0
    }

    /// Memory space enable: BAR accesses reach the device.
    pub fn memory_enabled(&self) -> bool {
        self.command() & header::COMMAND_MEMORY != 0
    }

    fn msix_control(&self) -> u16 {
        self.u16_at(msix_cap_offset() + usize::from(msix_cap::MESSAGE_CONTROL))
    }

    /// MSI-X enable (message control bit 15).
    pub fn msix_enable(&self) -> bool {
        self.msix_control() & msix_cap::CONTROL_ENABLE != 0
    }

    /// MSI-X function mask (message control bit 14).
    pub fn msix_function_mask(&self) -> bool {
        self.msix_control() & msix_cap::CONTROL_FUNCTION_MASK != 0
    }

    /// Sets or clears memory space decoding, as a host kernel does when it
    /// enables the function.
    pub fn set_memory(&mut self, on: bool) {
        let o = usize::from(header::COMMAND);
        let mut c = self.command() & !header::COMMAND_MEMORY;
        if on {
            c |= header::COMMAND_MEMORY;
        }
        self.bytes[o..o + 2].copy_from_slice(&c.to_le_bytes());
    }

    /// Sets MSI-X enable and function mask as a host kernel would.
    pub fn set_msix(&mut self, enable: bool, function_mask: bool) {
        let o = msix_cap_offset() + usize::from(msix_cap::MESSAGE_CONTROL);
        let mut c =
            self.msix_control() & !(msix_cap::CONTROL_ENABLE | msix_cap::CONTROL_FUNCTION_MASK);
        if enable {
            c |= msix_cap::CONTROL_ENABLE;
        }
        if function_mask {
            c |= msix_cap::CONTROL_FUNCTION_MASK;
        }
        self.bytes[o..o + 2].copy_from_slice(&c.to_le_bytes());
    }

    /// The PCI_CFG window (§4.1.4.9): `(bar, offset, length)` a read or
    /// write of `pci_cfg_data` is forwarded to.
    pub fn pci_cfg_window(&self) -> (u8, u32, u32) {
        let p = pci_cfg_cap_offset();
        (
            self.bytes[p + usize::from(virtio_cap::BAR)],
            self.u32_at(p + usize::from(virtio_cap::OFFSET)),
            self.u32_at(p + usize::from(virtio_cap::LENGTH)),
        )
    }

    /// Whether an access at `offset` of `len` bytes touches `pci_cfg_data`.
    pub fn is_pci_cfg_data(offset: u16, len: usize) -> bool {
        let d = pci_cfg_cap_offset() + usize::from(virtio_cap::PCI_CFG_DATA);
        let o = usize::from(offset);
        o < d + 4 && d < o + len
    }

    /// Stores the result of a forwarded window read in `pci_cfg_data`.
    pub fn set_pci_cfg_data(&mut self, value: [u8; 4]) {
        let d = pci_cfg_cap_offset() + usize::from(virtio_cap::PCI_CFG_DATA);
        self.bytes[d..d + 4].copy_from_slice(&value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vfpga_abi::pci::{DEVICE_ID_BLK, VENDOR_ID};

    fn read32(c: &ConfigSpace, o: u16) -> u32 {
        let mut b = [0; 4];
        c.read(o, &mut b).unwrap();
        u32::from_le_bytes(b)
    }

    #[test]
    fn identity_and_capability_chain_come_from_the_abi() {
        let c = ConfigSpace::new(Personality::Blk);
        assert_eq!(
            read32(&c, 0),
            u32::from(VENDOR_ID) | u32::from(DEVICE_ID_BLK) << 16
        );
        // Walk the chain as a driver does.
        let mut b = [0u8];
        c.read(header::CAP_PTR, &mut b).unwrap();
        let mut seen = Vec::new();
        while b[0] != 0 {
            let o = u16::from(b[0]);
            let mut id = [0u8];
            c.read(o, &mut id).unwrap();
            seen.push((o as u8, id[0]));
            c.read(o + 1, &mut b).unwrap();
        }
        let want: Vec<(u8, u8)> = CAPABILITIES
            .iter()
            .map(|c| (c.config_offset, c.cap_id))
            .collect();
        assert_eq!(seen, want);
    }

    #[test]
    fn command_register_bus_master_and_memory_are_writable() {
        let mut c = ConfigSpace::new(Personality::Blk);
        assert!(!c.bus_master());
        c.write(header::COMMAND, &0xFFFFu16.to_le_bytes()).unwrap();
        assert!(c.bus_master() && c.memory_enabled());
        // Only the implemented bits stick.
        assert_eq!(
            c.command(),
            header::COMMAND_MEMORY | header::COMMAND_BUS_MASTER | header::COMMAND_INTX_DISABLE
        );
        c.write(header::COMMAND, &0u16.to_le_bytes()).unwrap();
        assert!(!c.bus_master());
    }

    #[test]
    fn bar0_sizing_reports_its_size_and_64_bit_type() {
        let mut c = ConfigSpace::new(Personality::Blk);
        c.write(header::BAR0, &[0xFF; 4]).unwrap();
        let low = read32(&c, header::BAR0);
        assert_eq!(!(low & !0xF) + 1, bar0::SIZE);
        assert_eq!(low & 0x6, 0b100, "64-bit memory BAR");
    }

    #[test]
    fn msix_enable_and_function_mask_follow_message_control() {
        let mut c = ConfigSpace::new(Personality::Blk);
        let o = msix_cap_offset() as u16 + u16::from(msix_cap::MESSAGE_CONTROL);
        let mut ctl = [0u8; 2];
        c.read(o, &mut ctl).unwrap();
        let table_size = u16::from_le_bytes(ctl);
        c.write(o, &(0xFFFFu16).to_le_bytes()).unwrap();
        assert!(c.msix_enable() && c.msix_function_mask());
        c.read(o, &mut ctl).unwrap();
        assert_eq!(
            u16::from_le_bytes(ctl) & 0x7FF,
            table_size & 0x7FF,
            "table size is read-only"
        );
        c.write(o, &msix_cap::CONTROL_ENABLE.to_le_bytes()).unwrap();
        assert!(c.msix_enable() && !c.msix_function_mask());
    }

    #[test]
    fn read_only_bytes_ignore_writes_and_reset_restores_the_image() {
        let mut c = ConfigSpace::new(Personality::Net);
        let before = read32(&c, 0);
        c.write(0, &[0; 4]).unwrap();
        assert_eq!(read32(&c, 0), before);
        c.write(header::COMMAND, &header::COMMAND_BUS_MASTER.to_le_bytes())
            .unwrap();
        c.reset();
        assert!(!c.bus_master());
        assert!(c.read(255, &mut [0; 2]).is_none());
    }

    #[test]
    fn pci_cfg_window_fields_are_writable() {
        let mut c = ConfigSpace::new(Personality::Blk);
        let p = pci_cfg_cap_offset() as u16;
        c.write(p + u16::from(virtio_cap::BAR), &[0]).unwrap();
        c.write(p + u16::from(virtio_cap::OFFSET), &0x14u32.to_le_bytes())
            .unwrap();
        c.write(p + u16::from(virtio_cap::LENGTH), &1u32.to_le_bytes())
            .unwrap();
        assert_eq!(c.pci_cfg_window(), (0, 0x14, 1));
        assert!(ConfigSpace::is_pci_cfg_data(
            p + u16::from(virtio_cap::PCI_CFG_DATA),
            1
        ));
        assert!(!ConfigSpace::is_pci_cfg_data(p, 4));
    }
}
