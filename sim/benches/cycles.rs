//! Simulator speed: simulated engine cycles per wall-clock second, for
//! each backend, idle and under a queue-depth-32 load of 4 KiB reads, and
//! the load's IOPS and MB/s in simulated time (the hardware's figure);
//! then a net board on loopback with 64 B and 1500 B frames (frames per
//! simulated second, cycles per frame). The workload is `vfpga_sim::bench`,
//! shared with `vfpga bench sim`.
//!
//! `cargo bench -p vfpga-sim --bench cycles [-- SECONDS|--seconds=SECONDS]
//! [rust-hdl|verilator] [--cycles=N] [idle|qd32|net]`
//!
//! `--cycles=N` measures N simulated cycles instead of a wall-clock window:
//! a fixed amount of work, for instruction counts (`valgrind
//! --tool=callgrind`) that do not depend on the machine's load.

use std::process::ExitCode;
use std::time::Duration;

use vfpga_sim::backend::{self, BackendKind};
use vfpga_sim::bench::{self, Window, Workload};

fn main() -> ExitCode {
    let mut secs = 3.0;
    let mut only: Option<BackendKind> = None;
    let mut cycles: Option<u64> = None;
    let mut pick: Vec<String> = Vec::new();
    for a in std::env::args().skip(1) {
        if a == "--bench" {
            // Passed by `cargo bench`.
        } else if let Ok(s) = a.strip_prefix("--seconds=").unwrap_or(&a).parse::<f64>() {
            if !(s.is_finite() && s > 0.0) {
                return usage(&format!("{a}: the seconds must be a positive number"));
            }
            secs = s;
        } else if let Some(n) = a.strip_prefix("--cycles=") {
            match n.parse() {
                Ok(n) => cycles = Some(n),
                Err(e) => return usage(&format!("--cycles={n}: {e}")),
            }
        } else if let Ok(k) = a.parse() {
            only = Some(k);
        } else if matches!(a.as_str(), "idle" | "qd32" | "net") {
            pick.push(a);
        } else {
            return usage(&format!("unknown argument {a:?}"));
        }
    }
    let window = match cycles {
        Some(c) => Window::Cycles(c),
        None => Window::Wall(Duration::from_secs_f64(secs)),
    };
    let wanted = |w: Workload| {
        pick.is_empty()
            || pick.iter().any(|p| match p.as_str() {
                "idle" => w == Workload::Idle,
                "qd32" => w == Workload::Qd32Read4k,
                _ => w.is_net(),
            })
    };
    let mut kinds = vec![BackendKind::RustHdl];
    if backend::verilator_available() {
        kinds.insert(0, BackendKind::Verilator);
    } else {
        println!("verilator  unavailable: {}", backend::verilator_status());
    }
    kinds.retain(|k| only.is_none_or(|o| o == *k));
    let mut ok = true;
    for kind in kinds {
        let net_built = kind == BackendKind::RustHdl
            || backend::verilator_available_for(vfpga_abi::Personality::Net);
        let mut ws = vec![Workload::Idle, Workload::Qd32Read4k];
        if net_built {
            ws.extend([
                Workload::NetLoopback { frame: 64 },
                Workload::NetLoopback { frame: 1500 },
            ]);
        }
        ws.retain(|w| wanted(*w));
        for w in ws {
            match bench::run(kind, w, window) {
                Ok(s) => {
                    println!("{}", bench::format_sample(&s));
                    ok &= s.is_clean();
                }
                Err(e) => {
                    eprintln!("{} {}: {e}", kind.name(), w.name());
                    ok = false;
                }
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!(
        "cycles bench: {problem}\nusage: cargo bench -p vfpga-sim --bench cycles -- \
         [SECONDS|--seconds=SECONDS] [rust-hdl|verilator] [--cycles=N] [idle|qd32|net]..."
    );
    ExitCode::from(2)
}
