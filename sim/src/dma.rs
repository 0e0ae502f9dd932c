//! The host end of the engine's DMA master: read requests come in, data
//! goes back as completions after a latency, posted writes land in memory,
//! all through the [`Iommu`].
//!
//! Timing model (every number in engine cycles, see [`DmaConfig`]):
//! - a read request accepted at cycle `t` has its data fetched from memory at
//!   `t + read_latency + jitter` (jitter drawn per request from the seeded
//!   generator, so different tags may complete out of order) and streamed
//!   back one beat per cycle as the downstream link budget allows;
//! - a posted write is applied to memory when its last beat arrives, then
//!   acknowledged `write_response_latency` cycles later, in order;
//! - the upstream link (writes) and the downstream link (completions) each
//!   have a [`Bandwidth`].
//!
//! The translation happens when the data moves (fetch time for reads,
//! last-beat time for writes), so an unmap while a request is in flight
//! turns it into an error completion instead of a stale access.
//!
//! The model is a Moore machine: [`DmaModel::drive`] depends on its state
//! only, never on what the engine drives in the same cycle.

use std::collections::VecDeque;
use std::ops::Deref;

use vfpga_abi::ports::{
    DMA_DATA_BYTES, DMA_MAX_LEN, DMA_TAG_BITS, DmaReadCompletion, DmaReadRequest, DmaWrite,
    DmaWriteResponse,
};

use crate::clock::{Bandwidth, Cycle, LinkBudget};
use crate::iommu::Iommu;
use crate::rng::SimRng;

/// Latency, bandwidth and ordering of the host bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmaConfig {
    /// Cycles from accepting a read request to its data being fetched
    /// (default 125: ~500 ns, one PCIe round trip at 250 MHz).
    pub read_latency: u64,
    /// Extra cycles drawn per read in `0..=read_jitter`; non-zero lets reads
    /// of different tags complete out of order.
    pub read_jitter: u64,
    /// Bandwidth of read completions (host to device).
    pub downstream: Bandwidth,
    /// Bandwidth of posted writes (device to host).
    pub upstream: Bandwidth,
    /// Cycles from a write's last beat to its response.
    pub write_response_latency: u64,
    /// Read requests the host accepts before holding `ready` low.
    pub max_reads: usize,
    /// Seed of the jitter.
    pub seed: u64,
    /// Record every transaction in [`DmaModel::log`].
    pub log: bool,
}

impl Default for DmaConfig {
    fn default() -> Self {
        DmaConfig {
            read_latency: 125,
            read_jitter: 16,
            downstream: Bandwidth::FULL_BEAT,
            upstream: Bandwidth::FULL_BEAT,
            write_response_latency: 1,
            max_reads: 1 << DMA_TAG_BITS,
            seed: 0,
            log: false,
        }
    }
}

/// One DMA transaction as the host saw it (the cross-backend comparison
/// and the tests read these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DmaTxn {
    /// A read request was accepted.
    ReadRequest {
        /// Cycle of the handshake.
        cycle: Cycle,
        /// The request.
        req: DmaReadRequest,
    },
    /// A read's last completion beat was taken.
    ReadDone {
        /// Cycle of the handshake.
        cycle: Cycle,
        /// Tag.
        tag: u8,
        /// It was an error completion.
        error: bool,
    },
    /// A posted write's last beat was taken.
    Write {
        /// Cycle of the handshake.
        cycle: Cycle,
        /// IOVA.
        addr: u64,
        /// Length.
        len: u16,
        /// Refused (nothing written).
        error: bool,
    },
}

/// Counters of the DMA model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DmaStats {
    /// Read requests accepted.
    pub reads: u64,
    /// Bytes returned by successful reads.
    pub read_bytes: u64,
    /// Posted writes received.
    pub writes: u64,
    /// Bytes written.
    pub write_bytes: u64,
    /// Requests answered with an error (IOMMU fault, bus master off, malformed).
    pub errors: u64,
    /// Protocol violations by the engine (tag reuse, bad length, beat count).
    pub protocol_errors: u64,
}

/// What the host drives towards the engine this cycle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DmaDrive {
    /// Ready on the read request channel.
    pub rd_req_ready: bool,
    /// A completion beat (valid when `Some`).
    pub rd_cpl: Option<DmaReadCompletion>,
    /// Ready on the posted write channel.
    pub wr_ready: bool,
    /// A write response (valid when `Some`).
    pub wr_rsp: Option<DmaWriteResponse>,
}

/// Which handshakes happened this cycle (computed from the engine's valid and
/// ready and the host's [`DmaDrive`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DmaFired {
    /// A read request moved.
    pub rd_req: Option<DmaReadRequest>,
    /// The offered completion beat was taken.
    pub rd_cpl: bool,
    /// A write beat moved.
    pub wr: Option<DmaWrite>,
    /// The offered write response was taken.
    pub wr_rsp: bool,
}

#[derive(Debug)]
struct PendingRead {
    req: DmaReadRequest,
    due: Cycle,
    seq: u64,
    error: bool,
}

#[derive(Debug)]
struct ActiveRead {
    tag: u8,
    data: Vec<u8>,
    pos: usize,
    error: bool,
}

#[derive(Debug)]
struct WriteInProgress {
    addr: u64,
    len: u16,
    data: Vec<u8>,
}

/// The host bus as seen from the engine's DMA master ports.
#[derive(Debug)]
pub struct DmaModel {
    cfg: DmaConfig,
    rng: SimRng,
    seq: u64,
    pending: Vec<PendingRead>,
    active: Option<ActiveRead>,
    beat: Option<DmaReadCompletion>,
    write: Option<WriteInProgress>,
    responses: VecDeque<(Cycle, DmaWriteResponse)>,
    down: LinkBudget,
    up: LinkBudget,
    tags_in_flight: u64,
    stats: DmaStats,
    log: Vec<DmaTxn>,
}

impl DmaModel {
    /// A host bus with nothing in flight.
    pub fn new(cfg: DmaConfig) -> Self {
        DmaModel {
            rng: SimRng::new(cfg.seed),
            seq: 0,
            pending: Vec::new(),
            active: None,
            beat: None,
            write: None,
            responses: VecDeque::new(),
            down: LinkBudget::new(cfg.downstream),
            up: LinkBudget::new(cfg.upstream),
            tags_in_flight: 0,
            stats: DmaStats::default(),
            log: Vec::new(),
            cfg,
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> DmaStats {
        self.stats
    }

    /// The transaction log (empty unless [`DmaConfig::log`]).
    pub fn log(&self) -> &[DmaTxn] {
        &self.log
    }

    /// Nothing in flight: no read pending or streaming, no write half
    /// received, no response owed.
    pub fn is_quiet(&self) -> bool {
        self.pending.is_empty()
            && self.active.is_none()
            && self.beat.is_none()
            && self.write.is_none()
            && self.responses.is_empty()
    }

    /// Earliest future cycle at which the model will act on its own (a read
    /// becoming due, a response becoming ready); `None` when quiet or busy
    /// right now.
    pub fn next_event(&self) -> Option<Cycle> {
        let r = self.pending.iter().map(|p| p.due).min();
        let w = self.responses.front().map(|r| r.0);
        r.into_iter().chain(w).min()
    }

    /// Both links' credit is full: cycles without a beat change nothing
    /// in them (what [`DmaModel::next_event`] does not cover).
    pub fn links_full(&self) -> bool {
        self.down.is_full() && self.up.is_full()
    }

    /// The host's outputs this cycle.
    pub fn drive(&self, now: Cycle) -> DmaDrive {
        DmaDrive {
            rd_req_ready: self.pending.len() + usize::from(self.active.is_some())
                < self.cfg.max_reads,
            rd_cpl: self.beat,
            wr_ready: self.up.can_send(DMA_DATA_BYTES),
            wr_rsp: self
                .responses
                .front()
                .filter(|(t, _)| *t <= now)
                .map(|r| r.1),
        }
    }

    /// Advances one clock edge: applies what moved, then prepares the next
    /// cycle's outputs. `bus_master` is the PCI command register bit: with it
    /// clear, every request fails without touching memory. `iommu` is called
    /// only when memory is accessed (the simulator's takes a lock: most
    /// cycles need none).
    pub fn clock<G: Deref<Target = Iommu>>(
        &mut self,
        now: Cycle,
        fired: DmaFired,
        iommu: impl Fn() -> G,
        bus_master: bool,
    ) {
        if let Some(req) = fired.rd_req {
            self.accept_read(now, req, bus_master);
        }
        if fired.rd_cpl {
            self.beat_taken(now);
        }
        if let Some(w) = fired.wr {
            self.up.spend(DMA_DATA_BYTES);
            self.write_beat(now, w, &iommu, bus_master);
        }
        if fired.wr_rsp {
            self.responses.pop_front();
        }
        self.down.tick();
        self.up.tick();
        self.prepare_beat(now + 1, &iommu);
    }

    fn accept_read(&mut self, now: Cycle, req: DmaReadRequest, bus_master: bool) {
        self.stats.reads += 1;
        tracing::trace!(
            cycle = now,
            tag = req.tag,
            addr = format_args!("{:#x}", req.addr),
            len = req.len,
            "DMA read"
        );
        if self.cfg.log {
            self.log.push(DmaTxn::ReadRequest { cycle: now, req });
        }
        let tag_bit = 1u64 << (req.tag & ((1 << DMA_TAG_BITS) - 1));
        let malformed = req.len == 0
            || u32::from(req.len) > DMA_MAX_LEN
            || (req.addr & 0xFFF) + u64::from(req.len) > 4096
            || self.tags_in_flight & tag_bit != 0;
        if malformed {
            self.stats.protocol_errors += 1;
            tracing::error!(
                ?req,
                "malformed DMA read request (bad length, 4 KiB crossing or tag in use)"
            );
        }
        if !bus_master {
            tracing::warn!(?req, "DMA read with bus master disabled");
        }
        self.tags_in_flight |= tag_bit;
        let due = now + self.cfg.read_latency + self.rng.up_to(self.cfg.read_jitter);
        self.pending.push(PendingRead {
            req,
            due,
            seq: self.seq,
            error: malformed || !bus_master,
        });
        self.seq += 1;
    }

    fn beat_taken(&mut self, now: Cycle) {
        let Some(beat) = self.beat.take() else {
            return;
        };
        if beat.last {
            self.tags_in_flight &= !(1u64 << (beat.tag & ((1 << DMA_TAG_BITS) - 1)));
            self.active = None;
            if self.cfg.log {
                self.log.push(DmaTxn::ReadDone {
                    cycle: now,
                    tag: beat.tag,
                    error: beat.error,
                });
            }
        }
    }

    /// Chooses the next beat to offer at cycle `at` (fetching a newly due
    /// read from memory) when none is offered.
    fn prepare_beat<G: Deref<Target = Iommu>>(&mut self, at: Cycle, iommu: &impl Fn() -> G) {
        if self.beat.is_some() {
            return;
        }
        if self.active.is_none() {
            // The due read that became due first (then the older one).
            let Some(i) = self
                .pending
                .iter()
                .enumerate()
                .filter(|(_, p)| p.due <= at)
                .min_by_key(|(_, p)| (p.due, p.seq))
                .map(|(i, _)| i)
            else {
                return;
            };
            let p = self.pending.swap_remove(i);
            let mut data = vec![0u8; usize::from(p.req.len)];
            let error = p.error || iommu().read(p.req.addr, &mut data).is_err();
            if error {
                self.stats.errors += 1;
                data.clear();
            } else {
                self.stats.read_bytes += data.len() as u64;
            }
            self.active = Some(ActiveRead {
                tag: p.req.tag,
                data,
                pos: 0,
                error,
            });
        }
        let Some(a) = self.active.as_mut() else {
            return;
        };
        if a.error {
            // One beat, zero data, `last`: the port's error convention.
            self.beat = Some(DmaReadCompletion {
                tag: a.tag,
                data: 0,
                last: true,
                error: true,
            });
            return;
        }
        let n = (a.data.len() - a.pos).min(DMA_DATA_BYTES as usize);
        if !self.down.can_send(n as u32) {
            return;
        }
        self.down.spend(n as u32);
        let mut bytes = [0u8; 16];
        bytes[..n].copy_from_slice(&a.data[a.pos..a.pos + n]);
        a.pos += n;
        self.beat = Some(DmaReadCompletion {
            tag: a.tag,
            data: u128::from_le_bytes(bytes),
            last: a.pos == a.data.len(),
            error: false,
        });
    }

    fn write_beat<G: Deref<Target = Iommu>>(
        &mut self,
        now: Cycle,
        w: DmaWrite,
        iommu: &impl Fn() -> G,
        bus_master: bool,
    ) {
        let wip = self.write.get_or_insert_with(|| WriteInProgress {
            addr: w.addr,
            len: w.len,
            data: Vec::with_capacity(usize::from(w.len)),
        });
        let room = usize::from(wip.len).saturating_sub(wip.data.len());
        let n = room.min(DMA_DATA_BYTES as usize);
        wip.data.extend_from_slice(&w.data.to_le_bytes()[..n]);
        if !w.last {
            return;
        }
        let Some(wip) = self.write.take() else {
            return;
        };
        self.stats.writes += 1;
        let malformed = wip.len == 0
            || u32::from(wip.len) > DMA_MAX_LEN
            || wip.data.len() != usize::from(wip.len)
            || n == 0;
        if malformed {
            self.stats.protocol_errors += 1;
            tracing::error!(
                addr = wip.addr,
                len = wip.len,
                got = wip.data.len(),
                "malformed DMA write (beat count does not match length)"
            );
        }
        if !bus_master {
            tracing::warn!(addr = wip.addr, "DMA write with bus master disabled");
        }
        let error = malformed || !bus_master || iommu().write(wip.addr, &wip.data).is_err();
        if error {
            self.stats.errors += 1;
        } else {
            self.stats.write_bytes += wip.data.len() as u64;
        }
        tracing::trace!(
            cycle = now,
            addr = format_args!("{:#x}", wip.addr),
            len = wip.len,
            error,
            "DMA write"
        );
        if self.cfg.log {
            self.log.push(DmaTxn::Write {
                cycle: now,
                addr: wip.addr,
                len: wip.len,
                error,
            });
        }
        self.responses.push_back((
            now + self.cfg.write_response_latency,
            DmaWriteResponse { error },
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iommu::page_size;
    use crate::iommu::tests::mapped_memory;
    use vm_memory::{Bytes, GuestAddress};

    /// A test stand-in for the engine side of the DMA ports: it offers
    /// queued requests and write beats and always takes completions.
    struct Requester {
        reads: VecDeque<DmaReadRequest>,
        writes: VecDeque<DmaWrite>,
        cpls: Vec<(Cycle, DmaReadCompletion)>,
        rsps: Vec<(Cycle, DmaWriteResponse)>,
    }

    impl Requester {
        fn new() -> Self {
            Requester {
                reads: VecDeque::new(),
                writes: VecDeque::new(),
                cpls: Vec::new(),
                rsps: Vec::new(),
            }
        }

        fn write(&mut self, addr: u64, bytes: &[u8]) {
            let chunks: Vec<&[u8]> = bytes.chunks(16).collect();
            for (i, c) in chunks.iter().enumerate() {
                let mut b = [0u8; 16];
                b[..c.len()].copy_from_slice(c);
                self.writes.push_back(DmaWrite {
                    addr,
                    len: bytes.len() as u16,
                    data: u128::from_le_bytes(b),
                    last: i + 1 == chunks.len(),
                });
            }
        }

        fn run(&mut self, dma: &mut DmaModel, iommu: &Iommu, cycles: u64, bus_master: bool) {
            for now in 0..cycles {
                let d = dma.drive(now);
                let mut f = DmaFired::default();
                if d.rd_req_ready {
                    f.rd_req = self.reads.pop_front();
                }
                if let Some(c) = d.rd_cpl {
                    self.cpls.push((now, c));
                    f.rd_cpl = true;
                }
                if d.wr_ready {
                    f.wr = self.writes.pop_front();
                }
                if let Some(r) = d.wr_rsp {
                    self.rsps.push((now, r));
                    f.wr_rsp = true;
                }
                dma.clock(now, f, || iommu, bus_master);
            }
        }

        fn data_of(&self, tag: u8) -> Vec<u8> {
            self.cpls
                .iter()
                .filter(|(_, c)| c.tag == tag)
                .flat_map(|(_, c)| c.data.to_le_bytes())
                .collect()
        }
    }

    fn no_jitter() -> DmaConfig {
        DmaConfig {
            read_jitter: 0,
            log: true,
            ..DmaConfig::default()
        }
    }

    #[test]
    fn read_returns_memory_after_the_configured_latency() {
        let (mem, iommu) = mapped_memory(1);
        let pattern: Vec<u8> = (0..40u8).collect();
        mem.write_slice(&pattern, GuestAddress(0x200)).unwrap();
        let mut dma = DmaModel::new(no_jitter());
        let mut r = Requester::new();
        r.reads.push_back(DmaReadRequest {
            tag: 3,
            addr: 0x200,
            len: 40,
        });
        r.run(&mut dma, &iommu, 200, true);
        // Accepted at cycle 0, fetched at 125, first beat offered at 125.
        assert_eq!(r.cpls.len(), 3);
        assert_eq!(r.cpls[0].0, 125);
        assert!(r.cpls[2].1.last && !r.cpls[1].1.last);
        assert_eq!(&r.data_of(3)[..40], &pattern[..]);
        assert_eq!(dma.stats().read_bytes, 40);
        assert!(dma.is_quiet());
    }

    #[test]
    fn read_of_unmapped_descriptor_address_gets_one_error_beat() {
        let (_mem, iommu) = mapped_memory(1);
        let mut dma = DmaModel::new(no_jitter());
        let mut r = Requester::new();
        r.reads.push_back(DmaReadRequest {
            tag: 1,
            addr: 0x4000_0000,
            len: 16,
        });
        r.run(&mut dma, &iommu, 200, true);
        assert_eq!(r.cpls.len(), 1);
        let c = r.cpls[0].1;
        assert!(c.error && c.last && c.data == 0 && c.tag == 1);
        assert_eq!(dma.stats().errors, 1);
        assert_eq!(iommu.faults(), 1);
    }

    #[test]
    fn mapping_removed_while_read_in_flight_gives_error_completion() {
        let (mem, mut iommu) = mapped_memory(1);
        mem.write_slice(&[0xAB; 16], GuestAddress(0)).unwrap();
        let mut dma = DmaModel::new(no_jitter());
        let mut r = Requester::new();
        r.reads.push_back(DmaReadRequest {
            tag: 0,
            addr: 0,
            len: 16,
        });
        r.run(&mut dma, &iommu, 10, true);
        assert!(r.cpls.is_empty(), "still in flight");
        iommu.unmap(0, page_size()).unwrap();
        // Keep clocking from where we were.
        for now in 10..200 {
            let d = dma.drive(now);
            let f = DmaFired {
                rd_cpl: d.rd_cpl.is_some(),
                ..DmaFired::default()
            };
            if let Some(c) = d.rd_cpl {
                r.cpls.push((now, c));
            }
            dma.clock(now, f, || &iommu, true);
        }
        assert_eq!(r.cpls.len(), 1);
        assert!(r.cpls[0].1.error);
        assert_eq!(r.cpls[0].1.data, 0, "no stale data after the unmap");
    }

    #[test]
    fn write_outside_mapping_writes_nothing_and_answers_error() {
        let (mem, iommu) = mapped_memory(1);
        let end = page_size();
        mem.write_slice(&[0x5A; 8], GuestAddress(end - 8)).unwrap();
        let mut dma = DmaModel::new(no_jitter());
        let mut r = Requester::new();
        r.write(end - 8, &[0xEE; 32]); // 8 bytes inside, 24 outside
        r.write(0x10, &[1, 2, 3]);
        r.run(&mut dma, &iommu, 20, true);
        assert_eq!(r.rsps.len(), 2);
        assert!(r.rsps[0].1.error);
        assert!(!r.rsps[1].1.error, "responses in order");
        let mut back = [0u8; 8];
        mem.read_slice(&mut back, GuestAddress(end - 8)).unwrap();
        assert_eq!(back, [0x5A; 8]);
        let mut ok = [0u8; 3];
        mem.read_slice(&mut ok, GuestAddress(0x10)).unwrap();
        assert_eq!(ok, [1, 2, 3]);
    }

    #[test]
    fn bus_master_disabled_fails_every_request_without_memory_access() {
        let (mem, iommu) = mapped_memory(1);
        let mut dma = DmaModel::new(no_jitter());
        let mut r = Requester::new();
        r.write(0x40, &[9; 16]);
        r.reads.push_back(DmaReadRequest {
            tag: 2,
            addr: 0,
            len: 8,
        });
        r.run(&mut dma, &iommu, 200, false);
        assert!(r.rsps[0].1.error);
        assert!(r.cpls[0].1.error);
        let mut back = [0u8; 16];
        mem.read_slice(&mut back, GuestAddress(0x40)).unwrap();
        assert_eq!(back, [0; 16]);
    }

    #[test]
    fn jitter_lets_tags_complete_out_of_order_deterministically() {
        let (_mem, iommu) = mapped_memory(1);
        let run = |seed| {
            let mut dma = DmaModel::new(DmaConfig {
                read_jitter: 64,
                seed,
                log: true,
                ..DmaConfig::default()
            });
            let mut r = Requester::new();
            for tag in 0..16 {
                r.reads.push_back(DmaReadRequest {
                    tag,
                    addr: u64::from(tag) * 64,
                    len: 64,
                });
            }
            r.run(&mut dma, &iommu, 400, true);
            dma.log().to_vec()
        };
        let done_order = |log: &[DmaTxn]| -> Vec<u8> {
            log.iter()
                .filter_map(|t| match t {
                    DmaTxn::ReadDone { tag, .. } => Some(*tag),
                    _ => None,
                })
                .collect()
        };
        let a = run(42);
        assert_eq!(a, run(42), "same seed, same transactions and cycles");
        let order = done_order(&a);
        assert_eq!(order.len(), 16);
        assert!(
            order.windows(2).any(|w| w[0] > w[1]),
            "some completion overtook an older tag: {order:?}"
        );
    }

    #[test]
    fn downstream_bandwidth_spaces_completion_beats() {
        let (_mem, iommu) = mapped_memory(1);
        let mut dma = DmaModel::new(DmaConfig {
            read_jitter: 0,
            downstream: Bandwidth {
                bytes: 8,
                per_cycles: 1,
            },
            ..DmaConfig::default()
        });
        let mut r = Requester::new();
        r.reads.push_back(DmaReadRequest {
            tag: 0,
            addr: 0,
            len: 64,
        });
        r.run(&mut dma, &iommu, 300, true);
        let cycles: Vec<Cycle> = r.cpls.iter().map(|c| c.0).collect();
        // 16-byte beats at 8 B/cycle: one every other cycle.
        assert_eq!(cycles, vec![125, 127, 129, 131]);
    }

    #[test]
    fn read_request_ready_drops_when_all_tags_are_outstanding() {
        let (_mem, iommu) = mapped_memory(1);
        let mut dma = DmaModel::new(DmaConfig {
            max_reads: 2,
            read_jitter: 0,
            ..DmaConfig::default()
        });
        for (now, tag) in [(0, 0u8), (1, 1)] {
            assert!(dma.drive(now).rd_req_ready);
            let f = DmaFired {
                rd_req: Some(DmaReadRequest {
                    tag,
                    addr: 0,
                    len: 4,
                }),
                ..DmaFired::default()
            };
            dma.clock(now, f, || &iommu, true);
        }
        assert!(!dma.drive(2).rd_req_ready);
    }

    #[test]
    fn reused_tag_is_counted_as_a_protocol_error() {
        let (_mem, iommu) = mapped_memory(1);
        let mut dma = DmaModel::new(no_jitter());
        let mut r = Requester::new();
        for _ in 0..2 {
            r.reads.push_back(DmaReadRequest {
                tag: 5,
                addr: 0,
                len: 4,
            });
        }
        r.run(&mut dma, &iommu, 10, true);
        assert_eq!(dma.stats().protocol_errors, 1);
    }
}
