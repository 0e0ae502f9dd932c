//! MSI-X table and pending-bit array layout (PCI 3.0 §6.8.2).

/// Number of MSI-X vectors the function implements: one per queue of the
/// largest personality plus the configuration-change vector, rounded up.
pub const VECTORS: u16 = 8;
/// Size of one table entry.
pub const ENTRY_SIZE: u32 = 16;
/// Offset of the message address (low 32 bits) in an entry.
pub const ENTRY_ADDR_LO: u32 = 0;
/// Offset of the message address (high 32 bits) in an entry.
pub const ENTRY_ADDR_HI: u32 = 4;
/// Offset of the message data in an entry.
pub const ENTRY_DATA: u32 = 8;
/// Offset of the vector control word in an entry.
pub const ENTRY_CONTROL: u32 = 12;
/// Vector control: the vector is masked. Set at reset (PCI spec).
pub const CONTROL_MASKED: u32 = 1;
