//! Directed tests of the firmware against the fake management port, one per
//! virtio 1.2 rule (named after the section).

mod common;

use common::*;
use vfpga_abi::features::{
    self as feat, NET_CTRL_RX, NET_CTRL_VQ, NOTIFICATION_DATA, RING_EVENT_IDX, RING_PACKED,
    VERSION_1, bit,
};
use vfpga_abi::mgmt;
use vfpga_abi::status::{
    ACKNOWLEDGE, DEVICE_NEEDS_RESET, DRIVER, DRIVER_OK, FAILED, FEATURES_OK, ISR_CONFIG,
};
use vfpga_abi::vendor::{self, ErrorCause};
use vfpga_abi::{Personality, blk, net};
use vfpga_firmware::fake::FakeMgmt;
use vfpga_firmware::features::FeatureRejection;
use vfpga_firmware::queue::{QueueConfig, QueueRefusal};
use vfpga_firmware::{BoardConfig, Error, FatalCause, Firmware, Hal};

const ALL_UP: u8 = ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK;

// ---- §2.1 / §3.1: status state machine ----

#[test]
fn spec_4_1_4_3_1_power_on_state() {
    let fw = blk();
    let hw = fw.hal();
    assert_eq!(hw.driver_read_status(), Some(0));
    assert_eq!(hw.driver_read_device_features(), feat::BLK_OFFERED);
    assert_eq!(hw.fw_status, vendor::FW_STATUS_RUNNING);
    assert_eq!(hw.config_generation, 0);
    assert_eq!(hw.engine_ctrl, 0);
    assert!(hw.queues.iter().all(|q| !q.run && !q.enable));
    let fw = net();
    assert_eq!(fw.hal().driver_read_device_features(), feat::NET_OFFERED);
}

#[test]
fn spec_3_1_1_status_write_held_until_firmware_answers() {
    let mut fw = blk();
    fw.hal_mut().driver_write_status(ACKNOWLEDGE);
    assert_eq!(fw.hal().driver_read_status(), None);
    fw.poll();
    assert_eq!(fw.hal().driver_read_status(), Some(ACKNOWLEDGE));
    assert_eq!(fw.counters().status_writes, 1);
    assert_clean(&fw);
}

#[test]
fn spec_3_1_1_driver_needs_acknowledge_first() {
    let mut fw = blk();
    assert_eq!(write_status(&mut fw, DRIVER), 0);
    assert_eq!(
        write_status(&mut fw, ACKNOWLEDGE | DRIVER),
        ACKNOWLEDGE | DRIVER
    );
    assert_clean(&fw);
}

#[test]
fn spec_3_1_1_features_ok_accepted_for_valid_subset() {
    let mut fw = blk();
    let features = BASIC_FEATURES | bit(feat::BLK_FLUSH);
    assert_eq!(
        negotiate(&mut fw, features),
        ACKNOWLEDGE | DRIVER | FEATURES_OK
    );
    assert_eq!(fw.negotiated_features(), features);
    assert_clean(&fw);
}

#[test]
fn spec_3_1_1_features_ok_cleared_when_version_1_missing() {
    let mut fw = blk();
    let st = negotiate(&mut fw, bit(RING_EVENT_IDX));
    assert_eq!(st, ACKNOWLEDGE | DRIVER);
    assert_eq!(
        fw.last_feature_rejection(),
        Some(FeatureRejection::MissingVersion1)
    );
    assert_eq!(fw.counters().feature_rejections, 1);
    assert_eq!(fw.negotiated_features(), 0);
    assert_clean(&fw);
}

#[test]
fn spec_2_2_2_features_ok_cleared_for_bit_not_offered() {
    let mut fw = blk();
    let st = negotiate(&mut fw, bit(VERSION_1) | bit(RING_PACKED));
    assert_eq!(st & FEATURES_OK, 0);
    assert_eq!(
        fw.last_feature_rejection(),
        Some(FeatureRejection::NotOffered(bit(RING_PACKED)))
    );
    // A net-only bit on a blk device is "not offered" too.
    let mut fw = blk();
    let st = negotiate(&mut fw, bit(VERSION_1) | bit(feat::NET_MAC));
    assert_eq!(st & FEATURES_OK, 0);
    assert_clean(&fw);
}

#[test]
fn spec_5_1_3_1_features_ok_cleared_for_dependent_bit_without_base() {
    let mut fw = net();
    let st = negotiate(&mut fw, bit(VERSION_1) | bit(NET_CTRL_RX));
    assert_eq!(st & FEATURES_OK, 0);
    assert_eq!(
        fw.last_feature_rejection(),
        Some(FeatureRejection::MissingDependency {
            feature: NET_CTRL_RX,
            requires: NET_CTRL_VQ
        })
    );
    let mut fw = net();
    let st = negotiate(
        &mut fw,
        bit(VERSION_1) | bit(NET_CTRL_RX) | bit(NET_CTRL_VQ),
    );
    assert_ne!(st & FEATURES_OK, 0);
    assert_clean(&fw);
}

#[test]
fn spec_2_2_2_features_ok_can_be_retried_with_a_valid_set() {
    let mut fw = blk();
    assert_eq!(negotiate(&mut fw, bit(RING_EVENT_IDX)) & FEATURES_OK, 0);
    fw.hal_mut().driver_write_features(BASIC_FEATURES);
    let st = write_status(&mut fw, ACKNOWLEDGE | DRIVER | FEATURES_OK);
    assert_ne!(st & FEATURES_OK, 0);
    assert_eq!(fw.negotiated_features(), BASIC_FEATURES);
}

#[test]
fn spec_3_1_1_features_ok_needs_driver() {
    let mut fw = blk();
    write_status(&mut fw, ACKNOWLEDGE);
    fw.hal_mut().driver_write_features(BASIC_FEATURES);
    assert_eq!(
        write_status(&mut fw, ACKNOWLEDGE | FEATURES_OK),
        ACKNOWLEDGE
    );
    assert_clean(&fw);
}

#[test]
fn spec_3_1_1_features_latched_at_features_ok() {
    let mut fw = blk();
    negotiate(&mut fw, BASIC_FEATURES);
    // §3.1.1: no new features after FEATURES_OK; a late write changes nothing.
    fw.hal_mut()
        .driver_write_features(BASIC_FEATURES | bit(NOTIFICATION_DATA));
    fw.poll();
    assert_eq!(fw.negotiated_features(), BASIC_FEATURES);
}

#[test]
fn spec_3_1_1_driver_ok_needs_features_ok() {
    let mut fw = blk();
    negotiate(&mut fw, bit(RING_EVENT_IDX)); // refused
    assert_eq!(
        write_status(&mut fw, ACKNOWLEDGE | DRIVER | DRIVER_OK),
        ACKNOWLEDGE | DRIVER
    );
    assert_eq!(fw.hal().engine_ctrl, 0);
    assert_clean(&fw);
}

#[test]
fn spec_2_1_2_no_dma_and_no_queue_running_before_driver_ok() {
    let mut fw = blk();
    negotiate(&mut fw, BASIC_FEATURES);
    assert_eq!(enable_queue(&mut fw, 0, GOOD_QUEUE), 1);
    assert_eq!(fw.hal().engine_ctrl & mgmt::ENGINE_CTRL_DMA_ENABLE, 0);
    assert!(!q_run(&fw, 0));
    assert_clean(&fw);
}

#[test]
fn spec_3_1_1_driver_ok_arms_enabled_queues_and_engine_flags() {
    let mut fw = blk();
    negotiate(&mut fw, BASIC_FEATURES | bit(NOTIFICATION_DATA));
    assert_eq!(enable_queue(&mut fw, 0, GOOD_QUEUE), 1);
    assert_eq!(write_status(&mut fw, ALL_UP), ALL_UP);
    assert!(q_run(&fw, 0));
    assert!(!q_run(&fw, 1), "queue 1 was never enabled");
    assert_eq!(
        fw.hal().engine_ctrl,
        mgmt::ENGINE_CTRL_DMA_ENABLE
            | mgmt::ENGINE_CTRL_EVENT_IDX
            | mgmt::ENGINE_CTRL_INDIRECT
            | mgmt::ENGINE_CTRL_NOTIFICATION_DATA
    );
    assert_clean(&fw);

    // Without the optional ring features the engine gets DMA only.
    let mut fw = blk();
    assert_eq!(bring_up(&mut fw, bit(VERSION_1)), ALL_UP);
    assert_eq!(fw.hal().engine_ctrl, mgmt::ENGINE_CTRL_DMA_ENABLE);
    assert!(q_run(&fw, 0) && q_run(&fw, 1));
    assert_clean(&fw);
}

#[test]
fn spec_2_1_1_driver_cannot_clear_status_bits() {
    let mut fw = blk();
    negotiate(&mut fw, BASIC_FEATURES);
    assert_eq!(
        write_status(&mut fw, ACKNOWLEDGE),
        ACKNOWLEDGE | DRIVER | FEATURES_OK
    );
}

#[test]
fn spec_2_1_driver_cannot_set_device_needs_reset() {
    let mut fw = blk();
    assert_eq!(
        write_status(&mut fw, ACKNOWLEDGE | DEVICE_NEEDS_RESET),
        ACKNOWLEDGE
    );
}

#[test]
fn spec_2_1_failed_stops_fetching() {
    let mut fw = blk();
    bring_up(&mut fw, BASIC_FEATURES);
    let st = write_status(&mut fw, ALL_UP | FAILED);
    assert_eq!(st, ALL_UP | FAILED);
    assert!(!q_run(&fw, 0) && !q_run(&fw, 1));
    assert_clean(&fw);
}

// ---- §2.4, §4.1.4.3.1: reset ----

#[test]
fn spec_4_1_4_3_1_reset_reads_zero_only_after_engine_idle() {
    let mut fw = blk();
    bring_up(&mut fw, BASIC_FEATURES);
    fw.hal_mut().idle = false; // DMA in flight
    fw.hal_mut().driver_write_status(0);
    for _ in 0..5 {
        fw.poll();
        assert_eq!(fw.hal().driver_read_status(), None, "reset not done yet");
        assert!(fw.is_resetting());
        assert_eq!(fw.hal().engine_resets, 0);
        // Fetching stopped at once; DMA stays on so chains in flight finish.
        assert!(!q_run(&fw, 0) && !q_run(&fw, 1));
        assert_ne!(fw.hal().engine_ctrl & mgmt::ENGINE_CTRL_DMA_ENABLE, 0);
    }
    fw.hal_mut().idle = true;
    fw.poll();
    assert_eq!(fw.hal_mut().driver_poll_status(), Some(0));
    assert_eq!(fw.hal().engine_resets, 1);
    assert_eq!(fw.hal().engine_ctrl, 0);
    assert!(!fw.is_resetting());
    assert_clean(&fw);
}

#[test]
fn spec_2_4_reset_when_idle_completes_in_one_poll_and_is_counted() {
    let mut fw = blk();
    bring_up(&mut fw, BASIC_FEATURES);
    assert_eq!(write_status(&mut fw, 0), 0);
    assert_eq!(fw.counters().resets, 1);
    let resets = mgmt::fw_counter(vendor::FIRST_FW_COUNTER + 1);
    assert_eq!(
        vendor::COUNTER_NAMES[vendor::FIRST_FW_COUNTER + 1],
        "resets"
    );
    assert_eq!(fw.hal_mut().read(resets), 1);
    assert_clean(&fw);
}

#[test]
fn spec_2_4_reset_clears_negotiation_queues_and_allows_renegotiation() {
    let mut fw = blk();
    bring_up(&mut fw, BASIC_FEATURES);
    write_status(&mut fw, 0);
    assert_eq!(fw.negotiated_features(), 0);
    assert_eq!(fw.hal().driver_read_queue_enable(0), Some(0));
    assert_eq!(
        fw.hal().queues[0].size,
        QMAX,
        "queue_size reads the maximum again"
    );
    assert!(!fw.queue(0).unwrap().enabled);
    // §2.2.2: the same set negotiates again after reset.
    assert_eq!(bring_up(&mut fw, BASIC_FEATURES), ALL_UP);
    assert!(q_run(&fw, 0) && q_run(&fw, 1));
    assert_clean(&fw);
}

#[test]
fn spec_2_4_writes_during_reset_are_answered_by_the_reset() {
    let mut fw = blk();
    bring_up(&mut fw, BASIC_FEATURES);
    fw.hal_mut().idle = false;
    fw.hal_mut().driver_write_status(0);
    fw.poll();
    // A driver that does not wait: another write, and a queue_enable.
    fw.hal_mut().driver_write_status(ACKNOWLEDGE);
    fw.hal_mut().driver_write_queue_enable(0, 1);
    fw.poll();
    assert_eq!(fw.hal().driver_read_status(), None);
    assert_eq!(
        fw.hal().driver_read_queue_enable(0),
        Some(0),
        "refused during reset"
    );
    fw.hal_mut().idle = true;
    fw.poll();
    assert_eq!(fw.hal_mut().driver_poll_status(), Some(0));
    assert_eq!(fw.status(), 0);
    assert_clean(&fw);
}

#[test]
fn spec_2_4_queued_reset_keeps_the_read_held_past_an_earlier_write() {
    let mut fw = blk();
    negotiate(&mut fw, BASIC_FEATURES);
    enable_queue(&mut fw, 0, GOOD_QUEUE);
    // Two writes before firmware runs: DRIVER_OK, then a reset. The answer to
    // the first must not release the read while the reset is pending.
    fw.hal_mut().driver_write_status(ALL_UP);
    fw.hal_mut().driver_write_status(0);
    fw.hal_mut().idle = false;
    fw.poll();
    assert_eq!(fw.hal().driver_read_status(), None);
    fw.hal_mut().idle = true;
    fw.poll();
    assert_eq!(fw.hal_mut().driver_poll_status(), Some(0));
    assert_eq!(fw.hal().engine_ctrl, 0);
    assert!(!q_run(&fw, 0));
    assert_clean(&fw);
}

#[test]
fn spec_2_4_no_event_from_before_the_reset_is_handled_after_it() {
    let mut fw = blk();
    bring_up(&mut fw, BASIC_FEATURES);
    // More events than one poll drains, queued behind the reset.
    fw.hal_mut().driver_write_status(0);
    for _ in 0..mgmt::EVENT_FIFO_DEPTH - 1 {
        fw.hal_mut().host_vendor_queue_control(0, 0);
    }
    fw.poll();
    assert_eq!(fw.hal().pending_events(), 0);
    assert_eq!(fw.hal_mut().driver_poll_status(), Some(0));
    assert_clean(&fw);
}

// ---- §2.6, §2.7, §4.1.4.3: queue acceptance ----

#[test]
fn spec_2_7_queue_enable_accepts_power_of_two_size_and_aligned_rings() {
    let mut fw = blk();
    negotiate(&mut fw, BASIC_FEATURES);
    let cfg = QueueConfig {
        size: QMAX,
        desc: 0x10,
        driver: 0x2,
        device: 0x4,
    };
    assert_eq!(enable_queue(&mut fw, 1, cfg), 1);
    assert_eq!(fw.counters().queue_enables, 1);
    assert!(fw.queue(1).unwrap().enabled);
    assert_clean(&fw);
}

#[test]
fn spec_2_7_queue_enable_refused_for_size_not_power_of_two() {
    for size in [0u16, 3, 100] {
        let mut fw = blk();
        negotiate(&mut fw, BASIC_FEATURES);
        let cfg = QueueConfig { size, ..GOOD_QUEUE };
        assert_eq!(enable_queue(&mut fw, 0, cfg), 0, "size {size}");
        assert_eq!(
            fw.last_queue_refusal(),
            Some((0, QueueRefusal::SizeNotPowerOfTwo(size)))
        );
        assert_eq!(fw.counters().queue_refusals, 1);
    }
}

#[test]
fn spec_2_7_queue_enable_refused_above_queue_size_max() {
    let mut fw = blk();
    negotiate(&mut fw, BASIC_FEATURES);
    let cfg = QueueConfig {
        size: QMAX * 2,
        ..GOOD_QUEUE
    };
    assert_eq!(enable_queue(&mut fw, 0, cfg), 0);
    assert_eq!(
        fw.last_queue_refusal(),
        Some((0, QueueRefusal::SizeTooLarge(QMAX * 2)))
    );
}

#[test]
fn spec_2_7_queue_enable_refused_for_misaligned_rings() {
    let cases = [
        (
            QueueConfig {
                desc: 0x1008,
                ..GOOD_QUEUE
            },
            QueueRefusal::DescMisaligned(0x1008),
        ),
        (
            QueueConfig {
                driver: 0x2001,
                ..GOOD_QUEUE
            },
            QueueRefusal::DriverMisaligned(0x2001),
        ),
        (
            QueueConfig {
                device: 0x3002,
                ..GOOD_QUEUE
            },
            QueueRefusal::DeviceMisaligned(0x3002),
        ),
    ];
    for (cfg, why) in cases {
        let mut fw = blk();
        negotiate(&mut fw, BASIC_FEATURES);
        assert_eq!(enable_queue(&mut fw, 0, cfg), 0, "{cfg:?}");
        assert_eq!(fw.last_queue_refusal(), Some((0, why)));
        // After the refusal the driver may fix the configuration and retry.
        assert_eq!(enable_queue(&mut fw, 0, GOOD_QUEUE), 1);
        assert_clean(&fw);
    }
}

#[test]
fn spec_3_1_1_queue_enable_refused_before_features_ok() {
    let mut fw = blk();
    write_status(&mut fw, ACKNOWLEDGE | DRIVER);
    assert_eq!(enable_queue(&mut fw, 0, GOOD_QUEUE), 0);
    assert_eq!(
        fw.last_queue_refusal(),
        Some((0, QueueRefusal::FeaturesNotOk))
    );
}

#[test]
fn spec_4_1_4_3_2_queue_enable_write_of_zero_changes_nothing() {
    let mut fw = blk();
    bring_up(&mut fw, BASIC_FEATURES);
    fw.hal_mut().driver_write_queue_enable(0, 0);
    fw.poll();
    assert_eq!(fw.hal().driver_read_queue_enable(0), Some(1));
    assert!(q_run(&fw, 0));
    assert_eq!(
        fw.last_queue_refusal(),
        Some((0, QueueRefusal::DisableNotSupported))
    );
    assert_clean(&fw);
}

#[test]
fn spec_2_6_queue_enabled_after_driver_ok_is_armed_at_once() {
    let mut fw = blk();
    negotiate(&mut fw, BASIC_FEATURES);
    enable_queue(&mut fw, 0, GOOD_QUEUE);
    write_status(&mut fw, ALL_UP);
    assert!(!q_run(&fw, 1));
    let cfg = QueueConfig {
        desc: 0x8_0000,
        ..GOOD_QUEUE
    };
    assert_eq!(enable_queue(&mut fw, 1, cfg), 1);
    assert!(q_run(&fw, 1));
    assert_clean(&fw);
}

#[test]
fn spec_2_1_2_queue_enable_refused_once_device_needs_reset() {
    let mut fw = blk();
    negotiate(&mut fw, BASIC_FEATURES);
    enable_queue(&mut fw, 0, GOOD_QUEUE);
    write_status(&mut fw, ALL_UP);
    fw.hal_mut()
        .engine_error(ErrorCause::ChainTooLong as u32, 0, 7);
    fw.poll();
    assert_eq!(enable_queue(&mut fw, 1, GOOD_QUEUE), 0);
    assert_eq!(
        fw.last_queue_refusal(),
        Some((1, QueueRefusal::DeviceNotUsable))
    );
    assert_clean(&fw);
}

#[test]
fn spec_2_6_1_queue_reset_waits_for_chains_in_flight() {
    let mut fw = blk();
    bring_up(&mut fw, BASIC_FEATURES);
    fw.hal_mut().queues[1].inflight = 3;
    fw.hal_mut().queues[1].last_avail = 9;
    fw.hal_mut().queues[1].used_idx = 6;
    fw.hal_mut().driver_write_queue_reset(1);
    fw.poll();
    assert!(!q_run(&fw, 1), "fetching stops at once");
    assert!(q_run(&fw, 0), "other queues keep running");
    assert_eq!(fw.hal().driver_read_queue_reset(1), 1);
    fw.poll();
    assert_eq!(fw.hal().driver_read_queue_reset(1), 1);
    fw.hal_mut().queues[1].inflight = 0;
    fw.poll();
    assert_eq!(fw.hal().driver_read_queue_reset(1), 0);
    assert_eq!(fw.hal().driver_read_queue_enable(1), Some(0));
    assert_eq!(
        (fw.hal().queues[1].last_avail, fw.hal().queues[1].used_idx),
        (0, 0)
    );
    assert_eq!(fw.counters().queue_resets, 1);
    assert_clean(&fw);
    // And it can be enabled (and is armed) again.
    assert_eq!(enable_queue(&mut fw, 1, GOOD_QUEUE), 1);
    assert!(q_run(&fw, 1));
    assert_clean(&fw);
}

// ---- §2.5, §5.1.4, §5.2.4: device configuration ----

#[test]
fn spec_5_2_4_blk_config_layout() {
    let board = BoardConfig {
        blk: vfpga_firmware::BlkBoardConfig {
            capacity: 0x0102_0304_0506_0708,
            cylinders: 0x1234,
            heads: 16,
            sectors: 63,
            blk_size: 4096,
            seg_max: 32,
            size_max: 65536,
            num_queues: 2,
        },
        ..BoardConfig::DEFAULT
    };
    let fw = Firmware::new(FakeMgmt::new(Personality::Blk, QMAX), board).unwrap();
    let c = |o: u32, n: usize| fw.hal().driver_read_devcfg(o as usize, n).to_vec();
    use blk::config as b;
    assert_eq!(c(b::CAPACITY, 8), 0x0102_0304_0506_0708u64.to_le_bytes());
    assert_eq!(c(b::SIZE_MAX, 4), 65536u32.to_le_bytes());
    assert_eq!(c(b::SEG_MAX, 4), 32u32.to_le_bytes());
    assert_eq!(c(b::GEOMETRY_CYLINDERS, 2), 0x1234u16.to_le_bytes());
    assert_eq!(c(b::GEOMETRY_HEADS, 1), [16]);
    assert_eq!(c(b::GEOMETRY_SECTORS, 1), [63]);
    assert_eq!(c(b::BLK_SIZE, 4), 4096u32.to_le_bytes());
    assert_eq!(c(b::NUM_QUEUES, 2), 2u16.to_le_bytes());
    assert_eq!(c(b::PHYSICAL_BLOCK_EXP, 8), [0; 8], "topology not offered");
}

#[test]
fn spec_5_1_4_net_config_layout() {
    let fw = net();
    let d = BoardConfig::DEFAULT.net;
    let c = |o: u32, n: usize| fw.hal().driver_read_devcfg(o as usize, n).to_vec();
    use net::config as n;
    assert_eq!(c(n::MAC, 6), d.mac);
    assert_eq!(c(n::STATUS, 2), net::S_LINK_UP.to_le_bytes());
    assert_eq!(
        c(n::MAX_VIRTQUEUE_PAIRS, 2),
        d.max_queue_pairs.to_le_bytes()
    );
    assert_eq!(c(n::MTU, 2), d.mtu.to_le_bytes());
    assert_eq!(c(n::SPEED, 4), u32::MAX.to_le_bytes(), "speed unknown");
}

#[test]
fn spec_2_5_capacity_change_bumps_generation_and_sends_config_interrupt() {
    let mut fw = blk();
    bring_up(&mut fw, BASIC_FEATURES);
    fw.set_capacity(4096).unwrap();
    assert_eq!(fw.hal().driver_read_devcfg(0, 8), 4096u64.to_le_bytes());
    assert_eq!(fw.hal().config_generation, 1);
    assert_eq!(fw.hal().config_irqs, 1);
    assert_eq!(fw.hal_mut().driver_read_isr() & ISR_CONFIG, ISR_CONFIG);
    fw.set_capacity(8192).unwrap();
    assert_eq!(fw.hal().config_generation, 2);
    assert_eq!(fw.counters().config_changes, 2);
    assert_clean(&fw);
}

#[test]
fn spec_2_5_config_change_before_driver_ok_bumps_generation_only() {
    let mut fw = blk();
    negotiate(&mut fw, BASIC_FEATURES);
    fw.set_capacity(1).unwrap();
    assert_eq!(fw.hal().config_generation, 1);
    assert_eq!(fw.hal().config_irqs, 0);
}

#[test]
fn spec_5_1_4_link_status_change_notifies() {
    let mut fw = net();
    bring_up(&mut fw, bit(VERSION_1) | bit(feat::NET_STATUS));
    fw.set_link_up(false).unwrap();
    assert_eq!(
        fw.hal().driver_read_devcfg(net::config::STATUS as usize, 2),
        [0, 0]
    );
    assert_eq!(fw.hal().config_irqs, 1);
    assert_eq!(
        fw.set_capacity(1),
        Err(Error::WrongPersonality(Personality::Net))
    );
    assert_eq!(
        blk().set_link_up(true),
        Err(Error::WrongPersonality(Personality::Blk))
    );
}

#[test]
fn board_config_out_of_hardware_range_is_refused() {
    let mut board = BoardConfig::DEFAULT;
    board.net.max_queue_pairs = net::MAX_QUEUE_PAIRS + 1;
    let r = Firmware::new(FakeMgmt::new(Personality::Net, QMAX), board);
    assert!(matches!(r, Err(Error::BoardConfig(_))));
    let mut board = BoardConfig::DEFAULT;
    board.blk.blk_size = 1000;
    let r = Firmware::new(FakeMgmt::new(Personality::Blk, QMAX), board);
    assert!(matches!(r, Err(Error::BoardConfig(_))));
    let r = Firmware::new(FakeMgmt::new(Personality::Blk, 100), BoardConfig::DEFAULT);
    assert!(matches!(r, Err(Error::BadQueueSizeMax(100))));
    let r = Firmware::new(
        FakeMgmt::with_queues(Personality::Blk, 9, QMAX),
        BoardConfig::DEFAULT,
    );
    assert!(matches!(r, Err(Error::TooManyQueues(9))));
    // One hardware queue is enough for a blk board that asks for one.
    let mut board = BoardConfig::DEFAULT;
    board.blk.num_queues = 1;
    let mut fw = Firmware::new(FakeMgmt::with_queues(Personality::Blk, 1, QMAX), board).unwrap();
    assert_eq!(bring_up(&mut fw, BASIC_FEATURES), ALL_UP);
    assert_clean(&fw);
}

// ---- §2.1.2: errors ----

#[test]
fn spec_2_1_2_engine_error_after_driver_ok_sets_needs_reset_and_notifies() {
    let mut fw = blk();
    bring_up(&mut fw, BASIC_FEATURES);
    fw.hal_mut()
        .engine_error(ErrorCause::IndexOutOfRange as u32, 1, 300);
    fw.poll();
    assert_eq!(
        fw.hal().driver_read_status(),
        Some(ALL_UP | DEVICE_NEEDS_RESET)
    );
    assert_eq!(
        fw.fatal(),
        Some(FatalCause::Engine {
            cause: Some(ErrorCause::IndexOutOfRange),
            raw: ErrorCause::IndexOutOfRange as u32,
            queue: 1,
            detail: 300
        })
    );
    assert!(!q_run(&fw, 0) && !q_run(&fw, 1), "engine stopped");
    assert_eq!(fw.hal().config_irqs, 1);
    assert_eq!(fw.hal_mut().driver_read_isr(), ISR_CONFIG);
    let errors = mgmt::fw_counter(vendor::FIRST_FW_COUNTER);
    assert_eq!(
        vendor::COUNTER_NAMES[vendor::FIRST_FW_COUNTER],
        "device_errors"
    );
    assert_eq!(fw.hal_mut().read(errors), 1);
    // The driver's read-modify-write keeps NEEDS_RESET.
    assert_eq!(
        write_status(&mut fw, ALL_UP | DEVICE_NEEDS_RESET),
        ALL_UP | DEVICE_NEEDS_RESET
    );
    assert_clean(&fw);
}

#[test]
fn spec_2_1_2_engine_error_before_driver_ok_is_reported_at_driver_ok() {
    let mut fw = blk();
    negotiate(&mut fw, BASIC_FEATURES);
    enable_queue(&mut fw, 0, GOOD_QUEUE);
    fw.hal_mut().engine_error(ErrorCause::DmaError as u32, 0, 0);
    fw.poll();
    assert_eq!(
        fw.hal().driver_read_status(),
        Some(ACKNOWLEDGE | DRIVER | FEATURES_OK),
        "no NEEDS_RESET before DRIVER_OK"
    );
    assert_eq!(fw.hal().config_irqs, 0);
    assert_eq!(write_status(&mut fw, ALL_UP), ALL_UP | DEVICE_NEEDS_RESET);
    assert!(!q_run(&fw, 0), "nothing armed on an erred engine");
    assert_eq!(fw.hal().config_irqs, 1);
    assert_clean(&fw);
}

#[test]
fn spec_2_1_2_error_seen_from_status_bit_when_event_is_missing() {
    let mut fw = blk();
    bring_up(&mut fw, BASIC_FEATURES);
    fw.hal_mut().error = Some((ErrorCause::BadRequest as u32, 0, 0));
    fw.poll();
    assert_ne!(fw.status() & DEVICE_NEEDS_RESET, 0);
    assert_eq!(fw.counters().device_errors, 1);
}

#[test]
fn spec_2_1_2_event_overflow_is_fatal_and_releases_held_reads() {
    let mut fw = blk();
    bring_up(&mut fw, BASIC_FEATURES);
    for _ in 0..mgmt::EVENT_FIFO_DEPTH {
        fw.hal_mut().host_vendor_queue_control(0, 0);
    }
    // These are lost: the FIFO is full.
    fw.hal_mut().driver_write_status(ALL_UP);
    fw.hal_mut().driver_write_queue_enable(1, 1);
    assert!(fw.hal().overflow);
    fw.poll();
    assert_eq!(fw.fatal(), Some(FatalCause::EventOverflow));
    assert_eq!(fw.counters().event_overflows, 1);
    assert_eq!(
        fw.hal().driver_read_status(),
        Some(ALL_UP | DEVICE_NEEDS_RESET)
    );
    assert_eq!(fw.hal().driver_read_queue_enable(1), Some(1));
    assert_eq!(fw.hal().config_irqs, 1);
    // Reset recovers.
    assert_eq!(write_status(&mut fw, 0), 0);
    assert_eq!(fw.fatal(), None);
    assert_eq!(bring_up(&mut fw, BASIC_FEATURES), ALL_UP);
    assert_clean(&fw);
}

#[test]
fn spec_2_1_2_event_overflow_before_driver_ok_resets_the_device() {
    let mut fw = blk();
    negotiate(&mut fw, BASIC_FEATURES);
    enable_queue(&mut fw, 0, GOOD_QUEUE);
    for _ in 0..mgmt::EVENT_FIFO_DEPTH {
        fw.hal_mut().host_vendor_queue_control(0, 0);
    }
    // The driver's reset request is lost in the overflow.
    fw.hal_mut().driver_write_status(0);
    fw.hal_mut().idle = false;
    fw.poll();
    assert!(fw.is_resetting());
    assert_eq!(
        fw.hal().driver_read_status(),
        None,
        "held until the reset is done"
    );
    fw.hal_mut().idle = true;
    fw.poll();
    assert_eq!(fw.hal_mut().driver_poll_status(), Some(0));
    assert_eq!(fw.hal().driver_read_queue_enable(0), Some(0));
    assert_eq!(fw.counters().event_overflows, 1);
    assert_eq!(fw.counters().device_errors, 1);
    assert_eq!(bring_up(&mut fw, BASIC_FEATURES), ALL_UP);
    assert_clean(&fw);
}

#[test]
fn spec_2_1_2_reset_clears_device_needs_reset() {
    let mut fw = blk();
    bring_up(&mut fw, BASIC_FEATURES);
    fw.hal_mut()
        .engine_error(ErrorCause::ZeroLength as u32, 0, 0);
    fw.poll();
    assert_eq!(write_status(&mut fw, 0), 0);
    assert_eq!(fw.fatal(), None);
    assert!(fw.hal().error.is_none(), "ENGINE_RESET cleared the error");
    assert_eq!(bring_up(&mut fw, BASIC_FEATURES), ALL_UP);
    assert_eq!(fw.counters().device_errors, 1);
    assert_clean(&fw);
}

// ---- vendor region, malformed events ----

#[test]
fn vendor_queue_control_is_only_counted() {
    let mut fw = blk();
    bring_up(&mut fw, BASIC_FEATURES);
    fw.hal_mut()
        .host_vendor_queue_control(0, vendor::Q_CONTROL_STOP);
    fw.hal_mut().host_vendor_queue_control(0, 0);
    fw.poll();
    assert_eq!(
        (fw.counters().vendor_stops, fw.counters().vendor_starts),
        (1, 1)
    );
    assert!(
        q_run(&fw, 0),
        "the hardware gates the queue, firmware keeps Q_RUN"
    );
    assert_clean(&fw);
}

#[test]
fn malformed_events_are_counted_and_ignored() {
    let mut fw = blk();
    fw.hal_mut().post_raw(0xFF);
    fw.hal_mut().post_raw(0x0001_0902); // QueueEnable for queue 9
    fw.poll();
    assert_eq!(fw.counters().bad_events, 2);
    assert_eq!(fw.status(), 0);
    assert_clean(&fw);
}
