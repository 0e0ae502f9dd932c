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

/// Used-ring writer for `NQ` queues (queue numbers `QB` bits wide).
#[derive(LogicBlock, Debug)]
pub struct UsedWriter<const NQ: usize, const QB: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// engine_reset.
    pub reset: Signal<In, Bit>,
    /// The device is stopped by a fault.
    pub halt: Signal<In, Bit>,
    /// EVENT_IDX negotiated.
    pub event_idx: Signal<In, Bit>,
    /// Per queue: avail ring.
    pub q_avail: [Signal<In, Bits<64>>; NQ],
    /// Per queue: used ring.
    pub q_used: [Signal<In, Bits<64>>; NQ],
    /// Per queue: size.
    pub q_size: [Signal<In, Bits<16>>; NQ],
    /// Per queue: MSI-X vector.
    pub q_vector: [Signal<In, Bits<16>>; NQ],
    /// Per queue: set the used index to `set_val`.
    pub set: [Signal<In, Bit>; NQ],
    /// Per queue: value for `set`.
    pub set_val: [Signal<In, Bits<16>>; NQ],
    /// Per queue: used index.
    pub used_idx: [Signal<Out, Bits<16>>; NQ],
    /// A completed chain is waiting.
    pub done_valid: Signal<In, Bit>,
    /// Take it.
    pub done_pop: Signal<Out, Bit>,
    /// Its queue.
    pub done_queue: Signal<In, Bits<QB>>,
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
    pub retired_queue: Signal<Out, Bits<QB>>,
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
    pub cur_queue: Signal<Out, Bits<QB>>,
    state: DFF<UsedState>,
    q: DFF<Bits<QB>>,
    head: DFF<Bits<16>>,
    len: DFF<Bits<32>>,
    defer: DFF<Bit>,
    // Per queue: elements written with done_defer since the last used.idx
    // write, and the used index.
    b: [DFF<Bits<16>>; NQ],
    u: [DFF<Bits<16>>; NQ],
    // Queue numbers as constants (rust-hdl emits them as localparams).
    qi: [Constant<Bits<QB>>; NQ],
    qavail: Signal<Local, Bits<64>>,
    qused: Signal<Local, Bits<64>>,
    qsize: Signal<Local, Bits<16>>,
    qvec: Signal<Local, Bits<16>>,
    uidx: Signal<Local, Bits<16>>,
    batch: Signal<Local, Bits<16>>,
}

impl<const NQ: usize, const QB: usize> Default for UsedWriter<NQ, QB> {
    fn default() -> Self {
        assert!(NQ <= 1 << QB, "queue numbers wider than QB bits");
        Self {
            clock: Default::default(),
            reset: Default::default(),
            halt: Default::default(),
            event_idx: Default::default(),
            q_avail: core::array::from_fn(|_| Default::default()),
            q_used: core::array::from_fn(|_| Default::default()),
            q_size: core::array::from_fn(|_| Default::default()),
            q_vector: core::array::from_fn(|_| Default::default()),
            set: core::array::from_fn(|_| Default::default()),
            set_val: core::array::from_fn(|_| Default::default()),
            used_idx: core::array::from_fn(|_| Default::default()),
            done_valid: Default::default(),
            done_pop: Default::default(),
            done_queue: Default::default(),
            done_head: Default::default(),
            done_len: Default::default(),
            done_defer: Default::default(),
            retired: Default::default(),
            retired_queue: Default::default(),
            wr_valid: Default::default(),
            wr_ready: Default::default(),
            wr_addr: Default::default(),
            wr_len: Default::default(),
            wr_data: Default::default(),
            rd_valid: Default::default(),
            rd_ready: Default::default(),
            rd_addr: Default::default(),
            cpl_valid: Default::default(),
            cpl_ready: Default::default(),
            cpl_data: Default::default(),
            irq_valid: Default::default(),
            irq_ready: Default::default(),
            irq_queue: Default::default(),
            irq_vector: Default::default(),
            busy: Default::default(),
            cur_queue: Default::default(),
            state: Default::default(),
            q: Default::default(),
            head: Default::default(),
            len: Default::default(),
            defer: Default::default(),
            b: core::array::from_fn(|_| Default::default()),
            u: core::array::from_fn(|_| Default::default()),
            qi: core::array::from_fn(|i| Constant::new((i as u64).into())),
            qavail: Default::default(),
            qused: Default::default(),
            qsize: Default::default(),
            qvec: Default::default(),
            uidx: Default::default(),
            batch: Default::default(),
        }
    }
}

impl<const NQ: usize, const QB: usize> Logic for UsedWriter<NQ, QB> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, state, q, head, len, defer);
        self.qavail.next = 0.into();
        self.qused.next = 0.into();
        self.qsize.next = 0.into();
        self.qvec.next = 0.into();
        self.uidx.next = 0.into();
        self.batch.next = 0.into();
        // The selected queue's registers, and below the addresses and data
        // computed from them, only while a chain is being retired: Verilator
        // evaluates all of this on every cycle, and nearly all are idle.
        self.busy.next =
            (self.state.q.val() != UsedState::Idle) && (self.state.q.val() != UsedState::Halted);
        for i in 0..NQ {
            self.b[i].clock.next = self.clock.val();
            self.u[i].clock.next = self.clock.val();
            self.b[i].d.next = self.b[i].q.val();
            self.u[i].d.next = self.u[i].q.val();
            if self.busy.val() && (self.q.q.val() == self.qi[i].val()) {
                self.qavail.next = self.q_avail[i].val();
                self.qused.next = self.q_used[i].val();
                self.qsize.next = self.q_size[i].val();
                self.qvec.next = self.q_vector[i].val();
                self.uidx.next = self.u[i].q.val();
                self.batch.next = self.b[i].q.val();
            }
            self.used_idx[i].next = self.u[i].q.val();
        }
        self.cur_queue.next = self.q.q.val();
        self.done_pop.next = false;
        self.retired.next = false;
        self.retired_queue.next = self.q.q.val();
        self.wr_valid.next = false;
        self.wr_addr.next = 0.into();
        self.wr_len.next = 8.into();
        self.wr_data.next = 0.into();
        self.rd_valid.next = false;
        self.rd_addr.next = 0.into();
        self.cpl_ready.next = false;
        self.irq_valid.next = false;
        self.irq_queue.next = bit_cast::<16, QB>(self.q.q.val());
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
                self.wr_addr.next = self.qused.val()
                    + 4
                    + (bit_cast::<64, 16>(self.uidx.val() & (self.qsize.val() - 1)) << 3);
                self.wr_data.next = bit_cast::<128, 16>(self.head.q.val())
                    | (bit_cast::<128, 32>(self.len.q.val()) << 32);
                if self.wr_ready.val() {
                    if self.defer.q.val() {
                        self.retired.next = true;
                        for i in 0..NQ {
                            if self.q.q.val() == self.qi[i].val() {
                                self.u[i].d.next = self.u[i].q.val() + 1;
                                self.b[i].d.next = self.b[i].q.val() + 1;
                            }
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
                    for i in 0..NQ {
                        if self.q.q.val() == self.qi[i].val() {
                            self.u[i].d.next = self.u[i].q.val() + 1;
                        }
                    }
                    self.state.d.next = UsedState::ReadEv;
                }
            }
            UsedState::ReadEv => {
                self.rd_valid.next = true;
                self.rd_addr.next = self.qavail.val();
                if self.event_idx.val() {
                    self.rd_addr.next =
                        self.qavail.val() + 4 + (bit_cast::<64, 16>(self.qsize.val()) << 1);
                }
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
                    for i in 0..NQ {
                        if self.q.q.val() == self.qi[i].val() {
                            self.b[i].d.next = 0.into();
                        }
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
        for i in 0..NQ {
            if self.set[i].val() {
                self.u[i].d.next = self.set_val[i].val();
            }
        }
        if self.halt.val() {
            self.state.d.next = UsedState::Halted;
        }
        if self.reset.val() {
            self.state.d.next = UsedState::Idle;
            for i in 0..NQ {
                self.u[i].d.next = 0.into();
                self.b[i].d.next = 0.into();
            }
        }
    }
}
