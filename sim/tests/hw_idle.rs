//! The board sleeps on the hardware's own `idle` output: never while a
//! request is anywhere in the engine (even when every port is quiet for a
//! long stretch), and soon after the last one completes.

mod common;

use common::{Board, DATA_BASE, RING_BASE, verilator_or_skip};
use vfpga_abi::blk;
use vfpga_abi::ring::{DESC_F_NEXT, DESC_F_WRITE, used_ring_after_avail};
use vfpga_sim::backend::BackendKind;
use vfpga_sim::machine::MachineConfig;
use vfpga_sim::storage::StorageConfig;
use virtio_queue::desc::RawDescriptor;
use virtio_queue::desc::split::Descriptor as SplitDescriptor;
use virtio_queue::mock::MockSplitQueue;
use vm_memory::{Bytes, GuestAddress};

const QSIZE: u16 = 16;

fn never_idle_while_a_request_is_in_flight(kind: BackendKind) {
    // Storage slower than the old quiet-poll window (16 polls of 64
    // cycles): the engine waits on it with every DMA port quiet.
    let cfg = MachineConfig {
        storage: StorageConfig {
            latency: 4000,
            ..StorageConfig::default()
        },
        ..MachineConfig::default()
    };
    let mut b = Board::new(kind, 2048, cfg);
    let mem = b.mem.clone();
    let vq = MockSplitQueue::create(&mem, GuestAddress(RING_BASE), QSIZE);
    let (d, a) = (vq.desc_table_addr().0, vq.avail_addr().0);
    let u = used_ring_after_avail(a, QSIZE);
    b.init(&[(QSIZE, d, a, u)]);
    assert!(
        b.run_until(100_000, |b| b.machine.is_idle()),
        "idle after initialisation: busy with {:?}",
        b.machine.busy_reason()
    );

    let (h, data, st) = (DATA_BASE, DATA_BASE + 0x1000, DATA_BASE + 0x2000);
    b.blk_header(h, blk::req::IN, 8);
    b.mem.write_obj(0xEEu8, GuestAddress(st)).unwrap();
    let chain = [
        SplitDescriptor::new(h, 16, DESC_F_NEXT, 1),
        SplitDescriptor::new(data, 4096, DESC_F_WRITE | DESC_F_NEXT, 2),
        SplitDescriptor::new(st, 1, DESC_F_WRITE, 0),
    ];
    let chain: Vec<RawDescriptor> = chain.into_iter().map(RawDescriptor::from).collect();
    vq.add_desc_chains(&chain, 0).unwrap();
    b.kick(0);
    // From the doorbell's acceptance until the used index is written, the
    // board must never report idle (it would sleep holding the request).
    let mut cycles = 0u64;
    let mut quiet_dma = 0u64;
    let mut longest_quiet_dma = 0u64;
    while b.used_idx(u) == 0 {
        let core = b.machine.core();
        // The hardware's own signal, not only the models around it.
        assert!(
            !core.hardware_idle() && !b.machine.is_idle(),
            "idle at cycle {} with the request in flight",
            b.machine.now()
        );
        if core.dma.is_quiet() {
            quiet_dma += 1;
            longest_quiet_dma = longest_quiet_dma.max(quiet_dma);
        } else {
            quiet_dma = 0;
        }
        b.machine.step();
        cycles += 1;
        assert!(cycles < 1_000_000, "the request never completed");
    }
    assert!(
        longest_quiet_dma > 16 * 64,
        "the test must cover a long stretch of quiet DMA ports ({longest_quiet_dma} cycles)"
    );
    assert_eq!(b.bytes(st, 1)[0], blk::status::OK);
    // Once the status, used element and index are written it goes idle
    // (interrupt sent, DMA drained) within a few firmware polls.
    assert!(
        b.run_until(2_000, |b| b.machine.is_idle()),
        "not idle after the request: busy with {:?}",
        b.machine.busy_reason()
    );
    // A doorbell on a running queue with nothing new is work until the
    // engine has read avail.idx again.
    b.kick(0);
    assert!(b.run_until(100_000, |b| b.machine.is_idle()));
    assert_eq!(b.used_idx(u), 1, "nothing was added, nothing was used");
}

#[test]
fn never_idle_while_a_request_is_in_flight_on_rust_hdl() {
    never_idle_while_a_request_is_in_flight(BackendKind::RustHdl);
}

#[test]
fn never_idle_while_a_request_is_in_flight_on_verilator() {
    if verilator_or_skip("never_idle_while_a_request_is_in_flight_on_verilator") {
        never_idle_while_a_request_is_in_flight(BackendKind::Verilator);
    }
}
