//! The simulated board, one clock cycle at a time: the engine backend, the
//! host-side models around its ports, and the firmware stepped with it.
//!
//! [`Machine::step`] runs one cycle. The firmware's `poll()` runs when the
//! hardware raises its management interrupt (`mgmt_irq`: an event waits),
//! every `fw_poll_interval` cycles while the firmware has work in progress
//! (a reset draining, a status to answer), and every
//! `fw_idle_poll_interval` cycles otherwise, as a soft CPU that sleeps on
//! its interrupt and a timer would. Each of its management-port accesses is
//! a real transaction on the engine's mgmt port, so the clock advances (and
//! every model with it) while the firmware reads and writes registers, as on
//! a board whose soft CPU shares the clock.
//!
//! The board has one [`Function`]: blk with its storage image on the
//! storage port, or net with a network port behind the MAC model on the
//! MAC streams.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::Arc;

use vfpga_abi::Personality;
use vfpga_abi::ports::MgmtRequest;
use vfpga_firmware::{BoardConfig, Firmware, Hal};

use crate::backend::Backend;
use crate::bus::HostBus;
use crate::clock::{ClockRate, Cycle};
use crate::dma::{DmaConfig, DmaFired, DmaModel};
use crate::error::SimError;
use crate::mmio::MmioModel;
use crate::msix::MsixModel;
use crate::net::mac::MacFired;
use crate::net::{MacConfig, MacModel, NetCounters, NetPort};
use crate::ports::{TopInputs, TopOutputs};
use crate::storage::{Image, StorageConfig, StorageFired, StorageModel};
use crate::vcd::VcdWriter;

/// Everything configurable about a simulated board.
#[derive(Debug, Clone)]
pub struct MachineConfig {
    /// Which function the hardware presents (the hardware decides; this
    /// chooses the configuration space image and must agree with it).
    pub personality: Personality,
    /// Nominal clock.
    pub clock: ClockRate,
    /// Host bus timing.
    pub dma: DmaConfig,
    /// Storage timing (blk).
    pub storage: StorageConfig,
    /// The MAC between the network port and the hardware (net).
    pub net: MacConfig,
    /// Device configuration the firmware presents (capacity is set from
    /// the storage image).
    pub board: BoardConfig,
    /// Cycles between firmware polls while it has work in progress.
    pub fw_poll_interval: u64,
    /// Cycles between firmware polls when it has none and no event waits:
    /// its check of what the hardware shows only on a read (ENGINE_STATUS,
    /// an event lost to overflow). Each poll is management traffic that
    /// keeps the simulator from skipping quiet cycles.
    pub fw_idle_poll_interval: u64,
    /// Keep transaction logs in the models.
    pub log: bool,
    /// Write a waveform of the top-level ports here.
    pub vcd: Option<PathBuf>,
    /// Cycles of reset at start.
    pub reset_cycles: u32,
    /// Cycles a management access may take before it is abandoned (reads
    /// then return all ones, like a bus error).
    pub mgmt_timeout: u64,
}

impl Default for MachineConfig {
    fn default() -> Self {
        MachineConfig {
            personality: Personality::Blk,
            clock: ClockRate::default(),
            dma: DmaConfig::default(),
            storage: StorageConfig::default(),
            net: MacConfig::default(),
            board: BoardConfig::DEFAULT,
            fw_poll_interval: 64,
            fw_idle_poll_interval: 1024,
            log: false,
            vcd: None,
            reset_cycles: 8,
            mgmt_timeout: 1 << 20,
        }
    }
}

/// What a board's function is wired to; it decides the personality.
#[derive(Debug)]
pub enum Function {
    /// A block device on this storage image.
    Blk(Image),
    /// A network device on this port.
    Net(Box<dyn NetPort>),
}

impl From<Image> for Function {
    fn from(image: Image) -> Self {
        Function::Blk(image)
    }
}

impl Function {
    /// A network device on `port`.
    pub fn net(port: impl NetPort + 'static) -> Function {
        Function::Net(Box::new(port))
    }

    /// The personality this function needs.
    pub fn personality(&self) -> Personality {
        match self {
            Function::Blk(_) => Personality::Blk,
            Function::Net(_) => Personality::Net,
        }
    }
}

/// The clocked part: the engine and the models on its ports.
#[derive(Debug)]
pub struct Core {
    backend: Box<dyn Backend>,
    now: Cycle,
    /// The host's DMA target.
    pub dma: DmaModel,
    /// The block storage (blk; an empty image on a net board).
    pub storage: StorageModel,
    /// The MAC and its network port (net).
    pub net: Option<MacModel>,
    /// MSI-X delivery.
    pub msix: MsixModel,
    /// The host's MMIO master.
    pub mmio: MmioModel,
    bus: Arc<HostBus>,
    vcd: Option<VcdWriter<BufWriter<File>>>,
    mgmt_req: Option<MgmtRequest>,
    mgmt_rsp: Option<u32>,
    /// The hardware's `idle` output was high in the last cycle, and no
    /// input channel carried a beat then: it stays idle until one does.
    hw_idle: bool,
    /// The last cycle the hardware was not idle.
    last_busy: Cycle,
    /// The hardware's `mgmt_irq` output in the last cycle.
    mgmt_irq: bool,
    /// Consecutive cycles the MAC offered an RX beat the hardware refused.
    mac_rx_refused: u64,
    /// No handshake fired on any port in the last cycle.
    last_cycle_quiet: bool,
    /// Cycles [`Core::warp`] jumped over.
    warped: u64,
}

/// Cycles of refused RX beats, with nothing else in flight, after which a
/// frame is taken to be waiting for RX buffers only the driver can post.
/// Longer than the hardware waits for a buffer when a frame starts (it
/// drops the frame after `RX_WAIT_CYCLES`), so only a frame stopped in the
/// middle, which waits for the driver for as long as it takes, counts.
pub const RX_STALL_CYCLES: u64 = 2 * (vfpga_hdl::net::rx::RX_WAIT_CYCLES + 1);

impl std::fmt::Debug for dyn Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Backend({})", self.kind().name())
    }
}

impl Core {
    /// Current cycle.
    pub fn now(&self) -> Cycle {
        self.now
    }

    /// The shared host state.
    pub fn bus(&self) -> &Arc<HostBus> {
        &self.bus
    }

    /// The hardware's `idle` output was high in the last cycle and no input
    /// channel carried a beat in it: the hardware holds no work and will
    /// not find any until an input arrives.
    pub fn hardware_idle(&self) -> bool {
        self.hw_idle
    }

    /// Cycles the backend skipped because they provably changed nothing
    /// (see [`Backend::skipped_cycles`]).
    pub fn skipped_cycles(&self) -> u64 {
        self.backend.skipped_cycles()
    }

    /// Whether every host-side model has nothing in flight.
    pub fn models_quiet(&self) -> bool {
        self.dma.is_quiet()
            && self.storage.is_quiet()
            && self.mmio.is_quiet()
            && self.mgmt_req.is_none()
            && self.net.as_ref().is_none_or(MacModel::is_quiet)
    }

    /// Reads every frame waiting at the network port into the MAC FIFO
    /// (the clock thread calls it when the port woke it).
    pub fn poll_net(&mut self) {
        let now = self.now;
        if let Some(n) = &mut self.net {
            n.poll_port(now);
        }
    }

    /// The network port's wake-up descriptor, if it has one.
    pub fn net_wake_fd(&self) -> Option<std::os::fd::RawFd> {
        self.net.as_ref().and_then(MacModel::wake_fd)
    }

    /// What the host-side models drive into the hardware in this cycle.
    fn inputs(&self) -> TopInputs {
        let dd = self.dma.drive(self.now);
        let sd = self.storage.drive();
        let md = self.mmio.drive();
        let nd = self.net.as_ref().map(MacModel::drive).unwrap_or_default();
        let pci = self.bus.pci_inputs();
        TopInputs {
            mmio_req: md.req,
            mmio_rsp_ready: md.rsp_ready,
            dma_rd_req_ready: dd.rd_req_ready,
            dma_rd_cpl: dd.rd_cpl,
            dma_wr_ready: dd.wr_ready,
            dma_wr_rsp: dd.wr_rsp,
            msix_ready: true,
            blk_cmd_ready: sd.cmd_ready,
            blk_wdata_ready: sd.wdata_ready,
            blk_rdata: sd.rdata,
            blk_cpl: sd.cpl,
            mgmt_req: self.mgmt_req,
            mgmt_rsp_ready: true,
            msix_enable: pci.msix_enable,
            msix_function_mask: pci.msix_function_mask,
            bus_master: pci.bus_master,
            mac_tx_ready: nd.tx_ready,
            mac_rx: nd.rx,
        }
    }

    /// Jumps the clock over the cycles before `until` that provably repeat
    /// the last one, without running any model; returns how many it
    /// jumped (0 when the next cycle must run).
    ///
    /// The last cycle moved no beat on any port, the backend is at a fixed
    /// point of its inputs (its state and outputs stay put while they do)
    /// and this cycle's inputs are the same: every cycle after it is the
    /// same again, until a host-side model acts on its own (a read or a
    /// storage command becomes due, a write response, the MAC's port poll).
    /// The cycle before such an event runs normally, as does everything
    /// while a waveform is written or the firmware's interrupt is up.
    pub fn warp(&mut self, until: Cycle) -> u64 {
        if !self.last_cycle_quiet
            || self.vcd.is_some()
            || self.mgmt_irq
            || self.mgmt_req.is_some()
            || !self.dma.links_full()
        {
            return 0;
        }
        let mut end = until;
        for due in [self.dma.next_event(), self.storage.next_event()]
            .into_iter()
            .flatten()
        {
            end = end.min(due.saturating_sub(1));
        }
        if let Some(n) = &self.net {
            end = end.min(n.next_port_poll());
        }
        if end <= self.now {
            return 0;
        }
        let n = end - self.now;
        let inp = self.inputs();
        if !self.backend.skip_if_fixed(&inp, n) {
            return 0;
        }
        // What `step` would have recorded for each of them.
        if self.mac_rx_refused > 0 {
            self.mac_rx_refused += n;
        }
        if self.last_busy + 1 == self.now {
            self.last_busy = end - 1;
        }
        self.now = end;
        self.warped += n;
        n
    }

    /// Cycles the clock jumped over without running any model (a part of
    /// [`Core::skipped_cycles`]; see [`Core::warp`]).
    pub fn warped_cycles(&self) -> u64 {
        self.warped
    }

    /// One clock cycle.
    pub fn step(&mut self) {
        let now = self.now;
        let inp = self.inputs();
        let out = self.backend.settle(&inp);
        if let Some(v) = &mut self.vcd
            && let Err(e) = v.sample(now, &inp, &out)
        {
            tracing::error!(%e, "VCD trace stopped");
            self.vcd = None;
        }
        self.backend.edge();
        self.clock_models(now, &inp, &out);
        if inp.mac_rx.is_some() && !out.mac_rx_ready {
            self.mac_rx_refused += 1;
        } else {
            self.mac_rx_refused = 0;
        }
        self.mgmt_irq = out.mgmt_irq;
        let host_quiet = inp.host_channels_quiet();
        self.hw_idle = out.idle && host_quiet && inp.mgmt_req.is_none();
        // The firmware's own management beats do not count: it polls
        // forever. What they cause in the hardware (an interrupt to send)
        // shows on `idle`.
        if !(out.idle && host_quiet) {
            self.last_busy = now;
        }
        self.now += 1;
    }

    fn clock_models(&mut self, now: Cycle, inp: &TopInputs, out: &TopOutputs) {
        let dma = DmaFired {
            rd_req: out.dma_rd_req.filter(|_| inp.dma_rd_req_ready),
            rd_cpl: inp.dma_rd_cpl.is_some() && out.dma_rd_cpl_ready,
            wr: out.dma_wr.filter(|_| inp.dma_wr_ready),
            wr_rsp: inp.dma_wr_rsp.is_some() && out.dma_wr_rsp_ready,
        };
        let storage = StorageFired {
            cmd: out.blk_cmd.filter(|_| inp.blk_cmd_ready),
            wdata: out.blk_wdata.filter(|_| inp.blk_wdata_ready),
            rdata: inp.blk_rdata.is_some() && out.blk_rdata_ready,
            cpl: inp.blk_cpl.is_some() && out.blk_cpl_ready,
        };
        let mac = MacFired {
            rx: inp.mac_rx.is_some() && out.mac_rx_ready,
            tx: out.mac_tx.filter(|_| inp.mac_tx_ready),
        };
        let msix = out.msix.filter(|_| inp.msix_ready);
        let mmio_req = inp.mmio_req.is_some() && out.mmio_req_ready;
        let mmio_rsp = out.mmio_rsp.filter(|_| inp.mmio_rsp_ready);
        let mgmt_req = self.mgmt_req.is_some() && out.mgmt_req_ready;
        let mgmt_rsp = out.mgmt_rsp.filter(|_| inp.mgmt_rsp_ready);
        self.last_cycle_quiet = dma == DmaFired::default()
            && storage == StorageFired::default()
            && mac == MacFired::default()
            && msix.is_none()
            && !mmio_req
            && mmio_rsp.is_none()
            && !mgmt_req
            && mgmt_rsp.is_none();
        let bus = &self.bus;
        self.dma.clock(now, dma, || bus.iommu(), inp.bus_master);
        self.storage.clock(now, storage);
        if let Some(n) = &mut self.net {
            n.clock(now, mac);
        }
        self.msix.clock(now, msix);
        self.mmio.clock(now, mmio_req, mmio_rsp);
        if mgmt_req {
            self.mgmt_req = None;
        }
        if let Some(r) = mgmt_rsp {
            self.mgmt_rsp = Some(r.rdata);
        }
    }

    /// One management-port transaction, clocking until it completes. Every
    /// request, write or read, gets one response beat (writes return 0).
    fn mgmt_access(&mut self, req: MgmtRequest, timeout: u64) -> u32 {
        self.mgmt_req = Some(req);
        self.mgmt_rsp = None;
        let start = self.now;
        while self.mgmt_req.is_some() || self.mgmt_rsp.is_none() {
            if self.now - start > timeout {
                tracing::error!(?req, "management access timed out");
                self.mgmt_req = None;
                return u32::MAX;
            }
            self.step();
        }
        self.mgmt_rsp.take().unwrap_or(0)
    }
}

/// The firmware's view of the management port: the [`Core`], lent to it
/// for the duration of one `poll()`.
#[derive(Debug)]
pub struct MgmtHal {
    core: Option<Box<Core>>,
    timeout: u64,
}

impl MgmtHal {
    fn core(&mut self) -> &mut Core {
        self.core
            .as_mut()
            .expect("the core is lent to the firmware for every call into it")
    }
}

impl Hal for MgmtHal {
    fn read(&mut self, addr: u16) -> u32 {
        let t = self.timeout;
        self.core().mgmt_access(
            MgmtRequest {
                addr,
                write: false,
                wdata: 0,
            },
            t,
        )
    }

    fn write(&mut self, addr: u16, value: u32) {
        let t = self.timeout;
        self.core().mgmt_access(
            MgmtRequest {
                addr,
                write: true,
                wdata: value,
            },
            t,
        );
    }
}

/// A simulated board.
#[derive(Debug)]
pub struct Machine {
    cfg: MachineConfig,
    core: Option<Box<Core>>,
    fw: Firmware<MgmtHal>,
    poll_interval: u64,
    idle_poll_interval: u64,
    next_poll: Cycle,
    /// When the last firmware poll started.
    last_poll: Cycle,
    /// Firmware polls so far.
    polls: u64,
}

impl Machine {
    /// Resets the hardware, starts the firmware on it and returns the board.
    /// `function` (an [`Image`] for blk, or [`Function::Net`]) must match
    /// the backend's personality; it sets `cfg.personality`.
    pub fn new(
        backend: Box<dyn Backend>,
        cfg: MachineConfig,
        function: impl Into<Function>,
        bus: Arc<HostBus>,
    ) -> Result<Self, SimError> {
        Machine::build(backend, cfg, function.into(), bus, Arc::default())
    }

    fn build(
        mut backend: Box<dyn Backend>,
        mut cfg: MachineConfig,
        function: Function,
        bus: Arc<HostBus>,
        counters: Arc<NetCounters>,
    ) -> Result<Self, SimError> {
        let personality = function.personality();
        if backend.personality() != personality {
            return Err(SimError::Personality {
                backend: backend.personality().name(),
                function: personality.name(),
            });
        }
        cfg.personality = personality;
        let (image, net) = match function {
            Function::Blk(image) => (image, None),
            Function::Net(port) => {
                tracing::info!(port = %port.describe(), "network port");
                (
                    Image::ram(0)?,
                    Some(MacModel::with_counters(
                        cfg.net.clone(),
                        port,
                        cfg.log,
                        counters,
                    )),
                )
            }
        };
        backend.reset(cfg.reset_cycles);
        let vcd = match &cfg.vcd {
            Some(p) => {
                let f = File::create(p).map_err(SimError::Trace)?;
                Some(VcdWriter::new(BufWriter::new(f), cfg.clock).map_err(SimError::Trace)?)
            }
            None => None,
        };
        let keep = cfg.clone();
        let mut board = cfg.board;
        if personality == Personality::Blk {
            board.blk.capacity = image.sectors();
        }
        let core = Box::new(Core {
            backend,
            now: 0,
            dma: DmaModel::new(DmaConfig {
                log: cfg.log,
                ..cfg.dma.clone()
            }),
            storage: StorageModel::new(cfg.storage.clone(), image),
            net,
            msix: MsixModel::new(bus.msix_routes.clone(), cfg.log),
            mmio: MmioModel::new(cfg.log),
            bus,
            vcd,
            mgmt_req: None,
            mgmt_rsp: None,
            hw_idle: false,
            last_busy: 0,
            mgmt_irq: false,
            mac_rx_refused: 0,
            last_cycle_quiet: false,
            warped: 0,
        });
        let hal = MgmtHal {
            core: Some(core),
            timeout: cfg.mgmt_timeout,
        };
        let mut fw = Firmware::new(hal, board).map_err(SimError::Firmware)?;
        let core = fw.hal_mut().core.take();
        Ok(Machine {
            cfg: keep,
            core,
            fw,
            poll_interval: cfg.fw_poll_interval.max(1),
            idle_poll_interval: cfg.fw_idle_poll_interval.max(1),
            next_poll: 0,
            last_poll: 0,
            polls: 0,
        })
    }

    /// Function-level reset: the hardware is reset and the firmware
    /// restarted on it; the storage image or the network port (and its
    /// counters) and the host state are kept; frames in the MAC FIFO are
    /// lost.
    pub fn reset(mut self) -> Result<Machine, SimError> {
        let core = self.core.take().expect("the core is back after every poll");
        let Core {
            backend,
            storage,
            bus,
            net,
            ..
        } = *core;
        let (function, counters) = match net {
            Some(mac) => {
                let counters = Arc::clone(mac.counters());
                (Function::Net(mac.into_port()), counters)
            }
            None => (Function::Blk(storage.into_image()), Arc::default()),
        };
        Machine::build(backend, self.cfg, function, bus, counters)
    }

    /// The clocked part.
    pub fn core(&self) -> &Core {
        self.core
            .as_ref()
            .expect("the core is back after every poll")
    }

    /// The clocked part, to queue MMIO or inspect models.
    pub fn core_mut(&mut self) -> &mut Core {
        self.core
            .as_mut()
            .expect("the core is back after every poll")
    }

    /// Firmware polls so far.
    pub fn polls(&self) -> u64 {
        self.polls
    }

    /// The firmware (its state, counters).
    pub fn firmware(&self) -> &Firmware<MgmtHal> {
        &self.fw
    }

    /// Current cycle.
    pub fn now(&self) -> Cycle {
        self.core().now
    }

    /// One clock cycle, and a firmware poll when one is due (which itself
    /// runs cycles).
    pub fn step(&mut self) {
        self.core_mut().step();
        self.poll_if_due();
    }

    /// Advances the clock by up to `max` cycles (at least one, more when a
    /// poll in progress finishes): over a quiet stretch in one jump
    /// ([`Core::warp`], never past the firmware's next poll), else one
    /// [`Machine::step`]. Returns the cycles advanced. The result is the
    /// same as stepping cycle by cycle.
    pub fn advance(&mut self, max: u64) -> u64 {
        let start = self.now();
        let until = self.next_poll.min(start + max.max(1));
        if self.core_mut().warp(until) == 0 {
            self.core_mut().step();
        }
        self.poll_if_due();
        self.now() - start
    }

    fn poll_if_due(&mut self) {
        let c = self.core();
        if c.mgmt_irq || c.now >= self.next_poll {
            self.last_poll = c.now;
            self.polls += 1;
            self.fw.hal_mut().core = self.core.take();
            self.fw.poll();
            self.core = self.fw.hal_mut().core.take();
            let wait = if self.fw.has_work() {
                self.poll_interval
            } else {
                self.idle_poll_interval
            };
            self.next_poll = self.core().now + wait;
        }
    }

    /// Reads a management register as the firmware would, clocking the
    /// board until the hardware answers (for tests and diagnostics: the
    /// net hardware's drop counters, for instance).
    pub fn mgmt_read(&mut self, addr: u16) -> u32 {
        let t = self.cfg.mgmt_timeout;
        self.core_mut().mgmt_access(
            MgmtRequest {
                addr,
                write: false,
                wdata: 0,
            },
            t,
        )
    }

    /// Runs `cycles` cycles (at least; a poll in progress finishes).
    pub fn run(&mut self, cycles: u64) {
        let end = self.now() + cycles;
        while self.now() < end {
            let left = end - self.now();
            self.advance(left);
        }
    }

    /// A received frame has waited [`RX_STALL_CYCLES`] for RX buffers with
    /// no DMA, MMIO or management access in flight: the hardware stopped
    /// in the middle of a frame until the driver posts buffers and kicks
    /// receiveq (virtio 1.2 §5.1.6.3.1), which only the host can do. The
    /// clock thread then sleeps as when idle (with a timeout, in case the
    /// guess is wrong): it would otherwise spin while a guest does not
    /// refill its RX ring.
    pub fn waiting_for_rx_buffers(&self) -> bool {
        let c = self.core();
        c.mac_rx_refused >= RX_STALL_CYCLES
            && c.dma.is_quiet()
            && c.mmio.is_quiet()
            && c.mgmt_req.is_none()
    }

    /// Nothing to do until the host acts: no transaction in flight in any
    /// model, the hardware's `idle` output high in a cycle with no input
    /// beat, and the firmware with no work in progress.
    pub fn is_idle(&self) -> bool {
        self.busy_reason().is_none()
    }

    /// What keeps the board from being idle, if anything (for logs and tests).
    pub fn busy_reason(&self) -> Option<&'static str> {
        let c = self.core();
        if !c.dma.is_quiet() {
            Some("DMA in flight")
        } else if !c.storage.is_quiet() {
            Some("storage command in flight")
        } else if !c.mmio.is_quiet() {
            Some("MMIO transaction pending")
        } else if !c.net.as_ref().is_none_or(MacModel::is_quiet) {
            Some("network frames at the MAC")
        } else if !c.hw_idle {
            Some("hardware not idle (top-level idle output)")
        } else if self.last_poll <= c.last_busy {
            // What the hardware left for the firmware without raising an
            // event (an engine error cause, a queue that stopped) is seen
            // only by a poll: one must run after the last busy cycle, or a
            // DMA fault would wait for the host's next access to be
            // reported (DEVICE_NEEDS_RESET, config interrupt).
            Some("firmware has not polled since the hardware went idle")
        } else if self.fw.is_resetting() {
            Some("firmware reset in progress")
        } else if (0..self.fw.num_queues()).any(|q| self.fw.queue(q).is_some_and(|s| s.resetting)) {
            Some("firmware queue reset in progress")
        } else {
            None
        }
    }
}
