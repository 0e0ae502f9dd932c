//! Hand-written Verilog of [`super::RegFile`].
//!
//! rust-hdl writes the register file as one `DFF` module per register plus
//! one combinational block that first copies every register's `q` to its `d`
//! and then decodes both ports; Verilator evaluates all of it (and copies
//! every register again at the edge) in every cycle, although nearly every
//! cycle has no access on either port. Here the registers are written in
//! enable style in a few clocked blocks: a cycle in which both ports are
//! idle runs the idle checks, the doorbell handshake, the event sources and
//! the reset checks, nothing else. The outputs are plain wires of state.
//! Each register is written by one block, and no block reads a register
//! after writing it, so that Verilator writes most registers in place
//! instead of through a shadow copy (`__Vdly__`, two copies per register in
//! every cycle).
//!
//! Differences of structure, not of behaviour at the ports:
//! - the two device-config RAMs (one read port each, the same writes) are one
//!   memory with two read registers, loaded in the cycle before they are used
//!   (the port's `Wait` state) instead of in every cycle;
//! - the byte-enable mask is latched with the request instead of being
//!   decoded from the byte enables in every cycle;
//! - the one-cycle outputs of an access (`msix_reg_write`,
//!   `isr_read_clear`, `config_irq`) and the driver's event are decoded in
//!   the `Wait` state into registers that are set for the `Exec` cycle (each
//!   such access leaves `Exec` after one cycle);
//! - the event FIFO (`EventFifo`) is written inline.
//!
//! `tests/regfile_verilog.rs` runs this Verilog against the rust-hdl model
//! (`RegFile::update`) cycle by cycle in Icarus.

use vfpga_abi::{Personality, vendor};

use super::{DEVCFG_WORDS, MGMT_ADDR_BITS, MMIO_ADDR_BITS, QMAX};
use crate::msix::NV;

// The template's literal widths.
const _: () = assert!(MMIO_ADDR_BITS == 15);
const _: () = assert!(MGMT_ADDR_BITS == 8);
const _: () = assert!(DEVCFG_WORDS == 64);
const _: () = assert!(super::event_fifo::DEPTH == 16);
// Vendor per-queue blocks at 0x100 + 0x10 * q: the queue is offset bits 7:4.
const _: () = assert!(vendor::MAX_QUEUES <= 16);

const TEMPLATE: &str = r"
// Port states (internal: the ports never show them).
localparam M_IDLE = 2'd0;
localparam M_WAIT = 2'd1;
localparam M_EXEC = 2'd2;
localparam M_RESP = 2'd3;
localparam G_IDLE = 2'd0;
localparam G_WAIT = 2'd1;
localparam G_EXEC = 2'd2;
localparam G_RESP = 2'd3;

// MMIO port.
reg [1:0] m_state;
reg [14:0] m_addr;
reg m_write;
reg [31:0] m_wdata;
reg [3:0] m_strb;
reg [31:0] m_wmask;
reg [31:0] m_rdata;
// Management port.
reg [1:0] g_state;
reg [7:0] g_addr;
reg g_write;
reg [31:0] g_wdata;
reg [31:0] g_rdata;
// Device-wide registers.
reg [7:0] dev_status;
reg status_pending;
reg [7:0] config_gen;
reg [31:0] dev_feat_lo;
reg [31:0] dev_feat_hi;
reg [31:0] drv_feat_lo;
reg [31:0] drv_feat_hi;
reg [31:0] dfsel;
reg [31:0] drfsel;
reg [15:0] cfg_vector;
reg [15:0] queue_select;
reg [3:0] engine_ctrl;
reg [31:0] fw_status;
reg [31:0] fw_cnt0;
reg [31:0] fw_cnt1;
reg [15:0] g_qsel;
reg [7:0] devcfg_addr;
reg [31:0] cap_lo;
reg [31:0] cap_hi;
reg [31:0] cnt_shadow;
reg err_evt_wait;
reg eng_reset_pulse;
// Per queue.
reg [15:0] qsize [0:@NQM@];
reg [15:0] qvec [0:@NQM@];
reg [63:0] qdesc [0:@NQM@];
reg [63:0] qavail [0:@NQM@];
reg [63:0] qused [0:@NQM@];
reg [@NQM@:0] qen;
reg [@NQM@:0] qen_pend;
reg [@NQM@:0] qreset;
reg [@NQM@:0] qrun;
reg [@NQM@:0] qstop;
reg [@NQM@:0] qset;
reg [15:0] set_la;
reg [15:0] set_ui;
// Doorbell slot.
reg db_valid;
reg [15:0] db_queue;
reg [31:0] db_data;
// Event FIFO: 16 entries, 5-bit pointers, sticky overflow.
reg [31:0] ev_mem [0:15];
reg [4:0] ev_rd;
reg [4:0] ev_wr;
reg ev_lost;
// Device-config RAM and its two read registers.
reg [31:0] cfg_mem [0:63];
reg [31:0] cfg_rd_m;
reg [31:0] cfg_rd_g;
// Decoded in Wait, set during the Exec cycle of the access.
reg mx_ev;
reg [31:0] mx_ev_word;
reg mx_isr;
reg mx_msix;
reg gx_cfg_irq;
// The Exec cycle of a management write / read, of an MMIO write (held
// while a doorbell waits), and of a management ENGINE_RESET write.
reg gx_wr;
reg gx_rd;
reg mx_wr;
reg gx_ereset;

// The engine's per-queue indices, side by side (queue q at bits 16q+15:16q).
@BUSES@
initial begin
    m_state = M_IDLE;
    m_addr = 15'd0;
    m_write = 1'b0;
    m_wdata = 32'd0;
    m_strb = 4'd0;
    m_wmask = 32'd0;
    m_rdata = 32'd0;
    g_state = G_IDLE;
    g_addr = 8'd0;
    g_write = 1'b0;
    g_wdata = 32'd0;
    g_rdata = 32'd0;
    dev_status = 8'd0;
    status_pending = 1'b0;
    config_gen = 8'd0;
    dev_feat_lo = 32'd0;
    dev_feat_hi = 32'd0;
    drv_feat_lo = 32'd0;
    drv_feat_hi = 32'd0;
    dfsel = 32'd0;
    drfsel = 32'd0;
    cfg_vector = 16'd0;
    queue_select = 16'd0;
    engine_ctrl = 4'd0;
    fw_status = 32'd0;
    fw_cnt0 = 32'd0;
    fw_cnt1 = 32'd0;
    g_qsel = 16'd0;
    devcfg_addr = 8'd0;
    cap_lo = 32'd0;
    cap_hi = 32'd0;
    cnt_shadow = 32'd0;
    err_evt_wait = 1'b0;
    eng_reset_pulse = 1'b0;
    qen = 0;
    qen_pend = 0;
    qreset = 0;
    qrun = 0;
    qstop = 0;
    qset = 0;
    set_la = 16'd0;
    set_ui = 16'd0;
    db_valid = 1'b0;
    db_queue = 16'd0;
    db_data = 32'd0;
    ev_rd = 5'd0;
    ev_wr = 5'd0;
    ev_lost = 1'b0;
    cfg_rd_m = 32'd0;
    cfg_rd_g = 32'd0;
    mx_ev = 1'b0;
    mx_ev_word = 32'd0;
    mx_isr = 1'b0;
    mx_msix = 1'b0;
    gx_cfg_irq = 1'b0;
    gx_wr = 1'b0;
    gx_rd = 1'b0;
    mx_wr = 1'b0;
    gx_ereset = 1'b0;
@INIT@end

// Each register is written by one block, and no block reads a register
// after it has written it: Verilator can then write most registers in
// place instead of through a shadow copy that costs two copies in every
// cycle. Where two sources write one register, the later statement wins,
// in the order of the rust-hdl model: management port, then MMIO port, then
// engine reset, then reset.

// ---------------- management port ----------------
always @(posedge clock) begin
    eng_reset_pulse <= @ERESET@ || reset;
    case (g_state)
    G_EXEC: begin
        g_state <= G_RESP;
        gx_cfg_irq <= 1'b0;
        gx_wr <= 1'b0;
        gx_rd <= 1'b0;
        gx_ereset <= 1'b0;
        if (g_write) begin
            g_rdata <= 32'd0;
        end else begin
            case (g_addr)
            8'd0: g_rdata <= @MAGIC@;
            8'd1: g_rdata <= @PERS@;
            8'd2: g_rdata <= @NQ@;
            8'd3: g_rdata <= @QMAX@;
            8'd4: g_rdata <= (ev_wr != ev_rd) ? ev_mem[ev_rd[3:0]] : 32'd0;
            8'd5: g_rdata <= {27'd0, ev_wr - ev_rd};
            8'd8: g_rdata <= {24'd0, dev_status};
            8'd9: g_rdata <= {24'd0, config_gen};
            8'd10: g_rdata <= dev_feat_lo;
            8'd11: g_rdata <= dev_feat_hi;
            8'd12: g_rdata <= drv_feat_lo;
            8'd13: g_rdata <= drv_feat_hi;
            8'd14: g_rdata <= {16'd0, cfg_vector};
            8'd16: g_rdata <= {28'd0, engine_ctrl};
            8'd17: g_rdata <= {29'd0, ev_lost, error, idle};
            8'd18: g_rdata <= {24'd0, error_cause};
            8'd19: g_rdata <= {24'd0, error_queue};
            8'd20: g_rdata <= error_detail;
            8'd23: g_rdata <= fw_status;
            8'd32: g_rdata <= {16'd0, g_qsel};
            8'd33: g_rdata <= (@T_OK@) ? {16'd0, qsize[@TI@]} : 32'd0;
            8'd34: g_rdata <= (@T_OK@) ? {16'd0, qvec[@TI@]} : 32'd0;
            8'd35: g_rdata <= (@T_OK@) ? qdesc[@TI@][31:0] : 32'd0;
            8'd36: g_rdata <= (@T_OK@) ? qdesc[@TI@][63:32] : 32'd0;
            8'd37: g_rdata <= (@T_OK@) ? qavail[@TI@][31:0] : 32'd0;
            8'd38: g_rdata <= (@T_OK@) ? qavail[@TI@][63:32] : 32'd0;
            8'd39: g_rdata <= (@T_OK@) ? qused[@TI@][31:0] : 32'd0;
            8'd40: g_rdata <= (@T_OK@) ? qused[@TI@][63:32] : 32'd0;
            8'd41: g_rdata <= (@T_OK@) ? {31'd0, qen[@TI@]} : 32'd0;
            8'd42: g_rdata <= (@T_OK@) ? {31'd0, qrun[@TI@]} : 32'd0;
            8'd43: g_rdata <= (@T_OK@) ? {16'd0, la_bus[@TI@*16 +: 16]} : 32'd0;
            8'd44: g_rdata <= (@T_OK@) ? {16'd0, ui_bus[@TI@*16 +: 16]} : 32'd0;
            8'd45: g_rdata <= (@T_OK@) ? {16'd0, infl_bus[@TI@*16 +: 16]} : 32'd0;
            8'd48: g_rdata <= {24'd0, devcfg_addr};
            8'd49: g_rdata <= cfg_rd_g;
            8'd70: g_rdata <= fw_cnt0;
            8'd71: g_rdata <= fw_cnt1;
            8'd72: g_rdata <= cnt_requests[31:0];
            8'd73: g_rdata <= cnt_bytes_read[31:0];
            8'd74: g_rdata <= cnt_bytes_written[31:0];
            8'd75: g_rdata <= cnt_notifies[31:0];
            8'd76: g_rdata <= interrupts[31:0];
            8'd77: g_rdata <= cnt_dma_errors[31:0];
            default: g_rdata <= 32'd0;
            endcase
        end
    end
    G_WAIT: begin
        g_state <= G_EXEC;
        cfg_rd_g <= cfg_mem[devcfg_addr[7:2]];
        gx_cfg_irq <= g_write && (g_addr == 8'd22) && g_wdata[0];
        gx_wr <= g_write;
        gx_rd <= !g_write;
        gx_ereset <= g_write && (g_addr == 8'd21) && g_wdata[0];
    end
    G_IDLE: begin
        if (mgmt_req_valid) g_state <= G_WAIT;
    end
    default: begin
        if (mgmt_resp_ready) g_state <= G_IDLE;
    end
    endcase
    if (reset) begin
        g_state <= G_IDLE;
        gx_cfg_irq <= 1'b0;
        gx_wr <= 1'b0;
        gx_rd <= 1'b0;
        gx_ereset <= 1'b0;
    end
end

// The management request, latched when taken.
always @(posedge clock) begin
    if ((g_state == G_IDLE) && mgmt_req_valid) begin
        g_addr <= mgmt_req_addr;
        g_write <= mgmt_req_write;
        g_wdata <= mgmt_req_wdata;
    end
end

// Registers only the management port writes.
always @(posedge clock) begin
    if (gx_wr) begin
        case (g_addr)
        8'd8: dev_status <= g_wdata[7:0];
        8'd9: config_gen <= g_wdata[7:0];
        8'd10: dev_feat_lo <= g_wdata;
        8'd11: dev_feat_hi <= g_wdata;
        8'd16: engine_ctrl <= g_wdata[3:0];
        8'd23: fw_status <= g_wdata;
        8'd32: g_qsel <= g_wdata[15:0];
        8'd48: devcfg_addr <= g_wdata[7:0];
        8'd49: begin
            cfg_mem[devcfg_addr[7:2]] <= g_wdata;
            if (devcfg_addr[7:2] == 6'd0) cap_lo <= g_wdata;
            if (devcfg_addr[7:2] == 6'd1) cap_hi <= g_wdata;
        end
        8'd70: fw_cnt0 <= g_wdata;
        8'd71: fw_cnt1 <= g_wdata;
        default: ;
        endcase
    end
    if (reset) begin
        dev_status <= 8'd0;
        config_gen <= 8'd0;
        dev_feat_lo <= 32'd0;
        dev_feat_hi <= 32'd0;
        engine_ctrl <= 4'd0;
        fw_status <= 32'd0;
        fw_cnt0 <= 32'd0;
        fw_cnt1 <= 32'd0;
        g_qsel <= 16'd0;
        devcfg_addr <= 8'd0;
        cap_lo <= 32'd0;
        cap_hi <= 32'd0;
    end
end

// Queue enable and run: the management port.
always @(posedge clock) begin
    if (gx_wr) begin
        if ((@T_OK@) && (g_addr == 8'h29)) qen[@TI@] <= g_wdata[0];
        if ((@T_OK@) && (g_addr == 8'h2A)) qrun[@TI@] <= g_wdata[0];
    end
    if ((@ERESET@) || reset) begin
        qen <= 0;
        qrun <= 0;
    end
end

// ---------------- MMIO port ----------------
always @(posedge clock) begin
    case (m_state)
    M_EXEC: begin
        mx_ev <= 1'b0;
        mx_isr <= 1'b0;
        mx_msix <= 1'b0;
        if (m_write) begin
            // A doorbell waits for the slot: MMIO back-pressure.
            if (!((m_addr[14:12] == 3'd3) && (m_addr[11:0] < 12'd@DBEND@) && (m_addr[1:0] == 2'd0) && db_valid)) begin
                m_state <= M_IDLE;
                mx_wr <= 1'b0;
            end
        end else if (!((m_addr[14:12] == 3'd0)
                && (((m_addr[11:0] == 12'd20) && m_strb[0] && status_pending)
                    || ((m_addr[11:0] == 12'd28) && (m_strb[1:0] != 2'd0) && (@S_OK@) && qen_pend[@SI@])))) begin
            // A read, unless held for the firmware's answer (status write,
            // queue enable).
            m_state <= M_RESP;
            m_rdata <= 32'd0;
            case (m_addr[14:12])
            3'd0: begin
                case (m_addr[11:0])
                12'd0: m_rdata <= dfsel;
                12'd4: begin
                    if (dfsel == 32'd0) m_rdata <= dev_feat_lo;
                    else if (dfsel == 32'd1) m_rdata <= dev_feat_hi;
                end
                12'd8: m_rdata <= drfsel;
                12'd12: begin
                    if (drfsel == 32'd0) m_rdata <= drv_feat_lo;
                    else if (drfsel == 32'd1) m_rdata <= drv_feat_hi;
                end
                12'd16: m_rdata <= {@NQ16@, cfg_vector};
                12'd20: m_rdata <= {queue_select, config_gen, dev_status};
                12'd24: if (@S_OK@) m_rdata <= {qvec[@SI@], qsize[@SI@]};
                12'd28: if (@S_OK@) m_rdata <= {queue_select, 15'd0, qen[@SI@]};
                12'd32: if (@S_OK@) m_rdata <= qdesc[@SI@][31:0];
                12'd36: if (@S_OK@) m_rdata <= qdesc[@SI@][63:32];
                12'd40: if (@S_OK@) m_rdata <= qavail[@SI@][31:0];
                12'd44: if (@S_OK@) m_rdata <= qavail[@SI@][63:32];
                12'd48: if (@S_OK@) m_rdata <= qused[@SI@][31:0];
                12'd52: if (@S_OK@) m_rdata <= qused[@SI@][63:32];
                12'd56: if (@S_OK@) m_rdata <= {15'd0, qreset[@SI@], queue_select};
                default: ;
                endcase
            end
            3'd1: if (m_addr[11:0] == 12'd0) m_rdata <= {30'd0, isr};
            3'd2: if (m_addr[11:0] < 12'h100) m_rdata <= cfg_rd_m;
            3'd4: begin
                case (m_addr[11:0])
                12'd0: m_rdata <= @MAGIC@;
                12'd4: m_rdata <= 32'd1;
                12'd8: m_rdata <= @NQ@;
                12'd12: m_rdata <= fw_status;
                12'd16: m_rdata <= {24'd0, error_cause};
                12'd20: m_rdata <= {24'd0, error_queue};
                12'd24: m_rdata <= error_detail;
                12'd64: m_rdata <= cnt_requests[31:0];
                12'd72: m_rdata <= cnt_bytes_read[31:0];
                12'd80: m_rdata <= cnt_bytes_written[31:0];
                12'd88: m_rdata <= cnt_notifies[31:0];
                12'd96: m_rdata <= interrupts[31:0];
                12'd104: m_rdata <= cnt_dma_errors[31:0];
                12'd112: m_rdata <= fw_cnt0;
                12'd120: m_rdata <= fw_cnt1;
                default: begin
                    // High dwords: the value latched when the low dword was
                    // read, so a 64-bit counter reads consistently low then high.
                    if ((m_addr[11:0] >= 12'h040) && (m_addr[11:0] < 12'h080) && m_addr[2]) m_rdata <= cnt_shadow;
                end
                endcase
                if (@V_OK@) begin
                    if (m_addr[3:0] == 4'd0) m_rdata <= {30'd0, qstop[@VI@] && (infl_bus[@VI@*16 +: 16] == 16'd0), qstop[@VI@]};
                    else if (m_addr[3:0] == 4'd4) m_rdata <= {ui_bus[@VI@*16 +: 16], la_bus[@VI@*16 +: 16]};
                    else if (m_addr[3:0] == 4'd8) m_rdata <= {16'd0, infl_bus[@VI@*16 +: 16]};
                end
                case (m_addr[11:0])
                12'h040: cnt_shadow <= cnt_requests[63:32];
                12'h048: cnt_shadow <= cnt_bytes_read[63:32];
                12'h050: cnt_shadow <= cnt_bytes_written[63:32];
                12'h058: cnt_shadow <= cnt_notifies[63:32];
                12'h060: cnt_shadow <= interrupts[63:32];
                12'h068: cnt_shadow <= cnt_dma_errors[63:32];
                12'h070: cnt_shadow <= 32'd0;
                12'h078: cnt_shadow <= 32'd0;
                default: ;
                endcase
            end
            3'd5: if (m_addr[11:0] < 12'h080) m_rdata <= msix_table_rdata;
            3'd6: if (m_addr[11:0] == 12'd0) m_rdata <= {@PBAPAD@msix_pba};
            default: ;
            endcase
        end
    end
    M_WAIT: begin
        m_state <= M_EXEC;
        mx_wr <= m_write;
        cfg_rd_m <= cfg_mem[m_addr[7:2]];
        mx_isr <= !m_write && (m_addr[14:12] == 3'd1) && (m_addr[11:0] == 12'd0) && m_strb[0];
        mx_msix <= m_write && (m_addr[14:12] == 3'd5) && (m_addr[11:0] < 12'h080);
        // The event a driver write raises.
        mx_ev <= 1'b0;
        if (m_write && (m_addr[14:12] == 3'd0)) begin
            case (m_addr[11:0])
            12'h00C: begin
                if (drfsel == 32'd0) begin
                    mx_ev <= 1'b1;
                    mx_ev_word <= 32'd6;
                end else if (drfsel == 32'd1) begin
                    mx_ev <= 1'b1;
                    mx_ev_word <= 32'h00010006;
                end
            end
            12'h014: begin
                if (m_strb[0]) begin
                    mx_ev <= 1'b1;
                    mx_ev_word <= {8'd0, m_wdata[7:0], 16'd1};
                end
            end
            12'h01C: begin
                if ((m_strb[1:0] != 2'd0) && (@S_OK@)) begin
                    mx_ev <= 1'b1;
                    mx_ev_word <= {m_wdata[15:0], queue_select[7:0], 8'd2};
                end
            end
            12'h038: begin
                if ((m_strb[3:2] != 2'd0) && (@S_OK@) && m_wdata[16]) begin
                    mx_ev <= 1'b1;
                    mx_ev_word <= {16'd1, queue_select[7:0], 8'd3};
                end
            end
            default: ;
            endcase
        end
        if (m_write && (m_addr[14:12] == 3'd4) && (@V_OK@) && (m_addr[3:0] == 4'd0) && m_strb[0]) begin
            mx_ev <= 1'b1;
            mx_ev_word <= {m_wdata[15:0], 4'd0, m_addr[7:4], 8'd5};
        end
    end
    M_IDLE: begin
        if (mmio_req_valid) m_state <= M_WAIT;
    end
    default: begin
        if (mmio_resp_ready) m_state <= M_IDLE;
    end
    endcase
    // Device-wide registers the driver writes (status_pending: the
    // firmware clears it). After the case above: nothing reads them later
    // in this block.
    if (gx_wr) begin
        if (g_addr == 8'd8) status_pending <= 1'b0;
    end
    if (mx_wr) begin
        if (m_addr[14:12] == 3'd0) case (m_addr[11:0])
        12'h00C: begin
            if (drfsel == 32'd0) drv_feat_lo <= (drv_feat_lo & ~m_wmask) | (m_wdata & m_wmask);
            else if (drfsel == 32'd1) drv_feat_hi <= (drv_feat_hi & ~m_wmask) | (m_wdata & m_wmask);
        end
        12'h000: dfsel <= (dfsel & ~m_wmask) | (m_wdata & m_wmask);
        12'h008: drfsel <= (drfsel & ~m_wmask) | (m_wdata & m_wmask);
        12'h010: begin
            // 4.1.5.1.2: a vector the table lacks reads NO_VECTOR.
            if (m_strb[1:0] != 2'd0) begin
                cfg_vector <= (((cfg_vector & ~m_wmask[15:0]) | (m_wdata[15:0] & m_wmask[15:0])) < 16'd@NV@)
                    ? ((cfg_vector & ~m_wmask[15:0]) | (m_wdata[15:0] & m_wmask[15:0]))
                    : 16'hFFFF;
            end
        end
        12'h014: begin
            if (m_strb[0]) status_pending <= 1'b1;
            if (m_strb[3:2] != 2'd0) queue_select <= (queue_select & ~m_wmask[31:16]) | (m_wdata[31:16] & m_wmask[31:16]);
        end
        default: ;
        endcase
    end
    if (@ERESET@) begin
        drv_feat_lo <= 32'd0;
        drv_feat_hi <= 32'd0;
        cfg_vector <= 16'hFFFF;
    end
    if (reset) begin
        status_pending <= 1'b0;
        drv_feat_lo <= 32'd0;
        drv_feat_hi <= 32'd0;
        dfsel <= 32'd0;
        drfsel <= 32'd0;
        cfg_vector <= 16'hFFFF;
        queue_select <= 16'd0;
    end
    // Doorbell slot: filled by a notify write, emptied on its handshake
    // (never both: a notify write waits while the slot is full).
    if (mx_wr) begin
        if ((m_addr[14:12] == 3'd3) && (m_addr[11:0] < 12'd@DBEND@) && (m_addr[1:0] == 2'd0) && !db_valid) begin
            db_queue <= {6'd0, m_addr[11:2]};
            db_data <= m_wdata & m_wmask;
        end
    end
    if ((mx_wr && (m_addr[14:12] == 3'd3) && (m_addr[11:0] < 12'd@DBEND@) && (m_addr[1:0] == 2'd0) && !db_valid)
            || (db_valid && doorbell_ready)) begin
        db_valid <= !db_valid;
    end
    if ((@ERESET@) || reset) db_valid <= 1'b0;
    if (reset) begin
        m_state <= M_IDLE;
        mx_wr <= 1'b0;
        mx_ev <= 1'b0;
        mx_isr <= 1'b0;
        mx_msix <= 1'b0;
    end
end

// The MMIO request, latched when taken.
always @(posedge clock) begin
    if ((m_state == M_IDLE) && mmio_req_valid) begin
        m_addr <= mmio_req_addr;
        m_write <= mmio_req_write;
        m_wdata <= mmio_req_wdata;
        m_strb <= mmio_req_strb;
        m_wmask <= {{8{mmio_req_strb[3]}}, {8{mmio_req_strb[2]}}, {8{mmio_req_strb[1]}}, {8{mmio_req_strb[0]}}};
    end
end

// Per-queue configuration, enable handshake and vendor stop.
always @(posedge clock) begin
    if (gx_wr) begin
        if ((@T_OK@) && (g_addr == 8'h29)) begin
            qen_pend[@TI@] <= 1'b0;
            if (!g_wdata[0]) qreset[@TI@] <= 1'b0;
        end
    end
    if (mx_wr) begin
        if ((m_addr[14:12] == 3'd0) && (@S_OK@)) begin
            if ((m_addr[11:0] == 12'h01C) && (m_strb[1:0] != 2'd0)) qen_pend[@SI@] <= 1'b1;
            if ((m_addr[11:0] == 12'h038) && (m_strb[3:2] != 2'd0) && m_wdata[16]) qreset[@SI@] <= 1'b1;
            // Per-queue configuration: ignored while the queue is enabled.
            if (!qen[@SI@]) begin
                case (m_addr[11:0])
                12'h018: begin
                    qsize[@SI@] <= (qsize[@SI@] & ~m_wmask[15:0]) | (m_wdata[15:0] & m_wmask[15:0]);
                    qvec[@SI@] <= (((qvec[@SI@] & ~m_wmask[31:16]) | (m_wdata[31:16] & m_wmask[31:16])) >= 16'd@NV@)
                        ? 16'hFFFF
                        : ((qvec[@SI@] & ~m_wmask[31:16]) | (m_wdata[31:16] & m_wmask[31:16]));
                end
                12'h020: qdesc[@SI@] <= {qdesc[@SI@][63:32], (qdesc[@SI@][31:0] & ~m_wmask) | (m_wdata & m_wmask)};
                12'h024: qdesc[@SI@] <= {(qdesc[@SI@][63:32] & ~m_wmask) | (m_wdata & m_wmask), qdesc[@SI@][31:0]};
                12'h028: qavail[@SI@] <= {qavail[@SI@][63:32], (qavail[@SI@][31:0] & ~m_wmask) | (m_wdata & m_wmask)};
                12'h02C: qavail[@SI@] <= {(qavail[@SI@][63:32] & ~m_wmask) | (m_wdata & m_wmask), qavail[@SI@][31:0]};
                12'h030: qused[@SI@] <= {qused[@SI@][63:32], (qused[@SI@][31:0] & ~m_wmask) | (m_wdata & m_wmask)};
                12'h034: qused[@SI@] <= {(qused[@SI@][63:32] & ~m_wmask) | (m_wdata & m_wmask), qused[@SI@][31:0]};
                default: ;
                endcase
            end
        end
        if ((m_addr[14:12] == 3'd4) && (@V_OK@) && (m_addr[3:0] == 4'd0) && m_strb[0]) qstop[@VI@] <= m_wdata[0];
    end
    if ((@ERESET@) || reset) begin
        qen_pend <= 0;
        qreset <= 0;
        qstop <= 0;
@QCLEAR@    end
end

// Ring index loads: the firmware's (only while the engine may not fetch),
// then the driver's vendor write (only while stopped, nothing in flight).
always @(posedge clock) begin
    qset <= 0;
    if (gx_wr) begin
        if ((@T_OK@) && (g_addr == 8'h2B) && !(qrun[@TI@] && !qstop[@TI@])) begin
            qset[@TI@] <= 1'b1;
            set_la <= g_wdata[15:0];
            set_ui <= ui_bus[@TI@*16 +: 16];
        end
        if ((@T_OK@) && (g_addr == 8'h2C) && !(qrun[@TI@] && !qstop[@TI@])) begin
            qset[@TI@] <= 1'b1;
            set_la <= la_bus[@TI@*16 +: 16];
            set_ui <= g_wdata[15:0];
        end
    end
    if (mx_wr) begin
        if ((m_addr[14:12] == 3'd4) && (@V_OK@) && (m_addr[3:0] == 4'd4) && qstop[@VI@]
                && (infl_bus[@VI@*16 +: 16] == 16'd0)) begin
            qset[@VI@] <= 1'b1;
            set_la <= (la_bus[@VI@*16 +: 16] & ~m_wmask[15:0]) | (m_wdata[15:0] & m_wmask[15:0]);
            set_ui <= (ui_bus[@VI@*16 +: 16] & ~m_wmask[31:16]) | (m_wdata[31:16] & m_wmask[31:16]);
        end
    end
    if (reset) qset <= 0;
end

// ---------------- events ----------------
// The function's events come last: the driver's and the error's cannot
// wait. A push into a full FIFO is dropped and sets the overflow flag.
always @(posedge clock) begin
    if (mx_ev || err_evt_wait || ext_event_valid) begin
        if ((ev_wr ^ ev_rd) != 5'b10000) begin
            ev_mem[ev_wr[3:0]] <= mx_ev ? mx_ev_word
                : (err_evt_wait ? {8'd0, error_cause, error_queue, 8'd4} : ext_event_word);
            ev_wr <= ev_wr + 5'd1;
        end else begin
            ev_lost <= 1'b1;
        end
    end
    if (!mx_ev && err_evt_wait) err_evt_wait <= 1'b0;
    if (error_pulse) err_evt_wait <= 1'b1;
    if (@ERESET@) ev_lost <= 1'b0;
    if (reset) begin
        ev_wr <= 5'd0;
        ev_lost <= 1'b0;
        err_evt_wait <= 1'b0;
    end
end

// EVENT reads pop the head.
always @(posedge clock) begin
    if (gx_rd) begin
        if ((g_addr == 8'd4) && (ev_wr != ev_rd)) ev_rd <= ev_rd + 5'd1;
    end
    if (reset) ev_rd <= 5'd0;
end

// ---------------- outputs: wires of state ----------------
always @(*) mmio_req_ready = (m_state == M_IDLE);
always @(*) mmio_resp_valid = (m_state == M_RESP);
always @(*) mmio_resp_rdata = m_rdata;
always @(*) mgmt_req_ready = (g_state == G_IDLE);
always @(*) mgmt_resp_valid = (g_state == G_RESP);
always @(*) mgmt_resp_rdata = g_rdata;
@OUTS@always @(*) q_set_last_avail = set_la;
always @(*) q_set_used = set_ui;
always @(*) dma_enable = engine_ctrl[0] && bus_master;
always @(*) event_idx = engine_ctrl[1];
always @(*) notification_data = engine_ctrl[2];
always @(*) indirect_enable = engine_ctrl[3];
always @(*) engine_reset = eng_reset_pulse;
always @(*) msix_clear = eng_reset_pulse;
always @(*) config_vector = cfg_vector;
always @(*) blk_capacity = {cap_hi, cap_lo};
always @(*) doorbell_valid = db_valid;
always @(*) doorbell_queue = db_queue;
always @(*) doorbell_data = db_data;
always @(*) msix_reg_addr = m_addr[6:2];
always @(*) msix_reg_write = mx_msix;
always @(*) msix_reg_wdata = m_wdata;
always @(*) msix_reg_strb = m_strb;
always @(*) isr_read_clear = mx_isr;
always @(*) config_irq = gx_cfg_irq;
always @(*) ext_event_ready = !mx_ev && !err_evt_wait;
always @(*) attention = (ev_wr != ev_rd);
always @(*) busy = (m_state != M_IDLE) || db_valid || (ev_wr != ev_rd) || err_evt_wait
    || eng_reset_pulse || (qset != 0);
";

/// Bits that index `nq` queues (at least one).
fn index_bits(nq: usize) -> usize {
    (usize::BITS - (nq.max(2) - 1).leading_zeros()) as usize
}

/// The module body for `nq` queues.
pub(super) fn verilog(nq: usize) -> String {
    assert!((1..=vendor::MAX_QUEUES as usize).contains(&nq));
    let qibm = index_bits(nq) - 1;
    let mut buses = String::new();
    for (bus, port) in [
        ("la_bus", "q_last_avail"),
        ("ui_bus", "q_used_idx"),
        ("infl_bus", "q_inflight"),
    ] {
        let parts: Vec<String> = (0..nq).rev().map(|i| format!("{port}${i}")).collect();
        buses.push_str(&format!(
            "wire [{}:0] {bus} = {{{}}};\n",
            16 * nq - 1,
            parts.join(", ")
        ));
    }
    let mut init = String::new();
    for i in 0..nq {
        init.push_str(&format!(
            "    qsize[{i}] = 16'd0;\n    qvec[{i}] = 16'd0;\n    qdesc[{i}] = 64'd0;\n    qavail[{i}] = 64'd0;\n    qused[{i}] = 64'd0;\n"
        ));
    }
    for i in 0..16 {
        init.push_str(&format!("    ev_mem[{i}] = 32'd0;\n"));
    }
    for i in 0..DEVCFG_WORDS {
        init.push_str(&format!("    cfg_mem[{i}] = 32'd0;\n"));
    }
    let mut qclear = String::new();
    for i in 0..nq {
        qclear.push_str(&format!(
            "        qsize[{i}] <= 16'd{QMAX};\n        qvec[{i}] <= 16'hFFFF;\n        qdesc[{i}] <= 64'd0;\n        qavail[{i}] <= 64'd0;\n        qused[{i}] <= 64'd0;\n"
        ));
    }
    let mut outs = String::new();
    for i in 0..nq {
        outs.push_str(&format!(
            "always @(*) q_desc${i} = qdesc[{i}];\nalways @(*) q_avail${i} = qavail[{i}];\nalways @(*) q_used${i} = qused[{i}];\nalways @(*) q_size${i} = qsize[{i}];\nalways @(*) q_vector${i} = qvec[{i}];\nalways @(*) q_run${i} = qrun[{i}] && !qstop[{i}];\nalways @(*) q_set_idx${i} = qset[{i}];\n"
        ));
    }
    let pba_pad = if NV < 32 {
        format!("{}'d0, ", 32 - NV)
    } else {
        String::new()
    };
    TEMPLATE
        .replace("@BUSES@", &buses)
        .replace("@INIT@", &init)
        .replace("@QCLEAR@", &qclear)
        .replace("@OUTS@", &outs)
        .replace("@PBAPAD@", &pba_pad)
        .replace("@ERESET@", "(gx_ereset && idle)")
        .replace("@S_OK@", &format!("queue_select < 16'd{nq}"))
        .replace("@T_OK@", &format!("g_qsel < 16'd{nq}"))
        .replace(
            "@V_OK@",
            &format!("(m_addr[11:8] == 4'd1) && (m_addr[7:4] < 4'd{nq})"),
        )
        .replace("@SI@", &format!("queue_select[{qibm}:0]"))
        .replace("@TI@", &format!("g_qsel[{qibm}:0]"))
        .replace("@VI@", &format!("m_addr[{}:4]", 4 + qibm))
        .replace("@NQM@", &(nq - 1).to_string())
        .replace("@NQ16@", &format!("16'd{nq}"))
        .replace("@NQ@", &format!("32'd{nq}"))
        .replace("@NV@", &NV.to_string())
        .replace("@QMAX@", &format!("32'd{QMAX}"))
        .replace("@DBEND@", &(4 * nq).to_string())
        .replace("@MAGIC@", &format!("32'h{:08X}", vendor::MAGIC_VALUE))
        .replace("@PERS@", &format!("32'd{}", Personality::Blk.device_type()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_index_bits_cover_every_queue() {
        assert_eq!(index_bits(1), 1);
        assert_eq!(index_bits(2), 1);
        assert_eq!(index_bits(3), 2);
        assert_eq!(index_bits(5), 3);
        assert_eq!(index_bits(8), 3);
    }

    #[test]
    fn every_template_token_is_replaced() {
        for nq in 1..=vendor::MAX_QUEUES as usize {
            let v = verilog(nq);
            // Tokens are `@NAME@`; Verilog's own `@` is followed by `(` or `*`.
            let left = v
                .match_indices('@')
                .filter(|(i, _)| v[i + 1..].starts_with(|c: char| c.is_ascii_uppercase()))
                .count();
            assert_eq!(left, 0, "nq {nq}");
        }
    }
}
