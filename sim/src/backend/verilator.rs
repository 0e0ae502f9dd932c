//! The Verilator backend: the committed Verilog of a top level (blk or
//! net), compiled by build.rs into a C++ model, driven through a generated
//! `extern "C"` shim that copies all ports in and out as packed 32-bit
//! words.
//!
//! Two ways to run a cycle: settle (inputs applied with the clock low, one
//! `eval()`) then edge (clock high, another), right for any design; or,
//! for a top level whose outputs depend on its state alone (blk, whose
//! ports all go through register slices), one `eval()` per cycle at the
//! edge: the outputs of a cycle are those the previous edge left, so
//! [`Backend::settle`] only stores the inputs. Either way the shim skips
//! the cycles that provably change nothing (a fixed point of the state
//! with the same inputs; see `verilog_ports::shim_cpp_named`).

use std::ffi::{c_int, c_void};

use vfpga_abi::Personality;

use crate::backend::record;
use crate::backend::verilog_ports::same_signal;
use crate::backend::{Backend, BackendKind, VerilatorOptions};
use crate::ports::{OUTPUT_SIGNALS, TopInputs, TopOutputs, has_signal};

/// Port tables of one compiled model: (name, width, word offset).
type Table = &'static [(&'static str, u32, usize)];

/// The shim functions and port layout of one compiled model.
#[derive(Debug, Clone, Copy)]
struct ModelApi {
    new: unsafe extern "C" fn() -> *mut c_void,
    free: unsafe extern "C" fn(*mut c_void),
    settle: unsafe extern "C" fn(*mut c_void, *const u32, *mut u32),
    edge: unsafe extern "C" fn(*mut c_void),
    step: unsafe extern "C" fn(*mut c_void, *const u32, *mut u32) -> c_int,
    read_outputs: unsafe extern "C" fn(*mut c_void, *mut u32),
    set_skip: unsafe extern "C" fn(*mut c_void, c_int),
    skipped: unsafe extern "C" fn(*mut c_void) -> u64,
    fixed: unsafe extern "C" fn(*mut c_void) -> c_int,
    skip_cycles: unsafe extern "C" fn(*mut c_void, u64),
    set_reset: unsafe extern "C" fn(*mut c_void, c_int),
    inputs: Table,
    outputs: Table,
    in_words: usize,
    out_words: usize,
}

#[cfg(vfpga_verilator)]
mod blk {
    pub mod layout {
        include!(concat!(env!("OUT_DIR"), "/verilator_ports_blk.rs"));
    }
    unsafe extern "C" {
        pub fn vfpga_blk_model_new() -> *mut std::ffi::c_void;
        pub fn vfpga_blk_model_free(m: *mut std::ffi::c_void);
        pub fn vfpga_blk_model_settle(m: *mut std::ffi::c_void, inp: *const u32, out: *mut u32);
        pub fn vfpga_blk_model_edge(m: *mut std::ffi::c_void);
        pub fn vfpga_blk_model_step(
            m: *mut std::ffi::c_void,
            inp: *const u32,
            out: *mut u32,
        ) -> std::ffi::c_int;
        pub fn vfpga_blk_model_outputs(m: *mut std::ffi::c_void, out: *mut u32);
        pub fn vfpga_blk_model_set_skip(m: *mut std::ffi::c_void, on: std::ffi::c_int);
        pub fn vfpga_blk_model_skipped(m: *mut std::ffi::c_void) -> u64;
        pub fn vfpga_blk_model_fixed(m: *mut std::ffi::c_void) -> std::ffi::c_int;
        pub fn vfpga_blk_model_skip_cycles(m: *mut std::ffi::c_void, n: u64);
        pub fn vfpga_blk_model_set_reset(m: *mut std::ffi::c_void, v: std::ffi::c_int);
    }
}

#[cfg(vfpga_verilator_net)]
mod net {
    pub mod layout {
        include!(concat!(env!("OUT_DIR"), "/verilator_ports_net.rs"));
    }
    unsafe extern "C" {
        pub fn vfpga_net_model_new() -> *mut std::ffi::c_void;
        pub fn vfpga_net_model_free(m: *mut std::ffi::c_void);
        pub fn vfpga_net_model_settle(m: *mut std::ffi::c_void, inp: *const u32, out: *mut u32);
        pub fn vfpga_net_model_edge(m: *mut std::ffi::c_void);
        pub fn vfpga_net_model_step(
            m: *mut std::ffi::c_void,
            inp: *const u32,
            out: *mut u32,
        ) -> std::ffi::c_int;
        pub fn vfpga_net_model_outputs(m: *mut std::ffi::c_void, out: *mut u32);
        pub fn vfpga_net_model_set_skip(m: *mut std::ffi::c_void, on: std::ffi::c_int);
        pub fn vfpga_net_model_skipped(m: *mut std::ffi::c_void) -> u64;
        pub fn vfpga_net_model_fixed(m: *mut std::ffi::c_void) -> std::ffi::c_int;
        pub fn vfpga_net_model_skip_cycles(m: *mut std::ffi::c_void, n: u64);
        pub fn vfpga_net_model_set_reset(m: *mut std::ffi::c_void, v: std::ffi::c_int);
    }
}

/// The compiled model of `p`, if build.rs built it.
fn api(p: Personality) -> Option<ModelApi> {
    match p {
        #[cfg(vfpga_verilator)]
        Personality::Blk => Some(ModelApi {
            new: blk::vfpga_blk_model_new,
            free: blk::vfpga_blk_model_free,
            settle: blk::vfpga_blk_model_settle,
            edge: blk::vfpga_blk_model_edge,
            step: blk::vfpga_blk_model_step,
            read_outputs: blk::vfpga_blk_model_outputs,
            set_skip: blk::vfpga_blk_model_set_skip,
            skipped: blk::vfpga_blk_model_skipped,
            fixed: blk::vfpga_blk_model_fixed,
            skip_cycles: blk::vfpga_blk_model_skip_cycles,
            set_reset: blk::vfpga_blk_model_set_reset,
            inputs: blk::layout::INPUTS,
            outputs: blk::layout::OUTPUTS,
            in_words: blk::layout::IN_WORDS,
            out_words: blk::layout::OUT_WORDS,
        }),
        #[cfg(vfpga_verilator_net)]
        Personality::Net => Some(ModelApi {
            new: net::vfpga_net_model_new,
            free: net::vfpga_net_model_free,
            settle: net::vfpga_net_model_settle,
            edge: net::vfpga_net_model_edge,
            step: net::vfpga_net_model_step,
            read_outputs: net::vfpga_net_model_outputs,
            set_skip: net::vfpga_net_model_set_skip,
            skipped: net::vfpga_net_model_skipped,
            fixed: net::vfpga_net_model_fixed,
            skip_cycles: net::vfpga_net_model_skip_cycles,
            set_reset: net::vfpga_net_model_set_reset,
            inputs: net::layout::INPUTS,
            outputs: net::layout::OUTPUTS,
            in_words: net::layout::IN_WORDS,
            out_words: net::layout::OUT_WORDS,
        }),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// Where one signal of [`crate::ports`] lives in the packed buffers.
#[derive(Debug, Clone, Copy)]
struct Slot {
    offset: usize,
    /// 32-bit words it takes (at most 4 are read or written).
    words: usize,
    /// Its bits within a `u128`.
    mask: u128,
}

/// A Verilator model of a top level.
#[derive(Debug)]
pub struct VerilatorBackend {
    api: ModelApi,
    personality: Personality,
    opts: VerilatorOptions,
    model: *mut c_void,
    inputs: Vec<Option<Slot>>,
    outputs: Vec<Option<Slot>>,
    in_buf: Vec<u32>,
    out_buf: Vec<u32>,
    /// The inputs packed in `in_buf` (most cycles repeat the last ones).
    last_in: Option<TopInputs>,
    /// `out_buf` of the last settle and the outputs decoded from it.
    last_out_buf: Vec<u32>,
    last_out: TopOutputs,
    /// `VFPGA_RECORD_INPUTS=<file>`: the model's calls, written on drop.
    recorder: Option<(record::Recorder, std::path::PathBuf)>,
}

// SAFETY: the model is owned by this value alone and only used through
// `&mut self`; Verilator models have no thread affinity.
unsafe impl Send for VerilatorBackend {}

fn find(table: Table, signal: &str) -> Option<Slot> {
    table
        .iter()
        .find(|(n, _, _)| same_signal(n, signal))
        .map(|&(_, width, offset)| Slot {
            offset,
            words: width.div_ceil(32).min(4) as usize,
            mask: if width < 128 {
                (1u128 << width) - 1
            } else {
                u128::MAX
            },
        })
}

/// Whether a Verilator model of `p` was compiled into this binary.
pub fn available(p: Personality) -> bool {
    api(p).is_some()
}

impl VerilatorBackend {
    /// Instantiates the blk model.
    pub fn new() -> Result<Self, String> {
        VerilatorBackend::for_personality(Personality::Blk)
    }

    /// Instantiates the model of `personality`, run the fastest exact way
    /// ([`VerilatorOptions::fastest`]).
    pub fn for_personality(personality: Personality) -> Result<Self, String> {
        VerilatorBackend::with_options(personality, VerilatorOptions::fastest(personality))
    }

    /// Instantiates the model of `personality`. Fails when it was not built,
    /// or when a port the simulator drives or reads for that personality
    /// has no counterpart in the Verilog (names are matched ignoring `$`,
    /// `_` and case).
    pub fn with_options(personality: Personality, opts: VerilatorOptions) -> Result<Self, String> {
        let api = api(personality)
            .ok_or_else(|| format!("no Verilator model of {} was built", personality.name()))?;
        let mut inputs = Vec::new();
        let mut missing = Vec::new();
        TopInputs::default().visit(&mut |(n, _, _)| {
            let s = find(api.inputs, n);
            if s.is_none() && has_signal(personality, n) {
                missing.push(n);
            }
            inputs.push(s);
        });
        let mut outputs = Vec::new();
        TopOutputs::default().visit(&mut |(n, _, _)| {
            let s = find(api.outputs, n);
            if s.is_none() && has_signal(personality, n) {
                missing.push(n);
            }
            outputs.push(s);
        });
        if !missing.is_empty() {
            return Err(format!("the Verilog top level lacks ports {missing:?}"));
        }
        // SAFETY: creates a fresh model; freed in Drop.
        let model = unsafe { (api.new)() };
        // SAFETY: valid model.
        unsafe { (api.set_skip)(model, c_int::from(opts.skip_fixed_points)) };
        let mut out_buf = vec![0; api.out_words.max(1)];
        // SAFETY: `out_buf` has OUT_WORDS words.
        unsafe { (api.read_outputs)(model, out_buf.as_mut_ptr()) };
        let mut b = VerilatorBackend {
            api,
            personality,
            opts,
            model,
            inputs,
            outputs,
            in_buf: vec![0; api.in_words.max(1)],
            out_buf,
            last_in: None,
            last_out_buf: vec![0; api.out_words.max(1)],
            last_out: TopOutputs::default(),
            // Only the one-eval step is recorded: it is what blk runs.
            recorder: std::env::var_os("VFPGA_RECORD_INPUTS")
                .filter(|_| personality == Personality::Blk && opts.one_eval)
                .map(|path| {
                    let layout = record::layout_hash(api.inputs.iter().copied());
                    let r = record::Recorder::new(api.in_words, layout, opts.skip_fixed_points);
                    (r, path.into())
                }),
        };
        b.decode();
        Ok(b)
    }

    /// How this model runs cycles.
    pub fn options(&self) -> VerilatorOptions {
        self.opts
    }

    /// Decodes `out_buf` into `last_out` unless it did not change.
    fn decode(&mut self) {
        if self.out_buf == self.last_out_buf {
            return;
        }
        let mut v = [0u128; OUTPUT_SIGNALS];
        for (v, s) in v.iter_mut().zip(&self.outputs) {
            *v = self.read(*s);
        }
        self.last_out = TopOutputs::from_values(&v);
        self.last_out_buf.copy_from_slice(&self.out_buf);
    }

    fn pack(&mut self, inp: &TopInputs) {
        let mut i = 0;
        let (slots, buf) = (&self.inputs, &mut self.in_buf);
        inp.visit(&mut |(_, _, v)| {
            if let Some(s) = slots[i] {
                let v = v & s.mask;
                buf[s.offset] = v as u32;
                for w in 1..s.words {
                    buf[s.offset + w] = (v >> (32 * w)) as u32;
                }
            }
            i += 1;
        });
    }

    fn read(&self, s: Option<Slot>) -> u128 {
        let Some(s) = s else { return 0 };
        (0..s.words)
            .map(|w| u128::from(self.out_buf[s.offset + w]) << (32 * w))
            .fold(0, |a, b| a | b)
    }
}

impl Drop for VerilatorBackend {
    fn drop(&mut self) {
        if let Some((r, path)) = &self.recorder {
            match std::fs::write(path, r.trace().encode()) {
                Ok(()) => {
                    tracing::info!(path = %path.display(), steps = r.trace().steps(), "recorded the model's inputs")
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), "recording the model's inputs: {e}")
                }
            }
        }
        // SAFETY: `model` came from this api's new and is freed once.
        unsafe { (self.api.free)(self.model) };
    }
}

impl Backend for VerilatorBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Verilator
    }

    fn personality(&self) -> Personality {
        self.personality
    }

    fn reset(&mut self, cycles: u32) {
        // SAFETY: valid model for the lifetime of self.
        unsafe { (self.api.set_reset)(self.model, 1) };
        if let Some((r, _)) = &mut self.recorder {
            r.reset(true);
        }
        for _ in 0..cycles {
            self.settle(&TopInputs::default());
            self.edge();
        }
        // SAFETY: as above.
        unsafe { (self.api.set_reset)(self.model, 0) };
        if let Some((r, _)) = &mut self.recorder {
            r.reset(false);
        }
    }

    fn settle(&mut self, inputs: &TopInputs) -> TopOutputs {
        // Packing and decoding cost as much as a third of a cycle; most
        // cycles repeat the previous inputs and outputs, so skip both then.
        if self.last_in.as_ref() != Some(inputs) {
            self.pack(inputs);
            self.last_in = Some(*inputs);
        }
        if self.opts.one_eval {
            // The outputs depend on the state only: those the last edge
            // left are this cycle's.
            return self.last_out;
        }
        // SAFETY: the buffers have the sizes (IN_WORDS/OUT_WORDS) the
        // shim was generated with.
        unsafe { (self.api.settle)(self.model, self.in_buf.as_ptr(), self.out_buf.as_mut_ptr()) };
        self.decode();
        self.last_out
    }

    fn skipped_cycles(&self) -> u64 {
        // SAFETY: valid model.
        unsafe { (self.api.skipped)(self.model) }
    }

    fn skip_if_fixed(&mut self, inputs: &TopInputs, cycles: u64) -> bool {
        // The shim's fixed point holds for the inputs it last ran, which are
        // the last ones packed.
        if !self.opts.skip_fixed_points || self.last_in.as_ref() != Some(inputs) {
            return false;
        }
        // SAFETY: valid model.
        if unsafe { (self.api.fixed)(self.model) } == 0 {
            return false;
        }
        // SAFETY: valid model, at a fixed point.
        unsafe { (self.api.skip_cycles)(self.model, cycles) };
        if let Some((r, _)) = &mut self.recorder {
            // Recorded as the steps they stand for: a replay runs (and
            // skips) them one by one.
            for _ in 0..cycles {
                r.step(&self.in_buf, &self.out_buf);
            }
        }
        true
    }

    fn edge(&mut self) {
        if self.opts.one_eval {
            // SAFETY: as in settle.
            let ran = unsafe {
                (self.api.step)(self.model, self.in_buf.as_ptr(), self.out_buf.as_mut_ptr())
            };
            // 2: the outputs changed (the shim compared them already).
            if ran == 2 {
                self.decode();
            }
            if let Some((r, _)) = &mut self.recorder {
                r.step(&self.in_buf, &self.out_buf);
            }
        } else {
            // SAFETY: valid model.
            unsafe { (self.api.edge)(self.model) };
        }
    }
}
