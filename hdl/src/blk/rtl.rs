//! The hand-written Verilog of [`super::BlkRequest`].
//!
//! rust-hdl would emit a `DFF` module per register and one combinational
//! block that starts with `x$d = x$q;` for each of the ~50 registers and
//! then works out every decision of every state; Verilator runs all of it
//! on every cycle. Here each register is loaded in enable style inside
//! `always @(posedge clock)` under `case (state)`, so a cycle evaluates the
//! branch of the current state only, and the outputs are small blocks of
//! their own. In the streaming cycles of an IN request (state `WBURST`:
//! storage read data through the gearbox to the DMA write port) that is
//! the beat counter, the gearbox and the handshake outputs. The gearbox
//! (`crate::dma::Gearbox` in the model) is inlined, with word moves for
//! whole-beat pops and pushes instead of 256-bit shifts.
//!
//! Every statement mirrors one of `BlkModel::logic` (request.rs), in the
//! same order: a later non-blocking assignment overrides an earlier one as
//! a later `.d.next` does there. The `rlen` register of the model is never
//! read and has no counterpart here.

use crate::vq::QUEUE_BITS;

/// The module body (ports are declared by rust-hdl from the struct).
pub(super) fn verilog() -> String {
    RTL.replace("@QBM@", &(QUEUE_BITS - 1).to_string())
        .replace("@ID_LO@", &format!("{:016x}", super::request::ID_LO))
        .replace("@ID_HI@", &format!("{:016x}", super::request::ID_HI))
}

const RTL: &str = r#"
localparam S_IDLE = 4'd0;
localparam S_DECODE = 4'd1;
localparam S_CMD = 4'd2;
localparam S_RPHASE = 4'd3;
localparam S_WPHASE = 4'd4;
localparam S_WBURST = 4'd5;
localparam S_CPL = 4'd6;
localparam S_STATUS = 4'd7;
localparam S_DONE = 4'd8;
localparam S_RETWR = 4'd9;
localparam S_RETDONE = 4'd10;
localparam S_HALTED = 4'd11;

// Gearbox data sources.
localparam G_RDATA = 2'd0;
localparam G_ROB = 2'd1;
localparam G_ID0 = 2'd2;
localparam G_ZERO = 2'd3;

reg [3:0] state;
reg [@QBM@:0] q;
reg [15:0] head;
reg [31:0] wlen;
reg [63:0] sector;
reg [2:0] op;
reg [7:0] stat;
reg [31:0] dlen;
reg [63:0] cur_addr;
reg [31:0] cur_len;
reg [31:0] todo;
reg [31:0] skip;
reg [4:0] hskip;
reg [31:0] sto_left;
reg sto_busy;
reg [127:0] rob [0:255];
reg [2:0] slot_wr;
reg [2:0] slot_rd;
reg [3:0] inflight;
reg [47:0] slot_cnt;
reg [79:0] slot_len;
reg [5:0] di;
reg [63:0] wa;
reg [12:0] wl;
reg [12:0] beat_left;
reg [1:0] idn;
reg [31:0] used;
reg [3:0] s_out;
reg [3:0] s_done;
reg [3:0] s_park;
reg [63:0] pa0;
reg [63:0] pa1;
reg [63:0] pa2;
reg [63:0] pa3;
reg [15:0] ph0;
reg [15:0] ph1;
reg [15:0] ph2;
reg [15:0] ph3;
reg [3:0] pq;
reg [7:0] pst0;
reg [7:0] pst1;
reg [7:0] pst2;
reg [7:0] pst3;
reg [3:0] my_oh;
reg [4:0] ctag;
reg [3:0] rsel;
reg rback;
// Gearbox: bytes held (lowest first) and their count.
reg [255:0] hold;
reg [5:0] cnt;

// Gearbox controls (combinational).
reg gb_clear;
reg gb_in_valid;
reg [1:0] gb_src;
reg [4:0] gb_bytes;
reg gb_pop;
reg [4:0] gb_take;
// Parked-slot bit changes (combinational).
reg [3:0] set_out;
reg [3:0] set_done;
reg [3:0] set_park;
reg [3:0] clr_slot;
// OUT reads (combinational, see below).
reg rp_drain;
reg [5:0] rp_beats;
reg [9:0] rp_take;
reg rp_drained;
integer k;

initial begin
    state = S_IDLE;
    q = 0;
    head = 16'd0;
    wlen = 32'd0;
    sector = 64'd0;
    op = 3'd0;
    stat = 8'd0;
    dlen = 32'd0;
    cur_addr = 64'd0;
    cur_len = 32'd0;
    todo = 32'd0;
    skip = 32'd0;
    hskip = 5'd0;
    sto_left = 32'd0;
    sto_busy = 1'b0;
    for (k = 0; k < 256; k = k + 1) rob[k] = 128'd0;
    slot_wr = 3'd0;
    slot_rd = 3'd0;
    inflight = 4'd0;
    slot_cnt = 48'd0;
    slot_len = 80'd0;
    di = 6'd0;
    wa = 64'd0;
    wl = 13'd0;
    beat_left = 13'd0;
    idn = 2'd0;
    used = 32'd0;
    s_out = 4'd0;
    s_done = 4'd0;
    s_park = 4'd0;
    pa0 = 64'd0;
    pa1 = 64'd0;
    pa2 = 64'd0;
    pa3 = 64'd0;
    ph0 = 16'd0;
    ph1 = 16'd0;
    ph2 = 16'd0;
    ph3 = 16'd0;
    pq = 4'd0;
    pst0 = 8'd0;
    pst1 = 8'd0;
    pst2 = 8'd0;
    pst3 = 8'd0;
    my_oh = 4'd0;
    ctag = 5'd0;
    rsel = 4'd0;
    rback = 1'b0;
    hold = 256'd0;
    cnt = 6'd0;
end

function [31:0] min32(input [31:0] a, input [31:0] b);
    min32 = (b < a) ? b : a;
endfunction

// The lowest set bit.
function [3:0] lowest(input [3:0] v);
    lowest = v & (~v + 4'd1);
endfunction

// The storage tag of a parked slot (one-hot; 1 when none).
function [4:0] tag_of(input [3:0] oh);
    tag_of = oh[3] ? 5'd4 : oh[2] ? 5'd3 : oh[1] ? 5'd2 : 5'd1;
endfunction

// The parked slot a storage tag names (none for 0 and past PARKED).
function [3:0] tag_oh(input [4:0] tag);
    tag_oh = (tag == 5'd1) ? 4'd1 : (tag == 5'd2) ? 4'd2 : (tag == 5'd3) ? 4'd4 : (tag == 5'd4) ? 4'd8 : 4'd0;
endfunction

// Beats of a read of `len` bytes.
function [5:0] beats_of(input [9:0] len);
    reg [9:0] t;
    begin
        t = len + 10'd15;
        beats_of = t[9:4];
    end
endfunction

// A data length that is not whole sectors, or a range past the capacity.
function bad_range(input [31:0] len, input [63:0] sec, input [63:0] cap);
    bad_range = (len[8:0] != 9'd0) || (sec > cap) || ({32'd0, len >> 9} > (cap - sec));
endfunction

// The gearbox's next bytes: `take` bytes popped from the bottom, then
// `nbytes` bytes of `data` appended above the `kf` bytes kept.
function [255:0] gb_next(input [255:0] h, input pop, input [4:0] take, input push,
                         input [127:0] data, input [4:0] nbytes, input [5:0] kf);
    reg [255:0] kept;
    reg [127:0] clean;
    reg [7:0] drop;
    begin
        if (!pop || (take == 5'd0)) kept = h;
        else if (take == 5'd16) kept = {128'd0, h[255:128]};
        else kept = h >> {take, 3'b000};
        if (!push) begin
            gb_next = kept;
        end else begin
            // Bytes past nbytes are dropped so that they cannot leak.
            if (nbytes == 5'd16) begin
                clean = data;
            end else begin
                drop = {5'd16 - nbytes, 3'b000};
                clean = (data << drop) >> drop;
            end
            if (kf == 6'd0) gb_next = kept | {128'd0, clean};
            else if (kf == 6'd16) gb_next = kept | {clean, 128'd0};
            else gb_next = kept | ({128'd0, clean} << {kf, 3'b000});
        end
    end
endfunction

// Bytes of the current write beat, and whether it can go.
wire [4:0] take = (beat_left < 13'd16) ? beat_left[4:0] : 5'd16;
wire wb_go = (cnt >= {1'b0, take}) && (take != 5'd0);
// Bytes of the current storage write beat, and whether it can go.
wire [4:0] sto_take = (sto_left < 32'd16) ? sto_left[4:0] : 5'd16;
wire wd_go = (sto_left != 32'd0) && (cnt >= {1'b0, sto_take});
wire gb_in_ready = cnt <= 6'd16;
// Largest piece of the current buffer one DMA request may cover.
wire [31:0] chunk = min32(min32(todo, cur_len), 32'd4096 - {20'd0, cur_addr[11:0]});
wire [31:0] chunk_r = min32(chunk, 32'd512);
// Parked slots: free, ready to retire.
wire [3:0] free = ~(s_out | s_done | s_park);
wire [3:0] ready_oh = s_done & s_park;
// OUT: a new read may be asked for.
wire rp_a = (todo != 32'd0) && (inflight < 4'd8);

// OUT reads in state RPHASE only (zero elsewhere, so that other cycles
// skip the work): the oldest slot drains, its beats, the bytes of its
// next beat, and whether this beat is its last.
always @(*) begin
    rp_drain = 1'b0;
    rp_beats = 6'd0;
    rp_take = 10'd0;
    rp_drained = 1'b0;
    if (state == S_RPHASE) begin
        rp_drain = (inflight != 4'd0) && (di < slot_cnt[slot_rd * 6 +: 6]);
        rp_beats = beats_of(slot_len[slot_rd * 10 +: 10]);
        rp_take = slot_len[slot_rd * 10 +: 10] - {di, 4'd0};
        rp_drained = rp_drain && gb_in_ready && ((di + 6'd1) == rp_beats);
    end
end

// Outputs from the registers only (so that a `valid` here never waits
// for a `ready` through a combinational path).
always @(*) busy = ((state != S_IDLE) && (state != S_HALTED)) || sto_busy || (s_out != 4'd0)
                   || ((state != S_HALTED) && ((s_done | s_park) != 4'd0));
always @(*) storage_busy = sto_busy || (s_out != 4'd0);
always @(*) cur_queue = q;
always @(*) rd_addr = cur_addr;
always @(*) rd_len = chunk_r[12:0];
always @(*) rd_sub = slot_wr;
always @(*) wdata_tag = ctag;
always @(*) wdata_last = sto_left <= 32'd16;
always @(*) begin
    rd_valid = 1'b0;
    wr_valid = 1'b0;
    cpl_ready = 1'b0;
    rdata_ready = 1'b0;
    wr_addr = wa;
    wr_len = wl;
    wr_data = hold[127:0];
    wr_last = beat_left <= 13'd16;
    cmd_valid = 1'b0;
    cmd_tag = 5'd0;
    cmd_op = 2'd0;
    cmd_sector = sector;
    cmd_len = dlen;
    wdata_valid = 1'b0;
    wdata_data = hold[127:0];
    case (state)
        S_CMD: begin
            if (op == 3'd1) begin
                cmd_valid = 1'b1;
            end else if (free != 4'd0) begin
                cmd_valid = 1'b1;
                cmd_tag = tag_of(lowest(free));
                if (op == 3'd2) begin
                    cmd_op = 2'd1;
                end else begin
                    cmd_op = 2'd2;
                    cmd_sector = 64'd0;
                    cmd_len = 32'd0;
                end
            end
        end
        S_RPHASE: begin
            rd_valid = rp_a && (cur_len != 32'd0);
            cpl_ready = 1'b1;
            wdata_valid = wd_go;
        end
        S_WPHASE: rdata_ready = (op == 3'd1) && gb_in_ready;
        S_WBURST: begin
            wr_valid = wb_go;
            rdata_ready = (op == 3'd1) && gb_in_ready;
        end
        S_STATUS: begin
            // The status byte is the last writable byte, after the data.
            if ((cur_len != 32'd0) && (op != 3'd2) && (op != 3'd3)) begin
                wr_valid = 1'b1;
                wr_addr = cur_addr;
                wr_len = 13'd1;
                wr_data = {120'd0, stat};
                wr_last = 1'b1;
            end
        end
        S_RETWR: begin
            // A parked request's status byte.
            wr_valid = 1'b1;
            wr_addr = rsel[3] ? pa3 : rsel[2] ? pa2 : rsel[1] ? pa1 : pa0;
            wr_len = 13'd1;
            wr_data = {120'd0, rsel[3] ? pst3 : rsel[2] ? pst2 : rsel[1] ? pst1 : pst0};
            wr_last = 1'b1;
        end
        S_HALTED: begin
            // Stopped by a fault: finish the storage write in flight with
            // zero data and drop what storage returns.
            rdata_ready = 1'b1;
            wdata_valid = sto_left != 32'd0;
            wdata_data = 128'd0;
        end
        default: ;
    endcase
end

// Outputs that follow this cycle's inputs.
always @(*) begin
    chain_pop = 1'b0;
    seg_pop = 1'b0;
    done_push = 1'b0;
    done_queue = q;
    done_head = head;
    done_len = used;
    cnt_read = 13'd0;
    cnt_written = 13'd0;
    // Completions of parked slots are always taken, in any order.
    scpl_ready = scpl_tag != 5'd0;
    case (state)
        S_IDLE: begin
            chain_pop = (ready_oh == 4'd0) && chain_valid && seg_valid;
            seg_pop = (ready_oh == 4'd0) && chain_valid && seg_valid;
        end
        S_DECODE: seg_pop = hskip != 5'd0;
        S_RPHASE: begin
            seg_pop = (cur_len == 32'd0) && (rp_a || ((todo == 32'd0) && (skip != 32'd0)));
            if (rp_a && (cur_len != 32'd0) && rd_ready) cnt_read = chunk_r[12:0];
        end
        S_WPHASE: seg_pop = (cur_len == 32'd0) && ((todo != 32'd0) || (skip != 32'd0));
        S_WBURST: begin
            if (wb_go && wr_ready && (beat_left == wl)) cnt_written = wl;
        end
        S_CPL: begin
            if (sto_busy) scpl_ready = 1'b1;
        end
        S_STATUS: begin
            seg_pop = cur_len == 32'd0;
            if ((cur_len != 32'd0) && (op != 3'd2) && (op != 3'd3) && wr_ready) cnt_written = 13'd1;
        end
        S_DONE: done_push = done_room != 8'd0;
        S_RETWR: begin
            if (wr_ready) cnt_written = 13'd1;
        end
        S_RETDONE: begin
            if (done_room != 8'd0) begin
                done_push = 1'b1;
                done_queue = rsel[3] ? pq[3] : rsel[2] ? pq[2] : rsel[1] ? pq[1] : pq[0];
                done_head = rsel[3] ? ph3 : rsel[2] ? ph2 : rsel[1] ? ph1 : ph0;
                done_len = 32'd1;
            end
        end
        S_HALTED: scpl_ready = 1'b1;
        default: ;
    endcase
end

// Gearbox controls.
always @(*) begin
    gb_clear = 1'b0;
    gb_in_valid = 1'b0;
    gb_src = G_RDATA;
    gb_bytes = 5'd16;
    gb_pop = 1'b0;
    gb_take = take;
    case (state)
        S_IDLE: gb_clear = (ready_oh == 4'd0) && chain_valid && seg_valid;
        S_RPHASE: begin
            // The oldest slot drains into the gearbox as its beats arrive.
            if (rp_drain) begin
                gb_in_valid = 1'b1;
                gb_src = G_ROB;
                if (rp_take < 10'd16) gb_bytes = rp_take[4:0];
            end
            if (wd_go && wdata_ready) begin
                gb_pop = 1'b1;
                gb_take = sto_take;
            end
            if ((todo == 32'd0) && (skip == 32'd0) && (inflight == 4'd0) && (sto_left == 32'd0)) gb_clear = 1'b1;
        end
        S_WPHASE, S_WBURST: begin
            if ((state == S_WBURST) && wb_go && wr_ready) gb_pop = 1'b1;
            // IN data from storage; GET_ID's string as two beats (16 + 4 bytes).
            if (op == 3'd1) gb_in_valid = rdata_valid;
            if ((op == 3'd4) && (idn < 2'd2)) begin
                gb_in_valid = 1'b1;
                if (idn == 2'd0) begin
                    gb_src = G_ID0;
                end else begin
                    gb_src = G_ZERO;
                    gb_bytes = 5'd4;
                end
            end
        end
        default: ;
    endcase
    if (reset) gb_clear = 1'b1;
end

// Parked-slot bit changes.
always @(*) begin
    set_out = 4'd0;
    set_park = 4'd0;
    clr_slot = 4'd0;
    case (state)
        S_CMD: begin
            if ((op != 3'd1) && (free != 4'd0) && cmd_ready) set_out = lowest(free);
        end
        S_STATUS: begin
            if ((cur_len != 32'd0) && ((op == 3'd2) || (op == 3'd3))) set_park = my_oh;
        end
        S_RETDONE: begin
            if (done_room != 8'd0) clr_slot = rsel;
        end
        S_HALTED: clr_slot = s_done;
        default: ;
    endcase
end
always @(*) set_done = ((scpl_tag != 5'd0) && scpl_valid) ? tag_oh(scpl_tag) : 4'd0;

// The gearbox registers.
wire gb_push = gb_in_valid && gb_in_ready;
always @(posedge clock) begin
    if (gb_clear) begin
        hold <= 256'd0;
        cnt <= 6'd0;
    end else if (gb_pop || gb_push) begin
        hold <= gb_next(hold, gb_pop, gb_take, gb_push,
                        (gb_src == G_RDATA) ? rdata_data
                        : (gb_src == G_ROB) ? rob[{slot_rd, 5'd0} + {2'd0, di}]
                        : (gb_src == G_ID0) ? {64'h@ID_HI@, 64'h@ID_LO@} : 128'd0,
                        gb_bytes, gb_pop ? cnt - {1'b0, gb_take} : cnt);
        cnt <= (gb_pop ? cnt - {1'b0, gb_take} : cnt) + (gb_push ? {1'b0, gb_bytes} : 6'd0);
    end
end

// The request state machine.
always @(posedge clock) begin
    case (state)
        S_IDLE: begin
            if (ready_oh != 4'd0) begin
                // A parked request's completion is in: finish it first.
                rsel <= lowest(ready_oh);
                rback <= 1'b0;
                state <= S_RETWR;
            end else if (chain_valid && seg_valid) begin
                q <= chain_queue;
                head <= chain_head;
                wlen <= chain_wlen;
                sector <= chain_hdr[127:64];
                stat <= 8'd0;
                used <= 32'd1;
                dlen <= 32'd0;
                sto_left <= 32'd0;
                idn <= 2'd0;
                // The first buffer starts the header.
                cur_addr <= seg_addr + {32'd0, min32(seg_len, 32'd16)};
                cur_len <= seg_len - min32(seg_len, 32'd16);
                hskip <= (seg_len > 32'd16) ? 5'd0 : 5'd16 - seg_len[4:0];
                todo <= 32'd0;
                skip <= chain_rlen - 32'd16;
                op <= 3'd0;
                if (chain_hdr[31:0] == 32'd0) begin
                    if (bad_range(chain_wlen - 32'd1, chain_hdr[127:64], capacity)) begin
                        stat <= 8'd1;
                    end else if (chain_wlen != 32'd1) begin
                        op <= 3'd1;
                        dlen <= chain_wlen - 32'd1;
                        used <= chain_wlen;
                    end
                end else if (chain_hdr[31:0] == 32'd1) begin
                    if (bad_range(chain_rlen - 32'd16, chain_hdr[127:64], capacity)) begin
                        stat <= 8'd1;
                    end else if (chain_rlen != 32'd16) begin
                        op <= 3'd2;
                        dlen <= chain_rlen - 32'd16;
                        sto_left <= chain_rlen - 32'd16;
                        todo <= chain_rlen - 32'd16;
                        skip <= 32'd0;
                    end
                end else if (chain_hdr[31:0] == 32'd4) begin
                    op <= 3'd3;
                end else if (chain_hdr[31:0] == 32'd8) begin
                    op <= 3'd4;
                    used <= min32(chain_wlen - 32'd1, 32'd20) + 32'd1;
                end else begin
                    stat <= 8'd2;
                end
                state <= S_DECODE;
            end
        end
        S_DECODE: begin
            if (hskip != 5'd0) begin
                // The rest of the header is at the start of the second buffer.
                cur_addr <= seg_addr + {59'd0, hskip};
                cur_len <= seg_len - {27'd0, hskip};
                hskip <= 5'd0;
            end else if ((op == 3'd1) || (op == 3'd2) || (op == 3'd3)) begin
                state <= S_CMD;
            end else begin
                state <= S_RPHASE;
            end
        end
        S_CMD: begin
            if (op == 3'd1) begin
                if (cmd_ready) begin
                    ctag <= 5'd0;
                    state <= S_RPHASE;
                end
            end else if (free != 4'd0) begin
                if (cmd_ready) begin
                    my_oh <= lowest(free);
                    ctag <= tag_of(lowest(free));
                    state <= S_RPHASE;
                end
            end else if (ready_oh != 4'd0) begin
                rsel <= lowest(ready_oh);
                rback <= 1'b1;
                state <= S_RETWR;
            end
        end
        S_RPHASE: begin
            if (rp_a) begin
                if (cur_len == 32'd0) begin
                    cur_addr <= seg_addr;
                    cur_len <= seg_len;
                end else if (rd_ready) begin
                    slot_len <= (slot_len & ~(80'h3ff << (slot_wr * 10)))
                                | ({48'd0, chunk_r} << (slot_wr * 10));
                    slot_wr <= slot_wr + 3'd1;
                    cur_addr <= cur_addr + {32'd0, chunk_r};
                    cur_len <= cur_len - chunk_r;
                    todo <= todo - chunk_r;
                end
            end else if ((todo == 32'd0) && (skip != 32'd0)) begin
                if (cur_len == 32'd0) begin
                    cur_addr <= seg_addr;
                    cur_len <= seg_len;
                end else begin
                    cur_addr <= cur_addr + {32'd0, min32(skip, cur_len)};
                    cur_len <= cur_len - min32(skip, cur_len);
                    skip <= skip - min32(skip, cur_len);
                end
            end
            if (rp_drain && gb_in_ready) begin
                di <= di + 6'd1;
                if ((di + 6'd1) == rp_beats) begin
                    di <= 6'd0;
                    slot_rd <= slot_rd + 3'd1;
                end
            end
            // Completions land in their slot, whatever the order.
            if (cpl_valid) rob[{cpl_sub, 5'd0} + {2'd0, slot_cnt[cpl_sub * 6 +: 6]}] <= cpl_data;
            if (cpl_valid || rp_drained) begin
                slot_cnt <= (slot_cnt + (cpl_valid ? (48'd1 << (cpl_sub * 6)) : 48'd0))
                            & ~(rp_drained ? (48'h3f << (slot_rd * 6)) : 48'd0);
            end
            if ((rp_a && (cur_len != 32'd0) && rd_ready) != rp_drained) begin
                inflight <= rp_drained ? inflight - 4'd1 : inflight + 4'd1;
            end
            if (wd_go && wdata_ready) sto_left <= sto_left - {27'd0, sto_take};
            if ((todo == 32'd0) && (skip == 32'd0) && (inflight == 4'd0) && (sto_left == 32'd0)) begin
                // Writable bytes before the status byte.
                todo <= 32'd0;
                skip <= wlen - 32'd1;
                if (op == 3'd1) begin
                    todo <= wlen - 32'd1;
                    skip <= 32'd0;
                end
                if (op == 3'd4) begin
                    todo <= used - 32'd1;
                    skip <= wlen - used;
                end
                state <= S_WPHASE;
            end
        end
        S_WPHASE: begin
            if (todo != 32'd0) begin
                if (cur_len == 32'd0) begin
                    cur_addr <= seg_addr;
                    cur_len <= seg_len;
                end else begin
                    // Start a write of the next piece of the buffer.
                    wa <= cur_addr;
                    wl <= chunk[12:0];
                    beat_left <= chunk[12:0];
                    cur_addr <= cur_addr + {32'd0, chunk};
                    cur_len <= cur_len - chunk;
                    todo <= todo - chunk;
                    state <= S_WBURST;
                end
            end else if (skip != 32'd0) begin
                if (cur_len == 32'd0) begin
                    cur_addr <= seg_addr;
                    cur_len <= seg_len;
                end else begin
                    cur_addr <= cur_addr + {32'd0, min32(skip, cur_len)};
                    cur_len <= cur_len - min32(skip, cur_len);
                    skip <= skip - min32(skip, cur_len);
                end
            end else begin
                state <= S_CPL;
            end
        end
        S_WBURST: begin
            if (wb_go && wr_ready) begin
                beat_left <= beat_left - {8'd0, take};
                if (beat_left <= 13'd16) state <= S_WPHASE;
            end
        end
        S_CPL: begin
            if (sto_busy) begin
                if (scpl_valid && (scpl_tag == 5'd0)) begin
                    stat <= scpl_status;
                    state <= S_STATUS;
                end
            end else begin
                state <= S_STATUS;
            end
        end
        S_STATUS: begin
            if (cur_len == 32'd0) begin
                cur_addr <= seg_addr;
                cur_len <= seg_len;
            end else if ((op == 3'd2) || (op == 3'd3)) begin
                // Park: the status byte waits for the storage completion.
                if (my_oh[0]) begin
                    pa0 <= cur_addr;
                    ph0 <= head;
                end
                if (my_oh[1]) begin
                    pa1 <= cur_addr;
                    ph1 <= head;
                end
                if (my_oh[2]) begin
                    pa2 <= cur_addr;
                    ph2 <= head;
                end
                if (my_oh[3]) begin
                    pa3 <= cur_addr;
                    ph3 <= head;
                end
                pq <= (pq & ~my_oh) | (my_oh & {4{q[0]}});
                cur_len <= 32'd0;
                state <= S_IDLE;
            end else if (wr_ready) begin
                cur_len <= 32'd0;
                state <= S_DONE;
            end
        end
        S_DONE: begin
            if (done_room != 8'd0) state <= S_IDLE;
        end
        S_RETWR: begin
            if (wr_ready) state <= S_RETDONE;
        end
        S_RETDONE: begin
            if (done_room != 8'd0) state <= rback ? S_CMD : S_IDLE;
        end
        default: ;
    endcase
    if ((op == 3'd4) && ((state == S_WPHASE) || (state == S_WBURST)) && (idn < 2'd2) && gb_in_ready) begin
        idn <= idn + 2'd1;
    end
    if (halt) state <= S_HALTED;
    if ((state == S_HALTED) && wdata_ready && (sto_left != 32'd0)) begin
        // Stopped by a fault: finish the storage write in flight.
        sto_left <= sto_left - {27'd0, sto_take};
    end
    // Storage command outstanding until its completion.
    if (cmd_valid && cmd_ready && (cmd_tag == 5'd0)) sto_busy <= 1'b1;
    if (scpl_valid && (scpl_tag == 5'd0) && (((state == S_CPL) && sto_busy) || (state == S_HALTED))) begin
        sto_busy <= 1'b0;
    end
    // Completions of parked slots are always taken, in any order.
    if (set_done[0]) pst0 <= scpl_status;
    if (set_done[1]) pst1 <= scpl_status;
    if (set_done[2]) pst2 <= scpl_status;
    if (set_done[3]) pst3 <= scpl_status;
    if ((set_out | set_done) != 4'd0) s_out <= (s_out | set_out) & ~set_done;
    if ((set_done | clr_slot) != 4'd0) s_done <= (s_done | set_done) & ~clr_slot;
    if ((set_park | clr_slot) != 4'd0) s_park <= (s_park | set_park) & ~clr_slot;
    if (reset) begin
        state <= S_IDLE;
        sto_busy <= 1'b0;
        s_out <= 4'd0;
        s_done <= 4'd0;
        s_park <= 4'd0;
        sto_left <= 32'd0;
        inflight <= 4'd0;
        slot_cnt <= 48'd0;
        slot_rd <= 3'd0;
        slot_wr <= 3'd0;
        di <= 6'd0;
    end
end
"#;
