//! The main job end to end: a Linux guest's own virtio-blk driver does its
//! I/O through `vfpga run blk` (vhost-user), and the simulated hardware walks
//! the guest's rings. Each test writes a distinct pattern over the disk,
//! reads it back in the guest and compares; afterwards the host's image must
//! hold exactly that pattern, and the device's counters must show that the
//! engine moved it.

mod vhost_guest;

use std::path::Path;

use vfpga_host::blk::{check_pattern, fill_pattern};
use vfpga_tests::guest::{GuestAssets, GuestRun, repo_root};
use vhost_guest::{Daemon, counter, guest, initramfs, tail, workdir};

const DISK: u64 = 8 << 20;

/// A zeroed image and the pattern file the guest writes (seeded per test,
/// so that a stale image cannot pass).
fn disk_and_pattern(work: &Path, seed: u64) -> (std::path::PathBuf, std::path::PathBuf) {
    let disk = work.join("disk.img");
    std::fs::File::create(&disk).unwrap().set_len(DISK).unwrap();
    let mut pattern = vec![0u8; DISK as usize];
    fill_pattern(seed, 0, &mut pattern);
    let p = work.join("pattern");
    std::fs::write(&p, &pattern).unwrap();
    (disk, p)
}

/// Checks the guest's markers, the host image and the device counters.
/// `guest_wrote` is what the device must have read from guest memory (the data
/// the guest wrote in this daemon's lifetime).
fn check(
    run: &GuestRun,
    daemon: &Daemon,
    disk: &Path,
    seed: u64,
    guest_wrote: u64,
    markers: &[&str],
) -> String {
    let log = daemon.wait_counters();
    eprintln!("guest ran {:.1} s", run.elapsed.as_secs_f64());
    for l in run.console.lines().filter(|l| l.contains("VFPGA-")) {
        eprintln!("guest: {l}");
    }
    for l in log.lines().filter(|l| {
        l.contains("counters") || l.contains("ERROR") || l.contains("ring ") || l.contains("WARN")
    }) {
        eprintln!("daemon: {l}");
    }
    assert!(
        !run.timed_out,
        "guest timed out; console:\n{}\ndaemon:\n{}",
        tail(&run.console),
        tail(&log)
    );
    assert!(
        run.completed,
        "guest init did not finish; console:\n{}",
        tail(&run.console)
    );
    assert!(
        run.console.contains(&format!("VFPGA-SIZE {}", DISK / 512)),
        "guest saw the wrong capacity; console:\n{}",
        tail(&run.console)
    );
    for m in markers {
        assert!(
            run.console.contains(m),
            "missing `{m}` in the console:\n{}\ndaemon:\n{}",
            tail(&run.console),
            tail(&log)
        );
    }
    let image = std::fs::read(disk).unwrap();
    assert_eq!(image.len() as u64, DISK);
    assert_eq!(
        check_pattern(seed, 0, &image),
        None,
        "the host image does not hold the pattern"
    );
    // The engine itself moved every byte: it read the written data from
    // guest memory, and wrote the read-back into guest memory.
    let requests = counter(&log, "requests");
    let read = counter(&log, "bytes_read");
    let written = counter(&log, "bytes_written");
    eprintln!("device: requests={requests} bytes_read={read} bytes_written={written}");
    assert!(
        read >= guest_wrote,
        "device read {read} bytes, the guest wrote {guest_wrote}"
    );
    assert!(
        written >= DISK,
        "device wrote {written} bytes, the guest read {DISK}"
    );
    assert!(
        requests >= 2 * DISK / (1 << 20),
        "too few requests: {requests}"
    );
    log
}

/// Reads the whole disk back without the page cache and compares.
const VERIFY: &str = r#"
echo 3 > /proc/sys/vm/drop_caches
dd if=/dev/vda of=/readback bs=64k iflag=direct
echo "VFPGA-RC read $?"
cmp /pattern /readback && echo VFPGA-VERIFY-OK
"#;

/// One test's world: guest assets, a work directory, a zeroed image with
/// the pattern file to write (seeded per test, so that a stale image cannot
/// pass), and the daemon serving the image with `queues` queues.
struct Setup {
    assets: GuestAssets,
    work: std::path::PathBuf,
    seed: u64,
    disk: std::path::PathBuf,
    pattern: std::path::PathBuf,
    socket: std::path::PathBuf,
    daemon: Daemon,
}

/// None (with the reason printed) when the guest assets are missing
/// outside CI.
fn setup(name: &str, seed: u64, queues: u16) -> Option<Setup> {
    let repo = repo_root(env!("CARGO_MANIFEST_DIR"));
    let assets = GuestAssets::find_or_skip(&repo, name)?;
    let work = workdir(name);
    let (disk, pattern) = disk_and_pattern(&work, seed);
    let socket = work.join("vfpga.sock");
    let daemon = Daemon::start(&work, &socket, &disk, queues);
    Some(Setup {
        assets,
        work,
        seed,
        disk,
        pattern,
        socket,
        daemon,
    })
}

/// virtio 1.2 §5.2.6: writes land on the medium, reads return them.
#[test]
fn guest_vhost_user_blk_pattern_over_whole_disk() {
    let Some(Setup {
        assets,
        work,
        seed,
        disk,
        pattern,
        socket,
        daemon,
    }) = setup("guest_vhost_user_blk", 0x5EED_0B1C, 1)
    else {
        return;
    };
    let script = format!(
        r#"
echo "VFPGA-SIZE $(cat /sys/block/vda/size)"
dd if=/pattern of=/dev/vda bs=64k conv=fsync
echo "VFPGA-RC write $?"
{VERIFY}"#
    );
    let cpio = initramfs(&assets, &work, &[(&pattern, "/pattern")], &script);
    let run = guest(&assets, &cpio, &socket, 1, false, 240).run().unwrap();
    std::fs::write(work.join("console.log"), &run.console).unwrap();
    check(
        &run,
        &daemon,
        &disk,
        seed,
        DISK,
        &["VFPGA-RC write 0", "VFPGA-RC read 0", "VFPGA-VERIFY-OK"],
    );
}

/// virtio 1.2 §5.2.2 (VIRTIO_BLK_F_MQ): two queues, one writer pinned to
/// each CPU (blk-mq maps CPU n to queue n), both queues served by the
/// device at once.
#[test]
fn guest_vhost_user_blk_two_queues_two_writers() {
    let Some(Setup {
        assets,
        work,
        seed,
        disk,
        pattern,
        socket,
        daemon,
    }) = setup("guest_vhost_user_blk_mq", 0x2_0B1C, 2)
    else {
        return;
    };
    let half = DISK / 2 / 65536;
    let script = format!(
        r#"
echo "VFPGA-SIZE $(cat /sys/block/vda/size)"
echo "VFPGA-QUEUES $(ls /sys/block/vda/mq | wc -l)"
(taskset 1 dd if=/pattern of=/dev/vda bs=64k count={half} oflag=direct; echo "VFPGA-RC writer0 $?") &
(taskset 2 dd if=/pattern of=/dev/vda bs=64k skip={half} seek={half} count={half} oflag=direct; echo "VFPGA-RC writer1 $?") &
wait
{VERIFY}"#
    );
    let cpio = initramfs(&assets, &work, &[(&pattern, "/pattern")], &script);
    let run = guest(&assets, &cpio, &socket, 2, false, 300).run().unwrap();
    std::fs::write(work.join("console.log"), &run.console).unwrap();
    let log = check(
        &run,
        &daemon,
        &disk,
        seed,
        DISK,
        &[
            "VFPGA-QUEUES 2",
            "VFPGA-RC writer0 0",
            "VFPGA-RC writer1 0",
            "VFPGA-RC read 0",
            "VFPGA-VERIFY-OK",
        ],
    );
    // Both rings ran on the device and both moved requests: each stopped
    // past index 0 when the guest powered off.
    for q in 0..2 {
        let served = log
            .lines()
            .filter(|l| l.contains("ring stopped") && l.contains(&format!("queue={q} ")))
            .any(|l| !l.trim_end().ends_with("base=0"));
        assert!(served, "queue {q} served no request:\n{}", tail(&log));
    }
}

/// virtio 1.2 §3.1.1 / §2.4 (device reset): the guest unbinds virtio_blk in
/// the middle of a write (the driver resets the device with requests in
/// flight), binds it again, and the disk works: the whole pattern written
/// afterwards reads back.
#[test]
fn guest_vhost_user_blk_driver_reset_mid_io() {
    let Some(Setup {
        assets,
        work,
        seed,
        disk,
        pattern,
        socket,
        daemon,
    }) = setup("guest_vhost_user_blk_reset", 0x3_0B1C, 1)
    else {
        return;
    };
    let script = format!(
        r#"
echo "VFPGA-SIZE $(cat /sys/block/vda/size)"
D=$(basename $(readlink /sys/block/vda/device))
dd if=/pattern of=/dev/vda bs=64k oflag=direct 2>/dev/null &
P=$!
sleep 1
echo $D > /sys/bus/virtio/drivers/virtio_blk/unbind
echo "VFPGA-RC unbind $?"
wait $P
echo "VFPGA-INTERRUPTED $?"
echo $D > /sys/bus/virtio/drivers/virtio_blk/bind
echo "VFPGA-RC bind $?"
for i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/vda ] && break; sleep 1; done
dd if=/pattern of=/dev/vda bs=64k oflag=direct
echo "VFPGA-RC write $?"
{VERIFY}"#
    );
    let cpio = initramfs(&assets, &work, &[(&pattern, "/pattern")], &script);
    let run = guest(&assets, &cpio, &socket, 1, false, 300).run().unwrap();
    std::fs::write(work.join("console.log"), &run.console).unwrap();
    let log = check(
        &run,
        &daemon,
        &disk,
        seed,
        DISK,
        &[
            "VFPGA-RC unbind 0",
            "VFPGA-INTERRUPTED",
            "VFPGA-RC bind 0",
            "VFPGA-RC write 0",
            "VFPGA-RC read 0",
            "VFPGA-VERIFY-OK",
        ],
    );
    // The reset reached the device: the ring was stopped and started again.
    let starts = log.lines().filter(|l| l.contains("ring running")).count();
    assert!(
        starts >= 3,
        "firmware, first and second driver: {starts} ring starts"
    );
}

/// vhost-user reconnect (QEMU's `reconnect-ms`): the daemon is killed and
/// restarted while the guest idles; QEMU reconnects, the new daemon resumes
/// the ring where the device left it, and I/O continues with nothing lost.
#[test]
fn guest_vhost_user_blk_daemon_restart_while_idle() {
    let Some(Setup {
        assets,
        work,
        seed,
        disk,
        pattern,
        socket,
        mut daemon,
    }) = setup("guest_vhost_user_blk_reconnect", 0x4_0B1C, 1)
    else {
        return;
    };
    let half = DISK / 2 / 65536;
    let script = format!(
        r#"
echo "VFPGA-SIZE $(cat /sys/block/vda/size)"
dd if=/pattern of=/dev/vda bs=64k count={half} oflag=direct
echo "VFPGA-RC first $?"
echo VFPGA-IDLE
sleep 15
dd if=/pattern of=/dev/vda bs=64k skip={half} seek={half} count={half} oflag=direct
echo "VFPGA-RC second $?"
{VERIFY}"#
    );
    let cpio = initramfs(&assets, &work, &[(&pattern, "/pattern")], &script);
    let mut running = guest(&assets, &cpio, &socket, 1, true, 300)
        .spawn()
        .unwrap();
    assert!(
        running.wait_for_console("VFPGA-IDLE"),
        "the guest never got to its idle point:\n{}\ndaemon:\n{}",
        tail(&running.console()),
        tail(&daemon.log())
    );
    daemon.restart();
    let run = running.wait().unwrap();
    std::fs::write(work.join("console.log"), &run.console).unwrap();
    let log = check(
        &run,
        &daemon,
        &disk,
        seed,
        DISK / 2,
        &[
            "VFPGA-RC first 0",
            "VFPGA-RC second 0",
            "VFPGA-RC read 0",
            "VFPGA-VERIFY-OK",
        ],
    );
    let connects = log.matches("frontend connected").count();
    assert!(connects >= 2, "QEMU did not reconnect:\n{}", tail(&log));
}
