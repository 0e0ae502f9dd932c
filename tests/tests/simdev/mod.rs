//! Shared by the suites that drive the simulated board through
//! `vfpga-host`: building a `SimDevice` on a chosen backend, and a small
//! raw virtio-blk driver whose rings the test writes itself, so that it can
//! leave requests in flight, build malformed chains or point buffers at
//! unmapped addresses (things the real drivers never do).

#![allow(dead_code)]

use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vfpga_abi::ring as r;
use vfpga_abi::{blk, features as f};
use vfpga_host::Device;
use vfpga_host::dma::{DmaAllocator, DmaMemory};
use vfpga_host::virtio_pci::VirtioPci;
use vfpga_sim::backend::{self, BackendKind};
use vfpga_sim::machine::MachineConfig;
use vfpga_sim::storage::{Image, StorageConfig};
use vfpga_sim::{SimConfig, SimDevice};
use vmm_sys_util::eventfd::{EFD_NONBLOCK, EventFd};

/// How long a test waits for the device before it fails. Generous: the
/// machine is shared and rust-hdl simulates a few thousand cycles per
/// second. Tests never assert on how long anything took.
pub const PATIENCE: Duration = Duration::from_secs(300);

/// Whether backend `kind` can run. Verilator may be missing: then the test
/// fails under CI=true and otherwise says why it skips.
pub fn backend_or_skip(kind: BackendKind, test: &str) -> bool {
    if kind == BackendKind::RustHdl || backend::verilator_available() {
        return true;
    }
    let why = backend::verilator_status();
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{test}: the Verilator backend is required under CI=true: {why}");
    }
    eprintln!("{test}: skipped: the Verilator backend is unavailable: {why}");
    false
}

/// The board's configuration: on rust-hdl (a few thousand cycles per
/// second) the storage answers fast so that tiny workloads finish in
/// seconds; on Verilator it keeps the default NVMe-like latency.
pub fn machine(kind: BackendKind) -> MachineConfig {
    match kind {
        BackendKind::RustHdl => MachineConfig {
            storage: StorageConfig {
                latency: 100,
                jitter: 20,
                flush_latency: 100,
                ..StorageConfig::default()
            },
            ..MachineConfig::default()
        },
        BackendKind::Verilator => MachineConfig::default(),
    }
}

/// A simulated blk board of `sectors` on backend `kind`.
pub fn sim(kind: BackendKind, sectors: u64, cfg: MachineConfig) -> Arc<SimDevice> {
    Arc::new(
        SimDevice::new(SimConfig {
            backend: Some(kind),
            machine: cfg,
            image: Image::ram(sectors * 512).unwrap(),
        })
        .unwrap(),
    )
}

/// Offset of the status byte in a request slot (the header is at 0).
pub const STATUS_OFF: usize = blk::REQ_HEADER_LEN as usize;
/// Offset of the data in a request slot.
pub const DATA_OFF: usize = 4096;

/// One request buffer: header, status byte, data.
#[derive(Debug)]
pub struct Slot {
    /// The memory (header at 0, status at [`STATUS_OFF`], data at [`DATA_OFF`]).
    pub mem: DmaMemory,
    /// Head descriptor of the chain using it, while in flight.
    pub head: Option<u16>,
}

/// A virtio-blk device brought up by hand: one queue whose descriptor
/// table, avail and used ring the test writes directly, MSI-X vector 0 for
/// configuration changes and vector 1 for the queue.
#[derive(Debug)]
pub struct RawBlk {
    /// The transport.
    pub pci: VirtioPci,
    /// DMA memory of the rings and slots.
    pub alloc: DmaAllocator,
    /// Descriptor table, avail ring, used ring (one allocation).
    pub ring: DmaMemory,
    /// Queue size.
    pub size: u16,
    /// Request slots; slot `i` uses descriptors `3i .. 3i + 2`.
    pub slots: Vec<Slot>,
    /// Configuration-change interrupts.
    pub config_irq: EventFd,
    /// Queue 0 interrupts.
    pub queue_irq: EventFd,
    doorbell: (u8, u64),
    avail_idx: u16,
    last_used: u16,
}

/// Where the three areas of a ring of `size` lie in its allocation.
fn layout(size: u16) -> (usize, usize, usize) {
    let avail = 16 * size as usize;
    let used = (avail + 6 + 2 * size as usize).next_multiple_of(4096);
    (0, avail, used)
}

impl RawBlk {
    /// §3.1.1 by hand: reset, features (VERSION_1, ACCESS_PLATFORM, FLUSH),
    /// queue 0 of `size` with `slots` request slots of `data` bytes each,
    /// MSI-X, DRIVER_OK.
    pub fn up(dev: Arc<dyn Device>, size: u16, slots: usize, data: usize) -> RawBlk {
        assert!(3 * slots <= size as usize);
        let mut pci = VirtioPci::new(dev.clone()).unwrap();
        pci.negotiate(f::bit(f::BLK_FLUSH), Duration::from_secs(30))
            .unwrap();
        let alloc = DmaAllocator::new(dev.clone());
        let (_, _, used) = layout(size);
        let ring = alloc.alloc(used + 6 + 8 * size as usize).unwrap();
        let slots = (0..slots)
            .map(|_| Slot {
                mem: alloc.alloc(DATA_OFF + data).unwrap(),
                head: None,
            })
            .collect();
        let config_irq = EventFd::new(EFD_NONBLOCK).unwrap();
        let queue_irq = EventFd::new(EFD_NONBLOCK).unwrap();
        dev.enable_msix(&[Some(&config_irq), Some(&queue_irq)])
            .unwrap();
        pci.set_config_vector(0).unwrap();
        let (d, a, u) = layout(size);
        let base = ring.iova();
        pci.setup_queue(
            0,
            size,
            base + d as u64,
            base + a as u64,
            base + u as u64,
            1,
        )
        .unwrap();
        pci.driver_ok().unwrap();
        pci.check_needs_reset().unwrap();
        let doorbell = pci.doorbell(0).unwrap();
        RawBlk {
            pci,
            alloc,
            ring,
            size,
            slots,
            config_irq,
            queue_irq,
            doorbell,
            avail_idx: 0,
            last_used: 0,
        }
    }

    /// Writes descriptor `i`.
    pub fn desc(&self, i: u16, addr: u64, len: u32, flags: u16, next: u16) {
        let at = 16 * i as usize;
        self.ring.write_u64(at + r::DESC_ADDR as usize, addr);
        self.ring.write_u32(at + r::DESC_LEN as usize, len);
        self.ring.write_u16(at + r::DESC_FLAGS as usize, flags);
        self.ring.write_u16(at + r::DESC_NEXT as usize, next);
    }

    /// Publishes `head` in the avail ring (entry, then index: §2.7.13).
    pub fn publish(&mut self, head: u16) {
        let (_, a, _) = layout(self.size);
        let slot = a + r::AVAIL_RING as usize + 2 * (self.avail_idx % self.size) as usize;
        self.ring.write_u16(slot, head);
        self.avail_idx = self.avail_idx.wrapping_add(1);
        self.ring
            .store_u16_release(a + r::AVAIL_IDX as usize, self.avail_idx);
    }

    /// Puts a blk request in slot `s`: `kind` at `sector` with `data`
    /// (written for OUT, its length read for IN), status poisoned to 0xFF.
    /// Returns the head descriptor. Not yet published.
    pub fn prepare(&mut self, s: usize, kind: u32, sector: u64, data: &[u8]) -> u16 {
        let slot = &self.slots[s];
        slot.mem.write_u32(0, kind);
        slot.mem.write_u32(4, 0);
        slot.mem.write_u64(8, sector);
        slot.mem.write(STATUS_OFF, &[0xFF]);
        if kind == blk::req::OUT {
            slot.mem.write(DATA_OFF, data);
        } else {
            slot.mem.write(DATA_OFF, &vec![0u8; data.len()]);
        }
        let base = slot.mem.iova();
        let head = 3 * s as u16;
        let write = if kind == blk::req::IN {
            r::DESC_F_WRITE
        } else {
            0
        };
        self.desc(head, base, blk::REQ_HEADER_LEN, r::DESC_F_NEXT, head + 1);
        self.desc(
            head + 1,
            base + DATA_OFF as u64,
            data.len() as u32,
            write | r::DESC_F_NEXT,
            head + 2,
        );
        self.desc(head + 2, base + STATUS_OFF as u64, 1, r::DESC_F_WRITE, 0);
        self.slots[s].head = Some(head);
        head
    }

    /// [`Self::prepare`] and [`Self::publish`].
    pub fn submit(&mut self, s: usize, kind: u32, sector: u64, data: &[u8]) {
        let head = self.prepare(s, kind, sector, data);
        self.publish(head);
    }

    /// Rings queue 0's doorbell.
    pub fn kick(&self) {
        self.pci.notify(0, self.doorbell, self.avail_idx).unwrap();
    }

    /// `used.idx` as the device wrote it.
    pub fn used_idx(&self) -> u16 {
        let (_, _, u) = layout(self.size);
        self.ring.load_u16_acquire(u + r::USED_IDX as usize)
    }

    /// The next used element not yet taken: (slot, status byte, length).
    pub fn pop(&mut self) -> Option<(usize, u8, u32)> {
        if self.used_idx() == self.last_used {
            return None;
        }
        let (_, _, u) = layout(self.size);
        let e = u + r::USED_RING as usize + 8 * (self.last_used % self.size) as usize;
        let id = self.ring.read_u32(e);
        let len = self.ring.read_u32(e + 4);
        self.last_used = self.last_used.wrapping_add(1);
        let s = (id / 3) as usize;
        assert_eq!(
            self.slots[s].head.take(),
            Some(id as u16),
            "the device returned head {id}, which is not in flight"
        );
        let mut st = [0u8];
        self.slots[s].mem.read(STATUS_OFF, &mut st);
        Some((s, st[0], len))
    }

    /// Takes used elements until `n` more arrived; fails after [`PATIENCE`].
    pub fn complete(&mut self, n: usize) -> Vec<(usize, u8, u32)> {
        let start = Instant::now();
        let mut got = Vec::new();
        while got.len() < n {
            match self.pop() {
                Some(e) => got.push(e),
                None => {
                    assert!(
                        start.elapsed() < PATIENCE,
                        "{} of {n} completions after {PATIENCE:?}; device_status {:#x}",
                        got.len(),
                        self.pci.status().unwrap()
                    );
                    wait_fd(&self.queue_irq, Duration::from_millis(20));
                }
            }
        }
        got
    }

    /// Reads the data of slot `s`.
    pub fn data(&self, s: usize, len: usize) -> Vec<u8> {
        let mut v = vec![0; len];
        self.slots[s].mem.read(DATA_OFF, &mut v);
        v
    }
}

/// Waits up to `timeout` for `fd` to be signalled; consumes the count.
/// Returns whether it was.
pub fn wait_fd(fd: &EventFd, timeout: Duration) -> bool {
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let n = unsafe { libc::poll(&mut p, 1, timeout.as_millis().min(i32::MAX as u128) as i32) };
    n == 1 && fd.read().is_ok()
}

impl Drop for RawBlk {
    fn drop(&mut self) {
        // Stop the device before its rings and slots are unmapped.
        if let Err(e) = self.pci.reset(Duration::from_secs(30)) {
            eprintln!("reset on drop failed: {e}");
        }
        let _ = self.pci.device().disable_msix();
    }
}
