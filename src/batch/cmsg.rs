//! Control messages (cmsg): the only code that walks or writes `cmsghdr`s. A send's GSO run gets
//! one UDP_SEGMENT message (`set_segment_size`); a received message's GRO segment size, local
//! address (IP_PKTINFO / IPV6_PKTINFO) and kernel timestamp (SO_TIMESTAMPNS) are read back
//! (`decode_received`).

use std::mem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// SO_TIMESTAMPNS (= SCM_TIMESTAMPNS) in include/uapi/asm-generic/socket.h: a `timespec` with
/// the time the kernel received each datagram (libc does not export it for Linux).
pub(super) const SO_TIMESTAMPNS: libc::c_int = 35;

/// Room for the control messages we may ask for on receive, each CMSG_SPACE'd: UDP_GRO (int, 24),
/// IPV6_PKTINFO (in6_pktinfo, 40) or IP_PKTINFO (32), SCM_TIMESTAMPNS (timespec, 32): 96 bytes at
/// most.
pub(super) const RECV_CONTROL: usize = 128;

/// `struct in6_pktinfo` from include/uapi/linux/ipv6.h.
#[repr(C)]
struct In6Pktinfo {
    addr: libc::in6_addr,
    ifindex: libc::c_uint,
}

/// A control-message buffer aligned for `cmsghdr`.
#[derive(Clone, Copy)]
#[repr(C, align(8))]
pub(super) struct ControlBuf(pub(super) [u8; RECV_CONTROL]);

/// What the control messages of one received message said.
#[derive(Default)]
pub(super) struct Received {
    /// GRO's segment size, when it is smaller than the payload (else the message is one datagram).
    pub(super) segment_size: Option<usize>,
    /// The local (destination) address and the index of the interface it arrived on.
    pub(super) local: Option<(IpAddr, u32)>,
    /// Seconds and nanoseconds since the Unix epoch.
    pub(super) timestamp: Option<(i64, u32)>,
}

/// Reads the control messages of a message `recvmmsg` filled, whose payload is `len` bytes.
///
/// # Safety
/// `hdr.msg_control` must point at a buffer of at least `hdr.msg_controllen` bytes, aligned for
/// `cmsghdr`, that the kernel filled (a `ControlBuf` a `recvmmsg` wrote).
pub(super) unsafe fn decode_received(hdr: &libc::msghdr, len: usize) -> Received {
    let mut received = Received::default();
    // SAFETY: by the caller's promise the kernel filled msg_control up to msg_controllen within
    // our ControlBuf; the CMSG_* helpers stay inside that length, and each value is read only
    // from a message whose cmsg_len covers it.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(hdr);
        while !cmsg.is_null() {
            let c = &*cmsg;
            let data = libc::CMSG_DATA(cmsg);
            // Whether the message carries at least a `T` (a short one is skipped, not read).
            let holds = |size: usize| c.cmsg_len as usize >= libc::CMSG_LEN(size as u32) as usize;
            match (c.cmsg_level, c.cmsg_type) {
                _ if !holds(0) => {}
                (libc::SOL_UDP, libc::UDP_GRO) if holds(mem::size_of::<libc::c_int>()) => {
                    let size = std::ptr::read_unaligned(data as *const libc::c_int);
                    if size > 0 && (size as usize) < len {
                        received.segment_size = Some(size as usize);
                    }
                }
                (libc::IPPROTO_IP, libc::IP_PKTINFO) if holds(mem::size_of::<libc::in_pktinfo>()) => {
                    let info = std::ptr::read_unaligned(data as *const libc::in_pktinfo);
                    let ip = Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr));
                    received.local = Some((IpAddr::V4(ip), info.ipi_ifindex as u32));
                }
                (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) if holds(mem::size_of::<In6Pktinfo>()) => {
                    let info = std::ptr::read_unaligned(data as *const In6Pktinfo);
                    received.local = Some((IpAddr::V6(Ipv6Addr::from(info.addr.s6_addr)), info.ifindex));
                }
                (libc::SOL_SOCKET, SO_TIMESTAMPNS) if holds(mem::size_of::<libc::timespec>()) => {
                    let ts = std::ptr::read_unaligned(data as *const libc::timespec);
                    received.timestamp = Some((ts.tv_sec as i64, ts.tv_nsec as u32));
                }
                _ => {}
            }
            cmsg = libc::CMSG_NXTHDR(hdr, cmsg);
        }
    }
    received
}

/// Makes `hdr` carry one UDP_SEGMENT control message, written into `buf`: the kernel cuts the
/// message's payload into datagrams of `segment` bytes (GSO). `hdr` then points into `buf`, which
/// must outlive the `sendmmsg` that reads it.
pub(super) fn set_segment_size(hdr: &mut libc::msghdr, buf: &mut ControlBuf, segment: u16) {
    // SAFETY: the control buffer is aligned for cmsghdr and large enough for one u16 payload
    // (CMSG_SPACE(2) = 24 bytes); CMSG_FIRSTHDR is non-null because msg_controllen covers a
    // whole header.
    unsafe {
        hdr.msg_control = buf.0.as_mut_ptr().cast();
        hdr.msg_controllen = libc::CMSG_SPACE(mem::size_of::<u16>() as u32) as _;
        let cmsg = libc::CMSG_FIRSTHDR(hdr);
        (*cmsg).cmsg_level = libc::SOL_UDP;
        (*cmsg).cmsg_type = libc::UDP_SEGMENT;
        (*cmsg).cmsg_len = libc::CMSG_LEN(mem::size_of::<u16>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg) as *mut u16, segment);
    }
}
