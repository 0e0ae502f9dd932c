//! Which device a command drives: the embedded simulator (the default) or a
//! PCI function bound to vfio-pci.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::ValueEnum;
use vfpga_host::Device;
use vfpga_host::vfio::VfioPciDevice;
use vfpga_sim::BackendKind;
use vfpga_sim::device::{SimConfig, SimDevice};
use vfpga_sim::machine::{Function, MachineConfig};
use vfpga_sim::net::PortSpec;
use vfpga_sim::storage::Image;

/// Where the device is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceSpec {
    /// The cycle-level simulator of the same hardware, in this process.
    Sim,
    /// A PCI function bound to vfio-pci, by address (DDDD:BB:DD.F).
    Vfio(String),
}

/// Parses `sim` or `vfio:DDDD:BB:DD.F`.
pub fn parse_device(s: &str) -> Result<DeviceSpec, String> {
    if s == "sim" {
        return Ok(DeviceSpec::Sim);
    }
    match s.strip_prefix("vfio:") {
        Some(bdf) => {
            vfpga_host::vfio::sysfs::check_address(bdf).map_err(|e| e.to_string())?;
            Ok(DeviceSpec::Vfio(bdf.to_string()))
        }
        None => Err(format!(
            "`{s}`: expected `sim` or `vfio:DDDD:BB:DD.F` (a PCI function bound to vfio-pci)"
        )),
    }
}

/// The simulator's engine backend, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SimBackend {
    /// The committed Verilog compiled by Verilator (fast).
    Verilator,
    /// rust-hdl's own simulation of the design (always available, slow).
    RustHdl,
}

/// What to build when the device is simulated.
#[derive(Debug, Clone, Default)]
pub struct SimOptions {
    /// Engine backend; `None` picks Verilator when it was built.
    pub backend: Option<SimBackend>,
    /// Disk image file; `None` for a RAM disk of `size` bytes.
    pub disk: Option<PathBuf>,
    /// RAM disk size (or the size a new image file is created with).
    pub size: u64,
    /// Waveform output.
    pub trace: Option<PathBuf>,
}

/// What to build when a simulated device is a NIC.
#[derive(Debug, Clone)]
pub struct NetSimOptions {
    /// Engine backend; `None` picks Verilator when it was built.
    pub backend: Option<SimBackend>,
    /// What the board's MAC is wired to.
    pub port: PortSpec,
    /// The board's MAC address (device configuration).
    pub mac: [u8; 6],
    /// The board's MTU (device configuration).
    pub mtu: u16,
    /// Waveform output.
    pub trace: Option<PathBuf>,
}

fn sim_backend(b: Option<SimBackend>) -> Option<BackendKind> {
    b.map(|b| match b {
        SimBackend::Verilator => BackendKind::Verilator,
        SimBackend::RustHdl => BackendKind::RustHdl,
    })
}

/// Opens a net device: a board's function through VFIO (which brings its
/// own port, MAC and MTU), or a simulated NIC wired to `net.port`.
pub fn open_net(spec: &DeviceSpec, net: &NetSimOptions) -> anyhow::Result<Arc<dyn Device>> {
    match spec {
        DeviceSpec::Vfio(_) => open(spec, &SimOptions::default()),
        DeviceSpec::Sim => {
            let port = net
                .port
                .open()
                .with_context(|| format!("opening network port {:?}", net.port))?;
            let mut machine = MachineConfig {
                vcd: net.trace.clone(),
                ..MachineConfig::default()
            };
            machine.board.net.mac = net.mac;
            machine.board.net.mtu = net.mtu;
            let dev =
                SimDevice::with_function(sim_backend(net.backend), machine, Function::Net(port))
                    .context("starting the simulated NIC")?;
            Ok(Arc::new(dev))
        }
    }
}

/// Opens the device a command asked for.
pub fn open(spec: &DeviceSpec, sim: &SimOptions) -> anyhow::Result<Arc<dyn Device>> {
    match spec {
        DeviceSpec::Vfio(bdf) => {
            let dev = VfioPciDevice::open(bdf).with_context(|| format!("opening vfio:{bdf}"))?;
            Ok(Arc::new(dev))
        }
        DeviceSpec::Sim => {
            let image = match &sim.disk {
                Some(path) => {
                    let f = std::fs::OpenOptions::new()
                        .read(true)
                        .write(true)
                        .create(true)
                        .truncate(false)
                        .open(path)
                        .with_context(|| format!("opening disk image {}", path.display()))?;
                    let len = f.metadata()?.len();
                    if len == 0 {
                        f.set_len(sim.size)?;
                    } else if !len.is_multiple_of(vfpga_abi::blk::SECTOR_SIZE) {
                        anyhow::bail!(
                            "disk image {} is {len} bytes, not a multiple of 512",
                            path.display()
                        );
                    }
                    Image::File(f)
                }
                None => Image::ram(sim.size).context("creating the RAM disk")?,
            };
            let backend = sim_backend(sim.backend);
            let machine = MachineConfig {
                vcd: sim.trace.clone(),
                ..MachineConfig::default()
            };
            let dev = SimDevice::new(SimConfig {
                backend,
                machine,
                image,
            })
            .context("starting the simulated device")?;
            Ok(Arc::new(dev))
        }
    }
}
