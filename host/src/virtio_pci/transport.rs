//! Common configuration, notify, ISR and device configuration access.

use std::sync::Arc;
use std::time::{Duration, Instant};

use vfpga_abi::{common_cfg as cc, features, status};

use super::caps::{self, Capabilities, Region};
use super::vendor::VendorRegion;
use crate::{Device, DeviceError, DeviceExt};

/// Errors of the virtio-pci driver.
#[derive(Debug, thiserror::Error)]
pub enum VirtioError {
    /// The device trait failed.
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// The capability list is unusable.
    #[error(transparent)]
    Caps(#[from] caps::CapError),
    /// `device_status` did not read 0 after a reset (§4.1.4.3.2).
    #[error("device did not complete reset within {0:?} (device_status still {1:#04x})")]
    ResetTimeout(Duration, u8),
    /// The device does not offer VIRTIO_F_VERSION_1.
    #[error("device does not offer VIRTIO_F_VERSION_1 (legacy-only devices are not supported)")]
    NotModern,
    /// FEATURES_OK did not stick (§3.1.1 step 6).
    #[error("device refused the feature set {0:#x} (FEATURES_OK not set on read-back)")]
    FeaturesRefused(u64),
    /// A queue the caller asked for does not exist.
    #[error("queue {0} does not exist (device has {1})")]
    NoSuchQueue(u16, u16),
    /// A queue size that is 0, above the maximum or not a power of two.
    #[error("queue {queue}: size {size} is invalid (maximum {max}, must be a power of two)")]
    BadQueueSize {
        /// Queue.
        queue: u16,
        /// Requested size.
        size: u16,
        /// Device maximum.
        max: u16,
    },
    /// The device could not allocate the MSI-X vector (§4.1.5.1.2).
    #[error("device refused MSI-X vector {vector} for {what}")]
    VectorRefused {
        /// Vector.
        vector: u16,
        /// "config" or "queue N".
        what: String,
    },
    /// The device set DEVICE_NEEDS_RESET.
    #[error("device needs reset (DEVICE_NEEDS_RESET){0}")]
    NeedsReset(String),
    /// The device configuration kept changing under the reader.
    #[error("device configuration kept changing (config_generation unstable)")]
    ConfigUnstable,
}

/// One virtio-pci function, driven through a [`Device`].
#[derive(Debug)]
pub struct VirtioPci {
    dev: Arc<dyn Device>,
    caps: Capabilities,
    common: Region,
    notify: Region,
    notify_mult: u32,
    isr: Region,
    negotiated: u64,
    vendor: Option<VendorRegion>,
}

impl VirtioPci {
    /// Finds the virtio structures and turns on bus mastering.
    pub fn new(dev: Arc<dyn Device>) -> Result<Self, VirtioError> {
        let caps = caps::walk(|o, b: &mut [u8]| dev.config_read(o, b))??;
        let (notify, notify_mult) = caps.notify.expect("walk checked");
        dev.enable_bus_master()?;
        let vendor = match caps.vendor {
            Some(r) => VendorRegion::probe(dev.clone(), r)?,
            None => None,
        };
        tracing::debug!(?caps, vendor = vendor.is_some(), "virtio-pci capabilities");
        Ok(VirtioPci {
            common: caps.common.expect("walk checked"),
            isr: caps.isr.expect("walk checked"),
            notify,
            notify_mult,
            caps,
            dev,
            negotiated: 0,
            vendor,
        })
    }

    /// The device underneath.
    pub fn device(&self) -> &Arc<dyn Device> {
        &self.dev
    }

    /// What the capability walk found.
    pub fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    /// The vendor region, when the device is a vfpga function.
    pub fn vendor(&self) -> Option<&VendorRegion> {
        self.vendor.as_ref()
    }

    /// The virtio device type from the PCI device id (§4.1.2.1).
    pub fn device_type(&self) -> Result<u16, VirtioError> {
        let id = self
            .dev
            .config_read_u16(vfpga_abi::pci::header::DEVICE_ID)?;
        Ok(match id {
            0x1040..=0x107F => id - 0x1040,
            // Transitional ids (§4.1.2.3).
            0x1000 => 1,
            0x1001 => 2,
            0x1002 => 5,
            0x1003 => 3,
            0x1004 => 8,
            0x1005 => 4,
            0x1009 => 9,
            other => other,
        })
    }

    fn c8(&self, off: u32) -> Result<u8, DeviceError> {
        self.dev
            .read_u8(self.common.bar, (self.common.offset + off) as u64)
    }
    fn c16(&self, off: u32) -> Result<u16, DeviceError> {
        self.dev
            .read_u16(self.common.bar, (self.common.offset + off) as u64)
    }
    fn c32(&self, off: u32) -> Result<u32, DeviceError> {
        self.dev
            .read_u32(self.common.bar, (self.common.offset + off) as u64)
    }
    fn w8(&self, off: u32, v: u8) -> Result<(), DeviceError> {
        self.dev
            .write_u8(self.common.bar, (self.common.offset + off) as u64, v)
    }
    fn w16(&self, off: u32, v: u16) -> Result<(), DeviceError> {
        self.dev
            .write_u16(self.common.bar, (self.common.offset + off) as u64, v)
    }
    fn w32(&self, off: u32, v: u32) -> Result<(), DeviceError> {
        self.dev
            .write_u32(self.common.bar, (self.common.offset + off) as u64, v)
    }
    fn w64(&self, off: u32, v: u64) -> Result<(), DeviceError> {
        self.dev
            .write_u64_split(self.common.bar, (self.common.offset + off) as u64, v)
    }

    /// `device_status`.
    pub fn status(&self) -> Result<u8, VirtioError> {
        Ok(self.c8(cc::DEVICE_STATUS)?)
    }

    /// Writes `device_status`.
    pub fn set_status(&self, s: u8) -> Result<(), VirtioError> {
        Ok(self.w8(cc::DEVICE_STATUS, s)?)
    }

    fn add_status(&self, bits: u8) -> Result<(), VirtioError> {
        let s = self.status()?;
        self.set_status(s | bits)
    }

    /// Resets the device: writes 0 and waits until `device_status` reads 0
    /// (§4.1.4.3.2), at most `timeout`.
    pub fn reset(&mut self, timeout: Duration) -> Result<(), VirtioError> {
        self.set_status(0)?;
        let start = Instant::now();
        loop {
            let s = self.status()?;
            if s == 0 {
                break;
            }
            if start.elapsed() > timeout {
                return Err(VirtioError::ResetTimeout(timeout, s));
            }
            std::thread::sleep(Duration::from_micros(100));
        }
        self.negotiated = 0;
        Ok(())
    }

    /// The 64 feature bits the device offers.
    pub fn device_features(&self) -> Result<u64, VirtioError> {
        self.w32(cc::DEVICE_FEATURE_SELECT, 0)?;
        let lo = self.c32(cc::DEVICE_FEATURE)? as u64;
        self.w32(cc::DEVICE_FEATURE_SELECT, 1)?;
        let hi = self.c32(cc::DEVICE_FEATURE)? as u64;
        Ok(lo | hi << 32)
    }

    /// §3.1.1 steps 1-6: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK
    /// read back. Accepts `wanted & offered`, plus what this transport
    /// itself requires: VERSION_1, and ACCESS_PLATFORM when offered (all
    /// our DMA goes through the IOMMU). Returns the negotiated set.
    pub fn negotiate(&mut self, wanted: u64, timeout: Duration) -> Result<u64, VirtioError> {
        self.reset(timeout)?;
        self.set_status(status::ACKNOWLEDGE)?;
        self.add_status(status::DRIVER)?;
        let offered = self.device_features()?;
        if offered & features::bit(features::VERSION_1) == 0 {
            let _ = self.add_status(status::FAILED);
            return Err(VirtioError::NotModern);
        }
        let transport =
            features::bit(features::VERSION_1) | features::bit(features::ACCESS_PLATFORM);
        let accepted = offered & (wanted | transport);
        self.write_driver_features(accepted)?;
        self.add_status(status::FEATURES_OK)?;
        if self.status()? & status::FEATURES_OK == 0 {
            let _ = self.add_status(status::FAILED);
            return Err(VirtioError::FeaturesRefused(accepted));
        }
        tracing::debug!(
            offered = format_args!("{offered:#x}"),
            accepted = format_args!("{accepted:#x}"),
            "features negotiated"
        );
        Ok(accepted)
    }

    /// Writes the driver feature bits as they are (for drivers that run
    /// the §3.1.1 sequence themselves, like `virtio-drivers`).
    pub fn write_driver_features(&mut self, accepted: u64) -> Result<(), VirtioError> {
        self.w32(cc::DRIVER_FEATURE_SELECT, 0)?;
        self.w32(cc::DRIVER_FEATURE, accepted as u32)?;
        self.w32(cc::DRIVER_FEATURE_SELECT, 1)?;
        self.w32(cc::DRIVER_FEATURE, (accepted >> 32) as u32)?;
        self.negotiated = accepted;
        Ok(())
    }

    /// Negotiated features (0 before [`Self::negotiate`]).
    pub fn negotiated(&self) -> u64 {
        self.negotiated
    }

    /// Whether feature `bit` was negotiated.
    pub fn has(&self, bit: u32) -> bool {
        self.negotiated & features::bit(bit) != 0
    }

    /// Sets DRIVER_OK (§3.1.1 step 8).
    pub fn driver_ok(&self) -> Result<(), VirtioError> {
        self.add_status(status::DRIVER_OK)
    }

    /// `num_queues`.
    pub fn num_queues(&self) -> Result<u16, VirtioError> {
        Ok(self.c16(cc::NUM_QUEUES)?)
    }

    /// Maximum size of queue `q` (0 = the queue does not exist).
    pub fn queue_max_size(&self, q: u16) -> Result<u16, VirtioError> {
        self.w16(cc::QUEUE_SELECT, q)?;
        Ok(self.c16(cc::QUEUE_SIZE)?)
    }

    /// Routes configuration-change interrupts to MSI-X `vector`
    /// ([`cc::NO_VECTOR`] for none); checks the device took it.
    pub fn set_config_vector(&self, vector: u16) -> Result<(), VirtioError> {
        self.w16(cc::CONFIG_MSIX_VECTOR, vector)?;
        let got = self.c16(cc::CONFIG_MSIX_VECTOR)?;
        if got != vector {
            return Err(VirtioError::VectorRefused {
                vector,
                what: "config".into(),
            });
        }
        Ok(())
    }

    /// §4.1.5.1.3: programs queue `q` (size, ring addresses as IOVAs, MSI-X
    /// vector) and enables it.
    pub fn setup_queue(
        &self,
        q: u16,
        size: u16,
        desc: u64,
        driver: u64,
        device: u64,
        vector: u16,
    ) -> Result<(), VirtioError> {
        let n = self.num_queues()?;
        if q >= n {
            return Err(VirtioError::NoSuchQueue(q, n));
        }
        let max = self.queue_max_size(q)?;
        if size == 0 || size > max || !size.is_power_of_two() {
            return Err(VirtioError::BadQueueSize {
                queue: q,
                size,
                max,
            });
        }
        self.w16(cc::QUEUE_SIZE, size)?;
        self.w64(cc::QUEUE_DESC, desc)?;
        self.w64(cc::QUEUE_DRIVER, driver)?;
        self.w64(cc::QUEUE_DEVICE, device)?;
        self.w16(cc::QUEUE_MSIX_VECTOR, vector)?;
        let got = self.c16(cc::QUEUE_MSIX_VECTOR)?;
        if got != vector {
            return Err(VirtioError::VectorRefused {
                vector,
                what: format!("queue {q}"),
            });
        }
        self.w16(cc::QUEUE_ENABLE, 1)?;
        Ok(())
    }

    /// Whether queue `q` is enabled. (virtio 1.x PCI cannot disable a single
    /// queue without RING_RESET; a device reset disables them all.)
    pub fn queue_enabled(&self, q: u16) -> Result<bool, VirtioError> {
        self.w16(cc::QUEUE_SELECT, q)?;
        Ok(self.c16(cc::QUEUE_ENABLE)? != 0)
    }

    /// Offset of queue `q`'s doorbell in the notify BAR.
    pub fn doorbell(&self, q: u16) -> Result<(u8, u64), VirtioError> {
        self.w16(cc::QUEUE_SELECT, q)?;
        let off = self.c16(cc::QUEUE_NOTIFY_OFF)?;
        Ok((
            self.notify.bar,
            self.notify.offset as u64 + off as u64 * self.notify_mult as u64,
        ))
    }

    /// Notifies queue `q` at `doorbell` (from [`Self::doorbell`]). With
    /// NOTIFICATION_DATA the write carries the next avail index (§4.1.5.2);
    /// otherwise it is the 16-bit queue index.
    pub fn notify(&self, q: u16, doorbell: (u8, u64), next_avail: u16) -> Result<(), VirtioError> {
        if self.has(features::NOTIFICATION_DATA) {
            // Split ring: bits 16..31 are the avail index (no wrap bit).
            let v = q as u32 | (next_avail as u32) << 16;
            self.dev.write_u32(doorbell.0, doorbell.1, v)?;
        } else {
            self.dev.write_u16(doorbell.0, doorbell.1, q)?;
        }
        Ok(())
    }

    /// Reads (and so clears) the ISR status byte.
    pub fn isr(&self) -> Result<u8, VirtioError> {
        Ok(self.dev.read_u8(self.isr.bar, self.isr.offset as u64)?)
    }

    /// `config_generation`.
    pub fn config_generation(&self) -> Result<u8, VirtioError> {
        Ok(self.c8(cc::CONFIG_GENERATION)?)
    }

    fn device_region(&self) -> Result<Region, VirtioError> {
        self.caps
            .device
            .ok_or(VirtioError::Caps(caps::CapError::Missing(
                "device configuration",
            )))
    }

    /// Reads one device-configuration field of 1, 2, 4 or 8 bytes (8 as two
    /// 4-byte reads), without the generation check.
    pub fn read_config_raw(&self, off: u32, data: &mut [u8]) -> Result<(), VirtioError> {
        let r = self.device_region()?;
        let base = (r.offset + off) as u64;
        if data.len() == 8 {
            self.dev.bar_read(r.bar, base, &mut data[..4])?;
            self.dev.bar_read(r.bar, base + 4, &mut data[4..])?;
        } else {
            self.dev.bar_read(r.bar, base, data)?;
        }
        Ok(())
    }

    /// Writes one device-configuration field.
    pub fn write_config_raw(&self, off: u32, data: &[u8]) -> Result<(), VirtioError> {
        let r = self.device_region()?;
        Ok(self.dev.bar_write(r.bar, (r.offset + off) as u64, data)?)
    }

    /// §4.1.4.3.1 / §2.5.1: runs `f` between two reads of
    /// `config_generation` and retries until they agree.
    pub fn read_config<T>(
        &self,
        f: impl Fn(&Self) -> Result<T, VirtioError>,
    ) -> Result<T, VirtioError> {
        for _ in 0..1000 {
            let before = self.config_generation()?;
            let v = f(self)?;
            if self.config_generation()? == before {
                return Ok(v);
            }
        }
        Err(VirtioError::ConfigUnstable)
    }

    /// Reads a little-endian u64 field consistently.
    pub fn config_u64(&self, off: u32) -> Result<u64, VirtioError> {
        self.read_config(|s| {
            let mut b = [0; 8];
            s.read_config_raw(off, &mut b)?;
            Ok(u64::from_le_bytes(b))
        })
    }

    /// Reads a little-endian u32 field consistently.
    pub fn config_u32(&self, off: u32) -> Result<u32, VirtioError> {
        self.read_config(|s| {
            let mut b = [0; 4];
            s.read_config_raw(off, &mut b)?;
            Ok(u32::from_le_bytes(b))
        })
    }

    /// Reads a little-endian u16 field consistently.
    pub fn config_u16(&self, off: u32) -> Result<u16, VirtioError> {
        self.read_config(|s| {
            let mut b = [0; 2];
            s.read_config_raw(off, &mut b)?;
            Ok(u16::from_le_bytes(b))
        })
    }

    /// Checks DEVICE_NEEDS_RESET (§2.1.2); on vfpga hardware the error
    /// cause from the vendor region is included.
    pub fn check_needs_reset(&self) -> Result<(), VirtioError> {
        let s = self.status()?;
        if s & status::DEVICE_NEEDS_RESET == 0 {
            return Ok(());
        }
        let detail = match &self.vendor {
            Some(v) => match v.error() {
                Ok((cause, queue, detail)) => format!(
                    ": {} on queue {queue} (detail {detail:#x})",
                    cause.map_or("unknown cause", |c| c.name())
                ),
                Err(e) => format!(": error cause unreadable: {e}"),
            },
            None => String::new(),
        };
        Err(VirtioError::NeedsReset(detail))
    }
}
