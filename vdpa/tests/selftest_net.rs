//! `vfpga selftest net` as a user runs it, on the simulated NIC: the
//! command must exit 0 and say PASS only when every frame came back intact
//! (docs/vfio.md). Short size ranges keep it quick; the default range
//! (60..9000) runs in the same code.

use std::process::Command;

/// Runs `vfpga selftest net` with `args`; returns its exit status and
/// everything it printed.
fn selftest_net(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vfpga"))
        .args(["selftest", "net"])
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("running vfpga");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Every frame size across the mergeable-buffer boundaries (one 2 KiB
/// buffer holds 2036 bytes of frame after the 12-byte header) and both
/// cycles passes on a full 256-entry ring: exit 0 and PASS.
#[test]
fn selftest_net_passes_on_the_simulator() {
    let (ok, text) = selftest_net(&[
        "--sizes",
        "60-70,1500,2030-2040,9000",
        "--perf-frames",
        "256",
    ]);
    assert!(ok, "vfpga selftest net failed:\n{text}");
    assert!(text.contains("selftest net: PASS"), "{text}");
    for size in ["64 B", "1500 B"] {
        assert!(
            text.lines()
                .any(|l| l.starts_with("cycles") && l.contains(size) && l.contains("cycles/frame")),
            "no {size} cycles line:\n{text}"
        );
    }
}

/// §5.1.6.5.5 through the command: two pairs, each frame back on the pair
/// it went out on.
#[test]
fn selftest_net_two_pairs_keep_their_flows() {
    let (ok, text) = selftest_net(&["--pairs", "2", "--sizes", "60-120", "--perf-frames", "0"]);
    assert!(ok, "vfpga selftest net --pairs 2 failed:\n{text}");
    assert!(
        text.contains("0 on another pair than they were sent on"),
        "{text}"
    );
}

/// The `virtio-drivers` crate's `VirtIONet` against the same device.
#[test]
fn selftest_net_virtio_drivers_passes() {
    let (ok, text) = selftest_net(&["--driver", "virtio-drivers", "--sizes", "60-300"]);
    assert!(
        ok,
        "vfpga selftest net --driver virtio-drivers (small frames) failed:\n{text}"
    );
    let (ok, text) = selftest_net(&["--driver", "virtio-drivers", "--sizes", "60-64,1500,9000"]);
    assert!(
        ok,
        "vfpga selftest net --driver virtio-drivers failed:\n{text}"
    );
    assert!(text.contains("selftest net: PASS"), "{text}");
}

/// A bad argument is refused with a message naming it, before any device
/// is opened.
#[test]
fn selftest_net_bad_sizes_named() {
    let (ok, text) = selftest_net(&["--sizes", "10-20"]);
    assert!(!ok, "frames of 10 bytes accepted:\n{text}");
    assert!(
        text.contains("--sizes"),
        "message does not name --sizes:\n{text}"
    );
}
