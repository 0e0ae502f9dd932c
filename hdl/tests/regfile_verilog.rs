//! The hand-written Verilog of [`RegFile`] against its rust-hdl model
//! (`update`), cycle by cycle, in Icarus Verilog, for the blk (2 queues) and
//! the net (5 queues) register file.
//!
//! Both ports are driven like a driver and a firmware would: a request is
//! held until taken, responses are taken with random stalls. A directed
//! start (status write held for the firmware, queue configuration, queue
//! enable, doorbells, vendor stop and index load, device-config window,
//! engine reset) is followed by seeded random accesses whose addresses are
//! biased to the real register offsets of vfpga-abi (common_cfg, ISR,
//! device config, notify, vendor, MSI-X; every management register) and
//! whose data is biased to meaningful values (queue numbers, vectors,
//! enable bits). The engine side (indices, counters, errors, function
//! events, doorbell ready) changes randomly. The test asserts that the
//! interesting states were reached.
//!
//! The same stimulus is also run against deliberately broken copies of the
//! Verilog, which must mismatch: the comparison cannot pass by not comparing.

mod rtl_common;

use rtl_common::{Port, Trace, fit, have_icarus, mismatches, scratch};
use rust_hdl::prelude::*;
use vfpga_abi::{bar0, common_cfg as cc, mgmt, vendor};
use vfpga_hdl::mmio::RegFile;
use vfpga_hdl::testbench::XorShift;

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// Input ports in the order `apply` reads them.
fn inputs(nq: usize) -> Vec<Port> {
    let mut v: Vec<Port> = vec![
        ("reset", 1),
        ("bus_master", 1),
        ("mmio_req_valid", 1),
        ("mmio_req_addr", 15),
        ("mmio_req_write", 1),
        ("mmio_req_wdata", 32),
        ("mmio_req_strb", 4),
        ("mmio_resp_ready", 1),
        ("mgmt_req_valid", 1),
        ("mgmt_req_addr", 8),
        ("mgmt_req_write", 1),
        ("mgmt_req_wdata", 32),
        ("mgmt_resp_ready", 1),
        ("doorbell_ready", 1),
    ];
    for name in ["q_last_avail", "q_used_idx", "q_inflight"] {
        for i in 0..nq {
            v.push((leak(format!("{name}${i}")), 16));
        }
    }
    v.extend([
        ("idle", 1),
        ("error", 1),
        ("error_pulse", 1),
        ("error_cause", 8),
        ("error_queue", 8),
        ("error_detail", 32),
        ("cnt_requests", 64),
        ("cnt_bytes_read", 64),
        ("cnt_bytes_written", 64),
        ("cnt_notifies", 64),
        ("cnt_dma_errors", 64),
        ("msix_table_rdata", 32),
        ("msix_pba", 8),
        ("isr", 2),
        ("interrupts", 64),
        ("ext_event_valid", 1),
        ("ext_event_word", 32),
    ]);
    v
}

/// Output ports in the order `sample` writes them.
fn outputs(nq: usize) -> Vec<Port> {
    let mut v: Vec<Port> = vec![
        ("mmio_req_ready", 1),
        ("mmio_resp_valid", 1),
        ("mmio_resp_rdata", 32),
        ("mgmt_req_ready", 1),
        ("mgmt_resp_valid", 1),
        ("mgmt_resp_rdata", 32),
    ];
    for (name, w) in [
        ("q_desc", 64),
        ("q_avail", 64),
        ("q_used", 64),
        ("q_size", 16),
        ("q_vector", 16),
        ("q_run", 1),
        ("q_set_idx", 1),
    ] {
        for i in 0..nq {
            v.push((leak(format!("{name}${i}")), w));
        }
    }
    v.extend([
        ("q_set_last_avail", 16),
        ("q_set_used", 16),
        ("dma_enable", 1),
        ("event_idx", 1),
        ("indirect_enable", 1),
        ("notification_data", 1),
        ("engine_reset", 1),
        ("blk_capacity", 64),
        ("doorbell_valid", 1),
        ("doorbell_queue", 16),
        ("doorbell_data", 32),
        ("msix_reg_addr", 5),
        ("msix_reg_write", 1),
        ("msix_reg_wdata", 32),
        ("msix_reg_strb", 4),
        ("isr_read_clear", 1),
        ("config_irq", 1),
        ("config_vector", 16),
        ("msix_clear", 1),
        ("ext_event_ready", 1),
        ("busy", 1),
        ("attention", 1),
    ]);
    v
}

fn apply<const NQ: usize>(r: &mut RegFile<NQ>, i: &[u128]) {
    let mut k = 0;
    let mut nx = || {
        k += 1;
        i[k - 1]
    };
    r.reset.next = nx() != 0;
    r.bus_master.next = nx() != 0;
    r.mmio_req_valid.next = nx() != 0;
    r.mmio_req_addr.next = fit(nx(), 15).to_bits();
    r.mmio_req_write.next = nx() != 0;
    r.mmio_req_wdata.next = fit(nx(), 32).to_bits();
    r.mmio_req_strb.next = fit(nx(), 4).to_bits();
    r.mmio_resp_ready.next = nx() != 0;
    r.mgmt_req_valid.next = nx() != 0;
    r.mgmt_req_addr.next = fit(nx(), 8).to_bits();
    r.mgmt_req_write.next = nx() != 0;
    r.mgmt_req_wdata.next = fit(nx(), 32).to_bits();
    r.mgmt_resp_ready.next = nx() != 0;
    r.doorbell_ready.next = nx() != 0;
    for q in 0..NQ {
        r.q_last_avail[q].next = fit(nx(), 16).to_bits();
    }
    for q in 0..NQ {
        r.q_used_idx[q].next = fit(nx(), 16).to_bits();
    }
    for q in 0..NQ {
        r.q_inflight[q].next = fit(nx(), 16).to_bits();
    }
    r.idle.next = nx() != 0;
    r.error.next = nx() != 0;
    r.error_pulse.next = nx() != 0;
    r.error_cause.next = fit(nx(), 8).to_bits();
    r.error_queue.next = fit(nx(), 8).to_bits();
    r.error_detail.next = fit(nx(), 32).to_bits();
    r.cnt_requests.next = fit(nx(), 64).to_bits();
    r.cnt_bytes_read.next = fit(nx(), 64).to_bits();
    r.cnt_bytes_written.next = fit(nx(), 64).to_bits();
    r.cnt_notifies.next = fit(nx(), 64).to_bits();
    r.cnt_dma_errors.next = fit(nx(), 64).to_bits();
    r.msix_table_rdata.next = fit(nx(), 32).to_bits();
    r.msix_pba.next = fit(nx(), 8).to_bits();
    r.isr.next = fit(nx(), 2).to_bits();
    r.interrupts.next = fit(nx(), 64).to_bits();
    r.ext_event_valid.next = nx() != 0;
    r.ext_event_word.next = fit(nx(), 32).to_bits();
}

fn sample<const NQ: usize>(r: &RegFile<NQ>) -> Vec<u128> {
    let mut v = vec![
        r.mmio_req_ready.val().into(),
        r.mmio_resp_valid.val().into(),
        r.mmio_resp_rdata.val().to_u128(),
        r.mgmt_req_ready.val().into(),
        r.mgmt_resp_valid.val().into(),
        r.mgmt_resp_rdata.val().to_u128(),
    ];
    v.extend(r.q_desc.iter().map(|s| s.val().to_u128()));
    v.extend(r.q_avail.iter().map(|s| s.val().to_u128()));
    v.extend(r.q_used.iter().map(|s| s.val().to_u128()));
    v.extend(r.q_size.iter().map(|s| s.val().to_u128()));
    v.extend(r.q_vector.iter().map(|s| s.val().to_u128()));
    v.extend(r.q_run.iter().map(|s| u128::from(s.val())));
    v.extend(r.q_set_idx.iter().map(|s| u128::from(s.val())));
    v.extend([
        r.q_set_last_avail.val().to_u128(),
        r.q_set_used.val().to_u128(),
        r.dma_enable.val().into(),
        r.event_idx.val().into(),
        r.indirect_enable.val().into(),
        r.notification_data.val().into(),
        r.engine_reset.val().into(),
        r.blk_capacity.val().to_u128(),
        r.doorbell_valid.val().into(),
        r.doorbell_queue.val().to_u128(),
        r.doorbell_data.val().to_u128(),
        r.msix_reg_addr.val().to_u128(),
        r.msix_reg_write.val().into(),
        r.msix_reg_wdata.val().to_u128(),
        r.msix_reg_strb.val().to_u128(),
        r.isr_read_clear.val().into(),
        r.config_irq.val().into(),
        r.config_vector.val().to_u128(),
        r.msix_clear.val().into(),
        r.ext_event_ready.val().into(),
        r.busy.val().into(),
        r.attention.val().into(),
    ]);
    v
}

/// One access on either port.
#[derive(Clone, Copy, Debug)]
struct Req {
    addr: u32,
    write: bool,
    wdata: u32,
    strb: u8,
}

fn wr(addr: u32, wdata: u32, strb: u8) -> Req {
    Req {
        addr,
        write: true,
        wdata,
        strb,
    }
}

fn rd(addr: u32) -> Req {
    Req {
        addr,
        write: false,
        wdata: 0,
        strb: 0xF,
    }
}

/// A driver access, biased to the registers that exist.
fn mmio_random(rng: &mut XorShift, nq: u32) -> Req {
    let common = [
        cc::DEVICE_FEATURE_SELECT,
        cc::DEVICE_FEATURE,
        cc::DRIVER_FEATURE_SELECT,
        cc::DRIVER_FEATURE,
        cc::CONFIG_MSIX_VECTOR,
        cc::DEVICE_STATUS,
        cc::QUEUE_SIZE,
        cc::QUEUE_ENABLE,
        cc::QUEUE_DESC,
        cc::QUEUE_DESC + 4,
        cc::QUEUE_DRIVER,
        cc::QUEUE_DRIVER + 4,
        cc::QUEUE_DEVICE,
        cc::QUEUE_DEVICE + 4,
        cc::QUEUE_NOTIFY_DATA,
        0x3C,
    ];
    let fixed_vendor = [
        vendor::MAGIC,
        vendor::VERSION,
        vendor::NUM_QUEUES,
        vendor::FW_STATUS,
        vendor::ERROR_CAUSE,
        vendor::ERROR_QUEUE,
        vendor::ERROR_DETAIL,
    ];
    let addr = match rng.below(24) {
        0..=7 => bar0::COMMON_CFG + common[rng.below(common.len() as u64) as usize],
        8 => bar0::ISR + 4 * rng.below(2) as u32,
        9 => bar0::DEVICE_CFG + 4 * rng.below(72) as u32,
        10..=12 => bar0::NOTIFY + 4 * rng.below(u64::from(nq) + 2) as u32,
        13 => bar0::VENDOR + fixed_vendor[rng.below(fixed_vendor.len() as u64) as usize],
        14..=15 => bar0::VENDOR + vendor::COUNTERS + 4 * rng.below(18) as u32,
        16..=19 => {
            bar0::VENDOR
                + vendor::QUEUES
                + vendor::QUEUE_STRIDE * rng.below(u64::from(nq) + 1) as u32
                + 4 * rng.below(4) as u32
        }
        20 => bar0::MSIX_TABLE + 4 * rng.below(40) as u32,
        21 => bar0::MSIX_PBA + 4 * rng.below(2) as u32,
        22 => rng.below(1 << 15) as u32 & !3,
        // Not dword aligned: the low bits must not matter.
        _ => rng.below(1 << 15) as u32,
    };
    let off = addr & 0xFFF;
    let raw = rng.next_u64() as u32;
    let wdata = if addr < bar0::ISR {
        match off {
            0x00 | 0x08 => rng.below(3) as u32,
            0x10 => {
                if rng.chance(80) {
                    rng.below(10) as u32
                } else {
                    raw
                }
            }
            0x14 => ((rng.below(u64::from(nq) + 2) as u32) << 16) | (raw & 0xFF),
            0x18 => ((rng.below(10) as u32) << 16) | rng.below(512) as u32,
            0x1C => rng.below(2) as u32,
            0x38 => raw & 0x0001_FFFF,
            _ => raw,
        }
    } else if (bar0::VENDOR + vendor::QUEUES..bar0::MSIX_TABLE).contains(&addr) && off & 0xF == 0 {
        rng.below(2) as u32
    } else {
        raw
    };
    let strb = match rng.below(10) {
        0..=6 => 0xF,
        7 => 0x3,
        8 => 0xC,
        _ => rng.below(16) as u8,
    };
    Req {
        addr,
        write: rng.chance(50),
        wdata,
        strb,
    }
}

/// A firmware access to one of the management registers (or any address).
fn mgmt_random(rng: &mut XorShift, nq: u32) -> Req {
    let regs = [
        mgmt::ID,
        mgmt::PERSONALITY,
        mgmt::NUM_QUEUES,
        mgmt::QUEUE_SIZE_MAX,
        mgmt::EVENT,
        mgmt::EVENT,
        mgmt::EVENT,
        mgmt::EVENT_COUNT,
        mgmt::DEVICE_STATUS,
        mgmt::DEVICE_STATUS,
        mgmt::CONFIG_GENERATION,
        mgmt::DEVICE_FEATURE_LO,
        mgmt::DEVICE_FEATURE_HI,
        mgmt::DRIVER_FEATURE_LO,
        mgmt::DRIVER_FEATURE_HI,
        mgmt::CONFIG_MSIX_VECTOR,
        mgmt::ENGINE_CTRL,
        mgmt::ENGINE_STATUS,
        mgmt::ENGINE_STATUS,
        mgmt::ERROR_CAUSE,
        mgmt::ERROR_QUEUE,
        mgmt::ERROR_DETAIL,
        mgmt::ENGINE_RESET,
        mgmt::CONFIG_IRQ,
        mgmt::FW_STATUS,
        mgmt::QUEUE_SEL,
        mgmt::QUEUE_SEL,
        mgmt::Q_SIZE,
        mgmt::Q_MSIX_VECTOR,
        mgmt::Q_DESC_LO,
        mgmt::Q_DESC_HI,
        mgmt::Q_DRIVER_LO,
        mgmt::Q_DRIVER_HI,
        mgmt::Q_DEVICE_LO,
        mgmt::Q_DEVICE_HI,
        mgmt::Q_ENABLE,
        mgmt::Q_ENABLE,
        mgmt::Q_RUN,
        mgmt::Q_RUN,
        mgmt::Q_LAST_AVAIL_IDX,
        mgmt::Q_USED_IDX,
        mgmt::Q_INFLIGHT,
        mgmt::DEVCFG_ADDR,
        mgmt::DEVCFG_DATA,
        mgmt::DEVCFG_DATA,
        mgmt::FW_COUNTERS,
        mgmt::FW_COUNTERS + 1,
        mgmt::HW_COUNTERS,
        mgmt::HW_COUNTERS + 1,
        mgmt::HW_COUNTERS + 2,
        mgmt::HW_COUNTERS + 3,
        mgmt::HW_COUNTERS + 4,
        mgmt::HW_COUNTERS + 5,
    ];
    let addr = if rng.chance(8) {
        rng.below(256) as u32
    } else {
        u32::from(regs[rng.below(regs.len() as u64) as usize])
    };
    let raw = rng.next_u64() as u32;
    let wdata = match addr as u16 {
        mgmt::QUEUE_SEL => rng.below(u64::from(nq) + 2) as u32,
        mgmt::ENGINE_RESET | mgmt::CONFIG_IRQ | mgmt::Q_ENABLE | mgmt::Q_RUN => rng.below(2) as u32,
        mgmt::DEVCFG_ADDR => rng.below(256) as u32,
        _ => raw,
    };
    Req {
        addr,
        write: rng.chance(45),
        wdata,
        strb: 0xF,
    }
}

/// What the trace reached (counted on the model's outputs).
#[derive(Debug, Default)]
struct Coverage {
    mmio_reads: u64,
    mgmt_reads: u64,
    held_reads: u64,
    events_read: u64,
    overflow_seen: u64,
    doorbells: u64,
    index_loads: u64,
    engine_resets: u64,
    config_irqs: u64,
    isr_clears: u64,
    msix_writes: u64,
    queue_runs: u64,
    ext_stalls: u64,
}

/// Drives both ports like a driver and a firmware for `cycles` cycles on the
/// model, recording the inputs and the outputs of every cycle.
fn run<const NQ: usize>(seed: u64, cycles: usize) -> (Trace, Coverage) {
    let nq = NQ as u32;
    let ins = inputs(NQ);
    let outs = outputs(NQ);
    let mut uut: RegFile<NQ> = RegFile::default();
    uut.connect_all();
    let mut rng = XorShift::new(seed);
    let q1 = (NQ as u32 - 1) << 16;
    let c = |o| bar0::COMMON_CFG + o;
    let vq = |q: u32, o: u32| bar0::VENDOR + vendor::QUEUES + vendor::QUEUE_STRIDE * q + o;
    let mut mmio_script = vec![
        wr(c(cc::DEVICE_STATUS), 0x0F, 0x1),
        rd(c(cc::DEVICE_STATUS)),
        wr(c(cc::DEVICE_STATUS), q1, 0xC),
        wr(c(cc::QUEUE_SIZE), (3 << 16) | 64, 0xF),
        wr(c(cc::QUEUE_DESC), 0x1000, 0xF),
        wr(c(cc::QUEUE_DESC + 4), 0x1, 0xF),
        wr(c(cc::QUEUE_DRIVER), 0x2000, 0xF),
        wr(c(cc::QUEUE_DEVICE + 4), 0x3, 0x3),
        rd(c(cc::QUEUE_SIZE)),
        wr(c(cc::QUEUE_ENABLE), 1, 0x3),
        rd(c(cc::QUEUE_ENABLE)),
        wr(bar0::NOTIFY + 4 * (nq - 1), 0x1234_5678, 0xF),
        wr(bar0::NOTIFY, 7, 0x3),
        wr(vq(nq - 1, vendor::Q_CONTROL), 1, 0x1),
        rd(vq(nq - 1, vendor::Q_CONTROL)),
        wr(vq(nq - 1, vendor::Q_LAST_AVAIL_IDX), 0x0005_0004, 0xF),
        rd(bar0::VENDOR + vendor::COUNTERS),
        rd(bar0::VENDOR + vendor::COUNTERS + 4),
        rd(bar0::DEVICE_CFG),
        rd(bar0::ISR),
        wr(bar0::MSIX_TABLE + 12, 0, 0xF),
    ];
    mmio_script.reverse();
    let mut mgmt_script = vec![
        rd(u32::from(mgmt::EVENT)),
        wr(u32::from(mgmt::DEVICE_STATUS), 0x0F, 0xF),
        wr(u32::from(mgmt::DEVCFG_ADDR), 0, 0xF),
        wr(u32::from(mgmt::DEVCFG_DATA), 0x1000, 0xF),
        wr(u32::from(mgmt::DEVCFG_ADDR), 4, 0xF),
        wr(u32::from(mgmt::DEVCFG_DATA), 0x2, 0xF),
        rd(u32::from(mgmt::EVENT)),
        wr(u32::from(mgmt::QUEUE_SEL), nq - 1, 0xF),
        wr(u32::from(mgmt::Q_ENABLE), 1, 0xF),
        wr(u32::from(mgmt::Q_RUN), 1, 0xF),
        rd(u32::from(mgmt::Q_DESC_LO)),
        rd(u32::from(mgmt::Q_DESC_HI)),
        wr(u32::from(mgmt::ENGINE_CTRL), 0xF, 0xF),
        wr(u32::from(mgmt::CONFIG_IRQ), 1, 0xF),
        rd(u32::from(mgmt::EVENT_COUNT)),
        wr(u32::from(mgmt::Q_LAST_AVAIL_IDX), 9, 0xF),
        wr(u32::from(mgmt::Q_RUN), 0, 0xF),
        wr(u32::from(mgmt::Q_USED_IDX), 9, 0xF),
        rd(u32::from(mgmt::ENGINE_STATUS)),
        wr(u32::from(mgmt::ENGINE_RESET), 1, 0xF),
    ];
    mgmt_script.reverse();

    let mut stim = Vec::with_capacity(cycles);
    let mut want = Vec::with_capacity(cycles);
    let mut cov = Coverage::default();
    let (mut mmio, mut gm): (Option<Req>, Option<Req>) = (None, None);
    let mut ext: Option<u32> = None;
    let mut la = vec![0u128; NQ];
    let mut ui = vec![0u128; NQ];
    let mut infl = vec![0u128; NQ];
    let (mut bus_master, mut idle, mut error) = (true, true, false);
    let (mut mmio_gap, mut mgmt_gap) = (30u64, 30u64);
    let mut last_mgmt_addr = 0u32;
    let mut mmio_busy_run = 0u32;
    let mut drv_qsel = 0u32;
    for cyc in 0..cycles {
        let reset = cyc < 2 || cyc % 9973 == 9000;
        if cyc % 1000 == 999 {
            bus_master = rng.chance(90);
            mmio_gap = 1 + rng.below(40);
            mgmt_gap = 1 + rng.below(40);
        }
        if cyc % 50 == 0 {
            idle = rng.chance(75);
            error = rng.chance(20);
        }
        for q in 0..NQ {
            if rng.chance(5) {
                la[q] = rng.below(1 << 16).into();
                ui[q] = rng.below(1 << 16).into();
                infl[q] = if rng.chance(60) {
                    0
                } else {
                    rng.below(40).into()
                };
            }
        }
        if mmio.is_none() && cyc > 4 && rng.below(mmio_gap) == 0 {
            mmio = Some(
                mmio_script
                    .pop()
                    .unwrap_or_else(|| mmio_random(&mut rng, nq)),
            );
        }
        if gm.is_none() && cyc > 4 && rng.below(mgmt_gap) == 0 {
            gm = Some(
                mgmt_script
                    .pop()
                    .unwrap_or_else(|| mgmt_random(&mut rng, nq)),
            );
        }
        if ext.is_none() && rng.chance(6) {
            ext = Some(rng.next_u64() as u32);
        }
        let m = mmio.unwrap_or(Req {
            addr: rng.below(1 << 15) as u32,
            write: rng.chance(50),
            wdata: rng.next_u64() as u32,
            strb: rng.below(16) as u8,
        });
        let g = gm.unwrap_or(Req {
            addr: rng.below(256) as u32,
            write: rng.chance(50),
            wdata: rng.next_u64() as u32,
            strb: 0xF,
        });
        let mut s: Vec<u128> = vec![
            reset.into(),
            bus_master.into(),
            mmio.is_some().into(),
            m.addr.into(),
            m.write.into(),
            m.wdata.into(),
            m.strb.into(),
            rng.chance(80).into(),
            gm.is_some().into(),
            g.addr.into(),
            g.write.into(),
            g.wdata.into(),
            rng.chance(80).into(),
            rng.chance(40).into(),
        ];
        s.extend(&la);
        s.extend(&ui);
        s.extend(&infl);
        s.extend([
            idle.into(),
            error.into(),
            rng.chance(1).into(),
            rng.below(256).into(),
            rng.below(256).into(),
            u128::from(rng.next_u64() as u32),
            rng.next_u64().into(),
            rng.next_u64().into(),
            rng.next_u64().into(),
            rng.next_u64().into(),
            rng.next_u64().into(),
            u128::from(rng.next_u64() as u32),
            rng.below(256).into(),
            rng.below(4).into(),
            rng.next_u64().into(),
            ext.is_some().into(),
            ext.unwrap_or(0).into(),
        ]);
        apply(&mut uut, &s);
        assert!(simulate(&mut uut, 100), "model did not settle");
        let o = sample(&uut);

        // Handshakes seen by the driver, the firmware and the function.
        let ready_m = uut.mmio_req_ready.val();
        if reset {
            drv_qsel = 0;
        }
        if let (Some(r), true, false) = (mmio, ready_m, reset) {
            // The firmware answers what holds the driver's reads: a status
            // write and a queue enable (for the queue the driver selected).
            let strb_mask = (0..4)
                .filter(|b| r.strb & (1 << b) != 0)
                .fold(0u32, |m, b| m | (0xFF << (8 * b)));
            if r.write && r.addr == c(cc::DEVICE_STATUS) {
                let hi = strb_mask >> 16;
                drv_qsel = (drv_qsel & !hi) | ((r.wdata >> 16) & hi);
                if r.strb & 1 != 0 && rng.chance(70) {
                    mgmt_script.push(wr(u32::from(mgmt::DEVICE_STATUS), r.wdata & 0xFF, 0xF));
                }
            }
            if r.write && r.addr == c(cc::QUEUE_ENABLE) && r.strb & 3 != 0 && rng.chance(70) {
                mgmt_script.push(wr(u32::from(mgmt::Q_ENABLE), r.wdata & 1, 0xF));
                mgmt_script.push(wr(u32::from(mgmt::QUEUE_SEL), drv_qsel, 0xF));
            }
            mmio = None;
        }
        if gm.is_some() && uut.mgmt_req_ready.val() && !reset {
            last_mgmt_addr = g.addr;
            gm = None;
        }
        if ext.is_some() && uut.ext_event_ready.val() {
            ext = None;
        }
        // Coverage.
        let resp_m = uut.mmio_resp_valid.val();
        mmio_busy_run = if !ready_m && !resp_m {
            mmio_busy_run + 1
        } else {
            0
        };
        if mmio_busy_run == 4 {
            cov.held_reads += 1;
        }
        cov.mmio_reads += u64::from(resp_m && s[7] == 1);
        if uut.mgmt_resp_valid.val() && s[12] == 1 {
            cov.mgmt_reads += 1;
            let data = uut.mgmt_resp_rdata.val().to_u64();
            if last_mgmt_addr == u32::from(mgmt::EVENT) && data != 0 {
                cov.events_read += 1;
            }
            if last_mgmt_addr == u32::from(mgmt::ENGINE_STATUS) && data & 4 != 0 {
                cov.overflow_seen += 1;
            }
        }
        cov.doorbells += u64::from(uut.doorbell_valid.val() && s[13] == 1);
        cov.index_loads += uut.q_set_idx.iter().filter(|x| x.val()).count() as u64;
        cov.engine_resets += u64::from(uut.engine_reset.val());
        cov.config_irqs += u64::from(uut.config_irq.val());
        cov.isr_clears += u64::from(uut.isr_read_clear.val());
        cov.msix_writes += u64::from(uut.msix_reg_write.val());
        cov.queue_runs += u64::from(uut.q_run.iter().any(|x| x.val()));
        cov.ext_stalls += u64::from(!uut.ext_event_ready.val());

        stim.push(s);
        want.push(o);
        uut.clock.next = Clock { clk: true };
        assert!(simulate(&mut uut, 100));
        uut.clock.next = Clock { clk: false };
        assert!(simulate(&mut uut, 100));
    }
    assert!(mmio_script.is_empty());
    let t = Trace {
        inputs: ins,
        outputs: outs,
        stim,
        want,
    };
    (t, cov)
}

fn check_reached(cov: &Coverage) {
    eprintln!("{cov:?}");
    assert!(cov.mmio_reads > 500, "{cov:?}");
    assert!(cov.mgmt_reads > 500, "{cov:?}");
    assert!(cov.held_reads > 5, "{cov:?}");
    assert!(cov.events_read > 50, "{cov:?}");
    assert!(cov.overflow_seen > 0, "{cov:?}");
    assert!(cov.doorbells > 20, "{cov:?}");
    assert!(cov.index_loads > 5, "{cov:?}");
    assert!(cov.engine_resets > 5, "{cov:?}");
    assert!(cov.config_irqs > 5, "{cov:?}");
    assert!(cov.isr_clears > 5, "{cov:?}");
    assert!(cov.msix_writes > 5, "{cov:?}");
    assert!(cov.queue_runs > 100, "{cov:?}");
    assert!(cov.ext_stalls > 50, "{cov:?}");
}

fn rtl<const NQ: usize>() -> String {
    let mut uut: RegFile<NQ> = RegFile::default();
    uut.connect_all();
    generate_verilog(&uut)
}

#[test]
fn regfile_verilog_matches_update_cycle_by_cycle_blk() {
    if !have_icarus("regfile_verilog_matches_update_cycle_by_cycle_blk") {
        return;
    }
    let (t, cov) = run::<2>(0x5EED_0007, 100_000);
    check_reached(&cov);
    let rtl = rtl::<2>();
    assert_eq!(mismatches(&scratch("regfile_blk"), &rtl, &t), 0);

    // Broken copies must be caught: a queue's configuration written while
    // the queue is enabled, a full event FIFO that takes more events, and a device-status read that does not wait for the firmware.
    for (name, from, to) in [
        (
            "regfile_broken_enabled_write",
            "if (!qen[queue_select[0:0]]) begin",
            "if (1'b1) begin",
        ),
        (
            "regfile_broken_fifo_full",
            "(ev_wr ^ ev_rd) != 5'b10000",
            "(ev_wr ^ ev_rd) != 5'b11111",
        ),
        (
            "regfile_broken_hold",
            "&& m_strb[0] && status_pending)",
            "&& m_strb[0] && 1'b0)",
        ),
    ] {
        let broken = rtl.replace(from, to);
        assert!(broken != rtl, "{name}: mutation not applied");
        assert!(
            mismatches(&scratch(name), &broken, &t) > 0,
            "{name} unnoticed"
        );
    }
}

#[test]
fn regfile_verilog_matches_update_cycle_by_cycle_net() {
    if !have_icarus("regfile_verilog_matches_update_cycle_by_cycle_net") {
        return;
    }
    let (t, cov) = run::<5>(0x5EED_0005, 60_000);
    check_reached(&cov);
    assert_eq!(mismatches(&scratch("regfile_net"), &rtl::<5>(), &t), 0);
}
