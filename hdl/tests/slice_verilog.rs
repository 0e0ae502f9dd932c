//! The hand-written Verilog of [`RegSlice`] against its rust-hdl model
//! (`update`), cycle by cycle, in Icarus Verilog: directed cases (stall into
//! the skid register, a refused third beat, clear while full, clear with a
//! beat offered, data without valid) then seeded random valid, ready and
//! clear in phases of different pressure.
//!
//! The same stimulus is also run against a deliberately broken copy of the
//! Verilog, which must mismatch: the comparison cannot pass by not comparing.

mod rtl_common;

use rtl_common::{Trace, fit, have_icarus, mismatches, record, scratch};
use rust_hdl::prelude::*;
use vfpga_hdl::slice::RegSlice;
use vfpga_hdl::testbench::XorShift;

/// Payload width: odd and wider than 64 bits, so a partial top word and a
/// word boundary are both exercised.
const W: usize = 67;

/// Inputs per cycle: clear, in_valid, out_ready, in_data.
fn stimulus(cycles: usize) -> Vec<Vec<u128>> {
    let s = |clear: u128, v: u128, r: u128, d: u128| vec![clear, v, r, fit(d, W)];
    let mut v = vec![
        // Idle, then one beat through with the far side ready.
        s(0, 0, 1, 0x11),
        s(0, 1, 1, 0x1_2345_6789_abcd_ef01_2345),
        s(0, 0, 1, 0x22),
        // Stall: fill main, then skid, then offer a third (refused).
        s(0, 1, 0, 0xa1),
        s(0, 1, 0, 0xa2),
        s(0, 1, 0, 0xa3),
        s(0, 0, 0, 0),
        // Drain one per cycle while offering more.
        s(0, 1, 1, 0xb1),
        s(0, 1, 1, 0xb2),
        s(0, 0, 1, 0),
        s(0, 0, 1, 0),
        // Clear while full (main and skid), with a beat offered.
        s(0, 1, 0, 0xc1),
        s(0, 1, 0, 0xc2),
        s(1, 1, 0, 0xc3),
        s(0, 0, 1, 0),
        // Clear in the cycle a beat would be taken into main.
        s(1, 1, 1, 0xd1),
        s(0, 0, 1, 0),
        // Data offered without valid must not show up.
        s(0, 0, 1, u128::MAX),
        s(0, 0, 1, 0),
    ];
    let mut rng = XorShift::new(0x5eed_51ce);
    let (mut offer, mut take) = (70, 60);
    for i in 0..cycles {
        if i % 997 == 0 {
            offer = 20 + rng.below(80) as u32;
            take = 20 + rng.below(80) as u32;
        }
        let d = (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64());
        v.push(s(
            rng.chance(1).into(),
            rng.chance(offer).into(),
            rng.chance(take).into(),
            d,
        ));
    }
    v
}

fn trace(uut: &mut RegSlice<W>, stim: Vec<Vec<u128>>) -> Trace {
    record(
        uut,
        vec![
            ("clear", 1),
            ("in_valid", 1),
            ("out_ready", 1),
            ("in_data", W),
        ],
        vec![
            ("in_ready", 1),
            ("out_valid", 1),
            ("empty", 1),
            ("out_data", W),
        ],
        stim,
        |s, i| {
            s.clear.next = i[0] != 0;
            s.in_valid.next = i[1] != 0;
            s.out_ready.next = i[2] != 0;
            s.in_data.next = i[3].to_bits();
        },
        |s| {
            vec![
                s.in_ready.val().into(),
                s.out_valid.val().into(),
                s.empty.val().into(),
                s.out_data.val().to_u128(),
            ]
        },
        |s, clk| s.clock.next = Clock { clk },
    )
}

#[test]
fn slice_verilog_matches_update_cycle_by_cycle() {
    if !have_icarus("slice_verilog_matches_update_cycle_by_cycle") {
        return;
    }
    let mut uut: RegSlice<W> = RegSlice::default();
    uut.connect_all();
    let t = trace(&mut uut, stimulus(30_000));
    // The stimulus does what it is meant to: many beats pass, the skid
    // register is often full, clears hit a full slice.
    let taken = t
        .stim
        .iter()
        .zip(&t.want)
        .filter(|(s, o)| s[2] == 1 && o[1] == 1)
        .count();
    let skid_full = t.want.iter().filter(|o| o[0] == 0).count();
    let clear_full = t
        .stim
        .iter()
        .zip(&t.want)
        .filter(|(s, o)| s[0] == 1 && o[2] == 0)
        .count();
    assert!(taken > 5_000, "beats taken: {taken}");
    assert!(skid_full > 1_000, "cycles with the skid full: {skid_full}");
    assert!(clear_full > 50, "clears of a non-empty slice: {clear_full}");

    let mut gen_uut: RegSlice<W> = RegSlice::default();
    gen_uut.connect_all();
    let rtl = generate_verilog(&gen_uut);
    assert_eq!(mismatches(&scratch("slice"), &rtl, &t), 0);

    // A broken copy (the skid register drops its low bit) must be caught.
    let broken = rtl.replace("skid_data <= in_data;", "skid_data <= in_data >> 1;");
    assert_ne!(broken, rtl, "mutation not applied");
    assert!(mismatches(&scratch("slice_broken"), &broken, &t) > 0);
}
