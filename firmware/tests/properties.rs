//! Property tests: arbitrary sequences of driver writes, host vendor writes
//! and engine behaviour never bring the firmware into a state virtio 1.2
//! forbids. The fake port records rule-breaking writes as they happen
//! (FEATURES_OK with an unacceptable set, Q_RUN or DMA before DRIVER_OK,
//! ENGINE_RESET while busy, device_status 0 before the engine was reset while
//! idle) and checks state rules between polls (DRIVER_OK with an unarmed
//! queue, DMA or Q_RUN without DRIVER_OK, status bits out of order).

mod common;

use common::QMAX;
use proptest::prelude::*;
use vfpga_abi::Personality;
use vfpga_abi::features::{NET_MRG_RXBUF, VERSION_1, bit};
use vfpga_abi::status::{ACKNOWLEDGE, DEVICE_NEEDS_RESET, DRIVER, DRIVER_OK, FAILED, FEATURES_OK};
use vfpga_abi::vendor::ErrorCause;
use vfpga_firmware::fake::FakeMgmt;
use vfpga_firmware::queue::QueueConfig;
use vfpga_firmware::{BoardConfig, Firmware};
use vfpga_firmware::{features, net_regs};

#[derive(Debug, Clone)]
enum Op {
    Status(u8),
    Features(u64),
    Configure(u16, QueueConfig),
    Enable(u16, u16),
    QueueReset(u16),
    Vendor(u16, u32),
    EngineError(u32),
    Idle(bool),
    Inflight(u16, u16),
    Capacity(u64),
    LinkUp(bool),
    /// A control-queue command (net): class, command, payload.
    Ctrl(u8, u8, Vec<u8>),
    /// A well-behaved driver's whole §3.1.1 initialization with these
    /// features, polling after each step.
    BringUp(u64),
}

/// Control commands: mostly well-formed ones of every kind, some garbage.
fn ctrl_command() -> impl Strategy<Value = Op> {
    use vfpga_abi::net::ctrl as c;
    let mac = any::<[u8; 6]>();
    let table = proptest::collection::vec(any::<[u8; 6]>(), 0..6).prop_map(|t| {
        let split = t.len() / 2;
        let mut v = Vec::new();
        for part in [&t[..split], &t[split..]] {
            v.extend_from_slice(&(part.len() as u32).to_le_bytes());
            part.iter().for_each(|m| v.extend_from_slice(m));
        }
        v
    });
    prop_oneof![
        2 => (0u8..2, any::<bool>()).prop_map(|(k, on)| Op::Ctrl(c::CLASS_RX, k, vec![on as u8])),
        2 => mac.prop_map(|m| Op::Ctrl(c::CLASS_MAC, c::MAC_ADDR_SET, m.to_vec())),
        1 => table.prop_map(|t| Op::Ctrl(c::CLASS_MAC, c::MAC_TABLE_SET, t)),
        1 => (0u16..4).prop_map(|n| Op::Ctrl(c::CLASS_MQ, c::MQ_VQ_PAIRS_SET, n.to_le_bytes().to_vec())),
        1 => (0u8..6, 0u8..3, proptest::collection::vec(any::<u8>(), 0..140))
            .prop_map(|(c, k, p)| Op::Ctrl(c, k, p)),
    ]
}

fn status_value() -> impl Strategy<Value = u8> {
    let a = ACKNOWLEDGE;
    let d = a | DRIVER;
    let f = d | FEATURES_OK;
    prop_oneof![
        3 => Just(0u8),
        3 => Just(a),
        3 => Just(d),
        4 => Just(f),
        4 => Just(f | DRIVER_OK),
        1 => Just(f | DRIVER_OK | FAILED),
        1 => Just(f | DRIVER_OK | DEVICE_NEEDS_RESET),
        2 => any::<u8>(),
    ]
}

fn features_value(offered: u64) -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => any::<u64>().prop_map(move |x| (x & offered) | bit(VERSION_1)),
        1 => any::<u64>().prop_map(move |x| x & offered),
        1 => any::<u64>(),
    ]
}

fn queue_config() -> impl Strategy<Value = QueueConfig> {
    let size = prop_oneof![
        Just(0u16),
        Just(1),
        Just(3),
        Just(64),
        Just(100),
        Just(QMAX),
        Just(QMAX * 2),
    ];
    let addr = |bad: u64| prop_oneof![4 => (1u64..1 << 40).prop_map(|a| a << 4), 1 => 0..bad];
    (size, addr(16), addr(2), addr(4)).prop_map(|(size, desc, driver, device)| QueueConfig {
        size,
        desc,
        driver,
        device,
    })
}

fn op(p: Personality) -> impl Strategy<Value = Op> {
    let nq = p.num_queues();
    let offered = p.offered_features();
    let q = 0..nq + 1; // one past the end: the hardware ignores it
    prop_oneof![
        6 => status_value().prop_map(Op::Status),
        3 => features_value(p.offered_features()).prop_map(Op::Features),
        3 => (q.clone(), queue_config()).prop_map(|(q, c)| Op::Configure(q, c)),
        4 => (q.clone(), prop_oneof![4 => Just(1u16), 1 => any::<u16>()]).prop_map(|(q, v)| Op::Enable(q, v)),
        1 => q.clone().prop_map(Op::QueueReset),
        1 => (q.clone(), 0u32..4).prop_map(|(q, v)| Op::Vendor(q, v)),
        1 => (1u32..14).prop_map(Op::EngineError),
        3 => any::<bool>().prop_map(Op::Idle),
        1 => (q, 0u16..3).prop_map(|(q, n)| Op::Inflight(q, n)),
        1 => any::<u64>().prop_map(Op::Capacity),
        1 => any::<bool>().prop_map(Op::LinkUp),
        3 => ctrl_command(),
        2 => any::<u64>().prop_map(move |x| Op::BringUp((x & offered) | bit(VERSION_1))),
    ]
}

fn apply(fw: &mut Firmware<FakeMgmt>, op: &Op) {
    let hw = fw.hal_mut();
    match *op {
        Op::Status(v) => hw.driver_write_status(v),
        Op::Features(f) => hw.driver_write_features(f),
        Op::Configure(q, c) => hw.driver_configure_queue(q, c),
        Op::Enable(q, v) => hw.driver_write_queue_enable(q, v),
        Op::QueueReset(q) => hw.driver_write_queue_reset(q),
        Op::Vendor(q, v) => hw.host_vendor_queue_control(q, v),
        Op::EngineError(c) => hw.engine_error(c, 0, 0),
        Op::Idle(i) => hw.idle = i,
        Op::Inflight(q, n) => {
            if let Some(queue) = hw.queues.get_mut(q as usize) {
                queue.inflight = n;
            }
        }
        Op::Capacity(c) => {
            let _ = fw.set_capacity(c);
        }
        Op::LinkUp(up) => {
            let _ = fw.set_link_up(up);
        }
        Op::Ctrl(class, command, ref payload) => hw.driver_ctrl_command(class, command, payload),
        Op::BringUp(features) => {
            let f = ACKNOWLEDGE | DRIVER | FEATURES_OK;
            for st in [0, ACKNOWLEDGE, ACKNOWLEDGE | DRIVER] {
                fw.hal_mut().driver_write_status(st);
                fw.poll();
            }
            fw.hal_mut().driver_write_features(features);
            fw.hal_mut().driver_write_status(f);
            fw.poll();
            for q in 0..fw.num_queues() {
                let cfg = QueueConfig {
                    desc: common::GOOD_QUEUE.desc + 0x10_0000 * q as u64,
                    ..common::GOOD_QUEUE
                };
                fw.hal_mut().driver_configure_queue(q, cfg);
                fw.hal_mut().driver_write_queue_enable(q, 1);
                fw.poll();
            }
            fw.hal_mut().driver_write_status(f | DRIVER_OK);
        }
    }
}

/// Firmware-side rules on top of the fake's.
fn check_firmware(fw: &Firmware<FakeMgmt>, offered: u64) -> Result<(), TestCaseError> {
    let hw = fw.hal();
    prop_assert!(hw.violations.is_empty(), "{:?}", hw.violations);
    if let Err(e) = hw.check_invariants() {
        return Err(TestCaseError::fail(e));
    }
    if fw.status() & FEATURES_OK != 0 {
        prop_assert_eq!(features::check(offered, fw.negotiated_features()), Ok(()));
    }
    if !fw.is_resetting() && !hw.status_pending {
        prop_assert_eq!(hw.device_status as u8, fw.status());
    }
    // Control commands: acked only by serving them, and never while the
    // driver cannot use the device.
    prop_assert_eq!(fw.counters().ctrl_commands as usize, hw.net.acks.len());
    if fw.personality() == Personality::Net {
        // The hardware filter is always the firmware's state.
        let s = fw.net_ctrl_state();
        let mrg = fw.negotiated_features() & bit(NET_MRG_RXBUF) != 0;
        prop_assert_eq!(hw.net.rx_mode, net_regs::rx_mode(s, mrg));
        prop_assert_eq!(hw.net.primary_mac(), s.mac);
        let table: Vec<[u8; 6]> = s
            .table
            .unicast()
            .iter()
            .chain(s.table.multicast())
            .copied()
            .collect();
        prop_assert_eq!(hw.net.table(), table);
        prop_assert_eq!(hw.net.pairs(), s.queue_pairs as u32);
        prop_assert_eq!(hw.net.ctrl_queue(), fw.net_ctrl_queue());
    }
    Ok(())
}

fn run(p: Personality, ops: &[(Op, bool)]) -> Result<(), TestCaseError> {
    let offered = p.offered_features();
    let mut fw = Firmware::new(FakeMgmt::new(p, QMAX), BoardConfig::DEFAULT).unwrap();
    for (op, poll) in ops {
        apply(&mut fw, op);
        // Sometimes several writes land before firmware runs (and the FIFO
        // may overflow).
        if *poll {
            fw.poll();
            check_firmware(&fw, offered)?;
            // The driver reads back a status 0 that firmware reported.
            let _ = fw.hal_mut().driver_poll_status();
        }
    }
    // Liveness: with the engine idle and nothing in flight, every held read
    // is answered within a few polls and a requested reset completes.
    let hw = fw.hal_mut();
    hw.idle = true;
    for q in &mut hw.queues {
        q.inflight = 0;
    }
    for _ in 0..3 {
        fw.poll();
        check_firmware(&fw, offered)?;
    }
    let hw = fw.hal();
    prop_assert!(!hw.status_pending, "status write never answered");
    prop_assert!(
        hw.queues.iter().all(|q| !q.enable_pending),
        "queue_enable never answered"
    );
    prop_assert!(
        hw.queues.iter().all(|q| !q.reset_pending),
        "queue_reset never answered"
    );
    prop_assert!(!fw.is_resetting());
    prop_assert!(hw.net.held.is_none(), "control command never answered");
    // §2.4: a reset always brings the device back; a standard
    // initialization then works, whatever happened before.
    fw.hal_mut().driver_write_status(0);
    fw.poll();
    prop_assert_eq!(fw.hal_mut().driver_poll_status(), Some(0));
    let features = bit(VERSION_1) | (p.offered_features() & common::BASIC_FEATURES);
    prop_assert_eq!(common::bring_up(&mut fw, features), ALL_UP);
    for q in 0..fw.num_queues() {
        prop_assert!(fw.hal().queues[q as usize].run);
    }
    if p == Personality::Net {
        // The control queue works again: one command, one answer (ERR:
        // these features have no CTRL_RX).
        let acks = fw.hal().net.acks.len();
        fw.hal_mut().driver_ctrl_command(0, 0, &[0]);
        fw.poll();
        prop_assert_eq!(fw.hal().net.acks.len(), acks + 1);
        prop_assert_eq!(fw.hal().net.acks[acks].ack, vfpga_abi::net::ctrl::ERR);
    }
    check_firmware(&fw, offered)?;
    Ok(())
}

const ALL_UP: u8 = ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK;

fn ops(p: Personality) -> impl Strategy<Value = Vec<(Op, bool)>> {
    proptest::collection::vec((op(p), prop::bool::weighted(0.8)), 1..60)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn spec_2_1_blk_random_driver_sequences_keep_spec_invariants(ops in ops(Personality::Blk)) {
        run(Personality::Blk, &ops)?;
    }

    #[test]
    fn spec_2_1_net_random_driver_sequences_keep_spec_invariants(ops in ops(Personality::Net)) {
        run(Personality::Net, &ops)?;
    }

    /// A reset issued while the engine is busy completes only once it is
    /// idle, however long that takes, and then reads 0 with DMA off.
    #[test]
    fn spec_4_1_4_3_1_reset_never_completes_while_busy(
        busy_polls in 0usize..20,
        errors in prop::bool::ANY,
    ) {
        let mut fw = Firmware::new(FakeMgmt::new(Personality::Blk, QMAX), BoardConfig::DEFAULT).unwrap();
        common::bring_up(&mut fw, common::BASIC_FEATURES);
        if errors {
            fw.hal_mut().engine_error(ErrorCause::DmaError as u32, 1, 0);
        }
        fw.hal_mut().idle = false;
        fw.hal_mut().driver_write_status(0);
        for _ in 0..busy_polls {
            fw.poll();
            prop_assert_eq!(fw.hal().driver_read_status(), None);
            prop_assert_eq!(fw.hal().engine_resets, 0);
        }
        fw.hal_mut().idle = true;
        fw.poll();
        prop_assert_eq!(fw.hal_mut().driver_poll_status(), Some(0));
        prop_assert_eq!(fw.hal().engine_ctrl, 0);
        prop_assert!(fw.hal().violations.is_empty(), "{:?}", fw.hal().violations);
    }
}
