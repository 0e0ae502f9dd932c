//! `vfpga`: the command users run.
//!
//! Subcommands appear here only when they do real work.

use std::io::Write;

use anyhow::Context;
use clap::{Parser, Subcommand};

mod bench;

#[derive(Debug, Parser)]
#[command(
    name = "vfpga",
    version,
    about = "virtio hardware offload: FPGA engine, simulator and vDPA front ends"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the register map (PCI identity, capabilities, BAR0, vendor
    /// region, firmware management port) as Markdown, as in docs/register-map.md.
    Regmap {
        /// Write to this file instead of standard output.
        #[arg(long, value_name = "PATH")]
        output: Option<std::path::PathBuf>,
    },
    /// Serve a device to a QEMU guest (vhost-user); prints the QEMU options
    /// that attach it. Without --device, the device is the simulator.
    Run {
        #[command(subcommand)]
        what: vfpga_vdpa::run::RunCmd,
    },
    /// Bring a device up with a userspace driver and check it end to end.
    Selftest {
        #[command(subcommand)]
        what: vfpga_vdpa::selftest::SelftestCmd,
    },
    /// Measure the simulator: cycles per second per backend, idle and
    /// under load, and the simulated hardware's IOPS.
    Bench {
        #[command(subcommand)]
        what: bench::BenchCmd,
    },
}

fn main() -> anyhow::Result<()> {
    // Logs go to stderr so that command output stays clean; RUST_LOG filters.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colours only on a terminal: logs redirected to a file stay plain.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    let cli = Cli::parse();
    match cli.command {
        Command::Regmap { output } => {
            let map = vfpga_vdpa::regmap::render();
            match output {
                Some(path) => std::fs::write(&path, map)
                    .with_context(|| format!("writing {}", path.display()))?,
                None => std::io::stdout().write_all(map.as_bytes())?,
            }
        }
        Command::Run { what } => vfpga_vdpa::run::run(what)?,
        Command::Selftest { what } => vfpga_vdpa::selftest::run(what)?,
        Command::Bench { what } => bench::run(what)?,
    }
    Ok(())
}
