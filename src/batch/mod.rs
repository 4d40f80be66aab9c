//! Batched datagram syscalls: `recvmmsg` and `sendmmsg`, with GSO and GRO. All libc `unsafe`
//! pointer work for the data path lives under this module, each block with its `// SAFETY:`.
//!
//! Storage the kernel fills is allocated once (a `RecvArena` per reading thread), pointed at,
//! handed to one syscall, then decoded. Nothing here allocates per datagram.
//!
//! - `recv`: the `recvmmsg` arena and the messages it yields (GRO segments split back).
//! - `send`: `sendmmsg` with GSO runs, the send policies, partial sends resumed.
//! - `cmsg`: the control messages: UDP_SEGMENT encoded for a send, GRO / pktinfo / timestamp
//!   decoded from a receive.
//! - this file: `syscall!` and EINTR retry, the receive socket options (pktinfo, timestamps,
//!   GRO), and `Datagram`, what the send side takes.

mod cmsg;
mod recv;
mod send;
#[cfg(test)]
mod tests;

use std::io;
use std::os::fd::RawFd;

use socket2::SockAddr;

use crate::socket;

pub use self::recv::{decode_sockaddr, RecvArena, RecvMessage, RECV_BATCH, SLOT_SIZE};
pub use self::send::{gso_enabled, is_async_socket_error, send_until_blocked, send_with_policy, SendPolicy};

/// Evaluates a libc call that returns -1 and sets errno on failure (pass the `unsafe` block, with
/// its `// SAFETY:`, as the argument): `Ok(return value)` or `io::Error::last_os_error()`, as
/// mio's and socket2's `syscall!` do.
macro_rules! syscall {
    ($call:expr) => {{
        let rc = $call;
        if rc == -1 {
            Err(::std::io::Error::last_os_error())
        } else {
            Ok(rc)
        }
    }};
}
pub(crate) use syscall;

/// Calls `f` (a `syscall!`) again while it fails with EINTR, the way quinn-udp wraps every
/// syscall; a count it returns comes back as `usize`.
fn retry_if_interrupted(mut f: impl FnMut() -> io::Result<libc::c_int>) -> io::Result<usize> {
    loop {
        match f() {
            Ok(count) => return Ok(count as usize),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        }
    }
}

/// One datagram to send: its payload and, unless the socket is connected, its destination.
#[derive(Clone, Copy)]
pub struct Datagram<'a> {
    pub payload: &'a [u8],
    pub dest: Option<&'a SockAddr>,
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
        socket::set_raw_option(fd, libc::SOL_SOCKET, cmsg::SO_TIMESTAMPNS, &ON)?;
    }
    Ok(())
}

/// Asks the kernel to coalesce same-flow datagrams (UDP_GRO; TURBO_DGRAM_GRO=off to compare). Best
/// effort: a kernel without it simply gives plain datagrams. (The drop counter is read when asked
/// for, with SO_MEMINFO: SO_RXQ_OVFL would put a control message on every datagram.)
pub fn enable_receive_offloads(fd: RawFd) {
    static GRO_ENABLED: once_cell::sync::Lazy<bool> = once_cell::sync::Lazy::new(|| !switched_off("TURBO_DGRAM_GRO"));
    if *GRO_ENABLED {
        let _ = socket::set_raw_option(fd, libc::SOL_UDP, libc::UDP_GRO, &ON);
    }
}
