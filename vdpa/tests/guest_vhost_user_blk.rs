//! The main job end to end: a Linux guest's own virtio-blk driver does its
//! I/O through `vfpga run blk` (vhost-user), and the simulated hardware walks
//! the guest's rings. The guest writes a distinct pattern to every block,
//! reads it back and compares; afterwards the host's image must hold exactly
//! that pattern, and the device's counters must show the engine moved it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vfpga_host::blk::{check_pattern, fill_pattern};
use vfpga_tests::guest::{Guest, GuestAssets, Initramfs, repo_root};

const DISK: u64 = 8 << 20;
const SEED: u64 = 0x5EED_0B1C;

/// `vfpga run blk` in the background, its log in a file.
struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn start(work: &Path, socket: &Path, disk: &Path, queues: u16) -> Daemon {
        let log = work.join("daemon.log");
        let _ = std::fs::remove_file(socket);
        let child = Command::new(env!("CARGO_BIN_EXE_vfpga"))
            .args(["run", "blk", "--socket"])
            .arg(socket)
            .arg("--disk")
            .arg(disk)
            .args(["--queues", &queues.to_string()])
            .env(
                "RUST_LOG",
                std::env::var("VFPGA_DAEMON_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("starting vfpga run blk");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !socket.exists() {
            assert!(
                Instant::now() < deadline,
                "vfpga run blk did not listen within 60 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Daemon { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn counter(log: &str, name: &str) -> u64 {
    log.lines()
        .filter(|l| l.contains("device counters:"))
        .filter_map(|l| {
            l.split_whitespace()
                .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                .and_then(|v| v.parse().ok())
        })
        .max()
        .unwrap_or(0)
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

/// virtio 1.2 §5.2.6: writes land on the medium, reads return them.
#[test]
fn guest_vhost_user_blk_pattern_over_whole_disk() {
    let repo = repo_root(env!("CARGO_MANIFEST_DIR"));
    let Some(assets) = GuestAssets::find_or_skip(&repo, "guest_vhost_user_blk") else {
        return;
    };
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("vhost-user-blk");
    std::fs::create_dir_all(&work).unwrap();
    let disk = work.join("disk.img");
    // A fresh zeroed image every run: a stale pattern cannot pass.
    std::fs::File::create(&disk).unwrap().set_len(DISK).unwrap();
    let mut pattern = vec![0u8; DISK as usize];
    fill_pattern(SEED, 0, &mut pattern);
    std::fs::write(work.join("pattern"), &pattern).unwrap();

    let socket = work.join("vfpga.sock");
    let daemon = Daemon::start(&work, &socket, &disk, 1);

    let script = r#"
echo "VFPGA-SIZE $(cat /sys/block/vda/size)"
dd if=/pattern of=/dev/vda bs=64k conv=fsync
echo "VFPGA-RC write $?"
echo 3 > /proc/sys/vm/drop_caches
dd if=/dev/vda of=/readback bs=64k
echo "VFPGA-RC read $?"
cmp /pattern /readback && echo VFPGA-VERIFY-OK
"#;
    let mut initrd = Initramfs::new(&assets, &work).unwrap();
    initrd
        .file(&work.join("pattern"), "/pattern")
        .unwrap()
        .module("virtio_blk")
        .unwrap()
        .init(script)
        .unwrap();
    let cpio = initrd.build(&work.join("initramfs.cpio")).unwrap();
    let run = Guest::new(&assets, &cpio)
        .memory(512)
        .args([
            "-object".to_string(),
            "memory-backend-memfd,id=mem,size=512M,share=on".to_string(),
            "-numa".to_string(),
            "node,memdev=mem".to_string(),
            "-chardev".to_string(),
            format!("socket,id=vfpga0,path={}", socket.display()),
            "-device".to_string(),
            "vhost-user-blk-pci,chardev=vfpga0,num-queues=1".to_string(),
        ])
        .timeout(Duration::from_secs(
            std::env::var("VFPGA_GUEST_TIMEOUT").map_or(150, |s| s.parse().unwrap()),
        ))
        .run()
        .unwrap();
    std::fs::write(work.join("console.log"), &run.console).unwrap();
    // Give the daemon a moment to log the counters after QEMU hung up.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !daemon.log().contains("device counters:") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = daemon.log();
    eprintln!("guest ran {:.1} s", run.elapsed.as_secs_f64());
    for l in run
        .console
        .lines()
        .filter(|l| l.contains("VFPGA-") || l.contains("copied"))
    {
        eprintln!("guest: {l}");
    }
    for l in BufReader::new(log.as_bytes()).lines().map_while(Result::ok) {
        if l.contains("counters") || l.contains("ERROR") || l.contains("ring running") {
            eprintln!("daemon: {l}");
        }
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
    assert!(
        run.console.contains("VFPGA-RC write 0"),
        "write failed:\n{}",
        tail(&run.console)
    );
    assert!(
        run.console.contains("VFPGA-RC read 0"),
        "read failed:\n{}",
        tail(&run.console)
    );
    assert!(
        run.console.contains("VFPGA-VERIFY-OK"),
        "read-back differs from what was written:\n{}",
        tail(&run.console)
    );

    let image = std::fs::read(&disk).unwrap();
    assert_eq!(image.len() as u64, DISK);
    assert_eq!(
        check_pattern(SEED, 0, &image),
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
        read >= DISK,
        "device read {read} bytes of data, the guest wrote {DISK}"
    );
    assert!(
        written >= DISK,
        "device wrote {written} bytes of data, the guest read {DISK}"
    );
    assert!(
        requests >= 2 * DISK / (1 << 20),
        "too few requests: {requests}"
    );
}
