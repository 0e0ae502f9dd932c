//! The engine's top-level ports for one clock cycle, as the backends see
//! them: the `vfpga_abi::ports` beat structs, with `Some` meaning `valid`,
//! plus every `ready` and the three PCI configuration inputs.
//!
//! [`TopInputs::visit`] and [`TopOutputs::visit`] list every port signal by
//! name and width in a fixed order: the VCD writer, the Verilator port map
//! and the cross-backend comparison all use that one list.

use vfpga_abi::ports::{
    BlkCommand, BlkCompletion, BlkData, DmaReadCompletion, DmaReadRequest, DmaWrite,
    DmaWriteResponse, MgmtRequest, MgmtResponse, MmioRequest, MmioResponse, MsixMessage,
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
}

/// A port signal: name, width in bits, value.
pub type Signal = (&'static str, u32, u128);

fn flag(b: bool) -> u128 {
    u128::from(b)
}

impl TopInputs {
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
        f(("mmio_rsp_ready", 1, flag(self.mmio_rsp_ready)));
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
        f(("blk_wdata_ready", 1, flag(self.blk_wdata_ready)));
        let r = self.blk_rdata.unwrap_or_default();
        f(("blk_rdata_valid", 1, flag(self.blk_rdata.is_some())));
        f((
            "blk_rdata_tag",
            vfpga_abi::ports::BLK_TAG_BITS,
            r.tag.into(),
        ));
        f(("blk_rdata_data", 128, r.data));
        f(("blk_rdata_last", 1, flag(r.last)));
        let k = self.blk_cpl.unwrap_or_default();
        f(("blk_cpl_valid", 1, flag(self.blk_cpl.is_some())));
        f(("blk_cpl_tag", vfpga_abi::ports::BLK_TAG_BITS, k.tag.into()));
        f(("blk_cpl_status", 8, k.status.into()));
        let g = self.mgmt_req.unwrap_or_default();
        f(("mgmt_req_valid", 1, flag(self.mgmt_req.is_some())));
        f(("mgmt_req_addr", vfpga_abi::mgmt::ADDR_BITS, g.addr.into()));
        f(("mgmt_req_write", 1, flag(g.write)));
        f(("mgmt_req_wdata", 32, g.wdata.into()));
        f(("mgmt_rsp_ready", 1, flag(self.mgmt_rsp_ready)));
        f(("msix_enable", 1, flag(self.msix_enable)));
        f(("msix_function_mask", 1, flag(self.msix_function_mask)));
        f(("bus_master", 1, flag(self.bus_master)));
    }
}

impl TopOutputs {
    /// Calls `f` with every output signal, in a fixed order.
    pub fn visit(&self, f: &mut impl FnMut(Signal)) {
        f(("mmio_req_ready", 1, flag(self.mmio_req_ready)));
        f(("mmio_rsp_valid", 1, flag(self.mmio_rsp.is_some())));
        f((
            "mmio_rsp_rdata",
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
        f(("blk_wdata_valid", 1, flag(self.blk_wdata.is_some())));
        f((
            "blk_wdata_tag",
            vfpga_abi::ports::BLK_TAG_BITS,
            d.tag.into(),
        ));
        f(("blk_wdata_data", 128, d.data));
        f(("blk_wdata_last", 1, flag(d.last)));
        f(("blk_rdata_ready", 1, flag(self.blk_rdata_ready)));
        f(("blk_cpl_ready", 1, flag(self.blk_cpl_ready)));
        f(("mgmt_req_ready", 1, flag(self.mgmt_req_ready)));
        f(("mgmt_rsp_valid", 1, flag(self.mgmt_rsp.is_some())));
        f((
            "mgmt_rsp_rdata",
            32,
            self.mgmt_rsp.unwrap_or_default().rdata.into(),
        ));
    }

    /// Builds the outputs from signal values looked up by name (as
    /// [`TopOutputs::visit`] lists them): how a backend that exposes its
    /// ports by name (Verilator) fills this struct.
    pub fn from_signals(mut get: impl FnMut(&'static str) -> u128) -> TopOutputs {
        let mut g = |n| get(n);
        let on = |v: u128| v != 0;
        TopOutputs {
            mmio_req_ready: on(g("mmio_req_ready")),
            mmio_rsp: on(g("mmio_rsp_valid")).then(|| MmioResponse {
                rdata: g("mmio_rsp_rdata") as u32,
            }),
            dma_rd_req: on(g("dma_rd_req_valid")).then(|| DmaReadRequest {
                tag: g("dma_rd_req_tag") as u8,
                addr: g("dma_rd_req_addr") as u64,
                len: g("dma_rd_req_len") as u16,
            }),
            dma_rd_cpl_ready: on(g("dma_rd_cpl_ready")),
            dma_wr: on(g("dma_wr_valid")).then(|| DmaWrite {
                addr: g("dma_wr_addr") as u64,
                len: g("dma_wr_len") as u16,
                data: g("dma_wr_data"),
                last: on(g("dma_wr_last")),
            }),
            dma_wr_rsp_ready: on(g("dma_wr_rsp_ready")),
            msix: on(g("msix_valid")).then(|| MsixMessage {
                addr: g("msix_addr") as u64,
                data: g("msix_data") as u32,
                vector: g("msix_vector") as u16,
            }),
            blk_cmd: on(g("blk_cmd_valid")).then(|| BlkCommand {
                tag: g("blk_cmd_tag") as u8,
                op: g("blk_cmd_op") as u8,
                sector: g("blk_cmd_sector") as u64,
                len: g("blk_cmd_len") as u32,
            }),
            blk_wdata: on(g("blk_wdata_valid")).then(|| BlkData {
                tag: g("blk_wdata_tag") as u8,
                data: g("blk_wdata_data"),
                last: on(g("blk_wdata_last")),
            }),
            blk_rdata_ready: on(g("blk_rdata_ready")),
            blk_cpl_ready: on(g("blk_cpl_ready")),
            mgmt_req_ready: on(g("mgmt_req_ready")),
            mgmt_rsp: on(g("mgmt_rsp_valid")).then(|| MgmtResponse {
                rdata: g("mgmt_rsp_rdata") as u32,
            }),
        }
    }

    /// Any channel towards the host or storage is valid this cycle.
    pub fn any_valid(&self) -> bool {
        self.mmio_rsp.is_some()
            || self.dma_rd_req.is_some()
            || self.dma_wr.is_some()
            || self.msix.is_some()
            || self.blk_cmd.is_some()
            || self.blk_wdata.is_some()
            || self.mgmt_rsp.is_some()
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
            ..TopOutputs::default()
        };
        let mut map = HashMap::new();
        out.visit(&mut |(n, w, v)| {
            assert!(w == 128 || v < 1u128 << w, "{n} fits its width");
            assert!(map.insert(n, v).is_none(), "{n} listed once");
        });
        assert_eq!(TopOutputs::from_signals(|n| map[n]), out);
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
            ..TopInputs::default()
        };
        let mut names = std::collections::HashSet::new();
        inp.visit(&mut |(n, w, v)| {
            assert!(w == 128 || v < 1u128 << w, "{n} fits its width");
            assert!(names.insert(n), "{n} listed once");
        });
    }
}
