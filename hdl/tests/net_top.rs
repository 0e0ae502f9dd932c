//! The net top level end to end: firmware programs the net registers over
//! the management port (read back through it too), a driver sets up
//! receiveq1 and transmitq1 through BAR0 (virtio 1.2 §4.1.4.3, §5.1.2),
//! rings the doorbells (§4.1.4.4), and frames move between host memory and
//! the MAC models, each used buffer notified by MSI-X (§4.1.5.1.2).

use rust_hdl::prelude::*;
use vfpga_abi::common_cfg as cc;
use vfpga_abi::mgmt::net as regs;
use vfpga_abi::msix as abi_msix;
use vfpga_abi::ports::MsixMessage;
use vfpga_abi::{bar0, mgmt, status};
use vfpga_hdl::engine::BlkEngine;
use vfpga_hdl::net::NetTop;
use vfpga_hdl::testbench::mac::{Beat, MacSink, MacSource};
use vfpga_hdl::testbench::{Buffer, HostMemory, SplitQueue};

const MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

struct TopBench {
    t: Box<NetTop>,
    /// Carrier of the DMA port signals the host-memory model is written
    /// against (see `testbench::net_bench`).
    c: Box<BlkEngine>,
    mem: HostMemory,
    tx: MacSink,
    rx: MacSource,
    cycle: u64,
    msix: Vec<MsixMessage>,
}

impl TopBench {
    fn new() -> Self {
        let mut t = Box::<NetTop>::default();
        t.connect_all();
        let mut mem = HostMemory::new(7);
        mem.latency = 60;
        let mut b = TopBench {
            t,
            c: Box::default(),
            mem,
            tx: MacSink::new(3),
            rx: MacSource::new(4),
            cycle: 0,
            msix: Vec::new(),
        };
        b.t.reset.next = true;
        b.t.bus_master.next = true;
        b.t.msix_enable.next = true;
        b.t.msix_ready.next = true;
        b.t.mmio_resp_ready.next = true;
        b.t.mgmt_resp_ready.next = true;
        b.ticks(4);
        b.t.reset.next = false;
        b.ticks(2);
        b
    }

    fn settle(&mut self) {
        assert!(simulate(&mut *self.t, 1000), "logic did not settle");
    }

    fn tick(&mut self) {
        let now = self.cycle;
        self.mem.drive(self.c.as_mut(), now);
        let (c, t) = (&self.c, &mut *self.t);
        t.dma_rd_req_ready.next = c.dma_rd_req_ready.next;
        t.dma_wr_ready.next = c.dma_wr_ready.next;
        t.dma_rd_cpl_valid.next = c.dma_rd_cpl_valid.next;
        t.dma_rd_cpl_tag.next = c.dma_rd_cpl_tag.next;
        t.dma_rd_cpl_data.next = c.dma_rd_cpl_data.next;
        t.dma_rd_cpl_last.next = c.dma_rd_cpl_last.next;
        t.dma_rd_cpl_error.next = c.dma_rd_cpl_error.next;
        t.dma_wr_rsp_valid.next = c.dma_wr_rsp_valid.next;
        t.dma_wr_rsp_error.next = c.dma_wr_rsp_error.next;
        t.mac_tx_ready.next = self.tx.drive();
        match self.rx.drive() {
            Some(b) => {
                t.mac_rx_valid.next = true;
                t.mac_rx_data.next = b.data.to_bits();
                t.mac_rx_bytes.next = (b.bytes as u64).into();
                t.mac_rx_last.next = b.last;
            }
            None => t.mac_rx_valid.next = false,
        }
        self.t.clock.next = Clock { clk: false };
        self.settle();
        let (c, t) = (&mut *self.c, &*self.t);
        c.dma_rd_req_valid.next = t.dma_rd_req_valid.val();
        c.dma_rd_req_tag.next = t.dma_rd_req_tag.val();
        c.dma_rd_req_addr.next = t.dma_rd_req_addr.val();
        c.dma_rd_req_len.next = t.dma_rd_req_len.val();
        c.dma_rd_cpl_ready.next = t.dma_rd_cpl_ready.val();
        c.dma_wr_valid.next = t.dma_wr_valid.val();
        c.dma_wr_addr.next = t.dma_wr_addr.val();
        c.dma_wr_len.next = t.dma_wr_len.val();
        c.dma_wr_data.next = t.dma_wr_data.val();
        c.dma_wr_last.next = t.dma_wr_last.val();
        c.dma_wr_rsp_ready.next = t.dma_wr_rsp_ready.val();
        c.dma_rd_req_valid.update_all();
        c.dma_rd_req_tag.update_all();
        c.dma_rd_req_addr.update_all();
        c.dma_rd_req_len.update_all();
        c.dma_rd_cpl_ready.update_all();
        c.dma_wr_valid.update_all();
        c.dma_wr_addr.update_all();
        c.dma_wr_len.update_all();
        c.dma_wr_data.update_all();
        c.dma_wr_last.update_all();
        c.dma_wr_rsp_ready.update_all();
        self.mem.observe(self.c.as_ref(), now);
        let t = &*self.t;
        let beat = t.mac_tx_valid.val().then(|| Beat {
            data: t.mac_tx_data.val().to_u128(),
            bytes: t.mac_tx_bytes.val().to_u64() as u8,
            last: t.mac_tx_last.val(),
        });
        self.tx.observe(beat, now);
        self.rx.observe(t.mac_rx_ready.val(), now);
        if t.msix_valid.val() && t.msix_ready.val() {
            self.msix.push(MsixMessage {
                addr: t.msix_addr.val().to_u64(),
                data: t.msix_data.val().to_u64() as u32,
                vector: t.msix_vector.val().to_u64() as u16,
            });
        }
        self.t.clock.next = Clock { clk: true };
        self.settle();
        self.cycle += 1;
    }

    fn ticks(&mut self, n: u64) {
        for _ in 0..n {
            self.tick();
        }
    }

    fn until(&mut self, what: &str, max: u64, mut f: impl FnMut(&mut TopBench) -> bool) {
        for _ in 0..max {
            if f(self) {
                return;
            }
            self.tick();
        }
        panic!("timeout: {what} (cycle {})", self.cycle);
    }

    fn mmio(&mut self, addr: u32, write: bool, wdata: u32, strb: u8) -> Option<u32> {
        self.t.mmio_req_valid.next = true;
        self.t.mmio_req_addr.next = (addr as u64).into();
        self.t.mmio_req_write.next = write;
        self.t.mmio_req_wdata.next = (wdata as u64).into();
        self.t.mmio_req_strb.next = (strb as u64).into();
        self.until("mmio accept", 1000, |b| {
            b.t.clock.next = Clock { clk: false };
            b.settle();
            b.t.mmio_req_ready.val()
        });
        self.tick();
        self.t.mmio_req_valid.next = false;
        if write {
            self.ticks(3);
            return None;
        }
        let mut data = 0;
        self.until("mmio response", 1000, |b| {
            b.t.clock.next = Clock { clk: false };
            b.settle();
            data = b.t.mmio_resp_rdata.val().to_u64() as u32;
            b.t.mmio_resp_valid.val()
        });
        self.tick();
        Some(data)
    }

    fn write(&mut self, addr: u32, v: u32) {
        self.mmio(addr, true, v, 0xF);
    }

    fn write16(&mut self, off: u32, v: u32) {
        let shift = 8 * (off & 3);
        self.mmio(off & !3, true, v << shift, (3 << (off & 3)) as u8);
    }

    fn read(&mut self, addr: u32) -> u32 {
        self.mmio(addr, false, 0, 0xF).unwrap()
    }

    fn mgmt(&mut self, addr: u16, write: bool, wdata: u32) -> u32 {
        self.t.mgmt_req_valid.next = true;
        self.t.mgmt_req_addr.next = (addr as u64).into();
        self.t.mgmt_req_write.next = write;
        self.t.mgmt_req_wdata.next = (wdata as u64).into();
        self.until("mgmt accept", 1000, |b| {
            b.t.clock.next = Clock { clk: false };
            b.settle();
            b.t.mgmt_req_ready.val()
        });
        self.tick();
        self.t.mgmt_req_valid.next = false;
        let mut data = 0;
        self.until("mgmt response", 1000, |b| {
            b.t.clock.next = Clock { clk: false };
            b.settle();
            data = b.t.mgmt_resp_rdata.val().to_u64() as u32;
            b.t.mgmt_resp_valid.val()
        });
        self.tick();
        data
    }

    /// Driver: queue `q` laid out at `base` with MSI-X vector `q`, enabled;
    /// firmware: answers the event, runs the queue.
    fn queue(&mut self, q: u16, base: u64) -> SplitQueue {
        let c = |off: u32| bar0::COMMON_CFG + off;
        let entry = bar0::MSIX_TABLE + q as u32 * abi_msix::ENTRY_SIZE;
        self.write(entry + abi_msix::ENTRY_ADDR_LO, 0xFEE0_1000);
        self.write(entry + abi_msix::ENTRY_DATA, 0x40 + q as u32);
        self.write(entry + abi_msix::ENTRY_CONTROL, 0);
        let vq = SplitQueue::new(&mut self.mem, base, 16);
        self.write16(c(cc::QUEUE_SELECT), q as u32);
        self.write16(c(cc::QUEUE_SIZE), 16);
        self.write16(c(cc::QUEUE_MSIX_VECTOR), q as u32);
        self.write(c(cc::QUEUE_DESC), vq.desc as u32);
        self.write(c(cc::QUEUE_DRIVER), vq.avail as u32);
        self.write(c(cc::QUEUE_DEVICE), vq.used as u32);
        self.write16(c(cc::QUEUE_ENABLE), 1);
        let ev = mgmt::Event::decode(self.mgmt(mgmt::EVENT, false, 0)).expect("event");
        assert_eq!((ev.kind, ev.queue), (mgmt::EventKind::QueueEnable, q as u8));
        self.mgmt(mgmt::QUEUE_SEL, true, q as u32);
        self.mgmt(mgmt::Q_ENABLE, true, 1);
        self.mgmt(mgmt::Q_RUN, true, 1);
        vq
    }
}

fn frame(dst: [u8; 6], len: usize, seed: u8) -> Vec<u8> {
    let mut f = dst.to_vec();
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x99, 0x08, 0x00]);
    while f.len() < len {
        f.push((f.len() as u8).wrapping_mul(31) ^ seed);
    }
    f
}

#[test]
fn spec_5_1_net_top_frames_both_ways_through_bar0_and_the_management_port() {
    let mut b = TopBench::new();
    // Firmware: the net registers, read back through the management port
    // (the register file answers, the net block supplies the data).
    let mac_lo = u32::from_le_bytes(MAC[..4].try_into().unwrap());
    let mac_hi = u16::from_le_bytes([MAC[4], MAC[5]]) as u32;
    b.mgmt(regs::MAC_LO, true, mac_lo);
    b.mgmt(regs::MAC_HI, true, mac_hi);
    b.mgmt(regs::RX_MODE, true, regs::RX_MODE_MRG_RXBUF);
    assert_eq!(b.mgmt(regs::MAC_LO, false, 0), mac_lo);
    assert_eq!(b.mgmt(regs::MAC_HI, false, 0), mac_hi);
    assert_eq!(b.mgmt(regs::RX_MODE, false, 0), regs::RX_MODE_MRG_RXBUF);
    // Other registers still answer as before; PERSONALITY says net.
    assert_eq!(b.mgmt(mgmt::ID, false, 0), vfpga_abi::vendor::MAGIC_VALUE);
    assert_eq!(
        b.mgmt(mgmt::PERSONALITY, false, 0),
        vfpga_abi::Personality::Net.device_type() as u32
    );
    // Two pairs and the control queue (virtio 1.2 §5.1.2).
    assert_eq!(b.mgmt(mgmt::NUM_QUEUES, false, 0), 5);
    assert_eq!(
        b.read(bar0::COMMON_CFG + cc::CONFIG_MSIX_VECTOR) >> 16,
        5,
        "num_queues as the driver reads it"
    );
    assert_eq!(b.mgmt(regs::QUEUES, false, 0), 1 | 4 << 8);
    // The driver reads the MAC from the device configuration firmware wrote.
    b.mgmt(mgmt::DEVCFG_ADDR, true, vfpga_abi::net::config::MAC);
    b.mgmt(mgmt::DEVCFG_DATA, true, mac_lo);
    assert_eq!(b.read(bar0::DEVICE_CFG), mac_lo);

    let mut rxq = b.queue(0, 0x1_0000);
    let mut txq = b.queue(1, 0x2_0000);
    b.mgmt(mgmt::ENGINE_CTRL, true, mgmt::ENGINE_CTRL_DMA_ENABLE);
    b.mgmt(mgmt::DEVICE_STATUS, true, status::DRIVER_OK as u32);
    b.mem.map(0x10_0000, 0x10_000);

    // RX: two 1 KiB buffers; a 1500-byte frame takes both (num_buffers 2),
    // a frame to another address is filtered.
    for i in 0..2u64 {
        let h = rxq.add_chain(&mut b.mem, &[Buffer::w(0x10_0000 + i * 0x400, 1024)]);
        rxq.make_available(&mut b.mem, h);
    }
    b.write(bar0::doorbell(0), 0);
    b.ticks(600);
    let other = frame([0x02, 9, 9, 9, 9, 9], 100, 1);
    let mine = frame(MAC, 1500, 2);
    b.rx.send(&other);
    b.rx.send(&mine);
    b.until("RX MSI-X", 20_000, |b| !b.msix.is_empty());
    assert_eq!(
        b.msix[0],
        MsixMessage {
            addr: 0xFEE0_1000,
            data: 0x40,
            vector: 0
        }
    );
    assert_eq!(rxq.used_idx(&b.mem), 2);
    assert_eq!(rxq.used_elem(&b.mem, 0), (0, 1024));
    assert_eq!(rxq.used_elem(&b.mem, 1), (1, 1512 - 1024));
    let bytes = b.mem.read(0x10_0000, 1512);
    assert_eq!(&bytes[..12], &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0]);
    assert!(bytes[12..] == mine[..]);
    assert_eq!(b.mgmt(regs::RX_DROP_FILTER, false, 0), 1);
    assert_eq!(b.mgmt(regs::RX_FRAMES, false, 0), 1);

    // TX: header and frame in two buffers.
    let f = frame([0xff; 6], 300, 3);
    b.mem.write(0x10_1000, &[0; 12]);
    b.mem.write(0x10_2000, &f);
    let h = txq.add_chain(
        &mut b.mem,
        &[Buffer::r(0x10_1000, 12), Buffer::r(0x10_2000, 300)],
    );
    txq.make_available(&mut b.mem, h);
    b.write(bar0::doorbell(1), 1);
    b.until("TX MSI-X", 20_000, |b| b.msix.len() == 2);
    assert_eq!(b.msix[1].vector, 1);
    assert_eq!(b.tx.frames.len(), 1);
    assert!(b.tx.frames[0].1 == f);
    assert_eq!(txq.used_elem(&b.mem, 0), (h as u32, 0));
    assert_eq!(b.mgmt(regs::TX_FRAMES, false, 0), 1);
    assert_eq!(b.read(bar0::ISR), status::ISR_QUEUE as u32);
    b.until("idle", 2_000, |b| b.t.idle.val());

    // Control queue (queue 4): the command reaches firmware through the
    // event FIFO and the net registers; its ack comes back used, with the
    // queue's MSI-X message.
    let mut cq = b.queue(4, 0x3_0000);
    b.mem.write(0x10_3000, &[1, 1, 0x52, 0x54, 0, 1, 2, 3]);
    b.mem.write(0x10_3100, &[0xee]);
    let h = cq.add_chain(
        &mut b.mem,
        &[Buffer::r(0x10_3000, 8), Buffer::w(0x10_3100, 1)],
    );
    cq.make_available(&mut b.mem, h);
    b.write(bar0::doorbell(4), 4);
    b.until("NetCtrl event", 20_000, |b| {
        b.mgmt(mgmt::EVENT_COUNT, false, 0) != 0
    });
    let ev = mgmt::Event::decode(b.mgmt(mgmt::EVENT, false, 0)).expect("event");
    assert_eq!((ev.kind, ev.queue), (mgmt::EventKind::NetCtrl, 4));
    assert_eq!(
        b.mgmt(regs::CTRL_CMD, false, 0),
        regs::CTRL_CMD_PENDING | 6 << 16 | 1 << 8 | 1
    );
    b.mgmt(regs::CTRL_DATA_SEL, true, 1);
    assert_eq!(b.mgmt(regs::CTRL_DATA, false, 0), 0x0302);
    b.mgmt(regs::CTRL_DATA_SEL, true, 0);
    assert_eq!(b.mgmt(regs::CTRL_DATA, false, 0), 0x0100_5452);
    b.mgmt(regs::CTRL_ACK, true, 0);
    b.until("control MSI-X", 20_000, |b| b.msix.len() == 3);
    assert_eq!(b.msix[2].vector, 4);
    assert_eq!(b.mem.read(0x10_3100, 1), vec![0]);
    assert_eq!(cq.used_idx(&b.mem), 1);
    assert_eq!(cq.used_elem(&b.mem, 0), (h as u32, 1));
    assert_eq!(b.mgmt(regs::CTRL_CMD, false, 0) & regs::CTRL_CMD_PENDING, 0);
    b.until("idle", 2_000, |b| b.t.idle.val());
}
