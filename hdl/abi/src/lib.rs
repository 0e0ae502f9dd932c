//! The vfpga hardware/software contract.
//!
//! Every number that the hardware (`vfpga-hdl`), the firmware (`vfpga-firmware`),
//! the simulator (`vfpga-sim`) and the host control plane (`vfpga-host`) must agree
//! on lives here, once: PCI identity and capabilities, the BAR0 map, the virtio
//! register layouts, feature sets per personality, the vendor region, the
//! firmware management port and the top-level hardware ports.
//!
//! The crate is `no_std` with no dependencies so that the soft CPU firmware and
//! the HDL generator can both use it. `docs/register-map.md` is rendered from
//! [`regmap`] and a test keeps it current.

#![no_std]
#![deny(missing_docs)]

pub mod bar0;
pub mod blk;
pub mod common_cfg;
pub mod features;
pub mod mgmt;
pub mod msix;
pub mod net;
pub mod pci;
pub mod ports;
pub mod regmap;
pub mod ring;
pub mod status;
pub mod vendor;

/// Which device a function presents: the datapath engine is shared, the
/// personality decides PCI device id, features and device configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Personality {
    /// virtio-net (device type 1).
    Net,
    /// virtio-blk (device type 2).
    Blk,
}

impl Personality {
    /// The virtio device type (virtio 1.2 §5).
    pub const fn device_type(self) -> u16 {
        match self {
            Personality::Net => 1,
            Personality::Blk => 2,
        }
    }

    /// The PCI device id of a modern (non-transitional) function: 0x1040 + type.
    pub const fn pci_device_id(self) -> u16 {
        pci::DEVICE_ID_MODERN_BASE + self.device_type()
    }

    /// Feature bits this personality offers (see [`features`]).
    pub const fn offered_features(self) -> u64 {
        match self {
            Personality::Net => features::NET_OFFERED,
            Personality::Blk => features::BLK_OFFERED,
        }
    }

    /// Number of virtqueues the hardware implements for this personality.
    pub const fn num_queues(self) -> u16 {
        match self {
            Personality::Net => net::NUM_QUEUES,
            Personality::Blk => blk::NUM_QUEUES,
        }
    }

    /// Size in bytes of the device-specific configuration structure.
    pub const fn device_cfg_len(self) -> u32 {
        match self {
            Personality::Net => net::config::LEN,
            Personality::Blk => blk::config::LEN,
        }
    }

    /// Lower-case name, as used on the command line and in file names.
    pub const fn name(self) -> &'static str {
        match self {
            Personality::Net => "net",
            Personality::Blk => "blk",
        }
    }
}
