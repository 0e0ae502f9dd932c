//! `vfpga selftest`: brings a device up with a driver of ours or of
//! someone else's, writes a pattern over the disk, reads every byte back and
//! checks it, and prints IOPS and MB/s (wall time, and simulated time when
//! the device is simulated).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use vfpga_host::blk::{self, BlkDriver, BlkOptions, ReqKind, Request, RunStats};
use vfpga_host::dma::DmaAllocator;
use vfpga_host::virtio_drivers_glue::{DeviceHal, DeviceTransport};
use vfpga_host::{Device, DeviceError, DmaMapping};

use crate::open::{self, DeviceSpec, SimBackend, SimOptions, parse_device};

/// The line a passing selftest ends with; tests look for it.
pub const PASS: &str = "selftest blk: PASS";

mod net;

pub use net::{NetArgs, PASS_NET};

/// What to test.
#[derive(Debug, Subcommand)]
pub enum SelftestCmd {
    /// virtio-blk: write a pattern over the disk (or --size of it), read it
    /// back and verify every byte.
    Blk(BlkArgs),
    /// virtio-net: frames of every size out and back through the
    /// simulator's loopback port, each verified byte for byte.
    Net(NetArgs),
}

/// Which driver runs the I/O.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DriverKind {
    /// Our driver (vfpga-host): several queues, many requests in flight, MSI-X.
    Vfpga,
    /// The `virtio-drivers` crate's VirtIOBlk / VirtIONet: one queue, one
    /// request or frame at a time, polled. An independent reading of the spec.
    VirtioDrivers,
}

/// Parses a byte count: a number with an optional K, M, G (binary) suffix.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m = match c.to_ascii_uppercase() {
                'K' => 1u64 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                _ => return Err(format!("`{s}`: unknown suffix `{c}` (use K, M or G)")),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size (e.g. 4096, 512K, 64M, 1G)"))?;
    n.checked_mul(mult)
        .filter(|&v| v > 0)
        .ok_or_else(|| format!("`{s}` must be above 0 and fit in 64 bits"))
}

fn parse_nonzero_u16(s: &str) -> Result<u16, String> {
    match s.parse::<u16>() {
        Ok(0) | Err(_) => Err(format!("`{s}` is not a number from 1 to 65535")),
        Ok(v) => Ok(v),
    }
}

/// `vfpga selftest blk` arguments.
#[derive(Debug, Args)]
pub struct BlkArgs {
    /// The device: `sim` (the simulator, default) or `vfio:DDDD:BB:DD.F`
    /// (a function bound to vfio-pci).
    #[arg(long, default_value = "sim", value_parser = parse_device, value_name = "sim|vfio:DDDD:BB:DD.F")]
    pub device: DeviceSpec,
    /// Size of the simulated device's RAM disk.
    #[arg(long, default_value = "16M", value_parser = parse_size)]
    pub sim_disk: u64,
    /// Engine backend of the simulator (default: Verilator when built).
    #[arg(long, value_enum)]
    pub sim_backend: Option<SimBackend>,
    /// Request queues (vfpga driver).
    #[arg(long, default_value = "1", value_parser = parse_nonzero_u16)]
    pub queues: u16,
    /// Requests in flight per queue (vfpga driver).
    #[arg(long, default_value = "16", value_parser = parse_nonzero_u16)]
    pub depth: u16,
    /// Bytes to test from the start of the disk (default: all of it).
    #[arg(long, value_parser = parse_size)]
    pub size: Option<u64>,
    /// Bytes per request.
    #[arg(long, default_value = "64K", value_parser = parse_size)]
    pub request_size: u64,
    /// Driver that runs the I/O.
    #[arg(long, value_enum, default_value = "vfpga")]
    pub driver: DriverKind,
    /// Seed of the data pattern (see vfpga_host::blk::pattern_word).
    #[arg(long, default_value = "24301")]
    pub seed: u64,
    /// After the I/O, wait up to this many seconds for a configuration-change
    /// interrupt (e.g. a disk resize) and fail if none comes (vfpga driver).
    #[arg(long, value_name = "SECONDS")]
    pub expect_config_change: Option<u64>,
}

/// Runs a selftest.
pub fn run(cmd: SelftestCmd) -> anyhow::Result<()> {
    match cmd {
        SelftestCmd::Blk(a) => run_blk(a),
        SelftestCmd::Net(a) => net::run(a),
    }
}

fn open(a: &BlkArgs) -> anyhow::Result<Arc<dyn Device>> {
    let sim = SimOptions {
        backend: a.sim_backend,
        size: a.sim_disk,
        ..SimOptions::default()
    };
    prepare(open::open(&a.device, &sim)?)
}

/// Resets a freshly opened device and checks its DMA mappings.
fn prepare(dev: Arc<dyn Device>) -> anyhow::Result<Arc<dyn Device>> {
    // Function-level reset first when the platform has one; the virtio
    // reset the drivers do is enough otherwise.
    match dev.reset() {
        Ok(()) => tracing::info!("function reset done"),
        Err(DeviceError::Unsupported(why)) => tracing::info!(why, "no function reset"),
        Err(e) => return Err(e).context("function reset"),
    }
    dma_checks(&dev)?;
    Ok(dev)
}

/// Checks that the device refuses DMA mappings outside the IOMMU's IOVA
/// ranges and over existing mappings, and that a good mapping round-trips.
fn dma_checks(dev: &Arc<dyn Device>) -> anyhow::Result<()> {
    let alloc = DmaAllocator::new(dev.clone());
    let mem = alloc.alloc(1).context("mapping one page for DMA")?;
    let page = dev.dma_page_size().max(4096);
    let ranges = dev.iova_ranges();
    let try_map = |iova: u64| {
        // SAFETY: `mem` stays mapped in this process for the whole
        // function, and any mapping that succeeds is removed again below.
        unsafe {
            dev.dma_map(DmaMapping {
                iova,
                size: page,
                vaddr: mem.as_ptr() as u64,
            })
        }
    };
    let mut refused = Vec::new();
    // Just past the end of the highest range, and inside a gap between
    // ranges (the x86 MSI window on Intel IOMMUs).
    let mut probes: Vec<(u64, &str)> = Vec::new();
    if let Some(end) = ranges.iter().map(|r| r.end).max()
        && end <= u64::MAX - page
    {
        probes.push((end.next_multiple_of(page), "beyond the last IOVA range"));
    }
    let mut sorted = ranges.clone();
    sorted.sort_by_key(|r| r.start);
    if let Some(w) = sorted.windows(2).find(|w| w[1].start - w[0].end >= page) {
        probes.push((w[0].end.next_multiple_of(page), "in a reserved IOVA window"));
    }
    for (iova, what) in probes {
        match try_map(iova) {
            Err(DeviceError::IovaOutOfRange { .. }) => refused.push(what),
            Err(e) => bail!("DMA mapping {what} at {iova:#x} failed with the wrong error: {e}"),
            Ok(()) => {
                let _ = dev.dma_unmap(iova, page);
                bail!("DMA mapping {what} at {iova:#x} was accepted");
            }
        }
    }
    match try_map(mem.iova()) {
        Err(DeviceError::MappingOverlap { .. }) => refused.push("over an existing mapping"),
        Err(e) => bail!("overlapping DMA mapping failed with the wrong error: {e}"),
        Ok(()) => bail!("overlapping DMA mapping at {:#x} was accepted", mem.iova()),
    }
    drop(mem);
    println!(
        "dma     IOVA ranges {}; refused mappings {}",
        ranges
            .iter()
            .map(|r| format!("{:#x}..{:#x}", r.start, r.end))
            .collect::<Vec<_>>()
            .join(", "),
        refused.join(", ")
    );
    Ok(())
}

fn check_size(args: &BlkArgs, capacity_bytes: u64) -> anyhow::Result<u64> {
    if !args.request_size.is_multiple_of(512) || args.request_size > u32::MAX as u64 {
        bail!(
            "--request-size {}: must be a multiple of 512 below 4 GiB",
            args.request_size
        );
    }
    let size = args.size.unwrap_or(capacity_bytes);
    if !size.is_multiple_of(512) {
        bail!("--size {size}: must be a multiple of 512");
    }
    if size > capacity_bytes {
        bail!("--size {size}: the disk holds only {capacity_bytes} bytes");
    }
    if size == 0 {
        bail!("the disk is empty (capacity 0)");
    }
    Ok(size)
}

/// One timed phase: wall time, and on a simulated device the cycles its
/// clock ran. The simulator stops its clock while the hardware is idle, so
/// simulated time is the hardware's busy time: its rate with a host that
/// answers at once, at the nominal clock.
struct Phase<'a> {
    dev: &'a dyn Device,
    wall: Instant,
    cycles: Option<u64>,
}

impl<'a> Phase<'a> {
    fn start(dev: &'a dyn Device) -> Self {
        Phase {
            dev,
            cycles: dev.simulated_cycles(),
            wall: Instant::now(),
        }
    }

    /// Cycles the simulated device ran since the start (`None` for a board).
    fn cycles(&self) -> Option<u64> {
        Some(self.dev.simulated_cycles()?.saturating_sub(self.cycles?))
    }

    fn report(&self, phase: &str, bytes: u64, requests: u64, extra: &str) {
        self.report_as(phase, bytes, requests, ("requests", "IOPS"), extra);
    }

    /// Prints `count` things (named `unit.0`, their rate `unit.1`) and
    /// `bytes` over the wall time, and over the simulated time when there is one.
    fn report_as(&self, phase: &str, bytes: u64, count: u64, unit: (&str, &str), extra: &str) {
        let (things, rate) = unit;
        let s = self.wall.elapsed().as_secs_f64();
        println!(
            "{phase:<7} {bytes} bytes, {count} {things} in {s:.3} s: {:.0} {rate}, {:.2} MB/s{extra}",
            count as f64 / s,
            bytes as f64 / 1e6 / s
        );
        if let Some(cycles) = self.cycles() {
            let hz = vfpga_sim::clock::DEFAULT_CLOCK_HZ;
            let cycles = cycles.max(1);
            let st = cycles as f64 / hz as f64;
            println!(
                "        simulated: {cycles} cycles ({:.3} ms at {} MHz): {:.0} {rate}, {:.2} MB/s",
                st * 1e3,
                hz / 1_000_000,
                count as f64 / st,
                bytes as f64 / 1e6 / st
            );
        }
    }
}

/// Prints the vendor region's engine counters, when the device has one.
fn print_counters(pci: &vfpga_host::virtio_pci::VirtioPci) -> anyhow::Result<()> {
    if let Some(v) = pci.vendor() {
        let c = v.counters()?;
        let named: Vec<String> = vfpga_abi::vendor::COUNTER_NAMES
            .iter()
            .zip(c)
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        println!("counters {}", named.join(" "));
    }
    Ok(())
}

fn requests(kind: ReqKind, size: u64, req: u64) -> impl Iterator<Item = Request> {
    (0..size).step_by(req as usize).map(move |off| Request {
        kind,
        sector: off / 512,
        len: (req.min(size - off)) as u32,
    })
}

fn stats_note(s: &RunStats) -> String {
    format!(
        " ({} interrupts, {} notifies, {} lost interrupts)",
        s.interrupts, s.notifies, s.lost_interrupts
    )
}

fn run_blk(args: BlkArgs) -> anyhow::Result<()> {
    let dev = open(&args)?;
    let describe = dev.describe();
    let (size, mismatch) = match args.driver {
        DriverKind::Vfpga => blk_vfpga(&args, dev)?,
        DriverKind::VirtioDrivers => blk_virtio_drivers(&args, dev)?,
    };
    if let Some(m) = mismatch {
        bail!("selftest blk: FAIL: {m}");
    }
    println!(
        "{PASS} (driver {}, {describe}, {size} bytes written and verified)",
        match args.driver {
            DriverKind::Vfpga => format!("vfpga, {} queues x depth {}", args.queues, args.depth),
            DriverKind::VirtioDrivers => "virtio-drivers".to_string(),
        }
    );
    Ok(())
}

/// Counts mismatches over a whole read pass so the report says how bad it is.
#[derive(Default)]
struct Verifier {
    bad_bytes: u64,
    bad_requests: u64,
    first: Option<u64>,
}

impl Verifier {
    fn check(&mut self, seed: u64, disk_offset: u64, data: &[u8]) {
        if let Some((bad, first)) = blk::check_pattern(seed, disk_offset, data) {
            self.bad_bytes += bad;
            self.bad_requests += 1;
            self.first.get_or_insert(first);
        }
    }
    fn verdict(&self) -> Option<String> {
        self.first.map(|f| {
            format!(
                "{} bytes in {} requests differ from what was written; first at disk offset {f:#x}",
                self.bad_bytes, self.bad_requests
            )
        })
    }
}

fn blk_vfpga(args: &BlkArgs, dev: Arc<dyn Device>) -> anyhow::Result<(u64, Option<String>)> {
    let opts = BlkOptions {
        queues: args.queues,
        depth: args.depth,
        request_size: args.request_size as u32,
        ..BlkOptions::default()
    };
    let mut drv = BlkDriver::new(dev.clone(), opts)?;
    let size = check_size(args, drv.capacity() * 512)?;
    println!(
        "device  {} sectors, features {:#x}, vendor region {}",
        drv.capacity(),
        drv.pci().negotiated(),
        if drv.pci().vendor().is_some() {
            "present"
        } else {
            "absent (not a vfpga function)"
        }
    );
    let seed = args.seed;
    let req = args.request_size;

    let t = Phase::start(dev.as_ref());
    let w = drv.run(
        requests(ReqKind::Write, size, req),
        |r, buf| blk::fill_pattern(seed, r.sector * 512, buf),
        |_, _| Ok(()),
    )?;
    t.report("write", w.bytes, w.requests, &stats_note(&w));
    if drv.has_flush() {
        let t = Instant::now();
        drv.run(
            [Request {
                kind: ReqKind::Flush,
                sector: 0,
                len: 0,
            }],
            |_, _| {},
            |_, _| Ok(()),
        )?;
        println!("flush   done in {:.3} s", t.elapsed().as_secs_f64());
    }
    let mut v = Verifier::default();
    let t = Phase::start(dev.as_ref());
    let r = drv.run(
        requests(ReqKind::Read, size, req),
        |_, _| {},
        |r, data| {
            v.check(seed, r.sector * 512, data);
            Ok(())
        },
    )?;
    t.report("read", r.bytes, r.requests, &stats_note(&r));
    if let Some(secs) = args.expect_config_change {
        println!("config  waiting up to {secs} s for a configuration change");
        let t = Instant::now();
        match drv.wait_config_change(Duration::from_secs(secs))? {
            Some(cap) => println!(
                "config  change interrupt after {:.3} s: capacity now {cap} sectors ({} bytes)",
                t.elapsed().as_secs_f64(),
                cap * 512
            ),
            None => bail!("--expect-config-change: no configuration-change interrupt in {secs} s"),
        }
    }
    print_counters(drv.pci())?;
    if w.bytes != size || r.bytes != size {
        bail!(
            "moved {} bytes written / {} read, expected {size}",
            w.bytes,
            r.bytes
        );
    }
    Ok((size, v.verdict()))
}

fn blk_virtio_drivers(
    args: &BlkArgs,
    dev: Arc<dyn Device>,
) -> anyhow::Result<(u64, Option<String>)> {
    use virtio_drivers::device::blk::VirtIOBlk;
    if args.expect_config_change.is_some() {
        bail!(
            "--expect-config-change: only with --driver vfpga (virtio-drivers polls, with no config interrupt)"
        );
    }
    if args.queues != 1 || args.depth != 16 {
        println!(
            "note: --queues and --depth apply to --driver vfpga; virtio-drivers uses one queue, one request at a time"
        );
    }
    DeviceHal::install(dev.clone());
    let clock = dev.clone();
    let result = (|| {
        let transport = DeviceTransport::new(dev)?;
        let mut drv = VirtIOBlk::<DeviceHal, DeviceTransport>::new(transport)
            .map_err(|e| anyhow::anyhow!("virtio-drivers VirtIOBlk::new: {e}"))?;
        let size = check_size(args, drv.capacity() * 512)?;
        let req = args.request_size;
        let seed = args.seed;
        let mut buf = vec![0u8; req as usize];
        let mut n = 0u64;
        let t = Phase::start(clock.as_ref());
        for off in (0..size).step_by(req as usize) {
            let len = req.min(size - off) as usize;
            blk::fill_pattern(seed, off, &mut buf[..len]);
            drv.write_blocks((off / 512) as usize, &buf[..len])
                .map_err(|e| anyhow::anyhow!("virtio-drivers write at {off:#x}: {e}"))?;
            n += 1;
        }
        t.report("write", size, n, "");
        let t = Instant::now();
        drv.flush()
            .map_err(|e| anyhow::anyhow!("virtio-drivers flush: {e}"))?;
        println!("flush   done in {:.3} s", t.elapsed().as_secs_f64());
        let mut v = Verifier::default();
        let t = Phase::start(clock.as_ref());
        for off in (0..size).step_by(req as usize) {
            let len = req.min(size - off) as usize;
            buf[..len].fill(0);
            drv.read_blocks((off / 512) as usize, &mut buf[..len])
                .map_err(|e| anyhow::anyhow!("virtio-drivers read at {off:#x}: {e}"))?;
            v.check(seed, off, &buf[..len]);
        }
        t.report("read", size, n, "");
        Ok((size, v.verdict()))
    })();
    DeviceHal::uninstall();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("512K"), Ok(512 << 10));
        assert_eq!(parse_size("64m"), Ok(64 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert!(parse_size("0").is_err());
        assert!(parse_size("12Q").unwrap_err().contains("unknown suffix"));
        assert!(parse_size("lots").is_err());
    }

    #[test]
    fn device_spec_names_what_is_wrong() {
        assert_eq!(
            parse_device("vfio:0000:00:03.0"),
            Ok(DeviceSpec::Vfio("0000:00:03.0".into()))
        );
        assert_eq!(parse_device("sim"), Ok(DeviceSpec::Sim));
        assert!(
            parse_device("board")
                .unwrap_err()
                .contains("expected `sim` or `vfio:")
        );
        assert!(
            parse_device("vfio:00:03.0")
                .unwrap_err()
                .contains("not a PCI address")
        );
    }
}
