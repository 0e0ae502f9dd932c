//! Descriptor chain walk (virtio 1.2 §2.7.5): follows `next` through the
//! descriptor table or an indirect table, validates the chain, hands its
//! buffers (segments) to the device function and reads the blk request
//! header, so the function can start a request without a round trip.
//!
//! Message framing (§2.7.4): the header is the first 16 readable bytes,
//! wherever the driver split them: in the first buffer, or across the
//! first two (each piece read on its own, also split at 4 KiB boundaries).
//!
//! Every check that fails reports an [`ErrorCause`] and stops the walker;
//! the engine then stops the device's DMA.

// rust-hdl's #[hdl_gen] has no match guards: nested ifs stay nested.
#![allow(clippy::collapsible_match)]

use super::split;
use rust_hdl::prelude::*;
use vfpga_abi::ring::{DESC_F_INDIRECT, DESC_F_NEXT, DESC_F_WRITE};
use vfpga_abi::vendor::ErrorCause;

// Literals in the RTL below (rust-hdl emits named constants as signal names).
const _: () = assert!(DESC_F_NEXT == 1 && DESC_F_WRITE == 2 && DESC_F_INDIRECT == 4);
const _: () = assert!(vfpga_abi::ring::DESC_SIZE == 16);
const _: () = assert!(vfpga_abi::blk::REQ_HEADER_LEN == 16);
const _: () = assert!(crate::vq::MAX_CHAIN_SEGS == 66);
const _: () = assert!(ErrorCause::ChainTooLong as u32 == 1);
const _: () = assert!(ErrorCause::IndexOutOfRange as u32 == 2);
const _: () = assert!(ErrorCause::IndirectWithNext as u32 == 3);
const _: () = assert!(ErrorCause::NestedIndirect as u32 == 4);
const _: () = assert!(ErrorCause::IndirectLength as u32 == 5);
const _: () = assert!(ErrorCause::ZeroLength as u32 == 6);
const _: () = assert!(ErrorCause::WriteBeforeRead as u32 == 7);
const _: () = assert!(ErrorCause::LengthOverflow as u32 == 8);
const _: () = assert!(ErrorCause::BadRequest as u32 == 11);

/// `error_detail` of a BadRequest: the chain does not start with 16
/// readable bytes in its first one or two buffers.
pub const DETAIL_NO_HEADER: u32 = 0;
/// `error_detail` of a BadRequest: the chain has no device-writable byte
/// for the status.
pub const DETAIL_NO_STATUS: u32 = 1;
/// `error_detail` of a BadRequest: more than MAX_CHAIN_SEGS buffers.
pub const DETAIL_TOO_MANY_SEGS: u32 = 2;
/// `error_detail` of a BadRequest: an INDIRECT descriptor while indirect
/// descriptors were not negotiated (ORed with the descriptor index).
pub const DETAIL_INDIRECT_OFF: u32 = 0x1_0000;

#[derive(Copy, Clone, PartialEq, Debug, LogicState)]
enum WalkState {
    Idle,
    Start,
    ReadDesc,
    WaitDesc,
    Finish,
    ReadHdr,
    WaitHdr,
    Push,
    SplitRd1,
    SplitWait1,
    SplitRd2,
    SplitWait2,
    DescUse,
    Halted,
}

/// Chain walker shared by `NQ` queues (one chain at a time; queue numbers
/// `QB` bits wide).
#[derive(LogicBlock, Debug)]
pub struct ChainWalker<const NQ: usize, const QB: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// engine_reset.
    pub reset: Signal<In, Bit>,
    /// The device is stopped by a fault.
    pub halt: Signal<In, Bit>,
    /// VIRTIO_F_INDIRECT_DESC negotiated.
    pub indirect_enable: Signal<In, Bit>,
    /// Chains are plain buffers (virtio-net): no request header is read and
    /// the blk checks (readable header first, a writable status byte) are
    /// skipped. The blk engine ties it low.
    pub plain_chains: Signal<In, Bit>,
    /// Per queue: descriptor table.
    pub q_desc: [Signal<In, Bits<64>>; NQ],
    /// Per queue: size.
    pub q_size: [Signal<In, Bits<16>>; NQ],
    /// A head is waiting.
    pub head_valid: Signal<In, Bit>,
    /// Its queue.
    pub head_queue: Signal<In, Bits<QB>>,
    /// Its index.
    pub head_idx: Signal<In, Bits<16>>,
    /// Take the head.
    pub head_pop: Signal<Out, Bit>,
    /// Push one segment (buffer) of the chain.
    pub seg_push: Signal<Out, Bit>,
    /// Segment address.
    pub seg_addr: Signal<Out, Bits<64>>,
    /// Segment length (non-zero).
    pub seg_len: Signal<Out, Bits<32>>,
    /// Segment is device-writable.
    pub seg_write: Signal<Out, Bit>,
    /// Free entries in the segment FIFO.
    pub seg_room: Signal<In, Bits<8>>,
    /// Push the chain record (after its segments).
    pub chain_push: Signal<Out, Bit>,
    /// Free entries in the chain FIFO.
    pub chain_room: Signal<In, Bits<8>>,
    /// Chain's queue.
    pub chain_queue: Signal<Out, Bits<QB>>,
    /// Chain's head index (the used element id).
    pub chain_head: Signal<Out, Bits<16>>,
    /// Device-readable bytes.
    pub chain_rlen: Signal<Out, Bits<32>>,
    /// Device-writable bytes.
    pub chain_wlen: Signal<Out, Bits<32>>,
    /// The first 16 readable bytes (the blk request header).
    pub chain_hdr: Signal<Out, Bits<128>>,
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
    /// Completion: last beat of its request.
    pub cpl_last: Signal<In, Bit>,
    /// Walking a chain.
    pub busy: Signal<Out, Bit>,
    /// Queue of the chain being walked.
    pub cur_queue: Signal<Out, Bits<QB>>,
    /// A validation error is detected this cycle.
    pub err: Signal<Out, Bit>,
    /// Its cause.
    pub err_cause: Signal<Out, Bits<8>>,
    /// Its detail.
    pub err_detail: Signal<Out, Bits<32>>,
    state: DFF<WalkState>,
    q: DFF<Bits<QB>>,
    // Queue numbers as constants (rust-hdl emits them as localparams).
    qi: [Constant<Bits<QB>>; NQ],
    head: DFF<Bits<16>>,
    idx: DFF<Bits<16>>,
    ind: DFF<Bit>,
    ind_base: DFF<Bits<64>>,
    ind_count: DFF<Bits<28>>,
    count: DFF<Bits<16>>,
    rlen: DFF<Bits<33>>,
    wlen: DFF<Bits<33>>,
    seenw: DFF<Bit>,
    nseg: DFF<Bits<8>>,
    first_addr: DFF<Bits<64>>,
    first_len: DFF<Bits<32>>,
    first_write: DFF<Bit>,
    have_first: DFF<Bit>,
    sec_addr: DFF<Bits<64>>,
    sec_len: DFF<Bits<32>>,
    sec_write: DFF<Bit>,
    have_sec: DFF<Bit>,
    hdr: DFF<Bits<128>>,
    part: DFF<Bits<5>>,
    hgot: DFF<Bits<5>>,
    sdesc: DFF<Bits<128>>,
    win_base: DFF<Bits<16>>,
    bk: DFF<Bits<16>>,
    want: DFF<Bit>,
    stale: DFF<Bit>,
    hit: Signal<Local, Bit>,
    lim: Signal<Local, Bits<28>>,
    w1: Signal<Local, Bits<28>>,
    w2: Signal<Local, Bits<28>>,
    win_n: Signal<Local, Bits<9>>,
    qsize: Signal<Local, Bits<16>>,
    qdesc: Signal<Local, Bits<64>>,
    d_addr: Signal<Local, Bits<64>>,
    d_len: Signal<Local, Bits<32>>,
    d_flags: Signal<Local, Bits<16>>,
    d_next: Signal<Local, Bits<16>>,
    total: Signal<Local, Bits<33>>,
    next_oob: Signal<Local, Bit>,
    hdr_ok: Signal<Local, Bit>,
    h_addr: Signal<Local, Bits<64>>,
    h_rem: Signal<Local, Bits<32>>,
    h_room: Signal<Local, Bits<32>>,
    h_p1: Signal<Local, Bits<32>>,
    h_p2: Signal<Local, Bits<32>>,
    h_piece: Signal<Local, Bits<5>>,
    h_keep: Signal<Local, Bits<8>>,
    in_desc: Signal<Local, Bit>,
    dv: Signal<Local, Bit>,
    dlast: Signal<Local, Bit>,
    dtake: Signal<Local, Bit>,
    ddata: Signal<Local, Bits<128>>,
    s_room: Signal<Local, Bits<5>>,
    desc_addr: Signal<Local, Bits<64>>,
}

impl<const NQ: usize, const QB: usize> Default for ChainWalker<NQ, QB> {
    fn default() -> Self {
        assert!(NQ <= 1 << QB, "queue numbers wider than QB bits");
        Self {
            clock: Default::default(),
            reset: Default::default(),
            halt: Default::default(),
            indirect_enable: Default::default(),
            plain_chains: Default::default(),
            q_desc: core::array::from_fn(|_| Default::default()),
            q_size: core::array::from_fn(|_| Default::default()),
            head_valid: Default::default(),
            head_queue: Default::default(),
            head_idx: Default::default(),
            head_pop: Default::default(),
            seg_push: Default::default(),
            seg_addr: Default::default(),
            seg_len: Default::default(),
            seg_write: Default::default(),
            seg_room: Default::default(),
            chain_push: Default::default(),
            chain_room: Default::default(),
            chain_queue: Default::default(),
            chain_head: Default::default(),
            chain_rlen: Default::default(),
            chain_wlen: Default::default(),
            chain_hdr: Default::default(),
            rd_valid: Default::default(),
            rd_ready: Default::default(),
            rd_addr: Default::default(),
            rd_len: Default::default(),
            cpl_valid: Default::default(),
            cpl_ready: Default::default(),
            cpl_data: Default::default(),
            cpl_last: Default::default(),
            busy: Default::default(),
            cur_queue: Default::default(),
            err: Default::default(),
            err_cause: Default::default(),
            err_detail: Default::default(),
            state: Default::default(),
            q: Default::default(),
            qi: core::array::from_fn(|i| Constant::new((i as u64).into())),
            head: Default::default(),
            idx: Default::default(),
            ind: Default::default(),
            ind_base: Default::default(),
            ind_count: Default::default(),
            count: Default::default(),
            rlen: Default::default(),
            wlen: Default::default(),
            seenw: Default::default(),
            nseg: Default::default(),
            first_addr: Default::default(),
            first_len: Default::default(),
            first_write: Default::default(),
            have_first: Default::default(),
            sec_addr: Default::default(),
            sec_len: Default::default(),
            sec_write: Default::default(),
            have_sec: Default::default(),
            hdr: Default::default(),
            part: Default::default(),
            hgot: Default::default(),
            sdesc: Default::default(),
            win_base: Default::default(),
            bk: Default::default(),
            want: Default::default(),
            stale: Default::default(),
            hit: Default::default(),
            lim: Default::default(),
            w1: Default::default(),
            w2: Default::default(),
            win_n: Default::default(),
            qsize: Default::default(),
            qdesc: Default::default(),
            d_addr: Default::default(),
            d_len: Default::default(),
            d_flags: Default::default(),
            d_next: Default::default(),
            total: Default::default(),
            next_oob: Default::default(),
            hdr_ok: Default::default(),
            h_addr: Default::default(),
            h_rem: Default::default(),
            h_room: Default::default(),
            h_p1: Default::default(),
            h_p2: Default::default(),
            h_piece: Default::default(),
            h_keep: Default::default(),
            in_desc: Default::default(),
            dv: Default::default(),
            dlast: Default::default(),
            dtake: Default::default(),
            ddata: Default::default(),
            s_room: Default::default(),
            desc_addr: Default::default(),
        }
    }
}

/// Top-level statements at the start of `logic` that compute `rd_valid`
/// from registers and inputs only (see [`split::hoist`]).
const HOISTED: usize = 13;

impl<const NQ: usize, const QB: usize> ChainWalker<NQ, QB> {
    #[hdl_gen]
    fn logic(&mut self) {
        self.qsize.next = 0.into();
        self.qdesc.next = 0.into();
        for i in 0..NQ {
            if self.q.q.val() == self.qi[i].val() {
                self.qsize.next = self.q_size[i].val();
                self.qdesc.next = self.q_desc[i].val();
            }
        }
        // The next descriptor's address (in the ring or the indirect table).
        self.desc_addr.next = self.qdesc.val() + (bit_cast::<64, 16>(self.idx.q.val()) << 4);
        if self.ind.q.val() {
            self.desc_addr.next =
                self.ind_base.q.val() + (bit_cast::<64, 16>(self.idx.q.val()) << 4);
        }
        // Descriptors in the prefetch window: up to DESC_WINDOW (8 in an
        // indirect table), not past the table's end or a 4 KiB boundary.
        self.lim.next = bit_cast::<28, 16>(self.qsize.val()) - bit_cast::<28, 16>(self.idx.q.val());
        if self.ind.q.val() {
            self.lim.next = self.ind_count.q.val() - bit_cast::<28, 16>(self.idx.q.val());
        }
        self.w1.next = self.lim.val();
        if self.ind.q.val() {
            if self.lim.val() > 8 {
                self.w1.next = 8.into();
            }
        } else if self.lim.val() > 4 {
            self.w1.next = 4.into();
        }
        self.w2.next = self.w1.val();
        if self.w1.val()
            > (bit_cast::<28, 13>(
                bits::<13>(4096) - bit_cast::<13, 12>(self.desc_addr.val().get_bits::<12>(0)),
            ) >> 4)
        {
            self.w2.next = bit_cast::<28, 13>(
                bits::<13>(4096) - bit_cast::<13, 12>(self.desc_addr.val().get_bits::<12>(0)),
            ) >> 4;
        }
        self.win_n.next = bit_cast::<9, 28>(self.w2.val());
        // The DMA request: from registers and inputs only, so that its
        // Verilog block reads no `ready` (see `hdl`).
        self.rd_valid.next = ((self.state.q.val() == WalkState::ReadDesc)
            && (self.win_n.val() != 0)
            && (bit_cast::<9, 8>(self.seg_room.val()) >= self.win_n.val()))
            || (self.state.q.val() == WalkState::SplitRd1)
            || (self.state.q.val() == WalkState::SplitRd2)
            || (self.state.q.val() == WalkState::ReadHdr);

        dff_setup!(
            self,
            clock,
            state,
            q,
            head,
            idx,
            ind,
            ind_base,
            ind_count,
            count,
            rlen,
            wlen,
            seenw,
            nseg,
            first_addr,
            first_len,
            first_write,
            have_first,
            sec_addr,
            sec_len,
            sec_write,
            have_sec,
            hdr,
            part,
            hgot,
            win_base,
            bk,
            want,
            stale,
            sdesc
        );
        // The descriptor being examined: a completion beat, or one that
        // straddled a 4 KiB boundary, read in two pieces and reassembled
        // (an indirect table need not be 16-byte aligned).
        self.in_desc.next = (self.state.q.val() == WalkState::WaitDesc)
            || (self.state.q.val() == WalkState::DescUse);
        self.dv.next = self.cpl_valid.val();
        self.dlast.next = self.cpl_last.val();
        self.ddata.next = self.cpl_data.val();
        if self.state.q.val() == WalkState::DescUse {
            self.dv.next = true;
            self.dlast.next = true;
            self.ddata.next = self.sdesc.q.val();
        }
        self.dtake.next = false;
        self.d_addr.next = self.ddata.val().get_bits::<64>(0);
        self.d_len.next = self.ddata.val().get_bits::<32>(64);
        self.d_flags.next = self.ddata.val().get_bits::<16>(96);
        self.d_next.next = self.ddata.val().get_bits::<16>(112);
        self.total.next =
            self.rlen.q.val() + self.wlen.q.val() + bit_cast::<33, 32>(self.d_len.val());
        self.next_oob.next = self.d_next.val() >= self.qsize.val();
        if self.ind.q.val() {
            self.next_oob.next = bit_cast::<28, 16>(self.d_next.val()) >= self.ind_count.q.val();
        }
        // The header: 16 readable bytes in the first buffer, or in the
        // first two together.
        self.hdr_ok.next = self.have_first.q.val()
            && !self.first_write.q.val()
            && ((self.first_len.q.val() >= 16)
                || (self.have_sec.q.val()
                    && !self.sec_write.q.val()
                    && (self.sec_len.q.val() >= (bits::<32>(16) - self.first_len.q.val()))));
        // The next piece of the header: from the buffer holding byte hgot,
        // no further than that buffer's end or the next 4 KiB boundary.
        self.h_addr.next = self.first_addr.q.val() + bit_cast::<64, 5>(self.hgot.q.val());
        self.h_rem.next = self.first_len.q.val() - bit_cast::<32, 5>(self.hgot.q.val());
        if bit_cast::<32, 5>(self.hgot.q.val()) >= self.first_len.q.val() {
            self.h_addr.next = self.sec_addr.q.val()
                + bit_cast::<64, 32>(bit_cast::<32, 5>(self.hgot.q.val()) - self.first_len.q.val());
            self.h_rem.next = self.sec_len.q.val()
                - (bit_cast::<32, 5>(self.hgot.q.val()) - self.first_len.q.val());
        }
        self.h_room.next =
            bits::<32>(4096) - bit_cast::<32, 12>(self.h_addr.val().get_bits::<12>(0));
        self.h_p1.next = bits::<32>(16) - bit_cast::<32, 5>(self.hgot.q.val());
        if self.h_rem.val() < self.h_p1.val() {
            self.h_p1.next = self.h_rem.val();
        }
        self.h_p2.next = self.h_p1.val();
        if self.h_room.val() < self.h_p1.val() {
            self.h_p2.next = self.h_room.val();
        }
        self.h_piece.next = bit_cast::<5, 32>(self.h_p2.val());
        // Bits of the completion beat that are header (the rest is dropped).
        self.h_keep.next = bits::<8>(128) - (bit_cast::<8, 5>(self.part.q.val()) << 3);

        self.busy.next =
            (self.state.q.val() != WalkState::Idle) && (self.state.q.val() != WalkState::Halted);
        self.cur_queue.next = self.q.q.val();
        self.head_pop.next = false;
        self.seg_push.next = false;
        self.seg_addr.next = self.d_addr.val();
        self.seg_len.next = self.d_len.val();
        self.seg_write.next = self.d_flags.val().get_bit(1);
        self.chain_push.next = false;
        self.chain_queue.next = self.q.q.val();
        self.chain_head.next = self.head.q.val();
        self.chain_rlen.next = bit_cast::<32, 33>(self.rlen.q.val());
        self.chain_wlen.next = bit_cast::<32, 33>(self.wlen.q.val());
        self.chain_hdr.next = self.hdr.q.val();
        self.rd_addr.next = self.desc_addr.val();
        self.rd_len.next = 16.into();
        self.hit.next = !self.stale.q.val()
            && self.want.q.val()
            && ((self.win_base.q.val() + self.bk.q.val()) == self.idx.q.val());
        // Bytes of a straddling descriptor before the boundary.
        self.s_room.next = bit_cast::<5, 13>(
            bits::<13>(4096) - bit_cast::<13, 12>(self.desc_addr.val().get_bits::<12>(0)),
        );
        self.cpl_ready.next = false;
        self.err.next = false;
        self.err_cause.next = 0.into();
        self.err_detail.next = bit_cast::<32, 16>(self.idx.q.val());

        match self.state.q.val() {
            WalkState::Idle => {
                if self.head_valid.val() {
                    self.head_pop.next = true;
                    self.q.d.next = self.head_queue.val();
                    self.head.d.next = self.head_idx.val();
                    self.idx.d.next = self.head_idx.val();
                    self.state.d.next = WalkState::Start;
                }
            }
            WalkState::Start => {
                self.ind.d.next = false;
                self.count.d.next = 0.into();
                self.rlen.d.next = 0.into();
                self.wlen.d.next = 0.into();
                self.seenw.d.next = false;
                self.nseg.d.next = 0.into();
                self.have_first.d.next = false;
                self.have_sec.d.next = false;
                self.want.d.next = true;
                if self.head.q.val() >= self.qsize.val() {
                    self.err.next = true;
                    self.err_cause.next = 2.into();
                    self.state.d.next = WalkState::Halted;
                } else {
                    self.state.d.next = WalkState::ReadDesc;
                }
            }
            WalkState::ReadDesc => {
                if self.win_n.val() == 0 {
                    // The descriptor at idx crosses a 4 KiB boundary (an
                    // indirect table need not be 16-byte aligned): read it
                    // in two pieces, with room for its segment reserved.
                    if self.seg_room.val() != 0 {
                        self.win_base.d.next = self.idx.q.val();
                        self.bk.d.next = 0.into();
                        self.stale.d.next = false;
                        self.state.d.next = WalkState::SplitRd1;
                    }
                } else {
                    // Prefetch a window of descriptors from idx: chains laid out
                    // in consecutive entries cost one round trip, not one each.
                    // Only with room in the segment FIFO for every descriptor of
                    // the window, so that its completion is always accepted: a
                    // held completion blocks the shared completion stream, and
                    // with it the data reads that drain the FIFO (deadlock seen
                    // with Linux's indirect multi-segment writes).
                    self.rd_len.next = bit_cast::<13, 9>(self.win_n.val()) << 4;
                    if (bit_cast::<9, 8>(self.seg_room.val()) >= self.win_n.val())
                        && self.rd_ready.val()
                    {
                        self.win_base.d.next = self.idx.q.val();
                        self.bk.d.next = 0.into();
                        self.stale.d.next = false;
                        self.state.d.next = WalkState::WaitDesc;
                    }
                }
            }
            WalkState::SplitRd1 => {
                self.rd_len.next = bit_cast::<13, 5>(self.s_room.val());
                if self.rd_ready.val() {
                    self.part.d.next = self.s_room.val();
                    self.state.d.next = WalkState::SplitWait1;
                }
            }
            WalkState::SplitWait1 => {
                self.cpl_ready.next = true;
                if self.cpl_valid.val() {
                    self.sdesc.d.next =
                        (self.cpl_data.val() << self.h_keep.val()) >> self.h_keep.val();
                    self.state.d.next = WalkState::SplitRd2;
                }
            }
            WalkState::SplitRd2 => {
                self.rd_addr.next = self.desc_addr.val() + bit_cast::<64, 5>(self.part.q.val());
                self.rd_len.next = bits::<13>(16) - bit_cast::<13, 5>(self.part.q.val());
                if self.rd_ready.val() {
                    self.state.d.next = WalkState::SplitWait2;
                }
            }
            WalkState::SplitWait2 => {
                self.cpl_ready.next = true;
                if self.cpl_valid.val() {
                    self.sdesc.d.next = self.sdesc.q.val()
                        | (self.cpl_data.val() << (bit_cast::<8, 5>(self.part.q.val()) << 3));
                    self.state.d.next = WalkState::DescUse;
                }
            }
            WalkState::Finish => {
                if (self.rlen.q.val() + self.wlen.q.val()) == 0 {
                    self.err.next = true;
                    self.err_cause.next = 6.into();
                    self.err_detail.next = bit_cast::<32, 16>(self.head.q.val());
                    self.state.d.next = WalkState::Halted;
                } else if self.plain_chains.val() {
                    self.state.d.next = WalkState::Push;
                } else if !self.hdr_ok.val() {
                    self.err.next = true;
                    self.err_cause.next = 11.into();
                    self.err_detail.next = 0.into();
                    self.state.d.next = WalkState::Halted;
                } else if self.wlen.q.val() == 0 {
                    self.err.next = true;
                    self.err_cause.next = 11.into();
                    self.err_detail.next = 1.into();
                    self.state.d.next = WalkState::Halted;
                } else {
                    self.hgot.d.next = 0.into();
                    self.hdr.d.next = 0.into();
                    self.state.d.next = WalkState::ReadHdr;
                }
            }
            WalkState::ReadHdr => {
                // One piece of the header per read (one piece in the common
                // case: the whole header in one buffer, within one page).
                self.rd_addr.next = self.h_addr.val();
                self.rd_len.next = bit_cast::<13, 5>(self.h_piece.val());
                if self.rd_ready.val() {
                    self.part.d.next = self.h_piece.val();
                    self.state.d.next = WalkState::WaitHdr;
                }
            }
            WalkState::WaitHdr => {
                self.cpl_ready.next = true;
                if self.cpl_valid.val() {
                    self.hdr.d.next = self.hdr.q.val()
                        | (((self.cpl_data.val() << self.h_keep.val()) >> self.h_keep.val())
                            << (bit_cast::<8, 5>(self.hgot.q.val()) << 3));
                    self.hgot.d.next = self.hgot.q.val() + self.part.q.val();
                    if (self.hgot.q.val() + self.part.q.val()) == 16 {
                        self.state.d.next = WalkState::Push;
                    } else {
                        self.state.d.next = WalkState::ReadHdr;
                    }
                }
            }
            WalkState::Push => {
                if self.chain_room.val() != 0 {
                    self.chain_push.next = true;
                    self.state.d.next = WalkState::Idle;
                }
            }
            _ => {}
        }
        // A descriptor (from a completion or reassembled): validate it and
        // follow the chain.
        if self.in_desc.val() {
            if self.dv.val() && !self.hit.val() {
                // A prefetched descriptor the chain does not visit (next).
                self.dtake.next = true;
            } else if self.dv.val() {
                // Room was reserved when the window was read.
                self.dtake.next = true;
                if (self.count.q.val() + 1) > self.qsize.val() {
                    self.err.next = true;
                    self.err_cause.next = 1.into();
                    self.err_detail.next = bit_cast::<32, 16>(self.head.q.val());
                    self.state.d.next = WalkState::Halted;
                } else if self.d_flags.val().get_bit(2) {
                    if self.ind.q.val() {
                        self.err.next = true;
                        self.err_cause.next = 4.into();
                        self.state.d.next = WalkState::Halted;
                    } else if !self.indirect_enable.val() {
                        self.err.next = true;
                        self.err_cause.next = 11.into();
                        self.err_detail.next = bit_cast::<32, 16>(self.idx.q.val()) | 0x1_0000;
                        self.state.d.next = WalkState::Halted;
                    } else if self.d_flags.val().get_bit(0) {
                        self.err.next = true;
                        self.err_cause.next = 3.into();
                        self.state.d.next = WalkState::Halted;
                    } else if (self.d_len.val() == 0) || (self.d_len.val().get_bits::<4>(0) != 0) {
                        // A table must hold whole descriptors (§2.7.5.3.1);
                        // any address will do (a descriptor that crosses
                        // a 4 KiB boundary is read in two pieces).
                        self.err.next = true;
                        self.err_cause.next = 5.into();
                        self.state.d.next = WalkState::Halted;
                    } else {
                        self.ind.d.next = true;
                        self.ind_base.d.next = self.d_addr.val();
                        self.ind_count.d.next = self.d_len.val().get_bits::<28>(4);
                        self.idx.d.next = 0.into();
                        self.count.d.next = 0.into();
                        // The rest of this window is the outer table's.
                        self.stale.d.next = true;
                    }
                } else if self.seenw.q.val() && !self.d_flags.val().get_bit(1) {
                    self.err.next = true;
                    self.err_cause.next = 7.into();
                    self.state.d.next = WalkState::Halted;
                } else if self.total.val().get_bit(32) {
                    self.err.next = true;
                    self.err_cause.next = 8.into();
                    self.state.d.next = WalkState::Halted;
                } else if (self.d_len.val() != 0) && (self.nseg.q.val() == 66) {
                    self.err.next = true;
                    self.err_cause.next = 11.into();
                    self.err_detail.next = 2.into();
                    self.state.d.next = WalkState::Halted;
                } else if self.d_flags.val().get_bit(0) && self.next_oob.val() {
                    self.err.next = true;
                    self.err_cause.next = 2.into();
                    self.err_detail.next = bit_cast::<32, 16>(self.d_next.val());
                    self.state.d.next = WalkState::Halted;
                } else {
                    self.count.d.next = self.count.q.val() + 1;
                    if self.d_flags.val().get_bit(1) {
                        self.seenw.d.next = true;
                        self.wlen.d.next = self.wlen.q.val() + bit_cast::<33, 32>(self.d_len.val());
                    } else {
                        self.rlen.d.next = self.rlen.q.val() + bit_cast::<33, 32>(self.d_len.val());
                    }
                    if self.d_len.val() != 0 {
                        self.seg_push.next = true;
                        self.nseg.d.next = self.nseg.q.val() + 1;
                        if !self.have_first.q.val() {
                            self.have_first.d.next = true;
                            self.first_addr.d.next = self.d_addr.val();
                            self.first_len.d.next = self.d_len.val();
                            self.first_write.d.next = self.d_flags.val().get_bit(1);
                        } else if !self.have_sec.q.val() {
                            self.have_sec.d.next = true;
                            self.sec_addr.d.next = self.d_addr.val();
                            self.sec_len.d.next = self.d_len.val();
                            self.sec_write.d.next = self.d_flags.val().get_bit(1);
                        }
                    }
                    if self.d_flags.val().get_bit(0) {
                        self.idx.d.next = self.d_next.val();
                    } else {
                        self.want.d.next = false;
                    }
                }
            }
            // End of the window: the chain is complete, or read on at idx.
            if self.dv.val() && self.dtake.val() && !self.err.val() {
                self.bk.d.next = self.bk.q.val() + 1;
                if self.dlast.val() {
                    if !self.want.q.val()
                        || (self.hit.val()
                            && !self.d_flags.val().get_bit(2)
                            && !self.d_flags.val().get_bit(0))
                    {
                        self.state.d.next = WalkState::Finish;
                    } else {
                        self.state.d.next = WalkState::ReadDesc;
                    }
                }
            }
        }
        if self.state.q.val() == WalkState::WaitDesc {
            self.cpl_ready.next = self.dtake.val();
        }
        if self.halt.val() {
            self.state.d.next = WalkState::Halted;
        }
        if self.reset.val() {
            self.state.d.next = WalkState::Idle;
        }
    }
}

impl<const NQ: usize, const QB: usize> Logic for ChainWalker<NQ, QB> {
    fn update(&mut self) {
        self.logic();
    }

    fn connect(&mut self) {
        ChainWalker::connect(self);
    }

    /// rust-hdl's Verilog of `logic`, with the DMA request's `valid` (and
    /// what it is computed from) in an `always` block of its own: in one
    /// block with the state machine, which reads the DMA master's `ready`,
    /// it would close a false combinational loop through the master's
    /// arbiter.
    fn hdl(&self) -> Verilog {
        split::hoist(ChainWalker::hdl(self), HOISTED)
    }
}
