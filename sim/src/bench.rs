//! The simulator's speed benchmark, shared by `cargo bench -p vfpga-sim`
//! and `vfpga bench sim`: simulated engine cycles per wall-clock second for
//! one backend, with the board idle or under a queue-depth-32 load of
//! 4 KiB reads, and the load's IOPS and MB/s in simulated time (the
//! hardware's own figure, independent of how fast the host simulates it).
//! The net workloads ([`Workload::NetLoopback`]) keep transmitq1 full of
//! frames of one size on a net board whose port is `loopback` and
//! receiveq1 stocked with buffers: every frame crosses TX, the MAC and RX;
//! the figures are frames per simulated second and cycles per frame.
//!
//! The board is driven on the calling thread, without [`crate::SimDevice`]'s
//! clock thread: guest memory mapped 1:1 through the IOMMU, BAR0 accesses
//! queued on the MMIO model and clocked to completion, a split ring written
//! directly in guest memory. The idle figure clocks the board without
//! letting it sleep, so it is the cost of a cycle with nothing to do.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use vfpga_abi::pci::header;
use vfpga_abi::ports::MmioRequest;
use vfpga_abi::ring::{AVAIL_IDX, AVAIL_RING, DESC_F_NEXT, DESC_F_WRITE, USED_IDX, USED_RING};
use vfpga_abi::{bar0, blk, common_cfg as cc, features, status};
use vm_memory::{Bytes, GuestAddress, GuestMemoryBackend, GuestMemoryMmap};

use crate::backend::{self, BackendKind};
use crate::bus::HostBus;
use crate::clock::ClockRate;
use crate::error::SimError;
use crate::iommu::Iommu;
use crate::machine::{Function, Machine, MachineConfig};
use crate::mmio::{MmioOp, split};
use crate::net::loopback::LoopbackPort;
use crate::storage::{Image, StorageConfig};

/// Guest memory of the bench board.
const MEM_SIZE: usize = 4 << 20;
/// Descriptor table, avail and used ring of queue 0.
const RING_BASE: u64 = 0x1_0000;
/// Request slots: header, status byte and 4 KiB of data each.
const DATA_BASE: u64 = 0x10_0000;
/// Bytes per request slot.
const SLOT_BYTES: u64 = 0x2000;
/// Offset of the status byte in a slot (the header is at 0).
const STATUS_OFF: u64 = 0x100;
/// Offset of the data in a slot.
const DATA_OFF: u64 = 0x1000;
/// Entries of queue 0 (the hardware's maximum is larger; 128 is plenty
/// for 32 chains of 3 descriptors).
const QSIZE: u16 = 128;
/// Requests kept in flight by the load.
pub const DEPTH: u16 = 32;
/// Bytes per read of the load.
pub const READ_BYTES: u32 = 4096;
/// Storage of the bench board, in 512-byte sectors (32 MiB).
const SECTORS: u64 = 1 << 16;
/// Cycles clocked between two looks at the clock and the used ring.
const BATCH: u32 = 256;
/// Cycles an MMIO access of the bring-up may take before it is an error.
const MMIO_TIMEOUT: u64 = 1 << 20;

/// What the board does while it is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// Brought up (DRIVER_OK, one queue enabled) with no request.
    Idle,
    /// [`DEPTH`] reads of [`READ_BYTES`] in flight, each resubmitted as
    /// soon as it completes.
    Qd32Read4k,
    /// A net board on `loopback`: [`DEPTH`] frames of `frame` bytes in
    /// flight on transmitq1, each resent as soon as it is used, and
    /// receiveq1 kept full of 2 KiB buffers (`frame` at most 2036 bytes,
    /// so that each frame takes one).
    NetLoopback {
        /// Frame length in bytes (Ethernet header included, no FCS).
        frame: u16,
    },
}

/// RX buffer of the net workloads (one frame each up to 2036 bytes).
const NET_RX_BUF: u32 = 2048;
/// receiveq1's rings (queue 0); transmitq1's are at [`RING_BASE`] + this.
const NET_TX_RINGS: u64 = 0x1_0000;
/// RX buffers; TX frames at [`DATA_BASE`] (one 4 KiB page each).
const NET_RX_BASE: u64 = 0x20_0000;

impl Workload {
    /// Short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Idle => "idle",
            Workload::Qd32Read4k => "qd32 4K rd",
            Workload::NetLoopback { frame: 64 } => "net lo 64B",
            Workload::NetLoopback { frame: 1500 } => "net lo 1500B",
            Workload::NetLoopback { .. } => "net lo",
        }
    }

    /// Whether it runs on a net board.
    pub fn is_net(self) -> bool {
        matches!(self, Workload::NetLoopback { .. })
    }
}

/// How long a measurement lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// This much wall-clock time (for figures).
    Wall(Duration),
    /// At least this many simulated cycles (reproducible, for tests).
    Cycles(u64),
}

/// Errors of a bench run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The board could not be built.
    #[error(transparent)]
    Sim(#[from] SimError),
    /// Bring-up failed: the hardware did not behave as a virtio device.
    #[error("bring-up on {backend}: {what}")]
    BringUp {
        /// Backend name.
        backend: &'static str,
        /// What went wrong.
        what: String,
    },
}

/// One measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Backend measured.
    pub backend: BackendKind,
    /// Workload measured.
    pub workload: Workload,
    /// Simulated cycles in the measurement window.
    pub cycles: u64,
    /// Wall-clock time of the window.
    pub wall: Duration,
    /// CPU time of the measuring thread in the window: on a shared machine
    /// the wall-clock rate depends on the load, the per-CPU-second rate
    /// much less.
    pub cpu: Duration,
    /// Requests completed in the window (net: frames received).
    pub requests: u64,
    /// Data bytes those requests moved (net: frame bytes received).
    pub bytes: u64,
    /// Completions whose status byte was not VIRTIO_BLK_S_OK (net: frames
    /// received with a wrong length or num_buffers).
    pub bad_status: u64,
    /// The nominal clock the cycles are counted at.
    pub clock: ClockRate,
    /// IOMMU faults during the run (a correct run has none).
    pub faults: u64,
    /// `device_status` at the end (DEVICE_NEEDS_RESET would show here).
    pub device_status: u8,
    /// Cycles of the window the backend skipped as fixed points (0 where
    /// it skips none).
    pub skipped: u64,
    /// Of those, cycles the clock jumped over without running the models.
    pub jumped: u64,
}

impl Sample {
    /// Whether the run saw no fault, no bad status and no DEVICE_NEEDS_RESET.
    pub fn is_clean(&self) -> bool {
        self.faults == 0
            && self.bad_status == 0
            && self.device_status & status::DEVICE_NEEDS_RESET == 0
    }

    /// Simulated cycles per wall-clock second.
    pub fn cycles_per_second(&self) -> f64 {
        self.cycles as f64 / self.wall.as_secs_f64()
    }

    /// Simulated cycles per CPU second of the measuring thread.
    pub fn cycles_per_cpu_second(&self) -> f64 {
        self.cycles as f64 / self.cpu.as_secs_f64().max(1e-9)
    }

    /// Simulated time of the window.
    pub fn simulated(&self) -> Duration {
        self.clock.duration(self.cycles)
    }

    /// Requests per simulated second.
    pub fn iops(&self) -> f64 {
        self.requests as f64 / self.simulated().as_secs_f64().max(1e-12)
    }

    /// Simulated cycles per completed request (net: per frame).
    pub fn cycles_per_request(&self) -> f64 {
        self.cycles as f64 / (self.requests as f64).max(1.0)
    }

    /// Data megabytes (10^6) per simulated second.
    pub fn mb_per_second(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.simulated().as_secs_f64().max(1e-12)
    }
}

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    // SAFETY: getrusage only fills the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; RUSAGE_THREAD is valid on Linux.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut u) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// A board driven from the calling thread.
struct BenchBoard {
    // Field order: the machine (whose IOMMU points into `mem`) drops first.
    machine: Machine,
    bus: Arc<HostBus>,
    mem: GuestMemoryMmap,
    kind: BackendKind,
}

/// Descriptor table, avail ring and used ring addresses of queue 0.
#[derive(Debug, Clone, Copy)]
struct Ring {
    desc: u64,
    avail: u64,
    used: u64,
}

impl Ring {
    fn new() -> Ring {
        Ring::at(RING_BASE)
    }

    fn at(base: u64) -> Ring {
        let desc = base;
        let avail = desc + 16 * u64::from(QSIZE);
        let used = (avail + 6 + 2 * u64::from(QSIZE)).next_multiple_of(4096);
        Ring { desc, avail, used }
    }
}

impl BenchBoard {
    fn new(kind: BackendKind, net: bool) -> Result<BenchBoard, BenchError> {
        let cfg = MachineConfig {
            // A fast NVMe-like store, so the engine, not the disk, is measured.
            storage: StorageConfig {
                latency: 250,
                jitter: 50,
                ..StorageConfig::default()
            },
            ..MachineConfig::default()
        };
        let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), MEM_SIZE)])
            .map_err(|e| bring_up(kind, format!("guest memory: {e}")))?;
        let host = mem
            .get_host_address(GuestAddress(0))
            .map_err(|e| bring_up(kind, format!("guest memory: {e}")))? as u64;
        let mut iommu = Iommu::default();
        // SAFETY: `mem` is one region from GPA 0, owned by the board and
        // dropped after the machine that reaches it through the IOMMU.
        unsafe { iommu.map(0, MEM_SIZE as u64, host) }.map_err(SimError::from)?;
        let personality = if net {
            vfpga_abi::Personality::Net
        } else {
            vfpga_abi::Personality::Blk
        };
        let bus = Arc::new(HostBus::new(personality, iommu));
        bus.with_config(|c| {
            c.write(
                header::COMMAND,
                &(header::COMMAND_MEMORY | header::COMMAND_BUS_MASTER).to_le_bytes(),
            )
        });
        let function = if net {
            Function::net(LoopbackPort::new())
        } else {
            Function::Blk(Image::ram(SECTORS * 512)?)
        };
        let backend = backend::create_for(Some(kind), function.personality())?;
        let machine = Machine::new(backend, cfg, function, Arc::clone(&bus))?;
        Ok(BenchBoard {
            machine,
            bus,
            mem,
            kind,
        })
    }

    fn err(&self, what: impl Into<String>) -> BenchError {
        bring_up(self.kind, what.into())
    }

    fn push(&mut self, offset: u32, len: usize, write: Option<u32>) -> Result<u32, BenchError> {
        let d = split(offset.into(), len).map_err(|e| self.err(format!("{e:?}")))?[0];
        let (tx, rx) = mpsc::channel();
        self.machine.core_mut().mmio.push(MmioOp {
            req: MmioRequest {
                addr: d.addr,
                write: write.is_some(),
                wdata: write.unwrap_or(0) << (8 * d.lane),
                strb: d.strb,
            },
            reply: write
                .is_none()
                .then(|| Box::new(move |v: u32| tx.send(v).unwrap_or(())) as _),
        });
        let end = self.machine.now() + MMIO_TIMEOUT;
        loop {
            if write.is_some() && self.machine.core().mmio.is_quiet() {
                return Ok(0);
            }
            if let Ok(v) = rx.try_recv() {
                let mask = if len == 4 {
                    u32::MAX
                } else {
                    (1 << (8 * len)) - 1
                };
                return Ok((v >> (8 * d.lane)) & mask);
            }
            if self.machine.now() > end {
                return Err(self.err(format!("BAR0 access at {offset:#x} never completed")));
            }
            self.machine.step();
        }
    }

    fn read(&mut self, offset: u32, len: usize) -> Result<u32, BenchError> {
        self.push(offset, len, None)
    }

    fn write(&mut self, offset: u32, len: usize, v: u32) -> Result<(), BenchError> {
        self.push(offset, len, Some(v)).map(|_| ())
    }

    fn status(&mut self) -> Result<u8, BenchError> {
        Ok(self.read(bar0::COMMON_CFG + cc::DEVICE_STATUS, 1)? as u8)
    }

    fn set_status(&mut self, s: u8) -> Result<(), BenchError> {
        self.write(bar0::COMMON_CFG + cc::DEVICE_STATUS, 1, s.into())
    }

    /// virtio 1.2 §3.1.1 with queues 0.. on `rings`, accepting `want` among
    /// the offered features, no interrupts (the bench polls the used rings).
    fn init(&mut self, rings: &[Ring], want: u64) -> Result<(), BenchError> {
        let c = |off: u32| bar0::COMMON_CFG + off;
        self.set_status(0)?;
        let end = self.machine.now() + MMIO_TIMEOUT;
        while self.status()? != 0 {
            if self.machine.now() > end {
                return Err(self.err("device_status did not read 0 after reset"));
            }
        }
        self.set_status(status::ACKNOWLEDGE)?;
        self.set_status(status::ACKNOWLEDGE | status::DRIVER)?;
        let mut offered = 0u64;
        for sel in 0..2 {
            self.write(c(cc::DEVICE_FEATURE_SELECT), 4, sel)?;
            offered |= u64::from(self.read(c(cc::DEVICE_FEATURE), 4)?) << (32 * sel);
        }
        let accepted = offered & want;
        for sel in 0..2 {
            self.write(c(cc::DRIVER_FEATURE_SELECT), 4, sel)?;
            self.write(c(cc::DRIVER_FEATURE), 4, (accepted >> (32 * sel)) as u32)?;
        }
        let s = status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK;
        self.set_status(s)?;
        if self.status()? & status::FEATURES_OK == 0 {
            return Err(self.err(format!("features {accepted:#x} refused")));
        }
        if accepted != want {
            return Err(self.err(format!(
                "features {:#x} wanted, not offered",
                want & !offered
            )));
        }
        for (q, ring) in rings.iter().enumerate() {
            self.write(c(cc::QUEUE_SELECT), 2, q as u32)?;
            self.write(c(cc::QUEUE_SIZE), 2, QSIZE.into())?;
            self.write(c(cc::QUEUE_MSIX_VECTOR), 2, cc::NO_VECTOR.into())?;
            for (off, a) in [
                (cc::QUEUE_DESC, ring.desc),
                (cc::QUEUE_DRIVER, ring.avail),
                (cc::QUEUE_DEVICE, ring.used),
            ] {
                self.write(c(off), 4, a as u32)?;
                self.write(c(off + 4), 4, (a >> 32) as u32)?;
            }
            self.write(c(cc::QUEUE_ENABLE), 2, 1)?;
            if self.read(c(cc::QUEUE_ENABLE), 2)? != 1 {
                return Err(self.err(format!("queue {q} was not enabled")));
            }
        }
        self.set_status(s | status::DRIVER_OK)?;
        if self.status()? != s | status::DRIVER_OK {
            return Err(self.err("DRIVER_OK was not accepted"));
        }
        Ok(())
    }

    fn put<T: vm_memory::ByteValued>(&self, v: T, addr: u64) {
        self.mem
            .write_obj(v, GuestAddress(addr))
            .expect("bench addresses lie inside guest memory");
    }

    fn get<T: vm_memory::ByteValued>(&self, addr: u64) -> T {
        self.mem
            .read_obj(GuestAddress(addr))
            .expect("bench addresses lie inside guest memory")
    }

    /// Writes [`DEPTH`] read chains (header, data, status) and publishes
    /// them; slot `s` uses descriptors `3s .. 3s + 2`.
    fn post_reads(&mut self, ring: Ring) {
        for s in 0..DEPTH {
            let base = DATA_BASE + u64::from(s) * SLOT_BYTES;
            let mut h = [0u8; blk::REQ_HEADER_LEN as usize];
            h[0..4].copy_from_slice(&blk::req::IN.to_le_bytes());
            h[8..16].copy_from_slice(&(u64::from(s) * u64::from(READ_BYTES / 512)).to_le_bytes());
            self.mem
                .write_slice(&h, GuestAddress(base))
                .expect("inside guest memory");
            self.put(0xFFu8, base + STATUS_OFF);
            let head = 3 * s;
            let descs = [
                (base, blk::REQ_HEADER_LEN, DESC_F_NEXT, head + 1),
                (
                    base + DATA_OFF,
                    READ_BYTES,
                    DESC_F_WRITE | DESC_F_NEXT,
                    head + 2,
                ),
                (base + STATUS_OFF, 1, DESC_F_WRITE, 0),
            ];
            for (i, (addr, len, flags, next)) in descs.into_iter().enumerate() {
                let a = ring.desc + 16 * u64::from(head + i as u16);
                self.put(addr, a);
                self.put(len, a + 8);
                self.put(flags, a + 12);
                self.put(next, a + 14);
            }
            self.put(head, ring.avail + u64::from(AVAIL_RING) + 2 * u64::from(s));
        }
        self.put(DEPTH, ring.avail + u64::from(AVAIL_IDX));
        self.kick();
    }

    /// A posted doorbell write for queue 0 (not clocked to completion: the
    /// load loop keeps clocking anyway).
    fn kick(&mut self) {
        self.kick_queue(0);
    }

    fn kick_queue(&mut self, q: u16) {
        self.machine.core_mut().mmio.push(MmioOp {
            req: MmioRequest {
                addr: bar0::doorbell(q),
                write: true,
                wdata: q.into(),
                strb: 0xF,
            },
            reply: None,
        });
    }

    /// Writes one descriptor (no NEXT) into `ring`'s table at `i`.
    fn put_desc(&self, ring: Ring, i: u16, addr: u64, len: u32, flags: u16) {
        let a = ring.desc + 16 * u64::from(i);
        self.put(addr, a);
        self.put(len, a + 8);
        self.put(flags, a + 12);
        self.put(0u16, a + 14);
    }

    /// Fills receiveq1 with [`QSIZE`] buffers and transmitq1 with [`DEPTH`]
    /// frames of `len` bytes (broadcast, so any filter takes them).
    fn post_net(&mut self, rx: Ring, tx: Ring, len: u16) {
        for i in 0..QSIZE {
            let buf = NET_RX_BASE + u64::from(i) * u64::from(NET_RX_BUF);
            self.put_desc(rx, i, buf, NET_RX_BUF, DESC_F_WRITE);
            self.put(i, rx.avail + u64::from(AVAIL_RING) + 2 * u64::from(i));
        }
        self.put(QSIZE, rx.avail + u64::from(AVAIL_IDX));
        let mut frame = vec![0u8; vfpga_abi::net::HDR_LEN as usize];
        frame.extend((0..len).map(|i| if i < 6 { 0xFF } else { i as u8 }));
        for s in 0..DEPTH {
            // One page each: one DMA read per frame, as Linux's linear packets.
            let buf = DATA_BASE + u64::from(s) * 0x1000;
            self.mem
                .write_slice(&frame, GuestAddress(buf))
                .expect("inside guest memory");
            self.put_desc(tx, s, buf, frame.len() as u32, 0);
            self.put(s, tx.avail + u64::from(AVAIL_RING) + 2 * u64::from(s));
        }
        self.put(DEPTH, tx.avail + u64::from(AVAIL_IDX));
        self.kick_queue(0);
        self.kick_queue(1);
    }

    /// Gives every chain used since `*seen` back to the ring (same head),
    /// calling `check(head, len)` on each; returns how many.
    fn recycle(
        &mut self,
        ring: Ring,
        seen: &mut u16,
        avail_idx: &mut u16,
        mut check: impl FnMut(&Self, u32, u32),
    ) -> u64 {
        let used_idx: u16 = self.get(ring.used + u64::from(USED_IDX));
        let mut n = 0;
        while *seen != used_idx {
            let e = ring.used + u64::from(USED_RING) + 8 * u64::from(*seen % QSIZE);
            let head: u32 = self.get(e);
            let len: u32 = self.get(e + 4);
            check(self, head, len);
            let slot = ring.avail + u64::from(AVAIL_RING) + 2 * u64::from(*avail_idx % QSIZE);
            self.put(head as u16, slot);
            *avail_idx = avail_idx.wrapping_add(1);
            *seen = seen.wrapping_add(1);
            n += 1;
        }
        if n > 0 {
            self.put(*avail_idx, ring.avail + u64::from(AVAIL_IDX));
        }
        n
    }
}

/// Progress of a load between batches.
#[derive(Debug)]
struct LoadState {
    /// Used elements of queue 0 taken back; avail.idx published on it.
    seen: u16,
    avail_idx: u16,
    /// The same for transmitq1 (net).
    tx_seen: u16,
    tx_avail: u16,
    requests: u64,
    bad_status: u64,
}

/// Cycles the net workloads may take to get their first frames back.
const NET_WARMUP_LIMIT: u64 = 2_000_000;

impl BenchBoard {
    /// [`BATCH`] cycles, then the used rings are read and every used chain
    /// resubmitted.
    fn tick(&mut self, workload: Workload, ring: Ring, tx_ring: Ring, st: &mut LoadState) {
        self.machine.run(u64::from(BATCH));
        match workload {
            Workload::Idle => {}
            Workload::Qd32Read4k => {
                // Resubmit every completed chain as it is: same head, same
                // sectors. The status byte of the chain's slot must read
                // OK; it is poisoned again so a resubmission that is never
                // served cannot pass as OK.
                let mut bad = 0;
                let n = self.recycle(ring, &mut st.seen, &mut st.avail_idx, |b, head, _| {
                    let status_at = DATA_BASE + u64::from(head / 3) * SLOT_BYTES + STATUS_OFF;
                    if b.get::<u8>(status_at) != blk::status::OK {
                        bad += 1;
                    }
                    b.put(0xFFu8, status_at);
                });
                st.bad_status += bad;
                if n > 0 {
                    st.requests += n;
                    self.kick();
                }
            }
            Workload::NetLoopback { frame } => {
                let want = vfpga_abi::net::HDR_LEN + u32::from(frame);
                let mut bad = 0;
                let rx = self.recycle(ring, &mut st.seen, &mut st.avail_idx, |b, head, len| {
                    let buf = NET_RX_BASE + u64::from(head) * u64::from(NET_RX_BUF);
                    let nb: u16 = b.get(buf + u64::from(vfpga_abi::net::HDR_NUM_BUFFERS));
                    if len != want || nb != 1 {
                        bad += 1;
                    }
                });
                st.bad_status += bad;
                let tx = self.recycle(tx_ring, &mut st.tx_seen, &mut st.tx_avail, |_, _, _| {});
                st.requests += rx;
                if rx > 0 {
                    self.kick_queue(0);
                }
                if tx > 0 {
                    self.kick_queue(1);
                }
            }
        }
    }
}

fn bring_up(kind: BackendKind, what: String) -> BenchError {
    BenchError::BringUp {
        backend: kind.name(),
        what,
    }
}

/// Runs `workload` on a fresh board of backend `kind` and measures it for
/// `window` (bring-up is not measured).
pub fn run(kind: BackendKind, workload: Workload, window: Window) -> Result<Sample, BenchError> {
    let mut b = BenchBoard::new(kind, workload.is_net())?;
    let ring = Ring::new();
    let tx_ring = Ring::at(RING_BASE + NET_TX_RINGS);
    if workload.is_net() {
        let want = features::bit(features::VERSION_1)
            | features::bit(features::ACCESS_PLATFORM)
            | features::bit(features::NET_MRG_RXBUF);
        b.init(&[ring, tx_ring], want)?;
    } else {
        let want = features::bit(features::VERSION_1) | features::bit(features::ACCESS_PLATFORM);
        b.init(&[ring], want)?;
    }
    let mut st = LoadState {
        seen: 0,
        avail_idx: DEPTH,
        tx_seen: 0,
        tx_avail: DEPTH,
        requests: 0,
        bad_status: 0,
    };
    match workload {
        Workload::Idle => {}
        Workload::Qd32Read4k => b.post_reads(ring),
        Workload::NetLoopback { frame } => {
            st.avail_idx = QSIZE;
            b.post_net(ring, tx_ring, frame);
            // Measure the steady state: the RX ring is fetched and the
            // first DEPTH frames went round before the window opens.
            let end = b.machine.now() + NET_WARMUP_LIMIT;
            while st.requests < u64::from(DEPTH) {
                if b.machine.now() > end {
                    return Err(b.err(format!(
                        "{} frames came back in {NET_WARMUP_LIMIT} cycles",
                        st.requests
                    )));
                }
                b.tick(workload, ring, tx_ring, &mut st);
            }
            st.requests = 0;
        }
    }
    let start_cycle = b.machine.now();
    let start_skipped = b.machine.core().skipped_cycles();
    let start_jumped = b.machine.core().warped_cycles();
    let cpu = thread_cpu();
    let t = Instant::now();
    let more = |b: &BenchBoard| match window {
        Window::Wall(d) => t.elapsed() < d,
        Window::Cycles(c) => b.machine.now() - start_cycle < c,
    };
    while more(&b) {
        b.tick(workload, ring, tx_ring, &mut st);
    }
    let wall = t.elapsed();
    let cpu = thread_cpu() - cpu;
    let cycles = b.machine.now() - start_cycle;
    let skipped = b.machine.core().skipped_cycles() - start_skipped;
    let jumped = b.machine.core().warped_cycles() - start_jumped;
    let device_status = b.status()?;
    let bytes_per = match workload {
        Workload::NetLoopback { frame } => u64::from(frame),
        _ => u64::from(READ_BYTES),
    };
    Ok(Sample {
        backend: kind,
        workload,
        cycles,
        wall,
        cpu,
        requests: st.requests,
        bytes: st.requests * bytes_per,
        bad_status: st.bad_status,
        clock: ClockRate::default(),
        faults: b.bus.iommu().faults(),
        device_status,
        skipped,
        jumped,
    })
}

/// Formats a sample as one line of the bench's table.
pub fn format_sample(s: &Sample) -> String {
    let mut line = format!(
        "{:<10} {:<10} {:>10.0} cycles/s ({:.0} per CPU s; {} cycles in {:.2} s, {:.0}% skipped, {:.0}% jumped)",
        s.backend.name(),
        s.workload.name(),
        s.cycles_per_second(),
        s.cycles_per_cpu_second(),
        s.cycles,
        s.wall.as_secs_f64(),
        100.0 * s.skipped as f64 / (s.cycles as f64).max(1.0),
        100.0 * s.jumped as f64 / (s.cycles as f64).max(1.0),
    );
    if s.workload == Workload::Qd32Read4k {
        line += &format!(
            "; {} requests in {:.1} us simulated = {:.0} IOPS, {:.1} MB/s at {} MHz",
            s.requests,
            s.simulated().as_secs_f64() * 1e6,
            s.iops(),
            s.mb_per_second(),
            s.clock.hz / 1_000_000
        );
    }
    if s.workload.is_net() {
        line += &format!(
            "; {} frames in {:.1} us simulated = {:.0} pps, {:.1} cycles/frame, {:.2} Gb/s at {} MHz",
            s.requests,
            s.simulated().as_secs_f64() * 1e6,
            s.iops(),
            s.cycles_per_request(),
            s.mb_per_second() * 8.0 / 1000.0,
            s.clock.hz / 1_000_000
        );
    }
    if !s.is_clean() {
        line += &format!(
            "; ERROR: {} IOMMU faults, {} bad status bytes or frames, device_status {:#04x}",
            s.faults, s.bad_status, s.device_status
        );
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_rates_follow_from_cycles_and_time() {
        let s = Sample {
            backend: BackendKind::RustHdl,
            workload: Workload::Qd32Read4k,
            cycles: 250_000,
            wall: Duration::from_secs(2),
            cpu: Duration::from_secs(1),
            requests: 100,
            bytes: 100 * 4096,
            bad_status: 0,
            clock: ClockRate::default(),
            faults: 0,
            device_status: 0,
            skipped: 50_000,
            jumped: 25_000,
        };
        assert_eq!(s.cycles_per_second(), 125_000.0);
        assert_eq!(s.cycles_per_cpu_second(), 250_000.0);
        // 250 000 cycles at 250 MHz = 1 ms simulated.
        assert_eq!(s.simulated(), Duration::from_millis(1));
        assert!((s.iops() - 100_000.0).abs() < 1e-6);
        assert!((s.mb_per_second() - 409.6).abs() < 1e-9);
        assert!(format_sample(&s).contains("250000 cycles in 2.00 s, 20% skipped, 10% jumped"));
    }
}
