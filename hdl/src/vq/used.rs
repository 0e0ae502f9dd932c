//! Used-ring writeback and used-buffer notification (virtio 1.2 §2.7.8,
//! §2.7.10). A chain reaches this block only after the device function has
//! issued every write into its buffers; the element is written, then
//! `used.idx`, on the same in-order posted write channel, so the driver
//! never sees an index before the element and data it covers. Then the
//! block reads `used_event` (EVENT_IDX) or `avail.flags` (NO_INTERRUPT) —
//! a read that cannot pass the posted writes before it — to decide whether
//! to request an interrupt.

// rust-hdl's #[hdl_gen] has no match guards: nested ifs stay nested.
#![allow(clippy::collapsible_match)]

use crate::vq::QUEUE_BITS;
use rust_hdl::prelude::*;

// Literals in the RTL below (rust-hdl emits named constants as signal names).
const _: () = assert!(vfpga_abi::ring::USED_IDX == 2 && vfpga_abi::ring::USED_RING == 4);
const _: () = assert!(vfpga_abi::ring::USED_ELEM_SIZE == 8);
const _: () = assert!(vfpga_abi::ring::used_event_offset(1) == 4 + 2);
const _: () =
    assert!(vfpga_abi::ring::AVAIL_F_NO_INTERRUPT == 1 && vfpga_abi::ring::AVAIL_FLAGS == 0);

#[derive(Copy, Clone, PartialEq, Debug, LogicState)]
enum UsedState {
    Idle,
    Elem,
    Idx,
    ReadEv,
    WaitEv,
    Irq,
    Halted,
}

/// Used-ring writer for two queues.
#[derive(LogicBlock, Default, Debug)]
pub struct UsedWriter {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// engine_reset.
    pub reset: Signal<In, Bit>,
    /// The device is stopped by a fault.
    pub halt: Signal<In, Bit>,
    /// EVENT_IDX negotiated.
    pub event_idx: Signal<In, Bit>,
    /// Queue 0 avail ring.
    pub q0_avail: Signal<In, Bits<64>>,
    /// Queue 0 used ring.
    pub q0_used: Signal<In, Bits<64>>,
    /// Queue 0 size.
    pub q0_size: Signal<In, Bits<16>>,
    /// Queue 0 MSI-X vector.
    pub q0_vector: Signal<In, Bits<16>>,
    /// Queue 1 avail ring.
    pub q1_avail: Signal<In, Bits<64>>,
    /// Queue 1 used ring.
    pub q1_used: Signal<In, Bits<64>>,
    /// Queue 1 size.
    pub q1_size: Signal<In, Bits<16>>,
    /// Queue 1 MSI-X vector.
    pub q1_vector: Signal<In, Bits<16>>,
    /// Set queue 0's used index.
    pub set0: Signal<In, Bit>,
    /// Set queue 1's used index.
    pub set1: Signal<In, Bit>,
    /// Value for `set0`.
    pub set0_val: Signal<In, Bits<16>>,
    /// Value for `set1`.
    pub set1_val: Signal<In, Bits<16>>,
    /// Queue 0 used index.
    pub used_idx0: Signal<Out, Bits<16>>,
    /// Queue 1 used index.
    pub used_idx1: Signal<Out, Bits<16>>,
    /// A completed chain is waiting.
    pub done_valid: Signal<In, Bit>,
    /// Take it.
    pub done_pop: Signal<Out, Bit>,
    /// Its queue.
    pub done_queue: Signal<In, Bits<QUEUE_BITS>>,
    /// Its head (used element id).
    pub done_head: Signal<In, Bits<16>>,
    /// Its used length.
    pub done_len: Signal<In, Bits<32>>,
    /// Write its element but not `used.idx` (and no notification): a later
    /// element of the same queue publishes both, as mergeable RX buffers
    /// need (virtio 1.2 §5.1.6.4: every buffer of a packet visible at once).
    /// The blk engine ties it low.
    pub done_defer: Signal<In, Bit>,
    /// `used.idx` of `retired_queue` moved this cycle.
    pub retired: Signal<Out, Bit>,
    /// Queue of `retired`.
    pub retired_queue: Signal<Out, Bits<QUEUE_BITS>>,
    /// DMA write valid.
    pub wr_valid: Signal<Out, Bit>,
    /// DMA write ready.
    pub wr_ready: Signal<In, Bit>,
    /// DMA write address.
    pub wr_addr: Signal<Out, Bits<64>>,
    /// DMA write length.
    pub wr_len: Signal<Out, Bits<13>>,
    /// DMA write data.
    pub wr_data: Signal<Out, Bits<128>>,
    /// DMA read request valid.
    pub rd_valid: Signal<Out, Bit>,
    /// DMA read request ready.
    pub rd_ready: Signal<In, Bit>,
    /// DMA read address.
    pub rd_addr: Signal<Out, Bits<64>>,
    /// Completion valid.
    pub cpl_valid: Signal<In, Bit>,
    /// Completion ready.
    pub cpl_ready: Signal<Out, Bit>,
    /// Completion data.
    pub cpl_data: Signal<In, Bits<128>>,
    /// Interrupt request valid.
    pub irq_valid: Signal<Out, Bit>,
    /// Interrupt request ready.
    pub irq_ready: Signal<In, Bit>,
    /// Interrupt request queue.
    pub irq_queue: Signal<Out, Bits<16>>,
    /// Interrupt request vector.
    pub irq_vector: Signal<Out, Bits<16>>,
    /// Busy.
    pub busy: Signal<Out, Bit>,
    /// Queue being written back.
    pub cur_queue: Signal<Out, Bits<QUEUE_BITS>>,
    state: DFF<UsedState>,
    q: DFF<Bits<QUEUE_BITS>>,
    head: DFF<Bits<16>>,
    len: DFF<Bits<32>>,
    defer: DFF<Bit>,
    b0: DFF<Bits<16>>,
    b1: DFF<Bits<16>>,
    u0: DFF<Bits<16>>,
    u1: DFF<Bits<16>>,
    qavail: Signal<Local, Bits<64>>,
    qused: Signal<Local, Bits<64>>,
    qsize: Signal<Local, Bits<16>>,
    qvec: Signal<Local, Bits<16>>,
    uidx: Signal<Local, Bits<16>>,
    batch: Signal<Local, Bits<16>>,
    queue_is_1: Signal<Local, Bit>,
}

impl Logic for UsedWriter {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, state, q, head, len, defer, b0, b1, u0, u1);
        self.qavail.next = self.q0_avail.val();
        self.qused.next = self.q0_used.val();
        self.qsize.next = self.q0_size.val();
        self.qvec.next = self.q0_vector.val();
        self.uidx.next = self.u0.q.val();
        self.batch.next = self.b0.q.val();
        self.queue_is_1.next = self.q.q.val() == 1;
        if self.q.q.val() == 1 {
            self.qavail.next = self.q1_avail.val();
            self.qused.next = self.q1_used.val();
            self.qsize.next = self.q1_size.val();
            self.qvec.next = self.q1_vector.val();
            self.uidx.next = self.u1.q.val();
            self.batch.next = self.b1.q.val();
        }
        self.used_idx0.next = self.u0.q.val();
        self.used_idx1.next = self.u1.q.val();
        self.busy.next =
            (self.state.q.val() != UsedState::Idle) && (self.state.q.val() != UsedState::Halted);
        self.cur_queue.next = self.q.q.val();
        self.done_pop.next = false;
        self.retired.next = false;
        self.retired_queue.next = self.q.q.val();
        self.wr_valid.next = false;
        self.wr_addr.next = self.qused.val()
            + 4
            + (bit_cast::<64, 16>(self.uidx.val() & (self.qsize.val() - 1)) << 3);
        self.wr_len.next = 8.into();
        self.wr_data.next =
            bit_cast::<128, 16>(self.head.q.val()) | (bit_cast::<128, 32>(self.len.q.val()) << 32);
        self.rd_valid.next = false;
        self.rd_addr.next = self.qavail.val();
        if self.event_idx.val() {
            self.rd_addr.next = self.qavail.val() + 4 + (bit_cast::<64, 16>(self.qsize.val()) << 1);
        }
        self.cpl_ready.next = false;
        self.irq_valid.next = false;
        self.irq_queue.next = bit_cast::<16, QUEUE_BITS>(self.q.q.val());
        self.irq_vector.next = self.qvec.val();
        match self.state.q.val() {
            UsedState::Idle => {
                if self.done_valid.val() {
                    self.done_pop.next = true;
                    self.q.d.next = self.done_queue.val();
                    self.head.d.next = self.done_head.val();
                    self.len.d.next = self.done_len.val();
                    self.defer.d.next = self.done_defer.val();
                    self.state.d.next = UsedState::Elem;
                }
            }
            UsedState::Elem => {
                self.wr_valid.next = true;
                if self.wr_ready.val() {
                    if self.defer.q.val() {
                        self.retired.next = true;
                        if self.q.q.val() == 1 {
                            self.u1.d.next = self.u1.q.val() + 1;
                            self.b1.d.next = self.b1.q.val() + 1;
                        } else {
                            self.u0.d.next = self.u0.q.val() + 1;
                            self.b0.d.next = self.b0.q.val() + 1;
                        }
                        self.state.d.next = UsedState::Idle;
                    } else {
                        self.state.d.next = UsedState::Idx;
                    }
                }
            }
            UsedState::Idx => {
                self.wr_valid.next = true;
                self.wr_addr.next = self.qused.val() + 2;
                self.wr_len.next = 2.into();
                self.wr_data.next = bit_cast::<128, 16>(self.uidx.val() + 1);
                if self.wr_ready.val() {
                    self.retired.next = true;
                    if self.q.q.val() == 1 {
                        self.u1.d.next = self.u1.q.val() + 1;
                    } else {
                        self.u0.d.next = self.u0.q.val() + 1;
                    }
                    self.state.d.next = UsedState::ReadEv;
                }
            }
            UsedState::ReadEv => {
                self.rd_valid.next = true;
                if self.rd_ready.val() {
                    self.state.d.next = UsedState::WaitEv;
                }
            }
            UsedState::WaitEv => {
                self.cpl_ready.next = true;
                if self.cpl_valid.val() {
                    // uidx is already the new index, published over
                    // `batch + 1` elements (deferred ones included):
                    // need_event(event, new, old) is
                    // (new - event - 1) < (new - old), i.e. <= batch; with
                    // no deferred element, event == new - 1.
                    if self.queue_is_1.val() {
                        self.b1.d.next = 0.into();
                    } else {
                        self.b0.d.next = 0.into();
                    }
                    if self.event_idx.val() {
                        if (self.uidx.val() - self.cpl_data.val().get_bits::<16>(0) - 1)
                            <= self.batch.val()
                        {
                            self.state.d.next = UsedState::Irq;
                        } else {
                            self.state.d.next = UsedState::Idle;
                        }
                    } else if self.cpl_data.val().get_bit(0) {
                        self.state.d.next = UsedState::Idle;
                    } else {
                        self.state.d.next = UsedState::Irq;
                    }
                }
            }
            UsedState::Irq => {
                self.irq_valid.next = true;
                if self.irq_ready.val() {
                    self.state.d.next = UsedState::Idle;
                }
            }
            _ => {}
        }
        if self.set0.val() {
            self.u0.d.next = self.set0_val.val();
        }
        if self.set1.val() {
            self.u1.d.next = self.set1_val.val();
        }
        if self.halt.val() {
            self.state.d.next = UsedState::Halted;
        }
        if self.reset.val() {
            self.state.d.next = UsedState::Idle;
            self.u0.d.next = 0.into();
            self.u1.d.next = 0.into();
            self.b0.d.next = 0.into();
            self.b1.d.next = 0.into();
        }
    }
}
