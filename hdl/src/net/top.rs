//! The net personality's top level: the BAR0 function ([`crate::mmio::Bar0`]:
//! register file, management port, MSI-X) over five queues and
//! [`NetEngine`] (two queue pairs and the control queue), with the external
//! channels of [`crate::top::BlkTop`] minus the storage port, plus the MAC
//! TX and RX streams. The management port also reaches the net registers
//! (`vfpga_abi::mgmt::net`) of the engine.
//!
//! `vfpga-hdl-gen` writes it to `hdl/verilog/vfpga_net.v` as module
//! `vfpga_net`.

use rust_hdl::prelude::*;

use crate::dma::master::DATA_BITS;
use crate::mmio::{Bar0, MGMT_ADDR_BITS, MMIO_ADDR_BITS};
use crate::net::NetEngine;
use crate::net::engine::NQ;
use crate::top::rename_top;

/// Name of the net top-level Verilog module (and file stem).
pub const NET_TOP_MODULE: &str = "vfpga_net";
/// The file `vfpga-hdl-gen` writes the net function to.
pub const NET_VERILOG_FILE: &str = "vfpga_net.v";

const _: () = assert!(vfpga_abi::mgmt::net::FIRST == 0x60 && vfpga_abi::mgmt::net::LAST == 0x6f);
const _: () = assert!(vfpga_abi::mgmt::PERSONALITY == 1);
const _: () = assert!(vfpga_abi::Personality::Net.device_type() == 1);

/// The net function: BAR0 target + MSI-X + net engine.
#[derive(LogicBlock, Default, Debug)]
pub struct NetTop {
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
    /// MAC TX (`vfpga_abi::ports::NetBeat`, device -> MAC): valid.
    pub mac_tx_valid: Signal<Out, Bit>,
    /// MAC TX: ready.
    pub mac_tx_ready: Signal<In, Bit>,
    /// MAC TX: data, first byte in bits 7:0.
    pub mac_tx_data: Signal<Out, Bits<128>>,
    /// MAC TX: valid bytes in the beat (1..=16, less than 16 only on the last).
    pub mac_tx_bytes: Signal<Out, Bits<5>>,
    /// MAC TX: last beat of the frame.
    pub mac_tx_last: Signal<Out, Bit>,
    /// MAC RX (MAC -> device): valid.
    pub mac_rx_valid: Signal<In, Bit>,
    /// MAC RX: ready (low only while a frame waits for RX buffers).
    pub mac_rx_ready: Signal<Out, Bit>,
    /// MAC RX: data.
    pub mac_rx_data: Signal<In, Bits<128>>,
    /// MAC RX: valid bytes in the beat.
    pub mac_rx_bytes: Signal<In, Bits<5>>,
    /// MAC RX: last beat of the frame.
    pub mac_rx_last: Signal<In, Bit>,
    /// The function holds no work: no chain in flight on any queue, no
    /// doorbell latched on a running queue, the DMA master drained (no read
    /// outstanding, every posted write answered), no storage command in
    /// flight, no MSI-X message or management event pending, no driver
    /// access in progress. With every input channel quiet in a cycle where
    /// `idle` is high, the state stays idle until an input arrives, so a
    /// simulator (or a clock gate) may stop the clock there.
    pub idle: Signal<Out, Bit>,
    /// Register file, management port and MSI-X.
    pub bar0: Bar0<NQ>,
    /// The virtio-net datapath engine.
    pub engine: NetEngine,
    net_rd: DFF<Bit>,
    pers_rd: DFF<Bit>,
    net_rd_addr: DFF<Bits<8>>,
    net_hit: Signal<Local, Bit>,
}

impl Logic for NetTop {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, net_rd, pers_rd, net_rd_addr);
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
        // Net registers (vfpga_abi::mgmt::net, 0x60..=0x6F) live in the
        // engine: a write is passed on as it is accepted; a read is
        // answered by the register file's response (0 for an address it
        // does not implement) with the engine's value put in.
        self.net_hit.next =
            (self.mgmt_req_addr.val() >= 0x60) && (self.mgmt_req_addr.val() <= 0x6f);
        self.engine.reg_write.next = self.mgmt_req_valid.val()
            && self.bar0.mgmt_req_ready.val()
            && self.mgmt_req_write.val()
            && self.net_hit.val();
        // The address of a read being answered, but a write's own address
        // in the cycle it is taken (that read's response is gone by then).
        self.engine.reg_addr.next = self.mgmt_req_addr.val();
        if self.net_rd.q.val() && !self.engine.reg_write.val() {
            self.engine.reg_addr.next = self.net_rd_addr.q.val();
        }
        self.engine.reg_wdata.next = self.mgmt_req_wdata.val();
        if self.mgmt_req_valid.val() && self.bar0.mgmt_req_ready.val() {
            self.net_rd.d.next = !self.mgmt_req_write.val() && self.net_hit.val();
            self.net_rd_addr.d.next = self.mgmt_req_addr.val();
            // PERSONALITY: the shared register file says blk; this is net.
            self.pers_rd.d.next = !self.mgmt_req_write.val() && (self.mgmt_req_addr.val() == 1);
        }
        self.mgmt_resp_rdata.next = self.bar0.mgmt_resp_rdata.val();
        if self.net_rd.q.val() {
            self.mgmt_resp_rdata.next = self.engine.reg_rdata.val();
        }
        if self.pers_rd.q.val() {
            self.mgmt_resp_rdata.next = 1.into();
        }
        self.mgmt_irq.next = self.bar0.attention.val();
        self.bar0.msix_enable.next = self.msix_enable.val();
        self.bar0.msix_function_mask.next = self.msix_function_mask.val();
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
        // Register file <-> engine.
        for i in 0..NQ {
            self.engine.q_desc[i].next = self.bar0.q_desc[i].val();
            self.engine.q_avail[i].next = self.bar0.q_avail[i].val();
            self.engine.q_used[i].next = self.bar0.q_used[i].val();
            self.engine.q_size[i].next = self.bar0.q_size[i].val();
            self.engine.q_vector[i].next = self.bar0.q_vector[i].val();
            self.engine.q_run[i].next = self.bar0.q_run[i].val();
            self.engine.q_set_idx[i].next = self.bar0.q_set_idx[i].val();
            self.bar0.q_last_avail[i].next = self.engine.q_last_avail[i].val();
            self.bar0.q_used_idx[i].next = self.engine.q_used_idx[i].val();
            self.bar0.q_inflight[i].next = self.engine.q_inflight[i].val();
        }
        self.engine.q_set_last_avail.next = self.bar0.q_set_last_avail.val();
        self.engine.q_set_used.next = self.bar0.q_set_used.val();
        self.bar0.ext_event_valid.next = self.engine.event_valid.val();
        self.engine.event_ready.next = self.bar0.ext_event_ready.val();
        self.bar0.ext_event_word.next = self.engine.event_word.val();
        self.engine.dma_enable.next = self.bar0.dma_enable.val();
        self.engine.event_idx.next = self.bar0.event_idx.val();
        self.engine.indirect_enable.next = self.bar0.indirect_enable.val();
        self.engine.engine_reset.next = self.bar0.engine_reset.val();
        self.engine.net_reset.next = self.reset.val();
        self.engine.doorbell_valid.next = self.bar0.doorbell_valid.val();
        self.bar0.doorbell_ready.next = self.engine.doorbell_ready.val();
        self.engine.doorbell_queue.next = self.bar0.doorbell_queue.val();
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
        self.mac_tx_valid.next = self.engine.mac_tx_valid.val();
        self.engine.mac_tx_ready.next = self.mac_tx_ready.val();
        self.mac_tx_data.next = self.engine.mac_tx_data.val();
        self.mac_tx_bytes.next = self.engine.mac_tx_bytes.val();
        self.mac_tx_last.next = self.engine.mac_tx_last.val();
        self.engine.mac_rx_valid.next = self.mac_rx_valid.val();
        self.mac_rx_ready.next = self.engine.mac_rx_ready.val();
        self.engine.mac_rx_data.next = self.mac_rx_data.val();
        self.engine.mac_rx_bytes.next = self.mac_rx_bytes.val();
        self.engine.mac_rx_last.next = self.mac_rx_last.val();
        self.idle.next = self.engine.idle.val() && !self.bar0.busy.val();
    }
}

/// The Verilog of the net personality's top level, module [`NET_TOP_MODULE`].
pub fn net_verilog() -> String {
    let mut uut = NetTop::default();
    uut.connect_all();
    let header = format!(
        "// Generated by vfpga-hdl-gen from the vfpga-hdl crate; do not edit.\n\
         // virtio-net function: queue pairs = {} + control queue (queues = {}), MSI-X vectors = {},\n\
         // queue size max = {}, DMA data = {} bits, MAC table = {} entries.\n",
        vfpga_abi::net::MAX_QUEUE_PAIRS,
        NQ,
        crate::msix::NV,
        crate::mmio::QMAX,
        vfpga_abi::ports::DMA_DATA_BITS,
        crate::net::filter::TABLE_ENTRIES,
    );
    header + &rename_top(&generate_verilog(&uut), NET_TOP_MODULE)
}

/// What the generator writes for the net function: (file, top module, text).
pub fn verilog_files() -> Vec<(String, &'static str, String)> {
    vec![(NET_VERILOG_FILE.to_string(), NET_TOP_MODULE, net_verilog())]
}
