//! A receive queue: posted buffers and the reassembly of frames that span
//! several of them (VIRTIO_NET_F_MRG_RXBUF, virtio 1.2 §5.1.6.3-4).

use vfpga_abi::net::{HDR_LEN, HDR_NUM_BUFFERS};

use super::NetError;
use crate::dma::{DmaAllocator, DmaMemory};
use crate::queue::Queue;
use crate::split_queue::Buf;
use crate::virtio_pci::VirtioPci;

/// A frame put together from its buffers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RxFrame {
    /// Queue pair it arrived on (0-based: receiveq1 is pair 0).
    pub pair: u16,
    /// The frame, without the virtio-net header.
    pub data: Vec<u8>,
    /// Buffers it took (`num_buffers`).
    pub buffers: u16,
}

/// A frame whose first buffers arrived and whose others are still due.
#[derive(Debug)]
struct Partial {
    data: Vec<u8>,
    need: u16,
    got: u16,
}

/// One receiveq: `size` buffers of `buf_len` bytes in one DMA allocation,
/// each posted as a one-descriptor chain.
#[derive(Debug)]
pub(super) struct RxQueue {
    pub(super) q: Queue,
    pair: u16,
    mem: DmaMemory,
    buf_len: u32,
    mrg: bool,
    /// Buffers not posted.
    free: Vec<u16>,
    /// Buffer of each posted head.
    head_buf: Vec<Option<u16>>,
    partial: Option<Partial>,
}

impl RxQueue {
    pub(super) fn new(
        q: Queue,
        alloc: &DmaAllocator,
        pair: u16,
        buf_len: u32,
        mrg: bool,
    ) -> Result<Self, NetError> {
        let size = q.vq.size();
        let mem = alloc.alloc(size as usize * buf_len as usize)?;
        Ok(RxQueue {
            q,
            pair,
            mem,
            buf_len,
            mrg,
            free: (0..size).rev().collect(),
            head_buf: vec![None; size as usize],
            partial: None,
        })
    }

    fn bad(&self, what: String) -> NetError {
        NetError::Protocol {
            queue: format!("receiveq{}", self.pair + 1),
            what,
        }
    }

    /// Buffers the device holds.
    pub(super) fn posted(&self) -> usize {
        self.head_buf.len() - self.free.len()
    }

    /// Posts up to `n` free buffers; returns how many. The caller kicks.
    pub(super) fn post(&mut self, n: usize) -> usize {
        let mut done = 0;
        while done < n {
            let Some(&b) = self.free.last() else { break };
            let buf = Buf {
                addr: self.mem.iova() + b as u64 * self.buf_len as u64,
                len: self.buf_len,
                write: true,
            };
            let Some(head) = self.q.vq.add(&[buf]) else {
                break;
            };
            self.free.pop();
            self.head_buf[head as usize] = Some(b);
            done += 1;
        }
        done
    }

    /// Posts every free buffer and notifies the device when it wants it.
    pub(super) fn refill(&mut self, pci: &VirtioPci) -> Result<bool, NetError> {
        if self.post(usize::MAX) == 0 {
            return Ok(false);
        }
        Ok(self.q.kick(pci)?)
    }

    /// The next complete frame, if its buffers have all been used. Buffers
    /// are taken back (not re-posted: see [`Self::refill`]).
    pub(super) fn poll(&mut self) -> Result<Option<RxFrame>, NetError> {
        while let Some((head, len)) = self.q.vq.pop_used() {
            let b = self.head_buf[head as usize]
                .take()
                .ok_or_else(|| self.bad(format!("used head {head} holds no posted buffer")))?;
            self.free.push(b);
            if len > self.buf_len {
                return Err(self.bad(format!(
                    "used length {len} exceeds the {}-byte buffer",
                    self.buf_len
                )));
            }
            let mut bytes = vec![0u8; len as usize];
            self.mem
                .read(b as usize * self.buf_len as usize, &mut bytes);
            let p = match self.partial.take() {
                Some(mut p) => {
                    p.data.extend_from_slice(&bytes);
                    p.got += 1;
                    p
                }
                None => {
                    if len < HDR_LEN {
                        return Err(self.bad(format!(
                            "used length {len} is shorter than the {HDR_LEN}-byte header"
                        )));
                    }
                    let at = HDR_NUM_BUFFERS as usize;
                    let nb = u16::from_le_bytes([bytes[at], bytes[at + 1]]);
                    // §5.1.6.4.1: at least one buffer; exactly one without
                    // mergeable buffers.
                    if nb == 0 || (!self.mrg && nb != 1) {
                        return Err(self.bad(format!(
                            "num_buffers {nb} (mergeable buffers {})",
                            if self.mrg {
                                "negotiated"
                            } else {
                                "not negotiated"
                            }
                        )));
                    }
                    if nb as usize > self.head_buf.len() {
                        return Err(self.bad(format!(
                            "num_buffers {nb} exceeds the {} buffers of the queue",
                            self.head_buf.len()
                        )));
                    }
                    bytes.drain(..HDR_LEN as usize);
                    Partial {
                        data: bytes,
                        need: nb,
                        got: 1,
                    }
                }
            };
            if p.got == p.need {
                return Ok(Some(RxFrame {
                    pair: self.pair,
                    data: p.data,
                    buffers: p.need,
                }));
            }
            self.partial = Some(p);
        }
        Ok(None)
    }
}
