//! virtio-blk requests end to end through the real hardware (both
//! backends) and the real firmware, on rings built by virtio-queue's
//! `MockSplitQueue`.

mod common;

use common::{Board, DATA_BASE, RING_BASE, verilator_or_skip};
use vfpga_abi::ring::{DESC_F_WRITE, USED_RING, used_ring_after_avail};
use vfpga_abi::{bar0, blk, msix, status};
use vfpga_sim::backend::BackendKind;
use vfpga_sim::machine::MachineConfig;
use virtio_queue::desc::RawDescriptor;
use virtio_queue::desc::split::Descriptor as SplitDescriptor;
use virtio_queue::mock::MockSplitQueue;
use vm_memory::{Bytes, GuestAddress};
use vmm_sys_util::eventfd::{EFD_NONBLOCK, EventFd};

const QSIZE: u16 = 16;
const SECTORS: u64 = 2048;

fn desc(addr: u64, len: u32, flags: u16) -> RawDescriptor {
    // NEXT flags and indices are filled in by add_desc_chains' caller below.
    RawDescriptor::from(SplitDescriptor::new(addr, len, flags, 0))
}

/// Chains of descriptors, each linked with NEXT to the following one.
fn chains(list: &[Vec<RawDescriptor>], first: u16) -> Vec<RawDescriptor> {
    let mut out = Vec::new();
    let mut i = first;
    for c in list {
        for (j, d) in c.iter().enumerate() {
            let d = SplitDescriptor::from(*d);
            let last = j + 1 == c.len();
            let flags = if last {
                d.flags()
            } else {
                d.flags() | vfpga_abi::ring::DESC_F_NEXT
            };
            out.push(RawDescriptor::from(SplitDescriptor::new(
                d.addr().0,
                d.len(),
                flags,
                if last { 0 } else { i + 1 },
            )));
            i += 1;
        }
    }
    out
}

fn used_elem(b: &Board, used: u64, i: u16) -> (u32, u32) {
    let a = used + u64::from(USED_RING) + 8 * u64::from(i % QSIZE);
    (
        b.mem.read_obj::<u32>(GuestAddress(a)).unwrap(),
        b.mem.read_obj::<u32>(GuestAddress(a + 4)).unwrap(),
    )
}

fn route_vector0(b: &mut Board) -> EventFd {
    let fd = EventFd::new(EFD_NONBLOCK).unwrap();
    b.bus.msix_routes.set(vec![Some(fd.try_clone().unwrap())]);
    let e = bar0::MSIX_TABLE;
    b.write(e + msix::ENTRY_ADDR_LO, 4, 0xFEE0_0000);
    b.write(e + msix::ENTRY_DATA, 4, 0);
    b.write(e + msix::ENTRY_CONTROL, 4, 0);
    b.bus.with_config(|c| c.set_msix(true, false));
    fd
}

fn write_read_flush(kind: BackendKind) {
    let mut b = Board::new(
        kind,
        SECTORS,
        MachineConfig {
            log: true,
            ..MachineConfig::default()
        },
    );
    let mem = b.mem.clone();
    let vq = MockSplitQueue::create(&mem, GuestAddress(RING_BASE), QSIZE);
    let (d, a) = (vq.desc_table_addr().0, vq.avail_addr().0);
    let u = used_ring_after_avail(a, QSIZE);
    b.init(&[(QSIZE, d, a, u)]);
    let irq = route_vector0(&mut b);

    let (wh, wd, ws) = (DATA_BASE, DATA_BASE + 0x1000, DATA_BASE + 0x3000);
    let (rh, rd, rs) = (DATA_BASE + 0x4000, DATA_BASE + 0x5000, DATA_BASE + 0x7000);
    let (fh, fs) = (DATA_BASE + 0x8000, DATA_BASE + 0x8100);
    b.blk_header(wh, blk::req::OUT, 8);
    let data = b.fill(wd, 8192, 0x5A);
    b.blk_header(rh, blk::req::IN, 8);
    b.blk_header(fh, blk::req::FLUSH, 0);
    for s in [ws, rs, fs] {
        b.mem.write_obj(0xEEu8, GuestAddress(s)).unwrap();
    }
    let list = [
        vec![
            desc(wh, 16, 0),
            desc(wd, 4096, 0),
            desc(wd + 4096, 4096, 0),
            desc(ws, 1, DESC_F_WRITE),
        ],
        vec![
            desc(rh, 16, 0),
            desc(rd, 8192, DESC_F_WRITE),
            desc(rs, 1, DESC_F_WRITE),
        ],
        vec![desc(fh, 16, 0), desc(fs, 1, DESC_F_WRITE)],
    ];
    // The write first: the read must see its data, so it goes on its own.
    vq.add_desc_chains(&chains(&list[..1], 0), 0).unwrap();
    b.kick(0);
    assert!(
        b.run_until(2_000_000, |b| b.used_idx(u) == 1),
        "write completed"
    );
    vq.add_desc_chains(&chains(&list[1..], 4), 4).unwrap();
    b.kick(0);
    assert!(
        b.run_until(2_000_000, |b| b.used_idx(u) == 3),
        "read and flush completed"
    );

    assert_eq!(b.bytes(ws, 1)[0], blk::status::OK);
    assert_eq!(b.bytes(rs, 1)[0], blk::status::OK);
    assert_eq!(b.bytes(fs, 1)[0], blk::status::OK);
    assert_eq!(b.bytes(rd, 8192), data, "read returns what was written");
    // §2.7.8: the used element of the read counts the bytes written (data + status).
    let elems: Vec<(u32, u32)> = (0..3).map(|i| used_elem(&b, u, i)).collect();
    assert_eq!(elems[0], (0, 1));
    assert!(elems[1..].contains(&(4, 8193)), "{elems:?}");
    assert!(elems[1..].contains(&(7, 1)), "{elems:?}");
    let core = b.machine.core();
    assert_eq!(core.storage.stats().write_bytes, 8192);
    assert_eq!(core.storage.stats().flushes, 1);
    assert!(core.msix.delivered() >= 1, "used-buffer notification sent");
    assert!(irq.read().unwrap() >= 1, "and it reached the eventfd");
    assert_eq!(b.bus.iommu().faults(), 0);
    // With nothing left to do the board reports idle (and a SimDevice sleeps).
    assert!(
        b.run_until(100_000, |b| b.machine.is_idle()),
        "idle after the requests: busy with {:?}",
        b.machine.busy_reason()
    );
}

#[test]
fn spec_5_2_6_write_read_flush_on_rust_hdl() {
    write_read_flush(BackendKind::RustHdl);
}

#[test]
fn spec_5_2_6_write_read_flush_on_verilator() {
    if verilator_or_skip("spec_5_2_6_write_read_flush_on_verilator") {
        write_read_flush(BackendKind::Verilator);
    }
}

fn unmapped_descriptor(kind: BackendKind) {
    let mut b = Board::new(kind, SECTORS, MachineConfig::default());
    let mem = b.mem.clone();
    let vq = MockSplitQueue::create(&mem, GuestAddress(RING_BASE), QSIZE);
    let (d, a) = (vq.desc_table_addr().0, vq.avail_addr().0);
    let u = used_ring_after_avail(a, QSIZE);
    b.init(&[(QSIZE, d, a, u)]);
    // The header descriptor points far outside guest memory.
    let hole = 0x8000_0000;
    let list = vec![vec![
        desc(hole, 16, 0),
        desc(DATA_BASE, 512, DESC_F_WRITE),
        desc(DATA_BASE + 512, 1, DESC_F_WRITE),
    ]];
    vq.add_desc_chains(&chains(&list, 0), 0).unwrap();
    b.kick(0);
    assert!(
        b.run_until(2_000_000, |b| b.bus.iommu().faults() > 0),
        "the read of the unmapped header faulted"
    );
    // The engine reports the error; firmware sets DEVICE_NEEDS_RESET (§2.1.2).
    let st = bar0::COMMON_CFG + vfpga_abi::common_cfg::DEVICE_STATUS;
    assert!(
        b.run_until(2_000_000, |b| b.read(st, 1) as u8
            & status::DEVICE_NEEDS_RESET
            != 0),
        "device needs reset after the DMA error"
    );
    assert_eq!(b.used_idx(u), 0, "nothing was completed");
    assert!(b.machine.core().dma.stats().errors >= 1);
}

#[test]
fn unmapped_descriptor_address_faults_and_needs_reset_on_rust_hdl() {
    unmapped_descriptor(BackendKind::RustHdl);
}

#[test]
fn unmapped_descriptor_address_faults_and_needs_reset_on_verilator() {
    if verilator_or_skip("unmapped_descriptor_address_faults_and_needs_reset_on_verilator") {
        unmapped_descriptor(BackendKind::Verilator);
    }
}

#[test]
fn mapping_removed_while_a_read_is_in_flight_fails_without_touching_memory() {
    let split = 0x20_0000;
    let mut b = Board::with_split(
        BackendKind::default_available(),
        SECTORS,
        MachineConfig::default(),
        split,
    );
    let mem = b.mem.clone();
    let vq = MockSplitQueue::create(&mem, GuestAddress(RING_BASE), QSIZE);
    let (d, a) = (vq.desc_table_addr().0, vq.avail_addr().0);
    let u = used_ring_after_avail(a, QSIZE);
    b.init(&[(QSIZE, d, a, u)]);
    let (h, s, data) = (DATA_BASE, DATA_BASE + 0x100, split + 0x1000);
    b.blk_header(h, blk::req::IN, 0);
    let before = b.fill(data, 4096, 0xA5);
    let list = vec![vec![
        desc(h, 16, 0),
        desc(data, 4096, DESC_F_WRITE),
        desc(s, 1, DESC_F_WRITE),
    ]];
    vq.add_desc_chains(&chains(&list, 0), 0).unwrap();
    b.kick(0);
    // The storage read is under way: the data has not been written yet.
    assert!(b.run_until(1_000_000, |b| !b.machine.core().storage.is_quiet()));
    b.unmap_high(split);
    let st = bar0::COMMON_CFG + vfpga_abi::common_cfg::DEVICE_STATUS;
    assert!(
        b.run_until(2_000_000, |b| b.read(st, 1) as u8
            & status::DEVICE_NEEDS_RESET
            != 0),
        "the failed data write is reported as DEVICE_NEEDS_RESET"
    );
    assert!(b.bus.iommu().faults() > 0);
    assert_eq!(
        b.bytes(data, 4096),
        before,
        "nothing written after the unmap"
    );
    assert_eq!(
        b.used_idx(u),
        0,
        "the request was not completed as if it succeeded"
    );
}
