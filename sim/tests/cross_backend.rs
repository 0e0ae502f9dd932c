//! The two backends are the same hardware: a seeded workload run on both
//! must produce the same DMA transactions at the same cycles, the same
//! MSI-X messages, the same used ring and the same final memory.

mod common;

use common::{Board, DATA_BASE, MEM_SIZE, RING_BASE, verilator_or_skip};
use vfpga_abi::blk;
use vfpga_abi::ring::{DESC_F_NEXT, DESC_F_WRITE};
use vfpga_sim::backend::BackendKind;
use vfpga_sim::clock::Cycle;
use vfpga_sim::dma::DmaTxn;
use vfpga_sim::mmio::MmioTxn;
use vfpga_sim::msix::MsixRecord;
use vfpga_sim::rng::SimRng;
use virtio_queue::desc::RawDescriptor;
use virtio_queue::desc::split::Descriptor as SplitDescriptor;
use virtio_queue::mock::MockSplitQueue;
use vm_memory::GuestAddress;

const QSIZE: u16 = 128;
const REQUESTS: u16 = 40;

struct Outcome {
    dma: Vec<DmaTxn>,
    msix: Vec<MsixRecord>,
    mmio: Vec<MmioTxn>,
    memory: Vec<u8>,
    end: Cycle,
}

fn run(kind: BackendKind, seed: u64) -> Outcome {
    let cfg = common::seeded_blk_cfg(seed);
    let mut b = Board::new(kind, 1024, cfg);
    let mem = b.mem.clone();
    let vq = MockSplitQueue::create(&mem, GuestAddress(RING_BASE), QSIZE);
    let used = vfpga_abi::ring::used_ring_after_avail(vq.avail_addr().0, QSIZE);
    b.init(&[(QSIZE, vq.desc_table_addr().0, vq.avail_addr().0, used)]);

    // Seeded requests: reads and writes of 1..8 sectors, some flushes.
    let mut rng = SimRng::new(seed);
    let mut descs = Vec::new();
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
        let i = descs.len() as u16;
        let d = |addr, len, flags, next| {
            RawDescriptor::from(SplitDescriptor::new(addr, len, flags, next))
        };
        descs.push(d(base, 16, DESC_F_NEXT, i + 1));
        if kind == blk::req::FLUSH {
            descs.push(d(base + 0x2000, 1, DESC_F_WRITE, 0));
        } else {
            let w = if kind == blk::req::IN {
                DESC_F_WRITE
            } else {
                0
            };
            descs.push(d(
                base + 0x100,
                sectors as u32 * 512,
                w | DESC_F_NEXT,
                i + 2,
            ));
            descs.push(d(base + 0x2000, 1, DESC_F_WRITE, 0));
        }
    }
    vq.add_desc_chains(&descs, 0).unwrap();
    b.kick(0);
    assert!(
        b.run_until(20_000_000, |b| b.used_idx(used) == REQUESTS),
        "{kind:?}: all requests completed"
    );
    let core = b.machine.core();
    Outcome {
        dma: core.dma.log().to_vec(),
        msix: core.msix.log().to_vec(),
        mmio: core.mmio.log().to_vec(),
        memory: b.bytes(0, MEM_SIZE),
        end: b.machine.now(),
    }
}

#[test]
fn rust_hdl_and_verilator_are_cycle_identical() {
    if !verilator_or_skip("rust_hdl_and_verilator_are_cycle_identical") {
        return;
    }
    let seed = 0x5EED;
    let a = run(BackendKind::RustHdl, seed);
    let b = run(BackendKind::Verilator, seed);
    assert!(
        a.dma.len() > 4 * usize::from(REQUESTS),
        "a real workload ran"
    );
    assert_eq!(a.dma.len(), b.dma.len(), "same number of DMA transactions");
    for (i, (x, y)) in a.dma.iter().zip(&b.dma).enumerate() {
        assert_eq!(x, y, "DMA transaction {i} differs");
    }
    assert_eq!(a.msix, b.msix, "same MSI-X messages at the same cycles");
    assert_eq!(a.mmio, b.mmio, "same MMIO transactions at the same cycles");
    assert_eq!(a.end, b.end, "finished on the same cycle");
    assert!(
        a.memory == b.memory,
        "same final guest memory (rings and data)"
    );
}
