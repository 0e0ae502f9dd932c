//! The Verilator backend's shortcuts change nothing: a seeded workload run
//! on the model evaluated plainly (settle and edge, every cycle) and with
//! the shortcuts (blk: one evaluation per cycle; both: cycles that leave
//! the model's state unchanged skipped, and the simulator's clock jumping
//! over the quiet stretches among them) gives the same DMA, MSI-X and MMIO
//! transactions at the same cycles, the same frames at the MAC, the same
//! finishing cycle and the same guest memory.

mod common;

use common::net::{NetQueues, buffers_for, frame, net_cfg};
use common::{Board, DATA_BASE, MEM_SIZE, RING_BASE, verilator_or_skip_for};
use vfpga_abi::Personality;
use vfpga_abi::blk;
use vfpga_abi::ring::{AVAIL_IDX, AVAIL_RING, DESC_F_NEXT, DESC_F_WRITE};
use vfpga_sim::backend::{VerilatorOptions, create_verilator_with};
use vfpga_sim::clock::Cycle;
use vfpga_sim::dma::{DmaConfig, DmaTxn};
use vfpga_sim::machine::MachineConfig;
use vfpga_sim::mmio::MmioTxn;
use vfpga_sim::msix::MsixRecord;
use vfpga_sim::net::loopback::LoopbackPort;
use vfpga_sim::net::mac::MacEvent;
use vfpga_sim::rng::SimRng;
use vm_memory::{Bytes, GuestAddress};

const QSIZE: u16 = 128;
const REQUESTS: u16 = 40;

#[derive(Debug)]
struct Outcome {
    dma: Vec<DmaTxn>,
    msix: Vec<MsixRecord>,
    mmio: Vec<MmioTxn>,
    mac: Vec<MacEvent>,
    memory: Vec<u8>,
    end: Cycle,
    /// Cycles the model skipped (not compared: plain skips none).
    skipped: u64,
    /// Of those, cycles the clock jumped over without running any model.
    jumped: u64,
}

fn outcome(b: &Board) -> Outcome {
    let core = b.machine.core();
    Outcome {
        dma: core.dma.log().to_vec(),
        msix: core.msix.log().to_vec(),
        mmio: core.mmio.log().to_vec(),
        mac: core
            .net
            .as_ref()
            .map(|n| n.log().to_vec())
            .unwrap_or_default(),
        memory: b.bytes(0, MEM_SIZE),
        end: b.machine.now(),
        skipped: core.skipped_cycles(),
        jumped: core.warped_cycles(),
    }
}

/// Seeded reads, writes and flushes with out-of-order DMA and storage
/// completions, on rings written directly in guest memory.
fn blk_run(opts: VerilatorOptions, seed: u64) -> Outcome {
    let cfg = common::seeded_blk_cfg(seed);
    let backend = create_verilator_with(Personality::Blk, opts).unwrap();
    let mut b = Board::with_backend(backend, 1024, cfg);
    let desc = RING_BASE;
    let avail = desc + 16 * u64::from(QSIZE);
    let used = (avail + 6 + 2 * u64::from(QSIZE)).next_multiple_of(4096);
    b.init(&[(QSIZE, desc, avail, used)]);
    let mut rng = SimRng::new(seed);
    let mut next = 0u16;
    for r in 0..REQUESTS {
        let base = DATA_BASE + u64::from(r) * 0x3000;
        let kind = match rng.up_to(9) {
            0 => blk::req::FLUSH,
            1..=4 => blk::req::IN,
            _ => blk::req::OUT,
        };
        let sectors = 1 + rng.up_to(7);
        let sector = rng.up_to(1024 - sectors);
        b.blk_header(base, kind, sector);
        b.fill(base + 0x100, 0x1000, r as u8);
        let mut chain = vec![(base, 16, 0)];
        if kind != blk::req::FLUSH {
            let w = if kind == blk::req::IN {
                DESC_F_WRITE
            } else {
                0
            };
            chain.push((base + 0x100, sectors as u32 * 512, w));
        }
        chain.push((base + 0x2000, 1, DESC_F_WRITE));
        b.mem
            .write_obj(
                next,
                GuestAddress(avail + u64::from(AVAIL_RING) + 2 * u64::from(r)),
            )
            .unwrap();
        let last = chain.len() - 1;
        for (i, (addr, len, flags)) in chain.into_iter().enumerate() {
            let d = desc + 16 * u64::from(next);
            let more = if i < last { DESC_F_NEXT } else { 0 };
            b.mem.write_obj(addr, GuestAddress(d)).unwrap();
            b.mem.write_obj(len, GuestAddress(d + 8)).unwrap();
            b.mem.write_obj(flags | more, GuestAddress(d + 12)).unwrap();
            b.mem.write_obj(next + 1, GuestAddress(d + 14)).unwrap();
            next += 1;
        }
    }
    b.mem
        .write_obj(REQUESTS, GuestAddress(avail + u64::from(AVAIL_IDX)))
        .unwrap();
    b.kick(0);
    assert!(
        b.run_until(20_000_000, |b| b.used_idx(used) == REQUESTS),
        "{opts:?}: all requests completed"
    );
    outcome(&b)
}

/// Seeded frame sizes through the loopback port, TX and RX overlapping.
fn net_run(opts: VerilatorOptions, seed: u64) -> Outcome {
    let cfg = MachineConfig {
        dma: DmaConfig {
            read_jitter: 40,
            seed,
            ..DmaConfig::default()
        },
        ..net_cfg()
    };
    let backend = create_verilator_with(Personality::Net, opts).unwrap();
    let mut b = Board::net_with_backend(backend, cfg, Box::new(LoopbackPort::new()));
    let mem = b.mem.clone();
    let mut q = NetQueues::new(&mem);
    q.init(&mut b);
    let mut rng = SimRng::new(seed);
    let sizes: Vec<usize> = (0..6).map(|_| 60 + rng.up_to(3000) as usize).collect();
    q.post_rx(&mut b, sizes.iter().map(|&l| buffers_for(l)).sum());
    for (i, &len) in sizes.iter().enumerate() {
        q.send(&mut b, &frame(len, i as u8));
    }
    let mut got = 0;
    assert!(
        b.run_until(4_000_000, |b| {
            while q.next_rx(b).is_some() {
                got += 1;
            }
            got == sizes.len()
        }),
        "{opts:?}: all frames came back"
    );
    outcome(&b)
}

fn assert_same(plain: &Outcome, fast: &Outcome) {
    assert_eq!(
        plain.dma.len(),
        fast.dma.len(),
        "same number of DMA transactions"
    );
    for (i, (x, y)) in plain.dma.iter().zip(&fast.dma).enumerate() {
        assert_eq!(x, y, "DMA transaction {i} differs");
    }
    assert_eq!(
        plain.msix, fast.msix,
        "same MSI-X messages at the same cycles"
    );
    assert_eq!(
        plain.mmio, fast.mmio,
        "same MMIO transactions at the same cycles"
    );
    assert_eq!(plain.mac, fast.mac, "same frame events at the MAC");
    assert_eq!(plain.end, fast.end, "finished on the same cycle");
    assert!(plain.memory == fast.memory, "same final guest memory");
    assert_eq!(plain.skipped, 0, "plain evaluation skips nothing");
    assert_eq!(plain.jumped, 0, "nor does its clock jump");
}

#[test]
fn blk_one_eval_and_fixed_point_skips_are_cycle_identical() {
    let name = "blk_one_eval_and_fixed_point_skips_are_cycle_identical";
    if !verilator_or_skip_for(Personality::Blk, name) {
        return;
    }
    let seed = 0xFA57;
    let plain = blk_run(VerilatorOptions::plain(), seed);
    assert!(
        plain.dma.len() > 4 * usize::from(REQUESTS),
        "a real workload ran"
    );
    // Each shortcut alone, then both (the default).
    for opts in [
        VerilatorOptions {
            one_eval: true,
            skip_fixed_points: false,
        },
        VerilatorOptions {
            one_eval: false,
            skip_fixed_points: true,
        },
        VerilatorOptions::fastest(Personality::Blk),
    ] {
        let fast = blk_run(opts, seed);
        assert_same(&plain, &fast);
        if opts.skip_fixed_points {
            assert!(
                fast.skipped > fast.end / 10,
                "{opts:?}: the fixed-point skips ran ({} of {} cycles)",
                fast.skipped,
                fast.end
            );
            assert!(
                fast.jumped > fast.end / 20,
                "{opts:?}: the clock jumped quiet stretches ({} of {} cycles)",
                fast.jumped,
                fast.end
            );
        }
    }
}

#[test]
fn net_fixed_point_skips_are_cycle_identical() {
    let name = "net_fixed_point_skips_are_cycle_identical";
    if !verilator_or_skip_for(Personality::Net, name) {
        return;
    }
    let seed = 0x4E37;
    let plain = net_run(VerilatorOptions::plain(), seed);
    assert!(!plain.mac.is_empty(), "frames crossed the MAC");
    let fast = net_run(VerilatorOptions::fastest(Personality::Net), seed);
    assert_same(&plain, &fast);
    assert!(
        fast.skipped > fast.end / 10,
        "the fixed-point skips ran ({} of {} cycles)",
        fast.skipped,
        fast.end
    );
    assert!(
        fast.jumped > fast.end / 20,
        "the clock jumped quiet stretches ({} of {} cycles)",
        fast.jumped,
        fast.end
    );
}
