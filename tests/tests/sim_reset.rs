//! Resetting the simulated board while requests are in flight, on both
//! engine backends: the reset completes (virtio 1.2 §4.1.4.3.2), the device
//! touches neither rings nor buffers afterwards (§2.4.1: a fault would show
//! once their memory is unmapped), every write it acknowledged is on the
//! disk, and it comes up again and serves I/O.

mod simdev;

use std::sync::Arc;
use std::time::{Duration, Instant};

use simdev::{PATIENCE, RawBlk, backend_or_skip, machine, sim, wait_fd};
use vfpga_abi::blk;
use vfpga_abi::pci::header;
use vfpga_host::blk::{BlkDriver, BlkOptions, ReqKind, Request, check_pattern, fill_pattern};
use vfpga_host::{Device, DeviceExt};
use vfpga_sim::backend::BackendKind;

const SEED_OLD: u64 = 0x01D;
const SEED_NEW: u64 = 0x2E3;
const SEED_AFTER: u64 = 0x3F4;

/// How the device is reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum How {
    /// The driver writes 0 to device_status and waits for it to read 0.
    Virtio,
    /// PCI function-level reset through the device trait.
    Function,
}

fn pattern(seed: u64, sector: u64, len: usize) -> Vec<u8> {
    let mut v = vec![0; len];
    fill_pattern(seed, sector * 512, &mut v);
    v
}

/// `n` slots of `len` bytes. Region A (slot s at sector s*len/512) is
/// written and acknowledged first. Then even slots write region B and odd
/// slots read region A, all at once; at the first completion the device is
/// reset. Afterwards A must hold the old data, B the new data wherever the
/// write was acknowledged, and the device must work.
fn reset_in_flight(kind: BackendKind, how: How, n: usize, len: usize) {
    let per = (len / 512) as u64;
    let a = |s: usize| s as u64 * per;
    let b = |s: usize| (n + s) as u64 * per;
    let sectors = 2 * n as u64 * per;
    let dev = sim(kind, sectors, machine(kind));
    let mut acked_b = Vec::new();
    {
        let mut raw = RawBlk::up(dev.clone() as Arc<dyn Device>, 64, n, len);
        for s in 0..n {
            raw.submit(s, blk::req::OUT, a(s), &pattern(SEED_OLD, a(s), len));
        }
        raw.kick();
        for (s, st, _) in raw.complete(n) {
            assert_eq!(st, blk::status::OK, "write of slot {s}");
        }

        for s in 0..n {
            if s % 2 == 0 {
                raw.submit(s, blk::req::OUT, b(s), &pattern(SEED_NEW, b(s), len));
            } else {
                raw.submit(s, blk::req::IN, a(s), &vec![0; len]);
            }
        }
        raw.kick();
        let mut done = Vec::new();
        let start = Instant::now();
        loop {
            if let Some(e) = raw.pop() {
                done.push(e);
                break;
            }
            assert!(start.elapsed() < PATIENCE, "no completion before the reset");
            wait_fd(&raw.queue_irq, Duration::from_millis(20));
        }
        // The reset is written with the other requests still in flight.
        let before_reset = done.len();
        match how {
            How::Virtio => raw.pci.reset(PATIENCE).unwrap(),
            How::Function => {
                dev.reset().unwrap();
                assert_eq!(raw.pci.status().unwrap(), 0, "status 0 after FLR");
            }
        }
        // Whatever the device completed before the reset counts as done.
        while let Some(e) = raw.pop() {
            done.push(e);
        }
        assert!(
            before_reset < n,
            "requests were still in flight at the reset ({before_reset} of {n} done)"
        );
        // A virtio reset quiesces: chains the engine had fetched finish
        // before device_status reads 0 (docs/firmware.md); an FLR drops them.
        eprintln!(
            "{how:?} reset: {before_reset} of {n} completed before it, {} by the time it was done",
            done.len()
        );
        for &(s, st, _) in &done {
            assert_eq!(st, blk::status::OK, "slot {s} completed before the reset");
            if s % 2 == 0 {
                acked_b.push(s);
            } else {
                assert_eq!(
                    check_pattern(SEED_OLD, a(s) * 512, &raw.data(s, len)),
                    None,
                    "read of slot {s} completed before the reset"
                );
            }
        }
        // Dropping the driver unmaps the rings and slots: from here on any
        // DMA the device still had in mind faults in the IOMMU.
    }
    assert_eq!(dev.bus().iommu().faults(), 0);

    let mut drv = BlkDriver::new(
        dev.clone() as Arc<dyn Device>,
        BlkOptions {
            queues: 1,
            depth: 4,
            request_size: len as u32,
            timeout: PATIENCE,
        },
    )
    .unwrap();
    let read = |sectors: Vec<u64>| {
        sectors.into_iter().map(move |sector| Request {
            kind: ReqKind::Read,
            sector,
            len: len as u32,
        })
    };
    let expect = |sector: u64| {
        if sector >= b(0) { SEED_NEW } else { SEED_OLD }
    };
    let mut wanted: Vec<u64> = (0..n).map(a).collect();
    wanted.extend(acked_b.iter().map(|&s| b(s)));
    drv.run(
        read(wanted),
        |_, _| {},
        |r, buf| match check_pattern(expect(r.sector), r.sector * 512, buf) {
            None => Ok(()),
            Some((bad, first)) => Err(format!(
                "acknowledged data at sector {} lost: {bad} bad bytes from {first:#x}",
                r.sector
            )),
        },
    )
    .unwrap();
    // Usable again: a fresh pattern over region B, read back.
    let bs: Vec<u64> = (0..n).map(b).collect();
    drv.run(
        bs.iter().map(|&sector| Request {
            kind: ReqKind::Write,
            sector,
            len: len as u32,
        }),
        |r, buf| fill_pattern(SEED_AFTER, r.sector * 512, buf),
        |_, _| Ok(()),
    )
    .unwrap();
    drv.run(
        read(bs),
        |_, _| {},
        |r, buf| match check_pattern(SEED_AFTER, r.sector * 512, buf) {
            None => Ok(()),
            Some((bad, _)) => Err(format!("sector {}: {bad} bad bytes", r.sector)),
        },
    )
    .unwrap();
    drv.pci().check_needs_reset().unwrap();
    assert_eq!(
        dev.bus().iommu().faults(),
        0,
        "§2.4.1: no DMA to the old rings or buffers after the reset"
    );
    // The command register was restored by the new driver after an FLR.
    let cmd = dev.config_read_u16(header::COMMAND).unwrap();
    assert_ne!(cmd & header::COMMAND_BUS_MASTER, 0);
}

#[test]
fn spec_2_4_1_reset_with_requests_in_flight_on_rust_hdl() {
    reset_in_flight(BackendKind::RustHdl, How::Virtio, 6, 1024);
}

#[test]
fn spec_2_4_1_reset_with_requests_in_flight_on_verilator() {
    if backend_or_skip(
        BackendKind::Verilator,
        "spec_2_4_1_reset_with_requests_in_flight_on_verilator",
    ) {
        reset_in_flight(BackendKind::Verilator, How::Virtio, 21, 4096);
    }
}

#[test]
fn function_level_reset_with_requests_in_flight_on_verilator() {
    if backend_or_skip(
        BackendKind::Verilator,
        "function_level_reset_with_requests_in_flight_on_verilator",
    ) {
        reset_in_flight(BackendKind::Verilator, How::Function, 21, 4096);
    }
}
