//! The tagged DMA master shared by the engine's internal clients.
//!
//! Read side: four clients, each with its own tag range (`tag = client * 8 +
//! sub`, so completions are routed by the tag alone and no tag table is
//! needed); the request arbiter is round-robin and combinational (a request
//! is a single beat). Completions may interleave across tags; each beat goes
//! to the client its tag names. Write side: three clients share the posted
//! write channel, round-robin, locked to one client from a write's first beat
//! to its last, so the order in which a client's writes are accepted is the
//! order on the bus (the used ring relies on it). Write responses are counted
//! so `busy` stays high until every write has drained.
//!
//! `enable` low (driver cleared bus mastering / ENGINE_CTRL, or a fault
//! stopped the device) blocks every new request; a write whose first beat was
//! already accepted is finished, completions still in flight are accepted and,
//! while `halt` is high, dropped.

// rust-hdl's #[hdl_gen] has no match guards: nested ifs stay nested.
#![allow(clippy::collapsible_match)]

use rust_hdl::prelude::*;

/// Read clients the master serves.
pub const READ_CLIENTS: usize = 4;
/// Tags each read client may use (`sub` is 3 bits).
pub const TAGS_PER_CLIENT: usize = 8;
/// Width of a transfer length (0..=4096).
pub const LEN_BITS: usize = vfpga_abi::ports::DMA_LEN_BITS as usize;
/// Width of a tag.
pub const TAG_BITS: usize = vfpga_abi::ports::DMA_TAG_BITS as usize;
/// Default data width.
pub const DATA_BITS: usize = vfpga_abi::ports::DMA_DATA_BITS as usize;

/// Tagged DMA master with `DW`-bit data beats.
#[derive(LogicBlock, Default, Debug)]
pub struct DmaMaster<const DW: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset of the counters (engine_reset).
    pub reset: Signal<In, Bit>,
    /// New requests allowed.
    pub enable: Signal<In, Bit>,
    /// Device stopped by a fault: drop completions.
    pub halt: Signal<In, Bit>,

    /// Client 0 read request valid.
    pub r0_req_valid: Signal<In, Bit>,
    /// Client 0 read request ready.
    pub r0_req_ready: Signal<Out, Bit>,
    /// Client 0 read address.
    pub r0_req_addr: Signal<In, Bits<64>>,
    /// Client 0 read length in bytes.
    pub r0_req_len: Signal<In, Bits<LEN_BITS>>,
    /// Client 0 tag within its range.
    pub r0_req_sub: Signal<In, Bits<3>>,
    /// Client 0 completion valid.
    pub r0_cpl_valid: Signal<Out, Bit>,
    /// Client 0 completion ready.
    pub r0_cpl_ready: Signal<In, Bit>,
    /// Client 1 read request valid.
    pub r1_req_valid: Signal<In, Bit>,
    /// Client 1 read request ready.
    pub r1_req_ready: Signal<Out, Bit>,
    /// Client 1 read address.
    pub r1_req_addr: Signal<In, Bits<64>>,
    /// Client 1 read length in bytes.
    pub r1_req_len: Signal<In, Bits<LEN_BITS>>,
    /// Client 1 tag within its range.
    pub r1_req_sub: Signal<In, Bits<3>>,
    /// Client 1 completion valid.
    pub r1_cpl_valid: Signal<Out, Bit>,
    /// Client 1 completion ready.
    pub r1_cpl_ready: Signal<In, Bit>,
    /// Client 2 read request valid.
    pub r2_req_valid: Signal<In, Bit>,
    /// Client 2 read request ready.
    pub r2_req_ready: Signal<Out, Bit>,
    /// Client 2 read address.
    pub r2_req_addr: Signal<In, Bits<64>>,
    /// Client 2 read length in bytes.
    pub r2_req_len: Signal<In, Bits<LEN_BITS>>,
    /// Client 2 tag within its range.
    pub r2_req_sub: Signal<In, Bits<3>>,
    /// Client 2 completion valid.
    pub r2_cpl_valid: Signal<Out, Bit>,
    /// Client 2 completion ready.
    pub r2_cpl_ready: Signal<In, Bit>,
    /// Client 3 read request valid.
    pub r3_req_valid: Signal<In, Bit>,
    /// Client 3 read request ready.
    pub r3_req_ready: Signal<Out, Bit>,
    /// Client 3 read address.
    pub r3_req_addr: Signal<In, Bits<64>>,
    /// Client 3 read length in bytes.
    pub r3_req_len: Signal<In, Bits<LEN_BITS>>,
    /// Client 3 tag within its range.
    pub r3_req_sub: Signal<In, Bits<3>>,
    /// Client 3 completion valid.
    pub r3_cpl_valid: Signal<Out, Bit>,
    /// Client 3 completion ready.
    pub r3_cpl_ready: Signal<In, Bit>,
    /// Completion fields, shared by every client (qualified by `rN_cpl_valid`).
    pub cpl_data: Signal<Out, Bits<DW>>,
    /// Completion: last beat of its request.
    pub cpl_last: Signal<Out, Bit>,
    /// Completion: the request failed.
    pub cpl_error: Signal<Out, Bit>,
    /// Completion: tag within the client's range.
    pub cpl_sub: Signal<Out, Bits<3>>,

    /// Write client 0 valid.
    pub w0_valid: Signal<In, Bit>,
    /// Write client 0 ready.
    pub w0_ready: Signal<Out, Bit>,
    /// Write client 0 address.
    pub w0_addr: Signal<In, Bits<64>>,
    /// Write client 0 length.
    pub w0_len: Signal<In, Bits<LEN_BITS>>,
    /// Write client 0 data.
    pub w0_data: Signal<In, Bits<DW>>,
    /// Write client 0 last beat.
    pub w0_last: Signal<In, Bit>,
    /// Write client 1 valid.
    pub w1_valid: Signal<In, Bit>,
    /// Write client 1 ready.
    pub w1_ready: Signal<Out, Bit>,
    /// Write client 1 address.
    pub w1_addr: Signal<In, Bits<64>>,
    /// Write client 1 length.
    pub w1_len: Signal<In, Bits<LEN_BITS>>,
    /// Write client 1 data.
    pub w1_data: Signal<In, Bits<DW>>,
    /// Write client 1 last beat.
    pub w1_last: Signal<In, Bit>,
    /// Write client 2 valid.
    pub w2_valid: Signal<In, Bit>,
    /// Write client 2 ready.
    pub w2_ready: Signal<Out, Bit>,
    /// Write client 2 address.
    pub w2_addr: Signal<In, Bits<64>>,
    /// Write client 2 length.
    pub w2_len: Signal<In, Bits<LEN_BITS>>,
    /// Write client 2 data.
    pub w2_data: Signal<In, Bits<DW>>,
    /// Write client 2 last beat.
    pub w2_last: Signal<In, Bit>,

    /// Read request out: valid.
    pub rd_req_valid: Signal<Out, Bit>,
    /// Read request out: ready.
    pub rd_req_ready: Signal<In, Bit>,
    /// Read request out: tag.
    pub rd_req_tag: Signal<Out, Bits<TAG_BITS>>,
    /// Read request out: address.
    pub rd_req_addr: Signal<Out, Bits<64>>,
    /// Read request out: length.
    pub rd_req_len: Signal<Out, Bits<LEN_BITS>>,
    /// Read completion in: valid.
    pub rd_cpl_valid: Signal<In, Bit>,
    /// Read completion in: ready.
    pub rd_cpl_ready: Signal<Out, Bit>,
    /// Read completion in: tag.
    pub rd_cpl_tag: Signal<In, Bits<TAG_BITS>>,
    /// Read completion in: data.
    pub rd_cpl_data: Signal<In, Bits<DW>>,
    /// Read completion in: last beat.
    pub rd_cpl_last: Signal<In, Bit>,
    /// Read completion in: error.
    pub rd_cpl_error: Signal<In, Bit>,
    /// Posted write out: valid.
    pub wr_valid: Signal<Out, Bit>,
    /// Posted write out: ready.
    pub wr_ready: Signal<In, Bit>,
    /// Posted write out: address.
    pub wr_addr: Signal<Out, Bits<64>>,
    /// Posted write out: length.
    pub wr_len: Signal<Out, Bits<LEN_BITS>>,
    /// Posted write out: data.
    pub wr_data: Signal<Out, Bits<DW>>,
    /// Posted write out: last beat.
    pub wr_last: Signal<Out, Bit>,
    /// Write response in: valid.
    pub wr_rsp_valid: Signal<In, Bit>,
    /// Write response in: ready.
    pub wr_rsp_ready: Signal<Out, Bit>,
    /// Write response in: error.
    pub wr_rsp_error: Signal<In, Bit>,

    /// Reads or writes in flight (or a write half sent).
    pub busy: Signal<Out, Bit>,
    /// Read requests in flight.
    pub reads_outstanding: Signal<Out, Bits<16>>,
    /// Writes not yet acknowledged.
    pub writes_outstanding: Signal<Out, Bits<16>>,
    /// An error completion or error write response arrived this cycle.
    pub fault: Signal<Out, Bit>,
    /// The fault was a write response.
    pub fault_write: Signal<Out, Bit>,
    /// Tag of the failed read.
    pub fault_tag: Signal<Out, Bits<TAG_BITS>>,

    rr: DFF<Bits<2>>,
    wrr: DFF<Bits<2>>,
    wlock: DFF<Bit>,
    wsel: DFF<Bits<2>>,
    nrd: DFF<Bits<16>>,
    nwr: DFF<Bits<16>>,
    gnt: Signal<Local, Bits<2>>,
    any: Signal<Local, Bit>,
    wgnt: Signal<Local, Bits<2>>,
    wany: Signal<Local, Bit>,
    wcur: Signal<Local, Bits<2>>,
    wgo: Signal<Local, Bit>,
    rd_fire: Signal<Local, Bit>,
    cpl_fire: Signal<Local, Bit>,
    wr_first: Signal<Local, Bit>,
}

impl<const DW: usize> Logic for DmaMaster<DW> {
    fn update(&mut self) {
        dff_setup!(self, clock, rr, wrr, wlock, wsel, nrd, nwr);
        // Round-robin grant among the read clients, starting after the last winner.
        self.any.next = self.r0_req_valid.val()
            || self.r1_req_valid.val()
            || self.r2_req_valid.val()
            || self.r3_req_valid.val();
        self.gnt.next = 0.into();
        match self.rr.q.val().index() {
            0 => {
                if self.r1_req_valid.val() {
                    self.gnt.next = 1.into();
                } else if self.r2_req_valid.val() {
                    self.gnt.next = 2.into();
                } else if self.r3_req_valid.val() {
                    self.gnt.next = 3.into();
                } else {
                    self.gnt.next = 0.into();
                }
            }
            1 => {
                if self.r2_req_valid.val() {
                    self.gnt.next = 2.into();
                } else if self.r3_req_valid.val() {
                    self.gnt.next = 3.into();
                } else if self.r0_req_valid.val() {
                    self.gnt.next = 0.into();
                } else {
                    self.gnt.next = 1.into();
                }
            }
            2 => {
                if self.r3_req_valid.val() {
                    self.gnt.next = 3.into();
                } else if self.r0_req_valid.val() {
                    self.gnt.next = 0.into();
                } else if self.r1_req_valid.val() {
                    self.gnt.next = 1.into();
                } else {
                    self.gnt.next = 2.into();
                }
            }
            _ => {
                if self.r0_req_valid.val() {
                    self.gnt.next = 0.into();
                } else if self.r1_req_valid.val() {
                    self.gnt.next = 1.into();
                } else if self.r2_req_valid.val() {
                    self.gnt.next = 2.into();
                } else {
                    self.gnt.next = 3.into();
                }
            }
        }
        self.rd_req_valid.next = self.any.val() && self.enable.val();
        self.r0_req_ready.next = false;
        self.r1_req_ready.next = false;
        self.r2_req_ready.next = false;
        self.r3_req_ready.next = false;
        self.rd_req_addr.next = self.r0_req_addr.val();
        self.rd_req_len.next = self.r0_req_len.val();
        self.rd_req_tag.next = bit_cast::<TAG_BITS, 3>(self.r0_req_sub.val());
        match self.gnt.val().index() {
            0 => {
                self.r0_req_ready.next = self.rd_req_ready.val() && self.enable.val();
            }
            1 => {
                self.rd_req_addr.next = self.r1_req_addr.val();
                self.rd_req_len.next = self.r1_req_len.val();
                self.rd_req_tag.next = bit_cast::<TAG_BITS, 3>(self.r1_req_sub.val()) | 8;
                self.r1_req_ready.next = self.rd_req_ready.val() && self.enable.val();
            }
            2 => {
                self.rd_req_addr.next = self.r2_req_addr.val();
                self.rd_req_len.next = self.r2_req_len.val();
                self.rd_req_tag.next = bit_cast::<TAG_BITS, 3>(self.r2_req_sub.val()) | 16;
                self.r2_req_ready.next = self.rd_req_ready.val() && self.enable.val();
            }
            _ => {
                self.rd_req_addr.next = self.r3_req_addr.val();
                self.rd_req_len.next = self.r3_req_len.val();
                self.rd_req_tag.next = bit_cast::<TAG_BITS, 3>(self.r3_req_sub.val()) | 24;
                self.r3_req_ready.next = self.rd_req_ready.val() && self.enable.val();
            }
        }
        self.rd_fire.next = self.any.val() && self.enable.val() && self.rd_req_ready.val();
        if self.rd_fire.val() {
            self.rr.d.next = self.gnt.val();
        }

        // Completions: routed by the tag's client field; dropped while halted.
        self.cpl_data.next = self.rd_cpl_data.val();
        self.cpl_last.next = self.rd_cpl_last.val();
        self.cpl_error.next = self.rd_cpl_error.val();
        self.cpl_sub.next = self.rd_cpl_tag.val().get_bits::<3>(0);
        self.r0_cpl_valid.next = false;
        self.r1_cpl_valid.next = false;
        self.r2_cpl_valid.next = false;
        self.r3_cpl_valid.next = false;
        self.rd_cpl_ready.next = true;
        if !self.halt.val() {
            match self.rd_cpl_tag.val().get_bits::<2>(3).index() {
                0 => {
                    self.r0_cpl_valid.next = self.rd_cpl_valid.val();
                    self.rd_cpl_ready.next = self.r0_cpl_ready.val();
                }
                1 => {
                    self.r1_cpl_valid.next = self.rd_cpl_valid.val();
                    self.rd_cpl_ready.next = self.r1_cpl_ready.val();
                }
                2 => {
                    self.r2_cpl_valid.next = self.rd_cpl_valid.val();
                    self.rd_cpl_ready.next = self.r2_cpl_ready.val();
                }
                _ => {
                    self.r3_cpl_valid.next = self.rd_cpl_valid.val();
                    self.rd_cpl_ready.next = self.r3_cpl_ready.val();
                }
            }
        }
        self.cpl_fire.next = self.rd_cpl_valid.val() && self.rd_cpl_ready.val();

        // Posted writes: round-robin at write boundaries, locked within a write.
        self.wany.next = self.w0_valid.val() || self.w1_valid.val() || self.w2_valid.val();
        self.wgnt.next = 0.into();
        match self.wrr.q.val().index() {
            0 => {
                if self.w1_valid.val() {
                    self.wgnt.next = 1.into();
                } else if self.w2_valid.val() {
                    self.wgnt.next = 2.into();
                } else {
                    self.wgnt.next = 0.into();
                }
            }
            1 => {
                if self.w2_valid.val() {
                    self.wgnt.next = 2.into();
                } else if self.w0_valid.val() {
                    self.wgnt.next = 0.into();
                } else {
                    self.wgnt.next = 1.into();
                }
            }
            _ => {
                if self.w0_valid.val() {
                    self.wgnt.next = 0.into();
                } else if self.w1_valid.val() {
                    self.wgnt.next = 1.into();
                } else {
                    self.wgnt.next = 2.into();
                }
            }
        }
        self.wcur.next = self.wgnt.val();
        self.wgo.next = self.wany.val() && self.enable.val();
        if self.wlock.q.val() {
            self.wcur.next = self.wsel.q.val();
            self.wgo.next = true;
        }
        self.w0_ready.next = false;
        self.w1_ready.next = false;
        self.w2_ready.next = false;
        self.wr_valid.next = false;
        self.wr_addr.next = self.w0_addr.val();
        self.wr_len.next = self.w0_len.val();
        self.wr_data.next = self.w0_data.val();
        self.wr_last.next = self.w0_last.val();
        if self.wgo.val() {
            match self.wcur.val().index() {
                0 => {
                    self.wr_valid.next = self.w0_valid.val();
                    self.w0_ready.next = self.wr_ready.val();
                }
                1 => {
                    self.wr_valid.next = self.w1_valid.val();
                    self.wr_addr.next = self.w1_addr.val();
                    self.wr_len.next = self.w1_len.val();
                    self.wr_data.next = self.w1_data.val();
                    self.wr_last.next = self.w1_last.val();
                    self.w1_ready.next = self.wr_ready.val();
                }
                _ => {
                    self.wr_valid.next = self.w2_valid.val();
                    self.wr_addr.next = self.w2_addr.val();
                    self.wr_len.next = self.w2_len.val();
                    self.wr_data.next = self.w2_data.val();
                    self.wr_last.next = self.w2_last.val();
                    self.w2_ready.next = self.wr_ready.val();
                }
            }
        }
        self.wr_first.next = false;
        if self.wr_valid.val() && self.wr_ready.val() {
            self.wr_first.next = !self.wlock.q.val();
            self.wsel.d.next = self.wcur.val();
            self.wlock.d.next = !self.wr_last.val();
            if !self.wlock.q.val() {
                self.wrr.d.next = self.wcur.val();
            }
        }
        self.wr_rsp_ready.next = true;

        // Counters of requests in flight.
        if self.rd_fire.val() && !(self.cpl_fire.val() && self.rd_cpl_last.val()) {
            self.nrd.d.next = self.nrd.q.val() + 1;
        } else if !self.rd_fire.val() && (self.cpl_fire.val() && self.rd_cpl_last.val()) {
            self.nrd.d.next = self.nrd.q.val() - 1;
        }
        if self.wr_first.val() && !self.wr_rsp_valid.val() {
            self.nwr.d.next = self.nwr.q.val() + 1;
        } else if !self.wr_first.val() && self.wr_rsp_valid.val() {
            self.nwr.d.next = self.nwr.q.val() - 1;
        }
        self.reads_outstanding.next = self.nrd.q.val();
        self.writes_outstanding.next = self.nwr.q.val();
        self.busy.next = (self.nrd.q.val() != 0) || (self.nwr.q.val() != 0) || self.wlock.q.val();
        self.fault.next = (self.cpl_fire.val() && self.rd_cpl_error.val())
            || (self.wr_rsp_valid.val() && self.wr_rsp_error.val());
        self.fault_write.next = !(self.cpl_fire.val() && self.rd_cpl_error.val());
        self.fault_tag.next = self.rd_cpl_tag.val();
        if self.reset.val() {
            self.nrd.d.next = 0.into();
            self.nwr.d.next = 0.into();
            self.wlock.d.next = false;
            self.rr.d.next = 0.into();
            self.wrr.d.next = 0.into();
        }
    }

    fn connect(&mut self) {
        self.r0_req_ready.connect();
        self.r0_cpl_valid.connect();
        self.r1_req_ready.connect();
        self.r1_cpl_valid.connect();
        self.r2_req_ready.connect();
        self.r2_cpl_valid.connect();
        self.r3_req_ready.connect();
        self.r3_cpl_valid.connect();
        self.cpl_data.connect();
        self.cpl_last.connect();
        self.cpl_error.connect();
        self.cpl_sub.connect();
        self.w0_ready.connect();
        self.w1_ready.connect();
        self.w2_ready.connect();
        self.rd_req_valid.connect();
        self.rd_req_tag.connect();
        self.rd_req_addr.connect();
        self.rd_req_len.connect();
        self.rd_cpl_ready.connect();
        self.wr_valid.connect();
        self.wr_addr.connect();
        self.wr_len.connect();
        self.wr_data.connect();
        self.wr_last.connect();
        self.wr_rsp_ready.connect();
        self.busy.connect();
        self.reads_outstanding.connect();
        self.writes_outstanding.connect();
        self.fault.connect();
        self.fault_write.connect();
        self.fault_tag.connect();
        self.gnt.connect();
        self.any.connect();
        self.wgnt.connect();
        self.wany.connect();
        self.wcur.connect();
        self.wgo.connect();
        self.rd_fire.connect();
        self.cpl_fire.connect();
        self.wr_first.connect();
        self.rr.clock.connect();
        self.rr.d.connect();
        self.wrr.clock.connect();
        self.wrr.d.connect();
        self.wlock.clock.connect();
        self.wlock.d.connect();
        self.wsel.clock.connect();
        self.wsel.d.connect();
        self.nrd.clock.connect();
        self.nrd.d.connect();
        self.nwr.clock.connect();
        self.nwr.d.connect();
    }

    /// The same logic as `update`, written by hand so that each output is
    /// computed in an `always` block of its own from the signals it really
    /// depends on. rust-hdl would put all of `update` in one block, so
    /// Verilator would take every `*_ready` to depend on every input of the
    /// master (write data, completions, ...); a client whose `valid` comes
    /// from a block that reads its `ready` then makes a false combinational
    /// loop (UNOPTFLAT) that the model iterates to settle on every
    /// evaluation. The cross-backend tests of vfpga-sim compare this Verilog
    /// with `update` cycle by cycle; `blk_verilog_has_no_unoptflat_loop`
    /// (tests/verilog.rs) checks that no loop is left.
    fn hdl(&self) -> Verilog {
        Verilog::Custom(
            "\
// Read requests: round-robin grant, starting after the last winner.
always @(*) any = r0_req_valid || r1_req_valid || r2_req_valid || r3_req_valid;
always @(*) begin
    case (rr$q)
        2'd0: gnt = r1_req_valid ? 2'd1 : r2_req_valid ? 2'd2 : r3_req_valid ? 2'd3 : 2'd0;
        2'd1: gnt = r2_req_valid ? 2'd2 : r3_req_valid ? 2'd3 : r0_req_valid ? 2'd0 : 2'd1;
        2'd2: gnt = r3_req_valid ? 2'd3 : r0_req_valid ? 2'd0 : r1_req_valid ? 2'd1 : 2'd2;
        default: gnt = r0_req_valid ? 2'd0 : r1_req_valid ? 2'd1 : r2_req_valid ? 2'd2 : 2'd3;
    endcase
end
always @(*) rd_req_valid = any && enable;
always @(*) r0_req_ready = (gnt == 2'd0) && rd_req_ready && enable;
always @(*) r1_req_ready = (gnt == 2'd1) && rd_req_ready && enable;
always @(*) r2_req_ready = (gnt == 2'd2) && rd_req_ready && enable;
always @(*) r3_req_ready = (gnt == 2'd3) && rd_req_ready && enable;
always @(*) begin
    case (gnt)
        2'd0: rd_req_addr = r0_req_addr;
        2'd1: rd_req_addr = r1_req_addr;
        2'd2: rd_req_addr = r2_req_addr;
        default: rd_req_addr = r3_req_addr;
    endcase
end
always @(*) begin
    case (gnt)
        2'd0: rd_req_len = r0_req_len;
        2'd1: rd_req_len = r1_req_len;
        2'd2: rd_req_len = r2_req_len;
        default: rd_req_len = r3_req_len;
    endcase
end
always @(*) begin
    case (gnt)
        2'd0: rd_req_tag = {2'd0, r0_req_sub};
        2'd1: rd_req_tag = {2'd1, r1_req_sub};
        2'd2: rd_req_tag = {2'd2, r2_req_sub};
        default: rd_req_tag = {2'd3, r3_req_sub};
    endcase
end
always @(*) rd_fire = any && enable && rd_req_ready;

// Completions: routed by the tag's client field; dropped while halted.
always @(*) cpl_data = rd_cpl_data;
always @(*) cpl_last = rd_cpl_last;
always @(*) cpl_error = rd_cpl_error;
always @(*) cpl_sub = rd_cpl_tag[2:0];
always @(*) r0_cpl_valid = !halt && (rd_cpl_tag[4:3] == 2'd0) && rd_cpl_valid;
always @(*) r1_cpl_valid = !halt && (rd_cpl_tag[4:3] == 2'd1) && rd_cpl_valid;
always @(*) r2_cpl_valid = !halt && (rd_cpl_tag[4:3] == 2'd2) && rd_cpl_valid;
always @(*) r3_cpl_valid = !halt && (rd_cpl_tag[4:3] == 2'd3) && rd_cpl_valid;
always @(*) begin
    if (halt) begin
        rd_cpl_ready = 1'b1;
    end else begin
        case (rd_cpl_tag[4:3])
            2'd0: rd_cpl_ready = r0_cpl_ready;
            2'd1: rd_cpl_ready = r1_cpl_ready;
            2'd2: rd_cpl_ready = r2_cpl_ready;
            default: rd_cpl_ready = r3_cpl_ready;
        endcase
    end
end
always @(*) cpl_fire = rd_cpl_valid && rd_cpl_ready;

// Posted writes: round-robin at write boundaries, locked within a write.
always @(*) wany = w0_valid || w1_valid || w2_valid;
always @(*) begin
    case (wrr$q)
        2'd0: wgnt = w1_valid ? 2'd1 : w2_valid ? 2'd2 : 2'd0;
        2'd1: wgnt = w2_valid ? 2'd2 : w0_valid ? 2'd0 : 2'd1;
        default: wgnt = w0_valid ? 2'd0 : w1_valid ? 2'd1 : 2'd2;
    endcase
end
always @(*) wcur = wlock$q ? wsel$q : wgnt;
always @(*) wgo = wlock$q || (wany && enable);
always @(*) w0_ready = wgo && (wcur == 2'd0) && wr_ready;
always @(*) w1_ready = wgo && (wcur == 2'd1) && wr_ready;
always @(*) w2_ready = wgo && wcur[1] && wr_ready;
always @(*) begin
    if (!wgo) begin
        wr_valid = 1'b0;
    end else begin
        case (wcur)
            2'd0: wr_valid = w0_valid;
            2'd1: wr_valid = w1_valid;
            default: wr_valid = w2_valid;
        endcase
    end
end
always @(*) begin
    if (wgo && (wcur == 2'd1)) begin
        wr_addr = w1_addr;
        wr_len = w1_len;
        wr_data = w1_data;
        wr_last = w1_last;
    end else if (wgo && wcur[1]) begin
        wr_addr = w2_addr;
        wr_len = w2_len;
        wr_data = w2_data;
        wr_last = w2_last;
    end else begin
        wr_addr = w0_addr;
        wr_len = w0_len;
        wr_data = w0_data;
        wr_last = w0_last;
    end
end
always @(*) wr_first = wr_valid && wr_ready && !wlock$q;

// Counters and status, from registers and completions only.
always @(*) reads_outstanding = nrd$q;
always @(*) writes_outstanding = nwr$q;
always @(*) busy = (nrd$q != 16'd0) || (nwr$q != 16'd0) || wlock$q;
always @(*) fault = (cpl_fire && rd_cpl_error) || (wr_rsp_valid && wr_rsp_error);
always @(*) fault_write = !(cpl_fire && rd_cpl_error);
always @(*) fault_tag = rd_cpl_tag;

// Next state: feeds only flip-flops (and the constant `wr_rsp_ready`: an
// `always @(*)` that reads nothing never runs in an event-driven simulator).
always @(*) begin
    wr_rsp_ready = 1'b1;
    rr$clock = clock;
    wrr$clock = clock;
    wlock$clock = clock;
    wsel$clock = clock;
    nrd$clock = clock;
    nwr$clock = clock;
    rr$d = rr$q;
    wrr$d = wrr$q;
    wlock$d = wlock$q;
    wsel$d = wsel$q;
    nrd$d = nrd$q;
    nwr$d = nwr$q;
    if (rd_fire) begin
        rr$d = gnt;
    end
    if (wr_valid && wr_ready) begin
        wsel$d = wcur;
        wlock$d = !wr_last;
        if (!wlock$q) begin
            wrr$d = wcur;
        end
    end
    if (rd_fire && !(cpl_fire && rd_cpl_last)) begin
        nrd$d = nrd$q + 16'd1;
    end else if (!rd_fire && (cpl_fire && rd_cpl_last)) begin
        nrd$d = nrd$q - 16'd1;
    end
    if (wr_first && !wr_rsp_valid) begin
        nwr$d = nwr$q + 16'd1;
    end else if (!wr_first && wr_rsp_valid) begin
        nwr$d = nwr$q - 16'd1;
    end
    if (reset) begin
        nrd$d = 16'd0;
        nwr$d = 16'd0;
        wlock$d = 1'b0;
        rr$d = 2'd0;
        wrr$d = 2'd0;
    end
end
"
            .into(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testbench::XorShift;
    use std::collections::HashSet;

    type M = DmaMaster<DATA_BITS>;

    fn set_client(
        m: &mut M,
        c: usize,
        valid: bool,
        addr: u64,
        len: u64,
        sub: u64,
        cpl_ready: bool,
    ) {
        macro_rules! set {
            ($v:ident, $a:ident, $l:ident, $s:ident, $r:ident) => {{
                m.$v.next = valid;
                m.$a.next = addr.into();
                m.$l.next = len.into();
                m.$s.next = sub.into();
                m.$r.next = cpl_ready;
            }};
        }
        match c {
            0 => set!(
                r0_req_valid,
                r0_req_addr,
                r0_req_len,
                r0_req_sub,
                r0_cpl_ready
            ),
            1 => set!(
                r1_req_valid,
                r1_req_addr,
                r1_req_len,
                r1_req_sub,
                r1_cpl_ready
            ),
            2 => set!(
                r2_req_valid,
                r2_req_addr,
                r2_req_len,
                r2_req_sub,
                r2_cpl_ready
            ),
            _ => set!(
                r3_req_valid,
                r3_req_addr,
                r3_req_len,
                r3_req_sub,
                r3_cpl_ready
            ),
        }
    }

    fn client_io(m: &M, c: usize) -> (bool, bool) {
        match c {
            0 => (m.r0_req_ready.val(), m.r0_cpl_valid.val()),
            1 => (m.r1_req_ready.val(), m.r1_cpl_valid.val()),
            2 => (m.r2_req_ready.val(), m.r2_cpl_valid.val()),
            _ => (m.r3_req_ready.val(), m.r3_cpl_valid.val()),
        }
    }

    fn set_writer(m: &mut M, w: usize, valid: bool, addr: u64, data: u64, last: bool) {
        macro_rules! set {
            ($v:ident, $a:ident, $l:ident, $d:ident, $la:ident) => {{
                m.$v.next = valid;
                m.$a.next = addr.into();
                m.$l.next = 16.into();
                m.$d.next = (data as u128).to_bits();
                m.$la.next = last;
            }};
        }
        match w {
            0 => set!(w0_valid, w0_addr, w0_len, w0_data, w0_last),
            1 => set!(w1_valid, w1_addr, w1_len, w1_data, w1_last),
            _ => set!(w2_valid, w2_addr, w2_len, w2_data, w2_last),
        }
    }

    fn writer_ready(m: &M, w: usize) -> bool {
        match w {
            0 => m.w0_ready.val(),
            1 => m.w1_ready.val(),
            _ => m.w2_ready.val(),
        }
    }

    /// Four read clients with up to eight requests each in flight, a host
    /// that completes them out of order with beats of different tags
    /// interleaved, three writers: every completion reaches the client its
    /// tag names, every write's beats stay together and in order, and the
    /// counters drain to zero.
    #[test]
    fn dma_master_routes_interleaved_completions_and_keeps_writes_whole() {
        let mut m = M::default();
        m.connect_all();
        let mut rng = XorShift::new(11);
        // Per client: the request being offered and the subs in flight.
        let mut offer: [Option<(u64, u64, u64)>; 4] = [None; 4];
        let mut busy: [HashSet<u64>; 4] = Default::default();
        // Host: (tag, beats left, beat number, due cycle).
        let mut host: Vec<(u64, u64, u64, u64)> = Vec::new();
        let mut presenting: Option<usize> = None;
        // Writers: (id, beats total, beat number) being offered.
        let mut wr: [Option<(u64, u64, u64)>; 3] = [None; 3];
        let mut wseq = [0u64; 3];
        let mut cur_write: Option<(u64, u64)> = None;
        let mut rsp_due: Vec<u64> = Vec::new();
        let (mut reads_done, mut writes_done, mut max_inflight) = (0, 0, 0);
        m.enable.next = true;
        for cyc in 0..30_000u64 {
            let issuing = cyc < 25_000;
            let mut cpl_ready = [false; 4];
            for c in 0..4 {
                if offer[c].is_none() && issuing && busy[c].len() < 8 && rng.chance(40) {
                    let sub = (0..8).find(|s| !busy[c].contains(s)).unwrap();
                    let len = 1 + rng.below(100);
                    offer[c] = Some(((c as u64) << 40 | sub << 20 | cyc & 0xfffff, len, sub));
                }
                cpl_ready[c] = rng.chance(70);
                let (a, l, s) = offer[c].unwrap_or((0, 1, 0));
                set_client(&mut m, c, offer[c].is_some(), a, l, s, cpl_ready[c]);
            }
            let req_ready = rng.chance(70);
            m.rd_req_ready.next = req_ready;
            if presenting.is_none() && rng.chance(80) {
                let due: Vec<usize> = (0..host.len()).filter(|&i| host[i].3 <= cyc).collect();
                if !due.is_empty() {
                    presenting = Some(due[rng.below(due.len() as u64) as usize]);
                }
            }
            match presenting {
                Some(i) => {
                    let (tag, left, beat, _) = host[i];
                    m.rd_cpl_valid.next = true;
                    m.rd_cpl_tag.next = tag.into();
                    m.rd_cpl_data.next = ((tag << 16 | beat) as u128).to_bits();
                    m.rd_cpl_last.next = left == 1;
                }
                None => m.rd_cpl_valid.next = false,
            }
            m.rd_cpl_error.next = false;
            for w in 0..3 {
                if wr[w].is_none() && issuing && rng.chance(20) {
                    wseq[w] += 1;
                    wr[w] = Some(((w as u64) << 32 | wseq[w], 1 + rng.below(6), 0));
                }
                let (id, n, k) = wr[w].unwrap_or((0, 1, 0));
                set_writer(&mut m, w, wr[w].is_some(), id, k, k + 1 == n);
            }
            let wr_ready = rng.chance(70);
            m.wr_ready.next = wr_ready;
            let rsp = rsp_due.first().is_some_and(|&t| t <= cyc);
            m.wr_rsp_valid.next = rsp;
            m.wr_rsp_error.next = false;
            assert!(simulate(&mut m, 200));

            // Read requests: the granted client's, with its tag range.
            if m.rd_req_valid.val() && req_ready {
                let tag = m.rd_req_tag.val().to_u64();
                let c = (tag >> 3) as usize;
                let (a, l, s) = offer[c].expect("request from a client that offers none");
                assert!(client_io(&m, c).0, "granted client not told ready");
                assert_eq!(
                    (
                        m.rd_req_addr.val().to_u64(),
                        m.rd_req_len.val().to_u64(),
                        tag & 7
                    ),
                    (a, l, s)
                );
                for o in 0..4 {
                    assert!(o == c || !client_io(&m, o).0, "two clients granted");
                }
                busy[c].insert(s);
                offer[c] = None;
                let beats = l.div_ceil(16);
                host.push((tag, beats, 0, cyc + 20 + rng.below(150)));
                max_inflight = max_inflight.max(host.len());
            } else {
                for (c, o) in offer.iter().enumerate() {
                    assert!(
                        !(o.is_some() && client_io(&m, c).0),
                        "a request taken but not sent"
                    );
                }
            }
            // Completions: only the tag's client sees valid.
            if let Some(i) = presenting {
                let (tag, left, beat, _) = host[i];
                let c = (tag >> 3) as usize;
                for o in 0..4 {
                    assert_eq!(
                        client_io(&m, o).1,
                        o == c,
                        "completion routed to the wrong client"
                    );
                }
                assert_eq!(m.cpl_sub.val().to_u64(), tag & 7);
                assert_eq!(m.cpl_data.val().to_u128() as u64, tag << 16 | beat);
                assert_eq!(m.rd_cpl_ready.val(), cpl_ready[c]);
                if cpl_ready[c] {
                    if left == 1 {
                        host.remove(i);
                        busy[c].remove(&(tag & 7));
                        reads_done += 1;
                    } else {
                        host[i].1 -= 1;
                        host[i].2 += 1;
                    }
                    presenting = None;
                }
            }
            // Writes: whole and in order.
            if m.wr_valid.val() && wr_ready {
                let addr = m.wr_addr.val().to_u64();
                let w = (addr >> 32) as usize;
                let (id, n, k) = wr[w].expect("write beat from a writer that offers none");
                assert!(writer_ready(&m, w));
                assert_eq!(addr, id);
                assert_eq!(m.wr_data.val().to_u128() as u64, k);
                match cur_write {
                    Some((cid, ck)) => assert_eq!((cid, ck), (id, k), "writes interleaved"),
                    None => assert_eq!(k, 0, "write started mid-way"),
                }
                if k + 1 == n {
                    cur_write = None;
                    wr[w] = None;
                    writes_done += 1;
                    rsp_due.push(cyc + 30);
                } else {
                    cur_write = Some((id, k + 1));
                    wr[w] = Some((id, n, k + 1));
                }
            }
            if rsp {
                rsp_due.remove(0);
            }
            m.clock.next = Clock { clk: true };
            assert!(simulate(&mut m, 200));
            m.clock.next = Clock { clk: false };
            assert!(simulate(&mut m, 200));
        }
        assert!(
            host.is_empty() && rsp_due.is_empty(),
            "the test did not drain"
        );
        assert!(!m.busy.val());
        assert_eq!(m.reads_outstanding.val().to_u64(), 0);
        assert!(
            reads_done > 1000 && writes_done > 1000,
            "{reads_done} reads, {writes_done} writes"
        );
        assert!(max_inflight >= 8, "only {max_inflight} reads in flight");
    }

    /// `enable` low blocks requests; `halt` drops completions (ready high,
    /// no client sees them) and raises `fault` on an error completion.
    #[test]
    fn dma_master_enable_and_halt() {
        let mut m = M::default();
        m.connect_all();
        m.enable.next = false;
        m.r2_req_valid.next = true;
        m.r2_req_len.next = 16.into();
        m.w1_valid.next = true;
        m.rd_req_ready.next = true;
        m.wr_ready.next = true;
        assert!(simulate(&mut m, 200));
        assert!(!m.rd_req_valid.val() && !m.r2_req_ready.val());
        assert!(!m.wr_valid.val() && !m.w1_ready.val());
        m.enable.next = true;
        assert!(simulate(&mut m, 200));
        assert!(m.rd_req_valid.val() && m.r2_req_ready.val());
        assert_eq!(m.rd_req_tag.val().to_u64(), 16);
        assert!(m.wr_valid.val() && m.w1_ready.val());
        m.halt.next = true;
        m.rd_cpl_valid.next = true;
        m.rd_cpl_tag.next = 17.into();
        m.rd_cpl_error.next = true;
        m.rd_cpl_last.next = true;
        m.r2_cpl_ready.next = false;
        assert!(simulate(&mut m, 200));
        assert!(m.rd_cpl_ready.val() && !m.r2_cpl_valid.val());
        assert!(m.fault.val() && !m.fault_write.val());
        assert_eq!(m.fault_tag.val().to_u64(), 17);
    }
}
