//! Round trips through both halves on loopback: what `send` sends, `recv` reads back exactly.

use super::*;
use std::net::{SocketAddr, UdpSocket};
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
