//! `vfpga run`: serve a device to a QEMU guest over vhost-user.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::open::{self, DeviceSpec, NetSimOptions, SimBackend, SimOptions};
use crate::vhost_user::net::{format_mac, parse_mac};
use crate::vhost_user::{VdpaBackend, serve};
use vfpga_sim::net::PortSpec;

/// What to serve.
#[derive(Debug, Subcommand)]
pub enum RunCmd {
    /// virtio-blk through vhost-user (QEMU `vhost-user-blk-pci`).
    Blk(BlkArgs),
    /// virtio-net through vhost-user (QEMU `-netdev vhost-user` with
    /// `virtio-net-pci`).
    Net(NetArgs),
}

/// `vfpga run net` options.
#[derive(Debug, Args)]
pub struct NetArgs {
    /// The vhost-user socket to listen on.
    #[arg(long, value_name = "PATH")]
    pub socket: PathBuf,
    /// The device: `sim` (the simulator, default) or `vfio:DDDD:BB:DD.F`.
    #[arg(long, default_value = "sim", value_parser = open::parse_device)]
    pub device: DeviceSpec,
    /// What the simulated NIC's wire is: `loopback`, `udp:LOCAL,PEER` (one
    /// frame per datagram, e.g. udp:127.0.0.1:5000,127.0.0.1:5001) or
    /// `tap:NAME`.
    #[arg(long, default_value = "loopback")]
    pub port: PortSpec,
    /// MAC address of the simulated NIC, also printed for QEMU's `mac=`.
    #[arg(long, default_value = "02:56:46:50:47:01", value_parser = parse_mac)]
    pub mac: [u8; 6],
    /// Queue pairs to serve (default: all the device has).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub queues: Option<u16>,
    /// MTU of the simulated NIC, also printed for QEMU's `host_mtu=`.
    #[arg(long, default_value_t = 1500, value_parser = clap::value_parser!(u16).range(68..=vfpga_abi::net::MAX_MTU as i64))]
    pub mtu: u16,
    /// Engine backend of the simulator (default: Verilator when built).
    #[arg(long, value_enum)]
    pub sim_backend: Option<SimBackend>,
    /// Write a waveform (VCD) of the simulated hardware's ports here.
    #[arg(long, value_name = "PATH")]
    pub trace: Option<PathBuf>,
}

/// `vfpga run blk` options.
#[derive(Debug, Args)]
pub struct BlkArgs {
    /// The vhost-user socket to listen on.
    #[arg(long, value_name = "PATH")]
    pub socket: PathBuf,
    /// The device: `sim` (the simulator, default) or `vfio:DDDD:BB:DD.F`.
    #[arg(long, default_value = "sim", value_parser = open::parse_device)]
    pub device: DeviceSpec,
    /// Disk image for the simulated device (created with --size if missing).
    #[arg(long, value_name = "PATH")]
    pub disk: Option<PathBuf>,
    /// Size of the simulated RAM disk (or of a new image), e.g. 64M.
    #[arg(long, default_value = "64M", value_parser = crate::selftest::parse_size)]
    pub size: u64,
    /// Engine backend of the simulator (default: Verilator when built).
    #[arg(long, value_enum)]
    pub sim_backend: Option<SimBackend>,
    /// Queues to serve (default: all the device has).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub queues: Option<u16>,
    /// Write a waveform (VCD) of the simulated hardware's ports here.
    #[arg(long, value_name = "PATH")]
    pub trace: Option<PathBuf>,
}

/// Runs until killed.
pub fn run(cmd: RunCmd) -> anyhow::Result<()> {
    match cmd {
        RunCmd::Blk(args) => run_blk(args),
        RunCmd::Net(args) => run_net(args),
    }
}

fn run_net(args: NetArgs) -> anyhow::Result<()> {
    let sim = NetSimOptions {
        backend: args.sim_backend,
        port: args.port.clone(),
        mac: args.mac,
        mtu: args.mtu,
        trace: args.trace.clone(),
    };
    let dev = open::open_net(&args.device, &sim)?;
    let backend = VdpaBackend::new(dev, args.queues).context("bringing the device up")?;
    let Some(pairs) = backend.pairs() else {
        anyhow::bail!("the device is not a network device (use `vfpga run blk`)");
    };
    println!(
        "{}",
        qemu_net_command_line(&args.socket, pairs, &args.mac, args.mtu)
    );
    let backend = Arc::new(Mutex::new(backend));
    let stop = AtomicBool::new(false);
    serve(&args.socket, backend, &stop)?;
    Ok(())
}

/// The QEMU options that attach a guest's NIC to the socket (docs/qemu.md).
/// `vectors`: one per ring, one for QEMU's own control queue, one for
/// configuration changes.
pub fn qemu_net_command_line(
    socket: &std::path::Path,
    pairs: u16,
    mac: &[u8; 6],
    mtu: u16,
) -> String {
    let mq = if pairs > 1 { "mq=on," } else { "" };
    format!(
        "Attach a guest with:\n  qemu-system-x86_64 -machine q35 -accel kvm -accel tcg -m 512M -smp {pairs} \\\n    \
         -object memory-backend-memfd,id=mem,size=512M,share=on -numa node,memdev=mem \\\n    \
         -chardev socket,id=c0,path={},reconnect-ms=1000 \\\n    \
         -netdev vhost-user,id=n0,chardev=c0,queues={pairs} \\\n    \
         -device virtio-net-pci,netdev=n0,{mq}vectors={},mac={},host_mtu={mtu} \\\n    \
         ... (your kernel, disk and console options)",
        socket.display(),
        2 * pairs + 2,
        format_mac(mac),
    )
}

fn run_blk(args: BlkArgs) -> anyhow::Result<()> {
    if args.disk.is_some() && args.device != DeviceSpec::Sim {
        anyhow::bail!("--disk is for the simulated device; a VFIO device brings its own storage");
    }
    if !args.size.is_multiple_of(vfpga_abi::blk::SECTOR_SIZE) {
        anyhow::bail!("--size {} is not a multiple of 512 bytes", args.size);
    }
    let sim = SimOptions {
        backend: args.sim_backend,
        disk: args.disk.clone(),
        size: args.size,
        trace: args.trace.clone(),
    };
    let dev = open::open(&args.device, &sim)?;
    let backend = VdpaBackend::new(dev, args.queues).context("bringing the device up")?;
    let queues = backend.queues();
    println!("{}", qemu_command_line(&args.socket, queues));
    let backend = Arc::new(Mutex::new(backend));
    let stop = AtomicBool::new(false);
    serve(&args.socket, backend, &stop)?;
    Ok(())
}

/// The QEMU options that attach a guest to the socket (docs/qemu.md).
pub fn qemu_command_line(socket: &std::path::Path, queues: u16) -> String {
    format!(
        "Attach a guest with:\n  qemu-system-x86_64 -machine q35 -accel kvm -accel tcg -m 512M \\\n    \
         -object memory-backend-memfd,id=mem,size=512M,share=on -numa node,memdev=mem \\\n    \
         -chardev socket,id=vfpga0,path={},reconnect-ms=1000 \\\n    \
         -device vhost-user-blk-pci,chardev=vfpga0,num-queues={queues} \\\n    \
         ... (your kernel, disk and console options)",
        socket.display()
    )
}
