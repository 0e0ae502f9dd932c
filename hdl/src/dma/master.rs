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
    #[hdl_gen]
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
}
