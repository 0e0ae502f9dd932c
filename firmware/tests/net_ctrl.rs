//! virtio-net control queue commands (virtio 1.2 §5.1.6.5): the pure command
//! function, and its use through the firmware.

mod common;

use common::*;
use proptest::prelude::*;
use vfpga_abi::features::{NET_CTRL_MAC_ADDR, NET_CTRL_RX, NET_CTRL_VQ, NET_MQ, VERSION_1, bit};
use vfpga_abi::net::MAX_QUEUE_PAIRS;
use vfpga_abi::net::ctrl::{self, ERR, OK};
use vfpga_firmware::BoardConfig;
use vfpga_firmware::net_ctrl::{CtrlCommand, CtrlError, NetCtrlState, apply, handle};

const ALL: u64 =
    bit(VERSION_1) | bit(NET_CTRL_VQ) | bit(NET_CTRL_RX) | bit(NET_CTRL_MAC_ADDR) | bit(NET_MQ);
const MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 1];

fn state() -> NetCtrlState {
    NetCtrlState::after_reset(MAC)
}

fn run(
    s: &NetCtrlState,
    features: u64,
    class: u8,
    command: u8,
    payload: &[u8],
) -> (u8, NetCtrlState) {
    handle(
        s,
        features,
        MAX_QUEUE_PAIRS,
        CtrlCommand {
            class,
            command,
            payload,
        },
    )
}

fn mac_table(unicast: &[[u8; 6]], multicast: &[[u8; 6]]) -> Vec<u8> {
    let mut v = Vec::new();
    for t in [unicast, multicast] {
        v.extend_from_slice(&(t.len() as u32).to_le_bytes());
        for m in t {
            v.extend_from_slice(m);
        }
    }
    v
}

#[test]
fn spec_5_1_6_5_1_state_after_reset_is_promiscuous_with_one_pair() {
    let s = state();
    assert!(s.promisc && !s.allmulti);
    assert_eq!(s.queue_pairs, 1);
    assert!(s.table.unicast().is_empty() && s.table.multicast().is_empty());
}

#[test]
fn spec_5_1_6_5_1_rx_promisc_and_allmulti_switch_on_and_off() {
    let (ack, s) = run(&state(), ALL, ctrl::CLASS_RX, ctrl::RX_PROMISC, &[0]);
    assert_eq!(ack, OK);
    assert!(!s.promisc);
    let (ack, s) = run(&s, ALL, ctrl::CLASS_RX, ctrl::RX_ALLMULTI, &[1]);
    assert_eq!(ack, OK);
    assert!(s.allmulti && !s.promisc);
    let (ack, s) = run(&s, ALL, ctrl::CLASS_RX, ctrl::RX_ALLMULTI, &[0]);
    assert_eq!(ack, OK);
    assert!(!s.allmulti);
}

#[test]
fn spec_5_1_6_5_1_rx_commands_need_ctrl_rx() {
    let features = ALL & !bit(NET_CTRL_RX);
    let r = apply(
        &state(),
        features,
        MAX_QUEUE_PAIRS,
        CtrlCommand {
            class: ctrl::CLASS_RX,
            command: ctrl::RX_PROMISC,
            payload: &[0],
        },
    );
    assert_eq!(r, Err(CtrlError::FeatureNotNegotiated));
}

#[test]
fn spec_5_1_6_5_1_rx_command_with_wrong_length_is_err() {
    for payload in [&[][..], &[1, 0][..]] {
        let (ack, s) = run(&state(), ALL, ctrl::CLASS_RX, ctrl::RX_PROMISC, payload);
        assert_eq!(ack, ERR);
        assert_eq!(s, state());
    }
}

#[test]
fn spec_5_1_6_5_1_unknown_rx_command_is_err() {
    // ALLUNI (2) needs CTRL_RX_EXTRA, which is not offered.
    let (ack, _) = run(&state(), ALL, ctrl::CLASS_RX, 2, &[1]);
    assert_eq!(ack, ERR);
    let (ack, _) = run(&state(), ALL, 99, 0, &[]);
    assert_eq!(ack, ERR);
}

#[test]
fn spec_5_1_6_5_2_mac_table_set_fills_unicast_then_multicast() {
    let uni = [[0x02, 0, 0, 0, 0, 2], [0x02, 0, 0, 0, 0, 3]];
    let multi = [[0x01, 0, 0x5e, 0, 0, 1]];
    let (ack, s) = run(
        &state(),
        ALL,
        ctrl::CLASS_MAC,
        ctrl::MAC_TABLE_SET,
        &mac_table(&uni, &multi),
    );
    assert_eq!(ack, OK);
    assert_eq!(s.table.unicast(), &uni);
    assert_eq!(s.table.multicast(), &multi);
    // An empty table clears it.
    let (ack, s) = run(
        &s,
        ALL,
        ctrl::CLASS_MAC,
        ctrl::MAC_TABLE_SET,
        &mac_table(&[], &[]),
    );
    assert_eq!(ack, OK);
    assert!(s.table.unicast().is_empty() && s.table.multicast().is_empty());
}

#[test]
fn spec_5_1_6_5_2_mac_table_up_to_the_hardware_limit() {
    let uni = vec![[0x02, 0, 0, 0, 0, 9]; ctrl::MAC_TABLE_ENTRIES - 4];
    let multi = vec![[0x01, 0, 0, 0, 0, 9]; 4];
    let (ack, s) = run(
        &state(),
        ALL,
        ctrl::CLASS_MAC,
        ctrl::MAC_TABLE_SET,
        &mac_table(&uni, &multi),
    );
    assert_eq!(ack, OK);
    assert_eq!(
        s.table.unicast().len() + s.table.multicast().len(),
        ctrl::MAC_TABLE_ENTRIES
    );
    let multi = vec![[0x01, 0, 0, 0, 0, 9]; 5];
    let r = apply(
        &s,
        ALL,
        MAX_QUEUE_PAIRS,
        CtrlCommand {
            class: ctrl::CLASS_MAC,
            command: ctrl::MAC_TABLE_SET,
            payload: &mac_table(&uni, &multi),
        },
    );
    assert_eq!(r, Err(CtrlError::TableFull));
}

#[test]
fn spec_5_1_6_5_2_mac_table_truncated_or_with_trailing_bytes_is_err() {
    let good = mac_table(&[[0x02, 0, 0, 0, 0, 2]], &[]);
    for bad in [
        &good[..good.len() - 1],
        &[&good[..], &[0][..]].concat()[..],
        &good[..3],
    ] {
        let (ack, s) = run(&state(), ALL, ctrl::CLASS_MAC, ctrl::MAC_TABLE_SET, bad);
        assert_eq!(ack, ERR, "{bad:?}");
        assert_eq!(s, state());
    }
    // A huge entry count must not overflow anything.
    let mut huge = u32::MAX.to_le_bytes().to_vec();
    huge.extend_from_slice(&0u32.to_le_bytes());
    assert_eq!(
        run(&state(), ALL, ctrl::CLASS_MAC, ctrl::MAC_TABLE_SET, &huge).0,
        ERR
    );
}

#[test]
fn spec_5_1_6_5_2_mac_addr_set_needs_ctrl_mac_addr_and_a_unicast_address() {
    let new = [0x02, 0xAA, 0, 0, 0, 7];
    let (ack, s) = run(&state(), ALL, ctrl::CLASS_MAC, ctrl::MAC_ADDR_SET, &new);
    assert_eq!(ack, OK);
    assert_eq!(s.mac, new);
    let features = ALL & !bit(NET_CTRL_MAC_ADDR);
    assert_eq!(
        run(
            &state(),
            features,
            ctrl::CLASS_MAC,
            ctrl::MAC_ADDR_SET,
            &new
        )
        .0,
        ERR
    );
    for bad in [[0x01, 0, 0, 0, 0, 1], [0; 6]] {
        assert_eq!(
            run(&state(), ALL, ctrl::CLASS_MAC, ctrl::MAC_ADDR_SET, &bad).0,
            ERR
        );
    }
    assert_eq!(
        run(
            &state(),
            ALL,
            ctrl::CLASS_MAC,
            ctrl::MAC_ADDR_SET,
            &new[..5]
        )
        .0,
        ERR
    );
}

#[test]
fn spec_5_1_6_5_5_mq_pairs_set_within_1_to_max_virtqueue_pairs() {
    for pairs in 1..=MAX_QUEUE_PAIRS {
        let (ack, s) = run(
            &state(),
            ALL,
            ctrl::CLASS_MQ,
            ctrl::MQ_VQ_PAIRS_SET,
            &pairs.to_le_bytes(),
        );
        assert_eq!(ack, OK);
        assert_eq!(s.queue_pairs, pairs);
    }
    for pairs in [0, MAX_QUEUE_PAIRS + 1, u16::MAX] {
        let r = apply(
            &state(),
            ALL,
            MAX_QUEUE_PAIRS,
            CtrlCommand {
                class: ctrl::CLASS_MQ,
                command: ctrl::MQ_VQ_PAIRS_SET,
                payload: &pairs.to_le_bytes(),
            },
        );
        assert_eq!(r, Err(CtrlError::PairsOutOfRange(pairs)));
    }
    let features = ALL & !bit(NET_MQ);
    assert_eq!(
        run(
            &state(),
            features,
            ctrl::CLASS_MQ,
            ctrl::MQ_VQ_PAIRS_SET,
            &1u16.to_le_bytes()
        )
        .0,
        ERR
    );
}

#[test]
fn spec_5_1_6_5_firmware_uses_negotiated_features_and_reset_restores_defaults() {
    let mut fw = net();
    // Before negotiation nothing is allowed.
    assert_eq!(
        fw.net_ctrl_command(ctrl::CLASS_RX, ctrl::RX_PROMISC, &[0]),
        ERR
    );
    bring_up(&mut fw, ALL);
    assert_eq!(
        fw.net_ctrl_command(ctrl::CLASS_RX, ctrl::RX_PROMISC, &[0]),
        OK
    );
    assert_eq!(
        fw.net_ctrl_command(ctrl::CLASS_MQ, ctrl::MQ_VQ_PAIRS_SET, &2u16.to_le_bytes()),
        OK
    );
    assert!(!fw.net_ctrl_state().promisc);
    assert_eq!(fw.net_ctrl_state().queue_pairs, 2);
    assert_eq!(fw.counters().ctrl_errors, 1);
    write_status(&mut fw, 0);
    assert_eq!(
        *fw.net_ctrl_state(),
        NetCtrlState::after_reset(BoardConfig::DEFAULT.net.mac)
    );
    // A blk device has no control queue.
    assert_eq!(
        blk().net_ctrl_command(ctrl::CLASS_RX, ctrl::RX_PROMISC, &[0]),
        ERR
    );
}

proptest! {
    /// Any command buffer: no panic, and an ERR never changes the state.
    #[test]
    fn spec_5_1_6_5_err_leaves_state_unchanged(
        class in 0u8..6,
        command in 0u8..4,
        payload in proptest::collection::vec(any::<u8>(), 0..120),
        features in any::<u64>(),
    ) {
        let s = state();
        let (ack, next) = run(&s, features, class, command, &payload);
        prop_assert!(ack == OK || ack == ERR);
        if ack == ERR {
            prop_assert_eq!(next, s);
        }
        prop_assert!(next.queue_pairs >= 1 && next.queue_pairs <= MAX_QUEUE_PAIRS);
        prop_assert!(next.table.unicast().len() + next.table.multicast().len() <= ctrl::MAC_TABLE_ENTRIES);
    }
}
