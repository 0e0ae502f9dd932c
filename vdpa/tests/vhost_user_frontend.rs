//! The vhost-user protocol driven the way QEMU drives it, from this process
//! (the `vhost` crate's frontend), against `VdpaBackend` on a simulated
//! device. The rings are built with virtio-queue's `MockSplitQueue` in
//! memfd-backed "guest" memory shared with the daemon, exactly as QEMU
//! shares guest RAM. Fast enough to run on every change; the QEMU guest test
//! covers the same path with a real Linux driver.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{
    DATA, DISK_SECTORS, Daemon, GuestRam, HDR, QSIZE, RING, STATUS, negotiate, start_ring,
};
use vfpga_abi::{blk, ring};
use vhost::VhostBackend;
use vhost::vhost_user::VhostUserFrontend;
use vhost::vhost_user::message::VhostUserConfigFlags;
use virtio_queue::desc::RawDescriptor;
use virtio_queue::mock::MockSplitQueue;
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};
use vmm_sys_util::eventfd::EventFd;

/// Puts a 3-descriptor blk request at avail slot `slot` and kicks.
fn submit(
    ram: &GuestRam,
    q: &MockSplitQueue<'_, GuestMemoryMmap>,
    slot: u16,
    kind: u32,
    sector: u64,
    kick: &EventFd,
) {
    let mut hdr = [0u8; 16];
    hdr[..4].copy_from_slice(&kind.to_le_bytes());
    hdr[8..].copy_from_slice(&sector.to_le_bytes());
    ram.mem.write_slice(&hdr, GuestAddress(HDR)).unwrap();
    ram.mem.write_obj(0xFFu8, GuestAddress(STATUS)).unwrap();
    let data_flags = if kind == blk::req::IN {
        ring::DESC_F_WRITE
    } else {
        0
    };
    let base = 3 * slot;
    let descs = [
        RawDescriptor::from(virtio_queue::desc::split::Descriptor::new(
            HDR,
            16,
            ring::DESC_F_NEXT,
            base + 1,
        )),
        RawDescriptor::from(virtio_queue::desc::split::Descriptor::new(
            DATA,
            4096,
            data_flags | ring::DESC_F_NEXT,
            base + 2,
        )),
        RawDescriptor::from(virtio_queue::desc::split::Descriptor::new(
            STATUS,
            1,
            ring::DESC_F_WRITE,
            0,
        )),
    ];
    for (i, d) in descs.into_iter().enumerate() {
        q.desc_table().store(base + i as u16, d).unwrap();
    }
    q.avail().ring().ref_at(slot as usize).unwrap().store(base);
    q.avail().idx().store(slot + 1);
    kick.write(1).unwrap();
}

fn wait_used(
    daemon: &Daemon,
    mem: &GuestMemoryMmap,
    q: &MockSplitQueue<'_, GuestMemoryMmap>,
    idx: u16,
) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while common::used_idx(mem, q) != idx {
        if Instant::now() > deadline {
            let used = common::used_idx(mem, q);
            let c = daemon.backend.lock().unwrap().counters();
            panic!("the device did not complete request {idx} (used.idx {used}); counters {c:?}");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// virtio 1.2 §5.2.6 through vhost-user: a write and a read of one block,
/// done by the hardware on rings the frontend owns; the daemon reports where
/// the ring stopped (GET_VRING_BASE).
#[test]
fn spec_5_2_6_write_then_read_through_vhost_user() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("vhost-user-frontend-io");
    std::fs::create_dir_all(&dir).unwrap();
    let image = dir.join("disk.img");
    let daemon = Daemon::start(&dir, &image);
    let ram = GuestRam::new();
    let q = MockSplitQueue::create(&ram.mem, GuestAddress(RING), QSIZE);
    let mut fe = daemon.connect();
    negotiate(&mut fe);
    assert_eq!(fe.get_queue_num().unwrap(), 1);
    let (_, cfg) = fe
        .get_config(
            0,
            blk::config::LEN,
            VhostUserConfigFlags::WRITABLE,
            &[0; blk::config::LEN as usize],
        )
        .unwrap();
    assert_eq!(
        u64::from_le_bytes(cfg[..8].try_into().unwrap()),
        DISK_SECTORS
    );
    fe.set_mem_table(&[ram.region()]).unwrap();
    let (_call, kick) = start_ring(&mut fe, &ram, &q);

    let pattern: Vec<u8> = (0..4096u32).map(|i| (i * 7 + 3) as u8).collect();
    ram.mem.write_slice(&pattern, GuestAddress(DATA)).unwrap();
    submit(&ram, &q, 0, blk::req::OUT, 8, &kick);
    wait_used(&daemon, &ram.mem, &q, 1);
    assert_eq!(
        ram.mem.read_obj::<u8>(GuestAddress(STATUS)).unwrap(),
        blk::status::OK
    );
    let disk = std::fs::read(&image).unwrap();
    assert_eq!(
        &disk[8 * 512..8 * 512 + 4096],
        &pattern[..],
        "the write is on the image"
    );

    ram.mem
        .write_slice(&[0u8; 4096], GuestAddress(DATA))
        .unwrap();
    submit(&ram, &q, 1, blk::req::IN, 8, &kick);
    wait_used(&daemon, &ram.mem, &q, 2);
    assert_eq!(
        ram.mem.read_obj::<u8>(GuestAddress(STATUS)).unwrap(),
        blk::status::OK
    );
    let mut back = vec![0u8; 4096];
    ram.mem.read_slice(&mut back, GuestAddress(DATA)).unwrap();
    assert_eq!(back, pattern);
    assert_eq!(
        common::used_elem(&ram.mem, &q, 1),
        (3, 4097),
        "IN: data plus status byte"
    );

    assert_eq!(
        fe.get_vring_base(0).unwrap(),
        2,
        "the device consumed two requests"
    );
    let counters = daemon.backend.lock().unwrap().counters().unwrap();
    assert_eq!(counters[0], 2, "the engine served both requests");
    daemon.finish(fe);
}
