//! Avail-ring fetch (virtio 1.2 §2.7.6): on a doorbell, read `avail.idx`,
//! then the ring entries up to it, up to eight heads per read, and hand each
//! head to the chain walker. With EVENT_IDX, write `avail_event` after
//! consuming and read `avail.idx` again, so an entry the driver added without
//! notifying (it saw the old `avail_event`) is not missed (§2.7.10).

// rust-hdl's #[hdl_gen] has no match guards: nested ifs stay nested.
#![allow(clippy::collapsible_match)]

use super::split;
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

/// Avail-ring fetcher for `NQ` queues (queue numbers `QB` bits wide).
#[derive(LogicBlock, Debug)]
pub struct AvailFetch<const NQ: usize, const QB: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// engine_reset: forget every queue's state.
    pub reset: Signal<In, Bit>,
    /// The device is stopped by a fault.
    pub halt: Signal<In, Bit>,
    /// EVENT_IDX negotiated.
    pub event_idx: Signal<In, Bit>,
    /// Per queue: descriptor table address (checked for alignment).
    pub q_desc: [Signal<In, Bits<64>>; NQ],
    /// Per queue: avail ring address.
    pub q_avail: [Signal<In, Bits<64>>; NQ],
    /// Per queue: used ring address.
    pub q_used: [Signal<In, Bits<64>>; NQ],
    /// Per queue: size.
    pub q_size: [Signal<In, Bits<16>>; NQ],
    /// Per queue: may fetch.
    pub q_run: [Signal<In, Bit>; NQ],
    /// A doorbell was accepted this cycle.
    pub db_valid: Signal<In, Bit>,
    /// Its queue.
    pub db_queue: Signal<In, Bits<16>>,
    /// Per queue: set last_avail_idx to `set_val`.
    pub set: [Signal<In, Bit>; NQ],
    /// Per queue: value for `set`.
    pub set_val: [Signal<In, Bits<16>>; NQ],
    /// Per queue: last_avail_idx.
    pub last_avail: [Signal<Out, Bits<16>>; NQ],
    /// Push a head to the walker (the FIFO has room: see `head_room`).
    pub head_push: Signal<Out, Bit>,
    /// Queue of the head.
    pub head_queue: Signal<Out, Bits<QB>>,
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
    pub cur_queue: Signal<Out, Bits<QB>>,
    /// A validation error is detected this cycle.
    pub err: Signal<Out, Bit>,
    /// Its cause.
    pub err_cause: Signal<Out, Bits<8>>,
    /// Its detail.
    pub err_detail: Signal<Out, Bits<32>>,
    state: DFF<AvailState>,
    cur: DFF<Bits<QB>>,
    pend: [DFF<Bit>; NQ],
    la: [DFF<Bits<16>>; NQ],
    aidx: DFF<Bits<16>>,
    ring: DFF<Bits<128>>,
    n: DFF<Bits<16>>,
    k: DFF<Bits<16>>,
    // Queue numbers as constants (rust-hdl emits them as localparams).
    qi: [Constant<Bits<QB>>; NQ],
    qd: [Constant<Bits<16>>; NQ],
    qsize: Signal<Local, Bits<16>>,
    qdesc: Signal<Local, Bits<64>>,
    qavail: Signal<Local, Bits<64>>,
    qused: Signal<Local, Bits<64>>,
    qrun: Signal<Local, Bit>,
    cur_la: Signal<Local, Bits<16>>,
    slot: Signal<Local, Bits<16>>,
    ring_addr: Signal<Local, Bits<64>>,
    to4k: Signal<Local, Bits<16>>,
    m1: Signal<Local, Bits<16>>,
    m2: Signal<Local, Bits<16>>,
    m3: Signal<Local, Bits<16>>,
    m4: Signal<Local, Bits<16>>,
    jump: Signal<Local, Bits<16>>,
    any_ready: Signal<Local, Bit>,
    pick: Signal<Local, Bits<QB>>,
}

impl<const NQ: usize, const QB: usize> Default for AvailFetch<NQ, QB> {
    fn default() -> Self {
        assert!(NQ <= 1 << QB, "queue numbers wider than QB bits");
        Self {
            clock: Default::default(),
            reset: Default::default(),
            halt: Default::default(),
            event_idx: Default::default(),
            q_desc: core::array::from_fn(|_| Default::default()),
            q_avail: core::array::from_fn(|_| Default::default()),
            q_used: core::array::from_fn(|_| Default::default()),
            q_size: core::array::from_fn(|_| Default::default()),
            q_run: core::array::from_fn(|_| Default::default()),
            db_valid: Default::default(),
            db_queue: Default::default(),
            set: core::array::from_fn(|_| Default::default()),
            set_val: core::array::from_fn(|_| Default::default()),
            last_avail: core::array::from_fn(|_| Default::default()),
            head_push: Default::default(),
            head_queue: Default::default(),
            head_idx: Default::default(),
            head_room: Default::default(),
            rd_valid: Default::default(),
            rd_ready: Default::default(),
            rd_addr: Default::default(),
            rd_len: Default::default(),
            cpl_valid: Default::default(),
            cpl_ready: Default::default(),
            cpl_data: Default::default(),
            wr_valid: Default::default(),
            wr_ready: Default::default(),
            wr_addr: Default::default(),
            wr_data: Default::default(),
            busy: Default::default(),
            cur_queue: Default::default(),
            err: Default::default(),
            err_cause: Default::default(),
            err_detail: Default::default(),
            state: Default::default(),
            cur: Default::default(),
            pend: core::array::from_fn(|_| Default::default()),
            la: core::array::from_fn(|_| Default::default()),
            aidx: Default::default(),
            ring: Default::default(),
            n: Default::default(),
            k: Default::default(),
            qi: core::array::from_fn(|i| Constant::new((i as u64).into())),
            qd: core::array::from_fn(|i| Constant::new((i as u64).into())),
            qsize: Default::default(),
            qdesc: Default::default(),
            qavail: Default::default(),
            qused: Default::default(),
            qrun: Default::default(),
            cur_la: Default::default(),
            slot: Default::default(),
            ring_addr: Default::default(),
            to4k: Default::default(),
            m1: Default::default(),
            m2: Default::default(),
            m3: Default::default(),
            m4: Default::default(),
            jump: Default::default(),
            any_ready: Default::default(),
            pick: Default::default(),
        }
    }
}

/// Top-level statements at the start of `logic` that compute `rd_valid`
/// and `wr_valid` from registers and inputs only (see [`split::hoist`]).
const HOISTED: usize = 22;

impl<const NQ: usize, const QB: usize> AvailFetch<NQ, QB> {
    #[hdl_gen]
    fn logic(&mut self) {
        self.qsize.next = 0.into();
        self.qdesc.next = 0.into();
        self.qavail.next = 0.into();
        self.qused.next = 0.into();
        self.qrun.next = false;
        self.cur_la.next = 0.into();
        for i in 0..NQ {
            if self.cur.q.val() == self.qi[i].val() {
                self.qsize.next = self.q_size[i].val();
                self.qdesc.next = self.q_desc[i].val();
                self.qavail.next = self.q_avail[i].val();
                self.qused.next = self.q_used[i].val();
                self.qrun.next = self.q_run[i].val();
                self.cur_la.next = self.la[i].q.val();
            }
            self.last_avail[i].next = self.la[i].q.val();
        }
        self.cur_queue.next = self.cur.q.val();
        // Next queue to serve, round robin (downwards: the highest waiting
        // queue below the last one served, else the highest waiting).
        self.any_ready.next = false;
        self.pick.next = 0.into();
        for i in 0..NQ {
            if self.pend[i].q.val() && self.q_run[i].val() {
                self.any_ready.next = true;
                self.pick.next = self.qi[i].val();
            }
        }
        // (The last queue is never below another: left out of this loop,
        // where its comparison would be constant.)
        for i in 0..(NQ - 1) {
            if self.pend[i].q.val() && self.q_run[i].val() && (self.qi[i].val() < self.cur.q.val())
            {
                self.pick.next = self.qi[i].val();
            }
        }
        // How many heads the next ring read may fetch: up to the avail index,
        // eight per beat, not past the ring's wrap or a 4 KiB boundary, and
        // no more than the walker's FIFO can take.
        // Only `Fetch` reads them: Verilator would evaluate the chain on
        // every cycle otherwise.
        self.slot.next = 0.into();
        self.ring_addr.next = 0.into();
        self.to4k.next = 0.into();
        self.m1.next = 0.into();
        self.m2.next = 0.into();
        self.m3.next = 0.into();
        self.m4.next = 0.into();
        if self.state.q.val() == AvailState::Fetch {
            self.slot.next = self.cur_la.val() & (self.qsize.val() - 1);
            self.ring_addr.next =
                self.qavail.val() + 4 + (bit_cast::<64, 16>(self.slot.val()) << 1);
            self.to4k.next = (bits::<16>(4096)
                - bit_cast::<16, 12>(self.ring_addr.val().get_bits::<12>(0)))
                >> 1;
            self.m1.next = self.aidx.q.val() - self.cur_la.val();
            if (self.aidx.q.val() - self.cur_la.val()) > 8 {
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
        }
        // The DMA requests: from the state and the inputs only, so that
        // their Verilog block reads no `ready` (see `hdl`).
        self.rd_valid.next = (self.state.q.val() == AvailState::ReadIdx)
            || ((self.state.q.val() == AvailState::Fetch)
                && self.qrun.val()
                && (self.m4.val() != 0));
        self.wr_valid.next = self.state.q.val() == AvailState::WriteEvent;

        dff_setup!(self, clock, state, cur, aidx, ring, n, k);
        for i in 0..NQ {
            self.pend[i].clock.next = self.clock.val();
            self.la[i].clock.next = self.clock.val();
            self.pend[i].d.next = self.pend[i].q.val();
            self.la[i].d.next = self.la[i].q.val();
        }
        self.jump.next = self.cpl_data.val().get_bits::<16>(0) - self.cur_la.val();

        // A doorbell latched on a running queue is work even before the
        // state machine picks it up (a stopped queue's is not: it waits for
        // Q_RUN, which only firmware sets).
        self.busy.next = ((self.state.q.val() != AvailState::Idle)
            && (self.state.q.val() != AvailState::Halted))
            || ((self.state.q.val() == AvailState::Idle) && self.any_ready.val());
        self.head_push.next = false;
        self.head_queue.next = self.cur.q.val();
        self.head_idx.next = self.ring.q.val().get_bits::<16>(0);
        self.rd_addr.next = self.qavail.val() + 2;
        self.rd_len.next = 2.into();
        self.cpl_ready.next = false;
        self.wr_addr.next = self.qused.val() + 4 + (bit_cast::<64, 16>(self.qsize.val()) << 3);
        self.wr_data.next = bit_cast::<128, 16>(self.cur_la.val());
        self.err.next = false;
        self.err_cause.next = 0.into();
        self.err_detail.next = 0.into();

        match self.state.q.val() {
            AvailState::Idle => {
                if self.any_ready.val() {
                    self.cur.d.next = self.pick.val();
                    for i in 0..NQ {
                        if self.pick.val() == self.qi[i].val() {
                            self.pend[i].d.next = false;
                        }
                    }
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
                    for i in 0..NQ {
                        if self.cur.q.val() == self.qi[i].val() {
                            self.pend[i].d.next = true;
                        }
                    }
                    self.state.d.next = AvailState::Idle;
                } else if self.m4.val() != 0 {
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
                for i in 0..NQ {
                    if self.cur.q.val() == self.qi[i].val() {
                        self.la[i].d.next = self.la[i].q.val() + 1;
                    }
                }
                if (self.k.q.val() + 1) == self.n.q.val() {
                    if (self.cur_la.val() + 1) != self.aidx.q.val() {
                        self.state.d.next = AvailState::Fetch;
                    } else if self.event_idx.val() {
                        self.state.d.next = AvailState::WriteEvent;
                    } else {
                        self.state.d.next = AvailState::Idle;
                    }
                }
            }
            AvailState::WriteEvent => {
                if self.wr_ready.val() {
                    self.state.d.next = AvailState::ReadIdx;
                }
            }
            _ => {}
        }
        for i in 0..NQ {
            if self.db_valid.val() && (self.db_queue.val() == self.qd[i].val()) {
                self.pend[i].d.next = true;
            }
            if self.set[i].val() {
                self.la[i].d.next = self.set_val[i].val();
            }
        }
        if self.halt.val() {
            self.state.d.next = AvailState::Halted;
        }
        if self.reset.val() {
            self.state.d.next = AvailState::Idle;
            for i in 0..NQ {
                self.pend[i].d.next = false;
                self.la[i].d.next = 0.into();
            }
            self.cur.d.next = 0.into();
        }
    }
}

impl<const NQ: usize, const QB: usize> Logic for AvailFetch<NQ, QB> {
    fn update(&mut self) {
        self.logic();
    }

    fn connect(&mut self) {
        AvailFetch::connect(self);
    }

    /// rust-hdl's Verilog of `logic`, with the DMA requests' `valid` (and
    /// what they are computed from) in an `always` block of their own: in
    /// one block with the state machine, which reads the DMA master's
    /// `ready`, they would close a false combinational loop through the
    /// master's arbiter.
    fn hdl(&self) -> Verilog {
        split::hoist(AvailFetch::hdl(self), HOISTED)
    }
}
