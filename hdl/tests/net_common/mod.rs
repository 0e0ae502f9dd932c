//! Shared helpers of the net engine tests: rings in the host memory model,
//! frames, TX chains split at random, RX buffers, and reading frames back
//! out of the used ring.

#![allow(dead_code)]

use vfpga_abi::mgmt::net as regs;
use vfpga_abi::net::HDR_LEN;
use vfpga_hdl::testbench::net_bench::{NetBench, NetBenchConfig};
use vfpga_hdl::testbench::{Buffer, SplitQueue, XorShift};

/// The RX queue's ring base.
pub const RX_RING: u64 = 0x1_0000;
/// The TX queue's ring base.
pub const TX_RING: u64 = 0x2_0000;
/// Data buffers live here.
pub const DATA: u64 = 0x10_0000;
/// Size of the data region.
pub const DATA_LEN: usize = 0x40_0000;
/// The device's MAC address in the tests.
pub const MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

/// A bench with both queues attached (RX vector 0, TX vector 1).
pub struct Net {
    pub b: NetBench,
    pub rxq: SplitQueue,
    pub txq: SplitQueue,
    pub rng: XorShift,
    next_data: u64,
    /// Used elements of each queue already checked.
    pub rx_seen: u16,
    pub tx_seen: u16,
    /// Descriptors handed out per queue (the tests never recycle them).
    descs: [u32; 2],
}

impl Net {
    pub fn new(cfg: NetBenchConfig, qsize: u16) -> Self {
        let mut b = NetBench::new(cfg);
        let rxq = SplitQueue::new(&mut b.mem, RX_RING, qsize);
        let txq = SplitQueue::new(&mut b.mem, TX_RING, qsize);
        b.mem.map(DATA, DATA_LEN);
        b.attach(0, &rxq, 0);
        b.attach(1, &txq, 1);
        Net {
            b,
            rxq,
            txq,
            rng: XorShift::new(cfg.seed ^ 0x7777),
            next_data: DATA,
            rx_seen: 0,
            tx_seen: 0,
            descs: [0; 2],
        }
    }

    /// Programs the primary MAC and the RX mode (`vfpga_abi::mgmt::net`).
    pub fn program(&mut self, mac: [u8; 6], mode: u32) {
        self.b.reg_write(
            regs::MAC_LO,
            u32::from_le_bytes(mac[..4].try_into().unwrap()),
        );
        self.b
            .reg_write(regs::MAC_HI, u16::from_le_bytes([mac[4], mac[5]]) as u32);
        self.b.reg_write(regs::RX_MODE, mode);
        self.b.run(4);
    }

    /// Writes MAC table entry `i`.
    pub fn table_entry(&mut self, i: u32, mac: [u8; 6], valid: bool) {
        self.b.reg_write(regs::FILTER_SEL, i);
        self.b.reg_write(
            regs::FILTER_LO,
            u32::from_le_bytes(mac[..4].try_into().unwrap()),
        );
        let hi = u16::from_le_bytes([mac[4], mac[5]]) as u32;
        self.b.reg_write(
            regs::FILTER_HI,
            hi | if valid { regs::FILTER_VALID } else { 0 },
        );
        self.b.run(4);
    }

    /// Counts `n` more descriptors of queue `q`: the tests lay chains out
    /// once, so more than the queue size would overwrite live ones.
    pub fn use_descs(&mut self, q: usize, n: usize) {
        self.descs[q] += n as u32;
        let size = if q == 0 { self.rxq.size } else { self.txq.size };
        assert!(
            self.descs[q] <= size as u32,
            "test lays out more descriptors than queue {q} has"
        );
    }

    /// `len` bytes of data space, at a random misalignment (may cross 4 KiB).
    pub fn alloc(&mut self, len: u64) -> u64 {
        let a = self.next_data + self.rng.below(61);
        self.next_data = a + len;
        assert!(self.next_data < DATA + DATA_LEN as u64, "data region full");
        a
    }

    /// `len` bytes (at most 4 KiB) that do not cross a 4 KiB page: the
    /// next free space, or the start of the next page.
    pub fn alloc_in_page(&mut self, len: u64) -> u64 {
        assert!(len <= 4096);
        let mut a = self.next_data;
        if a / 4096 != (a + len - 1) / 4096 {
            a = (a + 4095) & !4095;
        }
        self.next_data = a + len;
        assert!(self.next_data < DATA + DATA_LEN as u64, "data region full");
        a
    }

    /// Puts `hdr + frame` in one buffer within a page and makes it
    /// available (no kick).
    pub fn post_tx_in_page(&mut self, frame: &[u8]) -> u16 {
        let mut bytes = vec![0u8; HDR_LEN as usize];
        bytes.extend_from_slice(frame);
        let a = self.alloc_in_page(bytes.len() as u64);
        self.b.mem.write(a, &bytes);
        self.use_descs(1, 1);
        let head = self
            .txq
            .add_chain(&mut self.b.mem, &[Buffer::r(a, bytes.len() as u32)]);
        self.txq.make_available(&mut self.b.mem, head);
        head
    }

    /// Puts `hdr + frame` in memory, split into 1..=`max_parts` readable
    /// descriptors at random, and makes the chain available (no kick).
    pub fn post_tx(&mut self, frame: &[u8], max_parts: u64) -> u16 {
        let mut bytes = vec![0u8; HDR_LEN as usize];
        bytes.extend_from_slice(frame);
        let parts = 1 + self.rng.below(max_parts);
        let mut cuts: Vec<usize> = (1..parts)
            .map(|_| 1 + self.rng.below(bytes.len() as u64 - 1) as usize)
            .collect();
        cuts.push(0);
        cuts.push(bytes.len());
        cuts.sort_unstable();
        cuts.dedup();
        let mut bufs = Vec::new();
        for w in cuts.windows(2) {
            let piece = &bytes[w[0]..w[1]];
            let a = self.alloc(piece.len() as u64);
            self.b.mem.write(a, piece);
            bufs.push(Buffer::r(a, piece.len() as u32));
        }
        self.use_descs(1, bufs.len());
        let head = self.txq.add_chain(&mut self.b.mem, &bufs);
        self.txq.make_available(&mut self.b.mem, head);
        head
    }

    /// Posts one RX buffer of `len` bytes split into 1..=`max_parts`
    /// writable descriptors (no kick). Returns its head.
    pub fn post_rx(&mut self, len: u32, max_parts: u64) -> u16 {
        let parts = (1 + self.rng.below(max_parts)).min(len as u64);
        let mut sizes = vec![len / parts as u32; parts as usize];
        sizes[0] += len % parts as u32;
        let mut bufs = Vec::new();
        for s in sizes {
            let a = self.alloc(s as u64);
            // Garbage, so that bytes the device should write are seen written.
            self.b.mem.write(a, &vec![0xee; s as usize]);
            bufs.push(Buffer::w(a, s));
        }
        self.use_descs(0, bufs.len());
        let head = self.rxq.add_chain(&mut self.b.mem, &bufs);
        self.rxq.make_available(&mut self.b.mem, head);
        head
    }

    /// Reads the buffers of chain `head` of the RX queue: the first `len` bytes.
    pub fn rx_chain_bytes(&self, head: u16, len: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = head;
        let mut left = len as usize;
        while left > 0 {
            let d = self.rxq.desc + 16 * i as u64;
            let addr = self.b.mem.read_u32(d) as u64 | (self.b.mem.read_u32(d + 4) as u64) << 32;
            let dlen = self.b.mem.read_u32(d + 8) as usize;
            let flags = self.b.mem.read_u16(d + 12);
            let n = dlen.min(left);
            out.extend(self.b.mem.read(addr, n));
            left -= n;
            if flags & 1 == 0 {
                break;
            }
            i = self.b.mem.read_u16(d + 14);
        }
        assert_eq!(left, 0, "used length beyond the chain");
        out
    }

    /// The next received frame from the used ring, if complete: (header,
    /// frame, buffers used). Checks num_buffers against the used elements.
    pub fn take_rx_frame(&mut self) -> Option<([u8; 12], Vec<u8>, u16)> {
        let idx = self.rxq.used_idx(&self.b.mem);
        if idx == self.rx_seen {
            return None;
        }
        let (id, len) = self.rxq.used_elem(&self.b.mem, self.rx_seen);
        let first = self.rx_chain_bytes(id as u16, len);
        assert!(first.len() >= 12, "first buffer shorter than the header");
        let hdr: [u8; 12] = first[..12].try_into().unwrap();
        let nbuf = u16::from_le_bytes([hdr[10], hdr[11]]);
        assert!(nbuf >= 1);
        assert!(
            idx.wrapping_sub(self.rx_seen) >= nbuf,
            "used.idx published before every buffer of the frame: idx {idx}, seen {}, num_buffers {nbuf}",
            self.rx_seen
        );
        let mut data = first[12..].to_vec();
        for k in 1..nbuf {
            let (id, len) = self
                .rxq
                .used_elem(&self.b.mem, self.rx_seen.wrapping_add(k));
            data.extend(self.rx_chain_bytes(id as u16, len));
        }
        self.rx_seen = self.rx_seen.wrapping_add(nbuf);
        Some((hdr, data, nbuf))
    }
}

/// An Ethernet frame of `len` bytes to `dst` with random payload.
pub fn frame(rng: &mut XorShift, dst: [u8; 6], len: usize) -> Vec<u8> {
    assert!(len >= 14);
    let mut f = Vec::with_capacity(len);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x99]);
    f.extend_from_slice(&[0x08, 0x00]);
    while f.len() < len {
        f.push(rng.next_u64() as u8);
    }
    f
}

/// Rings of the five queues (index = virtio queue number) laid out from here.
pub const MQ_RINGS: u64 = 0x4_0000;

/// A bench with every queue of the two-pair layout attached (queue `q`
/// on MSI-X vector `q`): receiveq1, transmitq1, receiveq2, transmitq2 and
/// the control queue (queue 4, or queue 2 once `QUEUES` says so).
pub struct NetMq {
    pub b: NetBench,
    /// Rings by queue number.
    pub q: Vec<SplitQueue>,
    /// Used elements of each queue already taken.
    pub seen: Vec<u16>,
    pub rng: XorShift,
    next_data: u64,
}

impl NetMq {
    pub fn new(cfg: NetBenchConfig, qsize: u16) -> Self {
        let mut b = NetBench::new(cfg);
        let q: Vec<SplitQueue> = (0..5u64)
            .map(|i| SplitQueue::new(&mut b.mem, MQ_RINGS + i * 0x1_0000, qsize))
            .collect();
        b.mem.map(DATA, DATA_LEN);
        for (i, vq) in q.iter().enumerate() {
            b.attach(i, vq, i as u16);
        }
        NetMq {
            b,
            q,
            seen: vec![0; 5],
            rng: XorShift::new(cfg.seed ^ 0x9999),
            next_data: DATA,
        }
    }

    /// Writes `QUEUES` (pairs steered, control queue index).
    pub fn set_queues(&mut self, pairs: u32, ctrl: u32) {
        self.b
            .reg_write(regs::QUEUES, pairs | ctrl << regs::QUEUES_CTRL_SHIFT);
        self.b.run(4);
    }

    /// `len` bytes that do not cross a 4 KiB page.
    pub fn alloc(&mut self, len: u64) -> u64 {
        assert!(len <= 4096);
        let mut a = self.next_data + self.rng.below(16);
        if a / 4096 != (a + len - 1) / 4096 {
            a = (a + 4095) & !4095;
        }
        self.next_data = a + len;
        assert!(self.next_data < DATA + DATA_LEN as u64, "data region full");
        a
    }

    /// Puts `hdr + frame` in one buffer on TX queue `q` (no kick).
    pub fn post_tx(&mut self, q: usize, frame: &[u8]) -> u16 {
        let mut bytes = vec![0u8; HDR_LEN as usize];
        bytes.extend_from_slice(frame);
        let a = self.alloc(bytes.len() as u64);
        self.b.mem.write(a, &bytes);
        let head = self.q[q].add_chain(&mut self.b.mem, &[Buffer::r(a, bytes.len() as u32)]);
        self.q[q].make_available(&mut self.b.mem, head);
        head
    }

    /// Posts one writable RX buffer of `len` bytes on queue `q` (no kick).
    pub fn post_rx(&mut self, q: usize, len: u32) -> u16 {
        let a = self.alloc(len as u64);
        self.b.mem.write(a, &vec![0xee; len as usize]);
        let head = self.q[q].add_chain(&mut self.b.mem, &[Buffer::w(a, len)]);
        self.q[q].make_available(&mut self.b.mem, head);
        head
    }

    /// Posts a control command as a chain on queue `q`: `readable` (class,
    /// command, payload) cut into pieces at `cuts` (byte offsets), then a
    /// writable ack byte. Returns (head, ack address).
    pub fn post_ctrl(&mut self, q: usize, readable: &[u8], cuts: &[usize]) -> (u16, u64) {
        let mut bounds = vec![0];
        bounds.extend(
            cuts.iter()
                .copied()
                .filter(|&c| c > 0 && c < readable.len()),
        );
        bounds.push(readable.len());
        let mut bufs = Vec::new();
        for w in bounds.windows(2) {
            if w[1] > w[0] {
                let a = self.alloc((w[1] - w[0]) as u64);
                self.b.mem.write(a, &readable[w[0]..w[1]]);
                bufs.push(Buffer::r(a, (w[1] - w[0]) as u32));
            }
        }
        let ack = self.alloc(1);
        self.b.mem.write(ack, &[0xee]);
        bufs.push(Buffer::w(ack, 1));
        let head = self.q[q].add_chain(&mut self.b.mem, &bufs);
        self.q[q].make_available(&mut self.b.mem, head);
        (head, ack)
    }

    /// The first `len` bytes of the buffers of chain `head` of queue `q`.
    pub fn chain_bytes(&self, q: usize, head: u16, len: u32) -> Vec<u8> {
        let vq = &self.q[q];
        let mut out = Vec::new();
        let mut i = head;
        let mut left = len as usize;
        while left > 0 {
            let d = vq.desc + 16 * i as u64;
            let addr = self.b.mem.read_u32(d) as u64 | (self.b.mem.read_u32(d + 4) as u64) << 32;
            let dlen = self.b.mem.read_u32(d + 8) as usize;
            let flags = self.b.mem.read_u16(d + 12);
            let n = dlen.min(left);
            out.extend(self.b.mem.read(addr, n));
            left -= n;
            if flags & 1 == 0 {
                break;
            }
            i = self.b.mem.read_u16(d + 14);
        }
        assert_eq!(left, 0, "used length beyond the chain");
        out
    }

    /// The next used element of queue `q`, if any: (id, len).
    pub fn take_used(&mut self, q: usize) -> Option<(u32, u32)> {
        if self.q[q].used_idx(&self.b.mem) == self.seen[q] {
            return None;
        }
        let e = self.q[q].used_elem(&self.b.mem, self.seen[q]);
        self.seen[q] = self.seen[q].wrapping_add(1);
        Some(e)
    }

    /// The next frame received on RX queue `q` (one buffer per frame in
    /// these tests): the frame after the header.
    pub fn take_rx_frame(&mut self, q: usize) -> Option<Vec<u8>> {
        let (id, len) = self.take_used(q)?;
        let bytes = self.chain_bytes(q, id as u16, len);
        assert!(bytes.len() >= 12, "RX buffer shorter than the header");
        assert_eq!(u16::from_le_bytes([bytes[10], bytes[11]]), 1, "num_buffers");
        Some(bytes[12..].to_vec())
    }

    /// Steps until the engine is quiet and no MAC frame waits (or `max`).
    pub fn settle(&mut self, max: u64) -> bool {
        self.b
            .run_until(max, |b| b.mac_rx.pending() == 0 && b.quiet())
    }
}

/// A frame of `len` bytes from `src` to `dst` with random payload.
pub fn frame_from(rng: &mut XorShift, src: [u8; 6], dst: [u8; 6], len: usize) -> Vec<u8> {
    let mut f = frame(rng, dst, len);
    f[6..12].copy_from_slice(&src);
    f
}
