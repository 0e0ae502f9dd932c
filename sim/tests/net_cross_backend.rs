//! The two backends are the same net hardware: a seeded run of frames
//! through the loopback port must produce the same DMA transactions, MSI-X
//! messages, MMIO transactions and MAC frame events at the same cycles, and
//! the same final guest memory, on rust-hdl and Verilator.

mod common;

use common::net::{NetQueues, buffers_for, frame, net_cfg};
use common::{Board, MEM_SIZE, verilator_or_skip_for};
use vfpga_sim::backend::BackendKind;
use vfpga_sim::clock::Cycle;
use vfpga_sim::dma::{DmaConfig, DmaTxn};
use vfpga_sim::machine::MachineConfig;
use vfpga_sim::mmio::MmioTxn;
use vfpga_sim::msix::MsixRecord;
use vfpga_sim::net::loopback::LoopbackPort;
use vfpga_sim::net::mac::MacEvent;
use vfpga_sim::rng::SimRng;

const FRAMES: usize = 6;

struct Outcome {
    dma: Vec<DmaTxn>,
    msix: Vec<MsixRecord>,
    mmio: Vec<MmioTxn>,
    mac: Vec<MacEvent>,
    memory: Vec<u8>,
    end: Cycle,
}

fn run(kind: BackendKind, seed: u64) -> Outcome {
    let cfg = MachineConfig {
        dma: DmaConfig {
            read_jitter: 40,
            seed,
            ..DmaConfig::default()
        },
        ..net_cfg()
    };
    let mut b = Board::net(kind, cfg, Box::new(LoopbackPort::new()));
    let mem = b.mem.clone();
    let mut q = NetQueues::new(&mem);
    q.init(&mut b);
    let mut rng = SimRng::new(seed);
    let sizes: Vec<usize> = (0..FRAMES).map(|_| 60 + rng.up_to(3000) as usize).collect();
    q.post_rx(&mut b, sizes.iter().map(|&l| buffers_for(l)).sum());
    // All frames queued at once: TX and RX overlap in the hardware.
    for (i, &len) in sizes.iter().enumerate() {
        q.send(&mut b, &frame(len, i as u8));
    }
    let mut got = 0;
    assert!(
        b.run_until(4_000_000, |b| {
            while q.next_rx(b).is_some() {
                got += 1;
            }
            got == FRAMES
        }),
        "{kind:?}: all frames came back"
    );
    let core = b.machine.core();
    Outcome {
        dma: core.dma.log().to_vec(),
        msix: core.msix.log().to_vec(),
        mmio: core.mmio.log().to_vec(),
        mac: core.net.as_ref().unwrap().log().to_vec(),
        memory: b.bytes(0, MEM_SIZE),
        end: b.machine.now(),
    }
}

#[test]
fn net_rust_hdl_and_verilator_are_cycle_identical() {
    if !verilator_or_skip_for(
        vfpga_abi::Personality::Net,
        "net_rust_hdl_and_verilator_are_cycle_identical",
    ) {
        return;
    }
    let seed = 0x4E37;
    let a = run(BackendKind::RustHdl, seed);
    let b = run(BackendKind::Verilator, seed);
    assert_eq!(
        a.mac.len(),
        3 * FRAMES,
        "every frame sent, queued, streamed"
    );
    assert_eq!(a.dma.len(), b.dma.len(), "same number of DMA transactions");
    for (i, (x, y)) in a.dma.iter().zip(&b.dma).enumerate() {
        assert_eq!(x, y, "DMA transaction {i} differs");
    }
    assert_eq!(a.mac, b.mac, "same frames at the MAC at the same cycles");
    assert_eq!(a.msix, b.msix, "same MSI-X messages at the same cycles");
    assert_eq!(a.mmio, b.mmio, "same MMIO transactions at the same cycles");
    assert_eq!(a.end, b.end, "finished on the same cycle");
    assert!(a.memory == b.memory, "same final guest memory");
}
