//! VFIO for real, against a device nobody here wrote: a QEMU guest whose
//! virtio-blk function (behind an emulated Intel IOMMU) is bound to
//! vfio-pci and driven by `vfpga selftest blk`, with our driver and with
//! the `virtio-drivers` crate's. The disk image is checked on the host
//! afterwards, so the data really went through QEMU's device.

use std::path::Path;
use std::time::Duration;

use vfpga_host::blk::check_pattern;
use vfpga_tests::guest::{Guest, GuestAssets, Initramfs, monitor_command, repo_root};

const BDF: &str = "0000:00:04.0";
const DISK: u64 = 32 << 20;
/// The virtio-drivers pass rewrites the start of the disk with its own seed.
const SECOND_PASS: u64 = 8 << 20;
const SEED_VFPGA: u64 = 111;
/// Size the disk is resized to while the vfpga driver watches.
const RESIZED: u64 = 48 << 20;
const SEED_VIRTIO_DRIVERS: u64 = 222;

fn check_image(img: &Path) {
    let data = std::fs::read(img).expect("reading the disk image");
    assert_eq!(data.len() as u64, RESIZED);
    let (a, b) = data[..DISK as usize].split_at(SECOND_PASS as usize);
    assert_eq!(
        check_pattern(SEED_VIRTIO_DRIVERS, 0, a),
        None,
        "the virtio-drivers pattern is not on the host image"
    );
    assert_eq!(
        check_pattern(SEED_VFPGA, SECOND_PASS, b),
        None,
        "the vfpga driver's pattern is not on the host image"
    );
}

#[test]
fn guest_vfio_selftest_blk_against_qemu_virtio_blk() {
    let repo = repo_root(env!("CARGO_MANIFEST_DIR"));
    let Some(assets) = GuestAssets::find_or_skip(&repo, "guest_vfio_selftest_blk") else {
        return;
    };
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("vfio-guest");
    std::fs::create_dir_all(&work).unwrap();
    let img = work.join("disk.img");
    // A fresh zeroed disk each run: a stale pattern cannot pass.
    let f = std::fs::File::create(&img).unwrap();
    f.set_len(DISK).unwrap();
    drop(f);

    let script = format!(
        r#"
BDF={BDF}
vfpga selftest blk --device vfio:$BDF --size 1M
echo "VFPGA-RC wrong-driver $?"
echo $BDF > /sys/bus/pci/devices/$BDF/driver/unbind
echo vfio-pci > /sys/bus/pci/devices/$BDF/driver_override
echo $BDF > /sys/bus/pci/drivers_probe
vfpga selftest blk --device vfio:$BDF --queues 3
echo "VFPGA-RC too-many-queues $?"
vfpga selftest blk --device vfio:$BDF --queues 1 --depth 1 --size 2M --request-size 4K --seed 333
echo "VFPGA-RC vfpga-qd1 $?"
vfpga selftest blk --device vfio:$BDF --queues 2 --depth 8 --seed {SEED_VFPGA} --expect-config-change 120
echo "VFPGA-RC vfpga $?"
vfpga selftest blk --device vfio:$BDF --driver virtio-drivers --size {SECOND_PASS} --seed {SEED_VIRTIO_DRIVERS}
echo "VFPGA-RC virtio-drivers $?"
"#
    );
    let mut initrd = Initramfs::new(&assets, &work).unwrap();
    initrd
        .binary(Path::new(env!("CARGO_BIN_EXE_vfpga")), "/bin/vfpga")
        .unwrap()
        .module("vfio")
        .unwrap()
        .module("vfio_iommu_type1")
        .unwrap()
        .module("vfio-pci")
        .unwrap()
        .init(&script)
        .unwrap();
    let cpio = initrd.build(&work.join("initramfs.cpio")).unwrap();

    let monitor = work.join("monitor.sock");
    let _ = std::fs::remove_file(&monitor);
    let mut guest = Guest::new(&assets, &cpio)
        .cmdline("intel_iommu=on")
        .args([
            "-device".to_string(),
            "intel-iommu".to_string(),
            "-drive".to_string(),
            format!("file={},format=raw,if=none,id=d1", img.display()),
            "-device".to_string(),
            "virtio-blk-pci,drive=d1,disable-legacy=on,iommu_platform=on,num-queues=2,addr=0x4"
                .to_string(),
        ])
        .args([
            "-monitor".to_string(),
            format!("unix:{},server=on,wait=off", monitor.display()),
        ])
        .timeout(Duration::from_secs(300))
        .spawn()
        .unwrap();
    // §4.1.5.3: resizing the disk under the running driver must raise a
    // configuration-change interrupt that the selftest waits for.
    let resized = guest.wait_for_console("waiting up to 120 s for a configuration change");
    if resized {
        // HMP reads a bare number as MiB: say the unit.
        let reply =
            monitor_command(&monitor, &format!("block_resize d1 {}M", RESIZED >> 20)).unwrap();
        assert!(!reply.contains("Error"), "block_resize: {reply}");
    }
    let run = guest.wait().unwrap();

    // The whole console stays next to the image for debugging.
    std::fs::write(work.join("console.log"), &run.console).unwrap();
    // The figures, for whoever reads the test log.
    for line in run.console.lines().filter(|l| {
        l.starts_with("write")
            || l.starts_with("read")
            || l.starts_with("flush")
            || l.starts_with("dma")
            || l.starts_with("config")
            || l.starts_with("device")
            || l.contains("selftest blk")
            || l.contains("VFPGA-")
    }) {
        eprintln!("guest: {line}");
    }
    eprintln!("guest ran {:.1} s", run.elapsed.as_secs_f64());
    let tail = || {
        run.console
            .lines()
            .rev()
            .take(60)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(!run.timed_out, "guest timed out; console tail:\n{}", tail());
    assert!(
        run.completed,
        "guest init did not finish; console tail:\n{}",
        tail()
    );
    // Bound to virtio-pci, the error names the driver and how to rebind.
    assert!(
        run.console.contains("VFPGA-RC wrong-driver 1")
            && run.console.contains("bound to driver `virtio-pci`")
            && run.console.contains("driver_override"),
        "no clear wrong-driver error; console tail:\n{}",
        tail()
    );
    assert!(
        run.console
            .contains(&format!("capacity now {} sectors", RESIZED / 512)),
        "no configuration-change interrupt with the new capacity; console tail:\n{}",
        tail()
    );
    assert!(
        run.console.contains("refused mappings beyond the last IOVA range, in a reserved IOVA window, over an existing mapping"),
        "DMA mapping checks missing; console tail:\n{}",
        tail()
    );
    // QEMU's device has no vfpga vendor capability; the driver works without.
    assert!(
        run.console.contains("vendor region absent"),
        "vendor region not reported absent; console tail:\n{}",
        tail()
    );
    assert!(
        run.console.contains("VFPGA-RC too-many-queues 1")
            && run
                .console
                .contains("--queues: 3 requested, the device has 2"),
        "no clear error for --queues beyond the device; console tail:\n{}",
        tail()
    );
    assert!(
        run.console.contains("VFPGA-RC vfpga-qd1 0"),
        "vfpga driver selftest at queue depth 1 failed; console tail:\n{}",
        tail()
    );
    assert!(
        run.console.contains("VFPGA-RC vfpga 0"),
        "vfpga driver selftest failed; console tail:\n{}",
        tail()
    );
    assert!(
        run.console.contains("VFPGA-RC virtio-drivers 0"),
        "virtio-drivers selftest failed; console tail:\n{}",
        tail()
    );
    assert_eq!(
        run.console.matches(vfpga_vdpa::selftest::PASS).count(),
        3,
        "expected three PASS lines; console tail:\n{}",
        tail()
    );
    check_image(&img);
}
