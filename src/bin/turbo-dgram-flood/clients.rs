//! `clients`: many clients against one server, the shape of a real UDP service's traffic.
//!
//!   clients --dest IP:PORT [--ports N] [--rate R] [--size N | --payload-file F] [--tag-bytes T]
//!           [--warmup-ms W] [--duration-ms D] [--timeout-ms T] [--sample-ms S]
//!
//! N sockets (source ports) connected to the server. rate R > 0: R requests per second in total,
//! evenly spaced, the sockets taking turns; rate 0: closed loop, one request in flight per socket
//! (with one socket, the classic echo). Replies are matched to requests per socket, oldest first
//! (a UDP server on loopback answers in order); with --tag-bytes T the first T bytes of each
//! request carry a per-socket sequence number that the reply must echo (a DNS ID is 2 bytes), so
//! a late reply is never taken for the next one's. Unanswered requests older than --timeout-ms
//! are lost. Round-trip times of the requests sent inside the window (after the warm-up) are kept
//! whole and sorted at the end: exact percentiles, 8 bytes per reply.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::UdpSocket;
use std::os::unix::io::AsRawFd;

use super::{
    drain_stdin_is_eof, emit, local_socket_for, now_ns, opt_dest, opt_u64, payload_from,
    stdin_is_channel,
};

struct Client {
    sock: UdpSocket,
    /// (sent at, sequence number) of the requests waiting for a reply, oldest first.
    waiting: VecDeque<(u64, u64)>,
    seq: u64,
}

#[derive(Default)]
struct Counts {
    sent: u64,
    replies: u64,
    lost: u64,
    stale: u64,
    errors: u64,
    window_sent: u64,
    window_replies: u64,
    window_lost: u64,
}

pub fn clients(opts: &HashMap<String, String>) -> io::Result<()> {
    let dest = opt_dest(opts)?;
    let nports = opt_u64(opts, "ports", 64)?.clamp(1, 1024) as usize;
    let rate = opt_u64(opts, "rate", 0)?;
    let mut payload = payload_from(opts)?;
    let tag_bytes = (opt_u64(opts, "tag-bytes", 0)? as usize)
        .min(8)
        .min(payload.len());
    let warmup_ns = opt_u64(opts, "warmup-ms", 200)? * 1_000_000;
    let duration_ns = opt_u64(opts, "duration-ms", 1000)? * 1_000_000;
    let timeout_ns = opt_u64(opts, "timeout-ms", 200)?.max(1) * 1_000_000;
    let sample_ns = opt_u64(opts, "sample-ms", 10)?.max(1) * 1_000_000;

    let mut clients = Vec::with_capacity(nports);
    // SAFETY: epoll_create1 with a valid flag.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if ep < 0 {
        return Err(io::Error::last_os_error());
    }
    for i in 0..nports {
        let sock = local_socket_for(&dest)?;
        sock.set_nonblocking(true)?;
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: i as u64,
        };
        // SAFETY: ep and the socket are open fds; ev is a valid event.
        if unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, sock.as_raw_fd(), &mut ev) } != 0 {
            return Err(io::Error::last_os_error());
        }
        clients.push(Client {
            sock,
            waiting: VecDeque::new(),
            seq: 0,
        });
    }
    // SAFETY: PR_SET_TIMERSLACK takes one integer; 1 ns asks for precise wake-ups.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong) };

    // 0 for the closed loop (rate 0).
    let interval = 1_000_000_000u64.checked_div(rate).map_or(0, |i| i.max(1));
    let t0 = now_ns();
    let measure_from = t0 + warmup_ns;
    let end = measure_from + duration_ns;
    let mut c = Counts::default();
    let mut rtts: Vec<u64> =
        Vec::with_capacity(((rate.max(20_000) * (duration_ns / 1_000_000)) / 1000) as usize);
    let (mut next, mut next_sample, mut turn, mut resets) = (t0, t0, 0usize, 0u64);
    let watch_stdin = stdin_is_channel();
    let mut events = [libc::epoll_event { events: 0, u64: 0 }; 64];
    let mut inb = vec![0u8; 65536];
    emit(&format!(
        "{{\"type\":\"ready\",\"t\":{t0},\"ports\":{nports},\"interval_ns\":{interval}}}"
    ));

    let send = |cl: &mut Client, c: &mut Counts, payload: &mut [u8], now: u64| {
        cl.seq += 1;
        let tag = cl.seq.to_le_bytes();
        payload[..tag_bytes].copy_from_slice(&tag[..tag_bytes]);
        // SAFETY: payload is valid for its length; the socket is connected.
        if unsafe {
            libc::send(
                cl.sock.as_raw_fd(),
                payload.as_ptr().cast(),
                payload.len(),
                0,
            )
        } >= 0
        {
            cl.waiting.push_back((now, cl.seq));
            c.sent += 1;
            if now >= measure_from && now < end {
                c.window_sent += 1;
            }
        } else {
            c.errors += 1;
        }
    };
    if rate == 0 {
        for cl in clients.iter_mut() {
            send(cl, &mut c, &mut payload, now_ns());
        }
    }
    let mut stopping = false;
    let mut stop_at = u64::MAX;
    loop {
        let mut now = now_ns();
        if now >= next_sample {
            emit(&format!(
                "{{\"type\":\"sample\",\"t\":{now},\"sent\":{},\"replies\":{},\"lost\":{}}}",
                c.sent, c.replies, c.lost
            ));
            next_sample = now + sample_ns;
            if watch_stdin && stdin_ready() && drain_stdin_is_eof() {
                break;
            }
            // Requests with no reply after the timeout are lost; in closed loop their socket
            // sends the next one.
            for cl in clients.iter_mut() {
                let mut expired = false;
                while let Some(&(at, _)) = cl.waiting.front() {
                    if now - at < timeout_ns {
                        break;
                    }
                    cl.waiting.pop_front();
                    c.lost += 1;
                    if at >= measure_from && at < end {
                        c.window_lost += 1;
                    }
                    expired = true;
                }
                if expired && rate == 0 && !stopping {
                    send(cl, &mut c, &mut payload, now);
                }
            }
        }
        if !stopping && now >= end {
            // Stop sending; wait for the replies still on their way (up to the timeout).
            stopping = true;
            stop_at = now + timeout_ns;
        }
        if stopping && (now >= stop_at || clients.iter().all(|cl| cl.waiting.is_empty())) {
            break;
        }
        // Sleep until the next send (or sample) unless a reply comes first.
        let until = if rate > 0 && !stopping {
            next.min(next_sample)
        } else {
            next_sample
        };
        let wait = until.saturating_sub(now);
        let spin_close = rate > 0 && !stopping && wait <= 60_000;
        let n = if spin_close {
            epoll_wait_ns(ep, &mut events, 0)
        } else {
            epoll_wait_ns(ep, &mut events, wait.saturating_sub(40_000))
        };
        for ev in events.iter().take(n) {
            let idx = ev.u64 as usize;
            let cl = &mut clients[idx];
            loop {
                // SAFETY: inb is valid for its length.
                let got = unsafe {
                    libc::recv(
                        cl.sock.as_raw_fd(),
                        inb.as_mut_ptr().cast(),
                        inb.len(),
                        libc::MSG_DONTWAIT,
                    )
                };
                let back = now_ns();
                if got < 0 {
                    break; // EAGAIN (drained) or ECONNREFUSED (nobody listening yet)
                }
                let got = got as usize;
                let matched = match_reply(cl, &inb[..got], tag_bytes, &mut c);
                if let Some(at) = matched {
                    c.replies += 1;
                    if at >= measure_from && at < end {
                        c.window_replies += 1;
                        rtts.push(back - at);
                    }
                    if rate == 0 && !stopping && back < end {
                        send(cl, &mut c, &mut payload, back);
                    }
                }
            }
        }
        if rate > 0 && !stopping {
            now = now_ns();
            while now < next && next - now <= 60_000 {
                std::hint::spin_loop();
                now = now_ns();
            }
            if now >= next {
                let cl = &mut clients[turn % nports];
                turn += 1;
                send(cl, &mut c, &mut payload, now);
                next += interval;
                if now > next + 1000 * interval {
                    next = now; // a long preemption: keep the spacing, give up the lost requests
                    resets += 1;
                }
            }
        }
    }
    // SAFETY: ep is ours and closed once.
    unsafe { libc::close(ep) };
    rtts.sort_unstable();
    let q = |p: f64| -> u64 {
        if rtts.is_empty() {
            return 0;
        }
        rtts[((p * rtts.len() as f64).ceil() as usize).clamp(1, rtts.len()) - 1]
    };
    let mean = if rtts.is_empty() {
        0
    } else {
        rtts.iter().sum::<u64>() / rtts.len() as u64
    };
    let t1 = now_ns();
    emit(&format!(
        "{{\"type\":\"done\",\"t0\":{measure_from},\"t1\":{end},\"finished\":{t1},\"ports\":{nports},\"rate\":{rate},\
         \"totalSent\":{},\"totalReplies\":{},\"totalLost\":{},\"sent\":{},\"replies\":{},\"lost\":{},\"stale\":{},\"errors\":{},\"resets\":{resets},\
         \"count\":{},\"min\":{},\"p50\":{},\"p90\":{},\"p99\":{},\"p999\":{},\"max\":{},\"mean\":{mean}}}",
        c.sent, c.replies, c.lost, c.window_sent, c.window_replies, c.window_lost, c.stale, c.errors,
        rtts.len(), q(0.0), q(0.5), q(0.9), q(0.99), q(0.999), rtts.last().copied().unwrap_or(0)
    ));
    Ok(())
}

/// The request a reply answers: the oldest waiting one, or with a tag the one whose sequence
/// number the reply echoes (older ones stay waiting until they time out). None: stale.
fn match_reply(cl: &mut Client, reply: &[u8], tag_bytes: usize, c: &mut Counts) -> Option<u64> {
    if tag_bytes == 0 {
        return cl.waiting.pop_front().map(|(at, _)| at);
    }
    if reply.len() < tag_bytes {
        c.stale += 1;
        return None;
    }
    let pos = cl
        .waiting
        .iter()
        .position(|&(_, seq)| seq.to_le_bytes()[..tag_bytes] == reply[..tag_bytes]);
    match pos.and_then(|p| cl.waiting.remove(p)) {
        Some((at, _)) => Some(at),
        None => {
            c.stale += 1;
            None
        }
    }
}

fn stdin_ready() -> bool {
    let mut pfd = libc::pollfd {
        fd: 0,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, timeout 0.
    unsafe { libc::poll(&mut pfd, 1, 0) > 0 }
}

/// epoll_wait with a nanosecond timeout: ppoll on the epoll fd (epoll_wait's own timeout is in
/// milliseconds, too coarse for 20 us spacing), then a non-blocking epoll_wait for the events.
fn epoll_wait_ns(ep: libc::c_int, events: &mut [libc::epoll_event], timeout_ns: u64) -> usize {
    if timeout_ns > 0 {
        let mut pfd = libc::pollfd {
            fd: ep,
            events: libc::POLLIN,
            revents: 0,
        };
        let ts = libc::timespec {
            tv_sec: (timeout_ns / 1_000_000_000) as libc::time_t,
            tv_nsec: (timeout_ns % 1_000_000_000) as libc::c_long,
        };
        // SAFETY: one valid pollfd, a valid timespec, no signal mask.
        let r = unsafe { libc::ppoll(&mut pfd, 1, &ts, std::ptr::null()) };
        if r <= 0 {
            return 0;
        }
    }
    // SAFETY: events is valid for its length.
    let n = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), events.len() as libc::c_int, 0) };
    n.max(0) as usize
}
