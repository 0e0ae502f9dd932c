//! Malformed rings and chains: each must set its ErrorCause, pulse
//! error_pulse once, stop every DMA of the device (nothing issued from the
//! pulse on) and leave host memory and the disk untouched.

mod engine_common;

use engine_common::*;
use vfpga_abi::blk::req;
use vfpga_abi::ring::{DESC_F_INDIRECT, DESC_F_NEXT, DESC_F_WRITE};
use vfpga_abi::vendor::ErrorCause;
use vfpga_hdl::testbench::{BenchConfig, Buffer};

fn blk() -> Blk {
    Blk::new(BenchConfig::default(), 64)
}

/// Kicks queue `q`, waits for the fault and checks the device stopped.
/// With `pristine`, no byte of host memory or disk may have changed.
fn expect_fault(d: &mut Blk, q: usize, cause: ErrorCause, detail: Option<u32>, pristine: bool) {
    let mem0 = d.b.mem.snapshot();
    let disk0 = d.b.sto.disk.clone();
    d.kick(q);
    assert!(d.b.run_until(20_000, |b| b.e.error.val()), "no fault");
    d.b.run(1500);
    let (err, c, eq, det) = d.b.error();
    assert!(err);
    assert_eq!(ErrorCause::from_u32(c as u32), Some(cause), "cause");
    if cause != ErrorCause::DmaError || eq != 0xff {
        assert_eq!(eq as usize, q, "error queue");
    }
    if let Some(x) = detail {
        assert_eq!(det, x, "error detail");
    }
    assert_eq!(d.b.error_pulses.len(), 1, "one error pulse");
    let t = d.b.error_pulses[0];
    assert!(
        d.b.mem.reads.iter().all(|r| r.cycle < t),
        "read issued after the fault"
    );
    assert!(
        d.b.mem.writes.iter().all(|w| w.cycle < t),
        "write issued after the fault"
    );
    assert!(
        d.b.quiet(),
        "completions not drained / engine not idle: idle {} ({} {} {} {} {}) reads {} writes {} storage {}",
        d.b.e.idle.val(),
        d.b.e.dma.busy.val(),
        d.b.e.avail.busy.val(),
        d.b.e.walker.busy.val(),
        d.b.e.blk.busy.val(),
        d.b.e.used.busy.val(),
        d.b.mem.reads_in_flight(),
        d.b.mem.writes_in_flight(),
        d.b.sto.outstanding()
    );
    if pristine {
        assert!(d.b.mem.snapshot() == mem0, "host memory changed");
        assert!(d.b.sto.disk == disk0, "disk changed");
        assert_eq!(d.vq[q].used_idx(&d.b.mem), 0);
    }
}

fn chain(d: &mut Blk, q: usize, descs: &[(u64, u32, u16, u16)]) {
    for (i, &(a, l, f, n)) in descs.iter().enumerate() {
        d.vq[q].write_desc(&mut d.b.mem, i as u16, a, l, f, n);
    }
    d.vq[q].make_available(&mut d.b.mem, 0);
}

fn hdr_buf(d: &mut Blk, typ: u32) -> u64 {
    let h = d.alloc(16);
    d.b.mem.write(h, &header(typ, 0));
    h
}

#[test]
fn spec_2_7_5_loop_is_chain_too_long() {
    let mut d = blk();
    let h = hdr_buf(&mut d, req::IN);
    chain(
        &mut d,
        0,
        &[(h, 16, DESC_F_NEXT, 1), (h, 16, DESC_F_NEXT, 0)],
    );
    expect_fault(&mut d, 0, ErrorCause::ChainTooLong, Some(0), true);
}

#[test]
fn spec_2_7_5_next_out_of_range() {
    let mut d = blk();
    let h = hdr_buf(&mut d, req::IN);
    chain(&mut d, 1, &[(h, 16, DESC_F_NEXT, 64)]);
    expect_fault(&mut d, 1, ErrorCause::IndexOutOfRange, Some(64), true);
}

#[test]
fn spec_2_7_6_head_out_of_range() {
    let mut d = blk();
    d.vq[0].make_available(&mut d.b.mem, 200);
    expect_fault(&mut d, 0, ErrorCause::IndexOutOfRange, Some(200), true);
}

#[test]
fn spec_2_7_5_3_1_indirect_with_next() {
    let mut d = blk();
    let t = d.alloc(64);
    chain(&mut d, 0, &[(t, 32, DESC_F_INDIRECT | DESC_F_NEXT, 1)]);
    expect_fault(&mut d, 0, ErrorCause::IndirectWithNext, Some(0), true);
}

#[test]
fn spec_2_7_5_3_1_nested_indirect() {
    let mut d = blk();
    let t = d.alloc(64);
    let t2 = d.alloc(64);
    d.b.mem.write_u64(t, t2);
    d.b.mem.write_u32(t + 8, 32);
    d.b.mem.write_u16(t + 12, DESC_F_INDIRECT);
    chain(&mut d, 0, &[(t, 16, DESC_F_INDIRECT, 0)]);
    expect_fault(&mut d, 0, ErrorCause::NestedIndirect, None, true);
}

#[test]
fn spec_2_7_5_3_1_indirect_length_not_whole_descriptors() {
    let mut d = blk();
    let t = d.alloc(64);
    chain(&mut d, 0, &[(t, 24, DESC_F_INDIRECT, 0)]);
    expect_fault(&mut d, 0, ErrorCause::IndirectLength, None, true);
}

#[test]
fn spec_2_7_5_3_1_indirect_length_zero() {
    let mut d = blk();
    let t = d.alloc(64);
    chain(&mut d, 0, &[(t, 0, DESC_F_INDIRECT, 0)]);
    expect_fault(&mut d, 0, ErrorCause::IndirectLength, None, true);
}

#[test]
fn spec_2_7_5_3_indirect_not_negotiated() {
    let mut d = Blk::new(
        BenchConfig {
            indirect: false,
            ..Default::default()
        },
        64,
    );
    let h = hdr_buf(&mut d, req::IN);
    let st = d.alloc(1);
    let t = d.alloc(64);
    let head = d.vq[0].add_indirect(&mut d.b.mem, t, &[Buffer::r(h, 16), Buffer::w(st, 1)]);
    d.vq[0].make_available(&mut d.b.mem, head);
    expect_fault(
        &mut d,
        0,
        ErrorCause::BadRequest,
        Some(vfpga_hdl::vq::walker::DETAIL_INDIRECT_OFF),
        true,
    );
}

#[test]
fn spec_2_7_4_zero_length_chain() {
    let mut d = blk();
    let h = hdr_buf(&mut d, req::IN);
    chain(
        &mut d,
        0,
        &[(h, 0, DESC_F_NEXT, 1), (h, 0, DESC_F_WRITE, 0)],
    );
    expect_fault(&mut d, 0, ErrorCause::ZeroLength, Some(0), true);
}

#[test]
fn spec_2_7_4_2_readable_after_writable() {
    let mut d = blk();
    let h = hdr_buf(&mut d, req::IN);
    let st = d.alloc(1);
    chain(
        &mut d,
        0,
        &[(st, 1, DESC_F_WRITE | DESC_F_NEXT, 1), (h, 16, 0, 0)],
    );
    expect_fault(&mut d, 0, ErrorCause::WriteBeforeRead, Some(1), true);
}

#[test]
fn spec_2_7_4_lengths_overflow_32_bits() {
    let mut d = blk();
    let h = hdr_buf(&mut d, req::IN);
    let st = d.alloc(1);
    chain(
        &mut d,
        0,
        &[(h, 16, DESC_F_NEXT, 1), (st, 0xffff_fff0, DESC_F_WRITE, 0)],
    );
    expect_fault(&mut d, 0, ErrorCause::LengthOverflow, Some(1), true);
}

#[test]
fn spec_2_7_6_avail_index_jump() {
    let mut d = blk();
    d.b.mem.write_u16(d.vq[0].avail + 2, 65);
    expect_fault(&mut d, 0, ErrorCause::AvailIndexJump, Some(65), true);
}

#[test]
fn spec_2_7_queue_size_not_power_of_two() {
    let mut d = blk();
    let v = d.vq[0].clone();
    d.b.configure_raw(0, v.desc, v.avail, v.used, 48);
    d.vq[0].make_available(&mut d.b.mem, 0);
    expect_fault(&mut d, 0, ErrorCause::BadRingAddress, Some(48), true);
}

#[test]
fn spec_2_7_queue_size_above_max() {
    let mut d = blk();
    let v = d.vq[1].clone();
    d.b.configure_raw(1, v.desc, v.avail, v.used, 512);
    expect_fault(&mut d, 1, ErrorCause::BadRingAddress, Some(512), true);
}

#[test]
fn spec_2_7_misaligned_rings() {
    for (dd, aa, uu) in [(8u64, 0u64, 0u64), (0, 1, 0), (0, 0, 2)] {
        let mut d = blk();
        let v = d.vq[0].clone();
        d.b.configure_raw(0, v.desc + dd, v.avail + aa, v.used + uu, 64);
        expect_fault(&mut d, 0, ErrorCause::BadRingAddress, Some(64), true);
    }
}

#[test]
fn spec_5_2_6_no_header_is_bad_request() {
    // First buffer writable; or readable but shorter than the header.
    for first in [(16u32, DESC_F_WRITE), (8, 0)] {
        let mut d = blk();
        let h = hdr_buf(&mut d, req::IN);
        let st = d.alloc(1);
        chain(
            &mut d,
            0,
            &[
                (h, first.0, first.1 | DESC_F_NEXT, 1),
                (st, 1, DESC_F_WRITE, 0),
            ],
        );
        expect_fault(
            &mut d,
            0,
            ErrorCause::BadRequest,
            Some(vfpga_hdl::vq::walker::DETAIL_NO_HEADER),
            true,
        );
    }
}

#[test]
fn spec_5_2_6_no_status_byte_is_bad_request() {
    let mut d = blk();
    let h = hdr_buf(&mut d, req::OUT);
    let b = d.alloc(512);
    chain(&mut d, 0, &[(h, 16, DESC_F_NEXT, 1), (b, 512, 0, 0)]);
    expect_fault(
        &mut d,
        0,
        ErrorCause::BadRequest,
        Some(vfpga_hdl::vq::walker::DETAIL_NO_STATUS),
        true,
    );
}

#[test]
fn spec_5_2_6_more_than_seg_max_is_bad_request() {
    let mut d = Blk::new(BenchConfig::default(), 128);
    let segs = vec![512u32; vfpga_abi::blk::SEG_MAX as usize + 1];
    d.submit(0, req::IN, 0, &segs);
    expect_fault(
        &mut d,
        0,
        ErrorCause::BadRequest,
        Some(vfpga_hdl::vq::walker::DETAIL_TOO_MANY_SEGS),
        true,
    );
}

#[test]
fn dma_error_on_descriptor_table() {
    let mut d = blk();
    let v = d.vq[0].clone();
    // Descriptor table in unmapped memory: the walker's read fails.
    d.b.configure_raw(0, 0x7000_0000, v.avail, v.used, 64);
    d.vq[0].make_available(&mut d.b.mem, 0);
    expect_fault(&mut d, 0, ErrorCause::DmaError, Some(8), true);
    assert_eq!(d.b.e.cnt_dma_errors.val().to_u64(), 1);
}

#[test]
fn dma_error_on_avail_ring() {
    let mut d = blk();
    let v = d.vq[1].clone();
    d.b.configure_raw(1, v.desc, 0x7000_0000, v.used, 64);
    expect_fault(&mut d, 1, ErrorCause::DmaError, Some(0), true);
}

#[test]
fn dma_error_on_data_buffer_stops_the_device() {
    // An OUT whose second data buffer is unmapped: the failed read stops the
    // device before the status byte or the used ring are written.
    let mut d = blk();
    let h = hdr_buf(&mut d, req::OUT);
    let a = d.alloc(512);
    let st = d.alloc(1);
    d.b.mem.write(st, &[0xee]);
    chain(
        &mut d,
        0,
        &[
            (h, 16, DESC_F_NEXT, 1),
            (a, 512, DESC_F_NEXT, 2),
            (0x7100_0000, 512, DESC_F_NEXT, 3),
            (st, 1, DESC_F_WRITE, 0),
        ],
    );
    let mem0 = d.b.mem.snapshot();
    // The blk reader's second data read (tag 16 + reorder slot 1) fails.
    expect_fault(&mut d, 0, ErrorCause::DmaError, Some(17), false);
    assert!(d.b.mem.snapshot() == mem0, "host memory changed");
    assert!(d.b.mem.writes.is_empty());
    // The storage port has no abort: the write already started is finished
    // (its sectors' content is undefined, as for any failed write); nothing
    // outside them changed.
    assert_eq!(d.b.sto.log.len(), 1);
    assert_eq!(d.b.sto.disk[1024..], d.disk0[1024..]);
}

#[test]
fn dma_error_on_a_write_is_reported() {
    // An IN into an unmapped buffer: the posted write's error response
    // stops the device (the write itself changed nothing).
    let mut d = blk();
    let h = hdr_buf(&mut d, req::IN);
    let st = d.alloc(1);
    chain(
        &mut d,
        0,
        &[
            (h, 16, DESC_F_NEXT, 1),
            (0x7200_0000, 512, DESC_F_WRITE | DESC_F_NEXT, 2),
            (st, 1, DESC_F_WRITE, 0),
        ],
    );
    expect_fault(&mut d, 0, ErrorCause::DmaError, Some(0x8000_0000), false);
    assert!(d.b.mem.writes.iter().any(|w| w.error));
}

#[test]
fn faults_after_good_requests_leave_them_complete() {
    let mut d = blk();
    let r = d.submit(0, req::IN, 0, &[512]);
    d.kick(0);
    assert!(d.run_until_used(0, 1, 20_000));
    d.check(&r, 0, vfpga_abi::blk::status::OK);
    // Now a looping chain on the next free descriptors.
    let h = hdr_buf(&mut d, req::IN);
    let n = d.vq[0].next_desc;
    d.vq[0].write_desc(&mut d.b.mem, n, h, 16, DESC_F_NEXT, n);
    d.vq[0].make_available(&mut d.b.mem, n);
    expect_fault(&mut d, 0, ErrorCause::ChainTooLong, Some(n as u32), false);
    assert_eq!(d.vq[0].used_idx(&d.b.mem), 1);
}

#[test]
fn engine_reset_clears_the_fault_and_the_queues() {
    let mut d = blk();
    d.b.mem.write_u16(d.vq[0].avail + 2, 65);
    expect_fault(&mut d, 0, ErrorCause::AvailIndexJump, Some(65), true);
    d.b.engine_reset();
    d.b.run(2);
    assert_eq!(d.b.error(), (false, 0, 0, 0));
    assert_eq!(d.b.e.q_last_avail_0.val().to_u64(), 0);
    // A fresh ring (the driver re-initialises after reset) works again.
    let mut d2 = d;
    d2.b.mem.write_u16(d2.vq[0].avail + 2, 0);
    d2.vq[0].avail_idx = 0;
    let r = d2.submit(0, req::IN, 1, &[1024]);
    d2.kick(0);
    assert!(d2.run_until_used(0, 1, 20_000));
    d2.check(&r, 0, vfpga_abi::blk::status::OK);
}

#[test]
fn no_dma_while_dma_enable_is_low() {
    let mut d = blk();
    d.b.e.dma_enable.next = false;
    let r = d.submit(0, req::IN, 0, &[512]);
    d.kick(0);
    d.b.run(2000);
    assert!(d.b.mem.reads.is_empty() && d.b.mem.writes.is_empty());
    d.b.e.dma_enable.next = true;
    assert!(d.run_until_used(0, 1, 20_000));
    d.check(&r, 0, vfpga_abi::blk::status::OK);
}
