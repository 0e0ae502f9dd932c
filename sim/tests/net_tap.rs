//! `tap:NAME` end to end: a TAP interface created by the port, frames from
//! the simulated device's transmitq1 seen on the host side of the TAP, and
//! a frame the host sends out of the TAP delivered into receiveq1. The host
//! side is an AF_PACKET socket bound to the interface.
//!
//! Needs /dev/net/tun and CAP_NET_ADMIN (and CAP_NET_RAW for the packet
//! socket). Without /dev/net/tun the test says why and skips (CI included:
//! a container without the device node cannot have a TAP). When the node
//! exists but the TAP cannot be made, it skips with the reason, except
//! under CI=true, where it fails (CI runs as root, which can).

mod common;

use std::ffi::CString;
use std::time::{Duration, Instant};

use common::Board;
use common::net::{NetQueues, net_cfg};
use vfpga_sim::backend::BackendKind;
use vfpga_sim::net::tap::{TUN_PATH, TapPort};

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// A TAP named after this process, or `None` with the reason printed.
fn tap_or_skip(test: &str) -> Option<(TapPort, String)> {
    if !std::path::Path::new(TUN_PATH).exists() {
        eprintln!("{test}: skipped: {TUN_PATH} does not exist here (no TUN/TAP device node)");
        return None;
    }
    let name = format!("vfpgat{}", std::process::id() % 1_000_000);
    match TapPort::open(&name) {
        Ok(p) => Some((p, name)),
        Err(e) if ci() => panic!("{test}: a TAP is required under CI=true: {e}"),
        Err(e) => {
            eprintln!("{test}: skipped: {e}");
            None
        }
    }
}

/// An AF_PACKET socket on interface `name`: the host's side of the TAP.
struct PacketSocket {
    fd: libc::c_int,
    ifindex: libc::c_int,
}

impl PacketSocket {
    fn open(name: &str) -> std::io::Result<Self> {
        let cname = CString::new(name).unwrap();
        // SAFETY: a NUL-terminated name.
        let ifindex = unsafe { libc::if_nametoindex(cname.as_ptr()) } as libc::c_int;
        if ifindex == 0 {
            return Err(std::io::Error::last_os_error());
        }
        let proto = (libc::ETH_P_ALL as u16).to_be();
        // SAFETY: plain socket call; closed in Drop.
        let fd = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                proto.into(),
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let s = PacketSocket { fd, ifindex };
        let addr = s.addr();
        // SAFETY: binds to a valid sockaddr_ll of its size.
        let r = unsafe {
            libc::bind(
                fd,
                (&addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if r < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(s)
    }

    fn addr(&self) -> libc::sockaddr_ll {
        // SAFETY: all-zero is a valid sockaddr_ll.
        let mut a: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        a.sll_family = libc::AF_PACKET as u16;
        a.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        a.sll_ifindex = self.ifindex;
        a.sll_halen = 6;
        a
    }

    /// The host sends `frame` out of the TAP (towards the device).
    fn send(&self, frame: &[u8]) {
        let addr = self.addr();
        // SAFETY: sends `frame` to a valid sockaddr_ll.
        let n = unsafe {
            libc::sendto(
                self.fd,
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        assert_eq!(
            n,
            frame.len() as isize,
            "{}",
            std::io::Error::last_os_error()
        );
    }

    /// The next frame the socket saw (either direction), if any.
    fn recv(&self) -> Option<Vec<u8>> {
        let mut buf = vec![0u8; 65536];
        // SAFETY: receives into `buf` of its length.
        let n = unsafe { libc::recv(self.fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
        (n > 0).then(|| {
            buf.truncate(n as usize);
            buf
        })
    }
}

impl Drop for PacketSocket {
    fn drop(&mut self) {
        // SAFETY: closes the fd opened in `open`.
        unsafe { libc::close(self.fd) };
    }
}

fn tagged(len: usize, tag: u8) -> Vec<u8> {
    let mut f: Vec<u8> = (0..len).map(|i| (i as u8) ^ tag).collect();
    f[..6].copy_from_slice(&[0xFF; 6]);
    f[6..12].copy_from_slice(&[0x02, 0x56, 0x46, 0x50, 0x47, tag]);
    // A local experimental EtherType: the host stack ignores it.
    f[12..14].copy_from_slice(&[0x88, 0xB5]);
    f
}

#[test]
fn tap_port_carries_frames_both_ways() {
    let Some((port, name)) = tap_or_skip("tap_port_carries_frames_both_ways") else {
        return;
    };
    let host = match PacketSocket::open(&name) {
        Ok(s) => s,
        Err(e) if ci() => panic!("packet socket on {name} under CI=true: {e}"),
        Err(e) => {
            eprintln!("tap_port_carries_frames_both_ways: skipped: packet socket on {name}: {e}");
            return;
        }
    };
    let kind = BackendKind::default_for(vfpga_abi::Personality::Net);
    let mut b = Board::net(kind, net_cfg(), Box::new(port));
    let mem = b.mem.clone();
    let mut q = NetQueues::new(&mem);
    q.init(&mut b);
    q.post_rx(&mut b, 32);

    // Device to host.
    let out = tagged(1000, 0x11);
    q.send(&mut b, &out);
    assert!(b.run_until(400_000, |b| q.tx_used(b) == 1));
    let end = Instant::now() + Duration::from_secs(10);
    let mut seen = false;
    while !seen && Instant::now() < end {
        match host.recv() {
            Some(f) => seen = f == out,
            None => std::thread::sleep(Duration::from_millis(1)),
        }
    }
    assert!(seen, "the device's frame came out of tap:{name}");

    // Host to device (the host stack may send its own frames too, IPv6
    // neighbour discovery for instance: look for ours).
    let inbound = tagged(1400, 0x22);
    host.send(&inbound);
    let end = Instant::now() + Duration::from_secs(30);
    let mut got = false;
    while !got && Instant::now() < end {
        b.run_until(2_000, |_| false);
        while let Some((_, f)) = q.next_rx(&b) {
            got |= f == inbound;
        }
    }
    assert!(got, "the host's frame reached receiveq1 through tap:{name}");
}
