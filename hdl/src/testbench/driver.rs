//! The driver's side of a split virtqueue (virtio 1.2 §2.7), built in the
//! host memory model: descriptor table, avail ring and used ring.

use crate::testbench::host_memory::HostMemory;
use vfpga_abi::ring::*;

/// One buffer of a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buffer {
    /// Guest address.
    pub addr: u64,
    /// Length in bytes.
    pub len: u32,
    /// Device-writable.
    pub write: bool,
}

impl Buffer {
    /// A device-readable buffer.
    pub fn r(addr: u64, len: u32) -> Self {
        Buffer {
            addr,
            len,
            write: false,
        }
    }

    /// A device-writable buffer.
    pub fn w(addr: u64, len: u32) -> Self {
        Buffer {
            addr,
            len,
            write: true,
        }
    }
}

/// A split virtqueue as the driver sees it.
#[derive(Debug, Clone)]
pub struct SplitQueue {
    /// Descriptor table address.
    pub desc: u64,
    /// Avail ring address.
    pub avail: u64,
    /// Used ring address.
    pub used: u64,
    /// Queue size.
    pub size: u16,
    /// Next descriptor index to hand out.
    pub next_desc: u16,
    /// avail.idx as published.
    pub avail_idx: u16,
    /// Used entries already consumed by the test.
    pub used_seen: u16,
}

impl SplitQueue {
    /// Lays the rings out from `base` and maps them.
    pub fn new(mem: &mut HostMemory, base: u64, size: u16) -> Self {
        let desc = base;
        let avail = desc + DESC_SIZE as u64 * size as u64;
        let used = (avail + used_event_offset(size) as u64 + 2 + 3) & !3;
        let end = used + avail_event_offset(size) as u64 + 2;
        mem.map(base, (end - base) as usize);
        SplitQueue {
            desc,
            avail,
            used,
            size,
            next_desc: 0,
            avail_idx: 0,
            used_seen: 0,
        }
    }

    /// Writes descriptor `i`.
    pub fn write_desc(
        &self,
        mem: &mut HostMemory,
        i: u16,
        addr: u64,
        len: u32,
        flags: u16,
        next: u16,
    ) {
        let a = self.desc + DESC_SIZE as u64 * i as u64;
        mem.write_u64(a, addr);
        mem.write_u32(a + DESC_LEN as u64, len);
        mem.write_u16(a + DESC_FLAGS as u64, flags);
        mem.write_u16(a + DESC_NEXT as u64, next);
    }

    /// Writes `bufs` as a direct chain on consecutive free descriptors and
    /// returns its head (not yet made available).
    pub fn add_chain(&mut self, mem: &mut HostMemory, bufs: &[Buffer]) -> u16 {
        let head = self.next_desc;
        for (k, b) in bufs.iter().enumerate() {
            let i = self.next_desc;
            let next = (i + 1) % self.size;
            let mut flags = if b.write { DESC_F_WRITE } else { 0 };
            if k + 1 < bufs.len() {
                flags |= DESC_F_NEXT;
            }
            self.write_desc(
                mem,
                i,
                b.addr,
                b.len,
                flags,
                if k + 1 < bufs.len() { next } else { 0 },
            );
            self.next_desc = next;
        }
        head
    }

    /// Writes `bufs` as an indirect table at `table` (mapped by the caller)
    /// and one descriptor pointing at it; returns the head.
    pub fn add_indirect(&mut self, mem: &mut HostMemory, table: u64, bufs: &[Buffer]) -> u16 {
        for (k, b) in bufs.iter().enumerate() {
            let a = table + DESC_SIZE as u64 * k as u64;
            let mut flags = if b.write { DESC_F_WRITE } else { 0 };
            if k + 1 < bufs.len() {
                flags |= DESC_F_NEXT;
            }
            mem.write_u64(a, b.addr);
            mem.write_u32(a + 8, b.len);
            mem.write_u16(a + 12, flags);
            mem.write_u16(a + 14, if k + 1 < bufs.len() { k as u16 + 1 } else { 0 });
        }
        let head = self.next_desc;
        self.write_desc(
            mem,
            head,
            table,
            DESC_SIZE * bufs.len() as u32,
            DESC_F_INDIRECT,
            0,
        );
        self.next_desc = (head + 1) % self.size;
        head
    }

    /// Puts `head` in the next avail slot and publishes avail.idx.
    pub fn make_available(&mut self, mem: &mut HostMemory, head: u16) {
        let slot = self.avail_idx % self.size;
        mem.write_u16(self.avail + AVAIL_RING as u64 + 2 * slot as u64, head);
        self.avail_idx = self.avail_idx.wrapping_add(1);
        mem.write_u16(self.avail + AVAIL_IDX as u64, self.avail_idx);
    }

    /// used.idx as the device wrote it.
    pub fn used_idx(&self, mem: &HostMemory) -> u16 {
        mem.read_u16(self.used + USED_IDX as u64)
    }

    /// Used element `i` (position in the ring, not yet masked): (id, len).
    pub fn used_elem(&self, mem: &HostMemory, i: u16) -> (u32, u32) {
        let a = self.used + USED_RING as u64 + USED_ELEM_SIZE as u64 * (i % self.size) as u64;
        (mem.read_u32(a), mem.read_u32(a + 4))
    }

    /// Sets avail.flags.
    pub fn set_avail_flags(&self, mem: &mut HostMemory, flags: u16) {
        mem.write_u16(self.avail + AVAIL_FLAGS as u64, flags);
    }

    /// Sets used_event (the driver's EVENT_IDX threshold).
    pub fn set_used_event(&self, mem: &mut HostMemory, v: u16) {
        mem.write_u16(self.avail + used_event_offset(self.size) as u64, v);
    }

    /// avail_event as the device wrote it.
    pub fn avail_event(&self, mem: &HostMemory) -> u16 {
        mem.read_u16(self.used + avail_event_offset(self.size) as u64)
    }
}
