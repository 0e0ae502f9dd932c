//! The Verilator backend: the committed Verilog of the top level, compiled
//! by build.rs into a C++ model, driven through a generated `extern "C"`
//! shim that copies all ports in and out as packed 32-bit words (one call
//! to settle, one to clock).

use crate::backend::verilog_ports::same_signal;
use crate::backend::{Backend, BackendKind};
use crate::ports::{OUTPUT_SIGNALS, TopInputs, TopOutputs};

mod layout {
    include!(concat!(env!("OUT_DIR"), "/verilator_ports.rs"));
}

unsafe extern "C" {
    fn vfpga_model_new() -> *mut std::ffi::c_void;
    fn vfpga_model_free(m: *mut std::ffi::c_void);
    fn vfpga_model_settle(m: *mut std::ffi::c_void, inp: *const u32, out: *mut u32);
    fn vfpga_model_edge(m: *mut std::ffi::c_void);
    fn vfpga_model_set_reset(m: *mut std::ffi::c_void, v: std::ffi::c_int);
}

/// Where one signal of [`crate::ports`] lives in the packed buffers.
#[derive(Debug, Clone, Copy)]
struct Slot {
    offset: usize,
    width: u32,
}

/// A Verilator model of the top level.
#[derive(Debug)]
pub struct VerilatorBackend {
    model: *mut std::ffi::c_void,
    inputs: Vec<Option<Slot>>,
    outputs: Vec<Slot>,
    in_buf: Vec<u32>,
    out_buf: Vec<u32>,
    /// The inputs packed in `in_buf` (most cycles repeat the last ones).
    last_in: Option<TopInputs>,
    /// `out_buf` of the last settle and the outputs decoded from it.
    last_out_buf: Vec<u32>,
    last_out: TopOutputs,
}

// SAFETY: the model is owned by this value alone and only used through
// `&mut self`; Verilator models have no thread affinity.
unsafe impl Send for VerilatorBackend {}

fn find(table: &[(&str, u32, usize)], signal: &str) -> Option<Slot> {
    table
        .iter()
        .find(|(n, _, _)| same_signal(n, signal))
        .map(|&(_, width, offset)| Slot { offset, width })
}

impl VerilatorBackend {
    /// Instantiates the model. Fails when a port the simulator drives or
    /// reads has no counterpart in the Verilog (names are matched ignoring
    /// `$`, `_` and case).
    pub fn new() -> Result<Self, String> {
        let mut inputs = Vec::new();
        let mut missing = Vec::new();
        TopInputs::default().visit(&mut |(n, _, _)| {
            let s = find(layout::INPUTS, n);
            if s.is_none() {
                missing.push(n);
            }
            inputs.push(s);
        });
        let mut outputs = Vec::new();
        TopOutputs::default().visit(&mut |(n, _, _)| {
            let s = find(layout::OUTPUTS, n);
            if s.is_none() {
                missing.push(n);
            }
            outputs.push(s);
        });
        if !missing.is_empty() {
            return Err(format!("the Verilog top level lacks ports {missing:?}"));
        }
        // SAFETY: creates a fresh model; freed in Drop.
        let model = unsafe { vfpga_model_new() };
        Ok(VerilatorBackend {
            model,
            inputs,
            outputs: outputs.into_iter().flatten().collect(),
            in_buf: vec![0; layout::IN_WORDS.max(1)],
            out_buf: vec![0; layout::OUT_WORDS.max(1)],
            last_in: None,
            last_out_buf: vec![0; layout::OUT_WORDS.max(1)],
            last_out: TopOutputs::default(),
        })
    }

    fn pack(&mut self, inp: &TopInputs) {
        let mut i = 0;
        let (slots, buf) = (&self.inputs, &mut self.in_buf);
        inp.visit(&mut |(_, _, v)| {
            if let Some(s) = slots[i] {
                let v = if s.width < 128 {
                    v & ((1u128 << s.width) - 1)
                } else {
                    v
                };
                for w in 0..s.width.div_ceil(32) as usize {
                    buf[s.offset + w] = (v >> (32 * w)) as u32;
                }
            }
            i += 1;
        });
    }

    fn read(&self, s: Slot) -> u128 {
        (0..s.width.div_ceil(32).min(4) as usize)
            .map(|w| u128::from(self.out_buf[s.offset + w]) << (32 * w))
            .fold(0, |a, b| a | b)
    }
}

impl Drop for VerilatorBackend {
    fn drop(&mut self) {
        // SAFETY: `model` came from vfpga_model_new and is freed once.
        unsafe { vfpga_model_free(self.model) };
    }
}

impl Backend for VerilatorBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Verilator
    }

    fn reset(&mut self, cycles: u32) {
        // SAFETY: valid model for the lifetime of self.
        unsafe { vfpga_model_set_reset(self.model, 1) };
        for _ in 0..cycles {
            self.settle(&TopInputs::default());
            self.edge();
        }
        // SAFETY: as above.
        unsafe { vfpga_model_set_reset(self.model, 0) };
    }

    fn settle(&mut self, inputs: &TopInputs) -> TopOutputs {
        // Packing and decoding cost as much as a third of a cycle; most
        // cycles repeat the previous inputs and outputs, so skip both then.
        if self.last_in.as_ref() != Some(inputs) {
            self.pack(inputs);
            self.last_in = Some(*inputs);
        }
        // SAFETY: the buffers have IN_WORDS / OUT_WORDS words, the sizes the
        // shim was generated with.
        unsafe { vfpga_model_settle(self.model, self.in_buf.as_ptr(), self.out_buf.as_mut_ptr()) };
        if self.out_buf == self.last_out_buf {
            return self.last_out;
        }
        let mut v = [0u128; OUTPUT_SIGNALS];
        for (v, s) in v.iter_mut().zip(&self.outputs) {
            *v = self.read(*s);
        }
        self.last_out = TopOutputs::from_values(&v);
        self.last_out_buf.copy_from_slice(&self.out_buf);
        self.last_out
    }

    fn edge(&mut self) {
        // SAFETY: valid model.
        unsafe { vfpga_model_edge(self.model) };
    }
}
