//! Batched datagram syscalls: `recvmmsg` and `sendmmsg`. All libc `unsafe` pointer work for the
//! data path lives here.
//!
//! Storage the kernel fills is allocated once (a `RecvArena` per reactor), pointed at, handed to
//! one syscall, then decoded. Nothing here allocates per datagram.

use std::io;
use std::mem;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::RawFd;

use socket2::SockAddr;

/// Datagrams read by one `recvmmsg`. 64 keeps the arena at 4 MiB of address space (touched only
/// as far as datagrams reach) while amortising the syscall well past the point of diminishing
/// returns on loopback (chosen by measurement: 32 and 64 were within noise, 16 was slower).
pub const RECV_BATCH: usize = 64;

/// One receive slot holds any UDP payload (the largest IPv4/IPv6 datagram is 65,535 bytes less
/// headers), so nothing is ever truncated, as with libuv's 64 KiB buffers.
pub const SLOT_SIZE: usize = 64 * 1024;

/// Datagrams handed to one `sendmmsg`; the kernel caps a call at UIO_MAXIOV (1024).
const SEND_CHUNK: usize = 64;

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
    names: Vec<libc::sockaddr_storage>,
    iovecs: Vec<libc::iovec>,
    headers: Vec<libc::mmsghdr>,
    received: usize,
}

impl Default for RecvArena {
    fn default() -> Self {
        Self::new()
    }
}

impl RecvArena {
    pub fn new() -> RecvArena {
        RecvArena {
            slots: vec![0u8; RECV_BATCH * SLOT_SIZE],
            // SAFETY: sockaddr_storage, iovec and mmsghdr are plain C data for which all-zero
            // bytes are a valid value.
            names: vec![unsafe { mem::zeroed() }; RECV_BATCH],
            iovecs: vec![unsafe { mem::zeroed() }; RECV_BATCH],
            headers: vec![unsafe { mem::zeroed() }; RECV_BATCH],
            received: 0,
        }
    }

    /// Reads up to `RECV_BATCH` datagrams from a non-blocking socket. `Ok(0)` never happens for
    /// UDP: an empty queue is `Err(WouldBlock)`.
    pub fn recv(&mut self, fd: RawFd) -> io::Result<usize> {
        self.received = 0;
        let slots = self.slots.as_mut_ptr();
        for i in 0..RECV_BATCH {
            // SAFETY: slot i lies inside `slots` (RECV_BATCH * SLOT_SIZE bytes).
            let base = unsafe { slots.add(i * SLOT_SIZE) };
            self.iovecs[i] = libc::iovec { iov_base: base.cast(), iov_len: SLOT_SIZE };
            let header = &mut self.headers[i];
            header.msg_hdr.msg_name = (&mut self.names[i] as *mut libc::sockaddr_storage).cast();
            header.msg_hdr.msg_namelen = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            header.msg_hdr.msg_iov = &mut self.iovecs[i];
            header.msg_hdr.msg_iovlen = 1;
            header.msg_hdr.msg_control = std::ptr::null_mut();
            header.msg_hdr.msg_controllen = 0;
            header.msg_hdr.msg_flags = 0;
            header.msg_len = 0;
        }
        // SAFETY: every header points at memory owned by `self` that stays alive and unaliased for
        // the duration of the call; the count passed is the headers' length.
        let count = retry_if_interrupted(|| unsafe {
            libc::recvmmsg(
                fd,
                self.headers.as_mut_ptr(),
                RECV_BATCH as libc::c_uint,
                0,
                std::ptr::null_mut(),
            )
        })?;
        self.received = count.min(RECV_BATCH);
        Ok(self.received)
    }

    /// Datagram `i` of the last `recv`: its payload and sender.
    pub fn datagram(&self, i: usize) -> (&[u8], Option<SocketAddr>) {
        debug_assert!(i < self.received);
        let header = &self.headers[i];
        let len = (header.msg_len as usize).min(SLOT_SIZE);
        let start = i * SLOT_SIZE;
        let peer = decode_sockaddr(&self.names[i], header.msg_hdr.msg_namelen);
        (&self.slots[start..start + len], peer)
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

/// Sends `datagrams` in order with `sendmmsg` until the kernel would block. For each datagram it
/// finishes it appends bytes sent or a negative errno to `results`; returns how many it finished.
/// A datagram the kernel refuses (EMSGSIZE, EACCES...) gets its own error and the rest go on: a
/// partial `sendmmsg` is resumed at the first unsent datagram.
pub fn send_until_blocked(fd: RawFd, datagrams: &[Datagram], results: &mut Vec<i32>) -> usize {
    let mut done = 0;
    while done < datagrams.len() {
        let chunk = &datagrams[done..datagrams.len().min(done + SEND_CHUNK)];
        match send_chunk(fd, chunk, results) {
            ChunkOutcome::Sent(count) => done += count,
            ChunkOutcome::Failed(errno) => {
                results.push(-errno);
                done += 1;
            }
            ChunkOutcome::WouldBlock => break,
        }
    }
    done
}

enum ChunkOutcome {
    /// The first `n` datagrams of the chunk went out (their sizes were appended).
    Sent(usize),
    /// The first datagram of the chunk failed with this (positive) errno.
    Failed(i32),
    /// The kernel has no room: nothing of the chunk went out.
    WouldBlock,
}

fn send_chunk(fd: RawFd, chunk: &[Datagram], results: &mut Vec<i32>) -> ChunkOutcome {
    // SAFETY: iovec and mmsghdr are plain C data; all-zero is valid (null pointers, zero lengths).
    let mut iovecs: [libc::iovec; SEND_CHUNK] = unsafe { mem::zeroed() };
    let mut headers: [libc::mmsghdr; SEND_CHUNK] = unsafe { mem::zeroed() };
    for (i, datagram) in chunk.iter().enumerate() {
        iovecs[i] = libc::iovec {
            // The kernel only reads through this pointer (sendmmsg), so casting away const is sound.
            iov_base: datagram.payload.as_ptr() as *mut libc::c_void,
            iov_len: datagram.payload.len(),
        };
        let hdr = &mut headers[i].msg_hdr;
        if let Some(dest) = datagram.dest {
            hdr.msg_name = dest.as_ptr() as *mut libc::c_void;
            hdr.msg_namelen = dest.len();
        }
        hdr.msg_iov = &mut iovecs[i];
        hdr.msg_iovlen = 1;
    }
    // SAFETY: each header points at an iovec and (optionally) an address that live until the call
    // returns; payload pointers come from slices borrowed for the same span.
    let sent = retry_if_interrupted(|| unsafe {
        libc::sendmmsg(fd, headers.as_mut_ptr(), chunk.len() as libc::c_uint, 0)
    });
    match sent {
        Ok(0) => ChunkOutcome::WouldBlock,
        Ok(count) => {
            let count = count.min(chunk.len());
            results.extend(headers[..count].iter().map(|h| h.msg_len as i32));
            ChunkOutcome::Sent(count)
        }
        Err(err) if err.kind() == io::ErrorKind::WouldBlock => ChunkOutcome::WouldBlock,
        Err(err) => ChunkOutcome::Failed(err.raw_os_error().unwrap_or(libc::EIO)),
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
        while let Ok(n) = arena.recv(rx.as_raw_fd()) {
            for i in 0..n {
                let (payload, peer) = arena.datagram(i);
                assert_eq!(peer, Some(tx.local_addr().unwrap()));
                seen.push(payload.to_vec());
            }
        }
        assert_eq!(seen, payloads);
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
        let err = arena.recv(rx.as_raw_fd()).unwrap_err();
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
