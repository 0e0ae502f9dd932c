//! MSI-X (PCI 3.0 §6.8.2): the vector table, the pending-bit array, the ISR
//! status bits (virtio 1.2 §4.1.4.5) and the interrupt sender.
//!
//! Two sources ask for interrupts: the engine's used-buffer notifications
//! (`irq_*` valid/ready channel, ISR bit 0) and the configuration-change
//! interrupt firmware raises through mgmt `CONFIG_IRQ` (`config_irq` pulse,
//! ISR bit 1). Each request sets its ISR bit, then: no vector (NO_VECTOR or a
//! vector the table does not have) ends there; a deliverable vector (MSI-X
//! enabled, function not masked, entry not masked) becomes a message on the
//! `msg_*` channel; otherwise the vector's pending bit is set, and the message
//! goes out (clearing the bit) once the vector becomes deliverable.
//!
//! Arbitration, one decision per cycle while the message slot is empty:
//! the configuration request first (it is rare and firmware waits on it),
//! then pending vectors that became deliverable, then the engine.

use rust_hdl::prelude::*;
use vfpga_abi::msix::VECTORS;

/// Number of MSI-X vectors (table entries), from the ABI.
pub const NV: usize = VECTORS as usize;
/// Width of a dword index into the table: 4 dwords per entry.
pub const TABLE_ADDR_BITS: usize = 5;

// The table's dword index must cover every entry.
const _: () = assert!(NV * 4 <= 1 << TABLE_ADDR_BITS);
// The pending bits fit the PBA's first dword.
const _: () = assert!(NV <= 32);

/// The MSI-X block. See the module documentation.
#[derive(LogicBlock, Default, Debug)]
pub struct Msix {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: every entry masked, nothing pending, counter 0.
    pub reset: Signal<In, Bit>,
    /// MSI-X Enable from the PCI capability's message control (PCIe IP).
    pub msix_enable: Signal<In, Bit>,
    /// Function Mask from the PCI capability's message control (PCIe IP).
    pub function_mask: Signal<In, Bit>,

    /// Table access: dword index (entry * 4 + dword in entry).
    pub reg_addr: Signal<In, Bits<TABLE_ADDR_BITS>>,
    /// Table access: one-cycle write strobe.
    pub reg_write: Signal<In, Bit>,
    /// Table access: write data.
    pub reg_wdata: Signal<In, Bits<32>>,
    /// Table access: byte enables of the write.
    pub reg_strb: Signal<In, Bits<4>>,
    /// Table dword at `reg_addr` (combinational).
    pub table_rdata: Signal<Out, Bits<32>>,
    /// Pending bits (the PBA's first dword, low bits).
    pub pba: Signal<Out, Bits<NV>>,

    /// Engine interrupt request: valid.
    pub irq_valid: Signal<In, Bit>,
    /// Engine interrupt request: ready.
    pub irq_ready: Signal<Out, Bit>,
    /// Engine interrupt request: queue (informational).
    pub irq_queue: Signal<In, Bits<16>>,
    /// Engine interrupt request: the queue's MSI-X vector.
    pub irq_vector: Signal<In, Bits<16>>,

    /// One-cycle pulse: configuration change (mgmt CONFIG_IRQ).
    pub config_irq: Signal<In, Bit>,
    /// The driver's config_msix_vector.
    pub config_vector: Signal<In, Bits<16>>,
    /// One-cycle pulse: clear ISR, pending bits and a waiting configuration
    /// request (engine reset); the table and the counter stay.
    pub clear: Signal<In, Bit>,
    /// One-cycle pulse: the driver read ISR; clear the bits it saw.
    pub isr_read_clear: Signal<In, Bit>,
    /// ISR status: bit 0 queue interrupt, bit 1 configuration change.
    pub isr: Signal<Out, Bits<2>>,

    /// MSI-X message: valid.
    pub msg_valid: Signal<Out, Bit>,
    /// MSI-X message: ready.
    pub msg_ready: Signal<In, Bit>,
    /// MSI-X message: address.
    pub msg_addr: Signal<Out, Bits<64>>,
    /// MSI-X message: data.
    pub msg_data: Signal<Out, Bits<32>>,
    /// MSI-X message: vector number.
    pub msg_vector: Signal<Out, Bits<16>>,
    /// Messages sent since reset.
    pub interrupts: Signal<Out, Bits<64>>,
    /// A message is waiting for `msg_ready`, a configuration request for
    /// its turn, or a pending vector became deliverable. (A pending bit on
    /// a masked vector waits for the driver, not for this block.)
    pub busy: Signal<Out, Bit>,

    _st: MsixState,
}

// The Verilog indexes the table with `reg_addr`'s entry bits directly.
const _: () = assert!(NV * 4 == 1 << TABLE_ADDR_BITS);
/// Bits of a vector number that index the table.
const VECTOR_BITS: usize = TABLE_ADDR_BITS - 2;

/// The block's registers, for the simulation model. The Verilog declares
/// the same registers itself (see [`Msix::hdl`]).
#[derive(Clone, Copy, Debug, Default)]
struct MsixState {
    addr_lo: [u32; NV],
    addr_hi: [u32; NV],
    data: [u32; NV],
    /// Per-vector mask bits (bit i: vector i).
    masked: u32,
    /// Per-vector pending bits.
    pending: u32,
    isr: u8,
    cfg_wait: bool,
    out_valid: bool,
    out_addr: u64,
    out_data: u32,
    out_vector: u16,
    count: u64,
}

impl Msix {
    /// Vectors whose pending message may go now.
    fn deliverable(&self) -> u32 {
        if self.msix_enable.val() && !self.function_mask.val() {
            self._st.pending & !self._st.masked
        } else {
            0
        }
    }

    /// The state after a rising edge, from the state and inputs before it.
    fn next_state(&self) -> MsixState {
        let st = &self._st;
        let mut n = *st;
        // Table writes (byte enables on the address and data dwords).
        let strb = self.reg_strb.val().to_u64();
        let wmask = (0..4)
            .filter(|b| strb & (1 << b) != 0)
            .fold(0u32, |m, b| m | (0xFF << (8 * b)));
        let addr = self.reg_addr.val().index();
        let (entry, word) = (addr >> 2, addr & 3);
        let wdata = self.reg_wdata.val().to_u64() as u32;
        if self.reg_write.val() {
            let merge = |old: u32| (old & !wmask) | (wdata & wmask);
            match word {
                0 => n.addr_lo[entry] = merge(st.addr_lo[entry]),
                1 => n.addr_hi[entry] = merge(st.addr_hi[entry]),
                2 => n.data[entry] = merge(st.data[entry]),
                _ => {
                    if strb & 1 != 0 {
                        n.masked = (st.masked & !(1 << entry)) | ((wdata & 1) << entry);
                    }
                }
            }
        }
        // The message slot empties on its handshake.
        if st.out_valid && self.msg_ready.val() {
            n.out_valid = false;
            n.count = st.count.wrapping_add(1);
        }
        // Pick one request while the slot is empty: the configuration
        // request, then the highest deliverable pending vector, then the
        // engine.
        let deliverable = self.deliverable();
        let svc = if st.out_valid {
            None
        } else if st.cfg_wait {
            n.cfg_wait = false;
            Some((self.config_vector.val().to_u64() as u16, 2u8))
        } else if deliverable != 0 {
            Some(((31 - deliverable.leading_zeros()) as u16, 0))
        } else if self.irq_valid.val() {
            Some((self.irq_vector.val().to_u64() as u16, 1))
        } else {
            None
        };
        // ISR: read-clear first, so that a bit set in the same cycle survives.
        if self.isr_read_clear.val() {
            n.isr = 0;
        }
        if let Some((vector, isr)) = svc {
            n.isr |= isr;
            let v = usize::from(vector);
            if v < NV {
                let masked = st.masked & (1 << v) != 0;
                if self.msix_enable.val() && !self.function_mask.val() && !masked {
                    n.out_valid = true;
                    n.out_addr = (u64::from(st.addr_hi[v]) << 32) | u64::from(st.addr_lo[v]);
                    n.out_data = st.data[v];
                    n.out_vector = vector;
                    n.pending = st.pending & !(1 << v);
                } else {
                    n.pending = st.pending | (1 << v);
                }
            }
        }
        // A configuration request waits for its turn.
        if self.config_irq.val() {
            n.cfg_wait = true;
        }
        if self.clear.val() {
            n.isr = 0;
            n.pending = 0;
            n.cfg_wait = false;
        }
        if self.reset.val() {
            n.masked = (1 << NV) - 1;
            n.pending = 0;
            n.isr = 0;
            n.cfg_wait = false;
            n.out_valid = false;
            n.count = 0;
            n.addr_lo = [0; NV];
            n.addr_hi = [0; NV];
            n.data = [0; NV];
        }
        n
    }
}

impl Logic for Msix {
    /// The simulation model: registers change on the rising edge only;
    /// every output is a function of the registers, plus `irq_ready` and
    /// `busy` of `msix_enable`/`function_mask` and `table_rdata` of
    /// `reg_addr`.
    fn update(&mut self) {
        if self.clock.pos_edge() {
            self._st = self.next_state();
        }
        let st = self._st;
        let deliverable = self.deliverable();
        let addr = self.reg_addr.val().index();
        let entry = addr >> 2;
        self.table_rdata.next = u64::from(match addr & 3 {
            0 => st.addr_lo[entry],
            1 => st.addr_hi[entry],
            2 => st.data[entry],
            _ => (st.masked >> entry) & 1,
        })
        .to_bits();
        self.pba.next = u64::from(st.pending).to_bits();
        self.isr.next = u64::from(st.isr).to_bits();
        self.irq_ready.next = !st.out_valid && !st.cfg_wait && deliverable == 0;
        self.msg_valid.next = st.out_valid;
        self.msg_addr.next = st.out_addr.to_bits();
        self.msg_data.next = u64::from(st.out_data).to_bits();
        self.msg_vector.next = u64::from(st.out_vector).to_bits();
        self.interrupts.next = st.count.to_bits();
        self.busy.next = st.out_valid || st.cfg_wait || deliverable != 0;
    }

    fn connect(&mut self) {
        self.table_rdata.connect();
        self.pba.connect();
        self.isr.connect();
        self.irq_ready.connect();
        self.msg_valid.connect();
        self.msg_addr.connect();
        self.msg_data.connect();
        self.msg_vector.connect();
        self.interrupts.connect();
        self.busy.connect();
    }

    /// The same logic as `update`, written by hand. The table is three
    /// register arrays written with enables and read by index; the request
    /// selection and the entry lookup are evaluated in the clocked block
    /// only. rust-hdl would write every table word as a `DFF` with a
    /// combinational `d = q` default and compare `reg_addr` and the chosen
    /// vector against every entry in every evaluation. `tests/msix_verilog.rs`
    /// runs this Verilog against `update` in Icarus.
    fn hdl(&self) -> Verilog {
        let nv = NV;
        let vb = VECTOR_BITS;
        let mut reset_table = String::new();
        let mut init_table = String::new();
        for i in 0..NV {
            reset_table.push_str(&format!(
                "        tbl_lo[{i}] <= 32'd0;\n        tbl_hi[{i}] <= 32'd0;\n        tbl_data[{i}] <= 32'd0;\n"
            ));
            init_table.push_str(&format!(
                "    tbl_lo[{i}] = 32'd0;\n    tbl_hi[{i}] = 32'd0;\n    tbl_data[{i}] = 32'd0;\n"
            ));
        }
        Verilog::Custom(format!(
            "\
reg [31:0] tbl_lo [0:{nvm}];
reg [31:0] tbl_hi [0:{nvm}];
reg [31:0] tbl_data [0:{nvm}];
reg [{nvm}:0] masked;
reg [{nvm}:0] pending;
reg [1:0] isr_bits;
reg cfg_wait;
reg out_valid;
reg [63:0] out_addr;
reg [31:0] out_data;
reg [15:0] out_vector;
reg [63:0] count;
reg [{nvm}:0] deliverable;
reg [15:0] drain_vector;
reg [31:0] wmask;
reg svc_go;
reg [15:0] svc_vector;
reg [1:0] svc_isr;
reg sel_hit;
reg [{vbm}:0] sel;
integer k;

initial begin
{init_table}    masked = 0;
    pending = 0;
    isr_bits = 0;
    cfg_wait = 1'b0;
    out_valid = 1'b0;
    out_addr = 0;
    out_data = 0;
    out_vector = 0;
    count = 0;
end

// Vectors whose pending message may go now; the highest one goes first.
always @(*) deliverable = (msix_enable && !function_mask) ? (pending & ~masked) : {nv}'d0;
always @(*) begin
    drain_vector = 16'd0;
    for (k = 0; k < {nv}; k = k + 1) begin
        if (deliverable[k]) drain_vector = k;
    end
end

// Table reads: the dword at reg_addr.
always @(*) begin
    case (reg_addr[1:0])
        2'd0: table_rdata = tbl_lo[reg_addr[{ab}:2]];
        2'd1: table_rdata = tbl_hi[reg_addr[{ab}:2]];
        2'd2: table_rdata = tbl_data[reg_addr[{ab}:2]];
        default: table_rdata = {{31'd0, masked[reg_addr[{ab}:2]]}};
    endcase
end
always @(*) wmask = {{{{8{{reg_strb[3]}}}}, {{8{{reg_strb[2]}}}}, {{8{{reg_strb[1]}}}}, {{8{{reg_strb[0]}}}}}};

// One request while the message slot is empty: configuration, then
// pending vectors that became deliverable, then the engine.
always @(*) irq_ready = !out_valid && !cfg_wait && (deliverable == {nv}'d0);
always @(*) begin
    svc_go = 1'b0;
    svc_vector = 16'd0;
    svc_isr = 2'd0;
    if (!out_valid) begin
        if (cfg_wait) begin
            svc_go = 1'b1;
            svc_vector = config_vector;
            svc_isr = 2'd2;
        end else if (deliverable != {nv}'d0) begin
            svc_go = 1'b1;
            svc_vector = drain_vector;
        end else if (irq_valid) begin
            svc_go = 1'b1;
            svc_vector = irq_vector;
            svc_isr = 2'd1;
        end
    end
end
always @(*) sel_hit = svc_vector < {nv};
always @(*) sel = svc_vector[{vbm}:0];

always @(posedge clock) begin
    if (reg_write) begin
        case (reg_addr[1:0])
            2'd0: tbl_lo[reg_addr[{ab}:2]] <= (tbl_lo[reg_addr[{ab}:2]] & ~wmask) | (reg_wdata & wmask);
            2'd1: tbl_hi[reg_addr[{ab}:2]] <= (tbl_hi[reg_addr[{ab}:2]] & ~wmask) | (reg_wdata & wmask);
            2'd2: tbl_data[reg_addr[{ab}:2]] <= (tbl_data[reg_addr[{ab}:2]] & ~wmask) | (reg_wdata & wmask);
            default: if (reg_strb[0]) masked[reg_addr[{ab}:2]] <= reg_wdata[0];
        endcase
    end
    if (out_valid && msg_ready) begin
        out_valid <= 1'b0;
        count <= count + 64'd1;
    end
    if (!out_valid && cfg_wait) begin
        cfg_wait <= 1'b0;
    end
    // ISR: read-clear first, so that a bit set in the same cycle survives.
    isr_bits <= (isr_read_clear ? 2'd0 : isr_bits) | (svc_go ? svc_isr : 2'd0);
    if (svc_go && sel_hit) begin
        if (msix_enable && !function_mask && !masked[sel]) begin
            out_valid <= 1'b1;
            out_addr <= {{tbl_hi[sel], tbl_lo[sel]}};
            out_data <= tbl_data[sel];
            out_vector <= svc_vector;
            pending[sel] <= 1'b0;
        end else begin
            pending[sel] <= 1'b1;
        end
    end
    if (config_irq) begin
        cfg_wait <= 1'b1;
    end
    if (clear) begin
        isr_bits <= 2'd0;
        pending <= {nv}'d0;
        cfg_wait <= 1'b0;
    end
    if (reset) begin
        masked <= {{{nv}{{1'b1}}}};
        pending <= {nv}'d0;
        isr_bits <= 2'd0;
        cfg_wait <= 1'b0;
        out_valid <= 1'b0;
        count <= 64'd0;
{reset_table}    end
end

always @(*) pba = pending;
always @(*) isr = isr_bits;
always @(*) msg_valid = out_valid;
always @(*) msg_addr = out_addr;
always @(*) msg_data = out_data;
always @(*) msg_vector = out_vector;
always @(*) interrupts = count;
always @(*) busy = out_valid || cfg_wait || (deliverable != {nv}'d0);
",
            nvm = NV - 1,
            vbm = vb - 1,
            ab = TABLE_ADDR_BITS - 1,
        ))
    }
}
