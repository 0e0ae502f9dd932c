//! A transmit queue (virtio 1.2 §5.1.6.2): each frame goes out as one
//! device-readable buffer holding `virtio_net_hdr_v1` and the frame, as
//! Linux sends a linear packet.

use vfpga_abi::net::HDR_LEN;

use super::NetError;
use crate::dma::{DmaAllocator, DmaMemory};
use crate::queue::Queue;
use crate::split_queue::Buf;

/// One transmitq with a slot per ring entry.
#[derive(Debug)]
pub(super) struct TxQueue {
    pub(super) q: Queue,
    mem: DmaMemory,
    /// Bytes between slots: whole pages, so that a frame up to a page long
    /// never crosses one (the hardware reads a page per DMA request).
    stride: usize,
    free: Vec<u16>,
    head_slot: Vec<Option<u16>>,
}

impl TxQueue {
    pub(super) fn new(q: Queue, alloc: &DmaAllocator, max_frame: usize) -> Result<Self, NetError> {
        let size = q.vq.size();
        let stride = (HDR_LEN as usize + max_frame).next_multiple_of(4096);
        let mem = alloc.alloc(size as usize * stride)?;
        Ok(TxQueue {
            q,
            mem,
            stride,
            free: (0..size).rev().collect(),
            head_slot: vec![None; size as usize],
        })
    }

    /// Whether a frame can be queued now.
    pub(super) fn has_room(&self) -> bool {
        !self.free.is_empty()
    }

    /// Frames the device has not sent yet.
    pub(super) fn in_flight(&self) -> usize {
        self.head_slot.len() - self.free.len()
    }

    /// Queues `frame` behind an all-zero header (no offloads: flags 0,
    /// GSO_NONE, and `num_buffers` 0 as the driver writes it on TX).
    /// Returns false when no slot is free. The caller kicks.
    pub(super) fn push(&mut self, frame: &[u8]) -> bool {
        let Some(&s) = self.free.last() else {
            return false;
        };
        let at = s as usize * self.stride;
        self.mem.write(at, &[0u8; HDR_LEN as usize]);
        self.mem.write(at + HDR_LEN as usize, frame);
        let buf = Buf {
            addr: self.mem.iova() + at as u64,
            len: HDR_LEN + frame.len() as u32,
            write: false,
        };
        let Some(head) = self.q.vq.add(&[buf]) else {
            return false;
        };
        self.free.pop();
        self.head_slot[head as usize] = Some(s);
        true
    }

    /// Takes back the slots of sent frames; returns how many.
    pub(super) fn reap(&mut self) -> Result<usize, NetError> {
        let mut n = 0;
        while let Some((head, _)) = self.q.vq.pop_used() {
            let s = self.head_slot[head as usize]
                .take()
                .ok_or_else(|| NetError::Protocol {
                    queue: format!("transmitq{}", self.q.index() / 2 + 1),
                    what: format!("used head {head} was not in flight"),
                })?;
            self.free.push(s);
            n += 1;
        }
        Ok(n)
    }
}
