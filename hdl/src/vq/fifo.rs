//! A synchronous first-word-fall-through FIFO with a clear input.
//!
//! rust-hdl's `SyncFIFO` has no reset, and the engine must drop whatever its
//! queues hold on `engine_reset` after a fault, so the engine uses this one:
//! a distributed RAM (asynchronous read) plus two pointers.

use rust_hdl::prelude::*;
use std::collections::BTreeMap;

/// RAM with a clocked write port and an asynchronous (combinational) read
/// port: a LUT RAM on an FPGA. Written like rust-hdl's own `RAM`, whose
/// read port is registered, which would cost a cycle of FIFO latency.
#[derive(LogicBlock, Default, Debug)]
pub struct AsyncRam<D: Synth, const N: usize> {
    /// Read address.
    pub read_address: Signal<In, Bits<N>>,
    /// Data at `read_address`, in the same cycle.
    pub read_data: Signal<Out, D>,
    /// Write address.
    pub write_address: Signal<In, Bits<N>>,
    /// Write clock.
    pub write_clock: Signal<In, Clock>,
    /// Write data.
    pub write_data: Signal<In, D>,
    /// Write on the rising edge of `write_clock` when high.
    pub write_enable: Signal<In, Bit>,
    _sim: BTreeMap<Bits<N>, D>,
}

impl<D: Synth, const N: usize> Logic for AsyncRam<D, N> {
    fn update(&mut self) {
        if self.write_clock.pos_edge() && self.write_enable.val() {
            self._sim
                .insert(self.write_address.val(), self.write_data.val());
        }
        self.read_data.next = *self
            ._sim
            .get(&self.read_address.val())
            .unwrap_or(&D::default());
    }

    fn connect(&mut self) {
        self.read_data.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(format!(
            "\
reg[{D}:0] mem[{A}:0];

always @(*) begin
   read_data = mem[read_address];
end

always @(posedge write_clock) begin
   if (write_enable) begin
      mem[write_address] <= write_data;
   end
end
",
            D = D::BITS - 1,
            A = (1 << N) - 1
        ))
    }

    fn timing(&self) -> Vec<TimingInfo> {
        vec![TimingInfo {
            name: "ram_write".into(),
            clock: "write_clock".into(),
            inputs: vec![
                "write_address".into(),
                "write_data".into(),
                "write_enable".into(),
            ],
            outputs: vec![],
        }]
    }
}

/// FIFO of `2^N` entries of `D` (`NP1` = `N + 1`, the pointer width).
/// `data_out` shows the oldest entry whenever `empty` is low; `read` pops it.
#[derive(LogicBlock, Debug)]
pub struct Fifo<D: Synth, const N: usize, const NP1: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Drop every entry (synchronous).
    pub clear: Signal<In, Bit>,
    /// Push `data_in` (ignored when full).
    pub write: Signal<In, Bit>,
    /// Entry to push.
    pub data_in: Signal<In, D>,
    /// Pop the oldest entry (ignored when empty).
    pub read: Signal<In, Bit>,
    /// Oldest entry.
    pub data_out: Signal<Out, D>,
    /// No entry.
    pub empty: Signal<Out, Bit>,
    /// No room.
    pub full: Signal<Out, Bit>,
    /// Number of entries.
    pub count: Signal<Out, Bits<NP1>>,
    ram: AsyncRam<D, N>,
    rd: DFF<Bits<NP1>>,
    wr: DFF<Bits<NP1>>,
    fill: Signal<Local, Bits<NP1>>,
    depth: Constant<Bits<NP1>>,
}

impl<D: Synth, const N: usize, const NP1: usize> Default for Fifo<D, N, NP1> {
    fn default() -> Self {
        assert_eq!(N + 1, NP1);
        Self {
            clock: Default::default(),
            clear: Default::default(),
            write: Default::default(),
            data_in: Default::default(),
            read: Default::default(),
            data_out: Default::default(),
            empty: Default::default(),
            full: Default::default(),
            count: Default::default(),
            ram: Default::default(),
            rd: Default::default(),
            wr: Default::default(),
            fill: Default::default(),
            depth: Constant::new((1u64 << N).to_bits()),
        }
    }
}

impl<D: Synth, const N: usize, const NP1: usize> Logic for Fifo<D, N, NP1> {
    fn update(&mut self) {
        dff_setup!(self, clock, rd, wr);
        self.fill.next = self.wr.q.val() - self.rd.q.val();
        self.count.next = self.fill.val();
        self.empty.next = self.fill.val() == 0;
        self.full.next = self.fill.val() == self.depth.val();
        self.ram.write_clock.next = self.clock.val();
        self.ram.write_address.next = bit_cast::<N, NP1>(self.wr.q.val());
        self.ram.write_data.next = self.data_in.val();
        self.ram.write_enable.next = false;
        self.ram.read_address.next = bit_cast::<N, NP1>(self.rd.q.val());
        self.data_out.next = self.ram.read_data.val();
        if self.write.val() && (self.fill.val() != self.depth.val()) {
            self.ram.write_enable.next = true;
            self.wr.d.next = self.wr.q.val() + 1;
        }
        if self.read.val() && (self.fill.val() != 0) {
            self.rd.d.next = self.rd.q.val() + 1;
        }
        if self.clear.val() {
            self.rd.d.next = 0.into();
            self.wr.d.next = 0.into();
        }
    }

    fn connect(&mut self) {
        self.fill.connect();
        self.count.connect();
        self.empty.connect();
        self.full.connect();
        self.data_out.connect();
        self.ram.write_clock.connect();
        self.ram.write_address.connect();
        self.ram.write_data.connect();
        self.ram.write_enable.connect();
        self.ram.read_address.connect();
        self.rd.clock.connect();
        self.rd.d.connect();
        self.wr.clock.connect();
        self.wr.d.connect();
    }

    /// The same logic as `update`, written by hand so that each output is
    /// computed in an `always` block of its own from the pointers and the
    /// RAM only. rust-hdl would put all of `update` in one block, whose
    /// outputs Verilator then takes to depend on `write`/`read`; a consumer
    /// that drives those from `empty`/`full`/`count` (every one does) makes
    /// a false combinational loop (UNOPTFLAT) that the model iterates to
    /// settle on every evaluation.
    fn hdl(&self) -> Verilog {
        Verilog::Custom(format!(
            "\
always @(*) fill = wr$q - rd$q;
always @(*) count = wr$q - rd$q;
always @(*) empty = wr$q == rd$q;
always @(*) full = (wr$q - rd$q) == depth;
always @(*) ram$read_address = rd$q[{a}:0];
always @(*) data_out = ram$read_data;
always @(*) begin
    rd$clock = clock;
    wr$clock = clock;
    ram$write_clock = clock;
    ram$write_address = wr$q[{a}:0];
    ram$write_data = data_in;
    ram$write_enable = 1'b0;
    rd$d = rd$q;
    wr$d = wr$q;
    if (write && (fill != depth)) begin
        ram$write_enable = 1'b1;
        wr$d = wr$q + 1'b1;
    end
    if (read && (fill != 0)) begin
        rd$d = rd$q + 1'b1;
    end
    if (clear) begin
        rd$d = 0;
        wr$d = 0;
    end
end
",
            a = N - 1
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testbench::XorShift;
    use std::collections::VecDeque;

    #[test]
    fn fifo_matches_a_queue_under_random_push_pop_clear() {
        let mut f: Fifo<Bits<20>, 3, 4> = Fifo::default();
        f.connect_all();
        let mut rng = XorShift::new(3);
        let mut model = VecDeque::new();
        let mut popped = 0;
        for i in 0..20_000u64 {
            let w = rng.chance(50);
            let r = rng.chance(45);
            let c = rng.chance(1);
            f.write.next = w;
            f.data_in.next = (i & 0xfffff).into();
            f.read.next = r;
            f.clear.next = c;
            assert!(simulate(&mut f, 100));
            assert_eq!(f.count.val().to_u64() as usize, model.len());
            assert_eq!(f.empty.val(), model.is_empty());
            assert_eq!(f.full.val(), model.len() == 8);
            if let Some(&head) = model.front() {
                assert_eq!(f.data_out.val().to_u64(), head);
            }
            if c {
                model.clear();
            } else {
                // A push is refused while full, even in a cycle that pops.
                let room = model.len() < 8;
                if r && !model.is_empty() {
                    model.pop_front();
                    popped += 1;
                }
                if w && room {
                    model.push_back(i & 0xfffff);
                }
            }
            f.clock.next = Clock { clk: true };
            assert!(simulate(&mut f, 100));
            f.clock.next = Clock { clk: false };
            assert!(simulate(&mut f, 100));
        }
        assert!(popped > 5000);
    }
}
