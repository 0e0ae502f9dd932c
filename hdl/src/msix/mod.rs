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
#[derive(LogicBlock, Debug)]
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

    addr_lo: [DFF<Bits<32>>; NV],
    addr_hi: [DFF<Bits<32>>; NV],
    data: [DFF<Bits<32>>; NV],
    masked: DFF<Bits<NV>>,
    pending: DFF<Bits<NV>>,
    isr_bits: DFF<Bits<2>>,
    cfg_wait: DFF<Bit>,
    out_valid: DFF<Bit>,
    out_addr: DFF<Bits<64>>,
    out_data: DFF<Bits<32>>,
    out_vector: DFF<Bits<16>>,
    count: DFF<Bits<64>>,

    entry_index: [Constant<Bits<TABLE_ADDR_BITS>>; NV],
    vector_index: [Constant<Bits<16>>; NV],
    all_masked: Constant<Bits<NV>>,

    wmask: Signal<Local, Bits<32>>,
    deliverable: Signal<Local, Bits<NV>>,
    drain_vector: Signal<Local, Bits<16>>,
    svc_go: Signal<Local, Bit>,
    svc_vector: Signal<Local, Bits<16>>,
    svc_isr: Signal<Local, Bits<2>>,
    sel_hit: Signal<Local, Bit>,
    sel_addr: Signal<Local, Bits<64>>,
    sel_lo: Signal<Local, Bits<32>>,
    sel_hi: Signal<Local, Bits<32>>,
    ctrl_word: Signal<Local, Bits<32>>,
    sel_data: Signal<Local, Bits<32>>,
    sel_masked: Signal<Local, Bit>,
}

impl Default for Msix {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            reset: Default::default(),
            msix_enable: Default::default(),
            function_mask: Default::default(),
            reg_addr: Default::default(),
            reg_write: Default::default(),
            reg_wdata: Default::default(),
            reg_strb: Default::default(),
            table_rdata: Default::default(),
            pba: Default::default(),
            irq_valid: Default::default(),
            irq_ready: Default::default(),
            irq_queue: Default::default(),
            irq_vector: Default::default(),
            config_irq: Default::default(),
            config_vector: Default::default(),
            clear: Default::default(),
            isr_read_clear: Default::default(),
            isr: Default::default(),
            msg_valid: Default::default(),
            msg_ready: Default::default(),
            msg_addr: Default::default(),
            msg_data: Default::default(),
            msg_vector: Default::default(),
            interrupts: Default::default(),
            busy: Default::default(),
            addr_lo: array_init(|_| Default::default()),
            addr_hi: array_init(|_| Default::default()),
            data: array_init(|_| Default::default()),
            masked: Default::default(),
            pending: Default::default(),
            isr_bits: Default::default(),
            cfg_wait: Default::default(),
            out_valid: Default::default(),
            out_addr: Default::default(),
            out_data: Default::default(),
            out_vector: Default::default(),
            count: Default::default(),
            entry_index: array_init(|i| Constant::new(((i as u64) * 4).into())),
            vector_index: array_init(|i| Constant::new((i as u64).into())),
            all_masked: Constant::new(!Bits::<NV>::default()),
            wmask: Default::default(),
            deliverable: Default::default(),
            drain_vector: Default::default(),
            svc_go: Default::default(),
            svc_vector: Default::default(),
            svc_isr: Default::default(),
            sel_hit: Default::default(),
            sel_addr: Default::default(),
            sel_lo: Default::default(),
            sel_hi: Default::default(),
            ctrl_word: Default::default(),
            sel_data: Default::default(),
            sel_masked: Default::default(),
        }
    }
}

/// Builds an array from its index (rust-hdl blocks need `Default` by hand
/// when they hold constants).
pub(crate) fn array_init<T, const N: usize>(f: impl FnMut(usize) -> T) -> [T; N] {
    core::array::from_fn(f)
}

impl Logic for Msix {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, masked, pending, isr_bits, cfg_wait, out_valid, out_addr, out_data,
            out_vector, count
        );
        for i in 0..NV {
            self.addr_lo[i].clock.next = self.clock.val();
            self.addr_hi[i].clock.next = self.clock.val();
            self.data[i].clock.next = self.clock.val();
            self.addr_lo[i].d.next = self.addr_lo[i].q.val();
            self.addr_hi[i].d.next = self.addr_hi[i].q.val();
            self.data[i].d.next = self.data[i].q.val();
        }

        // Byte-enable mask of a table write.
        self.wmask.next = 0.into();
        if self.reg_strb.val().get_bit(0) {
            self.wmask.next = self.wmask.val() | 0xFF_u64;
        }
        if self.reg_strb.val().get_bit(1) {
            self.wmask.next = self.wmask.val() | 0xFF00_u64;
        }
        if self.reg_strb.val().get_bit(2) {
            self.wmask.next = self.wmask.val() | 0xFF_0000_u64;
        }
        if self.reg_strb.val().get_bit(3) {
            self.wmask.next = self.wmask.val() | 0xFF00_0000_u64;
        }

        // Table reads (combinational) and writes.
        self.ctrl_word.next = bit_cast::<32, 1>(
            self.masked
                .q
                .val()
                .get_bit(self.reg_addr.val().get_bits::<3>(2).index())
                .into(),
        );
        self.table_rdata.next = 0.into();
        for i in 0..NV {
            if self.reg_addr.val() == self.entry_index[i].val() {
                self.table_rdata.next = self.addr_lo[i].q.val();
                if self.reg_write.val() {
                    self.addr_lo[i].d.next = (self.addr_lo[i].q.val() & !self.wmask.val())
                        | (self.reg_wdata.val() & self.wmask.val());
                }
            }
            if self.reg_addr.val() == (self.entry_index[i].val() + 1) {
                self.table_rdata.next = self.addr_hi[i].q.val();
                if self.reg_write.val() {
                    self.addr_hi[i].d.next = (self.addr_hi[i].q.val() & !self.wmask.val())
                        | (self.reg_wdata.val() & self.wmask.val());
                }
            }
            if self.reg_addr.val() == (self.entry_index[i].val() + 2) {
                self.table_rdata.next = self.data[i].q.val();
                if self.reg_write.val() {
                    self.data[i].d.next = (self.data[i].q.val() & !self.wmask.val())
                        | (self.reg_wdata.val() & self.wmask.val());
                }
            }
            if self.reg_addr.val() == (self.entry_index[i].val() + 3) {
                self.table_rdata.next = self.ctrl_word.val();
                if self.reg_write.val() && self.reg_strb.val().get_bit(0) {
                    self.masked.d.next = self.masked.q.val().replace_bit(
                        self.vector_index[i].val().index(),
                        self.reg_wdata.val().get_bit(0),
                    );
                }
            }
        }

        // Vectors whose pending message may go now.
        self.deliverable.next = 0.into();
        if self.msix_enable.val() && !self.function_mask.val() {
            self.deliverable.next = self.pending.q.val() & !self.masked.q.val();
        }
        self.drain_vector.next = 0.into();
        for i in 0..NV {
            if self
                .deliverable
                .val()
                .get_bit(self.vector_index[i].val().index())
            {
                self.drain_vector.next = self.vector_index[i].val();
            }
        }

        // The message slot empties on its handshake.
        if self.out_valid.q.val() && self.msg_ready.val() {
            self.out_valid.d.next = false;
            self.count.d.next = self.count.q.val() + 1;
        }

        // Pick one request while the slot is empty.
        self.irq_ready.next = false;
        self.svc_go.next = false;
        self.svc_vector.next = 0.into();
        self.svc_isr.next = 0.into();
        if !self.out_valid.q.val() {
            if self.cfg_wait.q.val() {
                self.svc_go.next = true;
                self.svc_vector.next = self.config_vector.val();
                self.svc_isr.next = 2.into();
                self.cfg_wait.d.next = false;
            } else if self.deliverable.val().any() {
                self.svc_go.next = true;
                self.svc_vector.next = self.drain_vector.val();
            } else {
                self.irq_ready.next = true;
                if self.irq_valid.val() {
                    self.svc_go.next = true;
                    self.svc_vector.next = self.irq_vector.val();
                    self.svc_isr.next = 1.into();
                }
            }
        }

        // The chosen vector's entry.
        self.sel_hit.next = false;
        self.sel_lo.next = 0.into();
        self.sel_hi.next = 0.into();
        self.sel_data.next = 0.into();
        self.sel_masked.next = true;
        for i in 0..NV {
            if self.svc_vector.val() == self.vector_index[i].val() {
                self.sel_hit.next = true;
                self.sel_lo.next = self.addr_lo[i].q.val();
                self.sel_hi.next = self.addr_hi[i].q.val();
                self.sel_data.next = self.data[i].q.val();
                self.sel_masked.next = self
                    .masked
                    .q
                    .val()
                    .get_bit(self.vector_index[i].val().index());
            }
        }

        self.sel_addr.next =
            bit_cast::<64, 32>(self.sel_lo.val()) | (bit_cast::<64, 32>(self.sel_hi.val()) << 32);

        // ISR: read-clear first, so that a bit set in the same cycle survives.
        if self.isr_read_clear.val() {
            self.isr_bits.d.next = 0.into();
        }
        if self.svc_go.val() {
            self.isr_bits.d.next = self.isr_bits.d.val() | self.svc_isr.val();
            if self.sel_hit.val() {
                if self.msix_enable.val() && !self.function_mask.val() && !self.sel_masked.val() {
                    self.out_valid.d.next = true;
                    self.out_addr.d.next = self.sel_addr.val();
                    self.out_data.d.next = self.sel_data.val();
                    self.out_vector.d.next = self.svc_vector.val();
                    self.pending.d.next = self
                        .pending
                        .q
                        .val()
                        .replace_bit(self.svc_vector.val().index(), false);
                } else {
                    self.pending.d.next = self
                        .pending
                        .q
                        .val()
                        .replace_bit(self.svc_vector.val().index(), true);
                }
            }
        }
        // A configuration request waits for its turn.
        if self.config_irq.val() {
            self.cfg_wait.d.next = true;
        }
        if self.clear.val() {
            self.isr_bits.d.next = 0.into();
            self.pending.d.next = 0.into();
            self.cfg_wait.d.next = false;
        }
        if self.reset.val() {
            self.masked.d.next = self.all_masked.val();
            self.pending.d.next = 0.into();
            self.isr_bits.d.next = 0.into();
            self.cfg_wait.d.next = false;
            self.out_valid.d.next = false;
            self.count.d.next = 0.into();
            for i in 0..NV {
                self.addr_lo[i].d.next = 0.into();
                self.addr_hi[i].d.next = 0.into();
                self.data[i].d.next = 0.into();
            }
        }

        self.pba.next = self.pending.q.val();
        self.isr.next = self.isr_bits.q.val();
        self.msg_valid.next = self.out_valid.q.val();
        self.msg_addr.next = self.out_addr.q.val();
        self.msg_data.next = self.out_data.q.val();
        self.msg_vector.next = self.out_vector.q.val();
        self.interrupts.next = self.count.q.val();
        self.busy.next =
            self.out_valid.q.val() || self.cfg_wait.q.val() || self.deliverable.val().any();
    }
}
