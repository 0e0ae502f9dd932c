//! Links the soft-CPU image (`vfpga-fw`, bare-metal targets only) with
//! `link.x`; host builds are untouched.

fn main() {
    println!("cargo:rerun-if-changed=link.x");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "none" {
        let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
        println!("cargo:rustc-link-search={dir}");
        println!("cargo:rustc-link-arg-bin=vfpga-fw=-Tlink.x");
    }
}
