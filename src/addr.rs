//! IP literals and socket addresses: JS strings in, `SocketAddr` out, and back.
//!
//! JS resolves host names; what reaches Rust is always an IP literal. IPv6 literals may carry a
//! zone (`fe80::1%eth0`), resolved the way libuv's `uv_ip6_addr` does on Unix: the zone goes
//! through `if_nametoindex`, and one it does not know (digits included) is scope 0, silently.

use std::ffi::{CStr, CString};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// Address family of a socket, as JS names it (`udp4` / `udp6`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    /// `4` or `6` from JS; anything else is not a family.
    pub fn from_number(n: f64) -> Option<Family> {
        if n == 4.0 {
            Some(Family::V4)
        } else if n == 6.0 {
            Some(Family::V6)
        } else {
            None
        }
    }

    pub fn of(addr: &SocketAddr) -> Family {
        match addr {
            SocketAddr::V4(_) => Family::V4,
            SocketAddr::V6(_) => Family::V6,
        }
    }

    /// The name Node puts in `address().family` and `rinfo.family`.
    pub fn node_name(self) -> &'static str {
        match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }
}

/// Parses an IP literal with an optional IPv6 zone and pairs it with `port`.
/// Returns `None` for anything that is not a literal of the socket's family.
pub fn parse_socket_addr(ip: &str, port: u16, family: Family) -> Option<SocketAddr> {
    match family {
        Family::V4 => ip
            .parse::<Ipv4Addr>()
            .ok()
            .map(|v4| SocketAddr::V4(SocketAddrV4::new(v4, port))),
        Family::V6 => {
            let (literal, zone) = match ip.split_once('%') {
                Some((literal, zone)) => (literal, Some(zone)),
                None => (ip, None),
            };
            let v6 = literal.parse::<Ipv6Addr>().ok()?;
            let scope_id = match zone {
                Some(zone) => zone_to_index(zone)?,
                None => 0,
            };
            Some(SocketAddr::V6(SocketAddrV6::new(v6, port, 0, scope_id)))
        }
    }
}

/// Parses a bare IP literal (no port), IPv6 zone allowed; returns the address and its scope id.
pub fn parse_ip(ip: &str, family: Family) -> Option<(IpAddr, u32)> {
    parse_socket_addr(ip, 0, family).map(|sa| match sa {
        SocketAddr::V4(v4) => (IpAddr::V4(*v4.ip()), 0),
        SocketAddr::V6(v6) => (IpAddr::V6(*v6.ip()), v6.scope_id()),
    })
}

/// Parses an IP literal of either family (IPv6 zone allowed), for the multicast calls: libuv
/// picks the IPv4 or IPv6 option by the address, and Linux accepts IPv4 multicast options on a
/// dual-stack IPv6 socket.
pub fn parse_any_ip(ip: &str) -> Option<(IpAddr, u32)> {
    parse_ip(ip, Family::V4).or_else(|| parse_ip(ip, Family::V6))
}

/// A zone is an interface name: libuv (unix/inet.c, uv_ip6_addr) takes `if_nametoindex(zone)`
/// as the scope id, so an unknown name, or digits that name no interface, give scope 0.
fn zone_to_index(zone: &str) -> Option<u32> {
    if zone.is_empty() {
        return None;
    }
    let name = CString::new(zone).ok()?;
    // SAFETY: `name` is a valid NUL-terminated C string that outlives the call.
    Some(unsafe { libc::if_nametoindex(name.as_ptr()) })
}

/// Formats an address the way Node shows it: IPv6 with a zone gets `%ifname` (or `%index` when the
/// interface has no name any more).
pub fn format_ip(addr: &SocketAddr) -> String {
    let mut text = IpText::default();
    text.write_ip(addr);
    text.as_str().to_owned()
}

/// An address's text as `format_ip` writes it, on the stack: received datagrams name their peer
/// once each, and a heap allocation per datagram is what the receive path avoids.
pub struct IpText {
    bytes: [u8; IP_TEXT_MAX],
    len: usize,
}

/// The longest text: an IPv6 literal (45) with `%` and an interface name (IF_NAMESIZE - 1).
const IP_TEXT_MAX: usize = 45 + 1 + libc::IF_NAMESIZE;

impl Default for IpText {
    fn default() -> IpText {
        IpText { bytes: [0; IP_TEXT_MAX], len: 0 }
    }
}

impl IpText {
    /// The text of `addr`'s IP (with `%zone` for a scoped IPv6 address), replacing what was here.
    pub fn write_ip(&mut self, addr: &SocketAddr) -> &str {
        use std::fmt::Write;
        self.len = 0;
        // Writes that do not fit are cut off (never, at IP_TEXT_MAX); fmt errors are only that.
        let _ = match addr {
            SocketAddr::V4(v4) => {
                // By hand: the formatter's padding machinery showed in profiles of a server
                // (one text per distinct peer per batch).
                for (i, octet) in v4.ip().octets().into_iter().enumerate() {
                    if i > 0 {
                        self.push(b'.');
                    }
                    self.push_decimal(octet);
                }
                Ok(())
            }
            SocketAddr::V6(v6) if v6.scope_id() == 0 => write!(self, "{}", v6.ip()),
            SocketAddr::V6(v6) => write!(self, "{}%{}", v6.ip(), index_to_zone(v6.scope_id())),
        };
        self.as_str()
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }

    /// Appends one ASCII byte (cut off at IP_TEXT_MAX, which an IPv4 text never reaches).
    fn push(&mut self, byte: u8) {
        if let Some(slot) = self.bytes.get_mut(self.len) {
            *slot = byte;
            self.len += 1;
        }
    }

    fn push_decimal(&mut self, n: u8) {
        if n >= 100 {
            self.push(b'0' + n / 100);
        }
        if n >= 10 {
            self.push(b'0' + n / 10 % 10);
        }
        self.push(b'0' + n % 10);
    }
}

impl std::fmt::Write for IpText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let target = self.bytes.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        target.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

fn index_to_zone(index: u32) -> String {
    let mut name = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: `name` has room for IF_NAMESIZE bytes, which is what if_indextoname may write.
    let found = unsafe { libc::if_indextoname(index, name.as_mut_ptr()) };
    if found.is_null() {
        return index.to_string();
    }
    // SAFETY: on success if_indextoname wrote a NUL-terminated string into `name`.
    let cstr = unsafe { CStr::from_ptr(name.as_ptr()) };
    cstr.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ipv4_literals_only_for_v4_sockets() {
        let sa = parse_socket_addr("127.0.0.1", 53, Family::V4).unwrap();
        assert_eq!(sa, "127.0.0.1:53".parse().unwrap());
        assert!(parse_socket_addr("::1", 53, Family::V4).is_none());
        assert!(parse_socket_addr("127.0.0.1", 53, Family::V6).is_none());
        assert!(parse_socket_addr("localhost", 53, Family::V4).is_none());
        assert!(parse_socket_addr("1.2.3.4.5", 53, Family::V4).is_none());
    }

    #[test]
    fn parses_ipv6_zones_as_libuv_does() {
        let lo = parse_socket_addr("fe80::1%lo", 9, Family::V6).unwrap();
        match lo {
            SocketAddr::V6(v6) => assert_eq!(v6.scope_id(), 1),
            _ => panic!("not v6"),
        }
        // Digits and unknown names are scope 0, as libuv's if_nametoindex gives them.
        for zone in ["7", "no-such-if0"] {
            match parse_socket_addr(&format!("fe80::1%{zone}"), 9, Family::V6).unwrap() {
                SocketAddr::V6(v6) => assert_eq!(v6.scope_id(), 0, "zone {zone}"),
                _ => panic!("not v6"),
            }
        }
        assert!(parse_socket_addr("fe80::1%", 9, Family::V6).is_none());
    }

    #[test]
    fn formats_like_node() {
        assert_eq!(format_ip(&"10.0.0.1:1".parse().unwrap()), "10.0.0.1");
        assert_eq!(format_ip(&"[::1]:1".parse().unwrap()), "::1");
        let scoped = SocketAddr::V6(SocketAddrV6::new("fe80::1".parse().unwrap(), 1, 0, 1));
        assert_eq!(format_ip(&scoped), "fe80::1%lo");
        let unnamed = SocketAddr::V6(SocketAddrV6::new("fe80::1".parse().unwrap(), 1, 0, 999_999));
        assert_eq!(format_ip(&unnamed), "fe80::1%999999");
    }

    #[test]
    fn ipv4_texts_match_the_standard_formatter() {
        let mut text = IpText::default();
        for ip in [[0, 0, 0, 0], [127, 0, 0, 1], [9, 10, 99, 100], [255, 255, 255, 255], [1, 20, 200, 5]] {
            let addr = SocketAddr::from((ip, 53));
            assert_eq!(text.write_ip(&addr), std::net::Ipv4Addr::from(ip).to_string());
        }
    }

    #[test]
    fn any_family_literals() {
        assert_eq!(parse_any_ip("239.1.2.3").unwrap().0, "239.1.2.3".parse::<IpAddr>().unwrap());
        assert_eq!(parse_any_ip("ff02::1%lo").unwrap().1, 1);
        assert!(parse_any_ip("nope").is_none());
    }

    #[test]
    fn bare_ip_keeps_scope() {
        let (ip, scope) = parse_ip("fe80::2%lo", Family::V6).unwrap();
        assert_eq!(ip, "fe80::2".parse::<IpAddr>().unwrap());
        assert_eq!(scope, 1);
    }
}
