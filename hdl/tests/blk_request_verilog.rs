//! The hand-written Verilog of [`BlkRequest`] against its rust-hdl model
//! (`update`), cycle by cycle, in Icarus Verilog. Directed phases first
//! (4 KiB IN reads streaming with every handshake ready, GET_ID, OUT writes
//! parked on their storage completions, FLUSH, a bad range, an unknown
//! type, a halt with a write in flight), then seeded random stimulus with
//! request types, lengths, buffer sizes and addresses biased toward
//! meaningful values, random stalls on every channel, resets and halts.
//!
//! The same stimulus is also run against deliberately broken copies of the
//! Verilog, which must mismatch: the comparison cannot pass by not comparing.

mod rtl_common;

use rtl_common::{Trace, fit, have_icarus, mismatches, scratch};
use rust_hdl::prelude::*;
use vfpga_hdl::blk::BlkRequest;
use vfpga_hdl::testbench::XorShift;

const INPUTS: [(&str, usize); 25] = [
    ("reset", 1),
    ("halt", 1),
    ("capacity", 64),
    ("chain_valid", 1),
    ("chain_queue", 1),
    ("chain_head", 16),
    ("chain_rlen", 32),
    ("chain_wlen", 32),
    ("chain_hdr", 128),
    ("seg_valid", 1),
    ("seg_addr", 64),
    ("seg_len", 32),
    ("done_room", 8),
    ("rd_ready", 1),
    ("cpl_sub", 3),
    ("cpl_valid", 1),
    ("cpl_data", 128),
    ("wr_ready", 1),
    ("cmd_ready", 1),
    ("wdata_ready", 1),
    ("rdata_valid", 1),
    ("rdata_data", 128),
    ("scpl_valid", 1),
    ("scpl_status", 8),
    ("scpl_tag", 5),
];

const OUTPUTS: [(&str, usize); 32] = [
    ("chain_pop", 1),
    ("seg_pop", 1),
    ("done_push", 1),
    ("done_queue", 1),
    ("done_head", 16),
    ("done_len", 32),
    ("rd_valid", 1),
    ("rd_addr", 64),
    ("rd_len", 13),
    ("rd_sub", 3),
    ("cpl_ready", 1),
    ("wr_valid", 1),
    ("wr_addr", 64),
    ("wr_len", 13),
    ("wr_data", 128),
    ("wr_last", 1),
    ("cmd_valid", 1),
    ("cmd_tag", 5),
    ("cmd_op", 2),
    ("cmd_sector", 64),
    ("cmd_len", 32),
    ("wdata_valid", 1),
    ("wdata_tag", 5),
    ("wdata_data", 128),
    ("wdata_last", 1),
    ("rdata_ready", 1),
    ("scpl_ready", 1),
    ("busy", 1),
    ("storage_busy", 1),
    ("cur_queue", 1),
    ("cnt_read", 13),
    ("cnt_written", 13),
];

// Input indices.
const RESET: usize = 0;
const HALT: usize = 1;
const CAPACITY: usize = 2;
const CHAIN_VALID: usize = 3;
const CHAIN_QUEUE: usize = 4;
const CHAIN_HEAD: usize = 5;
const CHAIN_RLEN: usize = 6;
const CHAIN_WLEN: usize = 7;
const CHAIN_HDR: usize = 8;
const SEG_VALID: usize = 9;
const SEG_ADDR: usize = 10;
const SEG_LEN: usize = 11;
const DONE_ROOM: usize = 12;
const RD_READY: usize = 13;
const CPL_SUB: usize = 14;
const CPL_VALID: usize = 15;
const CPL_DATA: usize = 16;
const WR_READY: usize = 17;
const CMD_READY: usize = 18;
const WDATA_READY: usize = 19;
const RDATA_VALID: usize = 20;
const RDATA_DATA: usize = 21;
const SCPL_VALID: usize = 22;
const SCPL_STATUS: usize = 23;
const SCPL_TAG: usize = 24;

// Output indices used by the coverage counts.
const O_DONE_PUSH: usize = 2;
const O_DONE_LEN: usize = 5;
const O_RD_VALID: usize = 6;
const O_RD_LEN: usize = 8;
const O_RD_SUB: usize = 9;
const O_CPL_READY: usize = 10;
const O_WR_VALID: usize = 11;
const O_WR_LEN: usize = 13;
const O_CMD_VALID: usize = 16;
const O_CMD_TAG: usize = 17;
const O_CMD_OP: usize = 18;
const O_WDATA_VALID: usize = 21;
const O_RDATA_READY: usize = 25;
const O_SCPL_READY: usize = 26;
const O_BUSY: usize = 27;

/// A request header: type, reserved, sector.
fn hdr(typ: u32, sector: u64) -> u128 {
    u128::from(typ) | (u128::from(sector) << 64)
}

/// Every handshake ready, a chain and a segment offered.
fn ready(typ: u32, rlen: u32, wlen: u32, seg_addr: u64, seg_len: u32) -> Vec<u128> {
    let mut v = vec![0u128; INPUTS.len()];
    v[CAPACITY] = 1 << 20;
    v[CHAIN_VALID] = 1;
    v[CHAIN_HEAD] = 0x42;
    v[CHAIN_RLEN] = rlen.into();
    v[CHAIN_WLEN] = wlen.into();
    v[CHAIN_HDR] = hdr(typ, 8);
    v[SEG_VALID] = 1;
    v[SEG_ADDR] = seg_addr.into();
    v[SEG_LEN] = seg_len.into();
    v[DONE_ROOM] = 4;
    v[RD_READY] = 1;
    v[WR_READY] = 1;
    v[CMD_READY] = 1;
    v[WDATA_READY] = 1;
    v[RDATA_VALID] = 1;
    v[RDATA_DATA] = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210;
    v
}

fn word(rng: &mut XorShift) -> u128 {
    (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64())
}

/// Directed phases.
fn directed() -> Vec<Vec<u128>> {
    let mut v = Vec::new();
    let mut r = ready(0, 16, 1, 0, 0);
    r[RESET] = 1;
    r[CHAIN_VALID] = 0;
    v.push(r);
    // 4 KiB IN reads, page-aligned 4 KiB buffers, storage completing at once.
    for i in 0..1_200u64 {
        let mut s = ready(0, 16, 4097, 0x1_0000 + (i % 3) * 0x1000, 4096);
        s[RDATA_DATA] ^= u128::from(i);
        s[SCPL_VALID] = 1;
        v.push(s);
    }
    // GET_ID into small buffers.
    for _ in 0..200 {
        v.push(ready(8, 16, 21, 0x2_0003, 7));
    }
    // OUT writes (parked on tags 1..4), completions for rotating tags.
    for i in 0..1_500u64 {
        let mut s = ready(1, 16 + 1024, 1, 0x3_0000 + (i % 5) * 0x10, 700);
        s[CPL_VALID] = 1;
        s[CPL_SUB] = (i % 8).into();
        s[CPL_DATA] = u128::from(i) * 0x1_0001;
        s[SCPL_VALID] = u128::from(i % 3 == 0);
        s[SCPL_TAG] = (1 + i % 4).into();
        v.push(s);
    }
    // FLUSH, a range past the capacity, an unknown type.
    for (typ, sector) in [(4, 0), (0, 1 << 30), (7, 0)] {
        for i in 0..200u64 {
            let mut s = ready(typ, 16, 513, 0x4_0000, 600);
            s[CHAIN_HDR] = hdr(typ, sector);
            s[SCPL_VALID] = u128::from(i % 5 == 0);
            s[SCPL_TAG] = (1 + i % 4).into();
            v.push(s);
        }
    }
    // A halt with an OUT write in flight, then reset.
    for i in 0..300 {
        let mut s = ready(1, 16 + 2048, 1, 0x5_0000, 4096);
        s[HALT] = u128::from(i >= 40);
        s[RESET] = u128::from(i == 299);
        s[WDATA_READY] = u128::from(i % 2 == 0);
        v.push(s);
    }

    v
}

/// What the random stimulus knows of the traffic so far: reads in flight
/// (reorder slot, beats still to come) and parked storage tags issued.
#[derive(Default)]
struct Traffic {
    reads: Vec<(u64, u64)>,
    tags: Vec<u64>,
}

impl Traffic {
    /// Follows this cycle's handshakes.
    fn observe(&mut self, s: &[u128], o: &[u128]) {
        if s[RESET] == 1 {
            *self = Traffic::default();
            return;
        }
        if o[O_RD_VALID] == 1 && s[RD_READY] == 1 {
            self.reads
                .push((o[O_RD_SUB] as u64, (o[O_RD_LEN] as u64).div_ceil(16)));
        }
        if s[CPL_VALID] == 1
            && o[O_CPL_READY] == 1
            && let Some(k) = self
                .reads
                .iter()
                .position(|r| u128::from(r.0) == s[CPL_SUB])
        {
            self.reads[k].1 -= 1;
            if self.reads[k].1 == 0 {
                self.reads.remove(k);
            }
        }
        if o[O_CMD_VALID] == 1 && s[CMD_READY] == 1 && o[O_CMD_TAG] != 0 {
            self.tags.push(o[O_CMD_TAG] as u64);
        }
        if s[SCPL_VALID] == 1
            && o[O_SCPL_READY] == 1
            && s[SCPL_TAG] != 0
            && let Some(k) = self.tags.iter().position(|&t| u128::from(t) == s[SCPL_TAG])
        {
            self.tags.remove(k);
        }
    }
}

/// One cycle of seeded random inputs.
fn random_cycle(rng: &mut XorShift, p: &[u32; 8], i: usize, tr: &Traffic) -> Vec<u128> {
    let mut s = vec![0u128; INPUTS.len()];
    s[RESET] = u128::from(i % 4_003 == 4_000);
    s[HALT] = u128::from(rng.below(30_000) == 0);
    s[CAPACITY] = if rng.chance(90) {
        1 << 20
    } else {
        rng.below(64).into()
    };
    s[CHAIN_VALID] = rng.chance(p[0]).into();
    s[CHAIN_QUEUE] = rng.below(2).into();
    s[CHAIN_HEAD] = rng.below(0x1_0000).into();
    let typ = match rng.below(20) {
        0..=7 => 0,
        8..=13 => 1,
        14..=15 => 4,
        16..=17 => 8,
        18 => rng.below(16) as u32,
        _ => rng.next_u64() as u32,
    };
    let sector = if rng.chance(90) {
        rng.below(2_000)
    } else {
        rng.next_u64()
    };
    s[CHAIN_HDR] = hdr(typ, sector) | (u128::from(rng.next_u64() as u32) << 32);
    let sectors = u128::from(rng.below(5));
    s[CHAIN_RLEN] = if rng.chance(85) {
        16 + 512 * sectors
    } else {
        // At least the header: fewer would make the request skip ~4 GiB.
        (16 + rng.below(3_000)).into()
    };
    s[CHAIN_WLEN] = if rng.chance(85) {
        1 + 512 * sectors
    } else {
        (1 + rng.below(3_000)).into()
    };
    s[SEG_VALID] = rng.chance(p[1]).into();
    s[SEG_ADDR] = match rng.below(4) {
        0 => rng.below(1 << 20) << 12,
        1 => (rng.below(1 << 20) << 12) | 0xff0,
        2 => rng.next_u64(),
        _ => rng.below(1 << 30),
    }
    .into();
    s[SEG_LEN] = match rng.below(6) {
        0 => 1 + rng.below(20),
        1 => 512,
        2 => 4096,
        3 => 1 + rng.below(5_000),
        4 => 16,
        _ => rng.below(1 << 13),
    }
    .into();
    s[DONE_ROOM] = if rng.chance(80) {
        1 + rng.below(255)
    } else {
        0
    }
    .into();
    s[RD_READY] = rng.chance(p[2]).into();
    // Completions for the reads in flight (oldest first, mostly), and
    // rarely one for no read.
    if let Some(&(sub, _)) = if rng.chance(70) {
        tr.reads.first()
    } else {
        tr.reads
            .get(rng.below(tr.reads.len().max(1) as u64) as usize)
    } {
        s[CPL_VALID] = rng.chance(p[3]).into();
        s[CPL_SUB] = sub.into();
    } else {
        s[CPL_VALID] = u128::from(rng.below(200) == 0);
        s[CPL_SUB] = rng.below(8).into();
    }
    s[CPL_DATA] = word(rng);
    s[WR_READY] = rng.chance(p[4]).into();
    s[CMD_READY] = rng.chance(p[5]).into();
    s[WDATA_READY] = rng.chance(p[6]).into();
    s[RDATA_VALID] = rng.chance(p[7]).into();
    s[RDATA_DATA] = word(rng);
    s[SCPL_VALID] = rng.chance(30).into();
    s[SCPL_STATUS] = if rng.chance(80) {
        0
    } else {
        rng.below(256).into()
    };
    // Completions of parked commands that were issued; rarely a tag
    // nothing waits for.
    s[SCPL_TAG] = if rng.chance(50) {
        0
    } else if !tr.tags.is_empty() && rng.chance(97) {
        tr.tags[rng.below(tr.tags.len() as u64) as usize].into()
    } else {
        rng.below(32).into()
    };
    s
}

fn apply(b: &mut BlkRequest, i: &[u128]) {
    b.reset.next = i[RESET] != 0;
    b.halt.next = i[HALT] != 0;
    b.capacity.next = (i[CAPACITY] as u64).to_bits();
    b.chain_valid.next = i[CHAIN_VALID] != 0;
    b.chain_queue.next = fit(i[CHAIN_QUEUE], 1).to_bits();
    b.chain_head.next = fit(i[CHAIN_HEAD], 16).to_bits();
    b.chain_rlen.next = fit(i[CHAIN_RLEN], 32).to_bits();
    b.chain_wlen.next = fit(i[CHAIN_WLEN], 32).to_bits();
    b.chain_hdr.next = i[CHAIN_HDR].to_bits();
    b.seg_valid.next = i[SEG_VALID] != 0;
    b.seg_addr.next = fit(i[SEG_ADDR], 64).to_bits();
    b.seg_len.next = fit(i[SEG_LEN], 32).to_bits();
    b.done_room.next = fit(i[DONE_ROOM], 8).to_bits();
    b.rd_ready.next = i[RD_READY] != 0;
    b.cpl_sub.next = fit(i[CPL_SUB], 3).to_bits();
    b.cpl_valid.next = i[CPL_VALID] != 0;
    b.cpl_data.next = i[CPL_DATA].to_bits();
    b.wr_ready.next = i[WR_READY] != 0;
    b.cmd_ready.next = i[CMD_READY] != 0;
    b.wdata_ready.next = i[WDATA_READY] != 0;
    b.rdata_valid.next = i[RDATA_VALID] != 0;
    b.rdata_data.next = i[RDATA_DATA].to_bits();
    b.scpl_valid.next = i[SCPL_VALID] != 0;
    b.scpl_status.next = fit(i[SCPL_STATUS], 8).to_bits();
    b.scpl_tag.next = fit(i[SCPL_TAG], 5).to_bits();
}

fn sample(b: &BlkRequest) -> Vec<u128> {
    vec![
        b.chain_pop.val().into(),
        b.seg_pop.val().into(),
        b.done_push.val().into(),
        b.done_queue.val().to_u128(),
        b.done_head.val().to_u128(),
        b.done_len.val().to_u128(),
        b.rd_valid.val().into(),
        b.rd_addr.val().to_u128(),
        b.rd_len.val().to_u128(),
        b.rd_sub.val().to_u128(),
        b.cpl_ready.val().into(),
        b.wr_valid.val().into(),
        b.wr_addr.val().to_u128(),
        b.wr_len.val().to_u128(),
        b.wr_data.val().to_u128(),
        b.wr_last.val().into(),
        b.cmd_valid.val().into(),
        b.cmd_tag.val().to_u128(),
        b.cmd_op.val().to_u128(),
        b.cmd_sector.val().to_u128(),
        b.cmd_len.val().to_u128(),
        b.wdata_valid.val().into(),
        b.wdata_tag.val().to_u128(),
        b.wdata_data.val().to_u128(),
        b.wdata_last.val().into(),
        b.rdata_ready.val().into(),
        b.scpl_ready.val().into(),
        b.busy.val().into(),
        b.storage_busy.val().into(),
        b.cur_queue.val().to_u128(),
        b.cnt_read.val().to_u128(),
        b.cnt_written.val().to_u128(),
    ]
}

/// Runs the model on the directed phases, then on `cycles` random cycles
/// whose completions follow the traffic the model asked for, and records
/// every input and output (the inputs are replayed into the Verilog).
fn trace(uut: &mut BlkRequest, cycles: usize) -> Trace {
    let mut stim = directed();
    let fixed = stim.len();
    let mut want = Vec::new();
    let mut rng = XorShift::new(0xb1c_5eed);
    let mut p = [60u32; 8];
    let mut tr = Traffic::default();
    for i in 0..fixed + cycles {
        if i >= fixed {
            let k = i - fixed;
            if k.is_multiple_of(600) {
                // New pressure on each channel.
                for x in p.iter_mut() {
                    *x = 30 + rng.below(71) as u32;
                }
            }
            stim.push(random_cycle(&mut rng, &p, k, &tr));
        }
        apply(uut, &stim[i]);
        assert!(simulate(uut, 100), "rust-hdl model did not settle");
        let o = sample(uut);
        tr.observe(&stim[i], &o);
        want.push(o);
        uut.clock.next = Clock { clk: true };
        assert!(simulate(uut, 100));
        uut.clock.next = Clock { clk: false };
        assert!(simulate(uut, 100));
    }
    Trace {
        inputs: INPUTS.to_vec(),
        outputs: OUTPUTS.to_vec(),
        stim,
        want,
    }
}

/// Cycles in which `f(inputs, outputs)` holds.
fn count(t: &Trace, f: impl Fn(&[u128], &[u128]) -> bool) -> usize {
    t.stim.iter().zip(&t.want).filter(|(s, o)| f(s, o)).count()
}

#[test]
fn blk_request_verilog_matches_update_cycle_by_cycle() {
    if !have_icarus("blk_request_verilog_matches_update_cycle_by_cycle") {
        return;
    }
    let mut uut = BlkRequest::default();
    uut.connect_all();
    let t = trace(&mut uut, 60_000);
    // The stimulus reaches what it is meant to: IN data beats and GET_ID
    // writes to host memory, OUT reads and storage writes, every storage
    // operation, completed requests, parked requests retired (used length
    // 1 after a storage completion), the halted state.
    let data_writes = count(&t, |s, o| {
        o[O_WR_VALID] == 1 && s[WR_READY] == 1 && o[O_WR_LEN] > 1
    });
    let dma_reads = count(&t, |s, o| o[O_RD_VALID] == 1 && s[RD_READY] == 1);
    let sto_writes = count(&t, |s, o| o[O_WDATA_VALID] == 1 && s[WDATA_READY] == 1);
    let cmds = |op| {
        count(&t, move |s, o| {
            o[O_CMD_VALID] == 1 && s[CMD_READY] == 1 && o[O_CMD_OP] == op
        })
    };
    let (reads, writes, flushes) = (cmds(0), cmds(1), cmds(2));
    let done = count(&t, |_, o| o[O_DONE_PUSH] == 1);
    let done_status_only = count(&t, |_, o| o[O_DONE_PUSH] == 1 && o[O_DONE_LEN] == 1);
    // Only the halted state takes storage read data while not busy.
    let halted = count(&t, |_, o| o[O_RDATA_READY] == 1 && o[O_BUSY] == 0);
    eprintln!(
        "data writes {data_writes}, DMA reads {dma_reads}, storage writes {sto_writes}, \
         commands read/write/flush {reads}/{writes}/{flushes}, done {done} \
         (status only {done_status_only}), halted idle cycles {halted}"
    );
    let mut gen_uut = BlkRequest::default();
    gen_uut.connect_all();
    let rtl = generate_verilog(&gen_uut);
    assert_eq!(mismatches(&scratch("blk_request"), &rtl, &t), 0);

    assert!(
        data_writes > 2_000,
        "data beats to host memory: {data_writes}"
    );
    assert!(dma_reads > 50, "OUT data reads: {dma_reads}");
    assert!(sto_writes > 1_000, "storage write beats: {sto_writes}");
    assert!(
        reads > 15 && writes > 15 && flushes > 8,
        "commands {reads}/{writes}/{flushes}"
    );
    assert!(
        done > 100 && done_status_only > 50,
        "done {done}/{done_status_only}"
    );
    assert!(halted > 100, "halted cycles: {halted}");

    // Broken copies must be caught: the gearbox's whole-beat pop keeping a
    // byte too many, and a retired parked slot not freed.
    for (name, from, to) in [
        (
            "blk_broken_gearbox",
            "kept = {128'd0, h[255:128]};",
            "kept = {120'd0, h[255:120]};",
        ),
        (
            "blk_broken_retire",
            "s_park <= (s_park | set_park) & ~clr_slot;",
            "s_park <= s_park | set_park;",
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
