//! Guest-side throughput through the device beside the same guest against
//! `qemu-storage-daemon --export type=vhost-user-blk` on the same kind of
//! image: direct 4 KiB and 64 KiB writes and reads, timed by the guest's
//! `dd`. It prints the figures and their ratio; it asserts only that every
//! run completed and moved the bytes (never on time).
//!
//! The vfpga figures are the simulator's (Verilator, cycle by cycle on the
//! host CPU): they measure the simulation, not the hardware; the hardware's
//! own rate in simulated time is `vfpga bench sim`'s.

mod vhost_guest;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vfpga_tests::guest::{GuestAssets, repo_root};
use vhost_guest::{Daemon, guest, initramfs, tail, workdir};

const DISK: u64 = 8 << 20;

/// (label, block size, blocks): 2 MiB at 4 KiB, 8 MiB at 64 KiB.
const RUNS: [(&str, u64, u64); 2] = [("4k", 4096, 512), ("64k", 65536, 128)];

/// Each dd timed with the guest's /proc/uptime (10 ms resolution): busybox
/// dd prints no rate.
fn script() -> String {
    let mut s = String::from(
        "echo \"VFPGA-SIZE $(cat /sys/block/vda/size)\"\n\
         up() { cut -d' ' -f1 /proc/uptime; }\n",
    );
    for (label, bs, n) in RUNS {
        for (op, dd) in [
            (
                "write",
                format!("if=/dev/zero of=/dev/vda bs={bs} count={n} oflag=direct"),
            ),
            (
                "read",
                format!("if=/dev/vda of=/dev/null bs={bs} count={n} iflag=direct"),
            ),
        ] {
            s.push_str(&format!(
                "t0=$(up); dd {dd} 2>/dev/null; rc=$?; t1=$(up)\n\
                 echo \"VFPGA-BENCH {op} {label} $rc {} $t0 $t1\"\n",
                bs * n
            ));
        }
    }
    s
}

/// (op, label, bytes, seconds) from the `VFPGA-BENCH op label rc bytes t0
/// t1` lines; a failed dd is an error.
fn parse(console: &str) -> Vec<(String, String, u64, f64)> {
    console
        .lines()
        .filter_map(|l| {
            let rest = &l[l.find("VFPGA-BENCH ")? + 12..];
            let w: Vec<&str> = rest.split_whitespace().collect();
            let [op, label, rc, bytes, t0, t1] = w[..] else {
                return None;
            };
            assert_eq!(rc, "0", "dd {op} {label} failed in the guest");
            let secs = t1.parse::<f64>().ok()? - t0.parse::<f64>().ok()?;
            Some((op.into(), label.into(), bytes.parse().ok()?, secs.max(0.01)))
        })
        .collect()
}

fn run_guest(
    assets: &GuestAssets,
    work: &Path,
    socket: &Path,
    what: &str,
) -> Vec<(String, String, u64, f64)> {
    let cpio = initramfs(assets, work, &[], &script());
    let run = guest(assets, &cpio, socket, 1, false, 600).run().unwrap();
    std::fs::write(work.join(format!("console-{what}.log")), &run.console).unwrap();
    assert!(
        run.completed && !run.timed_out,
        "{what}: guest did not finish:\n{}",
        tail(&run.console)
    );
    assert!(run.console.contains(&format!("VFPGA-SIZE {}", DISK / 512)));
    let r = parse(&run.console);
    assert_eq!(
        r.len(),
        2 * RUNS.len(),
        "{what}: dd results:\n{}",
        tail(&run.console)
    );
    for (op, label, bytes, _) in &r {
        let (_, bs, n) = RUNS.iter().find(|x| x.0 == label).unwrap();
        assert_eq!(*bytes, bs * n, "{what}: {op} {label} moved {bytes} bytes");
    }
    r
}

#[test]
fn guest_vhost_user_blk_throughput_beside_qemu_storage_daemon() {
    let repo = repo_root(env!("CARGO_MANIFEST_DIR"));
    let Some(assets) = GuestAssets::find_or_skip(&repo, "guest_vhost_user_bench") else {
        return;
    };
    let work = workdir("vhost-user-bench");
    let disk = work.join("disk.img");
    std::fs::File::create(&disk).unwrap().set_len(DISK).unwrap();

    let socket = work.join("vfpga.sock");
    let daemon = Daemon::start(&work, &socket, &disk, 1);
    let ours = run_guest(&assets, &work, &socket, "vfpga");
    let log = daemon.wait_counters();
    drop(daemon);

    // The reference: QEMU's own vhost-user-blk export of the same image.
    let qsd_sock = work.join("qsd.sock");
    let _ = std::fs::remove_file(&qsd_sock);
    let mut qsd = Command::new("qemu-storage-daemon")
        .args([
            "--blockdev",
            &format!("driver=file,node-name=file0,filename={}", disk.display()),
            "--blockdev",
            "driver=raw,node-name=disk0,file=file0",
            "--export",
            &format!(
                "type=vhost-user-blk,id=exp0,node-name=disk0,writable=on,num-queues=1,addr.type=unix,addr.path={}",
                qsd_sock.display()
            ),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(work.join("qsd.log")).unwrap())
        .spawn()
        .expect("qemu-storage-daemon (scripts/setup installs qemu-utils)");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !qsd_sock.exists() {
        assert!(
            Instant::now() < deadline,
            "qemu-storage-daemon did not listen"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let theirs = run_guest(&assets, &work, &qsd_sock, "qemu-storage-daemon");
    let _ = qsd.kill();
    let _ = qsd.wait();

    println!("guest direct I/O, 1 queue, TCG guest (MB/s = 10^6 bytes/s)");
    println!(
        "{:<10} {:>14} {:>10} {:>14} {:>10} {:>8}",
        "", "vfpga MB/s", "IOPS", "qsd MB/s", "IOPS", "ratio"
    );
    for (op, label, bytes, secs) in &ours {
        let (_, bs, _) = RUNS.iter().find(|x| x.0 == label).unwrap();
        let t = theirs.iter().find(|x| &x.0 == op && &x.1 == label).unwrap();
        let (mb, iops) = (
            *bytes as f64 / secs / 1e6,
            *bytes as f64 / *bs as f64 / secs,
        );
        let (tmb, tiops) = (t.2 as f64 / t.3 / 1e6, t.2 as f64 / *bs as f64 / t.3);
        println!(
            "{:<10} {mb:>14.2} {iops:>10.0} {tmb:>14.2} {tiops:>10.0} {:>8.3}",
            format!("{op} {label}"),
            mb / tmb
        );
    }
    for l in log.lines().filter(|l| l.contains("device counters")) {
        println!("vfpga {}", &l[l.find("device counters").unwrap()..]);
    }
}
