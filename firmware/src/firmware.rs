//! The firmware proper: the device status state machine (virtio 1.2 §2.1,
//! §3.1), feature acceptance, queue acceptance, reset with DMA drain, fatal
//! errors, device configuration changes and the virtio-net control queue
//! (§5.1.6.5). See `docs/firmware.md`.

use vfpga_abi::mgmt::{self, Event, EventKind};
use vfpga_abi::status::{ACKNOWLEDGE, DEVICE_NEEDS_RESET, DRIVER, DRIVER_OK, FAILED, FEATURES_OK};
use vfpga_abi::vendor::{self, ErrorCause};
use vfpga_abi::{Personality, blk, features as feat, net};

use crate::board::{BoardConfig, NetBoardConfig};
use crate::counters::Counters;
use crate::devcfg::ConfigImage;
use crate::error::Error;
use crate::features::{self, FeatureRejection};
use crate::hal::Hal;
use crate::net_ctrl::{self, CtrlCommand, NetCtrlState};
use crate::net_regs;
use crate::queue::{MAX_QUEUES, QueueConfig, QueueRefusal, QueueState, SPEC_MAX_SIZE};

/// Status bits a driver may set; DEVICE_NEEDS_RESET is the device's alone.
const DRIVER_BITS: u8 = ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK | FAILED;

/// Why the device stopped and needs a reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FatalCause {
    /// The engine stopped on an error (registers ERROR_CAUSE/QUEUE/DETAIL).
    Engine {
        /// The cause, if the hardware's value is a known one.
        cause: Option<ErrorCause>,
        /// The raw ERROR_CAUSE value.
        raw: u32,
        /// ERROR_QUEUE.
        queue: u32,
        /// ERROR_DETAIL.
        detail: u32,
    },
    /// The event FIFO overflowed: driver writes were lost, so the firmware's
    /// view of the driver can no longer be trusted.
    EventOverflow,
}

/// The management firmware over a [`Hal`].
#[derive(Debug)]
pub struct Firmware<H: Hal> {
    hal: H,
    personality: Personality,
    board: BoardConfig,
    num_queues: u16,
    queue_size_max: u16,
    offered: u64,
    /// device_status as last reported to the driver.
    status: u8,
    /// Features accepted with FEATURES_OK (0 before).
    features: u64,
    queues: [QueueState; MAX_QUEUES],
    /// A device reset is waiting for the engine to go idle.
    resetting: bool,
    /// This reset already answered a held control command without an event.
    reset_ctrl_answered: bool,
    fatal: Option<FatalCause>,
    /// A fatal error still to be shown as DEVICE_NEEDS_RESET (end of poll).
    fatal_unreported: bool,
    /// `status` changed (or a driver write awaits its answer) and is written
    /// to DEVICE_STATUS once this poll's events are handled.
    status_dirty: bool,
    /// A configuration interrupt goes out after that write.
    notify_pending: bool,
    /// Last value of ENGINE_STATUS_EVENT_OVERFLOW, to act on its rising edge.
    overflow_seen: bool,
    config_generation: u8,
    counters: Counters,
    last_feature_rejection: Option<FeatureRejection>,
    last_queue_refusal: Option<(u16, QueueRefusal)>,
    net: NetCtrlState,
}

impl<H: Hal> Firmware<H> {
    /// Probes the hardware, checks `board` against it and programs the
    /// power-on state: offered features, device configuration,
    /// config_generation 0, counters 0, engine stopped, FW_STATUS running.
    ///
    /// Assumes the hardware is fresh from power-on (device_status 0, engine
    /// idle); events already posted are handled by the first [`poll`](Self::poll).
    pub fn new(mut hal: H, board: BoardConfig) -> Result<Self, Error> {
        let id = hal.read(mgmt::ID);
        if id != vendor::MAGIC_VALUE {
            return Err(Error::BadMagic(id));
        }
        let personality = match hal.read(mgmt::PERSONALITY) {
            1 => Personality::Net,
            2 => Personality::Blk,
            other => return Err(Error::UnknownPersonality(other)),
        };
        let nq = hal.read(mgmt::NUM_QUEUES);
        if nq == 0 || nq as usize > MAX_QUEUES {
            return Err(Error::TooManyQueues(nq));
        }
        let qmax = hal.read(mgmt::QUEUE_SIZE_MAX);
        if qmax == 0 || !qmax.is_power_of_two() || qmax > SPEC_MAX_SIZE {
            return Err(Error::BadQueueSizeMax(qmax));
        }
        check_board(personality, nq as u16, &board)?;
        let mut fw = Firmware {
            hal,
            personality,
            board,
            num_queues: nq as u16,
            queue_size_max: qmax as u16,
            offered: personality.offered_features(),
            status: 0,
            features: 0,
            queues: [QueueState::default(); MAX_QUEUES],
            resetting: false,
            reset_ctrl_answered: false,
            fatal: None,
            fatal_unreported: false,
            status_dirty: false,
            notify_pending: false,
            overflow_seen: false,
            config_generation: 0,
            counters: Counters::default(),
            last_feature_rejection: None,
            last_queue_refusal: None,
            net: NetCtrlState::after_reset(board.net.mac),
        };
        fw.start();
        Ok(fw)
    }

    fn start(&mut self) {
        self.stop_fetching();
        self.hal.write(mgmt::ENGINE_CTRL, 0);
        self.hal.write(mgmt::DEVICE_FEATURE_LO, self.offered as u32);
        self.hal
            .write(mgmt::DEVICE_FEATURE_HI, (self.offered >> 32) as u32);
        self.config_image().write_to(&mut self.hal);
        self.hal.write(mgmt::CONFIG_GENERATION, 0);
        self.program_net();
        self.publish_counters();
        self.hal.write(mgmt::FW_STATUS, vendor::FW_STATUS_RUNNING);
    }

    /// Handles pending events and advances work in progress, then returns.
    /// Never waits: call it again (every few engine cycles, or in the soft
    /// CPU's main loop).
    pub fn poll(&mut self) {
        let engine = self.hal.read(mgmt::ENGINE_STATUS);
        self.check_overflow(engine);
        // Bounded: at most one FIFO's worth per call.
        for _ in 0..mgmt::EVENT_FIFO_DEPTH {
            let word = self.hal.read(mgmt::EVENT);
            if word == 0 {
                break;
            }
            self.handle_event_word(word);
        }
        // The error bit is checked as well as the event, so a lost
        // EngineError event cannot leave an erring engine unnoticed.
        if engine & mgmt::ENGINE_STATUS_ERROR != 0 && self.fatal.is_none() && !self.resetting {
            self.on_engine_error();
        }
        self.report_fatal();
        self.flush_status();
        self.advance_queue_resets();
        self.advance_reset();
    }

    fn handle_event_word(&mut self, word: u32) {
        let Some(ev) = Event::decode(word) else {
            self.counters.bad_events = self.counters.bad_events.wrapping_add(1);
            return;
        };
        match ev.kind {
            EventKind::StatusWrite => self.on_status_write(ev.value as u8),
            EventKind::QueueEnable => self.on_queue_enable(ev.queue as u16, ev.value),
            EventKind::QueueReset => self.on_queue_reset(ev.queue as u16),
            EventKind::EngineError => self.on_engine_error(),
            EventKind::VendorQueueControl => {
                // The hardware gates q_run itself; firmware only keeps count.
                let c = &mut self.counters;
                if ev.value as u32 & vendor::Q_CONTROL_STOP != 0 {
                    c.vendor_stops = c.vendor_stops.wrapping_add(1);
                } else {
                    c.vendor_starts = c.vendor_starts.wrapping_add(1);
                }
            }
            // Features are read once, when the driver sets FEATURES_OK.
            EventKind::DriverFeature => {}
            EventKind::NetCtrl => {
                if !self.serve_net_ctrl() {
                    // Nothing held: a duplicate event, or a command already
                    // answered after an overflow. Nothing is written.
                    self.counters.bad_events = self.counters.bad_events.wrapping_add(1);
                }
            }
        }
    }

    // ---- device status (§2.1, §3.1) ----

    fn on_status_write(&mut self, value: u8) {
        self.counters.status_writes = self.counters.status_writes.wrapping_add(1);
        if self.resetting {
            // The driver must wait for the reset to finish (§2.4); whatever it
            // wrote meanwhile is answered by the final DEVICE_STATUS = 0.
            return;
        }
        if value == 0 {
            self.begin_reset();
            return;
        }
        let old = self.status;
        // §2.1.1: the driver never clears bits; those it tries to clear stay set.
        let req = value & DRIVER_BITS & !old;
        let mut new = old;
        if req & ACKNOWLEDGE != 0 {
            new |= ACKNOWLEDGE;
        }
        // §3.1.1 order: each step needs the previous one.
        if req & DRIVER != 0 && new & ACKNOWLEDGE != 0 {
            new |= DRIVER;
        }
        if req & FEATURES_OK != 0 && new & DRIVER != 0 && self.accept_features() {
            new |= FEATURES_OK;
        }
        let driver_ok = req & DRIVER_OK != 0 && new & FEATURES_OK != 0;
        if driver_ok {
            new |= DRIVER_OK;
        }
        if req & FAILED != 0 {
            new |= FAILED;
        }
        if new & FAILED != 0 {
            // The driver gave up: fetch nothing more until it resets.
            self.stop_fetching();
        } else if driver_ok {
            if self.fatal.is_some() {
                // An error before DRIVER_OK: report it now (§2.1.2).
                new |= DEVICE_NEEDS_RESET;
                self.notify_pending = true;
            } else {
                self.arm();
            }
        }
        self.status = new;
        self.status_dirty = true;
    }

    /// Answers the driver's status writes once per poll, after every queued
    /// event: the hardware releases held device_status reads on this write,
    /// so a driver that wrote twice (e.g. a value, then 0) must not see the
    /// answer to the first while the second is still queued.
    fn flush_status(&mut self) {
        if self.resetting {
            // The reset's completion answers with 0.
            self.status_dirty = false;
            self.notify_pending = false;
            return;
        }
        // Events still queued (more than one poll drains) may hold another
        // status write: answer on a later poll, once they are handled.
        if self.status_dirty && self.hal.read(mgmt::EVENT_COUNT) != 0 {
            return;
        }
        let dirty = core::mem::take(&mut self.status_dirty);
        let notify = core::mem::take(&mut self.notify_pending);
        if dirty {
            self.hal.write(mgmt::DEVICE_STATUS, self.status as u32);
        }
        if notify {
            self.config_irq();
        }
    }

    fn accept_features(&mut self) -> bool {
        let driver = self.hal.read(mgmt::DRIVER_FEATURE_LO) as u64
            | (self.hal.read(mgmt::DRIVER_FEATURE_HI) as u64) << 32;
        match features::check(self.offered, driver) {
            Ok(()) => {
                self.features = driver;
                // Control queue index and MRG_RXBUF follow the features;
                // programmed before the driver can read FEATURES_OK back.
                self.program_net();
                true
            }
            Err(why) => {
                self.counters.feature_rejections = self.counters.feature_rejections.wrapping_add(1);
                self.last_feature_rejection = Some(why);
                false
            }
        }
    }

    /// DRIVER_OK: the engine may now use the enabled queues.
    fn arm(&mut self) {
        self.hal.write(mgmt::ENGINE_CTRL, self.engine_ctrl());
        for q in 0..self.num_queues {
            let s = self.queues[q as usize];
            // A queue being reset is armed when re-enabled.
            if s.enabled && !s.resetting {
                self.set_run(q, true);
            }
        }
    }

    fn engine_ctrl(&self) -> u32 {
        let mut ctrl = mgmt::ENGINE_CTRL_DMA_ENABLE;
        let has = |f: u32| self.features & feat::bit(f) != 0;
        if has(feat::RING_EVENT_IDX) {
            ctrl |= mgmt::ENGINE_CTRL_EVENT_IDX;
        }
        if has(feat::NOTIFICATION_DATA) {
            ctrl |= mgmt::ENGINE_CTRL_NOTIFICATION_DATA;
        }
        if has(feat::RING_INDIRECT_DESC) {
            ctrl |= mgmt::ENGINE_CTRL_INDIRECT;
        }
        ctrl
    }

    fn set_run(&mut self, q: u16, run: bool) {
        self.hal.write(mgmt::QUEUE_SEL, q as u32);
        self.hal.write(mgmt::Q_RUN, run as u32);
        self.queues[q as usize].running = run;
    }

    /// Clears Q_RUN everywhere: no new chain is fetched, chains in flight finish.
    fn stop_fetching(&mut self) {
        for q in 0..self.num_queues {
            self.set_run(q, false);
        }
    }

    // ---- reset (§2.4, §4.1.4.3.1) ----

    fn begin_reset(&mut self) {
        self.resetting = true;
        self.reset_ctrl_answered = false;
        // DMA stays enabled while draining: chains in flight still need it to
        // write their data and used elements. It goes off once idle.
        self.stop_fetching();
    }

    fn advance_reset(&mut self) {
        if !self.resetting {
            return;
        }
        // A held control command whose event was lost is a chain in flight:
        // answer it (ERR, the state it would set is about to be reset) so the
        // engine can drain. Once per reset: a command that stays held after
        // its ack (a halted engine ignores CTRL_ACK) is not acked again on
        // every poll; ENGINE_RESET drops it.
        if !self.reset_ctrl_answered {
            self.reset_ctrl_answered = self.serve_net_ctrl();
        }
        if self.hal.read(mgmt::ENGINE_STATUS) & mgmt::ENGINE_STATUS_IDLE == 0 {
            return;
        }
        // No event from before the reset may be handled after it.
        if self.hal.read(mgmt::EVENT_COUNT) != 0 {
            return;
        }
        self.hal.write(mgmt::ENGINE_CTRL, 0);
        self.hal.write(mgmt::ENGINE_RESET, 1);
        self.status = 0;
        self.features = 0;
        self.queues = [QueueState::default(); MAX_QUEUES];
        self.fatal = None;
        self.fatal_unreported = false;
        self.status_dirty = false;
        self.notify_pending = false;
        let mac_was_changed = self.net.mac != self.board.net.mac;
        self.net = NetCtrlState::after_reset(self.board.net.mac);
        // After ENGINE_RESET, whatever it does to the net registers.
        self.program_net();
        if mac_was_changed {
            // MAC_ADDR_SET put its address in the config `mac`; the
            // device's own one comes back (the generation tells a reader).
            self.config_image().write_to(&mut self.hal);
            self.bump_generation();
        }
        self.counters.resets = self.counters.resets.wrapping_add(1);
        self.publish_counters();
        self.resetting = false;
        // Last: only now does the driver read 0 (§4.1.4.3.1).
        self.hal.write(mgmt::DEVICE_STATUS, 0);
    }

    // ---- queues (§2.6, §2.7, §4.1.4.3) ----

    fn on_queue_enable(&mut self, q: u16, value: u16) {
        if q >= self.num_queues {
            self.counters.bad_events = self.counters.bad_events.wrapping_add(1);
            return;
        }
        let state = self.queues[q as usize];
        if self.resetting {
            // The reset in progress disables every queue.
            self.counters.queue_refusals = self.counters.queue_refusals.wrapping_add(1);
            self.last_queue_refusal = Some((q, QueueRefusal::DeviceNotUsable));
            self.answer_queue_enable(q, false);
            return;
        }
        if value == 0 {
            // §4.1.4.3.2: the driver must not write 0. Nothing changes.
            self.last_queue_refusal = Some((q, QueueRefusal::DisableNotSupported));
            self.answer_queue_enable(q, state.enabled);
            return;
        }
        if state.enabled {
            self.answer_queue_enable(q, true);
            return;
        }
        let verdict = if self.fatal.is_some() || self.status & (FAILED | DEVICE_NEEDS_RESET) != 0 {
            Err(QueueRefusal::DeviceNotUsable)
        } else if self.status & FEATURES_OK == 0 {
            Err(QueueRefusal::FeaturesNotOk)
        } else if state.resetting {
            Err(QueueRefusal::QueueResetting)
        } else {
            QueueConfig::read(&mut self.hal, q).validate(self.queue_size_max)
        };
        match verdict {
            Ok(()) => {
                self.queues[q as usize].enabled = true;
                self.counters.queue_enables = self.counters.queue_enables.wrapping_add(1);
                // Enabled after DRIVER_OK (vhost-vdpa's late enable): arm now,
                // before the driver can see queue_enable = 1.
                if self.status & DRIVER_OK != 0 {
                    self.set_run(q, true);
                }
                self.answer_queue_enable(q, true);
            }
            Err(why) => {
                self.counters.queue_refusals = self.counters.queue_refusals.wrapping_add(1);
                self.last_queue_refusal = Some((q, why));
                self.answer_queue_enable(q, false);
            }
        }
    }

    fn answer_queue_enable(&mut self, q: u16, enabled: bool) {
        self.hal.write(mgmt::QUEUE_SEL, q as u32);
        self.hal.write(mgmt::Q_ENABLE, enabled as u32);
    }

    fn on_queue_reset(&mut self, q: u16) {
        if q >= self.num_queues {
            self.counters.bad_events = self.counters.bad_events.wrapping_add(1);
            return;
        }
        if self.resetting {
            // ENGINE_RESET clears the queue anyway; release the read now.
            self.answer_queue_enable(q, false);
            return;
        }
        self.queues[q as usize].resetting = true;
        if self.queues[q as usize].running {
            self.set_run(q, false);
        }
    }

    /// §2.6.1: a reset queue is stopped, drained and zeroed before
    /// queue_reset (and queue_enable) read 0.
    fn advance_queue_resets(&mut self) {
        if self.resetting {
            return;
        }
        for q in 0..self.num_queues {
            if !self.queues[q as usize].resetting {
                continue;
            }
            self.hal.write(mgmt::QUEUE_SEL, q as u32);
            if self.hal.read(mgmt::Q_INFLIGHT) != 0 {
                continue;
            }
            self.hal.write(mgmt::Q_LAST_AVAIL_IDX, 0);
            self.hal.write(mgmt::Q_USED_IDX, 0);
            self.hal.write(mgmt::Q_ENABLE, 0);
            self.queues[q as usize] = QueueState::default();
            self.counters.queue_resets = self.counters.queue_resets.wrapping_add(1);
        }
    }

    // ---- errors (§2.1.2) ----

    fn on_engine_error(&mut self) {
        let raw = self.hal.read(mgmt::ERROR_CAUSE);
        let cause = FatalCause::Engine {
            cause: ErrorCause::from_u32(raw),
            raw,
            queue: self.hal.read(mgmt::ERROR_QUEUE),
            detail: self.hal.read(mgmt::ERROR_DETAIL),
        };
        self.enter_fatal(cause);
    }

    fn check_overflow(&mut self, engine: u32) {
        let overflow = engine & mgmt::ENGINE_STATUS_EVENT_OVERFLOW != 0;
        if overflow && !self.overflow_seen {
            self.counters.event_overflows = self.counters.event_overflows.wrapping_add(1);
            self.enter_fatal(FatalCause::EventOverflow);
            // Lost events may hold driver reads forever: every one is
            // answered. Before DRIVER_OK nothing runs, so the device resets
            // itself: whatever the lost writes were (a reset request among
            // them), both sides restart from status 0. After DRIVER_OK the
            // driver is told with DEVICE_NEEDS_RESET instead (end of poll).
            if !self.resetting {
                if self.status & DRIVER_OK == 0 {
                    self.begin_reset();
                } else {
                    self.status_dirty = true;
                }
            }
            for q in 0..self.num_queues {
                let s = self.queues[q as usize];
                if self.resetting {
                    self.answer_queue_enable(q, false);
                } else if !s.resetting {
                    self.answer_queue_enable(q, s.enabled);
                }
            }
            // So is a held control command whose event may be lost (ERR:
            // the device is not usable). Its event, if kept, finds nothing.
            self.serve_net_ctrl();
        }
        self.overflow_seen = overflow;
    }

    /// The engine's error is sticky until reset, so one per reset cycle.
    fn enter_fatal(&mut self, cause: FatalCause) {
        if self.fatal.is_some() {
            return;
        }
        self.fatal = Some(cause);
        self.counters.device_errors = self.counters.device_errors.wrapping_add(1);
        self.publish_counters();
        self.stop_fetching();
        // Shown once this poll's events are handled: writing DEVICE_STATUS
        // releases a held driver read, which must see the answer to its own
        // write (e.g. a reset queued behind the error), not this.
        self.fatal_unreported = true;
    }

    /// §2.1.2: NEEDS_RESET plus a configuration change notification once
    /// DRIVER_OK is set; before that it is reported at DRIVER_OK, and a reset
    /// in progress makes it moot.
    fn report_fatal(&mut self) {
        if !core::mem::take(&mut self.fatal_unreported) || self.resetting {
            return;
        }
        if self.status & DRIVER_OK != 0 && self.status & DEVICE_NEEDS_RESET == 0 {
            self.status |= DEVICE_NEEDS_RESET;
            self.status_dirty = true;
            self.notify_pending = true;
        }
    }

    // ---- device configuration (§2.5) ----

    fn config_image(&self) -> ConfigImage {
        // The net `mac` is the one MAC_ADDR_SET gave, if any (§5.1.6.5.2).
        let net = NetBoardConfig {
            mac: self.net.mac,
            ..self.board.net
        };
        ConfigImage::for_personality(self.personality, &self.board.blk, &net)
    }

    fn bump_generation(&mut self) {
        self.config_generation = self.config_generation.wrapping_add(1);
        self.hal
            .write(mgmt::CONFIG_GENERATION, self.config_generation as u32);
    }

    /// Rewrites the device configuration, then bumps config_generation (after
    /// the data, so a driver reading across the update sees the change,
    /// §2.5.1), then notifies a driver that is already running.
    fn config_changed(&mut self) {
        self.config_image().write_to(&mut self.hal);
        self.bump_generation();
        self.counters.config_changes = self.counters.config_changes.wrapping_add(1);
        // Before DRIVER_OK the driver reads the configuration itself.
        if self.status & DRIVER_OK != 0 && !self.resetting {
            self.config_irq();
        }
    }

    fn config_irq(&mut self) {
        self.hal.write(mgmt::CONFIG_IRQ, 1);
        self.counters.config_irqs = self.counters.config_irqs.wrapping_add(1);
    }

    /// Changes the blk capacity (in 512-byte sectors), e.g. after a resize.
    pub fn set_capacity(&mut self, sectors: u64) -> Result<(), Error> {
        if self.personality != Personality::Blk {
            return Err(Error::WrongPersonality(self.personality));
        }
        self.board.blk.capacity = sectors;
        self.config_changed();
        Ok(())
    }

    /// Changes the net link status.
    pub fn set_link_up(&mut self, up: bool) -> Result<(), Error> {
        if self.personality != Personality::Net {
            return Err(Error::WrongPersonality(self.personality));
        }
        self.board.net.status = if up { net::S_LINK_UP } else { 0 };
        self.config_changed();
        Ok(())
    }

    // ---- virtio-net control queue (§5.1.6.5) ----

    /// Executes one control-queue command and returns the ack byte
    /// (`VIRTIO_NET_OK` / `VIRTIO_NET_ERR`). An accepted command is in
    /// effect when this returns: the filter and queue registers are
    /// programmed and, for MAC_ADDR_SET, the config `mac` rewritten, as
    /// §5.1.6.5 wants before the command is used. ERR while the device is
    /// not live (before DRIVER_OK, failed, needing or undergoing reset).
    pub fn net_ctrl_command(&mut self, class: u8, command: u8, payload: &[u8]) -> u8 {
        if self.personality != Personality::Net || !self.live() {
            self.counters.ctrl_errors = self.counters.ctrl_errors.wrapping_add(1);
            return net::ctrl::ERR;
        }
        let cmd = CtrlCommand {
            class,
            command,
            payload,
        };
        let (ack, next) = net_ctrl::handle(
            &self.net,
            self.features,
            self.board.net.max_queue_pairs,
            cmd,
        );
        if ack != net::ctrl::OK {
            self.counters.ctrl_errors = self.counters.ctrl_errors.wrapping_add(1);
            return ack;
        }
        let mac_changed = next.mac != self.net.mac;
        self.net = next;
        self.program_net();
        if mac_changed {
            // §5.1.6.5.2: the address set is reflected in the config `mac`.
            // The generation changes so a driver reading the six bytes
            // across the update notices; no config interrupt, since the
            // driver made the change itself.
            self.config_image().write_to(&mut self.hal);
            self.bump_generation();
        }
        ack
    }

    /// Serves the control command the hardware holds, if any: reads it (the
    /// payload only when all of it is held; a longer one is an ERR), runs it,
    /// then acks. The ack comes last: the driver may rely on the new state
    /// as soon as it sees its buffer used. Returns false when none is held.
    fn serve_net_ctrl(&mut self) -> bool {
        if self.personality != Personality::Net {
            return false;
        }
        let mut payload = [0u8; net_regs::PAYLOAD_MAX];
        let Some(cmd) = net_regs::read_held(&mut self.hal, &mut payload) else {
            return false;
        };
        let ack = if cmd.fits() {
            self.net_ctrl_command(cmd.class, cmd.command, &payload[..cmd.len])
        } else {
            self.counters.ctrl_errors = self.counters.ctrl_errors.wrapping_add(1);
            net::ctrl::ERR
        };
        self.counters.ctrl_commands = self.counters.ctrl_commands.wrapping_add(1);
        net_regs::ack(&mut self.hal, ack);
        true
    }

    /// The driver is running the device: DRIVER_OK, no failure, no reset.
    fn live(&self) -> bool {
        self.status & DRIVER_OK != 0
            && self.status & (FAILED | DEVICE_NEEDS_RESET) == 0
            && self.fatal.is_none()
            && !self.resetting
    }

    /// Index of the control queue (§5.1.2): 2 without VIRTIO_NET_F_MQ,
    /// `2 * max_virtqueue_pairs` with it.
    pub fn net_ctrl_queue(&self) -> u16 {
        if self.features & feat::bit(feat::NET_MQ) != 0 {
            2 * self.board.net.max_queue_pairs
        } else {
            2
        }
    }

    /// Writes the net registers from the control state and the negotiated
    /// features: RX filter, MRG_RXBUF, queue pairs and control queue index.
    fn program_net(&mut self) {
        if self.personality != Personality::Net {
            return;
        }
        let mrg = self.features & feat::bit(feat::NET_MRG_RXBUF) != 0;
        net_regs::program_filter(&mut self.hal, &self.net, mrg);
        let queues = net_regs::queues(self.net.queue_pairs, self.net_ctrl_queue());
        self.hal.write(mgmt::net::QUEUES, queues);
    }

    // ---- counters ----

    fn publish_counters(&mut self) {
        let fw = [self.counters.device_errors, self.counters.resets];
        for (i, value) in fw.into_iter().enumerate() {
            self.hal
                .write(mgmt::fw_counter(vendor::FIRST_FW_COUNTER + i), value);
        }
    }

    // ---- accessors ----

    /// The personality the hardware reported.
    pub fn personality(&self) -> Personality {
        self.personality
    }

    /// device_status as last reported to the driver.
    pub fn status(&self) -> u8 {
        self.status
    }

    /// Features accepted with FEATURES_OK (0 before it and after reset).
    pub fn negotiated_features(&self) -> u64 {
        self.features
    }

    /// Work in progress that advances without a new event: a device or
    /// queue reset waiting for the engine to drain, a device status or a
    /// fatal error still to report. While it holds, poll on a short timer;
    /// otherwise the firmware may sleep until the hardware's management
    /// interrupt (an event waits) or a slow periodic check.
    pub fn has_work(&self) -> bool {
        self.resetting
            || self.status_dirty
            || self.notify_pending
            || self.fatal_unreported
            || self.queues[..self.num_queues as usize]
                .iter()
                .any(|q| q.resetting)
    }

    /// A device reset is waiting for the engine to drain.
    pub fn is_resetting(&self) -> bool {
        self.resetting
    }

    /// The fatal error of this reset cycle, if any.
    pub fn fatal(&self) -> Option<FatalCause> {
        self.fatal
    }

    /// Firmware state of queue `q`.
    pub fn queue(&self, q: u16) -> Option<QueueState> {
        (q < self.num_queues).then(|| self.queues[q as usize])
    }

    /// Queues the hardware implements.
    pub fn num_queues(&self) -> u16 {
        self.num_queues
    }

    /// The counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Why FEATURES_OK was last refused.
    pub fn last_feature_rejection(&self) -> Option<FeatureRejection> {
        self.last_feature_rejection
    }

    /// The last queue_enable write that was refused or ignored, and why.
    pub fn last_queue_refusal(&self) -> Option<(u16, QueueRefusal)> {
        self.last_queue_refusal
    }

    /// config_generation as last written.
    pub fn config_generation(&self) -> u8 {
        self.config_generation
    }

    /// The control queue's receive filter and steering state.
    pub fn net_ctrl_state(&self) -> &NetCtrlState {
        &self.net
    }

    /// The board configuration currently presented.
    pub fn board(&self) -> &BoardConfig {
        &self.board
    }

    /// The management port.
    pub fn hal(&self) -> &H {
        &self.hal
    }

    /// The management port, mutably (tests and the simulator drive the
    /// hardware side through it between polls).
    pub fn hal_mut(&mut self) -> &mut H {
        &mut self.hal
    }
}

fn check_board(p: Personality, nq: u16, board: &BoardConfig) -> Result<(), Error> {
    match p {
        Personality::Blk => {
            let b = &board.blk;
            if b.num_queues == 0 || b.num_queues > nq {
                return Err(Error::BoardConfig(
                    "blk num_queues outside 1..=hardware queues",
                ));
            }
            if b.blk_size < blk::SECTOR_SIZE as u32 || !b.blk_size.is_power_of_two() {
                return Err(Error::BoardConfig("blk_size must be a power of two >= 512"));
            }
            if b.seg_max == 0 || b.seg_max > blk::SEG_MAX {
                return Err(Error::BoardConfig("seg_max outside 1..=hardware SEG_MAX"));
            }
            if b.size_max == 0 || b.size_max > blk::SIZE_MAX {
                return Err(Error::BoardConfig("size_max outside 1..=hardware SIZE_MAX"));
            }
        }
        Personality::Net => {
            let n = &board.net;
            // Two queues per pair plus the control queue (§5.1.2).
            if nq < 3 || nq.is_multiple_of(2) {
                return Err(Error::NetQueueCount(nq as u32));
            }
            let hw_pairs = (nq - 1) / 2;
            if n.max_queue_pairs == 0 || n.max_queue_pairs > hw_pairs {
                return Err(Error::BoardConfig(
                    "max_queue_pairs outside 1..=hardware pairs",
                ));
            }
            if n.mtu < 68 || n.mtu > net::MAX_MTU {
                return Err(Error::BoardConfig("mtu outside 68..=MAX_MTU"));
            }
            if n.mac[0] & 1 != 0 {
                return Err(Error::BoardConfig("mac is a multicast address"));
            }
        }
    }
    Ok(())
}
