//! A single-threaded test driver for the simulated board: guest memory
//! mapped through the IOMMU, BAR0 accesses as MMIO transactions clocked to
//! completion, the virtio-pci initialisation a driver does, and blk
//! requests on rings built with virtio-queue's `MockSplitQueue`.

#![allow(dead_code)]

pub mod net;

use std::sync::Arc;
use std::sync::mpsc;

use vfpga_abi::Personality;
use vfpga_abi::pci::header;
use vfpga_abi::ports::MmioRequest;
use vfpga_abi::{bar0, blk, common_cfg as cc, features, status};
use vfpga_sim::backend::{self, Backend, BackendKind};
use vfpga_sim::bus::HostBus;
use vfpga_sim::iommu::Iommu;
use vfpga_sim::machine::{Function, Machine, MachineConfig};
use vfpga_sim::mmio::{MmioOp, split};
use vfpga_sim::net::NetPort;
use vfpga_sim::storage::Image;
use vm_memory::{Bytes, GuestAddress, GuestMemoryBackend, GuestMemoryMmap, GuestMemoryRegion};

/// Whether the Verilator backend can run; when it cannot, a test that
/// needs it fails under CI=true and otherwise says why it skips.
pub fn verilator_or_skip(test: &str) -> bool {
    verilator_or_skip_for(Personality::Blk, test)
}

/// [`verilator_or_skip`] for the model of `personality`.
pub fn verilator_or_skip_for(personality: Personality, test: &str) -> bool {
    if backend::verilator_available_for(personality) {
        return true;
    }
    let why = backend::verilator_status_for(personality);
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{test}: the Verilator backend is required under CI=true: {why}");
    }
    eprintln!("{test}: skipped: the Verilator backend is unavailable: {why}");
    false
}

/// Guest memory size and where the test puts things in it.
pub const MEM_SIZE: usize = 4 << 20;
/// Rings of queue 0.
pub const RING_BASE: u64 = 0x1_0000;
/// Request headers, data buffers and status bytes.
pub const DATA_BASE: u64 = 0x10_0000;

/// A simulated board and the guest memory it serves.
pub struct Board {
    pub mem: GuestMemoryMmap,
    pub machine: Machine,
    pub bus: Arc<HostBus>,
}

impl Board {
    /// A blk board on `kind` with `sectors` of RAM storage, transaction
    /// logs on, guest memory mapped at IOVA = GPA.
    pub fn new(kind: BackendKind, sectors: u64, cfg: MachineConfig) -> Board {
        Board::with_split(kind, sectors, cfg, MEM_SIZE as u64)
    }

    /// A net board on `kind` with its MAC on `port`, guest memory mapped
    /// at IOVA = GPA.
    pub fn net(kind: BackendKind, cfg: MachineConfig, port: Box<dyn NetPort>) -> Board {
        Board::with_function(
            kind,
            MachineConfig {
                personality: Personality::Net,
                ..cfg
            },
            Function::Net(port),
            MEM_SIZE as u64,
        )
    }

    /// A blk board like [`Board::new`] on the given backend instance.
    pub fn with_backend(backend: Box<dyn Backend>, sectors: u64, cfg: MachineConfig) -> Board {
        let image = Image::ram(sectors * 512).unwrap();
        Board::build(backend, cfg, Function::Blk(image), MEM_SIZE as u64)
    }

    /// A net board like [`Board::net`] on the given backend instance.
    pub fn net_with_backend(
        backend: Box<dyn Backend>,
        cfg: MachineConfig,
        port: Box<dyn NetPort>,
    ) -> Board {
        let cfg = MachineConfig {
            personality: Personality::Net,
            ..cfg
        };
        Board::build(backend, cfg, Function::Net(port), MEM_SIZE as u64)
    }

    /// Like [`Board::new`], with guest memory mapped as two IOMMU mappings,
    /// `0..split` and `split..MEM_SIZE` (the second one is removed with
    /// [`Board::unmap_high`]).
    pub fn with_split(kind: BackendKind, sectors: u64, cfg: MachineConfig, split: u64) -> Board {
        let image = Image::ram(sectors * 512).unwrap();
        Board::with_function(kind, cfg, Function::Blk(image), split)
    }

    fn with_function(
        kind: BackendKind,
        cfg: MachineConfig,
        function: Function,
        split: u64,
    ) -> Board {
        let backend = backend::create_for(Some(kind), function.personality()).unwrap();
        Board::build(backend, cfg, function, split)
    }

    fn build(
        backend: Box<dyn Backend>,
        cfg: MachineConfig,
        function: Function,
        split: u64,
    ) -> Board {
        let mem: GuestMemoryMmap =
            GuestMemoryMmap::from_ranges(&[(GuestAddress(0), MEM_SIZE)]).unwrap();
        let mut iommu = Iommu::default();
        let host = mem.get_host_address(GuestAddress(0)).unwrap() as u64;
        let len = mem.iter().map(|r| r.len()).sum::<u64>();
        for (iova, size) in [(0, split), (split, len - split)] {
            if size > 0 {
                // SAFETY: `mem` (one region from GPA 0) lives in the Board
                // next to the machine and is dropped after it (field order).
                unsafe { iommu.map(iova, size, host + iova).unwrap() };
            }
        }
        let bus = Arc::new(HostBus::new(cfg.personality, iommu));
        bus.with_config(|c| {
            c.write(
                header::COMMAND,
                &(header::COMMAND_MEMORY | header::COMMAND_BUS_MASTER).to_le_bytes(),
            )
        });
        let machine = Machine::new(backend, cfg, function, Arc::clone(&bus)).unwrap();
        Board { mem, machine, bus }
    }

    /// Removes the upper mapping made by [`Board::with_split`].
    pub fn unmap_high(&self, split: u64) {
        self.bus
            .iommu_mut()
            .unmap(split, MEM_SIZE as u64 - split)
            .unwrap();
    }

    /// Clocks until `done` or `max` cycles; returns whether `done` held.
    pub fn run_until(&mut self, max: u64, mut done: impl FnMut(&mut Board) -> bool) -> bool {
        let end = self.machine.now() + max;
        while self.machine.now() < end {
            if done(self) {
                return true;
            }
            // Jumps over quiet stretches: `done` looks at what only a
            // handshake changes, and the clock never jumps over one.
            let left = end - self.machine.now();
            self.machine.advance(left);
        }
        done(self)
    }

    /// A BAR0 read of 1, 2 or 4 bytes, clocked until its response.
    pub fn read(&mut self, offset: u32, len: usize) -> u32 {
        let d = split(offset.into(), len).unwrap()[0];
        let (tx, rx) = mpsc::channel();
        self.machine.core_mut().mmio.push(MmioOp {
            req: MmioRequest {
                addr: d.addr,
                write: false,
                wdata: 0,
                strb: d.strb,
            },
            reply: Some(Box::new(move |v: u32| tx.send(v).unwrap())),
        });
        let mut got = None;
        assert!(
            self.run_until(1_000_000, |_| {
                got = got.or(rx.try_recv().ok());
                got.is_some()
            }),
            "MMIO read of {offset:#x} never answered"
        );
        let mask = if len == 4 {
            u32::MAX
        } else {
            (1 << (8 * len)) - 1
        };
        (got.unwrap() >> (8 * d.lane)) & mask
    }

    /// A BAR0 write of 1, 2 or 4 bytes, clocked until the device took it.
    pub fn write(&mut self, offset: u32, len: usize, v: u32) {
        let d = split(offset.into(), len).unwrap()[0];
        self.machine.core_mut().mmio.push(MmioOp {
            req: MmioRequest {
                addr: d.addr,
                write: true,
                wdata: v << (8 * d.lane),
                strb: d.strb,
            },
            reply: None,
        });
        assert!(self.run_until(1_000_000, |b| b.machine.core().mmio.is_quiet()));
    }

    fn cc(off: u32) -> u32 {
        bar0::COMMON_CFG + off
    }

    /// virtio 1.2 §3.1.1 initialisation of a blk device (flush, seg_max,
    /// blk_size wanted) with `queues` set up; returns the negotiated features.
    pub fn init(&mut self, queues: &[(u16, u64, u64, u64)]) -> u64 {
        let want = features::bit(features::VERSION_1)
            | features::bit(features::ACCESS_PLATFORM)
            | features::bit(features::BLK_FLUSH)
            | features::bit(features::BLK_SEG_MAX)
            | features::bit(features::BLK_BLK_SIZE);
        self.init_features(queues, want)
    }

    /// virtio 1.2 §3.1.1 initialisation accepting the offered features
    /// among `want`, and queues 0.. set up as `(size, desc, avail, used)`
    /// with MSI-X vector = queue index; returns the negotiated features.
    pub fn init_features(&mut self, queues: &[(u16, u64, u64, u64)], want: u64) -> u64 {
        self.write(Self::cc(cc::DEVICE_STATUS), 1, 0);
        assert!(self.run_until(1_000_000, |b| b.read(Self::cc(cc::DEVICE_STATUS), 1) == 0));
        self.write(Self::cc(cc::DEVICE_STATUS), 1, status::ACKNOWLEDGE.into());
        self.write(
            Self::cc(cc::DEVICE_STATUS),
            1,
            (status::ACKNOWLEDGE | status::DRIVER).into(),
        );
        let mut offered = 0u64;
        for sel in 0..2 {
            self.write(Self::cc(cc::DEVICE_FEATURE_SELECT), 4, sel);
            offered |= u64::from(self.read(Self::cc(cc::DEVICE_FEATURE), 4)) << (32 * sel);
        }
        let accepted = offered & want;
        for sel in 0..2 {
            self.write(Self::cc(cc::DRIVER_FEATURE_SELECT), 4, sel);
            self.write(
                Self::cc(cc::DRIVER_FEATURE),
                4,
                (accepted >> (32 * sel)) as u32,
            );
        }
        let s = status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK;
        self.write(Self::cc(cc::DEVICE_STATUS), 1, s.into());
        assert_eq!(
            self.read(Self::cc(cc::DEVICE_STATUS), 1) as u8 & status::FEATURES_OK,
            status::FEATURES_OK,
            "the device accepted the features"
        );
        for (q, &(size, desc, avail, used)) in queues.iter().enumerate() {
            self.write(Self::cc(cc::QUEUE_SELECT), 2, q as u32);
            self.write(Self::cc(cc::QUEUE_SIZE), 2, size.into());
            self.write(Self::cc(cc::QUEUE_MSIX_VECTOR), 2, q as u32);
            for (off, a) in [
                (cc::QUEUE_DESC, desc),
                (cc::QUEUE_DRIVER, avail),
                (cc::QUEUE_DEVICE, used),
            ] {
                self.write(Self::cc(off), 4, a as u32);
                self.write(Self::cc(off + 4), 4, (a >> 32) as u32);
            }
            self.write(Self::cc(cc::QUEUE_ENABLE), 2, 1);
            assert_eq!(
                self.read(Self::cc(cc::QUEUE_ENABLE), 2),
                1,
                "queue {q} enabled (firmware: {:?})",
                self.machine.firmware().last_queue_refusal()
            );
        }
        self.write(
            Self::cc(cc::DEVICE_STATUS),
            1,
            (s | status::DRIVER_OK).into(),
        );
        assert_eq!(
            self.read(Self::cc(cc::DEVICE_STATUS), 1) as u8,
            s | status::DRIVER_OK,
            "DRIVER_OK accepted"
        );
        accepted
    }

    /// Rings queue `q`'s doorbell.
    pub fn kick(&mut self, q: u16) {
        self.write(bar0::doorbell(q), 4, q.into());
    }

    /// The used index of a ring at `used`.
    pub fn used_idx(&self, used: u64) -> u16 {
        self.mem.read_obj::<u16>(GuestAddress(used + 2)).unwrap()
    }

    /// Fills guest memory with a seeded pattern.
    pub fn fill(&self, addr: u64, len: usize, seed: u8) -> Vec<u8> {
        let v: Vec<u8> = (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect();
        self.mem.write_slice(&v, GuestAddress(addr)).unwrap();
        v
    }

    /// Reads guest memory.
    pub fn bytes(&self, addr: u64, len: usize) -> Vec<u8> {
        let mut v = vec![0; len];
        self.mem.read_slice(&mut v, GuestAddress(addr)).unwrap();
        v
    }

    /// Writes a `virtio_blk_outhdr`.
    pub fn blk_header(&self, addr: u64, kind: u32, sector: u64) {
        let mut h = [0u8; blk::REQ_HEADER_LEN as usize];
        h[0..4].copy_from_slice(&kind.to_le_bytes());
        h[8..16].copy_from_slice(&sector.to_le_bytes());
        self.mem.write_slice(&h, GuestAddress(addr)).unwrap();
    }
}

/// A logged blk board with seeded, jittered DMA reads and out-of-order
/// storage completions: the workload the cross-backend comparisons run.
pub fn seeded_blk_cfg(seed: u64) -> vfpga_sim::machine::MachineConfig {
    vfpga_sim::machine::MachineConfig {
        log: true,
        dma: vfpga_sim::dma::DmaConfig {
            read_jitter: 40,
            seed,
            ..Default::default()
        },
        storage: vfpga_sim::storage::StorageConfig {
            latency: 300,
            jitter: 200,
            flush_latency: 300,
            seed: seed + 1,
            ..Default::default()
        },
        ..Default::default()
    }
}
