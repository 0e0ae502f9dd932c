//! What a board's MAC is wired to: the [`NetPort`] trait, and
//! [`PortSpec`], a port named on a command line (`loopback`,
//! `udp:LOCAL,PEER`, `tap:NAME`) that opens one.

use std::fmt;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::str::FromStr;

use crate::net::loopback::LoopbackPort;
use crate::net::tap::TapPort;
use crate::net::udp::UdpPort;

/// Largest frame a port carries: a 9000-byte MTU plus the 14-byte Ethernet
/// header (no FCS, no VLAN tag), as the MAC streams carry frames.
pub const MAX_FRAME: usize = vfpga_abi::net::MAX_MTU as usize + 14;

/// A network port: where frames the hardware transmits go, and where frames
/// it receives come from. Frames are whole Ethernet frames without preamble
/// or FCS, 1..=[`MAX_FRAME`] bytes.
pub trait NetPort: Send + fmt::Debug {
    /// Puts one frame on the wire. Never blocks: a wire that cannot take it
    /// now loses it (an error the MAC counts).
    fn send(&mut self, frame: &[u8]) -> Result<(), PortError>;

    /// The next frame that arrived, if any, without blocking. `buf` is
    /// scratch space of at least 64 KiB the port may receive into.
    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, PortError>;

    /// A file descriptor that becomes readable when a frame may have
    /// arrived (the sleeping clock thread polls it). `None` when frames
    /// only arrive because of [`NetPort::send`] (loopback).
    fn wake_fd(&self) -> Option<RawFd>;

    /// What this port is, for logs (`loopback`, `udp:A,B`, `tap:NAME`).
    fn describe(&self) -> String;
}

/// A port as named on a command line. `link` ports (two devices in one
/// process) have no name: make them with [`crate::net::link::link`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortSpec {
    /// `loopback`: every transmitted frame comes back as received.
    Loopback,
    /// `udp:LOCAL,PEER`: one frame per datagram, sent from `local` to
    /// `peer`; only datagrams from `peer` are received.
    Udp {
        /// Address bound locally.
        local: SocketAddr,
        /// Address frames are sent to and accepted from.
        peer: SocketAddr,
    },
    /// `tap:NAME`: a Linux TAP interface (created if absent; needs
    /// CAP_NET_ADMIN and /dev/net/tun).
    Tap {
        /// Interface name.
        name: String,
    },
}

/// Interface names are at most IFNAMSIZ - 1 bytes.
const IFNAME_MAX: usize = 15;

/// Why a port name does not parse. Each variant names the bad part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortParseError {
    /// Nothing given.
    #[error("empty network port (expected loopback, udp:LOCAL,PEER or tap:NAME)")]
    Empty,
    /// The part before `:` is not a port kind.
    #[error("unknown network port kind {0:?} (expected loopback, udp:LOCAL,PEER or tap:NAME)")]
    UnknownKind(String),
    /// `loopback` takes no argument.
    #[error("loopback takes no argument, got {0:?}")]
    LoopbackArgument(String),
    /// `udp:` without the `,PEER` part.
    #[error(
        "udp port {0:?} lacks ',PEER' (expected udp:LOCAL,PEER, e.g. udp:127.0.0.1:5000,127.0.0.1:5001)"
    )]
    UdpMissingPeer(String),
    /// An address of `udp:LOCAL,PEER` that is not IP:PORT.
    #[error("udp {which} address {text:?} is not IP:PORT: {reason}")]
    UdpAddress {
        /// `LOCAL` or `PEER`.
        which: &'static str,
        /// The text given.
        text: String,
        /// The parser's complaint.
        reason: String,
    },
    /// LOCAL and PEER of different families.
    #[error("udp LOCAL {local} and PEER {peer} are not the same address family")]
    UdpFamilies {
        /// LOCAL.
        local: SocketAddr,
        /// PEER.
        peer: SocketAddr,
    },
    /// A TAP interface name Linux would refuse.
    #[error("tap interface name {name:?}: {reason}")]
    TapName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl FromStr for PortSpec {
    type Err = PortParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(PortParseError::Empty);
        }
        let (kind, arg) = match s.split_once(':') {
            Some((k, a)) => (k, Some(a)),
            None => (s, None),
        };
        match kind {
            "loopback" => match arg {
                None => Ok(PortSpec::Loopback),
                Some(a) => Err(PortParseError::LoopbackArgument(a.into())),
            },
            "udp" => {
                let arg = arg.unwrap_or("");
                let (l, p) = arg
                    .split_once(',')
                    .ok_or_else(|| PortParseError::UdpMissingPeer(s.into()))?;
                let addr = |which, text: &str| {
                    text.trim()
                        .parse::<SocketAddr>()
                        .map_err(|e| PortParseError::UdpAddress {
                            which,
                            text: text.into(),
                            reason: e.to_string(),
                        })
                };
                let local = addr("LOCAL", l)?;
                let peer = addr("PEER", p)?;
                if local.is_ipv4() != peer.is_ipv4() {
                    return Err(PortParseError::UdpFamilies { local, peer });
                }
                Ok(PortSpec::Udp { local, peer })
            }
            "tap" => {
                let name = arg.unwrap_or("");
                let bad = |reason| {
                    Err(PortParseError::TapName {
                        name: name.into(),
                        reason,
                    })
                };
                if name.is_empty() {
                    return bad("empty (expected tap:NAME)");
                }
                if name.len() > IFNAME_MAX {
                    return bad("longer than 15 bytes (IFNAMSIZ)");
                }
                if name == "." || name == ".." {
                    return bad("not a valid interface name");
                }
                if name
                    .chars()
                    .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
                {
                    return bad("contains '/', ':', whitespace or a control character");
                }
                Ok(PortSpec::Tap { name: name.into() })
            }
            other => Err(PortParseError::UnknownKind(other.into())),
        }
    }
}

impl fmt::Display for PortSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortSpec::Loopback => write!(f, "loopback"),
            PortSpec::Udp { local, peer } => write!(f, "udp:{local},{peer}"),
            PortSpec::Tap { name } => write!(f, "tap:{name}"),
        }
    }
}

impl PortSpec {
    /// Opens the port.
    pub fn open(&self) -> Result<Box<dyn NetPort>, PortError> {
        Ok(match self {
            PortSpec::Loopback => Box::new(LoopbackPort::new()),
            PortSpec::Udp { local, peer } => Box::new(UdpPort::open(*local, *peer)?),
            PortSpec::Tap { name } => Box::new(TapPort::open(name)?),
        })
    }
}

/// A port that could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// A system call failed.
    #[error("{port}: {op}: {source}")]
    Io {
        /// The port (as [`NetPort::describe`] names it).
        port: String,
        /// What was being done.
        op: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A TAP interface cannot be had on this machine or by this process.
    #[error("tap:{name} unavailable: {reason}")]
    TapUnavailable {
        /// Interface name.
        name: String,
        /// Why (no /dev/net/tun, no CAP_NET_ADMIN, name in use...).
        reason: String,
    },
    /// The other end of a link is not taking frames (its queue is full).
    #[error("link peer's queue is full ({0} frames)")]
    LinkFull(usize),
    /// A frame larger than [`MAX_FRAME`] or empty.
    #[error("frame of {0} bytes outside 1..={MAX_FRAME}")]
    FrameSize(usize),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &str) -> String {
        s.parse::<PortSpec>().unwrap_err().to_string()
    }

    #[test]
    fn parses_every_kind_and_prints_it_back() {
        for s in [
            "loopback",
            "udp:127.0.0.1:5000,127.0.0.1:5001",
            "udp:[::1]:5000,[::1]:5001",
            "tap:vfpga0",
        ] {
            let p: PortSpec = s.parse().unwrap();
            assert_eq!(p.to_string(), s);
        }
        assert_eq!(
            "udp:127.0.0.1:5000, 127.0.0.1:5001".parse::<PortSpec>(),
            Ok(PortSpec::Udp {
                local: "127.0.0.1:5000".parse().unwrap(),
                peer: "127.0.0.1:5001".parse().unwrap()
            })
        );
    }

    #[test]
    fn errors_name_the_bad_part() {
        assert!(err("").contains("empty"));
        assert!(err("ethernet:x").contains("\"ethernet\""));
        assert!(err("loopback:3").contains("\"3\""));
        assert!(err("udp:127.0.0.1:5000").contains("lacks ',PEER'"));
        let e = err("udp:127.0.0.1,127.0.0.1:5001");
        assert!(e.contains("LOCAL") && e.contains("\"127.0.0.1\""), "{e}");
        let e = err("udp:127.0.0.1:5000,localhost:x");
        assert!(e.contains("PEER") && e.contains("\"localhost:x\""), "{e}");
        assert!(err("udp:127.0.0.1:1,[::1]:2").contains("address family"));
        assert!(err("tap:").contains("empty"));
        assert!(err("tap:a-very-long-interface-name").contains("15 bytes"));
        assert!(err("tap:a/b").contains("'/'"));
    }
}
