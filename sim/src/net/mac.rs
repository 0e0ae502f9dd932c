//! The MAC between a [`NetPort`] and the hardware's MAC streams: a frame
//! FIFO on the receive side (bounded: a frame arriving while it is full is
//! dropped and counted, as a MAC that cannot hold the wire back does),
//! streamed into `mac_rx_*` as 16-byte beats, and `mac_tx_*` beats
//! collected into frames and sent on the port.
//!
//! A Moore machine like the other models: [`MacModel::drive`] from state
//! only, [`MacModel::clock`] takes what moved. The port is read every
//! `port_poll_interval` cycles, right after every frame sent (so a
//! loopback frame is back in the FIFO in the cycle after its last beat),
//! and when the sleeping clock thread is woken by the port
//! ([`MacModel::poll_port`]).

use std::collections::VecDeque;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use vfpga_abi::ports::NetBeat;

use crate::clock::Cycle;
use crate::net::port::{MAX_FRAME, NetPort, PortError};

/// Bytes per MAC stream beat.
pub const BEAT_BYTES: usize = 16;

/// Receive buffer for one datagram or TAP read (more than any frame).
const SCRATCH: usize = 64 * 1024;

/// MAC model settings.
#[derive(Debug, Clone)]
pub struct MacConfig {
    /// Frames the receive FIFO holds; more are dropped and counted.
    pub rx_fifo_frames: usize,
    /// Cycles between reads of the port while the board runs.
    pub port_poll_interval: u64,
}

impl Default for MacConfig {
    fn default() -> Self {
        MacConfig {
            rx_fifo_frames: 256,
            port_poll_interval: 256,
        }
    }
}

/// What the port and the MAC saw, since the board was built (kept across
/// function resets).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Frames the hardware transmitted and the port took.
    pub tx_frames: u64,
    /// Bytes of those frames.
    pub tx_bytes: u64,
    /// Transmitted frames the port failed to send (peer absent, link full).
    pub tx_errors: u64,
    /// Transmitted frames longer than [`MAX_FRAME`], dropped.
    pub tx_oversize: u64,
    /// Frames the port received from the wire (before the FIFO).
    pub rx_frames: u64,
    /// Bytes of those frames.
    pub rx_bytes: u64,
    /// Received frames dropped because the MAC FIFO was full.
    pub rx_fifo_drops: u64,
    /// Received frames dropped for their size (empty or over [`MAX_FRAME`]).
    pub rx_bad_size: u64,
    /// Frames streamed whole into the hardware (it may still drop them:
    /// no RX buffer, filter; see its own counters).
    pub rx_to_hw: u64,
}

/// [`NetStats`] as atomics, readable from any thread while the clock runs.
#[derive(Debug, Default)]
pub struct NetCounters {
    tx_frames: AtomicU64,
    tx_bytes: AtomicU64,
    tx_errors: AtomicU64,
    tx_oversize: AtomicU64,
    rx_frames: AtomicU64,
    rx_bytes: AtomicU64,
    rx_fifo_drops: AtomicU64,
    rx_bad_size: AtomicU64,
    rx_to_hw: AtomicU64,
}

fn add(c: &AtomicU64, v: u64) {
    c.fetch_add(v, Ordering::Relaxed);
}

impl NetCounters {
    /// A snapshot of every counter.
    pub fn snapshot(&self) -> NetStats {
        let l = |c: &AtomicU64| c.load(Ordering::Relaxed);
        NetStats {
            tx_frames: l(&self.tx_frames),
            tx_bytes: l(&self.tx_bytes),
            tx_errors: l(&self.tx_errors),
            tx_oversize: l(&self.tx_oversize),
            rx_frames: l(&self.rx_frames),
            rx_bytes: l(&self.rx_bytes),
            rx_fifo_drops: l(&self.rx_fifo_drops),
            rx_bad_size: l(&self.rx_bad_size),
            rx_to_hw: l(&self.rx_to_hw),
        }
    }
}

/// What the MAC drives into the hardware this cycle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MacDrive {
    /// RX beat offered.
    pub rx: Option<NetBeat>,
    /// Ready for a TX beat.
    pub tx_ready: bool,
}

/// What moved on the MAC streams this cycle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MacFired {
    /// The offered RX beat was taken.
    pub rx: bool,
    /// A TX beat was taken.
    pub tx: Option<NetBeat>,
}

/// A frame event, for tests comparing runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MacEvent {
    /// The hardware finished transmitting a frame (its last beat moved).
    Tx {
        /// Cycle of the last beat.
        cycle: Cycle,
        /// The frame.
        frame: Vec<u8>,
    },
    /// A frame from the port entered the FIFO.
    RxQueued {
        /// Cycle.
        cycle: Cycle,
        /// Frame length.
        len: usize,
    },
    /// A frame's last beat went into the hardware.
    RxDone {
        /// Cycle.
        cycle: Cycle,
    },
}

/// The MAC model.
#[derive(Debug)]
pub struct MacModel {
    cfg: MacConfig,
    port: Box<dyn NetPort>,
    fifo: VecDeque<Vec<u8>>,
    rx_off: usize,
    tx_frame: Vec<u8>,
    tx_too_long: bool,
    next_poll: Cycle,
    scratch: Vec<u8>,
    counters: Arc<NetCounters>,
    log: Option<Vec<MacEvent>>,
    port_errors: u64,
}

/// Packs up to 16 bytes into a beat's data, byte 0 in bits 7:0.
pub fn pack_beat(bytes: &[u8]) -> u128 {
    let mut b = [0u8; BEAT_BYTES];
    b[..bytes.len()].copy_from_slice(bytes);
    u128::from_le_bytes(b)
}

impl MacModel {
    /// A MAC on `port` with fresh counters; `log` keeps [`MacEvent`]s.
    pub fn new(cfg: MacConfig, port: Box<dyn NetPort>, log: bool) -> Self {
        MacModel::with_counters(cfg, port, log, Arc::default())
    }

    /// A MAC on `port` counting into `counters` (kept across a reset).
    pub fn with_counters(
        cfg: MacConfig,
        port: Box<dyn NetPort>,
        log: bool,
        counters: Arc<NetCounters>,
    ) -> Self {
        MacModel {
            next_poll: 0,
            cfg,
            port,
            fifo: VecDeque::new(),
            rx_off: 0,
            tx_frame: Vec::with_capacity(MAX_FRAME),
            tx_too_long: false,
            scratch: vec![0; SCRATCH],
            counters,
            log: log.then(Vec::new),
            port_errors: 0,
        }
    }

    /// The counters, shared.
    pub fn counters(&self) -> &Arc<NetCounters> {
        &self.counters
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> NetStats {
        self.counters.snapshot()
    }

    /// Frame events (empty unless built with `log`).
    pub fn log(&self) -> &[MacEvent] {
        self.log.as_deref().unwrap_or(&[])
    }

    /// The port.
    pub fn port(&self) -> &dyn NetPort {
        &*self.port
    }

    /// Gives the port back (a function reset keeps the wire).
    pub fn into_port(self) -> Box<dyn NetPort> {
        self.port
    }

    /// Frames waiting in the receive FIFO (the one being streamed included).
    pub fn rx_queued(&self) -> usize {
        self.fifo.len()
    }

    /// Nothing to stream and no transmitted frame half collected.
    pub fn is_quiet(&self) -> bool {
        self.fifo.is_empty() && self.tx_frame.is_empty()
    }

    /// The port's wake-up descriptor (see [`NetPort::wake_fd`]).
    pub fn wake_fd(&self) -> Option<RawFd> {
        self.port.wake_fd()
    }

    /// The cycle at which [`MacModel::clock`] next reads the port on its
    /// own (frames that arrived meanwhile reach the hardware from then on).
    pub fn next_port_poll(&self) -> Cycle {
        self.next_poll
    }

    /// Outputs for this cycle, from state only.
    pub fn drive(&self) -> MacDrive {
        let rx = self.fifo.front().map(|f| {
            let end = (self.rx_off + BEAT_BYTES).min(f.len());
            NetBeat {
                data: pack_beat(&f[self.rx_off..end]),
                bytes: (end - self.rx_off) as u8,
                last: end == f.len(),
                pair: 0,
            }
        });
        MacDrive { rx, tx_ready: true }
    }

    /// A frame arrives from the wire at cycle `now`: queued, or dropped
    /// and counted when the FIFO is full or its size is impossible.
    pub fn arrive(&mut self, now: Cycle, frame: &[u8]) {
        add(&self.counters.rx_frames, 1);
        add(&self.counters.rx_bytes, frame.len() as u64);
        if frame.is_empty() || frame.len() > MAX_FRAME {
            add(&self.counters.rx_bad_size, 1);
            return;
        }
        if self.fifo.len() >= self.cfg.rx_fifo_frames {
            add(&self.counters.rx_fifo_drops, 1);
            tracing::debug!(
                cycle = now,
                len = frame.len(),
                "MAC RX FIFO full: frame dropped"
            );
            return;
        }
        tracing::trace!(
            cycle = now,
            len = frame.len(),
            queued = self.fifo.len(),
            "frame arrived"
        );
        if let Some(l) = &mut self.log {
            l.push(MacEvent::RxQueued {
                cycle: now,
                len: frame.len(),
            });
        }
        self.fifo.push_back(frame.to_vec());
    }

    /// Reads every frame waiting at the port into the FIFO.
    pub fn poll_port(&mut self, now: Cycle) {
        loop {
            match self.port.recv(&mut self.scratch) {
                Ok(Some(n)) => {
                    let frame = std::mem::take(&mut self.scratch);
                    self.arrive(now, &frame[..n]);
                    self.scratch = frame;
                }
                Ok(None) => return,
                Err(e) => {
                    self.port_error("receive", &e);
                    return;
                }
            }
        }
    }

    fn port_error(&mut self, what: &str, e: &PortError) {
        // A peer that is not up yet fails every send: say so now and then.
        if self.port_errors.is_power_of_two() || self.port_errors == 0 {
            tracing::warn!(port = %self.port.describe(), %e, count = self.port_errors + 1, "network port {what} failed");
        }
        self.port_errors += 1;
    }

    /// The rising edge: takes what moved, sends finished frames, reads the
    /// port when due.
    pub fn clock(&mut self, now: Cycle, fired: MacFired) {
        if fired.rx
            && let Some(f) = self.fifo.front()
        {
            self.rx_off += BEAT_BYTES;
            if self.rx_off >= f.len() {
                self.fifo.pop_front();
                self.rx_off = 0;
                add(&self.counters.rx_to_hw, 1);
                tracing::trace!(cycle = now, "frame taken by the hardware");
                if let Some(l) = &mut self.log {
                    l.push(MacEvent::RxDone { cycle: now });
                }
            }
        }
        let mut sent = false;
        if let Some(b) = fired.tx {
            let n = match b.bytes {
                1..=16 => usize::from(b.bytes),
                _ => BEAT_BYTES,
            };
            if self.tx_frame.len() + n > MAX_FRAME {
                self.tx_too_long = true;
            } else {
                self.tx_frame.extend_from_slice(&b.data.to_le_bytes()[..n]);
            }
            if b.last {
                self.finish_tx(now);
                sent = true;
            }
        }
        if sent || now >= self.next_poll {
            self.poll_port(now);
            self.next_poll = now + self.cfg.port_poll_interval.max(1);
        }
    }

    fn finish_tx(&mut self, now: Cycle) {
        if std::mem::take(&mut self.tx_too_long) {
            add(&self.counters.tx_oversize, 1);
            self.tx_frame.clear();
            return;
        }
        match self.port.send(&self.tx_frame) {
            Ok(()) => {
                tracing::trace!(cycle = now, len = self.tx_frame.len(), "frame sent");
                add(&self.counters.tx_frames, 1);
                add(&self.counters.tx_bytes, self.tx_frame.len() as u64);
            }
            Err(e) => {
                add(&self.counters.tx_errors, 1);
                self.port_error("send", &e);
            }
        }
        if let Some(l) = &mut self.log {
            l.push(MacEvent::Tx {
                cycle: now,
                frame: self.tx_frame.clone(),
            });
        }
        self.tx_frame.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::loopback::LoopbackPort;

    /// A stand-in for the hardware: takes RX beats when `ready` says so
    /// and reassembles them.
    fn stream_rx(m: &mut MacModel, mut ready: impl FnMut(u64) -> bool) -> Vec<Vec<u8>> {
        let mut frames = Vec::new();
        let mut cur = Vec::new();
        for now in 0..100_000 {
            let d = m.drive();
            assert!(d.tx_ready);
            let take = d.rx.is_some() && ready(now);
            if take {
                let b = d.rx.unwrap();
                assert!((1..=16).contains(&b.bytes));
                assert!(b.last || b.bytes == 16, "short beats only last");
                cur.extend_from_slice(&b.data.to_le_bytes()[..usize::from(b.bytes)]);
                if b.last {
                    frames.push(std::mem::take(&mut cur));
                }
            }
            m.clock(now, MacFired { rx: take, tx: None });
            if m.is_quiet() {
                break;
            }
        }
        frames
    }

    fn frame(len: usize, seed: u8) -> Vec<u8> {
        (0..len).map(|i| (i as u8).wrapping_mul(7) ^ seed).collect()
    }

    #[test]
    fn frames_stream_as_16_byte_beats_with_back_pressure() {
        let mut m = MacModel::new(MacConfig::default(), Box::new(LoopbackPort::new()), false);
        let sizes = [1, 15, 16, 17, 60, 64, 1514, MAX_FRAME];
        for (i, &s) in sizes.iter().enumerate() {
            m.arrive(0, &frame(s, i as u8));
        }
        let got = stream_rx(&mut m, |now| now % 3 != 1);
        assert_eq!(got.len(), sizes.len());
        for (i, (g, &s)) in got.iter().zip(&sizes).enumerate() {
            assert_eq!(g, &frame(s, i as u8), "frame {i} of {s} bytes");
        }
        let st = m.stats();
        assert_eq!((st.rx_frames, st.rx_to_hw, st.rx_fifo_drops), (8, 8, 0));
    }

    #[test]
    fn a_full_fifo_drops_and_counts_and_bad_sizes_are_refused() {
        let cfg = MacConfig {
            rx_fifo_frames: 4,
            ..MacConfig::default()
        };
        let mut m = MacModel::new(cfg, Box::new(LoopbackPort::new()), false);
        for i in 0..7 {
            m.arrive(0, &frame(64, i));
        }
        m.arrive(0, &[]);
        m.arrive(0, &frame(MAX_FRAME + 1, 0));
        let st = m.stats();
        assert_eq!(st.rx_frames, 9);
        assert_eq!(st.rx_fifo_drops, 3);
        assert_eq!(st.rx_bad_size, 2);
        let got = stream_rx(&mut m, |_| true);
        assert_eq!(got, (0..4).map(|i| frame(64, i)).collect::<Vec<_>>());
    }

    #[test]
    fn transmitted_beats_become_a_frame_that_loops_back() {
        let mut m = MacModel::new(MacConfig::default(), Box::new(LoopbackPort::new()), true);
        let f = frame(1514, 3);
        let beats: Vec<&[u8]> = f.chunks(16).collect();
        for (i, c) in beats.iter().enumerate() {
            let tx = NetBeat {
                data: pack_beat(c),
                bytes: c.len() as u8,
                last: i + 1 == beats.len(),
                pair: 0,
            };
            assert!(!m.is_quiet() || i == 0);
            m.clock(
                i as u64,
                MacFired {
                    rx: false,
                    tx: Some(tx),
                },
            );
        }
        // Back in the FIFO in the cycle after the last beat.
        assert_eq!(m.rx_queued(), 1);
        let st = m.stats();
        assert_eq!((st.tx_frames, st.tx_bytes, st.rx_frames), (1, 1514, 1));
        assert_eq!(stream_rx(&mut m, |_| true), vec![f.clone()]);
        assert!(matches!(&m.log()[0], MacEvent::Tx { frame, .. } if *frame == f));
    }

    #[test]
    fn an_oversized_transmit_is_dropped_and_counted() {
        let mut m = MacModel::new(MacConfig::default(), Box::new(LoopbackPort::new()), false);
        let beats = MAX_FRAME / 16 + 2;
        for i in 0..beats {
            let tx = NetBeat {
                data: 0,
                bytes: 16,
                last: i + 1 == beats,
                pair: 0,
            };
            m.clock(
                i as u64,
                MacFired {
                    rx: false,
                    tx: Some(tx),
                },
            );
        }
        let st = m.stats();
        assert_eq!((st.tx_frames, st.tx_oversize, st.rx_frames), (0, 1, 0));
        assert!(m.is_quiet());
    }
}
