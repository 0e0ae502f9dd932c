//! Block storage behind the engine's storage port: a RAM disk with its own
//! latency that completes commands in any order across tags. Reads stream
//! their data, then complete; writes complete after their last data beat.

use crate::testbench::ports::StoragePorts;
use crate::testbench::rng::XorShift;
use rust_hdl::prelude::*;
use std::collections::{HashMap, VecDeque};
use vfpga_abi::blk::{SECTOR_SIZE, status};

/// One logged storage command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CmdRecord {
    /// Cycle accepted.
    pub cycle: u64,
    /// Tag.
    pub tag: u8,
    /// BlkOp value.
    pub op: u8,
    /// First sector.
    pub sector: u64,
    /// Bytes.
    pub len: u32,
}

#[derive(Debug)]
struct ReadJob {
    tag: u8,
    ready_at: u64,
    beats: VecDeque<u128>,
}

/// RAM disk and its command/data/completion channels.
#[derive(Debug)]
pub struct Storage {
    /// The disk's bytes.
    pub disk: Vec<u8>,
    rng: XorShift,
    /// Cycles from a command to its data / completion.
    pub latency: u64,
    /// Extra random cycles per command (reorders completions).
    pub jitter: u64,
    /// Percentage of cycles each channel is ready / offers a beat.
    pub ready_pct: u32,
    /// Sectors whose reads and writes complete with IOERR.
    pub bad_sectors: Vec<u64>,
    reads: Vec<ReadJob>,
    rd_presenting: Option<usize>,
    writes: HashMap<u8, (CmdRecord, Vec<u8>)>,
    cpls: Vec<(u64, u8, u8)>,
    cpl_presenting: Option<usize>,
    cmd_ready: bool,
    wr_ready: bool,
    outstanding: Vec<u8>,
    /// Every command, in order.
    pub log: Vec<CmdRecord>,
    /// Flushes completed.
    pub flushes: u64,
}

impl Storage {
    /// A zeroed disk of `sectors` sectors.
    pub fn new(sectors: u64, seed: u64) -> Self {
        Storage {
            disk: vec![0; (sectors * SECTOR_SIZE) as usize],
            rng: XorShift::new(seed),
            latency: 40,
            jitter: 0,
            ready_pct: 100,
            bad_sectors: Vec::new(),
            reads: Vec::new(),
            rd_presenting: None,
            writes: HashMap::new(),
            cpls: Vec::new(),
            cpl_presenting: None,
            cmd_ready: true,
            wr_ready: true,
            outstanding: Vec::new(),
            log: Vec::new(),
            flushes: 0,
        }
    }

    /// Commands accepted and not completed.
    pub fn outstanding(&self) -> usize {
        self.outstanding.len()
    }

    fn status_for(&self, sector: u64, len: u32) -> u8 {
        let end = sector + (len as u64).div_ceil(SECTOR_SIZE);
        if self.bad_sectors.iter().any(|&s| s >= sector && s < end) {
            status::IOERR
        } else {
            status::OK
        }
    }

    fn pick(&mut self, due: Vec<usize>) -> Option<usize> {
        (!due.is_empty()).then(|| due[self.rng.below(due.len() as u64) as usize])
    }

    /// Sets the engine's storage inputs for this cycle.
    pub fn drive(&mut self, e: &mut impl StoragePorts, now: u64) {
        self.cmd_ready = self.rng.chance(self.ready_pct);
        self.wr_ready = self.rng.chance(self.ready_pct);
        e.blk_cmd_ready().next = self.cmd_ready;
        e.blk_wr_ready().next = self.wr_ready;
        if self.rd_presenting.is_none() && self.rng.chance(self.ready_pct) {
            let due = (0..self.reads.len())
                .filter(|&i| self.reads[i].ready_at <= now)
                .collect();
            self.rd_presenting = self.pick(due);
        }
        match self.rd_presenting {
            Some(i) => {
                let j = &self.reads[i];
                e.blk_rd_valid().next = true;
                e.blk_rd_tag().next = (j.tag as u64).into();
                e.blk_rd_data().next = j.beats[0].to_bits();
                e.blk_rd_last().next = j.beats.len() == 1;
            }
            None => e.blk_rd_valid().next = false,
        }
        if self.cpl_presenting.is_none() && self.rng.chance(self.ready_pct) {
            let due = (0..self.cpls.len())
                .filter(|&i| self.cpls[i].0 <= now)
                .collect();
            self.cpl_presenting = self.pick(due);
        }
        match self.cpl_presenting {
            Some(i) => {
                e.blk_cpl_valid().next = true;
                e.blk_cpl_tag().next = (self.cpls[i].1 as u64).into();
                e.blk_cpl_status().next = (self.cpls[i].2 as u64).into();
            }
            None => e.blk_cpl_valid().next = false,
        }
    }

    /// Samples this cycle's handshakes.
    pub fn observe(&mut self, e: &impl StoragePorts, now: u64) {
        let delay = |s: &mut Self| {
            s.latency
                + if s.jitter > 0 {
                    s.rng.below(s.jitter)
                } else {
                    0
                }
        };
        if e.blk_cmd_valid().val() && self.cmd_ready {
            let rec = CmdRecord {
                cycle: now,
                tag: e.blk_cmd_tag().val().to_u64() as u8,
                op: e.blk_cmd_op().val().to_u64() as u8,
                sector: e.blk_cmd_sector().val().to_u64(),
                len: e.blk_cmd_len().val().to_u64() as u32,
            };
            assert!(
                !self.outstanding.contains(&rec.tag),
                "storage tag {} reused",
                rec.tag
            );
            self.outstanding.push(rec.tag);
            self.log.push(rec);
            let d = delay(self);
            match rec.op {
                0 | 1 => {
                    assert!(
                        rec.len > 0 && (rec.len as u64).is_multiple_of(SECTOR_SIZE),
                        "storage length {}",
                        rec.len
                    );
                    let end = rec.sector * SECTOR_SIZE + rec.len as u64;
                    assert!(
                        end <= self.disk.len() as u64,
                        "storage access past the disk"
                    );
                    if rec.op == 0 {
                        let start = (rec.sector * SECTOR_SIZE) as usize;
                        let beats = self.disk[start..start + rec.len as usize]
                            .chunks(16)
                            .map(|c| u128::from_le_bytes(c.try_into().unwrap()))
                            .collect();
                        self.reads.push(ReadJob {
                            tag: rec.tag,
                            ready_at: now + d,
                            beats,
                        });
                    } else {
                        self.writes.insert(rec.tag, (rec, Vec::new()));
                    }
                }
                2 => {
                    self.flushes += 1;
                    self.cpls.push((now + d, rec.tag, status::OK));
                }
                op => panic!("storage op {op}"),
            }
        }
        if e.blk_wr_valid().val() && self.wr_ready {
            let tag = e.blk_wr_tag().val().to_u64() as u8;
            let (rec, buf) = self
                .writes
                .get_mut(&tag)
                .expect("write data without a write command");
            buf.extend_from_slice(&e.blk_wr_data().val().to_u128().to_le_bytes());
            let done = buf.len() as u32 >= rec.len;
            assert_eq!(
                e.blk_wr_last().val(),
                done,
                "storage write: last beat misplaced"
            );
            if done {
                let (rec, buf) = self.writes.remove(&tag).unwrap();
                let st = self.status_for(rec.sector, rec.len);
                if st == status::OK {
                    let start = (rec.sector * SECTOR_SIZE) as usize;
                    self.disk[start..start + rec.len as usize].copy_from_slice(&buf);
                }
                let d = delay(self);
                self.cpls.push((now + d, tag, st));
            }
        }
        if let Some(i) = self.rd_presenting
            && e.blk_rd_ready().val()
        {
            self.reads[i].beats.pop_front();
            if self.reads[i].beats.is_empty() {
                let j = self.reads.remove(i);
                let rec = *self.log.iter().rev().find(|r| r.tag == j.tag).unwrap();
                let st = self.status_for(rec.sector, rec.len);
                self.cpls.push((now + 1, j.tag, st));
            }
            self.rd_presenting = None;
        }
        if let Some(i) = self.cpl_presenting
            && e.blk_cpl_ready().val()
        {
            let (_, tag, _) = self.cpls.remove(i);
            self.outstanding.retain(|&t| t != tag);
            self.cpl_presenting = None;
        }
    }
}
