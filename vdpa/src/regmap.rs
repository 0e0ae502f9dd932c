//! `vfpga regmap`: the register map of vfpga-abi as Markdown.

/// Renders the register map that `docs/register-map.md` holds.
pub fn render() -> String {
    let mut s = String::new();
    vfpga_abi::regmap::write_register_map(&mut s).expect("writing to a String cannot fail");
    s
}
