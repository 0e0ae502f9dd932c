//! Helpers shared by the vhost-user tests: the daemon serving a simulated
//! device on a socket in a thread, memfd-backed "guest" memory, and the
//! frontend's negotiation and ring setup as QEMU does them.

// Each test binary compiles this module and uses a different part of it.
#![allow(dead_code)]

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use vfpga_sim::device::{SimConfig, SimDevice};
use vfpga_sim::machine::MachineConfig;
use vfpga_sim::storage::Image;
use vfpga_vdpa::vhost_user::{VdpaBackend, serve};
use vhost::vhost_user::message::VhostUserProtocolFeatures;
use vhost::vhost_user::{Frontend, VhostUserFrontend};
use vhost::{VhostBackend, VhostUserMemoryRegionInfo, VringConfigData};
use virtio_queue::mock::MockSplitQueue;
use vm_memory::{
    Bytes, FileOffset, GuestAddress, GuestMemoryBackend, GuestMemoryMmap, GuestMemoryRegion,
};
use vmm_sys_util::eventfd::EventFd;

/// Size of the "guest" RAM.
pub const MEM: usize = 4 << 20;
/// Ring size the tests use.
pub const QSIZE: u16 = 16;
/// Guest physical address of the split ring.
pub const RING: u64 = 0x10000;
/// Guest physical address of the request header.
pub const HDR: u64 = 0x100000;
/// Guest physical address of the data buffer.
pub const DATA: u64 = 0x101000;
/// Guest physical address of the status byte.
pub const STATUS: u64 = 0x103000;
/// Disk size in 512-byte sectors.
pub const DISK_SECTORS: u64 = 2048;

/// The daemon, serving one simulated device on a socket in a thread.
pub struct Daemon {
    pub socket: PathBuf,
    pub stop: Arc<AtomicBool>,
    pub thread: Option<JoinHandle<()>>,
    pub backend: Arc<Mutex<VdpaBackend>>,
    /// The simulated device itself (its IOMMU counts DMA faults).
    pub sim: Arc<SimDevice>,
}

impl Daemon {
    pub fn start(dir: &Path, image: &Path) -> Daemon {
        std::fs::File::create(image)
            .unwrap()
            .set_len(DISK_SECTORS * 512)
            .unwrap();
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(image)
            .unwrap();
        let sim = Arc::new(
            SimDevice::new(SimConfig {
                backend: None,
                machine: MachineConfig::default(),
                image: Image::File(f),
            })
            .unwrap(),
        );
        let backend = Arc::new(Mutex::new(VdpaBackend::new(sim.clone(), Some(1)).unwrap()));
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
            sim,
        }
    }

    pub fn connect(&self) -> Frontend {
        Frontend::connect(&self.socket, 1).expect("connecting to the daemon")
    }

    /// Ends the serve loop: it checks `stop` after the current frontend leaves.
    pub fn finish(mut self, last: Frontend) {
        self.stop.store(true, Ordering::Relaxed);
        drop(last);
        self.thread.take().unwrap().join().unwrap();
    }
}

/// "Guest" memory in a memfd, as QEMU's memory-backend-memfd.
pub struct GuestRam {
    pub mem: GuestMemoryMmap,
    pub fd: std::fs::File,
}

impl GuestRam {
    pub fn new() -> GuestRam {
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

    pub fn uaddr(&self, gpa: u64) -> u64 {
        self.mem.get_host_address(GuestAddress(gpa)).unwrap() as u64
    }

    pub fn region(&self) -> VhostUserMemoryRegionInfo {
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

pub fn negotiate(fe: &mut Frontend) -> u64 {
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

pub fn start_ring(
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
            used_ring_addr: ram.uaddr(used_ring(q)),
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

/// Guest address of `q`'s used ring, laid out by the spec after its avail
/// ring (virtio-queue 0.18's `MockSplitQueue` puts it inside the avail
/// ring: rust-vmm/vm-virtio#400, see `vfpga_abi::ring::used_ring_after_avail`).
pub fn used_ring(q: &MockSplitQueue<'_, GuestMemoryMmap>) -> u64 {
    vfpga_abi::ring::used_ring_after_avail(q.avail_addr().0, QSIZE)
}

/// `used.idx` of `q`.
pub fn used_idx(mem: &GuestMemoryMmap, q: &MockSplitQueue<'_, GuestMemoryMmap>) -> u16 {
    let a = used_ring(q) + u64::from(vfpga_abi::ring::USED_IDX);
    u16::from_le(mem.read_obj(GuestAddress(a)).unwrap())
}

/// Used element `i` of `q`: `(id, len)`.
pub fn used_elem(
    mem: &GuestMemoryMmap,
    q: &MockSplitQueue<'_, GuestMemoryMmap>,
    i: u16,
) -> (u32, u32) {
    let a = used_ring(q)
        + u64::from(vfpga_abi::ring::USED_RING)
        + u64::from(vfpga_abi::ring::USED_ELEM_SIZE) * u64::from(i % QSIZE);
    let id: u32 = mem.read_obj(GuestAddress(a)).unwrap();
    let len: u32 = mem.read_obj(GuestAddress(a + 4)).unwrap();
    (u32::from_le(id), u32::from_le(len))
}
