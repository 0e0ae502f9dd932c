//! Compiles the committed Verilog of the engine's top level into a
//! Verilator C++ model, with a generated `extern "C"` shim, when Verilator
//! is installed. Without it (or without Verilog) the crate still builds and
//! `backend::verilator_available()` says no, with the reason.
//!
//! Environment: `VFPGA_VERILATOR=0` skips the model; `VFPGA_VERILOG_DIR`
//! replaces hdl/verilog/ as the folder searched; `VFPGA_VERILOG_TOP` names
//! the Verilog file in it to use (default `vfpga_blk.v`, else the only
//! file, else one named `*top*`); `VFPGA_VERILATOR_NATIVE=1` builds the
//! model with `-march=native`. Under `CI=true` a model
//! that fails to build is an error instead of a warning.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

#[allow(dead_code)]
#[path = "src/backend/verilog_ports.rs"]
mod verilog_ports;

const CLASS: &str = "Vtop";
/// The Verilog file used when `VFPGA_VERILOG_TOP` does not name one.
const DEFAULT_TOP: &str = "vfpga_blk.v";

fn main() {
    println!("cargo::rustc-check-cfg=cfg(vfpga_verilator)");
    println!("cargo::rerun-if-env-changed=VFPGA_VERILATOR");
    println!("cargo::rerun-if-env-changed=VFPGA_VERILOG_TOP");
    println!("cargo::rerun-if-env-changed=VFPGA_VERILOG_DIR");
    println!("cargo::rerun-if-env-changed=VFPGA_VERILATOR_NATIVE");
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rerun-if-changed=src/backend/verilog_ports.rs");
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let verilog_dir = env::var_os("VFPGA_VERILOG_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../hdl/verilog"));
    println!("cargo::rerun-if-changed={}", verilog_dir.display());
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets it"));
    let ci = env::var("CI").is_ok_and(|v| v == "true");

    let status = match build_model(&verilog_dir, &out) {
        Ok(file) => {
            println!("cargo::rustc-cfg=vfpga_verilator");
            format!("built from {}", verilog_dir.join(file).display())
        }
        Err(Skip::Missing(why)) => why,
        Err(Skip::Failed(why)) => {
            if ci {
                panic!("Verilator model failed to build: {why}");
            }
            println!("cargo::warning=Verilator backend unavailable: {why}");
            format!("failed to build: {why}")
        }
    };
    println!(
        "cargo::rustc-env=VFPGA_VERILATOR_STATUS={}",
        status.replace('\n', " ")
    );
}

enum Skip {
    /// Nothing to build with (no tool, no Verilog, disabled).
    Missing(String),
    /// Tool and Verilog exist but the build failed.
    Failed(String),
}

fn pick_top(dir: &Path) -> Result<PathBuf, Skip> {
    let files: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|_| Skip::Missing("no hdl/verilog directory yet".into()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "v" || e == "sv"))
        .collect();
    for f in &files {
        println!("cargo::rerun-if-changed={}", f.display());
    }
    if let Ok(name) = env::var("VFPGA_VERILOG_TOP") {
        return files
            .into_iter()
            .find(|f| f.file_name().is_some_and(|n| n.to_string_lossy() == name))
            .ok_or_else(|| {
                Skip::Failed(format!("VFPGA_VERILOG_TOP={name} is not in hdl/verilog"))
            });
    }
    // The simulator drives the blk personality's top level: prefer it by
    // name, so other personalities' files beside it change nothing.
    if let Some(f) = files.iter().find(|f| {
        f.file_name()
            .is_some_and(|n| n.to_string_lossy() == DEFAULT_TOP)
    }) {
        return Ok(f.clone());
    }
    match files.len() {
        0 => Err(Skip::Missing("no Verilog in hdl/verilog yet".into())),
        1 => Ok(files.into_iter().next().expect("one file")),
        _ => files
            .iter()
            .find(|f| {
                f.file_stem()
                    .is_some_and(|s| s.to_string_lossy().contains("top"))
            })
            .cloned()
            .ok_or_else(|| {
                Skip::Failed(
                    "several Verilog files and none named *top*: set VFPGA_VERILOG_TOP".into(),
                )
            }),
    }
}

fn build_model(verilog_dir: &Path, out: &Path) -> Result<String, Skip> {
    if env::var("VFPGA_VERILATOR").is_ok_and(|v| v == "0") {
        return Err(Skip::Missing("disabled by VFPGA_VERILATOR=0".into()));
    }
    let top = pick_top(verilog_dir)?;
    let root = Command::new("verilator")
        .args(["--getenv", "VERILATOR_ROOT"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .ok_or_else(|| Skip::Missing("verilator is not installed (not on PATH)".into()))?;

    let source =
        fs::read_to_string(&top).map_err(|e| Skip::Failed(format!("{}: {e}", top.display())))?;
    let stem = top
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let module = verilog_ports::top_module(&source, &stem)
        .ok_or_else(|| Skip::Failed(format!("no module in {}", top.display())))?;
    let ports = verilog_ports::parse_ports(&source, &module).map_err(Skip::Failed)?;
    let shim = verilog_ports::shim_cpp(&ports, CLASS).map_err(Skip::Failed)?;

    let mdir = out.join("verilator");
    let _ = fs::remove_dir_all(&mdir);
    fs::create_dir_all(&mdir).map_err(|e| Skip::Failed(e.to_string()))?;
    let run = Command::new("verilator")
        .args(["--cc", "-O3", "--x-assign", "0", "--x-initial", "0"])
        .args([
            "-Wno-fatal",
            "-Wno-WIDTH",
            "--prefix",
            CLASS,
            "--top-module",
            &module,
        ])
        .arg("--Mdir")
        .arg(&mdir)
        .arg(&top)
        .output()
        .map_err(|e| Skip::Failed(format!("running verilator: {e}")))?;
    if !run.status.success() {
        return Err(Skip::Failed(format!(
            "verilator rejected {}: {}",
            top.display(),
            String::from_utf8_lossy(&run.stderr)
        )));
    }
    let shim_path = mdir.join("vfpga_shim.cpp");
    fs::write(&shim_path, shim).map_err(|e| Skip::Failed(e.to_string()))?;
    fs::write(
        out.join("verilator_ports.rs"),
        verilog_ports::layout_rs(&ports),
    )
    .map_err(|e| Skip::Failed(e.to_string()))?;

    let mut model_files: Vec<PathBuf> = fs::read_dir(&mdir)
        .map_err(|e| Skip::Failed(e.to_string()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|e| e == "cpp")
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(CLASS))
        })
        .collect();
    model_files.sort();
    let native = env::var("VFPGA_VERILATOR_NATIVE").is_ok_and(|v| v == "1");
    let include = root.join("include");
    let mut build = cc::Build::new();
    build
        .cpp(true)
        .std("c++17")
        .opt_level(3)
        .debug(false)
        .warnings(false)
        .flag_if_supported("-fno-semantic-interposition")
        // Portable by default: the `vfpga` binary runs in QEMU guests (TCG's
        // CPU lacks this host's vector extensions: SIGILL) and on other
        // machines. VFPGA_VERILATOR_NATIVE=1 tunes it for this CPU (~1.5x).
        .flag_if_supported(if native { "-march=native" } else { "-O3" })
        .flag_if_supported("-Wno-unused-parameter")
        .include(&mdir)
        .include(&include)
        .include(include.join("vltstd"))
        .define("VM_TRACE", "0")
        .files(&model_files)
        .file(&shim_path)
        .file(include.join("verilated.cpp"))
        .file(include.join("verilated_threads.cpp"));
    build
        .try_compile("vfpga_verilated")
        .map_err(|e| Skip::Failed(format!("compiling the model: {e}")))?;
    Ok(top
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default())
}
