//! The hand-written Verilog of [`Msix`] against its rust-hdl model
//! (`update`), cycle by cycle, in Icarus Verilog. Directed start (reset,
//! program and unmask entries, a queue interrupt, a configuration
//! interrupt), then seeded random table reads and writes with random byte
//! enables, mask and enable changes, engine requests with valid and
//! invalid vectors, ISR read-clears, clears, resets and a stalling sink.
//!
//! The same stimulus is also run against deliberately broken copies of the
//! Verilog, which must mismatch: the comparison cannot pass by not comparing.

mod rtl_common;

use rtl_common::{Trace, fit, have_icarus, mismatches, record, scratch};
use rust_hdl::prelude::*;
use vfpga_hdl::msix::Msix;
use vfpga_hdl::testbench::XorShift;

const INPUTS: [(&str, usize); 15] = [
    ("reset", 1),
    ("msix_enable", 1),
    ("function_mask", 1),
    ("reg_addr", 5),
    ("reg_write", 1),
    ("reg_wdata", 32),
    ("reg_strb", 4),
    ("irq_valid", 1),
    ("irq_queue", 16),
    ("irq_vector", 16),
    ("config_irq", 1),
    ("config_vector", 16),
    ("clear", 1),
    ("isr_read_clear", 1),
    ("msg_ready", 1),
];

const OUTPUTS: [(&str, usize); 10] = [
    ("table_rdata", 32),
    ("pba", 8),
    ("irq_ready", 1),
    ("isr", 2),
    ("msg_valid", 1),
    ("msg_addr", 64),
    ("msg_data", 32),
    ("msg_vector", 16),
    ("interrupts", 64),
    ("busy", 1),
];

/// A quiet cycle: enabled, unmasked function, sink ready, nothing asked.
fn quiet() -> Vec<u128> {
    let mut v = vec![0u128; INPUTS.len()];
    v[1] = 1;
    v[14] = 1;
    v
}

fn write(addr: u128, data: u128) -> Vec<u128> {
    let mut v = quiet();
    v[3] = addr;
    v[4] = 1;
    v[5] = data;
    v[6] = 0xf;
    v
}

fn stimulus(cycles: usize) -> Vec<Vec<u128>> {
    let mut v = Vec::new();
    let mut r = quiet();
    r[0] = 1;
    v.push(r.clone());
    v.push(r);
    // Program entries 0..3 and unmask them; read them back.
    for e in 0..4u128 {
        v.push(write(e * 4, 0xFEE0_0000 | (e << 4)));
        v.push(write(e * 4 + 1, e));
        v.push(write(e * 4 + 2, 0x40 + e));
        v.push(write(e * 4 + 3, 0));
    }
    for a in 0..32u128 {
        let mut q = quiet();
        q[3] = a;
        v.push(q);
    }
    // A queue interrupt on vector 2, then a configuration interrupt on 1.
    let mut q = quiet();
    q[7] = 1;
    q[9] = 2;
    v.push(q);
    v.push(quiet());
    let mut q = quiet();
    q[10] = 1;
    q[11] = 1;
    v.push(q);
    for _ in 0..4 {
        v.push(quiet());
    }
    let mut rng = XorShift::new(0x315);
    let (mut enable, mut fmask, mut ready) = (true, false, 60);
    for i in 0..cycles {
        if i % 500 == 0 {
            enable = rng.chance(85);
            fmask = rng.chance(15);
            ready = 10 + rng.below(90) as u32;
        }
        let mut s = quiet();
        if i % 7919 == 7000 {
            s[0] = 1;
        }
        s[1] = enable.into();
        s[2] = fmask.into();
        s[3] = rng.below(32).into();
        s[4] = rng.chance(8).into();
        // Mostly unmasking writes to the control word, some masking ones.
        s[5] = if s[3] & 3 == 3 {
            rng.chance(30).into()
        } else {
            u128::from(rng.next_u64())
        };
        s[6] = rng.below(16).into();
        s[7] = rng.chance(35).into();
        s[8] = rng.below(4).into();
        s[9] = match rng.below(20) {
            0 => 0xFFFF,
            1 => 8 + u128::from(rng.below(100)),
            _ => rng.below(8).into(),
        };
        s[10] = rng.chance(1).into();
        s[11] = if rng.chance(80) {
            rng.below(8).into()
        } else {
            0xFFFF
        };
        s[12] = rng.chance(1).into();
        s[13] = rng.chance(4).into();
        s[14] = rng.chance(ready).into();
        v.push(s);
    }
    v
}

fn trace(uut: &mut Msix, stim: Vec<Vec<u128>>) -> Trace {
    record(
        uut,
        INPUTS.to_vec(),
        OUTPUTS.to_vec(),
        stim,
        |m, i| {
            m.reset.next = i[0] != 0;
            m.msix_enable.next = i[1] != 0;
            m.function_mask.next = i[2] != 0;
            m.reg_addr.next = fit(i[3], 5).to_bits();
            m.reg_write.next = i[4] != 0;
            m.reg_wdata.next = fit(i[5], 32).to_bits();
            m.reg_strb.next = fit(i[6], 4).to_bits();
            m.irq_valid.next = i[7] != 0;
            m.irq_queue.next = fit(i[8], 16).to_bits();
            m.irq_vector.next = fit(i[9], 16).to_bits();
            m.config_irq.next = i[10] != 0;
            m.config_vector.next = fit(i[11], 16).to_bits();
            m.clear.next = i[12] != 0;
            m.isr_read_clear.next = i[13] != 0;
            m.msg_ready.next = i[14] != 0;
        },
        |m| {
            vec![
                m.table_rdata.val().to_u128(),
                m.pba.val().to_u128(),
                m.irq_ready.val().into(),
                m.isr.val().to_u128(),
                m.msg_valid.val().into(),
                m.msg_addr.val().to_u128(),
                m.msg_data.val().to_u128(),
                m.msg_vector.val().to_u128(),
                m.interrupts.val().to_u128(),
                m.busy.val().into(),
            ]
        },
        |m, clk| m.clock.next = Clock { clk },
    )
}

#[test]
fn msix_verilog_matches_update_cycle_by_cycle() {
    if !have_icarus("msix_verilog_matches_update_cycle_by_cycle") {
        return;
    }
    let mut uut = Msix::default();
    uut.connect_all();
    let t = trace(&mut uut, stimulus(40_000));
    // The stimulus reaches what it is meant to: messages go out, vectors
    // wait pending, configuration and queue ISR bits are seen.
    let sent = t
        .stim
        .iter()
        .zip(&t.want)
        .filter(|(s, o)| s[14] == 1 && o[4] == 1)
        .count();
    let pending_cycles = t.want.iter().filter(|o| o[1] != 0).count();
    let cfg_isr = t.want.iter().filter(|o| o[3] & 2 != 0).count();
    assert!(sent > 1_000, "messages taken: {sent}");
    assert!(
        pending_cycles > 1_000,
        "cycles with a pending bit: {pending_cycles}"
    );
    assert!(cfg_isr > 100, "cycles with ISR bit 1: {cfg_isr}");

    let mut gen_uut = Msix::default();
    gen_uut.connect_all();
    let rtl = generate_verilog(&gen_uut);
    assert_eq!(mismatches(&scratch("msix"), &rtl, &t), 0);

    // Broken copies must be caught: a masked vector not marked pending,
    // and the ISR read-clear losing a bit set in the same cycle.
    for (name, from, to) in [
        (
            "msix_broken_pending",
            "pending[sel] <= 1'b1;",
            "pending[sel] <= 1'b0;",
        ),
        (
            "msix_broken_isr",
            "isr_bits <= (isr_read_clear ? 2'd0 : isr_bits) | (svc_go ? svc_isr : 2'd0);",
            "isr_bits <= isr_read_clear ? 2'd0 : (isr_bits | (svc_go ? svc_isr : 2'd0));",
        ),
    ] {
        let broken = rtl.replace(from, to);
        assert_ne!(broken, rtl, "{name}: mutation not applied");
        assert!(
            mismatches(&scratch(name), &broken, &t) > 0,
            "{name} unnoticed"
        );
    }
}
