//! turbo-dgram-flood: the native load generator of the benchmark tool (lib/bench/).
//!
//! The benchmark measures JavaScript sockets, so whatever sits on the other end of the wire must
//! never be the bottleneck and must cost the measured process nothing. A Node process cannot flood
//! a Node receiver (the builtin sends ~200k/s and receives ~360k/s), so this small program does
//! the other end with batched syscalls:
//!
//!   flood  --dest IP:PORT --size N [--rate R] [--duration-ms D] [--gso 0|1]
//!          rate 0 (default): as fast as possible, sendmmsg of UDP_SEGMENT (GSO) super-datagrams;
//!          rate R > 0: R datagrams per second, evenly spaced, one send() each.
//!   sink   [--ports N] [--rcvbuf BYTES] [--gro 0|1]
//!          counts datagrams on N sockets bound to 127.0.0.1 with recvmmsg (UDP_GRO: one receive
//!          per GSO super-datagram, so it keeps up with GSO senders).
//!   ping   --dest IP:PORT --size N [--duration-ms D] [--warmup-ms W] [--timeout-ms T]
//!          one datagram in flight against an echo server; round-trip percentiles.
//!   clients --dest IP:PORT [--ports N] [--rate R] ...: many clients, paced requests, replies
//!          matched, round-trip percentiles (turbo-dgram-flood/clients.rs).
//!
//! flood and clients send --payload-file F (its bytes as they are) instead of --size N bytes;
//! flood --sources K spreads the flood over K source ports (SO_REUSEPORT groups hash by them).
//!
//! Protocol with the parent (lib/bench/procs.js): one JSON object per stdout line ("ready",
//! "sample", "done", "error"); times are CLOCK_MONOTONIC nanoseconds, the clock Node's
//! process.hrtime.bigint() reads, so samples line up with marks taken in JS. The end of stdin
//! means "stop now" (and also catches a parent that died). Loopback only: addresses other than
//! 127.0.0.0/8 and ::1 are refused.
//!
//! std + libc only, so it builds with the project's Cargo package and nothing else.

use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::io::AsRawFd;
use std::process::exit;

#[path = "turbo-dgram-flood/clients.rs"]
mod clients;
#[path = "turbo-dgram-flood/ping.rs"]
mod ping;

// Linux UAPI (include/uapi/linux/udp.h), defined here because not every libc version exports them.
const SOL_UDP: libc::c_int = 17;
const UDP_SEGMENT: libc::c_int = 103;
const UDP_GRO: libc::c_int = 104;
/// The kernel refuses GSO sends of more segments than this (UDP_MAX_SEGMENTS, include/linux/udp.h).
const UDP_MAX_SEGMENTS: usize = 64;
/// Largest UDP payload over IPv4.
const MAX_UDP_PAYLOAD: usize = 65507;
/// Datagrams (or GSO super-datagrams) per sendmmsg / recvmmsg call; chosen somewhat arbitrarily,
/// past ~32 the syscall cost per datagram stops falling.
const VLEN: usize = 64;

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some(mode) = argv.first().cloned() else { usage() };
    let opts = parse_opts(&argv[1..]);
    let result = match mode.as_str() {
        "flood" => flood(&opts),
        "sink" => sink(&opts),
        "ping" => ping::ping(&opts),
        "clients" => clients::clients(&opts),
        "-h" | "--help" => usage(),
        _ => usage(),
    };
    if let Err(e) = result {
        emit(&format!("{{\"type\":\"error\",\"message\":{}}}", json_str(&e.to_string())));
        exit(1);
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: turbo-dgram-flood flood --dest IP:PORT --size N [--rate R] [--duration-ms D] [--gso 0|1]\n\
         \x20      turbo-dgram-flood sink [--ports N] [--rcvbuf BYTES] [--gro 0|1] [--sample-ms S]\n\
         \x20      turbo-dgram-flood ping --dest IP:PORT --size N [--duration-ms D] [--warmup-ms W]\n\
         \x20      turbo-dgram-flood clients --dest IP:PORT [--ports N] [--rate R] [--size N | --payload-file F]\n\
         \x20                        [--tag-bytes T] [--warmup-ms W] [--duration-ms D] [--timeout-ms T]"
    );
    exit(2)
}

fn parse_opts(args: &[String]) -> HashMap<String, String> {
    let mut map = HashMap::new();
    let mut i = 0;
    while i < args.len() {
        let Some(key) = args[i].strip_prefix("--") else {
            eprintln!("turbo-dgram-flood: unexpected argument '{}'", args[i]);
            usage()
        };
        let Some(value) = args.get(i + 1) else {
            eprintln!("turbo-dgram-flood: --{key} needs a value");
            usage()
        };
        map.insert(key.to_string(), value.clone());
        i += 2;
    }
    map
}

fn opt_u64(opts: &HashMap<String, String>, key: &str, default: u64) -> io::Result<u64> {
    match opts.get(key) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| invalid(format!("--{key}: not a number: {v}"))),
    }
}

fn opt_dest(opts: &HashMap<String, String>) -> io::Result<SocketAddr> {
    let raw = opts.get("dest").ok_or_else(|| invalid("--dest IP:PORT is required".into()))?;
    let addr: SocketAddr = raw.parse().map_err(|_| invalid(format!("--dest: not IP:PORT: {raw}")))?;
    // The benchmark must never send anywhere but this machine.
    if !addr.ip().is_loopback() {
        return Err(invalid(format!("--dest {addr}: only loopback addresses are allowed")));
    }
    Ok(addr)
}

/// The datagram to send: the bytes of --payload-file, or --size N bytes of a fixed pattern.
fn payload_from(opts: &HashMap<String, String>) -> io::Result<Vec<u8>> {
    let payload = match opts.get("payload-file") {
        Some(f) => std::fs::read(f).map_err(|e| invalid(format!("--payload-file {f}: {e}")))?,
        None => (0..opt_u64(opts, "size", 64)? as usize).map(|i| (i % 251) as u8).collect(),
    };
    if payload.is_empty() || payload.len() > MAX_UDP_PAYLOAD {
        return Err(invalid(format!("payload of {} bytes: must be 1..{MAX_UDP_PAYLOAD}", payload.len())));
    }
    Ok(payload)
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// CLOCK_MONOTONIC in nanoseconds, the clock behind Node's process.hrtime.
fn now_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn emit(line: &str) {
    let mut out = io::stdout().lock();
    // A parent that went away is not an error worth dying noisily for: stdin EOF stops us next.
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether stdin is a pipe or socket (what the parent gives us). Only then does its end mean
/// "stop": run by hand with stdin on /dev/null or a terminal, the program runs its full duration.
fn stdin_is_channel() -> bool {
    // SAFETY: st is plain data that fstat fills.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fd 0 and a valid stat buffer.
    if unsafe { libc::fstat(0, &mut st) } != 0 {
        return false;
    }
    let kind = st.st_mode & libc::S_IFMT;
    kind == libc::S_IFIFO || kind == libc::S_IFSOCK
}

/// True once stdin has reached its end (the parent's "stop"), without blocking.
fn stdin_closed() -> bool {
    if !stdin_is_channel() {
        return false;
    }
    let mut pfd = libc::pollfd { fd: 0, events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd, timeout 0.
    let n = unsafe { libc::poll(&mut pfd, 1, 0) };
    if n <= 0 {
        return false;
    }
    drain_stdin_is_eof()
}

/// Reads what stdin has; true at end of file. Only called when poll() said stdin is readable.
fn drain_stdin_is_eof() -> bool {
    let mut buf = [0u8; 256];
    // SAFETY: buf is valid for buf.len() bytes.
    let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
    n <= 0
}

fn setsockopt_int(fd: libc::c_int, level: libc::c_int, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: value lives across the call and the length matches its type.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

fn local_socket_for(dest: &SocketAddr) -> io::Result<UdpSocket> {
    let sock = if dest.is_ipv4() { UdpSocket::bind("127.0.0.1:0")? } else { UdpSocket::bind("[::1]:0")? };
    sock.connect(dest)?;
    Ok(sock)
}

// ---------------------------------------------------------------------------------------------
// flood

fn flood(opts: &HashMap<String, String>) -> io::Result<()> {
    let dest = opt_dest(opts)?;
    let payload = payload_from(opts)?;
    let rate = opt_u64(opts, "rate", 0)?;
    let duration_ns = opt_u64(opts, "duration-ms", 3000)?.saturating_mul(1_000_000);
    let sample_ns = opt_u64(opts, "sample-ms", 10)?.max(1) * 1_000_000;
    let want_gso = opt_u64(opts, "gso", 1)? != 0;
    let nsources = opt_u64(opts, "sources", 1)?.clamp(1, 1024) as usize;
    let socks: Vec<UdpSocket> = (0..nsources).map(|_| local_socket_for(&dest)).collect::<io::Result<_>>()?;
    let fds: Vec<libc::c_int> = socks.iter().map(|s| s.as_raw_fd()).collect();
    // SO_SNDBUF stays at its default: on loopback the send path delivers synchronously, the
    // buffer never fills; datagrams the receiver has no room for are dropped at the receiver.
    if rate > 0 {
        paced(&fds, &payload, rate, duration_ns, sample_ns)
    } else {
        unpaced(&fds, &payload, want_gso, duration_ns, sample_ns)
    }
}

/// As fast as one core can: sendmmsg of VLEN messages, each a GSO super-datagram of `segs`
/// datagrams of `size` bytes, so one syscall offers up to VLEN * 64 datagrams.
/// With several sources, each sendmmsg goes out through the next one in turn.
fn unpaced(fds: &[libc::c_int], one: &[u8], want_gso: bool, duration_ns: u64, sample_ns: u64) -> io::Result<()> {
    let size = one.len();
    let mut segs = if want_gso { (MAX_UDP_PAYLOAD / size).min(UDP_MAX_SEGMENTS) } else { 1 };
    if segs > 1 && fds.iter().any(|&fd| setsockopt_int(fd, SOL_UDP, UDP_SEGMENT, size as libc::c_int).is_err()) {
        segs = 1; // kernel without UDP GSO (< 4.18): plain sendmmsg
    }
    let payload: Vec<u8> = one.iter().copied().cycle().take(size * UDP_MAX_SEGMENTS).collect();
    let mut turn = 0usize;
    let mut iov = [libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 }; VLEN];
    // SAFETY: mmsghdr is plain data; all-zero is a valid empty header (no name, no control).
    let mut msgs: [libc::mmsghdr; VLEN] = unsafe { std::mem::zeroed() };
    let setup = |iov: &mut [libc::iovec; VLEN], msgs: &mut [libc::mmsghdr; VLEN], segs: usize| {
        for i in 0..VLEN {
            iov[i] = libc::iovec { iov_base: payload.as_ptr() as *mut libc::c_void, iov_len: size * segs };
            msgs[i].msg_hdr.msg_iov = &mut iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
    };
    setup(&mut iov, &mut msgs, segs);

    let t0 = now_ns();
    let deadline = t0.saturating_add(duration_ns);
    let mut next_sample = t0;
    let (mut sent, mut errors, mut calls) = (0u64, 0u64, 0u64);
    emit(&format!("{{\"type\":\"ready\",\"t\":{t0},\"gso\":{},\"segs\":{segs}}}", segs > 1));
    loop {
        let now = now_ns();
        if now >= next_sample {
            emit(&format!("{{\"type\":\"sample\",\"t\":{now},\"sent\":{sent}}}"));
            next_sample = now + sample_ns;
            if now >= deadline || stdin_closed() {
                break;
            }
        }
        let fd = fds[turn % fds.len()];
        turn += 1;
        // SAFETY: msgs[..VLEN] point at iov entries and a payload that outlive the call.
        let n = unsafe { libc::sendmmsg(fd, msgs.as_mut_ptr(), VLEN as libc::c_uint, 0) };
        calls += 1;
        if n > 0 {
            sent += n as u64 * segs as u64;
            continue;
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => {}
            // The receiver is gone (ICMP port unreachable) or the queue is momentarily full:
            // keep offering, that is what a flood does.
            Some(libc::ECONNREFUSED) | Some(libc::ENOBUFS) | Some(libc::EAGAIN) => errors += 1,
            // EIO / EINVAL: GSO refused at run time (as quinn-udp does, fall back to plain sends).
            Some(libc::EIO) | Some(libc::EINVAL) if segs > 1 => {
                for &fd in fds {
                    let _ = setsockopt_int(fd, SOL_UDP, UDP_SEGMENT, 0);
                }
                segs = 1;
                setup(&mut iov, &mut msgs, segs);
            }
            _ => return Err(err),
        }
    }
    let t1 = now_ns();
    emit(&format!(
        "{{\"type\":\"done\",\"t0\":{t0},\"t1\":{t1},\"sent\":{sent},\"errors\":{errors},\"calls\":{calls},\"gso\":{},\"segs\":{segs}}}",
        segs > 1
    ));
    Ok(())
}

/// `rate` datagrams per second, one send() each at evenly spaced deadlines. Sleeps when the next
/// deadline is far, spins when it is near (a sleep overshoots by tens of microseconds, more than
/// the 10 us spacing of 100k/s). Falling far behind resets the schedule instead of bursting.
/// With several sources, the sends go out through them in turn.
fn paced(fds: &[libc::c_int], payload: &[u8], rate: u64, duration_ns: u64, sample_ns: u64) -> io::Result<()> {
    let size = payload.len();
    // SAFETY: prctl with PR_SET_TIMERSLACK takes one integer; 1 ns asks for precise wake-ups.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong) };
    let interval = (1_000_000_000 / rate.max(1)).max(1);
    let t0 = now_ns();
    let deadline = t0.saturating_add(duration_ns);
    let (mut next, mut next_sample) = (t0, t0);
    let (mut sent, mut errors, mut resets) = (0u64, 0u64, 0u64);
    emit(&format!("{{\"type\":\"ready\",\"t\":{t0},\"interval_ns\":{interval}}}"));
    loop {
        let mut now = now_ns();
        if now >= next_sample {
            emit(&format!("{{\"type\":\"sample\",\"t\":{now},\"sent\":{sent}}}"));
            next_sample = now + sample_ns;
            if now >= deadline || stdin_closed() {
                break;
            }
        }
        if now < next {
            let wait = next - now;
            if wait > 80_000 {
                let until = next - 50_000;
                let ts = libc::timespec { tv_sec: (until / 1_000_000_000) as libc::time_t, tv_nsec: (until % 1_000_000_000) as libc::c_long };
                // SAFETY: valid timespec; a null remainder is allowed with TIMER_ABSTIME.
                unsafe { libc::clock_nanosleep(libc::CLOCK_MONOTONIC, libc::TIMER_ABSTIME, &ts, std::ptr::null_mut()) };
            }
            while now < next && next - now <= 80_000 {
                std::hint::spin_loop();
                now = now_ns();
            }
            continue;
        }
        let fd = fds[(sent + errors) as usize % fds.len()];
        // SAFETY: payload is valid for `size` bytes; the socket is connected.
        let n = unsafe { libc::send(fd, payload.as_ptr().cast(), size, 0) };
        if n >= 0 {
            sent += 1;
        } else {
            errors += 1;
        }
        next += interval;
        if now > next + 1000 * interval {
            next = now; // a long preemption: keep the spacing, give up the lost datagrams
            resets += 1;
        }
    }
    let t1 = now_ns();
    emit(&format!(
        "{{\"type\":\"done\",\"t0\":{t0},\"t1\":{t1},\"sent\":{sent},\"errors\":{errors},\"resets\":{resets},\"interval_ns\":{interval}}}"
    ));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// sink

struct SinkSocket {
    sock: UdpSocket,
    /// SO_RXQ_OVFL: the kernel's running count of datagrams it dropped on this socket.
    dropped: u32,
}

fn sink(opts: &HashMap<String, String>) -> io::Result<()> {
    let nports = opt_u64(opts, "ports", 1)?.clamp(1, 256) as usize;
    let rcvbuf = opt_u64(opts, "rcvbuf", 8 << 20)? as libc::c_int;
    let gro = opt_u64(opts, "gro", 1)? != 0;
    let sample_ns = opt_u64(opts, "sample-ms", 10)?.max(1) * 1_000_000;
    let max_ns = opt_u64(opts, "max-ms", 120_000)? * 1_000_000;

    let mut socks = Vec::with_capacity(nports);
    for _ in 0..nports {
        let sock = UdpSocket::bind("127.0.0.1:0")?;
        sock.set_nonblocking(true)?;
        let fd = sock.as_raw_fd();
        // A big buffer so a burst never overflows the sink: it must not be what limits a sender.
        // SO_RCVBUFFORCE (root) goes past rmem_max; otherwise take what rmem_max allows.
        if setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, rcvbuf).is_err() {
            let _ = setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, rcvbuf);
        }
        let _ = setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_RXQ_OVFL, 1);
        if gro {
            let _ = setsockopt_int(fd, SOL_UDP, UDP_GRO, 1); // Linux >= 5.0; counted per segment below
        }
        socks.push(SinkSocket { sock, dropped: 0 });
    }
    let ports: Vec<String> = socks.iter().map(|s| s.sock.local_addr().map(|a| a.port().to_string())).collect::<io::Result<_>>()?;
    emit(&format!("{{\"type\":\"ready\",\"ports\":[{}],\"gro\":{gro}}}", ports.join(",")));

    const BUF: usize = 65536; // a GRO receive can hold a whole GSO super-datagram
    const CTRL: usize = 64; // room for the UDP_GRO int and the SO_RXQ_OVFL u32
    let mut data = vec![0u8; VLEN * BUF];
    let mut ctrl = vec![0u8; VLEN * CTRL];
    let mut iov = [libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 }; VLEN];
    // SAFETY: plain data, zero is a valid empty header.
    let mut msgs: [libc::mmsghdr; VLEN] = unsafe { std::mem::zeroed() };

    let mut pfds: Vec<libc::pollfd> = socks.iter().map(|s| libc::pollfd { fd: s.sock.as_raw_fd(), events: libc::POLLIN, revents: 0 }).collect();
    // fd -1 makes poll() skip the entry: stdin is watched only when it is the parent's channel.
    pfds.push(libc::pollfd { fd: if stdin_is_channel() { 0 } else { -1 }, events: libc::POLLIN, revents: 0 });

    let t0 = now_ns();
    let mut next_sample = t0;
    let (mut count, mut bytes, mut calls) = (0u64, 0u64, 0u64);
    let mut stop = false;
    while !stop {
        let now = now_ns();
        if now >= next_sample {
            let dropped: u64 = socks.iter().map(|s| s.dropped as u64).sum();
            emit(&format!("{{\"type\":\"sample\",\"t\":{now},\"count\":{count},\"bytes\":{bytes},\"dropped\":{dropped}}}"));
            next_sample = now + sample_ns;
            if now - t0 > max_ns {
                break; // our own bound, should the parent forget us
            }
        }
        let timeout_ms = ((next_sample.saturating_sub(now)) / 1_000_000).max(1) as libc::c_int;
        // SAFETY: pfds is a valid array of pollfd of the given length.
        let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout_ms) };
        if n <= 0 {
            continue;
        }
        let stdin_ready = pfds[nports].revents != 0;
        for (i, s) in socks.iter_mut().enumerate() {
            if pfds[i].revents == 0 {
                continue;
            }
            loop {
                for j in 0..VLEN {
                    iov[j] = libc::iovec { iov_base: data[j * BUF..].as_mut_ptr().cast(), iov_len: BUF };
                    let h = &mut msgs[j].msg_hdr;
                    h.msg_iov = &mut iov[j];
                    h.msg_iovlen = 1;
                    h.msg_control = ctrl[j * CTRL..].as_mut_ptr().cast();
                    h.msg_controllen = CTRL as _;
                    h.msg_name = std::ptr::null_mut();
                    h.msg_namelen = 0;
                    h.msg_flags = 0;
                }
                // SAFETY: every header points at its own iov / control slice, valid for the call.
                let got = unsafe {
                    libc::recvmmsg(s.sock.as_raw_fd(), msgs.as_mut_ptr(), VLEN as libc::c_uint, libc::MSG_DONTWAIT, std::ptr::null_mut())
                };
                calls += 1;
                if got <= 0 {
                    break; // EAGAIN: drained
                }
                for m in msgs.iter().take(got as usize) {
                    let len = m.msg_len as u64;
                    let (segment, overflow) = read_cmsgs(&m.msg_hdr);
                    if let Some(d) = overflow {
                        s.dropped = d;
                    }
                    count += match segment {
                        Some(seg) if seg > 0 => len.div_ceil(seg as u64).max(1),
                        _ => 1,
                    };
                    bytes += len;
                }
                if (got as usize) < VLEN {
                    break;
                }
            }
        }
        if stdin_ready && drain_stdin_is_eof() {
            stop = true;
        }
    }
    let t1 = now_ns();
    let dropped: u64 = socks.iter().map(|s| s.dropped as u64).sum();
    emit(&format!("{{\"type\":\"sample\",\"t\":{t1},\"count\":{count},\"bytes\":{bytes},\"dropped\":{dropped}}}"));
    emit(&format!(
        "{{\"type\":\"done\",\"t0\":{t0},\"t1\":{t1},\"count\":{count},\"bytes\":{bytes},\"dropped\":{dropped},\"calls\":{calls}}}"
    ));
    Ok(())
}

/// The UDP_GRO segment size and the SO_RXQ_OVFL drop counter, when the kernel attached them.
fn read_cmsgs(hdr: &libc::msghdr) -> (Option<libc::c_int>, Option<u32>) {
    let (mut segment, mut overflow) = (None, None);
    // SAFETY: hdr was filled by recvmmsg; msg_control/msg_controllen describe our control buffer
    // and the CMSG_* macros stay within msg_controllen.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(hdr);
        while !c.is_null() {
            let data = libc::CMSG_DATA(c);
            if (*c).cmsg_level == SOL_UDP && (*c).cmsg_type == UDP_GRO {
                segment = Some(std::ptr::read_unaligned(data as *const libc::c_int));
            } else if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SO_RXQ_OVFL {
                overflow = Some(std::ptr::read_unaligned(data as *const u32));
            }
            c = libc::CMSG_NXTHDR(hdr, c);
        }
    }
    (segment, overflow)
}
