//! The control virtqueue (virtio 1.2 §5.1.6.5), handed to firmware.
//!
//! One chain at a time: the stage checks the chain (at least 2 readable
//! bytes for class and command, at least one writable byte for the ack),
//! reads its first [`HELD`] readable bytes by DMA into a buffer, remembers
//! the address of its first writable byte, then sets `CTRL_CMD.PENDING` and
//! posts `EventKind::NetCtrl`. Firmware reads `CTRL_CMD` and the payload
//! through `CTRL_DATA_SEL`/`CTRL_DATA`, and writes `CTRL_ACK`; the stage
//! writes the ack byte, then hands the chain to the used writer with length
//! 1 (the used element and index follow the ack byte on the same in-order
//! write channel). A payload longer than `CTRL_PAYLOAD_MAX` is cut; its
//! true length (readable bytes minus 2) is in `CTRL_CMD`.
//!
//! A malformed chain stops the device like blk's framing errors
//! (`ErrorCause::BadRequest`, detail [`crate::vq::walker::DETAIL_NO_HEADER`]
//! for fewer than 2 readable bytes, [`crate::vq::walker::DETAIL_NO_STATUS`]
//! for no writable byte).
//!
//! Each payload read is at most 16 bytes, within a 4 KiB page and within
//! one 16-byte row of the buffer, so a completion is one beat that lands in
//! one row at a byte shift.

// rust-hdl's #[hdl_gen] has no match guards: nested ifs stay nested.
#![allow(clippy::collapsible_match)]

use rust_hdl::prelude::*;
use vfpga_abi::mgmt::net as regs;
use vfpga_abi::vendor::ErrorCause;

/// Readable bytes the stage holds: class, command and the payload.
pub const HELD: usize = 2 + regs::CTRL_PAYLOAD_MAX;
/// Bits of the buffer (whole 16-byte rows).
pub const BUF_BITS: usize = 1152;

// Literals in the RTL below (rust-hdl emits named constants as signal names).
const _: () = assert!(HELD == 130 && BUF_BITS == 9 * 128 && BUF_BITS >= 8 * HELD);
const _: () = assert!(regs::CTRL_CMD == 0x6C && regs::CTRL_DATA_SEL == 0x6D);
const _: () = assert!(regs::CTRL_DATA == 0x6E && regs::CTRL_ACK == 0x6F);
const _: () = assert!(regs::CTRL_CMD_PENDING == 1 << 31);
const _: () = assert!(ErrorCause::BadRequest as u32 == 11);
const _: () = assert!(crate::vq::walker::DETAIL_NO_HEADER == 0);
const _: () = assert!(crate::vq::walker::DETAIL_NO_STATUS == 1);

#[derive(Copy, Clone, PartialEq, Debug, LogicState)]
enum CtrlState {
    Idle,
    Check,
    Seg,
    Read,
    Wait,
    Event,
    Pend,
    Ack,
    Done,
    Halted,
}

/// The control-queue stage.
#[derive(LogicBlock, Default, Debug)]
pub struct NetCtrl {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// engine_reset: drop the command.
    pub reset: Signal<In, Bit>,
    /// The device is stopped by a fault.
    pub halt: Signal<In, Bit>,
    /// A control chain record is waiting (its segments are in the segment FIFO).
    pub chain_valid: Signal<In, Bit>,
    /// Take the chain record.
    pub chain_pop: Signal<Out, Bit>,
    /// Chain head.
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
    /// Segment is device-writable.
    pub seg_write: Signal<In, Bit>,
    /// DMA read request valid.
    pub rd_valid: Signal<Out, Bit>,
    /// DMA read request ready.
    pub rd_ready: Signal<In, Bit>,
    /// DMA read address.
    pub rd_addr: Signal<Out, Bits<64>>,
    /// DMA read length (1..=16).
    pub rd_len: Signal<Out, Bits<13>>,
    /// Completion valid.
    pub cpl_valid: Signal<In, Bit>,
    /// Completion ready.
    pub cpl_ready: Signal<Out, Bit>,
    /// Completion data (the bytes read from bits 7:0 on).
    pub cpl_data: Signal<In, Bits<128>>,
    /// Completion: last beat of its request.
    pub cpl_last: Signal<In, Bit>,
    /// DMA write (the ack byte) valid.
    pub wr_valid: Signal<Out, Bit>,
    /// DMA write ready.
    pub wr_ready: Signal<In, Bit>,
    /// DMA write address.
    pub wr_addr: Signal<Out, Bits<64>>,
    /// DMA write data (the ack byte in bits 7:0; length 1).
    pub wr_data: Signal<Out, Bits<128>>,
    /// Push the used record (length 1).
    pub done_push: Signal<Out, Bit>,
    /// Free entries in the used FIFO.
    pub done_room: Signal<In, Bits<8>>,
    /// Used record: head.
    pub done_head: Signal<Out, Bits<16>>,
    /// The `NetCtrl` event for firmware: valid.
    pub evt_valid: Signal<Out, Bit>,
    /// The event is taken.
    pub evt_ready: Signal<In, Bit>,
    /// Register write strobe.
    pub reg_write: Signal<In, Bit>,
    /// Register word address.
    pub reg_addr: Signal<In, Bits<8>>,
    /// Register write data.
    pub reg_wdata: Signal<In, Bits<32>>,
    /// `CTRL_CMD`, `CTRL_DATA_SEL` or `CTRL_DATA` when `reg_addr` names it, else 0.
    pub reg_rdata: Signal<Out, Bits<32>>,
    /// A malformed chain is detected this cycle.
    pub err: Signal<Out, Bit>,
    /// Its detail (the cause is BadRequest).
    pub err_detail: Signal<Out, Bits<32>>,
    /// Work in hand (a command waiting for firmware is not: only the
    /// `CTRL_ACK` write moves it on).
    pub busy: Signal<Out, Bit>,
    state: DFF<CtrlState>,
    head: DFF<Bits<16>>,
    rlen: DFF<Bits<32>>,
    wlen: DFF<Bits<32>>,
    left: DFF<Bits<33>>,
    cur_addr: DFF<Bits<64>>,
    cur_len: DFF<Bits<32>>,
    pos: DFF<Bits<8>>,
    want: DFF<Bits<8>>,
    piece: DFF<Bits<5>>,
    first: DFF<Bit>,
    ack_addr: DFF<Bits<64>>,
    have_ack: DFF<Bit>,
    ack_byte: DFF<Bits<8>>,
    pending: DFF<Bit>,
    sel: DFF<Bits<8>>,
    held: DFF<Bits<BUF_BITS>>,
    p1: Signal<Local, Bits<32>>,
    p2: Signal<Local, Bits<32>>,
    p3: Signal<Local, Bits<32>>,
    p4: Signal<Local, Bits<32>>,
    to4k: Signal<Local, Bits<32>>,
    keep: Signal<Local, Bits<8>>,
    lane: Signal<Local, Bits<8>>,
    row_shift: Signal<Local, Bits<11>>,
    beat: Signal<Local, Bits<128>>,
    mask: Signal<Local, Bits<128>>,
    wide: Signal<Local, Bits<BUF_BITS>>,
    wide_mask: Signal<Local, Bits<BUF_BITS>>,
    plen: Signal<Local, Bits<32>>,
    plen12: Signal<Local, Bits<12>>,
    data_off: Signal<Local, Bits<14>>,
    data_win: Signal<Local, Bits<BUF_BITS>>,
}

impl Logic for NetCtrl {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, state, head, rlen, wlen, left, cur_addr, cur_len, pos, want, piece, first,
            ack_addr, have_ack, ack_byte, pending, sel, held
        );
        // Next read: to the end of the buffer row, the segment, the held
        // bytes and the page, whichever comes first.
        self.p1.next = bits::<32>(16) - bit_cast::<32, 4>(self.pos.q.val().get_bits::<4>(0));
        self.p2.next = self.p1.val();
        if self.cur_len.q.val() < self.p1.val() {
            self.p2.next = self.cur_len.q.val();
        }
        self.p3.next = self.p2.val();
        if bit_cast::<32, 8>(self.want.q.val() - self.pos.q.val()) < self.p2.val() {
            self.p3.next = bit_cast::<32, 8>(self.want.q.val() - self.pos.q.val());
        }
        self.to4k.next =
            bits::<32>(4096) - bit_cast::<32, 12>(self.cur_addr.q.val().get_bits::<12>(0));
        self.p4.next = self.p3.val();
        if self.to4k.val() < self.p3.val() {
            self.p4.next = self.to4k.val();
        }
        // A completion: its `piece` bytes, shifted to their lane in the
        // row `pos / 16`.
        self.keep.next = bits::<8>(128) - (bit_cast::<8, 5>(self.piece.q.val()) << 3);
        self.lane.next = bit_cast::<8, 4>(self.pos.q.val().get_bits::<4>(0)) << 3;
        self.beat.next =
            ((self.cpl_data.val() << self.keep.val()) >> self.keep.val()) << self.lane.val();
        self.mask.next =
            ((!bits::<128>(0) << self.keep.val()) >> self.keep.val()) << self.lane.val();
        self.row_shift.next = bit_cast::<11, 4>(self.pos.q.val().get_bits::<4>(4)) << 7;
        self.wide.next = bit_cast::<BUF_BITS, 128>(self.beat.val()) << self.row_shift.val();
        self.wide_mask.next = bit_cast::<BUF_BITS, 128>(self.mask.val()) << self.row_shift.val();
        // CTRL_CMD's length: the readable bytes after class and command,
        // saturated to the field.
        self.plen.next = self.rlen.q.val() - 2;
        self.plen12.next = self.plen.val().get_bits::<12>(0);
        if self.plen.val() > 0xFFF {
            self.plen12.next = 0xFFF.into();
        }
        self.data_off.next = (bit_cast::<14, 8>(self.sel.q.val()) << 5) + 16;
        // (Its own signal: Verilog cannot take bits of an expression.)
        self.data_win.next = self.held.q.val() >> self.data_off.val();

        self.busy.next = (self.state.q.val() != CtrlState::Idle)
            && (self.state.q.val() != CtrlState::Pend)
            && (self.state.q.val() != CtrlState::Halted);
        if (self.state.q.val() == CtrlState::Idle) && self.chain_valid.val() {
            self.busy.next = true;
        }
        self.chain_pop.next = false;
        self.seg_pop.next = false;
        self.rd_valid.next = false;
        self.rd_addr.next = self.cur_addr.q.val();
        self.rd_len.next = bit_cast::<13, 32>(self.p4.val());
        self.cpl_ready.next = false;
        self.wr_valid.next = false;
        self.wr_addr.next = self.ack_addr.q.val();
        self.wr_data.next = bit_cast::<128, 8>(self.ack_byte.q.val());
        self.done_push.next = false;
        self.done_head.next = self.head.q.val();
        self.evt_valid.next = false;
        self.err.next = false;
        self.err_detail.next = 0.into();

        match self.state.q.val() {
            CtrlState::Idle => {
                if self.chain_valid.val() {
                    self.chain_pop.next = true;
                    self.head.d.next = self.chain_head.val();
                    self.rlen.d.next = self.chain_rlen.val();
                    self.wlen.d.next = self.chain_wlen.val();
                    self.left.d.next = bit_cast::<33, 32>(self.chain_rlen.val())
                        + bit_cast::<33, 32>(self.chain_wlen.val());
                    self.cur_len.d.next = 0.into();
                    self.pos.d.next = 0.into();
                    self.want.d.next = 130.into();
                    if self.chain_rlen.val() < 130 {
                        self.want.d.next = self.chain_rlen.val().get_bits::<8>(0);
                    }
                    self.have_ack.d.next = false;
                    self.held.d.next = 0.into();
                    self.state.d.next = CtrlState::Check;
                }
            }
            CtrlState::Check => {
                if self.rlen.q.val() < 2 {
                    self.err.next = true;
                    self.err_detail.next = 0.into();
                    self.state.d.next = CtrlState::Halted;
                } else if self.wlen.q.val() == 0 {
                    self.err.next = true;
                    self.err_detail.next = 1.into();
                    self.state.d.next = CtrlState::Halted;
                } else {
                    self.state.d.next = CtrlState::Seg;
                }
            }
            CtrlState::Seg => {
                // Every segment of the chain is taken off the FIFO; readable
                // ones are read up to `want` bytes, the first writable one
                // is where the ack goes.
                if self.left.q.val() == 0 {
                    self.pending.d.next = true;
                    self.state.d.next = CtrlState::Event;
                } else if self.seg_valid.val() {
                    self.seg_pop.next = true;
                    self.left.d.next = self.left.q.val() - bit_cast::<33, 32>(self.seg_len.val());
                    if self.seg_write.val() {
                        if !self.have_ack.q.val() {
                            self.have_ack.d.next = true;
                            self.ack_addr.d.next = self.seg_addr.val();
                        }
                    } else if self.pos.q.val() != self.want.q.val() {
                        self.cur_addr.d.next = self.seg_addr.val();
                        self.cur_len.d.next = self.seg_len.val();
                        self.state.d.next = CtrlState::Read;
                    }
                }
            }
            CtrlState::Read => {
                if (self.cur_len.q.val() == 0) || (self.pos.q.val() == self.want.q.val()) {
                    self.state.d.next = CtrlState::Seg;
                } else {
                    self.rd_valid.next = true;
                    if self.rd_ready.val() {
                        self.piece.d.next = bit_cast::<5, 32>(self.p4.val());
                        self.first.d.next = true;
                        self.state.d.next = CtrlState::Wait;
                    }
                }
            }
            CtrlState::Wait => {
                self.cpl_ready.next = true;
                if self.cpl_valid.val() {
                    self.first.d.next = false;
                    if self.first.q.val() {
                        self.held.d.next =
                            (self.held.q.val() & !self.wide_mask.val()) | self.wide.val();
                        self.pos.d.next = self.pos.q.val() + bit_cast::<8, 5>(self.piece.q.val());
                        self.cur_addr.d.next =
                            self.cur_addr.q.val() + bit_cast::<64, 5>(self.piece.q.val());
                        self.cur_len.d.next =
                            self.cur_len.q.val() - bit_cast::<32, 5>(self.piece.q.val());
                    }
                    if self.cpl_last.val() {
                        self.state.d.next = CtrlState::Read;
                    }
                }
            }
            CtrlState::Event => {
                self.evt_valid.next = true;
                if self.evt_ready.val() {
                    self.state.d.next = CtrlState::Pend;
                }
            }
            CtrlState::Ack => {
                self.wr_valid.next = true;
                if self.wr_ready.val() {
                    self.state.d.next = CtrlState::Done;
                }
            }
            CtrlState::Done => {
                if self.done_room.val() != 0 {
                    self.done_push.next = true;
                    self.state.d.next = CtrlState::Idle;
                }
            }
            _ => {}
        }

        // Registers (word addresses in decimal: rust-hdl copies match
        // patterns into the Verilog verbatim).
        self.reg_rdata.next = 0.into();
        match self.reg_addr.val().index() {
            108 => {
                self.reg_rdata.next = bit_cast::<32, 8>(self.held.q.val().get_bits::<8>(0))
                    | (bit_cast::<32, 8>(self.held.q.val().get_bits::<8>(8)) << 8)
                    | (bit_cast::<32, 12>(self.plen12.val()) << 16);
                if self.pending.q.val() {
                    self.reg_rdata.next = bit_cast::<32, 8>(self.held.q.val().get_bits::<8>(0))
                        | (bit_cast::<32, 8>(self.held.q.val().get_bits::<8>(8)) << 8)
                        | (bit_cast::<32, 12>(self.plen12.val()) << 16)
                        | 0x8000_0000_u64;
                }
            }
            109 => {
                self.reg_rdata.next = bit_cast::<32, 8>(self.sel.q.val());
                if self.reg_write.val() {
                    self.sel.d.next = self.reg_wdata.val().get_bits::<8>(0);
                }
            }
            110 => {
                self.reg_rdata.next = self.data_win.val().get_bits::<32>(0);
            }
            111 => {
                if self.reg_write.val() && (self.state.q.val() == CtrlState::Pend) {
                    self.ack_byte.d.next = self.reg_wdata.val().get_bits::<8>(0);
                    self.pending.d.next = false;
                    self.state.d.next = CtrlState::Ack;
                }
            }
            _ => {}
        }
        if self.halt.val() {
            self.state.d.next = CtrlState::Halted;
        }
        if self.reset.val() {
            self.state.d.next = CtrlState::Idle;
            self.pending.d.next = false;
            self.sel.d.next = 0.into();
        }
    }
}
