//! The send side: a socket's datagrams in order with `sendmmsg`, runs of same-size datagrams to
//! one destination as one GSO message, a partial send resumed at the first unsent datagram, and
//! the policies that keep a connected socket's ICMP errors where the builtin reports them.

use std::io;
use std::mem;
use std::os::fd::RawFd;

use super::cmsg::{self, ControlBuf};
use super::{retry_if_interrupted, switched_off, syscall, Datagram};

/// Messages handed to one `sendmmsg`; the kernel caps a call at UIO_MAXIOV (1024).
const SEND_CHUNK: usize = 64;

/// iovecs available to one `sendmmsg` (a GSO message uses one per segment).
const SEND_IOVECS: usize = 256;

/// Segments one GSO send may carry: UDP_MAX_SEGMENTS in include/linux/udp.h is 64 on the
/// kernels we support (newer ones allow 128).
const GSO_MAX_SEGMENTS: usize = 64;

/// Largest UDP payload of one IPv4 datagram (65,535 - 20 IP - 8 UDP): a GSO super-datagram must
/// fit in it as a whole.
const GSO_MAX_BYTES: usize = 65_507;

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
            cmsg::set_segment_size(hdr, &mut controls[messages], datagrams[covered].payload.len() as u16);
        }
        spans[messages] = run;
        messages += 1;
        used_iovecs += run;
        covered += run;
    }
    // SAFETY: each header points at iovecs, an address and a control buffer that live until the
    // call returns; payload pointers come from slices borrowed for the same span.
    let sent = retry_if_interrupted(|| syscall!(unsafe { libc::sendmmsg(fd, headers.as_mut_ptr(), messages as libc::c_uint, 0) }));
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

