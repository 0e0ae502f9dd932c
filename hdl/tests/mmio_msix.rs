//! MSI-X table, pending bits, masking and the interrupt arbiter
//! (PCI 3.0 §6.8.2, virtio 1.2 §4.1.5.1.2), on the rust-hdl model of
//! `mmio::Bar0`.

mod mmio_common;

use mmio_common::{Bench, Rng};
use vfpga_abi::bar0;
use vfpga_abi::common_cfg as cc;
use vfpga_abi::mgmt;
use vfpga_abi::msix::{self, VECTORS};
use vfpga_abi::ports::MsixMessage;
use vfpga_abi::status;
use vfpga_abi::vendor;

const STALL: u64 = 30;

fn entry(v: u16, field: u32) -> u32 {
    bar0::MSIX_TABLE + v as u32 * msix::ENTRY_SIZE + field
}

fn program(b: &mut Bench, v: u16, masked: bool) {
    b.mmio_write(entry(v, msix::ENTRY_ADDR_LO), 0xFEE0_0000 | (v as u32) << 4);
    b.mmio_write(entry(v, msix::ENTRY_ADDR_HI), v as u32);
    b.mmio_write(entry(v, msix::ENTRY_DATA), 0x40 + v as u32);
    set_mask(b, v, masked);
}

fn set_mask(b: &mut Bench, v: u16, masked: bool) {
    b.mmio_write(entry(v, msix::ENTRY_CONTROL), masked as u32);
}

fn message(v: u16) -> MsixMessage {
    MsixMessage {
        addr: (v as u64) << 32 | 0xFEE0_0000 | (v as u64) << 4,
        data: 0x40 + v as u32,
        vector: v,
    }
}

fn enable(b: &mut Bench, on: bool, function_mask: bool) {
    b.dut.msix_enable.next = on;
    b.dut.msix_function_mask.next = function_mask;
    b.tick();
}

fn pba(b: &mut Bench) -> u32 {
    b.mmio_read(bar0::MSIX_PBA)
}

#[test]
fn pci_msix_table_entries_reset_masked() {
    let mut b = Bench::new(30, STALL);
    for v in 0..VECTORS {
        assert_eq!(
            b.mmio_read(entry(v, msix::ENTRY_CONTROL)),
            msix::CONTROL_MASKED
        );
        assert_eq!(b.mmio_read(entry(v, msix::ENTRY_ADDR_LO)), 0);
        assert_eq!(b.mmio_read(entry(v, msix::ENTRY_DATA)), 0);
    }
    assert_eq!(pba(&mut b), 0);
    assert_eq!(b.mmio_read(bar0::MSIX_PBA + 4), 0);
    // The PBA is read-only.
    b.mmio_write(bar0::MSIX_PBA, 0xFF);
    assert_eq!(pba(&mut b), 0);
}

#[test]
fn pci_msix_table_is_read_write_with_byte_enables() {
    let mut b = Bench::new(31, STALL);
    for v in 0..VECTORS {
        program(&mut b, v, v % 2 == 0);
    }
    for v in 0..VECTORS {
        assert_eq!(
            b.mmio_read(entry(v, msix::ENTRY_ADDR_LO)),
            0xFEE0_0000 | (v as u32) << 4
        );
        assert_eq!(b.mmio_read(entry(v, msix::ENTRY_ADDR_HI)), v as u32);
        assert_eq!(b.mmio_read(entry(v, msix::ENTRY_DATA)), 0x40 + v as u32);
        assert_eq!(
            b.mmio_read(entry(v, msix::ENTRY_CONTROL)),
            (v % 2 == 0) as u32
        );
    }
    b.mmio_write_sized(entry(3, msix::ENTRY_DATA) + 1, 1, 0xAB);
    assert_eq!(b.mmio_read(entry(3, msix::ENTRY_DATA)), 0xAB43);
}

#[test]
fn spec_4_1_5_1_2_queue_interrupt_sends_the_table_entry() {
    let mut b = Bench::new(32, STALL);
    program(&mut b, 2, false);
    enable(&mut b, true, false);
    b.post_irq(1, 2);
    b.run_until("message", |b| b.msix.len() == 1);
    assert_eq!(b.msix, vec![message(2)]);
    // ISR bit 0 is set for every queue interrupt, message or not.
    assert_eq!(b.mmio_read(bar0::ISR), status::ISR_QUEUE as u32);
    assert_eq!(b.mmio_read(bar0::VENDOR + vendor::counter(4)), 1);
    assert_eq!(b.mgmt_read(mgmt::HW_COUNTERS + 4), 1);
}

#[test]
fn pci_msix_masked_vector_sets_pending_and_sends_on_unmask() {
    let mut b = Bench::new(33, STALL);
    program(&mut b, 5, true);
    enable(&mut b, true, false);
    b.post_irq(0, 5);
    b.post_irq(0, 5);
    b.run_until("irqs", |b| b.irqs_accepted == 2);
    b.ticks(10);
    assert!(b.msix.is_empty());
    assert_eq!(pba(&mut b), 1 << 5);
    set_mask(&mut b, 5, false);
    b.run_until("message", |b| !b.msix.is_empty());
    b.ticks(20);
    // Two requests while masked coalesce into one pending message.
    assert_eq!(b.msix, vec![message(5)]);
    assert_eq!(pba(&mut b), 0);
}

#[test]
fn pci_msix_function_mask_and_enable_hold_messages_pending() {
    let mut b = Bench::new(34, STALL);
    program(&mut b, 1, false);
    program(&mut b, 3, false);
    enable(&mut b, true, true);
    b.post_irq(0, 1);
    b.run_until("irq", |b| b.irqs_accepted == 1);
    b.ticks(5);
    assert_eq!(pba(&mut b), 1 << 1);
    enable(&mut b, false, false);
    b.post_irq(1, 3);
    b.run_until("irq", |b| b.irqs_accepted == 2);
    b.ticks(5);
    assert_eq!(pba(&mut b), 1 << 1 | 1 << 3);
    assert!(b.msix.is_empty());
    enable(&mut b, true, false);
    b.run_until("messages", |b| b.msix.len() == 2);
    let mut got: Vec<u16> = b.msix.iter().map(|m| m.vector).collect();
    got.sort();
    assert_eq!(got, vec![1, 3]);
    assert_eq!(pba(&mut b), 0);
}

#[test]
fn spec_4_1_4_5_config_interrupt_uses_config_vector_and_isr_bit_1() {
    let mut b = Bench::new(35, STALL);
    program(&mut b, 0, false);
    enable(&mut b, true, false);
    b.mmio_write_sized(bar0::COMMON_CFG + cc::CONFIG_MSIX_VECTOR, 2, 0);
    b.mgmt_write(mgmt::CONFIG_IRQ, 1);
    b.run_until("message", |b| b.msix.len() == 1);
    assert_eq!(b.msix, vec![message(0)]);
    assert_eq!(b.mmio_read(bar0::ISR), status::ISR_CONFIG as u32);
}

#[test]
fn msix_busy_sink_back_pressures_the_engine_without_loss() {
    let mut b = Bench::new(36, STALL);
    for v in 0..VECTORS {
        program(&mut b, v, false);
    }
    enable(&mut b, true, false);
    b.msix_block = true;
    for i in 0..6u16 {
        b.post_irq(i, i);
    }
    b.ticks(100);
    // One message waits in the slot; the rest wait at the engine.
    assert_eq!(b.irqs_accepted, 1);
    b.msix_block = false;
    b.run_until("messages", |b| b.msix.len() == 6);
    let got: Vec<u16> = b.msix.iter().map(|m| m.vector).collect();
    assert_eq!(got, vec![0, 1, 2, 3, 4, 5]);
    assert_eq!(b.mmio_read(bar0::VENDOR + vendor::counter(4)), 6);
}

#[test]
fn msix_engine_reset_clears_pending_bits() {
    let mut b = Bench::new(37, STALL);
    program(&mut b, 4, true);
    enable(&mut b, true, false);
    b.post_irq(0, 4);
    b.run_until("irq", |b| b.irqs_accepted == 1);
    b.ticks(5);
    assert_eq!(pba(&mut b), 1 << 4);
    b.mgmt_write(mgmt::ENGINE_RESET, 1);
    b.ticks(3);
    assert_eq!(pba(&mut b), 0);
    set_mask(&mut b, 4, false);
    b.ticks(20);
    assert!(b.msix.is_empty());
}

/// Random requests, masks, function mask and enable, with random stalls on
/// every channel. Checks: no vector gets more messages than requests, every
/// message carries its entry's address and data, once everything is unmasked
/// each requested vector's last message comes after its last request (nothing
/// forgotten), and the interrupt counter equals the messages sent.
#[test]
fn msix_random_stress_no_lost_or_spurious_messages() {
    for seed in 0..6u64 {
        let mut b = Bench::new(100 + seed, 40);
        let mut rng = Rng::new(seed);
        for v in 0..VECTORS {
            program(&mut b, v, rng.chance(50));
        }
        enable(&mut b, true, false);
        let nv = VECTORS as usize;
        let mut requests = vec![0u32; nv];
        let mut last_request = vec![0u64; nv];
        for _ in 0..150 {
            match rng.below(10) {
                0..=4 => {
                    let v = rng.below(nv as u64 + 1) as u16;
                    let vector = if v as usize == nv { cc::NO_VECTOR } else { v };
                    let before = b.irqs_accepted;
                    b.post_irq(0, vector);
                    b.run_until("irq", |b| b.irqs_accepted > before);
                    if (vector as usize) < nv {
                        requests[vector as usize] += 1;
                        last_request[vector as usize] = b.cycle - 1;
                    }
                }
                5 | 6 => {
                    let v = rng.below(nv as u64) as u16;
                    set_mask(&mut b, v, rng.chance(50));
                }
                7 => {
                    let on = !rng.chance(20);
                    let fm = rng.chance(20);
                    enable(&mut b, on, fm);
                }
                8 => {
                    b.ticks(rng.below(10));
                }
                _ => {
                    let _ = b.mmio_read(bar0::ISR);
                }
            }
        }
        enable(&mut b, true, false);
        for v in 0..VECTORS {
            set_mask(&mut b, v, false);
        }
        b.ticks(200);
        let mut sent = vec![0u32; nv];
        let mut last_sent = vec![0u64; nv];
        for (m, c) in b.msix.iter().zip(&b.msix_cycles) {
            assert_eq!(*m, message(m.vector), "seed {seed}");
            sent[m.vector as usize] += 1;
            last_sent[m.vector as usize] = *c;
        }
        for v in 0..nv {
            assert!(sent[v] <= requests[v], "seed {seed} vector {v}: spurious");
            if requests[v] > 0 {
                assert!(
                    last_sent[v] > last_request[v],
                    "seed {seed} vector {v}: request forgotten"
                );
            }
        }
        assert_eq!(pba(&mut b), 0);
        assert_eq!(
            b.mmio_read(bar0::VENDOR + vendor::counter(4)) as usize,
            b.msix.len(),
            "seed {seed}"
        );
    }
}
