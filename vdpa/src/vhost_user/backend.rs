//! The vhost-user backend: one struct implementing the protocol handler
//! trait, programming a vfpga function through the host's virtio-pci driver.

use std::fs::File;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use std::os::fd::{FromRawFd, IntoRawFd};
use vfpga_abi::{common_cfg, features, net as net_abi, ring};
use vfpga_host::virtio_pci::vendor::VendorError;
use vfpga_host::virtio_pci::{RingState, VirtioPci};
use vfpga_host::{Device, DmaMapping};
use vhost::VhostUserMemoryRegionBase;
use vhost::vhost_user::message::{
    VhostTransferStateDirection, VhostTransferStatePhase, VhostUserConfigFlags, VhostUserInflight,
    VhostUserLog, VhostUserMemoryRegion, VhostUserProtocolFeatures, VhostUserShMemConfig,
    VhostUserSharedMsg, VhostUserSingleMemoryRegion, VhostUserVirtioFeatures,
    VhostUserVringAddrFlags, VhostUserVringState,
};
use vhost::vhost_user::{GpuBackend, VhostUserBackendReqHandlerMut};
use vmm_sys_util::eventfd::EventFd;

use super::ctrl::CtrlQueue;
use super::iova_window::daemon_window;
use super::kick::KickForwarder;
use super::{GuestMemoryTable, VdpaError, net};

type VhostResult<T> = vhost::vhost_user::Result<T>;

/// How long a device reset or a queue stop may take before we give up.
const DEVICE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a net receiveq may take to drain a frame it is writing when
/// asked to stop (its posted buffers are never drained, see `stop_net_rx`).
const RX_STOP_WAIT: Duration = Duration::from_millis(200);

/// Features that concern the daemon's side of the device, never the guest:
/// the device's DMA goes through the IOMMU mappings we make (ACCESS_PLATFORM),
/// and kicks arrive as eventfds that carry no data (NOTIFICATION_DATA).
const DAEMON_ONLY: u64 =
    features::bit(features::ACCESS_PLATFORM) | features::bit(features::NOTIFICATION_DATA);

/// What the frontend told us about one vring.
#[derive(Debug, Default)]
pub struct VringConfig {
    /// Size (0 until SET_VRING_NUM).
    pub num: u16,
    /// Descriptor, avail and used addresses in the frontend's address space.
    pub addrs: Option<[u64; 3]>,
    /// `last_avail_idx` to start from (SET_VRING_BASE), or the one saved at stop.
    pub base: u16,
    /// Kick eventfd (guest -> device).
    pub kick: Option<EventFd>,
    /// Call eventfd (device -> guest).
    pub call: Option<EventFd>,
    /// SET_VRING_ENABLE state (rings start enabled without protocol features).
    pub enabled: bool,
}

/// What the device is doing with one ring.
#[derive(Debug, Default)]
struct RingRun {
    /// Programmed into the device (queue enabled, ring state restored).
    programmed: bool,
    /// Stopped through the vendor region (SET_VRING_ENABLE 0, GET_VRING_BASE).
    stopped: bool,
    /// The kick -> doorbell path while programmed.
    forwarder: Option<KickForwarder>,
}

/// What a net function needs beyond blk's rules (see [`net`]).
#[derive(Debug)]
struct NetState {
    /// Pairs served: vrings `0..2 * pairs`.
    pairs: u16,
    /// Pairs the device has (`max_virtqueue_pairs`, 1 without MQ).
    max_pairs: u16,
    /// IOVAs for the daemon's own memory (the control queue).
    window: Option<Range<u64>>,
    /// The device's control queue while the device runs.
    ctrl: Option<CtrlQueue>,
    /// Pair count last set on the device (0: not yet).
    pairs_set: u16,
}

/// The kind of function served.
#[derive(Debug)]
enum Kind {
    Blk,
    Net(Box<NetState>),
}

/// A vfpga function served to one vhost-user frontend.
#[derive(Debug)]
pub struct VdpaBackend {
    pci: VirtioPci,
    dev: Arc<dyn Device>,
    kind: Kind,
    device_features: u64,
    queues: u16,
    max_size: u16,
    offered: u64,
    acked: Option<u64>,
    protocol: VhostUserProtocolFeatures,
    memory: Option<GuestMemoryTable>,
    mapped: Vec<DmaMapping>,
    vrings: Vec<VringConfig>,
    runs: Vec<RingRun>,
    started: bool,
}

impl VdpaBackend {
    /// Takes a device and serves `queues` of its queues (blk) or queue
    /// pairs (net), at most what it has; `None` serves all of them.
    pub fn new(dev: Arc<dyn Device>, queues: Option<u16>) -> Result<Self, VdpaError> {
        let mut pci = VirtioPci::new(dev.clone())?;
        pci.reset(DEVICE_TIMEOUT)?;
        if pci.vendor().is_none() {
            return Err(VdpaError::NoRingState);
        }
        let have = pci.num_queues()?;
        let device_features = pci.device_features()?;
        let (kind, queues, offered) = match pci.device_type()? {
            2 => {
                let queues = queues.unwrap_or(have);
                if queues == 0 || queues > have {
                    return Err(VdpaError::NoSuchVring {
                        index: queues as u32,
                        queues: have,
                    });
                }
                (Kind::Blk, queues, device_features & !DAEMON_ONLY)
            }
            1 => {
                let max_pairs = if device_features & features::bit(features::NET_MQ) != 0 {
                    pci.config_u16(net_abi::config::MAX_VIRTQUEUE_PAIRS)?
                } else {
                    1
                };
                let pairs = queues.unwrap_or(max_pairs);
                if pairs == 0 || pairs > max_pairs || 2 * pairs > have {
                    return Err(VdpaError::TooManyPairs {
                        asked: pairs,
                        max: max_pairs,
                    });
                }
                let window = daemon_window(&dev.iova_ranges(), dev.dma_page_size());
                let state = NetState {
                    pairs,
                    max_pairs,
                    window,
                    ctrl: None,
                    pairs_set: 0,
                };
                let offered = net::offered_to_frontend(device_features & !DAEMON_ONLY);
                (Kind::Net(Box::new(state)), 2 * pairs, offered)
            }
            t => return Err(VdpaError::UnsupportedDeviceType(t)),
        };
        let max_size = pci.queue_max_size(0)?;
        let offered = offered | VhostUserVirtioFeatures::PROTOCOL_FEATURES.bits();
        tracing::info!(
            device = %dev.describe(),
            queues,
            max_size,
            features = format_args!("{offered:#x}"),
            "vhost-user backend ready"
        );
        Ok(VdpaBackend {
            pci,
            dev,
            kind,
            device_features,
            queues,
            max_size,
            offered,
            acked: None,
            protocol: VhostUserProtocolFeatures::empty(),
            memory: None,
            mapped: Vec::new(),
            vrings: (0..queues).map(|_| VringConfig::default()).collect(),
            runs: (0..queues).map(|_| RingRun::default()).collect(),
            started: false,
        })
    }

    /// Number of vrings served to the frontend (2 per pair for net).
    pub fn queues(&self) -> u16 {
        self.queues
    }

    /// Queue pairs served, for a net function.
    pub fn pairs(&self) -> Option<u16> {
        match &self.kind {
            Kind::Net(n) => Some(n.pairs),
            Kind::Blk => None,
        }
    }

    /// The pair count the device's RX was last told (net, with the device
    /// running and its control queue up), for logs and tests.
    pub fn pairs_set(&self) -> Option<u16> {
        match &self.kind {
            Kind::Net(n) if n.ctrl.is_some() => Some(n.pairs_set),
            _ => None,
        }
    }

    /// Number of rings the device is currently running for the frontend.
    pub fn running_rings(&self) -> usize {
        self.runs
            .iter()
            .filter(|r| r.programmed && !r.stopped)
            .count()
    }

    /// The device's counters (vendor region), for logs and tests.
    pub fn counters(&self) -> Result<[u64; vfpga_abi::vendor::NUM_COUNTERS], VdpaError> {
        Ok(self.vendor()?.counters()?)
    }

    /// The frontend went away: drain and stop the device, keep nothing of
    /// the connection. A reconnecting frontend sends everything again, with
    /// ring bases taken from the used rings, which the drain has brought up
    /// to date: no request is lost or repeated.
    pub fn disconnect(&mut self) -> Result<(), VdpaError> {
        let stopped = self.stop_device();
        if let Ok(c) = self.counters() {
            let names = vfpga_abi::vendor::COUNTER_NAMES;
            let line: Vec<String> = names
                .iter()
                .zip(c)
                .map(|(n, v)| format!("{n}={v}"))
                .collect();
            tracing::info!("device counters: {}", line.join(" "));
        }
        self.unmap_all();
        self.memory = None;
        self.acked = None;
        self.protocol = VhostUserProtocolFeatures::empty();
        self.vrings = (0..self.queues).map(|_| VringConfig::default()).collect();
        stopped
    }

    fn vendor(&self) -> Result<&vfpga_host::virtio_pci::VendorRegion, VdpaError> {
        self.pci.vendor().ok_or(VdpaError::NoRingState)
    }

    fn vring(&mut self, index: u32) -> Result<&mut VringConfig, VdpaError> {
        let queues = self.queues;
        self.vrings
            .get_mut(index as usize)
            .ok_or(VdpaError::NoSuchVring { index, queues })
    }

    fn protocol_enabled(&self) -> bool {
        self.acked
            .is_some_and(|f| f & VhostUserVirtioFeatures::PROTOCOL_FEATURES.bits() != 0)
    }

    /// Ring addresses as guest physical addresses, checked against the table.
    fn ring_gpas(&self, index: usize) -> Result<Option<[u64; 3]>, VdpaError> {
        let v = &self.vrings[index];
        let (Some(addrs), Some(mem)) = (v.addrs, self.memory.as_ref()) else {
            return Ok(None);
        };
        let n = v.num as u64;
        let parts = [
            ("descriptor", addrs[0], ring::DESC_SIZE as u64 * n),
            ("avail", addrs[1], ring::used_event_offset(v.num) as u64 + 2),
            ("used", addrs[2], ring::avail_event_offset(v.num) as u64 + 2),
        ];
        let mut gpas = [0; 3];
        for (i, (what, addr, len)) in parts.into_iter().enumerate() {
            gpas[i] = mem
                .uaddr_to_gpa(addr, len)
                .ok_or(VdpaError::AddressOutsideTable {
                    index: index as u32,
                    what,
                    addr,
                    len,
                })?;
        }
        Ok(Some(gpas))
    }

    fn map_all(&mut self) -> Result<(), VdpaError> {
        let Some(mem) = &self.memory else {
            return Ok(());
        };
        for m in mem.dma_mappings() {
            // SAFETY: the mapping points into `self.memory`, which is only
            // replaced or dropped after `unmap_all` has removed it.
            unsafe { self.dev.dma_map(m)? };
            self.mapped.push(m);
        }
        Ok(())
    }

    fn unmap_all(&mut self) {
        for m in self.mapped.drain(..) {
            if let Err(e) = self.dev.dma_unmap(m.iova, m.size) {
                tracing::error!(iova = m.iova, size = m.size, "DMA unmap failed: {e}");
            }
        }
    }

    fn route_calls(&self) -> Result<(), VdpaError> {
        let calls: Vec<Option<&EventFd>> = self.vrings.iter().map(|v| v.call.as_ref()).collect();
        Ok(self.dev.enable_msix(&calls)?)
    }

    /// Programs every ring the frontend has fully described (and enabled,
    /// with protocol features) into the device. The first one starts the
    /// device: negotiate, program, restore ring state, DRIVER_OK. Later rings
    /// are enabled on the running device (the firmware arms a queue enabled
    /// after DRIVER_OK), because a frontend may use fewer rings than the
    /// device has and vhost-user never says how many it will set up.
    fn start_ready_rings(&mut self) -> Result<(), VdpaError> {
        let need_enable = self.protocol_enabled();
        for q in 0..self.vrings.len() {
            let v = &self.vrings[q];
            let ready = v.num != 0
                && v.addrs.is_some()
                && v.kick.is_some()
                && (v.enabled || !need_enable)
                && !self.runs[q].programmed;
            if ready {
                self.start_ring(q)?;
            }
        }
        Ok(())
    }

    fn start_ring(&mut self, q: usize) -> Result<(), VdpaError> {
        let acked = self.acked.ok_or(VdpaError::OutOfOrder(
            "a ring was set up before SET_FEATURES",
        ))?;
        let [desc, avail, used] = self.ring_gpas(q)?.ok_or(VdpaError::OutOfOrder(
            "a ring was set up before SET_MEM_TABLE",
        ))?;
        if !self.started {
            let mut wanted = acked & !VhostUserVirtioFeatures::PROTOCOL_FEATURES.bits();
            if let Kind::Net(_) = self.kind {
                wanted = net::device_side(wanted, self.device_features);
            }
            let negotiated = self.pci.negotiate(wanted, DEVICE_TIMEOUT)?;
            self.route_calls()?;
            self.pci.set_config_vector(common_cfg::NO_VECTOR)?;
            tracing::info!(
                features = format_args!("{negotiated:#x}"),
                "device negotiated"
            );
            self.setup_ctrl()?;
        }
        let qi = q as u16;
        let v = &self.vrings[q];
        self.pci.setup_queue(qi, v.num, desc, avail, used, qi)?;
        // The used index lives in guest memory; take it from there so a
        // restarted ring continues where the guest's view is.
        let used_idx = self
            .memory
            .as_ref()
            .and_then(|m| m.read_u16(used + ring::USED_IDX as u64))
            .unwrap_or(0);
        let state = RingState {
            last_avail_idx: v.base,
            used_idx,
        };
        self.vendor()?.stop_queue(qi, DEVICE_TIMEOUT)?;
        self.vendor()?.set_ring_state(qi, state)?;
        if !self.started {
            self.pci.driver_ok()?;
            self.started = true;
        }
        let (bar, off) = self.pci.doorbell(qi)?;
        let kick = self.vrings[q].kick.as_ref().expect("ring is ready");
        let forwarder = KickForwarder::start(self.dev.clone(), qi, bar, off, kick)?;
        self.vendor()?.start_queue(qi)?;
        self.runs[q] = RingRun {
            programmed: true,
            stopped: false,
            forwarder: Some(forwarder),
        };
        tracing::info!(
            queue = q,
            size = self.vrings[q].num,
            desc = format_args!("{desc:#x}"),
            avail = format_args!("{avail:#x}"),
            used = format_args!("{used:#x}"),
            last_avail = state.last_avail_idx,
            used_idx,
            "ring running on the device"
        );
        self.sync_pairs(None);
        Ok(())
    }

    /// Protocol features offered (the `vhost` crate adds REPLY_ACK in any
    /// case).
    fn protocol_offered(&self) -> VhostUserProtocolFeatures {
        VhostUserProtocolFeatures::MQ
            | VhostUserProtocolFeatures::REPLY_ACK
            | VhostUserProtocolFeatures::CONFIG
    }

    /// Whether SET_FEATURES has acked VHOST_USER_F_PROTOCOL_FEATURES, which
    /// the `vhost` crate requires before it passes on SET_VRING_ENABLE.
    pub fn protocol_features_acked(&self) -> bool {
        self.protocol_enabled()
    }

    /// Number of DMA mappings of guest memory in place (one per region of
    /// the accepted memory table), for logs and tests.
    pub fn mapped_regions(&self) -> usize {
        self.mapped.len()
    }

    /// Net: programs the device's control queue in daemon memory when the
    /// device has one (between FEATURES_OK and DRIVER_OK).
    fn setup_ctrl(&mut self) -> Result<(), VdpaError> {
        let Kind::Net(n) = &mut self.kind else {
            return Ok(());
        };
        if !self.pci.has(features::NET_CTRL_VQ) {
            tracing::warn!("the device has no control queue: RX stays on the first pair");
            return Ok(());
        }
        let window = n.window.clone().ok_or(VdpaError::Unsupported(
            "a control queue needs IOVA space above guest RAM, and the IOMMU has none",
        ))?;
        let index = if self.pci.has(features::NET_MQ) {
            net::ctrl_queue_index(n.max_pairs)
        } else {
            2
        };
        n.ctrl = Some(CtrlQueue::new(&self.pci, self.dev.clone(), window, index)?);
        // §5.1.6.5.5: after reset the device uses the first pair only.
        n.pairs_set = 1;
        Ok(())
    }

    /// Net: tells the device (VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET on its own
    /// control queue) how many pairs run, so that its RX steering uses the
    /// pairs the guest enabled and no other. `leaving` is a ring about to
    /// stop: its pair is left out before it stops, so no frame is steered
    /// to it meanwhile. A failure is logged, not returned: the rings work
    /// without it, with RX on fewer pairs.
    fn sync_pairs(&mut self, leaving: Option<usize>) {
        let Kind::Net(n) = &mut self.kind else {
            return;
        };
        let Some(ctrl) = n.ctrl.as_mut() else {
            return;
        };
        if !self.pci.has(features::NET_MQ) {
            return;
        }
        let runs = &self.runs;
        let want = net::running_pairs(n.pairs, |q| {
            Some(q) != leaving && runs[q].programmed && !runs[q].stopped
        });
        if want == n.pairs_set {
            return;
        }
        let (hdr, data) = net::mq_pairs_set(want);
        match ctrl.command(&self.pci, hdr[0], hdr[1], &data, DEVICE_TIMEOUT) {
            Ok(()) => {
                tracing::info!(
                    pairs = want,
                    queue = ctrl.index(),
                    "device RX uses the running pairs (VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET)"
                );
                n.pairs_set = want;
            }
            Err(e) => tracing::error!(pairs = want, "setting the device's pair count: {e}"),
        }
    }

    /// Stops ring `q` through the vendor region (draining what it has in
    /// flight) and remembers where it stopped.
    fn stop_ring(&mut self, q: usize) -> Result<(), VdpaError> {
        if self.runs[q].programmed && !self.runs[q].stopped {
            self.sync_pairs(Some(q));
            let st = if self.is_net_rx(q) {
                self.stop_net_rx(q)?
            } else {
                self.vendor()?.stop_queue(q as u16, DEVICE_TIMEOUT)?
            };
            self.vrings[q].base = st.last_avail_idx;
            self.runs[q].stopped = true;
            self.runs[q].forwarder = None;
            tracing::info!(
                queue = q,
                base = st.last_avail_idx,
                used = st.used_idx,
                "ring stopped"
            );
        }
        Ok(())
    }

    /// Whether vring `q` is a net receiveq (even index, §5.1.2).
    fn is_net_rx(&self, q: usize) -> bool {
        matches!(self.kind, Kind::Net(_)) && q.is_multiple_of(2)
    }

    /// Stops a net receiveq. The hardware keeps the RX buffers it fetched
    /// until frames fill them, so the queue never reports STOPPED while
    /// buffers are posted (docs/net.md, "Stop/resume"). It has stopped
    /// fetching; RX chains are used one buffer each and in the order
    /// fetched, so the guest resumes correctly from the used index: the
    /// buffers fetched but not used are handed back by returning that as
    /// the base. They stay in the device until the next reset (after the
    /// last ring stops) or until the ring resumes, and the pair count sent
    /// before the stop keeps frames away from them meanwhile.
    fn stop_net_rx(&mut self, q: usize) -> Result<RingState, VdpaError> {
        match self.vendor()?.stop_queue(q as u16, RX_STOP_WAIT) {
            Ok(st) => Ok(st),
            Err(VendorError::StopTimeout(_, _, held)) => {
                let st = self.vendor()?.ring_state(q as u16)?;
                tracing::info!(
                    queue = q,
                    held,
                    fetched = st.last_avail_idx,
                    used = st.used_idx,
                    "RX ring holds posted buffers: base handed back at the used index"
                );
                Ok(RingState {
                    last_avail_idx: st.used_idx,
                    used_idx: st.used_idx,
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Stops every ring, then resets the device.
    fn stop_device(&mut self) -> Result<(), VdpaError> {
        if !self.started {
            return Ok(());
        }
        let mut result = Ok(());
        for q in 0..self.runs.len() {
            if let Err(e) = self.stop_ring(q) {
                result = Err(e);
            }
        }
        self.runs = (0..self.queues).map(|_| RingRun::default()).collect();
        self.started = false;
        self.pci.reset(DEVICE_TIMEOUT)?;
        if let Kind::Net(n) = &mut self.kind {
            // After the reset: the device no longer reaches the ring we unmap.
            n.ctrl = None;
            n.pairs_set = 0;
        }
        self.dev.disable_msix()?;
        tracing::info!("device stopped");
        result
    }

    fn get_vring_base_inner(&mut self, index: u32) -> Result<VhostUserVringState, VdpaError> {
        self.vring(index)?;
        let q = index as usize;
        self.stop_ring(q)?;
        if self.started && self.runs.iter().all(|r| !r.programmed || r.stopped) {
            self.stop_device()?;
        }
        // vhost-user: after GET_VRING_BASE the ring is stopped and its
        // eventfds are no longer used.
        let v = &mut self.vrings[q];
        v.kick = None;
        v.call = None;
        Ok(VhostUserVringState::new(index, v.base as u32))
    }

    fn set_mem_table_inner(
        &mut self,
        ctx: &[VhostUserMemoryRegion],
        files: Vec<File>,
    ) -> Result<(), VdpaError> {
        let table = GuestMemoryTable::new(ctx, files)?;
        if let Kind::Net(n) = &self.kind
            && let Some(w) = &n.window
            && let Some((gpa, size)) = table.region_meeting(w)
        {
            return Err(VdpaError::BadMemoryTable(format!(
                "region at gpa {gpa:#x}+{size:#x} reaches the daemon's own IOVA window {:#x}..{:#x}",
                w.start, w.end
            )));
        }
        // Rings must not DMA while their memory moves under them.
        let live: Vec<usize> = (0..self.runs.len())
            .filter(|q| self.runs[*q].programmed && !self.runs[*q].stopped)
            .collect();
        // A table that leaves a running ring outside it is refused before
        // anything is stopped or unmapped. The old table stays alive (and
        // mapped) throughout the check.
        let old = self.memory.replace(table);
        let outside = live.iter().find_map(|q| self.ring_gpas(*q).err());
        let table = std::mem::replace(&mut self.memory, old).expect("just set");
        if let Some(e) = outside {
            return Err(e);
        }
        for q in &live {
            self.vendor()?.stop_queue(*q as u16, DEVICE_TIMEOUT)?;
        }
        self.unmap_all();
        self.memory = Some(table);
        self.map_all()?;
        for q in &live {
            self.ring_gpas(*q)?;
            self.vendor()?.start_queue(*q as u16)?;
        }
        tracing::info!(
            regions = ctx.len(),
            "memory table mapped for DMA (IOVA = GPA)"
        );
        self.start_ready_rings()
    }
}

impl Drop for VdpaBackend {
    fn drop(&mut self) {
        if let Err(e) = self.stop_device() {
            tracing::error!("stopping the device: {e}");
        }
        self.unmap_all();
    }
}

impl VhostUserBackendReqHandlerMut for VdpaBackend {
    fn set_owner(&mut self) -> VhostResult<()> {
        Ok(())
    }

    fn reset_owner(&mut self) -> VhostResult<()> {
        Ok(self.disconnect()?)
    }

    fn reset_device(&mut self) -> VhostResult<()> {
        Ok(self.disconnect()?)
    }

    fn get_features(&mut self) -> VhostResult<u64> {
        Ok(self.offered)
    }

    fn set_features(&mut self, features: u64) -> VhostResult<()> {
        let extra = features & !self.offered;
        if extra != 0 {
            return Err(VdpaError::FeaturesNotOffered(extra).into());
        }
        if self.started && self.acked != Some(features) {
            return Err(VdpaError::OutOfOrder("features changed while the device runs").into());
        }
        self.acked = Some(features);
        Ok(())
    }

    fn set_mem_table(
        &mut self,
        ctx: &[VhostUserMemoryRegion],
        files: Vec<File>,
        postcopy_listening: Option<bool>,
    ) -> VhostResult<Option<Vec<VhostUserMemoryRegionBase>>> {
        if postcopy_listening.is_some() {
            return Err(VdpaError::Unsupported("postcopy migration").into());
        }
        self.set_mem_table_inner(ctx, files)?;
        Ok(None)
    }

    fn set_vring_num(&mut self, index: u32, num: u32) -> VhostResult<()> {
        let max = self.max_size;
        let v = self.vring(index)?;
        if num == 0 || num > max as u32 || !num.is_power_of_two() {
            return Err(VdpaError::BadVringSize { index, num, max }.into());
        }
        v.num = num as u16;
        Ok(())
    }

    fn set_vring_addr(
        &mut self,
        index: u32,
        _flags: VhostUserVringAddrFlags,
        descriptor: u64,
        used: u64,
        available: u64,
        _log: u64,
    ) -> VhostResult<()> {
        self.vring(index)?.addrs = Some([descriptor, available, used]);
        // Checked now when we can, so the error names the message at fault.
        // A refused address is forgotten: no later message may start the
        // ring on memory the device cannot reach.
        if let Err(e) = self.ring_gpas(index as usize) {
            self.vrings[index as usize].addrs = None;
            return Err(e.into());
        }
        Ok(self.start_ready_rings()?)
    }

    fn set_vring_base(&mut self, index: u32, base: u32) -> VhostResult<()> {
        let v = self.vring(index)?;
        v.base = u16::try_from(base).map_err(|_| VdpaError::BadVringBase { index, base })?;
        Ok(())
    }

    fn get_vring_base(&mut self, index: u32) -> VhostResult<VhostUserVringState> {
        self.get_vring_base_inner(index).map_err(VdpaError::fatal)
    }

    fn set_vring_kick(&mut self, index: u8, fd: Option<File>) -> VhostResult<()> {
        let kick = fd.map(|f| {
            // SAFETY: the File owns the fd and is consumed here.
            unsafe { EventFd::from_raw_fd(f.into_raw_fd()) }
        });
        self.vring(index as u32)?.kick = kick;
        let q = index as usize;
        if self.runs[q].programmed && !self.runs[q].stopped {
            // A new kick fd for a running ring: rewire its doorbell.
            self.runs[q].forwarder = None;
            if let Some(k) = &self.vrings[q].kick {
                let (bar, off) = self.pci.doorbell(q as u16).map_err(VdpaError::from)?;
                self.runs[q].forwarder = Some(KickForwarder::start(
                    self.dev.clone(),
                    q as u16,
                    bar,
                    off,
                    k,
                )?);
            }
        }
        Ok(self.start_ready_rings()?)
    }

    fn set_vring_call(&mut self, index: u8, fd: Option<File>) -> VhostResult<()> {
        let call = fd.map(|f| {
            // SAFETY: the File owns the fd and is consumed here.
            unsafe { EventFd::from_raw_fd(f.into_raw_fd()) }
        });
        self.vring(index as u32)?.call = call;
        if self.started {
            self.route_calls()?;
        }
        Ok(())
    }

    fn set_vring_err(&mut self, index: u8, _fd: Option<File>) -> VhostResult<()> {
        // Ring errors are reported through DEVICE_NEEDS_RESET and the log.
        self.vring(index as u32)?;
        Ok(())
    }

    fn get_protocol_features(&mut self) -> VhostResult<VhostUserProtocolFeatures> {
        Ok(self.protocol_offered())
    }

    fn set_protocol_features(&mut self, features: u64) -> VhostResult<()> {
        let offered = self.protocol_offered();
        let Some(f) =
            VhostUserProtocolFeatures::from_bits(features).filter(|f| offered.contains(*f))
        else {
            return Err(VdpaError::FeaturesNotOffered(features & !offered.bits()).into());
        };
        self.protocol = f;
        Ok(())
    }

    fn get_queue_num(&mut self) -> VhostResult<u64> {
        // QEMU's net device asks for queue pairs (it compares the answer
        // with `-netdev vhost-user,queues=`), blk for queues.
        Ok(self.pairs().unwrap_or(self.queues) as u64)
    }

    fn set_vring_enable(&mut self, index: u32, enable: bool) -> VhostResult<()> {
        self.vring(index)?.enabled = enable;
        let q = index as usize;
        if self.runs[q].programmed {
            if enable && self.runs[q].stopped {
                // Resume where it stopped: the ring state is still in the device.
                let (bar, off) = self.pci.doorbell(index as u16).map_err(VdpaError::from)?;
                if let Some(k) = &self.vrings[q].kick {
                    self.runs[q].forwarder = Some(KickForwarder::start(
                        self.dev.clone(),
                        index as u16,
                        bar,
                        off,
                        k,
                    )?);
                }
                self.vendor()?
                    .start_queue(index as u16)
                    .map_err(VdpaError::from)?;
                self.runs[q].stopped = false;
                self.sync_pairs(None);
            } else if !enable {
                self.stop_ring(q)?;
            }
            return Ok(());
        }
        Ok(self.start_ready_rings()?)
    }

    fn get_config(
        &mut self,
        offset: u32,
        size: u32,
        _flags: VhostUserConfigFlags,
    ) -> VhostResult<Vec<u8>> {
        let len = vfpga_abi::bar0::DEVICE_CFG_LEN;
        if offset.checked_add(size).is_none_or(|end| end > len) {
            return Err(VdpaError::BadMemoryTable(format!(
                "config read {offset:#x}+{size} beyond the {len}-byte device configuration"
            ))
            .into());
        }
        // The device configuration is read in naturally aligned dwords,
        // retried until config_generation is stable (§4.1.4.3.1).
        let first = offset & !3;
        let last = (offset + size).div_ceil(4) * 4;
        let mut window = vec![0u8; (last - first) as usize];
        for _ in 0..8 {
            let before = self.pci.config_generation().map_err(VdpaError::from)?;
            for (i, chunk) in window.chunks_exact_mut(4).enumerate() {
                self.pci
                    .read_config_raw(first + 4 * i as u32, chunk)
                    .map_err(VdpaError::from)?;
            }
            if self.pci.config_generation().map_err(VdpaError::from)? == before {
                break;
            }
        }
        let skip = (offset - first) as usize;
        let mut buf = window[skip..skip + size as usize].to_vec();
        // A device served with fewer queues (pairs) than it has says so.
        let (field, value) = match &self.kind {
            Kind::Blk => (vfpga_abi::blk::config::NUM_QUEUES, self.queues),
            Kind::Net(n) => (net_abi::config::MAX_VIRTQUEUE_PAIRS, n.pairs),
        };
        for (i, b) in value.to_le_bytes().iter().enumerate() {
            let at = field + i as u32;
            if at >= offset && at < offset + size {
                buf[(at - offset) as usize] = *b;
            }
        }
        Ok(buf)
    }

    fn set_config(
        &mut self,
        _offset: u32,
        _buf: &[u8],
        _flags: VhostUserConfigFlags,
    ) -> VhostResult<()> {
        Err(VdpaError::Unsupported("writing device configuration").into())
    }

    fn set_gpu_socket(&mut self, _gpu_backend: GpuBackend) -> VhostResult<()> {
        Err(VdpaError::Unsupported("GPU socket").into())
    }

    fn get_shared_object(&mut self, _uuid: VhostUserSharedMsg) -> VhostResult<File> {
        Err(VdpaError::Unsupported("shared objects").into())
    }

    fn get_inflight_fd(
        &mut self,
        _inflight: &VhostUserInflight,
    ) -> VhostResult<(VhostUserInflight, File)> {
        // Not offered, but the `vhost` crate lets a frontend ack it anyway.
        Err(VdpaError::Unsupported("inflight tracking (the device drains instead)").fatal())
    }

    fn set_inflight_fd(&mut self, _inflight: &VhostUserInflight, _file: File) -> VhostResult<()> {
        Err(VdpaError::Unsupported("inflight tracking (the device drains instead)").into())
    }

    fn get_max_mem_slots(&mut self) -> VhostResult<u64> {
        Err(VdpaError::Unsupported("memory slots (CONFIGURE_MEM_SLOTS not offered)").fatal())
    }

    fn add_mem_region(
        &mut self,
        _region: &VhostUserSingleMemoryRegion,
        _fd: File,
        _postcopy_listening: Option<bool>,
    ) -> VhostResult<Option<VhostUserMemoryRegionBase>> {
        Err(VdpaError::Unsupported("memory slots (CONFIGURE_MEM_SLOTS not offered)").into())
    }

    fn remove_mem_region(&mut self, _region: &VhostUserSingleMemoryRegion) -> VhostResult<()> {
        Err(VdpaError::Unsupported("memory slots (CONFIGURE_MEM_SLOTS not offered)").into())
    }

    fn set_device_state_fd(
        &mut self,
        _direction: VhostTransferStateDirection,
        _phase: VhostTransferStatePhase,
        _fd: File,
    ) -> VhostResult<Option<File>> {
        Err(VdpaError::Unsupported("device state transfer").into())
    }

    fn check_device_state(&mut self) -> VhostResult<()> {
        Err(VdpaError::Unsupported("device state transfer").into())
    }

    fn get_shmem_config(&mut self) -> VhostResult<VhostUserShMemConfig> {
        Err(VdpaError::Unsupported("shared memory regions").fatal())
    }

    fn set_log_base(&mut self, _log: &VhostUserLog, _file: File) -> VhostResult<()> {
        // SET_LOG_BASE is answered with a message, never with a REPLY_ACK.
        Err(VdpaError::Unsupported("dirty logging (LOG_ALL not offered)").fatal())
    }
}
