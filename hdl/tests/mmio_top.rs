//! The blk top level end to end: a driver configures a queue through BAR0
//! (virtio 1.2 §4.1.4.3), firmware answers on the management port, the
//! driver rings the doorbell (§4.1.4.4), the engine moves the data through
//! the host-memory and storage models, and the used-buffer notification
//! arrives as an MSI-X message (§4.1.5.1.2) with ISR bit 0 set (§4.1.4.5).

use rust_hdl::prelude::*;
use vfpga_abi::blk::{SECTOR_SIZE, req};
use vfpga_abi::common_cfg as cc;
use vfpga_abi::mgmt;
use vfpga_abi::msix as abi_msix;
use vfpga_abi::ports::MsixMessage;
use vfpga_abi::{bar0, status, vendor};
use vfpga_hdl::testbench::{Buffer, HostMemory, SplitQueue, Storage};
use vfpga_hdl::top::BlkTop;

struct TopBench {
    t: Box<BlkTop>,
    mem: HostMemory,
    sto: Storage,
    cycle: u64,
    msix: Vec<MsixMessage>,
}

impl TopBench {
    fn new() -> Self {
        let mut t = Box::<BlkTop>::default();
        t.connect_all();
        let mut mem = HostMemory::new(7);
        mem.latency = 60;
        let mut sto = Storage::new(4096, 8);
        sto.latency = 20;
        let mut b = TopBench {
            t,
            mem,
            sto,
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
        self.mem.drive(&mut *self.t, now);
        self.sto.drive(&mut *self.t, now);
        self.t.clock.next = Clock { clk: false };
        self.settle();
        self.mem.observe(&*self.t, now);
        self.sto.observe(&*self.t, now);
        if self.t.msix_valid.val() && self.t.msix_ready.val() {
            self.msix.push(MsixMessage {
                addr: self.t.msix_addr.val().to_u64(),
                data: self.t.msix_data.val().to_u64() as u32,
                vector: self.t.msix_vector.val().to_u64() as u16,
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
}

fn header(typ: u32, sector: u64) -> Vec<u8> {
    let mut v = typ.to_le_bytes().to_vec();
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(&sector.to_le_bytes());
    v
}

#[test]
fn spec_4_1_4_4_blk_read_request_through_bar0_ends_in_an_msix_message() {
    let mut b = TopBench::new();
    let c = |off: u32| bar0::COMMON_CFG + off;
    // Firmware: capacity, then the engine's negotiated options.
    b.mgmt(mgmt::DEVCFG_ADDR, true, 0);
    b.mgmt(mgmt::DEVCFG_DATA, true, 4096);
    b.mgmt(mgmt::DEVCFG_ADDR, true, 4);
    b.mgmt(mgmt::DEVCFG_DATA, true, 0);
    assert_eq!(b.read(bar0::DEVICE_CFG), 4096);

    // Driver: MSI-X vector 1 unmasked, queue 0 laid out in host memory.
    let v = 1u16;
    let entry = bar0::MSIX_TABLE + v as u32 * abi_msix::ENTRY_SIZE;
    b.write(entry + abi_msix::ENTRY_ADDR_LO, 0xFEE0_1000);
    b.write(entry + abi_msix::ENTRY_DATA, 0x31);
    b.write(entry + abi_msix::ENTRY_CONTROL, 0);
    let mut vq = SplitQueue::new(&mut b.mem, 0x1_0000, 16);
    b.write16(c(cc::QUEUE_SELECT), 0);
    b.write16(c(cc::QUEUE_SIZE), 16);
    b.write16(c(cc::QUEUE_MSIX_VECTOR), v as u32);
    b.write(c(cc::QUEUE_DESC), vq.desc as u32);
    b.write(c(cc::QUEUE_DRIVER), vq.avail as u32);
    b.write(c(cc::QUEUE_DEVICE), vq.used as u32);
    b.write16(c(cc::QUEUE_ENABLE), 1);
    // Firmware: takes the QueueEnable event, enables and runs the queue.
    let ev = mgmt::Event::decode(b.mgmt(mgmt::EVENT, false, 0)).expect("event");
    assert_eq!(ev.kind, mgmt::EventKind::QueueEnable);
    b.mgmt(mgmt::QUEUE_SEL, true, 0);
    b.mgmt(mgmt::Q_ENABLE, true, 1);
    b.mgmt(mgmt::Q_RUN, true, 1);
    b.mgmt(
        mgmt::ENGINE_CTRL,
        true,
        mgmt::ENGINE_CTRL_DMA_ENABLE | mgmt::ENGINE_CTRL_INDIRECT,
    );
    b.mgmt(mgmt::DEVICE_STATUS, true, status::DRIVER_OK as u32);

    // One 4 KiB read at sector 8.
    for (i, x) in b.sto.disk.iter_mut().enumerate() {
        *x = (i * 13 + 5) as u8;
    }
    b.mem.map(0x10_0000, 0x10_000);
    b.mem.write(0x10_0000, &header(req::IN, 8));
    b.mem.write(0x10_3000, &[0xFF]);
    let head = vq.add_chain(
        &mut b.mem,
        &[
            Buffer::r(0x10_0000, 16),
            Buffer::w(0x10_1000, 4096),
            Buffer::w(0x10_3000, 1),
        ],
    );
    vq.make_available(&mut b.mem, head);
    b.write(bar0::doorbell(0), 0);
    b.until("MSI-X message", 20_000, |b| !b.msix.is_empty());
    assert_eq!(
        b.msix,
        vec![MsixMessage {
            addr: 0xFEE0_1000,
            data: 0x31,
            vector: v
        }]
    );
    assert_eq!(vq.used_idx(&b.mem), 1);
    assert_eq!(vq.used_elem(&b.mem, 0), (head as u32, 4097));
    assert_eq!(b.mem.read(0x10_3000, 1), vec![0]);
    let start = 8 * SECTOR_SIZE as usize;
    assert_eq!(
        b.mem.read(0x10_1000, 4096),
        b.sto.disk[start..start + 4096].to_vec()
    );
    assert_eq!(b.read(bar0::ISR), status::ISR_QUEUE as u32);
    // Counters in the vendor region.
    assert_eq!(b.read(bar0::VENDOR + vendor::counter(0)), 1, "requests");
    assert_eq!(b.read(bar0::VENDOR + vendor::counter(3)), 1, "notifies");
    assert_eq!(b.read(bar0::VENDOR + vendor::counter(4)), 1, "interrupts");
    // Ring state as the vendor region shows it.
    assert_eq!(
        b.read(bar0::VENDOR + vendor::queue_reg(0, vendor::Q_LAST_AVAIL_IDX)),
        1 | 1 << 16
    );
    assert_eq!(
        b.mgmt(mgmt::ENGINE_STATUS, false, 0) & mgmt::ENGINE_STATUS_IDLE,
        1
    );
}

#[test]
fn spec_2_1_2_engine_error_reaches_firmware_as_an_event_and_the_vendor_region() {
    let mut b = TopBench::new();
    let c = |off: u32| bar0::COMMON_CFG + off;
    let vq = SplitQueue::new(&mut b.mem, 0x1_0000, 16);
    b.write16(c(cc::QUEUE_SELECT), 1);
    // Not a power of two: the engine refuses the ring when it first fetches.
    b.write16(c(cc::QUEUE_SIZE), 12);
    b.write(c(cc::QUEUE_DESC), vq.desc as u32);
    b.write(c(cc::QUEUE_DRIVER), vq.avail as u32);
    b.write(c(cc::QUEUE_DEVICE), vq.used as u32);
    b.mgmt(mgmt::QUEUE_SEL, true, 1);
    b.mgmt(mgmt::Q_ENABLE, true, 1);
    b.mgmt(mgmt::Q_RUN, true, 1);
    b.mgmt(mgmt::ENGINE_CTRL, true, mgmt::ENGINE_CTRL_DMA_ENABLE);
    b.write(bar0::doorbell(1), 1);
    let cause = vendor::ErrorCause::BadRingAddress as u32;
    b.until("engine error", 5_000, |b| {
        b.t.clock.next = Clock { clk: false };
        b.settle();
        b.t.engine.error.val()
    });
    b.ticks(5);
    let ev = mgmt::Event::decode(b.mgmt(mgmt::EVENT, false, 0)).expect("event");
    assert_eq!(ev.kind, mgmt::EventKind::EngineError);
    assert_eq!((ev.queue, ev.value as u32), (1, cause));
    assert_ne!(
        b.mgmt(mgmt::ENGINE_STATUS, false, 0) & mgmt::ENGINE_STATUS_ERROR,
        0
    );
    assert_eq!(b.read(bar0::VENDOR + vendor::ERROR_CAUSE), cause);
    assert_eq!(b.read(bar0::VENDOR + vendor::ERROR_QUEUE), 1);
    // Firmware's device reset clears the error once the engine is idle.
    b.until("idle", 5_000, |b| {
        b.t.clock.next = Clock { clk: false };
        b.settle();
        b.t.engine.idle.val()
    });
    b.mgmt(mgmt::ENGINE_RESET, true, 1);
    b.ticks(3);
    assert_eq!(
        b.mgmt(mgmt::ENGINE_STATUS, false, 0) & mgmt::ENGINE_STATUS_ERROR,
        0
    );
    assert_eq!(b.read(bar0::VENDOR + vendor::ERROR_CAUSE), 0);
}
