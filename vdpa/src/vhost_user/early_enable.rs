//! SET_VRING_ENABLE before SET_FEATURES, as QEMU's virtio-net sends it.
//!
//! QEMU's virtio-net enables a pair's vrings as soon as the guest picks its
//! features (`peer_attach`), before it sends SET_FEATURES to the backend,
//! and waits for the REPLY_ACK. The `vhost` crate refuses SET_VRING_ENABLE
//! until SET_FEATURES has acked VHOST_USER_F_PROTOCOL_FEATURES, and sends
//! no reply when it refuses: QEMU would wait forever. So the serve loop
//! peeks at each message first and takes this one itself: a fixed-size
//! message without file descriptors, so reading it here keeps the stream
//! in step with the crate.

use std::os::fd::RawFd;

use vhost::vhost_user::VhostUserBackendReqHandlerMut;

use super::VdpaBackend;

/// `VHOST_USER_SET_VRING_ENABLE`.
const SET_VRING_ENABLE: u32 = 18;
/// Header: request, flags, size (u32 each).
const HDR_LEN: usize = 12;
/// Body: `vhost_vring_state` (index, num).
const BODY_LEN: usize = 8;
/// Header flags: protocol version 1, reply, need reply.
const VERSION_1: u32 = 0x1;
const F_REPLY: u32 = 0x4;
const F_NEED_REPLY: u32 = 0x8;

/// Reads `buf.len()` bytes from the socket, with MSG_PEEK if `peek`.
fn recv_exact(fd: RawFd, buf: &mut [u8], peek: bool) -> std::io::Result<bool> {
    let flags = if peek {
        libc::MSG_PEEK | libc::MSG_WAITALL
    } else {
        libc::MSG_WAITALL
    };
    // SAFETY: `buf` is valid for writes of its length.
    let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), flags) };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(n as usize == buf.len())
}

/// If the next message on `fd` is a SET_VRING_ENABLE the `vhost` crate
/// would refuse (no SET_FEATURES with protocol features yet), handles it:
/// records the enable in `backend` and answers its REPLY_ACK. Returns
/// whether it did. Blocks until a header has arrived.
pub fn take_early_enable(fd: RawFd, backend: &mut VdpaBackend) -> std::io::Result<bool> {
    if backend.pairs().is_none() || backend.protocol_features_acked() {
        // Only QEMU's net device does this; blk's frontends get the crate's
        // own checks unchanged.
        return Ok(false);
    }
    let mut msg = [0u8; HDR_LEN + BODY_LEN];
    let mut hdr = [0u8; HDR_LEN];
    if !recv_exact(fd, &mut hdr, true)? {
        // Disconnected or short: let the crate see it.
        return Ok(false);
    }
    let word = |b: &[u8], i: usize| u32::from_le_bytes(b[4 * i..4 * i + 4].try_into().unwrap());
    let (request, flags, size) = (word(&hdr, 0), word(&hdr, 1), word(&hdr, 2));
    if request != SET_VRING_ENABLE || size as usize != BODY_LEN {
        return Ok(false);
    }
    if !recv_exact(fd, &mut msg, true)? {
        return Ok(false);
    }
    let (index, num) = (word(&msg, 3), word(&msg, 4));
    if num > 1 {
        // Malformed: the crate's own refusal (it hangs up) applies.
        return Ok(false);
    }
    if !recv_exact(fd, &mut msg, false)? {
        return Err(std::io::Error::other("short SET_VRING_ENABLE"));
    }
    let ok = backend.set_vring_enable(index, num == 1).is_ok();
    tracing::debug!(index, num, ok, "SET_VRING_ENABLE before SET_FEATURES");
    if flags & F_NEED_REPLY != 0 {
        let mut reply = [0u8; HDR_LEN + 8];
        reply[0..4].copy_from_slice(&SET_VRING_ENABLE.to_le_bytes());
        reply[4..8].copy_from_slice(&(VERSION_1 | F_REPLY).to_le_bytes());
        reply[8..12].copy_from_slice(&8u32.to_le_bytes());
        reply[12..20].copy_from_slice(&u64::from(!ok).to_le_bytes());
        // SAFETY: `reply` is valid for reads of its length.
        let n = unsafe { libc::send(fd, reply.as_ptr().cast(), reply.len(), libc::MSG_NOSIGNAL) };
        if n != reply.len() as isize {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(true)
}
