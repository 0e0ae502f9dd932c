//! Seeded random stress of the register file against a reference model:
//! random driver and firmware accesses (virtio 1.2 §4.1.4.3 common
//! configuration, §4.1.4.4 doorbells, the management port's queue view and
//! event FIFO) with random stalls on every valid/ready channel.

mod mmio_common;

use mmio_common::{Bench, Rng};
use vfpga_abi::bar0;
use vfpga_abi::common_cfg as cc;
use vfpga_abi::mgmt::{self, Event, EventKind};
use vfpga_abi::msix::VECTORS;
use vfpga_hdl::mmio::{NQ, QMAX};

#[derive(Debug, Clone, Copy)]
struct QueueModel {
    size: u16,
    vector: u16,
    desc: u64,
    driver: u64,
    device: u64,
    enabled: bool,
}

#[derive(Debug)]
struct Model {
    dev_feat: [u32; 2],
    drv_feat: [u32; 2],
    dfsel: u32,
    drfsel: u32,
    queue_select: u16,
    queues: Vec<QueueModel>,
    status: u8,
    events: Vec<u32>,
    doorbells: Vec<(u16, u32)>,
}

fn ev(kind: EventKind, queue: u8, value: u16) -> u32 {
    Event { kind, queue, value }.encode()
}

fn vector_in(v: u16) -> u16 {
    if v < VECTORS { v } else { cc::NO_VECTOR }
}

impl Model {
    fn sel(&mut self) -> Option<&mut QueueModel> {
        self.queues.get_mut(self.queue_select as usize)
    }
}

const ADDR_FIELDS: [u32; 6] = [
    cc::QUEUE_DESC,
    cc::QUEUE_DESC + 4,
    cc::QUEUE_DRIVER,
    cc::QUEUE_DRIVER + 4,
    cc::QUEUE_DEVICE,
    cc::QUEUE_DEVICE + 4,
];

fn addr_field(q: &mut QueueModel, off: u32) -> &mut u64 {
    match off & !4 {
        cc::QUEUE_DESC => &mut q.desc,
        cc::QUEUE_DRIVER => &mut q.driver,
        _ => &mut q.device,
    }
}

fn run(seed: u64, ops: usize) {
    let mut b = Bench::new(1000 + seed, 40);
    let mut r = Rng::new(seed);
    let mut m = Model {
        dev_feat: [r.next_u64() as u32, r.next_u64() as u32],
        drv_feat: [0; 2],
        dfsel: 0,
        drfsel: 0,
        queue_select: 0,
        queues: vec![
            QueueModel {
                size: QMAX,
                vector: cc::NO_VECTOR,
                desc: 0,
                driver: 0,
                device: 0,
                enabled: false,
            };
            NQ
        ],
        status: 0,
        events: Vec::new(),
        doorbells: Vec::new(),
    };
    b.mgmt_write(mgmt::DEVICE_FEATURE_LO, m.dev_feat[0]);
    b.mgmt_write(mgmt::DEVICE_FEATURE_HI, m.dev_feat[1]);
    let c = |off: u32| bar0::COMMON_CFG + off;
    for step in 0..ops {
        let ctx = format!("seed {seed} step {step}");
        match r.below(16) {
            0 => {
                m.dfsel = r.below(3) as u32;
                b.mmio_write(c(cc::DEVICE_FEATURE_SELECT), m.dfsel);
                let want = m.dev_feat.get(m.dfsel as usize).copied().unwrap_or(0);
                assert_eq!(b.mmio_read(c(cc::DEVICE_FEATURE)), want, "{ctx}");
            }
            1 => {
                m.drfsel = r.below(3) as u32;
                b.mmio_write(c(cc::DRIVER_FEATURE_SELECT), m.drfsel);
            }
            2 => {
                let v = r.next_u64() as u32;
                b.mmio_write(c(cc::DRIVER_FEATURE), v);
                if (m.drfsel as usize) < 2 {
                    m.drv_feat[m.drfsel as usize] = v;
                    m.events
                        .push(ev(EventKind::DriverFeature, 0, m.drfsel as u16));
                }
            }
            3 => {
                let want = m.drv_feat.get(m.drfsel as usize).copied().unwrap_or(0);
                assert_eq!(b.mmio_read(c(cc::DRIVER_FEATURE)), want, "{ctx}");
            }
            4 => {
                m.queue_select = r.below(NQ as u64 + 1) as u16;
                b.mmio_write_sized(c(cc::QUEUE_SELECT), 2, m.queue_select as u32);
            }
            5 => {
                let size = 1u16 << r.below(9);
                b.mmio_write_sized(c(cc::QUEUE_SIZE), 2, size as u32);
                if let Some(q) = m.sel().filter(|q| !q.enabled) {
                    q.size = size;
                }
            }
            6 => {
                let v = r.below(VECTORS as u64 + 3) as u16;
                b.mmio_write_sized(c(cc::QUEUE_MSIX_VECTOR), 2, v as u32);
                if let Some(q) = m.sel().filter(|q| !q.enabled) {
                    q.vector = vector_in(v);
                }
            }
            7 => {
                let off = ADDR_FIELDS[r.below(6) as usize];
                let v = r.next_u64() as u32;
                b.mmio_write(c(off), v);
                if let Some(q) = m.sel().filter(|q| !q.enabled) {
                    let f = addr_field(q, off);
                    if off & 4 == 0 {
                        *f = (*f & !0xFFFF_FFFF) | v as u64;
                    } else {
                        *f = (*f & 0xFFFF_FFFF) | (v as u64) << 32;
                    }
                }
            }
            8 => {
                let q = m.sel().copied();
                let size = b.mmio_read_sized(c(cc::QUEUE_SIZE), 2);
                let vector = b.mmio_read_sized(c(cc::QUEUE_MSIX_VECTOR), 2);
                let off = ADDR_FIELDS[r.below(6) as usize];
                let addr = b.mmio_read(c(off));
                match q {
                    Some(mut q) => {
                        assert_eq!(size, q.size as u32, "{ctx}");
                        assert_eq!(vector, q.vector as u32, "{ctx}");
                        let f = *addr_field(&mut q, off);
                        let want = if off & 4 == 0 {
                            f as u32
                        } else {
                            (f >> 32) as u32
                        };
                        assert_eq!(addr, want, "{ctx}");
                    }
                    None => assert_eq!((size, vector, addr), (0, 0, 0), "{ctx}"),
                }
            }
            9 => {
                // queue_enable write, answered by firmware through mgmt.
                let on = r.chance(50);
                b.mmio_write_sized(c(cc::QUEUE_ENABLE), 2, on as u32);
                let sel = m.queue_select;
                if (sel as usize) < NQ {
                    m.events
                        .push(ev(EventKind::QueueEnable, sel as u8, on as u16));
                    b.mgmt_write(mgmt::QUEUE_SEL, sel as u32);
                    b.mgmt_write(mgmt::Q_ENABLE, on as u32);
                    m.queues[sel as usize].enabled = on;
                }
                let want = m.sel().map(|q| q.enabled as u32).unwrap_or(0);
                assert_eq!(b.mmio_read_sized(c(cc::QUEUE_ENABLE), 2), want, "{ctx}");
            }
            10 => {
                let q = r.below(NQ as u64 + 2) as u16;
                let v = r.next_u64() as u32;
                b.mmio_write(bar0::doorbell(q), v);
                if (q as usize) < NQ {
                    m.doorbells.push((q, v));
                }
            }
            11 => {
                // The firmware's view of a random queue.
                let q = r.below(NQ as u64) as usize;
                b.mgmt_write(mgmt::QUEUE_SEL, q as u32);
                let qm = m.queues[q];
                assert_eq!(b.mgmt_read(mgmt::Q_SIZE), qm.size as u32, "{ctx}");
                assert_eq!(b.mgmt_read(mgmt::Q_MSIX_VECTOR), qm.vector as u32, "{ctx}");
                assert_eq!(b.mgmt_read(mgmt::Q_DESC_LO), qm.desc as u32, "{ctx}");
                assert_eq!(
                    b.mgmt_read(mgmt::Q_DEVICE_HI),
                    (qm.device >> 32) as u32,
                    "{ctx}"
                );
                assert_eq!(b.mgmt_read(mgmt::Q_ENABLE), qm.enabled as u32, "{ctx}");
                assert_eq!(b.dut.q_size[q].val().to_u64(), qm.size as u64, "{ctx}");
                assert_eq!(b.dut.q_avail[q].val().to_u64(), qm.driver, "{ctx}");
            }
            12 => {
                // Status write, held read, firmware answer.
                let v = r.below(256) as u8;
                b.mmio_write_sized(c(cc::DEVICE_STATUS), 1, v as u32);
                m.events.push(ev(EventKind::StatusWrite, 0, v as u16));
                let answer = v & !(r.below(256) as u8);
                b.mgmt_write(mgmt::DEVICE_STATUS, answer as u32);
                m.status = answer;
                assert_eq!(
                    b.mmio_read_sized(c(cc::DEVICE_STATUS), 1),
                    m.status as u32,
                    "{ctx}"
                );
            }
            13 => {
                assert_eq!(b.drain_events(), m.events, "{ctx}");
                m.events.clear();
            }
            14 => {
                // The engine refuses doorbells for a while; a doorbell
                // written meanwhile waits, and so does the access after it.
                b.doorbell_block = true;
                let q = r.below(NQ as u64) as u16;
                let v = r.next_u64() as u32;
                b.post_mmio(vfpga_abi::ports::MmioRequest {
                    addr: bar0::doorbell(q),
                    write: true,
                    wdata: v,
                    strb: 0xF,
                });
                m.doorbells.push((q, v));
                b.ticks(r.below(60));
                b.doorbell_block = false;
            }
            _ => {
                b.ticks(r.below(8));
            }
        }
        // The model never lets the FIFO overflow.
        if m.events.len() >= mgmt::EVENT_FIFO_DEPTH - 2 {
            assert_eq!(b.drain_events(), m.events, "{ctx}");
            m.events.clear();
        }
    }
    b.doorbell_block = false;
    b.ticks(50);
    assert_eq!(b.drain_events(), m.events, "seed {seed}");
    assert_eq!(b.doorbells, m.doorbells, "seed {seed}");
    assert_eq!(
        b.mgmt_read(mgmt::ENGINE_STATUS) & mgmt::ENGINE_STATUS_EVENT_OVERFLOW,
        0
    );
}

#[test]
fn spec_4_1_4_3_random_stress_register_file_matches_model() {
    for seed in 0..8 {
        run(seed, 400);
    }
}
