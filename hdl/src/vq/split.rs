//! Splitting rust-hdl's one `always @(*)` block of a module in two.
//!
//! rust-hdl writes all of a module's `update` as one combinational block.
//! Verilator orders logic block by block, so a requester whose block reads
//! `ready` and writes `valid` forms a false combinational loop (UNOPTFLAT)
//! with any arbiter whose `ready` depends on the `valid`s, even when `valid`
//! does not depend on `ready`; the model then iterates to settle on every
//! evaluation. [`hoist`] moves the first statements of `update` (which
//! compute such outputs from registers and inputs only) into a block of
//! their own; rust-hdl keeps simulating `update` as written.

use rust_hdl::core::verilog_gen::verilog_combinatorial;
use rust_hdl::prelude::*;
use std::collections::BTreeSet;

/// Moves the first `n` top-level statements of a `#[hdl_gen]` block into an
/// `always @(*)` block of their own, ahead of the rest.
///
/// Panics (at Verilog generation) unless the split is sound and really
/// breaks the dependency: nothing the first part assigns is assigned again
/// by the rest, and the first part reads nothing the rest assigns.
pub fn hoist(code: Verilog, n: usize) -> Verilog {
    let Verilog::Combinatorial(block) = code else {
        panic!("hoist needs rust-hdl's generated block");
    };
    assert!(n > 0 && n < block.len(), "hoist {n} of {}", block.len());
    let first = verilog_combinatorial(&block[..n].to_vec());
    let rest = verilog_combinatorial(&block[n..].to_vec());
    let early = assigned(&first);
    let late = assigned(&rest);
    let both: Vec<_> = early.intersection(&late).collect();
    assert!(both.is_empty(), "assigned in both blocks: {both:?}");
    let read: Vec<_> = identifiers(&first)
        .into_iter()
        .filter(|i| late.contains(i))
        .collect();
    assert!(read.is_empty(), "hoisted logic reads {read:?}");
    Verilog::Custom(format!("{first}{rest}"))
}

/// Names on the left of `=` (rust-hdl writes one assignment a line).
fn assigned(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.trim().split_once(" = "))
        .map(|(lhs, _)| lhs.split('[').next().unwrap_or(lhs).trim().to_string())
        .collect()
}

/// Every identifier in the text (rust-hdl's names use `$` for paths).
fn identifiers(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
        .filter(|w| w.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(LogicBlock, Default)]
    struct Req {
        clock: Signal<In, Clock>,
        ready: Signal<In, Bit>,
        valid: Signal<Out, Bit>,
        busy: DFF<Bit>,
    }

    impl Req {
        #[hdl_gen]
        fn logic(&mut self) {
            self.valid.next = self.busy.q.val();
            dff_setup!(self, clock, busy);
            if self.ready.val() {
                self.busy.d.next = !self.busy.q.val();
            }
        }
    }

    impl Logic for Req {
        fn update(&mut self) {
            self.logic();
        }
        fn connect(&mut self) {
            Req::connect(self);
        }
        fn hdl(&self) -> Verilog {
            hoist(Req::hdl(self), 1)
        }
    }

    /// The hoisted statement gets a block of its own, which reads no
    /// signal the other block writes.
    #[test]
    fn hoist_gives_the_first_statements_their_own_block() {
        let r = Req::default();
        let Verilog::Custom(text) = Logic::hdl(&r) else {
            panic!("not custom");
        };
        assert_eq!(text.matches("always @(*)").count(), 2);
        let (first, rest) = text.split_at(text.rfind("always @(*)").unwrap());
        assert!(first.contains("valid = busy$q;") && !first.contains("ready"));
        assert!(rest.contains("ready") && !rest.contains("valid ="));
    }

    #[test]
    #[should_panic(expected = "assigned in both blocks")]
    fn hoist_refuses_an_output_assigned_again_later() {
        #[derive(LogicBlock, Default)]
        struct Bad {
            ready: Signal<In, Bit>,
            valid: Signal<Out, Bit>,
        }
        impl Bad {
            #[hdl_gen]
            fn logic(&mut self) {
                self.valid.next = false;
                if self.ready.val() {
                    self.valid.next = true;
                }
            }
        }
        impl Logic for Bad {
            fn update(&mut self) {
                self.logic();
            }
            fn connect(&mut self) {
                Bad::connect(self);
            }
        }
        hoist(Bad::default().hdl(), 1);
    }
}
