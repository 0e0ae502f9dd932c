//! Model-based check against rust-vmm's virtio-queue: the rings are built
//! with `MockSplitQueue` in a `GuestMemoryMmap`, copied into the host memory
//! model, served by the engine, copied back; then virtio-queue itself walks
//! the same avail ring and descriptor chains (direct and indirect), and the
//! used ring the engine wrote must be exactly what the blk spec makes of
//! those chains.

mod engine_common;

use vfpga_abi::blk::{SECTOR_SIZE, req, status};
use vfpga_abi::ring::{DESC_F_INDIRECT, DESC_F_NEXT, DESC_F_WRITE, used_ring_after_avail};
use vfpga_hdl::testbench::{Bench, BenchConfig, XorShift};
use virtio_queue::desc::RawDescriptor;
use virtio_queue::desc::split::Descriptor as SplitDescriptor;
use virtio_queue::mock::MockSplitQueue;
use virtio_queue::{Queue, QueueOwnedT};
use vm_memory::{
    Address, Bytes, GuestAddress, GuestMemoryBackend, GuestMemoryMmap, GuestMemoryRegion,
};

const RING: u64 = 0x1_0000;
const DATA: u64 = 0x10_0000;
const DATA_LEN: usize = 0x20_0000;
const QSIZE: u16 = 128;
const SECTORS: u64 = 1024;

fn to_bench(gm: &GuestMemoryMmap, b: &mut Bench) {
    for r in gm.iter() {
        let mut buf = vec![0u8; r.len() as usize];
        gm.read_slice(&mut buf, r.start_addr()).unwrap();
        b.mem.map(r.start_addr().0, buf.len());
        b.mem.write(r.start_addr().0, &buf);
    }
}

fn from_bench(gm: &GuestMemoryMmap, b: &Bench) {
    for r in gm.iter() {
        let buf = b.mem.read(r.start_addr().0, r.len() as usize);
        gm.write_slice(&buf, r.start_addr()).unwrap();
    }
}

/// What the blk spec says a chain's used element and status are, given
/// the chain as virtio-queue reads it: (used len, status).
fn expected(gm: &GuestMemoryMmap, descs: &[SplitDescriptor]) -> (u32, u8, u32, u64) {
    let hdr = descs[0].addr();
    let typ: u32 = gm.read_obj(hdr).unwrap();
    let sector: u64 = gm.read_obj(hdr.unchecked_add(8)).unwrap();
    let rlen: u32 = descs
        .iter()
        .filter(|d| !d.is_write_only())
        .map(|d| d.len())
        .sum();
    let wlen: u32 = descs
        .iter()
        .filter(|d| d.is_write_only())
        .map(|d| d.len())
        .sum();
    let in_range = |len: u32| {
        len.is_multiple_of(SECTOR_SIZE as u32) && sector + (len as u64 / SECTOR_SIZE) <= SECTORS
    };
    match typ {
        req::IN if wlen == 1 => (1, status::OK, typ, sector),
        req::IN if in_range(wlen - 1) => (wlen, status::OK, typ, sector),
        req::OUT if rlen == 16 || in_range(rlen - 16) => (1, status::OK, typ, sector),
        req::IN | req::OUT => (1, status::IOERR, typ, sector),
        req::FLUSH => (1, status::OK, typ, sector),
        req::GET_ID => ((wlen - 1).min(20) + 1, status::OK, typ, sector),
        _ => (1, status::UNSUPP, typ, sector),
    }
}

fn model_run(seed: u64, n: usize) {
    let gm = GuestMemoryMmap::<()>::from_ranges(&[
        (GuestAddress(RING), 0x1_0000),
        (GuestAddress(DATA), DATA_LEN),
    ])
    .unwrap();
    let vq = MockSplitQueue::create(&gm, GuestAddress(RING), QSIZE);
    let mut rng = XorShift::new(seed);
    let mut next = DATA;
    let mut alloc = |len: u64, rng: &mut XorShift| {
        let a = next + rng.below(64);
        next = a + len;
        assert!(next < DATA + DATA_LEN as u64);
        a
    };
    let mut offset = 0u16;
    for _ in 0..n {
        let pick = rng.below(100);
        let k = 1 + rng.below(4) as u32;
        let (typ, sector, total) = match pick {
            0..=44 => (req::IN, rng.below(SECTORS - 4), 512 * k),
            45..=74 => (req::OUT, rng.below(SECTORS + 2), 512 * k),
            75..=82 => (req::FLUSH, 0, 0),
            83..=90 => (req::GET_ID, 0, 1 + rng.below(24) as u32),
            91..=95 => (7, 0, 512),
            _ => (req::IN, 0, 100 + rng.below(300) as u32),
        };
        let hdr = alloc(16, &mut rng);
        gm.write_obj(typ, GuestAddress(hdr)).unwrap();
        gm.write_obj(0u32, GuestAddress(hdr + 4)).unwrap();
        gm.write_obj(sector, GuestAddress(hdr + 8)).unwrap();
        let write = typ != req::OUT;
        let mut bufs = vec![(hdr, 16u32, 0u16)];
        let mut left = total;
        while left > 0 {
            let l = if left > 1 && rng.chance(50) {
                1 + rng.below(left as u64 - 1) as u32
            } else {
                left
            };
            let a = alloc(l as u64, &mut rng);
            let fill: Vec<u8> = (0..l).map(|i| (a as u32 ^ i) as u8).collect();
            gm.write_slice(&fill, GuestAddress(a)).unwrap();
            bufs.push((a, l, if write { DESC_F_WRITE } else { 0 }));
            left -= l;
        }
        let st = alloc(1, &mut rng);
        gm.write_obj(0xeeu8, GuestAddress(st)).unwrap();
        bufs.push((st, 1, DESC_F_WRITE));
        let descs: Vec<RawDescriptor> = if rng.chance(40) {
            let table = (alloc(16 * bufs.len() as u64 + 16, &mut rng) + 15) & !15;
            for (i, &(a, l, f)) in bufs.iter().enumerate() {
                let more = i + 1 < bufs.len();
                let d = SplitDescriptor::new(
                    a,
                    l,
                    f | if more { DESC_F_NEXT } else { 0 },
                    i as u16 + 1,
                );
                gm.write_obj(d, GuestAddress(table + 16 * i as u64))
                    .unwrap();
            }
            vec![RawDescriptor::from(SplitDescriptor::new(
                table,
                16 * bufs.len() as u32,
                DESC_F_INDIRECT,
                0,
            ))]
        } else {
            bufs.iter()
                .enumerate()
                .map(|(i, &(a, l, f))| {
                    let more = i + 1 < bufs.len();
                    let nx = offset + i as u16 + 1;
                    RawDescriptor::from(SplitDescriptor::new(
                        a,
                        l,
                        f | if more { DESC_F_NEXT } else { 0 },
                        nx,
                    ))
                })
                .collect()
        };
        vq.add_desc_chains(&descs, offset).unwrap();
        offset += descs.len() as u16;
        assert!(offset <= QSIZE);
    }

    let mut b = Bench::new(BenchConfig {
        seed,
        sectors: SECTORS,
        dma_jitter: 100,
        dma_ready_pct: 80,
        ..Default::default()
    });
    for (i, x) in b.sto.disk.iter_mut().enumerate() {
        *x = (i as u32).wrapping_mul(0x9e37_79b9).to_le_bytes()[3];
    }
    let disk0 = b.sto.disk.clone();
    to_bench(&gm, &mut b);
    // The used ring where the spec lays it out, not where virtio-queue
    // 0.18's MockSplitQueue puts it (inside the avail ring,
    // rust-vmm/vm-virtio#400).
    let used_ring = used_ring_after_avail(vq.avail_addr().0, QSIZE);
    b.configure_raw(
        0,
        vq.desc_table_addr().0,
        vq.avail_addr().0,
        used_ring,
        QSIZE,
    );
    b.kick(0);
    let used = used_ring + 2;
    assert!(b.run_until(400_000, |b| b.mem.read_u16(used) == n as u16
        || b.e.error.val()));
    assert!(!b.e.error.val(), "engine fault {:?}", b.error());
    assert!(b.run_until(20_000, |b| b.quiet()));
    from_bench(&gm, &b);

    // virtio-queue's own view of the same memory.
    let mut q: Queue = vq.create_queue().unwrap();
    let chains: Vec<_> = q.iter(&gm).unwrap().collect();
    assert_eq!(chains.len(), n);
    let read_u32 = |a: u64| u32::from_le(gm.read_obj::<u32>(GuestAddress(a)).unwrap());
    assert_eq!(read_u32(used_ring) >> 16, n as u32, "used.idx");
    let mut disk = disk0.clone();
    // Used elements by head index: requests may complete out of order
    // (§2.7.8; OUT and FLUSH wait for storage in parked slots), and every
    // chain of the batch has its own head.
    let used_by_id: std::collections::HashMap<u32, u32> = (0..n)
        .map(|i| {
            let e = used_ring + 4 + 8 * i as u64;
            (read_u32(e), read_u32(e + 4))
        })
        .collect();
    assert_eq!(used_by_id.len(), n, "one used element per chain");
    for (i, chain) in chains.into_iter().enumerate() {
        let head = chain.head_index();
        let descs: Vec<SplitDescriptor> = chain.collect();
        let (len, st, typ, sector) = expected(&gm, &descs);
        assert_eq!(
            used_by_id.get(&u32::from(head)).copied(),
            Some(len),
            "used element of request {i} (head {head})"
        );
        let status_at = descs.last().unwrap().addr();
        assert_eq!(
            gm.read_obj::<u8>(status_at).unwrap(),
            st,
            "status of request {i}"
        );
        // Data, in request order: storage takes each request's data before
        // the next one starts (only completions overtake each other).
        let s = sector as usize * SECTOR_SIZE as usize;
        if st == status::OK && typ == req::IN {
            let mut got = Vec::new();
            for d in descs.iter().filter(|d| d.is_write_only()) {
                let mut buf = vec![0u8; d.len() as usize];
                gm.read_slice(&mut buf, d.addr()).unwrap();
                got.extend(buf);
            }
            got.pop();
            assert_eq!(
                got,
                disk[s..s + got.len()].to_vec(),
                "IN data of request {i}"
            );
        }
        if st == status::OK && typ == req::OUT {
            let mut put = Vec::new();
            for d in descs.iter().filter(|d| !d.is_write_only()).skip(1) {
                let mut buf = vec![0u8; d.len() as usize];
                gm.read_slice(&mut buf, d.addr()).unwrap();
                put.extend(buf);
            }
            disk[s..s + put.len()].copy_from_slice(&put);
        }
    }
    assert!(b.sto.disk == disk, "disk differs from the model");
}

#[test]
fn model_virtio_queue_mock_rings_seed_1() {
    model_run(1, 24);
}

#[test]
fn model_virtio_queue_mock_rings_seed_2() {
    model_run(2, 24);
}
