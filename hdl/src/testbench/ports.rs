//! The channels a test model drives, by name, on whichever block carries
//! them: the engine itself, or a top level that puts register slices in
//! front of it. A model written against these traits tests either.

use rust_hdl::prelude::*;

use crate::dma::master::DATA_BITS;

/// Declares a trait of port accessors: `in` ports as `&mut` (the model
/// drives them), `out` ports as `&` (the model observes them), and
/// implements it for blocks whose fields carry those names.
macro_rules! port_trait {
    (
        $(#[$doc:meta])* $trait:ident for [$($ty:ty),*];
        $ports:tt
    ) => {
        port_trait!(@trait $(#[$doc])* $trait $ports);
        $(port_trait!(@impl $trait $ty $ports);)*
    };
    (@trait $(#[$doc:meta])* $trait:ident
        { in { $($i:ident: $it:ty),* $(,)? } out { $($o:ident: $ot:ty),* $(,)? } }) => {
        $(#[$doc])*
        #[allow(missing_docs)]
        pub trait $trait {
            $(fn $i(&mut self) -> &mut Signal<In, $it>;)*
            $(fn $o(&self) -> &Signal<Out, $ot>;)*
        }
        // Tests keep big blocks boxed.
        impl<T: $trait + ?Sized> $trait for Box<T> {
            $(fn $i(&mut self) -> &mut Signal<In, $it> { (**self).$i() })*
            $(fn $o(&self) -> &Signal<Out, $ot> { (**self).$o() })*
        }
    };
    (@impl $trait:ident $ty:ty
        { in { $($i:ident: $it:ty),* $(,)? } out { $($o:ident: $ot:ty),* $(,)? } }) => {
        impl $trait for $ty {
            $(fn $i(&mut self) -> &mut Signal<In, $it> { &mut self.$i })*
            $(fn $o(&self) -> &Signal<Out, $ot> { &self.$o })*
        }
    };
}

port_trait! {
    /// DMA read/write master ports (the host-memory model's side).
    DmaPorts for [crate::engine::BlkEngine, crate::top::BlkTop];
    {in {
        dma_rd_req_ready: Bit,
        dma_rd_cpl_valid: Bit,
        dma_rd_cpl_tag: Bits<5>,
        dma_rd_cpl_data: Bits<DATA_BITS>,
        dma_rd_cpl_last: Bit,
        dma_rd_cpl_error: Bit,
        dma_wr_ready: Bit,
        dma_wr_rsp_valid: Bit,
        dma_wr_rsp_error: Bit,
    }
    out {
        dma_rd_req_valid: Bit,
        dma_rd_req_tag: Bits<5>,
        dma_rd_req_addr: Bits<64>,
        dma_rd_req_len: Bits<13>,
        dma_rd_cpl_ready: Bit,
        dma_wr_valid: Bit,
        dma_wr_addr: Bits<64>,
        dma_wr_len: Bits<13>,
        dma_wr_data: Bits<DATA_BITS>,
        dma_wr_last: Bit,
        dma_wr_rsp_ready: Bit,
    }}
}

port_trait! {
    /// Storage ports (the storage model's side).
    StoragePorts for [crate::engine::BlkEngine, crate::top::BlkTop];
    {in {
        blk_cmd_ready: Bit,
        blk_wr_ready: Bit,
        blk_rd_valid: Bit,
        blk_rd_tag: Bits<5>,
        blk_rd_data: Bits<128>,
        blk_rd_last: Bit,
        blk_cpl_valid: Bit,
        blk_cpl_tag: Bits<5>,
        blk_cpl_status: Bits<8>,
    }
    out {
        blk_cmd_valid: Bit,
        blk_cmd_tag: Bits<5>,
        blk_cmd_op: Bits<2>,
        blk_cmd_sector: Bits<64>,
        blk_cmd_len: Bits<32>,
        blk_wr_valid: Bit,
        blk_wr_tag: Bits<5>,
        blk_wr_data: Bits<128>,
        blk_wr_last: Bit,
        blk_rd_ready: Bit,
        blk_cpl_ready: Bit,
    }}
}
