//! vfpga's vendor region (see `vfpga_abi::vendor`): stop a queue, read or
//! restore its ring state, start it again; error cause and counters. Only
//! vfpga functions have it; for other virtio devices it is simply absent.

use std::sync::Arc;
use std::time::{Duration, Instant};

use vfpga_abi::vendor as v;

use super::caps::Region;
use crate::{Device, DeviceError, DeviceExt};

/// A queue's position in its rings, as vhost's GET/SET_VRING_BASE needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingState {
    /// Next avail entry the device will read.
    pub last_avail_idx: u16,
    /// Next used index the device will write.
    pub used_idx: u16,
}

/// The vendor region of one function.
#[derive(Debug)]
pub struct VendorRegion {
    dev: Arc<dyn Device>,
    region: Region,
    num_queues: u32,
}

/// Errors of the vendor region.
#[derive(Debug, thiserror::Error)]
pub enum VendorError {
    /// The device trait failed.
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// The queue did not report STOPPED in time.
    #[error("queue {0} did not stop within {1:?} ({2} chains still in flight)")]
    StopTimeout(u16, Duration, u32),
    /// Ring state may only be written while the queue is stopped.
    #[error("queue {0} is running; stop it before writing its ring state")]
    NotStopped(u16),
    /// No such queue in the region.
    #[error("queue {0} is beyond the {1} queues of the vendor region")]
    NoSuchQueue(u16, u32),
}

impl VendorRegion {
    /// Checks magic and version; `None` when the capability points at
    /// something that is not a version-1 vfpga region.
    pub fn probe(dev: Arc<dyn Device>, region: Region) -> Result<Option<Self>, DeviceError> {
        let base = region.offset as u64;
        let magic = dev.read_u32(region.bar, base + v::MAGIC as u64)?;
        let version = dev.read_u32(region.bar, base + v::VERSION as u64)?;
        if magic != v::MAGIC_VALUE || version != v::VERSION_VALUE || region.length < v::LEN {
            tracing::warn!(
                magic,
                version,
                "vendor capability without a vfpga region; ignoring it"
            );
            return Ok(None);
        }
        let num_queues = dev.read_u32(region.bar, base + v::NUM_QUEUES as u64)?;
        Ok(Some(VendorRegion {
            dev,
            region,
            num_queues,
        }))
    }

    fn at(&self, off: u32) -> u64 {
        self.region.offset as u64 + off as u64
    }

    fn queue(&self, q: u16, reg: u32) -> Result<u64, VendorError> {
        if q as u32 >= self.num_queues.min(v::MAX_QUEUES as u32) {
            return Err(VendorError::NoSuchQueue(q, self.num_queues));
        }
        Ok(self.at(v::queue_reg(q, reg)))
    }

    /// Asks queue `q` to stop fetching and waits until it reports STOPPED
    /// (nothing in flight), then returns its ring state.
    pub fn stop_queue(&self, q: u16, timeout: Duration) -> Result<RingState, VendorError> {
        let ctl = self.queue(q, v::Q_CONTROL)?;
        self.dev
            .write_u32(self.region.bar, ctl, v::Q_CONTROL_STOP)?;
        let start = Instant::now();
        while self.dev.read_u32(self.region.bar, ctl)? & v::Q_CONTROL_STOPPED == 0 {
            if start.elapsed() > timeout {
                let inflight = self
                    .dev
                    .read_u32(self.region.bar, self.queue(q, v::Q_INFLIGHT)?)?;
                return Err(VendorError::StopTimeout(q, timeout, inflight));
            }
            std::thread::sleep(Duration::from_micros(50));
        }
        self.ring_state(q)
    }

    /// Reads queue `q`'s ring state (stable only while stopped).
    pub fn ring_state(&self, q: u16) -> Result<RingState, VendorError> {
        Ok(RingState {
            last_avail_idx: self
                .dev
                .read_u16(self.region.bar, self.queue(q, v::Q_LAST_AVAIL_IDX)?)?,
            used_idx: self
                .dev
                .read_u16(self.region.bar, self.queue(q, v::Q_USED_IDX)?)?,
        })
    }

    /// Restores queue `q`'s ring state; the queue must be stopped.
    pub fn set_ring_state(&self, q: u16, s: RingState) -> Result<(), VendorError> {
        let ctl = self
            .dev
            .read_u32(self.region.bar, self.queue(q, v::Q_CONTROL)?)?;
        if ctl & v::Q_CONTROL_STOPPED == 0 {
            return Err(VendorError::NotStopped(q));
        }
        self.dev.write_u16(
            self.region.bar,
            self.queue(q, v::Q_LAST_AVAIL_IDX)?,
            s.last_avail_idx,
        )?;
        self.dev
            .write_u16(self.region.bar, self.queue(q, v::Q_USED_IDX)?, s.used_idx)?;
        Ok(())
    }

    /// Lets queue `q` run again.
    pub fn start_queue(&self, q: u16) -> Result<(), VendorError> {
        self.dev
            .write_u32(self.region.bar, self.queue(q, v::Q_CONTROL)?, 0)?;
        Ok(())
    }

    /// The error cause registers: (cause, queue, detail).
    pub fn error(&self) -> Result<(Option<v::ErrorCause>, u32, u32), DeviceError> {
        let cause = self
            .dev
            .read_u32(self.region.bar, self.at(v::ERROR_CAUSE))?;
        let queue = self
            .dev
            .read_u32(self.region.bar, self.at(v::ERROR_QUEUE))?;
        let detail = self
            .dev
            .read_u32(self.region.bar, self.at(v::ERROR_DETAIL))?;
        Ok((v::ErrorCause::from_u32(cause), queue, detail))
    }

    /// The engine counters, named as in `vfpga_abi::vendor::COUNTER_NAMES`.
    pub fn counters(&self) -> Result<[u64; v::NUM_COUNTERS], DeviceError> {
        let mut c = [0u64; v::NUM_COUNTERS];
        for (i, slot) in c.iter_mut().enumerate() {
            let o = self.at(v::counter(i));
            let lo = self.dev.read_u32(self.region.bar, o)? as u64;
            let hi = self.dev.read_u32(self.region.bar, o + 4)? as u64;
            *slot = lo | hi << 32;
        }
        Ok(c)
    }
}
