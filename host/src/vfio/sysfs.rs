//! What sysfs says about a PCI function before VFIO is asked: its IOMMU
//! group, its driver, and its group mates. Checking these first turns the
//! kernel's bare EINVAL/EBUSY into errors that say what to fix.

use std::path::{Path, PathBuf};

use super::VfioOpenError;

/// Checks that `bdf` looks like `DDDD:BB:DD.F` (hex digits, as sysfs names functions).
pub fn check_address(bdf: &str) -> Result<(), VfioOpenError> {
    let b = bdf.as_bytes();
    let hex = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_hexdigit);
    let ok = b.len() == 12
        && hex(0..4)
        && b[4] == b':'
        && hex(5..7)
        && b[7] == b':'
        && hex(8..10)
        && b[10] == b'.'
        && (b'0'..=b'7').contains(&b[11]);
    if ok {
        Ok(())
    } else {
        Err(VfioOpenError::BadAddress(bdf.to_string()))
    }
}

/// The sysfs directory of a function.
pub fn device_dir(root: &Path, bdf: &str) -> PathBuf {
    root.join("bus/pci/devices").join(bdf)
}

fn link_name(p: &Path) -> Option<String> {
    let target = std::fs::read_link(p).ok()?;
    Some(target.file_name()?.to_string_lossy().into_owned())
}

/// Name of the driver a function is bound to, if any.
pub fn driver_of(dir: &Path) -> Option<String> {
    link_name(&dir.join("driver"))
}

/// Checks everything sysfs can tell and returns the function's IOMMU group.
/// `root` is `/sys` (a parameter so tests can use a directory of their own).
pub fn check(root: &Path, bdf: &str) -> Result<u32, VfioOpenError> {
    check_address(bdf)?;
    let dir = device_dir(root, bdf);
    if !dir.exists() {
        return Err(VfioOpenError::NoSuchDevice(bdf.to_string()));
    }
    let group = link_name(&dir.join("iommu_group"))
        .and_then(|g| g.parse::<u32>().ok())
        .ok_or_else(|| VfioOpenError::NoIommuGroup(bdf.to_string()))?;
    match driver_of(&dir) {
        Some(d) if d == "vfio-pci" => {}
        Some(driver) => {
            return Err(VfioOpenError::BoundToOtherDriver {
                bdf: bdf.to_string(),
                driver,
            });
        }
        None => return Err(VfioOpenError::NotBound(bdf.to_string())),
    }
    // VFIO refuses a group while any member is owned by a host driver;
    // pcieport is the one exception the kernel allows for bridges.
    let members = root
        .join("kernel/iommu_groups")
        .join(group.to_string())
        .join("devices");
    let mut others = Vec::new();
    if let Ok(rd) = std::fs::read_dir(&members) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name == bdf {
                continue;
            }
            if let Some(d) = driver_of(&e.path())
                && d != "vfio-pci"
                && d != "pci-stub"
                && d != "pcieport"
            {
                others.push(format!("{name} is bound to {d}"));
            }
        }
    }
    if !others.is_empty() {
        others.sort();
        return Err(VfioOpenError::GroupNotViable {
            group,
            others: others.join(", "),
        });
    }
    Ok(group)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pci_addresses_are_checked() {
        assert!(check_address("0000:00:03.0").is_ok());
        assert!(check_address("0000:af:1f.7").is_ok());
        for bad in [
            "00:03.0",
            "0000:00:03.8",
            "0000:00:03",
            "0000-00:03.0",
            "000g:00:03.0",
        ] {
            assert!(
                matches!(check_address(bad), Err(VfioOpenError::BadAddress(_))),
                "{bad}"
            );
        }
    }

    /// A fake sysfs tree with symlinks, as the kernel lays it out.
    fn tree(driver: Option<&str>, group: bool, mate: Option<&str>) -> PathBuf {
        use std::os::unix::fs::symlink;
        let root = std::env::temp_dir().join(format!(
            "vfpga-sysfs-{}-{:?}-{group}-{:?}",
            std::process::id(),
            driver,
            mate
        ));
        let _ = std::fs::remove_dir_all(&root);
        let devs = root.join("bus/pci/devices");
        let groups = root.join("kernel/iommu_groups/7/devices");
        std::fs::create_dir_all(&devs).unwrap();
        std::fs::create_dir_all(&groups).unwrap();
        std::fs::create_dir_all(root.join("bus/pci/drivers/virtio-pci")).unwrap();
        std::fs::create_dir_all(root.join("bus/pci/drivers/vfio-pci")).unwrap();
        for (bdf, drv) in [("0000:00:03.0", driver), ("0000:00:03.1", mate)] {
            let d = devs.join(bdf);
            std::fs::create_dir_all(&d).unwrap();
            if group {
                symlink(root.join("kernel/iommu_groups/7"), d.join("iommu_group")).unwrap();
                symlink(&d, groups.join(bdf)).unwrap();
            }
            if let Some(drv) = drv {
                symlink(root.join("bus/pci/drivers").join(drv), d.join("driver")).unwrap();
            }
        }
        root
    }

    #[test]
    fn sysfs_checks_name_the_cause() {
        let t = tree(Some("vfio-pci"), true, None);
        assert_eq!(check(&t, "0000:00:03.0").unwrap(), 7);
        assert!(matches!(
            check(&t, "0000:00:04.0"),
            Err(VfioOpenError::NoSuchDevice(_))
        ));
        let t = tree(Some("virtio-pci"), true, None);
        let e = check(&t, "0000:00:03.0").unwrap_err();
        assert!(
            matches!(&e, VfioOpenError::BoundToOtherDriver { driver, .. } if driver == "virtio-pci")
        );
        assert!(e.to_string().contains("driver_override"), "{e}");
        let t = tree(None, true, None);
        assert!(matches!(
            check(&t, "0000:00:03.0"),
            Err(VfioOpenError::NotBound(_))
        ));
        let t = tree(Some("vfio-pci"), false, None);
        assert!(matches!(
            check(&t, "0000:00:03.0"),
            Err(VfioOpenError::NoIommuGroup(_))
        ));
        let t = tree(Some("vfio-pci"), true, Some("virtio-pci"));
        let e = check(&t, "0000:00:03.0").unwrap_err();
        assert!(
            matches!(e, VfioOpenError::GroupNotViable { group: 7, .. }),
            "{e}"
        );
        assert!(
            e.to_string()
                .contains("0000:00:03.1 is bound to virtio-pci"),
            "{e}"
        );
    }
}
