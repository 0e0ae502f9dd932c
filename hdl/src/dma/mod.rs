//! DMA: the tagged master the engine's clients share, and the byte gearbox
//! that re-aligns data between host buffers and the storage stream.

pub mod gearbox;
pub mod master;

pub use gearbox::Gearbox;
pub use master::DmaMaster;
