//! One virtio-blk request at a time (§5.2.6): decode the header the walker
//! read, check the sector range, move the data between the chain's buffers
//! and the storage port through the byte gearbox, then write the status
//! byte, and only then report the chain as used, so the used element is
//! issued after every write it covers.
//!
//! Storage commands of OUT and FLUSH requests are *parked*: once the data
//! is handed to storage, the request's status address waits in one of
//! [`PARKED`] slots (storage tag = slot + 1) while the next request starts;
//! completions come back in any order and each slot, when its completion
//! is in, gets its status byte and used element while the stage is between
//! requests. IN and GET_ID run one at a time (storage tag 0): IN data
//! streams from storage into the chain's buffers.
//!
//! OUT data is read with up to [`READS_IN_FLIGHT`] requests of at most
//! [`READ_CHUNK`] bytes in flight (one DMA tag each); their completions,
//! which may come back in any order and interleaved, land in a slot per
//! tag of a reorder RAM and are drained to storage in request order.
//!
//! The chain is consumed as two byte streams: the readable buffers (header,
//! then OUT data) and the writable buffers (IN data or the id string, then
//! the status byte, which is the last writable byte). The header may end in
//! the second buffer (the walker read it from the first two, §2.7.4).

// rust-hdl's #[hdl_gen] has no match guards: nested ifs stay nested.
#![allow(clippy::collapsible_match)]

use crate::dma::Gearbox;
use crate::vq::QUEUE_BITS;
use crate::vq::fifo::AsyncRam;
use rust_hdl::prelude::*;
use vfpga_abi::blk::{req, status};

// Literals in the RTL below (rust-hdl emits named constants as signal names).
const _: () = assert!(req::IN == 0 && req::OUT == 1 && req::FLUSH == 4 && req::GET_ID == 8);
const _: () = assert!(status::OK == 0 && status::IOERR == 1 && status::UNSUPP == 2);
const _: () = assert!(vfpga_abi::blk::SECTOR_SIZE == 512 && vfpga_abi::blk::ID_BYTES == 20);
const _: () = assert!(vfpga_abi::ports::BlkOp::Read as u8 == 0);
const _: () = assert!(vfpga_abi::ports::BlkOp::Write as u8 == 1);
const _: () = assert!(vfpga_abi::ports::BlkOp::Flush as u8 == 2);
const _: () = {
    let id = super::BLK_ID;
    let mut lo = 0u64;
    let mut i = 0;
    while i < 8 {
        lo |= (id[i] as u64) << (8 * i);
        i += 1;
    }
    assert!(lo == ID_LO && id[8] as u64 == ID_HI);
    assert!(id[9] == 0 && id[19] == 0);
};
/// Bytes 0..8 of the id string, little-endian.
pub(super) const ID_LO: u64 = 0x6c62_2d61_6770_6676;
/// Byte 8 of the id string (the rest is zero).
pub(super) const ID_HI: u64 = 0x6b;

/// OUT / FLUSH storage commands that may wait for their completion while
/// later requests run (storage tags 1..=PARKED).
pub const PARKED: usize = 4;
const _: () = assert!(PARKED == 4 && vfpga_abi::ports::BLK_TAG_BITS >= 3);

/// OUT data reads in flight (one DMA tag and one reorder slot each).
pub const READS_IN_FLIGHT: usize = 8;
/// Largest OUT data read (one reorder slot of 32 beats).
pub const READ_CHUNK: u32 = 512;
const _: () = assert!(READS_IN_FLIGHT == crate::dma::master::TAGS_PER_CLIENT);
const _: () = assert!(READ_CHUNK == 512 && vfpga_abi::ports::DMA_DATA_BYTES == 16);

#[derive(Copy, Clone, PartialEq, Debug, LogicState)]
enum BlkState {
    Idle,
    Decode,
    Cmd,
    RPhase,
    WPhase,
    WBurst,
    Cpl,
    Status,
    Done,
    RetWr,
    RetDone,
    Halted,
}

// What a request does with its data.
// 0: nothing (status only), 1: IN, 2: OUT, 3: FLUSH, 4: GET_ID.

/// The simulation model of [`BlkRequest`]: the request engine written
/// in rust-hdl (its registers are `DFF`s, as rust-hdl would emit them).
/// `BlkRequest::update` runs it; `BlkRequest::hdl` is the same logic
/// written by hand (see [`super::rtl`]).
#[derive(LogicBlock, Default, Debug)]
struct BlkModel {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// engine_reset.
    pub reset: Signal<In, Bit>,
    /// The device is stopped by a fault.
    pub halt: Signal<In, Bit>,
    /// Capacity in sectors.
    pub capacity: Signal<In, Bits<64>>,
    /// A walked chain is waiting.
    pub chain_valid: Signal<In, Bit>,
    /// Take it.
    pub chain_pop: Signal<Out, Bit>,
    /// Its queue.
    pub chain_queue: Signal<In, Bits<QUEUE_BITS>>,
    /// Its head.
    pub chain_head: Signal<In, Bits<16>>,
    /// Readable bytes.
    pub chain_rlen: Signal<In, Bits<32>>,
    /// Writable bytes.
    pub chain_wlen: Signal<In, Bits<32>>,
    /// Request header.
    pub chain_hdr: Signal<In, Bits<128>>,
    /// A segment is waiting.
    pub seg_valid: Signal<In, Bit>,
    /// Take it.
    pub seg_pop: Signal<Out, Bit>,
    /// Segment address.
    pub seg_addr: Signal<In, Bits<64>>,
    /// Segment length.
    pub seg_len: Signal<In, Bits<32>>,
    /// Completed chain: push.
    pub done_push: Signal<Out, Bit>,
    /// Room in the completion FIFO.
    pub done_room: Signal<In, Bits<8>>,
    /// Completed chain's queue.
    pub done_queue: Signal<Out, Bits<QUEUE_BITS>>,
    /// Completed chain's head.
    pub done_head: Signal<Out, Bits<16>>,
    /// Bytes written into the chain's writable buffers.
    pub done_len: Signal<Out, Bits<32>>,
    /// DMA read request valid.
    pub rd_valid: Signal<Out, Bit>,
    /// DMA read request ready.
    pub rd_ready: Signal<In, Bit>,
    /// DMA read address.
    pub rd_addr: Signal<Out, Bits<64>>,
    /// DMA read length.
    pub rd_len: Signal<Out, Bits<13>>,
    /// DMA read tag within this client's range (the reorder slot).
    pub rd_sub: Signal<Out, Bits<3>>,
    /// Completion's tag within this client's range.
    pub cpl_sub: Signal<In, Bits<3>>,
    /// Completion valid.
    pub cpl_valid: Signal<In, Bit>,
    /// Completion ready.
    pub cpl_ready: Signal<Out, Bit>,
    /// Completion data.
    pub cpl_data: Signal<In, Bits<128>>,
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
    /// DMA write last beat.
    pub wr_last: Signal<Out, Bit>,
    /// Storage command valid.
    pub cmd_valid: Signal<Out, Bit>,
    /// Storage command ready.
    pub cmd_ready: Signal<In, Bit>,
    /// Storage command tag.
    pub cmd_tag: Signal<Out, Bits<5>>,
    /// Storage operation (BlkOp).
    pub cmd_op: Signal<Out, Bits<2>>,
    /// First sector.
    pub cmd_sector: Signal<Out, Bits<64>>,
    /// Length in bytes.
    pub cmd_len: Signal<Out, Bits<32>>,
    /// Storage write data valid.
    pub wdata_valid: Signal<Out, Bit>,
    /// Storage write data ready.
    pub wdata_ready: Signal<In, Bit>,
    /// Storage write data tag.
    pub wdata_tag: Signal<Out, Bits<5>>,
    /// Storage write data.
    pub wdata_data: Signal<Out, Bits<128>>,
    /// Storage write data last beat.
    pub wdata_last: Signal<Out, Bit>,
    /// Storage read data valid.
    pub rdata_valid: Signal<In, Bit>,
    /// Storage read data ready.
    pub rdata_ready: Signal<Out, Bit>,
    /// Storage read data.
    pub rdata_data: Signal<In, Bits<128>>,
    /// Storage completion valid.
    pub scpl_valid: Signal<In, Bit>,
    /// Storage completion ready.
    pub scpl_ready: Signal<Out, Bit>,
    /// Storage completion status.
    pub scpl_status: Signal<In, Bits<8>>,
    /// Storage completion tag (0: the request in progress; 1..=PARKED: a
    /// parked slot).
    pub scpl_tag: Signal<In, Bits<5>>,
    /// Working on a request or waiting for storage.
    pub busy: Signal<Out, Bit>,
    /// A storage command is outstanding.
    pub storage_busy: Signal<Out, Bit>,
    /// Queue of the request.
    pub cur_queue: Signal<Out, Bits<QUEUE_BITS>>,
    /// Data bytes requested from host memory this cycle.
    pub cnt_read: Signal<Out, Bits<13>>,
    /// Bytes written to host memory this cycle (first beat of a write).
    pub cnt_written: Signal<Out, Bits<13>>,
    gb: Gearbox,
    state: DFF<BlkState>,
    q: DFF<Bits<QUEUE_BITS>>,
    head: DFF<Bits<16>>,
    rlen: DFF<Bits<32>>,
    wlen: DFF<Bits<32>>,
    sector: DFF<Bits<64>>,
    op: DFF<Bits<3>>,
    stat: DFF<Bits<8>>,
    dlen: DFF<Bits<32>>,
    cur_addr: DFF<Bits<64>>,
    cur_len: DFF<Bits<32>>,
    todo: DFF<Bits<32>>,
    skip: DFF<Bits<32>>,
    hskip: DFF<Bits<5>>,
    sto_left: DFF<Bits<32>>,
    sto_busy: DFF<Bit>,
    rob: AsyncRam<Bits<128>, 8>,
    slot_wr: DFF<Bits<3>>,
    slot_rd: DFF<Bits<3>>,
    inflight: DFF<Bits<4>>,
    slot_cnt: DFF<Bits<48>>,
    slot_len: DFF<Bits<80>>,
    di: DFF<Bits<6>>,
    wa: DFF<Bits<64>>,
    wl: DFF<Bits<13>>,
    beat_left: DFF<Bits<13>>,
    idn: DFF<Bits<2>>,
    used: DFF<Bits<32>>,
    // Parked slots (one bit each): command issued, completion in, status
    // address known; and their status address, head, queue, status.
    s_out: DFF<Bits<4>>,
    s_done: DFF<Bits<4>>,
    s_park: DFF<Bits<4>>,
    pa0: DFF<Bits<64>>,
    pa1: DFF<Bits<64>>,
    pa2: DFF<Bits<64>>,
    pa3: DFF<Bits<64>>,
    ph0: DFF<Bits<16>>,
    ph1: DFF<Bits<16>>,
    ph2: DFF<Bits<16>>,
    ph3: DFF<Bits<16>>,
    pq: DFF<Bits<4>>,
    pst0: DFF<Bits<8>>,
    pst1: DFF<Bits<8>>,
    pst2: DFF<Bits<8>>,
    pst3: DFF<Bits<8>>,
    my_oh: DFF<Bits<4>>,
    ctag: DFF<Bits<5>>,
    rsel: DFF<Bits<4>>,
    rback: DFF<Bit>,
    free: Signal<Local, Bits<4>>,
    free_oh: Signal<Local, Bits<4>>,
    free_tag: Signal<Local, Bits<5>>,
    ready_oh: Signal<Local, Bits<4>>,
    rdy_oh: Signal<Local, Bits<4>>,
    cpl_oh: Signal<Local, Bits<4>>,
    set_out: Signal<Local, Bits<4>>,
    set_done: Signal<Local, Bits<4>>,
    set_park: Signal<Local, Bits<4>>,
    clr_slot: Signal<Local, Bits<4>>,
    r_addr: Signal<Local, Bits<64>>,
    r_head: Signal<Local, Bits<16>>,
    r_q: Signal<Local, Bits<QUEUE_BITS>>,
    r_stat: Signal<Local, Bits<8>>,
    typ: Signal<Local, Bits<32>>,
    h1: Signal<Local, Bits<32>>,
    hsector: Signal<Local, Bits<64>>,
    in_len: Signal<Local, Bits<32>>,
    out_len: Signal<Local, Bits<32>>,
    in_bad: Signal<Local, Bit>,
    out_bad: Signal<Local, Bit>,
    id_len: Signal<Local, Bits<32>>,
    to4k: Signal<Local, Bits<32>>,
    c1: Signal<Local, Bits<32>>,
    chunk: Signal<Local, Bits<32>>,
    s1: Signal<Local, Bits<32>>,
    take: Signal<Local, Bits<5>>,
    sto_take: Signal<Local, Bits<5>>,
    chunk_r: Signal<Local, Bits<32>>,
    rd_cnt: Signal<Local, Bits<6>>,
    rd_len_b: Signal<Local, Bits<10>>,
    rd_beats: Signal<Local, Bits<6>>,
    rd_take: Signal<Local, Bits<10>>,
    cpl_cnt: Signal<Local, Bits<6>>,
    cnt_inc: Signal<Local, Bits<48>>,
    cpl_cnt_sh: Signal<Local, Bits<48>>,
    rd_len_b_sh: Signal<Local, Bits<80>>,
    rd_cnt_sh: Signal<Local, Bits<48>>,
    drained: Signal<Local, Bit>,
    issued: Signal<Local, Bit>,
}

impl BlkModel {
    #[hdl_gen]
    fn logic(&mut self) {
        // The DMA requests: from registers (and the gearbox's registered
        // fill) only, so that their Verilog block reads no `ready`.
        self.take.next = 16.into();
        if self.beat_left.q.val() < 16 {
            self.take.next = bit_cast::<5, 13>(self.beat_left.q.val());
        }
        self.rd_valid.next = (self.state.q.val() == BlkState::RPhase)
            && (self.todo.q.val() != 0)
            && (self.inflight.q.val() < 8)
            && (self.cur_len.q.val() != 0);
        self.wr_valid.next = ((self.state.q.val() == BlkState::WBurst)
            && (bit_cast::<13, 6>(self.gb.fill.val()) >= bit_cast::<13, 5>(self.take.val()))
            && (self.take.val() != 0))
            || ((self.state.q.val() == BlkState::Status)
                && (self.cur_len.q.val() != 0)
                && (self.op.q.val() != 2)
                && (self.op.q.val() != 3))
            || (self.state.q.val() == BlkState::RetWr);

        dff_setup!(
            self, clock, state, q, head, rlen, wlen, sector, op, stat, dlen, cur_addr, cur_len,
            todo, skip, hskip, sto_left, sto_busy, slot_wr, slot_rd, inflight, slot_cnt, slot_len,
            di, wa, wl, beat_left, idn, used, s_out, s_done, s_park, pa0, pa1, pa2, pa3, ph0, ph1,
            ph2, ph3, pq, pst0, pst1, pst2, pst3, my_oh, ctag, rsel, rback
        );
        clock!(self, clock, gb);
        // Header fields (virtio_blk_outhdr: type, reserved, sector).
        self.typ.next = self.chain_hdr.val().get_bits::<32>(0);
        self.hsector.next = self.chain_hdr.val().get_bits::<64>(64);
        self.in_len.next = self.chain_wlen.val() - 1;
        self.out_len.next = self.chain_rlen.val() - 16;
        // Header bytes in the first buffer.
        self.h1.next = self.seg_len.val();
        if self.seg_len.val() > 16 {
            self.h1.next = 16.into();
        }
        // A data length that is not whole sectors, or a range past the
        // capacity, fails with IOERR before storage is touched.
        self.in_bad.next = (self.in_len.val().get_bits::<9>(0) != 0)
            || (self.hsector.val() > self.capacity.val())
            || (bit_cast::<64, 32>(self.in_len.val() >> 9)
                > (self.capacity.val() - self.hsector.val()));
        self.out_bad.next = (self.out_len.val().get_bits::<9>(0) != 0)
            || (self.hsector.val() > self.capacity.val())
            || (bit_cast::<64, 32>(self.out_len.val() >> 9)
                > (self.capacity.val() - self.hsector.val()));
        self.id_len.next = self.in_len.val();
        if self.in_len.val() > 20 {
            self.id_len.next = 20.into();
        }
        // Largest piece of the current buffer one DMA request may cover.
        self.to4k.next =
            bits::<32>(4096) - bit_cast::<32, 12>(self.cur_addr.q.val().get_bits::<12>(0));
        self.c1.next = self.cur_len.q.val();
        if self.todo.q.val() < self.cur_len.q.val() {
            self.c1.next = self.todo.q.val();
        }
        self.chunk.next = self.c1.val();
        if self.to4k.val() < self.c1.val() {
            self.chunk.next = self.to4k.val();
        }
        self.s1.next = self.cur_len.q.val();
        if self.skip.q.val() < self.cur_len.q.val() {
            self.s1.next = self.skip.q.val();
        }
        self.sto_take.next = 16.into();
        if self.sto_left.q.val() < 16 {
            self.sto_take.next = bit_cast::<5, 32>(self.sto_left.q.val());
        }
        // OUT reads: at most one reorder slot each.
        self.chunk_r.next = self.chunk.val();
        if self.chunk.val() > 512 {
            self.chunk_r.next = 512.into();
        }
        // The slot being drained: beats arrived, bytes, beats in all.
        self.rd_cnt_sh.next = self.slot_cnt.q.val()
            >> ((bit_cast::<8, 3>(self.slot_rd.q.val()) << 2)
                + (bit_cast::<8, 3>(self.slot_rd.q.val()) << 1));
        self.rd_cnt.next = self.rd_cnt_sh.val().get_bits::<6>(0);
        self.rd_len_b_sh.next = self.slot_len.q.val()
            >> ((bit_cast::<8, 3>(self.slot_rd.q.val()) << 3)
                + (bit_cast::<8, 3>(self.slot_rd.q.val()) << 1));
        self.rd_len_b.next = self.rd_len_b_sh.val().get_bits::<10>(0);
        self.rd_beats.next = bit_cast::<6, 10>((self.rd_len_b.val() + 15) >> 4);
        self.rd_take.next = self.rd_len_b.val() - (bit_cast::<10, 6>(self.di.q.val()) << 4);
        // Beats already in the slot a completion is for.
        self.cpl_cnt_sh.next = self.slot_cnt.q.val()
            >> ((bit_cast::<8, 3>(self.cpl_sub.val()) << 2)
                + (bit_cast::<8, 3>(self.cpl_sub.val()) << 1));
        self.cpl_cnt.next = self.cpl_cnt_sh.val().get_bits::<6>(0);
        self.cnt_inc.next = self.slot_cnt.q.val();
        self.drained.next = false;
        self.issued.next = false;
        self.rob.write_clock.next = self.clock.val();
        self.rob.write_address.next =
            (bit_cast::<8, 3>(self.cpl_sub.val()) << 5) + bit_cast::<8, 6>(self.cpl_cnt.val());
        self.rob.write_data.next = self.cpl_data.val();
        self.rob.write_enable.next = false;
        self.rob.read_address.next =
            (bit_cast::<8, 3>(self.slot_rd.q.val()) << 5) + bit_cast::<8, 6>(self.di.q.val());

        // Parked slots: the lowest free one, the lowest ready to retire
        // (completion in and status address known), the one a completion names.
        self.free.next = !(self.s_out.q.val() | self.s_done.q.val() | self.s_park.q.val());
        self.free_oh.next = self.free.val() & ((!self.free.val()) + 1);
        self.free_tag.next = 1.into();
        if self.free_oh.val().get_bit(1) {
            self.free_tag.next = 2.into();
        }
        if self.free_oh.val().get_bit(2) {
            self.free_tag.next = 3.into();
        }
        if self.free_oh.val().get_bit(3) {
            self.free_tag.next = 4.into();
        }
        self.ready_oh.next = self.s_done.q.val() & self.s_park.q.val();
        self.rdy_oh.next = self.ready_oh.val() & ((!self.ready_oh.val()) + 1);
        self.cpl_oh.next = 0.into();
        if self.scpl_tag.val() == 1 {
            self.cpl_oh.next = 1.into();
        }
        if self.scpl_tag.val() == 2 {
            self.cpl_oh.next = 2.into();
        }
        if self.scpl_tag.val() == 3 {
            self.cpl_oh.next = 4.into();
        }
        if self.scpl_tag.val() == 4 {
            self.cpl_oh.next = 8.into();
        }
        self.set_out.next = 0.into();
        self.set_done.next = 0.into();
        self.set_park.next = 0.into();
        self.clr_slot.next = 0.into();
        // The slot being retired.
        self.r_addr.next = self.pa0.q.val();
        self.r_head.next = self.ph0.q.val();
        self.r_q.next = self.pq.q.val().get_bits::<1>(0);
        self.r_stat.next = self.pst0.q.val();
        if self.rsel.q.val().get_bit(1) {
            self.r_addr.next = self.pa1.q.val();
            self.r_head.next = self.ph1.q.val();
            self.r_q.next = self.pq.q.val().get_bits::<1>(1);
            self.r_stat.next = self.pst1.q.val();
        }
        if self.rsel.q.val().get_bit(2) {
            self.r_addr.next = self.pa2.q.val();
            self.r_head.next = self.ph2.q.val();
            self.r_q.next = self.pq.q.val().get_bits::<1>(2);
            self.r_stat.next = self.pst2.q.val();
        }
        if self.rsel.q.val().get_bit(3) {
            self.r_addr.next = self.pa3.q.val();
            self.r_head.next = self.ph3.q.val();
            self.r_q.next = self.pq.q.val().get_bits::<1>(3);
            self.r_stat.next = self.pst3.q.val();
        }

        // Busy: a request in progress, a storage command outstanding, or a
        // parked request to retire (dropped once halted).
        self.busy.next = ((self.state.q.val() != BlkState::Idle)
            && (self.state.q.val() != BlkState::Halted))
            || self.sto_busy.q.val()
            || self.s_out.q.val().any()
            || ((self.state.q.val() != BlkState::Halted)
                && (self.s_done.q.val() | self.s_park.q.val()).any());
        self.cur_queue.next = self.q.q.val();
        self.storage_busy.next = self.sto_busy.q.val() || self.s_out.q.val().any();
        self.chain_pop.next = false;
        self.seg_pop.next = false;
        self.done_push.next = false;
        self.done_queue.next = self.q.q.val();
        self.done_head.next = self.head.q.val();
        self.done_len.next = self.used.q.val();
        self.rd_addr.next = self.cur_addr.q.val();
        self.rd_len.next = bit_cast::<13, 32>(self.chunk_r.val());
        self.rd_sub.next = self.slot_wr.q.val();
        self.cpl_ready.next = false;
        self.wr_addr.next = self.wa.q.val();
        self.wr_len.next = self.wl.q.val();
        self.wr_data.next = self.gb.out_data.val();
        self.wr_last.next = self.beat_left.q.val() <= 16;
        self.cmd_valid.next = false;
        self.cmd_tag.next = 0.into();
        self.cmd_op.next = 0.into();
        self.cmd_sector.next = self.sector.q.val();
        self.cmd_len.next = self.dlen.q.val();
        self.wdata_valid.next = false;
        self.wdata_tag.next = self.ctag.q.val();
        self.wdata_data.next = self.gb.out_data.val();
        self.wdata_last.next = self.sto_left.q.val() <= 16;
        self.rdata_ready.next = false;
        self.scpl_ready.next = false;
        self.cnt_read.next = 0.into();
        self.cnt_written.next = 0.into();
        self.gb.clear.next = false;
        self.gb.in_valid.next = false;
        self.gb.in_data.next = self.rdata_data.val();
        self.gb.in_bytes.next = 16.into();
        self.gb.out_pop.next = false;
        self.gb.out_take.next = self.take.val();

        match self.state.q.val() {
            BlkState::Idle => {
                if self.ready_oh.val().any() {
                    // A parked request's completion is in: finish it first.
                    self.rsel.d.next = self.rdy_oh.val();
                    self.rback.d.next = false;
                    self.state.d.next = BlkState::RetWr;
                } else if self.chain_valid.val() && self.seg_valid.val() {
                    self.chain_pop.next = true;
                    self.q.d.next = self.chain_queue.val();
                    self.head.d.next = self.chain_head.val();
                    self.rlen.d.next = self.chain_rlen.val();
                    self.wlen.d.next = self.chain_wlen.val();
                    self.sector.d.next = self.hsector.val();
                    self.stat.d.next = 0.into();
                    self.used.d.next = 1.into();
                    self.dlen.d.next = 0.into();
                    self.sto_left.d.next = 0.into();
                    self.idn.d.next = 0.into();
                    self.gb.clear.next = true;
                    // The first buffer starts the header; the walker checked
                    // that the first two hold all 16 bytes.
                    self.seg_pop.next = true;
                    self.cur_addr.d.next = self.seg_addr.val() + bit_cast::<64, 32>(self.h1.val());
                    self.cur_len.d.next = self.seg_len.val() - self.h1.val();
                    self.hskip.d.next = bit_cast::<5, 32>(bits::<32>(16) - self.h1.val());
                    // Readable bytes past the header: OUT data, else skipped.
                    self.todo.d.next = 0.into();
                    self.skip.d.next = self.out_len.val();
                    self.op.d.next = 0.into();
                    if self.typ.val() == 0 {
                        if self.in_bad.val() {
                            self.stat.d.next = 1.into();
                        } else if self.in_len.val() != 0 {
                            self.op.d.next = 1.into();
                            self.dlen.d.next = self.in_len.val();
                            self.used.d.next = self.chain_wlen.val();
                        }
                    } else if self.typ.val() == 1 {
                        if self.out_bad.val() {
                            self.stat.d.next = 1.into();
                        } else if self.out_len.val() != 0 {
                            self.op.d.next = 2.into();
                            self.dlen.d.next = self.out_len.val();
                            self.sto_left.d.next = self.out_len.val();
                            self.todo.d.next = self.out_len.val();
                            self.skip.d.next = 0.into();
                        }
                    } else if self.typ.val() == 4 {
                        self.op.d.next = 3.into();
                    } else if self.typ.val() == 8 {
                        self.op.d.next = 4.into();
                        self.used.d.next = self.id_len.val() + 1;
                    } else {
                        self.stat.d.next = 2.into();
                    }
                    self.state.d.next = BlkState::Decode;
                }
            }
            BlkState::Decode => {
                if self.hskip.q.val() != 0 {
                    // The rest of the header is at the start of the second buffer.
                    self.seg_pop.next = true;
                    self.cur_addr.d.next =
                        self.seg_addr.val() + bit_cast::<64, 5>(self.hskip.q.val());
                    self.cur_len.d.next =
                        self.seg_len.val() - bit_cast::<32, 5>(self.hskip.q.val());
                    self.hskip.d.next = 0.into();
                } else if (self.op.q.val() == 1) || (self.op.q.val() == 2) || (self.op.q.val() == 3)
                {
                    self.state.d.next = BlkState::Cmd;
                } else {
                    self.state.d.next = BlkState::RPhase;
                }
            }
            BlkState::Cmd => {
                if self.op.q.val() == 1 {
                    // IN: tag 0, completed in place.
                    self.cmd_valid.next = true;
                    self.cmd_op.next = 0.into();
                    if self.cmd_ready.val() {
                        self.ctag.d.next = 0.into();
                        self.state.d.next = BlkState::RPhase;
                    }
                } else if self.free.val().any() {
                    // OUT / FLUSH: the tag of a free slot, parked later.
                    self.cmd_valid.next = true;
                    self.cmd_tag.next = self.free_tag.val();
                    if self.op.q.val() == 2 {
                        self.cmd_op.next = 1.into();
                    } else {
                        self.cmd_op.next = 2.into();
                        self.cmd_sector.next = 0.into();
                        self.cmd_len.next = 0.into();
                    }
                    if self.cmd_ready.val() {
                        self.set_out.next = self.free_oh.val();
                        self.my_oh.d.next = self.free_oh.val();
                        self.ctag.d.next = self.free_tag.val();
                        self.state.d.next = BlkState::RPhase;
                    }
                } else if self.ready_oh.val().any() {
                    // Every slot taken: retire one whose completion is in,
                    // then come back for this request's command.
                    self.rsel.d.next = self.rdy_oh.val();
                    self.rback.d.next = true;
                    self.state.d.next = BlkState::RetWr;
                }
            }
            BlkState::RPhase => {
                // OUT: host buffers -> reorder slots -> gearbox -> storage.
                if (self.todo.q.val() != 0) && (self.inflight.q.val() < 8) {
                    if self.cur_len.q.val() == 0 {
                        self.seg_pop.next = true;
                        self.cur_addr.d.next = self.seg_addr.val();
                        self.cur_len.d.next = self.seg_len.val();
                    } else {
                        if self.rd_ready.val() {
                            self.issued.next = true;
                            self.cnt_read.next = bit_cast::<13, 32>(self.chunk_r.val());
                            self.slot_len.d.next = (self.slot_len.q.val()
                                & !(bits::<80>(0x3ff)
                                    << ((bit_cast::<8, 3>(self.slot_wr.q.val()) << 3)
                                        + (bit_cast::<8, 3>(self.slot_wr.q.val()) << 1))))
                                | (bit_cast::<80, 32>(self.chunk_r.val())
                                    << ((bit_cast::<8, 3>(self.slot_wr.q.val()) << 3)
                                        + (bit_cast::<8, 3>(self.slot_wr.q.val()) << 1)));
                            self.slot_wr.d.next = self.slot_wr.q.val() + 1;
                            self.cur_addr.d.next =
                                self.cur_addr.q.val() + bit_cast::<64, 32>(self.chunk_r.val());
                            self.cur_len.d.next = self.cur_len.q.val() - self.chunk_r.val();
                            self.todo.d.next = self.todo.q.val() - self.chunk_r.val();
                        }
                    }
                } else if (self.todo.q.val() == 0) && (self.skip.q.val() != 0) {
                    if self.cur_len.q.val() == 0 {
                        self.seg_pop.next = true;
                        self.cur_addr.d.next = self.seg_addr.val();
                        self.cur_len.d.next = self.seg_len.val();
                    } else {
                        self.cur_addr.d.next =
                            self.cur_addr.q.val() + bit_cast::<64, 32>(self.s1.val());
                        self.cur_len.d.next = self.cur_len.q.val() - self.s1.val();
                        self.skip.d.next = self.skip.q.val() - self.s1.val();
                    }
                }
                // Completions land in their slot, whatever the order.
                self.cpl_ready.next = true;
                if self.cpl_valid.val() {
                    self.rob.write_enable.next = true;
                    self.cnt_inc.next = self.slot_cnt.q.val()
                        + (bits::<48>(1)
                            << ((bit_cast::<8, 3>(self.cpl_sub.val()) << 2)
                                + (bit_cast::<8, 3>(self.cpl_sub.val()) << 1)));
                }
                // The oldest slot drains into the gearbox as its beats arrive.
                if (self.inflight.q.val() != 0) && (self.di.q.val() < self.rd_cnt.val()) {
                    self.gb.in_valid.next = true;
                    self.gb.in_data.next = self.rob.read_data.val();
                    self.gb.in_bytes.next = 16.into();
                    if self.rd_take.val() < 16 {
                        self.gb.in_bytes.next = bit_cast::<5, 10>(self.rd_take.val());
                    }
                    if self.gb.in_ready.val() {
                        self.di.d.next = self.di.q.val() + 1;
                        if (self.di.q.val() + 1) == self.rd_beats.val() {
                            self.drained.next = true;
                            self.di.d.next = 0.into();
                            self.slot_rd.d.next = self.slot_rd.q.val() + 1;
                        }
                    }
                }
                self.slot_cnt.d.next = self.cnt_inc.val();
                if self.drained.val() {
                    self.slot_cnt.d.next = self.cnt_inc.val()
                        & !(bits::<48>(0x3f)
                            << ((bit_cast::<8, 3>(self.slot_rd.q.val()) << 2)
                                + (bit_cast::<8, 3>(self.slot_rd.q.val()) << 1)));
                }
                if self.issued.val() && !self.drained.val() {
                    self.inflight.d.next = self.inflight.q.val() + 1;
                } else if !self.issued.val() && self.drained.val() {
                    self.inflight.d.next = self.inflight.q.val() - 1;
                }
                if (self.sto_left.q.val() != 0)
                    && (bit_cast::<32, 6>(self.gb.fill.val())
                        >= bit_cast::<32, 5>(self.sto_take.val()))
                {
                    self.wdata_valid.next = true;
                    if self.wdata_ready.val() {
                        self.gb.out_pop.next = true;
                        self.gb.out_take.next = self.sto_take.val();
                        self.sto_left.d.next =
                            self.sto_left.q.val() - bit_cast::<32, 5>(self.sto_take.val());
                    }
                }
                if (self.todo.q.val() == 0)
                    && (self.skip.q.val() == 0)
                    && (self.inflight.q.val() == 0)
                    && (self.sto_left.q.val() == 0)
                {
                    // Writable bytes before the status byte.
                    self.gb.clear.next = true;
                    self.todo.d.next = 0.into();
                    self.skip.d.next = self.wlen.q.val() - 1;
                    if self.op.q.val() == 1 {
                        self.todo.d.next = self.wlen.q.val() - 1;
                        self.skip.d.next = 0.into();
                    }
                    if self.op.q.val() == 4 {
                        self.todo.d.next = self.used.q.val() - 1;
                        self.skip.d.next = self.wlen.q.val() - self.used.q.val();
                    }
                    self.state.d.next = BlkState::WPhase;
                }
            }
            BlkState::WPhase => {
                if self.todo.q.val() != 0 {
                    if self.cur_len.q.val() == 0 {
                        self.seg_pop.next = true;
                        self.cur_addr.d.next = self.seg_addr.val();
                        self.cur_len.d.next = self.seg_len.val();
                    } else {
                        // Start a write of the next piece of the buffer.
                        self.wa.d.next = self.cur_addr.q.val();
                        self.wl.d.next = bit_cast::<13, 32>(self.chunk.val());
                        self.beat_left.d.next = bit_cast::<13, 32>(self.chunk.val());
                        self.cur_addr.d.next =
                            self.cur_addr.q.val() + bit_cast::<64, 32>(self.chunk.val());
                        self.cur_len.d.next = self.cur_len.q.val() - self.chunk.val();
                        self.todo.d.next = self.todo.q.val() - self.chunk.val();
                        self.state.d.next = BlkState::WBurst;
                    }
                } else if self.skip.q.val() != 0 {
                    if self.cur_len.q.val() == 0 {
                        self.seg_pop.next = true;
                        self.cur_addr.d.next = self.seg_addr.val();
                        self.cur_len.d.next = self.seg_len.val();
                    } else {
                        self.cur_addr.d.next =
                            self.cur_addr.q.val() + bit_cast::<64, 32>(self.s1.val());
                        self.cur_len.d.next = self.cur_len.q.val() - self.s1.val();
                        self.skip.d.next = self.skip.q.val() - self.s1.val();
                    }
                } else {
                    self.state.d.next = BlkState::Cpl;
                }
            }
            BlkState::WBurst => {
                if (bit_cast::<13, 6>(self.gb.fill.val()) >= bit_cast::<13, 5>(self.take.val()))
                    && (self.take.val() != 0)
                    && self.wr_ready.val()
                {
                    if self.beat_left.q.val() == self.wl.q.val() {
                        self.cnt_written.next = self.wl.q.val();
                    }
                    self.gb.out_pop.next = true;
                    self.beat_left.d.next =
                        self.beat_left.q.val() - bit_cast::<13, 5>(self.take.val());
                    if self.beat_left.q.val() <= 16 {
                        self.state.d.next = BlkState::WPhase;
                    }
                }
            }
            BlkState::Cpl => {
                if self.sto_busy.q.val() {
                    self.scpl_ready.next = true;
                    if self.scpl_valid.val() && (self.scpl_tag.val() == 0) {
                        self.stat.d.next = self.scpl_status.val();
                        self.state.d.next = BlkState::Status;
                    }
                } else {
                    self.state.d.next = BlkState::Status;
                }
            }
            BlkState::Status => {
                if self.cur_len.q.val() == 0 {
                    self.seg_pop.next = true;
                    self.cur_addr.d.next = self.seg_addr.val();
                    self.cur_len.d.next = self.seg_len.val();
                } else if (self.op.q.val() == 2) || (self.op.q.val() == 3) {
                    // Park: the status byte waits for the storage completion.
                    self.set_park.next = self.my_oh.q.val();
                    if self.my_oh.q.val().get_bit(0) {
                        self.pa0.d.next = self.cur_addr.q.val();
                        self.ph0.d.next = self.head.q.val();
                    }
                    if self.my_oh.q.val().get_bit(1) {
                        self.pa1.d.next = self.cur_addr.q.val();
                        self.ph1.d.next = self.head.q.val();
                    }
                    if self.my_oh.q.val().get_bit(2) {
                        self.pa2.d.next = self.cur_addr.q.val();
                        self.ph2.d.next = self.head.q.val();
                    }
                    if self.my_oh.q.val().get_bit(3) {
                        self.pa3.d.next = self.cur_addr.q.val();
                        self.ph3.d.next = self.head.q.val();
                    }
                    self.pq.d.next = (self.pq.q.val() & !self.my_oh.q.val())
                        | (self.my_oh.q.val() & (bits::<4>(0) - bit_cast::<4, 1>(self.q.q.val())));
                    self.cur_len.d.next = 0.into();
                    self.state.d.next = BlkState::Idle;
                } else {
                    // The status byte is the last writable byte, after the data.
                    self.wr_addr.next = self.cur_addr.q.val();
                    self.wr_len.next = 1.into();
                    self.wr_data.next = bit_cast::<128, 8>(self.stat.q.val());
                    self.wr_last.next = true;
                    if self.wr_ready.val() {
                        self.cnt_written.next = 1.into();
                        self.cur_len.d.next = 0.into();
                        self.state.d.next = BlkState::Done;
                    }
                }
            }
            BlkState::Done => {
                if self.done_room.val() != 0 {
                    self.done_push.next = true;
                    self.state.d.next = BlkState::Idle;
                }
            }
            BlkState::RetWr => {
                // A parked request: its status byte, then its used element.
                self.wr_addr.next = self.r_addr.val();
                self.wr_len.next = 1.into();
                self.wr_data.next = bit_cast::<128, 8>(self.r_stat.val());
                self.wr_last.next = true;
                if self.wr_ready.val() {
                    self.cnt_written.next = 1.into();
                    self.state.d.next = BlkState::RetDone;
                }
            }
            BlkState::RetDone => {
                if self.done_room.val() != 0 {
                    self.done_push.next = true;
                    self.done_queue.next = self.r_q.val();
                    self.done_head.next = self.r_head.val();
                    self.done_len.next = 1.into();
                    self.clr_slot.next = self.rsel.q.val();
                    self.state.d.next = BlkState::Idle;
                    if self.rback.q.val() {
                        self.state.d.next = BlkState::Cmd;
                    }
                }
            }
            _ => {}
        }
        // IN data: storage -> gearbox (drained by the writes above).
        if (self.op.q.val() == 1)
            && ((self.state.q.val() == BlkState::WPhase)
                || (self.state.q.val() == BlkState::WBurst))
        {
            self.gb.in_valid.next = self.rdata_valid.val();
            self.rdata_ready.next = self.gb.in_ready.val();
        }
        // GET_ID: the id string as two beats (16 + 4 bytes).
        if (self.op.q.val() == 4)
            && ((self.state.q.val() == BlkState::WPhase)
                || (self.state.q.val() == BlkState::WBurst))
            && (self.idn.q.val() < 2)
        {
            self.gb.in_valid.next = true;
            if self.idn.q.val() == 0 {
                self.gb.in_data.next = bit_cast::<128, 64>(bits::<64>(0x6c62_2d61_6770_6676_u64))
                    | (bit_cast::<128, 64>(bits::<64>(0x6b)) << 64);
            } else {
                self.gb.in_data.next = 0.into();
                self.gb.in_bytes.next = 4.into();
            }
            if self.gb.in_ready.val() {
                self.idn.d.next = self.idn.q.val() + 1;
            }
        }
        if self.halt.val() {
            self.state.d.next = BlkState::Halted;
        }
        if self.state.q.val() == BlkState::Halted {
            // Stopped by a fault: finish the storage command in flight
            // (zero data for a write) and drop what storage returns.
            self.wdata_valid.next = self.sto_left.q.val() != 0;
            self.wdata_data.next = 0.into();
            self.wdata_last.next = self.sto_left.q.val() <= 16;
            if self.wdata_ready.val() && (self.sto_left.q.val() != 0) {
                self.sto_left.d.next =
                    self.sto_left.q.val() - bit_cast::<32, 5>(self.sto_take.val());
            }
            self.rdata_ready.next = true;
            self.scpl_ready.next = true;
        }
        // Storage command outstanding until its completion. (After every
        // assignment of the ready/valid outputs: reads of an output see the
        // value assigned so far, as in the emitted Verilog.)
        if self.cmd_valid.val() && self.cmd_ready.val() && (self.cmd_tag.val() == 0) {
            self.sto_busy.d.next = true;
        }
        if self.scpl_valid.val() && self.scpl_ready.val() && (self.scpl_tag.val() == 0) {
            self.sto_busy.d.next = false;
        }
        // Completions of parked slots are always taken, in any order.
        if self.scpl_tag.val() != 0 {
            self.scpl_ready.next = true;
            if self.scpl_valid.val() {
                self.set_done.next = self.cpl_oh.val();
                if self.cpl_oh.val().get_bit(0) {
                    self.pst0.d.next = self.scpl_status.val();
                }
                if self.cpl_oh.val().get_bit(1) {
                    self.pst1.d.next = self.scpl_status.val();
                }
                if self.cpl_oh.val().get_bit(2) {
                    self.pst2.d.next = self.scpl_status.val();
                }
                if self.cpl_oh.val().get_bit(3) {
                    self.pst3.d.next = self.scpl_status.val();
                }
            }
        }
        if self.state.q.val() == BlkState::Halted {
            // Stopped by a fault: nothing more is written; a slot is freed
            // once its completion is in.
            self.clr_slot.next = self.s_done.q.val();
        }
        self.s_out.d.next = (self.s_out.q.val() | self.set_out.val()) & !self.set_done.val();
        self.s_done.d.next = (self.s_done.q.val() | self.set_done.val()) & !self.clr_slot.val();
        self.s_park.d.next = (self.s_park.q.val() | self.set_park.val()) & !self.clr_slot.val();
        if self.reset.val() {
            self.state.d.next = BlkState::Idle;
            self.sto_busy.d.next = false;
            self.s_out.d.next = 0.into();
            self.s_done.d.next = 0.into();
            self.s_park.d.next = 0.into();
            self.sto_left.d.next = 0.into();
            self.inflight.d.next = 0.into();
            self.slot_cnt.d.next = 0.into();
            self.slot_rd.d.next = 0.into();
            self.slot_wr.d.next = 0.into();
            self.di.d.next = 0.into();
            self.gb.clear.next = true;
        }
    }
}

impl Logic for BlkModel {
    fn update(&mut self) {
        self.logic();
    }

    fn connect(&mut self) {
        BlkModel::connect(self);
    }

    /// rust-hdl's Verilog of `logic`: not emitted (the model is a hidden
    /// field of [`BlkRequest`]), kept so that `#[hdl_gen]` still checks
    /// that `logic` is synthesizable.
    fn hdl(&self) -> Verilog {
        BlkModel::hdl(self)
    }
}

// Forwarding between `BlkRequest`'s ports and its model's.
macro_rules! port_in {
    (In, $s:ident, $n:ident) => {
        $s._model.$n.next = $s.$n.val();
    };
    (Out, $s:ident, $n:ident) => {};
}
macro_rules! port_out {
    (In, $s:ident, $n:ident) => {};
    (Out, $s:ident, $n:ident) => {
        $s.$n.next = $s._model.$n.val();
    };
}
macro_rules! port_connect {
    (In, $s:ident, $n:ident) => {};
    (Out, $s:ident, $n:ident) => {
        $s.$n.connect();
    };
}

macro_rules! blk_request {
    ($($(#[$doc:meta])* $name:ident: $dir:ident $ty:ty,)*) => {
        /// virtio-blk request processor.
        ///
        /// Its Verilog is written by hand ([`super::rtl`]): registers in
        /// enable style, so that a streaming cycle evaluates only what a
        /// beat needs. `update` runs the rust-hdl model of the same logic
        /// (`BlkModel`); `tests/blk_request_verilog.rs` compares the two
        /// cycle by cycle in Icarus Verilog.
        #[derive(LogicBlock, Default, Debug)]
        pub struct BlkRequest {
            $($(#[$doc])* pub $name: Signal<$dir, $ty>,)*
            _model: BlkModel,
        }

        impl BlkRequest {
            /// Inputs into the model, the model settled, its outputs out.
            fn step_model(&mut self) {
                $(port_in!($dir, self, $name);)*
                assert!(
                    simulate(&mut self._model, 100),
                    "the blk request model did not settle"
                );
                $(port_out!($dir, self, $name);)*
            }

            fn connect_outputs(&mut self) {
                $(port_connect!($dir, self, $name);)*
            }
        }
    };
}

blk_request! {
    /// Clock.
    clock: In Clock,
    /// engine_reset.
    reset: In Bit,
    /// The device is stopped by a fault.
    halt: In Bit,
    /// Capacity in sectors.
    capacity: In Bits<64>,
    /// A walked chain is waiting.
    chain_valid: In Bit,
    /// Take it.
    chain_pop: Out Bit,
    /// Its queue.
    chain_queue: In Bits<QUEUE_BITS>,
    /// Its head.
    chain_head: In Bits<16>,
    /// Readable bytes.
    chain_rlen: In Bits<32>,
    /// Writable bytes.
    chain_wlen: In Bits<32>,
    /// Request header.
    chain_hdr: In Bits<128>,
    /// A segment is waiting.
    seg_valid: In Bit,
    /// Take it.
    seg_pop: Out Bit,
    /// Segment address.
    seg_addr: In Bits<64>,
    /// Segment length.
    seg_len: In Bits<32>,
    /// Completed chain: push.
    done_push: Out Bit,
    /// Room in the completion FIFO.
    done_room: In Bits<8>,
    /// Completed chain's queue.
    done_queue: Out Bits<QUEUE_BITS>,
    /// Completed chain's head.
    done_head: Out Bits<16>,
    /// Bytes written into the chain's writable buffers.
    done_len: Out Bits<32>,
    /// DMA read request valid.
    rd_valid: Out Bit,
    /// DMA read request ready.
    rd_ready: In Bit,
    /// DMA read address.
    rd_addr: Out Bits<64>,
    /// DMA read length.
    rd_len: Out Bits<13>,
    /// DMA read tag within this client's range (the reorder slot).
    rd_sub: Out Bits<3>,
    /// Completion's tag within this client's range.
    cpl_sub: In Bits<3>,
    /// Completion valid.
    cpl_valid: In Bit,
    /// Completion ready.
    cpl_ready: Out Bit,
    /// Completion data.
    cpl_data: In Bits<128>,
    /// DMA write valid.
    wr_valid: Out Bit,
    /// DMA write ready.
    wr_ready: In Bit,
    /// DMA write address.
    wr_addr: Out Bits<64>,
    /// DMA write length.
    wr_len: Out Bits<13>,
    /// DMA write data.
    wr_data: Out Bits<128>,
    /// DMA write last beat.
    wr_last: Out Bit,
    /// Storage command valid.
    cmd_valid: Out Bit,
    /// Storage command ready.
    cmd_ready: In Bit,
    /// Storage command tag.
    cmd_tag: Out Bits<5>,
    /// Storage operation (BlkOp).
    cmd_op: Out Bits<2>,
    /// First sector.
    cmd_sector: Out Bits<64>,
    /// Length in bytes.
    cmd_len: Out Bits<32>,
    /// Storage write data valid.
    wdata_valid: Out Bit,
    /// Storage write data ready.
    wdata_ready: In Bit,
    /// Storage write data tag.
    wdata_tag: Out Bits<5>,
    /// Storage write data.
    wdata_data: Out Bits<128>,
    /// Storage write data last beat.
    wdata_last: Out Bit,
    /// Storage read data valid.
    rdata_valid: In Bit,
    /// Storage read data ready.
    rdata_ready: Out Bit,
    /// Storage read data.
    rdata_data: In Bits<128>,
    /// Storage completion valid.
    scpl_valid: In Bit,
    /// Storage completion ready.
    scpl_ready: Out Bit,
    /// Storage completion status.
    scpl_status: In Bits<8>,
    /// Storage completion tag (0: the request in progress; 1..=PARKED: a
    /// parked slot).
    scpl_tag: In Bits<5>,
    /// Working on a request or waiting for storage.
    busy: Out Bit,
    /// A storage command is outstanding.
    storage_busy: Out Bit,
    /// Queue of the request.
    cur_queue: Out Bits<QUEUE_BITS>,
    /// Data bytes requested from host memory this cycle.
    cnt_read: Out Bits<13>,
    /// Bytes written to host memory this cycle (first beat of a write).
    cnt_written: Out Bits<13>,
}

impl Logic for BlkRequest {
    fn update(&mut self) {
        self.step_model();
    }

    fn connect(&mut self) {
        self.connect_outputs();
        self._model.connect_all();
    }

    /// The hand-written Verilog (see [`super::rtl`]).
    fn hdl(&self) -> Verilog {
        Verilog::Custom(super::rtl::verilog())
    }
}
