//! `loopback`: every frame the hardware transmits comes back as received.

use std::collections::VecDeque;
use std::os::fd::RawFd;

use crate::net::port::{MAX_FRAME, NetPort, PortError};

/// Frames held between a send and the MAC's next receive; more are lost
/// (the MAC drains the port right after every send, so one is enough).
const DEPTH: usize = 64;

/// A port whose wire ends at its own receiver.
#[derive(Debug, Default)]
pub struct LoopbackPort {
    frames: VecDeque<Vec<u8>>,
}

impl LoopbackPort {
    /// An empty loopback.
    pub fn new() -> Self {
        LoopbackPort::default()
    }
}

impl NetPort for LoopbackPort {
    fn send(&mut self, frame: &[u8]) -> Result<(), PortError> {
        if frame.is_empty() || frame.len() > MAX_FRAME {
            return Err(PortError::FrameSize(frame.len()));
        }
        if self.frames.len() >= DEPTH {
            return Err(PortError::LinkFull(DEPTH));
        }
        self.frames.push_back(frame.to_vec());
        Ok(())
    }

    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, PortError> {
        Ok(self.frames.pop_front().map(|f| {
            buf[..f.len()].copy_from_slice(&f);
            f.len()
        }))
    }

    fn wake_fd(&self) -> Option<RawFd> {
        None
    }

    fn describe(&self) -> String {
        "loopback".into()
    }
}
