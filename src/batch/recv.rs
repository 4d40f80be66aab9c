//! The receive side: one `recvmmsg` into a reused arena, then each message decoded (its peer,
//! its control messages through crate::batch::cmsg, its GRO segments split back into the
//! datagrams the sender sent).

use std::io;
use std::mem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::RawFd;

use super::cmsg::{self, ControlBuf, RECV_CONTROL};
use super::{retry_if_interrupted, syscall};

/// Datagrams read by one `recvmmsg`. 64 keeps the arena at 4 MiB of address space (touched only
/// as far as datagrams reach) while amortising the syscall well past the point of diminishing
/// returns on loopback (chosen by measurement: 32 and 64 were within noise, 16 was slower).
pub const RECV_BATCH: usize = 64;

/// One receive slot holds any UDP payload (the largest IPv4/IPv6 datagram is 65,535 bytes less
/// headers), so nothing is ever truncated, as with libuv's 64 KiB buffers.
pub const SLOT_SIZE: usize = 64 * 1024;

/// Reusable storage for one `recvmmsg` call: payload slots, peer addresses and the headers that
/// point at them. It holds raw pointers into itself, so it stays on the thread that made it.
pub struct RecvArena {
    slots: Vec<u8>,
    controls: Vec<ControlBuf>,
    names: Vec<libc::sockaddr_storage>,
    iovecs: Vec<libc::iovec>,
    headers: Vec<libc::mmsghdr>,
    received: usize,
}

// SAFETY: the raw pointers in `iovecs` and `headers` point only into the arena's own heap
// buffers (which move with it) and are rewritten before every `recvmmsg`; the arena is used by
// one thread at a time (`&mut self`), so moving it to the reactor thread is sound.
unsafe impl Send for RecvArena {}

impl Default for RecvArena {
    fn default() -> Self {
        Self::new()
    }
}

impl RecvArena {
    pub fn new() -> RecvArena {
        RecvArena {
            slots: vec![0u8; RECV_BATCH * SLOT_SIZE],
            controls: vec![ControlBuf([0; RECV_CONTROL]); RECV_BATCH],
            // SAFETY: sockaddr_storage, iovec and mmsghdr are plain C data for which all-zero
            // bytes are a valid value.
            names: vec![unsafe { mem::zeroed() }; RECV_BATCH],
            iovecs: vec![unsafe { mem::zeroed() }; RECV_BATCH],
            headers: vec![unsafe { mem::zeroed() }; RECV_BATCH],
            received: 0,
        }
    }

    /// Reads up to `max` (at most RECV_BATCH) messages from a non-blocking socket. `Ok(0)` never
    /// happens for UDP: an empty queue is `Err(WouldBlock)`.
    pub fn recv(&mut self, fd: RawFd, max: usize) -> io::Result<usize> {
        self.received = 0;
        let max = max.clamp(1, RECV_BATCH);
        let slots = self.slots.as_mut_ptr();
        for i in 0..max {
            // SAFETY: slot i lies inside `slots` (RECV_BATCH * SLOT_SIZE bytes).
            let base = unsafe { slots.add(i * SLOT_SIZE) };
            self.iovecs[i] = libc::iovec { iov_base: base.cast(), iov_len: SLOT_SIZE };
            let header = &mut self.headers[i];
            header.msg_hdr.msg_name = (&mut self.names[i] as *mut libc::sockaddr_storage).cast();
            header.msg_hdr.msg_namelen = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            header.msg_hdr.msg_iov = &mut self.iovecs[i];
            header.msg_hdr.msg_iovlen = 1;
            header.msg_hdr.msg_control = self.controls[i].0.as_mut_ptr().cast();
            header.msg_hdr.msg_controllen = RECV_CONTROL as _;
            header.msg_hdr.msg_flags = 0;
            header.msg_len = 0;
        }
        // SAFETY: every header points at memory owned by `self` that stays alive and unaliased for
        // the duration of the call; the count passed is the headers' length.
        let count = retry_if_interrupted(|| {
            syscall!(unsafe {
                libc::recvmmsg(fd, self.headers.as_mut_ptr(), max as libc::c_uint, 0, std::ptr::null_mut())
            })
        })?;
        self.received = count.min(max);
        Ok(self.received)
    }

    /// Message `i` of the last `recv`: its payload (several datagrams back to back when GRO
    /// coalesced them), sender and control data.
    pub fn message(&self, i: usize) -> RecvMessage<'_> {
        debug_assert!(i < self.received);
        let header = &self.headers[i];
        let len = (header.msg_len as usize).min(SLOT_SIZE);
        let start = i * SLOT_SIZE;
        let peer = decode_sockaddr(&self.names[i], header.msg_hdr.msg_namelen);
        // SAFETY: msg_control points at this slot's ControlBuf, which `recv` gave the kernel with
        // msg_controllen RECV_CONTROL; the kernel set msg_controllen to what it filled.
        let control = unsafe { cmsg::decode_received(&header.msg_hdr, len) };
        RecvMessage {
            payload: &self.slots[start..start + len],
            peer,
            segment_size: control.segment_size,
            local: control.local,
            timestamp: control.timestamp,
        }
    }
}

/// One message of a `recvmmsg`: with GRO it holds several datagrams of `segment_size` bytes
/// (the last may be shorter), which `segments()` splits back exactly.
pub struct RecvMessage<'a> {
    pub payload: &'a [u8],
    pub peer: Option<SocketAddr>,
    pub segment_size: Option<usize>,
    /// The local (destination) address and the index of the interface it arrived on.
    pub local: Option<(IpAddr, u32)>,
    /// When the kernel received it: seconds and nanoseconds since the Unix epoch.
    pub timestamp: Option<(i64, u32)>,
}

impl<'a> RecvMessage<'a> {
    /// The datagrams as the sender sent them.
    pub fn segments(&self) -> impl Iterator<Item = &'a [u8]> {
        let payload = self.payload;
        let size = self.segment_size.unwrap_or(payload.len()).max(1);
        let count = if payload.is_empty() { 1 } else { payload.len().div_ceil(size) };
        (0..count).map(move |k| &payload[(k * size).min(payload.len())..((k + 1) * size).min(payload.len())])
    }
}

/// Turns a kernel-filled `sockaddr_storage` into a `SocketAddr` (IPv4 and IPv6 only).
pub fn decode_sockaddr(storage: &libc::sockaddr_storage, len: libc::socklen_t) -> Option<SocketAddr> {
    let len = len as usize;
    match storage.ss_family as libc::c_int {
        libc::AF_INET if len >= mem::size_of::<libc::sockaddr_in>() => {
            // SAFETY: the family says the storage holds a sockaddr_in, and it is long enough;
            // sockaddr_storage is aligned for every sockaddr type.
            let sin = unsafe { &*(storage as *const _ as *const libc::sockaddr_in) };
            let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
            Some(SocketAddr::V4(SocketAddrV4::new(ip, u16::from_be(sin.sin_port))))
        }
        libc::AF_INET6 if len >= mem::size_of::<libc::sockaddr_in6>() => {
            // SAFETY: as above, for sockaddr_in6.
            let sin6 = unsafe { &*(storage as *const _ as *const libc::sockaddr_in6) };
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            Some(SocketAddr::V6(SocketAddrV6::new(
                ip,
                u16::from_be(sin6.sin6_port),
                u32::from_be(sin6.sin6_flowinfo),
                sin6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}
