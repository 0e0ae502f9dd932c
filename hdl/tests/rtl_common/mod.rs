//! Runs a block's Verilog against its rust-hdl model (`update`) in Icarus
//! Verilog, cycle by cycle (Corundum style). The caller steps the Rust model
//! with a stimulus and records every output before every rising edge; the
//! testbench written here replays the same inputs into the Verilog (one
//! `$readmemh` file per port) and compares every output in every cycle.
//!
//! Used for blocks whose Verilog is written by hand (`Verilog::Custom`),
//! where nothing but such a comparison ties the Verilog to `update`.

#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rust_hdl::prelude::*;
use vfpga_hdl::top::synth;

/// A port: name in the Verilog and width in bits (at most 128).
pub type Port = (&'static str, usize);

/// Inputs and expected outputs of every cycle, in the order of the ports.
pub struct Trace {
    /// Input ports (the clock is not one of them: it is named `clock`).
    pub inputs: Vec<Port>,
    /// Output ports.
    pub outputs: Vec<Port>,
    /// Per cycle: one value per input port.
    pub stim: Vec<Vec<u128>>,
    /// Per cycle: one value per output port, before the rising edge.
    pub want: Vec<Vec<u128>>,
}

/// Steps a rust-hdl block: `apply` sets this cycle's inputs, `sample` reads
/// the outputs after they settle; then one clock cycle. Returns the trace.
pub fn record<B: Block>(
    uut: &mut B,
    inputs: Vec<Port>,
    outputs: Vec<Port>,
    stim: Vec<Vec<u128>>,
    mut apply: impl FnMut(&mut B, &[u128]),
    mut sample: impl FnMut(&B) -> Vec<u128>,
    mut clock: impl FnMut(&mut B, bool),
) -> Trace {
    let mut want = Vec::with_capacity(stim.len());
    for s in &stim {
        assert_eq!(s.len(), inputs.len());
        apply(uut, s);
        assert!(simulate(uut, 100), "rust-hdl model did not settle");
        let o = sample(uut);
        assert_eq!(o.len(), outputs.len());
        want.push(o);
        clock(uut, true);
        assert!(simulate(uut, 100));
        clock(uut, false);
        assert!(simulate(uut, 100));
    }
    Trace {
        inputs,
        outputs,
        stim,
        want,
    }
}

/// Keeps the low `bits` of `v`.
pub fn fit(v: u128, bits: usize) -> u128 {
    if bits >= 128 {
        v
    } else {
        v & ((1u128 << bits) - 1)
    }
}

/// Icarus and its runtime are installed; in CI their absence fails.
pub fn have_icarus(test: &str) -> bool {
    let ok = synth::find_tool("iverilog").is_some() && synth::find_tool("vvp").is_some();
    if !ok {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "{test}: iverilog is not installed"
        );
        eprintln!("{test}: skipped: iverilog is not installed (scripts/setup installs it)");
    }
    ok
}

/// A scratch folder for one run.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("rtl_vs_model")
        .join(name);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn decl(width: usize) -> String {
    if width == 1 {
        String::new()
    } else {
        format!("[{}:0] ", width - 1)
    }
}

/// Writes the testbench and the stimulus into `dir`, simulates `rtl` (top
/// module `top` with a `clock` input) and returns the number of cycles in
/// which an output differed from the trace. Panics if the tools fail.
pub fn mismatches(dir: &Path, rtl: &str, t: &Trace) -> u64 {
    let n = t.stim.len();
    let mut tb =
        String::from("`timescale 1ns/1ps\nmodule tb;\n  reg clock = 0;\n  integer i, errors;\n");
    for (k, (name, w)) in t.inputs.iter().enumerate() {
        writeln!(tb, "  reg {}{name} = 0;", decl(*w)).unwrap();
        writeln!(tb, "  reg [{}:0] in{k} [0:{}];", w - 1, n - 1).unwrap();
        let mut f = String::new();
        for s in &t.stim {
            writeln!(f, "{:x}", fit(s[k], *w)).unwrap();
        }
        std::fs::write(dir.join(format!("in{k}.hex")), f).expect("write stimulus");
    }
    for (k, (name, w)) in t.outputs.iter().enumerate() {
        writeln!(tb, "  wire {}{name};", decl(*w)).unwrap();
        writeln!(tb, "  reg [{}:0] out{k} [0:{}];", w - 1, n - 1).unwrap();
        let mut f = String::new();
        for o in &t.want {
            writeln!(f, "{:x}", fit(o[k], *w)).unwrap();
        }
        std::fs::write(dir.join(format!("out{k}.hex")), f).expect("write expectation");
    }
    let ports: Vec<String> = std::iter::once("clock")
        .chain(t.inputs.iter().map(|p| p.0))
        .chain(t.outputs.iter().map(|p| p.0))
        .map(|p| format!(".{p}({p})"))
        .collect();
    writeln!(tb, "  top dut({});", ports.join(", ")).unwrap();
    tb.push_str("  initial begin\n    errors = 0;\n");
    for k in 0..t.inputs.len() {
        writeln!(tb, "    $readmemh(\"in{k}.hex\", in{k});").unwrap();
    }
    for k in 0..t.outputs.len() {
        writeln!(tb, "    $readmemh(\"out{k}.hex\", out{k});").unwrap();
    }
    writeln!(tb, "    for (i = 0; i < {n}; i = i + 1) begin").unwrap();
    for (k, (name, _)) in t.inputs.iter().enumerate() {
        writeln!(tb, "      {name} = in{k}[i];").unwrap();
    }
    tb.push_str("      #5;\n      if (");
    let diffs: Vec<String> = t
        .outputs
        .iter()
        .enumerate()
        .map(|(k, (name, _))| format!("({name} !== out{k}[i])"))
        .collect();
    tb.push_str(&diffs.join(" || "));
    tb.push_str(") begin\n        errors = errors + 1;\n        if (errors <= 5) begin\n");
    tb.push_str("          $display(\"MISMATCH cycle %0d\", i);\n");
    for (k, (name, _)) in t.outputs.iter().enumerate() {
        writeln!(
            tb,
            "          if ({name} !== out{k}[i]) $display(\"  {name}: got %h want %h\", {name}, out{k}[i]);"
        )
        .unwrap();
    }
    tb.push_str("        end\n      end\n      clock = 1;\n      #5;\n      clock = 0;\n    end\n");
    tb.push_str("    $display(\"DONE errors=%0d\", errors);\n    $finish;\n  end\nendmodule\n");
    std::fs::write(dir.join("tb.v"), tb).expect("write testbench");
    std::fs::write(dir.join("rtl.v"), rtl).expect("write rtl");
    let c = std::process::Command::new("iverilog")
        .current_dir(dir)
        .args(["-g2012", "-o", "tb.vvp", "tb.v", "rtl.v"])
        .output()
        .expect("run iverilog");
    assert!(
        c.status.success(),
        "iverilog: {}",
        String::from_utf8_lossy(&c.stderr)
    );
    let r = std::process::Command::new("vvp")
        .current_dir(dir)
        .arg("tb.vvp")
        .output()
        .expect("run vvp");
    let text = String::from_utf8_lossy(&r.stdout).into_owned();
    eprintln!("{}", text.trim_end());
    let errors = text
        .lines()
        .find_map(|l| l.strip_prefix("DONE errors="))
        .unwrap_or_else(|| panic!("testbench did not finish: {text}"));
    errors.trim().parse().expect("error count")
}
