//! `link`: two simulated devices in one process wired back to back. What
//! one end sends, the other receives; each end has an eventfd that wakes
//! its sleeping clock thread when a frame arrives.

use std::collections::VecDeque;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, Mutex, PoisonError};

use vmm_sys_util::eventfd::{EFD_NONBLOCK, EventFd};

use crate::net::port::{MAX_FRAME, NetPort, PortError};

/// Frames in flight towards one end; more are lost (a receiver that does
/// not keep up, or whose device is gone).
pub const LINK_DEPTH: usize = 1024;

#[derive(Debug)]
struct Inbox {
    frames: Mutex<VecDeque<Vec<u8>>>,
    fd: EventFd,
}

impl Inbox {
    fn new() -> Result<Arc<Inbox>, PortError> {
        Ok(Arc::new(Inbox {
            frames: Mutex::new(VecDeque::new()),
            fd: EventFd::new(EFD_NONBLOCK).map_err(|source| PortError::Io {
                port: "link".into(),
                op: "eventfd",
                source,
            })?,
        }))
    }
}

/// One end of a link.
#[derive(Debug)]
pub struct LinkPort {
    inbox: Arc<Inbox>,
    peer: Arc<Inbox>,
    name: &'static str,
}

/// Two ports wired together: frames sent on one are received on the other.
pub fn link() -> Result<(LinkPort, LinkPort), PortError> {
    let a = Inbox::new()?;
    let b = Inbox::new()?;
    Ok((
        LinkPort {
            inbox: Arc::clone(&a),
            peer: Arc::clone(&b),
            name: "link:a",
        },
        LinkPort {
            inbox: b,
            peer: a,
            name: "link:b",
        },
    ))
}

impl NetPort for LinkPort {
    fn send(&mut self, frame: &[u8]) -> Result<(), PortError> {
        if frame.is_empty() || frame.len() > MAX_FRAME {
            return Err(PortError::FrameSize(frame.len()));
        }
        {
            let mut q = self
                .peer
                .frames
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if q.len() >= LINK_DEPTH {
                return Err(PortError::LinkFull(LINK_DEPTH));
            }
            q.push_back(frame.to_vec());
        }
        // After the push: a receiver woken by this finds the frame.
        self.peer.fd.write(1).map_err(|source| PortError::Io {
            port: self.name.into(),
            op: "eventfd write",
            source,
        })
    }

    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, PortError> {
        // Consume the wake-up before looking, so a frame pushed after the
        // look signals again (EAGAIN: nothing was signalled).
        let _ = self.inbox.fd.read();
        let f = self
            .inbox
            .frames
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front();
        Ok(f.map(|f| {
            buf[..f.len()].copy_from_slice(&f);
            f.len()
        }))
    }

    fn wake_fd(&self) -> Option<RawFd> {
        Some(self.inbox.fd.as_raw_fd())
    }

    fn describe(&self) -> String {
        self.name.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_cross_in_order_and_wake_the_receiver() {
        let (mut a, mut b) = link().unwrap();
        let mut buf = vec![0u8; 65536];
        a.send(&[1, 2, 3]).unwrap();
        a.send(&[4]).unwrap();
        let mut p = libc::pollfd {
            fd: b.wake_fd().unwrap(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, no wait.
        assert_eq!(unsafe { libc::poll(&mut p, 1, 0) }, 1);
        assert_eq!(b.recv(&mut buf).unwrap(), Some(3));
        assert_eq!(&buf[..3], &[1, 2, 3]);
        assert_eq!(b.recv(&mut buf).unwrap(), Some(1));
        assert_eq!(b.recv(&mut buf).unwrap(), None);
        assert_eq!(a.recv(&mut buf).unwrap(), None);
        b.send(&[9; 60]).unwrap();
        assert_eq!(a.recv(&mut buf).unwrap(), Some(60));
    }

    #[test]
    fn a_full_link_refuses_frames() {
        let (mut a, _b) = link().unwrap();
        for _ in 0..LINK_DEPTH {
            a.send(&[0; 60]).unwrap();
        }
        assert!(matches!(a.send(&[0; 60]), Err(PortError::LinkFull(_))));
        assert!(matches!(a.send(&[]), Err(PortError::FrameSize(0))));
    }
}
