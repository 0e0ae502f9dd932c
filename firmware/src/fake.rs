//! A Rust model of the management port's hardware side, for tests and the
//! simulator (feature `test-utils`).
//!
//! It implements the register-file semantics firmware depends on (event FIFO
//! with overflow, held driver reads of device_status and queue_enable,
//! ENGINE_RESET effects, device-config RAM, config interrupt) plus driver-side
//! methods that act like MMIO writes and reads. It also watches the firmware:
//! writes that break a virtio rule are recorded in [`FakeMgmt::violations`],
//! and [`FakeMgmt::check_invariants`] checks the state between polls.

use std::collections::VecDeque;
use std::format;
use std::string::String;
use std::vec::Vec;

use vfpga_abi::common_cfg::NO_VECTOR;
use vfpga_abi::mgmt::{self, Event, EventKind, net as netreg};
use vfpga_abi::net::ctrl::MAC_TABLE_ENTRIES;
use vfpga_abi::status::{ACKNOWLEDGE, DEVICE_NEEDS_RESET, DRIVER, DRIVER_OK, FAILED, FEATURES_OK};
use vfpga_abi::{Personality, vendor};

use crate::features;
use crate::hal::Hal;
use crate::queue::QueueConfig;

/// Size of the device-config RAM.
pub const DEVCFG_RAM: usize = 256;

/// One queue's registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FakeQueue {
    /// queue_size (driver-written; QUEUE_SIZE_MAX after reset).
    pub size: u16,
    /// queue_msix_vector.
    pub vector: u16,
    /// queue_desc.
    pub desc: u64,
    /// queue_driver.
    pub driver: u64,
    /// queue_device.
    pub device: u64,
    /// queue_enable as firmware last answered it.
    pub enable: bool,
    /// A queue_enable write awaits firmware's Q_ENABLE (reads are held).
    pub enable_pending: bool,
    /// queue_reset reads 1.
    pub reset_pending: bool,
    /// Q_RUN.
    pub run: bool,
    /// Vendor stop request.
    pub stop_requested: bool,
    /// Q_LAST_AVAIL_IDX.
    pub last_avail: u16,
    /// Q_USED_IDX.
    pub used_idx: u16,
    /// Q_INFLIGHT (set by the test).
    pub inflight: u16,
}

impl FakeQueue {
    /// The engine may fetch from it (Q_RUN and no vendor stop request): ring
    /// indices are writable only while this is false.
    pub fn fetching(&self) -> bool {
        self.run && !self.stop_requested
    }

    fn after_reset(qmax: u16) -> Self {
        FakeQueue {
            size: qmax,
            vector: NO_VECTOR,
            desc: 0,
            driver: 0,
            device: 0,
            enable: false,
            enable_pending: false,
            reset_pending: false,
            run: false,
            stop_requested: false,
            last_avail: 0,
            used_idx: 0,
            inflight: 0,
        }
    }
}

/// A control-queue command the driver made available.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeCtrlCommand {
    /// `class`.
    pub class: u8,
    /// `command`.
    pub command: u8,
    /// The bytes between the header and the ack (any length).
    pub payload: Vec<u8>,
}

/// A command as answered, with what the driver could observe at that
/// moment (so tests see whether the state was in effect before the ack).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeAck {
    /// The command.
    pub command: FakeCtrlCommand,
    /// The ack byte.
    pub ack: u8,
    /// RX_MODE when the ack was written.
    pub rx_mode: u32,
    /// The primary MAC when the ack was written.
    pub primary_mac: [u8; 6],
    /// The valid table entries when the ack was written.
    pub table: Vec<[u8; 6]>,
    /// QUEUES when the ack was written.
    pub queues: u32,
    /// The device configuration's first 6 bytes (`mac`) when the ack was written.
    pub config_mac: [u8; 6],
    /// CONFIG_GENERATION when the ack was written.
    pub config_generation: u32,
}

/// The net function's registers (`mgmt::net`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeNet {
    /// RX_MODE.
    pub rx_mode: u32,
    /// MAC_LO, MAC_HI.
    pub mac: [u32; 2],
    /// FILTER_SEL.
    pub filter_sel: u32,
    /// FILTER_LO as written, stored with the next FILTER_HI.
    pub filter_lo_staged: u32,
    /// The table: (FILTER_LO, FILTER_HI) per entry.
    pub filter: [(u32, u32); MAC_TABLE_ENTRIES],
    /// QUEUES.
    pub queues: u32,
    /// Commands in the control queue not yet fetched (oldest first).
    pub ring: VecDeque<FakeCtrlCommand>,
    /// The command held for firmware (CTRL_CMD_PENDING).
    pub held: Option<FakeCtrlCommand>,
    /// CTRL_DATA_SEL.
    pub data_sel: u32,
    /// The control stage is halted (set by the test): CTRL_ACK is ignored
    /// and the command stays held until ENGINE_RESET, as the HDL's control
    /// stage does after the device stops on an error.
    pub halted: bool,
    /// Every command answered, in order.
    pub acks: Vec<FakeAck>,
    /// CTRL_ACK writes ignored while halted.
    pub ignored_acks: u32,
}

impl FakeNet {
    fn after_reset(num_queues: u16) -> Self {
        FakeNet {
            // As the hardware: promiscuous, empty table.
            rx_mode: netreg::RX_MODE_PROMISC,
            mac: [0; 2],
            filter_sel: 0,
            filter_lo_staged: 0,
            filter: [(0, 0); MAC_TABLE_ENTRIES],
            queues: 1 | ((num_queues as u32).saturating_sub(1) << netreg::QUEUES_CTRL_SHIFT),
            ring: VecDeque::new(),
            held: None,
            data_sel: 0,
            halted: false,
            acks: Vec::new(),
            ignored_acks: 0,
        }
    }

    /// The primary MAC as programmed.
    pub fn primary_mac(&self) -> [u8; 6] {
        mac_of(self.mac[0], self.mac[1])
    }

    /// The valid table entries, in table order.
    pub fn table(&self) -> Vec<[u8; 6]> {
        self.filter
            .iter()
            .filter(|(_, hi)| hi & netreg::FILTER_VALID != 0)
            .map(|&(lo, hi)| mac_of(lo, hi))
            .collect()
    }

    /// A held command is a chain in flight, unless the stage is halted.
    fn ctrl_busy(&self) -> bool {
        self.held.is_some() && !self.halted
    }

    fn selected_entry(&self) -> (u32, u32) {
        let e = self.filter.get(self.filter_sel as usize);
        e.copied().unwrap_or((0, 0))
    }

    /// QUEUES: RX pairs in use.
    pub fn pairs(&self) -> u32 {
        self.queues & netreg::QUEUES_PAIRS_MASK
    }

    /// QUEUES: the control queue's index.
    pub fn ctrl_queue(&self) -> u16 {
        (self.queues >> netreg::QUEUES_CTRL_SHIFT & netreg::QUEUES_CTRL_MASK) as u16
    }

    /// The hardware filter's decision for a frame to `dst` (docs/net.md):
    /// promiscuous, broadcast, multicast with ALLMULTI, the primary MAC or a
    /// valid table entry.
    pub fn accepts(&self, dst: [u8; 6]) -> bool {
        self.rx_mode & netreg::RX_MODE_PROMISC != 0
            || dst == [0xFF; 6]
            || (dst[0] & 1 != 0 && self.rx_mode & netreg::RX_MODE_ALLMULTI != 0)
            || dst == self.primary_mac()
            || self.table().contains(&dst)
    }
}

fn mac_of(lo: u32, hi: u32) -> [u8; 6] {
    let l = lo.to_le_bytes();
    let h = hi.to_le_bytes();
    [l[0], l[1], l[2], l[3], h[0], h[1]]
}

/// The fake management port.
#[derive(Debug, Clone)]
pub struct FakeMgmt {
    personality: Personality,
    queue_size_max: u16,
    /// DEVICE_STATUS as firmware wrote it.
    pub device_status: u32,
    /// CONFIG_GENERATION as firmware wrote it.
    pub config_generation: u32,
    /// DEVICE_FEATURE_LO/HI.
    pub device_feature: [u32; 2],
    /// DRIVER_FEATURE_LO/HI (driver-written).
    pub driver_feature: [u32; 2],
    /// config_msix_vector (driver-written).
    pub config_msix_vector: u16,
    /// ENGINE_CTRL.
    pub engine_ctrl: u32,
    /// ENGINE_STATUS_IDLE, controlled by the test.
    pub idle: bool,
    /// Sticky engine error: (cause, queue, detail).
    pub error: Option<(u32, u32, u32)>,
    /// ENGINE_STATUS_EVENT_OVERFLOW (sticky; ENGINE_RESET clears it).
    pub overflow: bool,
    /// FW_STATUS.
    pub fw_status: u32,
    queue_sel: u32,
    /// Per-queue registers.
    pub queues: Vec<FakeQueue>,
    devcfg_addr: u32,
    /// The device-config RAM.
    pub devcfg: [u8; DEVCFG_RAM],
    /// FW_COUNTERS + i (i < 8).
    pub fw_counters: [u32; 8],
    events: VecDeque<u32>,
    /// A device_status write awaits firmware's DEVICE_STATUS (reads are held).
    pub status_pending: bool,
    /// ISR status bits.
    pub isr: u8,
    /// CONFIG_IRQ writes.
    pub config_irqs: u32,
    /// ENGINE_RESET writes.
    pub engine_resets: u32,
    /// The driver wrote 0 and has not read 0 back yet.
    reset_requested: bool,
    /// ENGINE_RESET happened (while idle) since the driver wrote 0.
    engine_reset_since_request: bool,
    /// Firmware has popped a StatusWrite with DRIVER_OK since the last one
    /// with 0 (bits cannot be cleared otherwise).
    driver_ok_seen: bool,
    /// Rules firmware broke, as they happened.
    pub violations: Vec<String>,
    /// The net function's registers and control queue (net personality).
    pub net: FakeNet,
    /// Management port accesses (reads and writes) so far.
    pub accesses: u64,
}

impl FakeMgmt {
    /// A port of `personality` with its hardware queue count and `queue_size_max`.
    pub fn new(personality: Personality, queue_size_max: u16) -> Self {
        Self::with_queues(personality, personality.num_queues(), queue_size_max)
    }

    /// A port with `num_queues` queues (an HDL build with another queue
    /// parameter).
    pub fn with_queues(personality: Personality, num_queues: u16, queue_size_max: u16) -> Self {
        let nq = num_queues as usize;
        FakeMgmt {
            personality,
            queue_size_max,
            device_status: 0,
            config_generation: 0,
            device_feature: [0; 2],
            driver_feature: [0; 2],
            config_msix_vector: NO_VECTOR,
            engine_ctrl: 0,
            idle: true,
            error: None,
            overflow: false,
            fw_status: 0,
            queue_sel: 0,
            queues: std::vec![FakeQueue::after_reset(queue_size_max); nq],
            devcfg_addr: 0,
            devcfg: [0; DEVCFG_RAM],
            fw_counters: [0; 8],
            events: VecDeque::new(),
            status_pending: false,
            isr: 0,
            config_irqs: 0,
            engine_resets: 0,
            reset_requested: false,
            engine_reset_since_request: false,
            driver_ok_seen: false,
            violations: Vec::new(),
            net: FakeNet::after_reset(num_queues),
            accesses: 0,
        }
    }

    fn post(&mut self, kind: EventKind, queue: u8, value: u16) {
        if self.events.len() >= mgmt::EVENT_FIFO_DEPTH {
            self.overflow = true;
            return;
        }
        self.events.push_back(Event { kind, queue, value }.encode());
    }

    /// Events waiting in the FIFO.
    pub fn pending_events(&self) -> usize {
        self.events.len()
    }

    fn violation(&mut self, what: String) {
        self.violations.push(what);
    }

    // ---- driver side (MMIO of the common configuration) ----

    /// The driver writes device_status.
    pub fn driver_write_status(&mut self, value: u8) {
        self.status_pending = true;
        if value == 0 {
            self.reset_requested = true;
            self.engine_reset_since_request = false;
        }
        self.post(EventKind::StatusWrite, 0, value as u16);
    }

    /// The driver reads device_status: `None` while the hardware holds the read.
    pub fn driver_read_status(&self) -> Option<u8> {
        (!self.status_pending).then_some(self.device_status as u8)
    }

    /// The driver reads device_status and sees it answered: a 0 ends its reset.
    pub fn driver_poll_status(&mut self) -> Option<u8> {
        let v = self.driver_read_status()?;
        if v == 0 {
            self.reset_requested = false;
        }
        Some(v)
    }

    /// The driver writes 64 feature bits (both halves of driver_feature).
    pub fn driver_write_features(&mut self, features: u64) {
        for select in 0..2u16 {
            self.driver_feature[select as usize] = (features >> (32 * select)) as u32;
            self.post(EventKind::DriverFeature, 0, select);
        }
    }

    /// device_feature as the driver reads it (both halves).
    pub fn driver_read_device_features(&self) -> u64 {
        self.device_feature[0] as u64 | (self.device_feature[1] as u64) << 32
    }

    /// The driver writes queue `q`'s size and ring addresses; ignored for a
    /// queue that does not exist or whose queue_enable reads 1.
    pub fn driver_configure_queue(&mut self, q: u16, cfg: QueueConfig) {
        if let Some(queue) = self.queues.get_mut(q as usize)
            && !queue.enable
        {
            queue.size = cfg.size;
            queue.desc = cfg.desc;
            queue.driver = cfg.driver;
            queue.device = cfg.device;
        }
    }

    /// The driver writes queue_enable of queue `q`.
    pub fn driver_write_queue_enable(&mut self, q: u16, value: u16) {
        if let Some(queue) = self.queues.get_mut(q as usize) {
            queue.enable_pending = true;
            self.post(EventKind::QueueEnable, q as u8, value);
        }
    }

    /// The driver reads queue_enable of `q`: `None` while held.
    pub fn driver_read_queue_enable(&self, q: u16) -> Option<u16> {
        let queue = self.queues.get(q as usize)?;
        (!queue.enable_pending).then_some(queue.enable as u16)
    }

    /// The driver writes queue_reset = 1 for `q`.
    pub fn driver_write_queue_reset(&mut self, q: u16) {
        if let Some(queue) = self.queues.get_mut(q as usize) {
            queue.reset_pending = true;
            self.post(EventKind::QueueReset, q as u8, 1);
        }
    }

    /// queue_reset of `q` as the driver reads it.
    pub fn driver_read_queue_reset(&self, q: u16) -> u16 {
        self.queues.get(q as usize).is_some_and(|x| x.reset_pending) as u16
    }

    /// The driver reads `len` bytes of device configuration at `offset`.
    pub fn driver_read_devcfg(&self, offset: usize, len: usize) -> &[u8] {
        &self.devcfg[offset..offset + len]
    }

    /// The driver reads the ISR (read clears).
    pub fn driver_read_isr(&mut self) -> u8 {
        core::mem::take(&mut self.isr)
    }

    /// The host writes the vendor Q_CONTROL of `q`.
    pub fn host_vendor_queue_control(&mut self, q: u16, value: u32) {
        if let Some(queue) = self.queues.get_mut(q as usize) {
            queue.stop_requested = value & vendor::Q_CONTROL_STOP != 0;
            self.post(EventKind::VendorQueueControl, q as u8, value as u16);
        }
    }

    /// The driver makes a control command available in the control queue
    /// (the queue QUEUES names). The hardware fetches it once that queue is
    /// running and nothing is held, holds it and posts
    /// [`EventKind::NetCtrl`].
    pub fn driver_ctrl_command(&mut self, class: u8, command: u8, payload: &[u8]) {
        self.net.ring.push_back(FakeCtrlCommand {
            class,
            command,
            payload: payload.to_vec(),
        });
        self.fetch_ctrl();
    }

    fn fetch_ctrl(&mut self) {
        if self.personality != Personality::Net || self.net.held.is_some() {
            return;
        }
        let q = self.net.ctrl_queue();
        let running = self.queues.get(q as usize).is_some_and(|x| x.fetching());
        if !running || self.engine_ctrl & mgmt::ENGINE_CTRL_DMA_ENABLE == 0 {
            return;
        }
        if let Some(cmd) = self.net.ring.pop_front() {
            self.net.held = Some(cmd);
            self.post(EventKind::NetCtrl, q as u8, 0);
        }
    }

    fn ctrl_cmd_word(&self) -> u32 {
        self.net.held.as_ref().map_or(0, |c| {
            // The length saturates at the field's maximum: a wrapped one
            // could look like a valid short payload.
            let len = c.payload.len().min(0xFFF) as u32;
            netreg::CTRL_CMD_PENDING | c.class as u32 | (c.command as u32) << 8 | len << 16
        })
    }

    fn ctrl_data(&self) -> u32 {
        let Some(c) = &self.net.held else { return 0 };
        // The hardware holds CTRL_PAYLOAD_MAX bytes; the rest reads 0.
        let held = &c.payload[..c.payload.len().min(netreg::CTRL_PAYLOAD_MAX)];
        let mut word = [0u8; 4];
        for (i, b) in word.iter_mut().enumerate() {
            let at = 4 * self.net.data_sel as usize + i;
            *b = held.get(at).copied().unwrap_or(0);
        }
        u32::from_le_bytes(word)
    }

    fn ctrl_ack(&mut self, value: u32) {
        if self.net.halted {
            self.net.ignored_acks += 1;
            return;
        }
        let Some(cmd) = self.net.held.take() else {
            self.violation("CTRL_ACK with no control command held".into());
            return;
        };
        let ack = value as u8;
        if ack != vfpga_abi::net::ctrl::OK && ack != vfpga_abi::net::ctrl::ERR {
            self.violation(format!("CTRL_ACK {value:#x} is neither OK nor ERR"));
        }
        let mut config_mac = [0; 6];
        config_mac.copy_from_slice(&self.devcfg[..6]);
        self.net.acks.push(FakeAck {
            command: cmd,
            ack,
            rx_mode: self.net.rx_mode,
            primary_mac: self.net.primary_mac(),
            table: self.net.table(),
            queues: self.net.queues,
            config_mac,
            config_generation: self.config_generation,
        });
    }

    /// The acks the driver got, in order.
    pub fn ctrl_acks(&self) -> Vec<u8> {
        self.net.acks.iter().map(|a| a.ack).collect()
    }

    // ---- engine side ----

    /// The engine stops on an error (sticky until ENGINE_RESET; a second one
    /// while the first is set is not reported, as in the hardware).
    pub fn engine_error(&mut self, cause: u32, queue: u32, detail: u32) {
        if self.error.is_some() {
            return;
        }
        self.error = Some((cause, queue, detail));
        self.post(EventKind::EngineError, queue as u8, cause as u16);
    }

    /// Posts a raw event word (for malformed-event tests).
    pub fn post_raw(&mut self, word: u32) {
        if self.events.len() >= mgmt::EVENT_FIFO_DEPTH {
            self.overflow = true;
        } else {
            self.events.push_back(word);
        }
    }

    // ---- checks ----

    fn driver_feature_word(&self) -> u64 {
        self.driver_feature[0] as u64 | (self.driver_feature[1] as u64) << 32
    }

    /// State rules that must hold between polls:
    /// - DMA and Q_RUN only with DRIVER_OK shown (so never with status 0),
    ///   unless a status write is still unanswered;
    /// - Q_RUN only on an enabled queue;
    /// - DRIVER_OK (without FAILED / NEEDS_RESET) has every enabled queue
    ///   armed, except one the driver is resetting, and DMA on;
    /// - status bits only in §3.1.1 order.
    pub fn check_invariants(&self) -> Result<(), String> {
        let st = self.device_status as u8;
        let dma = self.engine_ctrl & mgmt::ENGINE_CTRL_DMA_ENABLE != 0;
        // While a status write is unanswered the driver cannot see the value
        // (its read is held); DMA then needs the DRIVER_OK it wrote, which
        // the ENGINE_CTRL / Q_RUN write checks cover.
        if st & DRIVER_OK == 0 && !self.status_pending {
            if dma {
                return Err(format!("DMA enabled with device_status {st:#x}"));
            }
            if let Some(q) = self.queues.iter().position(|q| q.run) {
                return Err(format!("Q_RUN on queue {q} with device_status {st:#x}"));
            }
        }
        for (i, q) in self.queues.iter().enumerate() {
            if q.run && !q.enable {
                return Err(format!("Q_RUN on queue {i} that is not enabled"));
            }
        }
        let healthy = st & DRIVER_OK != 0 && st & (FAILED | DEVICE_NEEDS_RESET) == 0;
        if healthy && !self.status_pending && !self.reset_requested {
            if !dma {
                return Err("DRIVER_OK without DMA enabled".into());
            }
            for (i, q) in self.queues.iter().enumerate() {
                if q.enable && !q.run && !q.reset_pending {
                    return Err(format!("DRIVER_OK with enabled queue {i} not armed"));
                }
            }
        }
        let order = [
            (DRIVER, ACKNOWLEDGE),
            (FEATURES_OK, DRIVER),
            (DRIVER_OK, FEATURES_OK),
        ];
        for (bit, needs) in order {
            if st & bit != 0 && st & needs == 0 {
                return Err(format!(
                    "device_status {st:#x}: bit {bit:#x} without {needs:#x}"
                ));
            }
        }
        if st & DEVICE_NEEDS_RESET != 0 && st & DRIVER_OK == 0 {
            return Err(format!("DEVICE_NEEDS_RESET without DRIVER_OK: {st:#x}"));
        }
        Ok(())
    }

    fn on_device_status(&mut self, value: u32) {
        let old = self.device_status as u8;
        let new = value as u8;
        if new & FEATURES_OK != 0 && old & FEATURES_OK == 0 {
            let offered = self.personality.offered_features();
            if let Err(why) = features::check(offered, self.driver_feature_word()) {
                self.violation(format!(
                    "FEATURES_OK with driver features {:#x}: {why:?}",
                    self.driver_feature_word()
                ));
            }
        }
        if new == 0 && self.reset_requested && !self.engine_reset_since_request {
            self.violation("device_status 0 before the engine was reset while idle".into());
        }
        if new == 0 && self.engine_ctrl & mgmt::ENGINE_CTRL_DMA_ENABLE != 0 {
            self.violation("device_status 0 with DMA enabled".into());
        }
        self.device_status = value & 0xFF;
        self.status_pending = false;
    }

    fn engine_reset(&mut self) {
        if !self.idle || self.net.ctrl_busy() {
            // The hardware ignores it (it would corrupt DMA in flight).
            self.violation("ENGINE_RESET while the engine was not idle".into());
            return;
        }
        if self.reset_requested {
            self.engine_reset_since_request = true;
        }
        self.engine_resets += 1;
        let qmax = self.queue_size_max;
        for q in &mut self.queues {
            *q = FakeQueue::after_reset(qmax);
        }
        self.driver_feature = [0; 2];
        self.config_msix_vector = NO_VECTOR;
        // The control queue's ring is gone; the filter registers are kept
        // (firmware rewrites them, as in the hardware).
        self.net.ring.clear();
        self.net.held = None;
        self.net.halted = false;
        self.error = None;
        self.overflow = false;
        self.isr = 0;
    }

    fn selected(&mut self) -> Option<&mut FakeQueue> {
        self.queues.get_mut(self.queue_sel as usize)
    }
}

impl Hal for FakeMgmt {
    fn read(&mut self, addr: u16) -> u32 {
        self.accesses += 1;
        let q = self.queues.get(self.queue_sel as usize).copied();
        let qr = |f: fn(&FakeQueue) -> u32| q.as_ref().map_or(0, f);
        match addr {
            mgmt::ID => vendor::MAGIC_VALUE,
            mgmt::PERSONALITY => self.personality.device_type() as u32,
            mgmt::NUM_QUEUES => self.queues.len() as u32,
            mgmt::QUEUE_SIZE_MAX => self.queue_size_max as u32,
            mgmt::EVENT => {
                let word = self.events.pop_front().unwrap_or(0);
                if let Some(ev) = Event::decode(word)
                    && ev.kind == EventKind::StatusWrite
                {
                    let v = ev.value as u8;
                    if v == 0 {
                        self.driver_ok_seen = false;
                    } else if v & DRIVER_OK != 0 {
                        self.driver_ok_seen = true;
                    }
                }
                word
            }
            mgmt::EVENT_COUNT => self.events.len() as u32,
            mgmt::DEVICE_STATUS => self.device_status,
            mgmt::CONFIG_GENERATION => self.config_generation,
            mgmt::DEVICE_FEATURE_LO => self.device_feature[0],
            mgmt::DEVICE_FEATURE_HI => self.device_feature[1],
            mgmt::DRIVER_FEATURE_LO => self.driver_feature[0],
            mgmt::DRIVER_FEATURE_HI => self.driver_feature[1],
            mgmt::CONFIG_MSIX_VECTOR => self.config_msix_vector as u32,
            mgmt::ENGINE_CTRL => self.engine_ctrl,
            mgmt::ENGINE_STATUS => {
                let idle = self.idle && !self.net.ctrl_busy();
                (idle as u32 * mgmt::ENGINE_STATUS_IDLE)
                    | (self.error.is_some() as u32 * mgmt::ENGINE_STATUS_ERROR)
                    | (self.overflow as u32 * mgmt::ENGINE_STATUS_EVENT_OVERFLOW)
            }
            mgmt::ERROR_CAUSE => self.error.map_or(0, |e| e.0),
            mgmt::ERROR_QUEUE => self.error.map_or(0, |e| e.1),
            mgmt::ERROR_DETAIL => self.error.map_or(0, |e| e.2),
            mgmt::FW_STATUS => self.fw_status,
            mgmt::QUEUE_SEL => self.queue_sel,
            mgmt::Q_SIZE => qr(|q| q.size as u32),
            mgmt::Q_MSIX_VECTOR => qr(|q| q.vector as u32),
            mgmt::Q_DESC_LO => qr(|q| q.desc as u32),
            mgmt::Q_DESC_HI => qr(|q| (q.desc >> 32) as u32),
            mgmt::Q_DRIVER_LO => qr(|q| q.driver as u32),
            mgmt::Q_DRIVER_HI => qr(|q| (q.driver >> 32) as u32),
            mgmt::Q_DEVICE_LO => qr(|q| q.device as u32),
            mgmt::Q_DEVICE_HI => qr(|q| (q.device >> 32) as u32),
            mgmt::Q_ENABLE => qr(|q| q.enable as u32),
            mgmt::Q_RUN => qr(|q| q.run as u32),
            mgmt::Q_LAST_AVAIL_IDX => qr(|q| q.last_avail as u32),
            mgmt::Q_USED_IDX => qr(|q| q.used_idx as u32),
            mgmt::Q_INFLIGHT => qr(|q| q.inflight as u32),
            mgmt::DEVCFG_ADDR => self.devcfg_addr,
            mgmt::DEVCFG_DATA => {
                let a = (self.devcfg_addr as usize & !3) % DEVCFG_RAM;
                u32::from_le_bytes(self.devcfg[a..a + 4].try_into().unwrap())
            }
            a if (mgmt::FW_COUNTERS..mgmt::HW_COUNTERS).contains(&a) => {
                self.fw_counters[(a - mgmt::FW_COUNTERS) as usize]
            }
            netreg::RX_MODE => self.net.rx_mode,
            netreg::MAC_LO => self.net.mac[0],
            netreg::MAC_HI => self.net.mac[1],
            netreg::FILTER_SEL => self.net.filter_sel,
            netreg::FILTER_LO => self.net.selected_entry().0,
            netreg::FILTER_HI => self.net.selected_entry().1,
            netreg::QUEUES => self.net.queues,
            netreg::CTRL_CMD => self.ctrl_cmd_word(),
            netreg::CTRL_DATA_SEL => self.net.data_sel,
            netreg::CTRL_DATA => self.ctrl_data(),
            _ => 0,
        }
    }

    fn write(&mut self, addr: u16, value: u32) {
        self.accesses += 1;
        match addr {
            mgmt::DEVICE_STATUS => self.on_device_status(value),
            mgmt::CONFIG_GENERATION => self.config_generation = value & 0xFF,
            mgmt::DEVICE_FEATURE_LO => self.device_feature[0] = value,
            mgmt::DEVICE_FEATURE_HI => self.device_feature[1] = value,
            mgmt::ENGINE_CTRL => {
                if value & mgmt::ENGINE_CTRL_DMA_ENABLE != 0 && !self.driver_ok_seen {
                    self.violation("DMA enabled before the driver set DRIVER_OK".into());
                }
                self.engine_ctrl = value;
            }
            mgmt::ENGINE_RESET if value & 1 != 0 => self.engine_reset(),
            mgmt::CONFIG_IRQ if value & 1 != 0 => {
                self.isr |= vfpga_abi::status::ISR_CONFIG;
                self.config_irqs += 1;
            }
            mgmt::FW_STATUS => self.fw_status = value,
            mgmt::QUEUE_SEL => self.queue_sel = value,
            mgmt::Q_ENABLE => {
                if let Some(q) = self.selected() {
                    q.enable = value & 1 != 0;
                    q.enable_pending = false;
                    if value & 1 == 0 {
                        q.reset_pending = false;
                    }
                }
            }
            mgmt::Q_RUN => {
                let sel = self.queue_sel;
                let driver_ok = self.driver_ok_seen;
                let qmax = self.queue_size_max;
                if let Some(q) = self.selected() {
                    let on = value & 1 != 0;
                    let cfg = QueueConfig {
                        size: q.size,
                        desc: q.desc,
                        driver: q.driver,
                        device: q.device,
                    };
                    q.run = on;
                    if on && !driver_ok {
                        self.violation(format!("Q_RUN on queue {sel} before DRIVER_OK"));
                    }
                    if on && cfg.validate(qmax).is_err() {
                        self.violation(format!("Q_RUN on queue {sel} with invalid {cfg:?}"));
                    }
                }
            }
            mgmt::Q_LAST_AVAIL_IDX => {
                if let Some(q) = self.selected()
                    && !q.fetching()
                {
                    q.last_avail = value as u16;
                }
            }
            mgmt::Q_USED_IDX => {
                if let Some(q) = self.selected()
                    && !q.fetching()
                {
                    q.used_idx = value as u16;
                }
            }
            mgmt::DEVCFG_ADDR => self.devcfg_addr = value,
            mgmt::DEVCFG_DATA => {
                let a = (self.devcfg_addr as usize & !3) % DEVCFG_RAM;
                self.devcfg[a..a + 4].copy_from_slice(&value.to_le_bytes());
            }
            a if (mgmt::FW_COUNTERS..mgmt::HW_COUNTERS).contains(&a) => {
                self.fw_counters[(a - mgmt::FW_COUNTERS) as usize] = value;
            }
            netreg::RX_MODE => self.net.rx_mode = value & 7,
            netreg::MAC_LO => self.net.mac[0] = value,
            netreg::MAC_HI => self.net.mac[1] = value & 0xFFFF,
            netreg::FILTER_SEL => self.net.filter_sel = value,
            netreg::FILTER_LO => self.net.filter_lo_staged = value,
            netreg::FILTER_HI => {
                let lo = self.net.filter_lo_staged;
                let hi = value & (0xFFFF | netreg::FILTER_VALID);
                if let Some(e) = self.net.filter.get_mut(self.net.filter_sel as usize) {
                    *e = (lo, hi);
                }
            }
            netreg::QUEUES => self.net.queues = value,
            netreg::CTRL_DATA_SEL => self.net.data_sel = value,
            netreg::CTRL_ACK => self.ctrl_ack(value),
            _ => {}
        }
        // A running control queue takes its next command.
        self.fetch_ctrl();
    }
}
