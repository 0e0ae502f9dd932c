//! Simulator speed: simulated engine cycles per wall-clock second, for
//! each backend, idle and under a queue-depth-32 load of 4 KiB reads.
//! Also prints the load's IOPS in simulated time (the hardware's figure).
//!
//! `cargo bench -p vfpga-sim --bench cycles [-- SECONDS] [rust-hdl|verilator]`

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{Board, DATA_BASE, RING_BASE};
use vfpga_abi::ports::MmioRequest;
use vfpga_abi::ring::{AVAIL_IDX, AVAIL_RING, DESC_F_NEXT, DESC_F_WRITE, USED_RING};
use vfpga_abi::{bar0, blk};
use vfpga_sim::backend::{self, BackendKind};
use vfpga_sim::machine::MachineConfig;
use vfpga_sim::mmio::MmioOp;
use vfpga_sim::storage::StorageConfig;
use vm_memory::{Bytes, GuestAddress};

const QSIZE: u16 = 128;
const DEPTH: u16 = 32;

struct Ring {
    desc: u64,
    avail: u64,
    used: u64,
}

fn ring() -> Ring {
    let desc = RING_BASE;
    let avail = desc + 16 * u64::from(QSIZE);
    let used = (avail + 6 + 2 * u64::from(QSIZE) + 4095) & !4095;
    Ring { desc, avail, used }
}

fn kick(b: &mut Board) {
    b.machine.core_mut().mmio.push(MmioOp {
        req: MmioRequest {
            addr: bar0::doorbell(0),
            write: true,
            wdata: 0,
            strb: 0xF,
        },
        reply: None,
    });
}

fn board(kind: BackendKind) -> Board {
    let cfg = MachineConfig {
        // A fast NVMe-like store so the engine, not the disk, is exercised.
        storage: StorageConfig {
            latency: 250,
            jitter: 50,
            ..StorageConfig::default()
        },
        ..MachineConfig::default()
    };
    Board::new(kind, 1 << 16, cfg)
}

/// CPU time of this thread: on a shared machine the wall-clock rate
/// depends on the load, the per-CPU-second rate much less.
fn thread_cpu() -> Duration {
    // SAFETY: getrusage fills the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut u) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

fn measure(b: &mut Board, secs: f64, mut between: impl FnMut(&mut Board)) -> (u64, Duration) {
    let start_cycle = b.machine.now();
    let cpu = thread_cpu();
    let t = Instant::now();
    let limit = Duration::from_secs_f64(secs);
    while t.elapsed() < limit {
        for _ in 0..256 {
            b.machine.step();
        }
        between(b);
    }
    let cycles = b.machine.now() - start_cycle;
    println!(
        "           ({:.0} cycles per CPU second of the clock thread)",
        cycles as f64 / (thread_cpu() - cpu).as_secs_f64()
    );
    (cycles, t.elapsed())
}

fn idle(kind: BackendKind, secs: f64) {
    let mut b = board(kind);
    let r = ring();
    b.init(&[(QSIZE, r.desc, r.avail, r.used)]);
    let (cycles, wall) = measure(&mut b, secs, |_| {});
    println!(
        "{:<10} idle        {:>12.0} cycles/s ({} cycles in {:.2?})",
        kind.name(),
        cycles as f64 / wall.as_secs_f64(),
        cycles,
        wall
    );
}

fn qd32_reads(kind: BackendKind, secs: f64) {
    let mut b = board(kind);
    let r = ring();
    b.init(&[(QSIZE, r.desc, r.avail, r.used)]);
    // Slot s: descriptors 3s..3s+2 (header, 4 KiB data, status).
    for s in 0..DEPTH {
        let base = DATA_BASE + u64::from(s) * 0x2000;
        b.blk_header(base, blk::req::IN, u64::from(s) * 8);
        let d = |i: u16, addr: u64, len: u32, flags: u16, next: u16| {
            let a = r.desc + 16 * u64::from(i);
            b.mem.write_obj(addr, GuestAddress(a)).unwrap();
            b.mem.write_obj(len, GuestAddress(a + 8)).unwrap();
            b.mem.write_obj(flags, GuestAddress(a + 12)).unwrap();
            b.mem.write_obj(next, GuestAddress(a + 14)).unwrap();
        };
        let h = 3 * s;
        d(h, base, 16, DESC_F_NEXT, h + 1);
        d(
            h + 1,
            base + 0x1000,
            4096,
            DESC_F_WRITE | DESC_F_NEXT,
            h + 2,
        );
        d(h + 2, base + 0x100, 1, DESC_F_WRITE, 0);
        let slot = r.avail + u64::from(AVAIL_RING) + 2 * u64::from(s);
        b.mem.write_obj(h, GuestAddress(slot)).unwrap();
    }
    let mut avail_idx = DEPTH;
    b.mem
        .write_obj(avail_idx, GuestAddress(r.avail + u64::from(AVAIL_IDX)))
        .unwrap();
    kick(&mut b);
    let mut seen = 0u16;
    let mut done = 0u64;
    let start_cycle = b.machine.now();
    let (cycles, wall) = measure(&mut b, secs, |b| {
        let used_idx = b.used_idx(r.used);
        if used_idx == seen {
            return;
        }
        // Resubmit every completed chain (same head, next sector range).
        while seen != used_idx {
            let e = r.used + u64::from(USED_RING) + 8 * u64::from(seen % QSIZE);
            let head: u32 = b.mem.read_obj(GuestAddress(e)).unwrap();
            let slot = r.avail + u64::from(AVAIL_RING) + 2 * u64::from(avail_idx % QSIZE);
            b.mem.write_obj(head as u16, GuestAddress(slot)).unwrap();
            avail_idx = avail_idx.wrapping_add(1);
            seen = seen.wrapping_add(1);
            done += 1;
        }
        b.mem
            .write_obj(avail_idx, GuestAddress(r.avail + u64::from(AVAIL_IDX)))
            .unwrap();
        kick(b);
    });
    let sim_secs = (b.machine.now() - start_cycle) as f64 / 250e6;
    if done == 0 {
        let st = bar0::COMMON_CFG + vfpga_abi::common_cfg::DEVICE_STATUS;
        let status = b.read(st, 1);
        let c = b.machine.core();
        eprintln!(
            "no request completed: status {:#x}, busy {:?}, dma {:?}, storage {:?}, faults {}",
            status,
            b.machine.busy_reason(),
            c.dma.stats(),
            c.storage.stats(),
            b.bus.iommu().faults()
        );
    }
    println!(
        "{:<10} qd32 4K rd  {:>12.0} cycles/s ({} cycles in {:.2?}); {} requests = {:.0} IOPS, {:.1} MB/s at 250 MHz",
        kind.name(),
        cycles as f64 / wall.as_secs_f64(),
        cycles,
        wall,
        done,
        done as f64 / sim_secs,
        done as f64 * 4096.0 / sim_secs / 1e6,
    );
}

fn main() {
    let secs: f64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(3.0);
    let mut kinds = vec![BackendKind::RustHdl];
    if backend::verilator_available() {
        kinds.insert(0, BackendKind::Verilator);
    } else {
        println!("verilator  unavailable: {}", backend::verilator_status());
    }
    let only: Option<BackendKind> = std::env::args().skip(1).find_map(|a| a.parse().ok());
    kinds.retain(|k| only.is_none_or(|o| o == *k));
    for kind in kinds {
        idle(kind, secs);
        qd32_reads(kind, secs);
    }
}
