//! Avail-ring fetch (virtio 1.2 §2.7.6): on a doorbell, read `avail.idx`,
//! then the ring entries up to it, up to eight heads per read, and hand each
//! head to the chain walker. With EVENT_IDX, write `avail_event` after
//! consuming and read `avail.idx` again, so an entry the driver added without
//! notifying (it saw the old `avail_event`) is not missed (§2.7.10).

// rust-hdl's #[hdl_gen] has no match guards: nested ifs stay nested.
#![allow(clippy::collapsible_match)]

use crate::vq::QUEUE_BITS;
use rust_hdl::prelude::*;
use vfpga_abi::vendor::ErrorCause;

/// Heads fetched per avail-ring read (one 16-byte beat).
pub const HEADS_PER_READ: u64 = 8;

// rust-hdl's Verilog emitter turns a named constant into a signal name, so
// the RTL below spells these values as literals; these assertions tie each
// literal to the contract it comes from.
const _: () = assert!(HEADS_PER_READ * 2 == vfpga_abi::ports::DMA_DATA_BYTES as u64);
const _: () = assert!(vfpga_abi::ring::MAX_QUEUE_SIZE == 256);
const _: () = assert!(ErrorCause::BadRingAddress as u32 == 12);
const _: () = assert!(ErrorCause::AvailIndexJump as u32 == 10);
const _: () = assert!(vfpga_abi::ring::AVAIL_IDX == 2 && vfpga_abi::ring::AVAIL_RING == 4);
const _: () = assert!(vfpga_abi::ring::avail_event_offset(1) == 4 + 8);

#[derive(Copy, Clone, PartialEq, Debug, LogicState)]
enum AvailState {
    Idle,
    Check,
    ReadIdx,
    WaitIdx,
    Fetch,
    WaitRing,
    Push,
    WriteEvent,
    Halted,
}

/// Avail-ring fetcher for two queues.
#[derive(LogicBlock, Default, Debug)]
pub struct AvailFetch {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// engine_reset: forget every queue's state.
    pub reset: Signal<In, Bit>,
    /// The device is stopped by a fault.
    pub halt: Signal<In, Bit>,
    /// EVENT_IDX negotiated.
    pub event_idx: Signal<In, Bit>,
    /// Queue 0 descriptor table address (checked for alignment).
    pub q0_desc: Signal<In, Bits<64>>,
    /// Queue 0 avail ring address.
    pub q0_avail: Signal<In, Bits<64>>,
    /// Queue 0 used ring address.
    pub q0_used: Signal<In, Bits<64>>,
    /// Queue 0 size.
    pub q0_size: Signal<In, Bits<16>>,
    /// Queue 0 may fetch.
    pub q0_run: Signal<In, Bit>,
    /// Queue 1 descriptor table address.
    pub q1_desc: Signal<In, Bits<64>>,
    /// Queue 1 avail ring address.
    pub q1_avail: Signal<In, Bits<64>>,
    /// Queue 1 used ring address.
    pub q1_used: Signal<In, Bits<64>>,
    /// Queue 1 size.
    pub q1_size: Signal<In, Bits<16>>,
    /// Queue 1 may fetch.
    pub q1_run: Signal<In, Bit>,
    /// A doorbell was accepted this cycle.
    pub db_valid: Signal<In, Bit>,
    /// Its queue.
    pub db_queue: Signal<In, Bits<16>>,
    /// Set queue 0's last_avail_idx.
    pub set0: Signal<In, Bit>,
    /// Set queue 1's last_avail_idx.
    pub set1: Signal<In, Bit>,
    /// Value for `set0`.
    pub set0_val: Signal<In, Bits<16>>,
    /// Value for `set1`.
    pub set1_val: Signal<In, Bits<16>>,
    /// Queue 0 last_avail_idx.
    pub last_avail0: Signal<Out, Bits<16>>,
    /// Queue 1 last_avail_idx.
    pub last_avail1: Signal<Out, Bits<16>>,
    /// Push a head to the walker (the FIFO has room: see `head_room`).
    pub head_push: Signal<Out, Bit>,
    /// Queue of the head.
    pub head_queue: Signal<Out, Bits<QUEUE_BITS>>,
    /// Head descriptor index.
    pub head_idx: Signal<Out, Bits<16>>,
    /// Free entries in the head FIFO.
    pub head_room: Signal<In, Bits<8>>,
    /// DMA read request valid.
    pub rd_valid: Signal<Out, Bit>,
    /// DMA read request ready.
    pub rd_ready: Signal<In, Bit>,
    /// DMA read address.
    pub rd_addr: Signal<Out, Bits<64>>,
    /// DMA read length.
    pub rd_len: Signal<Out, Bits<13>>,
    /// Completion valid.
    pub cpl_valid: Signal<In, Bit>,
    /// Completion ready.
    pub cpl_ready: Signal<Out, Bit>,
    /// Completion data.
    pub cpl_data: Signal<In, Bits<128>>,
    /// DMA write (avail_event) valid.
    pub wr_valid: Signal<Out, Bit>,
    /// DMA write ready.
    pub wr_ready: Signal<In, Bit>,
    /// DMA write address.
    pub wr_addr: Signal<Out, Bits<64>>,
    /// DMA write data.
    pub wr_data: Signal<Out, Bits<128>>,
    /// Busy with a queue, or a doorbell latched on a running queue.
    pub busy: Signal<Out, Bit>,
    /// Queue currently served (for DMA error reports).
    pub cur_queue: Signal<Out, Bits<QUEUE_BITS>>,
    /// A validation error is detected this cycle.
    pub err: Signal<Out, Bit>,
    /// Its cause.
    pub err_cause: Signal<Out, Bits<8>>,
    /// Its detail.
    pub err_detail: Signal<Out, Bits<32>>,
    state: DFF<AvailState>,
    cur: DFF<Bits<QUEUE_BITS>>,
    pend0: DFF<Bit>,
    pend1: DFF<Bit>,
    la0: DFF<Bits<16>>,
    la1: DFF<Bits<16>>,
    aidx: DFF<Bits<16>>,
    ring: DFF<Bits<128>>,
    n: DFF<Bits<16>>,
    k: DFF<Bits<16>>,
    qsize: Signal<Local, Bits<16>>,
    qdesc: Signal<Local, Bits<64>>,
    qavail: Signal<Local, Bits<64>>,
    qused: Signal<Local, Bits<64>>,
    qrun: Signal<Local, Bit>,
    la: Signal<Local, Bits<16>>,
    slot: Signal<Local, Bits<16>>,
    ring_addr: Signal<Local, Bits<64>>,
    to4k: Signal<Local, Bits<16>>,
    m1: Signal<Local, Bits<16>>,
    m2: Signal<Local, Bits<16>>,
    m3: Signal<Local, Bits<16>>,
    m4: Signal<Local, Bits<16>>,
    jump: Signal<Local, Bits<16>>,
}

impl Logic for AvailFetch {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, state, cur, pend0, pend1, la0, la1, aidx, ring, n, k
        );
        self.qsize.next = self.q0_size.val();
        self.qdesc.next = self.q0_desc.val();
        self.qavail.next = self.q0_avail.val();
        self.qused.next = self.q0_used.val();
        self.qrun.next = self.q0_run.val();
        self.la.next = self.la0.q.val();
        if self.cur.q.val() == 1 {
            self.qsize.next = self.q1_size.val();
            self.qdesc.next = self.q1_desc.val();
            self.qavail.next = self.q1_avail.val();
            self.qused.next = self.q1_used.val();
            self.qrun.next = self.q1_run.val();
            self.la.next = self.la1.q.val();
        }
        self.last_avail0.next = self.la0.q.val();
        self.last_avail1.next = self.la1.q.val();
        self.cur_queue.next = self.cur.q.val();
        // How many heads the next ring read may fetch: up to the avail index,
        // eight per beat, not past the ring's wrap or a 4 KiB boundary, and
        // no more than the walker's FIFO can take.
        self.slot.next = self.la.val() & (self.qsize.val() - 1);
        self.ring_addr.next = self.qavail.val() + 4 + (bit_cast::<64, 16>(self.slot.val()) << 1);
        self.to4k.next =
            (bits::<16>(4096) - bit_cast::<16, 12>(self.ring_addr.val().get_bits::<12>(0))) >> 1;
        self.m1.next = self.aidx.q.val() - self.la.val();
        if (self.aidx.q.val() - self.la.val()) > 8 {
            self.m1.next = 8.into();
        }
        self.m2.next = self.m1.val();
        if self.m1.val() > (self.qsize.val() - self.slot.val()) {
            self.m2.next = self.qsize.val() - self.slot.val();
        }
        self.m3.next = self.m2.val();
        if self.m2.val() > self.to4k.val() {
            self.m3.next = self.to4k.val();
        }
        self.m4.next = self.m3.val();
        if self.m3.val() > bit_cast::<16, 8>(self.head_room.val()) {
            self.m4.next = bit_cast::<16, 8>(self.head_room.val());
        }
        self.jump.next = self.cpl_data.val().get_bits::<16>(0) - self.la.val();

        // A doorbell latched on a running queue is work even before the
        // state machine picks it up (a stopped queue's is not: it waits for
        // Q_RUN, which only firmware sets).
        self.busy.next = ((self.state.q.val() != AvailState::Idle)
            && (self.state.q.val() != AvailState::Halted))
            || ((self.state.q.val() == AvailState::Idle)
                && ((self.pend0.q.val() && self.q0_run.val())
                    || (self.pend1.q.val() && self.q1_run.val())));
        self.head_push.next = false;
        self.head_queue.next = self.cur.q.val();
        self.head_idx.next = self.ring.q.val().get_bits::<16>(0);
        self.rd_valid.next = false;
        self.rd_addr.next = self.qavail.val() + 2;
        self.rd_len.next = 2.into();
        self.cpl_ready.next = false;
        self.wr_valid.next = false;
        self.wr_addr.next = self.qused.val() + 4 + (bit_cast::<64, 16>(self.qsize.val()) << 3);
        self.wr_data.next = bit_cast::<128, 16>(self.la.val());
        self.err.next = false;
        self.err_cause.next = 0.into();
        self.err_detail.next = 0.into();

        match self.state.q.val() {
            AvailState::Idle => {
                if self.pend1.q.val()
                    && self.q1_run.val()
                    && !(self.cur.q.val() == 1 && self.pend0.q.val() && self.q0_run.val())
                {
                    self.cur.d.next = 1.into();
                    self.pend1.d.next = false;
                    self.state.d.next = AvailState::Check;
                } else if self.pend0.q.val() && self.q0_run.val() {
                    self.cur.d.next = 0.into();
                    self.pend0.d.next = false;
                    self.state.d.next = AvailState::Check;
                }
            }
            AvailState::Check => {
                // §2.7: queue size a power of two, rings aligned.
                if (self.qsize.val() == 0)
                    || ((self.qsize.val() & (self.qsize.val() - 1)) != 0)
                    || (self.qsize.val() > 256)
                    || (self.qdesc.val().get_bits::<4>(0) != 0)
                    || self.qavail.val().get_bit(0)
                    || (self.qused.val().get_bits::<2>(0) != 0)
                {
                    self.err.next = true;
                    self.err_cause.next = 12.into();
                    self.err_detail.next = bit_cast::<32, 16>(self.qsize.val());
                    self.state.d.next = AvailState::Halted;
                } else {
                    self.state.d.next = AvailState::ReadIdx;
                }
            }
            AvailState::ReadIdx => {
                self.rd_valid.next = true;
                if self.rd_ready.val() {
                    self.state.d.next = AvailState::WaitIdx;
                }
            }
            AvailState::WaitIdx => {
                self.cpl_ready.next = true;
                if self.cpl_valid.val() {
                    self.aidx.d.next = self.cpl_data.val().get_bits::<16>(0);
                    if self.jump.val() > self.qsize.val() {
                        self.err.next = true;
                        self.err_cause.next = 10.into();
                        self.err_detail.next =
                            bit_cast::<32, 16>(self.cpl_data.val().get_bits::<16>(0));
                        self.state.d.next = AvailState::Halted;
                    } else if self.jump.val() == 0 {
                        self.state.d.next = AvailState::Idle;
                    } else {
                        self.state.d.next = AvailState::Fetch;
                    }
                }
            }
            AvailState::Fetch => {
                if !self.qrun.val() {
                    // Stopped: come back once running again.
                    if self.cur.q.val() == 1 {
                        self.pend1.d.next = true;
                    } else {
                        self.pend0.d.next = true;
                    }
                    self.state.d.next = AvailState::Idle;
                } else if self.m4.val() != 0 {
                    self.rd_valid.next = true;
                    self.rd_addr.next = self.ring_addr.val();
                    self.rd_len.next = bit_cast::<13, 16>(self.m4.val() << 1);
                    if self.rd_ready.val() {
                        self.n.d.next = self.m4.val();
                        self.k.d.next = 0.into();
                        self.state.d.next = AvailState::WaitRing;
                    }
                }
            }
            AvailState::WaitRing => {
                self.cpl_ready.next = true;
                if self.cpl_valid.val() {
                    self.ring.d.next = self.cpl_data.val();
                    self.state.d.next = AvailState::Push;
                }
            }
            AvailState::Push => {
                self.head_push.next = true;
                self.ring.d.next = self.ring.q.val() >> 16;
                self.k.d.next = self.k.q.val() + 1;
                if self.cur.q.val() == 1 {
                    self.la1.d.next = self.la1.q.val() + 1;
                } else {
                    self.la0.d.next = self.la0.q.val() + 1;
                }
                if (self.k.q.val() + 1) == self.n.q.val() {
                    if (self.la.val() + 1) != self.aidx.q.val() {
                        self.state.d.next = AvailState::Fetch;
                    } else if self.event_idx.val() {
                        self.state.d.next = AvailState::WriteEvent;
                    } else {
                        self.state.d.next = AvailState::Idle;
                    }
                }
            }
            AvailState::WriteEvent => {
                self.wr_valid.next = true;
                if self.wr_ready.val() {
                    self.state.d.next = AvailState::ReadIdx;
                }
            }
            _ => {}
        }
        if self.db_valid.val() {
            if self.db_queue.val() == 0 {
                self.pend0.d.next = true;
            }
            if self.db_queue.val() == 1 {
                self.pend1.d.next = true;
            }
        }
        if self.set0.val() {
            self.la0.d.next = self.set0_val.val();
        }
        if self.set1.val() {
            self.la1.d.next = self.set1_val.val();
        }
        if self.halt.val() {
            self.state.d.next = AvailState::Halted;
        }
        if self.reset.val() {
            self.state.d.next = AvailState::Idle;
            self.pend0.d.next = false;
            self.pend1.d.next = false;
            self.la0.d.next = 0.into();
            self.la1.d.next = 0.into();
            self.cur.d.next = 0.into();
        }
    }
}
