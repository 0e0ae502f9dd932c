//! The soft-CPU firmware image: start-up code, a panic handler and the
//! firmware loop over the memory-mapped management port.
//!
//! Build (see docs/firmware.md):
//! `cargo build -p vfpga-firmware --release --target riscv32imc-unknown-none-elf --features soft-cpu --bin vfpga-fw`

#![no_std]
#![no_main]

#[cfg(not(all(target_arch = "riscv32", target_os = "none")))]
compile_error!(
    "vfpga-fw is the soft-CPU image: build it with --target riscv32imc-unknown-none-elf"
);

use core::panic::PanicInfo;

use vfpga_abi::mgmt;
use vfpga_firmware::{BoardConfig, Firmware, Hal, MmioHal};

/// Byte address of the management port in the soft CPU's address space:
/// register `a` is the word at `MGMT_BASE + 4 * a` (256 words).
const MGMT_BASE: usize = 0x2000_0000;

// Stack at the top of RAM, .bss zeroed and .data copied from ROM, then Rust.
core::arch::global_asm!(
    r#"
    .section .text.start, "ax"
    .global _start
_start:
    la sp, _stack_top
    la t0, _sbss
    la t1, _ebss
1:  bgeu t0, t1, 2f
    sw zero, 0(t0)
    addi t0, t0, 4
    j 1b
2:  la t0, _sidata
    la t1, _sdata
    la t2, _edata
3:  bgeu t1, t2, 4f
    lw t3, 0(t0)
    sw t3, 0(t1)
    addi t0, t0, 4
    addi t1, t1, 4
    j 3b
4:  call vfpga_main
5:  j 5b
"#
);

#[unsafe(no_mangle)]
extern "C" fn vfpga_main() -> ! {
    // SAFETY: the memory map (docs/firmware.md) puts the port at MGMT_BASE
    // and nothing else in this image touches it.
    let hal = unsafe { MmioHal::new(MGMT_BASE) };
    match Firmware::new(hal, BoardConfig::DEFAULT) {
        Ok(mut fw) => loop {
            fw.poll();
        },
        // The hardware is not what this image was built for: leave FW_STATUS
        // clear so the host sees no running firmware.
        Err(_) => halt(),
    }
}

#[panic_handler]
fn panic(_: &PanicInfo<'_>) -> ! {
    // SAFETY: as in `vfpga_main`; the firmware no longer runs, so this is the
    // port's only user. Clearing FW_STATUS tells the host firmware stopped.
    let mut hal = unsafe { MmioHal::new(MGMT_BASE) };
    hal.write(mgmt::FW_STATUS, 0);
    halt()
}

fn halt() -> ! {
    loop {
        core::hint::spin_loop();
    }
}
