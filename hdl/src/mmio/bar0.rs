//! The register file and the MSI-X block wired together: the whole BAR0
//! function minus the datapath engine. The top level adds the engine to it;
//! on its own it is written out as `vfpga_blk_regs.v`.

use rust_hdl::prelude::*;

use super::{MGMT_ADDR_BITS, MMIO_ADDR_BITS, RegFile};
use crate::msix::Msix;

/// BAR0 target, management port and MSI-X, with the engine-facing ports of
/// [`RegFile`] and the engine's interrupt request channel.
#[derive(LogicBlock, Debug)]
pub struct Bar0<const NQ: usize = { super::NQ }> {
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
    /// Per queue: descriptor table address.
    pub q_desc: [Signal<Out, Bits<64>>; NQ],
    /// Per queue: avail ring address.
    pub q_avail: [Signal<Out, Bits<64>>; NQ],
    /// Per queue: used ring address.
    pub q_used: [Signal<Out, Bits<64>>; NQ],
    /// Per queue: size the driver wrote.
    pub q_size: [Signal<Out, Bits<16>>; NQ],
    /// Per queue: MSI-X vector the driver wrote.
    pub q_vector: [Signal<Out, Bits<16>>; NQ],
    /// Per queue: the engine may fetch (mgmt Q_RUN and no vendor stop).
    pub q_run: [Signal<Out, Bit>; NQ],
    /// Per queue: one-cycle pulse loading `q_set_last_avail` / `q_set_used`.
    pub q_set_idx: [Signal<Out, Bit>; NQ],
    /// Value for last_avail_idx with `q_set_idx`.
    pub q_set_last_avail: Signal<Out, Bits<16>>,
    /// Value for used_idx with `q_set_idx`.
    pub q_set_used: Signal<Out, Bits<16>>,
    /// mgmt ENGINE_CTRL.DMA_ENABLE and Bus Master Enable.
    pub dma_enable: Signal<Out, Bit>,
    /// mgmt ENGINE_CTRL.EVENT_IDX.
    pub event_idx: Signal<Out, Bit>,
    /// mgmt ENGINE_CTRL.INDIRECT.
    pub indirect_enable: Signal<Out, Bit>,
    /// mgmt ENGINE_CTRL.NOTIFICATION_DATA.
    pub notification_data: Signal<Out, Bit>,
    /// One-cycle pulse: clear every queue's engine state and the error.
    pub engine_reset: Signal<Out, Bit>,
    /// Capacity in sectors, device-config bytes 0..8.
    pub blk_capacity: Signal<Out, Bits<64>>,
    /// Doorbell: valid.
    pub doorbell_valid: Signal<Out, Bit>,
    /// Doorbell: ready.
    pub doorbell_ready: Signal<In, Bit>,
    /// Doorbell: queue.
    pub doorbell_queue: Signal<Out, Bits<16>>,
    /// Doorbell: the raw value the driver wrote (bytes not enabled read 0).
    pub doorbell_data: Signal<Out, Bits<32>>,
    /// Per queue from the engine: last_avail_idx.
    pub q_last_avail: [Signal<In, Bits<16>>; NQ],
    /// Per queue from the engine: used_idx.
    pub q_used_idx: [Signal<In, Bits<16>>; NQ],
    /// Per queue from the engine: chains in flight.
    pub q_inflight: [Signal<In, Bits<16>>; NQ],
    /// Engine: idle.
    pub idle: Signal<In, Bit>,
    /// Engine: sticky error.
    pub error: Signal<In, Bit>,
    /// Engine: one cycle when the error becomes set.
    pub error_pulse: Signal<In, Bit>,
    /// Engine: error cause.
    pub error_cause: Signal<In, Bits<8>>,
    /// Engine: error queue.
    pub error_queue: Signal<In, Bits<8>>,
    /// Engine: error detail.
    pub error_detail: Signal<In, Bits<32>>,
    /// Engine counter: requests.
    pub cnt_requests: Signal<In, Bits<64>>,
    /// Engine counter: data bytes read from host memory.
    pub cnt_bytes_read: Signal<In, Bits<64>>,
    /// Engine counter: data bytes written to host memory.
    pub cnt_bytes_written: Signal<In, Bits<64>>,
    /// Engine counter: doorbells accepted.
    pub cnt_notifies: Signal<In, Bits<64>>,
    /// Engine counter: DMA errors.
    pub cnt_dma_errors: Signal<In, Bits<64>>,
    /// MSI-X Enable (PCI capability, from the PCIe IP).
    pub msix_enable: Signal<In, Bit>,
    /// MSI-X Function Mask (PCI capability, from the PCIe IP).
    pub msix_function_mask: Signal<In, Bit>,
    /// Engine interrupt request: valid.
    pub irq_valid: Signal<In, Bit>,
    /// Engine interrupt request: ready.
    pub irq_ready: Signal<Out, Bit>,
    /// Engine interrupt request: queue.
    pub irq_queue: Signal<In, Bits<16>>,
    /// Engine interrupt request: MSI-X vector.
    pub irq_vector: Signal<In, Bits<16>>,
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
    /// An event for the firmware from the device function: valid.
    pub ext_event_valid: Signal<In, Bit>,
    /// The event is taken this cycle.
    pub ext_event_ready: Signal<Out, Bit>,
    /// The event word.
    pub ext_event_word: Signal<In, Bits<32>>,
    /// Work held here: [`RegFile`]'s `busy` or [`Msix`]'s `busy`.
    pub busy: Signal<Out, Bit>,
    /// [`RegFile`]'s `attention`: an event waits for the firmware.
    pub attention: Signal<Out, Bit>,
    /// The register file.
    pub regs: RegFile<NQ>,
    /// The MSI-X block.
    pub msix: Msix,
}

impl<const NQ: usize> Default for Bar0<NQ> {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            reset: Default::default(),
            bus_master: Default::default(),
            mmio_req_valid: Default::default(),
            mmio_req_ready: Default::default(),
            mmio_req_addr: Default::default(),
            mmio_req_write: Default::default(),
            mmio_req_wdata: Default::default(),
            mmio_req_strb: Default::default(),
            mmio_resp_valid: Default::default(),
            mmio_resp_ready: Default::default(),
            mmio_resp_rdata: Default::default(),
            mgmt_req_valid: Default::default(),
            mgmt_req_ready: Default::default(),
            mgmt_req_addr: Default::default(),
            mgmt_req_write: Default::default(),
            mgmt_req_wdata: Default::default(),
            mgmt_resp_valid: Default::default(),
            mgmt_resp_ready: Default::default(),
            mgmt_resp_rdata: Default::default(),
            q_desc: core::array::from_fn(|_| Default::default()),
            q_avail: core::array::from_fn(|_| Default::default()),
            q_used: core::array::from_fn(|_| Default::default()),
            q_size: core::array::from_fn(|_| Default::default()),
            q_vector: core::array::from_fn(|_| Default::default()),
            q_run: core::array::from_fn(|_| Default::default()),
            q_set_idx: core::array::from_fn(|_| Default::default()),
            q_set_last_avail: Default::default(),
            q_set_used: Default::default(),
            dma_enable: Default::default(),
            event_idx: Default::default(),
            indirect_enable: Default::default(),
            notification_data: Default::default(),
            engine_reset: Default::default(),
            blk_capacity: Default::default(),
            doorbell_valid: Default::default(),
            doorbell_ready: Default::default(),
            doorbell_queue: Default::default(),
            doorbell_data: Default::default(),
            q_last_avail: core::array::from_fn(|_| Default::default()),
            q_used_idx: core::array::from_fn(|_| Default::default()),
            q_inflight: core::array::from_fn(|_| Default::default()),
            idle: Default::default(),
            error: Default::default(),
            error_pulse: Default::default(),
            error_cause: Default::default(),
            error_queue: Default::default(),
            error_detail: Default::default(),
            cnt_requests: Default::default(),
            cnt_bytes_read: Default::default(),
            cnt_bytes_written: Default::default(),
            cnt_notifies: Default::default(),
            cnt_dma_errors: Default::default(),
            msix_enable: Default::default(),
            msix_function_mask: Default::default(),
            irq_valid: Default::default(),
            irq_ready: Default::default(),
            irq_queue: Default::default(),
            irq_vector: Default::default(),
            msix_valid: Default::default(),
            msix_ready: Default::default(),
            msix_addr: Default::default(),
            msix_data: Default::default(),
            msix_vector: Default::default(),
            ext_event_valid: Default::default(),
            ext_event_ready: Default::default(),
            ext_event_word: Default::default(),
            busy: Default::default(),
            attention: Default::default(),
            regs: Default::default(),
            msix: Default::default(),
        }
    }
}

impl<const NQ: usize> Logic for Bar0<NQ> {
    #[hdl_gen]
    fn update(&mut self) {
        self.regs.clock.next = self.clock.val();
        self.msix.clock.next = self.clock.val();
        self.regs.reset.next = self.reset.val();
        self.regs.bus_master.next = self.bus_master.val();
        self.regs.mmio_req_valid.next = self.mmio_req_valid.val();
        self.mmio_req_ready.next = self.regs.mmio_req_ready.val();
        self.regs.mmio_req_addr.next = self.mmio_req_addr.val();
        self.regs.mmio_req_write.next = self.mmio_req_write.val();
        self.regs.mmio_req_wdata.next = self.mmio_req_wdata.val();
        self.regs.mmio_req_strb.next = self.mmio_req_strb.val();
        self.mmio_resp_valid.next = self.regs.mmio_resp_valid.val();
        self.regs.mmio_resp_ready.next = self.mmio_resp_ready.val();
        self.mmio_resp_rdata.next = self.regs.mmio_resp_rdata.val();
        self.regs.mgmt_req_valid.next = self.mgmt_req_valid.val();
        self.mgmt_req_ready.next = self.regs.mgmt_req_ready.val();
        self.regs.mgmt_req_addr.next = self.mgmt_req_addr.val();
        self.regs.mgmt_req_write.next = self.mgmt_req_write.val();
        self.regs.mgmt_req_wdata.next = self.mgmt_req_wdata.val();
        self.mgmt_resp_valid.next = self.regs.mgmt_resp_valid.val();
        self.regs.mgmt_resp_ready.next = self.mgmt_resp_ready.val();
        self.mgmt_resp_rdata.next = self.regs.mgmt_resp_rdata.val();
        self.q_set_last_avail.next = self.regs.q_set_last_avail.val();
        self.q_set_used.next = self.regs.q_set_used.val();
        self.dma_enable.next = self.regs.dma_enable.val();
        self.event_idx.next = self.regs.event_idx.val();
        self.indirect_enable.next = self.regs.indirect_enable.val();
        self.notification_data.next = self.regs.notification_data.val();
        self.engine_reset.next = self.regs.engine_reset.val();
        self.blk_capacity.next = self.regs.blk_capacity.val();
        self.doorbell_valid.next = self.regs.doorbell_valid.val();
        self.regs.doorbell_ready.next = self.doorbell_ready.val();
        self.doorbell_queue.next = self.regs.doorbell_queue.val();
        self.doorbell_data.next = self.regs.doorbell_data.val();
        self.regs.idle.next = self.idle.val();
        self.regs.error.next = self.error.val();
        self.regs.error_pulse.next = self.error_pulse.val();
        self.regs.error_cause.next = self.error_cause.val();
        self.regs.error_queue.next = self.error_queue.val();
        self.regs.error_detail.next = self.error_detail.val();
        self.regs.cnt_requests.next = self.cnt_requests.val();
        self.regs.cnt_bytes_read.next = self.cnt_bytes_read.val();
        self.regs.cnt_bytes_written.next = self.cnt_bytes_written.val();
        self.regs.cnt_notifies.next = self.cnt_notifies.val();
        self.regs.cnt_dma_errors.next = self.cnt_dma_errors.val();
        for i in 0..NQ {
            self.q_desc[i].next = self.regs.q_desc[i].val();
            self.q_avail[i].next = self.regs.q_avail[i].val();
            self.q_used[i].next = self.regs.q_used[i].val();
            self.q_size[i].next = self.regs.q_size[i].val();
            self.q_vector[i].next = self.regs.q_vector[i].val();
            self.q_run[i].next = self.regs.q_run[i].val();
            self.q_set_idx[i].next = self.regs.q_set_idx[i].val();
            self.regs.q_last_avail[i].next = self.q_last_avail[i].val();
            self.regs.q_used_idx[i].next = self.q_used_idx[i].val();
            self.regs.q_inflight[i].next = self.q_inflight[i].val();
        }
        // Register file <-> MSI-X.
        self.msix.reset.next = self.reset.val();
        self.msix.msix_enable.next = self.msix_enable.val();
        self.msix.function_mask.next = self.msix_function_mask.val();
        self.msix.reg_addr.next = self.regs.msix_reg_addr.val();
        self.msix.reg_write.next = self.regs.msix_reg_write.val();
        self.msix.reg_wdata.next = self.regs.msix_reg_wdata.val();
        self.msix.reg_strb.next = self.regs.msix_reg_strb.val();
        self.regs.msix_table_rdata.next = self.msix.table_rdata.val();
        self.regs.msix_pba.next = self.msix.pba.val();
        self.regs.isr.next = self.msix.isr.val();
        self.msix.isr_read_clear.next = self.regs.isr_read_clear.val();
        self.msix.config_irq.next = self.regs.config_irq.val();
        self.msix.config_vector.next = self.regs.config_vector.val();
        self.msix.clear.next = self.regs.msix_clear.val();
        self.regs.interrupts.next = self.msix.interrupts.val();
        // Engine interrupt requests and MSI-X messages.
        self.msix.irq_valid.next = self.irq_valid.val();
        self.irq_ready.next = self.msix.irq_ready.val();
        self.msix.irq_queue.next = self.irq_queue.val();
        self.msix.irq_vector.next = self.irq_vector.val();
        self.msix_valid.next = self.msix.msg_valid.val();
        self.msix.msg_ready.next = self.msix_ready.val();
        self.msix_addr.next = self.msix.msg_addr.val();
        self.msix_data.next = self.msix.msg_data.val();
        self.msix_vector.next = self.msix.msg_vector.val();
        self.regs.ext_event_valid.next = self.ext_event_valid.val();
        self.ext_event_ready.next = self.regs.ext_event_ready.val();
        self.regs.ext_event_word.next = self.ext_event_word.val();
        self.busy.next = self.regs.busy.val() || self.msix.busy.val();
        self.attention.next = self.regs.attention.val();
    }
}
