//! A small virtio-blk driver (virtio 1.2 §5.2) for self-tests and
//! benchmarks: several queues, many requests in flight per queue, MSI-X
//! completion, read/write/flush, and a data pattern every byte of which
//! can be checked.

use std::sync::Arc;
use std::time::{Duration, Instant};

use vfpga_abi::{blk, features as f};
use vmm_sys_util::eventfd::EventFd;

use crate::dma::{DmaAllocator, DmaMemory};
use crate::interrupts::{new_eventfd, wait_any};
use crate::queue::{self, Queue};
use crate::split_queue::Buf;
use crate::virtio_pci::{VirtioError, VirtioPci};
use crate::{Device, DeviceError};

/// Offset of the data buffer in a request slot; header and status live on
/// the first page.
const DATA_OFF: usize = 4096;
/// Offset of the status byte in a slot.
const STATUS_OFF: usize = blk::REQ_HEADER_LEN as usize;

/// How the driver sets the device up.
#[derive(Debug, Clone, Copy)]
pub struct BlkOptions {
    /// Request queues to use.
    pub queues: u16,
    /// Requests in flight per queue.
    pub depth: u16,
    /// Bytes per read/write request (a multiple of 512).
    pub request_size: u32,
    /// How long to wait for a completion before giving up.
    pub timeout: Duration,
}

impl Default for BlkOptions {
    fn default() -> Self {
        BlkOptions {
            queues: 1,
            depth: 16,
            request_size: 64 * 1024,
            timeout: Duration::from_secs(30),
        }
    }
}

/// Errors of the blk driver.
#[derive(Debug, thiserror::Error)]
pub enum BlkError {
    /// virtio-pci transport failure.
    #[error(transparent)]
    Virtio(#[from] VirtioError),
    /// Device trait failure.
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// Not a block device.
    #[error("device type {0} is not virtio-blk (2)")]
    NotBlk(u16),
    /// An option the device cannot satisfy.
    #[error("{option}: {reason}")]
    BadOption {
        /// The option, as on the command line.
        option: &'static str,
        /// Why.
        reason: String,
    },
    /// A request completed with a status other than OK.
    #[error(
        "{kind} of {len} bytes at sector {sector} on queue {queue} failed with status {status}"
    )]
    Request {
        /// "read", "write" or "flush".
        kind: &'static str,
        /// Queue.
        queue: u16,
        /// First sector.
        sector: u64,
        /// Length.
        len: u32,
        /// Status byte.
        status: u8,
    },
    /// No completion arrived in time.
    #[error("no completion within {0:?} ({1} requests in flight)")]
    Timeout(Duration, usize),
    /// The check callback refused data.
    #[error("{0}")]
    Verify(String),
    /// A system call failed.
    #[error("{0}: {1}")]
    Io(&'static str, std::io::Error),
}

/// What a request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReqKind {
    /// Read into memory.
    Read,
    /// Write from memory.
    Write,
    /// Flush the volatile cache.
    Flush,
}

impl ReqKind {
    fn name(self) -> &'static str {
        match self {
            ReqKind::Read => "read",
            ReqKind::Write => "write",
            ReqKind::Flush => "flush",
        }
    }
}

/// One request of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// What.
    pub kind: ReqKind,
    /// First 512-byte sector.
    pub sector: u64,
    /// Bytes (0 for flush).
    pub len: u32,
}

/// Counts of one [`BlkDriver::run`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Requests completed.
    pub requests: u64,
    /// Data bytes moved.
    pub bytes: u64,
    /// MSI-X interrupts consumed.
    pub interrupts: u64,
    /// Notifications (doorbell writes) sent.
    pub notifies: u64,
    /// Completions found only after a wait timed out (lost interrupts).
    pub lost_interrupts: u64,
}

#[derive(Debug)]
struct Slot {
    mem: DmaMemory,
    req: Option<Request>,
}

#[derive(Debug)]
struct BlkQueue {
    q: Queue,
    slots: Vec<Slot>,
    free_slots: Vec<usize>,
    head_slot: Vec<Option<usize>>,
}

impl BlkQueue {
    /// Requests in flight on this queue.
    fn in_flight(&self) -> usize {
        self.slots.len() - self.free_slots.len()
    }
}

/// A virtio-blk device, set up and running (DRIVER_OK).
#[derive(Debug)]
pub struct BlkDriver {
    pci: VirtioPci,
    queues: Vec<BlkQueue>,
    config_irq: EventFd,
    capacity: u64,
    opts: BlkOptions,
}

impl BlkDriver {
    /// Features this driver understands.
    pub const FEATURES: u64 = f::bit(f::BLK_MQ)
        | f::bit(f::BLK_FLUSH)
        | f::bit(f::BLK_BLK_SIZE)
        | f::bit(f::BLK_SEG_MAX)
        | f::bit(f::BLK_SIZE_MAX)
        | f::bit(f::RING_EVENT_IDX)
        | f::bit(f::NOTIFICATION_DATA);

    /// Brings `dev` up as a blk device with `opts` (§3.1.1).
    pub fn new(dev: Arc<dyn Device>, opts: BlkOptions) -> Result<Self, BlkError> {
        let mut pci = VirtioPci::new(dev.clone())?;
        let t = pci.device_type()?;
        if t != 2 {
            return Err(BlkError::NotBlk(t));
        }
        if opts.request_size == 0 || !opts.request_size.is_multiple_of(blk::SECTOR_SIZE as u32) {
            return Err(BlkError::BadOption {
                option: "--request-size",
                reason: format!("{} is not a positive multiple of 512", opts.request_size),
            });
        }
        let negotiated = pci.negotiate(Self::FEATURES, Duration::from_secs(5))?;
        let has = |b: u32| negotiated & f::bit(b) != 0;
        let capacity = pci.config_u64(blk::config::CAPACITY)?;
        let dev_queues = if has(f::BLK_MQ) {
            pci.config_u16(blk::config::NUM_QUEUES)?
        } else {
            1
        };
        if opts.queues == 0 || opts.queues > dev_queues {
            return Err(BlkError::BadOption {
                option: "--queues",
                reason: format!("{} requested, the device has {dev_queues}", opts.queues),
            });
        }
        if has(f::BLK_SIZE_MAX) {
            let size_max = pci.config_u32(blk::config::SIZE_MAX)?;
            if size_max != 0 && opts.request_size > size_max {
                return Err(BlkError::BadOption {
                    option: "--request-size",
                    reason: format!(
                        "{} is above the device's size_max {size_max}",
                        opts.request_size
                    ),
                });
            }
        }
        let vectors = dev.msix_vectors();
        if vectors < opts.queues + 1 {
            return Err(BlkError::BadOption {
                option: "--queues",
                reason: format!(
                    "{} queues need {} MSI-X vectors (one per queue plus config), the function has {vectors}",
                    opts.queues,
                    opts.queues + 1
                ),
            });
        }
        let alloc = DmaAllocator::new(dev.clone());
        let event_idx = has(f::RING_EVENT_IDX);
        let mut queues = Vec::new();
        for q in 0..opts.queues {
            let max = pci.queue_max_size(q)?;
            // Each request is a chain of 3 descriptors.
            let need = (opts.depth as u32 * 3).next_power_of_two();
            if opts.depth == 0 || need > max as u32 {
                return Err(BlkError::BadOption {
                    option: "--depth",
                    reason: format!(
                        "{} requests of 3 descriptors need a queue of {need}, queue {q} holds at most {max}",
                        opts.depth
                    ),
                });
            }
            let q = Queue::new(&pci, &alloc, q, need as u16, event_idx)?;
            let mut slots = Vec::new();
            for _ in 0..opts.depth {
                slots.push(Slot {
                    mem: alloc.alloc(DATA_OFF + opts.request_size as usize)?,
                    req: None,
                });
            }
            queues.push(BlkQueue {
                head_slot: vec![None; q.vq.size() as usize],
                q,
                free_slots: (0..opts.depth as usize).rev().collect(),
                slots,
            });
        }
        let config_irq = new_eventfd().map_err(|e| BlkError::Io("eventfd", e))?;
        let qs: Vec<&Queue> = queues.iter().map(|q| &q.q).collect();
        queue::start(&pci, &config_irq, &qs)?;
        tracing::info!(
            device = dev.describe(),
            capacity_sectors = capacity,
            queues = opts.queues,
            depth = opts.depth,
            features = format_args!("{negotiated:#x}"),
            "virtio-blk up"
        );
        Ok(BlkDriver {
            pci,
            queues,
            config_irq,
            capacity,
            opts,
        })
    }

    /// Capacity in 512-byte sectors.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Whether FLUSH was negotiated.
    pub fn has_flush(&self) -> bool {
        self.pci.has(f::BLK_FLUSH)
    }

    /// The transport underneath (features, vendor region).
    pub fn pci(&self) -> &VirtioPci {
        &self.pci
    }

    /// Runs `reqs` over all queues with up to `depth` in flight on each.
    /// `fill` writes a write request's data; `check` inspects a read's.
    pub fn run(
        &mut self,
        reqs: impl IntoIterator<Item = Request>,
        mut fill: impl FnMut(&Request, &mut [u8]),
        mut check: impl FnMut(&Request, &[u8]) -> Result<(), String>,
    ) -> Result<RunStats, BlkError> {
        let mut reqs = reqs.into_iter();
        let mut st = RunStats::default();
        let mut scratch = vec![0u8; self.opts.request_size as usize];
        let mut done = false;
        loop {
            // Submit: fill every queue, then notify each once.
            for q in &mut self.queues {
                let mut added = false;
                while !done && !q.free_slots.is_empty() {
                    let Some(r) = reqs.next() else {
                        done = true;
                        break;
                    };
                    if r.len > self.opts.request_size || r.len % 512 != 0 {
                        return Err(BlkError::Verify(format!(
                            "request of {} bytes does not fit a {}-byte slot",
                            r.len, self.opts.request_size
                        )));
                    }
                    let si = q.free_slots.pop().unwrap();
                    let slot = &mut q.slots[si];
                    let ty = match r.kind {
                        ReqKind::Read => blk::req::IN,
                        ReqKind::Write => blk::req::OUT,
                        ReqKind::Flush => blk::req::FLUSH,
                    };
                    slot.mem.write_u32(0, ty);
                    slot.mem.write_u32(4, 0);
                    slot.mem.write_u64(8, r.sector);
                    // A status the device never writes must not pass as OK.
                    slot.mem.write(STATUS_OFF, &[0xFF]);
                    if r.kind == ReqKind::Write {
                        let d = &mut scratch[..r.len as usize];
                        fill(&r, d);
                        slot.mem.write(DATA_OFF, d);
                    }
                    let base = slot.mem.iova();
                    let hdr = Buf {
                        addr: base,
                        len: blk::REQ_HEADER_LEN,
                        write: false,
                    };
                    let status = Buf {
                        addr: base + STATUS_OFF as u64,
                        len: 1,
                        write: true,
                    };
                    let data = Buf {
                        addr: base + DATA_OFF as u64,
                        len: r.len,
                        write: r.kind == ReqKind::Read,
                    };
                    let chain: &[Buf] = if r.kind == ReqKind::Flush {
                        &[hdr, status]
                    } else {
                        &[hdr, data, status]
                    };
                    let head =
                        q.q.vq
                            .add(chain)
                            .expect("queue sized for depth chains of 3");
                    q.head_slot[head as usize] = Some(si);
                    slot.req = Some(r);
                    added = true;
                }
                if added && q.q.kick(&self.pci)? {
                    st.notifies += 1;
                }
            }
            // Counted from the slots, not per call: requests an earlier
            // failed run left in flight still hold theirs.
            let inflight: usize = self.queues.iter().map(BlkQueue::in_flight).sum();
            if inflight == 0 && done {
                return Ok(st);
            }
            // Wait for an interrupt on any queue or the config vector.
            let fired = self.wait(self.opts.timeout)?;
            st.interrupts += fired as u64;
            self.pci.check_needs_reset()?;
            let mut reaped = 0;
            for q in &mut self.queues {
                while let Some((head, _len)) = q.q.vq.pop_used() {
                    let si = q.head_slot[head as usize].take().ok_or_else(|| {
                        BlkError::Verify(format!(
                            "queue {}: used head {head} was not in flight",
                            q.q.index()
                        ))
                    })?;
                    // The slot is free again whatever the outcome: a failed
                    // request must not keep it (the next run would starve).
                    q.free_slots.push(si);
                    let slot = &mut q.slots[si];
                    let r = slot.req.take().expect("in-flight slot has a request");
                    let mut status = [0u8];
                    slot.mem.read(STATUS_OFF, &mut status);
                    if status[0] != blk::status::OK {
                        return Err(BlkError::Request {
                            kind: r.kind.name(),
                            queue: q.q.index(),
                            sector: r.sector,
                            len: r.len,
                            status: status[0],
                        });
                    }
                    if r.kind == ReqKind::Read {
                        let d = &mut scratch[..r.len as usize];
                        slot.mem.read(DATA_OFF, d);
                        check(&r, d).map_err(BlkError::Verify)?;
                    }
                    reaped += 1;
                    st.requests += 1;
                    st.bytes += r.len as u64;
                }
            }
            if fired == 0 {
                if reaped == 0 {
                    return Err(BlkError::Timeout(self.opts.timeout, inflight));
                }
                st.lost_interrupts += reaped;
                tracing::warn!(reaped, "completions without an interrupt");
            }
        }
    }

    /// Waits up to `timeout` for a configuration-change interrupt (§4.1.5.3),
    /// then checks DEVICE_NEEDS_RESET and re-reads the capacity with the
    /// generation check. Returns the new capacity, or `None` on timeout.
    pub fn wait_config_change(&mut self, timeout: Duration) -> Result<Option<u64>, BlkError> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let fired = wait_any(&[&self.config_irq], left).map_err(|e| BlkError::Io("poll", e))?;
            if fired[0] > 0 {
                break;
            }
            if left.is_zero() {
                return Ok(None);
            }
        }
        self.pci.check_needs_reset()?;
        self.capacity = self.pci.config_u64(blk::config::CAPACITY)?;
        Ok(Some(self.capacity))
    }

    /// Waits for any of our eventfds; returns how many fired (0 on timeout).
    fn wait(&self, timeout: Duration) -> Result<usize, BlkError> {
        let fds: Vec<&EventFd> = std::iter::once(&self.config_irq)
            .chain(self.queues.iter().map(|q| q.q.irq()))
            .collect();
        let counts = wait_any(&fds, timeout).map_err(|e| BlkError::Io("poll", e))?;
        if counts[0] > 0 {
            tracing::info!("configuration change interrupt");
        }
        // The counts tell how many MSI-X messages arrived.
        Ok(counts.iter().sum::<u64>() as usize)
    }
}

impl Drop for BlkDriver {
    fn drop(&mut self) {
        queue::stop(&mut self.pci);
    }
}

/// The selftest data pattern: 8-byte little-endian words, each a hash of
/// the seed and the word's byte offset on the disk, so data written to the
/// wrong place or read from the wrong place is caught.
pub fn pattern_word(seed: u64, disk_offset: u64) -> u64 {
    // splitmix64 finaliser.
    let mut z = seed ^ (disk_offset / 8).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Fills `buf`, which lands at `disk_offset` (8-aligned), with the pattern.
pub fn fill_pattern(seed: u64, disk_offset: u64, buf: &mut [u8]) {
    for (i, w) in buf.chunks_exact_mut(8).enumerate() {
        w.copy_from_slice(&pattern_word(seed, disk_offset + 8 * i as u64).to_le_bytes());
    }
}

/// Checks `buf` read from `disk_offset`; returns the number of bad bytes
/// and the disk offset of the first.
pub fn check_pattern(seed: u64, disk_offset: u64, buf: &[u8]) -> Option<(u64, u64)> {
    let mut bad = 0u64;
    let mut first = None;
    for (i, w) in buf.chunks_exact(8).enumerate() {
        let want = pattern_word(seed, disk_offset + 8 * i as u64).to_le_bytes();
        for (j, (a, b)) in w.iter().zip(want).enumerate() {
            if *a != b {
                bad += 1;
                first.get_or_insert(disk_offset + 8 * i as u64 + j as u64);
            }
        }
    }
    first.map(|f| (bad, f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_differs_by_place_and_seed() {
        let mut a = vec![0u8; 4096];
        fill_pattern(1, 0, &mut a);
        assert_eq!(check_pattern(1, 0, &a), None);
        // The same data read back from the next sector is wrong everywhere.
        let (bad, first) = check_pattern(1, 512, &a).unwrap();
        assert_eq!(first, 512);
        assert!(bad > 4000);
        assert!(check_pattern(2, 0, &a).is_some());
        a[1000] ^= 1;
        assert_eq!(check_pattern(1, 0, &a), Some((1, 1000)));
    }
}
