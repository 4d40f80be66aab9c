//! The reactor through its public Rust API: a socket attached to it receives batches, wakes its
//! owner once per delivery, keeps order, and stops at close.

use std::net::UdpSocket;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use turbo_dgram::addr::Family;
use turbo_dgram::batch::Datagram;
use turbo_dgram::reactor::{Bound, Mail, Notify, Reactor, UdpCore};
use turbo_dgram::socket::{self, BindFlags};

/// Stands in for the JS thread: each notification is a message on a std channel.
struct TestNotify(Mutex<Sender<u64>>);

impl Notify for TestNotify {
    fn notify(&self, core: &Arc<UdpCore>, _on_js_thread: bool) {
        let _ = self.0.lock().unwrap().send(core.id);
    }
}

fn attached() -> (Arc<UdpCore>, Receiver<u64>, std::net::SocketAddr) {
    let (tx, rx) = channel();
    let core = UdpCore::new(Box::new(TestNotify(Mutex::new(tx))));
    let sock = socket::bind_udp("127.0.0.1:0".parse().unwrap(), BindFlags::default()).unwrap();
    let local = socket::local_addr(&sock).unwrap();
    // Room for a whole test burst even if the reactor thread is not scheduled while it is sent.
    sock.set_recv_buffer_size(4 << 20).unwrap();
    core.attach(Bound { socket: sock, family: Family::V4 }, &Reactor::thread().unwrap()).map_err(|(errno, _)| errno).unwrap();
    (core, rx, local)
}

/// Takes mail until `want` datagrams arrived, the way bindings.rs delivers: one notification,
/// then take until empty.
fn collect(core: &Arc<UdpCore>, notified: &Receiver<u64>, want: usize) -> (Vec<Vec<u8>>, usize) {
    let mut got = Vec::new();
    let mut notifications = 0;
    while got.len() < want {
        if notified.recv_timeout(Duration::from_secs(5)).is_err() {
            panic!("no delivery within 5 s after {} of {want} datagrams; stats: rx {}", got.len(), core.stats.received_datagrams.load(std::sync::atomic::Ordering::Relaxed));
        }
        notifications += 1;
        let mut mail = Mail::default();
        while core.take_mail(&mut mail) {
            let mut offset = 0;
            for pair in mail.meta.chunks(2) {
                let len = pair[0] as usize;
                got.push(mail.data[offset..offset + len].to_vec());
                offset += len;
            }
            mail.clear();
        }
    }
    (got, notifications)
}

#[test]
fn receives_in_order_and_coalesces_wakeups() {
    let (core, notified, local) = attached();
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sent: Vec<Vec<u8>> = (0..500u32).map(|i| i.to_be_bytes().to_vec()).collect();
    for payload in &sent {
        sender.send_to(payload, local).unwrap();
    }
    let (got, notifications) = collect(&core, &notified, sent.len());
    assert_eq!(got, sent);
    assert!(notifications < sent.len(), "one wake-up per datagram: {notifications}");
    core.close();
}

#[test]
fn records_the_peer_of_each_datagram() {
    let (core, notified, local) = attached();
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    a.send_to(b"a", local).unwrap();
    b.send_to(b"b", local).unwrap();
    a.send_to(b"a", local).unwrap();
    notified.recv_timeout(Duration::from_secs(5)).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let mut mail = Mail::default();
    let mut peers_seen = Vec::new();
    while core.take_mail(&mut mail) {
        for pair in mail.meta.chunks(2) {
            peers_seen.push(mail.peers[pair[1] as usize]);
        }
        mail.clear();
    }
    let (pa, pb) = (a.local_addr().unwrap(), b.local_addr().unwrap());
    assert_eq!(peers_seen, vec![pa, pb, pa]);
    core.close();
}

#[test]
fn sends_from_the_owner_thread_with_per_datagram_outcomes() {
    let (core, _notified, _) = attached();
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    let dest = socket2::SockAddr::from(receiver.local_addr().unwrap());
    let big = vec![0u8; 70_000];
    let datagrams = [
        Datagram { payload: b"ok", dest: Some(&dest) },
        Datagram { payload: &big, dest: Some(&dest) },
        Datagram { payload: b"", dest: Some(&dest) },
    ];
    let mut results = Vec::new();
    assert_eq!(core.send(&datagrams, &mut results), Ok(3));
    assert_eq!(results, vec![2, -libc::EMSGSIZE, 0]);
    let mut buf = [0u8; 16];
    assert_eq!(receiver.recv(&mut buf).unwrap(), 2);
    assert_eq!(receiver.recv(&mut buf).unwrap(), 0);
    assert_eq!(core.send_queue(), (0, 0));
    core.close();
}

#[test]
fn close_frees_the_port_and_stops_delivery() {
    let (core, notified, local) = attached();
    core.close();
    // The port is free as soon as close returns.
    let again = UdpSocket::bind(local).unwrap();
    drop(again);
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let _ = sender.send_to(b"late", local);
    assert!(notified.recv_timeout(Duration::from_millis(100)).is_err());
    let mut results = Vec::new();
    let datagrams = [Datagram { payload: b"x", dest: None }];
    assert_eq!(core.send(&datagrams, &mut results), Err(-libc::EBADF));
}

#[test]
fn unbound_socket_answers_ebadf() {
    let (tx, _rx) = channel();
    let core = UdpCore::new(Box::new(TestNotify(Mutex::new(tx))));
    assert_eq!(core.with_socket(|_, _| Ok(())), Err(-libc::EBADF));
    assert_eq!(core.family(), None);
}

#[test]
fn the_reactor_thread_has_its_name() {
    let (core, _notified, _) = attached();
    let names: Vec<String> = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_string())
        .collect();
    // The kernel keeps 15 bytes of a thread name: "turbo-dgram-reactor" shows as "turbo-dgram-rea".
    assert!(names.iter().any(|n| n == "turbo-dgram-rea"), "threads: {names:?}");
    core.close();
}

#[test]
fn a_refused_attach_hands_the_socket_back_open_and_leaves_the_core_unattached() {
    let (owner, notified, local) = attached();
    // The owner's fd again, as bind({ fd }) would adopt it: epoll already watches it.
    let fd = owner.with_socket(|s, _| Ok(std::os::fd::AsRawFd::as_raw_fd(s))).unwrap();
    // SAFETY (test): the fd is open and owned by `owner`; the Socket made here is forgotten below
    // whatever happens, so it never closes it.
    let twin = unsafe { <socket2::Socket as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let (tx, _rx) = channel();
    let other = UdpCore::new(Box::new(TestNotify(Mutex::new(tx))));
    let refused = other.attach(Bound { socket: twin, family: Family::V4 }, &Reactor::thread().unwrap());
    let Err((errno, bound)) = refused else { panic!("attaching an fd the reactor already watches must fail") };
    assert_eq!(errno, -libc::EEXIST);
    std::mem::forget(bound.socket);
    // Still open and still the owner's: it receives.
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    sender.send_to(b"still open", local).unwrap();
    let (got, _) = collect(&owner, &notified, 1);
    assert_eq!(got, vec![b"still open".to_vec()]);
    // The refused core is not attached: a later attach of a fresh socket works.
    let fresh = socket::bind_udp("127.0.0.1:0".parse().unwrap(), BindFlags::default()).unwrap();
    assert!(other.attach(Bound { socket: fresh, family: Family::V4 }, &Reactor::thread().unwrap()).is_ok());
}

/// Stands in for the JS thread of a handover socket: records who posted each notification.
struct HandoverNotify(Mutex<Sender<bool>>);

impl Notify for HandoverNotify {
    fn notify(&self, _core: &Arc<UdpCore>, on_js_thread: bool) {
        let _ = self.0.lock().unwrap().send(on_js_thread);
    }
}

fn take_all(core: &Arc<UdpCore>, into: &mut Vec<u32>) {
    let mut mail = Mail::default();
    while core.take_mail(&mut mail) {
        let mut offset = 0;
        for pair in mail.meta.chunks(2) {
            let len = pair[0] as usize;
            into.push(u32::from_be_bytes(mail.data[offset..offset + len].try_into().unwrap()));
            offset += len;
        }
        mail.clear();
    }
}

#[test]
fn a_handover_socket_passes_from_its_js_thread_to_the_reactor_and_back_in_order() {
    use std::sync::atomic::Ordering::Relaxed;
    let (tx, notified) = channel();
    let js_loop = Arc::new(turbo_dgram::handover::LoopState::default());
    let core = UdpCore::with_handover(Box::new(HandoverNotify(Mutex::new(tx))), js_loop);
    let sock = socket::bind_udp("127.0.0.1:0".parse().unwrap(), BindFlags::default()).unwrap();
    let local = socket::local_addr(&sock).unwrap();
    // The default buffer: the reactor takes over once 1/8 of it waits.

    core.attach(Bound { socket: sock, family: Family::V4 }, &Reactor::thread().unwrap()).map_err(|(errno, _)| errno).unwrap();
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let send = |range: std::ops::Range<u32>| {
        for i in range {
            sender.send_to(&i.to_be_bytes(), local).unwrap();
        }
    };
    let mut arena = turbo_dgram::batch::RecvArena::new();
    let mut got = Vec::new();

    // The JS thread reads: its own posts say so, and the reactor reads nothing.
    send(0..100);
    std::thread::sleep(Duration::from_millis(5));
    while got.len() < 100 {
        core.read_on_js_thread(&mut arena, 32);
        take_all(&core, &mut got);
    }
    assert!(notified.try_iter().all(|on_js_thread| on_js_thread), "a reactor post while the JS thread reads");
    assert_eq!(core.stats.takeovers.load(Relaxed), 0);

    // The JS thread stalls: within a few check intervals the reactor reads, and says it is the reactor.
    send(100..300);
    let from_reactor = notified.recv_timeout(Duration::from_secs(5)).expect("no takeover within 5 s");
    assert!(!from_reactor, "the post came from the JS thread");
    assert_eq!(core.stats.takeovers.load(Relaxed), 1);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while got.len() < 300 && std::time::Instant::now() < deadline {
        take_all(&core, &mut got);
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(got.len(), 300);

    // Caught up: the reads come back, and what arrives next waits for the JS thread.
    assert!(core.take_reads_back());
    std::thread::sleep(Duration::from_millis(5));
    notified.try_iter().for_each(drop);
    send(300..400);
    std::thread::sleep(Duration::from_millis(20));
    take_all(&core, &mut got);
    let read_by_reactor = got.len() - 300;
    while got.len() < 400 {
        core.read_on_js_thread(&mut arena, 32);
        take_all(&core, &mut got);
    }
    assert_eq!(got, (0..400).collect::<Vec<u32>>(), "lost or reordered across the hand-overs");
    // 20 ms without the JS thread reading is a stall again, so the reactor may have read some;
    // then it took over a second time.
    assert!(read_by_reactor == 0 || core.stats.takeovers.load(Relaxed) == 2, "the reactor read without a takeover");
    core.close();
}
