//! A virtqueue as a driver runs it over virtio-pci: the split ring in DMA
//! memory, its doorbell, and the eventfd its MSI-X vector signals. Also the
//! bring-up and tear-down steps every driver here shares (§3.1.1 steps 7-8,
//! and reset before the rings are unmapped).

use std::time::Duration;

use vfpga_abi::common_cfg::NO_VECTOR;
use vmm_sys_util::eventfd::EventFd;

use crate::DeviceError;
use crate::dma::DmaAllocator;
use crate::interrupts::new_eventfd;
use crate::split_queue::SplitQueue;
use crate::virtio_pci::{VirtioError, VirtioPci};

/// One virtqueue of a device, driver side.
#[derive(Debug)]
pub struct Queue {
    index: u16,
    /// The ring.
    pub vq: SplitQueue,
    doorbell: (u8, u64),
    irq: EventFd,
}

impl Queue {
    /// Allocates queue `index` with `size` entries. [`start`] checks that
    /// the device has the queue and that it holds that many.
    pub fn new(
        pci: &VirtioPci,
        alloc: &DmaAllocator,
        index: u16,
        size: u16,
        event_idx: bool,
    ) -> Result<Self, VirtioError> {
        Ok(Queue {
            index,
            vq: SplitQueue::new(alloc, size, event_idx)?,
            doorbell: pci.doorbell(index)?,
            irq: new_eventfd().map_err(|e| DeviceError::io("eventfd", e))?,
        })
    }

    /// The queue's index on the device.
    pub fn index(&self) -> u16 {
        self.index
    }

    /// The eventfd its MSI-X vector signals.
    pub fn irq(&self) -> &EventFd {
        &self.irq
    }

    /// Notifies the device of what was added since the last notification,
    /// unless it asked not to be (§2.7.10). Returns whether it rang.
    pub fn kick(&mut self, pci: &VirtioPci) -> Result<bool, VirtioError> {
        if !self.vq.should_notify() {
            return Ok(false);
        }
        pci.notify(self.index, self.doorbell, self.vq.next_avail())?;
        Ok(true)
    }
}

/// §3.1.1 steps 7-8 after feature negotiation: routes MSI-X vector 0 to
/// `config_irq` and vector `i + 1` to `queues[i]`, programs and enables the
/// queues, sets DRIVER_OK and checks the device did not fail.
pub fn start(pci: &VirtioPci, config_irq: &EventFd, queues: &[&Queue]) -> Result<(), VirtioError> {
    let dev = pci.device();
    let vectors = dev.msix_vectors();
    if (vectors as usize) < queues.len() + 1 {
        return Err(VirtioError::VectorRefused {
            vector: queues.len() as u16,
            what: format!(
                "{} queues (one vector per queue plus config; the function has {vectors})",
                queues.len()
            ),
        });
    }
    let mut fds: Vec<Option<&EventFd>> = vec![Some(config_irq)];
    fds.extend(queues.iter().map(|q| Some(&q.irq)));
    dev.enable_msix(&fds)?;
    pci.set_config_vector(0)?;
    for (i, q) in queues.iter().enumerate() {
        pci.setup_queue(
            q.index,
            q.vq.size(),
            q.vq.desc_iova(),
            q.vq.avail_iova(),
            q.vq.used_iova(),
            i as u16 + 1,
        )?;
    }
    pci.driver_ok()?;
    pci.check_needs_reset()
}

/// Stops the device before its rings and buffers are unmapped: reset, no
/// configuration vector, MSI-X off. For `Drop`, so failures are logged.
pub fn stop(pci: &mut VirtioPci) {
    if let Err(e) = pci.reset(Duration::from_secs(5)) {
        tracing::error!(%e, "reset on drop failed");
    }
    let _ = pci.set_config_vector(NO_VECTOR);
    let _ = pci.device().disable_msix();
}
