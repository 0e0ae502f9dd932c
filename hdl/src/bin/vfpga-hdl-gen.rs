//! Writes the blk and net personalities' Verilog to `hdl/verilog/` (or `--out DIR`).
//!
//! `--check` compares instead of writing and fails when a file is stale.
//! `--resources` also synthesizes each file with yosys (`synth_xilinx`,
//! `synth_ecp5`) and prints LUT/FF/BRAM counts.
//!
//! Parameters are the crate's consts (defaults in brackets): queues
//! `mmio::NQ` [2], MSI-X vectors `msix::NV` [8], queue size max `mmio::QMAX`
//! [256], DMA data width `vfpga_abi::ports::DMA_DATA_BITS` [128], event FIFO
//! `vfpga_abi::mgmt::EVENT_FIFO_DEPTH` [16]; change them there and rerun.

use std::path::PathBuf;
use std::process::ExitCode;

use vfpga_hdl::top::synth::{self, Family};
use vfpga_hdl::top::verilog_files;

fn usage() -> ExitCode {
    eprintln!("usage: vfpga-hdl-gen [--out DIR] [--check] [--resources]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("verilog");
    let mut check = false;
    let mut resources = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => match args.next() {
                Some(d) => out = PathBuf::from(d),
                None => return usage(),
            },
            "--check" => check = true,
            "--resources" => resources = true,
            _ => return usage(),
        }
    }
    let mut files = verilog_files();
    files.extend(vfpga_hdl::net::top::verilog_files());
    let mut stale = false;
    for (name, _, text) in &files {
        let path = out.join(name);
        if check {
            let current = std::fs::read_to_string(&path).unwrap_or_default();
            if current != *text {
                eprintln!("{} is stale: run vfpga-hdl-gen", path.display());
                stale = true;
            }
        } else {
            if let Err(e) = std::fs::create_dir_all(&out).and_then(|_| std::fs::write(&path, text))
            {
                eprintln!("writing {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
            println!("wrote {} ({} lines)", path.display(), text.lines().count());
        }
    }
    if stale {
        return ExitCode::FAILURE;
    }
    if resources {
        let tmp = std::env::temp_dir().join(format!("vfpga-hdl-gen-{}", std::process::id()));
        if let Err(e) = std::fs::create_dir_all(&tmp) {
            eprintln!("{}: {e}", tmp.display());
            return ExitCode::FAILURE;
        }
        println!("| module | family | LUT | FF | BRAM | LUTRAM | carry | latches |");
        println!("|---|---|---|---|---|---|---|---|");
        for (name, top, text) in &files {
            let v = tmp.join(name);
            if let Err(e) = std::fs::write(&v, text) {
                eprintln!("{}: {e}", v.display());
                return ExitCode::FAILURE;
            }
            for family in [Family::Xilinx, Family::Ecp5] {
                let log = tmp.join(format!("{top}-{}.log", family.command()));
                match synth::yosys_synth(&v, top, family, &log) {
                    Ok(r) => println!(
                        "| {top} | {} | {} | {} | {} | {} | {} | {} |",
                        family.command(),
                        r.luts,
                        r.ffs,
                        r.brams,
                        r.lutrams,
                        r.carries,
                        r.latches
                    ),
                    Err(e) => {
                        eprintln!("{e}");
                        return ExitCode::FAILURE;
                    }
                }
            }
        }
        let _ = std::fs::remove_dir_all(&tmp);
    }
    ExitCode::SUCCESS
}
