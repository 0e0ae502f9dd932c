//! `BlkEngine`: the virtio-blk datapath — DMA master, avail fetch, chain
//! walker, blk request processor, used writer — behind the interface the
//! register file drives (see the hdl-interface brief).
//!
//! # Ports (all `Signal`s; `_0`/`_1` are per queue, NQ = 2)
//!
//! Inputs from the register file:
//! `q_desc_N: Bits<64>`, `q_avail_N: Bits<64>`, `q_used_N: Bits<64>`,
//! `q_size_N: Bits<16>`, `q_vector_N: Bits<16>`, `q_run_N: Bit`,
//! `q_set_idx_N: Bit`, `q_set_last_avail_N: Bits<16>`, `q_set_used_N: Bits<16>`,
//! `dma_enable`, `event_idx`, `indirect_enable`, `notification_data`,
//! `engine_reset: Bit`, `blk_capacity: Bits<64>`,
//! doorbell channel `doorbell_valid` (in), `doorbell_ready` (out, always 1),
//! `doorbell_queue: Bits<16>`, `doorbell_data: Bits<32>` (in).
//!
//! Outputs to the register file:
//! `q_last_avail_N`, `q_used_idx_N`, `q_inflight_N: Bits<16>`, `idle`,
//! `error`, `error_pulse: Bit`, `error_cause: Bits<8>`, `error_queue: Bits<8>`
//! (0xff: a failed write whose queue is not tracked), `error_detail: Bits<32>`,
//! interrupt channel `irq_valid` (out), `irq_ready` (in), `irq_queue`,
//! `irq_vector: Bits<16>` (out), counters `cnt_requests`, `cnt_bytes_read`,
//! `cnt_bytes_written`, `cnt_notifies`, `cnt_dma_errors: Bits<64>`.
//!
//! DMA master (to the top level unchanged, fields of vfpga_abi::ports):
//! `dma_rd_req_{valid,ready,tag: Bits<5>,addr: Bits<64>,len: Bits<13>}`,
//! `dma_rd_cpl_{valid,ready,tag: Bits<5>,data: Bits<128>,last,error}`,
//! `dma_wr_{valid,ready,addr: Bits<64>,len: Bits<13>,data: Bits<128>,last}`,
//! `dma_wr_rsp_{valid,ready,error}`.
//!
//! Block storage (vfpga_abi::ports::BlkCommand / BlkData / BlkCompletion):
//! `blk_cmd_{valid,ready,tag: Bits<5>,op: Bits<2>,sector: Bits<64>,len: Bits<32>}`,
//! `blk_wr_{valid,ready,tag: Bits<5>,data: Bits<128>,last}` (device -> storage),
//! `blk_rd_{valid,ready,tag: Bits<5>,data: Bits<128>,last}` (storage -> device),
//! `blk_cpl_{valid,ready,tag: Bits<5>,status: Bits<8>}`.
//!
//! `error_detail` for DmaError: the failed read's tag (0 avail fetch, 8
//! walker, 16..=23 blk data, 24 used writer), or bit 31 set for a failed
//! write. `idle` covers DMA, chains and storage commands in flight; a
//! doorbell pending on a queue whose `q_run` is low is not work in flight.
//!
//! Read tags: each internal client owns eight (`client * 8 + sub`); the blk
//! OUT reader keeps up to eight reads in flight, the other clients one. `notification_data` and `doorbell_data` are accepted but
//! not used: the engine always reads `avail.idx` itself.

// rust-hdl's #[hdl_gen] has no match guards: nested ifs stay nested.
#![allow(clippy::collapsible_match)]

use crate::blk::BlkRequest;
use crate::dma::DmaMaster;
use crate::dma::master::DATA_BITS;
use crate::vq::avail::AvailFetch;
use crate::vq::fifo::Fifo;
use crate::vq::used::UsedWriter;
use crate::vq::walker::ChainWalker;
use crate::vq::{NQ, QUEUE_BITS};
use rust_hdl::prelude::*;
use vfpga_abi::vendor::ErrorCause;

const _: () = assert!(ErrorCause::DmaError as u32 == 9);

/// log2 of the head FIFO depth (avail fetch -> walker).
pub const HEAD_FIFO_LOG2: usize = 5;
/// log2 of the segment FIFO depth (walker -> blk); holds a whole chain.
pub const SEG_FIFO_LOG2: usize = 7;
/// log2 of the chain FIFO depth (walker -> blk).
pub const CHAIN_FIFO_LOG2: usize = 3;
/// log2 of the completion FIFO depth (blk -> used writer).
pub const DONE_FIFO_LOG2: usize = 3;

const _: () = assert!(1 << SEG_FIFO_LOG2 >= crate::vq::MAX_CHAIN_SEGS);

/// The virtio-blk engine.
#[derive(LogicBlock, Default, Debug)]
pub struct BlkEngine {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Queue 0 descriptor table.
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
    /// Queue 1 descriptor table.
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
    /// VIRTIO_F_NOTIFICATION_DATA negotiated (unused, see module doc).
    pub notification_data: Signal<In, Bit>,
    /// Clear every queue's state and the error (pulse, while idle).
    pub engine_reset: Signal<In, Bit>,
    /// Capacity in 512-byte sectors.
    pub blk_capacity: Signal<In, Bits<64>>,
    /// Doorbell valid.
    pub doorbell_valid: Signal<In, Bit>,
    /// Doorbell ready.
    pub doorbell_ready: Signal<Out, Bit>,
    /// Doorbell queue.
    pub doorbell_queue: Signal<In, Bits<16>>,
    /// Doorbell raw value.
    pub doorbell_data: Signal<In, Bits<32>>,

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
    /// Nothing in flight.
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
    /// Requests completed.
    pub cnt_requests: Signal<Out, Bits<64>>,
    /// Data bytes read from host memory.
    pub cnt_bytes_read: Signal<Out, Bits<64>>,
    /// Bytes written into the drivers' buffers (data and status).
    pub cnt_bytes_written: Signal<Out, Bits<64>>,
    /// Doorbells accepted.
    pub cnt_notifies: Signal<Out, Bits<64>>,
    /// DMA error completions / responses.
    pub cnt_dma_errors: Signal<Out, Bits<64>>,

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

    /// The DMA master (public so that tests can look inside).
    pub dma: DmaMaster<DATA_BITS>,
    /// Avail-ring fetch.
    pub avail: AvailFetch<NQ, QUEUE_BITS>,
    /// Chain walker.
    pub walker: ChainWalker<NQ, QUEUE_BITS>,
    /// blk request processor.
    pub blk: BlkRequest,
    /// Used-ring writer.
    pub used: UsedWriter<NQ, QUEUE_BITS>,
    head_fifo: Fifo<Bits<17>, HEAD_FIFO_LOG2, { HEAD_FIFO_LOG2 + 1 }>,
    seg_fifo: Fifo<Bits<96>, SEG_FIFO_LOG2, { SEG_FIFO_LOG2 + 1 }>,
    chain_fifo: Fifo<Bits<209>, CHAIN_FIFO_LOG2, { CHAIN_FIFO_LOG2 + 1 }>,
    done_fifo: Fifo<Bits<49>, DONE_FIFO_LOG2, { DONE_FIFO_LOG2 + 1 }>,
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
    fault_queue: Signal<Local, Bits<8>>,
    set0: Signal<Local, Bit>,
    set1: Signal<Local, Bit>,
    add0: Signal<Local, Bit>,
    add1: Signal<Local, Bit>,
    sub0: Signal<Local, Bit>,
    sub1: Signal<Local, Bit>,
}

impl Logic for BlkEngine {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, err, err_pulse, err_cause, err_queue, err_detail, infl0, infl1, c_req,
            c_rd, c_wr, c_db, c_dma
        );
        clock!(
            self, clock, dma, avail, walker, blk, used, head_fifo, seg_fifo, chain_fifo, done_fifo
        );

        // Resets and halts.
        self.dma.reset.next = self.engine_reset.val();
        self.avail.reset.next = self.engine_reset.val();
        self.walker.reset.next = self.engine_reset.val();
        self.blk.reset.next = self.engine_reset.val();
        self.used.reset.next = self.engine_reset.val();
        self.head_fifo.clear.next = self.engine_reset.val();
        self.seg_fifo.clear.next = self.engine_reset.val();
        self.chain_fifo.clear.next = self.engine_reset.val();
        self.done_fifo.clear.next = self.engine_reset.val();
        self.dma.halt.next = self.err.q.val();
        self.avail.halt.next = self.err.q.val();
        self.walker.halt.next = self.err.q.val();
        self.blk.halt.next = self.err.q.val();
        self.used.halt.next = self.err.q.val();
        // No new request once a fault is latched. (The stages issue no
        // request in the cycle they detect one.)
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
        self.avail.q_desc[0].next = self.q_desc_0.val();
        self.avail.q_avail[0].next = self.q_avail_0.val();
        self.avail.q_used[0].next = self.q_used_0.val();
        self.avail.q_size[0].next = self.q_size_0.val();
        self.avail.q_run[0].next = self.q_run_0.val();
        self.avail.q_desc[1].next = self.q_desc_1.val();
        self.avail.q_avail[1].next = self.q_avail_1.val();
        self.avail.q_used[1].next = self.q_used_1.val();
        self.avail.q_size[1].next = self.q_size_1.val();
        self.avail.q_run[1].next = self.q_run_1.val();
        self.walker.indirect_enable.next = self.indirect_enable.val();
        self.walker.plain_chains.next = false;
        self.walker.q_desc[0].next = self.q_desc_0.val();
        self.walker.q_size[0].next = self.q_size_0.val();
        self.walker.q_desc[1].next = self.q_desc_1.val();
        self.walker.q_size[1].next = self.q_size_1.val();
        self.blk.capacity.next = self.blk_capacity.val();
        self.used.event_idx.next = self.event_idx.val();
        self.used.q_avail[0].next = self.q_avail_0.val();
        self.used.q_used[0].next = self.q_used_0.val();
        self.used.q_size[0].next = self.q_size_0.val();
        self.used.q_vector[0].next = self.q_vector_0.val();
        self.used.q_avail[1].next = self.q_avail_1.val();
        self.used.q_used[1].next = self.q_used_1.val();
        self.used.q_size[1].next = self.q_size_1.val();
        self.used.q_vector[1].next = self.q_vector_1.val();

        // Doorbells are always taken: they only set a pending flag.
        self.doorbell_ready.next = true;
        self.avail.db_valid.next = self.doorbell_valid.val();
        self.avail.db_queue.next = self.doorbell_queue.val();

        // Index loads, honoured only on a stopped queue with nothing in flight.
        self.set0.next = self.q_set_idx_0.val() && !self.q_run_0.val() && (self.infl0.q.val() == 0);
        self.set1.next = self.q_set_idx_1.val() && !self.q_run_1.val() && (self.infl1.q.val() == 0);
        self.avail.set[0].next = self.set0.val();
        self.avail.set[1].next = self.set1.val();
        self.avail.set_val[0].next = self.q_set_last_avail_0.val();
        self.avail.set_val[1].next = self.q_set_last_avail_1.val();
        self.used.set[0].next = self.set0.val();
        self.used.set[1].next = self.set1.val();
        self.used.set_val[0].next = self.q_set_used_0.val();
        self.used.set_val[1].next = self.q_set_used_1.val();

        // avail -> head FIFO -> walker.
        self.head_fifo.write.next = self.avail.head_push.val();
        self.head_fifo.data_in.next = bit_cast::<17, 16>(self.avail.head_idx.val())
            | (bit_cast::<17, 1>(self.avail.head_queue.val()) << 16);
        self.avail.head_room.next = bits::<8>(32) - bit_cast::<8, 6>(self.head_fifo.count.val());
        self.walker.head_valid.next = !self.head_fifo.empty.val();
        self.walker.head_idx.next = self.head_fifo.data_out.val().get_bits::<16>(0);
        self.walker.head_queue.next = self.head_fifo.data_out.val().get_bits::<1>(16);
        self.head_fifo.read.next = self.walker.head_pop.val();

        // walker -> segment and chain FIFOs -> blk.
        self.seg_fifo.write.next = self.walker.seg_push.val();
        self.seg_fifo.data_in.next = bit_cast::<96, 64>(self.walker.seg_addr.val())
            | (bit_cast::<96, 32>(self.walker.seg_len.val()) << 64);
        self.walker.seg_room.next = bits::<8>(128) - bit_cast::<8, 8>(self.seg_fifo.count.val());
        self.blk.seg_valid.next = !self.seg_fifo.empty.val();
        self.blk.seg_addr.next = self.seg_fifo.data_out.val().get_bits::<64>(0);
        self.blk.seg_len.next = self.seg_fifo.data_out.val().get_bits::<32>(64);
        self.seg_fifo.read.next = self.blk.seg_pop.val();
        self.chain_fifo.write.next = self.walker.chain_push.val();
        self.chain_fifo.data_in.next = bit_cast::<209, 1>(self.walker.chain_queue.val())
            | (bit_cast::<209, 16>(self.walker.chain_head.val()) << 1)
            | (bit_cast::<209, 32>(self.walker.chain_rlen.val()) << 17)
            | (bit_cast::<209, 32>(self.walker.chain_wlen.val()) << 49)
            | (bit_cast::<209, 128>(self.walker.chain_hdr.val()) << 81);
        self.walker.chain_room.next = bits::<8>(8) - bit_cast::<8, 4>(self.chain_fifo.count.val());
        self.blk.chain_valid.next = !self.chain_fifo.empty.val();
        self.blk.chain_queue.next = self.chain_fifo.data_out.val().get_bits::<1>(0);
        self.blk.chain_head.next = self.chain_fifo.data_out.val().get_bits::<16>(1);
        self.blk.chain_rlen.next = self.chain_fifo.data_out.val().get_bits::<32>(17);
        self.blk.chain_wlen.next = self.chain_fifo.data_out.val().get_bits::<32>(49);
        self.blk.chain_hdr.next = self.chain_fifo.data_out.val().get_bits::<128>(81);
        self.chain_fifo.read.next = self.blk.chain_pop.val();

        // blk -> completion FIFO -> used writer.
        self.done_fifo.write.next = self.blk.done_push.val();
        self.done_fifo.data_in.next = bit_cast::<49, 1>(self.blk.done_queue.val())
            | (bit_cast::<49, 16>(self.blk.done_head.val()) << 1)
            | (bit_cast::<49, 32>(self.blk.done_len.val()) << 17);
        self.blk.done_room.next = bits::<8>(8) - bit_cast::<8, 4>(self.done_fifo.count.val());
        self.used.done_valid.next = !self.done_fifo.empty.val();
        self.used.done_queue.next = self.done_fifo.data_out.val().get_bits::<1>(0);
        self.used.done_head.next = self.done_fifo.data_out.val().get_bits::<16>(1);
        self.used.done_len.next = self.done_fifo.data_out.val().get_bits::<32>(17);
        self.used.done_defer.next = false;
        self.done_fifo.read.next = self.used.done_pop.val();

        // DMA clients: reads 0 avail, 1 walker, 2 blk, 3 used; writes 0 blk, 1 used, 2 avail.
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
        self.dma.r2_req_valid.next = self.blk.rd_valid.val();
        self.blk.rd_ready.next = self.dma.r2_req_ready.val();
        self.dma.r2_req_addr.next = self.blk.rd_addr.val();
        self.dma.r2_req_len.next = self.blk.rd_len.val();
        self.dma.r2_req_sub.next = self.blk.rd_sub.val();
        self.blk.cpl_sub.next = self.dma.cpl_sub.val();
        self.blk.cpl_valid.next = self.dma.r2_cpl_valid.val();
        self.dma.r2_cpl_ready.next = self.blk.cpl_ready.val();
        self.blk.cpl_data.next = self.dma.cpl_data.val();
        self.dma.r3_req_valid.next = self.used.rd_valid.val();
        self.used.rd_ready.next = self.dma.r3_req_ready.val();
        self.dma.r3_req_addr.next = self.used.rd_addr.val();
        self.dma.r3_req_len.next = 2.into();
        self.dma.r3_req_sub.next = 0.into();
        self.used.cpl_valid.next = self.dma.r3_cpl_valid.val();
        self.dma.r3_cpl_ready.next = self.used.cpl_ready.val();
        self.used.cpl_data.next = self.dma.cpl_data.val();
        self.dma.w0_valid.next = self.blk.wr_valid.val();
        self.blk.wr_ready.next = self.dma.w0_ready.val();
        self.dma.w0_addr.next = self.blk.wr_addr.val();
        self.dma.w0_len.next = self.blk.wr_len.val();
        self.dma.w0_data.next = self.blk.wr_data.val();
        self.dma.w0_last.next = self.blk.wr_last.val();
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

        // Storage port.
        self.blk_cmd_valid.next = self.blk.cmd_valid.val();
        self.blk.cmd_ready.next = self.blk_cmd_ready.val();
        self.blk_cmd_tag.next = self.blk.cmd_tag.val();
        self.blk_cmd_op.next = self.blk.cmd_op.val();
        self.blk_cmd_sector.next = self.blk.cmd_sector.val();
        self.blk_cmd_len.next = self.blk.cmd_len.val();
        self.blk_wr_valid.next = self.blk.wdata_valid.val();
        self.blk.wdata_ready.next = self.blk_wr_ready.val();
        self.blk_wr_tag.next = self.blk.wdata_tag.val();
        self.blk_wr_data.next = self.blk.wdata_data.val();
        self.blk_wr_last.next = self.blk.wdata_last.val();
        self.blk.rdata_valid.next = self.blk_rd_valid.val();
        self.blk_rd_ready.next = self.blk.rdata_ready.val();
        self.blk.rdata_data.next = self.blk_rd_data.val();
        self.blk.scpl_valid.next = self.blk_cpl_valid.val();
        self.blk_cpl_ready.next = self.blk.scpl_ready.val();
        self.blk.scpl_status.next = self.blk_cpl_status.val();
        self.blk.scpl_tag.next = self.blk_cpl_tag.val();

        // Interrupt requests.
        self.irq_valid.next = self.used.irq_valid.val();
        self.used.irq_ready.next = self.irq_ready.val();
        self.irq_queue.next = self.used.irq_queue.val();
        self.irq_vector.next = self.used.irq_vector.val();

        // Per-queue state out.
        self.q_last_avail_0.next = self.avail.last_avail[0].val();
        self.q_last_avail_1.next = self.avail.last_avail[1].val();
        self.q_used_idx_0.next = self.used.used_idx[0].val();
        self.q_used_idx_1.next = self.used.used_idx[1].val();
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
        self.c_rd.d.next = self.c_rd.q.val() + bit_cast::<64, 13>(self.blk.cnt_read.val());
        self.c_wr.d.next = self.c_wr.q.val() + bit_cast::<64, 13>(self.blk.cnt_written.val());
        if self.doorbell_valid.val() {
            self.c_db.d.next = self.c_db.q.val() + 1;
        }
        if self.dma.fault.val() {
            self.c_dma.d.next = self.c_dma.q.val() + 1;
        }
        self.cnt_requests.next = self.c_req.q.val();
        self.cnt_bytes_read.next = self.c_rd.q.val();
        self.cnt_bytes_written.next = self.c_wr.q.val();
        self.cnt_notifies.next = self.c_db.q.val();
        self.cnt_dma_errors.next = self.c_dma.q.val();

        // Errors: the first one wins; a DMA fault before a stage's own check.
        self.fault_queue.next = bit_cast::<8, 1>(self.avail.cur_queue.val());
        match self.dma.fault_tag.val().get_bits::<2>(3).index() {
            1 => {
                self.fault_queue.next = bit_cast::<8, 1>(self.walker.cur_queue.val());
            }
            2 => {
                self.fault_queue.next = bit_cast::<8, 1>(self.blk.cur_queue.val());
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
            && !self.blk.busy.val()
            && !self.used.busy.val()
            && (self.err.q.val()
                || (self.head_fifo.empty.val()
                    && self.seg_fifo.empty.val()
                    && self.chain_fifo.empty.val()
                    && self.done_fifo.empty.val()));
    }
}
