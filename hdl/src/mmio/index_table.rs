//! Constant index vectors for unrolled loops.
//!
//! rust-hdl unrolls `for i in 0..N` in `#[hdl_gen]` code but cannot turn the
//! loop variable into a value; comparing a select register with "queue i"
//! needs `i` as a signal. This block provides `idx[i] == i` and `count == N`.

use rust_hdl::prelude::*;

/// `idx[i]` carries the constant `i`, `W` bits wide.
#[derive(LogicBlock, Debug)]
pub struct IndexTable<const N: usize, const W: usize> {
    /// The indices.
    pub idx: [Signal<Out, Bits<W>>; N],
    /// The number of indices, `N`.
    pub count: Signal<Out, Bits<W>>,
    values: [Constant<Bits<W>>; N],
    total: Constant<Bits<W>>,
}

impl<const N: usize, const W: usize> Default for IndexTable<N, W> {
    fn default() -> Self {
        Self {
            idx: core::array::from_fn(|_| Default::default()),
            count: Default::default(),
            values: core::array::from_fn(|i| Constant::new((i as u64).into())),
            total: Constant::new((N as u64).into()),
        }
    }
}

impl<const N: usize, const W: usize> Logic for IndexTable<N, W> {
    #[hdl_gen]
    fn update(&mut self) {
        for i in 0..N {
            self.idx[i].next = self.values[i].val();
        }
        self.count.next = self.total.val();
    }
}
