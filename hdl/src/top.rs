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
}

impl Logic for BlkTop {
    #[hdl_gen]
    fn update(&mut self) {
        self.bar0.clock.next = self.clock.val();
        self.engine.clock.next = self.clock.val();
        self.bar0.reset.next = self.reset.val();
        self.bar0.bus_master.next = self.bus_master.val();
        self.bar0.mmio_req_valid.next = self.mmio_req_valid.val();
        self.mmio_req_ready.next = self.bar0.mmio_req_ready.val();
        self.bar0.mmio_req_addr.next = self.mmio_req_addr.val();
        self.bar0.mmio_req_write.next = self.mmio_req_write.val();
        self.bar0.mmio_req_wdata.next = self.mmio_req_wdata.val();
        self.bar0.mmio_req_strb.next = self.mmio_req_strb.val();
        self.mmio_resp_valid.next = self.bar0.mmio_resp_valid.val();
        self.bar0.mmio_resp_ready.next = self.mmio_resp_ready.val();
        self.mmio_resp_rdata.next = self.bar0.mmio_resp_rdata.val();
        self.bar0.mgmt_req_valid.next = self.mgmt_req_valid.val();
        self.mgmt_req_ready.next = self.bar0.mgmt_req_ready.val();
        self.bar0.mgmt_req_addr.next = self.mgmt_req_addr.val();
        self.bar0.mgmt_req_write.next = self.mgmt_req_write.val();
        self.bar0.mgmt_req_wdata.next = self.mgmt_req_wdata.val();
        self.mgmt_resp_valid.next = self.bar0.mgmt_resp_valid.val();
        self.bar0.mgmt_resp_ready.next = self.mgmt_resp_ready.val();
        self.mgmt_resp_rdata.next = self.bar0.mgmt_resp_rdata.val();
        self.bar0.msix_enable.next = self.msix_enable.val();
        self.bar0.msix_function_mask.next = self.msix_function_mask.val();
        // blk posts no events of its own.
        self.bar0.ext_event_valid.next = false;
        self.bar0.ext_event_word.next = 0.into();
        self.msix_valid.next = self.bar0.msix_valid.val();
        self.bar0.msix_ready.next = self.msix_ready.val();
        self.msix_addr.next = self.bar0.msix_addr.val();
        self.msix_data.next = self.bar0.msix_data.val();
        self.msix_vector.next = self.bar0.msix_vector.val();
        self.dma_rd_req_valid.next = self.engine.dma_rd_req_valid.val();
        self.engine.dma_rd_req_ready.next = self.dma_rd_req_ready.val();
        self.dma_rd_req_tag.next = self.engine.dma_rd_req_tag.val();
        self.dma_rd_req_addr.next = self.engine.dma_rd_req_addr.val();
        self.dma_rd_req_len.next = self.engine.dma_rd_req_len.val();
        self.engine.dma_rd_cpl_valid.next = self.dma_rd_cpl_valid.val();
        self.dma_rd_cpl_ready.next = self.engine.dma_rd_cpl_ready.val();
        self.engine.dma_rd_cpl_tag.next = self.dma_rd_cpl_tag.val();
        self.engine.dma_rd_cpl_data.next = self.dma_rd_cpl_data.val();
        self.engine.dma_rd_cpl_last.next = self.dma_rd_cpl_last.val();
        self.engine.dma_rd_cpl_error.next = self.dma_rd_cpl_error.val();
        self.dma_wr_valid.next = self.engine.dma_wr_valid.val();
        self.engine.dma_wr_ready.next = self.dma_wr_ready.val();
        self.dma_wr_addr.next = self.engine.dma_wr_addr.val();
        self.dma_wr_len.next = self.engine.dma_wr_len.val();
        self.dma_wr_data.next = self.engine.dma_wr_data.val();
        self.dma_wr_last.next = self.engine.dma_wr_last.val();
        self.engine.dma_wr_rsp_valid.next = self.dma_wr_rsp_valid.val();
        self.dma_wr_rsp_ready.next = self.engine.dma_wr_rsp_ready.val();
        self.engine.dma_wr_rsp_error.next = self.dma_wr_rsp_error.val();
        self.blk_cmd_valid.next = self.engine.blk_cmd_valid.val();
        self.engine.blk_cmd_ready.next = self.blk_cmd_ready.val();
        self.blk_cmd_tag.next = self.engine.blk_cmd_tag.val();
        self.blk_cmd_op.next = self.engine.blk_cmd_op.val();
        self.blk_cmd_sector.next = self.engine.blk_cmd_sector.val();
        self.blk_cmd_len.next = self.engine.blk_cmd_len.val();
        self.blk_wr_valid.next = self.engine.blk_wr_valid.val();
        self.engine.blk_wr_ready.next = self.blk_wr_ready.val();
        self.blk_wr_tag.next = self.engine.blk_wr_tag.val();
        self.blk_wr_data.next = self.engine.blk_wr_data.val();
        self.blk_wr_last.next = self.engine.blk_wr_last.val();
        self.engine.blk_rd_valid.next = self.blk_rd_valid.val();
        self.blk_rd_ready.next = self.engine.blk_rd_ready.val();
        self.engine.blk_rd_tag.next = self.blk_rd_tag.val();
        self.engine.blk_rd_data.next = self.blk_rd_data.val();
        self.engine.blk_rd_last.next = self.blk_rd_last.val();
        self.engine.blk_cpl_valid.next = self.blk_cpl_valid.val();
        self.blk_cpl_ready.next = self.engine.blk_cpl_ready.val();
        self.engine.blk_cpl_tag.next = self.blk_cpl_tag.val();
        self.engine.blk_cpl_status.next = self.blk_cpl_status.val();
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
        self.idle.next = self.engine.idle.val() && !self.bar0.busy.val();
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
