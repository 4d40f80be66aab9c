//! UDP socket creation and options with socket2, mirroring what libuv does for node:dgram.
//!
//! Everything here returns `io::Result`; turning errors into errno values is the caller's job.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, RawFd};

use socket2::{Domain, Protocol, SockAddr, SockAddrStorage, Socket, Type};

use crate::addr::Family;

/// Bind-time flags, as JS passes them (`FLAG_*` in lib/native.js).
#[derive(Clone, Copy, Debug, Default)]
pub struct BindFlags {
    pub reuse_addr: bool,
    pub reuse_port: bool,
    pub ipv6_only: bool,
    /// The receive-info extra, on from the first datagram: IP_PKTINFO / IPV6_RECVPKTINFO.
    pub recv_pktinfo: bool,
    /// The receive-info extra: SO_TIMESTAMPNS.
    pub recv_timestamp: bool,
}

impl BindFlags {
    pub const REUSEADDR: u32 = 1;
    pub const REUSEPORT: u32 = 2;
    pub const IPV6ONLY: u32 = 4;
    pub const RECV_PKTINFO: u32 = 8;
    pub const RECV_TIMESTAMP: u32 = 16;

    pub fn from_bits(bits: u32) -> BindFlags {
        BindFlags {
            reuse_addr: bits & Self::REUSEADDR != 0,
            reuse_port: bits & Self::REUSEPORT != 0,
            ipv6_only: bits & Self::IPV6ONLY != 0,
            recv_pktinfo: bits & Self::RECV_PKTINFO != 0,
            recv_timestamp: bits & Self::RECV_TIMESTAMP != 0,
        }
    }
}

/// Creates a non-blocking, close-on-exec UDP socket of `family`, not bound yet.
pub fn new_udp(family: Family) -> io::Result<Socket> {
    let domain = match family {
        Family::V4 => Domain::IPV4,
        Family::V6 => Domain::IPV6,
    };
    Socket::new(domain, Type::DGRAM.nonblocking().cloexec(), Some(Protocol::UDP))
}

/// Sets the bind-time options and binds: the sequence libuv's `uv_udp_bind` runs for
/// node:dgram's `bind()`. On failure the socket stays open and unbound, as libuv keeps its fd.
pub fn bind_socket(socket: &Socket, addr: SocketAddr, flags: BindFlags) -> io::Result<()> {
    if flags.reuse_addr {
        socket.set_reuse_address(true)?;
    }
    if flags.reuse_port {
        socket.set_reuse_port(true)?;
    }
    // libuv sets IPV6_V6ONLY only when asked; otherwise the kernel's default (dual stack) holds.
    if flags.ipv6_only && Family::of(&addr) == Family::V6 {
        socket.set_only_v6(true)?;
    }
    socket.bind(&SockAddr::from(addr))
}

/// A new socket for `addr`'s family, bound to it (for the tests: `UdpCore::bind` keeps the fd
/// of a failed bind, so it runs `new_udp` and `bind_socket` itself).
pub fn bind_udp(addr: SocketAddr, flags: BindFlags) -> io::Result<Socket> {
    let socket = new_udp(Family::of(&addr))?;
    bind_socket(&socket, addr, flags)?;
    Ok(socket)
}

/// Adopts an fd the user owns (`bind({ fd })`): it must be a UDP socket; it is made non-blocking.
/// Ownership moves to the returned `Socket`, so closing the socket closes the fd, as in libuv.
pub fn adopt_udp_fd(fd: RawFd) -> io::Result<(Socket, Family)> {
    if fd < 0 {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    // SAFETY: JS checked that `fd` is an open UDP socket (as node:dgram does) and hands its
    // ownership to us; nothing else closes it afterwards.
    let socket = unsafe { Socket::from_raw_fd(fd) };
    let checked = socket_family(&socket).and_then(|family| {
        socket.set_nonblocking(true)?;
        Ok(family)
    });
    match checked {
        Ok(family) => Ok((socket, family)),
        Err(err) => {
            give_back(socket);
            Err(err)
        }
    }
}

/// A new fd (close-on-exec) for the socket behind `fd`: a cluster worker adopts a duplicate of
/// the handle the primary shares, whose own fd stays with that handle (and the primary's count of
/// its users) until the socket closes.
pub fn duplicate_fd(fd: RawFd) -> io::Result<RawFd> {
    if fd < 0 {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    // SAFETY: fcntl(F_DUPFD_CLOEXEC) reads no memory of ours; a closed or invalid fd is EBADF.
    let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if dup < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(dup)
}

/// Closes an fd of ours that was never attached (a duplicate `adopt_udp_fd` refused).
pub fn close_unattached(fd: RawFd) {
    // SAFETY: `fd` came from `duplicate_fd` and was given back unattached: nothing else owns it.
    drop(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) });
}

/// Gives an adopted fd back to the user without closing it, when it could not be used (a bad
/// fd, or one the reactor refused): until it is attached, it is the user's.
pub fn give_back(socket: Socket) {
    let _ = socket.into_raw_fd();
}

fn socket_family(socket: &Socket) -> io::Result<Family> {
    if socket.r#type()? != Type::DGRAM {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    match socket.domain()? {
        Domain::IPV4 => Ok(Family::V4),
        Domain::IPV6 => Ok(Family::V6),
        _ => Err(io::Error::from_raw_os_error(libc::EINVAL)),
    }
}

/// `connect()` on a UDP socket: fixes the peer, and the kernel filters out everyone else.
pub fn connect(socket: &Socket, addr: SocketAddr) -> io::Result<()> {
    socket.connect(&SockAddr::from(addr))
}

/// Dissolves a UDP association by connecting to `AF_UNSPEC`, as libuv's `uv_udp_connect(NULL)`.
pub fn disconnect(socket: &Socket) -> io::Result<()> {
    // SAFETY: an all-zero sockaddr is a valid AF_UNSPEC address; its length is passed exactly.
    let rc = unsafe {
        let mut unspec: libc::sockaddr = std::mem::zeroed();
        unspec.sa_family = libc::AF_UNSPEC as libc::sa_family_t;
        libc::connect(
            socket.as_raw_fd(),
            &unspec,
            std::mem::size_of::<libc::sockaddr>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    // Linux answers AF_UNSPEC with EAFNOSUPPORT on some kernels even though it disconnected.
    if err.raw_os_error() == Some(libc::EAFNOSUPPORT) {
        Ok(())
    } else {
        Err(err)
    }
}

pub fn local_addr(socket: &Socket) -> io::Result<SocketAddr> {
    to_std(socket.local_addr()?)
}

pub fn peer_addr(socket: &Socket) -> io::Result<SocketAddr> {
    to_std(socket.peer_addr()?)
}

fn to_std(addr: SockAddr) -> io::Result<SocketAddr> {
    addr.as_socket().ok_or_else(|| io::Error::from_raw_os_error(libc::EAFNOSUPPORT))
}

/// The options JS can set after bind (`OPT_*` in lib/native.js). Each maps to the setsockopt
/// libuv uses for the socket's family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SockOpt {
    /// SO_BROADCAST
    Broadcast,
    /// IP_TTL / IPV6_UNICAST_HOPS
    Ttl,
    /// IP_MULTICAST_TTL / IPV6_MULTICAST_HOPS
    MulticastTtl,
    /// IP_MULTICAST_LOOP / IPV6_MULTICAST_LOOP
    MulticastLoop,
    /// SO_RCVBUF
    RecvBuffer,
    /// SO_SNDBUF
    SendBuffer,
}

impl SockOpt {
    pub fn from_number(n: u32) -> Option<SockOpt> {
        Some(match n {
            1 => SockOpt::Broadcast,
            2 => SockOpt::Ttl,
            3 => SockOpt::MulticastTtl,
            4 => SockOpt::MulticastLoop,
            5 => SockOpt::RecvBuffer,
            6 => SockOpt::SendBuffer,
            _ => return None,
        })
    }
}

pub fn set_option(socket: &Socket, family: Family, opt: SockOpt, value: u32) -> io::Result<()> {
    match (opt, family) {
        (SockOpt::Broadcast, _) => socket.set_broadcast(value != 0),
        (SockOpt::Ttl, Family::V4) => socket.set_ttl_v4(value),
        (SockOpt::Ttl, Family::V6) => socket.set_unicast_hops_v6(value),
        (SockOpt::MulticastTtl, Family::V4) => socket.set_multicast_ttl_v4(value),
        (SockOpt::MulticastTtl, Family::V6) => socket.set_multicast_hops_v6(value),
        (SockOpt::MulticastLoop, Family::V4) => socket.set_multicast_loop_v4(value != 0),
        (SockOpt::MulticastLoop, Family::V6) => socket.set_multicast_loop_v6(value != 0),
        (SockOpt::RecvBuffer, _) => socket.set_recv_buffer_size(value as usize),
        (SockOpt::SendBuffer, _) => socket.set_send_buffer_size(value as usize),
    }
}

/// Reads an option back; only the buffer sizes are readable through node:dgram.
pub fn get_option(socket: &Socket, opt: SockOpt) -> io::Result<usize> {
    match opt {
        SockOpt::RecvBuffer => socket.recv_buffer_size(),
        SockOpt::SendBuffer => socket.send_buffer_size(),
        _ => Err(io::Error::from_raw_os_error(libc::ENOTSUP)),
    }
}

/// IP_MULTICAST_IF / IPV6_MULTICAST_IF. For IPv6 the interface is the address's scope id, as in
/// libuv (`::%eth0` selects eth0; a plain `::` selects the default).
pub fn set_multicast_interface(socket: &Socket, ip: IpAddr, scope_id: u32) -> io::Result<()> {
    match ip {
        IpAddr::V4(v4) => socket.set_multicast_if_v4(&v4),
        IpAddr::V6(_) => socket.set_multicast_if_v6(scope_id),
    }
}

/// The kernel's count of datagrams it dropped for this socket (SO_MEMINFO, SK_MEMINFO_DROPS in
/// include/uapi/linux/sock_diag.h): current at the moment of the call, unlike SO_RXQ_OVFL,
/// which arrives with the next datagram read.
pub fn kernel_drops(socket: &Socket) -> io::Result<u32> {
    Ok(meminfo(socket)?[SK_MEMINFO_DROPS])
}

/// Bytes the socket's receive queue holds now (skb truesize, as the kernel counts them against
/// the buffer), and the buffer's size: SO_MEMINFO's rmem_alloc and rcvbuf.
pub fn receive_queue_fill(socket: &Socket) -> io::Result<(u32, u32)> {
    let meminfo = meminfo(socket)?;
    Ok((meminfo[SK_MEMINFO_RMEM_ALLOC], meminfo[SK_MEMINFO_RCVBUF]))
}

/// SO_MEMINFO's fields we read (include/uapi/linux/sock_diag.h).
const SK_MEMINFO_RMEM_ALLOC: usize = 0;
const SK_MEMINFO_RCVBUF: usize = 1;
const SK_MEMINFO_DROPS: usize = 8;

fn meminfo(socket: &Socket) -> io::Result<[u32; 9]> {
    const SO_MEMINFO: libc::c_int = 55;
    let mut meminfo = [0u32; 9];
    let mut len = std::mem::size_of_val(&meminfo) as libc::socklen_t;
    // SAFETY: `meminfo` has room for `len` bytes, and the kernel writes at most `len`.
    let rc = unsafe {
        libc::getsockopt(socket.as_raw_fd(), libc::SOL_SOCKET, SO_MEMINFO, meminfo.as_mut_ptr().cast(), &mut len)
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(meminfo)
}

/// Which way a membership call goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Membership {
    Join,
    Leave,
}

/// IP_ADD_MEMBERSHIP / IPV6_JOIN_GROUP and their drop counterparts. `iface` is an address of the
/// group's family (IPv4: the interface address; IPv6: its scope id names the interface).
pub fn membership(
    socket: &Socket,
    how: Membership,
    group: IpAddr,
    iface: Option<(IpAddr, u32)>,
) -> io::Result<()> {
    match group {
        IpAddr::V4(group) => {
            let iface = iface_v4(iface)?;
            match how {
                Membership::Join => socket.join_multicast_v4(&group, &iface),
                Membership::Leave => socket.leave_multicast_v4(&group, &iface),
            }
        }
        IpAddr::V6(group) => {
            let index = iface_v6(iface)?;
            match how {
                Membership::Join => socket.join_multicast_v6(&group, index),
                Membership::Leave => socket.leave_multicast_v6(&group, index),
            }
        }
    }
}

/// Source-specific membership: IP_ADD_SOURCE_MEMBERSHIP for IPv4, MCAST_JOIN_SOURCE_GROUP for
/// IPv6 (socket2 has no IPv6 form, so that one goes through libc).
pub fn source_membership(
    socket: &Socket,
    how: Membership,
    source: IpAddr,
    group: IpAddr,
    iface: Option<(IpAddr, u32)>,
) -> io::Result<()> {
    match (source, group) {
        (IpAddr::V4(source), IpAddr::V4(group)) => {
            let iface = iface_v4(iface)?;
            match how {
                Membership::Join => socket.join_ssm_v4(&source, &group, &iface),
                Membership::Leave => socket.leave_ssm_v4(&source, &group, &iface),
            }
        }
        (IpAddr::V6(source), IpAddr::V6(group)) => source_membership_v6(socket, how, source, group, iface_v6(iface)?),
        _ => Err(io::Error::from_raw_os_error(libc::EINVAL)),
    }
}

/// The interface of an IPv4 membership: its address (none: the kernel chooses). An address of
/// the other family is EINVAL, as libuv answers when it cannot parse it as this one.
fn iface_v4(iface: Option<(IpAddr, u32)>) -> io::Result<Ipv4Addr> {
    match iface {
        Some((IpAddr::V4(v4), _)) => Ok(v4),
        Some(_) => Err(io::Error::from_raw_os_error(libc::EINVAL)),
        None => Ok(Ipv4Addr::UNSPECIFIED),
    }
}

/// The interface of an IPv6 membership: the scope id of an IPv6 address names it (none, or no
/// scope: index 0, the kernel chooses). An address of the other family is EINVAL.
fn iface_v6(iface: Option<(IpAddr, u32)>) -> io::Result<u32> {
    match iface {
        Some((IpAddr::V6(_), scope)) => Ok(scope),
        Some(_) => Err(io::Error::from_raw_os_error(libc::EINVAL)),
        None => Ok(0),
    }
}

fn source_membership_v6(
    socket: &Socket,
    how: Membership,
    source: Ipv6Addr,
    group: Ipv6Addr,
    index: u32,
) -> io::Result<()> {
    let option = match how {
        Membership::Join => libc::MCAST_JOIN_SOURCE_GROUP,
        Membership::Leave => libc::MCAST_LEAVE_SOURCE_GROUP,
    };
    let storage = |ip: Ipv6Addr| SockAddr::from(SocketAddr::new(IpAddr::V6(ip), 0)).as_storage();
    let req = GroupSourceReq { gsr_interface: index, gsr_group: storage(group), gsr_source: storage(source) };
    set_raw_option(socket.as_raw_fd(), libc::IPPROTO_IPV6, option, &req)
}

/// `struct group_source_req` from <linux/in.h>: the interface index, then two
/// `sockaddr_storage` (8-byte aligned, so 4 bytes of padding follow the index on 64-bit).
/// socket2's `SockAddrStorage` is `repr(transparent)` over `sockaddr_storage`.
#[repr(C)]
struct GroupSourceReq {
    gsr_interface: u32,
    gsr_group: SockAddrStorage,
    gsr_source: SockAddrStorage,
}

/// setsockopt(2) for the options socket2 has no setter for: `value` is what the option takes.
pub(crate) fn set_raw_option<T>(fd: RawFd, level: libc::c_int, option: libc::c_int, value: &T) -> io::Result<()> {
    let len = std::mem::size_of::<T>() as libc::socklen_t;
    // SAFETY: the kernel reads exactly `len` bytes from `value`, which outlives the call.
    let rc = unsafe { libc::setsockopt(fd, level, option, (value as *const T).cast(), len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loopback_v4() -> SocketAddr {
        "127.0.0.1:0".parse().unwrap()
    }

    #[test]
    fn a_duplicate_fd_is_the_same_socket_and_outlives_the_original() {
        let socket = bind_udp(loopback_v4(), BindFlags::default()).unwrap();
        let bound = local_addr(&socket).unwrap();
        let dup = duplicate_fd(socket.as_raw_fd()).unwrap();
        assert_ne!(dup, socket.as_raw_fd());
        drop(socket);
        let (adopted, family) = adopt_udp_fd(dup).unwrap();
        assert_eq!(family, Family::V4);
        assert_eq!(local_addr(&adopted).unwrap(), bound);
        assert_eq!(duplicate_fd(-1).unwrap_err().raw_os_error(), Some(libc::EBADF));
    }

    #[test]
    fn binds_and_reports_address() {
        let socket = bind_udp(loopback_v4(), BindFlags::default()).unwrap();
        let local = local_addr(&socket).unwrap();
        assert_eq!(local.ip(), "127.0.0.1".parse::<IpAddr>().unwrap());
        assert_ne!(local.port(), 0);
        assert!(socket.nonblocking().unwrap());
    }

    #[test]
    fn second_bind_without_reuse_is_addrinuse() {
        let first = bind_udp(loopback_v4(), BindFlags::default()).unwrap();
        let taken = local_addr(&first).unwrap();
        let err = bind_udp(taken, BindFlags::default()).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EADDRINUSE));
    }

    #[test]
    fn reuse_port_lets_two_sockets_share() {
        let flags = BindFlags::from_bits(BindFlags::REUSEPORT);
        let first = bind_udp(loopback_v4(), flags).unwrap();
        let taken = local_addr(&first).unwrap();
        assert!(bind_udp(taken, flags).is_ok());
    }

    #[test]
    fn options_round_trip() {
        let socket = bind_udp(loopback_v4(), BindFlags::default()).unwrap();
        set_option(&socket, Family::V4, SockOpt::RecvBuffer, 65536).unwrap();
        // Linux doubles the value it stores for bookkeeping.
        assert_eq!(get_option(&socket, SockOpt::RecvBuffer).unwrap(), 131072);
        set_option(&socket, Family::V4, SockOpt::Ttl, 7).unwrap();
        assert_eq!(socket.ttl_v4().unwrap(), 7);
        set_option(&socket, Family::V4, SockOpt::Broadcast, 1).unwrap();
        assert!(socket.broadcast().unwrap());
        let err = set_option(&socket, Family::V4, SockOpt::Ttl, 0).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
    }

    #[test]
    fn a_fresh_socket_has_no_kernel_drops() {
        let socket = bind_udp(loopback_v4(), BindFlags::default()).unwrap();
        assert_eq!(kernel_drops(&socket).unwrap(), 0);
    }

    #[test]
    fn connect_and_disconnect() {
        let peer = bind_udp(loopback_v4(), BindFlags::default()).unwrap();
        let socket = bind_udp(loopback_v4(), BindFlags::default()).unwrap();
        connect(&socket, local_addr(&peer).unwrap()).unwrap();
        assert_eq!(peer_addr(&socket).unwrap(), local_addr(&peer).unwrap());
        disconnect(&socket).unwrap();
        assert!(peer_addr(&socket).is_err());
    }

    #[test]
    fn multicast_membership_on_loopback() {
        let socket = bind_udp("0.0.0.0:0".parse().unwrap(), BindFlags::default()).unwrap();
        let group: IpAddr = "239.255.0.42".parse().unwrap();
        let lo = Some(("127.0.0.1".parse().unwrap(), 0));
        membership(&socket, Membership::Join, group, lo).unwrap();
        membership(&socket, Membership::Leave, group, lo).unwrap();
        let source: IpAddr = "127.0.0.1".parse().unwrap();
        source_membership(&socket, Membership::Join, source, group, lo).unwrap();
        source_membership(&socket, Membership::Leave, source, group, lo).unwrap();
    }

    #[test]
    fn ipv6_source_membership_reaches_the_kernel_whole() {
        // The kernel reads every field of the group_source_req: the pair joined once is known
        // (net/ipv6/mcast.c answers a second join of it with EADDRNOTAVAIL), and an interface
        // index that names no interface is ENODEV.
        let socket = bind_udp("[::]:0".parse().unwrap(), BindFlags::default()).unwrap();
        let group: IpAddr = "ff3e::4321".parse().unwrap();
        let source: IpAddr = "::1".parse().unwrap();
        let lo = crate::addr::parse_ip("::%lo", Family::V6);
        source_membership(&socket, Membership::Join, source, group, lo).unwrap();
        let again = source_membership(&socket, Membership::Join, source, group, lo).unwrap_err();
        assert_eq!(again.raw_os_error(), Some(libc::EADDRNOTAVAIL));
        source_membership(&socket, Membership::Leave, source, group, lo).unwrap();
        let nowhere = Some(("::".parse().unwrap(), 999_999));
        let err = source_membership(&socket, Membership::Join, source, group, nowhere).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENODEV));
    }

    #[test]
    fn adopts_a_udp_fd_and_refuses_others() {
        let socket = bind_udp(loopback_v4(), BindFlags::default()).unwrap();
        let fd = socket.into_raw_fd();
        let (adopted, family) = adopt_udp_fd(fd).unwrap();
        assert_eq!(family, Family::V4);
        assert_eq!(adopted.as_raw_fd(), fd);
        assert!(adopt_udp_fd(-1).is_err());
        let tcp = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        let err = adopt_udp_fd(tcp.as_raw_fd()).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
    }
}
