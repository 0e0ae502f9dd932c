//! The rust-hdl backend: `vfpga_hdl::top::BlkTop` or
//! `vfpga_hdl::net::NetTop` simulated in-process by rust-hdl's
//! `simulate()`, driven in a plain loop (its thread-based testbench hands
//! the design between threads every edge and is far slower).

use rust_hdl::prelude::*;
use vfpga_abi::Personality;
use vfpga_abi::ports::{
    BlkCommand, BlkData, DmaReadRequest, DmaWrite, MgmtResponse, MmioResponse, MsixMessage, NetBeat,
};
use vfpga_hdl::net::NetTop;
use vfpga_hdl::top::BlkTop;

use crate::backend::{Backend, BackendKind};
use crate::ports::{TopInputs, TopOutputs};

/// Iterations `simulate()` may take to settle before the design is
/// declared oscillating.
const SETTLE_ITERATIONS: usize = 1000;

#[derive(Debug)]
enum Top {
    Blk(Box<BlkTop>),
    Net(Box<NetTop>),
}

/// The top level of one personality, simulated by rust-hdl.
#[derive(Debug)]
pub struct RustHdlBackend {
    uut: Top,
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

/// Drives the ports both top levels have (same names in both).
macro_rules! drive_common {
    ($u:expr, $i:expr) => {{
        let u = $u;
        let i = $i;
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
        let g = i.mgmt_req.unwrap_or_default();
        u.mgmt_req_valid.next = i.mgmt_req.is_some();
        u.mgmt_req_addr.next = u64::from(g.addr).into();
        u.mgmt_req_write.next = g.write;
        u.mgmt_req_wdata.next = u64::from(g.wdata).into();
        u.mgmt_resp_ready.next = i.mgmt_rsp_ready;
        u.msix_enable.next = i.msix_enable;
        u.msix_function_mask.next = i.msix_function_mask;
        u.bus_master.next = i.bus_master;
    }};
}

/// Reads the outputs both top levels have.
macro_rules! read_common {
    ($u:expr) => {{
        let u = $u;
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
            mgmt_req_ready: u.mgmt_req_ready.val(),
            mgmt_rsp: u.mgmt_resp_valid.val().then(|| MgmtResponse {
                rdata: u.mgmt_resp_rdata.val().to_u64() as u32,
            }),
            mgmt_irq: u.mgmt_irq.val(),
            idle: u.idle.val(),
            ..TopOutputs::default()
        }
    }};
}

impl RustHdlBackend {
    /// The blk design at power-on.
    pub fn new() -> Self {
        RustHdlBackend::for_personality(Personality::Blk)
    }

    /// The design of `personality` at power-on.
    pub fn for_personality(personality: Personality) -> Self {
        let uut = match personality {
            Personality::Blk => {
                let mut u = Box::<BlkTop>::default();
                u.connect_all();
                Top::Blk(u)
            }
            Personality::Net => {
                let mut u = Box::<NetTop>::default();
                u.connect_all();
                Top::Net(u)
            }
        };
        let mut b = RustHdlBackend { uut };
        b.settle(&TopInputs::default());
        b
    }

    fn run(&mut self) {
        // A design that does not settle is a combinational loop: the RTL is
        // broken and no simulation result would mean anything.
        let settled = match &mut self.uut {
            Top::Blk(u) => simulate(&mut **u, SETTLE_ITERATIONS),
            Top::Net(u) => simulate(&mut **u, SETTLE_ITERATIONS),
        };
        assert!(
            settled,
            "vfpga-hdl's top level did not settle (combinational loop)"
        );
    }

    fn set_reset(&mut self, v: bool) {
        match &mut self.uut {
            Top::Blk(u) => u.reset.next = v,
            Top::Net(u) => u.reset.next = v,
        }
    }
}

impl Backend for RustHdlBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::RustHdl
    }

    fn personality(&self) -> Personality {
        match self.uut {
            Top::Blk(_) => Personality::Blk,
            Top::Net(_) => Personality::Net,
        }
    }

    fn reset(&mut self, cycles: u32) {
        self.set_reset(true);
        for _ in 0..cycles {
            self.settle(&TopInputs::default());
            self.edge();
        }
        self.set_reset(false);
    }

    fn settle(&mut self, i: &TopInputs) -> TopOutputs {
        match &mut self.uut {
            Top::Blk(u) => {
                let u = &mut **u;
                drive_common!(&mut *u, i);
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
            }
            Top::Net(u) => {
                let u = &mut **u;
                drive_common!(&mut *u, i);
                u.mac_tx_ready.next = i.mac_tx_ready;
                let r = i.mac_rx.unwrap_or_default();
                u.mac_rx_valid.next = i.mac_rx.is_some();
                u.mac_rx_data.next = wide(r.data);
                u.mac_rx_bytes.next = u64::from(r.bytes).into();
                u.mac_rx_last.next = r.last;
            }
        }
        self.run();
        match &self.uut {
            Top::Blk(u) => {
                let u = &**u;
                TopOutputs {
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
                    ..read_common!(u)
                }
            }
            Top::Net(u) => {
                let u = &**u;
                TopOutputs {
                    mac_tx: u.mac_tx_valid.val().then(|| NetBeat {
                        data: u.mac_tx_data.val().to_u128(),
                        bytes: u.mac_tx_bytes.val().to_u64() as u8,
                        last: u.mac_tx_last.val(),
                        pair: 0,
                    }),
                    mac_rx_ready: u.mac_rx_ready.val(),
                    ..read_common!(u)
                }
            }
        }
    }

    fn edge(&mut self) {
        match &mut self.uut {
            Top::Blk(u) => u.clock.next = Clock { clk: true },
            Top::Net(u) => u.clock.next = Clock { clk: true },
        }
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
