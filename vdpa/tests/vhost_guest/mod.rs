//! Shared by the vhost-user guest tests: `vfpga run blk` or `vfpga run net`
//! in the background (restartable), and a QEMU guest attached to it with
//! `vhost-user-blk-pci` or `-netdev vhost-user` + `virtio-net-pci`.
//!
//! `VFPGA_DAEMON_LOG` sets the daemon's `RUST_LOG` (default `info`), e.g.
//! `info,vfpga_sim::dma=trace` to see every DMA transaction;
//! `VFPGA_GUEST_TIMEOUT` (seconds) overrides a test's guest time limit.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vfpga_tests::guest::{Guest, GuestAssets, Initramfs};

/// `vfpga run blk` in the background, its log in a file (appended to
/// across restarts).
pub struct Daemon {
    child: Option<Child>,
    log: PathBuf,
    socket: PathBuf,
    args: Vec<String>,
}

impl Daemon {
    /// Starts the daemon on `socket` over the image `disk` with `queues`
    /// queues, and waits until it listens.
    pub fn start(work: &Path, socket: &Path, disk: &Path, queues: u16) -> Daemon {
        let log = work.join("daemon.log");
        let _ = std::fs::remove_file(&log);
        let mut d = Daemon {
            child: None,
            log,
            socket: socket.to_path_buf(),
            args: vec![
                "run".into(),
                "blk".into(),
                "--socket".into(),
                socket.display().to_string(),
                "--disk".into(),
                disk.display().to_string(),
                "--queues".into(),
                queues.to_string(),
            ],
        };
        d.spawn();
        d
    }

    /// Starts `vfpga run net` on `socket` with `args` after the socket
    /// (`--port`, `--mac`, ...), logging to `work/<log>`, and waits until it
    /// listens.
    pub fn start_net(work: &Path, log: &str, socket: &Path, args: &[String]) -> Daemon {
        let log = work.join(log);
        let _ = std::fs::remove_file(&log);
        let mut all: Vec<String> = vec![
            "run".into(),
            "net".into(),
            "--socket".into(),
            socket.display().to_string(),
        ];
        all.extend(args.iter().cloned());
        let mut d = Daemon {
            child: None,
            log,
            socket: socket.to_path_buf(),
            args: all,
        };
        d.spawn();
        d
    }

    fn spawn(&mut self) {
        let _ = std::fs::remove_file(&self.socket);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_vfpga"))
            .args(&self.args)
            .env(
                "RUST_LOG",
                std::env::var("VFPGA_DAEMON_LOG").unwrap_or_else(|_| "info".into()),
            )
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting vfpga run blk");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.socket.exists() {
            assert!(
                Instant::now() < deadline,
                "vfpga run blk did not listen within 60 s:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the daemon (SIGKILL: nothing saved on the way out) and starts
    /// a new one with the same arguments.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Kills the daemon.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits up to 20 s for the daemon to log its counters (it does when the
    /// frontend hangs up).
    pub fn wait_counters(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.log().contains("device counters:") && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        self.log()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The largest value of counter `name` in the daemon's "device counters:"
/// lines (one per frontend session; counters run on across sessions of one
/// daemon).
pub fn counter(log: &str, name: &str) -> u64 {
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

/// The last lines of `text`, for failure messages.
pub fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

/// A guest with 512 MiB of shared memory (vhost-user needs the frontend's
/// memory in fds) and the daemon's disk as `vhost-user-blk-pci` with
/// `queues` queues; `reconnect` makes QEMU reconnect to a restarted daemon.
pub fn guest(
    assets: &GuestAssets,
    initrd: &Path,
    socket: &Path,
    queues: u16,
    reconnect: bool,
    timeout_s: u64,
) -> Guest {
    let mut chardev = format!("socket,id=vfpga0,path={}", socket.display());
    if reconnect {
        chardev.push_str(",reconnect-ms=500");
    }
    let timeout = std::env::var("VFPGA_GUEST_TIMEOUT").map_or(timeout_s, |s| {
        s.parse().expect("VFPGA_GUEST_TIMEOUT in seconds")
    });
    Guest::new(assets, initrd)
        .memory(512)
        .cpus(u32::from(queues.max(1)))
        .args([
            "-object".to_string(),
            "memory-backend-memfd,id=mem,size=512M,share=on".to_string(),
            "-numa".to_string(),
            "node,memdev=mem".to_string(),
            "-chardev".to_string(),
            chardev,
            "-device".to_string(),
            format!("vhost-user-blk-pci,chardev=vfpga0,num-queues={queues}"),
        ])
        .timeout(Duration::from_secs(timeout))
}

/// A guest NIC on `socket` as `vfpga run net` prints it: 512 MiB of shared
/// memory, `-netdev vhost-user` with `pairs` queue pairs (and as many
/// vCPUs, since Linux's virtio-net enables one pair per CPU), and
/// `virtio-net-pci` with `mac` and `host_mtu=mtu`.
pub fn net_guest(
    assets: &GuestAssets,
    initrd: &Path,
    socket: &Path,
    pairs: u16,
    mac: &str,
    mtu: u16,
    timeout_s: u64,
) -> Guest {
    let timeout = std::env::var("VFPGA_GUEST_TIMEOUT").map_or(timeout_s, |s| {
        s.parse().expect("VFPGA_GUEST_TIMEOUT in seconds")
    });
    let mq = if pairs > 1 { "mq=on," } else { "" };
    Guest::new(assets, initrd)
        .memory(512)
        .cpus(u32::from(pairs.max(1)))
        .args([
            "-object".to_string(),
            "memory-backend-memfd,id=mem,size=512M,share=on".to_string(),
            "-numa".to_string(),
            "node,memdev=mem".to_string(),
            "-chardev".to_string(),
            format!("socket,id=c0,path={}", socket.display()),
            "-netdev".to_string(),
            format!("vhost-user,id=n0,chardev=c0,queues={pairs}"),
            "-device".to_string(),
            format!(
                "virtio-net-pci,netdev=n0,{mq}vectors={},mac={mac},host_mtu={mtu}",
                2 * pairs + 2
            ),
        ])
        .timeout(Duration::from_secs(timeout))
}

/// An initramfs with `files`, virtio_net (and the failover modules it
/// needs), and `script` as the body of `/init`.
pub fn net_initramfs(
    assets: &GuestAssets,
    work: &Path,
    files: &[(&Path, &str)],
    script: &str,
) -> PathBuf {
    std::fs::create_dir_all(work).unwrap();
    let mut initrd = Initramfs::new(assets, work).unwrap();
    for (src, dest) in files {
        initrd.file(src, dest).unwrap();
    }
    initrd.module("virtio_net").unwrap().init(script).unwrap();
    initrd.build(&work.join("initramfs.cpio")).unwrap()
}

/// An initramfs with `files` (host path, guest path), virtio_blk, and
/// `script` as the body of `/init`.
pub fn initramfs(
    assets: &GuestAssets,
    work: &Path,
    files: &[(&Path, &str)],
    script: &str,
) -> PathBuf {
    let mut initrd = Initramfs::new(assets, work).unwrap();
    for (src, dest) in files {
        initrd.file(src, dest).unwrap();
    }
    initrd.module("virtio_blk").unwrap().init(script).unwrap();
    initrd.build(&work.join("initramfs.cpio")).unwrap()
}

/// A fresh work directory for one test under cargo's test tmpdir.
pub fn workdir(name: &str) -> PathBuf {
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    work
}
