//! The virtio-net control queue served through the management port (virtio
//! 1.2 §5.1.2, §5.1.6.5): commands the fake hardware holds reach firmware
//! as `NetCtrl` events, and what they set is in the filter and queue
//! registers before the ack.

mod common;

use common::*;
use vfpga_abi::Personality;
use vfpga_abi::features::{
    NET_CTRL_MAC_ADDR, NET_CTRL_RX, NET_CTRL_VQ, NET_MAC, NET_MQ, NET_MRG_RXBUF, VERSION_1, bit,
};
use vfpga_abi::mgmt::net as reg;
use vfpga_abi::mgmt::{Event, EventKind};
use vfpga_abi::net::ctrl::{self, ERR, MAC_TABLE_ENTRIES, OK};
use vfpga_abi::net::{self as abinet, MAX_QUEUE_PAIRS};
use vfpga_abi::status::{ACKNOWLEDGE, DEVICE_NEEDS_RESET, DRIVER, DRIVER_OK, FEATURES_OK};
use vfpga_abi::vendor::ErrorCause;
use vfpga_firmware::fake::FakeMgmt;
use vfpga_firmware::{BoardConfig, Error, Firmware, Hal};

/// Everything a Linux guest negotiates on this device.
const FULL: u64 = BASIC_FEATURES
    | bit(NET_MAC)
    | bit(NET_MRG_RXBUF)
    | bit(NET_CTRL_VQ)
    | bit(NET_CTRL_RX)
    | bit(NET_CTRL_MAC_ADDR)
    | bit(NET_MQ);
/// Control queue without multiqueue.
const NO_MQ: u64 = FULL & !bit(NET_MQ);

const BOARD_MAC: [u8; 6] = BoardConfig::DEFAULT.net.mac;
const OTHER: [u8; 6] = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];
const BROADCAST: [u8; 6] = [0xFF; 6];
const MULTICAST: [u8; 6] = [0x01, 0x00, 0x5E, 0x00, 0x00, 0x01];

fn net_up(features: u64) -> Fw {
    let mut fw = net();
    assert_eq!(
        bring_up(&mut fw, features),
        ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK
    );
    fw
}

/// The driver adds one command, firmware polls once; returns the ack.
fn send(fw: &mut Fw, class: u8, command: u8, payload: &[u8]) -> u8 {
    let before = fw.hal().net.acks.len();
    fw.hal_mut().driver_ctrl_command(class, command, payload);
    assert!(fw.hal().net.held.is_some(), "the hardware holds it");
    fw.poll();
    assert!(fw.hal().net.held.is_none(), "answered within one poll");
    let acks = fw.hal().ctrl_acks();
    assert_eq!(acks.len(), before + 1, "exactly one ack");
    assert_clean(fw);
    acks[before]
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

fn promisc_off(fw: &mut Fw) {
    assert_eq!(send(fw, ctrl::CLASS_RX, ctrl::RX_PROMISC, &[0]), OK);
}

fn config_mac(fw: &Fw) -> Vec<u8> {
    fw.hal()
        .driver_read_devcfg(abinet::config::MAC as usize, 6)
        .to_vec()
}

/// Every net register firmware writes, as the fake holds them.
fn net_registers(fw: &mut Fw) -> Vec<u32> {
    let hw = fw.hal_mut();
    let mut v = vec![
        hw.read(reg::RX_MODE),
        hw.read(reg::MAC_LO),
        hw.read(reg::MAC_HI),
        hw.read(reg::QUEUES),
    ];
    for i in 0..MAC_TABLE_ENTRIES as u32 {
        hw.write(reg::FILTER_SEL, i);
        v.push(hw.read(reg::FILTER_LO));
        v.push(hw.read(reg::FILTER_HI));
    }
    v
}

#[test]
fn spec_5_1_2_net_hardware_needs_two_queues_per_pair_and_a_control_queue() {
    let one_pair = BoardConfig {
        net: abinet_board(1),
        ..BoardConfig::DEFAULT
    };
    for (nq, board, ok) in [
        (5, BoardConfig::DEFAULT, true),
        (3, one_pair, true),
        // Two pairs asked of one-pair hardware.
        (3, BoardConfig::DEFAULT, false),
        (7, BoardConfig::DEFAULT, true),
    ] {
        let r = Firmware::new(FakeMgmt::with_queues(Personality::Net, nq, QMAX), board);
        assert_eq!(r.is_ok(), ok, "{nq} queues");
    }
    // No control queue (even counts) or no pair at all.
    for nq in [1u16, 2, 4, 6] {
        let r = Firmware::new(FakeMgmt::with_queues(Personality::Net, nq, QMAX), one_pair);
        assert_eq!(r.err(), Some(Error::NetQueueCount(nq as u32)));
    }
}

fn abinet_board(pairs: u16) -> vfpga_firmware::NetBoardConfig {
    vfpga_firmware::NetBoardConfig {
        max_queue_pairs: pairs,
        ..BoardConfig::DEFAULT.net
    }
}

#[test]
fn spec_5_1_2_ctrl_queue_index_without_mq() {
    let mut fw = net();
    assert_ne!(negotiate(&mut fw, NO_MQ) & FEATURES_OK, 0);
    assert_eq!(fw.hal().net.ctrl_queue(), 2);
    assert_eq!(fw.hal().net.pairs(), 1);
    assert_eq!(fw.net_ctrl_queue(), 2);
    for q in 0..3 {
        assert_eq!(enable_queue(&mut fw, q, queue_at(q)), 1);
    }
    write_status(&mut fw, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
    // The hardware takes commands from queue 2 now.
    assert_eq!(send(&mut fw, ctrl::CLASS_RX, ctrl::RX_ALLMULTI, &[1]), OK);
}

fn queue_at(q: u16) -> vfpga_firmware::queue::QueueConfig {
    vfpga_firmware::queue::QueueConfig {
        desc: GOOD_QUEUE.desc + 0x10_0000 * q as u64,
        ..GOOD_QUEUE
    }
}

#[test]
fn spec_5_1_2_ctrl_queue_index_with_mq_is_twice_max_virtqueue_pairs() {
    let mut fw = net();
    negotiate(&mut fw, FULL);
    assert_eq!(fw.hal().net.ctrl_queue(), 2 * MAX_QUEUE_PAIRS);
    // receiveq1/transmitq1 only until VQ_PAIRS_SET (§5.1.6.5.5).
    assert_eq!(fw.hal().net.pairs(), 1);
    // A board that presents fewer pairs than the hardware has: the control
    // queue follows max_virtqueue_pairs as the driver reads it.
    let board = BoardConfig {
        net: abinet_board(1),
        ..BoardConfig::DEFAULT
    };
    let mut fw = Firmware::new(FakeMgmt::new(Personality::Net, QMAX), board).unwrap();
    let pairs = fw
        .hal()
        .driver_read_devcfg(abinet::config::MAX_VIRTQUEUE_PAIRS as usize, 2)
        .to_vec();
    assert_eq!(pairs, 1u16.to_le_bytes());
    negotiate(&mut fw, FULL);
    assert_eq!(fw.hal().net.ctrl_queue(), 2);
    assert_clean(&fw);
}

#[test]
fn spec_5_1_6_4_mrg_rxbuf_follows_the_accepted_features() {
    let mut fw = net();
    assert_eq!(fw.hal().net.rx_mode & reg::RX_MODE_MRG_RXBUF, 0);
    negotiate(&mut fw, FULL);
    // Set at FEATURES_OK, before any queue can run.
    assert_ne!(fw.hal().net.rx_mode & reg::RX_MODE_MRG_RXBUF, 0);
    write_status(&mut fw, 0);
    assert_eq!(fw.hal().net.rx_mode & reg::RX_MODE_MRG_RXBUF, 0);
    negotiate(&mut fw, FULL & !bit(NET_MRG_RXBUF));
    assert_eq!(fw.hal().net.rx_mode & reg::RX_MODE_MRG_RXBUF, 0);
    // A refused feature set programs nothing.
    write_status(&mut fw, 0);
    let st = negotiate(&mut fw, bit(NET_MRG_RXBUF));
    assert_eq!(st & FEATURES_OK, 0);
    assert_eq!(fw.hal().net.rx_mode & reg::RX_MODE_MRG_RXBUF, 0);
    assert_clean(&fw);
}

#[test]
fn spec_5_1_6_5_1_rx_modes_program_the_filter() {
    let mut fw = net_up(FULL);
    // After reset: promiscuous (a driver without CTRL_RX gets everything).
    assert!(fw.hal().net.accepts(OTHER));
    promisc_off(&mut fw);
    let hw = &fw.hal().net;
    assert_eq!(hw.rx_mode, reg::RX_MODE_MRG_RXBUF, "MRG_RXBUF kept");
    assert_eq!(hw.acks[0].rx_mode, reg::RX_MODE_MRG_RXBUF, "before the ack");
    assert!(hw.accepts(BOARD_MAC) && hw.accepts(BROADCAST));
    assert!(!hw.accepts(OTHER) && !hw.accepts(MULTICAST));
    assert_eq!(send(&mut fw, ctrl::CLASS_RX, ctrl::RX_ALLMULTI, &[1]), OK);
    assert!(fw.hal().net.accepts(MULTICAST) && !fw.hal().net.accepts(OTHER));
    assert_eq!(send(&mut fw, ctrl::CLASS_RX, ctrl::RX_PROMISC, &[1]), OK);
    assert_eq!(
        fw.hal().net.rx_mode,
        reg::RX_MODE_PROMISC | reg::RX_MODE_ALLMULTI | reg::RX_MODE_MRG_RXBUF
    );
    assert_eq!(fw.counters().ctrl_commands, 3);
}

#[test]
fn spec_5_1_6_5_2_mac_table_set_programs_filter_entries() {
    let mut fw = net_up(FULL);
    promisc_off(&mut fw);
    let uni = [[0x02, 0, 0, 0, 0, 2], [0x02, 0, 0, 0, 0, 3]];
    let multi = [MULTICAST];
    let payload = mac_table(&uni, &multi);
    assert_eq!(
        send(&mut fw, ctrl::CLASS_MAC, ctrl::MAC_TABLE_SET, &payload),
        OK
    );
    // Unicast then multicast, in the driver's order, before the ack.
    assert_eq!(fw.hal().net.table(), [uni[0], uni[1], multi[0]]);
    let at_ack = &fw.hal().net.acks.last().unwrap().table;
    assert_eq!(at_ack, &[uni[0], uni[1], multi[0]]);
    assert!(fw.hal().net.accepts(uni[1]) && fw.hal().net.accepts(MULTICAST));
    assert!(!fw.hal().net.accepts(OTHER));
    // A shorter table clears VALID past its end.
    let payload = mac_table(&[OTHER], &[]);
    assert_eq!(
        send(&mut fw, ctrl::CLASS_MAC, ctrl::MAC_TABLE_SET, &payload),
        OK
    );
    assert_eq!(fw.hal().net.table(), [OTHER]);
    assert!(!fw.hal().net.accepts(uni[0]) && !fw.hal().net.accepts(MULTICAST));
    assert!(fw.hal().net.accepts(OTHER));
}

#[test]
fn spec_5_1_6_5_2_full_mac_table_through_the_port() {
    // 16 entries: 8 + 16 * 6 = 104 payload bytes, 26 data words.
    let mut fw = net_up(FULL);
    let uni: Vec<[u8; 6]> = (0..12).map(|i| [0x02, 0, 0, 0, 1, i]).collect();
    let multi: Vec<[u8; 6]> = (0..4).map(|i| [0x01, 0, 0x5E, 0, 2, i]).collect();
    let payload = mac_table(&uni, &multi);
    assert_eq!(payload.len(), 104);
    assert_eq!(
        send(&mut fw, ctrl::CLASS_MAC, ctrl::MAC_TABLE_SET, &payload),
        OK
    );
    let all: Vec<[u8; 6]> = uni.iter().chain(&multi).copied().collect();
    assert_eq!(fw.hal().net.table(), all);
    // One more entry: ERR, table unchanged.
    let more: Vec<[u8; 6]> = multi.iter().chain(&[MULTICAST]).copied().collect();
    let payload = mac_table(&uni, &more);
    assert_eq!(
        send(&mut fw, ctrl::CLASS_MAC, ctrl::MAC_TABLE_SET, &payload),
        ERR
    );
    assert_eq!(fw.hal().net.table(), all);
}

#[test]
fn spec_5_1_6_5_2_mac_addr_set_programs_filter() {
    let mut fw = net_up(FULL);
    promisc_off(&mut fw);
    let generation = fw.hal().config_generation;
    let irqs = fw.hal().config_irqs;
    assert_eq!(
        send(&mut fw, ctrl::CLASS_MAC, ctrl::MAC_ADDR_SET, &OTHER),
        OK
    );
    assert_eq!(fw.hal().net.primary_mac(), OTHER);
    // In effect before the buffer was used: filter and config `mac`.
    let at_ack = fw.hal().net.acks.last().unwrap().clone();
    assert_eq!(at_ack.primary_mac, OTHER);
    assert_eq!(at_ack.config_mac, OTHER);
    assert_eq!(at_ack.config_generation, generation + 1);
    // Frames to the old address are dropped now.
    assert!(fw.hal().net.accepts(OTHER) && !fw.hal().net.accepts(BOARD_MAC));
    // Reflected in the config `mac`, which changed generation; the driver
    // made the change, so no config interrupt.
    assert_eq!(config_mac(&fw), OTHER);
    assert_eq!(fw.hal().config_generation, generation + 1);
    assert_eq!(fw.hal().config_irqs, irqs);
    assert_eq!(fw.hal_mut().driver_read_isr(), 0);
    // A refused address changes nothing.
    assert_eq!(
        send(&mut fw, ctrl::CLASS_MAC, ctrl::MAC_ADDR_SET, &MULTICAST),
        ERR
    );
    assert_eq!(fw.hal().net.primary_mac(), OTHER);
    assert_eq!(fw.hal().config_generation, generation + 1);
}

#[test]
fn spec_5_1_6_5_5_mq_pairs_set_programs_steering() {
    let mut fw = net_up(FULL);
    assert_eq!(fw.hal().net.pairs(), 1);
    let two = MAX_QUEUE_PAIRS.to_le_bytes();
    assert_eq!(
        send(&mut fw, ctrl::CLASS_MQ, ctrl::MQ_VQ_PAIRS_SET, &two),
        OK
    );
    assert_eq!(fw.hal().net.pairs(), MAX_QUEUE_PAIRS as u32);
    assert_eq!(fw.hal().net.ctrl_queue(), 2 * MAX_QUEUE_PAIRS, "unchanged");
    // §5.1.6.5.5: steering uses the new pairs before the command is used.
    let at_ack = fw.hal().net.acks.last().unwrap().queues;
    assert_eq!(at_ack & reg::QUEUES_PAIRS_MASK, MAX_QUEUE_PAIRS as u32);
    let too_many = (MAX_QUEUE_PAIRS + 1).to_le_bytes();
    assert_eq!(
        send(&mut fw, ctrl::CLASS_MQ, ctrl::MQ_VQ_PAIRS_SET, &too_many),
        ERR
    );
    assert_eq!(
        send(
            &mut fw,
            ctrl::CLASS_MQ,
            ctrl::MQ_VQ_PAIRS_SET,
            &1u16.to_le_bytes()
        ),
        OK
    );
    assert_eq!(fw.hal().net.pairs(), 1);
}

#[test]
fn spec_5_1_6_5_payload_longer_than_the_hardware_holds_is_err() {
    let mut fw = net_up(FULL);
    promisc_off(&mut fw);
    let before = net_registers(&mut fw);
    // A well-formed 21-entry table (134 bytes): parsing its held first 128
    // bytes alone would find a truncated table; firmware must not even try.
    let uni: Vec<[u8; 6]> = (0..21).map(|i| [0x02, 0, 0, 0, 3, i]).collect();
    let payload = mac_table(&uni, &[]);
    assert!(payload.len() > reg::CTRL_PAYLOAD_MAX);
    assert_eq!(
        send(&mut fw, ctrl::CLASS_MAC, ctrl::MAC_TABLE_SET, &payload),
        ERR
    );
    // A valid MAC_ADDR_SET at its start, then more bytes than the length
    // field holds: the hardware's length saturates, firmware refuses it.
    let mut huge = OTHER.to_vec();
    huge.resize(0x1000 + 6, 0);
    assert_eq!(
        send(&mut fw, ctrl::CLASS_MAC, ctrl::MAC_ADDR_SET, &huge),
        ERR
    );
    assert_eq!(net_registers(&mut fw), before);
    assert_eq!(fw.counters().ctrl_errors, 2);
}

#[test]
fn spec_5_1_6_5_unknown_class_or_command_is_err() {
    let mut fw = net_up(FULL);
    let before = net_registers(&mut fw);
    // 99: no such class; 2: VLAN (CTRL_VLAN not offered); RX 2: ALLUNI
    // (CTRL_RX_EXTRA not offered); MQ 1: RSS_CONFIG (RSS not offered).
    for (class, command, payload) in [
        (99u8, 0u8, &[][..]),
        (2, 0, &[1, 0][..]),
        (ctrl::CLASS_RX, 2, &[1][..]),
        (ctrl::CLASS_MQ, 1, &[0; 16][..]),
    ] {
        assert_eq!(
            send(&mut fw, class, command, payload),
            ERR,
            "{class}/{command}"
        );
    }
    assert_eq!(net_registers(&mut fw), before);
    assert_eq!(fw.counters().ctrl_errors, 4);
}

#[test]
fn spec_5_1_6_5_every_command_is_acked_exactly_once() {
    let mut fw = net_up(FULL);
    // Three commands queued before firmware runs: answered in one poll, in
    // order (the hardware holds the next one once the last is acked).
    let hw = fw.hal_mut();
    hw.driver_ctrl_command(ctrl::CLASS_RX, ctrl::RX_PROMISC, &[0]);
    hw.driver_ctrl_command(ctrl::CLASS_RX, ctrl::RX_PROMISC, &[0, 0]);
    hw.driver_ctrl_command(ctrl::CLASS_RX, ctrl::RX_ALLMULTI, &[1]);
    fw.poll();
    assert_eq!(fw.hal().ctrl_acks(), [OK, ERR, OK]);
    assert!(fw.hal().net.ring.is_empty() && fw.hal().net.held.is_none());
    // A duplicate event with nothing held: no second ack (the fake records
    // an ack without a held command as a violation).
    let dup = Event {
        kind: EventKind::NetCtrl,
        queue: 2 * MAX_QUEUE_PAIRS as u8,
        value: 0,
    };
    fw.hal_mut().post_raw(dup.encode());
    fw.poll();
    assert_eq!(fw.hal().ctrl_acks().len(), 3);
    assert_eq!(fw.counters().bad_events, 1);
    assert_eq!(fw.counters().ctrl_commands, 3);
    assert_clean(&fw);
}

#[test]
fn spec_2_4_reset_reprograms_the_promiscuous_state() {
    let mut fw = net_up(FULL);
    let after_power_on = net_registers(&mut fw);
    promisc_off(&mut fw);
    let table = mac_table(&[OTHER], &[MULTICAST]);
    assert_eq!(
        send(&mut fw, ctrl::CLASS_MAC, ctrl::MAC_TABLE_SET, &table),
        OK
    );
    let mac = [0x02, 9, 9, 9, 9, 9];
    assert_eq!(send(&mut fw, ctrl::CLASS_MAC, ctrl::MAC_ADDR_SET, &mac), OK);
    let pairs = 2u16.to_le_bytes();
    assert_eq!(
        send(&mut fw, ctrl::CLASS_MQ, ctrl::MQ_VQ_PAIRS_SET, &pairs),
        OK
    );
    let generation = fw.hal().config_generation;
    assert_eq!(write_status(&mut fw, 0), 0);
    let hw = &fw.hal().net;
    assert_eq!(
        hw.rx_mode,
        reg::RX_MODE_PROMISC,
        "promiscuous, no MRG_RXBUF"
    );
    assert!(hw.table().is_empty());
    assert_eq!(hw.primary_mac(), BOARD_MAC);
    assert_eq!((hw.pairs(), hw.ctrl_queue()), (1, 2));
    // The config `mac` is the device's own again, with a new generation.
    assert_eq!(config_mac(&fw), BOARD_MAC);
    assert_eq!(fw.hal().config_generation, generation + 1);
    // Renegotiated: the registers are as after power-on.
    bring_up(&mut fw, FULL);
    assert_eq!(net_registers(&mut fw), after_power_on);
    assert_clean(&fw);
}

#[test]
fn spec_2_4_reset_answers_a_held_command_so_the_engine_drains() {
    let mut fw = net_up(FULL);
    fw.hal_mut().driver_write_status(0);
    // Fetched before the reset stops the queue; a second one waits behind.
    fw.hal_mut()
        .driver_ctrl_command(ctrl::CLASS_RX, ctrl::RX_PROMISC, &[0]);
    fw.hal_mut()
        .driver_ctrl_command(ctrl::CLASS_RX, ctrl::RX_ALLMULTI, &[1]);
    fw.poll();
    // ERR: the reset discards what it would set. The engine (not idle while
    // a command is held) drained, so the reset completed.
    assert_eq!(fw.hal().ctrl_acks(), [ERR]);
    assert_eq!(fw.hal_mut().driver_poll_status(), Some(0));
    assert_eq!(fw.hal().engine_resets, 1);
    assert!(fw.net_ctrl_state().promisc);
    assert_eq!(fw.hal().net.rx_mode, reg::RX_MODE_PROMISC);
    assert_clean(&fw);
}

#[test]
fn spec_2_1_2_ctrl_queue_not_used_before_driver_ok() {
    let mut fw = net();
    negotiate(&mut fw, FULL);
    for q in 0..fw.num_queues() {
        assert_eq!(enable_queue(&mut fw, q, queue_at(q)), 1);
    }
    fw.hal_mut()
        .driver_ctrl_command(ctrl::CLASS_RX, ctrl::RX_PROMISC, &[0]);
    fw.poll();
    assert!(fw.hal().net.held.is_none() && fw.hal().ctrl_acks().is_empty());
    write_status(&mut fw, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
    // Armed at DRIVER_OK: fetched, and served on the next poll.
    fw.poll();
    assert_eq!(fw.hal().ctrl_acks(), [OK]);
    assert!(!fw.hal().net.accepts(OTHER));
    assert_clean(&fw);
}

#[test]
fn spec_2_1_2_command_after_an_engine_error_is_err() {
    let mut fw = net_up(FULL);
    fw.hal_mut().engine_error(ErrorCause::DmaError as u32, 0, 0);
    // The error and the command arrive together: the error stops the device
    // first, so the command it would have run is refused.
    fw.hal_mut()
        .driver_ctrl_command(ctrl::CLASS_RX, ctrl::RX_PROMISC, &[0]);
    fw.poll();
    assert_ne!(fw.status() & DEVICE_NEEDS_RESET, 0);
    assert_eq!(fw.hal().ctrl_acks(), [ERR]);
    assert!(fw.hal().net.accepts(OTHER), "still promiscuous");
}

#[test]
fn spec_2_1_2_event_overflow_answers_a_held_command() {
    let mut fw = net_up(FULL);
    // The FIFO fills, then the command's event is lost.
    for _ in 0..vfpga_abi::mgmt::EVENT_FIFO_DEPTH / 2 {
        fw.hal_mut().driver_write_features(FULL);
    }
    fw.hal_mut()
        .driver_ctrl_command(ctrl::CLASS_RX, ctrl::RX_PROMISC, &[0]);
    assert!(fw.hal().overflow && fw.hal().net.held.is_some());
    fw.poll();
    // Fatal (DEVICE_NEEDS_RESET), but the driver waiting on the command
    // gets its answer.
    assert_ne!(fw.status() & DEVICE_NEEDS_RESET, 0);
    assert_eq!(fw.hal().ctrl_acks(), [ERR]);
    assert_clean(&fw);
    // And the device comes back.
    assert_eq!(write_status(&mut fw, 0), 0);
    bring_up(&mut fw, FULL);
    assert_eq!(send(&mut fw, ctrl::CLASS_RX, ctrl::RX_PROMISC, &[0]), OK);
}

#[test]
fn spec_5_1_6_5_ctrl_vq_without_ctrl_rx_refuses_rx_commands() {
    let mut fw = net_up(bit(VERSION_1) | bit(NET_CTRL_VQ));
    assert_eq!(send(&mut fw, ctrl::CLASS_RX, ctrl::RX_PROMISC, &[0]), ERR);
    assert_eq!(
        send(&mut fw, ctrl::CLASS_MAC, ctrl::MAC_ADDR_SET, &OTHER),
        ERR
    );
    assert!(fw.hal().net.accepts(OTHER), "still promiscuous");
}

#[test]
fn spec_2_4_reset_completes_with_a_held_command_whose_event_was_lost() {
    let mut fw = net_up(FULL);
    fw.hal_mut()
        .driver_ctrl_command(ctrl::CLASS_RX, ctrl::RX_PROMISC, &[0]);
    // The event goes missing (as if lost); the command stays held, which
    // keeps the engine busy.
    let word = fw.hal_mut().read(vfpga_abi::mgmt::EVENT);
    assert_eq!(
        Event::decode(word).map(|e| e.kind),
        Some(EventKind::NetCtrl)
    );
    fw.hal_mut().driver_write_status(0);
    fw.poll();
    assert_eq!(fw.hal().ctrl_acks(), [ERR]);
    assert_eq!(fw.hal_mut().driver_poll_status(), Some(0));
    assert_clean(&fw);
}

#[test]
fn spec_2_4_a_command_stuck_in_a_halted_engine_is_acked_at_most_twice_per_reset() {
    let mut fw = net_up(FULL);
    // The device stops on an error with a command held; the halted control
    // stage ignores CTRL_ACK and keeps it held until ENGINE_RESET.
    fw.hal_mut().engine_error(ErrorCause::DmaError as u32, 0, 0);
    fw.hal_mut()
        .driver_ctrl_command(ctrl::CLASS_RX, ctrl::RX_PROMISC, &[0]);
    fw.hal_mut().net.halted = true;
    fw.poll();
    assert_eq!(fw.hal().net.ignored_acks, 1, "its event: answered once");
    // A reset that waits for the engine for many polls: the command still
    // reads as held, but is answered once more, not on every poll.
    fw.hal_mut().idle = false;
    fw.hal_mut().driver_write_status(0);
    for _ in 0..10 {
        fw.poll();
    }
    assert_eq!(fw.hal().net.ignored_acks, 2);
    fw.hal_mut().idle = true;
    fw.poll();
    assert_eq!(fw.hal_mut().driver_poll_status(), Some(0));
    assert!(fw.hal().net.held.is_none(), "ENGINE_RESET dropped it");
    assert_clean(&fw);
    // The next reset may answer again.
    bring_up(&mut fw, FULL);
    assert_eq!(send(&mut fw, ctrl::CLASS_RX, ctrl::RX_PROMISC, &[0]), OK);
}

/// Management-port accesses of one poll that serves `payload`'s command.
fn accesses_to_serve(fw: &mut Fw, class: u8, command: u8, payload: &[u8]) -> u64 {
    // An idle poll first, to subtract what every poll costs.
    let a0 = fw.hal().accesses;
    fw.poll();
    let idle = fw.hal().accesses - a0;
    fw.hal_mut().driver_ctrl_command(class, command, payload);
    let a1 = fw.hal().accesses;
    fw.poll();
    assert!(fw.hal().net.held.is_none());
    fw.hal().accesses - a1 - idle
}

#[test]
fn serving_a_command_takes_bounded_management_accesses() {
    let mut fw = net_up(FULL);
    // EVENT (the command's), CTRL_CMD, a DATA_SEL/DATA pair per payload
    // word, the filter (1 + 2 + 16 * 3) and QUEUES, CTRL_ACK.
    let filter = 1 + 2 + 16 * 3 + 1;
    let rx = accesses_to_serve(&mut fw, ctrl::CLASS_RX, ctrl::RX_PROMISC, &[0]);
    assert_eq!(rx, 2 + 2 + filter + 1);
    let uni: Vec<[u8; 6]> = (0..12).map(|i| [0x02, 0, 0, 0, 1, i]).collect();
    let multi: Vec<[u8; 6]> = (0..4).map(|i| [0x01, 0, 0x5E, 0, 2, i]).collect();
    let table = mac_table(&uni, &multi);
    let full = accesses_to_serve(&mut fw, ctrl::CLASS_MAC, ctrl::MAC_TABLE_SET, &table);
    assert_eq!(full, 2 + 2 * 26 + filter + 1);
    // MAC_ADDR_SET adds the config image (5 words, 2 writes each) and
    // CONFIG_GENERATION.
    let mac = accesses_to_serve(&mut fw, ctrl::CLASS_MAC, ctrl::MAC_ADDR_SET, &OTHER);
    assert_eq!(mac, 2 + 2 * 2 + filter + 10 + 1 + 1);
    // Too long: not read at all.
    let long = accesses_to_serve(&mut fw, ctrl::CLASS_MAC, ctrl::MAC_TABLE_SET, &[0; 200]);
    assert_eq!(long, 2 + 1);
    eprintln!(
        "mgmt accesses per command: RX_PROMISC {rx}, 16-entry MAC_TABLE_SET {full}, MAC_ADDR_SET {mac}, too long {long}"
    );
}
