//! The engine under test with its host memory and storage models, clocked
//! with rust-hdl's `simulate()` in a plain loop (the thread-based testbench
//! is far too slow for thousands of DMA round trips).

use crate::engine::BlkEngine;
use crate::testbench::driver::SplitQueue;
use crate::testbench::host_memory::HostMemory;
use crate::testbench::rng::XorShift;
use crate::testbench::storage::Storage;
use rust_hdl::prelude::*;
use std::collections::VecDeque;

/// Knobs of a bench.
#[derive(Debug, Clone, Copy)]
pub struct BenchConfig {
    /// Seed for every random choice.
    pub seed: u64,
    /// DMA read latency in cycles.
    pub dma_latency: u64,
    /// Extra random DMA latency (0..jitter), which reorders completions.
    pub dma_jitter: u64,
    /// Percentage of cycles the DMA channels are ready / offer a beat.
    pub dma_ready_pct: u32,
    /// Storage latency.
    pub sto_latency: u64,
    /// Extra random storage latency.
    pub sto_jitter: u64,
    /// Percentage of cycles the storage channels are ready / offer a beat.
    pub sto_ready_pct: u32,
    /// Percentage of cycles the interrupt channel is ready.
    pub irq_ready_pct: u32,
    /// Disk size in sectors (also the capacity the engine is told).
    pub sectors: u64,
    /// EVENT_IDX negotiated.
    pub event_idx: bool,
    /// INDIRECT_DESC negotiated.
    pub indirect: bool,
}

impl Default for BenchConfig {
    fn default() -> Self {
        BenchConfig {
            seed: 1,
            dma_latency: 125,
            dma_jitter: 0,
            dma_ready_pct: 100,
            sto_latency: 40,
            sto_jitter: 0,
            sto_ready_pct: 100,
            irq_ready_pct: 100,
            sectors: 2048,
            event_idx: false,
            indirect: true,
        }
    }
}

/// Engine plus models.
pub struct Bench {
    /// The engine.
    pub e: BlkEngine,
    /// Host memory.
    pub mem: HostMemory,
    /// Block storage.
    pub sto: Storage,
    rng: XorShift,
    irq_ready_pct: u32,
    irq_ready: bool,
    /// Cycles run.
    pub cycle: u64,
    /// Interrupt requests taken: (cycle, queue, vector).
    pub irqs: Vec<(u64, u16, u16)>,
    /// Doorbells waiting to be rung: (queue, raw value).
    pub doorbells: VecDeque<(u16, u32)>,
    /// Doorbell accept cycles.
    pub doorbell_cycles: Vec<u64>,
    /// Cycles `error_pulse` was high.
    pub error_pulses: Vec<u64>,
    reset_next: bool,
    set_idx: [Option<(u16, u16)>; 2],
}

impl std::fmt::Debug for Bench {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bench")
            .field("cycle", &self.cycle)
            .field("error", &self.error())
            .finish()
    }
}

impl Bench {
    /// A bench with nothing configured yet (queues not running).
    pub fn new(cfg: BenchConfig) -> Self {
        let mut e = BlkEngine::default();
        e.connect_all();
        let mut mem = HostMemory::new(cfg.seed ^ 0x1111);
        mem.latency = cfg.dma_latency;
        mem.jitter = cfg.dma_jitter;
        mem.ready_pct = cfg.dma_ready_pct;
        mem.cpl_pct = cfg.dma_ready_pct;
        let mut sto = Storage::new(cfg.sectors, cfg.seed ^ 0x2222);
        sto.latency = cfg.sto_latency;
        sto.jitter = cfg.sto_jitter;
        sto.ready_pct = cfg.sto_ready_pct;
        e.dma_enable.next = true;
        e.event_idx.next = cfg.event_idx;
        e.indirect_enable.next = cfg.indirect;
        e.notification_data.next = false;
        e.blk_capacity.next = cfg.sectors.into();
        e.q_run_0.next = false;
        e.q_run_1.next = false;
        e.q_size_0.next = 0.into();
        e.q_size_1.next = 0.into();
        e.engine_reset.next = false;
        e.doorbell_valid.next = false;
        let mut b = Bench {
            e,
            mem,
            sto,
            rng: XorShift::new(cfg.seed ^ 0x3333),
            irq_ready_pct: cfg.irq_ready_pct,
            irq_ready: true,
            cycle: 0,
            irqs: Vec::new(),
            doorbells: VecDeque::new(),
            doorbell_cycles: Vec::new(),
            error_pulses: Vec::new(),
            reset_next: false,
            set_idx: [None, None],
        };
        b.settle();
        b
    }

    fn settle(&mut self) {
        assert!(simulate(&mut self.e, 1000), "logic did not settle");
    }

    /// Points queue `q` at `vq` with MSI-X `vector` and lets it run.
    pub fn attach(&mut self, q: usize, vq: &SplitQueue, vector: u16) {
        let e = &mut self.e;
        if q == 0 {
            e.q_desc_0.next = vq.desc.into();
            e.q_avail_0.next = vq.avail.into();
            e.q_used_0.next = vq.used.into();
            e.q_size_0.next = (vq.size as u64).into();
            e.q_vector_0.next = (vector as u64).into();
            e.q_run_0.next = true;
        } else {
            e.q_desc_1.next = vq.desc.into();
            e.q_avail_1.next = vq.avail.into();
            e.q_used_1.next = vq.used.into();
            e.q_size_1.next = (vq.size as u64).into();
            e.q_vector_1.next = (vector as u64).into();
            e.q_run_1.next = true;
        }
    }

    /// Sets a queue's raw configuration (for malformed-ring tests).
    pub fn configure_raw(&mut self, q: usize, desc: u64, avail: u64, used: u64, size: u16) {
        let e = &mut self.e;
        if q == 0 {
            e.q_desc_0.next = desc.into();
            e.q_avail_0.next = avail.into();
            e.q_used_0.next = used.into();
            e.q_size_0.next = (size as u64).into();
            e.q_run_0.next = true;
        } else {
            e.q_desc_1.next = desc.into();
            e.q_avail_1.next = avail.into();
            e.q_used_1.next = used.into();
            e.q_size_1.next = (size as u64).into();
            e.q_run_1.next = true;
        }
    }

    /// Sets q_run for queue `q`.
    pub fn set_run(&mut self, q: usize, run: bool) {
        if q == 0 {
            self.e.q_run_0.next = run;
        } else {
            self.e.q_run_1.next = run;
        }
    }

    /// Queues a doorbell for queue `q`.
    pub fn kick(&mut self, q: u16) {
        self.doorbells.push_back((q, q as u32));
    }

    /// Pulses engine_reset on the next cycle.
    pub fn engine_reset(&mut self) {
        self.reset_next = true;
    }

    /// Pulses q_set_idx for queue `q` on the next cycle.
    pub fn set_indices(&mut self, q: usize, last_avail: u16, used: u16) {
        self.set_idx[q] = Some((last_avail, used));
    }

    /// Runs one clock cycle.
    pub fn step(&mut self) {
        let now = self.cycle;
        self.mem.drive(&mut self.e, now);
        self.sto.drive(&mut self.e, now);
        self.irq_ready = self.rng.chance(self.irq_ready_pct);
        self.e.irq_ready.next = self.irq_ready;
        match self.doorbells.front() {
            Some(&(q, data)) => {
                self.e.doorbell_valid.next = true;
                self.e.doorbell_queue.next = (q as u64).into();
                self.e.doorbell_data.next = (data as u64).into();
            }
            None => self.e.doorbell_valid.next = false,
        }
        self.e.engine_reset.next = std::mem::take(&mut self.reset_next);
        let s0 = self.set_idx[0].take();
        let s1 = self.set_idx[1].take();
        self.e.q_set_idx_0.next = s0.is_some();
        self.e.q_set_idx_1.next = s1.is_some();
        let (la0, u0) = s0.unwrap_or_default();
        let (la1, u1) = s1.unwrap_or_default();
        self.e.q_set_last_avail_0.next = (la0 as u64).into();
        self.e.q_set_used_0.next = (u0 as u64).into();
        self.e.q_set_last_avail_1.next = (la1 as u64).into();
        self.e.q_set_used_1.next = (u1 as u64).into();
        self.settle();
        self.mem.observe(&self.e, now);
        self.sto.observe(&self.e, now);
        if self.e.irq_valid.val() && self.irq_ready {
            self.irqs.push((
                now,
                self.e.irq_queue.val().to_u64() as u16,
                self.e.irq_vector.val().to_u64() as u16,
            ));
        }
        if self.e.doorbell_valid.val() && self.e.doorbell_ready.val() {
            self.doorbells.pop_front();
            self.doorbell_cycles.push(now);
        }
        if self.e.error_pulse.val() {
            self.error_pulses.push(now);
        }
        self.e.clock.next = Clock { clk: true };
        self.settle();
        self.e.clock.next = Clock { clk: false };
        self.settle();
        self.cycle += 1;
    }

    /// Steps until `done` holds (checked before each cycle) or `max` cycles
    /// pass; returns whether `done` held.
    pub fn run_until(&mut self, max: u64, mut done: impl FnMut(&Bench) -> bool) -> bool {
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

    /// Nothing in flight: engine idle, no doorbell waiting, models drained.
    pub fn quiet(&self) -> bool {
        self.e.idle.val()
            && self.doorbells.is_empty()
            && self.mem.reads_in_flight() == 0
            && self.mem.writes_in_flight() == 0
            && self.sto.outstanding() == 0
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
