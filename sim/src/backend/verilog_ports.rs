//! The top module's port list, read from the Verilog that `vfpga-hdl-gen`
//! writes, and the C++ shim that moves the ports in and out of a Verilator
//! model as packed 32-bit words.
//!
//! This file is shared with `build.rs` (through `#[path]`), which generates
//! the shim at build time; it therefore uses nothing but `std`.

use std::fmt::Write;

/// Direction of a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Into the design.
    In,
    /// Out of the design.
    Out,
}

/// One port of the top module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    /// Name as written in the Verilog (rust-hdl joins interface paths with `$`).
    pub name: String,
    /// Direction.
    pub dir: Dir,
    /// Width in bits.
    pub width: u32,
}

impl Port {
    /// Number of 32-bit words the port takes in the packed buffers.
    pub fn words(&self) -> usize {
        self.width.div_ceil(32) as usize
    }

    /// The C++ member name Verilator gives the port (`$` is escaped).
    pub fn cpp_name(&self) -> String {
        self.name.replace('$', "__024")
    }
}

/// The top module of a file: the module named like the file's `stem` when
/// there is one, else the first module (rust-hdl writes the top module
/// first, its submodules after it).
pub fn top_module(verilog: &str, stem: &str) -> Option<String> {
    let modules: Vec<String> = verilog
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("module "))
        .filter_map(|rest| {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '$')
                .collect();
            (!name.is_empty()).then_some(name)
        })
        .collect();
    modules
        .iter()
        .find(|m| *m == stem)
        .or_else(|| modules.first())
        .cloned()
}

/// Parses the ANSI-less port declarations (`input wire [7:0] x;`,
/// `output reg y;`) of `module`.
pub fn parse_ports(verilog: &str, module: &str) -> Result<Vec<Port>, String> {
    let mut lines = verilog.lines().skip_while(|l| {
        l.trim_start().strip_prefix("module ").is_none_or(|r| {
            !r.starts_with(module) || !r[module.len()..].trim_start().starts_with('(')
        })
    });
    if lines.next().is_none() {
        return Err(format!("module {module} not found"));
    }
    let mut ports = Vec::new();
    for line in lines {
        let l = line.trim();
        if l.starts_with("endmodule") {
            break;
        }
        let (dir, rest) = if let Some(r) = l.strip_prefix("input ") {
            (Dir::In, r)
        } else if let Some(r) = l.strip_prefix("output ") {
            (Dir::Out, r)
        } else if l.starts_with("inout ") {
            return Err(format!("inout port is not supported: {l}"));
        } else {
            continue;
        };
        let rest = rest.trim_end_matches(';');
        let mut width = 1;
        let mut name = None;
        for tok in rest.split_whitespace() {
            match tok {
                "wire" | "reg" | "logic" => {}
                "signed" => {}
                t if t.starts_with('[') => {
                    let inner = t.trim_start_matches('[').trim_end_matches(']');
                    let (hi, lo) = inner
                        .split_once(':')
                        .ok_or_else(|| format!("bad range in {l}"))?;
                    let hi: u32 = hi.parse().map_err(|_| format!("bad range in {l}"))?;
                    let lo: u32 = lo.parse().map_err(|_| format!("bad range in {l}"))?;
                    width = hi.abs_diff(lo) + 1;
                }
                t => name = Some(t.trim_end_matches(',').to_string()),
            }
        }
        let name = name.ok_or_else(|| format!("no port name in {l}"))?;
        ports.push(Port { name, dir, width });
    }
    if ports.is_empty() {
        return Err(format!("module {module} has no port declarations"));
    }
    Ok(ports)
}

/// Ports named like a clock or a reset are driven by the shim itself.
pub fn is_clock(name: &str) -> bool {
    matches!(name, "clock" | "clk")
}

/// See [`is_clock`].
pub fn is_reset(name: &str) -> bool {
    matches!(name, "reset" | "rst")
}

/// Data ports of one direction with their word offsets in the packed buffer.
pub fn layout(ports: &[Port], dir: Dir) -> Vec<(&Port, usize)> {
    let mut off = 0;
    ports
        .iter()
        .filter(|p| p.dir == dir && !is_clock(&p.name) && !is_reset(&p.name))
        .map(|p| {
            let o = off;
            off += p.words();
            (p, o)
        })
        .collect()
}

/// Words in the packed buffer of one direction.
pub fn buffer_words(ports: &[Port], dir: Dir) -> usize {
    layout(ports, dir).iter().map(|(p, _)| p.words()).sum()
}

/// Cycles with the same inputs and outputs as the cycle before after which
/// the shim looks for a fixed point (see [`shim_cpp_named`]): looking
/// costs a copy and a compare of the model's state, which pays only where
/// quiet stretches are likely.
pub const FIXED_POINT_AFTER: u32 = 2;

/// The C++ shim for a Verilator model of class `class` (built with
/// `--prefix <class>`), functions named `vfpga_model_*`; see
/// [`shim_cpp_named`].
pub fn shim_cpp(ports: &[Port], class: &str) -> Result<String, String> {
    shim_cpp_named(ports, class, "vfpga_model", None)
}

/// The C++ shim for a Verilator model of class `class`: `extern "C"`
/// functions `<prefix>_new`, `_free`, `_set_reset`, `_set_skip`, and two
/// ways to run a cycle on the packed input/output words:
///
/// - `_settle(in, out)` (clock low, inputs applied, outputs read) then
///   `_edge()` (clock high): two `eval()`s, for any design;
/// - `_step(in, out)`: the inputs and the rising edge in one `eval()`,
///   then the outputs the new state drives (returns 0 when the cycle was
///   skipped, 2 when the outputs changed, else 1). Right only for a top level
///   whose outputs depend on its state alone (registered outputs, as blk's
///   register slices make them). It needs to mark the clock low as seen
///   without another `eval()`: `clock_prev` names the model member where
///   Verilator keeps the clock's last value (found by build.rs in the
///   generated header); without it `_step` is two `eval()`s and
///   `_has_step()` returns 0.
///
/// Fixed points: a model is a pure function of its state and inputs, so a
/// cycle that left the whole state (the root object, memories included)
/// unchanged will leave it unchanged again for as long as the inputs stay
/// the same: those cycles are skipped without `eval()`. Whether a cycle was
/// a fixed point is found by copying the state before it and comparing
/// after, only once inputs and outputs repeated for [`FIXED_POINT_AFTER`]
/// cycles. A check that fails makes the wait for the next one in the same
/// run of repeated inputs and outputs four times as long (checks at 2, 8,
/// 32, 128 cycles): the state keeps changing under unchanged ports when
/// beats of equal data stream through (a zero-filled disk), and a 9 KB copy
/// every cycle of such a run cost more than the cycles it could ever skip
/// (doubling instead found no more fixed points on the QD32 load and cost
/// 106 more instructions per cycle). `_set_skip(0)` turns this off (for the tests
/// that compare); `_skipped()` counts the cycles skipped. `_fixed()` says
/// whether the model is at such a fixed point now, and `_skip_cycles(n)`
/// accounts `n` cycles the caller did not run at all because it knows
/// their inputs repeat the last ones (the simulator's clock jumps).
pub fn shim_cpp_named(
    ports: &[Port],
    class: &str,
    prefix: &str,
    clock_prev: Option<&str>,
) -> Result<String, String> {
    let clock = ports
        .iter()
        .find(|p| p.dir == Dir::In && is_clock(&p.name))
        .ok_or("the top module has no clock input")?
        .cpp_name();
    let reset = ports
        .iter()
        .find(|p| p.dir == Dir::In && is_reset(&p.name))
        .map(Port::cpp_name);
    let in_words = buffer_words(ports, Dir::In).max(1);
    let out_words = buffer_words(ports, Dir::Out).max(1);
    let root = format!("{class}___024root");
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(w, "// Generated by vfpga-sim's build.rs; do not edit.");
    let _ = writeln!(
        w,
        "#include <cstdint>\n#include <cstring>\n#include \"verilated.h\"\n#include \"{class}.h\"\n#include \"{root}.h\""
    );
    let _ = writeln!(w, "namespace {{");
    let _ = writeln!(
        w,
        "struct Shim {{\n  {class}* m;\n  uint32_t in[{in_words}];\n  uint32_t out[{out_words}];\n  uint32_t same, next_check;\n  uint64_t skipped;\n  bool have_in, fixed, check, skip_edge, skip;\n  alignas(64) unsigned char snap[sizeof({root})];\n}};"
    );
    // Inputs in, outputs out: generated per port.
    let _ = writeln!(
        w,
        "inline void put_inputs({class}* m, const uint32_t* in) {{"
    );
    for (port, o) in layout(ports, Dir::In) {
        let n = port.cpp_name();
        let _ = match port.width {
            1..=32 => writeln!(w, "  m->{n} = in[{o}];"),
            33..=64 => writeln!(
                w,
                "  m->{n} = (uint64_t)in[{o}] | ((uint64_t)in[{}] << 32);",
                o + 1
            ),
            _ => writeln!(
                w,
                "  for (int i = 0; i < {}; i++) m->{n}[i] = in[{o} + i];",
                port.words()
            ),
        };
    }
    let _ = writeln!(w, "}}");
    let _ = writeln!(w, "inline void get_outputs({class}* m, uint32_t* out) {{");
    for (port, o) in layout(ports, Dir::Out) {
        let n = port.cpp_name();
        let _ = match port.width {
            1..=32 => writeln!(w, "  out[{o}] = (uint32_t)m->{n};"),
            33..=64 => writeln!(
                w,
                "  out[{o}] = (uint32_t)m->{n}; out[{}] = (uint32_t)(m->{n} >> 32);",
                o + 1
            ),
            _ => writeln!(
                w,
                "  for (int i = 0; i < {}; i++) out[{o} + i] = m->{n}[i];",
                port.words()
            ),
        };
    }
    let _ = writeln!(w, "}}");
    // Bookkeeping shared by settle and step: whether this cycle can be
    // skipped (a fixed point with the same inputs) and whether to look for
    // a fixed point in it.
    let _ = writeln!(
        w,
        r#"// Returns true when the cycle is skipped (state and outputs unchanged).
inline bool begin_cycle(Shim* s, const uint32_t* in) {{
  bool same = s->have_in && std::memcmp(in, s->in, sizeof s->in) == 0;
  if (same && s->fixed) {{ s->skipped++; return true; }}
  s->fixed = false;
  if (!same) {{ std::memcpy(s->in, in, sizeof s->in); s->have_in = true; s->same = 0; }}
  if (s->same == 0) s->next_check = {FIXED_POINT_AFTER};
  s->check = s->skip && same && s->same >= s->next_check;
  if (s->check) std::memcpy(s->snap, s->m->rootp, sizeof s->snap);
  return false;
}}
// After the cycle's last eval: outputs to `out`, fixed point or not.
// Returns whether the outputs differ from the last cycle's.
inline bool end_cycle(Shim* s, uint32_t* out) {{
  get_outputs(s->m, out);
  bool changed = std::memcmp(out, s->out, sizeof s->out) != 0;
  if (changed) {{ std::memcpy(s->out, out, sizeof s->out); s->same = 0; }}
  else s->same++;
  s->fixed = s->check && std::memcmp(s->snap, s->m->rootp, sizeof s->snap) == 0;
  // Failed: the state moves under unchanged ports; look again later.
  if (s->check && !s->fixed) s->next_check = 4 * s->same;
  return changed;
}}
}}  // namespace"#
    );
    let _ = writeln!(w, "extern \"C\" {{");
    let _ = writeln!(
        w,
        "void* {prefix}_new() {{\n  auto* s = new Shim();\n  auto* c = new VerilatedContext;\n  s->m = new {class}{{c}};\n  s->m->{clock} = 0;\n  s->m->eval();\n  get_outputs(s->m, s->out);\n  s->skip = true;\n  return s;\n}}"
    );
    let _ = writeln!(
        w,
        "void {prefix}_free(void* p) {{ auto* s = static_cast<Shim*>(p); VerilatedContext* c = s->m->contextp(); s->m->final(); delete s->m; delete c; delete s; }}"
    );
    let _ = writeln!(
        w,
        "void {prefix}_outputs(void* p, uint32_t* out) {{ auto* s = static_cast<Shim*>(p); get_outputs(s->m, out); }}"
    );
    let _ = writeln!(
        w,
        "uint64_t {prefix}_skipped(void* p) {{ return static_cast<Shim*>(p)->skipped; }}\nvoid {prefix}_set_skip(void* p, int on) {{ auto* s = static_cast<Shim*>(p); s->skip = on != 0; s->fixed = false; }}"
    );
    // The caller's clock jumps over cycles it knows repeat the last inputs:
    // allowed only at a fixed point, where each would have been skipped.
    let _ = writeln!(
        w,
        "int {prefix}_fixed(void* p) {{ auto* s = static_cast<Shim*>(p); return s->skip && s->fixed; }}\nvoid {prefix}_skip_cycles(void* p, uint64_t n) {{ auto* s = static_cast<Shim*>(p); if (s->skip && s->fixed) s->skipped += n; }}"
    );
    let _ = writeln!(
        w,
        r#"void {prefix}_settle(void* p, const uint32_t* in, uint32_t* out) {{
  auto* s = static_cast<Shim*>(p);
  s->skip_edge = begin_cycle(s, in);
  if (s->skip_edge) {{ std::memcpy(out, s->out, sizeof s->out); return; }}
  s->m->{clock} = 0;
  put_inputs(s->m, in);
  s->m->eval();
  get_outputs(s->m, out);
}}
void {prefix}_edge(void* p) {{
  auto* s = static_cast<Shim*>(p);
  if (s->skip_edge) return;
  s->m->{clock} = 1;
  s->m->eval();
  uint32_t out[{out_words}];
  end_cycle(s, out);
}}"#
    );
    match clock_prev {
        Some(prev) => {
            let _ = writeln!(
                w,
                r#"int {prefix}_step(void* p, const uint32_t* in, uint32_t* out) {{
  auto* s = static_cast<Shim*>(p);
  if (begin_cycle(s, in)) return 0;
  put_inputs(s->m, in);
  s->m->{clock} = 1;
  s->m->eval();
  // The falling edge does nothing in the design: mark it seen instead of
  // evaluating it, so the next step's rising edge triggers.
  s->m->{clock} = 0;
  s->m->rootp->{prev} = 0;
  return end_cycle(s, out) ? 2 : 1;
}}
int {prefix}_has_step() {{ return 1; }}"#
            );
        }
        None => {
            let _ = writeln!(
                w,
                r#"int {prefix}_step(void* p, const uint32_t* in, uint32_t* out) {{
  auto* s = static_cast<Shim*>(p);
  if (begin_cycle(s, in)) return 0;
  put_inputs(s->m, in);
  s->m->{clock} = 1;
  s->m->eval();
  s->m->{clock} = 0;
  s->m->eval();
  return end_cycle(s, out) ? 2 : 1;
}}
int {prefix}_has_step() {{ return 0; }}"#
            );
        }
    }
    match reset {
        Some(r) => {
            let _ = writeln!(
                w,
                "void {prefix}_set_reset(void* p, int v) {{ auto* s = static_cast<Shim*>(p); s->m->{r} = v; s->fixed = false; s->have_in = false; }}\nint {prefix}_has_reset() {{ return 1; }}"
            );
        }
        None => {
            let _ = writeln!(
                w,
                "void {prefix}_set_reset(void*, int) {{}}\nint {prefix}_has_reset() {{ return 0; }}"
            );
        }
    }
    let _ = writeln!(w, "}}");
    Ok(s)
}

/// The member of a Verilator model's root class (its generated header
/// `<class>___024root.h`) holding the clock's value at the last `eval()`,
/// which the one-eval step resets: `__Vtrigrprev__TOP__<clock>` in
/// Verilator 5.006, `__Vtrigprevexpr___TOP__<clock>__0` in later 5.x.
pub fn clock_prev_member(root_header: &str, clock: &str) -> Option<String> {
    [
        format!("__Vtrigrprev__TOP__{clock}"),
        format!("__Vtrigprevexpr___TOP__{clock}__0"),
    ]
    .into_iter()
    .find(|m| {
        root_header
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .any(|t| t == m)
    })
}

/// Rust source with the packed-buffer layout, included by the Verilator
/// backend: `(name, width, word offset)` per port, and the buffer sizes.
pub fn layout_rs(ports: &[Port]) -> String {
    let mut s = String::new();
    for (dir, name) in [(Dir::In, "INPUTS"), (Dir::Out, "OUTPUTS")] {
        let _ = writeln!(
            s,
            "/// Ports of the model in this direction: (name, width, word offset)."
        );
        let _ = writeln!(s, "pub const {name}: &[(&str, u32, usize)] = &[");
        for (p, o) in layout(ports, dir) {
            let _ = writeln!(s, "    ({:?}, {}, {}),", p.name, p.width, o);
        }
        let _ = writeln!(s, "];");
    }
    let _ = writeln!(s, "/// Words of the input buffer.");
    let _ = writeln!(
        s,
        "pub const IN_WORDS: usize = {};",
        buffer_words(ports, Dir::In)
    );
    let _ = writeln!(s, "/// Words of the output buffer.");
    let _ = writeln!(
        s,
        "pub const OUT_WORDS: usize = {};",
        buffer_words(ports, Dir::Out)
    );
    s
}

/// Compares a Verilog port name with a [`crate::ports`] signal name,
/// ignoring case and the `$`/`_` separators rust-hdl's interface nesting
/// and the abi's field names differ in.
pub fn same_signal(verilog: &str, signal: &str) -> bool {
    let norm = |s: &str| -> String {
        s.chars()
            .filter(|c| *c != '$' && *c != '_')
            .flat_map(char::to_lowercase)
            .collect()
    };
    norm(verilog) == norm(signal)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The shape rust-hdl 0.46's generate_verilog writes.
    const SAMPLE: &str = "
module sub(clock,a,b);
    input wire  clock;
    input wire  a;
    output reg  b;
endmodule // sub


module top(clock,mmio_req$valid,mmio_req$addr,dma$data,dma$addr,ready);

// Module arguments
input wire  clock;
input wire  mmio_req$valid;
input wire  [14:0] mmio_req$addr;
output wire  [127:0] dma$data;
output reg  [63:0] dma$addr;
output reg   ready;

// Local signals
reg  [3:0] state;
endmodule // top
";

    #[test]
    fn finds_the_top_module_and_its_ports() {
        assert_eq!(top_module(SAMPLE, "top").as_deref(), Some("top"));
        assert_eq!(top_module(SAMPLE, "other").as_deref(), Some("sub"));
        let p = parse_ports(SAMPLE, "top").unwrap();
        let names: Vec<(&str, Dir, u32)> = p
            .iter()
            .map(|p| (p.name.as_str(), p.dir, p.width))
            .collect();
        assert_eq!(
            names,
            vec![
                ("clock", Dir::In, 1),
                ("mmio_req$valid", Dir::In, 1),
                ("mmio_req$addr", Dir::In, 15),
                ("dma$data", Dir::Out, 128),
                ("dma$addr", Dir::Out, 64),
                ("ready", Dir::Out, 1),
            ]
        );
        assert!(parse_ports(SAMPLE, "nope").is_err());
    }

    #[test]
    fn layout_packs_words_and_skips_the_clock() {
        let p = parse_ports(SAMPLE, "top").unwrap();
        let outs: Vec<(&str, usize)> = layout(&p, Dir::Out)
            .iter()
            .map(|(p, o)| (p.name.as_str(), *o))
            .collect();
        assert_eq!(outs, vec![("dma$data", 0), ("dma$addr", 4), ("ready", 6)]);
        assert_eq!(buffer_words(&p, Dir::In), 2);
        assert_eq!(buffer_words(&p, Dir::Out), 7);
    }

    #[test]
    fn shim_escapes_dollar_names_and_handles_wide_ports() {
        let p = parse_ports(SAMPLE, "top").unwrap();
        let cpp = shim_cpp(&p, "Vtop").unwrap();
        assert!(cpp.contains("m->mmio_req__024addr = in[1];"));
        assert!(cpp.contains("out[0 + i] = m->dma__024data[i]"));
        assert!(cpp.contains("vfpga_model_has_step() { return 0; }"));
        let with_prev =
            shim_cpp_named(&p, "Vtop", "vfpga_model", Some("__Vtrigrprev__TOP__clock")).unwrap();
        assert!(with_prev.contains("s->m->rootp->__Vtrigrprev__TOP__clock = 0;"));
        assert!(with_prev.contains("vfpga_model_has_step() { return 1; }"));
        assert!(cpp.contains(
            "out[4] = (uint32_t)m->dma__024addr; out[5] = (uint32_t)(m->dma__024addr >> 32);"
        ));
        assert!(cpp.contains("vfpga_model_has_reset() { return 0; }"));
        let rs = layout_rs(&p);
        assert!(rs.contains("(\"dma$addr\", 64, 4)"));
        assert!(rs.contains("pub const OUT_WORDS: usize = 7;"));
    }

    #[test]
    fn signal_names_match_across_separators() {
        assert!(same_signal("mmio_req$valid", "mmio_req_valid"));
        assert!(same_signal("dma_rd$cpl$data", "dma_rd_cpl_data"));
        assert!(!same_signal("dma_rd$cpl$data", "dma_wr_data"));
    }
}
