//! `ping`: one datagram in flight against an echo server; round-trip percentiles.

use std::collections::HashMap;
use std::io;
use std::os::unix::io::AsRawFd;

use super::{drain_stdin_is_eof, emit, local_socket_for, now_ns, opt_dest, opt_u64, stdin_is_channel, MAX_UDP_PAYLOAD};


pub fn ping(opts: &HashMap<String, String>) -> io::Result<()> {
    let dest = opt_dest(opts)?;
    let size = (opt_u64(opts, "size", 64)? as usize).clamp(8, MAX_UDP_PAYLOAD);
    let duration_ns = opt_u64(opts, "duration-ms", 1000)? * 1_000_000;
    let warmup_ns = opt_u64(opts, "warmup-ms", 200)? * 1_000_000;
    let timeout_ms = opt_u64(opts, "timeout-ms", 200)? as libc::c_int;
    let sock = local_socket_for(&dest)?;
    let fd = sock.as_raw_fd();
    let mut out = vec![0u8; size];
    let mut inb = vec![0u8; 65536];
    let mut rtts: Vec<u64> = Vec::with_capacity(1 << 16);
    let (mut lost, mut stale, mut seq) = (0u64, 0u64, 0u64);
    let t0 = now_ns();
    emit(&format!("{{\"type\":\"ready\",\"t\":{t0}}}"));
    let measure_from = t0 + warmup_ns;
    let end = measure_from + duration_ns;
    let mut pfds = [libc::pollfd { fd, events: libc::POLLIN, revents: 0 }, libc::pollfd { fd: if stdin_is_channel() { 0 } else { -1 }, events: libc::POLLIN, revents: 0 }];
    'outer: loop {
        let sent_at = now_ns();
        if sent_at >= end {
            break;
        }
        seq += 1;
        // The sequence number tells a late reply to an earlier (timed-out) ping from this one.
        out[..8].copy_from_slice(&seq.to_le_bytes());
        // SAFETY: out is valid for its length; the socket is connected.
        if unsafe { libc::send(fd, out.as_ptr().cast(), out.len(), 0) } < 0 {
            lost += 1;
            std::thread::sleep(std::time::Duration::from_millis(1));
            continue;
        }
        loop {
            let waited_ms = ((now_ns() - sent_at) / 1_000_000) as libc::c_int;
            if waited_ms >= timeout_ms {
                lost += 1;
                continue 'outer;
            }
            pfds[0].revents = 0;
            pfds[1].revents = 0;
            // SAFETY: two valid pollfds.
            let n = unsafe { libc::poll(pfds.as_mut_ptr(), 2, timeout_ms - waited_ms) };
            if n < 0 {
                continue;
            }
            if pfds[1].revents != 0 && drain_stdin_is_eof() {
                break 'outer;
            }
            if pfds[0].revents == 0 {
                continue;
            }
            // SAFETY: inb is valid for its length.
            let got = unsafe { libc::recv(fd, inb.as_mut_ptr().cast(), inb.len(), libc::MSG_DONTWAIT) };
            let back = now_ns();
            if got < 8 {
                continue; // ECONNREFUSED before the server binds, or a runt: wait on
            }
            if inb[..8] != seq.to_le_bytes() {
                stale += 1;
                continue;
            }
            if sent_at >= measure_from {
                rtts.push(back - sent_at);
            }
            break;
        }
    }
    rtts.sort_unstable();
    let q = |p: f64| -> u64 {
        if rtts.is_empty() { return 0; }
        let idx = ((p * rtts.len() as f64).ceil() as usize).clamp(1, rtts.len()) - 1;
        rtts[idx]
    };
    let mean = if rtts.is_empty() { 0 } else { rtts.iter().sum::<u64>() / rtts.len() as u64 };
    emit(&format!(
        "{{\"type\":\"done\",\"count\":{},\"lost\":{lost},\"stale\":{stale},\"min\":{},\"p50\":{},\"p90\":{},\"p99\":{},\"p999\":{},\"max\":{},\"mean\":{mean}}}",
        rtts.len(), q(0.0), q(0.5), q(0.9), q(0.99), q(0.999), rtts.last().copied().unwrap_or(0)
    ));
    Ok(())
}
