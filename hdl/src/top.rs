//! The blk personality's top level: the BAR0 function ([`crate::mmio::Bar0`]:
//! register file, management port, MSI-X) and the datapath engine
//! ([`crate::engine::BlkEngine`]), with every external channel a
//! valid/ready port named after its `vfpga_abi::ports` struct.
//!
//! `vfpga-hdl-gen` writes it to `hdl/verilog/vfpga_blk.v` as module
//! `vfpga_blk`; [`verilog_files`] is what it writes, and a test regenerates
//! it and compares with the committed file.

#[path = "top/synth.rs"]
pub mod synth;

use rust_hdl::prelude::*;

use crate::dma::master::DATA_BITS;
use crate::engine::BlkEngine;
use crate::mmio::{Bar0, MGMT_ADDR_BITS, MMIO_ADDR_BITS};
use crate::slice::RegSlice;

/// Name of the top-level Verilog module (and file stem).
pub const TOP_MODULE: &str = "vfpga_blk";

/// The blk function: BAR0 target + MSI-X + engine.
#[derive(LogicBlock, Default, Debug)]
pub struct BlkTop {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset (power-on state).
    pub reset: Signal<In, Bit>,
    /// Bus Master Enable from PCI config space; no DMA while low.
    pub bus_master: Signal<In, Bit>,
    /// MMIO request: valid.
    pub mmio_req_valid: Signal<In, Bit>,
    /// MMIO request: ready.
    pub mmio_req_ready: Signal<Out, Bit>,
    /// MMIO request: BAR0 byte offset (dword aligned).
    pub mmio_req_addr: Signal<In, Bits<MMIO_ADDR_BITS>>,
    /// MMIO request: 1 = write.
    pub mmio_req_write: Signal<In, Bit>,
    /// MMIO request: write data.
    pub mmio_req_wdata: Signal<In, Bits<32>>,
    /// MMIO request: byte enables.
    pub mmio_req_strb: Signal<In, Bits<4>>,
    /// MMIO read response: valid.
    pub mmio_resp_valid: Signal<Out, Bit>,
    /// MMIO read response: ready.
    pub mmio_resp_ready: Signal<In, Bit>,
    /// MMIO read response: data.
    pub mmio_resp_rdata: Signal<Out, Bits<32>>,
    /// Management request: valid.
    pub mgmt_req_valid: Signal<In, Bit>,
    /// Management request: ready.
    pub mgmt_req_ready: Signal<Out, Bit>,
    /// Management request: register word address.
    pub mgmt_req_addr: Signal<In, Bits<MGMT_ADDR_BITS>>,
    /// Management request: 1 = write.
    pub mgmt_req_write: Signal<In, Bit>,
    /// Management request: write data.
    pub mgmt_req_wdata: Signal<In, Bits<32>>,
    /// Management response: valid.
    pub mgmt_resp_valid: Signal<Out, Bit>,
    /// Management response: ready.
    pub mgmt_resp_ready: Signal<In, Bit>,
    /// Management response: read data (0 for writes).
    pub mgmt_resp_rdata: Signal<Out, Bits<32>>,
    /// Management interrupt: an event waits in EVENT. A level, from state,
    /// for the management CPU to sleep on between polls.
    pub mgmt_irq: Signal<Out, Bit>,
    /// MSI-X Enable (PCI capability, from the PCIe IP).
    pub msix_enable: Signal<In, Bit>,
    /// MSI-X Function Mask (PCI capability, from the PCIe IP).
    pub msix_function_mask: Signal<In, Bit>,
    /// MSI-X message: valid.
    pub msix_valid: Signal<Out, Bit>,
    /// MSI-X message: ready.
    pub msix_ready: Signal<In, Bit>,
    /// MSI-X message: address.
    pub msix_addr: Signal<Out, Bits<64>>,
    /// MSI-X message: data.
    pub msix_data: Signal<Out, Bits<32>>,
    /// MSI-X message: vector.
    pub msix_vector: Signal<Out, Bits<16>>,
    /// DMA read request valid.
    pub dma_rd_req_valid: Signal<Out, Bit>,
    /// DMA read request ready.
    pub dma_rd_req_ready: Signal<In, Bit>,
    /// DMA read request tag.
    pub dma_rd_req_tag: Signal<Out, Bits<5>>,
    /// DMA read request address.
    pub dma_rd_req_addr: Signal<Out, Bits<64>>,
    /// DMA read request length.
    pub dma_rd_req_len: Signal<Out, Bits<13>>,
    /// DMA read completion valid.
    pub dma_rd_cpl_valid: Signal<In, Bit>,
    /// DMA read completion ready.
    pub dma_rd_cpl_ready: Signal<Out, Bit>,
    /// DMA read completion tag.
    pub dma_rd_cpl_tag: Signal<In, Bits<5>>,
    /// DMA read completion data.
    pub dma_rd_cpl_data: Signal<In, Bits<DATA_BITS>>,
    /// DMA read completion last beat.
    pub dma_rd_cpl_last: Signal<In, Bit>,
    /// DMA read completion error.
    pub dma_rd_cpl_error: Signal<In, Bit>,
    /// DMA write valid.
    pub dma_wr_valid: Signal<Out, Bit>,
    /// DMA write ready.
    pub dma_wr_ready: Signal<In, Bit>,
    /// DMA write address.
    pub dma_wr_addr: Signal<Out, Bits<64>>,
    /// DMA write length.
    pub dma_wr_len: Signal<Out, Bits<13>>,
    /// DMA write data.
    pub dma_wr_data: Signal<Out, Bits<DATA_BITS>>,
    /// DMA write last beat.
    pub dma_wr_last: Signal<Out, Bit>,
    /// DMA write response valid.
    pub dma_wr_rsp_valid: Signal<In, Bit>,
    /// DMA write response ready.
    pub dma_wr_rsp_ready: Signal<Out, Bit>,
    /// DMA write response error.
    pub dma_wr_rsp_error: Signal<In, Bit>,
    /// Storage command valid.
    pub blk_cmd_valid: Signal<Out, Bit>,
    /// Storage command ready.
    pub blk_cmd_ready: Signal<In, Bit>,
    /// Storage command tag.
    pub blk_cmd_tag: Signal<Out, Bits<5>>,
    /// Storage command op (BlkOp).
    pub blk_cmd_op: Signal<Out, Bits<2>>,
    /// Storage command first sector.
    pub blk_cmd_sector: Signal<Out, Bits<64>>,
    /// Storage command length in bytes.
    pub blk_cmd_len: Signal<Out, Bits<32>>,
    /// Storage write data valid.
    pub blk_wr_valid: Signal<Out, Bit>,
    /// Storage write data ready.
    pub blk_wr_ready: Signal<In, Bit>,
    /// Storage write data tag.
    pub blk_wr_tag: Signal<Out, Bits<5>>,
    /// Storage write data.
    pub blk_wr_data: Signal<Out, Bits<128>>,
    /// Storage write data last beat.
    pub blk_wr_last: Signal<Out, Bit>,
    /// Storage read data valid.
    pub blk_rd_valid: Signal<In, Bit>,
    /// Storage read data ready.
    pub blk_rd_ready: Signal<Out, Bit>,
    /// Storage read data tag.
    pub blk_rd_tag: Signal<In, Bits<5>>,
    /// Storage read data.
    pub blk_rd_data: Signal<In, Bits<128>>,
    /// Storage read data last beat.
    pub blk_rd_last: Signal<In, Bit>,
    /// Storage completion valid.
    pub blk_cpl_valid: Signal<In, Bit>,
    /// Storage completion ready.
    pub blk_cpl_ready: Signal<Out, Bit>,
    /// Storage completion tag.
    pub blk_cpl_tag: Signal<In, Bits<5>>,
    /// Storage completion status.
    pub blk_cpl_status: Signal<In, Bits<8>>,
    /// The function holds no work: no chain in flight on any queue, no
    /// doorbell latched on a running queue, the DMA master drained (no read
    /// outstanding, every posted write answered), no storage command in
    /// flight, no MSI-X message or management event pending, no driver
    /// access in progress. With every input channel quiet in a cycle where
    /// `idle` is high, the state stays idle until an input arrives, so a
    /// simulator (or a clock gate) may stop the clock there.
    pub idle: Signal<Out, Bit>,
    /// Register file, management port and MSI-X.
    pub bar0: Bar0,
    /// The virtio-blk datapath engine.
    pub engine: BlkEngine,
    // Port registers (see `crate::slice`): every channel passes through a
    // register slice and every level input through a flip-flop, so no
    // output depends combinationally on an input.
    reset_q: DFF<Bit>,
    bus_master_q: DFF<Bit>,
    msix_enable_q: DFF<Bit>,
    msix_function_mask_q: DFF<Bit>,
    s_mmio_req: RegSlice<MMIO_REQ_BITS>,
    s_mmio_resp: RegSlice<32>,
    s_mgmt_req: RegSlice<MGMT_REQ_BITS>,
    s_mgmt_resp: RegSlice<32>,
    s_msix: RegSlice<MSIX_BITS>,
    s_rd_req: RegSlice<RD_REQ_BITS>,
    s_rd_cpl: RegSlice<RD_CPL_BITS>,
    s_wr: RegSlice<WR_BITS>,
    s_wr_rsp: RegSlice<1>,
    s_blk_cmd: RegSlice<BLK_CMD_BITS>,
    s_blk_wr: RegSlice<BLK_DATA_BITS>,
    s_blk_rd: RegSlice<BLK_DATA_BITS>,
    s_blk_cpl: RegSlice<BLK_CPL_BITS>,
}

/// Packed payload widths of the port slices. The widest field sits in the
/// low bits and every field of 32 bits or more starts on a 32-bit boundary:
/// Verilator then packs and unpacks them as whole words instead of shifting
/// every word of a 128-bit beat on every evaluation.
const MMIO_REQ_BITS: usize = MMIO_ADDR_BITS + 1 + 32 + 4;
const MGMT_REQ_BITS: usize = MGMT_ADDR_BITS + 1 + 32;
const MSIX_BITS: usize = 64 + 32 + 16;
const RD_REQ_BITS: usize = 5 + 64 + 13;
const RD_CPL_BITS: usize = 5 + DATA_BITS + 1 + 1;
const WR_BITS: usize = 64 + 13 + DATA_BITS + 1;
const BLK_CMD_BITS: usize = 5 + 2 + 64 + 32;
const BLK_DATA_BITS: usize = 5 + 128 + 1;
const BLK_CPL_BITS: usize = 5 + 8;
// rust-hdl shifts take literals and bit indices become Verilog text: the
// packing below spells these widths out.
const _: () = assert!(MMIO_ADDR_BITS == 15 && MGMT_ADDR_BITS == 8 && DATA_BITS == 128);

impl Logic for BlkTop {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            reset_q,
            bus_master_q,
            msix_enable_q,
            msix_function_mask_q
        );
        self.bar0.clock.next = self.clock.val();
        self.engine.clock.next = self.clock.val();
        self.reset_q.d.next = self.reset.val();
        self.bus_master_q.d.next = self.bus_master.val();
        self.msix_enable_q.d.next = self.msix_enable.val();
        self.msix_function_mask_q.d.next = self.msix_function_mask.val();
        self.bar0.reset.next = self.reset_q.q.val();
        self.bar0.bus_master.next = self.bus_master_q.q.val();
        self.bar0.msix_enable.next = self.msix_enable_q.q.val();
        self.bar0.msix_function_mask.next = self.msix_function_mask_q.q.val();
        // blk posts no events of its own.
        self.bar0.ext_event_valid.next = false;
        self.bar0.ext_event_word.next = 0.into();
        // Every slice: clocked, cleared by the (registered) reset.
        self.s_mmio_req.clock.next = self.clock.val();
        self.s_mmio_resp.clock.next = self.clock.val();
        self.s_mgmt_req.clock.next = self.clock.val();
        self.s_mgmt_resp.clock.next = self.clock.val();
        self.s_msix.clock.next = self.clock.val();
        self.s_rd_req.clock.next = self.clock.val();
        self.s_rd_cpl.clock.next = self.clock.val();
        self.s_wr.clock.next = self.clock.val();
        self.s_wr_rsp.clock.next = self.clock.val();
        self.s_blk_cmd.clock.next = self.clock.val();
        self.s_blk_wr.clock.next = self.clock.val();
        self.s_blk_rd.clock.next = self.clock.val();
        self.s_blk_cpl.clock.next = self.clock.val();
        self.s_mmio_req.clear.next = self.reset_q.q.val();
        self.s_mmio_resp.clear.next = self.reset_q.q.val();
        self.s_mgmt_req.clear.next = self.reset_q.q.val();
        self.s_mgmt_resp.clear.next = self.reset_q.q.val();
        self.s_msix.clear.next = self.reset_q.q.val();
        self.s_rd_req.clear.next = self.reset_q.q.val();
        self.s_rd_cpl.clear.next = self.reset_q.q.val();
        self.s_wr.clear.next = self.reset_q.q.val();
        self.s_wr_rsp.clear.next = self.reset_q.q.val();
        self.s_blk_cmd.clear.next = self.reset_q.q.val();
        self.s_blk_wr.clear.next = self.reset_q.q.val();
        self.s_blk_rd.clear.next = self.reset_q.q.val();
        self.s_blk_cpl.clear.next = self.reset_q.q.val();
        // MMIO request: host -> slice -> register file.
        self.s_mmio_req.in_valid.next = self.mmio_req_valid.val();
        self.mmio_req_ready.next = self.s_mmio_req.in_ready.val();
        self.s_mmio_req.in_data.next = bit_cast::<MMIO_REQ_BITS, 32>(self.mmio_req_wdata.val())
            | (bit_cast::<MMIO_REQ_BITS, MMIO_ADDR_BITS>(self.mmio_req_addr.val()) << 32_u64)
            | (bit_cast::<MMIO_REQ_BITS, 1>(self.mmio_req_write.val().into()) << 47_u64)
            | (bit_cast::<MMIO_REQ_BITS, 4>(self.mmio_req_strb.val()) << 48_u64);
        self.bar0.mmio_req_valid.next = self.s_mmio_req.out_valid.val();
        self.s_mmio_req.out_ready.next = self.bar0.mmio_req_ready.val();
        self.bar0.mmio_req_wdata.next = self.s_mmio_req.out_data.val().get_bits::<32>(0);
        self.bar0.mmio_req_addr.next = self
            .s_mmio_req
            .out_data
            .val()
            .get_bits::<MMIO_ADDR_BITS>(32);
        self.bar0.mmio_req_write.next = self.s_mmio_req.out_data.val().get_bit(47);
        self.bar0.mmio_req_strb.next = self.s_mmio_req.out_data.val().get_bits::<4>(48);
        // MMIO read response: register file -> slice -> host.
        self.s_mmio_resp.in_valid.next = self.bar0.mmio_resp_valid.val();
        self.bar0.mmio_resp_ready.next = self.s_mmio_resp.in_ready.val();
        self.s_mmio_resp.in_data.next = self.bar0.mmio_resp_rdata.val();
        self.mmio_resp_valid.next = self.s_mmio_resp.out_valid.val();
        self.s_mmio_resp.out_ready.next = self.mmio_resp_ready.val();
        self.mmio_resp_rdata.next = self.s_mmio_resp.out_data.val();
        // Management request and response.
        self.s_mgmt_req.in_valid.next = self.mgmt_req_valid.val();
        self.mgmt_req_ready.next = self.s_mgmt_req.in_ready.val();
        self.s_mgmt_req.in_data.next = bit_cast::<MGMT_REQ_BITS, 32>(self.mgmt_req_wdata.val())
            | (bit_cast::<MGMT_REQ_BITS, MGMT_ADDR_BITS>(self.mgmt_req_addr.val()) << 32_u64)
            | (bit_cast::<MGMT_REQ_BITS, 1>(self.mgmt_req_write.val().into()) << 40_u64);
        self.bar0.mgmt_req_valid.next = self.s_mgmt_req.out_valid.val();
        self.s_mgmt_req.out_ready.next = self.bar0.mgmt_req_ready.val();
        self.bar0.mgmt_req_wdata.next = self.s_mgmt_req.out_data.val().get_bits::<32>(0);
        self.bar0.mgmt_req_addr.next = self
            .s_mgmt_req
            .out_data
            .val()
            .get_bits::<MGMT_ADDR_BITS>(32);
        self.bar0.mgmt_req_write.next = self.s_mgmt_req.out_data.val().get_bit(40);
        self.s_mgmt_resp.in_valid.next = self.bar0.mgmt_resp_valid.val();
        self.bar0.mgmt_resp_ready.next = self.s_mgmt_resp.in_ready.val();
        self.s_mgmt_resp.in_data.next = self.bar0.mgmt_resp_rdata.val();
        self.mgmt_resp_valid.next = self.s_mgmt_resp.out_valid.val();
        self.s_mgmt_resp.out_ready.next = self.mgmt_resp_ready.val();
        self.mgmt_resp_rdata.next = self.s_mgmt_resp.out_data.val();
        self.mgmt_irq.next = self.bar0.attention.val();
        // MSI-X message.
        self.s_msix.in_valid.next = self.bar0.msix_valid.val();
        self.bar0.msix_ready.next = self.s_msix.in_ready.val();
        self.s_msix.in_data.next = bit_cast::<MSIX_BITS, 64>(self.bar0.msix_addr.val())
            | (bit_cast::<MSIX_BITS, 32>(self.bar0.msix_data.val()) << 64)
            | (bit_cast::<MSIX_BITS, 16>(self.bar0.msix_vector.val()) << 96);
        self.msix_valid.next = self.s_msix.out_valid.val();
        self.s_msix.out_ready.next = self.msix_ready.val();
        self.msix_addr.next = self.s_msix.out_data.val().get_bits::<64>(0);
        self.msix_data.next = self.s_msix.out_data.val().get_bits::<32>(64);
        self.msix_vector.next = self.s_msix.out_data.val().get_bits::<16>(96);
        // DMA read request.
        self.s_rd_req.in_valid.next = self.engine.dma_rd_req_valid.val();
        self.engine.dma_rd_req_ready.next = self.s_rd_req.in_ready.val();
        self.s_rd_req.in_data.next = bit_cast::<RD_REQ_BITS, 64>(self.engine.dma_rd_req_addr.val())
            | (bit_cast::<RD_REQ_BITS, 5>(self.engine.dma_rd_req_tag.val()) << 64)
            | (bit_cast::<RD_REQ_BITS, 13>(self.engine.dma_rd_req_len.val()) << 69);
        self.dma_rd_req_valid.next = self.s_rd_req.out_valid.val();
        self.s_rd_req.out_ready.next = self.dma_rd_req_ready.val();
        self.dma_rd_req_addr.next = self.s_rd_req.out_data.val().get_bits::<64>(0);
        self.dma_rd_req_tag.next = self.s_rd_req.out_data.val().get_bits::<5>(64);
        self.dma_rd_req_len.next = self.s_rd_req.out_data.val().get_bits::<13>(69);
        // DMA read completion.
        self.s_rd_cpl.in_valid.next = self.dma_rd_cpl_valid.val();
        self.dma_rd_cpl_ready.next = self.s_rd_cpl.in_ready.val();
        self.s_rd_cpl.in_data.next = bit_cast::<RD_CPL_BITS, DATA_BITS>(self.dma_rd_cpl_data.val())
            | (bit_cast::<RD_CPL_BITS, 5>(self.dma_rd_cpl_tag.val()) << 128)
            | (bit_cast::<RD_CPL_BITS, 1>(self.dma_rd_cpl_last.val().into()) << 133_u64)
            | (bit_cast::<RD_CPL_BITS, 1>(self.dma_rd_cpl_error.val().into()) << 134_u64);
        self.engine.dma_rd_cpl_valid.next = self.s_rd_cpl.out_valid.val();
        self.s_rd_cpl.out_ready.next = self.engine.dma_rd_cpl_ready.val();
        self.engine.dma_rd_cpl_data.next = self.s_rd_cpl.out_data.val().get_bits::<DATA_BITS>(0);
        self.engine.dma_rd_cpl_tag.next = self.s_rd_cpl.out_data.val().get_bits::<5>(128);
        self.engine.dma_rd_cpl_last.next = self.s_rd_cpl.out_data.val().get_bit(133);
        self.engine.dma_rd_cpl_error.next = self.s_rd_cpl.out_data.val().get_bit(134);
        // DMA posted write and its response.
        self.s_wr.in_valid.next = self.engine.dma_wr_valid.val();
        self.engine.dma_wr_ready.next = self.s_wr.in_ready.val();
        self.s_wr.in_data.next = bit_cast::<WR_BITS, DATA_BITS>(self.engine.dma_wr_data.val())
            | (bit_cast::<WR_BITS, 64>(self.engine.dma_wr_addr.val()) << 128)
            | (bit_cast::<WR_BITS, 13>(self.engine.dma_wr_len.val()) << 192)
            | (bit_cast::<WR_BITS, 1>(self.engine.dma_wr_last.val().into()) << 205_u64);
        self.dma_wr_valid.next = self.s_wr.out_valid.val();
        self.s_wr.out_ready.next = self.dma_wr_ready.val();
        self.dma_wr_data.next = self.s_wr.out_data.val().get_bits::<DATA_BITS>(0);
        self.dma_wr_addr.next = self.s_wr.out_data.val().get_bits::<64>(128);
        self.dma_wr_len.next = self.s_wr.out_data.val().get_bits::<13>(192);
        self.dma_wr_last.next = self.s_wr.out_data.val().get_bit(205);
        self.s_wr_rsp.in_valid.next = self.dma_wr_rsp_valid.val();
        self.dma_wr_rsp_ready.next = self.s_wr_rsp.in_ready.val();
        self.s_wr_rsp.in_data.next = bit_cast::<1, 1>(self.dma_wr_rsp_error.val().into());
        self.engine.dma_wr_rsp_valid.next = self.s_wr_rsp.out_valid.val();
        self.s_wr_rsp.out_ready.next = self.engine.dma_wr_rsp_ready.val();
        self.engine.dma_wr_rsp_error.next = self.s_wr_rsp.out_data.val().any();
        // Storage command.
        self.s_blk_cmd.in_valid.next = self.engine.blk_cmd_valid.val();
        self.engine.blk_cmd_ready.next = self.s_blk_cmd.in_ready.val();
        self.s_blk_cmd.in_data.next =
            bit_cast::<BLK_CMD_BITS, 64>(self.engine.blk_cmd_sector.val())
                | (bit_cast::<BLK_CMD_BITS, 32>(self.engine.blk_cmd_len.val()) << 64)
                | (bit_cast::<BLK_CMD_BITS, 5>(self.engine.blk_cmd_tag.val()) << 96)
                | (bit_cast::<BLK_CMD_BITS, 2>(self.engine.blk_cmd_op.val()) << 101);
        self.blk_cmd_valid.next = self.s_blk_cmd.out_valid.val();
        self.s_blk_cmd.out_ready.next = self.blk_cmd_ready.val();
        self.blk_cmd_sector.next = self.s_blk_cmd.out_data.val().get_bits::<64>(0);
        self.blk_cmd_len.next = self.s_blk_cmd.out_data.val().get_bits::<32>(64);
        self.blk_cmd_tag.next = self.s_blk_cmd.out_data.val().get_bits::<5>(96);
        self.blk_cmd_op.next = self.s_blk_cmd.out_data.val().get_bits::<2>(101);
        // Storage write data (device -> storage).
        self.s_blk_wr.in_valid.next = self.engine.blk_wr_valid.val();
        self.engine.blk_wr_ready.next = self.s_blk_wr.in_ready.val();
        self.s_blk_wr.in_data.next = bit_cast::<BLK_DATA_BITS, 128>(self.engine.blk_wr_data.val())
            | (bit_cast::<BLK_DATA_BITS, 5>(self.engine.blk_wr_tag.val()) << 128)
            | (bit_cast::<BLK_DATA_BITS, 1>(self.engine.blk_wr_last.val().into()) << 133);
        self.blk_wr_valid.next = self.s_blk_wr.out_valid.val();
        self.s_blk_wr.out_ready.next = self.blk_wr_ready.val();
        self.blk_wr_data.next = self.s_blk_wr.out_data.val().get_bits::<128>(0);
        self.blk_wr_tag.next = self.s_blk_wr.out_data.val().get_bits::<5>(128);
        self.blk_wr_last.next = self.s_blk_wr.out_data.val().get_bit(133);
        // Storage read data (storage -> device).
        self.s_blk_rd.in_valid.next = self.blk_rd_valid.val();
        self.blk_rd_ready.next = self.s_blk_rd.in_ready.val();
        self.s_blk_rd.in_data.next = bit_cast::<BLK_DATA_BITS, 128>(self.blk_rd_data.val())
            | (bit_cast::<BLK_DATA_BITS, 5>(self.blk_rd_tag.val()) << 128)
            | (bit_cast::<BLK_DATA_BITS, 1>(self.blk_rd_last.val().into()) << 133);
        self.engine.blk_rd_valid.next = self.s_blk_rd.out_valid.val();
        self.s_blk_rd.out_ready.next = self.engine.blk_rd_ready.val();
        self.engine.blk_rd_data.next = self.s_blk_rd.out_data.val().get_bits::<128>(0);
        self.engine.blk_rd_tag.next = self.s_blk_rd.out_data.val().get_bits::<5>(128);
        self.engine.blk_rd_last.next = self.s_blk_rd.out_data.val().get_bit(133);
        // Storage completion.
        self.s_blk_cpl.in_valid.next = self.blk_cpl_valid.val();
        self.blk_cpl_ready.next = self.s_blk_cpl.in_ready.val();
        self.s_blk_cpl.in_data.next = bit_cast::<BLK_CPL_BITS, 5>(self.blk_cpl_tag.val())
            | (bit_cast::<BLK_CPL_BITS, 8>(self.blk_cpl_status.val()) << 5);
        self.engine.blk_cpl_valid.next = self.s_blk_cpl.out_valid.val();
        self.s_blk_cpl.out_ready.next = self.engine.blk_cpl_ready.val();
        self.engine.blk_cpl_tag.next = self.s_blk_cpl.out_data.val().get_bits::<5>(0);
        self.engine.blk_cpl_status.next = self.s_blk_cpl.out_data.val().get_bits::<8>(5);
        // Register file <-> engine.
        self.engine.q_desc_0.next = self.bar0.q_desc[0].val();
        self.engine.q_desc_1.next = self.bar0.q_desc[1].val();
        self.engine.q_avail_0.next = self.bar0.q_avail[0].val();
        self.engine.q_avail_1.next = self.bar0.q_avail[1].val();
        self.engine.q_used_0.next = self.bar0.q_used[0].val();
        self.engine.q_used_1.next = self.bar0.q_used[1].val();
        self.engine.q_size_0.next = self.bar0.q_size[0].val();
        self.engine.q_size_1.next = self.bar0.q_size[1].val();
        self.engine.q_vector_0.next = self.bar0.q_vector[0].val();
        self.engine.q_vector_1.next = self.bar0.q_vector[1].val();
        self.engine.q_run_0.next = self.bar0.q_run[0].val();
        self.engine.q_run_1.next = self.bar0.q_run[1].val();
        self.engine.q_set_idx_0.next = self.bar0.q_set_idx[0].val();
        self.engine.q_set_idx_1.next = self.bar0.q_set_idx[1].val();
        self.engine.q_set_last_avail_0.next = self.bar0.q_set_last_avail.val();
        self.engine.q_set_last_avail_1.next = self.bar0.q_set_last_avail.val();
        self.engine.q_set_used_0.next = self.bar0.q_set_used.val();
        self.engine.q_set_used_1.next = self.bar0.q_set_used.val();
        self.engine.dma_enable.next = self.bar0.dma_enable.val();
        self.engine.event_idx.next = self.bar0.event_idx.val();
        self.engine.indirect_enable.next = self.bar0.indirect_enable.val();
        self.engine.notification_data.next = self.bar0.notification_data.val();
        self.engine.engine_reset.next = self.bar0.engine_reset.val();
        self.engine.blk_capacity.next = self.bar0.blk_capacity.val();
        self.engine.doorbell_valid.next = self.bar0.doorbell_valid.val();
        self.bar0.doorbell_ready.next = self.engine.doorbell_ready.val();
        self.engine.doorbell_queue.next = self.bar0.doorbell_queue.val();
        self.engine.doorbell_data.next = self.bar0.doorbell_data.val();
        self.bar0.q_last_avail[0].next = self.engine.q_last_avail_0.val();
        self.bar0.q_last_avail[1].next = self.engine.q_last_avail_1.val();
        self.bar0.q_used_idx[0].next = self.engine.q_used_idx_0.val();
        self.bar0.q_used_idx[1].next = self.engine.q_used_idx_1.val();
        self.bar0.q_inflight[0].next = self.engine.q_inflight_0.val();
        self.bar0.q_inflight[1].next = self.engine.q_inflight_1.val();
        self.bar0.idle.next = self.engine.idle.val();
        self.bar0.error.next = self.engine.error.val();
        self.bar0.error_pulse.next = self.engine.error_pulse.val();
        self.bar0.error_cause.next = self.engine.error_cause.val();
        self.bar0.error_queue.next = self.engine.error_queue.val();
        self.bar0.error_detail.next = self.engine.error_detail.val();
        self.bar0.cnt_requests.next = self.engine.cnt_requests.val();
        self.bar0.cnt_bytes_read.next = self.engine.cnt_bytes_read.val();
        self.bar0.cnt_bytes_written.next = self.engine.cnt_bytes_written.val();
        self.bar0.cnt_notifies.next = self.engine.cnt_notifies.val();
        self.bar0.cnt_dma_errors.next = self.engine.cnt_dma_errors.val();
        self.bar0.irq_valid.next = self.engine.irq_valid.val();
        self.engine.irq_ready.next = self.bar0.irq_ready.val();
        self.bar0.irq_queue.next = self.engine.irq_queue.val();
        self.bar0.irq_vector.next = self.engine.irq_vector.val();
        // Idle also needs every port register empty: a beat parked there
        // is work the core has not seen (or the host has not taken). The
        // management port's own are left out, as its accesses are: the
        // firmware polls forever, and what a write of its causes shows on
        // `idle` by the time its response arrives.
        self.idle.next = self.engine.idle.val()
            && !self.bar0.busy.val()
            && self.s_mmio_req.empty.val()
            && self.s_mmio_resp.empty.val()
            && self.s_msix.empty.val()
            && self.s_rd_req.empty.val()
            && self.s_rd_cpl.empty.val()
            && self.s_wr.empty.val()
            && self.s_wr_rsp.empty.val()
            && self.s_blk_cmd.empty.val()
            && self.s_blk_wr.empty.val()
            && self.s_blk_rd.empty.val()
            && self.s_blk_cpl.empty.val();
    }
}

/// Renames rust-hdl's module `top` (and its sub-modules `top$...`) to `name`.
pub fn rename_top(verilog: &str, name: &str) -> String {
    let mut out = String::with_capacity(verilog.len());
    for line in verilog.lines() {
        let line = line
            .replace("module top(", &format!("module {name}("))
            .replace("module top$", &format!("module {name}$"));
        // Instantiations: "top$child name(" at the start of a statement.
        let trimmed = line.trim_start();
        if trimmed.starts_with("top$") {
            let indent = &line[..line.len() - trimmed.len()];
            out.push_str(indent);
            out.push_str(name);
            out.push_str(&trimmed[3..]);
        } else {
            out.push_str(&line);
        }
        out.push('\n');
    }
    out
}

/// The Verilog of the blk personality's top level, module [`TOP_MODULE`].
pub fn blk_verilog() -> String {
    let mut uut = BlkTop::default();
    uut.connect_all();
    let header = format!(
        "// Generated by vfpga-hdl-gen from the vfpga-hdl crate; do not edit.\n\
         // virtio-blk function: queues = {}, MSI-X vectors = {}, queue size max = {},\n\
         // DMA data = {} bits, event FIFO = {} entries.\n",
        crate::mmio::NQ,
        crate::msix::NV,
        crate::mmio::QMAX,
        vfpga_abi::ports::DMA_DATA_BITS,
        vfpga_abi::mgmt::EVENT_FIFO_DEPTH,
    );
    header + &rename_top(&generate_verilog(&uut), TOP_MODULE)
}

/// Every file the generator writes, with its top module.
pub const VERILOG_TARGETS: [(&str, &str); 1] = [("vfpga_blk.v", TOP_MODULE)];

/// Every file the generator writes: (file name, top module, contents).
pub fn verilog_files() -> Vec<(String, &'static str, String)> {
    vec![(VERILOG_TARGETS[0].0.to_string(), TOP_MODULE, blk_verilog())]
}
