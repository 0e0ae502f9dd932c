//! `vfpga run`: serve a device to a QEMU guest over vhost-user.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::open::{self, DeviceSpec, SimBackend, SimOptions};
use crate::vhost_user::{VdpaBackend, serve};

/// What to serve.
#[derive(Debug, Subcommand)]
pub enum RunCmd {
    /// virtio-blk through vhost-user (QEMU `vhost-user-blk-pci`).
    Blk(BlkArgs),
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
    }
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
