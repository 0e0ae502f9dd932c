//! docs/register-map.md is generated; it must match what the code says.

use std::path::Path;

#[test]
fn committed_register_map_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/register-map.md");
    let committed = std::fs::read_to_string(&path).expect("docs/register-map.md is missing");
    let fresh = vfpga_vdpa::regmap::render();
    assert!(
        committed == fresh,
        "docs/register-map.md is stale: run `cargo run -p vfpga-vdpa -- regmap --output docs/register-map.md`"
    );
}

#[test]
fn regmap_command_prints_the_map() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vfpga"))
        .arg("regmap")
        .output()
        .expect("running vfpga regmap");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text, vfpga_vdpa::regmap::render());
    assert!(
        text.contains("| 0x14 | 1 | `device_status` |"),
        "common cfg table missing"
    );
}

#[test]
fn bad_argument_names_the_problem() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vfpga"))
        .args(["regmap", "--bogus"])
        .output()
        .expect("running vfpga");
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("--bogus"),
        "stderr did not name the argument: {err}"
    );
}
