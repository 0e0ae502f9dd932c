//! virtio-net receive (virtio 1.2 §5.1.6.3, §5.1.6.4) with mergeable RX
//! buffers: a frame from the MAC (after the filter) is written, behind a
//! 12-byte `virtio_net_hdr_v1`, into the posted RX chains, one chain after
//! another (each chain is one "buffer"), cut through: writes start before
//! the frame has ended. When the frame has ended, `num_buffers` is patched
//! into the header, and only then is the last buffer reported with the used
//! index; the earlier buffers' elements are written with `done_defer`, so
//! the driver sees every buffer of the frame at once (§5.1.6.4: the driver
//! reads `num_buffers` and then that many used elements).
//!
//! A frame that arrives while no RX chain is posted is dropped whole and
//! counted. Once a frame has started, it waits for more buffers (and
//! back-pressures the MAC) rather than dropping. Without MRG_RXBUF a frame
//! gets one chain; bytes past its end are dropped and the frame counted as
//! truncated.
//!
//! Each DMA write is one beat (at most 16 bytes, never across a 4 KiB
//! page), so the stream needs no length in advance. Header bytes 10 and 11
//! (`num_buffers`) are written as their own one-byte pieces so that their
//! addresses are known for the patch, wherever the buffers split them.

// rust-hdl's #[hdl_gen] has no match guards: nested ifs stay nested.
#![allow(clippy::collapsible_match)]

use crate::dma::Gearbox;
use rust_hdl::prelude::*;

const _: () = assert!(vfpga_abi::net::HDR_LEN == 12 && vfpga_abi::net::HDR_NUM_BUFFERS == 10);

/// Cycles a frame waits at the MAC port for a posted buffer before it is
/// dropped. A buffer the driver re-posts reaches the stage a bounded time
/// after its doorbell (avail fetch and descriptor walk, a few DMA round
/// trips, under 1 k cycles in `net_heads`: every queue has its own head
/// FIFO, so it never waits behind transmit or control chains). What is
/// not bounded by the device is the driver's turnaround: a burst from the
/// wire can use up the posted buffers before the driver has taken the
/// frames, refilled and kicked, and dropping at once would lose frames
/// with buffers on their way. A NIC rides that out in its receive packet
/// buffer; here the frame waits at the port (the MAC back-pressured,
/// its own FIFO holding what follows) up to 8191 cycles, 33 us at 250
/// MHz, and is dropped after that, so a driver that stopped refilling
/// never stalls the port for good.
pub const RX_WAIT_CYCLES: u64 = 8191;
const _: () = assert!(RX_WAIT_CYCLES == 8191);

#[derive(Copy, Clone, PartialEq, Debug, LogicState)]
enum RxState {
    Idle,
    Hdr,
    Stream,
    Next,
    Patch,
    PatchHi,
    Last,
    Drop,
    Halted,
}

/// The RX stage of one queue pair.
#[derive(LogicBlock, Default, Debug)]
pub struct NetRx {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// engine_reset.
    pub reset: Signal<In, Bit>,
    /// The device is stopped by a fault.
    pub halt: Signal<In, Bit>,
    /// The receive queue frames go to is not running (`Q_RUN` clear): a
    /// new frame is dropped, and one waiting for a buffer is abandoned, so
    /// that the stage goes idle and a queue stop or device reset completes.
    pub stop: Signal<In, Bit>,
    /// VIRTIO_NET_F_MRG_RXBUF negotiated.
    pub mrg_rxbuf: Signal<In, Bit>,
    /// Frame in: valid.
    pub in_valid: Signal<In, Bit>,
    /// Frame in: ready.
    pub in_ready: Signal<Out, Bit>,
    /// Frame in: data.
    pub in_data: Signal<In, Bits<128>>,
    /// Frame in: valid bytes (1..=16).
    pub in_bytes: Signal<In, Bits<5>>,
    /// Frame in: last beat.
    pub in_last: Signal<In, Bit>,
    /// An RX chain record is waiting (its segments are in the segment FIFO).
    pub chain_valid: Signal<In, Bit>,
    /// Take the chain record.
    pub chain_pop: Signal<Out, Bit>,
    /// Chain head.
    pub chain_head: Signal<In, Bits<16>>,
    /// Device-readable bytes of the chain (skipped).
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
    /// Segment is device-writable.
    pub seg_write: Signal<In, Bit>,
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
    /// Push a used record.
    pub done_push: Signal<Out, Bit>,
    /// Free entries in the used FIFO.
    pub done_room: Signal<In, Bits<8>>,
    /// Used record: head.
    pub done_head: Signal<Out, Bits<16>>,
    /// Used record: bytes written into the buffer.
    pub done_len: Signal<Out, Bits<32>>,
    /// Used record: more buffers of the same frame follow.
    pub done_defer: Signal<Out, Bit>,
    /// Working on a frame.
    pub busy: Signal<Out, Bit>,
    /// Bytes written to host memory this cycle.
    pub cnt_written: Signal<Out, Bits<5>>,
    /// A frame was delivered (its last buffer reported) this cycle.
    pub frame_done: Signal<Out, Bit>,
    /// A frame was dropped for want of a buffer this cycle.
    pub drop_nobuf: Signal<Out, Bit>,
    /// A frame was truncated this cycle.
    pub truncated: Signal<Out, Bit>,
    gb: Gearbox,
    state: DFF<RxState>,
    /// Cycles the frame at the port has waited for a buffer.
    starve: DFF<Bits<13>>,
    head: DFF<Bits<16>>,
    left: DFF<Bits<33>>,
    cur_addr: DFF<Bits<64>>,
    cur_len: DFF<Bits<32>>,
    cur_write: DFF<Bit>,
    pos: DFF<Bits<4>>,
    in_done: DFF<Bit>,
    nbuf: DFF<Bits<16>>,
    used: DFF<Bits<32>>,
    a10: DFF<Bits<64>>,
    a11: DFF<Bits<64>>,
    trunc: DFF<Bit>,
    to4k: Signal<Local, Bits<32>>,
    w1: Signal<Local, Bits<32>>,
    w2: Signal<Local, Bits<32>>,
    hdr_left: Signal<Local, Bits<32>>,
    want: Signal<Local, Bits<32>>,
    take: Signal<Local, Bits<5>>,
    can_write: Signal<Local, Bit>,
    buf_end: Signal<Local, Bit>,
    hi_apart: Signal<Local, Bit>,
}

impl Logic for NetRx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, state, starve, head, left, cur_addr, cur_len, cur_write, pos, in_done,
            nbuf, used, a10, a11, trunc
        );
        clock!(self, clock, gb);
        // Next write: at most a beat, the rest of the segment, the rest of
        // the page; header bytes 10 and 11 alone.
        self.to4k.next =
            bits::<32>(4096) - bit_cast::<32, 12>(self.cur_addr.q.val().get_bits::<12>(0));
        // (Each minimum into its own signal: a signal read after being
        // assigned in the same update would not match the emitted Verilog.)
        self.w1.next = 16.into();
        if self.cur_len.q.val() < 16 {
            self.w1.next = self.cur_len.q.val();
        }
        self.w2.next = self.w1.val();
        if self.to4k.val() < self.w1.val() {
            self.w2.next = self.to4k.val();
        }
        self.hdr_left.next = bits::<32>(10) - bit_cast::<32, 4>(self.pos.q.val());
        self.want.next = self.w2.val();
        if self.pos.q.val() < 10 {
            if self.hdr_left.val() < self.w2.val() {
                self.want.next = self.hdr_left.val();
            }
        } else if self.pos.q.val() < 12 {
            self.want.next = 1.into();
        }
        // Write `want` bytes once the gearbox holds them, or what is left
        // of the frame after its last beat.
        self.take.next = bit_cast::<5, 32>(self.want.val());
        self.can_write.next = false;
        if (self.cur_len.q.val() != 0) && self.cur_write.q.val() {
            if bit_cast::<32, 6>(self.gb.fill.val()) >= self.want.val() {
                self.can_write.next = true;
            } else if self.in_done.q.val() && (self.gb.fill.val() != 0) {
                self.can_write.next = true;
                self.take.next = bit_cast::<5, 6>(self.gb.fill.val());
            }
        }
        // The current buffer (chain) has no writable byte left.
        self.buf_end.next = (self.left.q.val() == 0) && (self.cur_len.q.val() == 0);
        self.hi_apart.next = self.a11.q.val() != (self.a10.q.val() + 1);

        self.busy.next =
            (self.state.q.val() != RxState::Idle) && (self.state.q.val() != RxState::Halted);
        self.in_ready.next = false;
        self.chain_pop.next = false;
        self.seg_pop.next = false;
        self.wr_valid.next = false;
        self.wr_addr.next = self.cur_addr.q.val();
        self.wr_len.next = bit_cast::<13, 5>(self.take.val());
        self.wr_data.next = self.gb.out_data.val();
        self.done_push.next = false;
        self.done_head.next = self.head.q.val();
        self.done_len.next = self.used.q.val();
        self.done_defer.next = true;
        self.cnt_written.next = 0.into();
        self.frame_done.next = false;
        self.drop_nobuf.next = false;
        self.truncated.next = false;
        self.gb.clear.next = false;
        self.gb.in_valid.next = false;
        self.gb.in_data.next = self.in_data.val();
        self.gb.in_bytes.next = self.in_bytes.val();
        self.gb.out_pop.next = false;
        self.gb.out_take.next = self.take.val();

        match self.state.q.val() {
            RxState::Idle => {
                if !self.in_valid.val() {
                    self.starve.d.next = 0.into();
                } else {
                    if self.chain_valid.val() && !self.stop.val() {
                        self.starve.d.next = 0.into();
                        self.chain_pop.next = true;
                        self.gb.clear.next = true;
                        self.head.d.next = self.chain_head.val();
                        self.left.d.next = bit_cast::<33, 32>(self.chain_rlen.val())
                            + bit_cast::<33, 32>(self.chain_wlen.val());
                        self.cur_len.d.next = 0.into();
                        self.pos.d.next = 0.into();
                        self.in_done.d.next = false;
                        self.nbuf.d.next = 1.into();
                        self.used.d.next = 0.into();
                        self.trunc.d.next = false;
                        self.state.d.next = RxState::Hdr;
                    } else if self.stop.val() || (self.starve.q.val() == 8191) {
                        self.starve.d.next = 0.into();
                        self.drop_nobuf.next = true;
                        self.state.d.next = RxState::Drop;
                    } else {
                        // Wait (the MAC holds the frame) for buffers on
                        // their way, for a bounded time.
                        self.starve.d.next = self.starve.q.val() + 1;
                    }
                }
            }
            RxState::Hdr => {
                // The header: all zero (no offload fields), num_buffers patched.
                self.gb.in_valid.next = true;
                self.gb.in_data.next = 0.into();
                self.gb.in_bytes.next = 12.into();
                if self.gb.in_ready.val() {
                    self.state.d.next = RxState::Stream;
                }
            }
            RxState::Stream => {
                // Frame beats into the gearbox.
                if !self.in_done.q.val() {
                    self.in_ready.next = self.gb.in_ready.val();
                    self.gb.in_valid.next = self.in_valid.val();
                    if self.in_valid.val() && self.gb.in_ready.val() && self.in_last.val() {
                        self.in_done.d.next = true;
                    }
                }
                if self.cur_len.q.val() == 0 {
                    if (self.left.q.val() != 0) && self.seg_valid.val() {
                        self.seg_pop.next = true;
                        self.cur_addr.d.next = self.seg_addr.val();
                        self.cur_len.d.next = self.seg_len.val();
                        self.cur_write.d.next = self.seg_write.val();
                        self.left.d.next =
                            self.left.q.val() - bit_cast::<33, 32>(self.seg_len.val());
                    }
                } else if !self.cur_write.q.val() {
                    // A readable buffer in an RX chain: not ours to write.
                    self.cur_len.d.next = 0.into();
                } else if self.can_write.val() && !self.trunc.q.val() {
                    self.wr_valid.next = true;
                    if self.wr_ready.val() {
                        self.gb.out_pop.next = true;
                        self.cnt_written.next = self.take.val();
                        self.cur_addr.d.next =
                            self.cur_addr.q.val() + bit_cast::<64, 5>(self.take.val());
                        self.cur_len.d.next =
                            self.cur_len.q.val() - bit_cast::<32, 5>(self.take.val());
                        self.used.d.next = self.used.q.val() + bit_cast::<32, 5>(self.take.val());
                        if self.pos.q.val() < 12 {
                            self.pos.d.next = self.pos.q.val() + bit_cast::<4, 5>(self.take.val());
                        }
                        if self.pos.q.val() == 10 {
                            self.a10.d.next = self.cur_addr.q.val();
                        }
                        if self.pos.q.val() == 11 {
                            self.a11.d.next = self.cur_addr.q.val();
                        }
                    }
                }
                if self.trunc.q.val() {
                    // No buffer left for this frame: drop the rest of it.
                    self.gb.out_pop.next = true;
                    self.gb.out_take.next = 16.into();
                    if self.gb.fill.val() < 16 {
                        self.gb.out_take.next = bit_cast::<5, 6>(self.gb.fill.val());
                    }
                }
                if self.in_done.q.val() && (self.gb.fill.val() == 0) {
                    // Whole frame written. (A header that never completed
                    // cannot happen: a chain has at least one byte and the
                    // walker rejects a zero-length chain, but a chain too
                    // short for the header is truncated like any other.)
                    self.state.d.next = RxState::Patch;
                } else if self.buf_end.val() && !self.trunc.q.val() {
                    if self.mrg_rxbuf.val() {
                        self.state.d.next = RxState::Next;
                    } else {
                        self.trunc.d.next = true;
                        self.truncated.next = true;
                    }
                }
            }
            RxState::Next => {
                // This buffer is full: report it (without used.idx) and
                // take the next one; wait for one if none is posted.
                if self.stop.val() {
                    // No buffer will come: drop what is left of the frame.
                    // The buffers it filled were used without used.idx,
                    // so the driver never sees them.
                    self.gb.clear.next = true;
                    self.drop_nobuf.next = true;
                    if self.in_done.q.val() {
                        self.state.d.next = RxState::Idle;
                    } else {
                        self.state.d.next = RxState::Drop;
                    }
                } else if (self.done_room.val() != 0) && self.chain_valid.val() {
                    self.done_push.next = true;
                    self.chain_pop.next = true;
                    self.head.d.next = self.chain_head.val();
                    self.left.d.next = bit_cast::<33, 32>(self.chain_rlen.val())
                        + bit_cast::<33, 32>(self.chain_wlen.val());
                    self.cur_len.d.next = 0.into();
                    self.used.d.next = 0.into();
                    self.nbuf.d.next = self.nbuf.q.val() + 1;
                    self.state.d.next = RxState::Stream;
                }
            }
            RxState::Patch => {
                if self.pos.q.val() < 12 {
                    // The header did not fit: nothing to patch.
                    self.state.d.next = RxState::Last;
                } else {
                    self.wr_valid.next = true;
                    self.wr_addr.next = self.a10.q.val();
                    self.wr_len.next = 2.into();
                    if self.hi_apart.val() {
                        self.wr_len.next = 1.into();
                    }
                    self.wr_data.next = bit_cast::<128, 16>(self.nbuf.q.val());
                    if self.wr_ready.val() {
                        if self.hi_apart.val() {
                            self.state.d.next = RxState::PatchHi;
                        } else {
                            self.state.d.next = RxState::Last;
                        }
                    }
                }
            }
            RxState::PatchHi => {
                self.wr_valid.next = true;
                self.wr_addr.next = self.a11.q.val();
                self.wr_len.next = 1.into();
                self.wr_data.next = bit_cast::<128, 8>(self.nbuf.q.val().get_bits::<8>(8));
                if self.wr_ready.val() {
                    self.state.d.next = RxState::Last;
                }
            }
            RxState::Last => {
                if self.left.q.val() != 0 {
                    // Buffers of the chain the frame did not reach: taken
                    // off the segment FIFO, so the next chain starts clean.
                    if self.seg_valid.val() {
                        self.seg_pop.next = true;
                        self.left.d.next =
                            self.left.q.val() - bit_cast::<33, 32>(self.seg_len.val());
                    }
                } else if self.done_room.val() != 0 {
                    self.done_push.next = true;
                    self.done_defer.next = false;
                    self.frame_done.next = true;
                    self.state.d.next = RxState::Idle;
                }
            }
            RxState::Drop => {
                self.in_ready.next = true;
                if self.in_valid.val() && self.in_last.val() {
                    self.state.d.next = RxState::Idle;
                }
            }
            _ => {}
        }
        if self.halt.val() {
            self.state.d.next = RxState::Halted;
        }
        if self.state.q.val() == RxState::Halted {
            // Stopped by a fault: frames are discarded, the MAC never stalls.
            self.in_ready.next = true;
        }
        if self.reset.val() {
            self.state.d.next = RxState::Idle;
            self.gb.clear.next = true;
        }
    }
}
