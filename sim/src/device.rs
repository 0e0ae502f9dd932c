//! [`SimDevice`]: the simulated board behind `vfpga-host`'s [`Device`]
//! trait, so that the userspace driver and the vDPA front ends cannot tell
//! it from a board behind VFIO.
//!
//! The board runs on a clock thread of its own. BAR accesses become
//! transactions on the engine's MMIO port: writes are posted (queued in
//! order), reads wait for their response while the clock keeps running
//! (the hardware holds device_status reads until the firmware answers).
//! When the board is idle the clock thread sleeps in `poll(2)` on a wake-up
//! eventfd, on the attached doorbell eventfds and, for net, on the network
//! port (a frame arriving wakes it).
//!
//! A blk board: [`SimDevice::new`] with a [`SimConfig`]. A net board:
//! [`SimDevice::with_function`] with [`Function::Net`] (a port opened from
//! a [`crate::net::PortSpec`], or one end of [`crate::net::link::link`]).

use std::collections::VecDeque;
use std::ops::Range;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use vfpga_abi::bar0;
use vfpga_abi::msix as msix_layout;
use vfpga_abi::ports::MmioRequest;
use vfpga_host::{Device, DeviceError, DmaMapping, Result};
use vmm_sys_util::eventfd::EventFd;

use crate::backend::{self, BackendKind};
use crate::bus::HostBus;
use crate::error::SimError;
use crate::idle::Waker;
use crate::iommu::{Iommu, MapError};
use crate::machine::{Function, Machine, MachineConfig};
use crate::mmio::{MmioOp, split};
use crate::net::{NetCounters, NetStats};
use crate::pci::ConfigSpace;
use crate::storage::Image;

/// How long a board whose received frame waits for RX buffers sleeps
/// before it looks again (a doorbell or any host access wakes it sooner).
const RX_STALL_RECHECK: std::time::Duration = std::time::Duration::from_millis(20);

/// MSI address a host kernel programs (x86 LAPIC window); only its presence
/// matters to the model, which routes by vector.
const MSI_ADDRESS: u64 = 0xFEE0_0000;

/// How to build a simulated blk board (see [`SimDevice::with_function`]
/// for any personality).
#[derive(Debug)]
pub struct SimConfig {
    /// Engine backend; `None` picks Verilator when built, else rust-hdl.
    pub backend: Option<BackendKind>,
    /// The board.
    pub machine: MachineConfig,
    /// The storage image.
    pub image: Image,
}

enum Cmd {
    Mmio(MmioOp),
    Reset,
}

struct Doorbell {
    fd: EventFd,
    addr: u32,
    data: u32,
}

struct Shared {
    bus: Arc<HostBus>,
    waker: Waker,
    ops: Mutex<VecDeque<Cmd>>,
    ops_pending: AtomicBool,
    doorbells: Mutex<Vec<Doorbell>>,
    doorbells_changed: AtomicBool,
    stop: AtomicBool,
    alive: AtomicBool,
    /// The machine's cycle count, published by the clock thread.
    cycles: AtomicU64,
    /// The network counters of a net board.
    net: Option<Arc<NetCounters>>,
}

impl Shared {
    fn push(&self, ops: impl IntoIterator<Item = MmioOp>) {
        self.push_cmds(ops.into_iter().map(Cmd::Mmio));
    }

    fn push_cmds(&self, cmds: impl IntoIterator<Item = Cmd>) {
        let mut ops = self.ops.lock().unwrap_or_else(PoisonError::into_inner);
        ops.extend(cmds);
        if !self.alive.load(Ordering::Acquire) {
            // No clock thread to answer: dropping the reply closures ends
            // the callers' waits with an error.
            ops.clear();
        }
        drop(ops);
        self.ops_pending.store(true, Ordering::Release);
        self.waker.wake();
    }
}

/// A simulated vfpga board.
pub struct SimDevice {
    shared: Arc<Shared>,
    describe: String,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for SimDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimDevice")
            .field("describe", &self.describe)
            .finish_non_exhaustive()
    }
}

fn gone(e: impl std::fmt::Display) -> DeviceError {
    DeviceError::Gone(e.to_string())
}

fn map_err(e: MapError) -> DeviceError {
    match e {
        MapError::OutOfRange { iova, size } => DeviceError::IovaOutOfRange { iova, size },
        MapError::Overlap { iova, size } => DeviceError::MappingOverlap { iova, size },
        MapError::NoMapping { iova, size } => DeviceError::NoMapping { iova, size },
        MapError::Unaligned { .. } => DeviceError::Unsupported("DMA mappings must be page aligned"),
    }
}

impl SimDevice {
    /// Builds a blk board, resets it, starts its firmware and its clock thread.
    pub fn new(cfg: SimConfig) -> std::result::Result<SimDevice, SimError> {
        SimDevice::with_function(cfg.backend, cfg.machine, Function::Blk(cfg.image))
    }

    /// Builds a board with `function` (its personality follows from it:
    /// `machine.personality` is overridden), resets it, starts its firmware
    /// and its clock thread. `backend: None` picks Verilator when its model
    /// of that personality was built, else rust-hdl.
    pub fn with_function(
        backend: Option<BackendKind>,
        mut machine: MachineConfig,
        function: Function,
    ) -> std::result::Result<SimDevice, SimError> {
        let personality = function.personality();
        machine.personality = personality;
        let backend = backend::create_for(backend, personality)?;
        let kind = backend.kind();
        tracing::info!(
            backend = kind.name(),
            verilator = backend::verilator_status_for(personality),
            "simulated {} device starting",
            personality.name()
        );
        let bus = Arc::new(HostBus::new(personality, Iommu::default()));
        // As after vfio-pci opened the function: memory decoding on, bus
        // mastering left to the driver.
        bus.with_config(|c| c.set_memory(true));
        let machine = Machine::new(backend, machine, function, Arc::clone(&bus))?;
        let net = machine
            .core()
            .net
            .as_ref()
            .map(|m| Arc::clone(m.counters()));
        let shared = Arc::new(Shared {
            bus,
            waker: Waker::new()?,
            ops: Mutex::new(VecDeque::new()),
            ops_pending: AtomicBool::new(false),
            doorbells: Mutex::new(Vec::new()),
            doorbells_changed: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            alive: AtomicBool::new(true),
            cycles: AtomicU64::new(0),
            net,
        });
        let s = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("vfpga-sim-clock".into())
            .spawn(move || clock_thread(machine, &s))
            .map_err(|source| SimError::Io {
                op: "spawning the clock thread",
                source,
            })?;
        Ok(SimDevice {
            shared,
            describe: format!("sim {} ({})", personality.name(), kind.name()),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// What the network port and the MAC saw (net boards; `None` for blk).
    /// The hardware's own counters (RX_DROP_NOBUF, ...) are on the
    /// management port, read by firmware.
    pub fn net_stats(&self) -> Option<NetStats> {
        self.shared.net.as_ref().map(|c| c.snapshot())
    }

    /// The host-side state (IOMMU fault count, configuration space).
    pub fn bus(&self) -> &Arc<HostBus> {
        &self.shared.bus
    }

    fn check_bar(&self, bar: u8, offset: u64, len: usize) -> Result<()> {
        if bar != bar0::BAR_INDEX {
            return Err(DeviceError::NoSuchBar(bar));
        }
        if offset
            .checked_add(len as u64)
            .is_none_or(|end| end > u64::from(bar0::SIZE))
        {
            return Err(DeviceError::OutOfRange {
                what: "BAR0",
                offset,
                len,
                size: bar0::SIZE.into(),
            });
        }
        if !self.shared.alive.load(Ordering::Acquire) {
            return Err(gone("the clock thread stopped"));
        }
        Ok(())
    }

    fn bar_write_ops(offset: u64, data: &[u8]) -> Result<Vec<MmioOp>> {
        let dwords = split(offset, data.len()).map_err(|e| DeviceError::BadAccess {
            offset: e.offset,
            len: e.len,
        })?;
        let mut pos = 0;
        Ok(dwords
            .into_iter()
            .map(|d| {
                let mut v = 0u32;
                for i in 0..d.len {
                    v |= u32::from(data[pos + i]) << (8 * (d.lane as usize + i));
                }
                pos += d.len;
                MmioOp {
                    req: MmioRequest {
                        addr: d.addr,
                        write: true,
                        wdata: v,
                        strb: d.strb,
                    },
                    reply: None,
                }
            })
            .collect())
    }

    fn mmio_write(&self, offset: u64, data: &[u8]) -> Result<()> {
        let ops = Self::bar_write_ops(offset, data)?;
        self.shared.push(ops);
        Ok(())
    }

    fn mmio_read(&self, offset: u64, data: &mut [u8]) -> Result<()> {
        let dwords = split(offset, data.len()).map_err(|e| DeviceError::BadAccess {
            offset: e.offset,
            len: e.len,
        })?;
        let (tx, rx) = mpsc::channel();
        let ops: Vec<MmioOp> = dwords
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let tx = tx.clone();
                MmioOp {
                    req: MmioRequest {
                        addr: d.addr,
                        write: false,
                        wdata: 0,
                        strb: d.strb,
                    },
                    reply: Some(Box::new(move |v: u32| {
                        let _ = tx.send((i, v));
                    })),
                }
            })
            .collect();
        drop(tx);
        self.shared.push(ops);
        let mut pos = 0;
        for (i, d) in dwords.iter().enumerate() {
            // The clock thread drops the reply closures if it dies, which
            // ends this wait with an error instead of a hang.
            let (j, v) = rx.recv().map_err(|_| gone("the clock thread stopped"))?;
            debug_assert_eq!(i, j, "responses come in order");
            for k in 0..d.len {
                data[pos + k] = (v >> (8 * (d.lane as usize + k))) as u8;
            }
            pos += d.len;
        }
        Ok(())
    }
}

/// Marks the device gone when the clock thread ends, normally or by a
/// panic in the simulation, and fails every transaction still queued.
struct Gone<'a>(&'a Shared);

impl Drop for Gone<'_> {
    fn drop(&mut self) {
        self.0.alive.store(false, Ordering::Release);
        self.0
            .ops
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

fn clock_thread(mut machine: Machine, s: &Shared) {
    let _gone = Gone(s);
    let mut doorbells: Vec<(std::os::fd::RawFd, u32, u32)> = Vec::new();
    let mut since_doorbell_check = 0u64;
    while !s.stop.load(Ordering::Acquire) {
        // A load first: the swap is a locked instruction, paid every cycle.
        if s.ops_pending.load(Ordering::Acquire) && s.ops_pending.swap(false, Ordering::AcqRel) {
            let cmds: Vec<Cmd> = s
                .ops
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .drain(..)
                .collect();
            for cmd in cmds {
                match cmd {
                    Cmd::Reset => {
                        machine = match machine.reset() {
                            Ok(m) => m,
                            Err(e) => {
                                tracing::error!(%e, "function reset failed; the device is gone");
                                return;
                            }
                        }
                    }
                    Cmd::Mmio(op) if s.bus.pci_inputs().memory => machine.core_mut().mmio.push(op),
                    Cmd::Mmio(op) => {
                        // Memory space disabled: the access is not claimed;
                        // a read completes as all ones, as on PCIe.
                        if let Some(reply) = op.reply {
                            reply(u32::MAX);
                        }
                    }
                }
            }
        }
        if s.doorbells_changed.load(Ordering::Acquire)
            && s.doorbells_changed.swap(false, Ordering::AcqRel)
        {
            doorbells = s
                .doorbells
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .map(|d| (d.fd.as_raw_fd(), d.addr, d.data))
                .collect();
        }
        if since_doorbell_check >= 64 && !doorbells.is_empty() {
            since_doorbell_check = 0;
            forward_doorbells(&mut machine, &doorbells);
        }
        // Up to as many cycles as the doorbells are checked apart: quiet
        // stretches in one jump.
        since_doorbell_check += machine.advance(64);
        s.cycles.store(machine.now(), Ordering::Relaxed);
        let stalled = !machine.is_idle() && machine.waiting_for_rx_buffers();
        if machine.is_idle() || stalled {
            tracing::trace!(
                cycle = machine.now(),
                "board idle: sleeping until the host acts"
            );
            let fds: Vec<_> = doorbells
                .iter()
                .map(|d| d.0)
                .chain(machine.core().net_wake_fd())
                .collect();
            // A frame waiting for RX buffers sleeps like idle, but wakes
            // now and then in case something else was under way.
            let timeout = stalled.then_some(RX_STALL_RECHECK);
            match s.waker.wait(&fds, timeout) {
                Ok(_) => {
                    forward_doorbells(&mut machine, &doorbells);
                    // A frame that woke us goes into the MAC FIFO now, so
                    // the board is busy and does not sleep again on it.
                    machine.core_mut().poll_net();
                }
                Err(e) => {
                    tracing::error!(%e, "clock thread wait failed");
                    break;
                }
            }
        }
    }
}

/// Turns signalled doorbell eventfds into notify-region writes.
fn forward_doorbells(machine: &mut Machine, doorbells: &[(std::os::fd::RawFd, u32, u32)]) {
    for &(fd, addr, data) in doorbells {
        // The kick eventfd belongs to the frontend and may be blocking:
        // read it only when poll says it has a count.
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, no timeout.
        if unsafe { libc::poll(&mut pfd, 1, 0) } != 1 {
            continue;
        }
        let mut count = 0u64;
        // SAFETY: reads 8 bytes into `count` from an eventfd we keep open
        // (the Doorbell entry owns it for as long as it is listed).
        let n = unsafe { libc::read(fd, (&mut count as *mut u64).cast(), 8) };
        if n == 8 && count > 0 {
            tracing::trace!(cycle = machine.now(), doorbell = data, "kick");
            // Kicks coalesce: the engine re-reads avail.idx on each one.
            machine.core_mut().mmio.push(MmioOp {
                req: MmioRequest {
                    addr,
                    write: true,
                    wdata: data,
                    strb: 0xF,
                },
                reply: None,
            });
        }
    }
}

impl Drop for SimDevice {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.waker.wake();
        if let Some(t) = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            && t.join().is_err()
        {
            tracing::error!("the clock thread panicked");
        }
    }
}

impl Device for SimDevice {
    fn simulated_cycles(&self) -> Option<u64> {
        Some(self.shared.cycles.load(Ordering::Relaxed))
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }

    fn config_read(&self, offset: u16, data: &mut [u8]) -> Result<()> {
        let len = data.len();
        let out_of_range = || DeviceError::OutOfRange {
            what: "config space",
            offset: offset.into(),
            len,
            size: vfpga_abi::pci::CONFIG_SPACE_SIZE as u64,
        };
        if ConfigSpace::is_pci_cfg_data(offset, data.len()) {
            // VIRTIO_PCI_CAP_PCI_CFG (§4.1.4.9): the window reads BAR memory.
            let (bar, off, len) = self.bus().config().pci_cfg_window();
            if matches!(len, 1 | 2 | 4) {
                let mut v = [0u8; 4];
                self.bar_read(bar, off.into(), &mut v[..len as usize])?;
                self.bus().with_config(|c| c.set_pci_cfg_data(v));
            }
        }
        self.bus()
            .config()
            .read(offset, data)
            .ok_or_else(out_of_range)
    }

    fn config_write(&self, offset: u16, data: &[u8]) -> Result<()> {
        self.bus()
            .with_config(|c| c.write(offset, data))
            .ok_or(DeviceError::OutOfRange {
                what: "config space",
                offset: offset.into(),
                len: data.len(),
                size: vfpga_abi::pci::CONFIG_SPACE_SIZE as u64,
            })?;
        if ConfigSpace::is_pci_cfg_data(offset, data.len()) {
            let (bar, off, len) = self.bus().config().pci_cfg_window();
            if matches!(len, 1 | 2 | 4) {
                let mut v = [0u8; 4];
                self.bus().config().read(offset, &mut v[..data.len()]);
                self.bar_write(bar, off.into(), &v[..len as usize])?;
            }
        }
        // MSI-X enable/mask and bus master are inputs of the hardware: a
        // pending vector unmasked here must be sent now, not at the next
        // BAR access of a board that is asleep.
        self.shared.waker.wake();
        Ok(())
    }

    fn bar_size(&self, bar: u8) -> Option<u64> {
        (bar == bar0::BAR_INDEX).then_some(bar0::SIZE.into())
    }

    fn bar_read(&self, bar: u8, offset: u64, data: &mut [u8]) -> Result<()> {
        self.check_bar(bar, offset, data.len())?;
        self.mmio_read(offset, data)
    }

    fn bar_write(&self, bar: u8, offset: u64, data: &[u8]) -> Result<()> {
        self.check_bar(bar, offset, data.len())?;
        self.mmio_write(offset, data)
    }

    fn iova_ranges(&self) -> Vec<Range<u64>> {
        self.bus().iommu().iova_ranges().to_vec()
    }

    unsafe fn dma_map(&self, mapping: DmaMapping) -> Result<()> {
        // SAFETY: forwarded from this function's own contract.
        unsafe {
            self.bus()
                .iommu_mut()
                .map(mapping.iova, mapping.size, mapping.vaddr)
        }
        .map_err(map_err)
    }

    fn dma_unmap(&self, iova: u64, size: u64) -> Result<()> {
        self.bus().iommu_mut().unmap(iova, size).map_err(map_err)
    }

    fn msix_vectors(&self) -> u16 {
        msix_layout::VECTORS
    }

    fn enable_msix(&self, fds: &[Option<&EventFd>]) -> Result<()> {
        if fds.len() > usize::from(msix_layout::VECTORS) {
            return Err(DeviceError::Unsupported("more eventfds than MSI-X vectors"));
        }
        let routes = fds
            .iter()
            .map(|fd| fd.map(EventFd::try_clone).transpose())
            .collect::<std::io::Result<Vec<_>>>()
            .map_err(|e| DeviceError::io("dup eventfd", e))?;
        self.bus().msix_routes.set(routes);
        // What a host kernel does for VFIO_DEVICE_SET_IRQS: program and
        // unmask the routed entries, mask the others, enable MSI-X.
        let mut ops = Vec::new();
        for v in 0..msix_layout::VECTORS {
            let e = u64::from(bar0::MSIX_TABLE + u32::from(v) * msix_layout::ENTRY_SIZE);
            let routed = fds.get(usize::from(v)).is_some_and(Option::is_some);
            ops.extend(Self::bar_write_ops(
                e + u64::from(msix_layout::ENTRY_ADDR_LO),
                &(MSI_ADDRESS as u32).to_le_bytes(),
            )?);
            ops.extend(Self::bar_write_ops(
                e + u64::from(msix_layout::ENTRY_ADDR_HI),
                &0u32.to_le_bytes(),
            )?);
            ops.extend(Self::bar_write_ops(
                e + u64::from(msix_layout::ENTRY_DATA),
                &u32::from(v).to_le_bytes(),
            )?);
            let ctl = if routed {
                0
            } else {
                msix_layout::CONTROL_MASKED
            };
            ops.extend(Self::bar_write_ops(
                e + u64::from(msix_layout::ENTRY_CONTROL),
                &ctl.to_le_bytes(),
            )?);
        }
        self.shared.push(ops);
        self.bus().with_config(|c| c.set_msix(true, false));
        Ok(())
    }

    fn disable_msix(&self) -> Result<()> {
        self.bus().with_config(|c| c.set_msix(false, false));
        self.bus().msix_routes.clear();
        Ok(())
    }

    fn attach_doorbell(
        &self,
        bar: u8,
        offset: u64,
        data: Option<u32>,
        fd: &EventFd,
    ) -> Result<bool> {
        self.check_bar(bar, offset, 4)?;
        let addr = offset as u32;
        let data =
            data.unwrap_or_else(|| addr.saturating_sub(bar0::NOTIFY) / bar0::NOTIFY_OFF_MULTIPLIER);
        let fd = fd
            .try_clone()
            .map_err(|e| DeviceError::io("dup eventfd", e))?;
        let mut d = self
            .shared
            .doorbells
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        d.retain(|x| x.addr != addr);
        d.push(Doorbell { fd, addr, data });
        self.shared.doorbells_changed.store(true, Ordering::Release);
        self.shared.waker.wake();
        Ok(true)
    }

    fn reset(&self) -> Result<()> {
        self.bus().with_config(|c| {
            c.reset();
            // The host kernel restores decoding after a function reset.
            c.set_memory(true);
        });
        self.bus().msix_routes.clear();
        self.shared.push_cmds([Cmd::Reset]);
        // Ordered after the reset by the clock thread: returns once the
        // hardware answers again.
        let mut b = [0u8; 4];
        self.mmio_read(u64::from(bar0::VENDOR + vfpga_abi::vendor::MAGIC), &mut b)
    }
}
