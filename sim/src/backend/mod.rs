//! Engine backends: the real hardware of `vfpga-hdl`, simulated either
//! in-process by rust-hdl or as the committed Verilog compiled by Verilator.
//!
//! Both are driven through [`Backend`] at the top-level ports, one clock
//! cycle at a time:
//!
//! 1. [`Backend::settle`] applies the host side's outputs for the cycle and
//!    returns the engine's outputs once its logic has settled;
//! 2. the simulator decides which handshakes fire (valid && ready);
//! 3. [`Backend::edge`] is the rising clock edge.
//!
//! Host-side models are Moore machines (their outputs depend on their
//! state only), so step 1 needs no combinational iteration between the
//! engine and the models.

use vfpga_abi::Personality;

use crate::ports::{TopInputs, TopOutputs};

pub mod record;
pub mod rust_hdl;
#[cfg(any(vfpga_verilator, vfpga_verilator_net))]
pub mod verilator;
pub mod verilog_ports;

/// Which simulator runs the hardware.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BackendKind {
    /// rust-hdl's event-driven simulation of the design, in-process.
    RustHdl,
    /// The Verilog compiled into a C++ model by Verilator.
    Verilator,
}

impl BackendKind {
    /// Lower-case name, as used in logs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::RustHdl => "rust-hdl",
            BackendKind::Verilator => "verilator",
        }
    }

    /// The backend used for blk when none is asked for: Verilator when it
    /// was built into this binary, otherwise rust-hdl.
    pub fn default_available() -> BackendKind {
        BackendKind::default_for(Personality::Blk)
    }

    /// The backend used for `personality` when none is asked for: Verilator
    /// when its model was built into this binary, otherwise rust-hdl.
    pub fn default_for(personality: Personality) -> BackendKind {
        if verilator_available_for(personality) {
            BackendKind::Verilator
        } else {
            BackendKind::RustHdl
        }
    }
}

impl std::str::FromStr for BackendKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "rust-hdl" | "rusthdl" => Ok(BackendKind::RustHdl),
            "verilator" => Ok(BackendKind::Verilator),
            _ => Err(format!("unknown backend {s:?} (rust-hdl, verilator)")),
        }
    }
}

/// Whether a Verilator model of blk was compiled into this binary.
pub fn verilator_available() -> bool {
    verilator_available_for(Personality::Blk)
}

/// Whether a Verilator model of `personality` was compiled into this binary.
pub fn verilator_available_for(personality: Personality) -> bool {
    match personality {
        Personality::Blk => cfg!(vfpga_verilator),
        Personality::Net => cfg!(vfpga_verilator_net),
    }
}

/// Why the blk Verilator backend is missing, when it is (from build.rs).
pub fn verilator_status() -> &'static str {
    verilator_status_for(Personality::Blk)
}

/// How build.rs fared with the Verilator model of `personality` (built
/// from which file, or why it is missing).
pub fn verilator_status_for(personality: Personality) -> &'static str {
    match personality {
        Personality::Blk => env!("VFPGA_VERILATOR_STATUS"),
        Personality::Net => env!("VFPGA_VERILATOR_NET_STATUS"),
    }
}

/// How the Verilator backend runs cycles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerilatorOptions {
    /// One `eval()` per cycle, at the clock edge (outputs of a cycle taken
    /// from the previous edge). Only for a top level whose outputs do not
    /// depend combinationally on its inputs.
    pub one_eval: bool,
    /// Skip the cycles that leave the model's state unchanged and would
    /// again (same inputs).
    pub skip_fixed_points: bool,
}

impl VerilatorOptions {
    /// The fastest exact way for `p`: one eval per cycle for blk (its
    /// outputs are registered), two for net; fixed points skipped.
    pub fn fastest(p: Personality) -> Self {
        VerilatorOptions {
            one_eval: p == Personality::Blk,
            skip_fixed_points: true,
        }
    }

    /// Every cycle evaluated, settle and edge apart: the reference the
    /// faster options are compared with.
    pub fn plain() -> Self {
        VerilatorOptions {
            one_eval: false,
            skip_fixed_points: false,
        }
    }
}

/// The hardware, simulated one clock cycle at a time at its top-level ports.
pub trait Backend: Send {
    /// Which simulator this is.
    fn kind(&self) -> BackendKind;

    /// Which top level it simulates.
    fn personality(&self) -> Personality;

    /// Holds the design in reset for `cycles` clock cycles with idle inputs
    /// (every valid low), then releases it.
    fn reset(&mut self, cycles: u32);

    /// Drives `inputs` for the current cycle and returns the outputs after
    /// the design's combinational logic settled on them.
    fn settle(&mut self, inputs: &TopInputs) -> TopOutputs;

    /// The rising clock edge ending the current cycle (with the inputs of
    /// the last [`Backend::settle`]).
    fn edge(&mut self);

    /// Cycles the backend did not need to evaluate because they provably
    /// changed nothing (Verilator's fixed-point skips; 0 elsewhere).
    fn skipped_cycles(&self) -> u64 {
        0
    }

    /// Accounts `cycles` cycles with `inputs` as run, without running them,
    /// when the backend can prove each would change nothing: its state is a
    /// fixed point of the inputs it last ran, and `inputs` are those.
    /// Returns false (and does nothing) otherwise; then the caller runs the
    /// cycles. The simulator's clock uses it to jump over quiet stretches.
    fn skip_if_fixed(&mut self, inputs: &TopInputs, cycles: u64) -> bool {
        let _ = (inputs, cycles);
        false
    }
}

/// Creates the blk backend `kind`, or the default one ([`BackendKind::default_available`]).
pub fn create(kind: Option<BackendKind>) -> Result<Box<dyn Backend>, crate::SimError> {
    create_for(kind, Personality::Blk)
}

/// Creates backend `kind` (or [`BackendKind::default_for`]) simulating
/// the top level of `personality`.
pub fn create_for(
    kind: Option<BackendKind>,
    personality: Personality,
) -> Result<Box<dyn Backend>, crate::SimError> {
    let kind = kind.unwrap_or_else(|| BackendKind::default_for(personality));
    match kind {
        BackendKind::Verilator => create_verilator(personality),
        BackendKind::RustHdl => Ok(Box::new(rust_hdl::RustHdlBackend::for_personality(
            personality,
        ))),
    }
}

fn create_verilator(personality: Personality) -> Result<Box<dyn Backend>, crate::SimError> {
    create_verilator_with(personality, VerilatorOptions::fastest(personality))
}

/// Creates the Verilator backend of `personality` running cycles as `opts`
/// says (tests compare [`VerilatorOptions::plain`] with the default).
#[cfg(any(vfpga_verilator, vfpga_verilator_net))]
pub fn create_verilator_with(
    personality: Personality,
    opts: VerilatorOptions,
) -> Result<Box<dyn Backend>, crate::SimError> {
    if !verilator_available_for(personality) {
        return Err(crate::SimError::BackendUnavailable(
            "verilator",
            verilator_status_for(personality),
        ));
    }
    verilator::VerilatorBackend::with_options(personality, opts)
        .map(|b| Box::new(b) as Box<dyn Backend>)
        .map_err(crate::SimError::BackendMismatch)
}

/// Creates the Verilator backend of `personality` running cycles as `opts`
/// says: unavailable in this build.
#[cfg(not(any(vfpga_verilator, vfpga_verilator_net)))]
pub fn create_verilator_with(
    personality: Personality,
    _opts: VerilatorOptions,
) -> Result<Box<dyn Backend>, crate::SimError> {
    Err(crate::SimError::BackendUnavailable(
        "verilator",
        verilator_status_for(personality),
    ))
}
