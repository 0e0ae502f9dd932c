//! Compiles the committed Verilog of the engine's top levels (blk:
//! `vfpga_blk.v`, net: `vfpga_net.v`) into Verilator C++ models, each with
//! a generated `extern "C"` shim, when Verilator is installed. Without it
//! (or without Verilog) the crate still builds and
//! `backend::verilator_status_for()` says why.
//!
//! Environment: `VFPGA_VERILATOR=0` skips the models; `VFPGA_VERILOG_DIR`
//! replaces hdl/verilog/ as the folder searched; `VFPGA_VERILOG_TOP` names
//! the Verilog file used for blk (default `vfpga_blk.v`, else the only
//! file, else one named `*top*`); `VFPGA_VERILATOR_NATIVE=1` builds the
//! models with `-march=native`. Under `CI=true` a model that fails to build
//! is an error instead of a warning.
//!
//! A model whose Verilog and build settings did not change since the last
//! build is not rebuilt (regenerating one personality's Verilog does not
//! recompile the other's model).
//!
//! Profile-guided optimisation (blk only): the model is compiled with
//! `-fprofile-generate`, linked into `pgo/replay.cpp`, which replays the
//! committed recording `pgo/blk_qd32.trace` (the packed inputs of a short
//! QD32 4 KiB read load, see `src/backend/record.rs`) through the shim's
//! step function, then compiled again with `-fprofile-use`. A recording of
//! other input ports, or any failure on the way, builds the model without
//! PGO and says why in a warning; `VFPGA_VERILATOR_PGO=0` turns it off.
//! The crate sees the outcome in `VFPGA_VERILATOR_PGO_STATUS`.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

#[allow(dead_code)]
#[path = "src/backend/verilog_ports.rs"]
mod verilog_ports;

#[allow(dead_code)]
#[path = "src/backend/record.rs"]
mod record;

/// The blk model's training recording and replay main, in the crate.
const PGO_TRACE: &str = "pgo/blk_qd32.trace";
const PGO_REPLAY: &str = "pgo/replay.cpp";

/// The Verilog file used for blk when `VFPGA_VERILOG_TOP` does not name one.
const DEFAULT_TOP: &str = "vfpga_blk.v";
/// The net personality's Verilog file.
const NET_TOP: &str = "vfpga_net.v";

/// One model to build: personality name (cfg, symbol and file suffix).
struct Model {
    name: &'static str,
    class: &'static str,
    cfg: &'static str,
    status_env: &'static str,
}

const MODELS: [Model; 2] = [
    Model {
        name: "blk",
        class: "Vblk",
        cfg: "vfpga_verilator",
        status_env: "VFPGA_VERILATOR_STATUS",
    },
    Model {
        name: "net",
        class: "Vnet",
        cfg: "vfpga_verilator_net",
        status_env: "VFPGA_VERILATOR_NET_STATUS",
    },
];

fn main() {
    for m in &MODELS {
        println!("cargo::rustc-check-cfg=cfg({})", m.cfg);
    }
    println!("cargo::rerun-if-env-changed=VFPGA_VERILATOR");
    println!("cargo::rerun-if-env-changed=VFPGA_VERILOG_TOP");
    println!("cargo::rerun-if-env-changed=VFPGA_VERILOG_DIR");
    println!("cargo::rerun-if-env-changed=VFPGA_VERILATOR_NATIVE");
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rerun-if-env-changed=VFPGA_VERILATOR_PGO");
    println!("cargo::rerun-if-changed=src/backend/record.rs");
    println!("cargo::rerun-if-changed={PGO_TRACE}");
    println!("cargo::rerun-if-changed={PGO_REPLAY}");
    println!("cargo::rerun-if-changed=src/backend/verilog_ports.rs");
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let verilog_dir = env::var_os("VFPGA_VERILOG_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../hdl/verilog"));
    println!("cargo::rerun-if-changed={}", verilog_dir.display());
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets it"));
    let ci = env::var("CI").is_ok_and(|v| v == "true");

    let root = verilator_root();
    let mut libs = Vec::new();
    for m in &MODELS {
        let built = root.clone().and_then(|root| {
            let top = if m.name == "blk" {
                pick_top(&verilog_dir)?
            } else {
                pick_named(&verilog_dir, NET_TOP)?
            };
            build_model(m, &root, &top, &out, &manifest).map(|lib| (lib, top))
        });
        let status = match built {
            Ok((lib, top)) => {
                println!("cargo::rustc-cfg={}", m.cfg);
                libs.push(lib);
                format!("built from {}", top.display())
            }
            Err(Skip::Missing(why)) => why,
            Err(Skip::Failed(why)) => {
                if ci {
                    panic!("Verilator {} model failed to build: {why}", m.name);
                }
                println!(
                    "cargo::warning=Verilator {} backend unavailable: {why}",
                    m.name
                );
                format!("failed to build: {why}")
            }
        };
        println!(
            "cargo::rustc-env={}={}",
            m.status_env,
            status.replace('\n', " ")
        );
    }
    if let (false, Ok(root)) = (libs.is_empty(), &root) {
        match build_runtime(root, &out) {
            Ok(rt) => {
                // Models first, then the runtime they call, then libstdc++.
                println!("cargo::rustc-link-search=native={}", out.display());
                for l in libs.iter().chain([&rt]) {
                    println!("cargo::rustc-link-lib=static={l}");
                }
                println!("cargo::rustc-link-lib=stdc++");
            }
            Err(why) => panic!("compiling the Verilator runtime: {why}"),
        }
    }
}

#[derive(Clone)]
enum Skip {
    /// Nothing to build with (no tool, no Verilog, disabled).
    Missing(String),
    /// Tool and Verilog exist but the build failed.
    Failed(String),
}

fn verilator_root() -> Result<PathBuf, Skip> {
    if env::var("VFPGA_VERILATOR").is_ok_and(|v| v == "0") {
        return Err(Skip::Missing("disabled by VFPGA_VERILATOR=0".into()));
    }
    Command::new("verilator")
        .args(["--getenv", "VERILATOR_ROOT"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .ok_or_else(|| Skip::Missing("verilator is not installed (not on PATH)".into()))
}

fn verilog_files(dir: &Path) -> Result<Vec<PathBuf>, Skip> {
    let files: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|_| Skip::Missing("no hdl/verilog directory yet".into()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "v" || e == "sv"))
        .collect();
    for f in &files {
        println!("cargo::rerun-if-changed={}", f.display());
    }
    Ok(files)
}

fn pick_named(dir: &Path, name: &str) -> Result<PathBuf, Skip> {
    verilog_files(dir)?
        .into_iter()
        .find(|f| f.file_name().is_some_and(|n| n.to_string_lossy() == name))
        .ok_or_else(|| Skip::Missing(format!("no {name} in hdl/verilog yet")))
}

fn pick_top(dir: &Path) -> Result<PathBuf, Skip> {
    let files = verilog_files(dir)?;
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

/// Compiler flags of the models (part of the cache key).
fn native() -> bool {
    env::var("VFPGA_VERILATOR_NATIVE").is_ok_and(|v| v == "1")
}

fn cxx(root: &Path) -> cc::Build {
    let include = root.join("include");
    let mut build = cc::Build::new();
    build
        .cpp(true)
        .std("c++17")
        .opt_level(3)
        .debug(false)
        .warnings(false)
        .cargo_metadata(false)
        .flag_if_supported("-fno-semantic-interposition")
        // Portable by default: the `vfpga` binary runs in QEMU guests (TCG's
        // CPU lacks this host's vector extensions: SIGILL) and on other
        // machines. VFPGA_VERILATOR_NATIVE=1 tunes it for this CPU (~1.5x).
        .flag_if_supported(if native() { "-march=native" } else { "-O3" })
        .flag_if_supported("-Wno-unused-parameter")
        .include(&include)
        .include(include.join("vltstd"))
        .define("VM_TRACE", "0");
    build
}

/// A key of everything a model's build depends on.
fn cache_key(parts: &[&[u8]]) -> String {
    use std::hash::{Hash, Hasher};
    // SipHash with fixed keys: stable between runs of one toolchain.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for p in parts {
        p.hash(&mut h);
    }
    format!("{:016x}", h.finish())
}

fn lib_file(out: &Path, lib: &str) -> PathBuf {
    out.join(format!("lib{lib}.a"))
}

/// The Verilator runtime (verilated.cpp), shared by the models.
fn build_runtime(root: &Path, out: &Path) -> Result<String, String> {
    let lib = "vfpga_verilated_rt".to_string();
    let key = cache_key(&[root.to_string_lossy().as_bytes(), &[u8::from(native())]]);
    let stamp = out.join("verilated_rt.key");
    if fs::read_to_string(&stamp).is_ok_and(|k| k == key) && lib_file(out, &lib).exists() {
        return Ok(lib);
    }
    let include = root.join("include");
    cxx(root)
        .file(include.join("verilated.cpp"))
        .file(include.join("verilated_threads.cpp"))
        .try_compile(&lib)
        .map_err(|e| e.to_string())?;
    fs::write(&stamp, key).map_err(|e| e.to_string())?;
    Ok(lib)
}

/// What the profile-guided build of a model starts from, or why there is none.
enum Pgo {
    Off(String),
    /// The recording (decoded) and the cache key's part for it.
    On(record::Trace, Vec<u8>),
}

fn pgo_input(m: &Model, manifest: &Path, ports: &[verilog_ports::Port]) -> Pgo {
    if m.name != "blk" {
        return Pgo::Off("off, only the blk model has a training recording".into());
    }
    if env::var("VFPGA_VERILATOR_PGO").is_ok_and(|v| v == "0") {
        return Pgo::Off("off, disabled by VFPGA_VERILATOR_PGO=0".into());
    }
    let (trace, replay) = match (
        fs::read(manifest.join(PGO_TRACE)),
        fs::read(manifest.join(PGO_REPLAY)),
    ) {
        (Ok(t), Ok(r)) => (t, r),
        (Err(e), _) | (_, Err(e)) => return Pgo::Off(format!("off, sim/pgo: {e}")),
    };
    let decoded = match record::Trace::decode(&trace) {
        Ok(d) => d,
        Err(e) => return Pgo::Off(format!("off, {PGO_TRACE}: {e}")),
    };
    let inputs = verilog_ports::layout(ports, verilog_ports::Dir::In);
    let layout = record::layout_hash(inputs.iter().map(|(p, o)| (p.name.as_str(), p.width, *o)));
    if decoded.in_words != verilog_ports::buffer_words(ports, verilog_ports::Dir::In)
        || decoded.layout != layout
    {
        return Pgo::Off(format!(
            "off, {PGO_TRACE} was recorded on other input ports: record it again (docs/simulation.md)"
        ));
    }
    let mut key = trace;
    key.extend(replay);
    Pgo::On(decoded, key)
}

/// Trains model `m` (its library `lib` compiled by `compile` with extra
/// flags) on `trace` and compiles it with the profile; returns the status.
fn pgo_build(
    root: &Path,
    out: &Path,
    manifest: &Path,
    lib: &str,
    trace: &record::Trace,
    compile: &dyn Fn(&[String]) -> Result<(), Skip>,
) -> Result<String, String> {
    let dir = out.join("pgo_blk");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let failed = |s: Skip| match s {
        Skip::Missing(w) | Skip::Failed(w) => w,
    };
    compile(&[
        format!("-fprofile-generate={}", dir.display()),
        "-fprofile-update=single".into(),
    ])
    .map_err(|e| format!("instrumented {}", failed(e)))?;
    let rt = build_runtime(root, out)?;
    let exe = out.join("pgo_replay");
    let link = cxx(root)
        .get_compiler()
        .to_command()
        .arg(manifest.join(PGO_REPLAY))
        .arg("-o")
        .arg(&exe)
        .arg(lib_file(out, lib))
        .arg(lib_file(out, &rt))
        .arg(format!("-fprofile-generate={}", dir.display()))
        .arg("-pthread")
        .output()
        .map_err(|e| format!("linking the replay: {e}"))?;
    if !link.status.success() {
        return Err(format!(
            "linking the replay: {}",
            String::from_utf8_lossy(&link.stderr)
        ));
    }
    // The events as 32-bit words for the replay main (see replay.cpp).
    let mut words = vec![
        trace.in_words as u32,
        verilog_ports_out_words(out)?,
        u32::from(trace.skip),
    ];
    for e in &trace.events {
        match *e {
            record::Event::Steps(n) => words.extend([0, n]),
            record::Event::Set { word, value } => words.extend([1, word, value]),
            record::Event::Reset(on) => words.extend([2, u32::from(on)]),
        }
    }
    let events = out.join("pgo_events.bin");
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    fs::write(&events, bytes).map_err(|e| e.to_string())?;
    let run = Command::new(&exe)
        .arg(&events)
        .output()
        .map_err(|e| format!("running the replay: {e}"))?;
    if !run.status.success() {
        return Err(format!("the replay failed: {}", run.status));
    }
    let printed = String::from_utf8_lossy(&run.stdout);
    let mut it = printed.split_whitespace();
    let hash = it.next().and_then(|h| u64::from_str_radix(h, 16).ok());
    let steps: Option<u64> = it.next().and_then(|s| s.parse().ok());
    compile(&[
        format!("-fprofile-use={}", dir.display()),
        "-fprofile-partial-training".into(),
        "-Wno-missing-profile".into(),
    ])
    .map_err(|e| format!("profile-guided {}", failed(e)))?;
    Ok(
        if hash == Some(trace.out_hash) && steps == Some(trace.steps()) {
            format!("on, replay faithful ({} steps)", trace.steps())
        } else {
            format!(
                "on, replay diverged from the recording ({} steps): the model changed since {PGO_TRACE} was recorded; record it again (docs/simulation.md)",
                trace.steps()
            )
        },
    )
}

/// OUT_WORDS of the blk model, from the layout file build_model wrote.
fn verilog_ports_out_words(out: &Path) -> Result<u32, String> {
    let rs = fs::read_to_string(out.join("verilator_ports_blk.rs")).map_err(|e| e.to_string())?;
    rs.lines()
        .find_map(|l| l.strip_prefix("pub const OUT_WORDS: usize = "))
        .and_then(|v| v.trim_end_matches(';').parse().ok())
        .ok_or_else(|| "no OUT_WORDS in the layout".into())
}

/// Builds model `m` from `top`; returns the static library's name.
fn build_model(
    m: &Model,
    root: &Path,
    top: &Path,
    out: &Path,
    manifest: &Path,
) -> Result<String, Skip> {
    let source =
        fs::read_to_string(top).map_err(|e| Skip::Failed(format!("{}: {e}", top.display())))?;
    let stem = top
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let module = verilog_ports::top_module(&source, &stem)
        .ok_or_else(|| Skip::Failed(format!("no module in {}", top.display())))?;
    let ports = verilog_ports::parse_ports(&source, &module).map_err(Skip::Failed)?;
    let prefix = format!("vfpga_{}_model", m.name);
    // The shim as it would be without the clock member (which only the
    // generated header names): the cache key's part for the shim code.
    let shim =
        verilog_ports::shim_cpp_named(&ports, m.class, &prefix, None).map_err(Skip::Failed)?;
    fs::write(
        out.join(format!("verilator_ports_{}.rs", m.name)),
        verilog_ports::layout_rs(&ports),
    )
    .map_err(|e| Skip::Failed(e.to_string()))?;

    let lib = format!("vfpga_verilated_{}", m.name);
    let pgo = pgo_input(m, manifest, &ports);
    let pgo_key = match &pgo {
        Pgo::Off(why) => why.as_bytes(),
        Pgo::On(_, key) => key.as_slice(),
    };
    let key = cache_key(&[
        source.as_bytes(),
        shim.as_bytes(),
        root.to_string_lossy().as_bytes(),
        &[u8::from(native())],
        pgo_key,
    ]);
    let stamp = out.join(format!("verilator_{}.key", m.name));
    let status_file = out.join(format!("verilator_{}.pgo", m.name));
    let report = |status: &str| {
        if m.name != "blk" {
            return;
        }
        println!("cargo::rustc-env=VFPGA_VERILATOR_PGO_STATUS={status}");
        let quiet =
            status.starts_with("on, replay faithful") || status.ends_with("VFPGA_VERILATOR_PGO=0");
        if !quiet {
            println!("cargo::warning=Verilator blk model PGO {status}");
        }
    };
    if fs::read_to_string(&stamp).is_ok_and(|k| k == key) && lib_file(out, &lib).exists() {
        report(&fs::read_to_string(&status_file).unwrap_or_else(|_| "off, unknown".into()));
        return Ok(lib);
    }
    let _ = fs::remove_file(&stamp);

    let mdir = out.join(format!("verilator_{}", m.name));
    let _ = fs::remove_dir_all(&mdir);
    fs::create_dir_all(&mdir).map_err(|e| Skip::Failed(e.to_string()))?;
    let run = Command::new("verilator")
        .args(["--cc", "-O3", "--x-assign", "0", "--x-initial", "0"])
        .args([
            "-Wno-fatal",
            "-Wno-WIDTH",
            "--prefix",
            m.class,
            "--top-module",
            &module,
        ])
        .arg("--Mdir")
        .arg(&mdir)
        .arg(top)
        .output()
        .map_err(|e| Skip::Failed(format!("running verilator: {e}")))?;
    if !run.status.success() {
        return Err(Skip::Failed(format!(
            "verilator rejected {}: {}",
            top.display(),
            String::from_utf8_lossy(&run.stderr)
        )));
    }
    let root_header = fs::read_to_string(mdir.join(format!("{}___024root.h", m.class)))
        .map_err(|e| Skip::Failed(format!("the generated root header: {e}")))?;
    let clock = ports
        .iter()
        .find(|p| p.dir == verilog_ports::Dir::In && verilog_ports::is_clock(&p.name))
        .map(verilog_ports::Port::cpp_name)
        .unwrap_or_default();
    let prev = verilog_ports::clock_prev_member(&root_header, &clock);
    if prev.is_none() {
        println!(
            "cargo::warning=Verilator {} model: no clock trigger member found, one-eval steps fall back to two evals",
            m.name
        );
    }
    let shim = verilog_ports::shim_cpp_named(&ports, m.class, &prefix, prev.as_deref())
        .map_err(Skip::Failed)?;
    let shim_path = mdir.join("vfpga_shim.cpp");
    fs::write(&shim_path, shim).map_err(|e| Skip::Failed(e.to_string()))?;

    let mut model_files: Vec<PathBuf> = fs::read_dir(&mdir)
        .map_err(|e| Skip::Failed(e.to_string()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|e| e == "cpp")
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(m.class))
        })
        .collect();
    model_files.sort();
    // The object files keep their paths between the instrumented and the
    // final compile: that is how GCC finds each one's profile.
    let compile = |extra: &[String]| -> Result<(), Skip> {
        let mut b = cxx(root);
        for f in extra {
            b.flag(f);
        }
        b.include(&mdir)
            .files(&model_files)
            .file(&shim_path)
            .try_compile(&lib)
            .map_err(|e| Skip::Failed(format!("compiling the model: {e}")))
    };
    let status = match pgo {
        Pgo::Off(why) => {
            compile(&[])?;
            why
        }
        Pgo::On(trace, _) => match pgo_build(root, out, manifest, &lib, &trace, &compile) {
            Ok(status) => status,
            Err(why) => {
                compile(&[])?;
                format!("off, failed: {}", why.replace('\n', " "))
            }
        },
    };
    report(&status);
    fs::write(&status_file, &status).map_err(|e| Skip::Failed(e.to_string()))?;
    fs::write(&stamp, key).map_err(|e| Skip::Failed(e.to_string()))?;
    Ok(lib)
}
