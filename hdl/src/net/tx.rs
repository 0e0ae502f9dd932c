//! virtio-net transmit (virtio 1.2 §5.1.6.2): one TX chain at a time, the
//! `virtio_net_hdr_v1` (its 12 bytes may be split over descriptors in any
//! way, §2.7.4) is skipped, the rest of the readable bytes are read by DMA
//! and streamed to the MAC TX port as one frame, re-packed into full beats
//! by the byte gearbox whatever the buffers' alignment. Device-writable
//! buffers in a TX chain are ignored. The chain is reported used (length 0:
//! the device writes nothing) after the frame's last beat left.
//!
//! One data read is in flight at a time (up to a 4 KiB page or the end of
//! the buffer); the header is skipped without reading it, since no offload
//! that would need its fields is offered.

// rust-hdl's #[hdl_gen] has no match guards: nested ifs stay nested.
#![allow(clippy::collapsible_match)]

use crate::dma::Gearbox;
use rust_hdl::prelude::*;

const _: () = assert!(vfpga_abi::net::HDR_LEN == 12);

#[derive(Copy, Clone, PartialEq, Debug, LogicState)]
enum TxState {
    Idle,
    Run,
    Done,
    Halted,
}

/// The TX stage of one queue pair.
#[derive(LogicBlock, Default, Debug)]
pub struct NetTx {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// engine_reset.
    pub reset: Signal<In, Bit>,
    /// The device is stopped by a fault.
    pub halt: Signal<In, Bit>,
    /// A TX chain record is waiting (its segments are in the segment FIFO).
    pub chain_valid: Signal<In, Bit>,
    /// Take the chain record.
    pub chain_pop: Signal<Out, Bit>,
    /// Chain head (used element id).
    pub chain_head: Signal<In, Bits<16>>,
    /// Device-readable bytes of the chain.
    pub chain_rlen: Signal<In, Bits<32>>,
    /// Device-writable bytes of the chain.
    pub chain_wlen: Signal<In, Bits<32>>,
    /// A segment is waiting.
    pub seg_valid: Signal<In, Bit>,
    /// Take the segment.
    pub seg_pop: Signal<Out, Bit>,
    /// Segment address.
    pub seg_addr: Signal<In, Bits<64>>,
    /// Segment length.
    pub seg_len: Signal<In, Bits<32>>,
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
    /// Completion: last beat of the read.
    pub cpl_last: Signal<In, Bit>,
    /// MAC TX: valid.
    pub mac_valid: Signal<Out, Bit>,
    /// MAC TX: ready.
    pub mac_ready: Signal<In, Bit>,
    /// MAC TX: data, first byte in bits 7:0.
    pub mac_data: Signal<Out, Bits<128>>,
    /// MAC TX: valid bytes (1..=16).
    pub mac_bytes: Signal<Out, Bits<5>>,
    /// MAC TX: last beat of the frame.
    pub mac_last: Signal<Out, Bit>,
    /// Push a used record.
    pub done_push: Signal<Out, Bit>,
    /// Free entries in the used FIFO.
    pub done_room: Signal<In, Bits<8>>,
    /// Used record: head.
    pub done_head: Signal<Out, Bits<16>>,
    /// Working on a chain.
    pub busy: Signal<Out, Bit>,
    /// Bytes requested from host memory this cycle.
    pub cnt_read: Signal<Out, Bits<13>>,
    /// A frame's last beat left this cycle.
    pub frame_sent: Signal<Out, Bit>,
    gb: Gearbox,
    state: DFF<TxState>,
    head: DFF<Bits<16>>,
    left: DFF<Bits<33>>,
    cur_addr: DFF<Bits<64>>,
    cur_len: DFF<Bits<32>>,
    hskip: DFF<Bits<4>>,
    todo: DFF<Bits<32>>,
    out_left: DFF<Bits<32>>,
    rd_out: DFF<Bit>,
    rd_left: DFF<Bits<13>>,
    to4k: Signal<Local, Bits<32>>,
    c1: Signal<Local, Bits<32>>,
    chunk: Signal<Local, Bits<32>>,
    s1: Signal<Local, Bits<32>>,
    take: Signal<Local, Bits<5>>,
    hlen: Signal<Local, Bits<32>>,
}

impl Logic for NetTx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, state, head, left, cur_addr, cur_len, hskip, todo, out_left, rd_out,
            rd_left
        );
        clock!(self, clock, gb);
        // Read size: the rest of the segment and of the frame, within the page.
        self.to4k.next =
            bits::<32>(4096) - bit_cast::<32, 12>(self.cur_addr.q.val().get_bits::<12>(0));
        // (Each minimum into its own signal: a signal read after being
        // assigned in the same update would not match the emitted Verilog.)
        self.c1.next = self.cur_len.q.val();
        if self.todo.q.val() < self.cur_len.q.val() {
            self.c1.next = self.todo.q.val();
        }
        self.chunk.next = self.c1.val();
        if self.to4k.val() < self.c1.val() {
            self.chunk.next = self.to4k.val();
        }
        // Header bytes skipped from the current segment.
        self.s1.next = self.cur_len.q.val();
        if bit_cast::<32, 4>(self.hskip.q.val()) < self.cur_len.q.val() {
            self.s1.next = bit_cast::<32, 4>(self.hskip.q.val());
        }
        self.take.next = 16.into();
        if self.out_left.q.val() < 16 {
            self.take.next = bit_cast::<5, 32>(self.out_left.q.val());
        }
        // Header length of this chain: 12, or all of a shorter readable part.
        self.hlen.next = 12.into();
        if self.chain_rlen.val() < 12 {
            self.hlen.next = self.chain_rlen.val();
        }

        self.busy.next =
            (self.state.q.val() != TxState::Idle) && (self.state.q.val() != TxState::Halted);
        self.chain_pop.next = false;
        self.seg_pop.next = false;
        self.rd_valid.next = false;
        self.rd_addr.next = self.cur_addr.q.val();
        self.rd_len.next = bit_cast::<13, 32>(self.chunk.val());
        self.cpl_ready.next = false;
        self.mac_valid.next = false;
        self.mac_data.next = self.gb.out_data.val();
        self.mac_bytes.next = self.take.val();
        self.mac_last.next = self.out_left.q.val() <= 16;
        self.done_push.next = false;
        self.done_head.next = self.head.q.val();
        self.cnt_read.next = 0.into();
        self.frame_sent.next = false;
        self.gb.clear.next = false;
        self.gb.in_valid.next = false;
        self.gb.in_data.next = self.cpl_data.val();
        self.gb.in_bytes.next = 16.into();
        if self.rd_left.q.val() < 16 {
            self.gb.in_bytes.next = bit_cast::<5, 13>(self.rd_left.q.val());
        }
        self.gb.out_pop.next = false;
        self.gb.out_take.next = self.take.val();

        match self.state.q.val() {
            TxState::Idle => {
                if self.chain_valid.val() {
                    self.chain_pop.next = true;
                    self.gb.clear.next = true;
                    self.head.d.next = self.chain_head.val();
                    self.left.d.next = bit_cast::<33, 32>(self.chain_rlen.val())
                        + bit_cast::<33, 32>(self.chain_wlen.val());
                    self.cur_len.d.next = 0.into();
                    self.hskip.d.next = bit_cast::<4, 32>(self.hlen.val());
                    self.todo.d.next = self.chain_rlen.val() - self.hlen.val();
                    self.out_left.d.next = self.chain_rlen.val() - self.hlen.val();
                    self.rd_out.d.next = false;
                    self.state.d.next = TxState::Run;
                }
            }
            TxState::Run => {
                if self.cur_len.q.val() == 0 {
                    // Next buffer of the chain (the walker pushed them all
                    // before the chain record).
                    if (self.left.q.val() != 0) && self.seg_valid.val() {
                        self.seg_pop.next = true;
                        self.cur_addr.d.next = self.seg_addr.val();
                        self.cur_len.d.next = self.seg_len.val();
                        self.left.d.next =
                            self.left.q.val() - bit_cast::<33, 32>(self.seg_len.val());
                    }
                } else if self.hskip.q.val() != 0 {
                    self.cur_addr.d.next =
                        self.cur_addr.q.val() + bit_cast::<64, 32>(self.s1.val());
                    self.cur_len.d.next = self.cur_len.q.val() - self.s1.val();
                    self.hskip.d.next = self.hskip.q.val() - bit_cast::<4, 32>(self.s1.val());
                } else if self.todo.q.val() != 0 {
                    if !self.rd_out.q.val() {
                        self.rd_valid.next = true;
                        if self.rd_ready.val() {
                            self.cnt_read.next = bit_cast::<13, 32>(self.chunk.val());
                            self.rd_out.d.next = true;
                            self.rd_left.d.next = bit_cast::<13, 32>(self.chunk.val());
                            self.cur_addr.d.next =
                                self.cur_addr.q.val() + bit_cast::<64, 32>(self.chunk.val());
                            self.cur_len.d.next = self.cur_len.q.val() - self.chunk.val();
                            self.todo.d.next = self.todo.q.val() - self.chunk.val();
                        }
                    }
                } else {
                    // Past the frame: the rest of the chain is not read.
                    self.cur_len.d.next = 0.into();
                }
                // Read data into the gearbox.
                if self.rd_out.q.val() {
                    self.cpl_ready.next = self.gb.in_ready.val();
                    self.gb.in_valid.next = self.cpl_valid.val();
                    if self.cpl_valid.val() && self.gb.in_ready.val() {
                        if self.rd_left.q.val() <= 16 {
                            self.rd_left.d.next = 0.into();
                        } else {
                            self.rd_left.d.next = self.rd_left.q.val() - 16;
                        }
                        if self.cpl_last.val() {
                            self.rd_out.d.next = false;
                        }
                    }
                }
                // Frame beats out of the gearbox.
                if (self.out_left.q.val() != 0)
                    && (bit_cast::<32, 6>(self.gb.fill.val()) >= bit_cast::<32, 5>(self.take.val()))
                {
                    self.mac_valid.next = true;
                    if self.mac_ready.val() {
                        self.gb.out_pop.next = true;
                        self.out_left.d.next =
                            self.out_left.q.val() - bit_cast::<32, 5>(self.take.val());
                        if self.out_left.q.val() <= 16 {
                            self.frame_sent.next = true;
                        }
                    }
                }
                if (self.left.q.val() == 0)
                    && (self.cur_len.q.val() == 0)
                    && (self.todo.q.val() == 0)
                    && !self.rd_out.q.val()
                    && (self.out_left.q.val() == 0)
                {
                    self.state.d.next = TxState::Done;
                }
            }
            TxState::Done => {
                if self.done_room.val() != 0 {
                    self.done_push.next = true;
                    self.state.d.next = TxState::Idle;
                }
            }
            _ => {}
        }
        if self.halt.val() {
            self.state.d.next = TxState::Halted;
        }
        if self.state.q.val() == TxState::Halted {
            // Stopped by a fault: accept (and drop) what is still coming.
            self.cpl_ready.next = true;
        }
        if self.reset.val() {
            self.state.d.next = TxState::Idle;
            self.rd_out.d.next = false;
            self.gb.clear.next = true;
        }
    }
}
