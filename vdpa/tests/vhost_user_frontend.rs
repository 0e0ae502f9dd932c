//! The vhost-user protocol driven the way QEMU drives it, from this process
//! (the `vhost` crate's frontend), against `VdpaBackend` on a simulated
//! device. The rings are built with virtio-queue's `MockSplitQueue` in
//! memfd-backed "guest" memory shared with the daemon, exactly as QEMU
//! shares guest RAM. Fast enough to run on every change; the QEMU guest test
//! covers the same path with a real Linux driver.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use vfpga_abi::{blk, ring};
use vfpga_sim::device::{SimConfig, SimDevice};
use vfpga_sim::machine::MachineConfig;
use vfpga_sim::storage::Image;
use vfpga_vdpa::vhost_user::{VdpaBackend, serve};
use vhost::vhost_user::message::{VhostUserConfigFlags, VhostUserProtocolFeatures};
use vhost::vhost_user::{Frontend, VhostUserFrontend};
use vhost::{VhostBackend, VhostUserMemoryRegionInfo, VringConfigData};
use virtio_queue::desc::RawDescriptor;
use virtio_queue::mock::MockSplitQueue;
use vm_memory::{
    Bytes, FileOffset, GuestAddress, GuestMemoryBackend, GuestMemoryMmap, GuestMemoryRegion,
};
use vmm_sys_util::eventfd::EventFd;

const MEM: usize = 4 << 20;
const QSIZE: u16 = 16;
const RING: u64 = 0x10000;
const HDR: u64 = 0x100000;
const DATA: u64 = 0x101000;
const STATUS: u64 = 0x103000;
const DISK_SECTORS: u64 = 2048;

/// The daemon, serving one simulated device on a socket in a thread.
struct Daemon {
    socket: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    backend: Arc<Mutex<VdpaBackend>>,
}

impl Daemon {
    fn start(dir: &Path, image: &Path) -> Daemon {
        std::fs::File::create(image)
            .unwrap()
            .set_len(DISK_SECTORS * 512)
            .unwrap();
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(image)
            .unwrap();
        let dev = SimDevice::new(SimConfig {
            backend: None,
            machine: MachineConfig::default(),
            image: Image::File(f),
        })
        .unwrap();
        let backend = Arc::new(Mutex::new(
            VdpaBackend::new(Arc::new(dev), Some(1)).unwrap(),
        ));
        let socket = dir.join("vfpga.sock");
        let _ = std::fs::remove_file(&socket);
        let stop = Arc::new(AtomicBool::new(false));
        let (b, s, st) = (backend.clone(), socket.clone(), stop.clone());
        let thread = std::thread::spawn(move || serve(&s, b, &st).unwrap());
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            assert!(Instant::now() < deadline, "daemon did not listen");
            std::thread::sleep(Duration::from_millis(10));
        }
        Daemon {
            socket,
            stop,
            thread: Some(thread),
            backend,
        }
    }

    fn connect(&self) -> Frontend {
        Frontend::connect(&self.socket, 1).expect("connecting to the daemon")
    }

    /// Ends the serve loop: it checks `stop` after the current frontend leaves.
    fn finish(mut self, last: Frontend) {
        self.stop.store(true, Ordering::Relaxed);
        drop(last);
        self.thread.take().unwrap().join().unwrap();
    }
}

/// "Guest" memory in a memfd, as QEMU's memory-backend-memfd.
struct GuestRam {
    mem: GuestMemoryMmap,
    fd: std::fs::File,
}

impl GuestRam {
    fn new() -> GuestRam {
        let fd =
            nix::sys::memfd::memfd_create("guest", nix::sys::memfd::MFdFlags::empty()).unwrap();
        let fd = std::fs::File::from(fd);
        fd.set_len(MEM as u64).unwrap();
        let mem = GuestMemoryMmap::from_ranges_with_files([(
            GuestAddress(0),
            MEM,
            Some(FileOffset::new(fd.try_clone().unwrap(), 0)),
        )])
        .unwrap();
        GuestRam { mem, fd }
    }

    fn uaddr(&self, gpa: u64) -> u64 {
        self.mem.get_host_address(GuestAddress(gpa)).unwrap() as u64
    }

    fn region(&self) -> VhostUserMemoryRegionInfo {
        let r = self.mem.iter().next().unwrap();
        VhostUserMemoryRegionInfo {
            guest_phys_addr: 0,
            memory_size: r.len(),
            userspace_addr: r.as_ptr() as u64,
            mmap_offset: 0,
            mmap_handle: self.fd.as_raw_fd(),
        }
    }
}

fn negotiate(fe: &mut Frontend) -> u64 {
    fe.set_owner().unwrap();
    let offered = fe.get_features().unwrap();
    // VERSION_1, FLUSH, BLK_SIZE, MQ and the vhost-user protocol bit.
    let wanted = offered & ((1 << 32) | (1 << 30) | (1 << 9) | (1 << 6) | (1 << 12));
    fe.set_features(wanted).unwrap();
    let proto = fe.get_protocol_features().unwrap();
    assert!(
        proto.contains(VhostUserProtocolFeatures::CONFIG | VhostUserProtocolFeatures::REPLY_ACK)
    );
    fe.set_protocol_features(proto).unwrap();
    wanted
}

fn start_ring(
    fe: &mut Frontend,
    ram: &GuestRam,
    q: &MockSplitQueue<'_, GuestMemoryMmap>,
) -> (EventFd, EventFd) {
    fe.set_vring_num(0, QSIZE).unwrap();
    fe.set_vring_addr(
        0,
        &VringConfigData {
            queue_max_size: QSIZE,
            queue_size: QSIZE,
            flags: 0,
            desc_table_addr: ram.uaddr(q.desc_table_addr().0),
            used_ring_addr: ram.uaddr(q.used_addr().0),
            avail_ring_addr: ram.uaddr(q.avail_addr().0),
            log_addr: None,
        },
    )
    .unwrap();
    fe.set_vring_base(0, 0).unwrap();
    let call = EventFd::new(0).unwrap();
    let kick = EventFd::new(0).unwrap();
    fe.set_vring_call(0, &call).unwrap();
    fe.set_vring_kick(0, &kick).unwrap();
    fe.set_vring_enable(0, true).unwrap();
    (call, kick)
}

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

fn wait_used(daemon: &Daemon, q: &MockSplitQueue<'_, GuestMemoryMmap>, idx: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while q.used().idx().load() != idx {
        if Instant::now() > deadline {
            let used = q.used().idx().load();
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
    wait_used(&daemon, &q, 1);
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
    wait_used(&daemon, &q, 2);
    assert_eq!(
        ram.mem.read_obj::<u8>(GuestAddress(STATUS)).unwrap(),
        blk::status::OK
    );
    let mut back = vec![0u8; 4096];
    ram.mem.read_slice(&mut back, GuestAddress(DATA)).unwrap();
    assert_eq!(back, pattern);
    let used = q.used().ring().ref_at(1).unwrap().load();
    assert_eq!(
        (used.id(), used.len()),
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
