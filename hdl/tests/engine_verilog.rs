//! The engine's Verilog: rust-hdl emits it, Verilator lints it.

use rust_hdl::prelude::*;
use std::process::Command;
use vfpga_hdl::engine::BlkEngine;

#[test]
fn engine_verilog_passes_verilator_lint() {
    let mut uut = BlkEngine::default();
    uut.connect_all();
    let v = generate_verilog(&uut);
    assert!(v.contains("module top"));
    let dir = std::env::temp_dir().join(format!("vfpga-engine-verilog-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("engine.v");
    std::fs::write(&file, &v).unwrap();
    // -Wno-WIDTH: rust-hdl writes `x + 32'h1` on narrower signals.
    // -Wno-UNOPTFLAT: rust-hdl emits one always block per module, so a
    // ready/valid pair between two blocks looks like a loop to Verilator's
    // scheduler (a performance note, not a combinational loop).
    let out = Command::new("verilator")
        .args([
            "--lint-only",
            "-Wno-WIDTH",
            "-Wno-UNOPTFLAT",
            "--top-module",
            "top",
        ])
        .arg(&file)
        .output()
        .expect("verilator is required (scripts/setup installs it)");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "verilator lint failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn engine_has_no_combinational_loop_and_elaborates_in_yosys() {
    let mut uut = BlkEngine::default();
    uut.connect_all();
    check_all(&uut).expect("rust-hdl design checks (connections, latches, loops)");
    yosys_validate("vfpga_engine", &generate_verilog(&uut)).expect("yosys");
}
