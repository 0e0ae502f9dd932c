//! The block-storage model behind the engine's storage port: a RAM or file
//! image, with a configurable latency and completions that may overtake each
//! other across tags.
//!
//! - A read accepted at `t` is served at `t + latency + jitter`: its data is
//!   read from the image then and streamed as beats, then its completion.
//! - A write waits for its last data beat `d`, is applied at
//!   `d + latency + jitter`, then completes.
//! - A flush is served at `t + flush_latency`; on a file image it calls
//!   `fsync`, so every write completed before it is on disk.
//! - An access beyond the image, or an I/O error, completes with IOERR (a
//!   read then sends no data beats).
//!
//! Like the DMA model it is a Moore machine: outputs depend on state only.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;

use vfpga_abi::blk::{SECTOR_SIZE, status};
use vfpga_abi::ports::{
    BLK_TAG_BITS, BlkCommand, BlkCompletion, BlkData, BlkOp, STREAM_DATA_BYTES,
};

use crate::clock::Cycle;
use crate::error::SimError;
use crate::rng::SimRng;

/// Where the image's bytes live.
#[derive(Debug)]
pub enum Image {
    /// In memory (lost at exit).
    Ram(Vec<u8>),
    /// A file; flush calls `fsync` on it.
    File(File),
}

impl Image {
    /// A zeroed in-memory image of `bytes` (a multiple of 512).
    pub fn ram(bytes: u64) -> Result<Image, SimError> {
        if !bytes.is_multiple_of(SECTOR_SIZE) {
            return Err(SimError::StorageSize(bytes));
        }
        Ok(Image::Ram(vec![0; bytes as usize]))
    }

    /// Opens a file image read/write; its size must be a multiple of 512.
    pub fn open(path: &Path) -> Result<Image, SimError> {
        let err = |source| SimError::StorageImage {
            path: path.display().to_string(),
            source,
        };
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(err)?;
        let len = f.metadata().map_err(err)?.len();
        if !len.is_multiple_of(SECTOR_SIZE) {
            return Err(SimError::StorageSize(len));
        }
        Ok(Image::File(f))
    }

    /// Size in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Image::Ram(v) => v.len() as u64,
            Image::File(f) => f.metadata().map(|m| m.len()).unwrap_or(0),
        }
    }

    /// Whether the image has no sectors.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Capacity in 512-byte sectors.
    pub fn sectors(&self) -> u64 {
        self.len() / SECTOR_SIZE
    }

    fn read_at(&self, off: u64, buf: &mut [u8]) -> std::io::Result<()> {
        match self {
            Image::Ram(v) => {
                buf.copy_from_slice(&v[off as usize..off as usize + buf.len()]);
                Ok(())
            }
            Image::File(f) => f.read_exact_at(buf, off),
        }
    }

    fn write_at(&mut self, off: u64, buf: &[u8]) -> std::io::Result<()> {
        match self {
            Image::Ram(v) => {
                v[off as usize..off as usize + buf.len()].copy_from_slice(buf);
                Ok(())
            }
            Image::File(f) => f.write_all_at(buf, off),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Image::Ram(_) => Ok(()),
            Image::File(f) => f.sync_all(),
        }
    }
}

/// Timing of the storage model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageConfig {
    /// Cycles from command (read) or last data beat (write) to service
    /// (default 2500: 10 us at 250 MHz, a fast NVMe).
    pub latency: u64,
    /// Extra cycles per command in `0..=jitter`, so completions of different
    /// tags can come out of order.
    pub jitter: u64,
    /// Cycles from a flush command to its service.
    pub flush_latency: u64,
    /// Commands accepted before holding `ready` low.
    pub max_commands: usize,
    /// Seed of the jitter.
    pub seed: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            latency: 2500,
            jitter: 250,
            flush_latency: 2500,
            max_commands: 1 << BLK_TAG_BITS,
            seed: 0,
        }
    }
}

/// Counters of the storage model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StorageStats {
    /// Commands completed.
    pub commands: u64,
    /// Bytes read from the image.
    pub read_bytes: u64,
    /// Bytes written to the image.
    pub write_bytes: u64,
    /// Flushes completed (each an fsync on a file image).
    pub flushes: u64,
    /// Commands completed with IOERR.
    pub errors: u64,
}

/// What the storage drives towards the engine this cycle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StorageDrive {
    /// Ready on the command channel.
    pub cmd_ready: bool,
    /// Ready on the write-data channel.
    pub wdata_ready: bool,
    /// A read-data beat.
    pub rdata: Option<BlkData>,
    /// A completion.
    pub cpl: Option<BlkCompletion>,
}

/// Handshakes of this cycle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StorageFired {
    /// A command moved.
    pub cmd: Option<BlkCommand>,
    /// A write-data beat moved.
    pub wdata: Option<BlkData>,
    /// The offered read-data beat was taken.
    pub rdata: bool,
    /// The offered completion was taken.
    pub cpl: bool,
}

#[derive(Debug)]
struct Command {
    cmd: BlkCommand,
    /// Write data received so far.
    data: Vec<u8>,
    /// When it is served; `None` while a write still waits for data.
    due: Option<Cycle>,
    seq: u64,
}

/// The block device behind the engine's storage port.
#[derive(Debug)]
pub struct StorageModel {
    cfg: StorageConfig,
    image: Image,
    rng: SimRng,
    seq: u64,
    commands: Vec<Command>,
    /// Read data being streamed: tag, bytes, position.
    streaming: Option<(u8, Vec<u8>, usize)>,
    beat: Option<BlkData>,
    completions: VecDeque<BlkCompletion>,
    stats: StorageStats,
}

impl StorageModel {
    /// A storage device serving `image`.
    pub fn new(cfg: StorageConfig, image: Image) -> Self {
        StorageModel {
            rng: SimRng::new(cfg.seed),
            cfg,
            image,
            seq: 0,
            commands: Vec::new(),
            streaming: None,
            beat: None,
            completions: VecDeque::new(),
            stats: StorageStats::default(),
        }
    }

    /// The image (to inspect it after a run).
    pub fn image(&self) -> &Image {
        &self.image
    }

    /// Gives the image back (commands in flight are dropped).
    pub fn into_image(self) -> Image {
        self.image
    }

    /// Capacity in sectors.
    pub fn sectors(&self) -> u64 {
        self.image.sectors()
    }

    /// Counters so far.
    pub fn stats(&self) -> StorageStats {
        self.stats
    }

    /// No command outstanding.
    pub fn is_quiet(&self) -> bool {
        self.commands.is_empty()
            && self.streaming.is_none()
            && self.beat.is_none()
            && self.completions.is_empty()
    }

    /// Earliest cycle a waiting command is served.
    pub fn next_event(&self) -> Option<Cycle> {
        self.commands.iter().filter_map(|c| c.due).min()
    }

    /// The model's outputs this cycle.
    pub fn drive(&self) -> StorageDrive {
        StorageDrive {
            cmd_ready: self.commands.len() < self.cfg.max_commands,
            wdata_ready: true,
            rdata: self.beat,
            cpl: self.completions.front().copied(),
        }
    }

    /// One clock edge.
    pub fn clock(&mut self, now: Cycle, fired: StorageFired) {
        if let Some(cmd) = fired.cmd {
            self.accept(now, cmd);
        }
        if let Some(beat) = fired.wdata {
            self.write_beat(now, beat);
        }
        if fired.rdata
            && let Some(beat) = self.beat.take()
            && beat.last
        {
            // A read completes after its last data beat moved.
            self.completions.push_back(BlkCompletion {
                tag: beat.tag,
                status: status::OK,
            });
        }
        if fired.cpl {
            self.completions.pop_front();
        }
        self.serve_due(now + 1);
        self.next_beat();
    }

    fn accept(&mut self, now: Cycle, cmd: BlkCommand) {
        let jitter = self.rng.up_to(self.cfg.jitter);
        let due = match cmd.op {
            op if op == BlkOp::Write as u8 => None,
            op if op == BlkOp::Flush as u8 => Some(now + self.cfg.flush_latency + jitter),
            _ => Some(now + self.cfg.latency + jitter),
        };
        let write_len = if cmd.op == BlkOp::Write as u8 {
            cmd.len as usize
        } else {
            0
        };
        self.commands.push(Command {
            cmd,
            data: Vec::with_capacity(write_len.min(1 << 20)),
            due,
            seq: self.seq,
        });
        self.seq += 1;
    }

    fn write_beat(&mut self, now: Cycle, beat: BlkData) {
        let Some(c) = self
            .commands
            .iter_mut()
            .find(|c| c.cmd.tag == beat.tag && c.cmd.op == BlkOp::Write as u8 && c.due.is_none())
        else {
            tracing::error!(
                tag = beat.tag,
                "storage write data for no waiting write command"
            );
            return;
        };
        let room = (c.cmd.len as usize).saturating_sub(c.data.len());
        let n = room.min(STREAM_DATA_BYTES as usize);
        c.data.extend_from_slice(&beat.data.to_le_bytes()[..n]);
        if beat.last {
            c.due = Some(now + self.cfg.latency + self.rng.up_to(self.cfg.jitter));
        }
    }

    fn in_range(&self, cmd: &BlkCommand) -> bool {
        cmd.sector
            .checked_mul(SECTOR_SIZE)
            .and_then(|o| o.checked_add(u64::from(cmd.len)))
            .is_some_and(|end| end <= self.image.len())
            && u64::from(cmd.len).is_multiple_of(SECTOR_SIZE)
    }

    /// Serves every command due by `at`, earliest first. A read is served
    /// only when the read-data channel is free, so beats never interleave.
    fn serve_due(&mut self, at: Cycle) {
        loop {
            let Some(i) = self
                .commands
                .iter()
                .enumerate()
                .filter(|(_, c)| c.due.is_some_and(|d| d <= at))
                .filter(|(_, c)| c.cmd.op != BlkOp::Read as u8 || self.streaming.is_none())
                .min_by_key(|(_, c)| (c.due, c.seq))
                .map(|(i, _)| i)
            else {
                return;
            };
            let c = self.commands.swap_remove(i);
            let ok = self.serve(&c);
            if !ok {
                self.stats.errors += 1;
            }
            let status = if ok { status::OK } else { status::IOERR };
            let cpl = BlkCompletion {
                tag: c.cmd.tag,
                status,
            };
            self.stats.commands += 1;
            match &mut self.streaming {
                // A read's completion follows its last data beat.
                Some((tag, _, _)) if *tag == c.cmd.tag && ok => {}
                _ => self.completions.push_back(cpl),
            }
        }
    }

    fn serve(&mut self, c: &Command) -> bool {
        let off = c.cmd.sector.wrapping_mul(SECTOR_SIZE);
        match c.cmd.op {
            op if op == BlkOp::Read as u8 => {
                if !self.in_range(&c.cmd) {
                    return false;
                }
                let mut buf = vec![0u8; c.cmd.len as usize];
                if let Err(e) = self.image.read_at(off, &mut buf) {
                    tracing::error!(%e, "storage read");
                    return false;
                }
                self.stats.read_bytes += buf.len() as u64;
                if buf.is_empty() {
                    return true;
                }
                self.streaming = Some((c.cmd.tag, buf, 0));
                true
            }
            op if op == BlkOp::Write as u8 => {
                if !self.in_range(&c.cmd) || c.data.len() != c.cmd.len as usize {
                    return false;
                }
                if let Err(e) = self.image.write_at(off, &c.data) {
                    tracing::error!(%e, "storage write");
                    return false;
                }
                self.stats.write_bytes += c.data.len() as u64;
                true
            }
            op if op == BlkOp::Flush as u8 => {
                self.stats.flushes += 1;
                match self.image.flush() {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::error!(%e, "storage flush");
                        false
                    }
                }
            }
            op => {
                tracing::error!(op, "unknown storage operation");
                false
            }
        }
    }

    fn next_beat(&mut self) {
        if self.beat.is_some() {
            return;
        }
        let Some((tag, data, pos)) = self.streaming.as_mut() else {
            return;
        };
        let n = (data.len() - *pos).min(STREAM_DATA_BYTES as usize);
        let mut b = [0u8; 16];
        b[..n].copy_from_slice(&data[*pos..*pos + n]);
        *pos += n;
        let last = *pos == data.len();
        self.beat = Some(BlkData {
            tag: *tag,
            data: u128::from_le_bytes(b),
            last,
        });
        if last {
            self.streaming = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The engine side of the storage port, for tests: offers queued
    /// commands and write beats, takes everything offered.
    #[derive(Default)]
    struct Host {
        cmds: VecDeque<BlkCommand>,
        wdata: VecDeque<BlkData>,
        rdata: Vec<(Cycle, BlkData)>,
        cpls: Vec<(Cycle, BlkCompletion)>,
    }

    impl Host {
        fn write(&mut self, tag: u8, sector: u64, bytes: &[u8]) {
            self.cmds.push_back(BlkCommand {
                tag,
                op: BlkOp::Write as u8,
                sector,
                len: bytes.len() as u32,
            });
            let n = bytes.len().div_ceil(16);
            for (i, c) in bytes.chunks(16).enumerate() {
                let mut b = [0u8; 16];
                b[..c.len()].copy_from_slice(c);
                self.wdata.push_back(BlkData {
                    tag,
                    data: u128::from_le_bytes(b),
                    last: i + 1 == n,
                });
            }
        }

        fn cmd(&mut self, tag: u8, op: BlkOp, sector: u64, len: u32) {
            self.cmds.push_back(BlkCommand {
                tag,
                op: op as u8,
                sector,
                len,
            });
        }

        fn run(&mut self, s: &mut StorageModel, from: Cycle, to: Cycle) {
            for now in from..to {
                let d = s.drive();
                let mut f = StorageFired::default();
                if d.cmd_ready {
                    f.cmd = self.cmds.pop_front();
                }
                if d.wdata_ready && f.cmd.is_none() {
                    f.wdata = self.wdata.pop_front();
                }
                if let Some(b) = d.rdata {
                    self.rdata.push((now, b));
                    f.rdata = true;
                }
                if let Some(c) = d.cpl {
                    self.cpls.push((now, c));
                    f.cpl = true;
                }
                s.clock(now, f);
            }
        }
    }

    fn fixed(latency: u64) -> StorageConfig {
        StorageConfig {
            latency,
            jitter: 0,
            flush_latency: latency,
            ..StorageConfig::default()
        }
    }

    #[test]
    fn write_then_read_returns_the_data_after_the_latency() {
        let mut s = StorageModel::new(fixed(100), Image::ram(8 * 512).unwrap());
        let mut h = Host::default();
        let data: Vec<u8> = (0..1024u32).map(|i| (i * 7) as u8).collect();
        h.write(1, 2, &data);
        h.run(&mut s, 0, 400);
        assert_eq!(h.cpls.len(), 1);
        assert_eq!(h.cpls[0].1.status, status::OK);
        h.cmd(2, BlkOp::Read, 2, 1024);
        h.run(&mut s, 400, 800);
        let got: Vec<u8> = h
            .rdata
            .iter()
            .flat_map(|(_, b)| b.data.to_le_bytes())
            .collect();
        assert_eq!(got, data);
        let first = h.rdata[0].0;
        assert!(first >= 400 + 100, "read served after its latency");
        let rc = h.cpls[1];
        assert_eq!(
            rc.1,
            BlkCompletion {
                tag: 2,
                status: status::OK
            }
        );
        assert!(
            rc.0 > h.rdata.last().unwrap().0,
            "completion after the last beat"
        );
        assert!(s.is_quiet());
    }

    #[test]
    fn read_beyond_capacity_completes_with_ioerr_and_no_data() {
        let mut s = StorageModel::new(fixed(10), Image::ram(4 * 512).unwrap());
        let mut h = Host::default();
        h.cmd(0, BlkOp::Read, 3, 1024);
        h.run(&mut s, 0, 100);
        assert!(h.rdata.is_empty());
        assert_eq!(h.cpls[0].1.status, status::IOERR);
        assert_eq!(s.stats().errors, 1);
    }

    #[test]
    fn completions_of_different_tags_come_out_of_order_with_jitter() {
        let mut s = StorageModel::new(
            StorageConfig {
                latency: 100,
                jitter: 500,
                seed: 9,
                ..StorageConfig::default()
            },
            Image::ram(64 * 512).unwrap(),
        );
        let mut h = Host::default();
        for tag in 0..16 {
            h.cmd(tag, BlkOp::Read, u64::from(tag), 512);
        }
        h.run(&mut s, 0, 2000);
        let order: Vec<u8> = h.cpls.iter().map(|c| c.1.tag).collect();
        assert_eq!(order.len(), 16);
        assert!(order.windows(2).any(|w| w[0] > w[1]), "{order:?}");
        // Beats of one read are contiguous: the tag changes only after `last`.
        for w in h.rdata.windows(2) {
            if w[0].1.tag != w[1].1.tag {
                assert!(w[0].1.last);
            }
        }
    }

    #[test]
    fn flush_reaches_the_file() {
        let path = std::env::temp_dir().join(format!("vfpga-sim-flush-{}.img", std::process::id()));
        std::fs::write(&path, vec![0u8; 4096]).unwrap();
        let mut s = StorageModel::new(fixed(5), Image::open(&path).unwrap());
        let mut h = Host::default();
        h.write(3, 1, &[0xC3; 512]);
        h.run(&mut s, 0, 50);
        h.cmd(4, BlkOp::Flush, 0, 0);
        h.run(&mut s, 50, 100);
        assert_eq!(h.cpls.len(), 2);
        assert!(h.cpls.iter().all(|c| c.1.status == status::OK));
        assert_eq!(s.stats().flushes, 1);
        let on_disk = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(&on_disk[512..1024], &[0xC3; 512][..]);
        assert_eq!(&on_disk[..512], &[0; 512][..]);
    }

    #[test]
    fn image_sizes_must_be_whole_sectors() {
        assert!(matches!(Image::ram(1000), Err(SimError::StorageSize(1000))));
        assert_eq!(Image::ram(2048).unwrap().sectors(), 4);
    }
}
