//! Simulated time: cycles of the engine clock at a nominal frequency, and
//! the link-bandwidth budget models spend per cycle.

use std::time::Duration;

/// The engine clock the simulation counts in.
pub const DEFAULT_CLOCK_HZ: u64 = 250_000_000;

/// A point in simulated time, in engine clock cycles since reset.
pub type Cycle = u64;

/// Converts between cycles and simulated seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockRate {
    /// Nominal clock frequency in Hz.
    pub hz: u64,
}

impl Default for ClockRate {
    fn default() -> Self {
        ClockRate {
            hz: DEFAULT_CLOCK_HZ,
        }
    }
}

impl ClockRate {
    /// Simulated time that `cycles` represent.
    pub fn duration(self, cycles: Cycle) -> Duration {
        let nanos = u128::from(cycles) * 1_000_000_000 / u128::from(self.hz);
        Duration::from_nanos(nanos as u64)
    }

    /// Cycles in a simulated duration (rounded down).
    pub fn cycles(self, d: Duration) -> Cycle {
        (d.as_nanos() * u128::from(self.hz) / 1_000_000_000) as Cycle
    }
}

/// A link bandwidth as a ratio: `bytes` every `per_cycles` cycles. Integer,
/// so that runs are exactly reproducible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bandwidth {
    /// Bytes moved...
    pub bytes: u32,
    /// ...every this many cycles.
    pub per_cycles: u32,
}

impl Bandwidth {
    /// One full DMA beat per cycle (16 B at 250 MHz = 4 GB/s, PCIe Gen3 x4).
    pub const FULL_BEAT: Bandwidth = Bandwidth {
        bytes: vfpga_abi::ports::DMA_DATA_BYTES,
        per_cycles: 1,
    };
}

impl Default for Bandwidth {
    fn default() -> Self {
        Bandwidth::FULL_BEAT
    }
}

/// A token bucket: earns `bandwidth.bytes` every cycle, a beat of `n` bytes
/// costs `n * per_cycles`. It holds at most one full beat of credit, so an
/// idle link does not bank a burst beyond what one beat per cycle allows.
#[derive(Debug, Clone)]
pub struct LinkBudget {
    bw: Bandwidth,
    credit: u64,
    cap: u64,
}

impl LinkBudget {
    /// A budget for a link of `bw`, starting full.
    pub fn new(bw: Bandwidth) -> Self {
        assert!(
            bw.bytes > 0 && bw.per_cycles > 0,
            "bandwidth must be positive"
        );
        let cap = u64::from(vfpga_abi::ports::DMA_DATA_BYTES) * u64::from(bw.per_cycles);
        let cap = cap.max(u64::from(bw.bytes));
        LinkBudget {
            bw,
            credit: cap,
            cap,
        }
    }

    /// Whether a beat of `bytes` can be sent now.
    pub fn can_send(&self, bytes: u32) -> bool {
        self.credit >= u64::from(bytes) * u64::from(self.bw.per_cycles)
    }

    /// Spends the credit of a beat of `bytes` (call only when [`Self::can_send`]).
    pub fn spend(&mut self, bytes: u32) {
        self.credit -= u64::from(bytes) * u64::from(self.bw.per_cycles);
    }

    /// The credit is at its cap: cycles passing change nothing.
    pub fn is_full(&self) -> bool {
        self.credit == self.cap
    }

    /// One clock cycle passes.
    pub fn tick(&mut self) {
        self.credit = (self.credit + u64::from(self.bw.bytes)).min(self.cap);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_and_durations_convert_at_250_mhz() {
        let r = ClockRate::default();
        assert_eq!(r.duration(250_000_000), Duration::from_secs(1));
        assert_eq!(r.duration(125), Duration::from_nanos(500));
        assert_eq!(r.cycles(Duration::from_micros(1)), 250);
    }

    #[test]
    fn link_budget_at_a_quarter_beat_per_cycle_sends_one_beat_every_four_cycles() {
        let mut b = LinkBudget::new(Bandwidth {
            bytes: 4,
            per_cycles: 1,
        });
        let mut sent = Vec::new();
        for cycle in 0..16 {
            if b.can_send(16) {
                b.spend(16);
                sent.push(cycle);
            }
            b.tick();
        }
        // Starts full, then earns 4 B per cycle.
        assert_eq!(sent, vec![0, 4, 8, 12]);
    }

    #[test]
    fn link_budget_does_not_bank_more_than_one_beat() {
        let mut b = LinkBudget::new(Bandwidth::FULL_BEAT);
        for _ in 0..100 {
            b.tick();
        }
        assert!(b.can_send(16));
        b.spend(16);
        assert!(!b.can_send(16));
        b.tick();
        assert!(b.can_send(16));
    }
}
