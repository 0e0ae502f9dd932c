//! The host end of the engine's MMIO target port: BAR0 reads and writes of
//! 1, 2, 4 or 8 bytes become 32-bit transactions with byte enables, issued in
//! order; a read's caller gets its data when the response beat arrives,
//! however long the hardware holds it.

use std::collections::VecDeque;

use vfpga_abi::ports::{MmioRequest, MmioResponse};

use crate::clock::Cycle;

/// An access the MMIO port cannot express.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{len}-byte MMIO access at {offset:#x} is not 1, 2, 4 or 8 bytes naturally aligned")]
pub struct BadAccess {
    /// Offset of the access.
    pub offset: u64,
    /// Its length.
    pub len: usize,
}

/// One 32-bit transaction of a BAR access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dword {
    /// Dword-aligned BAR offset.
    pub addr: u32,
    /// Byte enables.
    pub strb: u8,
    /// Byte lane of the access's first byte.
    pub lane: u32,
    /// Bytes of the access in this dword.
    pub len: usize,
}

/// Splits a BAR access into dword transactions (two for 8 bytes, low first,
/// as virtio 1.2 §4.1.3.1 has drivers do anyway).
pub fn split(offset: u64, len: usize) -> Result<Vec<Dword>, BadAccess> {
    let bad = BadAccess { offset, len };
    if !matches!(len, 1 | 2 | 4 | 8)
        || !offset.is_multiple_of(len as u64)
        || offset > u64::from(u32::MAX) - 8
    {
        return Err(bad);
    }
    let one = |o: u64, n: usize| {
        let lane = (o & 3) as u32;
        Dword {
            addr: (o & !3) as u32,
            strb: (((1u32 << n) - 1) << lane) as u8,
            lane,
            len: n,
        }
    };
    Ok(if len == 8 {
        vec![one(offset, 4), one(offset + 4, 4)]
    } else {
        vec![one(offset, len)]
    })
}

/// Called with the read data when a read's response arrives.
pub type ReadReply = Box<dyn FnOnce(u32) + Send>;

/// One queued transaction.
pub struct MmioOp {
    /// The request beat.
    pub req: MmioRequest,
    /// For reads: where the data goes.
    pub reply: Option<ReadReply>,
}

impl std::fmt::Debug for MmioOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MmioOp")
            .field("req", &self.req)
            .finish_non_exhaustive()
    }
}

/// One MMIO transaction as seen on the port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MmioTxn {
    /// A request was taken by the device.
    Request {
        /// Cycle of the handshake.
        cycle: Cycle,
        /// The request.
        req: MmioRequest,
    },
    /// A read response arrived.
    Response {
        /// Cycle of the handshake.
        cycle: Cycle,
        /// The data.
        rdata: u32,
    },
}

/// Outputs of the host on the MMIO port this cycle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MmioDrive {
    /// A request (valid when `Some`).
    pub req: Option<MmioRequest>,
    /// Ready for a read response.
    pub rsp_ready: bool,
}

/// The host's MMIO master.
#[derive(Default)]
pub struct MmioModel {
    queue: VecDeque<MmioOp>,
    waiting: VecDeque<Option<ReadReply>>,
    log: Option<Vec<MmioTxn>>,
}

impl std::fmt::Debug for MmioModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MmioModel")
            .field("queued", &self.queue.len())
            .field("reads_waiting", &self.waiting.len())
            .finish_non_exhaustive()
    }
}

impl MmioModel {
    /// An idle MMIO master; `log` keeps every transaction.
    pub fn new(log: bool) -> Self {
        MmioModel {
            queue: VecDeque::new(),
            waiting: VecDeque::new(),
            log: log.then(Vec::new),
        }
    }

    /// Queues a transaction.
    pub fn push(&mut self, op: MmioOp) {
        self.queue.push_back(op);
    }

    /// No request queued and no read waiting for its response.
    pub fn is_quiet(&self) -> bool {
        self.queue.is_empty() && self.waiting.is_empty()
    }

    /// Every transaction, when logging.
    pub fn log(&self) -> &[MmioTxn] {
        self.log.as_deref().unwrap_or(&[])
    }

    /// The host's outputs this cycle.
    pub fn drive(&self) -> MmioDrive {
        MmioDrive {
            req: self.queue.front().map(|op| op.req),
            rsp_ready: true,
        }
    }

    /// One clock edge: `req_taken` when the device took the offered
    /// request, `rsp` the response beat that moved.
    pub fn clock(&mut self, now: Cycle, req_taken: bool, rsp: Option<MmioResponse>) {
        if let Some(rsp) = rsp {
            if let Some(log) = &mut self.log {
                log.push(MmioTxn::Response {
                    cycle: now,
                    rdata: rsp.rdata,
                });
            }
            match self.waiting.pop_front() {
                Some(Some(reply)) => reply(rsp.rdata),
                Some(None) => {}
                None => tracing::error!(rdata = rsp.rdata, "MMIO response without a read"),
            }
        }
        if req_taken && let Some(op) = self.queue.pop_front() {
            if let Some(log) = &mut self.log {
                log.push(MmioTxn::Request {
                    cycle: now,
                    req: op.req,
                });
            }
            if !op.req.write {
                self.waiting.push_back(op.reply);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn byte_and_halfword_accesses_use_byte_enables() {
        assert_eq!(
            split(0x1002, 2).unwrap(),
            vec![Dword {
                addr: 0x1000,
                strb: 0b1100,
                lane: 2,
                len: 2
            }]
        );
        assert_eq!(split(0x13, 1).unwrap()[0].strb, 0b1000);
        assert_eq!(split(0x20, 4).unwrap()[0].strb, 0b1111);
    }

    #[test]
    fn eight_byte_access_is_two_dwords_low_first() {
        let d = split(0x28, 8).unwrap();
        assert_eq!(
            d.iter().map(|d| d.addr).collect::<Vec<_>>(),
            vec![0x28, 0x2C]
        );
    }

    #[test]
    fn misaligned_or_odd_sized_accesses_are_refused() {
        assert!(split(0x2, 4).is_err());
        assert!(split(0x1, 2).is_err());
        assert!(split(0x0, 3).is_err());
        assert!(split(0x4, 8).is_err());
    }

    #[test]
    fn reads_are_answered_in_order_even_when_held() {
        let mut m = MmioModel::new(true);
        let (tx, rx) = mpsc::channel();
        for (i, write) in [(0u32, false), (1, true), (2, false)] {
            let tx = tx.clone();
            m.push(MmioOp {
                req: MmioRequest {
                    addr: i * 4,
                    write,
                    wdata: 0,
                    strb: 0xF,
                },
                reply: (!write)
                    .then(|| Box::new(move |d: u32| tx.send((i, d)).unwrap()) as ReadReply),
            });
        }
        assert_eq!(m.drive().req.unwrap().addr, 0);
        m.clock(0, true, None);
        m.clock(1, true, None);
        m.clock(2, true, None);
        assert!(!m.is_quiet(), "two reads wait for their responses");
        // The device holds the first read for a while.
        for now in 3..50 {
            m.clock(now, false, None);
        }
        assert!(rx.try_recv().is_err());
        m.clock(50, false, Some(MmioResponse { rdata: 0xAA }));
        m.clock(51, false, Some(MmioResponse { rdata: 0xBB }));
        assert_eq!(rx.try_recv().unwrap(), (0, 0xAA));
        assert_eq!(rx.try_recv().unwrap(), (2, 0xBB));
        assert!(m.is_quiet());
        assert_eq!(m.log().len(), 5);
    }
}
