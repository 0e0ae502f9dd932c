//! Runs the open-source FPGA tools on generated Verilog: Verilator lint and
//! yosys synthesis (Xilinx 7-series and Lattice ECP5), with latch detection
//! and a resource summary.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What can go wrong running a tool.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The tool is not installed (not on PATH).
    #[error("{0} is not installed (not found on PATH)")]
    Missing(&'static str),
    /// The tool could not be started or its files not written/read.
    #[error("running {tool}: {source}")]
    Io {
        /// Tool name.
        tool: &'static str,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The tool ran and reported failure.
    #[error("{tool} failed:\n{output}")]
    Failed {
        /// Tool name.
        tool: &'static str,
        /// What it printed (tail).
        output: String,
    },
}

/// Verilator warnings waived for rust-hdl output, each with the reason.
pub const VERILATOR_WAIVERS: [(&str, &str); 6] = [
    (
        "-Wno-WIDTH",
        "rust-hdl writes 32-bit literals and `x + 32'h1` on narrower signals",
    ),
    (
        "-Wno-UNUSEDPARAM",
        "rust-hdl declares every state-enum variant as a localparam in each module that holds the type",
    ),
    (
        "-Wno-UNUSEDSIGNAL",
        "sub-block outputs a parent does not read (e.g. an index table's count) stay as unused wires",
    ),
    (
        "-Wno-DECLFILENAME",
        "one file holds the top module and every rust-hdl sub-module",
    ),
    (
        "-Wno-UNOPTFLAT",
        "rust-hdl puts a module's whole combinational logic in one always @(*), so Verilator sees loops through blocks that are not loops per signal; yosys `check -assert` after synthesis rejects real ones",
    ),
    (
        "-Wno-VARHIDDEN",
        "a sub-block field named `q` becomes an instance `q` next to the DFF modules' port `q`",
    ),
];

/// Finds `tool` on PATH.
pub fn find_tool(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

fn tail(s: &str, lines: usize) -> String {
    let v: Vec<&str> = s.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

/// `verilator --lint-only -Wall` with [`VERILATOR_WAIVERS`].
pub fn verilator_lint(file: &Path, top: &str) -> Result<(), ToolError> {
    if find_tool("verilator").is_none() {
        return Err(ToolError::Missing("verilator"));
    }
    let out = Command::new("verilator")
        .arg("--lint-only")
        .arg("-Wall")
        .args(VERILATOR_WAIVERS.iter().map(|w| w.0))
        .arg("--top-module")
        .arg(top)
        .arg(file)
        .output()
        .map_err(|source| ToolError::Io {
            tool: "verilator",
            source,
        })?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() && !text.contains("%Warning") && !text.contains("%Error") {
        Ok(())
    } else {
        Err(ToolError::Failed {
            tool: "verilator",
            output: tail(&text, 60),
        })
    }
}

/// An FPGA family yosys targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Xilinx 7-series (`synth_xilinx`).
    Xilinx,
    /// Lattice ECP5 (`synth_ecp5`).
    Ecp5,
}

impl Family {
    /// The yosys synthesis command.
    pub fn command(self) -> &'static str {
        match self {
            Family::Xilinx => "synth_xilinx",
            Family::Ecp5 => "synth_ecp5",
        }
    }
}

/// Resource use after synthesis.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    /// Look-up tables (LUT1..LUT6 on Xilinx, LUT4 on ECP5).
    pub luts: u64,
    /// Flip-flops.
    pub ffs: u64,
    /// Block RAMs (RAMB18/RAMB36 on Xilinx, DP16KD on ECP5).
    pub brams: u64,
    /// Distributed-RAM cells (RAM32M/RAM64M.. on Xilinx, TRELLIS_DPR16X4 on ECP5).
    pub lutrams: u64,
    /// Carry cells (CARRY4 / CCU2C).
    pub carries: u64,
    /// Latches: cells and "Latch inferred" messages; must be 0.
    pub latches: u64,
    /// Every cell type with its count, from the final `stat`.
    pub cells: Vec<(String, u64)>,
}

/// Synthesizes `file` for `family`, writing the yosys log to `log`.
pub fn yosys_synth(
    file: &Path,
    top: &str,
    family: Family,
    log: &Path,
) -> Result<Resources, ToolError> {
    if find_tool("yosys").is_none() {
        return Err(ToolError::Missing("yosys"));
    }
    let script = format!(
        "read_verilog {}; {} -top {}; check -assert; stat",
        file.display(),
        family.command(),
        top
    );
    let out = Command::new("yosys")
        .arg("-q")
        .arg("-l")
        .arg(log)
        .arg("-p")
        .arg(&script)
        .output()
        .map_err(|source| ToolError::Io {
            tool: "yosys",
            source,
        })?;
    let text = std::fs::read_to_string(log).map_err(|source| ToolError::Io {
        tool: "yosys",
        source,
    })?;
    if !out.status.success() {
        return Err(ToolError::Failed {
            tool: "yosys",
            output: format!(
                "{}\n{}",
                tail(&text, 40),
                String::from_utf8_lossy(&out.stderr)
            ),
        });
    }
    Ok(parse_stat(&text, family))
}

/// Reads the last `stat` table of a yosys log.
pub fn parse_stat(log: &str, family: Family) -> Resources {
    let mut r = Resources::default();
    let start = log.rfind("Number of cells:").unwrap_or(log.len());
    for line in log[start..].lines().skip(1) {
        let mut it = line.split_whitespace();
        let (Some(name), Some(count), None) = (it.next(), it.next(), it.next()) else {
            if line.trim().is_empty() {
                continue;
            }
            break;
        };
        let Ok(n) = count.parse::<u64>() else { break };
        r.cells.push((name.to_string(), n));
        let is = |p: &[&str]| p.iter().any(|x| name.starts_with(x));
        match family {
            Family::Xilinx => {
                if is(&["LUT"]) {
                    r.luts += n;
                } else if is(&["FD"]) {
                    r.ffs += n;
                } else if is(&["RAMB"]) {
                    r.brams += n;
                } else if is(&["RAM32", "RAM64", "RAM128", "RAM256", "RAM16"]) {
                    r.lutrams += n;
                } else if is(&["CARRY"]) {
                    r.carries += n;
                } else if is(&["LD"]) {
                    r.latches += n;
                }
            }
            Family::Ecp5 => {
                if name == "LUT4" {
                    r.luts += n;
                } else if name == "TRELLIS_FF" {
                    r.ffs += n;
                } else if name == "DP16KD" || name == "PDPW16KD" {
                    r.brams += n;
                } else if name == "TRELLIS_DPR16X4" {
                    r.lutrams += n;
                } else if name == "CCU2C" {
                    r.carries += n;
                }
            }
        }
        if name.contains("dlatch") || name.contains("DLATCH") {
            r.latches += n;
        }
    }
    r.latches += log.matches("Latch inferred for").count() as u64;
    r
}
