//! Split virtqueue memory layout (virtio 1.2 §2.7).

/// Size of one descriptor (`addr: u64, len: u32, flags: u16, next: u16`).
pub const DESC_SIZE: u32 = 16;
/// Offset of `addr` in a descriptor.
pub const DESC_ADDR: u32 = 0;
/// Offset of `len` in a descriptor.
pub const DESC_LEN: u32 = 8;
/// Offset of `flags` in a descriptor.
pub const DESC_FLAGS: u32 = 12;
/// Offset of `next` in a descriptor.
pub const DESC_NEXT: u32 = 14;

/// Descriptor flag: the chain continues at `next`.
pub const DESC_F_NEXT: u16 = 1;
/// Descriptor flag: the buffer is device-writable.
pub const DESC_F_WRITE: u16 = 2;
/// Descriptor flag: the buffer holds a table of indirect descriptors.
pub const DESC_F_INDIRECT: u16 = 4;

/// Offset of `flags` in the avail ring.
pub const AVAIL_FLAGS: u32 = 0;
/// Offset of `idx` in the avail ring.
pub const AVAIL_IDX: u32 = 2;
/// Offset of `ring[0]` in the avail ring; entries are 2 bytes.
pub const AVAIL_RING: u32 = 4;
/// Avail flag: the driver does not want interrupts (ignored with EVENT_IDX).
pub const AVAIL_F_NO_INTERRUPT: u16 = 1;

/// Offset of `flags` in the used ring.
pub const USED_FLAGS: u32 = 0;
/// Offset of `idx` in the used ring.
pub const USED_IDX: u32 = 2;
/// Offset of `ring[0]` in the used ring; entries are 8 bytes (`id: u32, len: u32`).
pub const USED_RING: u32 = 4;
/// Size of one used element.
pub const USED_ELEM_SIZE: u32 = 8;
/// Used flag: the device does not want notifications (ignored with EVENT_IDX).
pub const USED_F_NO_NOTIFY: u16 = 1;

/// Required alignment of the descriptor table.
pub const DESC_ALIGN: u64 = 16;
/// Required alignment of the avail ring.
pub const AVAIL_ALIGN: u64 = 2;
/// Required alignment of the used ring.
pub const USED_ALIGN: u64 = 4;

/// Largest queue size the hardware supports (default HDL parameter).
pub const MAX_QUEUE_SIZE: u16 = 256;

/// Offset of `used_event` (after the avail ring of `size` entries).
pub const fn used_event_offset(size: u16) -> u32 {
    AVAIL_RING + 2 * size as u32
}

/// Offset of `avail_event` (after the used ring of `size` entries).
pub const fn avail_event_offset(size: u16) -> u32 {
    USED_RING + USED_ELEM_SIZE * size as u32
}

/// Where the used ring goes when it directly follows an avail ring of
/// `size` entries at `avail` (the legacy contiguous layout, §2.7.2): past
/// `used_event`, aligned to [`USED_ALIGN`]. virtio-queue 0.18's
/// `MockSplitQueue` puts it `size` bytes, not entries, after the avail
/// ring's start (rust-vmm/vm-virtio#400), so its two rings overlap; test
/// rings take their used ring from here instead.
pub const fn used_ring_after_avail(avail: u64, size: u16) -> u64 {
    let end = avail + used_event_offset(size) as u64 + 2;
    end.next_multiple_of(USED_ALIGN)
}

/// `vring_need_event` (§2.7.10): should the side that moved the index from
/// `old` to `new` notify, given the other side asked to hear at `event`?
pub const fn need_event(event: u16, new: u16, old: u16) -> bool {
    new.wrapping_sub(event).wrapping_sub(1) < new.wrapping_sub(old)
}
