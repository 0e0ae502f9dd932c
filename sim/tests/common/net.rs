//! Net board helpers: receiveq1 and transmitq1 on rings built with
//! virtio-queue's `MockSplitQueue`, frames written behind a
//! `virtio_net_hdr_v1`, received frames gathered from their used buffers.

use vfpga_abi::features;
use vfpga_abi::net::{HDR_LEN, HDR_NUM_BUFFERS};
use vfpga_abi::ring::{DESC_F_WRITE, used_ring_after_avail};
use vfpga_sim::machine::MachineConfig;
use virtio_queue::desc::RawDescriptor;
use virtio_queue::desc::split::Descriptor as SplitDescriptor;
use virtio_queue::mock::MockSplitQueue;
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

use super::Board;

/// Ring size of both queues.
pub const QSIZE: u16 = 128;
/// receiveq1's rings.
pub const RXQ_BASE: u64 = 0x1_0000;
/// transmitq1's rings.
pub const TXQ_BASE: u64 = 0x2_0000;
/// RX buffers: chain `i` is one writable buffer at `RX_DATA + i * RX_BUF`.
pub const RX_DATA: u64 = 0x10_0000;
/// Bytes of each RX buffer (as Linux's mergeable buffers, a fraction of a page).
pub const RX_BUF: u32 = 2048;
/// TX buffers: chain `i` at `TX_DATA + i * TX_SLOT`.
pub const TX_DATA: u64 = 0x20_0000;
/// Room for a header and the largest frame, page aligned.
pub const TX_SLOT: u64 = 0x4000;
/// Index of receiveq1 and transmitq1 (virtio 1.2 §5.1.2).
pub const RXQ: u16 = 0;
/// transmitq1.
pub const TXQ: u16 = 1;

/// What the test driver negotiates: no control queue, mergeable buffers.
pub fn net_features() -> u64 {
    features::bit(features::VERSION_1)
        | features::bit(features::ACCESS_PLATFORM)
        | features::bit(features::NET_MAC)
        | features::bit(features::NET_MTU)
        | features::bit(features::NET_STATUS)
        | features::bit(features::NET_MRG_RXBUF)
}

/// A net board configuration with transaction logs on.
pub fn net_cfg() -> MachineConfig {
    MachineConfig {
        log: true,
        ..MachineConfig::default()
    }
}

/// A seeded frame of `len` bytes; its destination is the broadcast
/// address, so any MAC filter setting accepts it.
pub fn frame(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            if i < 6 {
                0xFF
            } else {
                (i as u8).wrapping_mul(13).wrapping_add(seed)
            }
        })
        .collect()
}

/// Queue rings of one test device, as the driver keeps track of them.
pub struct NetQueues<'m> {
    /// receiveq1.
    pub rx: MockSplitQueue<'m, GuestMemoryMmap>,
    /// transmitq1.
    pub tx: MockSplitQueue<'m, GuestMemoryMmap>,
    rx_size: u16,
    rx_posted: u16,
    tx_posted: u16,
    rx_seen: u16,
}

fn desc(addr: u64, len: u32, flags: u16) -> RawDescriptor {
    RawDescriptor::from(SplitDescriptor::new(addr, len, flags, 0))
}

fn rings(q: &MockSplitQueue<'_, GuestMemoryMmap>, size: u16) -> (u16, u64, u64, u64) {
    (
        size,
        q.desc_table_addr().0,
        q.avail_addr().0,
        used_ring_after_avail(q.avail_addr().0, size),
    )
}

impl<'m> NetQueues<'m> {
    /// Rings in `mem` (the board's guest memory, cloned).
    pub fn new(mem: &'m GuestMemoryMmap) -> Self {
        Self::with_rx_size(mem, QSIZE)
    }

    /// Rings in `mem`, receiveq1 with `rx_size` entries (up to 256, the
    /// largest queue the device offers).
    pub fn with_rx_size(mem: &'m GuestMemoryMmap, rx_size: u16) -> Self {
        NetQueues {
            rx: MockSplitQueue::create(mem, GuestAddress(RXQ_BASE), rx_size),
            tx: MockSplitQueue::create(mem, GuestAddress(TXQ_BASE), QSIZE),
            rx_size,
            rx_posted: 0,
            tx_posted: 0,
            rx_seen: 0,
        }
    }

    /// Initialises the device with receiveq1 and transmitq1 (§3.1.1).
    pub fn init(&self, b: &mut Board) -> u64 {
        let f = b.init_features(
            &[rings(&self.rx, self.rx_size), rings(&self.tx, QSIZE)],
            net_features(),
        );
        assert_ne!(
            f & features::bit(features::NET_MRG_RXBUF),
            0,
            "MRG_RXBUF negotiated"
        );
        f
    }

    /// Posts `n` more RX buffers (one writable descriptor each) and kicks.
    pub fn post_rx(&mut self, b: &mut Board, n: u16) {
        let descs: Vec<RawDescriptor> = (self.rx_posted..self.rx_posted + n)
            .map(|i| {
                desc(
                    RX_DATA + u64::from(i) * u64::from(RX_BUF),
                    RX_BUF,
                    DESC_F_WRITE,
                )
            })
            .collect();
        self.rx.add_desc_chains(&descs, self.rx_posted).unwrap();
        self.rx_posted += n;
        b.kick(RXQ);
    }

    /// Writes a zero `virtio_net_hdr_v1` and `frame` into the next TX slot,
    /// posts it as one readable descriptor and kicks transmitq1.
    pub fn send(&mut self, b: &mut Board, frame: &[u8]) {
        let addr = TX_DATA + u64::from(self.tx_posted) * TX_SLOT;
        let mut buf = vec![0u8; HDR_LEN as usize];
        buf.extend_from_slice(frame);
        b.mem.write_slice(&buf, GuestAddress(addr)).unwrap();
        self.tx
            .add_desc_chains(&[desc(addr, buf.len() as u32, 0)], self.tx_posted)
            .unwrap();
        self.tx_posted += 1;
        b.kick(TXQ);
    }

    /// Frames sent whose chains the device used.
    pub fn tx_used(&self, b: &Board) -> u16 {
        b.used_idx(used_ring_after_avail(self.tx.avail_addr().0, QSIZE))
    }

    /// transmitq1's posted chains.
    pub fn tx_posted(&self) -> u16 {
        self.tx_posted
    }

    /// receiveq1's used index.
    pub fn rx_used(&self, b: &Board) -> u16 {
        b.used_idx(used_ring_after_avail(self.rx.avail_addr().0, self.rx_size))
    }

    /// The next received frame, if its buffers are all used (§5.1.6.4):
    /// `(num_buffers, frame)`. Checks that the used lengths add up.
    pub fn next_rx(&mut self, b: &Board) -> Option<(u16, Vec<u8>)> {
        let used = used_ring_after_avail(self.rx.avail_addr().0, self.rx_size);
        let idx = b.used_idx(used);
        if idx == self.rx_seen {
            return None;
        }
        let elem = |k: u16| {
            let a = used + 4 + 8 * u64::from(k % self.rx_size);
            let id = b.mem.read_obj::<u32>(GuestAddress(a)).unwrap();
            let len = b.mem.read_obj::<u32>(GuestAddress(a + 4)).unwrap();
            (id, len)
        };
        let (id0, _) = elem(self.rx_seen);
        let first = RX_DATA + u64::from(id0) * u64::from(RX_BUF);
        let nb = b
            .mem
            .read_obj::<u16>(GuestAddress(first + u64::from(HDR_NUM_BUFFERS)))
            .unwrap();
        assert!(nb >= 1, "num_buffers is at least 1");
        assert!(
            idx.wrapping_sub(self.rx_seen) >= nb,
            "used.idx covers all {nb} buffers of the frame"
        );
        let mut data = Vec::new();
        for k in 0..nb {
            let (id, len) = elem(self.rx_seen + k);
            assert!(len <= RX_BUF, "used length within the buffer");
            let addr = RX_DATA + u64::from(id) * u64::from(RX_BUF);
            data.extend(b.bytes(addr, len as usize));
        }
        self.rx_seen += nb;
        let hdr: Vec<u8> = data.drain(..HDR_LEN as usize).collect();
        // No offloads are offered: all of the header but num_buffers is 0.
        assert!(
            hdr[..HDR_NUM_BUFFERS as usize].iter().all(|&x| x == 0),
            "header {hdr:?}"
        );
        Some((nb, data))
    }
}

/// Buffers a frame of `len` bytes takes with mergeable RX buffers.
pub fn buffers_for(len: usize) -> u16 {
    (len + HDR_LEN as usize).div_ceil(RX_BUF as usize) as u16
}
