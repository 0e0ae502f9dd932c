//! `NetEngine`: the virtio-net datapath for two queue pairs and the
//! control queue — the shared vq stages (avail fetch, chain walker with
//! `plain_chains`, used writer with `done_defer`) over [`NQ`] queues, the
//! DMA master, and the net stages: [`NetTx`] to the MAC TX port,
//! [`NetFilter`] and [`NetRx`] from the MAC RX port, [`NetSteer`] (queue
//! layout, RX steering) and [`NetCtrl`] (control queue, served by firmware).
//!
//! # Queues (virtio 1.2 §5.1.2)
//!
//! Queue `2p` is receiveq(p+1), queue `2p + 1` transmitq(p+1), and the
//! control queue is queue 4, or queue 2 when `QUEUES` says so (no MQ);
//! then queues 3 and 4 are not served (their doorbells wait, as on a
//! stopped queue). Each queue has its own head FIFO between the avail
//! fetcher and the walker; the fetcher passes over a queue whose FIFO is
//! full, and the walker takes a head only when the FIFOs its chain goes to
//! can take a whole chain ([`WALK_SEG_RESERVE`]), round robin among those.
//! So a queue whose stage cannot move (TX behind a slow MAC, control
//! commands waiting for firmware, RX buffers waiting for frames) holds up
//! no other queue's heads: a re-posted RX buffer never waits behind TX.
//! The walker's chains are routed by queue: RX chains (posted buffers,
//! which wait for frames) into per-pair FIFOs deep enough for most of a
//! queue ([`RX_CHAIN_FIFO_LOG2`]); TX chains of both pairs into one TX
//! FIFO, so the one TX stage sends whole frames to the one MAC port in the
//! order the walker took them; control chains into their own.
//!
//! # Ports (besides those of `engine::BlkEngine`, whose queue, doorbell,
//! error, counter, interrupt and DMA ports this engine has alike, per
//! queue as arrays)
//!
//! MAC TX (device -> MAC, `vfpga_abi::ports::NetBeat` without `pair`):
//! `mac_tx_{valid out, ready in, data: Bits<128> out, bytes: Bits<5> out,
//! last out}`. MAC RX (MAC -> device): `mac_rx_{valid in, ready out, data
//! in, bytes in, last in}`. Net registers (`vfpga_abi::mgmt::net`):
//! `reg_write`, `reg_addr: Bits<8>`, `reg_wdata: Bits<32>` in,
//! `reg_rdata: Bits<32>` out (combinational in `reg_addr`). `net_reset`
//! (power-on reset of the filter and `QUEUES` registers; `engine_reset`
//! keeps them, as the control-queue state is the firmware's to restore).
//! `event_{valid out, ready in, word out}`: `EventKind::NetCtrl` for the
//! management event FIFO.
//!
//! DMA read tags: 0 avail fetch, 8 walker, 16 TX data, 17 control payload,
//! 24 used writer. Write clients: 0 RX data, 1 used ring, 2 avail_event
//! and the control ack byte. `idle` does not count RX buffers waiting in
//! their FIFOs for a frame, nor a control command waiting for firmware.

// rust-hdl's #[hdl_gen] has no match guards: nested ifs stay nested.
#![allow(clippy::collapsible_match)]

use crate::dma::DmaMaster;
use crate::dma::master::DATA_BITS;
use crate::net::{NetCtrl, NetFilter, NetRx, NetSteer, NetTx};
use crate::vq::avail::AvailFetch;
use crate::vq::fifo::Fifo;
use crate::vq::used::UsedWriter;
use crate::vq::walker::ChainWalker;
use rust_hdl::prelude::*;

/// Queues: two pairs and the control queue (`vfpga_abi::net::NUM_QUEUES`).
pub const NQ: usize = vfpga_abi::net::NUM_QUEUES as usize;
/// Width of a queue number inside the engine.
pub const QB: usize = 3;
/// log2 of the control segment FIFO depth; holds a whole chain.
pub const CTRL_SEG_FIFO_LOG2: usize = 7;
/// log2 of the control chain FIFO depth.
pub const CTRL_CHAIN_FIFO_LOG2: usize = 2;

/// log2 of each queue's head FIFO depth (avail fetch -> walker).
pub const HEAD_FIFO_LOG2: usize = 5;
/// Free segment entries a destination must have before the walker starts
/// a chain for it: a whole chain ([`crate::vq::MAX_CHAIN_SEGS`]) plus the
/// walker's largest prefetch window (8 descriptors, each reserved before
/// it is read), so a walk once started never waits for room.
pub const WALK_SEG_RESERVE: usize = crate::vq::MAX_CHAIN_SEGS as usize + 8;
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

const _: () = assert!(NQ == 5 && NQ <= 1 << QB);
const _: () = assert!(vfpga_abi::net::CTRL_QUEUE == 4);
const _: () = assert!(vfpga_abi::mgmt::EventKind::NetCtrl as u32 == 7);
const _: () = assert!(1 << RX_CHAIN_FIFO_LOG2 >= crate::vq::QMAX as usize);
const _: () = assert!(1 << CTRL_SEG_FIFO_LOG2 >= crate::vq::MAX_CHAIN_SEGS);
const _: () = assert!(1 << TX_SEG_FIFO_LOG2 >= crate::vq::MAX_CHAIN_SEGS);
// The walk reserve fits every destination's segment FIFO; the RTL below
// spells the largest fill that leaves it free as literals (182 of 256 for
// RX, 54 of 128 for TX and control).
const _: () = assert!((1 << RX_SEG_FIFO_LOG2) - WALK_SEG_RESERVE == 182);
const _: () = assert!((1 << TX_SEG_FIFO_LOG2) - WALK_SEG_RESERVE == 54);
const _: () = assert!((1 << CTRL_SEG_FIFO_LOG2) - WALK_SEG_RESERVE == 54);
const _: () = assert!(1 << TX_SEG_FIFO_LOG2 >= WALK_SEG_RESERVE);
const _: () = assert!(1 << CTRL_SEG_FIFO_LOG2 >= WALK_SEG_RESERVE);
const _: () = assert!(1 << RX_SEG_FIFO_LOG2 >= WALK_SEG_RESERVE);
// Head room below is `32 - count`.
const _: () = assert!(HEAD_FIFO_LOG2 == 5);
const _: () = assert!(vfpga_abi::mgmt::net::RX_DROP_NOBUF == 0x66);
const _: () = assert!(vfpga_abi::mgmt::net::RX_FRAMES == 0x68);
const _: () = assert!(vfpga_abi::mgmt::net::TX_FRAMES == 0x69);
const _: () = assert!(vfpga_abi::mgmt::net::RX_TRUNCATED == 0x6A);

/// The virtio-net engine: two queue pairs and the control queue.
#[derive(LogicBlock, Debug)]
pub struct NetEngine {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Power-on reset of the net registers.
    pub net_reset: Signal<In, Bit>,
    /// Per queue: descriptor table.
    pub q_desc: [Signal<In, Bits<64>>; NQ],
    /// Per queue: avail ring.
    pub q_avail: [Signal<In, Bits<64>>; NQ],
    /// Per queue: used ring.
    pub q_used: [Signal<In, Bits<64>>; NQ],
    /// Per queue: size.
    pub q_size: [Signal<In, Bits<16>>; NQ],
    /// Per queue: MSI-X vector.
    pub q_vector: [Signal<In, Bits<16>>; NQ],
    /// Per queue: may fetch new chains.
    pub q_run: [Signal<In, Bit>; NQ],
    /// Per queue: load the indices (pulse).
    pub q_set_idx: [Signal<In, Bit>; NQ],
    /// last_avail_idx to load with `q_set_idx`.
    pub q_set_last_avail: Signal<In, Bits<16>>,
    /// Used index to load with `q_set_idx`.
    pub q_set_used: Signal<In, Bits<16>>,
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

    /// Per queue: last_avail_idx.
    pub q_last_avail: [Signal<Out, Bits<16>>; NQ],
    /// Per queue: used index.
    pub q_used_idx: [Signal<Out, Bits<16>>; NQ],
    /// Per queue: chains fetched and not yet used.
    pub q_inflight: [Signal<Out, Bits<16>>; NQ],
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
    /// An event for firmware (`EventKind::NetCtrl`): valid.
    pub event_valid: Signal<Out, Bit>,
    /// The event is taken.
    pub event_ready: Signal<In, Bit>,
    /// The event word.
    pub event_word: Signal<Out, Bits<32>>,

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
    pub avail: AvailFetch<NQ, QB>,
    /// Chain walker.
    pub walker: ChainWalker<NQ, QB>,
    /// Used-ring writer.
    pub used: UsedWriter<NQ, QB>,
    /// RX filter and net registers.
    pub filter: NetFilter,
    /// RX stage.
    pub rx: NetRx,
    /// TX stage.
    pub tx: NetTx,
    /// Queue layout and RX steering.
    pub steer: NetSteer,
    /// Control queue.
    pub ctrl: NetCtrl,
    // One head FIFO per queue, so that a queue whose chains cannot move
    // on (TX behind a slow MAC, control commands waiting for firmware, RX
    // buffers waiting for frames) holds up no other queue's heads.
    heads: [Fifo<Bits<16>, HEAD_FIFO_LOG2, { HEAD_FIFO_LOG2 + 1 }>; NQ],
    rx_seg0: Fifo<Bits<97>, RX_SEG_FIFO_LOG2, { RX_SEG_FIFO_LOG2 + 1 }>,
    rx_chain0: Fifo<Bits<80>, RX_CHAIN_FIFO_LOG2, { RX_CHAIN_FIFO_LOG2 + 1 }>,
    rx_seg1: Fifo<Bits<97>, RX_SEG_FIFO_LOG2, { RX_SEG_FIFO_LOG2 + 1 }>,
    rx_chain1: Fifo<Bits<80>, RX_CHAIN_FIFO_LOG2, { RX_CHAIN_FIFO_LOG2 + 1 }>,
    tx_seg: Fifo<Bits<97>, TX_SEG_FIFO_LOG2, { TX_SEG_FIFO_LOG2 + 1 }>,
    tx_chain: Fifo<Bits<81>, TX_CHAIN_FIFO_LOG2, { TX_CHAIN_FIFO_LOG2 + 1 }>,
    ctrl_seg: Fifo<Bits<97>, CTRL_SEG_FIFO_LOG2, { CTRL_SEG_FIFO_LOG2 + 1 }>,
    ctrl_chain: Fifo<Bits<80>, CTRL_CHAIN_FIFO_LOG2, { CTRL_CHAIN_FIFO_LOG2 + 1 }>,
    rx_done: Fifo<Bits<50>, DONE_FIFO_LOG2, { DONE_FIFO_LOG2 + 1 }>,
    tx_done: Fifo<Bits<17>, DONE_FIFO_LOG2, { DONE_FIFO_LOG2 + 1 }>,
    ctrl_done: Fifo<Bits<16>, DONE_FIFO_LOG2, { DONE_FIFO_LOG2 + 1 }>,
    err: DFF<Bit>,
    err_pulse: DFF<Bit>,
    err_cause: DFF<Bits<8>>,
    err_queue: DFF<Bits<8>>,
    err_detail: DFF<Bits<32>>,
    infl: [DFF<Bits<16>>; NQ],
    qi: [Constant<Bits<QB>>; NQ],
    c_req: DFF<Bits<64>>,
    c_rd: DFF<Bits<64>>,
    c_wr: DFF<Bits<64>>,
    c_db: DFF<Bits<64>>,
    c_dma: DFF<Bits<64>>,
    c_rx: DFF<Bits<32>>,
    c_tx: DFF<Bits<32>>,
    c_nobuf: DFF<Bits<32>>,
    c_trunc: DFF<Bits<32>>,
    // The pair of the TX chain in the TX stage, of the RX frame in the RX
    // stage; a TX frame is between its first and last beat.
    tx_pair: DFF<Bit>,
    rx_pair: DFF<Bit>,
    tx_mid: DFF<Bit>,
    fault_queue: Signal<Local, Bits<8>>,
    seg_word: Signal<Local, Bits<97>>,
    chain_word: Signal<Local, Bits<80>>,
    ctrl_q: Signal<Local, Bits<QB>>,
    to_ctrl: Signal<Local, Bit>,
    to_rx: Signal<Local, Bit>,
    to_pair: Signal<Local, Bit>,
    rx_seg_free: Signal<Local, Bits<10>>,
    rx_sel: Signal<Local, Bit>,
    run_ok: [Signal<Local, Bit>; NQ],
    set: [Signal<Local, Bit>; NQ],
    add: [Signal<Local, Bit>; NQ],
    sub: [Signal<Local, Bit>; NQ],
    tx_fire: Signal<Local, Bit>,
    // Walker arbitration: the queue whose head it took last (round robin),
    // which queues' destinations can take a whole chain, which heads can
    // be walked, the pick.
    walk_last: DFF<Bits<QB>>,
    head_fill: Signal<Local, Bits<{ HEAD_FIFO_LOG2 + 1 }>>,
    room_rx0: Signal<Local, Bit>,
    room_rx1: Signal<Local, Bit>,
    room_tx: Signal<Local, Bit>,
    room_ctrl: Signal<Local, Bit>,
    head_ok: [Signal<Local, Bit>; NQ],
    walk_any: Signal<Local, Bit>,
    walk_pick: Signal<Local, Bits<QB>>,
}

impl Default for NetEngine {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            net_reset: Default::default(),
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
            engine_reset: Default::default(),
            doorbell_valid: Default::default(),
            doorbell_ready: Default::default(),
            doorbell_queue: Default::default(),
            q_last_avail: core::array::from_fn(|_| Default::default()),
            q_used_idx: core::array::from_fn(|_| Default::default()),
            q_inflight: core::array::from_fn(|_| Default::default()),
            idle: Default::default(),
            error: Default::default(),
            error_pulse: Default::default(),
            error_cause: Default::default(),
            error_queue: Default::default(),
            error_detail: Default::default(),
            irq_valid: Default::default(),
            irq_ready: Default::default(),
            irq_queue: Default::default(),
            irq_vector: Default::default(),
            cnt_requests: Default::default(),
            cnt_bytes_read: Default::default(),
            cnt_bytes_written: Default::default(),
            cnt_notifies: Default::default(),
            cnt_dma_errors: Default::default(),
            reg_write: Default::default(),
            reg_addr: Default::default(),
            reg_wdata: Default::default(),
            reg_rdata: Default::default(),
            event_valid: Default::default(),
            event_ready: Default::default(),
            event_word: Default::default(),
            mac_tx_valid: Default::default(),
            mac_tx_ready: Default::default(),
            mac_tx_data: Default::default(),
            mac_tx_bytes: Default::default(),
            mac_tx_last: Default::default(),
            mac_rx_valid: Default::default(),
            mac_rx_ready: Default::default(),
            mac_rx_data: Default::default(),
            mac_rx_bytes: Default::default(),
            mac_rx_last: Default::default(),
            dma_rd_req_valid: Default::default(),
            dma_rd_req_ready: Default::default(),
            dma_rd_req_tag: Default::default(),
            dma_rd_req_addr: Default::default(),
            dma_rd_req_len: Default::default(),
            dma_rd_cpl_valid: Default::default(),
            dma_rd_cpl_ready: Default::default(),
            dma_rd_cpl_tag: Default::default(),
            dma_rd_cpl_data: Default::default(),
            dma_rd_cpl_last: Default::default(),
            dma_rd_cpl_error: Default::default(),
            dma_wr_valid: Default::default(),
            dma_wr_ready: Default::default(),
            dma_wr_addr: Default::default(),
            dma_wr_len: Default::default(),
            dma_wr_data: Default::default(),
            dma_wr_last: Default::default(),
            dma_wr_rsp_valid: Default::default(),
            dma_wr_rsp_ready: Default::default(),
            dma_wr_rsp_error: Default::default(),
            dma: Default::default(),
            avail: Default::default(),
            walker: Default::default(),
            used: Default::default(),
            filter: Default::default(),
            rx: Default::default(),
            tx: Default::default(),
            steer: Default::default(),
            ctrl: Default::default(),
            heads: core::array::from_fn(|_| Default::default()),
            rx_seg0: Default::default(),
            rx_chain0: Default::default(),
            rx_seg1: Default::default(),
            rx_chain1: Default::default(),
            tx_seg: Default::default(),
            tx_chain: Default::default(),
            ctrl_seg: Default::default(),
            ctrl_chain: Default::default(),
            rx_done: Default::default(),
            tx_done: Default::default(),
            ctrl_done: Default::default(),
            err: Default::default(),
            err_pulse: Default::default(),
            err_cause: Default::default(),
            err_queue: Default::default(),
            err_detail: Default::default(),
            infl: core::array::from_fn(|_| Default::default()),
            qi: core::array::from_fn(|i| Constant::new((i as u64).into())),
            c_req: Default::default(),
            c_rd: Default::default(),
            c_wr: Default::default(),
            c_db: Default::default(),
            c_dma: Default::default(),
            c_rx: Default::default(),
            c_tx: Default::default(),
            c_nobuf: Default::default(),
            c_trunc: Default::default(),
            tx_pair: Default::default(),
            rx_pair: Default::default(),
            tx_mid: Default::default(),
            fault_queue: Default::default(),
            seg_word: Default::default(),
            chain_word: Default::default(),
            ctrl_q: Default::default(),
            to_ctrl: Default::default(),
            to_rx: Default::default(),
            to_pair: Default::default(),
            rx_seg_free: Default::default(),
            rx_sel: Default::default(),
            run_ok: core::array::from_fn(|_| Default::default()),
            set: core::array::from_fn(|_| Default::default()),
            add: core::array::from_fn(|_| Default::default()),
            sub: core::array::from_fn(|_| Default::default()),
            tx_fire: Default::default(),
            walk_last: Default::default(),
            head_fill: Default::default(),
            room_rx0: Default::default(),
            room_rx1: Default::default(),
            room_tx: Default::default(),
            room_ctrl: Default::default(),
            head_ok: core::array::from_fn(|_| Default::default()),
            walk_any: Default::default(),
            walk_pick: Default::default(),
        }
    }
}

impl Logic for NetEngine {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, err, err_pulse, err_cause, err_queue, err_detail, c_req, c_rd, c_wr, c_db,
            c_dma, c_rx, c_tx, c_nobuf, c_trunc, tx_pair, rx_pair, tx_mid, walk_last
        );
        clock!(
            self, clock, dma, avail, walker, used, filter, rx, tx, steer, ctrl, rx_seg0, rx_chain0,
            rx_seg1, rx_chain1, tx_seg, tx_chain, ctrl_seg, ctrl_chain, rx_done, tx_done,
            ctrl_done
        );
        for i in 0..NQ {
            self.infl[i].clock.next = self.clock.val();
            self.infl[i].d.next = self.infl[i].q.val();
            self.heads[i].clock.next = self.clock.val();
            self.heads[i].clear.next = self.engine_reset.val();
        }

        // Resets and halts.
        self.dma.reset.next = self.engine_reset.val();
        self.avail.reset.next = self.engine_reset.val();
        self.walker.reset.next = self.engine_reset.val();
        self.used.reset.next = self.engine_reset.val();
        self.rx.reset.next = self.engine_reset.val();
        self.tx.reset.next = self.engine_reset.val();
        self.ctrl.reset.next = self.engine_reset.val();
        self.filter.reset.next = self.net_reset.val();
        self.steer.reset.next = self.net_reset.val();
        self.steer.clear.next = self.engine_reset.val();
        self.rx_seg0.clear.next = self.engine_reset.val();
        self.rx_chain0.clear.next = self.engine_reset.val();
        self.rx_seg1.clear.next = self.engine_reset.val();
        self.rx_chain1.clear.next = self.engine_reset.val();
        self.tx_seg.clear.next = self.engine_reset.val();
        self.tx_chain.clear.next = self.engine_reset.val();
        self.ctrl_seg.clear.next = self.engine_reset.val();
        self.ctrl_chain.clear.next = self.engine_reset.val();
        self.rx_done.clear.next = self.engine_reset.val();
        self.tx_done.clear.next = self.engine_reset.val();
        self.ctrl_done.clear.next = self.engine_reset.val();
        self.dma.halt.next = self.err.q.val();
        self.avail.halt.next = self.err.q.val();
        self.walker.halt.next = self.err.q.val();
        self.used.halt.next = self.err.q.val();
        self.rx.halt.next = self.err.q.val();
        self.tx.halt.next = self.err.q.val();
        self.ctrl.halt.next = self.err.q.val();
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

        // Queue layout: the control queue is 2 or 4; with 2, queues 3 and 4
        // are not served.
        self.ctrl_q.next = 4.into();
        if self.steer.ctrl2.val() {
            self.ctrl_q.next = 2.into();
        }
        for i in 0..NQ {
            self.run_ok[i].next = self.q_run[i].val();
            if self.steer.ctrl2.val() && (self.qi[i].val() > 2) {
                self.run_ok[i].next = false;
            }
        }

        // Queue configuration to the stages.
        self.avail.event_idx.next = self.event_idx.val();
        self.walker.indirect_enable.next = self.indirect_enable.val();
        self.walker.plain_chains.next = true;
        self.used.event_idx.next = self.event_idx.val();
        for i in 0..NQ {
            self.avail.q_desc[i].next = self.q_desc[i].val();
            self.avail.q_avail[i].next = self.q_avail[i].val();
            self.avail.q_used[i].next = self.q_used[i].val();
            self.avail.q_size[i].next = self.q_size[i].val();
            // A queue whose head FIFO is full is passed over by the
            // fetcher as if stopped (it leaves the queue with its doorbell
            // still pending and comes back once there is room), so it
            // never waits on one queue's FIFO while others have work.
            self.avail.q_run[i].next = self.run_ok[i].val() && !self.heads[i].full.val();
            self.walker.q_desc[i].next = self.q_desc[i].val();
            self.walker.q_size[i].next = self.q_size[i].val();
            self.used.q_avail[i].next = self.q_avail[i].val();
            self.used.q_used[i].next = self.q_used[i].val();
            self.used.q_size[i].next = self.q_size[i].val();
            self.used.q_vector[i].next = self.q_vector[i].val();
            // Index loads, honoured only on a stopped queue with nothing in flight.
            self.set[i].next =
                self.q_set_idx[i].val() && !self.q_run[i].val() && (self.infl[i].q.val() == 0);
            self.avail.set[i].next = self.set[i].val();
            self.avail.set_val[i].next = self.q_set_last_avail.val();
            self.used.set[i].next = self.set[i].val();
            self.used.set_val[i].next = self.q_set_used.val();
        }

        // Doorbells only set a pending flag.
        self.doorbell_ready.next = true;
        self.avail.db_valid.next = self.doorbell_valid.val();
        self.avail.db_queue.next = self.doorbell_queue.val();

        // avail -> the queue's head FIFO; room as seen by the queue the
        // fetcher serves.
        self.head_fill.next = 0.into();
        for i in 0..NQ {
            self.heads[i].write.next =
                self.avail.head_push.val() && (self.avail.head_queue.val() == self.qi[i].val());
            self.heads[i].data_in.next = self.avail.head_idx.val();
            if self.avail.cur_queue.val() == self.qi[i].val() {
                self.head_fill.next = self.heads[i].count.val();
            }
        }
        self.avail.head_room.next = bits::<8>(32) - bit_cast::<8, 6>(self.head_fill.val());

        // Head FIFOs -> walker. The walker takes a head only when the FIFOs
        // its chain goes to can take a whole chain (a chain record and
        // WALK_SEG_RESERVE segments; only the walker fills them, one chain
        // at a time), so a walk never stops for room, and a queue whose
        // stage is stuck (TX behind the MAC, control behind firmware, RX
        // waiting for frames) holds up no other. Among the heads that can
        // go, round robin (downwards from the last queue served, as the
        // fetcher does), so a head waits for at most one walk per other
        // queue.
        self.room_rx0.next = !self.rx_chain0.full.val() && (self.rx_seg0.count.val() <= 182);
        self.room_rx1.next = !self.rx_chain1.full.val() && (self.rx_seg1.count.val() <= 182);
        self.room_tx.next = !self.tx_chain.full.val() && (self.tx_seg.count.val() <= 54);
        self.room_ctrl.next = !self.ctrl_chain.full.val() && (self.ctrl_seg.count.val() <= 54);
        for i in 0..NQ {
            // Queue 2p is receiveq(p+1), 2p + 1 transmitq(p+1); the control
            // queue (2 or 4) overrides; queues 3 and 4 are not served while
            // the control queue is queue 2.
            if self.steer.ctrl2.val() && (self.qi[i].val() > 2) {
                self.head_ok[i].next = false;
            } else if self.qi[i].val() == self.ctrl_q.val() {
                self.head_ok[i].next = !self.heads[i].empty.val() && self.room_ctrl.val();
            } else if self.qi[i].val().get_bit(0) {
                self.head_ok[i].next = !self.heads[i].empty.val() && self.room_tx.val();
            } else if self.qi[i].val().get_bit(1) {
                self.head_ok[i].next = !self.heads[i].empty.val() && self.room_rx1.val();
            } else {
                self.head_ok[i].next = !self.heads[i].empty.val() && self.room_rx0.val();
            }
        }
        self.walk_any.next = false;
        self.walk_pick.next = 0.into();
        for i in 0..NQ {
            if self.head_ok[i].val() {
                self.walk_any.next = true;
                self.walk_pick.next = self.qi[i].val();
            }
        }
        // (The last queue is never below another: left out of this loop.)
        for i in 0..(NQ - 1) {
            if self.head_ok[i].val() && (self.qi[i].val() < self.walk_last.q.val()) {
                self.walk_pick.next = self.qi[i].val();
            }
        }
        self.walker.head_valid.next = self.walk_any.val();
        self.walker.head_queue.next = self.walk_pick.val();
        self.walker.head_idx.next = 0.into();
        for i in 0..NQ {
            self.heads[i].read.next = false;
            if self.walk_pick.val() == self.qi[i].val() {
                self.walker.head_idx.next = self.heads[i].data_out.val();
                self.heads[i].read.next = self.walker.head_pop.val();
            }
        }
        if self.walker.head_pop.val() {
            self.walk_last.d.next = self.walk_pick.val();
        }

        // walker -> the RX FIFOs of the chain's pair, the TX FIFOs, or the
        // control FIFOs, by the chain's queue.
        self.to_ctrl.next = self.walker.cur_queue.val() == self.ctrl_q.val();
        self.to_rx.next = !self.to_ctrl.val() && !self.walker.cur_queue.val().get_bit(0);
        self.to_pair.next = self.walker.cur_queue.val().get_bit(1);
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
        self.rx_seg0.data_in.next = self.seg_word.val();
        self.rx_seg1.data_in.next = self.seg_word.val();
        self.tx_seg.data_in.next = self.seg_word.val();
        self.ctrl_seg.data_in.next = self.seg_word.val();
        self.rx_chain0.data_in.next = self.chain_word.val();
        self.rx_chain1.data_in.next = self.chain_word.val();
        self.tx_chain.data_in.next = bit_cast::<81, 80>(self.chain_word.val())
            | (bit_cast::<81, 1>(self.to_pair.val().into()) << 80);
        self.ctrl_chain.data_in.next = self.chain_word.val();
        self.rx_seg0.write.next =
            self.walker.seg_push.val() && self.to_rx.val() && !self.to_pair.val();
        self.rx_seg1.write.next =
            self.walker.seg_push.val() && self.to_rx.val() && self.to_pair.val();
        self.tx_seg.write.next =
            self.walker.seg_push.val() && !self.to_rx.val() && !self.to_ctrl.val();
        self.ctrl_seg.write.next = self.walker.seg_push.val() && self.to_ctrl.val();
        self.rx_chain0.write.next =
            self.walker.chain_push.val() && self.to_rx.val() && !self.to_pair.val();
        self.rx_chain1.write.next =
            self.walker.chain_push.val() && self.to_rx.val() && self.to_pair.val();
        self.tx_chain.write.next =
            self.walker.chain_push.val() && !self.to_rx.val() && !self.to_ctrl.val();
        self.ctrl_chain.write.next = self.walker.chain_push.val() && self.to_ctrl.val();
        // Free entries of the FIFOs the walker's chain goes to (it reserves
        // room for a whole prefetch window of segments).
        self.rx_seg_free.next = bits::<10>(256) - bit_cast::<10, 9>(self.rx_seg0.count.val());
        if self.to_pair.val() {
            self.rx_seg_free.next = bits::<10>(256) - bit_cast::<10, 9>(self.rx_seg1.count.val());
        }
        self.walker.seg_room.next = bits::<8>(128) - bit_cast::<8, 8>(self.tx_seg.count.val());
        self.walker.chain_room.next = bits::<8>(8) - bit_cast::<8, 4>(self.tx_chain.count.val());
        if self.to_ctrl.val() {
            self.walker.seg_room.next =
                bits::<8>(128) - bit_cast::<8, 8>(self.ctrl_seg.count.val());
            self.walker.chain_room.next =
                bits::<8>(4) - bit_cast::<8, 3>(self.ctrl_chain.count.val());
        } else if self.to_rx.val() {
            self.walker.seg_room.next = 255.into();
            if self.rx_seg_free.val() < 255 {
                self.walker.seg_room.next = bit_cast::<8, 10>(self.rx_seg_free.val());
            }
            self.walker.chain_room.next = 1.into();
            if (self.rx_chain0.full.val() && !self.to_pair.val())
                || (self.rx_chain1.full.val() && self.to_pair.val())
            {
                self.walker.chain_room.next = 0.into();
            }
        }

        // Steering: learn from each TX frame's first beat (destination),
        // look up each RX frame's first beat (source); the RX stage keeps
        // the pair it started a frame with until it is done with it.
        self.tx_fire.next = self.tx.mac_valid.val() && self.mac_tx_ready.val();
        self.steer.tx_learn.next = self.tx_fire.val() && !self.tx_mid.q.val();
        self.steer.tx_mac.next = self.tx.mac_data.val().get_bits::<48>(0);
        self.steer.tx_pair.next = self.tx_pair.q.val();
        if self.tx_fire.val() {
            self.tx_mid.d.next = !self.tx.mac_last.val();
        }
        self.steer.rx_mac.next = self.filter.out_data.val().get_bits::<48>(48);
        self.rx_sel.next = self.steer.rx_pair.val();
        if self.rx.busy.val() {
            self.rx_sel.next = self.rx_pair.q.val();
        } else {
            self.rx_pair.d.next = self.steer.rx_pair.val();
        }

        // Net registers: filter, QUEUES, control queue, counters.
        self.filter.reg_write.next = self.reg_write.val();
        self.filter.reg_addr.next = self.reg_addr.val();
        self.filter.reg_wdata.next = self.reg_wdata.val();
        self.steer.reg_write.next = self.reg_write.val();
        self.steer.reg_addr.next = self.reg_addr.val();
        self.steer.reg_wdata.next = self.reg_wdata.val();
        self.ctrl.reg_write.next = self.reg_write.val();
        self.ctrl.reg_addr.next = self.reg_addr.val();
        self.ctrl.reg_wdata.next = self.reg_wdata.val();

        // RX: MAC -> filter -> RX stage -> buffers of the steered pair.
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
        self.rx_chain0.read.next = false;
        self.rx_chain1.read.next = false;
        self.rx_seg0.read.next = false;
        self.rx_seg1.read.next = false;
        // receiveq1 is queue 0, receiveq2 queue 2.
        self.rx.stop.next = !self.q_run[0].val();
        if self.rx_sel.val() {
            self.rx.stop.next = !self.q_run[2].val();
            self.rx.chain_valid.next = !self.rx_chain1.empty.val();
            self.rx.chain_head.next = self.rx_chain1.data_out.val().get_bits::<16>(0);
            self.rx.chain_rlen.next = self.rx_chain1.data_out.val().get_bits::<32>(16);
            self.rx.chain_wlen.next = self.rx_chain1.data_out.val().get_bits::<32>(48);
            self.rx_chain1.read.next = self.rx.chain_pop.val();
            self.rx.seg_valid.next = !self.rx_seg1.empty.val();
            self.rx.seg_addr.next = self.rx_seg1.data_out.val().get_bits::<64>(0);
            self.rx.seg_len.next = self.rx_seg1.data_out.val().get_bits::<32>(64);
            self.rx.seg_write.next = self.rx_seg1.data_out.val().get_bit(96);
            self.rx_seg1.read.next = self.rx.seg_pop.val();
        } else {
            self.rx.chain_valid.next = !self.rx_chain0.empty.val();
            self.rx.chain_head.next = self.rx_chain0.data_out.val().get_bits::<16>(0);
            self.rx.chain_rlen.next = self.rx_chain0.data_out.val().get_bits::<32>(16);
            self.rx.chain_wlen.next = self.rx_chain0.data_out.val().get_bits::<32>(48);
            self.rx_chain0.read.next = self.rx.chain_pop.val();
            self.rx.seg_valid.next = !self.rx_seg0.empty.val();
            self.rx.seg_addr.next = self.rx_seg0.data_out.val().get_bits::<64>(0);
            self.rx.seg_len.next = self.rx_seg0.data_out.val().get_bits::<32>(64);
            self.rx.seg_write.next = self.rx_seg0.data_out.val().get_bit(96);
            self.rx_seg0.read.next = self.rx.seg_pop.val();
        }
        self.rx_done.write.next = self.rx.done_push.val();
        self.rx_done.data_in.next = bit_cast::<50, 16>(self.rx.done_head.val())
            | (bit_cast::<50, 32>(self.rx.done_len.val()) << 16)
            | (bit_cast::<50, 1>(self.rx.done_defer.val().into()) << 48)
            | (bit_cast::<50, 1>(self.rx_sel.val().into()) << 49);
        self.rx.done_room.next = bits::<8>(8) - bit_cast::<8, 4>(self.rx_done.count.val());

        // TX: buffers -> TX stage -> MAC (one chain at a time, whichever
        // pair it came from).
        self.tx.chain_valid.next = !self.tx_chain.empty.val();
        self.tx.chain_head.next = self.tx_chain.data_out.val().get_bits::<16>(0);
        self.tx.chain_rlen.next = self.tx_chain.data_out.val().get_bits::<32>(16);
        self.tx.chain_wlen.next = self.tx_chain.data_out.val().get_bits::<32>(48);
        self.tx_chain.read.next = self.tx.chain_pop.val();
        if self.tx.chain_pop.val() {
            self.tx_pair.d.next = self.tx_chain.data_out.val().get_bit(80);
        }
        self.tx.seg_valid.next = !self.tx_seg.empty.val();
        self.tx.seg_addr.next = self.tx_seg.data_out.val().get_bits::<64>(0);
        self.tx.seg_len.next = self.tx_seg.data_out.val().get_bits::<32>(64);
        self.tx_seg.read.next = self.tx.seg_pop.val();
        self.tx_done.write.next = self.tx.done_push.val();
        self.tx_done.data_in.next = bit_cast::<17, 16>(self.tx.done_head.val())
            | (bit_cast::<17, 1>(self.tx_pair.q.val().into()) << 16);
        self.tx.done_room.next = bits::<8>(8) - bit_cast::<8, 4>(self.tx_done.count.val());
        self.mac_tx_valid.next = self.tx.mac_valid.val();
        self.tx.mac_ready.next = self.mac_tx_ready.val();
        self.mac_tx_data.next = self.tx.mac_data.val();
        self.mac_tx_bytes.next = self.tx.mac_bytes.val();
        self.mac_tx_last.next = self.tx.mac_last.val();

        // Control queue: chains -> control stage -> firmware -> ack.
        self.ctrl.chain_valid.next = !self.ctrl_chain.empty.val();
        self.ctrl.chain_head.next = self.ctrl_chain.data_out.val().get_bits::<16>(0);
        self.ctrl.chain_rlen.next = self.ctrl_chain.data_out.val().get_bits::<32>(16);
        self.ctrl.chain_wlen.next = self.ctrl_chain.data_out.val().get_bits::<32>(48);
        self.ctrl_chain.read.next = self.ctrl.chain_pop.val();
        self.ctrl.seg_valid.next = !self.ctrl_seg.empty.val();
        self.ctrl.seg_addr.next = self.ctrl_seg.data_out.val().get_bits::<64>(0);
        self.ctrl.seg_len.next = self.ctrl_seg.data_out.val().get_bits::<32>(64);
        self.ctrl.seg_write.next = self.ctrl_seg.data_out.val().get_bit(96);
        self.ctrl_seg.read.next = self.ctrl.seg_pop.val();
        self.ctrl_done.write.next = self.ctrl.done_push.val();
        self.ctrl_done.data_in.next = self.ctrl.done_head.val();
        self.ctrl.done_room.next = bits::<8>(8) - bit_cast::<8, 4>(self.ctrl_done.count.val());
        self.event_valid.next = self.ctrl.evt_valid.val();
        self.ctrl.evt_ready.next = self.event_ready.val();
        // EventKind::NetCtrl on the control queue.
        self.event_word.next = 0x407.into();
        if self.steer.ctrl2.val() {
            self.event_word.next = 0x207.into();
        }

        // Used records: RX first (a frame's buffers stay together: only
        // the RX stage pushes RX records, in order), then TX, then control.
        self.used.done_valid.next =
            !self.rx_done.empty.val() || !self.tx_done.empty.val() || !self.ctrl_done.empty.val();
        self.rx_done.read.next = false;
        self.tx_done.read.next = false;
        self.ctrl_done.read.next = false;
        if !self.rx_done.empty.val() {
            self.used.done_queue.next =
                bit_cast::<3, 1>(self.rx_done.data_out.val().get_bits::<1>(49)) << 1;
            self.used.done_head.next = self.rx_done.data_out.val().get_bits::<16>(0);
            self.used.done_len.next = self.rx_done.data_out.val().get_bits::<32>(16);
            self.used.done_defer.next = self.rx_done.data_out.val().get_bit(48);
            self.rx_done.read.next = self.used.done_pop.val();
        } else if !self.tx_done.empty.val() {
            self.used.done_queue.next =
                (bit_cast::<3, 1>(self.tx_done.data_out.val().get_bits::<1>(16)) << 1) | 1;
            self.used.done_head.next = self.tx_done.data_out.val().get_bits::<16>(0);
            self.used.done_len.next = 0.into();
            self.used.done_defer.next = false;
            self.tx_done.read.next = self.used.done_pop.val();
        } else {
            self.used.done_queue.next = self.ctrl_q.val();
            self.used.done_head.next = self.ctrl_done.data_out.val();
            self.used.done_len.next = 1.into();
            self.used.done_defer.next = false;
            self.ctrl_done.read.next = self.used.done_pop.val();
        }

        // DMA clients: reads 0 avail, 1 walker, 2 TX data (sub 0) and
        // control payload (sub 1), 3 used; writes 0 RX data, 1 used, 2 avail
        // and the control ack (avail first).
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
        self.dma.r2_req_valid.next = self.tx.rd_valid.val() || self.ctrl.rd_valid.val();
        self.tx.rd_ready.next = self.dma.r2_req_ready.val();
        self.ctrl.rd_ready.next = self.dma.r2_req_ready.val() && !self.tx.rd_valid.val();
        self.dma.r2_req_addr.next = self.tx.rd_addr.val();
        self.dma.r2_req_len.next = self.tx.rd_len.val();
        self.dma.r2_req_sub.next = 0.into();
        if !self.tx.rd_valid.val() {
            self.dma.r2_req_addr.next = self.ctrl.rd_addr.val();
            self.dma.r2_req_len.next = self.ctrl.rd_len.val();
            self.dma.r2_req_sub.next = 1.into();
        }
        self.tx.cpl_valid.next = self.dma.r2_cpl_valid.val() && (self.dma.cpl_sub.val() == 0);
        self.ctrl.cpl_valid.next = self.dma.r2_cpl_valid.val() && (self.dma.cpl_sub.val() == 1);
        self.dma.r2_cpl_ready.next = self.tx.cpl_ready.val();
        if self.dma.cpl_sub.val() == 1 {
            self.dma.r2_cpl_ready.next = self.ctrl.cpl_ready.val();
        }
        self.tx.cpl_data.next = self.dma.cpl_data.val();
        self.tx.cpl_last.next = self.dma.cpl_last.val();
        self.ctrl.cpl_data.next = self.dma.cpl_data.val();
        self.ctrl.cpl_last.next = self.dma.cpl_last.val();
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
        self.dma.w2_valid.next = self.avail.wr_valid.val() || self.ctrl.wr_valid.val();
        self.avail.wr_ready.next = self.dma.w2_ready.val();
        self.ctrl.wr_ready.next = self.dma.w2_ready.val() && !self.avail.wr_valid.val();
        self.dma.w2_addr.next = self.avail.wr_addr.val();
        self.dma.w2_len.next = 2.into();
        self.dma.w2_data.next = self.avail.wr_data.val();
        if !self.avail.wr_valid.val() {
            self.dma.w2_addr.next = self.ctrl.wr_addr.val();
            self.dma.w2_len.next = 1.into();
            self.dma.w2_data.next = self.ctrl.wr_data.val();
        }
        self.dma.w2_last.next = true;

        // Interrupt requests.
        self.irq_valid.next = self.used.irq_valid.val();
        self.used.irq_ready.next = self.irq_ready.val();
        self.irq_queue.next = self.used.irq_queue.val();
        self.irq_vector.next = self.used.irq_vector.val();

        // Per-queue state out.
        for i in 0..NQ {
            self.q_last_avail[i].next = self.avail.last_avail[i].val();
            self.q_used_idx[i].next = self.used.used_idx[i].val();
            self.q_inflight[i].next = self.infl[i].q.val();
            self.add[i].next =
                self.avail.head_push.val() && (self.avail.head_queue.val() == self.qi[i].val());
            self.sub[i].next =
                self.used.retired.val() && (self.used.retired_queue.val() == self.qi[i].val());
            if self.add[i].val() && !self.sub[i].val() {
                self.infl[i].d.next = self.infl[i].q.val() + 1;
            } else if !self.add[i].val() && self.sub[i].val() {
                self.infl[i].d.next = self.infl[i].q.val() - 1;
            }
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
        self.reg_rdata.next =
            self.filter.reg_rdata.val() | self.steer.reg_rdata.val() | self.ctrl.reg_rdata.val();
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
        self.fault_queue.next = bit_cast::<8, 3>(self.avail.cur_queue.val());
        match self.dma.fault_tag.val().get_bits::<2>(3).index() {
            1 => {
                self.fault_queue.next = bit_cast::<8, 3>(self.walker.cur_queue.val());
            }
            2 => {
                self.fault_queue.next = (bit_cast::<8, 1>(self.tx_pair.q.val().into()) << 1) | 1;
                if self.dma.fault_tag.val().get_bits::<3>(0) == 1 {
                    self.fault_queue.next = bit_cast::<8, 3>(self.ctrl_q.val());
                }
            }
            3 => {
                self.fault_queue.next = bit_cast::<8, 3>(self.used.cur_queue.val());
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
                self.err_queue.d.next = bit_cast::<8, 3>(self.walker.cur_queue.val());
                self.err_detail.d.next = self.walker.err_detail.val();
            } else if self.avail.err.val() {
                self.err.d.next = true;
                self.err_pulse.d.next = true;
                self.err_cause.d.next = self.avail.err_cause.val();
                self.err_queue.d.next = bit_cast::<8, 3>(self.avail.cur_queue.val());
                self.err_detail.d.next = self.avail.err_detail.val();
            } else if self.ctrl.err.val() {
                self.err.d.next = true;
                self.err_pulse.d.next = true;
                self.err_cause.d.next = 11.into();
                self.err_queue.d.next = bit_cast::<8, 3>(self.ctrl_q.val());
                self.err_detail.d.next = self.ctrl.err_detail.val();
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
            self.tx_mid.d.next = false;
            self.walk_last.d.next = 0.into();
            for i in 0..NQ {
                self.infl[i].d.next = 0.into();
            }
        }

        self.idle.next = !self.dma.busy.val()
            && !self.avail.busy.val()
            && !self.walker.busy.val()
            && !self.used.busy.val()
            && !self.rx.busy.val()
            && !self.tx.busy.val()
            && !self.ctrl.busy.val()
            && (self.err.q.val()
                || (!self.walk_any.val()
                    && self.tx_seg.empty.val()
                    && self.tx_chain.empty.val()
                    && self.rx_done.empty.val()
                    && self.tx_done.empty.val()
                    && self.ctrl_done.empty.val()));
    }
}
