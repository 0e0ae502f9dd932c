//! `NetEngine`: the virtio-net datapath for one queue pair — the shared
//! vq stages (avail fetch, chain walker with `plain_chains`, used writer
//! with `done_defer`), the DMA master, and the net stages: [`NetTx`] to the
//! MAC TX port, [`NetFilter`] and [`NetRx`] from the MAC RX port.
//!
//! # Queues
//!
//! Queue 0 is receiveq1, queue 1 is transmitq1 (virtio 1.2 §5.1.2). The
//! walker's chains are routed by queue: RX chains (posted buffers, which
//! wait for frames) into their own FIFOs, deep enough for a whole queue
//! ([`RX_CHAIN_FIFO_LOG2`]), so posted RX buffers never hold up TX chains
//! behind them in the walker.
//!
//! # Ports (besides those of `engine::BlkEngine`, whose queue, doorbell,
//! error, counter, interrupt and DMA ports this engine has alike)
//!
//! MAC TX (device -> MAC, `vfpga_abi::ports::NetBeat` without `pair`):
//! `mac_tx_{valid out, ready in, data: Bits<128> out, bytes: Bits<5> out,
//! last out}`. MAC RX (MAC -> device): `mac_rx_{valid in, ready out, data
//! in, bytes in, last in}`. Net registers (`vfpga_abi::mgmt::net`):
//! `reg_write`, `reg_addr: Bits<8>`, `reg_wdata: Bits<32>` in,
//! `reg_rdata: Bits<32>` out (combinational in `reg_addr`). `net_reset`
//! (power-on reset of the filter registers; `engine_reset` keeps them, as
//! the control-queue state is the firmware's to restore).
//!
//! DMA read tags: 0 avail fetch, 8 walker, 16 TX data, 24 used writer.
//! `idle` does not count RX buffers waiting in their FIFOs for a frame.

// rust-hdl's #[hdl_gen] has no match guards: nested ifs stay nested.
#![allow(clippy::collapsible_match)]

use crate::dma::DmaMaster;
use crate::dma::master::DATA_BITS;
use crate::net::{NetFilter, NetRx, NetTx};
use crate::vq::avail::AvailFetch;
use crate::vq::fifo::Fifo;
use crate::vq::used::UsedWriter;
use crate::vq::walker::ChainWalker;
use rust_hdl::prelude::*;

/// log2 of the head FIFO depth (avail fetch -> walker).
pub const HEAD_FIFO_LOG2: usize = 5;
/// log2 of the RX segment FIFO depth.
pub const RX_SEG_FIFO_LOG2: usize = 8;
/// log2 of the RX chain FIFO depth: a whole queue of posted buffers.
pub const RX_CHAIN_FIFO_LOG2: usize = 8;
/// log2 of the TX segment FIFO depth; holds a whole chain.
pub const TX_SEG_FIFO_LOG2: usize = 7;
/// log2 of the TX chain FIFO depth.
pub const TX_CHAIN_FIFO_LOG2: usize = 3;
/// log2 of each used-record FIFO depth (RX and TX).
pub const DONE_FIFO_LOG2: usize = 3;

const _: () = assert!(1 << RX_CHAIN_FIFO_LOG2 >= crate::vq::QMAX as usize);
const _: () = assert!(1 << TX_SEG_FIFO_LOG2 >= crate::vq::MAX_CHAIN_SEGS);
const _: () = assert!(vfpga_abi::mgmt::net::RX_DROP_NOBUF == 0x66);
const _: () = assert!(vfpga_abi::mgmt::net::RX_FRAMES == 0x68);
const _: () = assert!(vfpga_abi::mgmt::net::TX_FRAMES == 0x69);
const _: () = assert!(vfpga_abi::mgmt::net::RX_TRUNCATED == 0x6A);

/// The virtio-net engine for one queue pair.
#[derive(LogicBlock, Default, Debug)]
pub struct NetEngine {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Power-on reset of the net registers.
    pub net_reset: Signal<In, Bit>,
    /// Queue 0 (RX) descriptor table.
    pub q_desc_0: Signal<In, Bits<64>>,
    /// Queue 0 avail ring.
    pub q_avail_0: Signal<In, Bits<64>>,
    /// Queue 0 used ring.
    pub q_used_0: Signal<In, Bits<64>>,
    /// Queue 0 size.
    pub q_size_0: Signal<In, Bits<16>>,
    /// Queue 0 MSI-X vector.
    pub q_vector_0: Signal<In, Bits<16>>,
    /// Queue 0 may fetch new chains.
    pub q_run_0: Signal<In, Bit>,
    /// Queue 0: load the indices (pulse).
    pub q_set_idx_0: Signal<In, Bit>,
    /// Queue 0: last_avail_idx to load.
    pub q_set_last_avail_0: Signal<In, Bits<16>>,
    /// Queue 0: used index to load.
    pub q_set_used_0: Signal<In, Bits<16>>,
    /// Queue 1 (TX) descriptor table.
    pub q_desc_1: Signal<In, Bits<64>>,
    /// Queue 1 avail ring.
    pub q_avail_1: Signal<In, Bits<64>>,
    /// Queue 1 used ring.
    pub q_used_1: Signal<In, Bits<64>>,
    /// Queue 1 size.
    pub q_size_1: Signal<In, Bits<16>>,
    /// Queue 1 MSI-X vector.
    pub q_vector_1: Signal<In, Bits<16>>,
    /// Queue 1 may fetch new chains.
    pub q_run_1: Signal<In, Bit>,
    /// Queue 1: load the indices (pulse).
    pub q_set_idx_1: Signal<In, Bit>,
    /// Queue 1: last_avail_idx to load.
    pub q_set_last_avail_1: Signal<In, Bits<16>>,
    /// Queue 1: used index to load.
    pub q_set_used_1: Signal<In, Bits<16>>,
    /// DMA allowed (ENGINE_CTRL and bus master).
    pub dma_enable: Signal<In, Bit>,
    /// VIRTIO_F_EVENT_IDX negotiated.
    pub event_idx: Signal<In, Bit>,
    /// VIRTIO_F_INDIRECT_DESC negotiated.
    pub indirect_enable: Signal<In, Bit>,
    /// Clear every queue's state and the error (pulse, while idle).
    pub engine_reset: Signal<In, Bit>,
    /// Doorbell valid.
    pub doorbell_valid: Signal<In, Bit>,
    /// Doorbell ready.
    pub doorbell_ready: Signal<Out, Bit>,
    /// Doorbell queue.
    pub doorbell_queue: Signal<In, Bits<16>>,

    /// Queue 0 last_avail_idx.
    pub q_last_avail_0: Signal<Out, Bits<16>>,
    /// Queue 0 used index.
    pub q_used_idx_0: Signal<Out, Bits<16>>,
    /// Queue 0 chains fetched and not yet used.
    pub q_inflight_0: Signal<Out, Bits<16>>,
    /// Queue 1 last_avail_idx.
    pub q_last_avail_1: Signal<Out, Bits<16>>,
    /// Queue 1 used index.
    pub q_used_idx_1: Signal<Out, Bits<16>>,
    /// Queue 1 chains fetched and not yet used.
    pub q_inflight_1: Signal<Out, Bits<16>>,
    /// Nothing in flight (posted RX buffers aside).
    pub idle: Signal<Out, Bit>,
    /// Sticky fault.
    pub error: Signal<Out, Bit>,
    /// One cycle as `error` rises.
    pub error_pulse: Signal<Out, Bit>,
    /// ErrorCause.
    pub error_cause: Signal<Out, Bits<8>>,
    /// Queue of the fault.
    pub error_queue: Signal<Out, Bits<8>>,
    /// Detail of the fault.
    pub error_detail: Signal<Out, Bits<32>>,
    /// Interrupt request valid.
    pub irq_valid: Signal<Out, Bit>,
    /// Interrupt request ready.
    pub irq_ready: Signal<In, Bit>,
    /// Interrupt request queue.
    pub irq_queue: Signal<Out, Bits<16>>,
    /// Interrupt request vector.
    pub irq_vector: Signal<Out, Bits<16>>,
    /// Used elements written (buffers completed).
    pub cnt_requests: Signal<Out, Bits<64>>,
    /// TX bytes read from host memory.
    pub cnt_bytes_read: Signal<Out, Bits<64>>,
    /// RX bytes written into the drivers' buffers (headers included).
    pub cnt_bytes_written: Signal<Out, Bits<64>>,
    /// Doorbells accepted.
    pub cnt_notifies: Signal<Out, Bits<64>>,
    /// DMA error completions / responses.
    pub cnt_dma_errors: Signal<Out, Bits<64>>,

    /// Net register write strobe.
    pub reg_write: Signal<In, Bit>,
    /// Net register address.
    pub reg_addr: Signal<In, Bits<8>>,
    /// Net register write data.
    pub reg_wdata: Signal<In, Bits<32>>,
    /// Net register read data for `reg_addr`.
    pub reg_rdata: Signal<Out, Bits<32>>,

    /// MAC TX valid.
    pub mac_tx_valid: Signal<Out, Bit>,
    /// MAC TX ready.
    pub mac_tx_ready: Signal<In, Bit>,
    /// MAC TX data.
    pub mac_tx_data: Signal<Out, Bits<128>>,
    /// MAC TX valid bytes (1..=16).
    pub mac_tx_bytes: Signal<Out, Bits<5>>,
    /// MAC TX last beat.
    pub mac_tx_last: Signal<Out, Bit>,
    /// MAC RX valid.
    pub mac_rx_valid: Signal<In, Bit>,
    /// MAC RX ready.
    pub mac_rx_ready: Signal<Out, Bit>,
    /// MAC RX data.
    pub mac_rx_data: Signal<In, Bits<128>>,
    /// MAC RX valid bytes (1..=16).
    pub mac_rx_bytes: Signal<In, Bits<5>>,
    /// MAC RX last beat.
    pub mac_rx_last: Signal<In, Bit>,

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

    /// The DMA master.
    pub dma: DmaMaster<DATA_BITS>,
    /// Avail-ring fetch.
    pub avail: AvailFetch,
    /// Chain walker.
    pub walker: ChainWalker,
    /// Used-ring writer.
    pub used: UsedWriter,
    /// RX filter and net registers.
    pub filter: NetFilter,
    /// RX stage.
    pub rx: NetRx,
    /// TX stage.
    pub tx: NetTx,
    head_fifo: Fifo<Bits<17>, HEAD_FIFO_LOG2, { HEAD_FIFO_LOG2 + 1 }>,
    rx_seg: Fifo<Bits<97>, RX_SEG_FIFO_LOG2, { RX_SEG_FIFO_LOG2 + 1 }>,
    rx_chain: Fifo<Bits<80>, RX_CHAIN_FIFO_LOG2, { RX_CHAIN_FIFO_LOG2 + 1 }>,
    tx_seg: Fifo<Bits<97>, TX_SEG_FIFO_LOG2, { TX_SEG_FIFO_LOG2 + 1 }>,
    tx_chain: Fifo<Bits<80>, TX_CHAIN_FIFO_LOG2, { TX_CHAIN_FIFO_LOG2 + 1 }>,
    rx_done: Fifo<Bits<49>, DONE_FIFO_LOG2, { DONE_FIFO_LOG2 + 1 }>,
    tx_done: Fifo<Bits<16>, DONE_FIFO_LOG2, { DONE_FIFO_LOG2 + 1 }>,
    err: DFF<Bit>,
    err_pulse: DFF<Bit>,
    err_cause: DFF<Bits<8>>,
    err_queue: DFF<Bits<8>>,
    err_detail: DFF<Bits<32>>,
    infl0: DFF<Bits<16>>,
    infl1: DFF<Bits<16>>,
    c_req: DFF<Bits<64>>,
    c_rd: DFF<Bits<64>>,
    c_wr: DFF<Bits<64>>,
    c_db: DFF<Bits<64>>,
    c_dma: DFF<Bits<64>>,
    c_rx: DFF<Bits<32>>,
    c_tx: DFF<Bits<32>>,
    c_nobuf: DFF<Bits<32>>,
    c_trunc: DFF<Bits<32>>,
    fault_queue: Signal<Local, Bits<8>>,
    seg_word: Signal<Local, Bits<97>>,
    chain_word: Signal<Local, Bits<80>>,
    to_rx: Signal<Local, Bit>,
    rx_seg_free: Signal<Local, Bits<10>>,
    sel_rx: Signal<Local, Bit>,
    set0: Signal<Local, Bit>,
    set1: Signal<Local, Bit>,
    add0: Signal<Local, Bit>,
    add1: Signal<Local, Bit>,
    sub0: Signal<Local, Bit>,
    sub1: Signal<Local, Bit>,
}

impl Logic for NetEngine {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, err, err_pulse, err_cause, err_queue, err_detail, infl0, infl1, c_req,
            c_rd, c_wr, c_db, c_dma, c_rx, c_tx, c_nobuf, c_trunc
        );
        clock!(
            self, clock, dma, avail, walker, used, filter, rx, tx, head_fifo, rx_seg, rx_chain,
            tx_seg, tx_chain, rx_done, tx_done
        );

        // Resets and halts.
        self.dma.reset.next = self.engine_reset.val();
        self.avail.reset.next = self.engine_reset.val();
        self.walker.reset.next = self.engine_reset.val();
        self.used.reset.next = self.engine_reset.val();
        self.rx.reset.next = self.engine_reset.val();
        self.tx.reset.next = self.engine_reset.val();
        self.filter.reset.next = self.net_reset.val();
        self.head_fifo.clear.next = self.engine_reset.val();
        self.rx_seg.clear.next = self.engine_reset.val();
        self.rx_chain.clear.next = self.engine_reset.val();
        self.tx_seg.clear.next = self.engine_reset.val();
        self.tx_chain.clear.next = self.engine_reset.val();
        self.rx_done.clear.next = self.engine_reset.val();
        self.tx_done.clear.next = self.engine_reset.val();
        self.dma.halt.next = self.err.q.val();
        self.avail.halt.next = self.err.q.val();
        self.walker.halt.next = self.err.q.val();
        self.used.halt.next = self.err.q.val();
        self.rx.halt.next = self.err.q.val();
        self.tx.halt.next = self.err.q.val();
        self.dma.enable.next = self.dma_enable.val() && !self.err.q.val();

        // DMA ports.
        self.dma_rd_req_valid.next = self.dma.rd_req_valid.val();
        self.dma.rd_req_ready.next = self.dma_rd_req_ready.val();
        self.dma_rd_req_tag.next = self.dma.rd_req_tag.val();
        self.dma_rd_req_addr.next = self.dma.rd_req_addr.val();
        self.dma_rd_req_len.next = self.dma.rd_req_len.val();
        self.dma.rd_cpl_valid.next = self.dma_rd_cpl_valid.val();
        self.dma_rd_cpl_ready.next = self.dma.rd_cpl_ready.val();
        self.dma.rd_cpl_tag.next = self.dma_rd_cpl_tag.val();
        self.dma.rd_cpl_data.next = self.dma_rd_cpl_data.val();
        self.dma.rd_cpl_last.next = self.dma_rd_cpl_last.val();
        self.dma.rd_cpl_error.next = self.dma_rd_cpl_error.val();
        self.dma_wr_valid.next = self.dma.wr_valid.val();
        self.dma.wr_ready.next = self.dma_wr_ready.val();
        self.dma_wr_addr.next = self.dma.wr_addr.val();
        self.dma_wr_len.next = self.dma.wr_len.val();
        self.dma_wr_data.next = self.dma.wr_data.val();
        self.dma_wr_last.next = self.dma.wr_last.val();
        self.dma.wr_rsp_valid.next = self.dma_wr_rsp_valid.val();
        self.dma_wr_rsp_ready.next = self.dma.wr_rsp_ready.val();
        self.dma.wr_rsp_error.next = self.dma_wr_rsp_error.val();

        // Queue configuration to the stages.
        self.avail.event_idx.next = self.event_idx.val();
        self.avail.q0_desc.next = self.q_desc_0.val();
        self.avail.q0_avail.next = self.q_avail_0.val();
        self.avail.q0_used.next = self.q_used_0.val();
        self.avail.q0_size.next = self.q_size_0.val();
        self.avail.q0_run.next = self.q_run_0.val();
        self.avail.q1_desc.next = self.q_desc_1.val();
        self.avail.q1_avail.next = self.q_avail_1.val();
        self.avail.q1_used.next = self.q_used_1.val();
        self.avail.q1_size.next = self.q_size_1.val();
        self.avail.q1_run.next = self.q_run_1.val();
        self.walker.indirect_enable.next = self.indirect_enable.val();
        self.walker.plain_chains.next = true;
        self.walker.q0_desc.next = self.q_desc_0.val();
        self.walker.q0_size.next = self.q_size_0.val();
        self.walker.q1_desc.next = self.q_desc_1.val();
        self.walker.q1_size.next = self.q_size_1.val();
        self.used.event_idx.next = self.event_idx.val();
        self.used.q0_avail.next = self.q_avail_0.val();
        self.used.q0_used.next = self.q_used_0.val();
        self.used.q0_size.next = self.q_size_0.val();
        self.used.q0_vector.next = self.q_vector_0.val();
        self.used.q1_avail.next = self.q_avail_1.val();
        self.used.q1_used.next = self.q_used_1.val();
        self.used.q1_size.next = self.q_size_1.val();
        self.used.q1_vector.next = self.q_vector_1.val();

        // Doorbells only set a pending flag.
        self.doorbell_ready.next = true;
        self.avail.db_valid.next = self.doorbell_valid.val();
        self.avail.db_queue.next = self.doorbell_queue.val();

        // Index loads, honoured only on a stopped queue with nothing in flight.
        self.set0.next = self.q_set_idx_0.val() && !self.q_run_0.val() && (self.infl0.q.val() == 0);
        self.set1.next = self.q_set_idx_1.val() && !self.q_run_1.val() && (self.infl1.q.val() == 0);
        self.avail.set0.next = self.set0.val();
        self.avail.set1.next = self.set1.val();
        self.avail.set0_val.next = self.q_set_last_avail_0.val();
        self.avail.set1_val.next = self.q_set_last_avail_1.val();
        self.used.set0.next = self.set0.val();
        self.used.set1.next = self.set1.val();
        self.used.set0_val.next = self.q_set_used_0.val();
        self.used.set1_val.next = self.q_set_used_1.val();

        // avail -> head FIFO -> walker.
        self.head_fifo.write.next = self.avail.head_push.val();
        self.head_fifo.data_in.next = bit_cast::<17, 16>(self.avail.head_idx.val())
            | (bit_cast::<17, 1>(self.avail.head_queue.val()) << 16);
        self.avail.head_room.next = bits::<8>(32) - bit_cast::<8, 6>(self.head_fifo.count.val());
        self.walker.head_valid.next = !self.head_fifo.empty.val();
        self.walker.head_idx.next = self.head_fifo.data_out.val().get_bits::<16>(0);
        self.walker.head_queue.next = self.head_fifo.data_out.val().get_bits::<1>(16);
        self.head_fifo.read.next = self.walker.head_pop.val();

        // walker -> RX or TX segment and chain FIFOs, by the chain's queue.
        self.to_rx.next = self.walker.cur_queue.val() == 0;
        self.seg_word.next = bit_cast::<97, 64>(self.walker.seg_addr.val())
            | (bit_cast::<97, 32>(self.walker.seg_len.val()) << 64);
        if self.walker.seg_write.val() {
            self.seg_word.next = bit_cast::<97, 64>(self.walker.seg_addr.val())
                | (bit_cast::<97, 32>(self.walker.seg_len.val()) << 64)
                | (bits::<97>(1) << 96);
        }
        self.chain_word.next = bit_cast::<80, 16>(self.walker.chain_head.val())
            | (bit_cast::<80, 32>(self.walker.chain_rlen.val()) << 16)
            | (bit_cast::<80, 32>(self.walker.chain_wlen.val()) << 48);
        self.rx_seg.data_in.next = self.seg_word.val();
        self.tx_seg.data_in.next = self.seg_word.val();
        self.rx_chain.data_in.next = self.chain_word.val();
        self.tx_chain.data_in.next = self.chain_word.val();
        self.rx_seg.write.next = self.walker.seg_push.val() && self.to_rx.val();
        self.tx_seg.write.next = self.walker.seg_push.val() && !self.to_rx.val();
        self.rx_chain.write.next = self.walker.chain_push.val() && self.to_rx.val();
        self.tx_chain.write.next = self.walker.chain_push.val() && !self.to_rx.val();
        // Free entries of the FIFOs the walker's chain goes to (it reserves
        // room for a whole prefetch window of segments).
        self.rx_seg_free.next = bits::<10>(256) - bit_cast::<10, 9>(self.rx_seg.count.val());
        self.walker.seg_room.next = bits::<8>(128) - bit_cast::<8, 8>(self.tx_seg.count.val());
        self.walker.chain_room.next = bits::<8>(8) - bit_cast::<8, 4>(self.tx_chain.count.val());
        if self.to_rx.val() {
            self.walker.seg_room.next = 255.into();
            if self.rx_seg_free.val() < 255 {
                self.walker.seg_room.next = bit_cast::<8, 10>(self.rx_seg_free.val());
            }
            self.walker.chain_room.next = 1.into();
            if self.rx_chain.full.val() {
                self.walker.chain_room.next = 0.into();
            }
        }

        // RX: MAC -> filter -> RX stage -> buffers.
        self.filter.reg_write.next = self.reg_write.val();
        self.filter.reg_addr.next = self.reg_addr.val();
        self.filter.reg_wdata.next = self.reg_wdata.val();
        self.filter.in_valid.next = self.mac_rx_valid.val();
        self.mac_rx_ready.next = self.filter.in_ready.val();
        self.filter.in_data.next = self.mac_rx_data.val();
        self.filter.in_bytes.next = self.mac_rx_bytes.val();
        self.filter.in_last.next = self.mac_rx_last.val();
        self.rx.in_valid.next = self.filter.out_valid.val();
        self.filter.out_ready.next = self.rx.in_ready.val();
        self.rx.in_data.next = self.filter.out_data.val();
        self.rx.in_bytes.next = self.filter.out_bytes.val();
        self.rx.in_last.next = self.filter.out_last.val();
        self.rx.mrg_rxbuf.next = self.filter.mrg_rxbuf.val();
        self.rx.chain_valid.next = !self.rx_chain.empty.val();
        self.rx.chain_head.next = self.rx_chain.data_out.val().get_bits::<16>(0);
        self.rx.chain_rlen.next = self.rx_chain.data_out.val().get_bits::<32>(16);
        self.rx.chain_wlen.next = self.rx_chain.data_out.val().get_bits::<32>(48);
        self.rx_chain.read.next = self.rx.chain_pop.val();
        self.rx.seg_valid.next = !self.rx_seg.empty.val();
        self.rx.seg_addr.next = self.rx_seg.data_out.val().get_bits::<64>(0);
        self.rx.seg_len.next = self.rx_seg.data_out.val().get_bits::<32>(64);
        self.rx.seg_write.next = self.rx_seg.data_out.val().get_bit(96);
        self.rx_seg.read.next = self.rx.seg_pop.val();
        self.rx_done.write.next = self.rx.done_push.val();
        self.rx_done.data_in.next = bit_cast::<49, 16>(self.rx.done_head.val())
            | (bit_cast::<49, 32>(self.rx.done_len.val()) << 16);
        if self.rx.done_defer.val() {
            self.rx_done.data_in.next = bit_cast::<49, 16>(self.rx.done_head.val())
                | (bit_cast::<49, 32>(self.rx.done_len.val()) << 16)
                | (bits::<49>(1) << 48);
        }
        self.rx.done_room.next = bits::<8>(8) - bit_cast::<8, 4>(self.rx_done.count.val());

        // TX: buffers -> TX stage -> MAC.
        self.tx.chain_valid.next = !self.tx_chain.empty.val();
        self.tx.chain_head.next = self.tx_chain.data_out.val().get_bits::<16>(0);
        self.tx.chain_rlen.next = self.tx_chain.data_out.val().get_bits::<32>(16);
        self.tx.chain_wlen.next = self.tx_chain.data_out.val().get_bits::<32>(48);
        self.tx_chain.read.next = self.tx.chain_pop.val();
        self.tx.seg_valid.next = !self.tx_seg.empty.val();
        self.tx.seg_addr.next = self.tx_seg.data_out.val().get_bits::<64>(0);
        self.tx.seg_len.next = self.tx_seg.data_out.val().get_bits::<32>(64);
        self.tx_seg.read.next = self.tx.seg_pop.val();
        self.tx_done.write.next = self.tx.done_push.val();
        self.tx_done.data_in.next = self.tx.done_head.val();
        self.tx.done_room.next = bits::<8>(8) - bit_cast::<8, 4>(self.tx_done.count.val());
        self.mac_tx_valid.next = self.tx.mac_valid.val();
        self.tx.mac_ready.next = self.mac_tx_ready.val();
        self.mac_tx_data.next = self.tx.mac_data.val();
        self.mac_tx_bytes.next = self.tx.mac_bytes.val();
        self.mac_tx_last.next = self.tx.mac_last.val();

        // Used records: RX first (a frame's buffers stay together: only
        // the RX stage pushes RX records, in order).
        self.sel_rx.next = !self.rx_done.empty.val();
        self.used.done_valid.next = !self.rx_done.empty.val() || !self.tx_done.empty.val();
        self.rx_done.read.next = false;
        self.tx_done.read.next = false;
        if self.sel_rx.val() {
            self.used.done_queue.next = 0.into();
            self.used.done_head.next = self.rx_done.data_out.val().get_bits::<16>(0);
            self.used.done_len.next = self.rx_done.data_out.val().get_bits::<32>(16);
            self.used.done_defer.next = self.rx_done.data_out.val().get_bit(48);
            self.rx_done.read.next = self.used.done_pop.val();
        } else {
            self.used.done_queue.next = 1.into();
            self.used.done_head.next = self.tx_done.data_out.val();
            self.used.done_len.next = 0.into();
            self.used.done_defer.next = false;
            self.tx_done.read.next = self.used.done_pop.val();
        }

        // DMA clients: reads 0 avail, 1 walker, 2 TX data, 3 used; writes
        // 0 RX data, 1 used, 2 avail.
        self.dma.r0_req_valid.next = self.avail.rd_valid.val();
        self.avail.rd_ready.next = self.dma.r0_req_ready.val();
        self.dma.r0_req_addr.next = self.avail.rd_addr.val();
        self.dma.r0_req_len.next = self.avail.rd_len.val();
        self.dma.r0_req_sub.next = 0.into();
        self.avail.cpl_valid.next = self.dma.r0_cpl_valid.val();
        self.dma.r0_cpl_ready.next = self.avail.cpl_ready.val();
        self.avail.cpl_data.next = self.dma.cpl_data.val();
        self.dma.r1_req_valid.next = self.walker.rd_valid.val();
        self.walker.rd_ready.next = self.dma.r1_req_ready.val();
        self.dma.r1_req_addr.next = self.walker.rd_addr.val();
        self.dma.r1_req_len.next = self.walker.rd_len.val();
        self.dma.r1_req_sub.next = 0.into();
        self.walker.cpl_valid.next = self.dma.r1_cpl_valid.val();
        self.dma.r1_cpl_ready.next = self.walker.cpl_ready.val();
        self.walker.cpl_data.next = self.dma.cpl_data.val();
        self.walker.cpl_last.next = self.dma.cpl_last.val();
        self.dma.r2_req_valid.next = self.tx.rd_valid.val();
        self.tx.rd_ready.next = self.dma.r2_req_ready.val();
        self.dma.r2_req_addr.next = self.tx.rd_addr.val();
        self.dma.r2_req_len.next = self.tx.rd_len.val();
        self.dma.r2_req_sub.next = 0.into();
        self.tx.cpl_valid.next = self.dma.r2_cpl_valid.val();
        self.dma.r2_cpl_ready.next = self.tx.cpl_ready.val();
        self.tx.cpl_data.next = self.dma.cpl_data.val();
        self.tx.cpl_last.next = self.dma.cpl_last.val();
        self.dma.r3_req_valid.next = self.used.rd_valid.val();
        self.used.rd_ready.next = self.dma.r3_req_ready.val();
        self.dma.r3_req_addr.next = self.used.rd_addr.val();
        self.dma.r3_req_len.next = 2.into();
        self.dma.r3_req_sub.next = 0.into();
        self.used.cpl_valid.next = self.dma.r3_cpl_valid.val();
        self.dma.r3_cpl_ready.next = self.used.cpl_ready.val();
        self.used.cpl_data.next = self.dma.cpl_data.val();
        self.dma.w0_valid.next = self.rx.wr_valid.val();
        self.rx.wr_ready.next = self.dma.w0_ready.val();
        self.dma.w0_addr.next = self.rx.wr_addr.val();
        self.dma.w0_len.next = self.rx.wr_len.val();
        self.dma.w0_data.next = self.rx.wr_data.val();
        self.dma.w0_last.next = true;
        self.dma.w1_valid.next = self.used.wr_valid.val();
        self.used.wr_ready.next = self.dma.w1_ready.val();
        self.dma.w1_addr.next = self.used.wr_addr.val();
        self.dma.w1_len.next = self.used.wr_len.val();
        self.dma.w1_data.next = self.used.wr_data.val();
        self.dma.w1_last.next = true;
        self.dma.w2_valid.next = self.avail.wr_valid.val();
        self.avail.wr_ready.next = self.dma.w2_ready.val();
        self.dma.w2_addr.next = self.avail.wr_addr.val();
        self.dma.w2_len.next = 2.into();
        self.dma.w2_data.next = self.avail.wr_data.val();
        self.dma.w2_last.next = true;

        // Interrupt requests.
        self.irq_valid.next = self.used.irq_valid.val();
        self.used.irq_ready.next = self.irq_ready.val();
        self.irq_queue.next = self.used.irq_queue.val();
        self.irq_vector.next = self.used.irq_vector.val();

        // Per-queue state out.
        self.q_last_avail_0.next = self.avail.last_avail0.val();
        self.q_last_avail_1.next = self.avail.last_avail1.val();
        self.q_used_idx_0.next = self.used.used_idx0.val();
        self.q_used_idx_1.next = self.used.used_idx1.val();
        self.q_inflight_0.next = self.infl0.q.val();
        self.q_inflight_1.next = self.infl1.q.val();
        self.add0.next = self.avail.head_push.val() && (self.avail.head_queue.val() == 0);
        self.add1.next = self.avail.head_push.val() && (self.avail.head_queue.val() == 1);
        self.sub0.next = self.used.retired.val() && (self.used.retired_queue.val() == 0);
        self.sub1.next = self.used.retired.val() && (self.used.retired_queue.val() == 1);
        if self.add0.val() && !self.sub0.val() {
            self.infl0.d.next = self.infl0.q.val() + 1;
        } else if !self.add0.val() && self.sub0.val() {
            self.infl0.d.next = self.infl0.q.val() - 1;
        }
        if self.add1.val() && !self.sub1.val() {
            self.infl1.d.next = self.infl1.q.val() + 1;
        } else if !self.add1.val() && self.sub1.val() {
            self.infl1.d.next = self.infl1.q.val() - 1;
        }

        // Counters.
        if self.used.retired.val() {
            self.c_req.d.next = self.c_req.q.val() + 1;
        }
        self.c_rd.d.next = self.c_rd.q.val() + bit_cast::<64, 13>(self.tx.cnt_read.val());
        self.c_wr.d.next = self.c_wr.q.val() + bit_cast::<64, 5>(self.rx.cnt_written.val());
        if self.doorbell_valid.val() {
            self.c_db.d.next = self.c_db.q.val() + 1;
        }
        if self.dma.fault.val() {
            self.c_dma.d.next = self.c_dma.q.val() + 1;
        }
        if self.rx.frame_done.val() {
            self.c_rx.d.next = self.c_rx.q.val() + 1;
        }
        if self.tx.frame_sent.val() {
            self.c_tx.d.next = self.c_tx.q.val() + 1;
        }
        if self.rx.drop_nobuf.val() {
            self.c_nobuf.d.next = self.c_nobuf.q.val() + 1;
        }
        if self.rx.truncated.val() {
            self.c_trunc.d.next = self.c_trunc.q.val() + 1;
        }
        self.cnt_requests.next = self.c_req.q.val();
        self.cnt_bytes_read.next = self.c_rd.q.val();
        self.cnt_bytes_written.next = self.c_wr.q.val();
        self.cnt_notifies.next = self.c_db.q.val();
        self.cnt_dma_errors.next = self.c_dma.q.val();
        self.reg_rdata.next = self.filter.reg_rdata.val();
        // Counters at 0x66, 0x68..=0x6A (labels in decimal for the Verilog).
        match self.reg_addr.val().index() {
            102 => {
                self.reg_rdata.next = self.c_nobuf.q.val();
            }
            104 => {
                self.reg_rdata.next = self.c_rx.q.val();
            }
            105 => {
                self.reg_rdata.next = self.c_tx.q.val();
            }
            106 => {
                self.reg_rdata.next = self.c_trunc.q.val();
            }
            _ => {}
        }

        // Errors: the first one wins; a DMA fault before a stage's own check.
        self.fault_queue.next = bit_cast::<8, 1>(self.avail.cur_queue.val());
        match self.dma.fault_tag.val().get_bits::<2>(3).index() {
            1 => {
                self.fault_queue.next = bit_cast::<8, 1>(self.walker.cur_queue.val());
            }
            2 => {
                self.fault_queue.next = 1.into();
            }
            3 => {
                self.fault_queue.next = bit_cast::<8, 1>(self.used.cur_queue.val());
            }
            _ => {}
        }
        if self.dma.fault_write.val() {
            self.fault_queue.next = 0xff.into();
        }
        self.err_pulse.d.next = false;
        if !self.err.q.val() {
            if self.dma.fault.val() {
                self.err.d.next = true;
                self.err_pulse.d.next = true;
                self.err_cause.d.next = 9.into();
                self.err_queue.d.next = self.fault_queue.val();
                self.err_detail.d.next = bit_cast::<32, 5>(self.dma.fault_tag.val());
                if self.dma.fault_write.val() {
                    self.err_detail.d.next = 0x8000_0000_u64.into();
                }
            } else if self.walker.err.val() {
                self.err.d.next = true;
                self.err_pulse.d.next = true;
                self.err_cause.d.next = self.walker.err_cause.val();
                self.err_queue.d.next = bit_cast::<8, 1>(self.walker.cur_queue.val());
                self.err_detail.d.next = self.walker.err_detail.val();
            } else if self.avail.err.val() {
                self.err.d.next = true;
                self.err_pulse.d.next = true;
                self.err_cause.d.next = self.avail.err_cause.val();
                self.err_queue.d.next = bit_cast::<8, 1>(self.avail.cur_queue.val());
                self.err_detail.d.next = self.avail.err_detail.val();
            }
        }
        self.error.next = self.err.q.val();
        self.error_pulse.next = self.err_pulse.q.val();
        self.error_cause.next = self.err_cause.q.val();
        self.error_queue.next = self.err_queue.q.val();
        self.error_detail.next = self.err_detail.q.val();
        if self.engine_reset.val() {
            self.err.d.next = false;
            self.err_cause.d.next = 0.into();
            self.err_queue.d.next = 0.into();
            self.err_detail.d.next = 0.into();
            self.infl0.d.next = 0.into();
            self.infl1.d.next = 0.into();
        }

        self.idle.next = !self.dma.busy.val()
            && !self.avail.busy.val()
            && !self.walker.busy.val()
            && !self.used.busy.val()
            && !self.rx.busy.val()
            && !self.tx.busy.val()
            && (self.err.q.val()
                || (self.head_fifo.empty.val()
                    && self.tx_seg.empty.val()
                    && self.tx_chain.empty.val()
                    && self.rx_done.empty.val()
                    && self.tx_done.empty.val()));
    }
}
