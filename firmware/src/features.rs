//! Feature acceptance (virtio 1.2 §2.2.2, §3.1.1 step 5-6).

use vfpga_abi::features::{DEPENDENCIES, REQUIRED, VERSION_1, bit};

/// Why a driver's feature set was refused (FEATURES_OK left clear).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureRejection {
    /// VIRTIO_F_VERSION_1 missing: this is a modern-only device (§6.1).
    MissingVersion1,
    /// A required feature other than VERSION_1 is missing (these bits).
    MissingRequired(u64),
    /// The driver accepted bits the device did not offer (these bits).
    NotOffered(u64),
    /// `feature` accepted without `requires` (§5.1.3.1).
    MissingDependency {
        /// The dependent feature.
        feature: u32,
        /// The feature it needs.
        requires: u32,
    },
}

/// Checks the driver's features against what the device offered.
pub fn check(offered: u64, driver: u64) -> Result<(), FeatureRejection> {
    if driver & bit(VERSION_1) == 0 {
        return Err(FeatureRejection::MissingVersion1);
    }
    let missing = REQUIRED & !driver;
    if missing != 0 {
        return Err(FeatureRejection::MissingRequired(missing));
    }
    let extra = driver & !offered;
    if extra != 0 {
        return Err(FeatureRejection::NotOffered(extra));
    }
    for (feature, requires) in DEPENDENCIES {
        if driver & bit(feature) != 0 && driver & bit(requires) == 0 {
            return Err(FeatureRejection::MissingDependency { feature, requires });
        }
    }
    Ok(())
}
