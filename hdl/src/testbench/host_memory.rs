//! Host memory behind the engine's DMA ports.
//!
//! Only mapped ranges are reachable: a read outside them gets an error
//! completion, a write outside them an error response (and writes nothing),
//! like an IOMMU fault. Reads complete after a configurable latency, in any
//! order across tags and with beats of different tags interleaved; posted
//! writes apply in order. The model checks the port rules on the way
//! (lengths, 4 KiB boundaries, tags, beat counts) and logs every access.

use crate::testbench::ports::DmaPorts;
use crate::testbench::rng::XorShift;
use rust_hdl::prelude::*;
use std::collections::VecDeque;

const BEAT: u64 = vfpga_abi::ports::DMA_DATA_BYTES as u64;

/// One logged read request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadRecord {
    /// Cycle the request was accepted.
    pub cycle: u64,
    /// Tag.
    pub tag: u8,
    /// Address.
    pub addr: u64,
    /// Length.
    pub len: u16,
    /// It hit an unmapped address.
    pub error: bool,
}

/// One logged posted write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteRecord {
    /// Cycle the first beat was accepted.
    pub cycle: u64,
    /// Address.
    pub addr: u64,
    /// Bytes written.
    pub data: Vec<u8>,
    /// It hit an unmapped address (nothing written).
    pub error: bool,
}

#[derive(Debug)]
struct PendingRead {
    tag: u8,
    ready_at: u64,
    beats: VecDeque<(u128, bool, bool)>,
}

#[derive(Debug)]
struct Region {
    base: u64,
    data: Vec<u8>,
}

/// Host memory and the DMA completer in front of it.
#[derive(Debug)]
pub struct HostMemory {
    regions: Vec<Region>,
    rng: XorShift,
    /// Cycles from a read request to its first completion beat.
    pub latency: u64,
    /// Extra random cycles (0..jitter) per read, which reorders completions.
    pub jitter: u64,
    /// Percentage of cycles the request / write channels are ready.
    pub ready_pct: u32,
    /// Percentage of cycles a completion beat is offered when one is due.
    pub cpl_pct: u32,
    /// Cycles from the end of a write to its response.
    pub wr_rsp_latency: u64,
    pending: Vec<PendingRead>,
    presenting: Option<usize>,
    in_flight_tags: Vec<u8>,
    wr_cur: Option<(u64, u16, u64, Vec<u8>)>,
    wr_rsp: VecDeque<(u64, bool)>,
    rsp_presenting: bool,
    req_ready: bool,
    wr_ready: bool,
    /// Every read request, in order.
    pub reads: Vec<ReadRecord>,
    /// Every posted write, in order.
    pub writes: Vec<WriteRecord>,
    /// Most read requests in flight at once.
    pub max_reads_in_flight: usize,
    /// Cycles a write data beat moved.
    pub write_beats: u64,
    /// Cycles a read completion beat moved.
    pub read_beats: u64,
}

impl HostMemory {
    /// Empty memory; `seed` drives stalls and completion order.
    pub fn new(seed: u64) -> Self {
        HostMemory {
            regions: Vec::new(),
            rng: XorShift::new(seed),
            latency: 125,
            jitter: 0,
            ready_pct: 100,
            cpl_pct: 100,
            wr_rsp_latency: 60,
            pending: Vec::new(),
            presenting: None,
            in_flight_tags: Vec::new(),
            wr_cur: None,
            wr_rsp: VecDeque::new(),
            rsp_presenting: false,
            req_ready: true,
            wr_ready: true,
            reads: Vec::new(),
            writes: Vec::new(),
            max_reads_in_flight: 0,
            write_beats: 0,
            read_beats: 0,
        }
    }

    /// Makes `[base, base + len)` reachable (zero-filled).
    pub fn map(&mut self, base: u64, len: usize) {
        assert!(
            !self
                .regions
                .iter()
                .any(|r| base < r.base + r.data.len() as u64 && r.base < base + len as u64),
            "overlapping mapping at {base:#x}"
        );
        self.regions.push(Region {
            base,
            data: vec![0; len],
        });
    }

    fn region(&self, addr: u64, len: usize) -> Option<(usize, usize)> {
        self.regions.iter().enumerate().find_map(|(i, r)| {
            (addr >= r.base && addr + len as u64 <= r.base + r.data.len() as u64)
                .then(|| (i, (addr - r.base) as usize))
        })
    }

    /// Whether the whole range is mapped.
    pub fn is_mapped(&self, addr: u64, len: usize) -> bool {
        self.region(addr, len).is_some()
    }

    /// Test-side write (panics when unmapped).
    pub fn write(&mut self, addr: u64, bytes: &[u8]) {
        let (i, off) = self
            .region(addr, bytes.len())
            .expect("test write to unmapped memory");
        self.regions[i].data[off..off + bytes.len()].copy_from_slice(bytes);
    }

    /// Test-side read (panics when unmapped).
    pub fn read(&self, addr: u64, len: usize) -> Vec<u8> {
        let (i, off) = self
            .region(addr, len)
            .expect("test read of unmapped memory");
        self.regions[i].data[off..off + len].to_vec()
    }

    /// Little-endian u16 at `addr`.
    pub fn read_u16(&self, addr: u64) -> u16 {
        u16::from_le_bytes(self.read(addr, 2).try_into().unwrap())
    }

    /// Little-endian u32 at `addr`.
    pub fn read_u32(&self, addr: u64) -> u32 {
        u32::from_le_bytes(self.read(addr, 4).try_into().unwrap())
    }

    /// Stores a little-endian u16.
    pub fn write_u16(&mut self, addr: u64, v: u16) {
        self.write(addr, &v.to_le_bytes());
    }

    /// Stores a little-endian u32.
    pub fn write_u32(&mut self, addr: u64, v: u32) {
        self.write(addr, &v.to_le_bytes());
    }

    /// Stores a little-endian u64.
    pub fn write_u64(&mut self, addr: u64, v: u64) {
        self.write(addr, &v.to_le_bytes());
    }

    /// Every mapped byte, for before/after comparisons.
    pub fn snapshot(&self) -> Vec<(u64, Vec<u8>)> {
        self.regions
            .iter()
            .map(|r| (r.base, r.data.clone()))
            .collect()
    }

    /// Read requests accepted and not yet completed.
    pub fn reads_in_flight(&self) -> usize {
        self.in_flight_tags.len()
    }

    /// Writes not yet acknowledged (including one being received).
    pub fn writes_in_flight(&self) -> usize {
        self.wr_rsp.len() + usize::from(self.wr_cur.is_some())
    }

    /// Sets the engine's DMA inputs for this cycle.
    pub fn drive(&mut self, e: &mut impl DmaPorts, now: u64) {
        self.req_ready = self.rng.chance(self.ready_pct);
        self.wr_ready = self.rng.chance(self.ready_pct);
        e.dma_rd_req_ready().next = self.req_ready;
        e.dma_wr_ready().next = self.wr_ready;
        // Keep offering the same beat until it is taken; otherwise pick any
        // due request, so tags interleave beat by beat.
        if self.presenting.is_none() && self.rng.chance(self.cpl_pct) {
            let due: Vec<usize> = (0..self.pending.len())
                .filter(|&i| self.pending[i].ready_at <= now)
                .collect();
            if !due.is_empty() {
                self.presenting = Some(due[self.rng.below(due.len() as u64) as usize]);
            }
        }
        match self.presenting {
            Some(i) => {
                let p = &self.pending[i];
                let (data, last, error) = p.beats[0];
                e.dma_rd_cpl_valid().next = true;
                e.dma_rd_cpl_tag().next = (p.tag as u64).into();
                e.dma_rd_cpl_data().next = data.to_bits();
                e.dma_rd_cpl_last().next = last;
                e.dma_rd_cpl_error().next = error;
            }
            None => {
                e.dma_rd_cpl_valid().next = false;
                e.dma_rd_cpl_last().next = false;
                e.dma_rd_cpl_error().next = false;
            }
        }
        self.rsp_presenting = matches!(self.wr_rsp.front(), Some(&(t, _)) if t <= now);
        e.dma_wr_rsp_valid().next = self.rsp_presenting;
        e.dma_wr_rsp_error().next = self.wr_rsp.front().map(|r| r.1).unwrap_or(false);
    }

    /// Samples the handshakes of this cycle (after the engine settled).
    pub fn observe(&mut self, e: &impl DmaPorts, now: u64) {
        if e.dma_rd_req_valid().val() && self.req_ready {
            let tag = e.dma_rd_req_tag().val().to_u64() as u8;
            let addr = e.dma_rd_req_addr().val().to_u64();
            let len = e.dma_rd_req_len().val().to_u64() as u16;
            assert!(
                (1..=vfpga_abi::ports::DMA_MAX_LEN as u16).contains(&len),
                "read length {len}"
            );
            assert!(
                addr / 4096 == (addr + len as u64 - 1) / 4096,
                "read {addr:#x}+{len} crosses 4 KiB"
            );
            assert!(
                !self.in_flight_tags.contains(&tag),
                "tag {tag} reused while in flight"
            );
            self.in_flight_tags.push(tag);
            self.max_reads_in_flight = self.max_reads_in_flight.max(self.in_flight_tags.len());
            let mut beats = VecDeque::new();
            let error = !self.is_mapped(addr, len as usize);
            if error {
                beats.push_back((0, true, true));
            } else {
                let bytes = self.read(addr, len as usize);
                for (n, chunk) in bytes.chunks(BEAT as usize).enumerate() {
                    // Bytes past the request are garbage the engine must ignore.
                    let mut b = [0xa5u8; 16];
                    b[..chunk.len()].copy_from_slice(chunk);
                    let last = (n + 1) * BEAT as usize >= len as usize;
                    beats.push_back((u128::from_le_bytes(b), last, false));
                }
            }
            let jitter = if self.jitter > 0 {
                self.rng.below(self.jitter)
            } else {
                0
            };
            self.pending.push(PendingRead {
                tag,
                ready_at: now + self.latency + jitter,
                beats,
            });
            self.reads.push(ReadRecord {
                cycle: now,
                tag,
                addr,
                len,
                error,
            });
        }
        if let Some(i) = self.presenting
            && e.dma_rd_cpl_ready().val()
        {
            self.read_beats += 1;
            let p = &mut self.pending[i];
            let (_, last, _) = p.beats.pop_front().unwrap();
            if last {
                let tag = p.tag;
                self.pending.remove(i);
                self.in_flight_tags.retain(|&t| t != tag);
            }
            self.presenting = None;
        }
        if e.dma_wr_valid().val() && self.wr_ready {
            self.write_beats += 1;
            let addr = e.dma_wr_addr().val().to_u64();
            let len = e.dma_wr_len().val().to_u64() as u16;
            let data = e.dma_wr_data().val().to_u128().to_le_bytes();
            let last = e.dma_wr_last().val();
            let cur = self
                .wr_cur
                .get_or_insert_with(|| (addr, len, now, Vec::new()));
            assert_eq!(
                (cur.0, cur.1),
                (addr, len),
                "address/length changed within a write"
            );
            let want = (len as usize - cur.3.len()).min(BEAT as usize);
            cur.3.extend_from_slice(&data[..want]);
            assert_eq!(
                last,
                cur.3.len() == len as usize,
                "write {addr:#x}+{len}: last beat misplaced"
            );
            if last {
                let (addr, len, cycle, bytes) = self.wr_cur.take().unwrap();
                assert!(
                    (1..=vfpga_abi::ports::DMA_MAX_LEN as u16).contains(&len),
                    "write length {len}"
                );
                assert!(
                    addr / 4096 == (addr + len as u64 - 1) / 4096,
                    "write {addr:#x}+{len} crosses 4 KiB"
                );
                let error = !self.is_mapped(addr, len as usize);
                if !error {
                    self.write(addr, &bytes);
                }
                self.writes.push(WriteRecord {
                    cycle,
                    addr,
                    data: bytes,
                    error,
                });
                self.wr_rsp.push_back((now + self.wr_rsp_latency, error));
            }
        }
        if self.rsp_presenting && e.dma_wr_rsp_ready().val() {
            self.wr_rsp.pop_front();
        }
    }
}
