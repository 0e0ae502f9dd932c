//! A small virtio-net driver (virtio 1.2 §5.1) for self-tests and
//! benchmarks: N queue pairs and the control queue, mergeable RX buffers
//! put back together into frames, transmit of whole frames, control
//! commands that wait for the device's ack, MSI-X completion.
//!
//! Queue numbering is the spec's (§5.1.2): receiveq(k+1) is queue `2k`,
//! transmitq(k+1) is `2k + 1`, and the control queue follows the last pair
//! the device has (`2 * max_virtqueue_pairs`, or 2 without
//! VIRTIO_NET_F_MQ). Pairs are numbered from 0 in this API.

mod config;
mod ctrl;
mod error;
pub mod frame;
mod rx;
mod tx;

use std::sync::Arc;
use std::time::{Duration, Instant};

use vfpga_abi::features as f;
use vfpga_abi::net::{self as n, HDR_LEN};
use vmm_sys_util::eventfd::EventFd;

pub use config::{DEFAULT_MTU, ETH_HLEN, FALLBACK_MAC, Mac, NetConfig, format_mac, parse_mac};
pub use ctrl::CtrlCommand;
pub use error::NetError;
pub use rx::RxFrame;

use crate::Device;
use crate::dma::{DmaAllocator, DmaMemory};
use crate::interrupts::{new_eventfd, wait_any};
use crate::queue::{self, Queue};
use crate::split_queue::Buf;
use crate::virtio_pci::VirtioPci;
use rx::RxQueue;
use tx::TxQueue;

/// How the driver sets the device up.
#[derive(Debug, Clone, Copy)]
pub struct NetOptions {
    /// Queue pairs to set up and use (1 ..= `max_virtqueue_pairs`); more
    /// than one is switched on with MQ_VQ_PAIRS_SET during bring-up.
    pub pairs: u16,
    /// Entries of each RX and TX queue (a power of two).
    pub queue_size: u16,
    /// Bytes of each RX buffer, header included, when mergeable RX buffers
    /// are negotiated. Without them every buffer holds a whole frame.
    pub rx_buffer_len: u32,
    /// Feature bits the driver declines although it understands them (to
    /// run without mergeable buffers, the control queue, ...).
    pub withhold: u64,
    /// Post RX buffers during bring-up. Without, nothing is received until
    /// [`NetDriver::refill_rx`].
    pub post_rx: bool,
    /// How long to wait for the device before giving up.
    pub timeout: Duration,
}

impl Default for NetOptions {
    fn default() -> Self {
        NetOptions {
            pairs: 1,
            queue_size: 128,
            // Fits a 1500-byte MTU frame and its header in one buffer, two
            // buffers per page.
            rx_buffer_len: 2048,
            withhold: 0,
            post_rx: true,
            timeout: Duration::from_secs(30),
        }
    }
}

/// Counts since bring-up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Frames queued for transmission.
    pub tx_frames: u64,
    /// Their bytes (without headers).
    pub tx_bytes: u64,
    /// Frames received.
    pub rx_frames: u64,
    /// Their bytes (without headers).
    pub rx_bytes: u64,
    /// RX buffers those frames took.
    pub rx_buffers: u64,
    /// Control commands acknowledged with OK.
    pub ctrl_commands: u64,
    /// MSI-X interrupts consumed.
    pub interrupts: u64,
    /// Notifications (doorbell writes) sent.
    pub notifies: u64,
    /// Waits that timed out although the device had used buffers
    /// meanwhile (non-zero means interrupts go missing).
    pub lost_interrupts: u64,
}

/// Offsets in the control queue's buffer: class and command, payload, ack.
const CTRL_PAYLOAD: usize = 64;
const CTRL_ACK: usize = 4095;
/// Entries of the control queue: one command (3 descriptors) at a time.
const CTRL_QUEUE_SIZE: u16 = 4;
/// Longest wait between two looks at the rings: bounds how long a lost
/// interrupt can stall the driver (it is counted, not relied on).
const WAIT_SLICE: Duration = Duration::from_secs(1);

#[derive(Debug)]
struct CtrlQueue {
    q: Queue,
    mem: DmaMemory,
}

/// A virtio-net device, set up and running (DRIVER_OK).
#[derive(Debug)]
pub struct NetDriver {
    pci: VirtioPci,
    config: NetConfig,
    rx: Vec<RxQueue>,
    tx: Vec<TxQueue>,
    ctrl: Option<CtrlQueue>,
    config_irq: EventFd,
    active: u16,
    next_rx: usize,
    stats: NetStats,
    opts: NetOptions,
}

impl NetDriver {
    /// Features this driver understands.
    pub const FEATURES: u64 = f::bit(f::NET_MAC)
        | f::bit(f::NET_MTU)
        | f::bit(f::NET_STATUS)
        | f::bit(f::NET_MRG_RXBUF)
        | f::bit(f::NET_CTRL_VQ)
        | f::bit(f::NET_CTRL_RX)
        | f::bit(f::NET_CTRL_MAC_ADDR)
        | f::bit(f::NET_MQ)
        | f::bit(f::RING_EVENT_IDX)
        | f::bit(f::NOTIFICATION_DATA);

    /// Brings `dev` up as a network device with `opts` (§3.1.1, §5.1.5).
    pub fn new(dev: Arc<dyn Device>, opts: NetOptions) -> Result<Self, NetError> {
        let mut pci = VirtioPci::new(dev.clone())?;
        let t = pci.device_type()?;
        if t != 1 {
            return Err(NetError::NotNet(t));
        }
        if !opts.queue_size.is_power_of_two() {
            return Err(NetError::BadOption {
                option: "--queue-size",
                reason: format!("{} is not a power of two", opts.queue_size),
            });
        }
        // Features that only make sense together (§5.1.3.1) are dropped
        // with what they depend on.
        let mut wanted = Self::FEATURES & !opts.withhold;
        if wanted & f::bit(f::NET_CTRL_VQ) == 0 {
            wanted &= !(f::bit(f::NET_CTRL_RX) | f::bit(f::NET_CTRL_MAC_ADDR) | f::bit(f::NET_MQ));
        }
        let negotiated = pci.negotiate(wanted, opts.timeout.min(Duration::from_secs(5)))?;
        let has = |b: u32| negotiated & f::bit(b) != 0;
        let config = NetConfig::read(&pci, negotiated)?;
        if opts.pairs == 0 || opts.pairs > config.max_pairs {
            return Err(NetError::BadOption {
                option: "--pairs",
                reason: format!(
                    "{} requested, the device has {} queue pair(s){}",
                    opts.pairs,
                    config.max_pairs,
                    if has(f::NET_MQ) {
                        ""
                    } else {
                        " (VIRTIO_NET_F_MQ not negotiated)"
                    }
                ),
            });
        }
        if config.mtu == 0 {
            return Err(NetError::BadOption {
                option: "mtu",
                reason: "the device reports an MTU of 0".into(),
            });
        }
        let mrg = has(f::NET_MRG_RXBUF);
        let rx_buf_len = if mrg {
            if opts.rx_buffer_len <= HDR_LEN {
                return Err(NetError::BadOption {
                    option: "--rx-buffer-len",
                    reason: format!(
                        "{} bytes do not hold more than the {HDR_LEN}-byte header",
                        opts.rx_buffer_len
                    ),
                });
            }
            opts.rx_buffer_len
        } else {
            // §5.1.6.3.1: without mergeable buffers each buffer holds the
            // largest frame the MTU allows.
            (HDR_LEN as usize + config.max_frame()).next_multiple_of(8) as u32
        };
        let alloc = DmaAllocator::new(dev.clone());
        let event_idx = has(f::RING_EVENT_IDX);
        let mut rx = Vec::new();
        let mut tx = Vec::new();
        for p in 0..opts.pairs {
            let q = Queue::new(&pci, &alloc, 2 * p, opts.queue_size, event_idx)?;
            rx.push(RxQueue::new(q, &alloc, p, rx_buf_len, mrg)?);
            let q = Queue::new(&pci, &alloc, 2 * p + 1, opts.queue_size, event_idx)?;
            tx.push(TxQueue::new(q, &alloc, config.max_frame())?);
        }
        let ctrl = if has(f::NET_CTRL_VQ) {
            let index = if has(f::NET_MQ) {
                2 * config.max_pairs
            } else {
                2
            };
            let size = CTRL_QUEUE_SIZE.min(pci.queue_max_size(index)?);
            Some(CtrlQueue {
                q: Queue::new(&pci, &alloc, index, size, event_idx)?,
                mem: alloc.alloc(CTRL_ACK + 1)?,
            })
        } else {
            None
        };
        let config_irq = new_eventfd().map_err(|e| NetError::Io("eventfd", e))?;
        let mut qs: Vec<&Queue> = Vec::new();
        for (r, t) in rx.iter().zip(&tx) {
            qs.push(&r.q);
            qs.push(&t.q);
        }
        if let Some(c) = &ctrl {
            qs.push(&c.q);
        }
        queue::start(&pci, &config_irq, &qs)?;
        let mut drv = NetDriver {
            pci,
            config,
            rx,
            tx,
            ctrl,
            config_irq,
            active: 1,
            next_rx: 0,
            stats: NetStats::default(),
            opts,
        };
        // Buffers go in after DRIVER_OK: the device may not be notified
        // before it (§3.1.1).
        if opts.post_rx {
            drv.refill_rx()?;
        }
        if opts.pairs > 1 {
            drv.ctrl(CtrlCommand::VqPairsSet(opts.pairs))?;
        }
        tracing::info!(
            device = dev.describe(),
            mac = format_mac(&drv.config.mac),
            mtu = drv.config.mtu,
            max_pairs = drv.config.max_pairs,
            pairs = opts.pairs,
            mergeable = mrg,
            features = format_args!("{negotiated:#x}"),
            "virtio-net up"
        );
        Ok(drv)
    }

    /// The transport underneath (features, vendor region).
    pub fn pci(&self) -> &VirtioPci {
        &self.pci
    }

    /// The device configuration as last read, with the MAC the driver set.
    pub fn config(&self) -> &NetConfig {
        &self.config
    }

    /// The driver's MAC address.
    pub fn mac(&self) -> Mac {
        self.config.mac
    }

    /// Queue pairs set up.
    pub fn pairs(&self) -> u16 {
        self.rx.len() as u16
    }

    /// Queue pairs in use (1 until MQ_VQ_PAIRS_SET).
    pub fn active_pairs(&self) -> u16 {
        self.active
    }

    /// Largest frame [`Self::send`] takes.
    pub fn max_frame(&self) -> usize {
        self.config.max_frame()
    }

    /// Whether a control queue was negotiated.
    pub fn has_ctrl(&self) -> bool {
        self.ctrl.is_some()
    }

    /// Counts since bring-up.
    pub fn stats(&self) -> NetStats {
        self.stats
    }

    /// RX buffers the device holds on `pair`.
    pub fn rx_posted(&self, pair: u16) -> usize {
        self.rx.get(pair as usize).map_or(0, RxQueue::posted)
    }

    /// Frames queued on `pair` the device has not sent yet.
    pub fn tx_in_flight(&self, pair: u16) -> usize {
        self.tx.get(pair as usize).map_or(0, TxQueue::in_flight)
    }

    /// Posts every free RX buffer on every receive queue.
    pub fn refill_rx(&mut self) -> Result<(), NetError> {
        for r in &mut self.rx {
            if r.refill(&self.pci)? {
                self.stats.notifies += 1;
            }
        }
        Ok(())
    }

    /// Queues `frame` (Ethernet header onwards, no FCS) on transmitq of
    /// `pair`, waiting for a free slot when the queue is full.
    pub fn send(&mut self, pair: u16, frame: &[u8]) -> Result<(), NetError> {
        if pair >= self.active {
            return Err(NetError::NoSuchPair {
                pair,
                active: self.active,
            });
        }
        let max = self.max_frame();
        if frame.len() > max {
            return Err(NetError::FrameTooLong {
                len: frame.len(),
                max,
            });
        }
        let p = pair as usize;
        if !self.tx[p].has_room() {
            self.tx[p].reap()?;
        }
        if !self.tx[p].has_room() {
            self.wait_until("a free transmit slot", |d| Ok(d.tx[p].reap()? > 0))?;
        }
        let pushed = self.tx[p].push(frame);
        debug_assert!(pushed, "a slot was free");
        if self.tx[p].q.kick(&self.pci)? {
            self.stats.notifies += 1;
        }
        self.stats.tx_frames += 1;
        self.stats.tx_bytes += frame.len() as u64;
        Ok(())
    }

    /// Waits until the device has sent every queued frame.
    pub fn flush_tx(&mut self) -> Result<(), NetError> {
        self.wait_until("transmit completions", |d| {
            for t in &mut d.tx {
                t.reap()?;
            }
            Ok(d.tx.iter().all(|t| t.in_flight() == 0))
        })
    }

    /// The next received frame on any receive queue, without waiting.
    /// The buffers it took are posted again.
    pub fn try_recv(&mut self) -> Result<Option<RxFrame>, NetError> {
        // Completed transmissions free their slots on the way.
        for t in &mut self.tx {
            t.reap()?;
        }
        let n = self.rx.len();
        for k in 0..n {
            let i = (self.next_rx + k) % n;
            if let Some(f) = self.rx[i].poll()? {
                self.next_rx = (i + 1) % n;
                if self.rx[i].refill(&self.pci)? {
                    self.stats.notifies += 1;
                }
                self.stats.rx_frames += 1;
                self.stats.rx_bytes += f.data.len() as u64;
                self.stats.rx_buffers += f.buffers as u64;
                return Ok(Some(f));
            }
        }
        Ok(None)
    }

    /// The next received frame, waiting up to `timeout`; `None` when none
    /// came.
    pub fn recv(&mut self, timeout: Duration) -> Result<Option<RxFrame>, NetError> {
        let mut got = None;
        match self.wait_for(timeout, |d| {
            got = d.try_recv()?;
            Ok(got.is_some())
        }) {
            Ok(true) => Ok(got),
            Ok(false) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Sends `cmd` on the control queue and waits for the device's ack
    /// (§5.1.6.5). On OK the driver takes the new state (MAC, pairs).
    pub fn ctrl(&mut self, cmd: CtrlCommand) -> Result<(), NetError> {
        let (feature, feature_name) = cmd.feature();
        if !self.pci.has(feature) {
            return Err(NetError::NotNegotiated {
                what: cmd.name(),
                feature: feature_name,
            });
        }
        if let CtrlCommand::VqPairsSet(p) = cmd
            && (p == 0 || p > self.pairs())
        {
            return Err(NetError::NoSuchPair {
                pair: p.saturating_sub(1),
                active: self.pairs(),
            });
        }
        let Some(c) = self.ctrl.as_mut() else {
            return Err(NetError::NotNegotiated {
                what: cmd.name(),
                feature: "VIRTIO_NET_F_CTRL_VQ",
            });
        };
        let (class, command) = cmd.code();
        let payload = cmd.payload();
        if CTRL_PAYLOAD + payload.len() > CTRL_ACK {
            return Err(NetError::CtrlTooLong(payload.len()));
        }
        c.mem.write(0, &[class, command]);
        c.mem.write(CTRL_PAYLOAD, &payload);
        // An ack the device never writes must not read as OK (0).
        c.mem.write(CTRL_ACK, &[0xFF]);
        let base = c.mem.iova();
        let chain = [
            Buf {
                addr: base,
                len: 2,
                write: false,
            },
            Buf {
                addr: base + CTRL_PAYLOAD as u64,
                len: payload.len() as u32,
                write: false,
            },
            Buf {
                addr: base + CTRL_ACK as u64,
                len: 1,
                write: true,
            },
        ];
        c.q.vq
            .add(&chain)
            .expect("the control queue holds one command at a time");
        if c.q.kick(&self.pci)? {
            self.stats.notifies += 1;
        }
        self.wait_until("the control queue's ack", |d| {
            let c = d.ctrl.as_mut().expect("checked above");
            Ok(c.q.vq.pop_used().is_some())
        })?;
        let mut ack = [0u8];
        self.ctrl
            .as_ref()
            .expect("checked above")
            .mem
            .read(CTRL_ACK, &mut ack);
        tracing::debug!(cmd = cmd.name(), ack = ack[0], "control command");
        match ack[0] {
            n::ctrl::OK => {}
            n::ctrl::ERR => return Err(NetError::CtrlRefused { class, command }),
            other => {
                return Err(NetError::CtrlBadAck {
                    class,
                    command,
                    ack: other,
                });
            }
        }
        self.stats.ctrl_commands += 1;
        match cmd {
            CtrlCommand::MacAddrSet(m) => self.config.mac = m,
            CtrlCommand::VqPairsSet(p) => self.active = p,
            _ => {}
        }
        Ok(())
    }

    /// RX_PROMISC on or off.
    pub fn set_promisc(&mut self, on: bool) -> Result<(), NetError> {
        self.ctrl(CtrlCommand::Promisc(on))
    }

    /// RX_ALLMULTI on or off.
    pub fn set_allmulti(&mut self, on: bool) -> Result<(), NetError> {
        self.ctrl(CtrlCommand::AllMulti(on))
    }

    /// MAC_ADDR_SET: the device filters for `mac` from now on.
    pub fn set_mac(&mut self, mac: Mac) -> Result<(), NetError> {
        self.ctrl(CtrlCommand::MacAddrSet(mac))
    }

    /// MAC_TABLE_SET.
    pub fn set_mac_table(&mut self, unicast: &[Mac], multicast: &[Mac]) -> Result<(), NetError> {
        self.ctrl(CtrlCommand::MacTableSet {
            unicast: unicast.to_vec(),
            multicast: multicast.to_vec(),
        })
    }

    /// MQ_VQ_PAIRS_SET: use the first `pairs` queue pairs.
    pub fn set_queue_pairs(&mut self, pairs: u16) -> Result<(), NetError> {
        self.ctrl(CtrlCommand::VqPairsSet(pairs))
    }

    /// [`Self::wait_for`] with the configured timeout, failing on timeout.
    fn wait_until(
        &mut self,
        what: &'static str,
        done: impl FnMut(&mut Self) -> Result<bool, NetError>,
    ) -> Result<(), NetError> {
        let timeout = self.opts.timeout;
        if self.wait_for(timeout, done)? {
            Ok(())
        } else {
            Err(NetError::Timeout { what, timeout })
        }
    }

    /// Checks `done` after every interrupt until it holds (true) or
    /// `timeout` passed (false). DEVICE_NEEDS_RESET ends the wait with an
    /// error.
    fn wait_for(
        &mut self,
        timeout: Duration,
        mut done: impl FnMut(&mut Self) -> Result<bool, NetError>,
    ) -> Result<bool, NetError> {
        let deadline = Instant::now() + timeout;
        let mut timed_out = false;
        loop {
            if done(self)? {
                if timed_out {
                    self.stats.lost_interrupts += 1;
                    tracing::warn!("buffers used without an interrupt");
                }
                return Ok(true);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            let fired = self.wait_irq(left.min(WAIT_SLICE))?;
            timed_out = fired == 0;
            self.pci.check_needs_reset()?;
        }
    }

    /// Waits for any of our eventfds; returns how many interrupts arrived.
    fn wait_irq(&mut self, timeout: Duration) -> Result<u64, NetError> {
        let mut fds: Vec<&EventFd> = vec![&self.config_irq];
        for (r, t) in self.rx.iter().zip(&self.tx) {
            fds.push(r.q.irq());
            fds.push(t.q.irq());
        }
        if let Some(c) = &self.ctrl {
            fds.push(c.q.irq());
        }
        let counts = wait_any(&fds, timeout).map_err(|e| NetError::Io("poll", e))?;
        if counts[0] > 0 {
            // §5.1.4: the link status may have changed.
            let mac = self.config.mac;
            self.config = NetConfig::read(&self.pci, self.pci.negotiated())?;
            self.config.mac = mac;
            tracing::info!(link_up = self.config.link_up(), "configuration change");
        }
        let n: u64 = counts.iter().sum();
        self.stats.interrupts += n;
        Ok(n)
    }
}

impl Drop for NetDriver {
    fn drop(&mut self) {
        queue::stop(&mut self.pci);
    }
}
