//! vhost-user net driven as QEMU drives it, from this process (the `vhost`
//! crate's frontend), against `VdpaBackend` on a simulated NIC whose wire is
//! a loopback: frames this test puts on a transmitq come back on a
//! receiveq, written by the hardware into buffers in memfd-backed "guest"
//! memory shared with the daemon. The rings are laid out by hand here (a
//! driver's view of §2.7), so that every byte the device writes is checked.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{GuestRam, MEM};
use vfpga_abi::features::{self, bit};
use vfpga_abi::{net, ring};
use vfpga_sim::device::SimDevice;
use vfpga_sim::machine::{Function, MachineConfig};
use vfpga_sim::net::PortSpec;
use vfpga_vdpa::vhost_user::{VdpaBackend, serve};
use vhost::vhost_user::message::VhostUserProtocolFeatures;
use vhost::vhost_user::{Frontend, VhostUserFrontend};
use vhost::{VhostBackend, VhostUserMemoryRegionInfo, VringConfigData};
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};
use vmm_sys_util::eventfd::EventFd;

/// Ring size of every vring here.
const QSIZE: u16 = 32;
/// Size of each posted RX buffer (a 9014-byte frame takes five).
const RX_BUF: u32 = 2048;
/// Where the rings are: vring `i` at `RINGS + i * RING_STRIDE`.
const RINGS: u64 = 0x10000;
const RING_STRIDE: u64 = 0x4000;
/// RX buffers of vring `i` (receiveq) at `RX_BUFS + i * 0x100000`.
const RX_BUFS: u64 = 0x100000;
/// TX buffers of vring `i` (transmitq) at `TX_BUFS + i * 0x8000`.
const TX_BUFS: u64 = 0x380000;
/// The simulated NIC's MAC (the frames are addressed to it).
const MAC: [u8; 6] = [0x02, 0x56, 0x46, 0x50, 0x47, 0x01];
/// The vhost-user protocol feature bit in GET/SET_FEATURES.
const PROTOCOL_FEATURES: u64 = 1 << 30;

/// The daemon serving a simulated NIC with a loopback wire.
struct NetDaemon {
    socket: std::path::PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    backend: Arc<Mutex<VdpaBackend>>,
}

impl NetDaemon {
    fn start(name: &str, pairs: u16) -> NetDaemon {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let port = PortSpec::Loopback.open().unwrap();
        let sim = Arc::new(
            SimDevice::with_function(None, MachineConfig::default(), Function::Net(port)).unwrap(),
        );
        let backend = Arc::new(Mutex::new(VdpaBackend::new(sim, Some(pairs)).unwrap()));
        let socket = dir.join("vfpga-net.sock");
        let _ = std::fs::remove_file(&socket);
        let stop = Arc::new(AtomicBool::new(false));
        let (b, s, st) = (backend.clone(), socket.clone(), stop.clone());
        let thread = std::thread::spawn(move || serve(&s, b, &st).unwrap());
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            assert!(Instant::now() < deadline, "daemon did not listen");
            std::thread::sleep(Duration::from_millis(10));
        }
        NetDaemon {
            socket,
            stop,
            thread: Some(thread),
            backend,
        }
    }

    fn connect(&self) -> Frontend {
        // The frontend's own bound on vring indices: QEMU's net device
        // uses 2 per pair (GET_QUEUE_NUM counts pairs).
        Frontend::connect(&self.socket, 4).expect("connecting to the daemon")
    }

    fn finish(mut self, last: Frontend) {
        self.stop.store(true, Ordering::Relaxed);
        drop(last);
        self.thread.take().unwrap().join().unwrap();
    }
}

/// The driver side of one split ring (§2.7) in test memory.
struct Ring {
    index: u32,
    next_avail: u16,
    last_used: u16,
    kick: EventFd,
    _call: EventFd,
}

impl Ring {
    fn base(index: u32) -> u64 {
        RINGS + index as u64 * RING_STRIDE
    }
    fn desc(&self) -> u64 {
        Self::base(self.index)
    }
    fn avail(&self) -> u64 {
        self.desc() + ring::DESC_SIZE as u64 * QSIZE as u64
    }
    fn used(&self) -> u64 {
        self.desc() + 0x1000
    }

    /// Describes the ring to the daemon as QEMU does, and enables it.
    fn start(fe: &mut Frontend, ram: &GuestRam, index: u32) -> Ring {
        let r = Ring {
            index,
            next_avail: 0,
            last_used: 0,
            kick: EventFd::new(0).unwrap(),
            _call: EventFd::new(0).unwrap(),
        };
        let i = index as usize;
        fe.set_vring_num(i, QSIZE).unwrap();
        fe.set_vring_addr(
            i,
            &VringConfigData {
                queue_max_size: QSIZE,
                queue_size: QSIZE,
                flags: 0,
                desc_table_addr: ram.uaddr(r.desc()),
                used_ring_addr: ram.uaddr(r.used()),
                avail_ring_addr: ram.uaddr(r.avail()),
                log_addr: None,
            },
        )
        .unwrap();
        fe.set_vring_base(i, 0).unwrap();
        fe.set_vring_call(i, &r._call).unwrap();
        fe.set_vring_kick(i, &r.kick).unwrap();
        fe.set_vring_enable(i, true).unwrap();
        r
    }

    /// Publishes a one-descriptor chain (descriptor `slot`) and kicks.
    fn post(&mut self, mem: &GuestMemoryMmap, slot: u16, addr: u64, len: u32, write: bool) {
        let d = self.desc() + ring::DESC_SIZE as u64 * slot as u64;
        mem.write_obj(addr.to_le(), GuestAddress(d)).unwrap();
        mem.write_obj(len.to_le(), GuestAddress(d + 8)).unwrap();
        let flags: u16 = if write { ring::DESC_F_WRITE } else { 0 };
        mem.write_obj(flags.to_le(), GuestAddress(d + 12)).unwrap();
        mem.write_obj(0u16, GuestAddress(d + 14)).unwrap();
        let at = self.avail() + 4 + 2 * (self.next_avail % QSIZE) as u64;
        mem.write_obj(slot.to_le(), GuestAddress(at)).unwrap();
        self.next_avail = self.next_avail.wrapping_add(1);
        // §2.7.13.3.1: the index after the entry.
        std::sync::atomic::fence(Ordering::SeqCst);
        mem.write_obj(self.next_avail.to_le(), GuestAddress(self.avail() + 2))
            .unwrap();
        std::sync::atomic::fence(Ordering::SeqCst);
        self.kick.write(1).unwrap();
    }

    fn used_idx(&self, mem: &GuestMemoryMmap) -> u16 {
        u16::from_le(mem.read_obj(GuestAddress(self.used() + 2)).unwrap())
    }

    /// The next used element (id, len), waiting up to 60 s of wall time
    /// (the simulator's speed, not the hardware's).
    fn wait_used(&mut self, mem: &GuestMemoryMmap, what: &str) -> (u32, u32) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.used_idx(mem) == self.last_used {
            assert!(
                Instant::now() < deadline,
                "{what}: nothing used on vring {}",
                self.index
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        std::sync::atomic::fence(Ordering::SeqCst);
        let e = self.used() + 4 + 8 * (self.last_used % QSIZE) as u64;
        let id = u32::from_le(mem.read_obj(GuestAddress(e)).unwrap());
        let len = u32::from_le(mem.read_obj(GuestAddress(e + 4)).unwrap());
        self.last_used = self.last_used.wrapping_add(1);
        (id, len)
    }

    fn rx_buf(&self, slot: u16) -> u64 {
        RX_BUFS + self.index as u64 * 0x100000 / 2 + slot as u64 * RX_BUF as u64
    }

    /// Posts every RX buffer of a receiveq.
    fn fill_rx(&mut self, mem: &GuestMemoryMmap) {
        for slot in 0..QSIZE {
            let a = self.rx_buf(slot);
            self.post(mem, slot, a, RX_BUF, true);
        }
    }
}

/// Waits until the daemon has handled every message sent so far: a
/// request with a reply, as QEMU orders its messages without REPLY_ACK.
fn sync(fe: &mut Frontend) {
    fe.get_features().unwrap();
}

/// SET_OWNER, features as QEMU acks them for a guest that takes
/// VERSION_1, MRG_RXBUF and MQ, protocol features, memory table.
fn negotiate(fe: &mut Frontend, ram: &GuestRam) -> u64 {
    fe.set_owner().unwrap();
    let offered = fe.get_features().unwrap();
    let wanted = offered
        & (bit(features::VERSION_1)
            | bit(features::NET_MRG_RXBUF)
            | bit(features::NET_MQ)
            | PROTOCOL_FEATURES);
    fe.set_features(wanted).unwrap();
    let proto = fe.get_protocol_features().unwrap();
    assert!(proto.contains(VhostUserProtocolFeatures::MQ));
    fe.set_protocol_features(proto).unwrap();
    fe.set_mem_table(&[ram.region()]).unwrap();
    offered
}

/// A frame to `MAC` from a made-up source, `len` bytes, its payload a
/// pattern seeded by `seed`.
fn frame(len: usize, seed: u8) -> Vec<u8> {
    let mut f = Vec::with_capacity(len);
    f.extend_from_slice(&MAC);
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, seed]);
    f.extend_from_slice(&[0x88, 0xb5]); // local experimental ethertype
    f.extend((14..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)));
    f
}

/// Sends `f` on transmitq `tx` (header and frame in one buffer) and
/// returns the frame as the receiveq `rx` got it, reassembled from its
/// mergeable buffers, checking the header the device wrote (§5.1.6.4).
fn send_and_receive(
    mem: &GuestMemoryMmap,
    tx: &mut Ring,
    tx_slot: u16,
    rx: &mut Ring,
    f: &[u8],
) -> Vec<u8> {
    let buf = TX_BUFS + tx.index as u64 * 0x8000;
    let mut out = vec![0u8; net::HDR_LEN as usize];
    out.extend_from_slice(f);
    mem.write_slice(&out, GuestAddress(buf)).unwrap();
    tx.post(mem, tx_slot, buf, out.len() as u32, false);
    let (id, _) = tx.wait_used(mem, "TX");
    assert_eq!(id, tx_slot as u32, "TX used element names the chain sent");

    let (id, len) = rx.wait_used(mem, &format!("RX of a {}-byte frame", f.len()));
    let first = rx.rx_buf(id as u16);
    let mut hdr = [0u8; net::HDR_LEN as usize];
    mem.read_slice(&mut hdr, GuestAddress(first)).unwrap();
    assert_eq!(
        &hdr[..10],
        &[0; 10],
        "no offload: flags, gso and csum fields are zero"
    );
    let num_buffers = u16::from_le_bytes([hdr[10], hdr[11]]);
    let mut got = vec![0u8; len as usize - net::HDR_LEN as usize];
    mem.read_slice(&mut got, GuestAddress(first + net::HDR_LEN as u64))
        .unwrap();
    let mut slots = vec![id as u16];
    for _ in 1..num_buffers {
        let (id, len) = rx.wait_used(mem, "RX continuation buffer");
        let mut more = vec![0u8; len as usize];
        mem.read_slice(&mut more, GuestAddress(rx.rx_buf(id as u16)))
            .unwrap();
        got.extend_from_slice(&more);
        slots.push(id as u16);
    }
    assert_eq!(
        num_buffers as usize,
        (f.len() + net::HDR_LEN as usize).div_ceil(RX_BUF as usize),
        "num_buffers for a {}-byte frame",
        f.len()
    );
    // Give the buffers back, as a driver does.
    for s in slots {
        let a = rx.rx_buf(s);
        rx.post(mem, s, a, RX_BUF, true);
    }
    got
}

/// What QEMU learns from the daemon for a 2-pair NIC: pairs through
/// GET_QUEUE_NUM (QEMU's net device compares it with `queues=`), the data
/// path features and MQ, none of the control features QEMU emulates
/// itself, and no daemon-only bit.
#[test]
fn vhost_user_net_offers_datapath_features_and_pairs() {
    let daemon = NetDaemon::start("vhost-user-net-features", 2);
    let mut fe = daemon.connect();
    fe.set_owner().unwrap();
    let offered = fe.get_features().unwrap();
    for f in [
        features::VERSION_1,
        features::NET_MRG_RXBUF,
        features::NET_MTU,
        features::NET_MQ,
        features::RING_EVENT_IDX,
        features::RING_INDIRECT_DESC,
    ] {
        assert_ne!(offered & bit(f), 0, "feature {f} not offered: {offered:#x}");
    }
    for f in [
        features::NET_CTRL_VQ,
        features::NET_CTRL_RX,
        features::NET_CTRL_MAC_ADDR,
        features::ACCESS_PLATFORM,
        features::NOTIFICATION_DATA,
    ] {
        assert_eq!(offered & bit(f), 0, "feature {f} must not reach QEMU");
    }
    assert_ne!(offered & PROTOCOL_FEATURES, 0);
    fe.set_features(offered & (bit(features::VERSION_1) | PROTOCOL_FEATURES))
        .unwrap();
    let proto = fe.get_protocol_features().unwrap();
    fe.set_protocol_features(proto).unwrap();
    assert_eq!(fe.get_queue_num().unwrap(), 2, "queue pairs, not queues");
    daemon.finish(fe);
}

/// virtio 1.2 §5.1.6.2 and §5.1.6.3 end to end: frames of 60, 1514 and
/// 9014 bytes leave on transmitq1 and come back on receiveq1 through the
/// loopback wire, byte for byte, the jumbo one over five mergeable buffers
/// (§5.1.6.4); GET_VRING_BASE then reports what the device consumed.
#[test]
fn spec_5_1_6_frames_out_and_back_through_vhost_user() {
    let daemon = NetDaemon::start("vhost-user-net-loopback", 1);
    let ram = GuestRam::new();
    let mut fe = daemon.connect();
    negotiate(&mut fe, &ram);
    let mut rx = Ring::start(&mut fe, &ram, 0);
    let mut tx = Ring::start(&mut fe, &ram, 1);
    rx.fill_rx(&ram.mem);
    let sizes = [60usize, 1514, 9014];
    let mut rx_buffers = 0;
    for (i, &len) in sizes.iter().enumerate() {
        let f = frame(len, i as u8 + 1);
        let got = send_and_receive(&ram.mem, &mut tx, i as u16, &mut rx, &f);
        assert_eq!(got.len(), f.len(), "length of the {len}-byte frame");
        assert!(got == f, "the {len}-byte frame came back changed");
        rx_buffers += (len + net::HDR_LEN as usize).div_ceil(RX_BUF as usize) as u32;
    }
    assert_eq!(
        fe.get_vring_base(1).unwrap(),
        sizes.len() as u32,
        "TX chains consumed"
    );
    // RX: a reconnecting frontend resumes at this index, so it must count
    // the buffers the device used, not those it merely fetched ahead.
    assert_eq!(fe.get_vring_base(0).unwrap(), rx_buffers, "RX buffers used");
    daemon.finish(fe);
}

/// A locally administered unicast address per flow; the hardware's
/// steering hash (XOR of the nibbles) differs for `i` in 0..16.
fn peer(i: u8) -> [u8; 6] {
    [0x02, 0, 0, 0, 0, 0x10 + i]
}

/// A frame from `src` to `dst`.
fn frame_between(dst: [u8; 6], src: [u8; 6], len: usize, seed: u8) -> Vec<u8> {
    let mut f = frame(len, seed);
    f[..6].copy_from_slice(&dst);
    f[6..12].copy_from_slice(&src);
    f
}

/// Sends `f` on `tx` (its descriptor `slot`) and returns the receiveq
/// (vring index) it came back on, checking its bytes.
fn bounce(mem: &GuestMemoryMmap, tx: &mut Ring, slot: u16, rxs: &mut [&mut Ring], f: &[u8]) -> u32 {
    let buf = TX_BUFS + tx.index as u64 * 0x8000 + 0x1000 * slot as u64;
    let mut out = vec![0u8; net::HDR_LEN as usize];
    out.extend_from_slice(f);
    mem.write_slice(&out, GuestAddress(buf)).unwrap();
    tx.post(mem, slot, buf, out.len() as u32, false);
    tx.wait_used(mem, "TX");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        for rx in rxs.iter_mut() {
            if rx.used_idx(mem) != rx.last_used {
                let (id, len) = rx.wait_used(mem, "RX");
                let a = rx.rx_buf(id as u16);
                let mut got = vec![0u8; len as usize - net::HDR_LEN as usize];
                mem.read_slice(&mut got, GuestAddress(a + net::HDR_LEN as u64))
                    .unwrap();
                assert!(got == f, "frame of {} bytes came back changed", f.len());
                rx.post(mem, id as u16, a, RX_BUF, true);
                return rx.index;
            }
        }
        assert!(
            Instant::now() < deadline,
            "frame of {} bytes did not come back",
            f.len()
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// virtio 1.2 §5.1.6.5.5 in vhost-user mode: QEMU answers the guest's
/// MQ_VQ_PAIRS_SET itself and enables or disables the pair's vrings; the
/// daemon turns that into VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET on the device's
/// own control queue, so that the hardware steers RX over exactly the
/// pairs that run. The hardware steers a frame to the pair that last sent
/// to its source address (docs/net.md): with 2 pairs set, a flow sent on
/// transmitq2 comes back on receiveq2; with 1 pair set, the same learned
/// flow comes back on receiveq1.
#[test]
fn spec_5_1_6_5_5_pairs_enabled_by_the_frontend_reach_the_device() {
    let daemon = NetDaemon::start("vhost-user-net-pairs", 2);
    let ram = GuestRam::new();
    let mut fe = daemon.connect();
    negotiate(&mut fe, &ram);
    let mut rings: Vec<Ring> = (0..4).map(|i| Ring::start(&mut fe, &ram, i)).collect();
    sync(&mut fe);
    let pairs_set = || daemon.backend.lock().unwrap().pairs_set();
    assert_eq!(pairs_set(), Some(2), "both pairs run: the device uses both");

    // The guest goes back to one pair: QEMU disables pair 1's rings.
    fe.set_vring_enable(2, false).unwrap();
    sync(&mut fe);
    assert_eq!(
        pairs_set(),
        Some(1),
        "pair 1 left before its RX ring stopped"
    );
    fe.set_vring_enable(3, false).unwrap();
    sync(&mut fe);
    assert_eq!(pairs_set(), Some(1));
    fe.set_vring_enable(2, true).unwrap();
    sync(&mut fe);
    assert_eq!(pairs_set(), Some(1), "half a pair is not a pair");
    fe.set_vring_enable(3, true).unwrap();
    sync(&mut fe);
    assert_eq!(pairs_set(), Some(2));

    let mem = &ram.mem;
    let [rx0, tx0, rx1, tx1] = &mut rings[..] else {
        unreachable!()
    };
    rx0.fill_rx(mem);
    rx1.fill_rx(mem);
    // Eight flows, each sent on transmitq (i % 2) + 1 to and from its own
    // address: each comes back on the receiveq of its pair.
    for i in 0..8u8 {
        let f = frame_between(peer(i), peer(i), 100 + 50 * i as usize, i + 1);
        let (tx, want) = if i % 2 == 0 {
            (&mut *tx0, 0)
        } else {
            (&mut *tx1, 2)
        };
        let got = bounce(mem, tx, i as u16 / 2, &mut [&mut *rx0, &mut *rx1], &f);
        assert_eq!(
            got, want,
            "flow {i} sent on vring {} came back on vring {got}",
            tx.index
        );
    }
    // One pair again: a frame from peer(1), whose flow pair 1 learned, is
    // steered to pair 0 now.
    fe.set_vring_enable(2, false).unwrap();
    sync(&mut fe);
    fe.set_vring_enable(3, false).unwrap();
    sync(&mut fe);
    assert_eq!(pairs_set(), Some(1));
    let f = frame_between(peer(9), peer(1), 200, 42);
    let got = bounce(mem, tx0, 5, &mut [&mut *rx0], &f);
    assert_eq!(got, 0);
    daemon.finish(fe);
}

/// The daemon's own IOVA window (its control queue) is not guest RAM: a
/// memory table that puts guest memory there is refused, naming both.
#[test]
fn vhost_user_net_memory_table_over_the_daemon_window_is_refused() {
    let daemon = NetDaemon::start("vhost-user-net-window", 1);
    let ram = GuestRam::new();
    let mut fe = daemon.connect();
    fe.set_owner().unwrap();
    let offered = fe.get_features().unwrap();
    fe.set_features(offered & (bit(features::VERSION_1) | PROTOCOL_FEATURES))
        .unwrap();
    let proto = fe.get_protocol_features().unwrap();
    fe.set_protocol_features(proto).unwrap();
    let top = (1u64 << 48) - MEM as u64;
    let region = VhostUserMemoryRegionInfo {
        guest_phys_addr: top,
        ..ram.region()
    };
    fe.set_mem_table(&[region]).unwrap();
    sync(&mut fe);
    let mapped = || daemon.backend.lock().unwrap().mapped_regions();
    assert_eq!(mapped(), 0, "guest RAM over the window was mapped");
    // The ordinary table still works on the same connection.
    fe.set_mem_table(&[ram.region()]).unwrap();
    sync(&mut fe);
    assert_eq!(mapped(), 1);
    daemon.finish(fe);
}
