//! Batched datagram syscalls: `recvmmsg` and `sendmmsg`. All libc `unsafe` pointer work for the
//! data path lives here.
//!
//! Storage the kernel fills is allocated once (a `RecvArena` per reactor), pointed at, handed to
//! one syscall, then decoded. Nothing here allocates per datagram.

use std::io;
use std::mem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::RawFd;

use socket2::SockAddr;

use crate::socket;

/// Datagrams read by one `recvmmsg`. 64 keeps the arena at 4 MiB of address space (touched only
/// as far as datagrams reach) while amortising the syscall well past the point of diminishing
/// returns on loopback (chosen by measurement: 32 and 64 were within noise, 16 was slower).
pub const RECV_BATCH: usize = 64;

/// One receive slot holds any UDP payload (the largest IPv4/IPv6 datagram is 65,535 bytes less
/// headers), so nothing is ever truncated, as with libuv's 64 KiB buffers.
pub const SLOT_SIZE: usize = 64 * 1024;

/// Messages handed to one `sendmmsg`; the kernel caps a call at UIO_MAXIOV (1024).
const SEND_CHUNK: usize = 64;

/// iovecs available to one `sendmmsg` (a GSO message uses one per segment).
const SEND_IOVECS: usize = 256;

/// Linux socket option numbers that libc does not export on every target
/// (include/uapi/linux/udp.h and include/uapi/asm-generic/socket.h).
const SOL_UDP: libc::c_int = 17;
const UDP_SEGMENT: libc::c_int = 103;
const UDP_GRO: libc::c_int = 104;

/// Segments one GSO send may carry: UDP_MAX_SEGMENTS in include/linux/udp.h is 64 on the
/// kernels we support (newer ones allow 128).
const GSO_MAX_SEGMENTS: usize = 64;

/// Largest UDP payload of one IPv4 datagram (65,535 - 20 IP - 8 UDP): a GSO super-datagram must
/// fit in it as a whole.
const GSO_MAX_BYTES: usize = 65_507;

/// SO_TIMESTAMPNS (= SCM_TIMESTAMPNS) in include/uapi/asm-generic/socket.h: a `timespec` with
/// the time the kernel received each datagram.
const SO_TIMESTAMPNS: libc::c_int = 35;

/// Room for the control messages we may ask for on receive, each CMSG_SPACE'd: UDP_GRO (int, 24),
/// IPV6_PKTINFO (in6_pktinfo, 40) or IP_PKTINFO (32), SCM_TIMESTAMPNS (timespec, 32): 96 bytes at
/// most.
const RECV_CONTROL: usize = 128;

/// `struct in6_pktinfo` from include/uapi/linux/ipv6.h.
#[repr(C)]
struct In6Pktinfo {
    addr: libc::in6_addr,
    ifindex: libc::c_uint,
}

/// A control-message buffer aligned for `cmsghdr`.
#[derive(Clone, Copy)]
#[repr(C, align(8))]
struct ControlBuf([u8; RECV_CONTROL]);

/// Whether the kernel accepted UDP_SEGMENT so far; cleared for the process the first time it
/// refuses (EIO from a device without checksum offload, EINVAL/ENOPROTOOPT on older kernels), as
/// quinn-udp does. Also off when TURBO_DGRAM_GSO=off.
static GSO_ENABLED: once_cell::sync::Lazy<std::sync::atomic::AtomicBool> =
    once_cell::sync::Lazy::new(|| std::sync::atomic::AtomicBool::new(!switched_off("TURBO_DGRAM_GSO")));

pub fn gso_enabled() -> bool {
    GSO_ENABLED.load(std::sync::atomic::Ordering::Relaxed)
}

fn disable_gso() {
    GSO_ENABLED.store(false, std::sync::atomic::Ordering::Relaxed);
}

/// The value that switches on each of the flag options set here.
const ON: libc::c_int = 1;

/// Whether an A/B switch such as TURBO_DGRAM_GSO is set to `off` (or `0`).
fn switched_off(variable: &str) -> bool {
    std::env::var(variable).map(|v| v == "off" || v == "0").unwrap_or(false)
}

/// Opt-in receive metadata: the local address and interface each datagram arrived on
/// (IP_PKTINFO / IPV6_RECVPKTINFO) and the kernel's receive timestamp (SO_TIMESTAMPNS).
pub fn enable_receive_info(fd: RawFd, ipv6: bool, pktinfo: bool, timestamps: bool) -> io::Result<()> {
    if pktinfo {
        let (level, option) =
            if ipv6 { (libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO) } else { (libc::IPPROTO_IP, libc::IP_PKTINFO) };
        socket::set_raw_option(fd, level, option, &ON)?;
    }
    if timestamps {
        socket::set_raw_option(fd, libc::SOL_SOCKET, SO_TIMESTAMPNS, &ON)?;
    }
    Ok(())
}

/// Asks the kernel to coalesce same-flow datagrams (UDP_GRO; TURBO_DGRAM_GRO=off to compare). Best
/// effort: a kernel without it simply gives plain datagrams. (The drop counter is read when asked
/// for, with SO_MEMINFO: SO_RXQ_OVFL would put a control message on every datagram.)
pub fn enable_receive_offloads(fd: RawFd) {
    static GRO_ENABLED: once_cell::sync::Lazy<bool> = once_cell::sync::Lazy::new(|| !switched_off("TURBO_DGRAM_GRO"));
    if *GRO_ENABLED {
        let _ = socket::set_raw_option(fd, SOL_UDP, UDP_GRO, &ON);
    }
}

/// Calls `f` again while it fails with EINTR, the way quinn-udp wraps every syscall.
fn retry_if_interrupted(mut f: impl FnMut() -> libc::c_int) -> io::Result<usize> {
    loop {
        let rc = f();
        if rc >= 0 {
            return Ok(rc as usize);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

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
        let count = retry_if_interrupted(|| unsafe {
            libc::recvmmsg(
                fd,
                self.headers.as_mut_ptr(),
                max as libc::c_uint,
                0,
                std::ptr::null_mut(),
            )
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
        let mut message = RecvMessage {
            payload: &self.slots[start..start + len],
            peer,
            segment_size: None,
            local: None,
            timestamp: None,
        };
        // SAFETY: the kernel filled msg_control up to msg_controllen within our ControlBuf; the
        // CMSG_* helpers stay inside that length, and each value is read only from a message
        // whose cmsg_len covers it.
        unsafe {
            let mut cmsg = libc::CMSG_FIRSTHDR(&header.msg_hdr);
            while !cmsg.is_null() {
                let c = &*cmsg;
                let data = libc::CMSG_DATA(cmsg);
                // Whether the message carries at least a `T` (a short one is skipped, not read).
                let holds = |size: usize| c.cmsg_len as usize >= libc::CMSG_LEN(size as u32) as usize;
                match (c.cmsg_level, c.cmsg_type) {
                    _ if !holds(0) => {}
                    (SOL_UDP, UDP_GRO) if holds(std::mem::size_of::<libc::c_int>()) => {
                        let size = std::ptr::read_unaligned(data as *const libc::c_int);
                        if size > 0 && (size as usize) < len {
                            message.segment_size = Some(size as usize);
                        }
                    }
                    (libc::IPPROTO_IP, libc::IP_PKTINFO) if holds(std::mem::size_of::<libc::in_pktinfo>()) => {
                        let info = std::ptr::read_unaligned(data as *const libc::in_pktinfo);
                        let ip = Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr));
                        message.local = Some((IpAddr::V4(ip), info.ipi_ifindex as u32));
                    }
                    (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) if holds(std::mem::size_of::<In6Pktinfo>()) => {
                        let info = std::ptr::read_unaligned(data as *const In6Pktinfo);
                        message.local = Some((IpAddr::V6(Ipv6Addr::from(info.addr.s6_addr)), info.ifindex));
                    }
                    (libc::SOL_SOCKET, SO_TIMESTAMPNS) if holds(std::mem::size_of::<libc::timespec>()) => {
                        let ts = std::ptr::read_unaligned(data as *const libc::timespec);
                        message.timestamp = Some((ts.tv_sec as i64, ts.tv_nsec as u32));
                    }
                    _ => {}
                }
                cmsg = libc::CMSG_NXTHDR(&header.msg_hdr, cmsg);
            }
        }
        message
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

/// One datagram to send: its payload and, unless the socket is connected, its destination.
#[derive(Clone, Copy)]
pub struct Datagram<'a> {
    pub payload: &'a [u8],
    pub dest: Option<&'a SockAddr>,
}

/// How a socket's datagrams may be grouped into syscalls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendPolicy {
    /// As many per `sendmmsg` as fit, GSO runs included (unconnected sockets: the kernel reports
    /// no ICMP errors to them).
    Batched,
    /// Connected and no ICMP error seen yet: the first datagram of each flush goes alone, so an
    /// error it provokes on loopback (delivered synchronously, during that send) fails the next
    /// datagram's send as it would for the builtin, before any batch is attempted.
    FirstAlone,
    /// Connected and an ICMP error seen: one datagram per syscall, as libuv sends. A batch would
    /// lose errors: when message k of a `sendmmsg` fails, Linux returns the count before it and
    /// drops the error (net/socket.c, __sys_sendmmsg), and an ICMP error is consumed by that
    /// failed send.
    OneByOne,
}

/// Whether an errno is one the kernel reports on a connected UDP socket after an ICMP error
/// (`sk_err`, net/ipv4/udp.c __udp4_lib_err): it can hit any later send of that socket.
pub fn is_async_socket_error(errno: i32) -> bool {
    matches!(errno.abs(), libc::ECONNREFUSED | libc::EHOSTUNREACH | libc::ENETUNREACH | libc::EHOSTDOWN | libc::ENETDOWN | libc::EPROTO)
}

/// Whether the socket has an error pending (POLLERR), without taking it.
fn socket_error_pending(fd: RawFd) -> bool {
    let mut pollfd = libc::pollfd { fd, events: 0, revents: 0 };
    // SAFETY: one valid pollfd, zero timeout: poll only reads the fd's state.
    let ready = unsafe { libc::poll(&mut pollfd, 1, 0) };
    ready > 0 && pollfd.revents & libc::POLLERR != 0
}

/// Sends `datagrams` in order with `sendmmsg` until the kernel would block (see
/// `send_with_policy`), grouping them as freely as an unconnected socket allows.
pub fn send_until_blocked(fd: RawFd, datagrams: &[Datagram], results: &mut Vec<i32>) -> usize {
    send_with_policy(fd, datagrams, results, SendPolicy::Batched).0
}

/// Sends `datagrams` in order until the kernel would block. For each datagram it finishes it
/// appends bytes sent or a negative errno to `results`; returns how many it finished, and whether
/// one of them failed with an ICMP-borne socket error (the caller then switches the socket to
/// `OneByOne`). A datagram the kernel refuses (EMSGSIZE, EACCES...) gets its own error and the
/// rest go on: a partial `sendmmsg` is resumed at the first unsent datagram. Runs of same-size
/// datagrams to one destination go out as one GSO message (UDP_SEGMENT) while the kernel accepts
/// it.
pub fn send_with_policy(fd: RawFd, datagrams: &[Datagram], results: &mut Vec<i32>, policy: SendPolicy) -> (usize, bool) {
    let mut done = 0;
    let mut use_gso = gso_enabled();
    let mut policy = policy;
    let mut saw_async_error = false;
    while done < datagrams.len() {
        if policy == SendPolicy::FirstAlone && done == 1 && socket_error_pending(fd) {
            // The first datagram provoked an error (an ICMP reply, on loopback already here). A
            // batch would lose it (GSO sends do not report it; sendmmsg drops it mid-batch), so
            // the rest go one by one: the kernel then gives it to exactly the send the builtin's
            // would get it on (or leaves it for recvmsg when that send fails first, EMSGSIZE).
            policy = SendPolicy::OneByOne;
            saw_async_error = true;
        }
        let limit = match policy {
            SendPolicy::Batched => datagrams.len(),
            SendPolicy::FirstAlone if done == 0 => 1,
            SendPolicy::FirstAlone => datagrams.len(),
            SendPolicy::OneByOne => 1,
        };
        let rest = &datagrams[done..datagrams.len().min(done + limit)];
        match send_chunk(fd, rest, results, use_gso && limit > 1) {
            ChunkOutcome::Sent(count) => {
                done += count;
                use_gso = gso_enabled();
            }
            ChunkOutcome::Failed(errno) => {
                results.push(-errno);
                done += 1;
                if policy != SendPolicy::Batched && is_async_socket_error(errno) {
                    saw_async_error = true;
                    policy = SendPolicy::OneByOne;
                }
            }
            ChunkOutcome::GsoFailed(errno) => {
                if matches!(errno, libc::EIO | libc::EINVAL | libc::ENOPROTOOPT | libc::EOPNOTSUPP) {
                    disable_gso();
                }
                // Send that run again one datagram at a time, so each gets its own outcome.
                use_gso = false;
            }
            ChunkOutcome::WouldBlock => break,
        }
    }
    (done, saw_async_error)
}

enum ChunkOutcome {
    /// The first `n` datagrams went out (their sizes were appended to the results).
    Sent(usize),
    /// The first datagram failed with this (positive) errno.
    Failed(i32),
    /// The first message was a GSO run and the kernel refused it with this errno.
    GsoFailed(i32),
    /// The kernel has no room: nothing went out.
    WouldBlock,
}

/// How many datagrams from the start of `datagrams` can share one GSO message: same destination,
/// same size (the last may be shorter), at most GSO_MAX_SEGMENTS and GSO_MAX_BYTES in all.
fn gso_run(datagrams: &[Datagram], iovecs_left: usize) -> usize {
    let first = &datagrams[0];
    let size = first.payload.len();
    if size == 0 || datagrams.len() < 2 {
        return 1;
    }
    let limit = GSO_MAX_SEGMENTS.min(iovecs_left).min(GSO_MAX_BYTES / size);
    let mut run = 1;
    let mut total = size;
    while run < limit.min(datagrams.len()) {
        let next = &datagrams[run];
        let len = next.payload.len();
        if len == 0 || len > size || total + len > GSO_MAX_BYTES || first.dest != next.dest {
            break;
        }
        run += 1;
        total += len;
        if len < size {
            break; // a shorter segment can only be the last one
        }
    }
    run
}

/// The storage one `sendmmsg` points into, kept per thread: zeroing 16 KiB of headers for every
/// flush (most carry one datagram) cost more than the datagram itself.
struct SendScratch {
    iovecs: [libc::iovec; SEND_IOVECS],
    headers: [libc::mmsghdr; SEND_CHUNK],
    controls: [ControlBuf; SEND_CHUNK],
}

thread_local! {
    // SAFETY: iovec, mmsghdr and the control buffers are plain C data; all-zero is valid.
    static SEND_SCRATCH: std::cell::RefCell<Box<SendScratch>> = std::cell::RefCell::new(Box::new(unsafe { mem::zeroed() }));
}

fn send_chunk(fd: RawFd, datagrams: &[Datagram], results: &mut Vec<i32>, use_gso: bool) -> ChunkOutcome {
    SEND_SCRATCH.with_borrow_mut(|scratch| send_chunk_with(scratch, fd, datagrams, results, use_gso))
}

fn send_chunk_with(scratch: &mut SendScratch, fd: RawFd, datagrams: &[Datagram], results: &mut Vec<i32>, use_gso: bool) -> ChunkOutcome {
    let SendScratch { iovecs, headers, controls } = scratch;
    // Per message: how many datagrams it carries.
    let mut spans = [0usize; SEND_CHUNK];
    let (mut messages, mut used_iovecs, mut covered) = (0, 0, 0);
    while covered < datagrams.len() && messages < SEND_CHUNK && used_iovecs < SEND_IOVECS {
        let run = if use_gso { gso_run(&datagrams[covered..], SEND_IOVECS - used_iovecs) } else { 1 };
        for (k, datagram) in datagrams[covered..covered + run].iter().enumerate() {
            iovecs[used_iovecs + k] = libc::iovec {
                // The kernel only reads through this pointer, so casting away const is sound.
                iov_base: datagram.payload.as_ptr() as *mut libc::c_void,
                iov_len: datagram.payload.len(),
            };
        }
        // Every field is written: the scratch keeps whatever the previous call left.
        let header = &mut headers[messages];
        header.msg_len = 0;
        let hdr = &mut header.msg_hdr;
        match datagrams[covered].dest {
            Some(dest) => {
                hdr.msg_name = dest.as_ptr() as *mut libc::c_void;
                hdr.msg_namelen = dest.len();
            }
            None => {
                hdr.msg_name = std::ptr::null_mut();
                hdr.msg_namelen = 0;
            }
        }
        hdr.msg_iov = &mut iovecs[used_iovecs];
        hdr.msg_iovlen = run as _;
        hdr.msg_control = std::ptr::null_mut();
        hdr.msg_controllen = 0;
        hdr.msg_flags = 0;
        if run > 1 {
            let segment = datagrams[covered].payload.len() as u16;
            // SAFETY: the control buffer is aligned for cmsghdr and large enough for one u16
            // payload (CMSG_SPACE(2) = 24 bytes); CMSG_FIRSTHDR is non-null because
            // msg_controllen covers a whole header.
            unsafe {
                hdr.msg_control = controls[messages].0.as_mut_ptr().cast();
                hdr.msg_controllen = libc::CMSG_SPACE(mem::size_of::<u16>() as u32) as _;
                let cmsg = libc::CMSG_FIRSTHDR(hdr);
                (*cmsg).cmsg_level = SOL_UDP;
                (*cmsg).cmsg_type = UDP_SEGMENT;
                (*cmsg).cmsg_len = libc::CMSG_LEN(mem::size_of::<u16>() as u32) as _;
                std::ptr::write_unaligned(libc::CMSG_DATA(cmsg) as *mut u16, segment);
            }
        }
        spans[messages] = run;
        messages += 1;
        used_iovecs += run;
        covered += run;
    }
    // SAFETY: each header points at iovecs, an address and a control buffer that live until the
    // call returns; payload pointers come from slices borrowed for the same span.
    let sent = retry_if_interrupted(|| unsafe {
        libc::sendmmsg(fd, headers.as_mut_ptr(), messages as libc::c_uint, 0)
    });
    match sent {
        Ok(0) => ChunkOutcome::WouldBlock,
        Ok(count) => {
            let mut finished = 0;
            for &span in &spans[..count.min(messages)] {
                results.extend(datagrams[finished..finished + span].iter().map(|d| d.payload.len() as i32));
                finished += span;
            }
            ChunkOutcome::Sent(finished)
        }
        Err(err) if err.kind() == io::ErrorKind::WouldBlock => ChunkOutcome::WouldBlock,
        Err(err) => {
            let errno = err.raw_os_error().unwrap_or(libc::EIO);
            if spans[0] > 1 {
                ChunkOutcome::GsoFailed(errno)
            } else {
                ChunkOutcome::Failed(errno)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;

    fn pair() -> (UdpSocket, UdpSocket) {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        a.set_nonblocking(true).unwrap();
        b.set_nonblocking(true).unwrap();
        (a, b)
    }

    /// A socket connected to a loopback port nobody listens on: each datagram that reaches the
    /// port provokes an ICMP port unreachable for the socket.
    fn connected_to_a_closed_port() -> UdpSocket {
        let closed = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        tx.connect(("127.0.0.1", port)).unwrap();
        tx
    }

    #[test]
    fn sends_and_receives_a_batch_in_order() {
        let (tx, rx) = pair();
        let dest = SockAddr::from(rx.local_addr().unwrap());
        let payloads: Vec<Vec<u8>> = (0..100u8).map(|i| vec![i; i as usize]).collect();
        let datagrams: Vec<Datagram> =
            payloads.iter().map(|p| Datagram { payload: p, dest: Some(&dest) }).collect();
        let mut results = Vec::new();
        assert_eq!(send_until_blocked(tx.as_raw_fd(), &datagrams, &mut results), 100);
        assert_eq!(results, (0..100).collect::<Vec<i32>>());

        let mut arena = RecvArena::new();
        let mut seen = Vec::new();
        while let Ok(n) = arena.recv(rx.as_raw_fd(), RECV_BATCH) {
            for i in 0..n {
                let message = arena.message(i);
                assert_eq!(message.peer, Some(tx.local_addr().unwrap()));
                seen.extend(message.segments().map(|s| s.to_vec()));
            }
        }
        assert_eq!(seen, payloads);
    }

    fn drain(arena: &mut RecvArena, rx: &UdpSocket) -> (Vec<Vec<u8>>, usize) {
        let mut seen = Vec::new();
        let mut messages = 0;
        while let Ok(n) = arena.recv(rx.as_raw_fd(), RECV_BATCH) {
            messages += n;
            for i in 0..n {
                seen.extend(arena.message(i).segments().map(|s| s.to_vec()));
            }
        }
        (seen, messages)
    }

    #[test]
    fn gso_runs_reach_a_plain_receiver_as_separate_datagrams() {
        let (tx, rx) = pair();
        let dest = SockAddr::from(rx.local_addr().unwrap());
        // 130 same-size datagrams (three GSO runs at most 64 each) and a shorter tail.
        let mut payloads: Vec<Vec<u8>> = (0..130u8).map(|i| vec![i; 100]).collect();
        payloads.push(vec![9; 30]);
        let datagrams: Vec<Datagram> =
            payloads.iter().map(|p| Datagram { payload: p, dest: Some(&dest) }).collect();
        let mut results = Vec::new();
        assert_eq!(send_until_blocked(tx.as_raw_fd(), &datagrams, &mut results), 131);
        assert_eq!(results.iter().filter(|&&r| r == 100).count(), 130);
        assert_eq!(results[130], 30);
        let (seen, messages) = drain(&mut RecvArena::new(), &rx);
        assert_eq!(seen, payloads);
        assert_eq!(messages, 131, "a receiver without GRO gets one message per datagram");
    }

    #[test]
    fn gro_coalesces_and_segments_split_back_exactly() {
        let (tx, rx) = pair();
        enable_receive_offloads(rx.as_raw_fd());
        let dest = SockAddr::from(rx.local_addr().unwrap());
        let payloads: Vec<Vec<u8>> = (0..64u8).map(|i| vec![i; 200]).chain([vec![1; 7]]).collect();
        let datagrams: Vec<Datagram> =
            payloads.iter().map(|p| Datagram { payload: p, dest: Some(&dest) }).collect();
        let mut results = Vec::new();
        send_until_blocked(tx.as_raw_fd(), &datagrams, &mut results);
        let (seen, messages) = drain(&mut RecvArena::new(), &rx);
        assert_eq!(seen, payloads);
        if gso_enabled() {
            assert!(messages < payloads.len(), "GSO + GRO on loopback should coalesce ({messages} messages)");
        }
    }

    #[test]
    fn a_gso_run_that_fails_is_retried_one_by_one() {
        // Broadcast without SO_BROADCAST is refused (EACCES) for the whole run; each datagram
        // must still get its own outcome.
        let (tx, _rx) = pair();
        let dest = SockAddr::from("255.255.255.255:9".parse::<SocketAddr>().unwrap());
        let payload = [0u8; 10];
        let datagrams: Vec<Datagram> = (0..5).map(|_| Datagram { payload: &payload, dest: Some(&dest) }).collect();
        let mut results = Vec::new();
        assert_eq!(send_until_blocked(tx.as_raw_fd(), &datagrams, &mut results), 5);
        assert_eq!(results, vec![-libc::EACCES; 5]);
    }

    #[test]
    fn pktinfo_and_timestamps_describe_each_datagram() {
        let rx = UdpSocket::bind("0.0.0.0:0").unwrap();
        rx.set_nonblocking(true).unwrap();
        enable_receive_info(rx.as_raw_fd(), false, true, true).unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        tx.send_to(b"hi", ("127.0.0.1", rx.local_addr().unwrap().port())).unwrap();
        let mut arena = RecvArena::new();
        assert_eq!(arena.recv(rx.as_raw_fd(), RECV_BATCH).unwrap(), 1);
        let message = arena.message(0);
        assert_eq!(message.local, Some(("127.0.0.1".parse().unwrap(), 1)));
        let (sec, nsec) = message.timestamp.unwrap();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        assert!((now - sec).abs() <= 5 && nsec < 1_000_000_000);
    }

    #[test]
    fn a_connected_socket_gets_each_icmp_error_as_the_builtin_does() {
        // Each port unreachable fails the next send of the socket (and is consumed by it).
        let tx = connected_to_a_closed_port();
        let payload = [1u8; 8];
        let datagrams: Vec<Datagram> = (0..6).map(|_| Datagram { payload: &payload, dest: None }).collect();
        let mut results = Vec::new();
        let (done, saw) = send_with_policy(tx.as_raw_fd(), &datagrams, &mut results, SendPolicy::FirstAlone);
        assert_eq!(done, 6);
        assert!(saw, "results {results:?}");
        let refused = -libc::ECONNREFUSED;
        assert_eq!(results, vec![8, refused, 8, refused, 8, refused]);
    }

    #[test]
    fn an_oversized_datagram_after_an_icmp_error_leaves_the_error_pending() {
        // The kernel checks the size before the pending error: the builtin's second send fails
        // with EMSGSIZE and the ICMP error stays for the next operation.
        let tx = connected_to_a_closed_port();
        let small = [1u8; 8];
        let big = vec![0u8; 65_508];
        let datagrams = [Datagram { payload: &small, dest: None }, Datagram { payload: &big, dest: None }];
        let mut results = Vec::new();
        send_with_policy(tx.as_raw_fd(), &datagrams, &mut results, SendPolicy::FirstAlone);
        assert_eq!(results, vec![8, -libc::EMSGSIZE]);
        assert_eq!(tx.take_error().unwrap().and_then(|e| e.raw_os_error()), Some(libc::ECONNREFUSED));
    }

    #[test]
    fn an_oversized_datagram_fails_alone() {
        let (tx, rx) = pair();
        let dest = SockAddr::from(rx.local_addr().unwrap());
        let big = vec![0u8; 70_000];
        let datagrams = [
            Datagram { payload: b"one", dest: Some(&dest) },
            Datagram { payload: &big, dest: Some(&dest) },
            Datagram { payload: b"three", dest: Some(&dest) },
        ];
        let mut results = Vec::new();
        assert_eq!(send_until_blocked(tx.as_raw_fd(), &datagrams, &mut results), 3);
        assert_eq!(results, vec![3, -libc::EMSGSIZE, 5]);
    }

    #[test]
    fn empty_queue_is_would_block() {
        let (_tx, rx) = pair();
        let mut arena = RecvArena::new();
        let err = arena.recv(rx.as_raw_fd(), RECV_BATCH).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    }

    #[test]
    fn stops_when_the_send_buffer_is_full() {
        let (tx, rx) = pair();
        socket2::SockRef::from(&tx).set_send_buffer_size(4096).unwrap();
        socket2::SockRef::from(&rx).set_recv_buffer_size(4096).unwrap();
        let dest = SockAddr::from(rx.local_addr().unwrap());
        let payload = vec![7u8; 60_000];
        let datagrams: Vec<Datagram> =
            (0..64).map(|_| Datagram { payload: &payload, dest: Some(&dest) }).collect();
        let mut results = Vec::new();
        let done = send_until_blocked(tx.as_raw_fd(), &datagrams, &mut results);
        assert_eq!(results.len(), done);
        // On loopback the receiver drops rather than blocking the sender, so either every datagram
        // went out or the sender's own buffer filled: both must leave the results consistent.
        assert!(results.iter().all(|&r| r == 60_000 || r < 0));
    }
}
