//! The net engine under test with host memory and MAC models, clocked with
//! `simulate()` in a plain loop.
//!
//! [`HostMemory`] is written against `BlkEngine`'s DMA port signals; the
//! bench keeps an unclocked `BlkEngine` as a carrier of those signals and
//! copies them to and from the net engine each cycle, so both engines are
//! checked by the same DMA completer.

use crate::engine::BlkEngine;
use crate::net::NetEngine;
use crate::testbench::driver::SplitQueue;
use crate::testbench::host_memory::HostMemory;
use crate::testbench::mac::{Beat, MacSink, MacSource};
use crate::testbench::rng::XorShift;
use rust_hdl::prelude::*;
use std::collections::VecDeque;

/// Knobs of a net bench.
#[derive(Debug, Clone, Copy)]
pub struct NetBenchConfig {
    /// Seed for every random choice.
    pub seed: u64,
    /// DMA read latency in cycles.
    pub dma_latency: u64,
    /// Extra random DMA latency (0..jitter).
    pub dma_jitter: u64,
    /// Percentage of cycles the DMA channels are ready / offer a beat.
    pub dma_ready_pct: u32,
    /// Percentage of cycles the MAC TX sink is ready.
    pub mac_tx_ready_pct: u32,
    /// Percentage of cycles the MAC RX source offers a waiting beat.
    pub mac_rx_valid_pct: u32,
    /// Percentage of cycles the interrupt channel is ready.
    pub irq_ready_pct: u32,
    /// EVENT_IDX negotiated.
    pub event_idx: bool,
    /// INDIRECT_DESC negotiated.
    pub indirect: bool,
}

impl Default for NetBenchConfig {
    fn default() -> Self {
        NetBenchConfig {
            seed: 1,
            dma_latency: 125,
            dma_jitter: 0,
            dma_ready_pct: 100,
            mac_tx_ready_pct: 100,
            mac_rx_valid_pct: 100,
            irq_ready_pct: 100,
            event_idx: false,
            indirect: true,
        }
    }
}

/// Net engine plus models.
pub struct NetBench {
    /// The engine.
    pub e: NetEngine,
    carrier: BlkEngine,
    /// Host memory.
    pub mem: HostMemory,
    /// MAC TX side.
    pub mac_tx: MacSink,
    /// MAC RX side.
    pub mac_rx: MacSource,
    rng: XorShift,
    irq_ready_pct: u32,
    irq_ready: bool,
    rx_beat: Option<Beat>,
    /// Cycles run.
    pub cycle: u64,
    /// Interrupt requests taken: (cycle, queue, vector).
    pub irqs: Vec<(u64, u16, u16)>,
    /// Events the engine posted for firmware (always taken): (cycle, word).
    pub events: Vec<(u64, u32)>,
    doorbells: VecDeque<u16>,
    reg_writes: VecDeque<(u8, u32)>,
}

impl std::fmt::Debug for NetBench {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetBench")
            .field("cycle", &self.cycle)
            .finish_non_exhaustive()
    }
}

impl NetBench {
    /// A bench with no queue running, the net registers after power-on.
    pub fn new(cfg: NetBenchConfig) -> Self {
        let mut e = NetEngine::default();
        e.connect_all();
        let mut mem = HostMemory::new(cfg.seed ^ 0x1111);
        mem.latency = cfg.dma_latency;
        mem.jitter = cfg.dma_jitter;
        mem.ready_pct = cfg.dma_ready_pct;
        mem.cpl_pct = cfg.dma_ready_pct;
        let mut mac_tx = MacSink::new(cfg.seed ^ 0x4444);
        mac_tx.ready_pct = cfg.mac_tx_ready_pct;
        let mut mac_rx = MacSource::new(cfg.seed ^ 0x5555);
        mac_rx.valid_pct = cfg.mac_rx_valid_pct;
        e.dma_enable.next = true;
        e.event_idx.next = cfg.event_idx;
        e.indirect_enable.next = cfg.indirect;
        for q in 0..e.q_run.len() {
            e.q_run[q].next = false;
            e.q_size[q].next = 0.into();
        }
        e.engine_reset.next = false;
        e.net_reset.next = true;
        e.doorbell_valid.next = false;
        e.reg_write.next = false;
        e.event_ready.next = true;
        let mut b = NetBench {
            e,
            carrier: BlkEngine::default(),
            mem,
            mac_tx,
            mac_rx,
            rng: XorShift::new(cfg.seed ^ 0x3333),
            irq_ready_pct: cfg.irq_ready_pct,
            irq_ready: true,
            rx_beat: None,
            cycle: 0,
            irqs: Vec::new(),
            events: Vec::new(),
            doorbells: VecDeque::new(),
            reg_writes: VecDeque::new(),
        };
        b.settle();
        b.step();
        b.e.net_reset.next = false;
        b
    }

    fn settle(&mut self) {
        assert!(simulate(&mut self.e, 1000), "logic did not settle");
    }

    /// Points queue `q` (virtio-net numbering: `2p` RX and `2p + 1` TX of
    /// pair `p`, then the control queue) at `vq` with MSI-X `vector` and
    /// lets it run.
    pub fn attach(&mut self, q: usize, vq: &SplitQueue, vector: u16) {
        let e = &mut self.e;
        e.q_desc[q].next = vq.desc.into();
        e.q_avail[q].next = vq.avail.into();
        e.q_used[q].next = vq.used.into();
        e.q_size[q].next = (vq.size as u64).into();
        e.q_vector[q].next = (vector as u64).into();
        e.q_run[q].next = true;
    }

    /// Queues a doorbell for queue `q`.
    pub fn kick(&mut self, q: u16) {
        self.doorbells.push_back(q);
    }

    /// Queues a write of net register `addr` (`vfpga_abi::mgmt::net`).
    pub fn reg_write(&mut self, addr: u16, value: u32) {
        self.reg_writes.push_back((addr as u8, value));
    }

    /// Reads net register `addr` (between cycles; the read has no side effect).
    pub fn reg_read(&mut self, addr: u16) -> u32 {
        self.e.reg_addr.next = (addr as u64).into();
        self.settle();
        self.e.reg_rdata.val().to_u64() as u32
    }

    /// Runs one clock cycle.
    pub fn step(&mut self) {
        let now = self.cycle;
        // DMA inputs through the carrier.
        self.mem.drive(&mut self.carrier, now);
        let (c, e) = (&self.carrier, &mut self.e);
        e.dma_rd_req_ready.next = c.dma_rd_req_ready.next;
        e.dma_wr_ready.next = c.dma_wr_ready.next;
        e.dma_rd_cpl_valid.next = c.dma_rd_cpl_valid.next;
        e.dma_rd_cpl_tag.next = c.dma_rd_cpl_tag.next;
        e.dma_rd_cpl_data.next = c.dma_rd_cpl_data.next;
        e.dma_rd_cpl_last.next = c.dma_rd_cpl_last.next;
        e.dma_rd_cpl_error.next = c.dma_rd_cpl_error.next;
        e.dma_wr_rsp_valid.next = c.dma_wr_rsp_valid.next;
        e.dma_wr_rsp_error.next = c.dma_wr_rsp_error.next;
        // MAC and the rest.
        e.mac_tx_ready.next = self.mac_tx.drive();
        self.rx_beat = self.mac_rx.drive();
        match self.rx_beat {
            Some(b) => {
                e.mac_rx_valid.next = true;
                e.mac_rx_data.next = b.data.to_bits();
                e.mac_rx_bytes.next = (b.bytes as u64).into();
                e.mac_rx_last.next = b.last;
            }
            None => {
                e.mac_rx_valid.next = false;
                e.mac_rx_last.next = false;
            }
        }
        self.irq_ready = self.rng.chance(self.irq_ready_pct);
        e.irq_ready.next = self.irq_ready;
        match self.doorbells.front() {
            Some(&q) => {
                e.doorbell_valid.next = true;
                e.doorbell_queue.next = (q as u64).into();
            }
            None => e.doorbell_valid.next = false,
        }
        match self.reg_writes.pop_front() {
            Some((a, v)) => {
                e.reg_write.next = true;
                e.reg_addr.next = (a as u64).into();
                e.reg_wdata.next = (v as u64).into();
            }
            None => e.reg_write.next = false,
        }
        for q in 0..e.q_set_idx.len() {
            e.q_set_idx[q].next = false;
        }
        self.settle();
        // DMA outputs through the carrier.
        let (c, e) = (&mut self.carrier, &self.e);
        c.dma_rd_req_valid.next = e.dma_rd_req_valid.val();
        c.dma_rd_req_tag.next = e.dma_rd_req_tag.val();
        c.dma_rd_req_addr.next = e.dma_rd_req_addr.val();
        c.dma_rd_req_len.next = e.dma_rd_req_len.val();
        c.dma_rd_cpl_ready.next = e.dma_rd_cpl_ready.val();
        c.dma_wr_valid.next = e.dma_wr_valid.val();
        c.dma_wr_addr.next = e.dma_wr_addr.val();
        c.dma_wr_len.next = e.dma_wr_len.val();
        c.dma_wr_data.next = e.dma_wr_data.val();
        c.dma_wr_last.next = e.dma_wr_last.val();
        c.dma_wr_rsp_ready.next = e.dma_wr_rsp_ready.val();
        c.dma_rd_req_valid.update_all();
        c.dma_rd_req_tag.update_all();
        c.dma_rd_req_addr.update_all();
        c.dma_rd_req_len.update_all();
        c.dma_rd_cpl_ready.update_all();
        c.dma_wr_valid.update_all();
        c.dma_wr_addr.update_all();
        c.dma_wr_len.update_all();
        c.dma_wr_data.update_all();
        c.dma_wr_last.update_all();
        c.dma_wr_rsp_ready.update_all();
        self.mem.observe(&self.carrier, now);
        let e = &self.e;
        let tx = e.mac_tx_valid.val().then(|| Beat {
            data: e.mac_tx_data.val().to_u128(),
            bytes: e.mac_tx_bytes.val().to_u64() as u8,
            last: e.mac_tx_last.val(),
        });
        self.mac_tx.observe(tx, now);
        self.mac_rx.observe(e.mac_rx_ready.val(), now);
        if e.irq_valid.val() && self.irq_ready {
            self.irqs.push((
                now,
                e.irq_queue.val().to_u64() as u16,
                e.irq_vector.val().to_u64() as u16,
            ));
        }
        if e.doorbell_valid.val() && e.doorbell_ready.val() {
            self.doorbells.pop_front();
        }
        if e.event_valid.val() {
            self.events.push((now, e.event_word.val().to_u64() as u32));
        }
        self.e.clock.next = Clock { clk: true };
        self.settle();
        self.e.clock.next = Clock { clk: false };
        self.settle();
        self.cycle += 1;
    }

    /// Steps until `done` holds (checked before each cycle) or `max` cycles
    /// pass; returns whether `done` held.
    pub fn run_until(&mut self, max: u64, mut done: impl FnMut(&NetBench) -> bool) -> bool {
        for _ in 0..max {
            if done(self) {
                return true;
            }
            self.step();
        }
        done(self)
    }

    /// Steps `n` cycles.
    pub fn run(&mut self, n: u64) {
        for _ in 0..n {
            self.step();
        }
    }

    /// Nothing in flight: engine idle, no doorbell waiting, DMA drained.
    pub fn quiet(&self) -> bool {
        self.e.idle.val()
            && self.doorbells.is_empty()
            && self.mem.reads_in_flight() == 0
            && self.mem.writes_in_flight() == 0
    }

    /// The engine's sticky error state: (error, cause, queue, detail).
    pub fn error(&self) -> (bool, u8, u8, u32) {
        (
            self.e.error.val(),
            self.e.error_cause.val().to_u64() as u8,
            self.e.error_queue.val().to_u64() as u8,
            self.e.error_detail.val().to_u64() as u32,
        )
    }
}
