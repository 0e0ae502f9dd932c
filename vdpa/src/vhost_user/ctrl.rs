//! The daemon as driver of the hardware's own net control queue.
//!
//! QEMU keeps the guest's control queue; the hardware's control queue (served
//! by its firmware) is driven by us. Its ring and command buffers are in this
//! process's memory, mapped at IOVAs in the daemon's window (see
//! [`super::iova_window`]), never where guest RAM is. Commands are rare (a
//! pair count change) so one is sent at a time and its completion polled:
//! the queue has no interrupt vector.

use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vfpga_abi::{common_cfg, net};
use vfpga_host::Device;
use vfpga_host::dma::{DmaAllocator, DmaMemory};
use vfpga_host::split_queue::{Buf, SplitQueue};
use vfpga_host::virtio_pci::VirtioPci;

use super::VdpaError;
use super::iova_window::IovaWindow;

/// Ring size: one command at a time needs 3 descriptors.
const SIZE: u16 = 8;
/// Command buffer layout: header (class, command), payload, ack.
const HDR: usize = 0;
const DATA: usize = 64;
const ACK: usize = 4032;
/// Largest payload a command may carry here.
const MAX_DATA: usize = ACK - DATA;

/// The device's control queue, owned by the daemon.
#[derive(Debug)]
pub struct CtrlQueue {
    index: u16,
    queue: SplitQueue,
    buf: DmaMemory,
    doorbell: (u8, u64),
}

impl CtrlQueue {
    /// Allocates the ring in `window` and programs it as queue `index`
    /// (without an MSI-X vector). Call between FEATURES_OK and DRIVER_OK.
    pub fn new(
        pci: &VirtioPci,
        dev: Arc<dyn Device>,
        window: Range<u64>,
        index: u16,
    ) -> Result<Self, VdpaError> {
        let alloc = DmaAllocator::new(Arc::new(IovaWindow::new(dev, window)));
        let queue = SplitQueue::new(&alloc, SIZE, false)?;
        let buf = alloc.alloc(ACK + 1)?;
        pci.setup_queue(
            index,
            SIZE,
            queue.desc_iova(),
            queue.avail_iova(),
            queue.used_iova(),
            common_cfg::NO_VECTOR,
        )?;
        let doorbell = pci.doorbell(index)?;
        tracing::info!(
            queue = index,
            ring = format_args!("{:#x}", queue.desc_iova()),
            "device control queue set up in daemon memory"
        );
        Ok(CtrlQueue {
            index,
            queue,
            buf,
            doorbell,
        })
    }

    /// The queue's index on the device.
    pub fn index(&self) -> u16 {
        self.index
    }

    /// Sends one command and waits for the device's ack (§5.1.6.5).
    pub fn command(
        &mut self,
        pci: &VirtioPci,
        class: u8,
        cmd: u8,
        data: &[u8],
        timeout: Duration,
    ) -> Result<(), VdpaError> {
        assert!(data.len() <= MAX_DATA, "control payload too large");
        // The previous command completed before we returned, so the
        // buffers are ours again.
        self.buf.write(HDR, &[class, cmd]);
        self.buf.write(DATA, data);
        self.buf.write(ACK, &[0xFF]);
        let base = self.buf.iova();
        let mut bufs = vec![Buf {
            addr: base + HDR as u64,
            len: 2,
            write: false,
        }];
        if !data.is_empty() {
            bufs.push(Buf {
                addr: base + DATA as u64,
                len: data.len() as u32,
                write: false,
            });
        }
        bufs.push(Buf {
            addr: base + ACK as u64,
            len: 1,
            write: true,
        });
        let head = self
            .queue
            .add(&bufs)
            .ok_or(VdpaError::OutOfOrder("control queue full"))?;
        if self.queue.should_notify() {
            pci.notify(self.index, self.doorbell, self.queue.next_avail())?;
        }
        let start = Instant::now();
        loop {
            if let Some((id, _len)) = self.queue.pop_used() {
                if id != head {
                    return Err(VdpaError::CtrlCommand {
                        class,
                        cmd,
                        why: format!("device returned head {id}, sent {head}"),
                    });
                }
                break;
            }
            if start.elapsed() > timeout {
                // The chain stays in flight: a later reset reclaims it.
                return Err(VdpaError::CtrlCommand {
                    class,
                    cmd,
                    why: format!("no completion within {timeout:?}"),
                });
            }
            pci.check_needs_reset()?;
            std::thread::sleep(Duration::from_micros(200));
        }
        let mut ack = [0u8];
        self.buf.read(ACK, &mut ack);
        if ack[0] != net::ctrl::OK {
            return Err(VdpaError::CtrlCommand {
                class,
                cmd,
                why: format!("device answered {:#x} (VIRTIO_NET_ERR is 1)", ack[0]),
            });
        }
        Ok(())
    }
}
