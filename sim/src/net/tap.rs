//! `tap:NAME`: a Linux TAP interface (`/dev/net/tun`, `TUNSETIFF` with
//! `IFF_TAP | IFF_NO_PI`): frames the hardware transmits enter the host's
//! network stack on NAME; frames the host sends out of NAME are received.
//! The interface is created when it does not exist (and persists only as
//! long as the port, unless it was made persistent beforehand, e.g. with
//! `ip tuntap add NAME mode tap`) and brought up.
//!
//! Needs `/dev/net/tun` and CAP_NET_ADMIN (root, or a persistent TAP owned
//! by the user); [`TapPort::open`] says which is missing.

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;

use crate::net::port::{MAX_FRAME, NetPort, PortError};

/// `_IOW('T', 202, int)`.
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
/// The clone device.
pub const TUN_PATH: &str = "/dev/net/tun";

/// A TAP interface.
#[derive(Debug)]
pub struct TapPort {
    file: File,
    name: String,
}

#[repr(C)]
struct IfReqFlags {
    name: [libc::c_char; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

fn ifreq(name: &str) -> IfReqFlags {
    let mut r = IfReqFlags {
        name: [0; libc::IFNAMSIZ],
        flags: 0,
        _pad: [0; 22],
    };
    for (d, s) in r.name.iter_mut().zip(name.bytes().take(libc::IFNAMSIZ - 1)) {
        *d = s as libc::c_char;
    }
    r
}

impl TapPort {
    /// Attaches to (or creates) TAP interface `name` and brings it up.
    pub fn open(name: &str) -> Result<Self, PortError> {
        let unavailable = |reason: String| PortError::TapUnavailable {
            name: name.into(),
            reason,
        };
        if CString::new(name).is_err() || name.is_empty() || name.len() >= libc::IFNAMSIZ {
            return Err(unavailable("not a valid interface name".into()));
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(TUN_PATH)
            .map_err(|e| {
                unavailable(match e.kind() {
                    io::ErrorKind::NotFound => {
                        format!("{TUN_PATH} does not exist (no TUN/TAP driver in this kernel or container)")
                    }
                    io::ErrorKind::PermissionDenied => {
                        format!("cannot open {TUN_PATH}: permission denied")
                    }
                    _ => format!("cannot open {TUN_PATH}: {e}"),
                })
            })?;
        let mut req = ifreq(name);
        req.flags = (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short;
        // SAFETY: TUNSETIFF reads and writes one ifreq, which `req` is
        // (name, flags, padding to its 40 bytes).
        let r = unsafe { libc::ioctl(file.as_raw_fd(), TUNSETIFF as _, &mut req) };
        if r < 0 {
            let e = io::Error::last_os_error();
            return Err(unavailable(match e.raw_os_error() {
                Some(libc::EPERM) => format!(
                    "TUNSETIFF refused: creating or attaching a TAP needs CAP_NET_ADMIN (run as root, or create it first with `ip tuntap add {name} mode tap user $USER`)"
                ),
                Some(libc::EBUSY) => format!("{name} is in use by another process"),
                Some(libc::EINVAL) => format!("{name} exists and is not a TAP interface"),
                _ => format!("TUNSETIFF: {e}"),
            }));
        }
        if let Err(e) = set_up(name) {
            // A persistent TAP an unprivileged user attached to may be down;
            // traffic flows once someone runs `ip link set NAME up`.
            tracing::warn!(%e, "tap:{name}: could not bring the interface up");
        }
        Ok(TapPort {
            file,
            name: name.into(),
        })
    }
}

/// Sets IFF_UP on interface `name` (SIOCGIFFLAGS / SIOCSIFFLAGS).
fn set_up(name: &str) -> io::Result<()> {
    // SAFETY: a plain socket call; the fd is closed below.
    let s = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if s < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut req = ifreq(name);
    // SAFETY: SIOCGIFFLAGS/SIOCSIFFLAGS read and write one ifreq.
    let r = unsafe {
        if libc::ioctl(s, libc::SIOCGIFFLAGS as _, &mut req) < 0 {
            -1
        } else {
            req.flags |= libc::IFF_UP as libc::c_short;
            libc::ioctl(s, libc::SIOCSIFFLAGS as _, &mut req)
        }
    };
    let e = io::Error::last_os_error();
    // SAFETY: closes the socket opened above.
    unsafe { libc::close(s) };
    if r < 0 { Err(e) } else { Ok(()) }
}

impl NetPort for TapPort {
    fn send(&mut self, frame: &[u8]) -> Result<(), PortError> {
        if frame.is_empty() || frame.len() > MAX_FRAME {
            return Err(PortError::FrameSize(frame.len()));
        }
        self.file
            .write(frame)
            .map(|_| ())
            .map_err(|source| PortError::Io {
                port: format!("tap:{}", self.name),
                op: "write",
                source,
            })
    }

    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, PortError> {
        loop {
            match self.file.read(buf) {
                Ok(n) => return Ok(Some(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(PortError::Io {
                        port: format!("tap:{}", self.name),
                        op: "read",
                        source,
                    });
                }
            }
        }
    }

    fn wake_fd(&self) -> Option<RawFd> {
        Some(self.file.as_raw_fd())
    }

    fn describe(&self) -> String {
        format!("tap:{}", self.name)
    }
}
