//! The control virtqueue (virtio 1.2 §5.1.6.5) through the net engine:
//! commands held for firmware behind `EventKind::NetCtrl`, the ack byte
//! firmware writes, the used element and the notification; malformed
//! chains; the control queue at index 2 without MQ (§5.1.2).

mod net_common;

use net_common::*;
use vfpga_abi::mgmt::net as regs;
use vfpga_abi::mgmt::{Event, EventKind};
use vfpga_abi::net::ctrl;
use vfpga_abi::vendor::ErrorCause;
use vfpga_hdl::testbench::net_bench::NetBenchConfig;

/// Waits for the engine's `count`-th event and checks it is NetCtrl on `q`.
fn wait_event(m: &mut NetMq, count: usize, q: u8) {
    assert!(
        m.b.run_until(200_000, |b| b.events.len() >= count),
        "no NetCtrl event"
    );
    assert_eq!(m.b.events.len(), count, "one command at a time");
    let ev = Event::decode(m.b.events[count - 1].1).expect("event word");
    assert_eq!(ev.kind, EventKind::NetCtrl);
    assert_eq!(ev.queue, q);
}

/// The payload as firmware reads it: `CTRL_DATA` words 0..`words`.
fn read_payload(m: &mut NetMq, words: u32) -> Vec<u8> {
    let mut out = Vec::new();
    for w in 0..words {
        m.b.reg_write(regs::CTRL_DATA_SEL, w);
        m.b.run(2);
        assert_eq!(m.b.reg_read(regs::CTRL_DATA_SEL), w);
        out.extend(m.b.reg_read(regs::CTRL_DATA).to_le_bytes());
    }
    out
}

/// Checks `CTRL_CMD` against a pending command.
fn check_cmd(m: &mut NetMq, class: u8, cmd: u8, len: usize) {
    let v = m.b.reg_read(regs::CTRL_CMD);
    assert_eq!(
        v,
        regs::CTRL_CMD_PENDING | (len as u32) << 16 | (cmd as u32) << 8 | class as u32,
        "CTRL_CMD {v:#x}"
    );
}

/// Acks the pending command with `ack` and checks the chain comes back
/// used with length 1 on `q`, the ack byte written before it (and, unless
/// another command was queued behind it, nothing pending any more).
fn ack_and_check(m: &mut NetMq, q: usize, head: u16, ack_addr: u64, ack: u8, more: bool) {
    let irqs = m.b.irqs.len();
    m.b.reg_write(regs::CTRL_ACK, ack as u32);
    m.b.run(2);
    assert!(m.settle(200_000));
    assert_eq!(m.b.mem.read(ack_addr, 1), vec![ack], "ack byte");
    assert_eq!(m.take_used(q), Some((head as u32, 1)), "used element");
    if !more {
        assert_eq!(m.b.reg_read(regs::CTRL_CMD) & regs::CTRL_CMD_PENDING, 0);
    }
    assert!(
        m.b.irqs[irqs..]
            .iter()
            .any(|i| i.1 == q as u16 && i.2 == q as u16),
        "no notification on the control queue"
    );
    // §2.7.8: the ack byte is in memory before the used element is.
    let w = &m.b.mem.writes;
    let at_ack = w
        .iter()
        .position(|r| r.addr == ack_addr)
        .expect("ack write");
    let at_elem = w
        .iter()
        .rposition(|r| {
            r.addr >= m.q[q].used + 4 && r.addr < m.q[q].used + 4 + 8 * m.q[q].size as u64
        })
        .expect("used write");
    assert!(at_ack < at_elem, "used element written before the ack byte");
}

#[test]
fn spec_5_1_6_5_command_goes_to_firmware_and_its_ack_is_used() {
    let mut m = NetMq::new(NetBenchConfig::default(), 16);
    m.set_queues(2, 4);
    let new_mac = [0x52, 0x54, 0x00, 0xab, 0xcd, 0xef];
    let mut cmd = vec![ctrl::CLASS_MAC, ctrl::MAC_ADDR_SET];
    cmd.extend_from_slice(&new_mac);
    // Class alone, command with half the payload, then the rest (§2.7.4).
    let (head, ack) = m.post_ctrl(4, &cmd, &[1, 5]);
    m.b.kick(4);
    wait_event(&mut m, 1, 4);
    check_cmd(&mut m, ctrl::CLASS_MAC, ctrl::MAC_ADDR_SET, 6);
    let p = read_payload(&mut m, 3);
    assert_eq!(&p[..6], &new_mac);
    assert_eq!(&p[6..], &[0u8; 6], "bytes past the payload read 0");
    // Waiting for firmware holds nothing: the engine is idle, nothing used.
    m.b.run(2_000);
    assert!(m.b.quiet());
    assert_eq!(m.take_used(4), None);
    assert_eq!(m.b.mem.read(ack, 1), vec![0xee]);
    ack_and_check(&mut m, 4, head, ack, ctrl::OK, false);
    // An ack with nothing pending is ignored.
    m.b.reg_write(regs::CTRL_ACK, 0);
    m.b.run(100);
    assert_eq!(m.take_used(4), None);
    assert!(!m.b.error().0);
}

#[test]
fn spec_5_1_6_5_commands_are_served_one_at_a_time() {
    let cfg = NetBenchConfig {
        seed: 5,
        dma_jitter: 30,
        dma_ready_pct: 60,
        ..NetBenchConfig::default()
    };
    let mut m = NetMq::new(cfg, 16);
    // A MAC table of 3 unicast and 14 multicast entries would not fit:
    // 2 + 14 = 16 entries, 8 + 16 * 6 = 104 bytes of payload.
    let mut table = vec![ctrl::CLASS_MAC, ctrl::MAC_TABLE_SET];
    table.extend(2u32.to_le_bytes());
    for i in 0..2u8 {
        table.extend([0x02, 0, 0, 0, 1, i]);
    }
    table.extend(14u32.to_le_bytes());
    for i in 0..14u8 {
        table.extend([0x01, 0, 0x5e, 0, 0, i]);
    }
    assert_eq!(table.len(), 2 + 104);
    let promisc = vec![ctrl::CLASS_RX, ctrl::RX_PROMISC, 1];
    let (h1, a1) = m.post_ctrl(4, &table, &[2, 17, 60, 61]);
    let (h2, a2) = m.post_ctrl(4, &promisc, &[]);
    m.b.kick(4);
    wait_event(&mut m, 1, 4);
    check_cmd(&mut m, ctrl::CLASS_MAC, ctrl::MAC_TABLE_SET, 104);
    assert_eq!(&read_payload(&mut m, 26)[..], &table[2..]);
    // The second command waits for the first one's ack.
    m.b.run(3_000);
    assert_eq!(m.b.events.len(), 1);
    ack_and_check(&mut m, 4, h1, a1, ctrl::ERR, true);
    wait_event(&mut m, 2, 4);
    check_cmd(&mut m, ctrl::CLASS_RX, ctrl::RX_PROMISC, 1);
    assert_eq!(read_payload(&mut m, 1), vec![1, 0, 0, 0]);
    ack_and_check(&mut m, 4, h2, a2, ctrl::OK, false);
    assert!(!m.b.error().0);
}

#[test]
fn spec_5_1_6_5_payload_longer_than_held_reports_its_true_length() {
    let mut m = NetMq::new(NetBenchConfig::default(), 16);
    let mut cmd = vec![ctrl::CLASS_MAC, ctrl::MAC_TABLE_SET];
    cmd.extend((0..300u32).map(|i| (i * 7 + 3) as u8));
    let (head, ack) = m.post_ctrl(4, &cmd, &[3, 100, 250]);
    m.b.kick(4);
    wait_event(&mut m, 1, 4);
    check_cmd(&mut m, ctrl::CLASS_MAC, ctrl::MAC_TABLE_SET, 300);
    let held = regs::CTRL_PAYLOAD_MAX;
    let p = read_payload(&mut m, (held / 4) as u32 + 2);
    assert_eq!(&p[..held], &cmd[2..2 + held], "the payload's first bytes");
    assert_eq!(&p[held..], &[0u8; 8], "bytes past what is held read 0");
    ack_and_check(&mut m, 4, head, ack, ctrl::ERR, false);
    assert!(!m.b.error().0);
}

#[test]
fn spec_5_1_6_5_malformed_control_chain_stops_the_device() {
    // Fewer than 2 readable bytes.
    let mut m = NetMq::new(NetBenchConfig::default(), 16);
    m.post_ctrl(4, &[ctrl::CLASS_RX], &[]);
    m.b.kick(4);
    assert!(m.b.run_until(100_000, |b| b.error().0));
    assert_eq!(
        m.b.error(),
        (true, ErrorCause::BadRequest as u8, 4, 0),
        "no class and command"
    );
    m.b.run(1_000);
    assert!(m.b.events.is_empty());
    assert_eq!(m.take_used(4), None);

    // No writable byte for the ack.
    let mut m = NetMq::new(NetBenchConfig::default(), 16);
    let a = m.alloc(3);
    m.b.mem.write(a, &[ctrl::CLASS_RX, ctrl::RX_PROMISC, 1]);
    let head = m.q[4].add_chain(&mut m.b.mem, &[vfpga_hdl::testbench::Buffer::r(a, 3)]);
    m.q[4].make_available(&mut m.b.mem, head);
    m.b.kick(4);
    assert!(m.b.run_until(100_000, |b| b.error().0));
    assert_eq!(
        m.b.error(),
        (true, ErrorCause::BadRequest as u8, 4, 1),
        "no ack byte"
    );
    m.b.run(1_000);
    assert!(m.b.events.is_empty());
    assert_eq!(m.take_used(4), None);
}

#[test]
fn spec_5_1_2_control_queue_is_queue_2_without_mq() {
    let mut m = NetMq::new(NetBenchConfig::default(), 16);
    m.set_queues(1, 2);
    let cmd = [ctrl::CLASS_RX, ctrl::RX_ALLMULTI, 1];
    let (head, ack) = m.post_ctrl(2, &cmd, &[]);
    m.b.kick(2);
    wait_event(&mut m, 1, 2);
    check_cmd(&mut m, ctrl::CLASS_RX, ctrl::RX_ALLMULTI, 1);
    ack_and_check(&mut m, 2, head, ack, ctrl::OK, false);
    // Queues 3 and 4 are not served in this layout: a chain made available
    // on queue 4 is not fetched.
    m.post_ctrl(4, &cmd, &[]);
    m.b.kick(4);
    m.b.run(5_000);
    assert!(m.b.quiet());
    assert_eq!(m.b.e.q_inflight[4].val().to_u64(), 0);
    assert_eq!(m.b.events.len(), 1);
    // RX and TX of pair 1 work beside it.
    m.post_rx(0, 2048);
    m.b.kick(0);
    assert!(
        m.b.run_until(100_000, |b| b.e.q_inflight[0].val().to_u64() == 1
            && b.quiet()),
        "RX buffer not fetched"
    );
    let f = frame_from(&mut m.rng, [2, 0, 0, 0, 0, 9], MAC, 300);
    m.b.mac_rx.send(&f);
    assert!(m.settle(200_000));
    assert_eq!(m.take_rx_frame(0), Some(f));
    assert!(!m.b.error().0);
}
