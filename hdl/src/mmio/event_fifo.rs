//! The firmware event FIFO (vfpga_abi::mgmt::EVENT_FIFO_DEPTH entries of
//! 32-bit encoded [`vfpga_abi::mgmt::Event`]s).
//!
//! The storage is the engine's LUT-RAM FIFO ([`crate::vq::fifo::Fifo`]),
//! whose head is readable in the same cycle as the pop. When full, a push is
//! dropped (the oldest events are kept) and `overflow` stays set until
//! `clear_overflow`.

use rust_hdl::prelude::*;
use vfpga_abi::mgmt::EVENT_FIFO_DEPTH;

use crate::vq::fifo::Fifo;

/// log2 of the number of entries.
pub const DEPTH_LOG2: usize = 4;
/// Entries in the FIFO.
pub const DEPTH: usize = 1 << DEPTH_LOG2;
/// Width of the fill count (holds `DEPTH` itself).
pub const COUNT_BITS: usize = DEPTH_LOG2 + 1;

const _: () = assert!(DEPTH == EVENT_FIFO_DEPTH);

/// A FIFO with a sticky overflow flag.
#[derive(LogicBlock, Default, Debug)]
pub struct EventFifo {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: empty, overflow clear.
    pub reset: Signal<In, Bit>,
    /// Push `push_data` (dropped when full, setting `overflow`).
    pub push: Signal<In, Bit>,
    /// The event word to push.
    pub push_data: Signal<In, Bits<32>>,
    /// Pop the head (ignored when empty).
    pub pop: Signal<In, Bit>,
    /// The oldest event, 0 when empty.
    pub head: Signal<Out, Bits<32>>,
    /// Events waiting.
    pub count: Signal<Out, Bits<COUNT_BITS>>,
    /// A push was dropped since the last `clear_overflow`.
    pub overflow: Signal<Out, Bit>,
    /// Clears `overflow`.
    pub clear_overflow: Signal<In, Bit>,

    fifo: Fifo<Bits<32>, DEPTH_LOG2, COUNT_BITS>,
    lost: DFF<Bit>,
}

impl Logic for EventFifo {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, lost);
        self.fifo.clock.next = self.clock.val();
        self.fifo.clear.next = self.reset.val();
        self.fifo.write.next = self.push.val();
        self.fifo.data_in.next = self.push_data.val();
        self.fifo.read.next = self.pop.val();
        if self.push.val() && self.fifo.full.val() {
            self.lost.d.next = true;
        }
        self.head.next = 0.into();
        if !self.fifo.empty.val() {
            self.head.next = self.fifo.data_out.val();
        }
        if self.clear_overflow.val() {
            self.lost.d.next = false;
        }
        if self.reset.val() {
            self.lost.d.next = false;
        }
        self.count.next = self.fifo.count.val();
        self.overflow.next = self.lost.q.val();
    }
}
