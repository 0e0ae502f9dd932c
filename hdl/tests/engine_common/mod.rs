//! Shared helpers for the engine tests: a blk device with two queues in the
//! host memory model, and request builders / checkers written from the
//! virtio spec, independent of the RTL.
#![allow(dead_code)]

use vfpga_abi::blk::{SECTOR_SIZE, req, status};
use vfpga_hdl::testbench::host_memory::WriteRecord;
use vfpga_hdl::testbench::{Bench, BenchConfig, Buffer, SplitQueue};

/// Ring of queue 0.
pub const RING0: u64 = 0x1_0000;
/// Ring of queue 1.
pub const RING1: u64 = 0x2_0000;
/// Data buffers region.
pub const DATA: u64 = 0x10_0000;
/// Size of the data region.
pub const DATA_LEN: u64 = 0x40_0000;

/// One submitted request as the driver built it.
#[derive(Debug, Clone)]
pub struct Req {
    /// Queue.
    pub q: usize,
    /// Head descriptor.
    pub head: u16,
    /// Request type.
    pub typ: u32,
    /// Sector.
    pub sector: u64,
    /// Header buffer.
    pub hdr: u64,
    /// Data buffers.
    pub data: Vec<Buffer>,
    /// Status byte address.
    pub status: u64,
}

impl Req {
    /// Total data bytes.
    pub fn data_len(&self) -> u32 {
        self.data.iter().map(|b| b.len).sum()
    }
}

/// A blk device under test.
pub struct Blk {
    /// The bench.
    pub b: Bench,
    /// The two queues.
    pub vq: [SplitQueue; 2],
    next: u64,
    /// Disk content before any request ran.
    pub disk0: Vec<u8>,
}

/// The virtio_blk_outhdr bytes.
pub fn header(typ: u32, sector: u64) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&typ.to_le_bytes());
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(&sector.to_le_bytes());
    v
}

impl Blk {
    /// A device with both queues of `size` entries attached (vectors 1, 2).
    pub fn new(cfg: BenchConfig, size: u16) -> Self {
        let mut b = Bench::new(cfg);
        let vq = [
            SplitQueue::new(&mut b.mem, RING0, size),
            SplitQueue::new(&mut b.mem, RING1, size),
        ];
        b.mem.map(DATA, DATA_LEN as usize);
        for (i, x) in b.sto.disk.iter_mut().enumerate() {
            *x = (i as u32).wrapping_mul(2654435761).to_le_bytes()[2];
        }
        b.attach(0, &vq[0], 1);
        b.attach(1, &vq[1], 2);
        let disk0 = b.sto.disk.clone();
        Blk {
            b,
            vq,
            next: DATA,
            disk0,
        }
    }

    /// Allocates `len` bytes at an address with the given remainder mod 4096.
    pub fn alloc_at(&mut self, len: u32, offset: u64) -> u64 {
        let mut a = (self.next & !0xfff) + offset;
        if a < self.next {
            a += 0x1000;
        }
        if a + len as u64 > DATA + DATA_LEN {
            a = DATA + offset;
        }
        self.next = a + len as u64;
        a
    }

    /// Allocates `len` bytes, 16-aligned.
    pub fn alloc(&mut self, len: u32) -> u64 {
        let a = (self.next + 15) & !15;
        self.alloc_at(len, a & 0xfff)
    }

    /// Builds a request with data buffers of `segs` bytes at 4 KiB offsets
    /// `offs` (cycled), makes it available and returns it. OUT buffers are
    /// filled with a pattern; IN buffers and the status byte with 0xee.
    pub fn submit_at(
        &mut self,
        q: usize,
        typ: u32,
        sector: u64,
        segs: &[u32],
        offs: &[u64],
    ) -> Req {
        let hdr = self.alloc(16);
        self.b.mem.write(hdr, &header(typ, sector));
        let write = typ != req::OUT;
        let mut data = Vec::new();
        for (k, &len) in segs.iter().enumerate() {
            let off = if offs.is_empty() {
                0
            } else {
                offs[k % offs.len()]
            };
            let a = self.alloc_at(len, off);
            let fill: Vec<u8> = if write {
                vec![0xee; len as usize]
            } else {
                (0..len).map(|i| (a as u32 + i * 13 + 7) as u8).collect()
            };
            self.b.mem.write(a, &fill);
            data.push(Buffer {
                addr: a,
                len,
                write,
            });
        }
        let status = self.alloc(1);
        self.b.mem.write(status, &[0xee]);
        let mut bufs = vec![Buffer::r(hdr, 16)];
        bufs.extend_from_slice(&data);
        bufs.push(Buffer::w(status, 1));
        let head = self.vq[q].add_chain(&mut self.b.mem, &bufs);
        self.vq[q].make_available(&mut self.b.mem, head);
        Req {
            q,
            head,
            typ,
            sector,
            hdr,
            data,
            status,
        }
    }

    /// Same with 16-aligned data buffers.
    pub fn submit(&mut self, q: usize, typ: u32, sector: u64, segs: &[u32]) -> Req {
        self.submit_at(q, typ, sector, segs, &[])
    }

    /// Rings queue `q`'s doorbell.
    pub fn kick(&mut self, q: usize) {
        self.b.kick(q as u16);
    }

    /// Runs until queue `q` has `n` used entries (or an error); true on success.
    pub fn run_until_used(&mut self, q: usize, n: u16, max: u64) -> bool {
        let used = self.vq[q].used;
        self.b
            .run_until(max, |b| b.mem.read_u16(used + 2) == n || b.e.error.val())
            && !self.b.e.error.val()
    }

    /// Runs until the engine is quiet.
    pub fn settle(&mut self, max: u64) -> bool {
        self.b.run_until(max, |b| b.quiet())
    }

    /// The used ring position of request `r`: `hint` when its element is
    /// there, else wherever among the published elements it is. The device
    /// may complete requests out of order (virtio 1.2 §2.7.8 without
    /// IN_ORDER; OUT and FLUSH wait for storage in parked slots).
    pub fn used_pos(&self, r: &Req, hint: u16) -> u16 {
        let mem = &self.b.mem;
        let vq = &self.vq[r.q];
        if vq.used_elem(mem, hint).0 == r.head as u32 {
            return hint;
        }
        // The most recent of the ring's `size` last published elements.
        let end = vq.used_idx(mem);
        (0..vq.size)
            .map(|k| end.wrapping_sub(1).wrapping_sub(k))
            .find(|&p| vq.used_elem(mem, p).0 == r.head as u32)
            .unwrap_or_else(|| panic!("used id: head {} not in the used ring", r.head))
    }

    /// Checks one completed request against the spec: used element (id,
    /// len), status byte, data moved. `used_pos` is where the test expects
    /// its used element (see [`Blk::used_pos`] for out-of-order completion).
    pub fn check(&self, r: &Req, used_pos: u16, expect_status: u8) {
        let mem = &self.b.mem;
        let used_pos = self.used_pos(r, used_pos);
        let (id, len) = self.vq[r.q].used_elem(mem, used_pos);
        assert_eq!(id, r.head as u32, "used id");
        assert_eq!(mem.read(r.status, 1)[0], expect_status, "status byte");
        let sec = SECTOR_SIZE as usize;
        match r.typ {
            req::IN if expect_status == status::OK => {
                assert_eq!(len, r.data_len() + 1, "used len of IN");
                let mut off = r.sector as usize * sec;
                for b in &r.data {
                    let got = mem.read(b.addr, b.len as usize);
                    assert_eq!(
                        got,
                        self.b.sto.disk[off..off + b.len as usize].to_vec(),
                        "IN data"
                    );
                    off += b.len as usize;
                }
            }
            req::OUT if expect_status == status::OK => {
                assert_eq!(len, 1, "used len of OUT");
                let mut off = r.sector as usize * sec;
                for b in &r.data {
                    assert_eq!(
                        self.b.sto.disk[off..off + b.len as usize].to_vec(),
                        mem.read(b.addr, b.len as usize),
                        "OUT data on disk"
                    );
                    off += b.len as usize;
                }
            }
            req::GET_ID => {
                let n = r.data_len().min(20);
                assert_eq!(len, n + 1, "used len of GET_ID");
                let mut got = Vec::new();
                for b in &r.data {
                    got.extend(mem.read(b.addr, b.len as usize));
                }
                assert_eq!(&got[..n as usize], &vfpga_hdl::blk::BLK_ID[..n as usize]);
            }
            _ => {
                assert_eq!(len, 1, "used len of a status-only answer");
                if r.typ == req::IN {
                    for b in &r.data {
                        assert!(
                            mem.read(b.addr, b.len as usize).iter().all(|&x| x == 0xee),
                            "IN buffer touched"
                        );
                    }
                }
            }
        }
    }

    /// Checks the write order of one request in the write log: every data
    /// write, then the status byte, then its used element, then a used.idx
    /// covering it.
    pub fn check_order(&self, r: &Req, used_pos: u16) {
        let used_pos = self.used_pos(r, used_pos);
        let w = &self.b.mem.writes;
        let inside = |x: &WriteRecord, a: u64, l: u32| x.addr >= a && x.addr < a + l as u64;
        let last_data = w
            .iter()
            .rposition(|x| r.data.iter().any(|b| b.write && inside(x, b.addr, b.len)));
        let st = w
            .iter()
            .position(|x| x.addr == r.status)
            .expect("status written");
        if let Some(d) = last_data {
            assert!(d < st, "status byte before data");
        }
        let vq = &self.vq[r.q];
        let elem = vq.used + 4 + 8 * (used_pos % vq.size) as u64;
        let el = w
            .iter()
            .rposition(|x| x.addr == elem)
            .expect("used element written");
        assert!(st < el, "used element before status byte");
        let idx = w
            .iter()
            .enumerate()
            .position(|(i, x)| {
                i > el
                    && x.addr == vq.used + 2
                    && u16::from_le_bytes([x.data[0], x.data[1]]).wrapping_sub(used_pos) as i16 > 0
            })
            .is_some();
        assert!(idx, "used.idx covering the element written after it");
    }
}
