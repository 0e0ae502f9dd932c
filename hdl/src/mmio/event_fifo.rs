//! The firmware event FIFO (vfpga_abi::mgmt::EVENT_FIFO_DEPTH entries of
//! 32-bit encoded [`vfpga_abi::mgmt::Event`]s).
//!
//! Registers rather than a RAM: 16 words is small, and the head must be
//! readable in the same cycle as the pop. When full, a push is dropped (the
//! oldest events are kept) and `overflow` stays set until `clear_overflow`.

use rust_hdl::prelude::*;
use vfpga_abi::mgmt::EVENT_FIFO_DEPTH;

use crate::msix::array_init;

/// Entries in the FIFO.
pub const DEPTH: usize = EVENT_FIFO_DEPTH;
/// Width of the pointers and of the fill count (holds `DEPTH` itself).
pub const COUNT_BITS: usize = 5;

const _: () = assert!(DEPTH < 1 << COUNT_BITS);
const _: () = assert!(DEPTH >= 2);

/// A register FIFO with a sticky overflow flag.
#[derive(LogicBlock, Debug)]
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

    mem: [DFF<Bits<32>>; DEPTH],
    rptr: DFF<Bits<COUNT_BITS>>,
    wptr: DFF<Bits<COUNT_BITS>>,
    fill: DFF<Bits<COUNT_BITS>>,
    lost: DFF<Bit>,
    index: [Constant<Bits<COUNT_BITS>>; DEPTH],
    last: Constant<Bits<COUNT_BITS>>,
    depth: Constant<Bits<COUNT_BITS>>,
    do_push: Signal<Local, Bit>,
    do_pop: Signal<Local, Bit>,
}

impl Default for EventFifo {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            reset: Default::default(),
            push: Default::default(),
            push_data: Default::default(),
            pop: Default::default(),
            head: Default::default(),
            count: Default::default(),
            overflow: Default::default(),
            clear_overflow: Default::default(),
            mem: array_init(|_| Default::default()),
            rptr: Default::default(),
            wptr: Default::default(),
            fill: Default::default(),
            lost: Default::default(),
            index: array_init(|i| Constant::new((i as u64).into())),
            last: Constant::new(((DEPTH - 1) as u64).into()),
            depth: Constant::new((DEPTH as u64).into()),
            do_push: Default::default(),
            do_pop: Default::default(),
        }
    }
}

impl Logic for EventFifo {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, rptr, wptr, fill, lost);
        for i in 0..DEPTH {
            self.mem[i].clock.next = self.clock.val();
            self.mem[i].d.next = self.mem[i].q.val();
        }
        self.do_pop.next = self.pop.val() && (self.fill.q.val() != 0);
        self.do_push.next = self.push.val() && (self.fill.q.val() != self.depth.val());
        if self.push.val() && (self.fill.q.val() == self.depth.val()) {
            self.lost.d.next = true;
        }
        self.head.next = 0.into();
        for i in 0..DEPTH {
            if (self.rptr.q.val() == self.index[i].val()) && (self.fill.q.val() != 0) {
                self.head.next = self.mem[i].q.val();
            }
            if self.do_push.val() && (self.wptr.q.val() == self.index[i].val()) {
                self.mem[i].d.next = self.push_data.val();
            }
        }
        if self.do_push.val() {
            if self.wptr.q.val() == self.last.val() {
                self.wptr.d.next = 0.into();
            } else {
                self.wptr.d.next = self.wptr.q.val() + 1;
            }
        }
        if self.do_pop.val() {
            if self.rptr.q.val() == self.last.val() {
                self.rptr.d.next = 0.into();
            } else {
                self.rptr.d.next = self.rptr.q.val() + 1;
            }
        }
        if self.do_push.val() && !self.do_pop.val() {
            self.fill.d.next = self.fill.q.val() + 1;
        }
        if !self.do_push.val() && self.do_pop.val() {
            self.fill.d.next = self.fill.q.val() - 1;
        }
        if self.clear_overflow.val() {
            self.lost.d.next = false;
        }
        if self.reset.val() {
            self.rptr.d.next = 0.into();
            self.wptr.d.next = 0.into();
            self.fill.d.next = 0.into();
            self.lost.d.next = false;
        }
        self.count.next = self.fill.q.val();
        self.overflow.next = self.lost.q.val();
    }
}
