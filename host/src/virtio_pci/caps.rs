//! The PCI capability walk (virtio 1.2 §4.1.4): where the common, notify,
//! ISR, device and vendor structures are, and the MSI-X table.

use vfpga_abi::pci::{self, VirtioCapType, cap_id, header, msix_cap, virtio_cap};

/// One virtio structure's location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// BAR holding it.
    pub bar: u8,
    /// Offset in the BAR.
    pub offset: u32,
    /// Length.
    pub length: u32,
}

/// MSI-X capability fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Msix {
    /// Offset of the capability in configuration space.
    pub cap_offset: u16,
    /// Number of table entries.
    pub table_size: u16,
    /// BAR of the table.
    pub table_bar: u8,
    /// Offset of the table in that BAR.
    pub table_offset: u32,
}

/// Everything the walk found. Absent structures are `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// Common configuration (required).
    pub common: Option<Region>,
    /// Notification area (required) and its `notify_off_multiplier`.
    pub notify: Option<(Region, u32)>,
    /// ISR status (required).
    pub isr: Option<Region>,
    /// Device-specific configuration (device types may have none).
    pub device: Option<Region>,
    /// vfpga's vendor region (optional: other virtio devices lack it).
    pub vendor: Option<Region>,
    /// MSI-X.
    pub msix: Option<Msix>,
}

/// Why the capability list could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CapError {
    /// The status register says there is no capability list.
    #[error("the function has no PCI capability list")]
    NoCapList,
    /// A pointer leads outside configuration space or loops.
    #[error("malformed capability list at {0:#x}")]
    Malformed(u16),
    /// A structure every virtio-pci driver needs is missing.
    #[error("no virtio {0} capability: not a virtio 1.x (modern) PCI function")]
    Missing(&'static str),
}

/// Walks the capability list through `read` (configuration-space reader).
/// Follows §4.1.4.1: the first capability of each type that the driver can
/// use wins; unknown types and out-of-range BARs are skipped.
pub fn walk<E>(
    read: impl Fn(u16, &mut [u8]) -> Result<(), E>,
) -> Result<Result<Capabilities, CapError>, E> {
    let r8 = |o: u16| -> Result<u8, E> {
        let mut b = [0u8; 1];
        read(o, &mut b)?;
        Ok(b[0])
    };
    let r16 = |o: u16| -> Result<u16, E> {
        let mut b = [0u8; 2];
        read(o, &mut b)?;
        Ok(u16::from_le_bytes(b))
    };
    let r32 = |o: u16| -> Result<u32, E> {
        let mut b = [0u8; 4];
        read(o, &mut b)?;
        Ok(u32::from_le_bytes(b))
    };
    if r16(header::STATUS)? & header::STATUS_CAP_LIST == 0 {
        return Ok(Err(CapError::NoCapList));
    }
    let mut caps = Capabilities::default();
    let mut ptr = (r8(header::CAP_PTR)? & 0xFC) as u16;
    // 48 capabilities fill conventional config space; more means a loop.
    let mut hops = 0;
    while ptr != 0 {
        hops += 1;
        if ptr < 0x40 || ptr as usize + 4 > pci::CONFIG_SPACE_SIZE || hops > 48 {
            return Ok(Err(CapError::Malformed(ptr)));
        }
        let id = r8(ptr)?;
        let next = (r8(ptr + virtio_cap::CAP_NEXT as u16)? & 0xFC) as u16;
        match id {
            cap_id::VENDOR => {
                let len = r8(ptr + virtio_cap::CAP_LEN as u16)?;
                if len >= virtio_cap::LEN && ptr as usize + len as usize <= pci::CONFIG_SPACE_SIZE {
                    let cfg_type = r8(ptr + virtio_cap::CFG_TYPE as u16)?;
                    let bar = r8(ptr + virtio_cap::BAR as u16)?;
                    let sub_id = r8(ptr + virtio_cap::ID as u16)?;
                    let region = Region {
                        bar,
                        offset: r32(ptr + virtio_cap::OFFSET as u16)?,
                        length: r32(ptr + virtio_cap::LENGTH as u16)?,
                    };
                    // BARs 0-5 only (§4.1.4: other values are reserved).
                    if bar <= 5 {
                        match cfg_type {
                            t if t == VirtioCapType::Common as u8 => {
                                caps.common.get_or_insert(region);
                            }
                            t if t == VirtioCapType::Notify as u8
                                && len >= virtio_cap::NOTIFY_LEN =>
                            {
                                let mult = r32(ptr + virtio_cap::NOTIFY_OFF_MULTIPLIER as u16)?;
                                caps.notify.get_or_insert((region, mult));
                            }
                            t if t == VirtioCapType::Isr as u8 => {
                                caps.isr.get_or_insert(region);
                            }
                            t if t == VirtioCapType::Device as u8 => {
                                caps.device.get_or_insert(region);
                            }
                            t if t == VirtioCapType::Vendor as u8
                                && sub_id == pci::VENDOR_CAP_ID =>
                            {
                                caps.vendor.get_or_insert(region);
                            }
                            _ => {}
                        }
                    }
                }
            }
            cap_id::MSIX => {
                let control = r16(ptr + msix_cap::MESSAGE_CONTROL as u16)?;
                let table = r32(ptr + msix_cap::TABLE as u16)?;
                caps.msix.get_or_insert(Msix {
                    cap_offset: ptr,
                    table_size: (control & 0x7FF) + 1,
                    table_bar: (table & 7) as u8,
                    table_offset: table & !7,
                });
            }
            _ => {}
        }
        ptr = next;
    }
    if caps.common.is_none() {
        return Ok(Err(CapError::Missing("common configuration")));
    }
    if caps.notify.is_none() {
        return Ok(Err(CapError::Missing("notify")));
    }
    if caps.isr.is_none() {
        return Ok(Err(CapError::Missing("ISR")));
    }
    Ok(Ok(caps))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vfpga_abi::{Personality, bar0, msix};

    fn walk_image(img: &[u8; 256]) -> Result<Capabilities, CapError> {
        walk(|o, b: &mut [u8]| {
            b.copy_from_slice(&img[o as usize..o as usize + b.len()]);
            Ok::<(), ()>(())
        })
        .unwrap()
    }

    #[test]
    fn spec_4_1_4_capabilities_of_the_vfpga_image() {
        for p in [Personality::Blk, Personality::Net] {
            let caps = walk_image(&pci::config_space(p)).unwrap();
            let r = |offset, length| Region {
                bar: bar0::BAR_INDEX,
                offset,
                length,
            };
            assert_eq!(caps.common, Some(r(bar0::COMMON_CFG, bar0::COMMON_CFG_LEN)));
            assert_eq!(
                caps.notify,
                Some((
                    r(bar0::NOTIFY, bar0::NOTIFY_LEN),
                    bar0::NOTIFY_OFF_MULTIPLIER
                ))
            );
            assert_eq!(caps.isr, Some(r(bar0::ISR, bar0::ISR_LEN)));
            assert_eq!(caps.device, Some(r(bar0::DEVICE_CFG, bar0::DEVICE_CFG_LEN)));
            assert_eq!(caps.vendor, Some(r(bar0::VENDOR, bar0::VENDOR_LEN)));
            let m = caps.msix.unwrap();
            assert_eq!(m.table_size, msix::VECTORS);
            assert_eq!(
                (m.table_bar, m.table_offset),
                (bar0::BAR_INDEX, bar0::MSIX_TABLE)
            );
        }
    }

    #[test]
    fn spec_4_1_4_1_first_capability_of_a_type_wins() {
        let mut img = pci::config_space(Personality::Blk);
        // Append a second COMMON cap at 0xC0 pointing elsewhere, and a
        // notify cap with a reserved BAR number at 0xD0.
        let last = pci::CAPABILITIES.last().unwrap().config_offset as usize;
        img[last + 1] = 0xC0;
        img[0xC0..0xD0]
            .copy_from_slice(&[9, 0xD0, 16, 1, 0, 0, 0, 0, 0, 0x70, 0, 0, 0x10, 0, 0, 0]);
        img[0xD0..0xE4]
            .copy_from_slice(&[9, 0, 20, 2, 7, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0]);
        let caps = walk_image(&img).unwrap();
        assert_eq!(caps.common.unwrap().offset, bar0::COMMON_CFG);
        assert_eq!(caps.notify.unwrap().0.offset, bar0::NOTIFY);
    }

    #[test]
    fn vendor_capability_is_optional() {
        // Unlink our vendor cap, as on a QEMU virtio device: the rest stands.
        let mut img = pci::config_space(Personality::Blk);
        let caps = &pci::CAPABILITIES;
        let vi = caps
            .iter()
            .position(|c| c.virtio_type == Some(VirtioCapType::Vendor))
            .unwrap();
        img[caps[vi - 1].config_offset as usize + 1] = caps[vi + 1].config_offset;
        let found = walk_image(&img).unwrap();
        assert_eq!(found.vendor, None);
        assert!(found.msix.is_some());
        // A type-9 capability of someone else's (wrong id byte) is not ours.
        let mut img = pci::config_space(Personality::Blk);
        img[caps[vi].config_offset as usize + virtio_cap::ID as usize] = 0;
        assert_eq!(walk_image(&img).unwrap().vendor, None);
    }

    #[test]
    fn missing_or_looping_lists_are_errors() {
        let mut img = pci::config_space(Personality::Blk);
        img[header::STATUS as usize] = 0;
        assert_eq!(walk_image(&img), Err(CapError::NoCapList));
        let mut img = pci::config_space(Personality::Blk);
        let first = pci::CAPABILITIES[0].config_offset as usize;
        img[first + 1] = first as u8;
        assert_eq!(walk_image(&img), Err(CapError::Malformed(first as u16)));
        let mut img = pci::config_space(Personality::Blk);
        img[first + virtio_cap::CFG_TYPE as usize] = 0x7F;
        assert_eq!(
            walk_image(&img),
            Err(CapError::Missing("common configuration"))
        );
    }
}
