//! Simulator speed: simulated engine cycles per wall-clock second, for
//! each backend, idle and under a queue-depth-32 load of 4 KiB reads, and
//! the load's IOPS and MB/s in simulated time (the hardware's figure);
//! then a net board on loopback with 64 B and 1500 B frames (frames per
//! simulated second, cycles per frame). The workload is `vfpga_sim::bench`,
//! shared with `vfpga bench sim`.
//!
//! `cargo bench -p vfpga-sim --bench cycles [-- SECONDS] [rust-hdl|verilator]
//! [--cycles=N] [idle|qd32|net]`
//!
//! `--cycles=N` measures N simulated cycles instead of a wall-clock window:
//! a fixed amount of work, for instruction counts (`valgrind
//! --tool=callgrind`) that do not depend on the machine's load.

use std::process::ExitCode;
use std::time::Duration;

use vfpga_sim::backend::{self, BackendKind};
use vfpga_sim::bench::{self, Window, Workload};

fn main() -> ExitCode {
    // cargo bench passes `--bench`; anything else is ours.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let secs: f64 = args.iter().find_map(|a| a.parse().ok()).unwrap_or(3.0);
    let only: Option<BackendKind> = args.iter().find_map(|a| a.parse().ok());
    let cycles: Option<u64> = args
        .iter()
        .find_map(|a| a.strip_prefix("--cycles=").and_then(|n| n.parse().ok()));
    let window = match cycles {
        Some(c) => Window::Cycles(c),
        None => Window::Wall(Duration::from_secs_f64(secs)),
    };
    let pick: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| matches!(*a, "idle" | "qd32" | "net"))
        .collect();
    let wanted = |w: Workload| {
        pick.is_empty()
            || pick.iter().any(|p| match *p {
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
