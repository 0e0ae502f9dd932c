//! A hostile or broken vhost-user frontend (issue 7): every bad message gets
//! an error reply (REPLY_ACK) or a closed connection, the daemon logs what
//! was wrong, and the next frontend still does I/O through the device.
//!
//! One daemon serves the whole file; the tests take turns on it (it serves
//! one frontend at a time anyway). Malformed messages are written as raw
//! bytes; well-formed but wrong ones go through the `vhost` crate's frontend,
//! on a socket with a read timeout so that a daemon that neither answers nor
//! hangs up fails the test instead of hanging it. Test names follow the
//! message names of QEMU's vhost-user.rst.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use common::{DATA, Daemon, GuestRam, HDR, QSIZE, RING, STATUS, negotiate, start_ring};
use vfpga_abi::{blk, ring, vendor};
use vhost::vhost_user::message::VhostUserHeaderFlag;
use vhost::vhost_user::{Frontend, VhostUserFrontend};
use vhost::{VhostBackend, VhostUserMemoryRegionInfo, VringConfigData};
use virtio_queue::desc::RawDescriptor;
use virtio_queue::desc::split::Descriptor;
use virtio_queue::mock::MockSplitQueue;
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};
use vmm_sys_util::eventfd::EventFd;
use vmm_sys_util::sock_ctrl_msg::ScmSocket;

/// Long enough for a loaded machine; a daemon that stays silent this long
/// has left the frontend hanging, which is the failure being tested.
const REPLY_TIMEOUT: Duration = Duration::from_secs(20);

// Request codes and header flags of vhost-user.rst ("Message types",
// "Header").
const GET_FEATURES: u32 = 1;
const SET_FEATURES: u32 = 2;
const SET_OWNER: u32 = 3;
const SET_MEM_TABLE: u32 = 5;
const SET_VRING_NUM: u32 = 8;
const SET_VRING_BASE: u32 = 10;
const GET_VRING_BASE: u32 = 11;
const SET_VRING_KICK: u32 = 12;
const SET_VRING_ENABLE: u32 = 18;
const VERSION_1: u32 = 0x1;
const REPLY: u32 = 0x4;
const NEED_REPLY: u32 = 0x8;

/// Everything the daemon logs, for checking that a refusal names its cause.
static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOG.lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The shared daemon, and the turn to use it.
fn daemon() -> (MutexGuard<'static, ()>, &'static Daemon) {
    static TURN: Mutex<()> = Mutex::new(());
    static DAEMON: OnceLock<Daemon> = OnceLock::new();
    // A failed test must not fail the others: its poison is not theirs.
    let turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let d = DAEMON.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(|| LogWriter)
            .try_init();
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("vhost-user-hostile");
        std::fs::create_dir_all(&dir).unwrap();
        Daemon::start(&dir, &dir.join("disk.img"))
    });
    (turn, d)
}

/// Position in the log, to look only at what a test caused.
fn log_mark() -> usize {
    LOG.lock().unwrap_or_else(|e| e.into_inner()).len()
}

/// Asserts that the daemon logged `needle` after `mark`. The daemon logs
/// before it answers or hangs up, so the line is normally there already;
/// the wait only covers a thread that has not been scheduled yet.
fn assert_logged(mark: usize, needle: &str) {
    let deadline = Instant::now() + REPLY_TIMEOUT;
    loop {
        let text = {
            let log = LOG.lock().unwrap_or_else(|e| e.into_inner());
            String::from_utf8_lossy(&log[mark..]).into_owned()
        };
        if text.contains(needle) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the daemon did not log {needle:?}; it logged:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A connection whose reads give up instead of hanging.
fn socket(d: &Daemon) -> UnixStream {
    let s = UnixStream::connect(&d.socket).expect("connecting to the daemon");
    s.set_read_timeout(Some(REPLY_TIMEOUT)).unwrap();
    s
}

/// A `vhost` frontend that believes the device has 8 queues (so it sends
/// indices the daemon must refuse), and a raw handle on the same socket.
/// Only raw reads time out: the frontend retries a timed-out read, so it is
/// used only where the daemon always answers (REPLY_ACK) when it works.
fn frontend(d: &Daemon) -> (Frontend, UnixStream) {
    let s = socket(d);
    let raw = s.try_clone().unwrap();
    let fe = Frontend::from_stream(s, 8);
    // As QEMU: every request asks for an ack once REPLY_ACK is negotiated.
    fe.set_hdr_flags(VhostUserHeaderFlag::NEED_REPLY);
    (fe, raw)
}

/// A negotiated session (REPLY_ACK on) over `ram`'s memory table.
fn session(d: &Daemon, ram: &GuestRam) -> (Frontend, UnixStream) {
    let (mut fe, raw) = frontend(d);
    negotiate(&mut fe);
    fe.set_mem_table(&[ram.region()]).unwrap();
    (fe, raw)
}

/// A vhost-user message: the 12-byte header, then the payload.
fn message(code: u32, flags: u32, size: u32, payload: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(12 + payload.len());
    m.extend_from_slice(&code.to_le_bytes());
    m.extend_from_slice(&flags.to_le_bytes());
    m.extend_from_slice(&size.to_le_bytes());
    m.extend_from_slice(payload);
    m
}

/// A u64-payload message, as SET_FEATURES or SET_VRING_KICK.
fn message_u64(code: u32, flags: u32, value: u64) -> Vec<u8> {
    message(code, flags, 8, &value.to_le_bytes())
}

/// A vring state message (index, num), as SET_VRING_NUM or SET_VRING_BASE.
fn message_state(code: u32, flags: u32, index: u32, num: u32) -> Vec<u8> {
    let mut p = index.to_le_bytes().to_vec();
    p.extend_from_slice(&num.to_le_bytes());
    message(code, flags, 8, &p)
}

/// A SET_MEM_TABLE payload: region count, padding, then regions of
/// (guest physical address, size, user address, mmap offset).
fn mem_table(regions: &[(u64, u64, u64)]) -> Vec<u8> {
    let mut p = (regions.len() as u32).to_le_bytes().to_vec();
    p.extend_from_slice(&0u32.to_le_bytes());
    for (gpa, size, uaddr) in regions {
        for v in [*gpa, *size, *uaddr, 0] {
            p.extend_from_slice(&v.to_le_bytes());
        }
    }
    p
}

/// Reads the REPLY_ACK answer to request `code`: 0 is success.
fn read_ack(s: &mut UnixStream, code: u32) -> u64 {
    let mut reply = [0u8; 20];
    s.read_exact(&mut reply)
        .expect("the daemon neither acknowledged nor disconnected");
    let word = |i: usize| u32::from_le_bytes(reply[i..i + 4].try_into().unwrap());
    assert_eq!(word(0), code, "reply to the wrong request");
    assert_eq!(word(4) & REPLY, REPLY, "not a reply");
    assert_eq!(word(8), 8, "an ack carries a u64");
    u64::from_le_bytes(reply[12..].try_into().unwrap())
}

/// Asserts that the daemon hangs up (after at most a NACK, returned) rather
/// than leaving the frontend waiting.
fn assert_disconnected(s: &mut UnixStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return got,
            Err(e) => panic!("the daemon neither answered nor disconnected: {e}"),
        }
    }
}

/// Asserts a REPLY_ACK failure from the `vhost` frontend (and not a refusal
/// of its own, or a broken connection).
fn assert_nacked<T>(r: vhost::Result<T>, what: &str) {
    match r {
        Err(e) => assert!(
            e.to_string().contains("backend internal error"),
            "{what}: expected a NACK, got {e}"
        ),
        Ok(_) => panic!("{what}: the daemon accepted it"),
    }
}

/// Ring addresses of `q` as the frontend sends them.
fn ring_config(ram: &GuestRam, q: &MockSplitQueue<'_, GuestMemoryMmap>) -> VringConfigData {
    VringConfigData {
        queue_max_size: QSIZE,
        queue_size: QSIZE,
        flags: 0,
        desc_table_addr: ram.uaddr(q.desc_table_addr().0),
        used_ring_addr: ram.uaddr(common::used_ring(q)),
        avail_ring_addr: ram.uaddr(q.avail_addr().0),
        log_addr: None,
    }
}

/// Puts a blk request (header, one data buffer at `data`, status) in avail
/// slot `slot` and kicks.
#[allow(clippy::too_many_arguments)]
fn request(
    ram: &GuestRam,
    q: &MockSplitQueue<'_, GuestMemoryMmap>,
    kick: &EventFd,
    slot: u16,
    kind: u32,
    sector: u64,
    data: u64,
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
        Descriptor::new(HDR, 16, ring::DESC_F_NEXT, base + 1),
        Descriptor::new(data, 4096, data_flags | ring::DESC_F_NEXT, base + 2),
        Descriptor::new(STATUS, 1, ring::DESC_F_WRITE, 0),
    ];
    for (i, d) in descs.into_iter().enumerate() {
        q.desc_table()
            .store(base + i as u16, RawDescriptor::from(d))
            .unwrap();
    }
    q.avail().ring().ref_at(slot as usize).unwrap().store(base);
    q.avail().idx().store(slot + 1);
    kick.write(1).unwrap();
}

/// Waits for the device to complete `idx` requests; returns the status byte.
fn complete(d: &Daemon, q: &MockSplitQueue<'_, GuestMemoryMmap>, ram: &GuestRam, idx: u16) -> u8 {
    let deadline = Instant::now() + REPLY_TIMEOUT;
    while common::used_idx(&ram.mem, q) != idx {
        if Instant::now() > deadline {
            let c = d.backend.lock().unwrap().counters();
            panic!("the device did not complete request {idx}; counters {c:?}");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    ram.mem.read_obj::<u8>(GuestAddress(STATUS)).unwrap()
}

/// The daemon survived: a fresh frontend writes a block and reads it back
/// through the device (virtio 1.2 §5.2.6), each time a different block with
/// a different pattern, so a stale result cannot pass.
fn assert_device_works(d: &Daemon) {
    static ROUND: AtomicU64 = AtomicU64::new(0);
    let round = ROUND.fetch_add(1, Ordering::Relaxed);
    let sector = 8 * (1 + round % 200);
    let ram = GuestRam::new();
    let q = MockSplitQueue::create(&ram.mem, GuestAddress(RING), QSIZE);
    let (mut fe, _raw) = session(d, &ram);
    let (_call, kick) = start_ring(&mut fe, &ram, &q);
    let pattern: Vec<u8> = (0..4096u64)
        .map(|i| (i * 13 + round * 7 + 1) as u8)
        .collect();
    ram.mem.write_slice(&pattern, GuestAddress(DATA)).unwrap();
    request(&ram, &q, &kick, 0, blk::req::OUT, sector, DATA);
    assert_eq!(complete(d, &q, &ram, 1), blk::status::OK, "write");
    ram.mem
        .write_slice(&[0u8; 4096], GuestAddress(DATA))
        .unwrap();
    request(&ram, &q, &kick, 1, blk::req::IN, sector, DATA);
    assert_eq!(complete(d, &q, &ram, 2), blk::status::OK, "read");
    let mut back = vec![0u8; 4096];
    ram.mem.read_slice(&mut back, GuestAddress(DATA)).unwrap();
    assert_eq!(back, pattern, "the block read back is the one written");
    assert_eq!(fe.get_vring_base(0).unwrap(), 2);
}

/// Sends `bytes` on a fresh connection and expects the daemon to hang up
/// after logging `needle`, then to serve the next frontend.
fn assert_malformed_refused(bytes: &[u8], needle: &str) {
    let (_turn, d) = daemon();
    let mark = log_mark();
    let mut s = socket(d);
    s.write_all(bytes).unwrap();
    let got = assert_disconnected(&mut s);
    assert!(got.is_empty(), "no reply to a malformed message: {got:?}");
    assert_logged(mark, needle);
    assert_device_works(d);
}

#[test]
fn vhost_user_header_unknown_request_code_disconnects() {
    assert_malformed_refused(&message(0xdead, VERSION_1, 0, &[]), "protocol error");
}

#[test]
fn vhost_user_header_wrong_version_disconnects() {
    assert_malformed_refused(&message(GET_FEATURES, 0x2, 0, &[]), "protocol error");
}

#[test]
fn vhost_user_header_reply_flag_on_a_request_disconnects() {
    assert_malformed_refused(
        &message(SET_OWNER, VERSION_1 | REPLY, 0, &[]),
        "protocol error",
    );
}

#[test]
fn vhost_user_header_size_above_maximum_disconnects() {
    assert_malformed_refused(
        &message(SET_FEATURES, VERSION_1, 0x1000_0000, &[0; 8]),
        "protocol error",
    );
}

#[test]
fn vhost_user_payload_size_not_matching_the_request_disconnects() {
    // SET_VRING_NUM carries a vring state (8 bytes), not 4.
    assert_malformed_refused(
        &message(SET_VRING_NUM, VERSION_1, 4, &[0; 4]),
        "protocol error",
    );
}

#[test]
fn vhost_user_truncated_payload_disconnects() {
    let (_turn, d) = daemon();
    let mark = log_mark();
    let mut s = socket(d);
    // Header says 8 bytes of payload; 3 arrive, then the frontend stops.
    s.write_all(&message(SET_FEATURES, VERSION_1, 8, &[1, 2, 3]))
        .unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    assert!(assert_disconnected(&mut s).is_empty());
    assert_logged(mark, "protocol error");
    // Half a header.
    let mark = log_mark();
    let mut s = socket(d);
    s.write_all(&message(GET_FEATURES, VERSION_1, 0, &[])[..5])
        .unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    assert!(assert_disconnected(&mut s).is_empty());
    assert_logged(mark, "frontend disconnected");
    assert_device_works(d);
}

#[test]
fn vhost_user_set_vring_kick_missing_fd_disconnects() {
    // Bit 8 clear says an fd is attached; none is.
    assert_malformed_refused(&message_u64(SET_VRING_KICK, VERSION_1, 0), "protocol error");
}

#[test]
fn vhost_user_set_vring_enable_num_not_0_or_1_disconnects() {
    let (_turn, d) = daemon();
    let ram = GuestRam::new();
    let (_fe, mut raw) = session(d, &ram);
    let mark = log_mark();
    raw.write_all(&message_state(SET_VRING_ENABLE, VERSION_1, 0, 2))
        .unwrap();
    assert!(assert_disconnected(&mut raw).is_empty());
    assert_logged(mark, "protocol error");
    assert_device_works(d);
}

#[test]
fn vhost_user_set_mem_table_missing_fds_nacked_and_disconnected() {
    let (_turn, d) = daemon();
    let (mut fe, mut raw) = frontend(d);
    negotiate(&mut fe);
    let mark = log_mark();
    // Two regions, one fd.
    let ram = GuestRam::new();
    let payload = mem_table(&[(0, 0x1000, 0x7000_0000), (0x10000, 0x1000, 0x7100_0000)]);
    let m = message(
        SET_MEM_TABLE,
        VERSION_1 | NEED_REPLY,
        payload.len() as u32,
        &payload,
    );
    raw.send_with_fds(&[&m[..]], &[ram.fd.as_raw_fd()]).unwrap();
    assert_ne!(read_ack(&mut raw, SET_MEM_TABLE), 0, "NACK");
    assert_disconnected(&mut raw);
    assert_logged(mark, "protocol error");
    assert_device_works(d);
}

/// A region the `vhost` crate itself refuses: NACK, then the daemon hangs up.
fn assert_region_refused(region: (u64, u64, u64)) {
    let (_turn, d) = daemon();
    let (mut fe, mut raw) = frontend(d);
    negotiate(&mut fe);
    let mark = log_mark();
    let ram = GuestRam::new();
    let payload = mem_table(&[region]);
    let m = message(
        SET_MEM_TABLE,
        VERSION_1 | NEED_REPLY,
        payload.len() as u32,
        &payload,
    );
    raw.send_with_fds(&[&m[..]], &[ram.fd.as_raw_fd()]).unwrap();
    assert_ne!(read_ack(&mut raw, SET_MEM_TABLE), 0, "NACK");
    assert_disconnected(&mut raw);
    assert_logged(mark, "protocol error");
    assert_eq!(d.backend.lock().unwrap().running_rings(), 0);
    assert_device_works(d);
}

#[test]
fn vhost_user_set_mem_table_zero_size_region_refused() {
    assert_region_refused((0, 0, 0x7000_0000));
}

#[test]
fn vhost_user_set_mem_table_guest_address_overflow_refused() {
    assert_region_refused((u64::MAX - 0xfff, 0x2000, 0x7000_0000));
}

#[test]
fn vhost_user_set_mem_table_user_address_overflow_refused() {
    assert_region_refused((0, 0x2000, u64::MAX - 0xfff));
}

/// Two memfd regions as the `vhost` frontend sends them.
fn two_regions(
    a: (u64, u64),
    b: (u64, u64),
) -> (Vec<std::fs::File>, [VhostUserMemoryRegionInfo; 2]) {
    let files: Vec<std::fs::File> = (0..2)
        .map(|_| {
            let fd = nix::sys::memfd::memfd_create("region", nix::sys::memfd::MFdFlags::empty())
                .unwrap();
            let f = std::fs::File::from(fd);
            f.set_len(0x10_0000).unwrap();
            f
        })
        .collect();
    let info = |(gpa, uaddr): (u64, u64), f: &std::fs::File| VhostUserMemoryRegionInfo {
        guest_phys_addr: gpa,
        memory_size: 0x10_0000,
        userspace_addr: uaddr,
        mmap_offset: 0,
        mmap_handle: f.as_raw_fd(),
    };
    let regions = [info(a, &files[0]), info(b, &files[1])];
    (files, regions)
}

/// An overlapping memory table: NACKed naming both regions, nothing mapped
/// for the device, the session goes on.
fn assert_overlap_nacked(a: (u64, u64), b: (u64, u64), needle: &str) {
    let (_turn, d) = daemon();
    let (mut fe, raw) = frontend(d);
    negotiate(&mut fe);
    let mark = log_mark();
    let (_files, regions) = two_regions(a, b);
    assert_nacked(fe.set_mem_table(&regions), "overlapping memory table");
    assert_logged(mark, needle);
    // A refusal of ours does not end the session.
    assert!(fe.get_features().is_ok());
    // Both handles of the socket: the daemon serves the next frontend once
    // this one has hung up.
    drop((fe, raw));
    assert_device_works(d);
}

#[test]
fn vhost_user_set_mem_table_overlapping_guest_physical_ranges_nacked() {
    assert_overlap_nacked(
        (0, 0x7000_0000),
        (0x8_0000, 0x7100_0000),
        "region 1 (gpa 0x80000+0x100000) overlaps region 0",
    );
}

#[test]
fn vhost_user_set_mem_table_overlapping_user_addresses_nacked() {
    assert_overlap_nacked(
        (0, 0x7000_0000),
        (0x100_0000, 0x7008_0000),
        "region 1 (uaddr 0x70080000+0x100000) overlaps region 0",
    );
}

#[test]
fn vhost_user_set_vring_addr_outside_memory_table_nacked() {
    let (_turn, d) = daemon();
    let ram = GuestRam::new();
    let q = MockSplitQueue::create(&ram.mem, GuestAddress(RING), QSIZE);
    let (mut fe, raw) = session(d, &ram);
    fe.set_vring_num(0, QSIZE).unwrap();
    let good = ring_config(&ram, &q);
    // One past the table, and straddling its end.
    let end = ram.uaddr(0) + common::MEM as u64;
    let cases = [
        (
            "descriptor",
            VringConfigData {
                desc_table_addr: end,
                ..good
            },
        ),
        (
            "avail",
            VringConfigData {
                avail_ring_addr: end - 2,
                ..good
            },
        ),
        (
            "used",
            VringConfigData {
                used_ring_addr: end - 4,
                ..good
            },
        ),
        (
            "descriptor",
            VringConfigData {
                desc_table_addr: 0x1000,
                ..good
            },
        ),
    ];
    for (what, cfg) in cases {
        let mark = log_mark();
        assert_nacked(fe.set_vring_addr(0, &cfg), what);
        assert_logged(mark, &format!("vring 0: {what} address"));
    }
    // The frontend carries on as if the ring were set: the device must not
    // run a ring it cannot reach.
    let kick = EventFd::new(0).unwrap();
    fe.set_vring_base(0, 0).unwrap();
    fe.set_vring_call(0, &EventFd::new(0).unwrap()).unwrap();
    fe.set_vring_kick(0, &kick).unwrap();
    fe.set_vring_enable(0, true).unwrap();
    assert_eq!(d.backend.lock().unwrap().running_rings(), 0);
    // Both handles of the socket: the daemon serves the next frontend once
    // this one has hung up.
    drop((fe, raw));
    assert_device_works(d);
}

/// The device never DMAs outside the table: a descriptor pointing past guest
/// memory faults in the IOMMU, the request fails, and the disk is untouched.
#[test]
fn vhost_user_descriptor_outside_memory_table_never_reaches_memory() {
    let (_turn, d) = daemon();
    let ram = GuestRam::new();
    let q = MockSplitQueue::create(&ram.mem, GuestAddress(RING), QSIZE);
    let (mut fe, raw) = session(d, &ram);
    let (_call, kick) = start_ring(&mut fe, &ram, &q);
    let faults = d.sim.bus().iommu().faults();
    let sector = 1024;
    let image = Path::new(env!("CARGO_TARGET_TMPDIR")).join("vhost-user-hostile/disk.img");
    let before = std::fs::read(&image).unwrap();
    let device_errors = || {
        let i = vendor::COUNTER_NAMES
            .iter()
            .position(|n| *n == "device_errors")
            .unwrap();
        d.backend.lock().unwrap().counters().unwrap()[i]
    };
    let errors = device_errors();
    request(
        &ram,
        &q,
        &kick,
        0,
        blk::req::OUT,
        sector,
        common::MEM as u64 + 0x1000,
    );
    // The device either completes the request with an error status or
    // reports a device error (DEVICE_NEEDS_RESET, virtio 1.2 §2.1.2).
    let deadline = Instant::now() + REPLY_TIMEOUT;
    loop {
        if common::used_idx(&ram.mem, &q) == 1 {
            let status = ram.mem.read_obj::<u8>(GuestAddress(STATUS)).unwrap();
            assert_ne!(status, blk::status::OK, "a request without its data failed");
            break;
        }
        if device_errors() > errors {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the device neither failed the request nor reported an error"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(
        d.sim.bus().iommu().faults() > faults,
        "the IOMMU refused the access"
    );
    let after = std::fs::read(&image).unwrap();
    let s = sector as usize * 512;
    assert_eq!(
        after[s..s + 4096],
        before[s..s + 4096],
        "nothing was written"
    );
    // Both handles of the socket: the daemon serves the next frontend once
    // this one has hung up.
    drop((fe, raw));
    assert_device_works(d);
}

#[test]
fn vhost_user_vring_index_out_of_range_nacked_in_every_per_queue_message() {
    let (_turn, d) = daemon();
    let ram = GuestRam::new();
    let q = MockSplitQueue::create(&ram.mem, GuestAddress(RING), QSIZE);
    let (mut fe, raw) = session(d, &ram);
    let fd = EventFd::new(0).unwrap();
    let cfg = ring_config(&ram, &q);
    for index in [1usize, 7] {
        let results: [(&str, vhost::Result<()>); 7] = [
            ("SET_VRING_NUM", fe.set_vring_num(index, QSIZE)),
            ("SET_VRING_ADDR", fe.set_vring_addr(index, &cfg)),
            ("SET_VRING_BASE", fe.set_vring_base(index, 0)),
            ("SET_VRING_KICK", fe.set_vring_kick(index, &fd)),
            ("SET_VRING_CALL", fe.set_vring_call(index, &fd)),
            ("SET_VRING_ERR", fe.set_vring_err(index, &fd)),
            ("SET_VRING_ENABLE", fe.set_vring_enable(index, true)),
        ];
        for (what, r) in results {
            assert_nacked(r, what);
        }
    }
    // Each refusal is logged with the index; count them.
    let log = String::from_utf8_lossy(&LOG.lock().unwrap()).into_owned();
    for index in [1, 7] {
        let needle = format!("vring index {index} out of range: the device has 1 queues");
        assert!(
            log.matches(&needle).count() >= 7,
            "every message logs {needle:?}"
        );
    }
    // Both handles of the socket: the daemon serves the next frontend once
    // this one has hung up.
    drop((fe, raw));
    assert_device_works(d);
}

/// GET_VRING_BASE has a reply but no way to carry an error in it: a bad
/// index must end the session, never leave the frontend waiting.
#[test]
fn vhost_user_get_vring_base_index_out_of_range_disconnects() {
    let (_turn, d) = daemon();
    let ram = GuestRam::new();
    let (fe, mut raw) = session(d, &ram);
    let mark = log_mark();
    // Sent raw: the `vhost` frontend retries a timed-out read forever, so a
    // daemon that stays silent would hang it rather than fail the test.
    raw.write_all(&message_state(GET_VRING_BASE, VERSION_1, 3, 0))
        .unwrap();
    assert!(assert_disconnected(&mut raw).is_empty(), "no reply at all");
    assert_logged(mark, "vring index 3 out of range");
    // Both handles of the socket: the daemon serves the next frontend once
    // this one has hung up.
    drop((fe, raw));
    assert_device_works(d);
}

#[test]
fn vhost_user_set_vring_num_not_a_power_of_two_or_too_large_nacked() {
    let (_turn, d) = daemon();
    let ram = GuestRam::new();
    let (fe, raw) = session(d, &ram);
    for num in [0u16, 3, 100, 32768] {
        let mark = log_mark();
        assert_nacked(fe.set_vring_num(0, num), &format!("size {num}"));
        assert_logged(mark, &format!("vring 0: size {num} is not a power of two"));
    }
    // Both handles of the socket: the daemon serves the next frontend once
    // this one has hung up.
    drop((fe, raw));
    assert_device_works(d);
}

/// A split ring's `last_avail_idx` runs freely through 16 bits (virtio 1.2
/// §2.7.6), so a base above the ring size is valid; above 16 bits it is not.
#[test]
fn vhost_user_set_vring_base_beyond_16_bits_nacked() {
    let (_turn, d) = daemon();
    let ram = GuestRam::new();
    let (_fe, mut raw) = session(d, &ram);
    let mark = log_mark();
    raw.write_all(&message_state(
        SET_VRING_BASE,
        VERSION_1 | NEED_REPLY,
        0,
        0x1_0000,
    ))
    .unwrap();
    assert_ne!(read_ack(&mut raw, SET_VRING_BASE), 0, "NACK");
    assert_logged(mark, "vring 0: base 65536 does not fit a 16-bit ring index");
    raw.write_all(&message_state(
        SET_VRING_BASE,
        VERSION_1 | NEED_REPLY,
        0,
        300,
    ))
    .unwrap();
    assert_eq!(
        read_ack(&mut raw, SET_VRING_BASE),
        0,
        "300 is a valid free-running index"
    );
    drop((_fe, raw));
    assert_device_works(d);
}

/// Requests whose reply has no way to say "failed", for features the daemon
/// never offered but a frontend can ack anyway (the `vhost` crate records a
/// refused SET_PROTOCOL_FEATURES): the daemon hangs up instead of leaving
/// the frontend waiting.
#[test]
fn vhost_user_get_max_mem_slots_and_get_inflight_fd_not_offered_disconnect() {
    let (_turn, d) = daemon();
    // REPLY_ACK | INFLIGHT_SHMFD, then GET_INFLIGHT_FD (num_queues 1, size 16);
    // REPLY_ACK | CONFIGURE_MEM_SLOTS, then GET_MAX_MEM_SLOTS.
    let mut inflight = [0u8; 24];
    inflight[16..18].copy_from_slice(&1u16.to_le_bytes());
    inflight[18..20].copy_from_slice(&16u16.to_le_bytes());
    let cases: [(u64, u32, &[u8]); 2] = [(0x1000, 31, &inflight), (0x8000, 36, &[])];
    for (feature, code, payload) in cases {
        let (mut fe, mut raw) = frontend(d);
        negotiate(&mut fe);
        let mark = log_mark();
        raw.write_all(&message_u64(16, VERSION_1 | NEED_REPLY, 0x8 | feature))
            .unwrap();
        assert_ne!(
            read_ack(&mut raw, 16),
            0,
            "feature {feature:#x} was not offered"
        );
        raw.write_all(&message(code, VERSION_1, payload.len() as u32, payload))
            .unwrap();
        assert!(assert_disconnected(&mut raw).is_empty(), "request {code}");
        assert_logged(mark, "no reply can say so");
    }
    assert_device_works(d);
}

/// A new memory table that no longer holds a running ring is refused before
/// anything moves: the ring keeps running on the memory it had.
#[test]
fn vhost_user_set_mem_table_leaving_a_running_ring_outside_nacked() {
    let (_turn, d) = daemon();
    let ram = GuestRam::new();
    let q = MockSplitQueue::create(&ram.mem, GuestAddress(RING), QSIZE);
    let (mut fe, raw) = session(d, &ram);
    let (_call, kick) = start_ring(&mut fe, &ram, &q);
    request(&ram, &q, &kick, 0, blk::req::IN, 0, DATA);
    assert_eq!(complete(d, &q, &ram, 1), blk::status::OK);
    let other = GuestRam::new();
    let mark = log_mark();
    assert_nacked(
        fe.set_mem_table(&[other.region()]),
        "a table without the ring",
    );
    assert_logged(mark, "vring 0: descriptor address");
    assert_logged(mark, "is not inside the memory table");
    assert_eq!(d.backend.lock().unwrap().running_rings(), 1);
    request(&ram, &q, &kick, 1, blk::req::IN, 0, DATA);
    assert_eq!(complete(d, &q, &ram, 2), blk::status::OK, "still running");
    drop((fe, raw));
    assert_device_works(d);
}

/// virtio 1.2 §2.7: the descriptor table is 16-byte aligned; the `vhost`
/// crate refuses the message as malformed and the daemon hangs up.
#[test]
fn vhost_user_set_vring_addr_misaligned_descriptor_table_disconnects() {
    const SET_VRING_ADDR: u32 = 9;
    let mut p = Vec::new();
    p.extend_from_slice(&0u32.to_le_bytes()); // index
    p.extend_from_slice(&0u32.to_le_bytes()); // flags
    for addr in [0x7000_0008u64, 0x7000_1000, 0x7000_2000, 0] {
        p.extend_from_slice(&addr.to_le_bytes()); // desc, used, avail, log
    }
    assert_malformed_refused(
        &message(SET_VRING_ADDR, VERSION_1, p.len() as u32, &p),
        "protocol error",
    );
}
