//! The guest harness itself: a busybox initramfs with a kernel module boots,
//! runs its script and powers off; a guest that hangs is killed at its
//! timeout.

use std::path::Path;
use std::time::Duration;

use vfpga_tests::guest::{Guest, GuestAssets, Initramfs, repo_root};

fn setup(name: &str) -> Option<(GuestAssets, std::path::PathBuf)> {
    let repo = repo_root(env!("CARGO_MANIFEST_DIR"));
    let assets = GuestAssets::find_or_skip(&repo, name)?;
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&work).unwrap();
    Some((assets, work))
}

#[test]
fn guest_boots_runs_init_with_modules_and_powers_off() {
    let Some((assets, work)) = setup("guest_boots") else {
        return;
    };
    let mut initrd = Initramfs::new(&assets, &work).unwrap();
    // vfio-pci pulls in vfio-pci-core, vfio and irqbypass through depends=.
    initrd
        .module("vfio-pci")
        .unwrap()
        .init("echo \"modules: $(cut -d' ' -f1 /proc/modules | sort | tr '\\n' ' ')\"")
        .unwrap();
    let cpio = initrd.build(&work.join("initramfs.cpio")).unwrap();
    let run = Guest::new(&assets, &cpio)
        .timeout(Duration::from_secs(120))
        .run()
        .unwrap();
    assert!(!run.timed_out && run.completed, "console:\n{}", run.console);
    let line = run
        .console
        .lines()
        // The console may prefix the line with terminal escapes.
        .find_map(|l| l.split_once("modules: ").map(|(_, rest)| rest))
        .unwrap_or_else(|| panic!("no module list; console:\n{}", run.console));
    for m in ["irqbypass", "vfio", "vfio_pci", "vfio_pci_core"] {
        assert!(
            line.split_whitespace().any(|w| w == m),
            "{m} not loaded: {line}"
        );
    }
    assert!(
        !run.console.contains("insmod"),
        "an insmod failed:\n{}",
        run.console
    );
}

#[test]
fn guest_that_hangs_is_killed_at_its_timeout() {
    let Some((assets, work)) = setup("guest_hangs") else {
        return;
    };
    let mut initrd = Initramfs::new(&assets, &work).unwrap();
    initrd.init("echo hanging-now; sleep 100000").unwrap();
    let cpio = initrd.build(&work.join("initramfs.cpio")).unwrap();
    let mut guest = Guest::new(&assets, &cpio)
        .timeout(Duration::from_secs(30))
        .spawn()
        .unwrap();
    assert!(guest.wait_for_console("hanging-now"), "{}", guest.console());
    let run = guest.wait().unwrap();
    assert!(run.timed_out && !run.completed);
}
