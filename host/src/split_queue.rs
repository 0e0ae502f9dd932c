//! The driver side of a split virtqueue (virtio 1.2 §2.7) in DMA memory.
//!
//! The device side is the hardware; this is us: descriptors, the avail ring
//! we publish, the used ring we consume, and EVENT_IDX suppression.

use std::sync::atomic::{Ordering, fence};

use vfpga_abi::ring as r;

use crate::Result;
use crate::dma::{DmaAllocator, DmaMemory};

/// Byte offsets of the three areas in one allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Descriptor table (offset 0).
    pub desc: usize,
    /// Avail ring (driver area), including `used_event`.
    pub avail: usize,
    /// Used ring (device area), including `avail_event`.
    pub used: usize,
    /// Total bytes.
    pub len: usize,
}

impl Layout {
    /// Layout of a queue of `size` entries with the §2.7 alignments; the
    /// used ring starts on its own 4 KiB page as legacy layouts did, which
    /// keeps device writes away from driver-written cache lines.
    pub const fn new(size: u16) -> Layout {
        let desc = 0;
        let avail = r::DESC_SIZE as usize * size as usize;
        let avail_len = r::used_event_offset(size) as usize + 2;
        let used = (avail + avail_len).next_multiple_of(4096);
        let used_len = r::avail_event_offset(size) as usize + 2;
        Layout {
            desc,
            avail,
            used,
            len: used + used_len,
        }
    }
}

/// One buffer of a chain: device address, length, device-writable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buf {
    /// IOVA of the buffer.
    pub addr: u64,
    /// Length in bytes.
    pub len: u32,
    /// Whether the device writes it.
    pub write: bool,
}

/// A split virtqueue owned by the driver.
#[derive(Debug)]
pub struct SplitQueue {
    mem: DmaMemory,
    layout: Layout,
    size: u16,
    free: Vec<u16>,
    chains: Vec<Vec<u16>>,
    next_avail: u16,
    last_used: u16,
    event_idx: bool,
    /// avail.idx when the device was last notified.
    notified_at: u16,
}

impl SplitQueue {
    /// Allocates a queue of `size` (a power of two) entries.
    pub fn new(alloc: &DmaAllocator, size: u16, event_idx: bool) -> Result<Self> {
        let layout = Layout::new(size);
        let mem = alloc.alloc(layout.len)?;
        Ok(SplitQueue {
            mem,
            layout,
            size,
            free: (0..size).rev().collect(),
            chains: vec![Vec::new(); size as usize],
            next_avail: 0,
            last_used: 0,
            event_idx,
            notified_at: 0,
        })
    }

    /// Queue size.
    pub fn size(&self) -> u16 {
        self.size
    }
    /// IOVA of the descriptor table.
    pub fn desc_iova(&self) -> u64 {
        self.mem.iova() + self.layout.desc as u64
    }
    /// IOVA of the avail ring.
    pub fn avail_iova(&self) -> u64 {
        self.mem.iova() + self.layout.avail as u64
    }
    /// IOVA of the used ring.
    pub fn used_iova(&self) -> u64 {
        self.mem.iova() + self.layout.used as u64
    }
    /// Free descriptors.
    pub fn free_descriptors(&self) -> usize {
        self.free.len()
    }
    /// The avail index the next chain will get (for NOTIFICATION_DATA).
    pub fn next_avail(&self) -> u16 {
        self.next_avail
    }

    /// Writes a chain and publishes it in the avail ring. Returns its head,
    /// or `None` when too few descriptors are free.
    pub fn add(&mut self, bufs: &[Buf]) -> Option<u16> {
        if bufs.is_empty() || bufs.len() > self.free.len() {
            return None;
        }
        let ids: Vec<u16> = (0..bufs.len()).map(|_| self.free.pop().unwrap()).collect();
        for (i, (b, &id)) in bufs.iter().zip(&ids).enumerate() {
            let d = self.layout.desc + id as usize * r::DESC_SIZE as usize;
            let mut flags = if b.write { r::DESC_F_WRITE } else { 0 };
            let next = if i + 1 < ids.len() {
                flags |= r::DESC_F_NEXT;
                ids[i + 1]
            } else {
                0
            };
            self.mem.write_u64(d + r::DESC_ADDR as usize, b.addr);
            self.mem.write_u32(d + r::DESC_LEN as usize, b.len);
            self.mem.write_u16(d + r::DESC_FLAGS as usize, flags);
            self.mem.write_u16(d + r::DESC_NEXT as usize, next);
        }
        let head = ids[0];
        let slot = (self.next_avail % self.size) as usize;
        self.mem
            .write_u16(self.layout.avail + r::AVAIL_RING as usize + 2 * slot, head);
        self.next_avail = self.next_avail.wrapping_add(1);
        // §2.7.13.3.1: the index is written after the ring entry (release).
        self.mem
            .store_u16_release(self.layout.avail + r::AVAIL_IDX as usize, self.next_avail);
        self.chains[head as usize] = ids;
        Some(head)
    }

    /// Whether the device wants a notification for what was added since the
    /// last one (§2.7.10 with EVENT_IDX, §2.7.7 flags otherwise). Call it
    /// right before notifying; it records the point notified.
    pub fn should_notify(&mut self) -> bool {
        // The avail.idx store must be visible before we read the device's
        // suppression state, or both sides can miss each other.
        fence(Ordering::SeqCst);
        let old = self.notified_at;
        let new = self.next_avail;
        self.notified_at = new;
        if old == new {
            return false;
        }
        if self.event_idx {
            let ev = self
                .mem
                .load_u16_acquire(self.layout.used + r::avail_event_offset(self.size) as usize);
            r::need_event(ev, new, old)
        } else {
            let flags = self
                .mem
                .load_u16_acquire(self.layout.used + r::USED_FLAGS as usize);
            flags & r::USED_F_NO_NOTIFY == 0
        }
    }

    /// Takes the next used element: (head, bytes written). Frees its chain.
    pub fn pop_used(&mut self) -> Option<(u16, u32)> {
        if self.event_idx {
            // Our used_event store must be visible before we look at
            // used.idx, or an element used in between raises no interrupt
            // and goes unseen.
            fence(Ordering::SeqCst);
        }
        let idx = self
            .mem
            .load_u16_acquire(self.layout.used + r::USED_IDX as usize);
        if idx == self.last_used {
            return None;
        }
        let slot = (self.last_used % self.size) as usize;
        let e = self.layout.used + r::USED_RING as usize + r::USED_ELEM_SIZE as usize * slot;
        let id = self.mem.read_u32(e);
        let len = self.mem.read_u32(e + 4);
        self.last_used = self.last_used.wrapping_add(1);
        if self.event_idx {
            // Ask for an interrupt when the next element is used.
            self.mem.store_u16_release(
                self.layout.avail + r::used_event_offset(self.size) as usize,
                self.last_used,
            );
        }
        let head = u16::try_from(id).ok().filter(|&h| h < self.size)?;
        let chain = std::mem::take(&mut self.chains[head as usize]);
        if chain.is_empty() {
            tracing::error!(head, "device returned a head that is not in flight");
            return None;
        }
        self.free.extend(chain);
        Some((head, len))
    }

    /// Number of chains the device has not returned yet.
    pub fn in_flight(&self) -> usize {
        self.chains.iter().filter(|c| !c.is_empty()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_2_7_layout_alignment_and_sizes() {
        for size in [1u16, 2, 16, 128, 256, 1024, 32768] {
            let l = Layout::new(size);
            assert_eq!(l.desc % r::DESC_ALIGN as usize, 0);
            assert_eq!(l.avail % r::AVAIL_ALIGN as usize, 0);
            assert_eq!(l.used % r::USED_ALIGN as usize, 0);
            assert_eq!(l.avail, 16 * size as usize);
            // flags + idx + ring + used_event.
            assert!(l.used >= l.avail + 6 + 2 * size as usize);
            // flags + idx + ring + avail_event.
            assert_eq!(l.len, l.used + 6 + 8 * size as usize);
        }
    }

    #[test]
    fn spec_2_7_10_event_index_across_wrap() {
        // The driver moved avail.idx from 65534 to 2; the device asked to
        // hear at 65535 (i.e. after entry 65535 is added): notify.
        assert!(r::need_event(65535, 2, 65534));
        // Asked at 3: not yet.
        assert!(!r::need_event(3, 2, 65534));
        // Asked at exactly old: the entry at old was added: notify.
        assert!(r::need_event(65534, 2, 65534));
    }
}
