//! `udp:LOCAL,PEER`: one frame per datagram on a UDP socket bound to LOCAL
//! and connected to PEER, so two `vfpga` processes (two guests) can be
//! wired together over 127.0.0.1. Datagrams from anywhere but PEER are
//! not received (the socket is connected).

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};

use crate::net::port::{MAX_FRAME, NetPort, PortError};

/// A UDP-backed port.
#[derive(Debug)]
pub struct UdpPort {
    socket: UdpSocket,
    name: String,
}

impl UdpPort {
    /// Binds `local`, connects to `peer`; non-blocking.
    pub fn open(local: SocketAddr, peer: SocketAddr) -> Result<Self, PortError> {
        let name = format!("udp:{local},{peer}");
        let io = |op, source| PortError::Io {
            port: name.clone(),
            op,
            source,
        };
        let socket = UdpSocket::bind(local).map_err(|e| io("bind LOCAL", e))?;
        socket.connect(peer).map_err(|e| io("connect to PEER", e))?;
        socket
            .set_nonblocking(true)
            .map_err(|e| io("set non-blocking", e))?;
        Ok(UdpPort { socket, name })
    }

    /// The address actually bound (LOCAL with port 0 picks one).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }
}

impl NetPort for UdpPort {
    fn send(&mut self, frame: &[u8]) -> Result<(), PortError> {
        if frame.is_empty() || frame.len() > MAX_FRAME {
            return Err(PortError::FrameSize(frame.len()));
        }
        match self.socket.send(frame) {
            Ok(_) => Ok(()),
            Err(source) => Err(PortError::Io {
                port: self.name.clone(),
                op: "send",
                source,
            }),
        }
    }

    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, PortError> {
        loop {
            match self.socket.recv(buf) {
                Ok(n) => return Ok(Some(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // An ICMP port-unreachable for an earlier send (the peer
                // is not up yet) surfaces here once: not a frame, not fatal.
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => continue,
                Err(source) => {
                    return Err(PortError::Io {
                        port: self.name.clone(),
                        op: "recv",
                        source,
                    });
                }
            }
        }
    }

    fn wake_fd(&self) -> Option<RawFd> {
        Some(self.socket.as_raw_fd())
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datagrams_carry_frames_between_two_ports() {
        // Port 0: the kernel picks free ports; then connect each to the other.
        let a0 = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b0 = UdpSocket::bind("127.0.0.1:0").unwrap();
        let (la, lb) = (a0.local_addr().unwrap(), b0.local_addr().unwrap());
        drop((a0, b0));
        let mut a = UdpPort::open(la, lb).unwrap();
        let mut b = UdpPort::open(lb, la).unwrap();
        let frame: Vec<u8> = (0..MAX_FRAME).map(|i| i as u8).collect();
        a.send(&frame).unwrap();
        let mut buf = vec![0u8; 65536];
        let mut got = None;
        for _ in 0..1000 {
            got = b.recv(&mut buf).unwrap();
            if got.is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(got, Some(MAX_FRAME));
        assert_eq!(&buf[..MAX_FRAME], &frame[..]);
        assert_eq!(a.recv(&mut buf).unwrap(), None);
    }
}
