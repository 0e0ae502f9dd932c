//! The register file: BAR0 target (driver side) and management port
//! (firmware side), with the state both sides share.
//!
//! Both ports are valid/ready request/response channels with a small state
//! machine each (idle, wait one cycle for the device-config RAM, execute,
//! respond). The MMIO port answers reads only; the management port answers
//! every access (writes with 0). Where both ports touch the same state in one
//! cycle, the management port's effect comes first, then the driver's (so a
//! driver write that raises a new event keeps its pending bit), then an
//! engine reset, then the reset input.
//!
//! The offsets below are literals because rust-hdl's kernels cannot name
//! Rust constants; the `const` assertions tie each one to vfpga-abi.

use rust_hdl::prelude::*;
use vfpga_abi::{bar0, common_cfg as cc, mgmt, vendor};

use super::{DEVCFG_ADDR_BITS, EventFifo, MGMT_ADDR_BITS, MMIO_ADDR_BITS, QMAX};
use crate::msix::{NV, TABLE_ADDR_BITS};

// BAR0 regions: the page number is offset bits 14:12.
const _: () = assert!(bar0::COMMON_CFG == 0 << 12);
const _: () = assert!(bar0::ISR == 1 << 12);
const _: () = assert!(bar0::DEVICE_CFG == 2 << 12);
const _: () = assert!(bar0::NOTIFY == 3 << 12);
const _: () = assert!(bar0::VENDOR == 4 << 12);
const _: () = assert!(bar0::MSIX_TABLE == 5 << 12);
const _: () = assert!(bar0::MSIX_PBA == 6 << 12);
const _: () = assert!(bar0::DEVICE_CFG_LEN == 0x100);
const _: () = assert!(bar0::NOTIFY_OFF_MULTIPLIER == 4);
const _: () = assert!(bar0::MSIX_TABLE_LEN == 0x80);
// Common configuration dwords.
const _: () = assert!(cc::DEVICE_FEATURE_SELECT == 0x00 && cc::DEVICE_FEATURE == 0x04);
const _: () = assert!(cc::DRIVER_FEATURE_SELECT == 0x08 && cc::DRIVER_FEATURE == 0x0C);
const _: () = assert!(cc::CONFIG_MSIX_VECTOR == 0x10 && cc::NUM_QUEUES == 0x12);
const _: () = assert!(cc::DEVICE_STATUS == 0x14 && cc::CONFIG_GENERATION == 0x15);
const _: () = assert!(cc::QUEUE_SELECT == 0x16 && cc::QUEUE_SIZE == 0x18);
const _: () = assert!(cc::QUEUE_MSIX_VECTOR == 0x1A && cc::QUEUE_ENABLE == 0x1C);
const _: () = assert!(cc::QUEUE_NOTIFY_OFF == 0x1E && cc::QUEUE_DESC == 0x20);
const _: () = assert!(cc::QUEUE_DRIVER == 0x28 && cc::QUEUE_DEVICE == 0x30);
const _: () = assert!(cc::QUEUE_NOTIFY_DATA == 0x38 && cc::QUEUE_RESET == 0x3A);
const _: () = assert!(cc::NO_VECTOR == 0xFFFF);
// Vendor region.
const _: () = assert!(vendor::MAGIC == 0 && vendor::VERSION == 4 && vendor::NUM_QUEUES == 8);
const _: () = assert!(vendor::FW_STATUS == 0xC && vendor::ERROR_CAUSE == 0x10);
const _: () = assert!(vendor::ERROR_QUEUE == 0x14 && vendor::ERROR_DETAIL == 0x18);
const _: () = assert!(vendor::COUNTERS == 0x40 && vendor::NUM_COUNTERS == 8);
const _: () = assert!(vendor::FIRST_FW_COUNTER == 6);
const _: () = assert!(vendor::QUEUES == 0x100 && vendor::QUEUE_STRIDE == 0x10);
const _: () = assert!(vendor::Q_CONTROL == 0 && vendor::Q_LAST_AVAIL_IDX == 4);
const _: () = assert!(vendor::Q_USED_IDX == 6 && vendor::Q_INFLIGHT == 8);
const _: () = assert!(vendor::MAGIC_VALUE == 0x4750_4656 && vendor::VERSION_VALUE == 1);
// Management registers.
const _: () = assert!(mgmt::ID == 0x00 && mgmt::PERSONALITY == 0x01);
const _: () = assert!(mgmt::NUM_QUEUES == 0x02 && mgmt::QUEUE_SIZE_MAX == 0x03);
const _: () = assert!(mgmt::EVENT == 0x04 && mgmt::EVENT_COUNT == 0x05);
const _: () = assert!(mgmt::DEVICE_STATUS == 0x08 && mgmt::CONFIG_GENERATION == 0x09);
const _: () = assert!(mgmt::DEVICE_FEATURE_LO == 0x0A && mgmt::DEVICE_FEATURE_HI == 0x0B);
const _: () = assert!(mgmt::DRIVER_FEATURE_LO == 0x0C && mgmt::DRIVER_FEATURE_HI == 0x0D);
const _: () = assert!(mgmt::CONFIG_MSIX_VECTOR == 0x0E && mgmt::ENGINE_CTRL == 0x10);
const _: () = assert!(mgmt::ENGINE_STATUS == 0x11 && mgmt::ERROR_CAUSE == 0x12);
const _: () = assert!(mgmt::ERROR_QUEUE == 0x13 && mgmt::ERROR_DETAIL == 0x14);
const _: () = assert!(mgmt::ENGINE_RESET == 0x15 && mgmt::CONFIG_IRQ == 0x16);
const _: () = assert!(mgmt::FW_STATUS == 0x17 && mgmt::QUEUE_SEL == 0x20);
const _: () = assert!(mgmt::Q_SIZE == 0x21 && mgmt::Q_MSIX_VECTOR == 0x22);
const _: () = assert!(mgmt::Q_DESC_LO == 0x23 && mgmt::Q_DESC_HI == 0x24);
const _: () = assert!(mgmt::Q_DRIVER_LO == 0x25 && mgmt::Q_DRIVER_HI == 0x26);
const _: () = assert!(mgmt::Q_DEVICE_LO == 0x27 && mgmt::Q_DEVICE_HI == 0x28);
const _: () = assert!(mgmt::Q_ENABLE == 0x29 && mgmt::Q_RUN == 0x2A);
const _: () = assert!(mgmt::Q_LAST_AVAIL_IDX == 0x2B && mgmt::Q_USED_IDX == 0x2C);
const _: () = assert!(mgmt::Q_INFLIGHT == 0x2D && mgmt::DEVCFG_ADDR == 0x30);
const _: () = assert!(mgmt::DEVCFG_DATA == 0x31 && mgmt::FW_COUNTERS == 0x40);
const _: () = assert!(mgmt::HW_COUNTERS == 0x48);
// Event kinds.
const _: () = assert!(mgmt::EventKind::StatusWrite as u8 == 1);
const _: () = assert!(mgmt::EventKind::QueueEnable as u8 == 2);
const _: () = assert!(mgmt::EventKind::QueueReset as u8 == 3);
const _: () = assert!(mgmt::EventKind::EngineError as u8 == 4);
const _: () = assert!(mgmt::EventKind::VendorQueueControl as u8 == 5);
const _: () = assert!(mgmt::EventKind::DriverFeature as u8 == 6);
// Literals in the kernel that depend on parameters.
const _: () = assert!(QMAX == 256);
const _: () = assert!(NV == 8);
const _: () = assert!(vfpga_abi::Personality::Blk.device_type() == 2);
const _: () = assert!(vfpga_abi::blk::config::CAPACITY == 0);

/// State of the MMIO port.
#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
pub enum MState {
    /// Waiting for a request.
    Idle,
    /// One cycle for the device-config RAM to read.
    Wait,
    /// Executes the access; a held read stays here.
    Exec,
    /// Presents the read response.
    Resp,
}

/// State of the management port.
#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
pub enum GState {
    /// Waiting for a request.
    Idle,
    /// One cycle for the device-config RAM to read.
    Wait,
    /// Executes the access.
    Exec,
    /// Presents the response.
    Resp,
}

/// The register file. Port groups: MMIO (driver), management (firmware),
/// engine (queue configuration out, ring state and status in), MSI-X block.
/// `NQ` queues (`NUM_QUEUES` reads it; at most `vendor::MAX_QUEUES`).
#[derive(LogicBlock)]
pub struct RegFile<const NQ: usize = { super::NQ }> {
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

    /// To MSI-X: table dword index.
    pub msix_reg_addr: Signal<Out, Bits<TABLE_ADDR_BITS>>,
    /// To MSI-X: table write strobe.
    pub msix_reg_write: Signal<Out, Bit>,
    /// To MSI-X: write data.
    pub msix_reg_wdata: Signal<Out, Bits<32>>,
    /// To MSI-X: byte enables.
    pub msix_reg_strb: Signal<Out, Bits<4>>,
    /// From MSI-X: table dword at `msix_reg_addr`.
    pub msix_table_rdata: Signal<In, Bits<32>>,
    /// From MSI-X: pending bits.
    pub msix_pba: Signal<In, Bits<NV>>,
    /// From MSI-X: ISR bits.
    pub isr: Signal<In, Bits<2>>,
    /// To MSI-X: the driver read ISR (clear).
    pub isr_read_clear: Signal<Out, Bit>,
    /// To MSI-X: configuration interrupt pulse.
    pub config_irq: Signal<Out, Bit>,
    /// To MSI-X: config_msix_vector.
    pub config_vector: Signal<Out, Bits<16>>,
    /// To MSI-X: clear ISR and pending bits (engine reset).
    pub msix_clear: Signal<Out, Bit>,
    /// From MSI-X: messages sent.
    pub interrupts: Signal<In, Bits<64>>,
    /// An event from the device function for the firmware (e.g.
    /// `EventKind::NetCtrl`): valid, held until `ext_event_ready`.
    pub ext_event_valid: Signal<In, Bit>,
    /// The event is taken into the event FIFO this cycle.
    pub ext_event_ready: Signal<Out, Bit>,
    /// The event word (`vfpga_abi::mgmt::Event::encode`).
    pub ext_event_word: Signal<In, Bits<32>>,
    /// Work the register file still holds for the engine or the firmware:
    /// a driver access in progress, a doorbell not yet taken, an event
    /// queued or about to be, an engine reset or index load pending. The
    /// management port's own activity does not count (firmware polls forever).
    pub busy: Signal<Out, Bit>,
    /// The firmware has something to handle: an event is queued. An
    /// interrupt line for the management CPU, so it may sleep between
    /// events instead of polling EVENT (what it finds only by polling, such
    /// as ENGINE_STATUS, it reads on its periodic poll).
    pub attention: Signal<Out, Bit>,

    _m: RegModel<NQ>,
}

impl<const NQ: usize> Default for RegFile<NQ> {
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
            msix_reg_addr: Default::default(),
            msix_reg_write: Default::default(),
            msix_reg_wdata: Default::default(),
            msix_reg_strb: Default::default(),
            msix_table_rdata: Default::default(),
            msix_pba: Default::default(),
            isr: Default::default(),
            isr_read_clear: Default::default(),
            config_irq: Default::default(),
            config_vector: Default::default(),
            msix_clear: Default::default(),
            interrupts: Default::default(),
            ext_event_valid: Default::default(),
            ext_event_ready: Default::default(),
            ext_event_word: Default::default(),
            busy: Default::default(),
            attention: Default::default(),
            _m: Default::default(),
        }
    }
}

impl<const NQ: usize> core::fmt::Debug for RegFile<NQ> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self._m.fmt(f)
    }
}

impl<const NQ: usize> Logic for RegFile<NQ> {
    /// The simulation model: the ports are copied into `RegModel` (the
    /// rust-hdl kernel, private), which settles on its own (its clock edge
    /// included), and its outputs are copied back. The model is hidden from
    /// the Verilog generator, which takes [`RegFile::hdl`] instead.
    fn update(&mut self) {
        self._m.clock.next = self.clock.val();
        self._m.reset.next = self.reset.val();
        self._m.bus_master.next = self.bus_master.val();
        self._m.mmio_req_valid.next = self.mmio_req_valid.val();
        self._m.mmio_req_addr.next = self.mmio_req_addr.val();
        self._m.mmio_req_write.next = self.mmio_req_write.val();
        self._m.mmio_req_wdata.next = self.mmio_req_wdata.val();
        self._m.mmio_req_strb.next = self.mmio_req_strb.val();
        self._m.mmio_resp_ready.next = self.mmio_resp_ready.val();
        self._m.mgmt_req_valid.next = self.mgmt_req_valid.val();
        self._m.mgmt_req_addr.next = self.mgmt_req_addr.val();
        self._m.mgmt_req_write.next = self.mgmt_req_write.val();
        self._m.mgmt_req_wdata.next = self.mgmt_req_wdata.val();
        self._m.mgmt_resp_ready.next = self.mgmt_resp_ready.val();
        self._m.doorbell_ready.next = self.doorbell_ready.val();
        for i in 0..NQ {
            self._m.q_last_avail[i].next = self.q_last_avail[i].val();
        }
        for i in 0..NQ {
            self._m.q_used_idx[i].next = self.q_used_idx[i].val();
        }
        for i in 0..NQ {
            self._m.q_inflight[i].next = self.q_inflight[i].val();
        }
        self._m.idle.next = self.idle.val();
        self._m.error.next = self.error.val();
        self._m.error_pulse.next = self.error_pulse.val();
        self._m.error_cause.next = self.error_cause.val();
        self._m.error_queue.next = self.error_queue.val();
        self._m.error_detail.next = self.error_detail.val();
        self._m.cnt_requests.next = self.cnt_requests.val();
        self._m.cnt_bytes_read.next = self.cnt_bytes_read.val();
        self._m.cnt_bytes_written.next = self.cnt_bytes_written.val();
        self._m.cnt_notifies.next = self.cnt_notifies.val();
        self._m.cnt_dma_errors.next = self.cnt_dma_errors.val();
        self._m.msix_table_rdata.next = self.msix_table_rdata.val();
        self._m.msix_pba.next = self.msix_pba.val();
        self._m.isr.next = self.isr.val();
        self._m.interrupts.next = self.interrupts.val();
        self._m.ext_event_valid.next = self.ext_event_valid.val();
        self._m.ext_event_word.next = self.ext_event_word.val();
        assert!(
            simulate(&mut self._m, 100),
            "register file model did not settle"
        );
        self.mmio_req_ready.next = self._m.mmio_req_ready.val();
        self.mmio_resp_valid.next = self._m.mmio_resp_valid.val();
        self.mmio_resp_rdata.next = self._m.mmio_resp_rdata.val();
        self.mgmt_req_ready.next = self._m.mgmt_req_ready.val();
        self.mgmt_resp_valid.next = self._m.mgmt_resp_valid.val();
        self.mgmt_resp_rdata.next = self._m.mgmt_resp_rdata.val();
        for i in 0..NQ {
            self.q_desc[i].next = self._m.q_desc[i].val();
        }
        for i in 0..NQ {
            self.q_avail[i].next = self._m.q_avail[i].val();
        }
        for i in 0..NQ {
            self.q_used[i].next = self._m.q_used[i].val();
        }
        for i in 0..NQ {
            self.q_size[i].next = self._m.q_size[i].val();
        }
        for i in 0..NQ {
            self.q_vector[i].next = self._m.q_vector[i].val();
        }
        for i in 0..NQ {
            self.q_run[i].next = self._m.q_run[i].val();
        }
        for i in 0..NQ {
            self.q_set_idx[i].next = self._m.q_set_idx[i].val();
        }
        self.q_set_last_avail.next = self._m.q_set_last_avail.val();
        self.q_set_used.next = self._m.q_set_used.val();
        self.dma_enable.next = self._m.dma_enable.val();
        self.event_idx.next = self._m.event_idx.val();
        self.indirect_enable.next = self._m.indirect_enable.val();
        self.notification_data.next = self._m.notification_data.val();
        self.engine_reset.next = self._m.engine_reset.val();
        self.blk_capacity.next = self._m.blk_capacity.val();
        self.doorbell_valid.next = self._m.doorbell_valid.val();
        self.doorbell_queue.next = self._m.doorbell_queue.val();
        self.doorbell_data.next = self._m.doorbell_data.val();
        self.msix_reg_addr.next = self._m.msix_reg_addr.val();
        self.msix_reg_write.next = self._m.msix_reg_write.val();
        self.msix_reg_wdata.next = self._m.msix_reg_wdata.val();
        self.msix_reg_strb.next = self._m.msix_reg_strb.val();
        self.isr_read_clear.next = self._m.isr_read_clear.val();
        self.config_irq.next = self._m.config_irq.val();
        self.config_vector.next = self._m.config_vector.val();
        self.msix_clear.next = self._m.msix_clear.val();
        self.ext_event_ready.next = self._m.ext_event_ready.val();
        self.busy.next = self._m.busy.val();
        self.attention.next = self._m.attention.val();
    }

    fn connect(&mut self) {
        self.mmio_req_ready.connect();
        self.mmio_resp_valid.connect();
        self.mmio_resp_rdata.connect();
        self.mgmt_req_ready.connect();
        self.mgmt_resp_valid.connect();
        self.mgmt_resp_rdata.connect();
        for s in &mut self.q_desc {
            s.connect();
        }
        for s in &mut self.q_avail {
            s.connect();
        }
        for s in &mut self.q_used {
            s.connect();
        }
        for s in &mut self.q_size {
            s.connect();
        }
        for s in &mut self.q_vector {
            s.connect();
        }
        for s in &mut self.q_run {
            s.connect();
        }
        for s in &mut self.q_set_idx {
            s.connect();
        }
        self.q_set_last_avail.connect();
        self.q_set_used.connect();
        self.dma_enable.connect();
        self.event_idx.connect();
        self.indirect_enable.connect();
        self.notification_data.connect();
        self.engine_reset.connect();
        self.blk_capacity.connect();
        self.doorbell_valid.connect();
        self.doorbell_queue.connect();
        self.doorbell_data.connect();
        self.msix_reg_addr.connect();
        self.msix_reg_write.connect();
        self.msix_reg_wdata.connect();
        self.msix_reg_strb.connect();
        self.isr_read_clear.connect();
        self.config_irq.connect();
        self.config_vector.connect();
        self.msix_clear.connect();
        self.ext_event_ready.connect();
        self.busy.connect();
        self.attention.connect();
        self._m.connect_all();
    }

    /// The same logic as the model's kernel, written by hand (see
    /// `regfile_verilog.rs`): every register is written in enable style in
    /// one clocked block, so a cycle in which neither port has an access in
    /// progress runs only the idle checks. `tests/regfile_verilog.rs` runs
    /// this Verilog against `update` in Icarus.
    fn hdl(&self) -> Verilog {
        Verilog::Custom(super::regfile_verilog::verilog(NQ))
    }
}

/// The rust-hdl model of [`RegFile`]: the same ports, and the registers as
/// `DFF`s and RAMs written by the kernel below. [`RegFile::update`] runs it;
/// its Verilog is not used (see [`RegFile::hdl`]).
#[derive(LogicBlock)]
struct RegModel<const NQ: usize> {
    pub clock: Signal<In, Clock>,
    pub reset: Signal<In, Bit>,
    pub bus_master: Signal<In, Bit>,

    pub mmio_req_valid: Signal<In, Bit>,
    pub mmio_req_ready: Signal<Out, Bit>,
    pub mmio_req_addr: Signal<In, Bits<MMIO_ADDR_BITS>>,
    pub mmio_req_write: Signal<In, Bit>,
    pub mmio_req_wdata: Signal<In, Bits<32>>,
    pub mmio_req_strb: Signal<In, Bits<4>>,
    pub mmio_resp_valid: Signal<Out, Bit>,
    pub mmio_resp_ready: Signal<In, Bit>,
    pub mmio_resp_rdata: Signal<Out, Bits<32>>,

    pub mgmt_req_valid: Signal<In, Bit>,
    pub mgmt_req_ready: Signal<Out, Bit>,
    pub mgmt_req_addr: Signal<In, Bits<MGMT_ADDR_BITS>>,
    pub mgmt_req_write: Signal<In, Bit>,
    pub mgmt_req_wdata: Signal<In, Bits<32>>,
    pub mgmt_resp_valid: Signal<Out, Bit>,
    pub mgmt_resp_ready: Signal<In, Bit>,
    pub mgmt_resp_rdata: Signal<Out, Bits<32>>,

    pub q_desc: [Signal<Out, Bits<64>>; NQ],
    pub q_avail: [Signal<Out, Bits<64>>; NQ],
    pub q_used: [Signal<Out, Bits<64>>; NQ],
    pub q_size: [Signal<Out, Bits<16>>; NQ],
    pub q_vector: [Signal<Out, Bits<16>>; NQ],
    pub q_run: [Signal<Out, Bit>; NQ],
    pub q_set_idx: [Signal<Out, Bit>; NQ],
    pub q_set_last_avail: Signal<Out, Bits<16>>,
    pub q_set_used: Signal<Out, Bits<16>>,
    pub dma_enable: Signal<Out, Bit>,
    pub event_idx: Signal<Out, Bit>,
    pub indirect_enable: Signal<Out, Bit>,
    pub notification_data: Signal<Out, Bit>,
    pub engine_reset: Signal<Out, Bit>,
    pub blk_capacity: Signal<Out, Bits<64>>,
    pub doorbell_valid: Signal<Out, Bit>,
    pub doorbell_ready: Signal<In, Bit>,
    pub doorbell_queue: Signal<Out, Bits<16>>,
    pub doorbell_data: Signal<Out, Bits<32>>,

    pub q_last_avail: [Signal<In, Bits<16>>; NQ],
    pub q_used_idx: [Signal<In, Bits<16>>; NQ],
    pub q_inflight: [Signal<In, Bits<16>>; NQ],
    pub idle: Signal<In, Bit>,
    pub error: Signal<In, Bit>,
    pub error_pulse: Signal<In, Bit>,
    pub error_cause: Signal<In, Bits<8>>,
    pub error_queue: Signal<In, Bits<8>>,
    pub error_detail: Signal<In, Bits<32>>,
    pub cnt_requests: Signal<In, Bits<64>>,
    pub cnt_bytes_read: Signal<In, Bits<64>>,
    pub cnt_bytes_written: Signal<In, Bits<64>>,
    pub cnt_notifies: Signal<In, Bits<64>>,
    pub cnt_dma_errors: Signal<In, Bits<64>>,

    pub msix_reg_addr: Signal<Out, Bits<TABLE_ADDR_BITS>>,
    pub msix_reg_write: Signal<Out, Bit>,
    pub msix_reg_wdata: Signal<Out, Bits<32>>,
    pub msix_reg_strb: Signal<Out, Bits<4>>,
    pub msix_table_rdata: Signal<In, Bits<32>>,
    pub msix_pba: Signal<In, Bits<NV>>,
    pub isr: Signal<In, Bits<2>>,
    pub isr_read_clear: Signal<Out, Bit>,
    pub config_irq: Signal<Out, Bit>,
    pub config_vector: Signal<Out, Bits<16>>,
    pub msix_clear: Signal<Out, Bit>,
    pub interrupts: Signal<In, Bits<64>>,
    pub ext_event_valid: Signal<In, Bit>,
    pub ext_event_ready: Signal<Out, Bit>,
    pub ext_event_word: Signal<In, Bits<32>>,
    pub busy: Signal<Out, Bit>,
    pub attention: Signal<Out, Bit>,

    // MMIO port.
    m_state: DFF<MState>,
    m_addr: DFF<Bits<MMIO_ADDR_BITS>>,
    m_write: DFF<Bit>,
    m_wdata: DFF<Bits<32>>,
    m_strb: DFF<Bits<4>>,
    m_rdata: DFF<Bits<32>>,
    // Management port.
    g_state: DFF<GState>,
    g_addr: DFF<Bits<MGMT_ADDR_BITS>>,
    g_write: DFF<Bit>,
    g_wdata: DFF<Bits<32>>,
    g_rdata: DFF<Bits<32>>,
    // Device-wide registers.
    dev_status: DFF<Bits<8>>,
    status_pending: DFF<Bit>,
    config_gen: DFF<Bits<8>>,
    dev_feat_lo: DFF<Bits<32>>,
    dev_feat_hi: DFF<Bits<32>>,
    drv_feat_lo: DFF<Bits<32>>,
    drv_feat_hi: DFF<Bits<32>>,
    dfsel: DFF<Bits<32>>,
    drfsel: DFF<Bits<32>>,
    cfg_vector: DFF<Bits<16>>,
    queue_select: DFF<Bits<16>>,
    engine_ctrl: DFF<Bits<4>>,
    fw_status: DFF<Bits<32>>,
    fw_cnt0: DFF<Bits<32>>,
    fw_cnt1: DFF<Bits<32>>,
    g_qsel: DFF<Bits<16>>,
    devcfg_addr: DFF<Bits<8>>,
    cap_lo: DFF<Bits<32>>,
    cap_hi: DFF<Bits<32>>,
    cnt_shadow: DFF<Bits<32>>,
    err_evt_wait: DFF<Bit>,
    eng_reset_pulse: DFF<Bit>,
    // Per queue.
    qsize: [DFF<Bits<16>>; NQ],
    qvec: [DFF<Bits<16>>; NQ],
    qdesc: [DFF<Bits<64>>; NQ],
    qavail: [DFF<Bits<64>>; NQ],
    qused: [DFF<Bits<64>>; NQ],
    qen: [DFF<Bit>; NQ],
    qen_pend: [DFF<Bit>; NQ],
    qreset: [DFF<Bit>; NQ],
    qrun: [DFF<Bit>; NQ],
    qstop: [DFF<Bit>; NQ],
    qset: [DFF<Bit>; NQ],
    set_la: DFF<Bits<16>>,
    set_ui: DFF<Bits<16>>,
    // Doorbell slot.
    db_valid: DFF<Bit>,
    db_queue: DFF<Bits<16>>,
    db_data: DFF<Bits<32>>,

    events: EventFifo,
    cfg_ram_m: RAM<Bits<32>, DEVCFG_ADDR_BITS>,
    cfg_ram_g: RAM<Bits<32>, DEVCFG_ADDR_BITS>,
    // Queue indices as constants (localparams in the Verilog): 16-bit for
    // queue selects, 12-bit for BAR0 offsets, 8-bit for vendor blocks.
    qi: [Constant<Bits<16>>; NQ],
    qo: [Constant<Bits<12>>; NQ],
    qb: [Constant<Bits<8>>; NQ],
    nq: Constant<Bits<16>>,

    // MMIO decode.
    m_region: Signal<Local, Bits<3>>,
    m_off: Signal<Local, Bits<12>>,
    wmask: Signal<Local, Bits<32>>,
    m_go: Signal<Local, Bit>,
    m_hold: Signal<Local, Bit>,
    m_rd: Signal<Local, Bits<32>>,
    m_ev_push: Signal<Local, Bit>,
    m_ev_word: Signal<Local, Bits<32>>,
    // Selected queue (driver's queue_select).
    s_valid: Signal<Local, Bit>,
    s_size: Signal<Local, Bits<16>>,
    s_vec: Signal<Local, Bits<16>>,
    s_desc: Signal<Local, Bits<64>>,
    s_avail: Signal<Local, Bits<64>>,
    s_used: Signal<Local, Bits<64>>,
    s_en: Signal<Local, Bit>,
    s_pend: Signal<Local, Bit>,
    s_reset: Signal<Local, Bit>,
    s_wr: Signal<Local, Bit>,
    merged: Signal<Local, Bits<32>>,
    vec_in: Signal<Local, Bits<16>>,
    // Selected queue (firmware's QUEUE_SEL).
    t_valid: Signal<Local, Bit>,
    t_rd: Signal<Local, Bits<32>>,
    t_run: Signal<Local, Bit>,
    t_la: Signal<Local, Bits<16>>,
    t_ui: Signal<Local, Bits<16>>,
    t_size: Signal<Local, Bits<16>>,
    t_vec: Signal<Local, Bits<16>>,
    t_desc: Signal<Local, Bits<64>>,
    t_avail: Signal<Local, Bits<64>>,
    t_used: Signal<Local, Bits<64>>,
    t_en: Signal<Local, Bit>,
    t_runreg: Signal<Local, Bit>,
    t_infl: Signal<Local, Bits<16>>,
    // Vendor per-queue block at m_addr.
    v_hit: Signal<Local, Bit>,
    v_q: Signal<Local, Bits<8>>,
    v_stop: Signal<Local, Bit>,
    v_la: Signal<Local, Bits<16>>,
    v_ui: Signal<Local, Bits<16>>,
    v_infl: Signal<Local, Bits<16>>,
    lo_mask: Signal<Local, Bits<64>>,
    lo_data: Signal<Local, Bits<64>>,
    g_go: Signal<Local, Bit>,
    g_rd: Signal<Local, Bits<32>>,
    do_ereset: Signal<Local, Bit>,
}

// Written out because constants have no `Default`.
impl<const NQ: usize> Default for RegModel<NQ> {
    fn default() -> Self {
        assert!(
            NQ <= vendor::MAX_QUEUES as usize,
            "more queues than the vendor region"
        );
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
            msix_reg_addr: Default::default(),
            msix_reg_write: Default::default(),
            msix_reg_wdata: Default::default(),
            msix_reg_strb: Default::default(),
            msix_table_rdata: Default::default(),
            msix_pba: Default::default(),
            isr: Default::default(),
            isr_read_clear: Default::default(),
            config_irq: Default::default(),
            busy: Default::default(),
            attention: Default::default(),
            config_vector: Default::default(),
            msix_clear: Default::default(),
            interrupts: Default::default(),
            ext_event_valid: Default::default(),
            ext_event_ready: Default::default(),
            ext_event_word: Default::default(),
            m_state: Default::default(),
            m_addr: Default::default(),
            m_write: Default::default(),
            m_wdata: Default::default(),
            m_strb: Default::default(),
            m_rdata: Default::default(),
            g_state: Default::default(),
            g_addr: Default::default(),
            g_write: Default::default(),
            g_wdata: Default::default(),
            g_rdata: Default::default(),
            dev_status: Default::default(),
            status_pending: Default::default(),
            config_gen: Default::default(),
            dev_feat_lo: Default::default(),
            dev_feat_hi: Default::default(),
            drv_feat_lo: Default::default(),
            drv_feat_hi: Default::default(),
            dfsel: Default::default(),
            drfsel: Default::default(),
            cfg_vector: Default::default(),
            queue_select: Default::default(),
            engine_ctrl: Default::default(),
            fw_status: Default::default(),
            fw_cnt0: Default::default(),
            fw_cnt1: Default::default(),
            g_qsel: Default::default(),
            devcfg_addr: Default::default(),
            cap_lo: Default::default(),
            cap_hi: Default::default(),
            cnt_shadow: Default::default(),
            err_evt_wait: Default::default(),
            eng_reset_pulse: Default::default(),
            qsize: core::array::from_fn(|_| Default::default()),
            qvec: core::array::from_fn(|_| Default::default()),
            qdesc: core::array::from_fn(|_| Default::default()),
            qavail: core::array::from_fn(|_| Default::default()),
            qused: core::array::from_fn(|_| Default::default()),
            qen: core::array::from_fn(|_| Default::default()),
            qen_pend: core::array::from_fn(|_| Default::default()),
            qreset: core::array::from_fn(|_| Default::default()),
            qrun: core::array::from_fn(|_| Default::default()),
            qstop: core::array::from_fn(|_| Default::default()),
            qset: core::array::from_fn(|_| Default::default()),
            set_la: Default::default(),
            set_ui: Default::default(),
            db_valid: Default::default(),
            db_queue: Default::default(),
            db_data: Default::default(),
            events: Default::default(),
            cfg_ram_m: Default::default(),
            cfg_ram_g: Default::default(),
            qi: core::array::from_fn(|i| Constant::new((i as u64).into())),
            qo: core::array::from_fn(|i| Constant::new((i as u64).into())),
            qb: core::array::from_fn(|i| Constant::new((i as u64).into())),
            nq: Constant::new((NQ as u64).into()),
            m_region: Default::default(),
            m_off: Default::default(),
            wmask: Default::default(),
            m_go: Default::default(),
            m_hold: Default::default(),
            m_rd: Default::default(),
            m_ev_push: Default::default(),
            m_ev_word: Default::default(),
            s_valid: Default::default(),
            s_size: Default::default(),
            s_vec: Default::default(),
            s_desc: Default::default(),
            s_avail: Default::default(),
            s_used: Default::default(),
            s_en: Default::default(),
            s_pend: Default::default(),
            s_reset: Default::default(),
            s_wr: Default::default(),
            merged: Default::default(),
            vec_in: Default::default(),
            t_valid: Default::default(),
            t_rd: Default::default(),
            t_run: Default::default(),
            t_la: Default::default(),
            t_ui: Default::default(),
            t_size: Default::default(),
            t_vec: Default::default(),
            t_desc: Default::default(),
            t_avail: Default::default(),
            t_used: Default::default(),
            t_en: Default::default(),
            t_runreg: Default::default(),
            t_infl: Default::default(),
            v_hit: Default::default(),
            v_q: Default::default(),
            v_stop: Default::default(),
            v_la: Default::default(),
            v_ui: Default::default(),
            v_infl: Default::default(),
            lo_mask: Default::default(),
            lo_data: Default::default(),
            g_go: Default::default(),
            g_rd: Default::default(),
            do_ereset: Default::default(),
        }
    }
}

// rust-hdl's RAM has no Debug; the ports are what a reader wants anyway.
impl<const NQ: usize> core::fmt::Debug for RegModel<NQ> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RegModel")
            .field("m_state", &self.m_state.q.val())
            .field("g_state", &self.g_state.q.val())
            .finish_non_exhaustive()
    }
}

// The decode reads as a table of regions and offsets; keep it nested.
#[allow(
    clippy::collapsible_if,
    clippy::collapsible_else_if,
    clippy::collapsible_match
)]
impl<const NQ: usize> Logic for RegModel<NQ> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            m_state,
            m_addr,
            m_write,
            m_wdata,
            m_strb,
            m_rdata,
            g_state,
            g_addr,
            g_write,
            g_wdata,
            g_rdata,
            dev_status,
            status_pending,
            config_gen,
            dev_feat_lo,
            dev_feat_hi,
            drv_feat_lo,
            drv_feat_hi,
            dfsel,
            drfsel,
            cfg_vector,
            queue_select,
            engine_ctrl,
            fw_status,
            fw_cnt0,
            fw_cnt1,
            g_qsel,
            devcfg_addr,
            cap_lo,
            cap_hi,
            cnt_shadow,
            err_evt_wait,
            eng_reset_pulse,
            set_la,
            set_ui,
            db_valid,
            db_queue,
            db_data
        );
        for i in 0..NQ {
            self.qsize[i].clock.next = self.clock.val();
            self.qvec[i].clock.next = self.clock.val();
            self.qdesc[i].clock.next = self.clock.val();
            self.qavail[i].clock.next = self.clock.val();
            self.qused[i].clock.next = self.clock.val();
            self.qen[i].clock.next = self.clock.val();
            self.qen_pend[i].clock.next = self.clock.val();
            self.qreset[i].clock.next = self.clock.val();
            self.qrun[i].clock.next = self.clock.val();
            self.qstop[i].clock.next = self.clock.val();
            self.qset[i].clock.next = self.clock.val();
            self.qsize[i].d.next = self.qsize[i].q.val();
            self.qvec[i].d.next = self.qvec[i].q.val();
            self.qdesc[i].d.next = self.qdesc[i].q.val();
            self.qavail[i].d.next = self.qavail[i].q.val();
            self.qused[i].d.next = self.qused[i].q.val();
            self.qen[i].d.next = self.qen[i].q.val();
            self.qen_pend[i].d.next = self.qen_pend[i].q.val();
            self.qreset[i].d.next = self.qreset[i].q.val();
            self.qrun[i].d.next = self.qrun[i].q.val();
            self.qstop[i].d.next = self.qstop[i].q.val();
            // Pulses last one cycle.
            self.qset[i].d.next = false;
        }
        self.eng_reset_pulse.d.next = false;
        self.events.clock.next = self.clock.val();
        self.events.reset.next = self.reset.val();
        self.events.push.next = false;
        self.events.push_data.next = 0.into();
        self.events.pop.next = false;
        self.events.clear_overflow.next = false;
        self.cfg_ram_m.read_clock.next = self.clock.val();
        self.cfg_ram_m.write_clock.next = self.clock.val();
        self.cfg_ram_g.read_clock.next = self.clock.val();
        self.cfg_ram_g.write_clock.next = self.clock.val();
        self.cfg_ram_m.read_address.next = self.m_addr.q.val().get_bits::<DEVCFG_ADDR_BITS>(2);
        self.cfg_ram_g.read_address.next = self.devcfg_addr.q.val().get_bits::<DEVCFG_ADDR_BITS>(2);
        self.cfg_ram_m.write_address.next =
            self.devcfg_addr.q.val().get_bits::<DEVCFG_ADDR_BITS>(2);
        self.cfg_ram_g.write_address.next =
            self.devcfg_addr.q.val().get_bits::<DEVCFG_ADDR_BITS>(2);
        self.cfg_ram_m.write_data.next = self.g_wdata.q.val();
        self.cfg_ram_g.write_data.next = self.g_wdata.q.val();
        self.cfg_ram_m.write_enable.next = false;
        self.cfg_ram_g.write_enable.next = false;
        self.msix_reg_addr.next = self.m_addr.q.val().get_bits::<TABLE_ADDR_BITS>(2);
        self.msix_reg_write.next = false;
        self.msix_reg_wdata.next = self.m_wdata.q.val();
        self.msix_reg_strb.next = self.m_strb.q.val();
        self.isr_read_clear.next = false;
        self.config_irq.next = false;
        self.do_ereset.next = false;
        self.m_ev_push.next = false;
        self.m_ev_word.next = 0.into();
        self.merged.next = 0.into();
        self.vec_in.next = 0.into();
        self.s_wr.next = false;
        self.lo_mask.next = 0.into();
        self.lo_data.next = 0.into();

        // ---------------- selected queues ----------------
        self.m_region.next = self.m_addr.q.val().get_bits::<3>(12);
        self.m_off.next = self.m_addr.q.val().get_bits::<12>(0);
        self.s_valid.next = false;
        self.s_size.next = 0.into();
        self.s_vec.next = 0.into();
        self.s_desc.next = 0.into();
        self.s_avail.next = 0.into();
        self.s_used.next = 0.into();
        self.s_en.next = false;
        self.s_pend.next = false;
        self.s_reset.next = false;
        self.t_valid.next = false;
        self.t_rd.next = 0.into();
        self.t_run.next = false;
        self.t_la.next = 0.into();
        self.t_ui.next = 0.into();
        self.t_size.next = 0.into();
        self.t_vec.next = 0.into();
        self.t_desc.next = 0.into();
        self.t_avail.next = 0.into();
        self.t_used.next = 0.into();
        self.t_en.next = false;
        self.t_runreg.next = false;
        self.t_infl.next = 0.into();
        self.v_hit.next = false;
        self.v_q.next = 0.into();
        self.v_stop.next = false;
        self.v_la.next = 0.into();
        self.v_ui.next = 0.into();
        self.v_infl.next = 0.into();
        // Decode of the selected queues only in the cycle that executes an
        // access: the simulator then skips it while the host is idle.
        if self.m_state.q.val() == MState::Exec {
            for i in 0..NQ {
                if self.queue_select.q.val() == self.qi[i].val() {
                    self.s_valid.next = true;
                    self.s_size.next = self.qsize[i].q.val();
                    self.s_vec.next = self.qvec[i].q.val();
                    self.s_desc.next = self.qdesc[i].q.val();
                    self.s_avail.next = self.qavail[i].q.val();
                    self.s_used.next = self.qused[i].q.val();
                    self.s_en.next = self.qen[i].q.val();
                    self.s_pend.next = self.qen_pend[i].q.val();
                    self.s_reset.next = self.qreset[i].q.val();
                }
                // Vendor per-queue block i: BAR0 VENDOR + 0x100 + 0x10 * i.
                if self.m_off.val().get_bits::<8>(4) == (self.qb[i].val() + 0x10) {
                    self.v_hit.next = true;
                    self.v_q.next = self.qb[i].val();
                    self.v_stop.next = self.qstop[i].q.val();
                    self.v_la.next = self.q_last_avail[i].val();
                    self.v_ui.next = self.q_used_idx[i].val();
                    self.v_infl.next = self.q_inflight[i].val();
                }
            }
        }
        if self.g_state.q.val() == GState::Exec {
            for i in 0..NQ {
                if self.g_qsel.q.val() == self.qi[i].val() {
                    self.t_valid.next = true;
                    self.t_run.next = self.qrun[i].q.val() && !self.qstop[i].q.val();
                    self.t_la.next = self.q_last_avail[i].val();
                    self.t_ui.next = self.q_used_idx[i].val();
                    self.t_size.next = self.qsize[i].q.val();
                    self.t_vec.next = self.qvec[i].q.val();
                    self.t_desc.next = self.qdesc[i].q.val();
                    self.t_avail.next = self.qavail[i].q.val();
                    self.t_used.next = self.qused[i].q.val();
                    self.t_en.next = self.qen[i].q.val();
                    self.t_runreg.next = self.qrun[i].q.val();
                    self.t_infl.next = self.q_inflight[i].val();
                }
            }
            if self.t_valid.val() {
                if self.g_addr.q.val() == 0x21 {
                    self.t_rd.next = bit_cast::<32, 16>(self.t_size.val());
                } else if self.g_addr.q.val() == 0x22 {
                    self.t_rd.next = bit_cast::<32, 16>(self.t_vec.val());
                } else if self.g_addr.q.val() == 0x23 {
                    self.t_rd.next = self.t_desc.val().get_bits::<32>(0);
                } else if self.g_addr.q.val() == 0x24 {
                    self.t_rd.next = self.t_desc.val().get_bits::<32>(32);
                } else if self.g_addr.q.val() == 0x25 {
                    self.t_rd.next = self.t_avail.val().get_bits::<32>(0);
                } else if self.g_addr.q.val() == 0x26 {
                    self.t_rd.next = self.t_avail.val().get_bits::<32>(32);
                } else if self.g_addr.q.val() == 0x27 {
                    self.t_rd.next = self.t_used.val().get_bits::<32>(0);
                } else if self.g_addr.q.val() == 0x28 {
                    self.t_rd.next = self.t_used.val().get_bits::<32>(32);
                } else if self.g_addr.q.val() == 0x29 {
                    self.t_rd.next = bit_cast::<32, 1>(self.t_en.val().into());
                } else if self.g_addr.q.val() == 0x2A {
                    self.t_rd.next = bit_cast::<32, 1>(self.t_runreg.val().into());
                } else if self.g_addr.q.val() == 0x2B {
                    self.t_rd.next = bit_cast::<32, 16>(self.t_la.val());
                } else if self.g_addr.q.val() == 0x2C {
                    self.t_rd.next = bit_cast::<32, 16>(self.t_ui.val());
                } else if self.g_addr.q.val() == 0x2D {
                    self.t_rd.next = bit_cast::<32, 16>(self.t_infl.val());
                }
            }
        }

        // ---------------- management port ----------------
        self.mgmt_req_ready.next = false;
        self.mgmt_resp_valid.next = false;
        self.mgmt_resp_rdata.next = self.g_rdata.q.val();
        self.g_go.next = false;
        self.g_rd.next = 0.into();
        match self.g_state.q.val() {
            GState::Idle => {
                self.mgmt_req_ready.next = true;
                if self.mgmt_req_valid.val() {
                    self.g_addr.d.next = self.mgmt_req_addr.val();
                    self.g_write.d.next = self.mgmt_req_write.val();
                    self.g_wdata.d.next = self.mgmt_req_wdata.val();
                    self.g_state.d.next = GState::Wait;
                }
            }
            GState::Wait => {
                self.g_state.d.next = GState::Exec;
            }
            GState::Exec => {
                self.g_go.next = true;
                self.g_state.d.next = GState::Resp;
            }
            GState::Resp => {
                self.mgmt_resp_valid.next = true;
                if self.mgmt_resp_ready.val() {
                    self.g_state.d.next = GState::Idle;
                }
            }
        }
        // Read data of the register at g_addr. Match arms are decimal: rust-hdl
        // copies patterns into Verilog, which has no 0x literals.
        // Only in the cycle that answers a read.
        if self.g_go.val() && !self.g_write.q.val() {
            match self.g_addr.q.val().index() {
                0 => {
                    self.g_rd.next = 0x4750_4656_u64.into();
                }
                1 => {
                    self.g_rd.next = 2.into();
                }
                2 => {
                    self.g_rd.next = bit_cast::<32, 16>(self.nq.val());
                }
                3 => {
                    self.g_rd.next = 256.into();
                }
                4 => {
                    self.g_rd.next = self.events.head.val();
                }
                5 => {
                    self.g_rd.next = bit_cast::<32, 5>(self.events.count.val());
                }
                8 => {
                    self.g_rd.next = bit_cast::<32, 8>(self.dev_status.q.val());
                }
                9 => {
                    self.g_rd.next = bit_cast::<32, 8>(self.config_gen.q.val());
                }
                10 => {
                    self.g_rd.next = self.dev_feat_lo.q.val();
                }
                11 => {
                    self.g_rd.next = self.dev_feat_hi.q.val();
                }
                12 => {
                    self.g_rd.next = self.drv_feat_lo.q.val();
                }
                13 => {
                    self.g_rd.next = self.drv_feat_hi.q.val();
                }
                14 => {
                    self.g_rd.next = bit_cast::<32, 16>(self.cfg_vector.q.val());
                }
                16 => {
                    self.g_rd.next = bit_cast::<32, 4>(self.engine_ctrl.q.val());
                }
                17 => {
                    self.g_rd.next = bit_cast::<32, 1>(self.idle.val().into())
                        | (bit_cast::<32, 1>(self.error.val().into()) << 1)
                        | (bit_cast::<32, 1>(self.events.overflow.val().into()) << 2);
                }
                18 => {
                    self.g_rd.next = bit_cast::<32, 8>(self.error_cause.val());
                }
                19 => {
                    self.g_rd.next = bit_cast::<32, 8>(self.error_queue.val());
                }
                20 => {
                    self.g_rd.next = self.error_detail.val();
                }
                23 => {
                    self.g_rd.next = self.fw_status.q.val();
                }
                32 => {
                    self.g_rd.next = bit_cast::<32, 16>(self.g_qsel.q.val());
                }
                48 => {
                    self.g_rd.next = bit_cast::<32, 8>(self.devcfg_addr.q.val());
                }
                49 => {
                    self.g_rd.next = self.cfg_ram_g.read_data.val();
                }
                70 => {
                    self.g_rd.next = self.fw_cnt0.q.val();
                }
                71 => {
                    self.g_rd.next = self.fw_cnt1.q.val();
                }
                72 => {
                    self.g_rd.next = self.cnt_requests.val().get_bits::<32>(0);
                }
                73 => {
                    self.g_rd.next = self.cnt_bytes_read.val().get_bits::<32>(0);
                }
                74 => {
                    self.g_rd.next = self.cnt_bytes_written.val().get_bits::<32>(0);
                }
                75 => {
                    self.g_rd.next = self.cnt_notifies.val().get_bits::<32>(0);
                }
                76 => {
                    self.g_rd.next = self.interrupts.val().get_bits::<32>(0);
                }
                77 => {
                    self.g_rd.next = self.cnt_dma_errors.val().get_bits::<32>(0);
                }
                _ => {
                    if (self.g_addr.q.val() >= 0x21) && (self.g_addr.q.val() <= 0x2D) {
                        self.g_rd.next = self.t_rd.val();
                    }
                }
            }
        }

        if self.g_go.val() {
            if self.g_write.q.val() {
                self.g_rdata.d.next = 0.into();
                match self.g_addr.q.val().index() {
                    8 => {
                        self.dev_status.d.next = self.g_wdata.q.val().get_bits::<8>(0);
                        self.status_pending.d.next = false;
                    }
                    9 => {
                        self.config_gen.d.next = self.g_wdata.q.val().get_bits::<8>(0);
                    }
                    10 => {
                        self.dev_feat_lo.d.next = self.g_wdata.q.val();
                    }
                    11 => {
                        self.dev_feat_hi.d.next = self.g_wdata.q.val();
                    }
                    16 => {
                        self.engine_ctrl.d.next = self.g_wdata.q.val().get_bits::<4>(0);
                    }
                    21 => {
                        // Only while idle: clearing queue state under DMA would
                        // corrupt guest memory.
                        if self.g_wdata.q.val().get_bit(0) && self.idle.val() {
                            self.do_ereset.next = true;
                        }
                    }
                    22 => {
                        if self.g_wdata.q.val().get_bit(0) {
                            self.config_irq.next = true;
                        }
                    }
                    23 => {
                        self.fw_status.d.next = self.g_wdata.q.val();
                    }
                    32 => {
                        self.g_qsel.d.next = self.g_wdata.q.val().get_bits::<16>(0);
                    }
                    48 => {
                        self.devcfg_addr.d.next = self.g_wdata.q.val().get_bits::<8>(0);
                    }
                    49 => {
                        self.cfg_ram_m.write_enable.next = true;
                        self.cfg_ram_g.write_enable.next = true;
                        if self.devcfg_addr.q.val().get_bits::<6>(2) == 0 {
                            self.cap_lo.d.next = self.g_wdata.q.val();
                        }
                        if self.devcfg_addr.q.val().get_bits::<6>(2) == 1 {
                            self.cap_hi.d.next = self.g_wdata.q.val();
                        }
                    }
                    70 => {
                        self.fw_cnt0.d.next = self.g_wdata.q.val();
                    }
                    71 => {
                        self.fw_cnt1.d.next = self.g_wdata.q.val();
                    }
                    _ => {}
                }
                for i in 0..NQ {
                    if self.g_qsel.q.val() == self.qi[i].val() {
                        if self.g_addr.q.val() == 0x29 {
                            self.qen[i].d.next = self.g_wdata.q.val().get_bit(0);
                            self.qen_pend[i].d.next = false;
                            if !self.g_wdata.q.val().get_bit(0) {
                                self.qreset[i].d.next = false;
                            }
                        }
                        if self.g_addr.q.val() == 0x2A {
                            self.qrun[i].d.next = self.g_wdata.q.val().get_bit(0);
                        }
                        // Ring indices move only while the engine may not fetch.
                        if (self.g_addr.q.val() == 0x2B) && !self.t_run.val() {
                            self.qset[i].d.next = true;
                            self.set_la.d.next = self.g_wdata.q.val().get_bits::<16>(0);
                            self.set_ui.d.next = self.t_ui.val();
                        }
                        if (self.g_addr.q.val() == 0x2C) && !self.t_run.val() {
                            self.qset[i].d.next = true;
                            self.set_la.d.next = self.t_la.val();
                            self.set_ui.d.next = self.g_wdata.q.val().get_bits::<16>(0);
                        }
                    }
                }
            } else {
                self.g_rdata.d.next = self.g_rd.val();
                if self.g_addr.q.val() == 0x04 {
                    self.events.pop.next = true;
                }
            }
        }

        // ---------------- MMIO port ----------------
        self.wmask.next = 0.into();
        if self.m_strb.q.val().get_bit(0) {
            self.wmask.next = self.wmask.val() | 0xFF_u64;
        }
        if self.m_strb.q.val().get_bit(1) {
            self.wmask.next = self.wmask.val() | 0xFF00_u64;
        }
        if self.m_strb.q.val().get_bit(2) {
            self.wmask.next = self.wmask.val() | 0xFF_0000_u64;
        }
        if self.m_strb.q.val().get_bit(3) {
            self.wmask.next = self.wmask.val() | 0xFF00_0000_u64;
        }
        self.mmio_req_ready.next = false;
        self.mmio_resp_valid.next = false;
        self.mmio_resp_rdata.next = self.m_rdata.q.val();
        self.m_go.next = false;
        match self.m_state.q.val() {
            MState::Idle => {
                self.mmio_req_ready.next = true;
                if self.mmio_req_valid.val() {
                    self.m_addr.d.next = self.mmio_req_addr.val();
                    self.m_write.d.next = self.mmio_req_write.val();
                    self.m_wdata.d.next = self.mmio_req_wdata.val();
                    self.m_strb.d.next = self.mmio_req_strb.val();
                    self.m_state.d.next = MState::Wait;
                }
            }
            MState::Wait => {
                self.m_state.d.next = MState::Exec;
            }
            MState::Exec => {
                self.m_go.next = true;
            }
            MState::Resp => {
                self.mmio_resp_valid.next = true;
                if self.mmio_resp_ready.val() {
                    self.m_state.d.next = MState::Idle;
                }
            }
        }

        // Read data and hold conditions at m_addr (decimal byte offsets in the
        // match arms: rust-hdl copies patterns into Verilog verbatim).
        self.m_rd.next = 0.into();
        self.m_hold.next = false;
        // Only in the cycle that answers a read.
        if self.m_go.val() && !self.m_write.q.val() {
            if self.m_region.val() == 0 {
                match self.m_off.val().index() {
                    0 => {
                        self.m_rd.next = self.dfsel.q.val();
                    }
                    4 => {
                        if self.dfsel.q.val() == 0 {
                            self.m_rd.next = self.dev_feat_lo.q.val();
                        } else if self.dfsel.q.val() == 1 {
                            self.m_rd.next = self.dev_feat_hi.q.val();
                        }
                    }
                    8 => {
                        self.m_rd.next = self.drfsel.q.val();
                    }
                    12 => {
                        if self.drfsel.q.val() == 0 {
                            self.m_rd.next = self.drv_feat_lo.q.val();
                        } else if self.drfsel.q.val() == 1 {
                            self.m_rd.next = self.drv_feat_hi.q.val();
                        }
                    }
                    16 => {
                        self.m_rd.next = bit_cast::<32, 16>(self.cfg_vector.q.val())
                            | ((bit_cast::<32, 16>(self.nq.val())) << 16);
                    }
                    20 => {
                        self.m_rd.next = bit_cast::<32, 8>(self.dev_status.q.val())
                            | (bit_cast::<32, 8>(self.config_gen.q.val()) << 8)
                            | (bit_cast::<32, 16>(self.queue_select.q.val()) << 16);
                        // The driver must see firmware's answer to its status write.
                        if self.m_strb.q.val().get_bit(0) && self.status_pending.q.val() {
                            self.m_hold.next = true;
                        }
                    }
                    24 => {
                        self.m_rd.next = bit_cast::<32, 16>(self.s_size.val())
                            | (bit_cast::<32, 16>(self.s_vec.val()) << 16);
                    }
                    28 => {
                        if self.s_valid.val() {
                            self.m_rd.next = bit_cast::<32, 1>(self.s_en.val().into())
                                | (bit_cast::<32, 16>(self.queue_select.q.val()) << 16);
                        }
                        if (self.m_strb.q.val().get_bits::<2>(0) != 0) && self.s_pend.val() {
                            self.m_hold.next = true;
                        }
                    }
                    32 => {
                        self.m_rd.next = self.s_desc.val().get_bits::<32>(0);
                    }
                    36 => {
                        self.m_rd.next = self.s_desc.val().get_bits::<32>(32);
                    }
                    40 => {
                        self.m_rd.next = self.s_avail.val().get_bits::<32>(0);
                    }
                    44 => {
                        self.m_rd.next = self.s_avail.val().get_bits::<32>(32);
                    }
                    48 => {
                        self.m_rd.next = self.s_used.val().get_bits::<32>(0);
                    }
                    52 => {
                        self.m_rd.next = self.s_used.val().get_bits::<32>(32);
                    }
                    56 => {
                        if self.s_valid.val() {
                            self.m_rd.next = bit_cast::<32, 16>(self.queue_select.q.val())
                                | (bit_cast::<32, 1>(self.s_reset.val().into()) << 16);
                        }
                    }
                    _ => {}
                }
            } else if self.m_region.val() == 1 {
                if self.m_off.val() == 0 {
                    self.m_rd.next = bit_cast::<32, 2>(self.isr.val());
                }
            } else if self.m_region.val() == 2 {
                if self.m_off.val() < 0x100 {
                    self.m_rd.next = self.cfg_ram_m.read_data.val();
                }
            } else if self.m_region.val() == 4 {
                match self.m_off.val().index() {
                    0 => {
                        self.m_rd.next = 0x4750_4656_u64.into();
                    }
                    4 => {
                        self.m_rd.next = 1.into();
                    }
                    8 => {
                        self.m_rd.next = bit_cast::<32, 16>(self.nq.val());
                    }
                    12 => {
                        self.m_rd.next = self.fw_status.q.val();
                    }
                    16 => {
                        self.m_rd.next = bit_cast::<32, 8>(self.error_cause.val());
                    }
                    20 => {
                        self.m_rd.next = bit_cast::<32, 8>(self.error_queue.val());
                    }
                    24 => {
                        self.m_rd.next = self.error_detail.val();
                    }
                    64 => {
                        self.m_rd.next = self.cnt_requests.val().get_bits::<32>(0);
                    }
                    72 => {
                        self.m_rd.next = self.cnt_bytes_read.val().get_bits::<32>(0);
                    }
                    80 => {
                        self.m_rd.next = self.cnt_bytes_written.val().get_bits::<32>(0);
                    }
                    88 => {
                        self.m_rd.next = self.cnt_notifies.val().get_bits::<32>(0);
                    }
                    96 => {
                        self.m_rd.next = self.interrupts.val().get_bits::<32>(0);
                    }
                    104 => {
                        self.m_rd.next = self.cnt_dma_errors.val().get_bits::<32>(0);
                    }
                    112 => {
                        self.m_rd.next = self.fw_cnt0.q.val();
                    }
                    120 => {
                        self.m_rd.next = self.fw_cnt1.q.val();
                    }
                    _ => {
                        if (self.m_off.val() >= 0x040)
                            && (self.m_off.val() < 0x080)
                            && self.m_off.val().get_bit(2)
                        {
                            // High dwords: the value latched when the low dword
                            // was read, so a 64-bit counter reads consistently
                            // low then high.
                            self.m_rd.next = self.cnt_shadow.q.val();
                        }
                    }
                }
                if self.v_hit.val() {
                    if self.m_off.val().get_bits::<4>(0) == 0x0 {
                        self.m_rd.next = bit_cast::<32, 1>(self.v_stop.val().into())
                            | (bit_cast::<32, 1>(
                                (self.v_stop.val() && (self.v_infl.val() == 0)).into(),
                            ) << 1);
                    } else if self.m_off.val().get_bits::<4>(0) == 0x4 {
                        self.m_rd.next = bit_cast::<32, 16>(self.v_la.val())
                            | (bit_cast::<32, 16>(self.v_ui.val()) << 16);
                    } else if self.m_off.val().get_bits::<4>(0) == 0x8 {
                        self.m_rd.next = bit_cast::<32, 16>(self.v_infl.val());
                    }
                }
            } else if self.m_region.val() == 5 {
                if self.m_off.val() < 0x80 {
                    self.m_rd.next = self.msix_table_rdata.val();
                }
            } else if self.m_region.val() == 6 {
                if self.m_off.val() == 0 {
                    self.m_rd.next = bit_cast::<32, NV>(self.msix_pba.val());
                }
            }
        }

        // Execute the access.
        if self.m_go.val() {
            if self.m_write.q.val() {
                self.m_state.d.next = MState::Idle;
                if self.m_region.val() == 0 {
                    if self.m_off.val() == 0x00 {
                        self.dfsel.d.next = (self.dfsel.q.val() & !self.wmask.val())
                            | (self.m_wdata.q.val() & self.wmask.val());
                    } else if self.m_off.val() == 0x08 {
                        self.drfsel.d.next = (self.drfsel.q.val() & !self.wmask.val())
                            | (self.m_wdata.q.val() & self.wmask.val());
                    } else if self.m_off.val() == 0x0C {
                        if self.drfsel.q.val() == 0 {
                            self.drv_feat_lo.d.next = (self.drv_feat_lo.q.val()
                                & !self.wmask.val())
                                | (self.m_wdata.q.val() & self.wmask.val());
                            self.m_ev_push.next = true;
                            self.m_ev_word.next = 6.into();
                        } else if self.drfsel.q.val() == 1 {
                            self.drv_feat_hi.d.next = (self.drv_feat_hi.q.val()
                                & !self.wmask.val())
                                | (self.m_wdata.q.val() & self.wmask.val());
                            self.m_ev_push.next = true;
                            self.m_ev_word.next = 0x0001_0006_u64.into();
                        }
                    } else if self.m_off.val() == 0x10 {
                        if self.m_strb.q.val().get_bits::<2>(0) != 0 {
                            self.merged.next = (bit_cast::<32, 16>(self.cfg_vector.q.val())
                                & !self.wmask.val())
                                | (self.m_wdata.q.val() & self.wmask.val());
                            self.vec_in.next = self.merged.val().get_bits::<16>(0);
                            // §4.1.5.1.2: a vector the table lacks reads NO_VECTOR.
                            if self.vec_in.val() < 8 {
                                self.cfg_vector.d.next = self.vec_in.val();
                            } else {
                                self.cfg_vector.d.next = 0xFFFF.into();
                            }
                        }
                    } else if self.m_off.val() == 0x14 {
                        if self.m_strb.q.val().get_bit(0) {
                            self.status_pending.d.next = true;
                            self.m_ev_push.next = true;
                            self.m_ev_word.next =
                                (bit_cast::<32, 8>(self.m_wdata.q.val().get_bits::<8>(0)) << 16)
                                    | 1;
                        }
                        if self.m_strb.q.val().get_bits::<2>(2) != 0 {
                            self.merged.next = ((bit_cast::<32, 16>(self.queue_select.q.val())
                                << 16)
                                & !self.wmask.val())
                                | (self.m_wdata.q.val() & self.wmask.val());
                            self.queue_select.d.next = self.merged.val().get_bits::<16>(16);
                        }
                    } else if self.m_off.val() == 0x1C {
                        if (self.m_strb.q.val().get_bits::<2>(0) != 0) && self.s_valid.val() {
                            self.m_ev_push.next = true;
                            self.m_ev_word.next = (self.m_wdata.q.val() << 16)
                                | (bit_cast::<32, 8>(self.queue_select.q.val().get_bits::<8>(0))
                                    << 8)
                                | 2;
                        }
                    } else if self.m_off.val() == 0x38 {
                        if self.m_strb.q.val().get_bits::<2>(2) != 0
                            && self.s_valid.val()
                            && self.m_wdata.q.val().get_bit(16)
                        {
                            self.m_ev_push.next = true;
                            self.m_ev_word.next = 0x0001_0003_u64
                                | (bit_cast::<32, 8>(self.queue_select.q.val().get_bits::<8>(0))
                                    << 8);
                        }
                    }
                    // Per-queue configuration: ignored while the queue is enabled.
                    self.s_wr.next = self.s_valid.val() && !self.s_en.val();
                    if self.m_off.val() == 0x18 {
                        self.merged.next = (((bit_cast::<32, 16>(self.s_vec.val()) << 16)
                            | bit_cast::<32, 16>(self.s_size.val()))
                            & !self.wmask.val())
                            | (self.m_wdata.q.val() & self.wmask.val());
                        self.vec_in.next = self.merged.val().get_bits::<16>(16);
                        // §4.1.5.1.2: a vector the table lacks reads NO_VECTOR.
                        if self.vec_in.val() >= 8 {
                            self.vec_in.next = 0xFFFF.into();
                        }
                    }
                    self.lo_mask.next = bit_cast::<64, 32>(self.wmask.val());
                    self.lo_data.next = bit_cast::<64, 32>(self.m_wdata.q.val() & self.wmask.val());
                    if self.m_off.val().get_bit(2) {
                        self.lo_mask.next = self.lo_mask.val() << 32;
                        self.lo_data.next = self.lo_data.val() << 32;
                    }
                    for i in 0..NQ {
                        if self.queue_select.q.val() == self.qi[i].val() {
                            if (self.m_off.val() == 0x1C)
                                && (self.m_strb.q.val().get_bits::<2>(0) != 0)
                            {
                                self.qen_pend[i].d.next = true;
                            }
                            if (self.m_off.val() == 0x38)
                                && (self.m_strb.q.val().get_bits::<2>(2) != 0)
                                && self.m_wdata.q.val().get_bit(16)
                            {
                                self.qreset[i].d.next = true;
                            }
                            if self.s_wr.val() {
                                if self.m_off.val() == 0x18 {
                                    self.qsize[i].d.next = self.merged.val().get_bits::<16>(0);
                                    self.qvec[i].d.next = self.vec_in.val();
                                } else if (self.m_off.val() == 0x20) || (self.m_off.val() == 0x24) {
                                    self.qdesc[i].d.next = (self.qdesc[i].q.val()
                                        & !self.lo_mask.val())
                                        | self.lo_data.val();
                                } else if (self.m_off.val() == 0x28) || (self.m_off.val() == 0x2C) {
                                    self.qavail[i].d.next = (self.qavail[i].q.val()
                                        & !self.lo_mask.val())
                                        | self.lo_data.val();
                                } else if (self.m_off.val() == 0x30) || (self.m_off.val() == 0x34) {
                                    self.qused[i].d.next = (self.qused[i].q.val()
                                        & !self.lo_mask.val())
                                        | self.lo_data.val();
                                }
                            }
                        }
                    }
                } else if self.m_region.val() == 3 {
                    for i in 0..NQ {
                        if self.m_off.val() == (self.qo[i].val() << 2) {
                            // A doorbell waits for the slot: MMIO back-pressure.
                            if self.db_valid.q.val() {
                                self.m_state.d.next = MState::Exec;
                            } else {
                                self.db_valid.d.next = true;
                                self.db_queue.d.next = self.qi[i].val();
                                self.db_data.d.next = self.m_wdata.q.val() & self.wmask.val();
                            }
                        }
                    }
                } else if self.m_region.val() == 4 {
                    self.merged.next = (((bit_cast::<32, 16>(self.v_ui.val()) << 16)
                        | bit_cast::<32, 16>(self.v_la.val()))
                        & !self.wmask.val())
                        | (self.m_wdata.q.val() & self.wmask.val());
                    if self.v_hit.val()
                        && (self.m_off.val().get_bits::<4>(0) == 0x0)
                        && self.m_strb.q.val().get_bit(0)
                    {
                        self.m_ev_push.next = true;
                        self.m_ev_word.next = (self.m_wdata.q.val() << 16)
                            | (bit_cast::<32, 8>(self.v_q.val()) << 8)
                            | 5;
                    }
                    for i in 0..NQ {
                        if self.m_off.val().get_bits::<8>(4) == (self.qb[i].val() + 0x10) {
                            if (self.m_off.val().get_bits::<4>(0) == 0x0)
                                && self.m_strb.q.val().get_bit(0)
                            {
                                self.qstop[i].d.next = self.m_wdata.q.val().get_bit(0);
                            }
                            // Ring indices: only while stopped (stop requested,
                            // nothing in flight).
                            if (self.m_off.val().get_bits::<4>(0) == 0x4)
                                && self.v_stop.val()
                                && (self.v_infl.val() == 0)
                            {
                                self.qset[i].d.next = true;
                                self.set_la.d.next = self.merged.val().get_bits::<16>(0);
                                self.set_ui.d.next = self.merged.val().get_bits::<16>(16);
                            }
                        }
                    }
                } else if self.m_region.val() == 5 {
                    if self.m_off.val() < 0x80 {
                        self.msix_reg_write.next = true;
                    }
                }
            } else if !self.m_hold.val() {
                self.m_rdata.d.next = self.m_rd.val();
                self.m_state.d.next = MState::Resp;
                if (self.m_region.val() == 1)
                    && (self.m_off.val() == 0)
                    && self.m_strb.q.val().get_bit(0)
                {
                    self.isr_read_clear.next = true;
                }
                if self.m_region.val() == 4 {
                    if self.m_off.val() == 0x040 {
                        self.cnt_shadow.d.next = self.cnt_requests.val().get_bits::<32>(32);
                    } else if self.m_off.val() == 0x048 {
                        self.cnt_shadow.d.next = self.cnt_bytes_read.val().get_bits::<32>(32);
                    } else if self.m_off.val() == 0x050 {
                        self.cnt_shadow.d.next = self.cnt_bytes_written.val().get_bits::<32>(32);
                    } else if self.m_off.val() == 0x058 {
                        self.cnt_shadow.d.next = self.cnt_notifies.val().get_bits::<32>(32);
                    } else if self.m_off.val() == 0x060 {
                        self.cnt_shadow.d.next = self.interrupts.val().get_bits::<32>(32);
                    } else if self.m_off.val() == 0x068 {
                        self.cnt_shadow.d.next = self.cnt_dma_errors.val().get_bits::<32>(32);
                    } else if (self.m_off.val() == 0x070) || (self.m_off.val() == 0x078) {
                        self.cnt_shadow.d.next = 0.into();
                    }
                }
            }
        }

        // Doorbell slot empties on its handshake.
        if self.db_valid.q.val() && self.doorbell_ready.val() {
            self.db_valid.d.next = false;
        }

        // ---------------- events ----------------
        if self.m_ev_push.val() {
            self.events.push.next = true;
            self.events.push_data.next = self.m_ev_word.val();
        } else if self.err_evt_wait.q.val() {
            self.events.push.next = true;
            self.events.push_data.next = (bit_cast::<32, 8>(self.error_cause.val()) << 16)
                | (bit_cast::<32, 8>(self.error_queue.val()) << 8)
                | 4;
            self.err_evt_wait.d.next = false;
        } else if self.ext_event_valid.val() {
            self.events.push.next = true;
            self.events.push_data.next = self.ext_event_word.val();
        }
        // The function's events come last: the driver's and the error's
        // cannot wait.
        self.ext_event_ready.next = !self.m_ev_push.val() && !self.err_evt_wait.q.val();
        if self.error_pulse.val() {
            self.err_evt_wait.d.next = true;
        }

        // ---------------- engine reset ----------------
        if self.do_ereset.val() {
            self.eng_reset_pulse.d.next = true;
            self.drv_feat_lo.d.next = 0.into();
            self.drv_feat_hi.d.next = 0.into();
            self.cfg_vector.d.next = 0xFFFF.into();
            self.events.clear_overflow.next = true;
            self.db_valid.d.next = false;
            for i in 0..NQ {
                self.qsize[i].d.next = 256.into();
                self.qvec[i].d.next = 0xFFFF.into();
                self.qdesc[i].d.next = 0.into();
                self.qavail[i].d.next = 0.into();
                self.qused[i].d.next = 0.into();
                self.qen[i].d.next = false;
                self.qen_pend[i].d.next = false;
                self.qreset[i].d.next = false;
                self.qrun[i].d.next = false;
                self.qstop[i].d.next = false;
            }
        }
        if self.reset.val() {
            self.m_state.d.next = MState::Idle;
            self.g_state.d.next = GState::Idle;
            self.dev_status.d.next = 0.into();
            self.status_pending.d.next = false;
            self.config_gen.d.next = 0.into();
            self.dev_feat_lo.d.next = 0.into();
            self.dev_feat_hi.d.next = 0.into();
            self.drv_feat_lo.d.next = 0.into();
            self.drv_feat_hi.d.next = 0.into();
            self.dfsel.d.next = 0.into();
            self.drfsel.d.next = 0.into();
            self.cfg_vector.d.next = 0xFFFF.into();
            self.queue_select.d.next = 0.into();
            self.engine_ctrl.d.next = 0.into();
            self.fw_status.d.next = 0.into();
            self.fw_cnt0.d.next = 0.into();
            self.fw_cnt1.d.next = 0.into();
            self.g_qsel.d.next = 0.into();
            self.devcfg_addr.d.next = 0.into();
            self.cap_lo.d.next = 0.into();
            self.cap_hi.d.next = 0.into();
            self.err_evt_wait.d.next = false;
            self.eng_reset_pulse.d.next = true;
            self.db_valid.d.next = false;
            for i in 0..NQ {
                self.qsize[i].d.next = 256.into();
                self.qvec[i].d.next = 0xFFFF.into();
                self.qdesc[i].d.next = 0.into();
                self.qavail[i].d.next = 0.into();
                self.qused[i].d.next = 0.into();
                self.qen[i].d.next = false;
                self.qen_pend[i].d.next = false;
                self.qreset[i].d.next = false;
                self.qrun[i].d.next = false;
                self.qstop[i].d.next = false;
                self.qset[i].d.next = false;
            }
        }

        // ---------------- outputs ----------------
        for i in 0..NQ {
            self.q_desc[i].next = self.qdesc[i].q.val();
            self.q_avail[i].next = self.qavail[i].q.val();
            self.q_used[i].next = self.qused[i].q.val();
            self.q_size[i].next = self.qsize[i].q.val();
            self.q_vector[i].next = self.qvec[i].q.val();
            self.q_run[i].next = self.qrun[i].q.val() && !self.qstop[i].q.val();
            self.q_set_idx[i].next = self.qset[i].q.val();
        }
        self.q_set_last_avail.next = self.set_la.q.val();
        self.q_set_used.next = self.set_ui.q.val();
        self.dma_enable.next = self.engine_ctrl.q.val().get_bit(0) && self.bus_master.val();
        self.event_idx.next = self.engine_ctrl.q.val().get_bit(1);
        self.notification_data.next = self.engine_ctrl.q.val().get_bit(2);
        self.indirect_enable.next = self.engine_ctrl.q.val().get_bit(3);
        self.engine_reset.next = self.eng_reset_pulse.q.val();
        self.msix_clear.next = self.eng_reset_pulse.q.val();
        self.config_vector.next = self.cfg_vector.q.val();
        self.blk_capacity.next = bit_cast::<64, 32>(self.cap_lo.q.val())
            | (bit_cast::<64, 32>(self.cap_hi.q.val()) << 32);
        self.doorbell_valid.next = self.db_valid.q.val();
        self.doorbell_queue.next = self.db_queue.q.val();
        self.doorbell_data.next = self.db_data.q.val();
        self.attention.next = self.events.count.val() != 0;
        self.busy.next = (self.m_state.q.val() != MState::Idle)
            || self.db_valid.q.val()
            || (self.events.count.val() != 0)
            || self.err_evt_wait.q.val()
            || self.eng_reset_pulse.q.val();
        for i in 0..NQ {
            if self.qset[i].q.val() {
                self.busy.next = true;
            }
        }
    }
}
