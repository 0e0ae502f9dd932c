//! PCI identity, configuration-space header and the capability list.
//!
//! The function is a virtio 1.x *modern* device (virtio 1.2 §4.1.2): vendor
//! 0x1AF4, device 0x1040 + type, revision 1, no legacy I/O BAR. All virtio
//! structures live in the 64-bit memory BAR [`BAR0`](crate::bar0).

/// Red Hat / virtio vendor id.
pub const VENDOR_ID: u16 = 0x1AF4;
/// Modern device ids are this plus the virtio device type (§4.1.2.1).
pub const DEVICE_ID_MODERN_BASE: u16 = 0x1040;
/// PCI device id of the virtio-net personality.
pub const DEVICE_ID_NET: u16 = 0x1041;
/// PCI device id of the virtio-blk personality.
pub const DEVICE_ID_BLK: u16 = 0x1042;
/// Revision id: 1 marks a non-transitional device (§4.1.2.1).
pub const REVISION_ID: u8 = 1;
/// Subsystem vendor id (same as vendor).
pub const SUBSYSTEM_VENDOR_ID: u16 = VENDOR_ID;
/// Subsystem id; for modern devices it carries no meaning, we use the type.
pub const SUBSYSTEM_ID_NET: u16 = 1;
/// Subsystem id of the blk personality.
pub const SUBSYSTEM_ID_BLK: u16 = 2;

/// Class code (base, sub, prog-if) of the net personality: network / ethernet.
pub const CLASS_NET: [u8; 3] = [0x02, 0x00, 0x00];
/// Class code of the blk personality: mass storage / SCSI (what QEMU reports).
pub const CLASS_BLK: [u8; 3] = [0x01, 0x00, 0x00];

/// Offsets in the standard type-0 configuration header.
pub mod header {
    /// Vendor id (u16).
    pub const VENDOR_ID: u16 = 0x00;
    /// Device id (u16).
    pub const DEVICE_ID: u16 = 0x02;
    /// Command register (u16).
    pub const COMMAND: u16 = 0x04;
    /// Status register (u16); bit 4 = capability list present.
    pub const STATUS: u16 = 0x06;
    /// Revision id (u8).
    pub const REVISION_ID: u16 = 0x08;
    /// Programming interface (u8), then sub-class and base class.
    pub const CLASS_PROG_IF: u16 = 0x09;
    /// Header type (u8).
    pub const HEADER_TYPE: u16 = 0x0E;
    /// BAR0, low dword (BAR0 is 64-bit memory, non-prefetchable).
    pub const BAR0: u16 = 0x10;
    /// Subsystem vendor id (u16).
    pub const SUBSYSTEM_VENDOR_ID: u16 = 0x2C;
    /// Subsystem id (u16).
    pub const SUBSYSTEM_ID: u16 = 0x2E;
    /// Capabilities pointer (u8).
    pub const CAP_PTR: u16 = 0x34;
    /// Interrupt pin (u8); 0 = no INTx, we only do MSI-X.
    pub const INTERRUPT_PIN: u16 = 0x3D;

    /// Command: memory space enable.
    pub const COMMAND_MEMORY: u16 = 1 << 1;
    /// Command: bus master enable; the engine issues no DMA without it.
    pub const COMMAND_BUS_MASTER: u16 = 1 << 2;
    /// Command: INTx disable.
    pub const COMMAND_INTX_DISABLE: u16 = 1 << 10;
    /// Status: capabilities list present.
    pub const STATUS_CAP_LIST: u16 = 1 << 4;
}

/// Size of conventional configuration space.
pub const CONFIG_SPACE_SIZE: usize = 256;

/// PCI capability ids.
pub mod cap_id {
    /// Vendor-specific capability (all virtio capabilities use it).
    pub const VENDOR: u8 = 0x09;
    /// MSI-X capability.
    pub const MSIX: u8 = 0x11;
}

/// `cfg_type` of a virtio PCI capability (§4.1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum VirtioCapType {
    /// Common configuration.
    Common = 1,
    /// Notifications.
    Notify = 2,
    /// ISR status.
    Isr = 3,
    /// Device-specific configuration.
    Device = 4,
    /// PCI configuration access window.
    PciCfg = 5,
    /// Vendor-specific data (our ring state / counters region).
    Vendor = 9,
}

/// Offsets inside one `virtio_pci_cap` (§4.1.4).
pub mod virtio_cap {
    /// Capability id (0x09).
    pub const CAP_VNDR: u8 = 0;
    /// Next capability pointer.
    pub const CAP_NEXT: u8 = 1;
    /// Length of this capability.
    pub const CAP_LEN: u8 = 2;
    /// Structure type ([`super::VirtioCapType`]).
    pub const CFG_TYPE: u8 = 3;
    /// BAR holding the structure.
    pub const BAR: u8 = 4;
    /// Multiple capabilities of the same type.
    pub const ID: u8 = 5;
    /// Offset within the BAR (u32).
    pub const OFFSET: u8 = 8;
    /// Length of the structure (u32).
    pub const LENGTH: u8 = 12;
    /// `notify_off_multiplier` (u32), notify capability only.
    pub const NOTIFY_OFF_MULTIPLIER: u8 = 16;
    /// `pci_cfg_data` (4 bytes), PCI_CFG capability only.
    pub const PCI_CFG_DATA: u8 = 16;
    /// Length of a plain virtio capability.
    pub const LEN: u8 = 16;
    /// Length of the notify capability.
    pub const NOTIFY_LEN: u8 = 20;
    /// Length of the PCI_CFG capability.
    pub const PCI_CFG_LEN: u8 = 20;
}

/// Offsets inside the MSI-X capability.
pub mod msix_cap {
    /// Message control (u16): table size - 1 in bits 10:0, bit 14 function mask, bit 15 enable.
    pub const MESSAGE_CONTROL: u8 = 2;
    /// Table offset (u32) | BIR in bits 2:0.
    pub const TABLE: u8 = 4;
    /// PBA offset (u32) | BIR in bits 2:0.
    pub const PBA: u8 = 8;
    /// Length of the capability.
    pub const LEN: u8 = 12;
    /// Message control: MSI-X enable.
    pub const CONTROL_ENABLE: u16 = 1 << 15;
    /// Message control: function mask.
    pub const CONTROL_FUNCTION_MASK: u16 = 1 << 14;
}

/// One entry of the capability list the device presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capability {
    /// Offset of the capability in configuration space.
    pub config_offset: u8,
    /// Capability id ([`cap_id`]).
    pub cap_id: u8,
    /// Length in configuration space.
    pub cap_len: u8,
    /// For virtio capabilities: the structure type; `None` for MSI-X.
    pub virtio_type: Option<VirtioCapType>,
    /// Offset of the structure in BAR0 (virtio) or of the MSI-X table.
    pub bar_offset: u32,
    /// Length of the structure in BAR0.
    pub bar_length: u32,
}

/// The capability list, in chain order, starting at [`header::CAP_PTR`]'s target.
/// The last entry's `cap_next` is 0.
pub const CAPABILITIES: [Capability; 7] = {
    use crate::bar0;
    [
        Capability {
            config_offset: 0x40,
            cap_id: cap_id::VENDOR,
            cap_len: virtio_cap::LEN,
            virtio_type: Some(VirtioCapType::Common),
            bar_offset: bar0::COMMON_CFG,
            bar_length: bar0::COMMON_CFG_LEN,
        },
        Capability {
            config_offset: 0x50,
            cap_id: cap_id::VENDOR,
            cap_len: virtio_cap::NOTIFY_LEN,
            virtio_type: Some(VirtioCapType::Notify),
            bar_offset: bar0::NOTIFY,
            bar_length: bar0::NOTIFY_LEN,
        },
        Capability {
            config_offset: 0x64,
            cap_id: cap_id::VENDOR,
            cap_len: virtio_cap::LEN,
            virtio_type: Some(VirtioCapType::Isr),
            bar_offset: bar0::ISR,
            bar_length: bar0::ISR_LEN,
        },
        Capability {
            config_offset: 0x74,
            cap_id: cap_id::VENDOR,
            cap_len: virtio_cap::LEN,
            virtio_type: Some(VirtioCapType::Device),
            bar_offset: bar0::DEVICE_CFG,
            bar_length: bar0::DEVICE_CFG_LEN,
        },
        Capability {
            config_offset: 0x84,
            cap_id: cap_id::VENDOR,
            cap_len: virtio_cap::PCI_CFG_LEN,
            virtio_type: Some(VirtioCapType::PciCfg),
            bar_offset: 0,
            bar_length: 0,
        },
        Capability {
            config_offset: 0x98,
            cap_id: cap_id::VENDOR,
            cap_len: virtio_cap::LEN,
            virtio_type: Some(VirtioCapType::Vendor),
            bar_offset: bar0::VENDOR,
            bar_length: bar0::VENDOR_LEN,
        },
        Capability {
            config_offset: 0xA8,
            cap_id: cap_id::MSIX,
            cap_len: msix_cap::LEN,
            virtio_type: None,
            bar_offset: bar0::MSIX_TABLE,
            bar_length: bar0::MSIX_TABLE_LEN,
        },
    ]
};

/// `cap_vndr`-style id our vendor capability carries in its `id` byte, so that a
/// driver can tell it from another vendor's type-9 capability.
pub const VENDOR_CAP_ID: u8 = 0x76; // 'v'

/// Builds the 256-byte configuration space image of a function at reset.
///
/// The simulator serves this verbatim (plus the writable command register and
/// BAR); a board's PCIe IP is configured with the same bytes.
pub const fn config_space(personality: crate::Personality) -> [u8; CONFIG_SPACE_SIZE] {
    let mut c = [0u8; CONFIG_SPACE_SIZE];
    let (dev, sub, class) = match personality {
        crate::Personality::Net => (DEVICE_ID_NET, SUBSYSTEM_ID_NET, CLASS_NET),
        crate::Personality::Blk => (DEVICE_ID_BLK, SUBSYSTEM_ID_BLK, CLASS_BLK),
    };
    put16(&mut c, header::VENDOR_ID as usize, VENDOR_ID);
    put16(&mut c, header::DEVICE_ID as usize, dev);
    put16(&mut c, header::STATUS as usize, header::STATUS_CAP_LIST);
    c[header::REVISION_ID as usize] = REVISION_ID;
    c[header::CLASS_PROG_IF as usize] = class[2];
    c[header::CLASS_PROG_IF as usize + 1] = class[1];
    c[header::CLASS_PROG_IF as usize + 2] = class[0];
    // BAR0: 64-bit memory (type 0b10 in bits 2:1), not prefetchable.
    put32(&mut c, header::BAR0 as usize, 0b100);
    put16(
        &mut c,
        header::SUBSYSTEM_VENDOR_ID as usize,
        SUBSYSTEM_VENDOR_ID,
    );
    put16(&mut c, header::SUBSYSTEM_ID as usize, sub);
    c[header::CAP_PTR as usize] = CAPABILITIES[0].config_offset;

    let mut i = 0;
    while i < CAPABILITIES.len() {
        let cap = CAPABILITIES[i];
        let o = cap.config_offset as usize;
        let next = if i + 1 < CAPABILITIES.len() {
            CAPABILITIES[i + 1].config_offset
        } else {
            0
        };
        c[o] = cap.cap_id;
        c[o + 1] = next;
        match cap.virtio_type {
            Some(t) => {
                c[o + virtio_cap::CAP_LEN as usize] = cap.cap_len;
                c[o + virtio_cap::CFG_TYPE as usize] = t as u8;
                c[o + virtio_cap::BAR as usize] = crate::bar0::BAR_INDEX;
                if let VirtioCapType::Vendor = t {
                    c[o + virtio_cap::ID as usize] = VENDOR_CAP_ID;
                }
                put32(&mut c, o + virtio_cap::OFFSET as usize, cap.bar_offset);
                put32(&mut c, o + virtio_cap::LENGTH as usize, cap.bar_length);
                if let VirtioCapType::Notify = t {
                    put32(
                        &mut c,
                        o + virtio_cap::NOTIFY_OFF_MULTIPLIER as usize,
                        crate::bar0::NOTIFY_OFF_MULTIPLIER,
                    );
                }
            }
            None => {
                put16(
                    &mut c,
                    o + msix_cap::MESSAGE_CONTROL as usize,
                    crate::msix::VECTORS - 1,
                );
                put32(
                    &mut c,
                    o + msix_cap::TABLE as usize,
                    crate::bar0::MSIX_TABLE | crate::bar0::BAR_INDEX as u32,
                );
                put32(
                    &mut c,
                    o + msix_cap::PBA as usize,
                    crate::bar0::MSIX_PBA | crate::bar0::BAR_INDEX as u32,
                );
            }
        }
        i += 1;
    }
    c
}

const fn put16(c: &mut [u8; CONFIG_SPACE_SIZE], o: usize, v: u16) {
    let b = v.to_le_bytes();
    c[o] = b[0];
    c[o + 1] = b[1];
}

const fn put32(c: &mut [u8; CONFIG_SPACE_SIZE], o: usize, v: u32) {
    let b = v.to_le_bytes();
    c[o] = b[0];
    c[o + 1] = b[1];
    c[o + 2] = b[2];
    c[o + 3] = b[3];
}
