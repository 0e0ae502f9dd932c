//! Why a PCI function could not be opened through VFIO. Each message says
//! what to do about it.

use std::io;

/// Errors of [`super::VfioPciDevice::open`].
#[derive(Debug, thiserror::Error)]
pub enum VfioOpenError {
    /// The address is not of the form `DDDD:BB:DD.F`.
    #[error("`{0}` is not a PCI address (expected DDDD:BB:DD.F, e.g. 0000:01:00.0)")]
    BadAddress(String),
    /// No such function in sysfs.
    #[error("no PCI function {0} (nothing at /sys/bus/pci/devices/{0}); see `lspci -D`")]
    NoSuchDevice(String),
    /// The function has no IOMMU group: no IOMMU, or it is off.
    #[error(
        "{0} has no IOMMU group: the IOMMU is missing or disabled (boot with intel_iommu=on or \
         amd_iommu=on; in a VM add `-machine q35 -device intel-iommu` to QEMU)"
    )]
    NoIommuGroup(String),
    /// The function is bound to another driver.
    #[error(
        "{bdf} is bound to driver `{driver}`, not vfio-pci; bind it with: \
         `echo {bdf} > /sys/bus/pci/devices/{bdf}/driver/unbind; \
         echo vfio-pci > /sys/bus/pci/devices/{bdf}/driver_override; \
         echo {bdf} > /sys/bus/pci/drivers_probe` (after `modprobe vfio-pci`)"
    )]
    BoundToOtherDriver {
        /// The function.
        bdf: String,
        /// The driver it is bound to.
        driver: String,
    },
    /// The function is bound to no driver at all.
    #[error(
        "{0} is bound to no driver; bind it to vfio-pci with: `modprobe vfio-pci; \
         echo vfio-pci > /sys/bus/pci/devices/{0}/driver_override; \
         echo {0} > /sys/bus/pci/drivers_probe`"
    )]
    NotBound(String),
    /// `/dev/vfio/<group>` is missing although the function is bound.
    #[error("/dev/vfio/{group} does not exist: is vfio-pci loaded and {bdf} bound to it?")]
    NoGroupNode {
        /// The function.
        bdf: String,
        /// Its group.
        group: u32,
    },
    /// Another function of the group is bound to a host driver.
    #[error(
        "IOMMU group {group} is not viable: every function in it must be bound to vfio-pci \
         (or to no driver), but {others}"
    )]
    GroupNotViable {
        /// The group.
        group: u32,
        /// The offending functions and their drivers.
        others: String,
    },
    /// The kernel lacks the type1 IOMMU backend or the API version differs.
    #[error("VFIO container setup failed (is vfio_iommu_type1 loaded?): {0}")]
    Container(String),
    /// Opening the group or the device failed for another reason.
    #[error("opening {bdf} through VFIO failed: {detail}")]
    Open {
        /// The function.
        bdf: String,
        /// What failed.
        detail: String,
    },
    /// A system call failed.
    #[error("{op}: {source}")]
    Io {
        /// What was being done.
        op: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}
