//! Ethernet MAC models for the net function's stream ports
//! (`vfpga_abi::ports::NetBeat`): a TX sink that collects frames and an RX
//! source that sends them, each with seeded random stalls. They work on
//! plain values so that any top level can be wired to them.

use crate::testbench::rng::XorShift;
use std::collections::VecDeque;

const BEAT: usize = vfpga_abi::ports::STREAM_DATA_BYTES as usize;

/// One beat on a MAC stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Beat {
    /// Data, first byte in bits 7:0.
    pub data: u128,
    /// Valid bytes (1..=16).
    pub bytes: u8,
    /// Last beat of the frame.
    pub last: bool,
}

/// The MAC's transmit side: takes frames from the device.
#[derive(Debug)]
pub struct MacSink {
    rng: XorShift,
    /// Percentage of cycles the sink is ready.
    pub ready_pct: u32,
    ready: bool,
    cur: Vec<u8>,
    /// Frames received, with the cycle of their last beat.
    pub frames: Vec<(u64, Vec<u8>)>,
}

impl MacSink {
    /// A sink always ready unless `ready_pct` is lowered.
    pub fn new(seed: u64) -> Self {
        MacSink {
            rng: XorShift::new(seed),
            ready_pct: 100,
            ready: true,
            cur: Vec::new(),
            frames: Vec::new(),
        }
    }

    /// Ready for this cycle (call once per cycle, before the design settles).
    pub fn drive(&mut self) -> bool {
        self.ready = self.rng.chance(self.ready_pct);
        self.ready
    }

    /// Samples the port after the design settled: `beat` is `Some` when valid.
    pub fn observe(&mut self, beat: Option<Beat>, now: u64) {
        let Some(b) = beat else { return };
        if !self.ready {
            return;
        }
        assert!(
            (1..=BEAT as u8).contains(&b.bytes),
            "TX beat of {} bytes",
            b.bytes
        );
        assert!(
            b.last || b.bytes as usize == BEAT,
            "short TX beat before the last"
        );
        self.cur
            .extend_from_slice(&b.data.to_le_bytes()[..b.bytes as usize]);
        if b.last {
            self.frames.push((now, std::mem::take(&mut self.cur)));
        }
    }
}

/// The MAC's receive side: sends frames to the device.
#[derive(Debug)]
pub struct MacSource {
    rng: XorShift,
    /// Percentage of cycles a beat is offered when one is waiting.
    pub valid_pct: u32,
    frames: VecDeque<Vec<u8>>,
    off: usize,
    offering: bool,
    /// Cycle at which each frame's last beat was taken.
    pub sent: Vec<u64>,
}

impl MacSource {
    /// A source with nothing to send.
    pub fn new(seed: u64) -> Self {
        MacSource {
            rng: XorShift::new(seed),
            valid_pct: 100,
            frames: VecDeque::new(),
            off: 0,
            offering: false,
            sent: Vec::new(),
        }
    }

    /// Queues a frame.
    pub fn send(&mut self, frame: &[u8]) {
        assert!(!frame.is_empty());
        self.frames.push_back(frame.to_vec());
    }

    /// Frames not yet fully taken.
    pub fn pending(&self) -> usize {
        self.frames.len()
    }

    /// The beat offered this cycle, if any (a beat once offered stays
    /// offered until taken, as valid/ready requires).
    pub fn drive(&mut self) -> Option<Beat> {
        if !self.offering {
            self.offering = !self.frames.is_empty() && self.rng.chance(self.valid_pct);
        }
        if !self.offering {
            return None;
        }
        let f = &self.frames[0];
        let n = (f.len() - self.off).min(BEAT);
        let mut b = [0u8; BEAT];
        b[..n].copy_from_slice(&f[self.off..self.off + n]);
        Some(Beat {
            data: u128::from_le_bytes(b),
            bytes: n as u8,
            last: self.off + n == f.len(),
        })
    }

    /// Samples the handshake after the design settled.
    pub fn observe(&mut self, ready: bool, now: u64) {
        if !(self.offering && ready) {
            return;
        }
        self.offering = false;
        let len = self.frames[0].len();
        self.off += (len - self.off).min(BEAT);
        if self.off == len {
            self.frames.pop_front();
            self.off = 0;
            self.sent.push(now);
        }
    }
}
