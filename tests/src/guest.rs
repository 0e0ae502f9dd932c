//! Boot a QEMU guest with a busybox initramfs and capture its console.
//!
//! The kernel, its modules and busybox come from `target/guest/`, where
//! `scripts/setup` puts them. [`GuestAssets::find_or_skip`] fails the test
//! when they are missing and `CI=true`, and otherwise says why it skips.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Errors of the harness.
#[derive(Debug, thiserror::Error)]
pub enum GuestError {
    /// A file or tool is missing.
    #[error("{0}")]
    Missing(String),
    /// A command failed.
    #[error("{cmd} failed: {detail}")]
    Command {
        /// The command.
        cmd: String,
        /// Its output or error.
        detail: String,
    },
    /// An I/O error.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> GuestError {
    let w = what.into();
    move |e| GuestError::Io(w, e)
}

/// Where the guest kernel, modules and busybox are.
#[derive(Debug, Clone)]
pub struct GuestAssets {
    /// `vmlinuz-*`.
    pub kernel: PathBuf,
    /// `lib/modules/<version>/kernel`.
    pub modules: PathBuf,
    /// Static busybox.
    pub busybox: PathBuf,
    /// `qemu-system-x86_64`.
    pub qemu: PathBuf,
}

fn which(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(tool))
            .find(|f| f.is_file())
    })
}

impl GuestAssets {
    /// Looks in `<repo>/target/guest` (and for QEMU and xz on `PATH`).
    pub fn find(repo: &Path) -> Result<Self, GuestError> {
        let g = repo.join("target/guest");
        let boot = g.join("kernel/boot");
        let kernel = std::fs::read_dir(&boot)
            .ok()
            .and_then(|rd| {
                rd.flatten()
                    .map(|e| e.path())
                    .filter(|p| {
                        p.file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
                    })
                    .max()
            })
            .ok_or_else(|| {
                GuestError::Missing(format!("no guest kernel {}/vmlinuz-*", boot.display()))
            })?;
        let version = kernel
            .file_name()
            .unwrap()
            .to_string_lossy()
            .trim_start_matches("vmlinuz-")
            .to_string();
        let modules = g.join("kernel/lib/modules").join(&version).join("kernel");
        if !modules.is_dir() {
            return Err(GuestError::Missing(format!(
                "no guest modules at {}",
                modules.display()
            )));
        }
        let busybox = g.join("busybox/bin/busybox");
        if !busybox.is_file() {
            return Err(GuestError::Missing(format!(
                "no busybox at {}",
                busybox.display()
            )));
        }
        let qemu = which("qemu-system-x86_64")
            .ok_or_else(|| GuestError::Missing("qemu-system-x86_64 not on PATH".into()))?;
        if which("xz").is_none() {
            return Err(GuestError::Missing(
                "xz not on PATH (decompresses modules)".into(),
            ));
        }
        Ok(GuestAssets {
            kernel,
            modules,
            busybox,
            qemu,
        })
    }

    /// [`Self::find`] for a test: `None` (after saying why) when something is
    /// missing, unless `CI=true`, where a missing asset fails the test.
    pub fn find_or_skip(repo: &Path, test: &str) -> Option<Self> {
        match Self::find(repo) {
            Ok(a) => Some(a),
            Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
                panic!("{test}: {e} (CI=true: run scripts/setup)")
            }
            Err(e) => {
                eprintln!("{test}: SKIPPED: {e} (run scripts/setup)");
                None
            }
        }
    }
}

/// Builds a newc initramfs: busybox, files, binaries with their shared
/// libraries, kernel modules in dependency order, and `/init`.
#[derive(Debug)]
pub struct Initramfs {
    root: PathBuf,
    assets: GuestAssets,
    modules: Vec<String>,
}

fn norm(name: &str) -> String {
    name.replace('-', "_")
}

impl Initramfs {
    /// Starts an initramfs tree in a fresh directory under `work`.
    pub fn new(assets: &GuestAssets, work: &Path) -> Result<Self, GuestError> {
        let root = work.join("initramfs");
        let _ = std::fs::remove_dir_all(&root);
        for d in [
            "bin",
            "sbin",
            "dev",
            "proc",
            "sys",
            "tmp",
            "lib/modules",
            "etc",
        ] {
            std::fs::create_dir_all(root.join(d)).map_err(io(format!("mkdir {d}")))?;
        }
        std::fs::copy(&assets.busybox, root.join("bin/busybox")).map_err(io("copy busybox"))?;
        Ok(Initramfs {
            root,
            assets: assets.clone(),
            modules: Vec::new(),
        })
    }

    /// Copies `src` to `dest` (absolute path in the guest).
    pub fn file(&mut self, src: &Path, dest: &str) -> Result<&mut Self, GuestError> {
        let d = self.root.join(dest.trim_start_matches('/'));
        if let Some(p) = d.parent() {
            std::fs::create_dir_all(p).map_err(io("mkdir"))?;
        }
        std::fs::copy(src, &d).map_err(io(format!("copy {}", src.display())))?;
        Ok(self)
    }

    /// Copies an executable and every shared library `ldd` lists for it,
    /// at the same paths, so it runs in the guest as on the host.
    pub fn binary(&mut self, src: &Path, dest: &str) -> Result<&mut Self, GuestError> {
        self.file(src, dest)?;
        let out = Command::new("ldd")
            .arg(src)
            .output()
            .map_err(io("running ldd"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        // "not a dynamic executable" means static: nothing to copy.
        for line in text.lines() {
            let path = match line.split("=>").nth(1) {
                Some(rhs) => rhs.split_whitespace().next(),
                None => line
                    .split_whitespace()
                    .next()
                    .filter(|p| p.starts_with('/')),
            };
            if let Some(p) = path.filter(|p| p.starts_with('/')) {
                let real = std::fs::canonicalize(p).map_err(io(format!("resolving {p}")))?;
                self.file(&real, p)?;
            }
        }
        Ok(self)
    }

    fn find_module(&self, name: &str) -> Option<PathBuf> {
        fn walk(dir: &Path, want: &str) -> Option<PathBuf> {
            for e in std::fs::read_dir(dir).ok()?.flatten() {
                let p = e.path();
                if p.is_dir() {
                    if let Some(f) = walk(&p, want) {
                        return Some(f);
                    }
                } else if let Some(n) = p.file_name().map(|n| n.to_string_lossy().into_owned()) {
                    let stem = n.trim_end_matches(".xz").trim_end_matches(".ko");
                    if n.contains(".ko") && norm(stem) == want {
                        return Some(p);
                    }
                }
            }
            None
        }
        walk(&self.assets.modules, &norm(name))
    }

    /// Adds kernel module `name` (dashes or underscores) and, first, the
    /// modules it depends on (from its `depends=` modinfo), to be insmodded
    /// by `/init` in that order.
    pub fn module(&mut self, name: &str) -> Result<&mut Self, GuestError> {
        let mut seen = BTreeSet::new();
        self.module_rec(name, &mut seen)?;
        Ok(self)
    }

    fn module_rec(&mut self, name: &str, seen: &mut BTreeSet<String>) -> Result<(), GuestError> {
        let key = norm(name);
        if self.modules.contains(&key) || !seen.insert(key.clone()) {
            return Ok(());
        }
        let path = self.find_module(name).ok_or_else(|| {
            GuestError::Missing(format!(
                "kernel module {name} not under {}",
                self.assets.modules.display()
            ))
        })?;
        let bytes = if path.extension().is_some_and(|e| e == "xz") {
            let out = Command::new("xz")
                .arg("-dc")
                .arg(&path)
                .output()
                .map_err(io("running xz"))?;
            if !out.status.success() {
                return Err(GuestError::Command {
                    cmd: format!("xz -dc {}", path.display()),
                    detail: String::from_utf8_lossy(&out.stderr).into_owned(),
                });
            }
            out.stdout
        } else {
            std::fs::read(&path).map_err(io(format!("reading {}", path.display())))?
        };
        for dep in depends(&bytes) {
            self.module_rec(&dep, seen)?;
        }
        std::fs::write(self.root.join(format!("lib/modules/{key}.ko")), &bytes)
            .map_err(io("writing module"))?;
        self.modules.push(key);
        Ok(())
    }

    /// Writes `/init`: mounts, busybox applets, `insmod` of the modules,
    /// then `script`, then power-off. Every line of `script` runs in `sh`.
    pub fn init(&mut self, script: &str) -> Result<&mut Self, GuestError> {
        let mut s = String::from(
            "#!/bin/busybox sh\n\
             /bin/busybox --install -s /bin\n\
             mount -t proc proc /proc\n\
             mount -t sysfs sys /sys\n\
             mount -t devtmpfs dev /dev\n\
             exec >/dev/console 2>&1\n",
        );
        for m in &self.modules {
            s.push_str(&format!(
                "insmod /lib/modules/{m}.ko || echo \"VFPGA-GUEST insmod {m} failed\"\n"
            ));
        }
        s.push_str(script);
        s.push_str("\necho VFPGA-GUEST-DONE\nsync\npoweroff -f\n");
        let p = self.root.join("init");
        std::fs::write(&p, s).map_err(io("writing init"))?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))
            .map_err(io("chmod init"))?;
        Ok(self)
    }

    /// Packs the tree into `out` (uncompressed newc cpio, made by busybox).
    pub fn build(&self, out: &Path) -> Result<PathBuf, GuestError> {
        let bb = self.root.join("bin/busybox");
        let list = Command::new(&bb)
            .args(["find", "."])
            .current_dir(&self.root)
            .output()
            .map_err(io("busybox find"))?;
        let mut child = Command::new(&bb)
            .args(["cpio", "-o", "-H", "newc"])
            .current_dir(&self.root)
            .stdin(Stdio::piped())
            .stdout(std::fs::File::create(out).map_err(io(format!("creating {}", out.display())))?)
            .stderr(Stdio::null())
            .spawn()
            .map_err(io("busybox cpio"))?;
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(&list.stdout)
            .map_err(io("feeding cpio"))?;
        let st = child.wait().map_err(io("busybox cpio"))?;
        if !st.success() {
            return Err(GuestError::Command {
                cmd: "busybox cpio -o -H newc".into(),
                detail: format!("{st}"),
            });
        }
        Ok(out.to_path_buf())
    }
}

/// The `depends=` list of a module's `.modinfo`.
pub fn depends(module: &[u8]) -> Vec<String> {
    let key = b"depends=";
    module
        .windows(key.len())
        .position(|w| w == key)
        .map(|i| {
            let rest = &module[i + key.len()..];
            let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
            String::from_utf8_lossy(&rest[..end])
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// A finished guest run.
#[derive(Debug)]
pub struct GuestRun {
    /// Everything the serial console printed.
    pub console: String,
    /// Whether the run was killed at the timeout.
    pub timed_out: bool,
    /// How long it ran.
    pub elapsed: Duration,
    /// Whether `/init` got to its end (printed `VFPGA-GUEST-DONE`).
    pub completed: bool,
}

/// A QEMU x86_64 guest under TCG on a q35 machine.
#[derive(Debug)]
pub struct Guest {
    assets: GuestAssets,
    initrd: PathBuf,
    memory_mib: u32,
    cpus: u32,
    cmdline: String,
    args: Vec<String>,
    timeout: Duration,
}

impl Guest {
    /// A guest booting `initrd` with 1 GiB and a 180 s limit.
    pub fn new(assets: &GuestAssets, initrd: &Path) -> Self {
        Guest {
            assets: assets.clone(),
            initrd: initrd.to_path_buf(),
            memory_mib: 1024,
            cpus: 1,
            cmdline: "console=ttyS0 panic=-1 loglevel=4".into(),
            args: Vec::new(),
            timeout: Duration::from_secs(180),
        }
    }

    /// Memory in MiB.
    pub fn memory(mut self, mib: u32) -> Self {
        self.memory_mib = mib;
        self
    }

    /// Virtual CPUs (Linux's virtio-blk uses at most one queue per CPU).
    pub fn cpus(mut self, n: u32) -> Self {
        self.cpus = n;
        self
    }

    /// Appends to the kernel command line.
    pub fn cmdline(mut self, extra: &str) -> Self {
        self.cmdline.push(' ');
        self.cmdline.push_str(extra);
        self
    }

    /// Adds QEMU arguments (devices, drives, ...).
    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, a: I) -> Self {
        self.args.extend(a.into_iter().map(Into::into));
        self
    }

    /// Kills the guest after this long.
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// Boots, waits for power-off or the timeout, returns the console.
    pub fn run(&self) -> Result<GuestRun, GuestError> {
        self.spawn()?.wait()
    }

    /// Boots and returns at once; the caller may watch the console and act
    /// on the host (e.g. a monitor command) before [`RunningGuest::wait`].
    pub fn spawn(&self) -> Result<RunningGuest, GuestError> {
        let mut cmd = Command::new(&self.assets.qemu);
        cmd.args(["-accel", "tcg", "-machine", "q35", "-cpu", "max", "-smp"])
            .arg(self.cpus.to_string())
            .args(["-m", &self.memory_mib.to_string()])
            .args([
                "-nographic",
                "-no-reboot",
                "-nodefaults",
                "-serial",
                "stdio",
            ])
            .arg("-kernel")
            .arg(&self.assets.kernel)
            .arg("-initrd")
            .arg(&self.initrd)
            .args(["-append", &self.cmdline])
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let start = Instant::now();
        let mut child = cmd.spawn().map_err(io("starting qemu-system-x86_64"))?;
        let console = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        for mut src in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let sink = console.clone();
            readers.push(std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = src.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    sink.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            }));
        }
        Ok(RunningGuest {
            child,
            console,
            readers,
            start,
            timeout: self.timeout,
        })
    }
}

/// A guest that is running; killed at its timeout (or when dropped).
#[derive(Debug)]
pub struct RunningGuest {
    child: std::process::Child,
    console: Arc<Mutex<Vec<u8>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
    start: Instant,
    timeout: Duration,
}

impl RunningGuest {
    /// The console so far.
    pub fn console(&self) -> String {
        String::from_utf8_lossy(&self.console.lock().unwrap()).into_owned()
    }

    /// Waits until the console contains `text`; false if the guest exits
    /// or the guest's timeout passes first.
    pub fn wait_for_console(&mut self, text: &str) -> bool {
        loop {
            if self.console().contains(text) {
                return true;
            }
            if self.start.elapsed() > self.timeout || matches!(self.child.try_wait(), Ok(Some(_))) {
                return self.console().contains(text);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for power-off, or kills the guest at the timeout.
    pub fn wait(mut self) -> Result<GuestRun, GuestError> {
        let mut timed_out = false;
        loop {
            if self
                .child
                .try_wait()
                .map_err(io("waiting for qemu"))?
                .is_some()
            {
                break;
            }
            if self.start.elapsed() > self.timeout {
                timed_out = true;
                let _ = self.child.kill();
                let _ = self.child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        let console = self.console();
        Ok(GuestRun {
            completed: console.contains("VFPGA-GUEST-DONE"),
            console,
            timed_out,
            elapsed: self.start.elapsed(),
        })
    }
}

impl Drop for RunningGuest {
    fn drop(&mut self) {
        // Never leave a QEMU behind, whatever the test did.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Sends one human-monitor command to a QEMU started with
/// `-monitor unix:<path>,server=on,wait=off` and returns its reply.
pub fn monitor_command(socket: &Path, command: &str) -> Result<String, GuestError> {
    use std::io::Write;
    use std::os::unix::net::UnixStream;
    let mut s =
        UnixStream::connect(socket).map_err(io(format!("connecting {}", socket.display())))?;
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .map_err(io("monitor timeout"))?;
    s.write_all(format!("{command}\n").as_bytes())
        .map_err(io("monitor write"))?;
    // The monitor prints its banner and a prompt, echoes the command, runs
    // it and prints the next prompt: the second prompt means it is done.
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(30);
    while String::from_utf8_lossy(&out).matches("(qemu)").count() < 2 {
        if Instant::now() > deadline {
            return Err(GuestError::Command {
                cmd: format!("monitor: {command}"),
                detail: format!(
                    "no prompt after the command within 30 s: {}",
                    String::from_utf8_lossy(&out)
                ),
            });
        }
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(GuestError::Io("monitor read".into(), e)),
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// The repository root for a crate in it (its `CARGO_MANIFEST_DIR/..`).
pub fn repo_root(manifest_dir: &str) -> PathBuf {
    Path::new(manifest_dir)
        .parent()
        .expect("crate inside the repository")
        .to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depends_reads_the_modinfo_string() {
        let m = b"\0license=GPL\0depends=vfio-pci-core,vfio\0intree=Y\0";
        assert_eq!(depends(m), vec!["vfio-pci-core", "vfio"]);
        assert!(depends(b"\0depends=\0").is_empty());
        assert!(depends(b"nothing").is_empty());
    }
}
