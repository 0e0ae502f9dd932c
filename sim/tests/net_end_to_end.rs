//! The net personality end to end in the simulator: the real `vfpga_net`
//! hardware and firmware, rings built in the test, frames through the
//! network ports (loopback, a link between two boards, UDP over
//! 127.0.0.1), on both backends.

mod common;

use common::net::{NetQueues, buffers_for, frame, net_cfg};
use common::{Board, verilator_or_skip_for};
use vfpga_abi::mgmt;
use vfpga_sim::backend::BackendKind;
use vfpga_sim::net::link::link;
use vfpga_sim::net::loopback::LoopbackPort;
use vfpga_sim::net::udp::UdpPort;
use vfpga_sim::net::{MAX_FRAME, NetPort};
use vm_memory::{Bytes, GuestAddress};

/// Cycles a test waits for a frame before it fails.
const FRAME_BUDGET: u64 = 400_000;

fn loopback_board(kind: BackendKind) -> Board {
    Board::net(kind, net_cfg(), Box::new(LoopbackPort::new()))
}

/// §5.1.6.2 / §5.1.6.3.1 / §5.1.6.4: each frame transmitted on transmitq1
/// comes back through the loopback port into receiveq1, whole, behind a
/// header whose num_buffers counts the mergeable buffers it took.
fn loopback_round_trip(kind: BackendKind, sizes: &[usize]) {
    let mut b = loopback_board(kind);
    let mem = b.mem.clone();
    let mut q = NetQueues::new(&mem);
    q.init(&mut b);
    let bufs: u16 = sizes.iter().map(|&l| buffers_for(l)).sum();
    q.post_rx(&mut b, bufs);
    for (i, &len) in sizes.iter().enumerate() {
        let f = frame(len, i as u8);
        q.send(&mut b, &f);
        let mut got = None;
        assert!(
            b.run_until(FRAME_BUDGET, |b| {
                got = got.take().or_else(|| q.next_rx(b));
                got.is_some()
            }),
            "{kind:?}: frame {i} of {len} bytes came back (tx used {}, stats {:?})",
            q.tx_used(&b),
            b.machine.core().net.as_ref().unwrap().stats()
        );
        let (nb, data) = got.unwrap();
        assert_eq!(nb, buffers_for(len), "num_buffers of a {len}-byte frame");
        assert!(data == f, "{kind:?}: frame {i} of {len} bytes intact");
        assert_eq!(q.tx_used(&b), i as u16 + 1, "the TX chain was used");
    }
    let st = b.machine.core().net.as_ref().unwrap().stats();
    let n = sizes.len() as u64;
    let bytes: u64 = sizes.iter().map(|&l| l as u64).sum();
    assert_eq!((st.tx_frames, st.tx_bytes), (n, bytes));
    assert_eq!((st.rx_frames, st.rx_bytes, st.rx_to_hw), (n, bytes, n));
    assert_eq!(st.rx_fifo_drops + st.tx_errors + st.tx_oversize, 0);
    assert_eq!(b.machine.mgmt_read(mgmt::net::RX_FRAMES), n as u32);
    assert_eq!(b.machine.mgmt_read(mgmt::net::TX_FRAMES), n as u32);
}

#[test]
fn spec_5_1_6_loopback_frames_return_with_num_buffers_rust_hdl() {
    // rust-hdl is slow: one frame in one buffer, one over two.
    loopback_round_trip(BackendKind::RustHdl, &[60, 2100]);
}

#[test]
fn spec_5_1_6_loopback_frames_return_with_num_buffers_verilator() {
    if !verilator_or_skip_for(
        vfpga_abi::Personality::Net,
        "spec_5_1_6_loopback_frames_return_with_num_buffers_verilator",
    ) {
        return;
    }
    loopback_round_trip(
        BackendKind::Verilator,
        &[60, 64, 1514, 2036, 2037, 4000, MAX_FRAME],
    );
}

/// §5.1.6.3.1 (a device drops what it has no buffer for): frames that
/// arrive while no RX buffer is posted are dropped and counted by the
/// hardware (RX_DROP_NOBUF), nothing hangs, and once buffers are posted
/// the next frame is delivered.
#[test]
fn spec_5_1_6_3_frames_without_rx_buffers_are_dropped_and_counted() {
    let kind = BackendKind::default_for(vfpga_abi::Personality::Net);
    let mut b = loopback_board(kind);
    let mem = b.mem.clone();
    let mut q = NetQueues::new(&mem);
    q.init(&mut b);
    for i in 0..3 {
        q.send(&mut b, &frame(100, i));
    }
    assert!(
        b.run_until(FRAME_BUDGET, |b| q.tx_used(b) == 3
            && b.machine.core().models_quiet()
            && b.machine.is_idle()),
        "the three frames went out and the board went idle ({:?})",
        b.machine.busy_reason()
    );
    assert_eq!(b.machine.mgmt_read(mgmt::net::RX_DROP_NOBUF), 3);
    assert_eq!(b.machine.mgmt_read(mgmt::net::RX_FRAMES), 0);
    let st = b.machine.core().net.as_ref().unwrap().stats();
    assert_eq!((st.tx_frames, st.rx_to_hw), (3, 3));
    assert_eq!(q.rx_used(&b), 0);

    q.post_rx(&mut b, 1);
    let f = frame(200, 9);
    q.send(&mut b, &f);
    let mut got = None;
    assert!(b.run_until(FRAME_BUDGET, |b| {
        got = got.take().or_else(|| q.next_rx(b));
        got.is_some()
    }));
    assert_eq!(got, Some((1, f)));
    assert_eq!(b.machine.mgmt_read(mgmt::net::RX_DROP_NOBUF), 3);
}

/// Two boards wired by `port_a`/`port_b`, clocked in turn from this
/// thread: frames from A arrive at B and from B at A.
fn two_boards(port_a: Box<dyn NetPort>, port_b: Box<dyn NetPort>) {
    let kind = BackendKind::default_for(vfpga_abi::Personality::Net);
    let mut a = Board::net(kind, net_cfg(), port_a);
    let mut b = Board::net(kind, net_cfg(), port_b);
    let (ma, mb) = (a.mem.clone(), b.mem.clone());
    let mut qa = NetQueues::new(&ma);
    let mut qb = NetQueues::new(&mb);
    qa.init(&mut a);
    qb.init(&mut b);
    qa.post_rx(&mut a, 8);
    qb.post_rx(&mut b, 8);
    for (i, len) in [60usize, 1514, 3000].into_iter().enumerate() {
        let fa = frame(len, 2 * i as u8);
        let fb = frame(len + 1, 2 * i as u8 + 1);
        qa.send(&mut a, &fa);
        qb.send(&mut b, &fb);
        let (mut got_a, mut got_b) = (None, None);
        for _ in 0..FRAME_BUDGET {
            a.machine.step();
            b.machine.step();
            got_b = got_b.take().or_else(|| qb.next_rx(&b));
            got_a = got_a.take().or_else(|| qa.next_rx(&a));
            if got_a.is_some() && got_b.is_some() {
                break;
            }
        }
        assert_eq!(got_b.map(|g| g.1), Some(fa), "A's frame {i} reached B");
        assert_eq!(got_a.map(|g| g.1), Some(fb), "B's frame {i} reached A");
    }
    for x in [&a, &b] {
        let st = x.machine.core().net.as_ref().unwrap().stats();
        assert_eq!((st.tx_frames, st.rx_frames, st.rx_to_hw), (3, 3, 3));
    }
}

#[test]
fn two_devices_on_a_link_exchange_frames() {
    let (pa, pb) = link().unwrap();
    two_boards(Box::new(pa), Box::new(pb));
}

#[test]
fn two_devices_over_udp_on_127_0_0_1_exchange_frames() {
    // Bind both on port 0 first to learn two free ports, then connect.
    let sa = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let sb = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let (la, lb) = (sa.local_addr().unwrap(), sb.local_addr().unwrap());
    drop((sa, sb));
    let pa = UdpPort::open(la, lb).unwrap();
    let pb = UdpPort::open(lb, la).unwrap();
    two_boards(Box::new(pa), Box::new(pb));
}

/// §5.1.6.3.1 / §5.1.6.4: a frame longer than the buffers posted waits
/// for more; the board reports it is waiting on the driver (so a sleeping
/// clock does not spin), publishes nothing of the frame meanwhile, and
/// delivers it whole once buffers are posted.
#[test]
fn spec_5_1_6_4_frame_waits_for_more_rx_buffers_then_arrives_whole() {
    let kind = BackendKind::default_for(vfpga_abi::Personality::Net);
    let mut b = loopback_board(kind);
    let mem = b.mem.clone();
    let mut q = NetQueues::new(&mem);
    q.init(&mut b);
    q.post_rx(&mut b, 1);
    let f = frame(5000, 7);
    q.send(&mut b, &f);
    assert!(
        b.run_until(FRAME_BUDGET, |b| b.machine.waiting_for_rx_buffers()),
        "the frame waits for buffers ({:?})",
        b.machine.busy_reason()
    );
    assert_eq!(q.tx_used(&b), 1);
    assert_eq!(q.rx_used(&b), 0, "no part of the frame is published");
    q.post_rx(&mut b, buffers_for(5000) - 1);
    let mut got = None;
    assert!(b.run_until(FRAME_BUDGET, |b| {
        got = got.take().or_else(|| q.next_rx(b));
        got.is_some()
    }));
    assert_eq!(got, Some((buffers_for(5000), f)));
    assert!(!b.machine.waiting_for_rx_buffers());
}

/// A function-level reset keeps the wire: the port and its counters
/// survive, and the re-initialised device sends and receives again.
#[test]
fn function_reset_keeps_the_port_and_its_counters() {
    let kind = BackendKind::default_for(vfpga_abi::Personality::Net);
    let mut b = loopback_board(kind);
    let round_trip = |b: &mut Board, seed: u8| {
        // Fresh rings (the old ones' indices mean nothing after a reset).
        for base in [common::net::RXQ_BASE, common::net::TXQ_BASE] {
            b.mem
                .write_slice(&[0u8; 0x2000], GuestAddress(base))
                .unwrap();
        }
        let mem = b.mem.clone();
        let mut q = NetQueues::new(&mem);
        q.init(b);
        q.post_rx(b, 1);
        let f = frame(300, seed);
        q.send(b, &f);
        let mut got = None;
        assert!(b.run_until(FRAME_BUDGET, |b| {
            got = got.take().or_else(|| q.next_rx(b));
            got.is_some()
        }));
        assert_eq!(got, Some((1, f)));
    };
    round_trip(&mut b, 1);
    let m = b.machine;
    b.machine = m.reset().unwrap();
    round_trip(&mut b, 2);
    let st = b.machine.core().net.as_ref().unwrap().stats();
    assert_eq!((st.tx_frames, st.rx_frames, st.rx_to_hw), (2, 2, 2));
}

/// §2.4.1 (device reset) with a frame half written: the frame waits for RX
/// buffers that will never come, and the driver resets the device. The RX
/// stage abandons the frame once its queue stops, so the engine drains and
/// the reset completes (device_status reads 0) instead of hanging.
#[test]
fn spec_2_4_1_reset_completes_while_a_frame_waits_for_rx_buffers() {
    let kind = BackendKind::default_for(vfpga_abi::Personality::Net);
    let mut b = loopback_board(kind);
    let mem = b.mem.clone();
    let mut q = NetQueues::new(&mem);
    q.init(&mut b);
    q.post_rx(&mut b, 1);
    q.send(&mut b, &frame(5000, 9));
    assert!(
        b.run_until(FRAME_BUDGET, |b| b.machine.waiting_for_rx_buffers()),
        "the frame waits for buffers ({:?})",
        b.machine.busy_reason()
    );
    let status = vfpga_abi::bar0::COMMON_CFG + vfpga_abi::common_cfg::DEVICE_STATUS;
    b.write(status, 1, 0);
    assert!(
        b.run_until(1_000_000, |b| b.read(status, 1) == 0),
        "the reset completes ({:?})",
        b.machine.busy_reason()
    );
    assert_eq!(
        q.rx_used(&b),
        0,
        "no part of the abandoned frame is published"
    );
}

/// §5.1.6.4 with a driver that re-posts each RX buffer as soon as it has
/// read the frame in it: frames arrive back to back, faster than a
/// re-posted buffer travels (kick, avail fetch, descriptor walk). A frame
/// that finds no buffer known to the device waits a bounded time for one
/// instead of being dropped, so every frame arrives and none is counted
/// as dropped.
#[test]
fn spec_5_1_6_4_frames_wait_for_reposted_rx_buffers() {
    let kind = BackendKind::default_for(vfpga_abi::Personality::Net);
    let mut b = loopback_board(kind);
    let mem = b.mem.clone();
    let mut q = NetQueues::new(&mem);
    q.init(&mut b);
    q.post_rx(&mut b, 4);
    let frames: Vec<Vec<u8>> = (0..24).map(|i| frame(64, i)).collect();
    assert_eq!(send_and_receive(&mut b, &mut q, &frames, true), frames);
    assert_eq!(b.machine.mgmt_read(mgmt::net::RX_DROP_NOBUF), 0);
}

/// §5.1.6.3 (a driver keeps its receive queue as full as it can): with
/// every one of receiveq1's 256 entries posted, transmitq1 still runs, as
/// Linux fills its receive ring to the brim and refills it after each NAPI
/// poll. Between two guests, TX kicks once waited for the next received
/// frame (docs/qemu.md); this is the plain case of a full ring, which the
/// hardware has to keep serving TX through.
#[test]
fn spec_5_1_6_3_a_full_receive_ring_does_not_hold_up_transmit() {
    let kind = BackendKind::default_for(vfpga_abi::Personality::Net);
    let mut b = loopback_board(kind);
    let mem = b.mem.clone();
    let mut q = NetQueues::with_rx_size(&mem, 256);
    q.init(&mut b);
    q.post_rx(&mut b, 256);
    let frames: Vec<Vec<u8>> = (0..8).map(|i| frame(1500, i)).collect();
    assert_eq!(send_and_receive(&mut b, &mut q, &frames, false), frames);
}

/// Sends `frames` on transmitq1 and gathers them from receiveq1 as they
/// come back through the loopback port, re-posting a buffer for each one
/// when `repost`; fails unless all arrive within the frame budget.
fn send_and_receive(
    b: &mut Board,
    q: &mut NetQueues<'_>,
    frames: &[Vec<u8>],
    repost: bool,
) -> Vec<Vec<u8>> {
    for f in frames {
        q.send(b, f);
    }
    let mut got = Vec::new();
    let all = b.run_until(FRAME_BUDGET, |b| {
        while let Some((_, f)) = q.next_rx(b) {
            got.push(f);
            if repost {
                q.post_rx(b, 1);
            }
        }
        got.len() == frames.len()
    });
    assert!(
        all,
        "{} of {} frames arrived (tx used {}, {:?}, {} dropped, first missing {:?})",
        got.len(),
        frames.len(),
        q.tx_used(b),
        b.machine.busy_reason(),
        b.machine.mgmt_read(mgmt::net::RX_DROP_NOBUF),
        frames.iter().position(|f| !got.contains(f)),
    );
    got
}
