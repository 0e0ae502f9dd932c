//! The engine's top-level ports for one clock cycle, as the backends see
//! them: the `vfpga_abi::ports` beat structs, with `Some` meaning `valid`,
//! plus every `ready` and the three PCI configuration inputs.
//!
//! [`TopInputs::visit`] and [`TopOutputs::visit`] list every port signal by
//! name and width in a fixed order: the VCD writer, the Verilator port map
//! and the cross-backend comparison all use that one list.

use vfpga_abi::Personality;
use vfpga_abi::ports::{
    BlkCommand, BlkCompletion, BlkData, DmaReadCompletion, DmaReadRequest, DmaWrite,
    DmaWriteResponse, MgmtRequest, MgmtResponse, MmioRequest, MmioResponse, MsixMessage, NetBeat,
};

/// What the host side drives into the engine in one cycle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TopInputs {
    /// MMIO request (host to device).
    pub mmio_req: Option<MmioRequest>,
    /// Ready for an MMIO read response.
    pub mmio_rsp_ready: bool,
    /// Ready for a DMA read request.
    pub dma_rd_req_ready: bool,
    /// DMA read completion beat.
    pub dma_rd_cpl: Option<DmaReadCompletion>,
    /// Ready for a DMA write beat.
    pub dma_wr_ready: bool,
    /// DMA write response.
    pub dma_wr_rsp: Option<DmaWriteResponse>,
    /// Ready for an MSI-X message.
    pub msix_ready: bool,
    /// Ready for a storage command.
    pub blk_cmd_ready: bool,
    /// Ready for a storage write-data beat.
    pub blk_wdata_ready: bool,
    /// Storage read-data beat.
    pub blk_rdata: Option<BlkData>,
    /// Storage completion.
    pub blk_cpl: Option<BlkCompletion>,
    /// Firmware management request.
    pub mgmt_req: Option<MgmtRequest>,
    /// Ready for a management read response.
    pub mgmt_rsp_ready: bool,
    /// PCI config: MSI-X enable.
    pub msix_enable: bool,
    /// PCI config: MSI-X function mask.
    pub msix_function_mask: bool,
    /// PCI config: bus master enable.
    pub bus_master: bool,
    /// Ready for a MAC TX beat (net only).
    pub mac_tx_ready: bool,
    /// MAC RX beat (net only; `pair` is not on the ports).
    pub mac_rx: Option<NetBeat>,
}

/// What the engine drives out in one cycle (after its logic settled on the
/// cycle's inputs, before the rising edge).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TopOutputs {
    /// Ready for an MMIO request.
    pub mmio_req_ready: bool,
    /// MMIO read response.
    pub mmio_rsp: Option<MmioResponse>,
    /// DMA read request.
    pub dma_rd_req: Option<DmaReadRequest>,
    /// Ready for a DMA read completion beat.
    pub dma_rd_cpl_ready: bool,
    /// DMA write beat.
    pub dma_wr: Option<DmaWrite>,
    /// Ready for a DMA write response.
    pub dma_wr_rsp_ready: bool,
    /// MSI-X message.
    pub msix: Option<MsixMessage>,
    /// Storage command.
    pub blk_cmd: Option<BlkCommand>,
    /// Storage write-data beat.
    pub blk_wdata: Option<BlkData>,
    /// Ready for a storage read-data beat.
    pub blk_rdata_ready: bool,
    /// Ready for a storage completion.
    pub blk_cpl_ready: bool,
    /// Ready for a management request.
    pub mgmt_req_ready: bool,
    /// Management read response.
    pub mgmt_rsp: Option<MgmtResponse>,
    /// Management interrupt: an event waits for the firmware.
    pub mgmt_irq: bool,
    /// The hardware holds no work (the top level's `idle` output): with
    /// every input channel quiet in this cycle it stays so until one acts.
    pub idle: bool,
    /// MAC TX beat (net only; `pair` reads 0).
    pub mac_tx: Option<NetBeat>,
    /// Ready for a MAC RX beat (net only).
    pub mac_rx_ready: bool,
}

/// Number of signals [`TopOutputs::visit`] lists.
pub const OUTPUT_SIGNALS: usize = 39;

/// A port signal: name, width in bits, value.
pub type Signal = (&'static str, u32, u128);

fn flag(b: bool) -> u128 {
    u128::from(b)
}

/// Whether the top level of `personality` has port signal `name` (as
/// [`TopInputs::visit`] / [`TopOutputs::visit`] name it): the storage
/// port is blk's, the MAC streams are net's, the rest both have.
pub fn has_signal(personality: Personality, name: &str) -> bool {
    if name.starts_with("blk_") {
        personality == Personality::Blk
    } else if name.starts_with("mac_") {
        personality == Personality::Net
    } else {
        true
    }
}

impl TopInputs {
    /// No beat from the host or the storage on any input channel this
    /// cycle (readies and the PCI configuration inputs are levels, not
    /// work; the firmware's management port is left out; a MAC RX beat is
    /// work). With this, a
    /// quiet management port and the top level's `idle`, the hardware stays
    /// idle into the next cycle.
    pub fn host_channels_quiet(&self) -> bool {
        self.mmio_req.is_none()
            && self.dma_rd_cpl.is_none()
            && self.dma_wr_rsp.is_none()
            && self.blk_rdata.is_none()
            && self.blk_cpl.is_none()
            && self.mac_rx.is_none()
    }

    /// Calls `f` with every input signal, in a fixed order. The payload of
    /// a channel reads zero while its `valid` is low.
    pub fn visit(&self, f: &mut impl FnMut(Signal)) {
        let m = self.mmio_req.unwrap_or_default();
        f(("mmio_req_valid", 1, flag(self.mmio_req.is_some())));
        f((
            "mmio_req_addr",
            vfpga_abi::ports::MMIO_ADDR_BITS,
            m.addr.into(),
        ));
        f(("mmio_req_write", 1, flag(m.write)));
        f(("mmio_req_wdata", 32, m.wdata.into()));
        f(("mmio_req_strb", 4, m.strb.into()));
        f(("mmio_resp_ready", 1, flag(self.mmio_rsp_ready)));
        f(("dma_rd_req_ready", 1, flag(self.dma_rd_req_ready)));
        let c = self.dma_rd_cpl.unwrap_or_default();
        f(("dma_rd_cpl_valid", 1, flag(self.dma_rd_cpl.is_some())));
        f((
            "dma_rd_cpl_tag",
            vfpga_abi::ports::DMA_TAG_BITS,
            c.tag.into(),
        ));
        f(("dma_rd_cpl_data", vfpga_abi::ports::DMA_DATA_BITS, c.data));
        f(("dma_rd_cpl_last", 1, flag(c.last)));
        f(("dma_rd_cpl_error", 1, flag(c.error)));
        f(("dma_wr_ready", 1, flag(self.dma_wr_ready)));
        f(("dma_wr_rsp_valid", 1, flag(self.dma_wr_rsp.is_some())));
        f((
            "dma_wr_rsp_error",
            1,
            flag(self.dma_wr_rsp.unwrap_or_default().error),
        ));
        f(("msix_ready", 1, flag(self.msix_ready)));
        f(("blk_cmd_ready", 1, flag(self.blk_cmd_ready)));
        f(("blk_wr_ready", 1, flag(self.blk_wdata_ready)));
        let r = self.blk_rdata.unwrap_or_default();
        f(("blk_rd_valid", 1, flag(self.blk_rdata.is_some())));
        f(("blk_rd_tag", vfpga_abi::ports::BLK_TAG_BITS, r.tag.into()));
        f(("blk_rd_data", 128, r.data));
        f(("blk_rd_last", 1, flag(r.last)));
        let k = self.blk_cpl.unwrap_or_default();
        f(("blk_cpl_valid", 1, flag(self.blk_cpl.is_some())));
        f(("blk_cpl_tag", vfpga_abi::ports::BLK_TAG_BITS, k.tag.into()));
        f(("blk_cpl_status", 8, k.status.into()));
        let g = self.mgmt_req.unwrap_or_default();
        f(("mgmt_req_valid", 1, flag(self.mgmt_req.is_some())));
        f(("mgmt_req_addr", vfpga_abi::mgmt::ADDR_BITS, g.addr.into()));
        f(("mgmt_req_write", 1, flag(g.write)));
        f(("mgmt_req_wdata", 32, g.wdata.into()));
        f(("mgmt_resp_ready", 1, flag(self.mgmt_rsp_ready)));
        f(("msix_enable", 1, flag(self.msix_enable)));
        f(("msix_function_mask", 1, flag(self.msix_function_mask)));
        f(("bus_master", 1, flag(self.bus_master)));
        f(("mac_tx_ready", 1, flag(self.mac_tx_ready)));
        let n = self.mac_rx.unwrap_or_default();
        f(("mac_rx_valid", 1, flag(self.mac_rx.is_some())));
        f(("mac_rx_data", 128, n.data));
        f(("mac_rx_bytes", 5, n.bytes.into()));
        f(("mac_rx_last", 1, flag(n.last)));
    }
}

impl TopOutputs {
    /// Calls `f` with every output signal, in a fixed order.
    pub fn visit(&self, f: &mut impl FnMut(Signal)) {
        f(("mmio_req_ready", 1, flag(self.mmio_req_ready)));
        f(("mmio_resp_valid", 1, flag(self.mmio_rsp.is_some())));
        f((
            "mmio_resp_rdata",
            32,
            self.mmio_rsp.unwrap_or_default().rdata.into(),
        ));
        let q = self.dma_rd_req.unwrap_or_default();
        f(("dma_rd_req_valid", 1, flag(self.dma_rd_req.is_some())));
        f((
            "dma_rd_req_tag",
            vfpga_abi::ports::DMA_TAG_BITS,
            q.tag.into(),
        ));
        f(("dma_rd_req_addr", 64, q.addr.into()));
        f((
            "dma_rd_req_len",
            vfpga_abi::ports::DMA_LEN_BITS,
            q.len.into(),
        ));
        f(("dma_rd_cpl_ready", 1, flag(self.dma_rd_cpl_ready)));
        let w = self.dma_wr.unwrap_or_default();
        f(("dma_wr_valid", 1, flag(self.dma_wr.is_some())));
        f(("dma_wr_addr", 64, w.addr.into()));
        f(("dma_wr_len", vfpga_abi::ports::DMA_LEN_BITS, w.len.into()));
        f(("dma_wr_data", vfpga_abi::ports::DMA_DATA_BITS, w.data));
        f(("dma_wr_last", 1, flag(w.last)));
        f(("dma_wr_rsp_ready", 1, flag(self.dma_wr_rsp_ready)));
        let x = self.msix.unwrap_or_default();
        f(("msix_valid", 1, flag(self.msix.is_some())));
        f(("msix_addr", 64, x.addr.into()));
        f(("msix_data", 32, x.data.into()));
        f(("msix_vector", 16, x.vector.into()));
        let b = self.blk_cmd.unwrap_or_default();
        f(("blk_cmd_valid", 1, flag(self.blk_cmd.is_some())));
        f(("blk_cmd_tag", vfpga_abi::ports::BLK_TAG_BITS, b.tag.into()));
        f(("blk_cmd_op", 2, b.op.into()));
        f(("blk_cmd_sector", 64, b.sector.into()));
        f(("blk_cmd_len", 32, b.len.into()));
        let d = self.blk_wdata.unwrap_or_default();
        f(("blk_wr_valid", 1, flag(self.blk_wdata.is_some())));
        f(("blk_wr_tag", vfpga_abi::ports::BLK_TAG_BITS, d.tag.into()));
        f(("blk_wr_data", 128, d.data));
        f(("blk_wr_last", 1, flag(d.last)));
        f(("blk_rd_ready", 1, flag(self.blk_rdata_ready)));
        f(("blk_cpl_ready", 1, flag(self.blk_cpl_ready)));
        f(("mgmt_req_ready", 1, flag(self.mgmt_req_ready)));
        f(("mgmt_resp_valid", 1, flag(self.mgmt_rsp.is_some())));
        f((
            "mgmt_resp_rdata",
            32,
            self.mgmt_rsp.unwrap_or_default().rdata.into(),
        ));
        f(("mgmt_irq", 1, flag(self.mgmt_irq)));
        f(("idle", 1, flag(self.idle)));
        let t = self.mac_tx.unwrap_or_default();
        f(("mac_tx_valid", 1, flag(self.mac_tx.is_some())));
        f(("mac_tx_data", 128, t.data));
        f(("mac_tx_bytes", 5, t.bytes.into()));
        f(("mac_tx_last", 1, flag(t.last)));
        f(("mac_rx_ready", 1, flag(self.mac_rx_ready)));
    }

    /// Builds the outputs from signal values looked up by name. `get` is
    /// called exactly once per signal, in [`TopOutputs::visit`]'s order, so
    /// a backend may answer positionally (Verilator does).
    pub fn from_signals(mut get: impl FnMut(&'static str) -> u128) -> TopOutputs {
        let mut v = [0u128; OUTPUT_SIGNALS];
        let mut i = 0;
        TopOutputs::default().visit(&mut |(n, _, _)| {
            v[i] = get(n);
            i += 1;
        });
        TopOutputs::from_values(&v)
    }

    /// Builds the outputs from every signal's value in
    /// [`TopOutputs::visit`]'s order.
    pub fn from_values(v: &[u128; OUTPUT_SIGNALS]) -> TopOutputs {
        let on = |x: u128| x != 0;
        TopOutputs {
            mmio_req_ready: on(v[0]),
            mmio_rsp: on(v[1]).then(|| MmioResponse { rdata: v[2] as u32 }),
            dma_rd_req: on(v[3]).then(|| DmaReadRequest {
                tag: v[4] as u8,
                addr: v[5] as u64,
                len: v[6] as u16,
            }),
            dma_rd_cpl_ready: on(v[7]),
            dma_wr: on(v[8]).then(|| DmaWrite {
                addr: v[9] as u64,
                len: v[10] as u16,
                data: v[11],
                last: on(v[12]),
            }),
            dma_wr_rsp_ready: on(v[13]),
            msix: on(v[14]).then(|| MsixMessage {
                addr: v[15] as u64,
                data: v[16] as u32,
                vector: v[17] as u16,
            }),
            blk_cmd: on(v[18]).then(|| BlkCommand {
                tag: v[19] as u8,
                op: v[20] as u8,
                sector: v[21] as u64,
                len: v[22] as u32,
            }),
            blk_wdata: on(v[23]).then(|| BlkData {
                tag: v[24] as u8,
                data: v[25],
                last: on(v[26]),
            }),
            blk_rdata_ready: on(v[27]),
            blk_cpl_ready: on(v[28]),
            mgmt_req_ready: on(v[29]),
            mgmt_rsp: on(v[30]).then(|| MgmtResponse {
                rdata: v[31] as u32,
            }),
            mgmt_irq: on(v[32]),
            idle: on(v[33]),
            mac_tx: on(v[34]).then(|| NetBeat {
                data: v[35],
                bytes: v[36] as u8,
                last: on(v[37]),
                pair: 0,
            }),
            mac_rx_ready: on(v[38]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn output_signals_round_trip_through_from_signals() {
        let out = TopOutputs {
            mmio_req_ready: true,
            dma_rd_req: Some(DmaReadRequest {
                tag: 7,
                addr: 0x1234_5678_9ABC,
                len: 4096,
            }),
            dma_wr: Some(DmaWrite {
                addr: 8,
                len: 3,
                data: u128::MAX - 5,
                last: true,
            }),
            blk_cmd: Some(BlkCommand {
                tag: 3,
                op: 1,
                sector: 99,
                len: 4096,
            }),
            mgmt_rsp: Some(MgmtResponse { rdata: 0xDEAD }),
            mgmt_irq: true,
            idle: true,
            mac_tx: Some(NetBeat {
                data: u128::MAX - 9,
                bytes: 16,
                last: true,
                pair: 0,
            }),
            mac_rx_ready: true,
            ..TopOutputs::default()
        };
        let mut map = HashMap::new();
        out.visit(&mut |(n, w, v)| {
            assert!(w == 128 || v < 1u128 << w, "{n} fits its width");
            assert!(map.insert(n, v).is_none(), "{n} listed once");
        });
        assert_eq!(map.len(), OUTPUT_SIGNALS);
        assert_eq!(TopOutputs::from_signals(|n| map[n]), out);
        // Called once per signal in visit order, so answering by position works.
        let mut order = Vec::new();
        out.visit(&mut |(n, _, _)| order.push(n));
        let mut i = 0;
        TopOutputs::from_signals(|n| {
            assert_eq!(n, order[i]);
            i += 1;
            0
        });
    }

    #[test]
    fn input_signal_names_are_unique_and_values_fit() {
        let inp = TopInputs {
            mmio_req: Some(MmioRequest {
                addr: 0x7FFC,
                write: true,
                wdata: u32::MAX,
                strb: 0xF,
            }),
            blk_cpl: Some(BlkCompletion { tag: 31, status: 1 }),
            bus_master: true,
            mac_rx: Some(NetBeat {
                data: 1,
                bytes: 16,
                last: false,
                pair: 0,
            }),
            ..TopInputs::default()
        };
        let mut names = std::collections::HashSet::new();
        inp.visit(&mut |(n, w, v)| {
            assert!(w == 128 || v < 1u128 << w, "{n} fits its width");
            assert!(names.insert(n), "{n} listed once");
        });
    }
}
