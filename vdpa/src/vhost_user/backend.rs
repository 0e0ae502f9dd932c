//! The vhost-user backend: one struct implementing the protocol handler
//! trait, programming a vfpga function through the host's virtio-pci driver.

use std::fs::File;
use std::sync::Arc;
use std::time::Duration;

use std::os::fd::{FromRawFd, IntoRawFd};
use vfpga_abi::{common_cfg, features, ring};
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

use super::kick::KickForwarder;
use super::{GuestMemoryTable, VdpaError};

type VhostResult<T> = vhost::vhost_user::Result<T>;

/// How long a device reset or a queue stop may take before we give up.
const DEVICE_TIMEOUT: Duration = Duration::from_secs(5);

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

/// A started device: doorbells wired, queues running.
#[derive(Debug)]
struct Running {
    forwarders: Vec<Option<KickForwarder>>,
    stopped: Vec<bool>,
}

/// A vfpga function served to one vhost-user frontend.
#[derive(Debug)]
pub struct VdpaBackend {
    pci: VirtioPci,
    dev: Arc<dyn Device>,
    queues: u16,
    max_size: u16,
    offered: u64,
    acked: Option<u64>,
    protocol: VhostUserProtocolFeatures,
    memory: Option<GuestMemoryTable>,
    mapped: Vec<DmaMapping>,
    vrings: Vec<VringConfig>,
    running: Option<Running>,
}

impl VdpaBackend {
    /// Takes a device and serves `queues` of its queues (at most what it has).
    pub fn new(dev: Arc<dyn Device>, queues: Option<u16>) -> Result<Self, VdpaError> {
        let mut pci = VirtioPci::new(dev.clone())?;
        pci.reset(DEVICE_TIMEOUT)?;
        if pci.vendor().is_none() {
            return Err(VdpaError::NoRingState);
        }
        let have = pci.num_queues()?;
        let queues = queues.unwrap_or(have);
        if queues == 0 || queues > have {
            return Err(VdpaError::NoSuchVring {
                index: queues as u32,
                queues: have,
            });
        }
        let max_size = pci.queue_max_size(0)?;
        let offered = (pci.device_features()? & !DAEMON_ONLY)
            | VhostUserVirtioFeatures::PROTOCOL_FEATURES.bits();
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
            queues,
            max_size,
            offered,
            acked: None,
            protocol: VhostUserProtocolFeatures::empty(),
            memory: None,
            mapped: Vec::new(),
            vrings: (0..queues).map(|_| VringConfig::default()).collect(),
            running: None,
        })
    }

    /// Whether the device is started (all rings configured and running).
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// The device's counters (vendor region), for logs and tests.
    pub fn counters(&self) -> Result<[u64; vfpga_abi::vendor::NUM_COUNTERS], VdpaError> {
        Ok(self
            .pci
            .vendor()
            .ok_or(VdpaError::NoRingState)?
            .counters()?)
    }

    /// The frontend went away: drain and stop the device, keep nothing of
    /// the connection. A reconnecting frontend sends everything again, with
    /// ring bases taken from the used rings, which the drain has brought up
    /// to date: no request is lost or repeated.
    pub fn disconnect(&mut self) -> Result<(), VdpaError> {
        self.stop_device()?;
        self.unmap_all();
        self.memory = None;
        self.acked = None;
        self.protocol = VhostUserProtocolFeatures::empty();
        self.vrings = (0..self.queues).map(|_| VringConfig::default()).collect();
        Ok(())
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

    /// Starts the device once every ring is fully described (and enabled,
    /// with protocol features): negotiate, program queues with the guest's
    /// rings, restore ring state, DRIVER_OK, then wire the doorbells.
    fn maybe_start(&mut self) -> Result<(), VdpaError> {
        if self.running.is_some() {
            return Ok(());
        }
        let need_enable = self.protocol_enabled();
        let ready = self.vrings.iter().all(|v| {
            v.num != 0 && v.addrs.is_some() && v.kick.is_some() && (v.enabled || !need_enable)
        });
        if !ready {
            return Ok(());
        }
        let acked = self
            .acked
            .ok_or(VdpaError::OutOfOrder("rings set up before SET_FEATURES"))?;
        if self.memory.is_none() {
            return Err(VdpaError::OutOfOrder("rings set up before SET_MEM_TABLE"));
        }
        let mut gpas = Vec::with_capacity(self.vrings.len());
        for q in 0..self.vrings.len() {
            gpas.push(self.ring_gpas(q)?.expect("checked ready"));
        }

        let wanted = acked & !VhostUserVirtioFeatures::PROTOCOL_FEATURES.bits();
        let negotiated = self.pci.negotiate(wanted, DEVICE_TIMEOUT)?;
        let calls: Vec<Option<&EventFd>> = self.vrings.iter().map(|v| v.call.as_ref()).collect();
        self.dev.enable_msix(&calls)?;
        self.pci.set_config_vector(common_cfg::NO_VECTOR)?;
        let vendor = self.pci.vendor().ok_or(VdpaError::NoRingState)?;
        for (q, v) in self.vrings.iter().enumerate() {
            let [desc, avail, used] = gpas[q];
            self.pci
                .setup_queue(q as u16, v.num, desc, avail, used, q as u16)?;
            // The used index lives in guest memory; take it from there so a
            // restarted ring continues where the guest's view is.
            let used_idx = self
                .memory
                .as_ref()
                .and_then(|m| m.read_u16(used + ring::USED_IDX as u64))
                .unwrap_or(0);
            vendor.stop_queue(q as u16, DEVICE_TIMEOUT)?;
            vendor.set_ring_state(
                q as u16,
                RingState {
                    last_avail_idx: v.base,
                    used_idx,
                },
            )?;
        }
        self.pci.driver_ok()?;
        let mut forwarders = Vec::with_capacity(self.vrings.len());
        for (q, v) in self.vrings.iter().enumerate() {
            let (bar, off) = self.pci.doorbell(q as u16)?;
            let kick = v.kick.as_ref().expect("checked ready");
            forwarders.push(Some(KickForwarder::start(
                self.dev.clone(),
                q as u16,
                bar,
                off,
                kick,
            )?));
            if v.enabled || !need_enable {
                vendor.start_queue(q as u16)?;
            }
        }
        tracing::info!(
            features = format_args!("{negotiated:#x}"),
            queues = self.vrings.len(),
            "device started on the guest's rings"
        );
        self.running = Some(Running {
            forwarders,
            stopped: vec![false; self.vrings.len()],
        });
        Ok(())
    }

    /// Stops every queue (draining what is in flight), then resets the device.
    fn stop_device(&mut self) -> Result<(), VdpaError> {
        let Some(mut run) = self.running.take() else {
            return Ok(());
        };
        let vendor = self.pci.vendor().ok_or(VdpaError::NoRingState)?;
        for q in 0..self.vrings.len() {
            if !run.stopped[q] {
                let st = vendor.stop_queue(q as u16, DEVICE_TIMEOUT)?;
                self.vrings[q].base = st.last_avail_idx;
                run.stopped[q] = true;
            }
        }
        run.forwarders.clear();
        self.pci.reset(DEVICE_TIMEOUT)?;
        self.dev.disable_msix()?;
        tracing::info!("device stopped");
        Ok(())
    }

    fn get_vring_base_inner(&mut self, index: u32) -> Result<VhostUserVringState, VdpaError> {
        self.vring(index)?;
        let q = index as usize;
        let mut all_stopped = false;
        if let Some(run) = &mut self.running {
            if !run.stopped[q] {
                let vendor = self.pci.vendor().ok_or(VdpaError::NoRingState)?;
                let st = vendor.stop_queue(q as u16, DEVICE_TIMEOUT)?;
                self.vrings[q].base = st.last_avail_idx;
                run.stopped[q] = true;
                run.forwarders[q] = None;
            }
            all_stopped = run.stopped.iter().all(|s| *s);
        }
        if all_stopped {
            self.stop_device()?;
        }
        // vhost-user: after GET_VRING_BASE the ring is stopped and its
        // eventfds are no longer used.
        let v = &mut self.vrings[q];
        v.kick = None;
        v.call = None;
        tracing::debug!(index, base = v.base, "ring stopped");
        Ok(VhostUserVringState::new(index, v.base as u32))
    }

    fn set_mem_table_inner(
        &mut self,
        ctx: &[VhostUserMemoryRegion],
        files: Vec<File>,
    ) -> Result<(), VdpaError> {
        let table = GuestMemoryTable::new(ctx, files)?;
        // Queues must not DMA while their memory moves under them.
        let running: Vec<u16> = match &self.running {
            Some(run) => (0..self.queues)
                .filter(|q| !run.stopped[*q as usize])
                .collect(),
            None => Vec::new(),
        };
        for q in &running {
            self.vendor()?.stop_queue(*q, DEVICE_TIMEOUT)?;
        }
        self.unmap_all();
        self.memory = Some(table);
        self.map_all()?;
        for q in &running {
            self.ring_gpas(*q as usize)?;
            self.vendor()?.start_queue(*q)?;
        }
        tracing::info!(
            regions = ctx.len(),
            "memory table mapped for DMA (IOVA = GPA)"
        );
        self.maybe_start()
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
        if self.running.is_some() && self.acked != Some(features) {
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
        self.ring_gpas(index as usize)?;
        Ok(self.maybe_start()?)
    }

    fn set_vring_base(&mut self, index: u32, base: u32) -> VhostResult<()> {
        let v = self.vring(index)?;
        v.base = u16::try_from(base).map_err(|_| VdpaError::BadVringBase { index, base })?;
        Ok(())
    }

    fn get_vring_base(&mut self, index: u32) -> VhostResult<VhostUserVringState> {
        Ok(self.get_vring_base_inner(index)?)
    }

    fn set_vring_kick(&mut self, index: u8, fd: Option<File>) -> VhostResult<()> {
        let kick = fd.map(|f| {
            // SAFETY: the File owns the fd and is consumed here.
            unsafe { EventFd::from_raw_fd(f.into_raw_fd()) }
        });
        self.vring(index as u32)?.kick = kick;
        if let Some(run) = &mut self.running {
            // A new kick fd for a running ring: rewire its doorbell.
            let q = index as usize;
            run.forwarders[q] = None;
            if let Some(k) = &self.vrings[q].kick {
                let (bar, off) = self.pci.doorbell(q as u16).map_err(VdpaError::from)?;
                run.forwarders[q] = Some(KickForwarder::start(
                    self.dev.clone(),
                    q as u16,
                    bar,
                    off,
                    k,
                )?);
            }
        }
        Ok(self.maybe_start()?)
    }

    fn set_vring_call(&mut self, index: u8, fd: Option<File>) -> VhostResult<()> {
        let call = fd.map(|f| {
            // SAFETY: the File owns the fd and is consumed here.
            unsafe { EventFd::from_raw_fd(f.into_raw_fd()) }
        });
        self.vring(index as u32)?.call = call;
        if self.running.is_some() {
            let calls: Vec<Option<&EventFd>> =
                self.vrings.iter().map(|v| v.call.as_ref()).collect();
            self.dev.enable_msix(&calls).map_err(VdpaError::from)?;
        }
        Ok(())
    }

    fn set_vring_err(&mut self, index: u8, _fd: Option<File>) -> VhostResult<()> {
        // Ring errors are reported through DEVICE_NEEDS_RESET and the log.
        self.vring(index as u32)?;
        Ok(())
    }

    fn get_protocol_features(&mut self) -> VhostResult<VhostUserProtocolFeatures> {
        Ok(VhostUserProtocolFeatures::MQ
            | VhostUserProtocolFeatures::REPLY_ACK
            | VhostUserProtocolFeatures::CONFIG)
    }

    fn set_protocol_features(&mut self, features: u64) -> VhostResult<()> {
        let offered = VhostUserProtocolFeatures::MQ
            | VhostUserProtocolFeatures::REPLY_ACK
            | VhostUserProtocolFeatures::CONFIG;
        let Some(f) =
            VhostUserProtocolFeatures::from_bits(features).filter(|f| offered.contains(*f))
        else {
            return Err(VdpaError::FeaturesNotOffered(features & !offered.bits()).into());
        };
        self.protocol = f;
        Ok(())
    }

    fn get_queue_num(&mut self) -> VhostResult<u64> {
        Ok(self.queues as u64)
    }

    fn set_vring_enable(&mut self, index: u32, enable: bool) -> VhostResult<()> {
        self.vring(index)?.enabled = enable;
        if let Some(run) = &self.running {
            let vendor = self.pci.vendor().ok_or(VdpaError::NoRingState)?;
            let q = index as u16;
            if run.stopped[q as usize] {
                return Ok(());
            }
            if enable {
                vendor.start_queue(q).map_err(VdpaError::from)?;
            } else {
                let st = vendor
                    .stop_queue(q, DEVICE_TIMEOUT)
                    .map_err(VdpaError::from)?;
                self.vrings[q as usize].base = st.last_avail_idx;
            }
            return Ok(());
        }
        Ok(self.maybe_start()?)
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
        let mut buf = vec![0; size as usize];
        self.pci
            .read_config_raw(offset, &mut buf)
            .map_err(VdpaError::from)?;
        // A blk device served with fewer queues than it has says so.
        if self.pci.device_type().map_err(VdpaError::from)? == 2 {
            let nq = vfpga_abi::blk::config::NUM_QUEUES;
            for (i, b) in self.queues.to_le_bytes().iter().enumerate() {
                let at = nq + i as u32;
                if at >= offset && at < offset + size {
                    buf[(at - offset) as usize] = *b;
                }
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
        Err(VdpaError::Unsupported("inflight tracking (the device drains instead)").into())
    }

    fn set_inflight_fd(&mut self, _inflight: &VhostUserInflight, _file: File) -> VhostResult<()> {
        Err(VdpaError::Unsupported("inflight tracking (the device drains instead)").into())
    }

    fn get_max_mem_slots(&mut self) -> VhostResult<u64> {
        Err(VdpaError::Unsupported("memory slots (CONFIGURE_MEM_SLOTS not offered)").into())
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
        Err(VdpaError::Unsupported("shared memory regions").into())
    }

    fn set_log_base(&mut self, _log: &VhostUserLog, _file: File) -> VhostResult<()> {
        Err(VdpaError::Unsupported("dirty logging (LOG_ALL not offered)").into())
    }
}
