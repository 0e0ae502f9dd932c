//! `vfpga bench sim`: how fast the simulator runs — simulated cycles per
//! wall-clock second for each engine backend, idle, under a queue-depth-32
//! load of 4 KiB reads, and for the net function with 64-byte and
//! 1500-byte frames through the loopback port — and what the simulated
//! hardware does in its own time (IOPS and MB/s, or frames per second and
//! cycles per frame, at the nominal clock). The workload is
//! `vfpga_sim::bench`, the same one `cargo bench -p vfpga-sim` runs.

use std::time::Duration;

use anyhow::bail;
use clap::{Args, Subcommand, ValueEnum};
use vfpga_sim::backend::{self, BackendKind};
use vfpga_sim::bench::{self, Window, Workload};

/// What to benchmark.
#[derive(Debug, Subcommand)]
pub enum BenchCmd {
    /// The simulator: cycles per second, idle and under load, per backend.
    Sim(SimArgs),
}

/// Which backends `vfpga bench sim` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    /// The committed Verilog compiled by Verilator.
    Verilator,
    /// rust-hdl's own simulation of the design.
    RustHdl,
    /// Both, Verilator first.
    Both,
}

/// `vfpga bench sim` arguments.
#[derive(Debug, Args)]
pub struct SimArgs {
    /// Backend(s) to measure.
    #[arg(long, value_enum, default_value = "both")]
    pub backend: BackendChoice,
    /// Wall-clock seconds each measurement lasts (bring-up not counted).
    #[arg(long, default_value = "3", value_parser = parse_seconds)]
    pub seconds: f64,
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 3600.0 => Ok(v),
        _ => Err(format!("`{s}` is not a number of seconds in (0, 3600]")),
    }
}

/// Runs a benchmark.
pub fn run(cmd: BenchCmd) -> anyhow::Result<()> {
    match cmd {
        BenchCmd::Sim(a) => run_sim(&a),
    }
}

fn run_sim(a: &SimArgs) -> anyhow::Result<()> {
    let kinds: Vec<BackendKind> = match a.backend {
        BackendChoice::Verilator => vec![BackendKind::Verilator],
        BackendChoice::RustHdl => vec![BackendKind::RustHdl],
        BackendChoice::Both => vec![BackendKind::Verilator, BackendKind::RustHdl],
    };
    let window = Window::Wall(Duration::from_secs_f64(a.seconds));
    println!(
        "simulator speed: {} s per measurement; simulated time at 250 MHz; load = {} reads of {} bytes in flight",
        a.seconds,
        bench::DEPTH,
        bench::READ_BYTES
    );
    let mut problems = Vec::new();
    for kind in kinds {
        if kind == BackendKind::Verilator && !backend::verilator_available() {
            let why = format!("verilator  unavailable: {}", backend::verilator_status());
            println!("{why}");
            if a.backend == BackendChoice::Verilator {
                bail!(why);
            }
            continue;
        }
        let net = [64, 1500].map(|frame| Workload::NetLoopback { frame });
        for w in [Workload::Idle, Workload::Qd32Read4k]
            .into_iter()
            .chain(net)
        {
            let s = bench::run(kind, w, window)?;
            println!("{}", bench::format_sample(&s));
            if !s.is_clean() {
                problems.push(format!("{} {}", kind.name(), w.name()));
            }
            if w == Workload::Qd32Read4k && s.requests == 0 {
                println!(
                    "{:<10} note: no read completed in the window; give it more --seconds",
                    kind.name()
                );
            }
        }
    }
    if !problems.is_empty() {
        bail!("the device reported errors in: {}", problems.join(", "));
    }
    Ok(())
}
