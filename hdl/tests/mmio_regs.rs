//! Register-file semantics of the BAR0 target (virtio 1.2 §4.1.4) and the
//! management port, on the rust-hdl model of `mmio::Bar0`.

mod mmio_common;

use mmio_common::Bench;
use vfpga_abi::bar0;
use vfpga_abi::common_cfg as cc;
use vfpga_abi::mgmt::{self, Event, EventKind};
use vfpga_abi::status;
use vfpga_abi::vendor;
use vfpga_hdl::mmio::{NQ, QMAX};

const STALL: u64 = 30;

fn common(off: u32) -> u32 {
    bar0::COMMON_CFG + off
}

fn rd16(b: &mut Bench, off: u32) -> u32 {
    b.mmio_read_sized(common(off), 2)
}

fn wr16(b: &mut Bench, off: u32, v: u32) {
    b.mmio_write_sized(common(off), 2, v)
}

fn event(kind: EventKind, queue: u8, value: u16) -> u32 {
    Event { kind, queue, value }.encode()
}

/// Firmware answers a queue_enable write the way the real firmware does.
fn fw_enable(b: &mut Bench, q: u16, on: bool) {
    b.mgmt_write(mgmt::QUEUE_SEL, q as u32);
    b.mgmt_write(mgmt::Q_ENABLE, on as u32);
}

#[test]
fn spec_4_1_4_3_queue_size_reads_max_after_reset_and_zero_out_of_range() {
    let mut b = Bench::new(1, STALL);
    assert_eq!(rd16(&mut b, cc::NUM_QUEUES), NQ as u32);
    for q in 0..NQ as u32 {
        wr16(&mut b, cc::QUEUE_SELECT, q);
        assert_eq!(rd16(&mut b, cc::QUEUE_SELECT), q);
        assert_eq!(rd16(&mut b, cc::QUEUE_SIZE), QMAX as u32);
        assert_eq!(rd16(&mut b, cc::QUEUE_MSIX_VECTOR), cc::NO_VECTOR as u32);
        assert_eq!(rd16(&mut b, cc::QUEUE_ENABLE), 0);
    }
    wr16(&mut b, cc::QUEUE_SELECT, NQ as u32);
    assert_eq!(rd16(&mut b, cc::QUEUE_SIZE), 0);
    // Writes to a queue that does not exist change nothing.
    wr16(&mut b, cc::QUEUE_SIZE, 16);
    assert_eq!(rd16(&mut b, cc::QUEUE_SIZE), 0);
    for q in 0..NQ {
        assert_eq!(b.dut.q_size[q].val().to_u64(), QMAX as u64);
    }
}

#[test]
fn spec_4_1_4_3_device_feature_select_windows() {
    let mut b = Bench::new(2, STALL);
    b.mgmt_write(mgmt::DEVICE_FEATURE_LO, 0x3000_1246);
    b.mgmt_write(mgmt::DEVICE_FEATURE_HI, 0x0000_0043);
    b.mmio_write(common(cc::DEVICE_FEATURE_SELECT), 0);
    assert_eq!(b.mmio_read(common(cc::DEVICE_FEATURE)), 0x3000_1246);
    b.mmio_write(common(cc::DEVICE_FEATURE_SELECT), 1);
    assert_eq!(b.mmio_read(common(cc::DEVICE_FEATURE_SELECT)), 1);
    assert_eq!(b.mmio_read(common(cc::DEVICE_FEATURE)), 0x43);
    b.mmio_write(common(cc::DEVICE_FEATURE_SELECT), 2);
    assert_eq!(b.mmio_read(common(cc::DEVICE_FEATURE)), 0);
    // device_feature is read-only to the driver.
    b.mmio_write(common(cc::DEVICE_FEATURE_SELECT), 0);
    b.mmio_write(common(cc::DEVICE_FEATURE), 0xFFFF_FFFF);
    assert_eq!(b.mmio_read(common(cc::DEVICE_FEATURE)), 0x3000_1246);
}

#[test]
fn spec_4_1_4_3_driver_feature_lands_in_mgmt_and_posts_events() {
    let mut b = Bench::new(3, STALL);
    b.mmio_write(common(cc::DRIVER_FEATURE_SELECT), 0);
    b.mmio_write(common(cc::DRIVER_FEATURE), 0x3000_0040);
    b.mmio_write(common(cc::DRIVER_FEATURE_SELECT), 1);
    b.mmio_write(common(cc::DRIVER_FEATURE), 0x1);
    // A select the device has no window for: ignored, no event.
    b.mmio_write(common(cc::DRIVER_FEATURE_SELECT), 5);
    b.mmio_write(common(cc::DRIVER_FEATURE), 0xFFFF_FFFF);
    assert_eq!(b.mmio_read(common(cc::DRIVER_FEATURE)), 0);
    b.mmio_write(common(cc::DRIVER_FEATURE_SELECT), 0);
    assert_eq!(b.mmio_read(common(cc::DRIVER_FEATURE)), 0x3000_0040);
    assert_eq!(b.mgmt_read(mgmt::DRIVER_FEATURE_LO), 0x3000_0040);
    assert_eq!(b.mgmt_read(mgmt::DRIVER_FEATURE_HI), 0x1);
    assert_eq!(
        b.drain_events(),
        vec![
            event(EventKind::DriverFeature, 0, 0),
            event(EventKind::DriverFeature, 0, 1)
        ]
    );
}

#[test]
fn spec_4_1_4_3_device_status_read_held_until_firmware_answers() {
    let mut b = Bench::new(4, STALL);
    assert_eq!(b.mmio_read_sized(common(cc::DEVICE_STATUS), 1), 0);
    b.mmio_write_sized(common(cc::DEVICE_STATUS), 1, status::ACKNOWLEDGE as u32);
    assert_eq!(
        b.drain_events(),
        vec![event(EventKind::StatusWrite, 0, status::ACKNOWLEDGE as u16)]
    );
    // config_generation shares the dword but is not held.
    assert_eq!(b.mmio_read_sized(common(cc::CONFIG_GENERATION), 1), 0);
    // The read of device_status gets no answer while firmware decides.
    let (dw, strb, _) = mmio_common::lanes(common(cc::DEVICE_STATUS), 1);
    b.post_mmio(vfpga_abi::ports::MmioRequest {
        addr: dw,
        write: false,
        wdata: 0,
        strb,
    });
    b.ticks(300);
    assert!(b.mmio_resp.is_empty(), "device_status read answered early");
    b.mgmt_write(mgmt::DEVICE_STATUS, status::ACKNOWLEDGE as u32);
    b.run_until("held read released", |b| !b.mmio_resp.is_empty());
    assert_eq!(
        b.mmio_resp.pop_front().unwrap() & 0xFF,
        status::ACKNOWLEDGE as u32
    );
}

/// The management interrupt (`attention`, the top level's `mgmt_irq`) is
/// what the firmware sleeps on: high from the cycle an event is queued
/// until the last one is read from EVENT, low otherwise.
#[test]
fn mgmt_attention_is_high_exactly_while_an_event_waits() {
    let mut b = Bench::new(7, STALL);
    b.ticks(50);
    assert!(!b.dut.attention.val(), "attention with no event queued");
    b.mmio_write_sized(common(cc::DEVICE_STATUS), 1, status::ACKNOWLEDGE as u32);
    b.run_until("attention after a status write", |b| b.dut.attention.val());
    // Two more events: attention stays up until EVENT is drained.
    wr16(&mut b, cc::QUEUE_SELECT, 1);
    wr16(&mut b, cc::QUEUE_ENABLE, 1);
    b.mmio_write_sized(common(cc::DEVICE_STATUS), 1, status::DRIVER as u32);
    b.ticks(20);
    assert!(b.dut.attention.val());
    assert_eq!(b.mgmt_read(mgmt::EVENT_COUNT), 3);
    b.mgmt_read(mgmt::EVENT);
    b.mgmt_read(mgmt::EVENT);
    b.ticks(5);
    assert!(
        b.dut.attention.val(),
        "attention dropped with an event left"
    );
    b.mgmt_read(mgmt::EVENT);
    b.ticks(5);
    assert!(
        !b.dut.attention.val(),
        "attention stayed up after EVENT drained"
    );
}

#[test]
fn spec_4_1_4_3_reset_write_reads_nonzero_until_firmware_writes_zero() {
    let mut b = Bench::new(5, STALL);
    let ok =
        (status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK | status::DRIVER_OK) as u32;
    b.mgmt_write(mgmt::DEVICE_STATUS, ok);
    assert_eq!(b.mmio_read_sized(common(cc::DEVICE_STATUS), 1), ok);
    b.mmio_write_sized(common(cc::DEVICE_STATUS), 1, 0);
    let (dw, strb, _) = mmio_common::lanes(common(cc::DEVICE_STATUS), 1);
    b.post_mmio(vfpga_abi::ports::MmioRequest {
        addr: dw,
        write: false,
        wdata: 0,
        strb,
    });
    b.ticks(200);
    assert!(b.mmio_resp.is_empty());
    // While the driver waits, the firmware's own port keeps working.
    assert_eq!(b.drain_events(), vec![event(EventKind::StatusWrite, 0, 0)]);
    assert_eq!(b.mgmt_read(mgmt::DEVICE_STATUS), ok);
    b.mgmt_write(mgmt::DEVICE_STATUS, 0);
    b.run_until("held read released", |b| !b.mmio_resp.is_empty());
    assert_eq!(b.mmio_resp.pop_front().unwrap() & 0xFF, 0);
}

#[test]
fn spec_4_1_4_3_queue_enable_read_held_until_firmware_answers() {
    let mut b = Bench::new(6, STALL);
    wr16(&mut b, cc::QUEUE_SELECT, 1);
    wr16(&mut b, cc::QUEUE_ENABLE, 1);
    assert_eq!(b.drain_events(), vec![event(EventKind::QueueEnable, 1, 1)]);
    // Queue 0's enable is not pending: not held.
    wr16(&mut b, cc::QUEUE_SELECT, 0);
    assert_eq!(rd16(&mut b, cc::QUEUE_ENABLE), 0);
    wr16(&mut b, cc::QUEUE_SELECT, 1);
    let (dw, strb, _) = mmio_common::lanes(common(cc::QUEUE_ENABLE), 2);
    b.post_mmio(vfpga_abi::ports::MmioRequest {
        addr: dw,
        write: false,
        wdata: 0,
        strb,
    });
    b.ticks(200);
    assert!(b.mmio_resp.is_empty());
    fw_enable(&mut b, 1, true);
    b.run_until("held read released", |b| !b.mmio_resp.is_empty());
    assert_eq!(b.mmio_resp.pop_front().unwrap() & 0xFFFF, 1);
    assert_eq!(b.mgmt_read(mgmt::Q_ENABLE), 1);
}

#[test]
fn spec_4_1_4_3_queue_configuration_ignored_while_enabled() {
    let mut b = Bench::new(7, STALL);
    wr16(&mut b, cc::QUEUE_SELECT, 1);
    wr16(&mut b, cc::QUEUE_SIZE, 64);
    wr16(&mut b, cc::QUEUE_MSIX_VECTOR, 2);
    b.mmio_write(common(cc::QUEUE_DESC), 0x1000);
    b.mmio_write(common(cc::QUEUE_DESC + 4), 0x1);
    b.mmio_write(common(cc::QUEUE_DRIVER), 0x2000);
    b.mmio_write(common(cc::QUEUE_DRIVER + 4), 0x2);
    b.mmio_write(common(cc::QUEUE_DEVICE), 0x3000);
    b.mmio_write(common(cc::QUEUE_DEVICE + 4), 0x3);
    assert_eq!(b.dut.q_size[1].val().to_u64(), 64);
    assert_eq!(b.dut.q_vector[1].val().to_u64(), 2);
    assert_eq!(b.dut.q_desc[1].val().to_u64(), 0x1_0000_1000);
    assert_eq!(b.dut.q_avail[1].val().to_u64(), 0x2_0000_2000);
    assert_eq!(b.dut.q_used[1].val().to_u64(), 0x3_0000_3000);
    assert_eq!(b.dut.q_size[0].val().to_u64(), QMAX as u64);
    // Firmware sees the same values.
    b.mgmt_write(mgmt::QUEUE_SEL, 1);
    assert_eq!(b.mgmt_read(mgmt::Q_SIZE), 64);
    assert_eq!(b.mgmt_read(mgmt::Q_MSIX_VECTOR), 2);
    assert_eq!(b.mgmt_read(mgmt::Q_DESC_LO), 0x1000);
    assert_eq!(b.mgmt_read(mgmt::Q_DESC_HI), 1);
    assert_eq!(b.mgmt_read(mgmt::Q_DRIVER_LO), 0x2000);
    assert_eq!(b.mgmt_read(mgmt::Q_DRIVER_HI), 2);
    assert_eq!(b.mgmt_read(mgmt::Q_DEVICE_LO), 0x3000);
    assert_eq!(b.mgmt_read(mgmt::Q_DEVICE_HI), 3);
    // Enabled: every queue configuration write is ignored.
    wr16(&mut b, cc::QUEUE_ENABLE, 1);
    fw_enable(&mut b, 1, true);
    assert_eq!(rd16(&mut b, cc::QUEUE_ENABLE), 1);
    wr16(&mut b, cc::QUEUE_SIZE, 8);
    wr16(&mut b, cc::QUEUE_MSIX_VECTOR, 5);
    b.mmio_write(common(cc::QUEUE_DESC), 0xDEAD_0000);
    b.mmio_write(common(cc::QUEUE_DEVICE + 4), 0xBEEF);
    assert_eq!(rd16(&mut b, cc::QUEUE_SIZE), 64);
    assert_eq!(rd16(&mut b, cc::QUEUE_MSIX_VECTOR), 2);
    assert_eq!(b.mmio_read(common(cc::QUEUE_DESC)), 0x1000);
    assert_eq!(b.mmio_read(common(cc::QUEUE_DEVICE + 4)), 0x3);
    assert_eq!(b.dut.q_desc[1].val().to_u64(), 0x1_0000_1000);
}

#[test]
fn spec_4_1_4_3_partial_writes_merge_bytes() {
    let mut b = Bench::new(8, STALL);
    wr16(&mut b, cc::QUEUE_SELECT, 0);
    b.mmio_write(common(cc::QUEUE_DESC), 0x1122_3344);
    // One byte of the address, then the upper half alone.
    b.mmio_write_sized(common(cc::QUEUE_DESC + 1), 1, 0xAA);
    b.mmio_write_sized(common(cc::QUEUE_DESC + 2), 2, 0xBBCC);
    assert_eq!(b.mmio_read(common(cc::QUEUE_DESC)), 0xBBCC_AA44);
    // queue_size and queue_msix_vector share a dword.
    wr16(&mut b, cc::QUEUE_MSIX_VECTOR, 1);
    assert_eq!(rd16(&mut b, cc::QUEUE_SIZE), QMAX as u32);
    wr16(&mut b, cc::QUEUE_SIZE, 32);
    assert_eq!(rd16(&mut b, cc::QUEUE_MSIX_VECTOR), 1);
}

#[test]
fn spec_4_1_4_3_notify_off_and_notify_data_read_the_queue_index() {
    let mut b = Bench::new(9, STALL);
    for q in 0..NQ as u32 {
        wr16(&mut b, cc::QUEUE_SELECT, q);
        assert_eq!(rd16(&mut b, cc::QUEUE_NOTIFY_OFF), q);
        assert_eq!(rd16(&mut b, cc::QUEUE_NOTIFY_DATA), q);
    }
}

#[test]
fn spec_4_1_5_1_2_unmapped_vector_reads_no_vector() {
    let mut b = Bench::new(10, STALL);
    let nv = vfpga_abi::msix::VECTORS as u32;
    wr16(&mut b, cc::CONFIG_MSIX_VECTOR, 0);
    assert_eq!(rd16(&mut b, cc::CONFIG_MSIX_VECTOR), 0);
    wr16(&mut b, cc::CONFIG_MSIX_VECTOR, nv);
    assert_eq!(rd16(&mut b, cc::CONFIG_MSIX_VECTOR), cc::NO_VECTOR as u32);
    wr16(&mut b, cc::QUEUE_SELECT, 0);
    wr16(&mut b, cc::QUEUE_MSIX_VECTOR, nv - 1);
    assert_eq!(rd16(&mut b, cc::QUEUE_MSIX_VECTOR), nv - 1);
    wr16(&mut b, cc::QUEUE_MSIX_VECTOR, 0x1234);
    assert_eq!(rd16(&mut b, cc::QUEUE_MSIX_VECTOR), cc::NO_VECTOR as u32);
    assert_eq!(b.mgmt_read(mgmt::CONFIG_MSIX_VECTOR), cc::NO_VECTOR as u32);
}

#[test]
fn spec_4_1_4_3_queue_reset_reads_one_until_firmware_disables() {
    let mut b = Bench::new(11, STALL);
    wr16(&mut b, cc::QUEUE_SELECT, 1);
    wr16(&mut b, cc::QUEUE_ENABLE, 1);
    fw_enable(&mut b, 1, true);
    b.drain_events();
    wr16(&mut b, cc::QUEUE_RESET, 1);
    assert_eq!(b.drain_events(), vec![event(EventKind::QueueReset, 1, 1)]);
    assert_eq!(rd16(&mut b, cc::QUEUE_RESET), 1);
    fw_enable(&mut b, 1, false);
    assert_eq!(rd16(&mut b, cc::QUEUE_RESET), 0);
    assert_eq!(rd16(&mut b, cc::QUEUE_ENABLE), 0);
}

#[test]
fn spec_4_1_4_3_config_generation_and_status_read_firmware_values() {
    let mut b = Bench::new(12, STALL);
    b.mgmt_write(mgmt::CONFIG_GENERATION, 7);
    b.mgmt_write(mgmt::DEVICE_STATUS, status::DEVICE_NEEDS_RESET as u32);
    assert_eq!(b.mmio_read_sized(common(cc::CONFIG_GENERATION), 1), 7);
    assert_eq!(
        b.mmio_read_sized(common(cc::DEVICE_STATUS), 1),
        status::DEVICE_NEEDS_RESET as u32
    );
    assert_eq!(b.mgmt_read(mgmt::CONFIG_GENERATION), 7);
}

#[test]
fn spec_4_1_4_4_notify_passes_the_raw_value_to_the_engine() {
    let mut b = Bench::new(13, STALL);
    // With NOTIFICATION_DATA the driver writes vqn | next_off << 16 | wrap << 31.
    let value = 1 | (0x1234 << 16) | (1 << 31);
    b.mmio_write(bar0::doorbell(1), value);
    // Without it, a 16-bit write of the queue index.
    b.mmio_write_sized(bar0::doorbell(0), 2, 0);
    // Doorbells beyond the implemented queues are ignored.
    b.mmio_write(bar0::doorbell(NQ as u16), 0x77);
    b.ticks(20);
    assert_eq!(b.doorbells, vec![(1, value), (0, 0)]);
    // Reads of the notify region return 0 and ring nothing.
    assert_eq!(b.mmio_read(bar0::doorbell(0)), 0);
    assert_eq!(b.doorbells.len(), 2);
}

#[test]
fn spec_4_1_4_4_doorbells_wait_for_a_busy_engine_and_none_is_lost() {
    let mut b = Bench::new(14, STALL);
    b.doorbell_block = true;
    for i in 0..4u32 {
        b.post_mmio(vfpga_abi::ports::MmioRequest {
            addr: bar0::doorbell((i % NQ as u32) as u16),
            write: true,
            wdata: i,
            strb: 0xF,
        });
    }
    b.ticks(100);
    assert!(b.doorbells.is_empty());
    b.doorbell_block = false;
    b.run_until("doorbells", |b| b.doorbells.len() == 4);
    let want: Vec<(u16, u32)> = (0..4u32).map(|i| ((i % NQ as u32) as u16, i)).collect();
    assert_eq!(b.doorbells, want);
}

#[test]
fn spec_4_1_4_5_isr_read_clears_only_when_its_byte_is_read() {
    let mut b = Bench::new(15, STALL);
    assert_eq!(b.mmio_read(bar0::ISR), 0);
    // A used-buffer notification without a vector: ISR only.
    b.post_irq(0, cc::NO_VECTOR);
    b.run_until("irq accepted", |b| b.irqs_accepted == 1);
    b.ticks(2);
    // A read that does not enable byte 0 clears nothing (its lanes read 0).
    assert_eq!(b.mmio_read_strb(bar0::ISR, 0b0010) & 0xFFFF_FF00, 0);
    assert_eq!(
        b.mmio_read_strb(bar0::ISR, 0b0001),
        status::ISR_QUEUE as u32
    );
    assert_eq!(b.mmio_read_strb(bar0::ISR, 0b0001), 0);
    // Firmware's configuration interrupt sets bit 1.
    b.mgmt_write(mgmt::CONFIG_IRQ, 1);
    b.ticks(3);
    assert_eq!(b.mmio_read(bar0::ISR), status::ISR_CONFIG as u32);
    assert_eq!(b.mmio_read(bar0::ISR), 0);
    assert!(b.msix.is_empty(), "no vector, no message");
}

#[test]
fn spec_4_1_4_6_device_config_written_by_firmware_read_only_to_driver() {
    let mut b = Bench::new(16, STALL);
    let words: Vec<u32> = (0..64u32)
        .map(|i| 0x0101_0101u32.wrapping_mul(i) ^ 0x5A00_00A5)
        .collect();
    for (i, w) in words.iter().enumerate() {
        b.mgmt_write(mgmt::DEVCFG_ADDR, 4 * i as u32);
        b.mgmt_write(mgmt::DEVCFG_DATA, *w);
    }
    for (i, w) in words.iter().enumerate().step_by(7) {
        assert_eq!(b.mmio_read(bar0::DEVICE_CFG + 4 * i as u32), *w);
    }
    b.mgmt_write(mgmt::DEVCFG_ADDR, 8);
    assert_eq!(b.mgmt_read(mgmt::DEVCFG_DATA), words[2]);
    // Capacity (bytes 0..8) is decoded for the engine.
    assert_eq!(
        b.dut.blk_capacity.val().to_u64(),
        words[0] as u64 | (words[1] as u64) << 32
    );
    // The driver cannot write it.
    b.mmio_write(bar0::DEVICE_CFG, 0);
    assert_eq!(b.mmio_read(bar0::DEVICE_CFG), words[0]);
}

#[test]
fn mgmt_identity_registers() {
    let mut b = Bench::new(17, STALL);
    assert_eq!(b.mgmt_read(mgmt::ID), vendor::MAGIC_VALUE);
    assert_eq!(b.mgmt_read(mgmt::PERSONALITY), 2);
    assert_eq!(b.mgmt_read(mgmt::NUM_QUEUES), NQ as u32);
    assert_eq!(b.mgmt_read(mgmt::QUEUE_SIZE_MAX), QMAX as u32);
    assert_eq!(b.mgmt_read(mgmt::EVENT_COUNT), 0);
    assert_eq!(b.mgmt_read(mgmt::EVENT), 0);
    assert_eq!(b.mgmt_read(mgmt::ENGINE_STATUS), mgmt::ENGINE_STATUS_IDLE);
    b.mgmt_write(mgmt::FW_STATUS, vendor::FW_STATUS_RUNNING);
    assert_eq!(
        b.mmio_read(bar0::VENDOR + vendor::FW_STATUS),
        vendor::FW_STATUS_RUNNING
    );
    assert_eq!(
        b.mmio_read(bar0::VENDOR + vendor::MAGIC),
        vendor::MAGIC_VALUE
    );
    assert_eq!(
        b.mmio_read(bar0::VENDOR + vendor::VERSION),
        vendor::VERSION_VALUE
    );
    assert_eq!(b.mmio_read(bar0::VENDOR + vendor::NUM_QUEUES), NQ as u32);
}

#[test]
fn mgmt_engine_ctrl_drives_the_engine_and_bus_master_gates_dma() {
    let mut b = Bench::new(18, STALL);
    let all = mgmt::ENGINE_CTRL_DMA_ENABLE
        | mgmt::ENGINE_CTRL_EVENT_IDX
        | mgmt::ENGINE_CTRL_NOTIFICATION_DATA
        | mgmt::ENGINE_CTRL_INDIRECT;
    b.mgmt_write(mgmt::ENGINE_CTRL, all);
    assert_eq!(b.mgmt_read(mgmt::ENGINE_CTRL), all);
    assert!(b.dut.dma_enable.val());
    assert!(b.dut.event_idx.val());
    assert!(b.dut.notification_data.val());
    assert!(b.dut.indirect_enable.val());
    b.dut.bus_master.next = false;
    b.tick();
    assert!(!b.dut.dma_enable.val());
    b.mgmt_write(mgmt::ENGINE_CTRL, mgmt::ENGINE_CTRL_EVENT_IDX);
    b.dut.bus_master.next = true;
    b.tick();
    assert!(!b.dut.dma_enable.val());
    assert!(b.dut.event_idx.val());
    assert!(!b.dut.indirect_enable.val());
}

#[test]
fn mgmt_engine_reset_clears_queues_but_not_table_status_or_generation() {
    let mut b = Bench::new(19, STALL);
    b.mgmt_write(mgmt::CONFIG_GENERATION, 3);
    b.mgmt_write(mgmt::DEVICE_STATUS, status::ACKNOWLEDGE as u32);
    b.mmio_write(bar0::MSIX_TABLE, 0xFEE0_0000);
    b.mmio_write(common(cc::DRIVER_FEATURE), 0x55);
    wr16(&mut b, cc::CONFIG_MSIX_VECTOR, 0);
    wr16(&mut b, cc::QUEUE_SELECT, 0);
    wr16(&mut b, cc::QUEUE_SIZE, 16);
    wr16(&mut b, cc::QUEUE_MSIX_VECTOR, 1);
    b.mmio_write(common(cc::QUEUE_DESC), 0x4000);
    wr16(&mut b, cc::QUEUE_ENABLE, 1);
    fw_enable(&mut b, 0, true);
    b.mgmt_write(mgmt::Q_RUN, 1);
    assert!(b.dut.q_run[0].val());
    b.post_irq(0, cc::NO_VECTOR);
    b.run_until("irq", |b| b.irqs_accepted == 1);
    b.drain_events();

    // Not idle: the reset is refused.
    b.dut.idle.next = false;
    b.mgmt_write(mgmt::ENGINE_RESET, 1);
    b.ticks(3);
    assert_eq!(b.engine_resets, 0);
    assert_eq!(b.dut.q_size[0].val().to_u64(), 16);

    b.dut.idle.next = true;
    b.mgmt_write(mgmt::ENGINE_RESET, 1);
    b.ticks(3);
    assert_eq!(b.engine_resets, 1, "engine_reset is a one-cycle pulse");
    assert_eq!(rd16(&mut b, cc::QUEUE_SIZE), QMAX as u32);
    assert_eq!(rd16(&mut b, cc::QUEUE_MSIX_VECTOR), cc::NO_VECTOR as u32);
    assert_eq!(rd16(&mut b, cc::QUEUE_ENABLE), 0);
    assert_eq!(b.mmio_read(common(cc::QUEUE_DESC)), 0);
    assert!(!b.dut.q_run[0].val());
    assert_eq!(b.mgmt_read(mgmt::DRIVER_FEATURE_LO), 0);
    assert_eq!(b.mmio_read(bar0::ISR), 0);
    // Kept: MSI-X table, device_status, config_generation.
    assert_eq!(b.mmio_read(bar0::MSIX_TABLE), 0xFEE0_0000);
    assert_eq!(
        b.mmio_read_sized(common(cc::DEVICE_STATUS), 1),
        status::ACKNOWLEDGE as u32
    );
    assert_eq!(b.mmio_read_sized(common(cc::CONFIG_GENERATION), 1), 3);
}

#[test]
fn mgmt_event_fifo_overflow_keeps_the_oldest_and_sets_the_flag() {
    let mut b = Bench::new(20, STALL);
    let depth = mgmt::EVENT_FIFO_DEPTH;
    for i in 0..depth + 3 {
        b.mmio_write_sized(common(cc::DEVICE_STATUS), 1, i as u32);
    }
    assert_eq!(b.mgmt_read(mgmt::EVENT_COUNT), depth as u32);
    assert_ne!(
        b.mgmt_read(mgmt::ENGINE_STATUS) & mgmt::ENGINE_STATUS_EVENT_OVERFLOW,
        0
    );
    let ev = b.drain_events();
    let want: Vec<u32> = (0..depth)
        .map(|i| event(EventKind::StatusWrite, 0, i as u16))
        .collect();
    assert_eq!(ev, want);
    // Engine reset clears the flag.
    b.mgmt_write(mgmt::ENGINE_RESET, 1);
    assert_eq!(
        b.mgmt_read(mgmt::ENGINE_STATUS) & mgmt::ENGINE_STATUS_EVENT_OVERFLOW,
        0
    );
}

#[test]
fn mgmt_engine_error_posts_an_event_and_shows_in_vendor_region() {
    let mut b = Bench::new(21, STALL);
    b.dut.error.next = true;
    b.dut.error_cause.next = (vendor::ErrorCause::ChainTooLong as u64).into();
    b.dut.error_queue.next = 1.into();
    b.dut.error_detail.next = 0x42.into();
    b.dut.error_pulse.next = true;
    b.tick();
    b.dut.error_pulse.next = false;
    b.ticks(3);
    assert_eq!(
        b.drain_events(),
        vec![event(
            EventKind::EngineError,
            1,
            vendor::ErrorCause::ChainTooLong as u16
        )]
    );
    assert_eq!(
        b.mgmt_read(mgmt::ENGINE_STATUS),
        mgmt::ENGINE_STATUS_IDLE | mgmt::ENGINE_STATUS_ERROR
    );
    assert_eq!(b.mgmt_read(mgmt::ERROR_CAUSE), 1);
    assert_eq!(b.mgmt_read(mgmt::ERROR_QUEUE), 1);
    assert_eq!(b.mgmt_read(mgmt::ERROR_DETAIL), 0x42);
    assert_eq!(b.mmio_read(bar0::VENDOR + vendor::ERROR_CAUSE), 1);
    assert_eq!(b.mmio_read(bar0::VENDOR + vendor::ERROR_QUEUE), 1);
    assert_eq!(b.mmio_read(bar0::VENDOR + vendor::ERROR_DETAIL), 0x42);
}

#[test]
fn vendor_counters_read_low_then_high_consistently() {
    let mut b = Bench::new(22, STALL);
    b.dut.cnt_requests.next = 0x1_FFFF_FFFF_u64.into();
    b.dut.cnt_bytes_read.next = 0x2_0000_0010_u64.into();
    b.dut.cnt_bytes_written.next = 0x3_0000_0020_u64.into();
    b.dut.cnt_notifies.next = 0x4_0000_0030_u64.into();
    b.dut.cnt_dma_errors.next = 0x5_0000_0040_u64.into();
    b.mgmt_write(mgmt::FW_COUNTERS + vendor::FIRST_FW_COUNTER as u16, 9);
    b.mgmt_write(mgmt::FW_COUNTERS + vendor::FIRST_FW_COUNTER as u16 + 1, 10);
    let want = [
        0x1_FFFF_FFFF_u64,
        0x2_0000_0010,
        0x3_0000_0020,
        0x4_0000_0030,
        0,
        0x5_0000_0040,
        9,
        10,
    ];
    for (i, w) in want.iter().enumerate() {
        let lo = b.mmio_read(bar0::VENDOR + vendor::counter(i));
        // The counter moves between the two reads: high still matches low.
        if i == 0 {
            b.dut.cnt_requests.next = 0x2_0000_0000_u64.into();
        }
        let hi = b.mmio_read(bar0::VENDOR + vendor::counter(i) + 4);
        assert_eq!((hi as u64) << 32 | lo as u64, *w, "counter {i}");
    }
    assert_eq!(b.mgmt_read(mgmt::HW_COUNTERS + 1), 0x10);
    assert_eq!(b.mgmt_read(mgmt::HW_COUNTERS + 5), 0x40);
    assert_eq!(
        b.mgmt_read(mgmt::FW_COUNTERS + vendor::FIRST_FW_COUNTER as u16),
        9
    );
}

#[test]
fn vendor_queue_stop_gates_q_run_and_reports_stopped() {
    let mut b = Bench::new(23, STALL);
    let ctl = |q: u16| bar0::VENDOR + vendor::queue_reg(q, vendor::Q_CONTROL);
    b.mgmt_write(mgmt::QUEUE_SEL, 1);
    b.mgmt_write(mgmt::Q_RUN, 1);
    assert!(b.dut.q_run[1].val());
    b.set_engine_queue(1, 10, 8, 2);
    b.mmio_write(ctl(1), vendor::Q_CONTROL_STOP);
    assert!(!b.dut.q_run[1].val());
    assert_eq!(b.mmio_read(ctl(1)), vendor::Q_CONTROL_STOP);
    assert_eq!(
        b.drain_events(),
        vec![event(EventKind::VendorQueueControl, 1, 1)]
    );
    assert_eq!(
        b.mmio_read(bar0::VENDOR + vendor::queue_reg(1, vendor::Q_INFLIGHT)),
        2
    );
    // Ring-state writes are refused until the queue has drained.
    let idx = bar0::VENDOR + vendor::queue_reg(1, vendor::Q_LAST_AVAIL_IDX);
    b.mmio_write(idx, 5 | 6 << 16);
    assert!(b.set_idx.is_empty());
    b.set_engine_queue(1, 10, 10, 0);
    assert_eq!(
        b.mmio_read(ctl(1)),
        vendor::Q_CONTROL_STOP | vendor::Q_CONTROL_STOPPED
    );
    assert_eq!(b.mmio_read(idx), 10 | 10 << 16);
    b.mmio_write(idx, 5 | 6 << 16);
    // A 16-bit write of used_idx alone keeps last_avail_idx.
    b.mmio_write_sized(
        bar0::VENDOR + vendor::queue_reg(1, vendor::Q_USED_IDX),
        2,
        7,
    );
    assert_eq!(b.set_idx, vec![(1, 5, 6), (1, 10, 7)]);
    b.mmio_write(ctl(1), 0);
    assert!(b.dut.q_run[1].val());
    assert!(!b.dut.q_run[0].val());
}

#[test]
fn mgmt_ring_index_writes_only_while_not_running() {
    let mut b = Bench::new(24, STALL);
    b.set_engine_queue(0, 3, 4, 0);
    b.mgmt_write(mgmt::QUEUE_SEL, 0);
    assert_eq!(b.mgmt_read(mgmt::Q_LAST_AVAIL_IDX), 3);
    assert_eq!(b.mgmt_read(mgmt::Q_USED_IDX), 4);
    assert_eq!(b.mgmt_read(mgmt::Q_INFLIGHT), 0);
    b.mgmt_write(mgmt::Q_LAST_AVAIL_IDX, 100);
    b.mgmt_write(mgmt::Q_USED_IDX, 90);
    b.mgmt_write(mgmt::Q_RUN, 1);
    b.mgmt_write(mgmt::Q_USED_IDX, 1);
    assert_eq!(b.set_idx, vec![(0, 100, 4), (0, 3, 90)]);
}
