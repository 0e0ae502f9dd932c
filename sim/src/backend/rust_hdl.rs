//! The rust-hdl backend: `vfpga_hdl::top::BlkTop` simulated in-process by
//! rust-hdl's `simulate()`, driven in a plain loop (its thread-based
//! testbench hands the design between threads every edge and is far
//! slower).

use rust_hdl::prelude::*;
use vfpga_abi::ports::{
    BlkCommand, BlkData, DmaReadRequest, DmaWrite, MgmtResponse, MmioResponse, MsixMessage,
};
use vfpga_hdl::top::BlkTop;

use crate::backend::{Backend, BackendKind};
use crate::ports::{TopInputs, TopOutputs};

/// Iterations `simulate()` may take to settle before the design is
/// declared oscillating.
const SETTLE_ITERATIONS: usize = 1000;

/// The top level of the blk personality, simulated by rust-hdl.
#[derive(Debug)]
pub struct RustHdlBackend {
    uut: Box<BlkTop>,
}

fn wide(v: u128) -> Bits<128> {
    let mut b: Bits<128> = (v as u64).into();
    b.set_bits::<64>(64, ((v >> 64) as u64).into());
    b
}

impl Default for RustHdlBackend {
    fn default() -> Self {
        RustHdlBackend::new()
    }
}

impl RustHdlBackend {
    /// The design at power-on.
    pub fn new() -> Self {
        let mut uut = Box::<BlkTop>::default();
        uut.connect_all();
        let mut b = RustHdlBackend { uut };
        b.settle(&TopInputs::default());
        b
    }

    fn run(&mut self) {
        // A design that does not settle is a combinational loop: the RTL is
        // broken and no simulation result would mean anything.
        assert!(
            simulate(&mut *self.uut, SETTLE_ITERATIONS),
            "vfpga-hdl's top level did not settle (combinational loop)"
        );
    }
}

impl Backend for RustHdlBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::RustHdl
    }

    fn reset(&mut self, cycles: u32) {
        self.uut.reset.next = true;
        for _ in 0..cycles {
            self.settle(&TopInputs::default());
            self.edge();
        }
        self.uut.reset.next = false;
    }

    fn settle(&mut self, i: &TopInputs) -> TopOutputs {
        let u = &mut *self.uut;
        u.clock.next = Clock { clk: false };
        let m = i.mmio_req.unwrap_or_default();
        u.mmio_req_valid.next = i.mmio_req.is_some();
        u.mmio_req_addr.next = u64::from(m.addr).into();
        u.mmio_req_write.next = m.write;
        u.mmio_req_wdata.next = u64::from(m.wdata).into();
        u.mmio_req_strb.next = u64::from(m.strb).into();
        u.mmio_resp_ready.next = i.mmio_rsp_ready;
        u.dma_rd_req_ready.next = i.dma_rd_req_ready;
        let c = i.dma_rd_cpl.unwrap_or_default();
        u.dma_rd_cpl_valid.next = i.dma_rd_cpl.is_some();
        u.dma_rd_cpl_tag.next = u64::from(c.tag).into();
        u.dma_rd_cpl_data.next = wide(c.data);
        u.dma_rd_cpl_last.next = c.last;
        u.dma_rd_cpl_error.next = c.error;
        u.dma_wr_ready.next = i.dma_wr_ready;
        u.dma_wr_rsp_valid.next = i.dma_wr_rsp.is_some();
        u.dma_wr_rsp_error.next = i.dma_wr_rsp.unwrap_or_default().error;
        u.msix_ready.next = i.msix_ready;
        u.blk_cmd_ready.next = i.blk_cmd_ready;
        u.blk_wr_ready.next = i.blk_wdata_ready;
        let r = i.blk_rdata.unwrap_or_default();
        u.blk_rd_valid.next = i.blk_rdata.is_some();
        u.blk_rd_tag.next = u64::from(r.tag).into();
        u.blk_rd_data.next = wide(r.data);
        u.blk_rd_last.next = r.last;
        let k = i.blk_cpl.unwrap_or_default();
        u.blk_cpl_valid.next = i.blk_cpl.is_some();
        u.blk_cpl_tag.next = u64::from(k.tag).into();
        u.blk_cpl_status.next = u64::from(k.status).into();
        let g = i.mgmt_req.unwrap_or_default();
        u.mgmt_req_valid.next = i.mgmt_req.is_some();
        u.mgmt_req_addr.next = u64::from(g.addr).into();
        u.mgmt_req_write.next = g.write;
        u.mgmt_req_wdata.next = u64::from(g.wdata).into();
        u.mgmt_resp_ready.next = i.mgmt_rsp_ready;
        u.msix_enable.next = i.msix_enable;
        u.msix_function_mask.next = i.msix_function_mask;
        u.bus_master.next = i.bus_master;
        self.run();
        let u = &*self.uut;
        TopOutputs {
            mmio_req_ready: u.mmio_req_ready.val(),
            mmio_rsp: u.mmio_resp_valid.val().then(|| MmioResponse {
                rdata: u.mmio_resp_rdata.val().to_u64() as u32,
            }),
            dma_rd_req: u.dma_rd_req_valid.val().then(|| DmaReadRequest {
                tag: u.dma_rd_req_tag.val().to_u64() as u8,
                addr: u.dma_rd_req_addr.val().to_u64(),
                len: u.dma_rd_req_len.val().to_u64() as u16,
            }),
            dma_rd_cpl_ready: u.dma_rd_cpl_ready.val(),
            dma_wr: u.dma_wr_valid.val().then(|| DmaWrite {
                addr: u.dma_wr_addr.val().to_u64(),
                len: u.dma_wr_len.val().to_u64() as u16,
                data: u.dma_wr_data.val().to_u128(),
                last: u.dma_wr_last.val(),
            }),
            dma_wr_rsp_ready: u.dma_wr_rsp_ready.val(),
            msix: u.msix_valid.val().then(|| MsixMessage {
                addr: u.msix_addr.val().to_u64(),
                data: u.msix_data.val().to_u64() as u32,
                vector: u.msix_vector.val().to_u64() as u16,
            }),
            blk_cmd: u.blk_cmd_valid.val().then(|| BlkCommand {
                tag: u.blk_cmd_tag.val().to_u64() as u8,
                op: u.blk_cmd_op.val().to_u64() as u8,
                sector: u.blk_cmd_sector.val().to_u64(),
                len: u.blk_cmd_len.val().to_u64() as u32,
            }),
            blk_wdata: u.blk_wr_valid.val().then(|| BlkData {
                tag: u.blk_wr_tag.val().to_u64() as u8,
                data: u.blk_wr_data.val().to_u128(),
                last: u.blk_wr_last.val(),
            }),
            blk_rdata_ready: u.blk_rd_ready.val(),
            blk_cpl_ready: u.blk_cpl_ready.val(),
            mgmt_req_ready: u.mgmt_req_ready.val(),
            mgmt_rsp: u.mgmt_resp_valid.val().then(|| MgmtResponse {
                rdata: u.mgmt_resp_rdata.val().to_u64() as u32,
            }),
            idle: u.idle.val(),
        }
    }

    fn edge(&mut self) {
        self.uut.clock.next = Clock { clk: true };
        self.run();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_values_keep_both_halves() {
        let v = 0x0123_4567_89AB_CDEF_FEDC_BA98_7654_3210u128;
        assert_eq!(wide(v).to_u128(), v);
    }
}
