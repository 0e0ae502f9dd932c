//! vfpga-host's own virtio-pci transport and blk driver against the
//! simulated board, on both engine backends: bring-up (virtio 1.2 §3.1.1)
//! and I/O on several queues with every byte of the disk verified (§5.2.6).

mod simdev;

use std::sync::Arc;

use simdev::{PATIENCE, backend_or_skip, machine, sim};
use vfpga_abi::{features as f, status};
use vfpga_host::Device;
use vfpga_host::blk::{BlkDriver, BlkOptions, ReqKind, Request, check_pattern, fill_pattern};
use vfpga_sim::backend::BackendKind;
use vfpga_sim::rng::SimRng;

fn bring_up(kind: BackendKind) {
    let sectors = 64;
    let dev = sim(kind, sectors, machine(kind));
    let drv = BlkDriver::new(
        dev.clone() as Arc<dyn Device>,
        BlkOptions {
            queues: 2,
            depth: 2,
            request_size: 4096,
            timeout: PATIENCE,
        },
    )
    .unwrap();
    let pci = drv.pci();
    assert_eq!(
        pci.status().unwrap(),
        status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK | status::DRIVER_OK,
        "§3.1.1: every step of the initialisation stuck"
    );
    // The transport accepts VERSION_1 and ACCESS_PLATFORM; the driver what
    // it understands; nothing the device did not offer.
    let transport = f::bit(f::VERSION_1) | f::bit(f::ACCESS_PLATFORM);
    assert_eq!(
        pci.negotiated(),
        f::BLK_OFFERED & (BlkDriver::FEATURES | transport),
        "negotiated {:#x}",
        pci.negotiated()
    );
    assert!(pci.has(f::BLK_MQ) && pci.has(f::BLK_FLUSH) && pci.has(f::VERSION_1));
    assert_eq!(drv.capacity(), sectors, "capacity read from device config");
    for q in 0..2 {
        assert!(pci.queue_enabled(q).unwrap(), "queue {q} enabled");
    }
    let vendor = pci
        .vendor()
        .expect("a vfpga function has its vendor region");
    let (cause, _, _) = vendor.error().unwrap();
    assert!(
        cause.is_none_or(|c| c == vfpga_abi::vendor::ErrorCause::None),
        "no error cause after bring-up: {cause:?}"
    );
    pci.check_needs_reset().unwrap();
}

#[test]
fn spec_3_1_1_bring_up_through_virtio_pci_on_rust_hdl() {
    bring_up(BackendKind::RustHdl);
}

#[test]
fn spec_3_1_1_bring_up_through_virtio_pci_on_verilator() {
    if backend_or_skip(
        BackendKind::Verilator,
        "spec_3_1_1_bring_up_through_virtio_pci_on_verilator",
    ) {
        bring_up(BackendKind::Verilator);
    }
}

/// Extents covering `sectors` exactly once, of 1 to `max_sectors` sectors
/// each, in a seeded random order.
fn extents(sectors: u64, max_sectors: u64, seed: u64) -> Vec<(u64, u64)> {
    let mut rng = SimRng::new(seed);
    let mut v = Vec::new();
    let mut s = 0;
    while s < sectors {
        let n = (1 + rng.up_to(max_sectors - 1)).min(sectors - s);
        v.push((s, n));
        s += n;
    }
    for i in (1..v.len()).rev() {
        let j = rng.up_to(i as u64) as usize;
        v.swap(i, j);
    }
    v
}

fn requests(kind: ReqKind, ext: &[(u64, u64)]) -> Vec<Request> {
    ext.iter()
        .map(|&(sector, n)| Request {
            kind,
            sector,
            len: (n * 512) as u32,
        })
        .collect()
}

/// Writes the whole disk in random extents, flushes, overwrites the first
/// half with another seed, then reads everything back in other extents
/// and checks every byte against the seed that last wrote it.
fn every_byte_verified(kind: BackendKind, sectors: u64, queues: u16, depth: u16, max: u64) {
    let dev = sim(kind, sectors, machine(kind));
    let mut drv = BlkDriver::new(
        dev.clone() as Arc<dyn Device>,
        BlkOptions {
            queues,
            depth,
            request_size: (max * 512) as u32,
            timeout: PATIENCE,
        },
    )
    .unwrap();
    let counters = |d: &BlkDriver| d.pci().vendor().unwrap().counters().unwrap()[0];
    let before = counters(&drv);
    let (seed_a, seed_b) = (0xA1, 0xB2);
    let half = sectors / 2;
    let seed_of = |sector: u64| if sector < half { seed_b } else { seed_a };

    let w = extents(sectors, max, 1);
    let st = drv
        .run(
            requests(ReqKind::Write, &w),
            |r, buf| fill_pattern(seed_a, r.sector * 512, buf),
            |_, _| Ok(()),
        )
        .unwrap();
    assert_eq!(st.bytes, sectors * 512);
    let flush = [Request {
        kind: ReqKind::Flush,
        sector: 0,
        len: 0,
    }];
    drv.run(flush, |_, _| {}, |_, _| Ok(())).unwrap();
    let w2 = extents(half, max, 2);
    drv.run(
        requests(ReqKind::Write, &w2),
        |r, buf| fill_pattern(seed_b, r.sector * 512, buf),
        |_, _| Ok(()),
    )
    .unwrap();
    // Read extents must not straddle the seed boundary: split the disk.
    let mut rd = extents(half, max, 3);
    rd.extend(
        extents(sectors - half, max, 4)
            .into_iter()
            .map(|(s, n)| (s + half, n)),
    );
    let mut checked = 0u64;
    let st = drv
        .run(
            requests(ReqKind::Read, &rd),
            |_, _| {},
            |r, buf| {
                checked += buf.len() as u64;
                match check_pattern(seed_of(r.sector), r.sector * 512, buf) {
                    None => Ok(()),
                    Some((bad, first)) => Err(format!(
                        "read of sector {} ({} bytes): {bad} bad bytes, first at disk offset {first:#x}",
                        r.sector, r.len
                    )),
                }
            },
        )
        .unwrap();
    assert_eq!(checked, sectors * 512, "every byte of the disk was checked");
    assert!(st.interrupts > 0, "completions came by MSI-X");
    // The hardware counted exactly the requests we sent (writes, flush,
    // overwrites, reads).
    let sent = (w.len() + 1 + w2.len() + rd.len()) as u64;
    assert_eq!(counters(&drv) - before, sent, "the requests counter");
    assert_eq!(dev.bus().iommu().faults(), 0, "no DMA outside the mappings");
    drv.pci().check_needs_reset().unwrap();
}

#[test]
fn spec_5_2_6_every_byte_verified_on_two_queues_on_rust_hdl() {
    // rust-hdl runs ~3 k cycles/s: 16 KiB in extents of up to 2 KiB.
    every_byte_verified(BackendKind::RustHdl, 32, 2, 2, 4);
}

#[test]
fn spec_5_2_6_every_byte_verified_on_two_queues_on_verilator() {
    if backend_or_skip(
        BackendKind::Verilator,
        "spec_5_2_6_every_byte_verified_on_two_queues_on_verilator",
    ) {
        // 1 MiB in extents of up to 32 KiB, 8 in flight per queue.
        every_byte_verified(BackendKind::Verilator, 2048, 2, 8, 64);
    }
}

#[test]
fn spec_5_2_6_request_beyond_capacity_is_an_error_and_the_device_goes_on() {
    // A request past the end gets VIRTIO_BLK_S_IOERR; the device stays
    // usable (it is the driver's mistake, not a device fault).
    let kind = BackendKind::default_available();
    let sectors = 16;
    let dev = sim(kind, sectors, machine(kind));
    let mut drv = BlkDriver::new(
        dev.clone() as Arc<dyn Device>,
        BlkOptions {
            queues: 1,
            // One slot: the failed request must give it back, or the
            // next run has none and times out.
            depth: 1,
            request_size: 4096,
            timeout: PATIENCE,
        },
    )
    .unwrap();
    let past_end = [Request {
        kind: ReqKind::Read,
        sector: sectors - 4,
        len: 4096,
    }];
    let e = drv
        .run(past_end, |_, _| {}, |_, _| Ok(()))
        .expect_err("a read past the end fails");
    assert!(
        e.to_string().contains("failed with status 1"),
        "IOERR is status 1: {e}"
    );
    drv.pci().check_needs_reset().unwrap();
    let ok = [Request {
        kind: ReqKind::Write,
        sector: sectors - 8,
        len: 4096,
    }];
    drv.run(ok, |r, b| fill_pattern(5, r.sector * 512, b), |_, _| Ok(()))
        .unwrap();
    let back = [Request {
        kind: ReqKind::Read,
        sector: sectors - 8,
        len: 4096,
    }];
    drv.run(
        back,
        |_, _| {},
        |r, b| match check_pattern(5, r.sector * 512, b) {
            None => Ok(()),
            Some((bad, _)) => Err(format!("{bad} bad bytes")),
        },
    )
    .unwrap();
}

/// A doorbell written after the board has gone idle (and its clock thread
/// to sleep) is served. Before the hardware's idle output, a doorbell taken
/// in one cycle did not count as activity and the board slept on with it
/// latched: the request hung until the host next touched BAR0.
fn notification_after_a_pause(kind: BackendKind, pause: std::time::Duration) {
    let dev = sim(kind, 16, machine(kind));
    let mut drv = BlkDriver::new(
        dev.clone() as Arc<dyn Device>,
        BlkOptions {
            queues: 1,
            depth: 2,
            request_size: 4096,
            timeout: PATIENCE,
        },
    )
    .unwrap();
    for round in 0..3u64 {
        // Long enough for the board to go idle and sleep (wall time only
        // lets it get there; nothing is measured).
        std::thread::sleep(pause);
        let r = [Request {
            kind: ReqKind::Write,
            sector: 8 * (round % 2),
            len: 4096,
        }];
        drv.run(
            r,
            |r, b| fill_pattern(round, r.sector * 512, b),
            |_, _| Ok(()),
        )
        .unwrap_or_else(|e| panic!("round {round}: {e}"));
    }
}

#[test]
fn spec_4_1_5_2_notification_to_an_idle_board_is_served_on_rust_hdl() {
    notification_after_a_pause(BackendKind::RustHdl, std::time::Duration::from_secs(2));
}

#[test]
fn spec_4_1_5_2_notification_to_an_idle_board_is_served_on_verilator() {
    if backend_or_skip(
        BackendKind::Verilator,
        "spec_4_1_5_2_notification_to_an_idle_board_is_served_on_verilator",
    ) {
        notification_after_a_pause(
            BackendKind::Verilator,
            std::time::Duration::from_millis(300),
        );
    }
}
