//! Test bench for the BAR0 function (`mmio::Bar0`): drives rust-hdl's
//! `simulate()` in a plain loop, with seeded random stalls on every
//! valid/ready channel, and records every beat the device sends.

#![allow(dead_code)]

use std::collections::VecDeque;

use rust_hdl::prelude::*;
use vfpga_abi::ports::{MgmtRequest, MmioRequest, MsixMessage};
use vfpga_hdl::mmio::{Bar0, NQ};

/// Small deterministic generator (xorshift64*), so runs repeat per seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    /// True with probability `pct` percent.
    pub fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}

/// A request waiting to be offered, with the random delay before valid rises.
#[derive(Debug)]
struct Pending<T> {
    req: T,
    delay: u64,
}

/// The bench: the DUT, the channel models and what came out.
pub struct Bench {
    pub dut: Box<Bar0>,
    pub rng: Rng,
    /// Percentage of cycles in which a sink is not ready / a source waits.
    pub stall: u64,
    pub cycle: u64,
    mmio_q: VecDeque<Pending<MmioRequest>>,
    mgmt_q: VecDeque<Pending<MgmtRequest>>,
    irq_q: VecDeque<Pending<(u16, u16)>>,
    /// Read responses in arrival order.
    pub mmio_resp: VecDeque<u32>,
    /// Management responses in arrival order.
    pub mgmt_resp: VecDeque<u32>,
    /// MMIO requests the DUT accepted.
    pub mmio_accepted: u64,
    /// Doorbells (queue, data) the DUT sent.
    pub doorbells: Vec<(u16, u32)>,
    /// MSI-X messages the DUT sent.
    pub msix: Vec<MsixMessage>,
    /// Cycle of each message's handshake.
    pub msix_cycles: Vec<u64>,
    /// Engine interrupt requests the DUT accepted.
    pub irqs_accepted: u64,
    /// Cycles in which engine_reset was high.
    pub engine_resets: u64,
    /// q_set_idx pulses seen: (queue, last_avail, used).
    pub set_idx: Vec<(usize, u16, u16)>,
    /// Doorbell ready is held low while set (engine busy).
    pub doorbell_block: bool,
    /// MSI-X message ready is held low while set.
    pub msix_block: bool,
}

/// Cycles any single operation may take before the bench calls it a hang.
pub const TIMEOUT: u64 = 2000;

impl Bench {
    pub fn new(seed: u64, stall: u64) -> Self {
        let mut dut = Box::<Bar0>::default();
        dut.connect_all();
        let mut b = Bench {
            dut,
            rng: Rng::new(seed),
            stall,
            cycle: 0,
            mmio_q: VecDeque::new(),
            mgmt_q: VecDeque::new(),
            irq_q: VecDeque::new(),
            mmio_resp: VecDeque::new(),
            mgmt_resp: VecDeque::new(),
            mmio_accepted: 0,
            doorbells: Vec::new(),
            msix: Vec::new(),
            msix_cycles: Vec::new(),
            irqs_accepted: 0,
            engine_resets: 0,
            set_idx: Vec::new(),
            doorbell_block: false,
            msix_block: false,
        };
        b.dut.reset.next = true;
        b.dut.idle.next = true;
        b.dut.bus_master.next = true;
        for _ in 0..3 {
            b.tick();
        }
        b.dut.reset.next = false;
        b.tick();
        b.engine_resets = 0;
        b.set_idx.clear();
        b
    }

    fn delay(&mut self) -> u64 {
        if self.stall == 0 {
            0
        } else if self.rng.chance(self.stall) {
            self.rng.below(6)
        } else {
            0
        }
    }

    fn settle(&mut self) {
        assert!(simulate(&mut *self.dut, 200), "logic did not settle");
    }

    /// One clock cycle: drive inputs, observe handshakes, rising edge.
    pub fn tick(&mut self) {
        // Sources: offer the head request once its delay has run out.
        let mut mmio_offer = false;
        if let Some(p) = self.mmio_q.front_mut() {
            if p.delay > 0 {
                p.delay -= 1;
            } else {
                mmio_offer = true;
                self.dut.mmio_req_addr.next = (p.req.addr as u64).into();
                self.dut.mmio_req_write.next = p.req.write;
                self.dut.mmio_req_wdata.next = (p.req.wdata as u64).into();
                self.dut.mmio_req_strb.next = (p.req.strb as u64).into();
            }
        }
        self.dut.mmio_req_valid.next = mmio_offer;
        let mut mgmt_offer = false;
        if let Some(p) = self.mgmt_q.front_mut() {
            if p.delay > 0 {
                p.delay -= 1;
            } else {
                mgmt_offer = true;
                self.dut.mgmt_req_addr.next = (p.req.addr as u64).into();
                self.dut.mgmt_req_write.next = p.req.write;
                self.dut.mgmt_req_wdata.next = (p.req.wdata as u64).into();
            }
        }
        self.dut.mgmt_req_valid.next = mgmt_offer;
        let mut irq_offer = false;
        if let Some(p) = self.irq_q.front_mut() {
            if p.delay > 0 {
                p.delay -= 1;
            } else {
                irq_offer = true;
                self.dut.irq_queue.next = (p.req.0 as u64).into();
                self.dut.irq_vector.next = (p.req.1 as u64).into();
            }
        }
        self.dut.irq_valid.next = irq_offer;
        // Sinks: random ready.
        let stall = self.stall;
        let r1 = !self.rng.chance(stall);
        let r2 = !self.rng.chance(stall);
        let r3 = !self.rng.chance(stall) && !self.doorbell_block;
        let r4 = !self.rng.chance(stall) && !self.msix_block;
        self.dut.mmio_resp_ready.next = r1;
        self.dut.mgmt_resp_ready.next = r2;
        self.dut.doorbell_ready.next = r3;
        self.dut.msix_ready.next = r4;
        self.dut.clock.next = Clock { clk: false };
        self.settle();

        // Beats that move on this edge.
        if mmio_offer && self.dut.mmio_req_ready.val() {
            self.mmio_q.pop_front();
            self.mmio_accepted += 1;
        }
        if mgmt_offer && self.dut.mgmt_req_ready.val() {
            self.mgmt_q.pop_front();
        }
        if irq_offer && self.dut.irq_ready.val() {
            self.irq_q.pop_front();
            self.irqs_accepted += 1;
        }
        if self.dut.mmio_resp_valid.val() && r1 {
            self.mmio_resp
                .push_back(self.dut.mmio_resp_rdata.val().to_u64() as u32);
        }
        if self.dut.mgmt_resp_valid.val() && r2 {
            self.mgmt_resp
                .push_back(self.dut.mgmt_resp_rdata.val().to_u64() as u32);
        }
        if self.dut.doorbell_valid.val() && r3 {
            self.doorbells.push((
                self.dut.doorbell_queue.val().to_u64() as u16,
                self.dut.doorbell_data.val().to_u64() as u32,
            ));
        }
        if self.dut.msix_valid.val() && r4 {
            self.msix.push(MsixMessage {
                addr: self.dut.msix_addr.val().to_u64(),
                data: self.dut.msix_data.val().to_u64() as u32,
                vector: self.dut.msix_vector.val().to_u64() as u16,
            });
            self.msix_cycles.push(self.cycle);
        }
        if self.dut.engine_reset.val() {
            self.engine_resets += 1;
        }
        for q in 0..NQ {
            if self.dut.q_set_idx[q].val() {
                self.set_idx.push((
                    q,
                    self.dut.q_set_last_avail.val().to_u64() as u16,
                    self.dut.q_set_used.val().to_u64() as u16,
                ));
            }
        }

        self.dut.clock.next = Clock { clk: true };
        self.settle();
        self.cycle += 1;
    }

    pub fn ticks(&mut self, n: u64) {
        for _ in 0..n {
            self.tick();
        }
    }

    /// Queues an MMIO request (non-blocking).
    pub fn post_mmio(&mut self, req: MmioRequest) {
        let delay = self.delay();
        self.mmio_q.push_back(Pending { req, delay });
    }

    /// Queues a management request (non-blocking).
    pub fn post_mgmt(&mut self, req: MgmtRequest) {
        let delay = self.delay();
        self.mgmt_q.push_back(Pending { req, delay });
    }

    /// Queues an engine interrupt request (queue, vector).
    pub fn post_irq(&mut self, queue: u16, vector: u16) {
        let delay = self.delay();
        self.irq_q.push_back(Pending {
            req: (queue, vector),
            delay,
        });
    }

    /// Runs until `cond` holds, panicking after TIMEOUT cycles.
    pub fn run_until(&mut self, what: &str, mut cond: impl FnMut(&Bench) -> bool) {
        for _ in 0..TIMEOUT {
            if cond(self) {
                return;
            }
            self.tick();
        }
        panic!("timeout waiting for {what} at cycle {}", self.cycle);
    }

    /// Reads a BAR0 dword with byte enables `strb`.
    pub fn mmio_read_strb(&mut self, addr: u32, strb: u8) -> u32 {
        assert!(self.mmio_resp.is_empty());
        self.post_mmio(MmioRequest {
            addr,
            write: false,
            wdata: 0,
            strb,
        });
        self.run_until("mmio read response", |b| !b.mmio_resp.is_empty());
        self.mmio_resp.pop_front().unwrap()
    }

    /// Reads a whole BAR0 dword.
    pub fn mmio_read(&mut self, addr: u32) -> u32 {
        self.mmio_read_strb(addr, 0xF)
    }

    /// Reads `width` bytes at a byte offset (as a driver's ioread8/16/32).
    pub fn mmio_read_sized(&mut self, offset: u32, width: u32) -> u32 {
        let (dw, strb, shift) = lanes(offset, width);
        let v = self.mmio_read_strb(dw, strb) >> shift;
        if width == 4 {
            v
        } else {
            v & ((1 << (8 * width)) - 1)
        }
    }

    /// Writes a BAR0 dword with byte enables, waiting until it is accepted
    /// and has taken effect.
    pub fn mmio_write_strb(&mut self, addr: u32, wdata: u32, strb: u8) {
        let target = self.mmio_accepted + self.mmio_q.len() as u64 + 1;
        self.post_mmio(MmioRequest {
            addr,
            write: true,
            wdata,
            strb,
        });
        self.run_until("mmio write accepted", |b| b.mmio_accepted >= target);
        // The access executes two cycles after acceptance.
        self.ticks(3);
    }

    /// Writes `width` bytes at a byte offset (as a driver's iowrite8/16/32).
    pub fn mmio_write_sized(&mut self, offset: u32, width: u32, value: u32) {
        let (dw, strb, shift) = lanes(offset, width);
        self.mmio_write_strb(dw, value << shift, strb);
    }

    pub fn mmio_write(&mut self, addr: u32, wdata: u32) {
        self.mmio_write_strb(addr, wdata, 0xF)
    }

    /// Reads a management register.
    pub fn mgmt_read(&mut self, addr: u16) -> u32 {
        assert!(self.mgmt_resp.is_empty());
        self.post_mgmt(MgmtRequest {
            addr,
            write: false,
            wdata: 0,
        });
        self.run_until("mgmt response", |b| !b.mgmt_resp.is_empty());
        self.mgmt_resp.pop_front().unwrap()
    }

    /// Writes a management register and waits for its response.
    pub fn mgmt_write(&mut self, addr: u16, wdata: u32) {
        assert!(self.mgmt_resp.is_empty());
        self.post_mgmt(MgmtRequest {
            addr,
            write: true,
            wdata,
        });
        self.run_until("mgmt response", |b| !b.mgmt_resp.is_empty());
        assert_eq!(self.mgmt_resp.pop_front(), Some(0), "writes answer 0");
    }

    /// Pops every waiting event from the management port.
    pub fn drain_events(&mut self) -> Vec<u32> {
        let mut v = Vec::new();
        loop {
            let e = self.mgmt_read(vfpga_abi::mgmt::EVENT);
            if e == 0 {
                return v;
            }
            v.push(e);
        }
    }

    /// Sets the engine's ring state inputs for queue `q`.
    pub fn set_engine_queue(&mut self, q: usize, last_avail: u16, used: u16, inflight: u16) {
        self.dut.q_last_avail[q].next = (last_avail as u64).into();
        self.dut.q_used_idx[q].next = (used as u64).into();
        self.dut.q_inflight[q].next = (inflight as u64).into();
    }
}

/// Dword address, byte enables and shift of a `width`-byte access at `offset`.
pub fn lanes(offset: u32, width: u32) -> (u32, u8, u32) {
    let lane = offset & 3;
    assert!(lane + width <= 4, "access crosses a dword");
    let strb = (((1u32 << width) - 1) << lane) as u8;
    (offset & !3, strb, 8 * lane)
}
