//! The reactor: one mio `Poll` per process, turned by a thread named `turbo-dgram-reactor`.
//!
//! It owns readiness for every socket of every JS thread (main and workers). When a socket is
//! readable it drains the kernel queue with `recvmmsg` into the socket's mailbox; when a socket the
//! JS thread could not finish sending to becomes writable it sends the backlog. Either way JS is
//! told through the socket's `Notify` at most once per delivery: the next wake-up happens only
//! after JS has found the mailbox empty (see `UdpCore::take_mail`).
//!
//! Sockets of the handover driver (crate::handover) are read by their JS thread while it is
//! responsive; this reactor only checks on them (`Reactor::check_handovers`) and reads them while
//! their JS thread is stalled.
//!
//! This module knows nothing of Node: `Notify` is how bindings/delivery.rs learns of mail.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token, Waker};
use once_cell::sync::OnceCell;
use socket2::{SockAddr, Socket};

use crate::addr::Family;
use crate::batch::{self, Datagram, RecvArena, RecvMessage};
use crate::error;
use crate::handover::{CheckClock, Handover, LoopState, Verdict};
use crate::moderation::{self, Moderation, MODERATION_PAUSE};
use crate::socket;
use crate::sync::{lock, read, write};

/// Bytes of received payload a socket may hold while JS has not taken them (the reactor pauses
/// reading at half of it, see PAUSE_AT_BYTES; what still overflows is dropped and counted).
/// Small on purpose: each delivery becomes one JS Buffer, and buffers this size die young and are
/// freed by V8's scavenges, while megabyte batches outlive them, get promoted and pile up until a
/// full GC (measured under a GSO flood: peak RSS 120 MiB with 2 MiB, 55 MiB with 512 KiB, same
/// throughput). The pause point, 256 KiB, still holds ~3,500 small datagrams, a 20 ms stall at
/// 170k/s; beyond that the kernel queue (SO_RCVBUF) absorbs, as for the builtin.
pub const PENDING_CAP_BYTES: usize = 512 * 1024;

/// Messages read per socket per reactor turn (16 full `recvmmsg`), so one flooded socket cannot
/// starve the others; a socket that still has data is served again on the next turn without
/// waiting for an event. The inline driver reads as libuv reads for node:dgram instead.
const READS_PER_TURN: usize = 16 * batch::RECV_BATCH;

/// Receive errors in a row after which the reactor stops reading a socket for this turn (a
/// pending ICMP error is consumed by the read that reports it, so this is only a safety net).
const ERRORS_PER_TURN: usize = 4;

const WAKER_TOKEN: Token = Token(usize::MAX);

/// How a socket's owner (the JS thread) is told that its mailbox has something.
pub trait Notify: Send + Sync {
    /// Called with the mailbox marked in flight; the owner must eventually call
    /// `UdpCore::take_mail` until it returns false (which ends the delivery). `on_js_thread`: the
    /// mail was posted by the socket's own JS thread (which may deliver it itself), not by the
    /// reactor thread.
    fn notify(&self, core: &Arc<UdpCore>, on_js_thread: bool);
}

/// What the reactor gathered for JS since its last delivery: received datagrams back to back,
/// their metadata, a per-batch table of peers, and outcomes of sends the reactor finished.
#[derive(Default)]
pub struct Mail {
    /// Payloads of received datagrams, back to back.
    pub data: Vec<u8>,
    /// Pairs `[length, peer index]`; a peer index of `RECV_ERROR_PEER` marks a receive error whose
    /// positive errno stands in the length.
    pub meta: Vec<u32>,
    /// Distinct senders of this batch, indexed by `meta`.
    pub peers: Vec<SocketAddr>,
    /// Bytes sent or negative errno, in send order, for datagrams the reactor sent.
    pub send_results: Vec<i32>,
    /// With receive info on: per datagram `[interface index, local index, seconds, nanoseconds]`
    /// (`u32::MAX` for what the kernel did not say); local index points into `locals`.
    pub info: Vec<u32>,
    /// Distinct local addresses of this batch, indexed by `info`.
    pub locals: Vec<IpAddr>,
    /// The kernel flagged a socket error (EPOLLERR on a connected socket): the JS thread takes it
    /// (`UdpCore::resolve_error_check`), after the sends of its current tick had their chance to.
    pub check_error: bool,
}

/// The peer index that marks a receive error in `Mail::meta`.
pub const RECV_ERROR_PEER: u32 = u32::MAX;

/// Entries of a batch's peer or local-address table compared one by one before a new entry is
/// made; beyond it a repeated address simply gets another entry (JS then builds its string once
/// more, which is still once per batch).
const TABLE_SCAN: usize = 32;

impl Mail {
    pub fn is_empty(&self) -> bool {
        self.meta.is_empty() && self.send_results.is_empty() && !self.check_error
    }

    pub fn clear(&mut self) {
        self.data.clear();
        self.meta.clear();
        self.peers.clear();
        self.send_results.clear();
        self.info.clear();
        self.locals.clear();
        self.check_error = false;
    }

    fn push_info(&mut self, message: &RecvMessage) {
        let (ifindex, local) = match message.local {
            Some((ip, ifindex)) => (ifindex, table_index(&mut self.locals, ip)),
            None => (u32::MAX, u32::MAX),
        };
        let (sec, nsec) = match message.timestamp {
            Some((sec, nsec)) => (sec.clamp(0, u32::MAX as i64 - 1) as u32, nsec),
            None => (u32::MAX, u32::MAX),
        };
        self.info.extend_from_slice(&[ifindex, local, sec, nsec]);
    }

    fn push_datagram(&mut self, payload: &[u8], peer: SocketAddr) {
        let index = table_index(&mut self.peers, peer);
        self.data.extend_from_slice(payload);
        self.meta.push(payload.len() as u32);
        self.meta.push(index);
    }

    fn push_recv_error(&mut self, errno: i32) {
        self.meta.push(errno.unsigned_abs());
        self.meta.push(RECV_ERROR_PEER);
    }
}

/// The index of `entry` in a batch's table (of peers, of local addresses), adding it when it is
/// not among the newest TABLE_SCAN entries: most batches come from one or a few peers and arrive
/// on one or a few addresses, so the newest entries are looked at first.
fn table_index<T: PartialEq>(table: &mut Vec<T>, entry: T) -> u32 {
    for (index, known) in table.iter().enumerate().rev().take(TABLE_SCAN) {
        if *known == entry {
            return index as u32;
        }
    }
    table.push(entry);
    (table.len() - 1) as u32
}

struct Mailbox {
    mail: Mail,
    /// True from the `notify` until JS found the mailbox empty: while it is set, the reactor
    /// appends without waking JS again.
    in_flight: bool,
    /// The reactor stopped reading the socket because the mailbox is full; the next `take_mail`
    /// asks it to read again. Meanwhile the kernel queue absorbs (and, when full, drops and
    /// counts) what arrives, so the reactor spends no CPU on datagrams it would only drop.
    paused: bool,
}

/// Mail beyond which the reactor pauses reading a socket until JS takes it: half the cap, so
/// that one more `recvmmsg` (64 datagrams, more with GRO) still fits in most cases.
const PAUSE_AT_BYTES: usize = PENDING_CAP_BYTES / 2;

impl Mailbox {
    /// Marks the mailbox paused when it holds PAUSE_AT_BYTES or more; returns whether it does.
    fn pause_if_full(&mut self) -> bool {
        let full = self.mail.data.len() >= PAUSE_AT_BYTES;
        self.paused |= full;
        full
    }
}

/// A datagram the kernel refused with EAGAIN, kept until the socket is writable.
struct Queued {
    start: usize,
    len: usize,
    dest: Option<SockAddr>,
}

/// Datagrams waiting for the socket to become writable, payloads back to back in one buffer.
#[derive(Default)]
struct Backlog {
    bytes: Vec<u8>,
    entries: VecDeque<Queued>,
    /// The reactor watches the socket for writability (set by JS, cleared by the reactor when
    /// the backlog is empty; both under the backlog lock).
    write_armed: bool,
}

impl Backlog {
    fn push(&mut self, datagram: &Datagram) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(datagram.payload);
        self.entries.push_back(Queued { start, len: datagram.payload.len(), dest: datagram.dest.cloned() });
    }

    /// Forgets the first `sent` datagrams, giving their bytes back once they are most of the
    /// buffer: a sender that keeps meeting EAGAIN appends while older datagrams leave, and the
    /// buffer must not keep what already went out.
    fn remove_sent(&mut self, sent: usize) {
        self.entries.drain(..sent.min(self.entries.len()));
        let Some(first) = self.entries.front().map(|q| q.start) else {
            self.bytes.clear();
            return;
        };
        if first > self.bytes.len() / 2 {
            self.bytes.drain(..first);
            for queued in &mut self.entries {
                queued.start -= first;
            }
        }
    }

    /// Bytes still to send: the buffer from the first waiting datagram on.
    fn byte_len(&self) -> usize {
        self.entries.front().map_or(0, |q| self.bytes.len() - q.start)
    }
}

/// Counters since bind (the `getStats()` extra), updated with relaxed atomics.
#[derive(Default)]
pub struct Stats {
    pub received_datagrams: AtomicU64,
    pub received_bytes: AtomicU64,
    pub sent_datagrams: AtomicU64,
    pub sent_bytes: AtomicU64,
    pub send_errors: AtomicU64,
    pub dropped_pending: AtomicU64,
    pub receive_batches: AtomicU64,
    /// The kernel's drop counter for this socket (SO_MEMINFO) as it stood at close; while open it
    /// is read live.
    pub kernel_drops: AtomicU64,
    /// Times the reactor thread took a handover socket's reads over from its stalled JS thread.
    pub takeovers: AtomicU64,
}

impl Stats {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts the outcome of sends: bytes for successes, one error each for failures.
    pub fn count_sends(&self, results: &[i32]) {
        let (mut sent, mut bytes, mut errors) = (0u64, 0u64, 0u64);
        for &result in results {
            if result >= 0 {
                sent += 1;
                bytes += result as u64;
            } else {
                errors += 1;
            }
        }
        Self::add(&self.sent_datagrams, sent);
        Self::add(&self.sent_bytes, bytes);
        if errors > 0 {
            Self::add(&self.send_errors, errors);
        }
    }

    pub fn count_batch(&self) {
        Self::add(&self.receive_batches, 1);
    }
}

/// The open socket of a `UdpCore`.
pub struct Bound {
    pub socket: Socket,
    pub family: Family,
}

/// One UDP socket as the reactor and the JS thread share it.
pub struct UdpCore {
    pub id: u64,
    /// The reactor this socket is registered with (the process's thread reactor, or the inline
    /// reactor of its JS thread), set once by `attach`.
    /// Weak: the reactor's registry holds its sockets, so a strong reference back would keep an
    /// inline reactor (its epoll and eventfd) alive past its JS thread, when a worker is
    /// terminated before its sockets are finalized.
    reactor: OnceCell<Weak<Reactor>>,
    io: RwLock<Option<Bound>>,
    mailbox: Mutex<Mailbox>,
    backlog: Mutex<Backlog>,
    notify: Box<dyn Notify>,
    closed: AtomicBool,
    /// Whether received datagrams carry `Mail::info` (the pktinfo / timestamp extra).
    receive_info: AtomicBool,
    /// JS still has events of delivered batches to emit (touched by the owning JS thread only).
    js_backlog: AtomicBool,
    /// SEND_MODE_*: how sends are grouped into syscalls (see `send_now`).
    send_mode: AtomicU8,
    /// About the largest message reads bring lately (a GRO message holds many datagrams), to
    /// size reads to the mailbox's room; see `take_datagrams`.
    largest_message: AtomicUsize,
    /// Held by whoever reads the socket, across the read and the post of what it read, so that
    /// the mailbox keeps the kernel's order: the reactor, and the JS thread's `assist_read`.
    reader: Mutex<()>,
    /// Set for a thread-driver socket (`enable_assist`): only then do reads note the times below.
    assisted: AtomicBool,
    /// When the socket was last read (`monotonic_ns`; 0: never), and when a read last brought
    /// datagrams.
    last_read_ns: AtomicU64,
    last_data_ns: AtomicU64,
    /// How long nobody must have read the socket before its JS thread does (see ASSIST_LAG_NS).
    assist_lag_ns: AtomicU64,
    /// For a socket of the handover driver: who reads it now (see crate::handover).
    pub handover: Option<Handover>,
    /// INTEREST_* bits this socket is registered with in its reactor's epoll; changed on the
    /// thread that turns the reactor only (and at attach, before anyone else knows the socket).
    epoll_interest: AtomicU8,

    pub stats: Stats,
}

/// The read assist (see `UdpCore::needs_assist`): a socket that nobody has read for its lag, within
/// ASSIST_RECENT_NS of a read that brought data, is read by its JS thread too. The lag starts at
/// ASSIST_LAG_NS and doubles with each assist that finds nothing, up to ASSIST_LAG_MAX_NS, until a
/// read brings data: a quiet socket costs its JS thread about a dozen empty reads after its last
/// datagram, a self-flooded one is read every ASSIST_LAG_NS. (A 1 ms ASSIST_RECENT_NS lost
/// datagrams in 14 of 20 self-flood runs: the loopback delivery itself can stall for milliseconds.)
const ASSIST_LAG_NS: u64 = 200_000;
const ASSIST_LAG_MAX_NS: u64 = 6_400_000;
const ASSIST_RECENT_NS: u64 = 100_000_000;

/// Nanoseconds on a process-wide monotonic clock, never 0.
pub fn monotonic_ns() -> u64 {
    static START: OnceCell<Instant> = OnceCell::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64 + 1
}

const INTEREST_READ: u8 = 1;
const INTEREST_WRITE: u8 = 2;

const SEND_MODE_UNCONNECTED: u8 = 0;
const SEND_MODE_CONNECTED: u8 = 1;
const SEND_MODE_CAREFUL: u8 = 2;

/// Whether the reactor should read a socket again without waiting for an event.
#[derive(Debug, PartialEq, Eq)]
enum ReadOutcome {
    Drained,
    MoreToRead,
}

impl UdpCore {
    pub fn new(notify: Box<dyn Notify>) -> Arc<UdpCore> {
        UdpCore::make(notify, None)
    }

    /// A socket of the handover driver: its JS thread reads it (`read_on_js_thread`) until the
    /// reactor takes over.
    pub fn with_handover(notify: Box<dyn Notify>, js_loop: Arc<LoopState>) -> Arc<UdpCore> {
        UdpCore::make(notify, Some(Handover::new(js_loop)))
    }

    fn make(notify: Box<dyn Notify>, handover: Option<Handover>) -> Arc<UdpCore> {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Arc::new(UdpCore {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            reactor: OnceCell::new(),
            io: RwLock::new(None),
            mailbox: Mutex::new(Mailbox { mail: Mail::default(), in_flight: false, paused: false }),
            backlog: Mutex::new(Backlog::default()),
            notify,
            closed: AtomicBool::new(false),
            receive_info: AtomicBool::new(false),
            js_backlog: AtomicBool::new(false),
            send_mode: AtomicU8::new(SEND_MODE_UNCONNECTED),
            largest_message: AtomicUsize::new(0),
            reader: Mutex::new(()),
            assisted: AtomicBool::new(false),
            last_read_ns: AtomicU64::new(0),
            last_data_ns: AtomicU64::new(0),
            assist_lag_ns: AtomicU64::new(ASSIST_LAG_NS),
            handover,
            epoll_interest: AtomicU8::new(0),
            stats: Stats::default(),
        })
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Whether JS said more events of delivered batches wait (see bindings' delivery).
    pub fn has_js_backlog(&self) -> bool {
        self.js_backlog.load(Ordering::Relaxed)
    }

    pub fn set_js_backlog(&self, more: bool) {
        self.js_backlog.store(more, Ordering::Relaxed);
    }

    /// Runs `f` on the open socket, or fails with EBADF when there is none (not bound yet, or
    /// closed), which is what libuv answers for an option set on a socket without an fd.
    pub fn with_socket<T>(&self, f: impl FnOnce(&Socket, Family) -> io::Result<T>) -> Result<T, i32> {
        let io = read(&self.io);
        match io.as_ref() {
            Some(bound) => f(&bound.socket, bound.family).map_err(|e| error::to_errno(&e)),
            None => Err(error::EBADF),
        }
    }

    pub fn family(&self) -> Option<Family> {
        read(&self.io).as_ref().map(|bound| bound.family)
    }

    /// Binds the socket (making its fd on first use) and starts receiving through `reactor`.
    /// A failed bind keeps the fd, unbound, as libuv does: `address()` then reports the
    /// wildcard, options can still be set, and a later bind reuses it.
    pub fn bind(self: &Arc<Self>, addr: SocketAddr, flags: socket::BindFlags, reactor: &Arc<Reactor>) -> Result<(), i32> {
        let mut io = write(&self.io);
        if self.is_closed() {
            return Err(error::EINVAL);
        }
        if self.reactor.get().is_some() {
            // Bound already (libuv's deferred bind for a membership call, say): libuv calls
            // bind(2) on that fd again, and the kernel checks the address (EADDRNOTAVAIL...)
            // before it says the socket is bound (EINVAL).
            let Some(bound) = io.as_ref() else { return Err(error::EINVAL) };
            return match socket::bind_socket(&bound.socket, addr, flags) {
                Err(err) => Err(error::to_errno(&err)),
                Ok(()) => Err(error::EINVAL),
            };
        }
        let (sock, family) = match io.take() {
            Some(unbound) => (unbound.socket, unbound.family),
            None => (socket::new_udp(Family::of(&addr)).map_err(|e| error::to_errno(&e))?, Family::of(&addr)),
        };
        if let Err(err) = socket::bind_socket(&sock, addr, flags) {
            *io = Some(Bound { socket: sock, family });
            return Err(error::to_errno(&err));
        }
        if flags.recv_pktinfo || flags.recv_timestamp {
            // Before the socket is registered, so that no datagram arrives without its info.
            let ipv6 = family == Family::V6;
            batch::enable_receive_info(sock.as_raw_fd(), ipv6, flags.recv_pktinfo, flags.recv_timestamp)
                .map_err(|e| error::to_errno(&e))?;
            self.receive_info.store(true, Ordering::Relaxed);
        }
        drop(io);
        // Our own fd: if it cannot be registered, it is closed (dropped) with the error.
        self.attach(Bound { socket: sock, family }, reactor).map_err(|(errno, _)| errno)
    }

    /// Installs a bound (or adopted) socket and starts receiving on it through `reactor`. On
    /// failure the socket comes back with the errno, untouched and still open: an adopted fd
    /// belongs to the user until it is attached (epoll answers EEXIST for an fd another socket of
    /// this reactor owns, which libuv reports the same way), and this socket stays unattached.
    pub fn attach(self: &Arc<Self>, bound: Bound, reactor: &Arc<Reactor>) -> Result<(), (i32, Bound)> {
        let mut io = write(&self.io);
        if io.is_some() || self.is_closed() || self.reactor.get().is_some() {
            return Err((error::EINVAL, bound));
        }
        let registered = if self.handover.is_some() {
            reactor.watch(self);
            Ok(())
        } else {
            reactor.register(self, bound.socket.as_raw_fd())
        };
        if let Err(errno) = registered {
            return Err((errno, bound));
        }
        batch::enable_receive_offloads(bound.socket.as_raw_fd());
        // Under the io lock, and only attach sets it: the cell is still empty.
        let _ = self.reactor.set(Arc::downgrade(reactor));
        *io = Some(bound);
        Ok(())
    }

    /// Closes the fd now (so the port is free when `close()` returns, as with the builtin) and
    /// forgets everything still queued in either direction.
    pub fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        // The write lock waits for a reactor turn that is using the fd to finish.
        let bound = write(&self.io).take();
        if let Some(bound) = bound {
            // Kept for getStats() after close: the count dies with the fd.
            if let Ok(drops) = socket::kernel_drops(&bound.socket) {
                self.stats.kernel_drops.fetch_max(u64::from(drops), Ordering::Relaxed);
            }
            if let Some(reactor) = self.reactor.get().and_then(Weak::upgrade) {
                reactor.deregister(self.id, bound.socket.as_raw_fd());
            }
            drop(bound);
        }
        lock(&self.mailbox).mail.clear();
        let mut backlog = lock(&self.backlog);
        backlog.entries.clear();
        backlog.bytes.clear();
    }

    /// Sends `datagrams` in order from the JS thread. Returns how many finished now (their
    /// outcomes appended to `results`); the rest wait in the backlog for the reactor, which
    /// reports them through the mailbox. Order is kept: while a backlog exists, new datagrams
    /// join its end instead of overtaking it.
    pub fn send(&self, datagrams: &[Datagram], results: &mut Vec<i32>) -> Result<usize, i32> {
        let io = read(&self.io);
        let bound = io.as_ref().ok_or(error::EBADF)?;
        let mut backlog = lock(&self.backlog);
        let finished = if backlog.entries.is_empty() {
            self.send_now(bound.socket.as_raw_fd(), datagrams, results)
        } else {
            0
        };
        self.stats.count_sends(&results[results.len() - finished..]);
        if finished < datagrams.len() {
            for datagram in &datagrams[finished..] {
                backlog.push(datagram);
            }
            if !backlog.write_armed {
                backlog.write_armed = true;
                if let Some(reactor) = self.reactor.get().and_then(Weak::upgrade) {
                    reactor.request_write(self.id);
                }
            }
        }
        Ok(finished)
    }

    /// Turns on the receive-info extra: local address and interface (IP_PKTINFO /
    /// IPV6_RECVPKTINFO) and/or kernel receive timestamps (SO_TIMESTAMPNS) on every datagram.
    pub fn enable_receive_info(&self, pktinfo: bool, timestamps: bool) -> Result<(), i32> {
        self.with_socket(|socket, family| {
            batch::enable_receive_info(socket.as_raw_fd(), family == Family::V6, pktinfo, timestamps)
        })?;
        self.receive_info.store(pktinfo || timestamps, Ordering::Relaxed);
        Ok(())
    }

    /// Sends with the policy this socket's connection state calls for, and remembers an
    /// ICMP-borne error (from then on one datagram per syscall, see `batch::SendPolicy`).
    fn send_now(&self, fd: RawFd, datagrams: &[Datagram], results: &mut Vec<i32>) -> usize {
        let policy = match self.send_mode.load(Ordering::Relaxed) {
            SEND_MODE_UNCONNECTED => batch::SendPolicy::Batched,
            SEND_MODE_CONNECTED => batch::SendPolicy::FirstAlone,
            _ => batch::SendPolicy::OneByOne,
        };
        let (finished, saw_async_error) = batch::send_with_policy(fd, datagrams, results, policy);
        if saw_async_error {
            self.send_mode.store(SEND_MODE_CAREFUL, Ordering::Relaxed);
        }
        finished
    }

    /// The socket was connected (true) or disconnected: its sends are grouped accordingly.
    pub fn set_connected(&self, connected: bool) {
        let mode = if connected { SEND_MODE_CONNECTED } else { SEND_MODE_UNCONNECTED };
        self.send_mode.store(mode, Ordering::Relaxed);
    }

    /// A receive reported an ICMP-borne error: the peer refuses, so send carefully from now on.
    fn note_async_error(&self, errno: i32) {
        if batch::is_async_socket_error(errno) && self.send_mode.load(Ordering::Relaxed) != SEND_MODE_UNCONNECTED {
            self.send_mode.store(SEND_MODE_CAREFUL, Ordering::Relaxed);
        }
    }

    /// Bytes and datagrams held in the backlog (not yet given to the kernel).
    pub fn send_queue(&self) -> (usize, usize) {
        let backlog = lock(&self.backlog);
        (backlog.byte_len(), backlog.entries.len())
    }

    /// Moves the mailbox's contents into `out` (which must be empty) and leaves `out`'s old
    /// buffers in the mailbox, so both keep their capacity. Returns false, and ends the delivery,
    /// when there was nothing to take.
    pub fn take_mail(&self, out: &mut Mail) -> bool {
        let resume = {
            let mut mailbox = lock(&self.mailbox);
            if mailbox.mail.is_empty() {
                mailbox.in_flight = false;
                return false;
            }
            std::mem::swap(&mut mailbox.mail, out);
            std::mem::replace(&mut mailbox.paused, false)
        };
        if resume {
            if let Some(reactor) = self.reactor.get().and_then(Weak::upgrade) {
                reactor.request_read(self.id);
            }
        }
        true
    }

    /// Appends to the mailbox and notifies the owner unless a delivery is already in flight.
    /// Returns true, having marked the mailbox paused, when it is too full to read more.
    fn post(self: &Arc<Self>, on_js_thread: bool, fill: impl FnOnce(&mut Mail)) -> bool {
        let (wake, full) = {
            let mut mailbox = lock(&self.mailbox);
            fill(&mut mailbox.mail);
            let wake = !mailbox.in_flight && !mailbox.mail.is_empty();
            if wake {
                mailbox.in_flight = true;
            }
            (wake, mailbox.pause_if_full())
        };
        if wake && !self.is_closed() {
            self.notify.notify(self, on_js_thread);
        }
        full
    }

    /// Whether the reactor must not read now: the mailbox is too full (then marked paused, under
    /// the same lock `take_mail` checks, so the resume cannot be missed), or it is paused already.
    fn must_not_read(&self) -> bool {
        let mut mailbox = lock(&self.mailbox);
        mailbox.pause_if_full();
        mailbox.paused
    }

    /// EPOLLERR on a connected socket: an ICMP error is pending. In node:dgram the send calls of
    /// the current tick see it first (the next one fails with it), and only otherwise does the
    /// next poll's recvmsg report it. A read on this thread would take it before those sends, so
    /// the reactor stops reading and leaves the error to the JS thread's next delivery.
    fn defer_error_check(self: &Arc<Self>) {
        let _ = self.post(false, |mail| mail.check_error = true);
        lock(&self.mailbox).paused = true;
    }

    /// On the JS thread, for mail with `check_error`: takes the socket's pending error, if a send
    /// did not take it meanwhile, as the receive error it would have been.
    pub fn resolve_error_check(&self, mail: &mut Mail) {
        if !std::mem::take(&mut mail.check_error) {
            return;
        }
        if let Ok(Some(pending)) = self.with_socket(|socket, _| socket.take_error()) {
            mail.push_recv_error(error::to_errno(&pending));
        }
    }

    fn is_connected(&self) -> bool {
        self.send_mode.load(Ordering::Relaxed) != SEND_MODE_UNCONNECTED
    }

    /// Drains the kernel queue (bounded per turn) into the mailbox. Also returns how many
    /// messages it read.
    fn read_ready(self: &Arc<Self>, arena: &mut RecvArena, limit: usize) -> (ReadOutcome, usize) {
        let _reader = lock(&self.reader);
        self.read_locked(arena, limit, false)
    }

    /// The JS thread's read of a handover-driver socket (its libuv watch fired): up to `limit`
    /// messages into the mailbox, which it then delivers itself. Returns how many it read; the
    /// kernel queue is known to be empty when that is fewer than `limit` (see `drain_into_mailbox`).
    pub fn read_on_js_thread(self: &Arc<Self>, arena: &mut RecvArena, limit: usize) -> usize {
        if let Some(handover) = &self.handover {
            handover.note_js_service();
        }
        let _reader = lock(&self.reader);
        self.read_locked(arena, limit, true).1
    }

    /// On the JS thread, once it has delivered all the reactor read for it: the reads of a
    /// handover socket come back to the JS thread. Returns whether they did (the reactor then
    /// stops watching the socket for reads).
    pub fn take_reads_back(&self) -> bool {
        let Some(handover) = &self.handover else { return false };
        if !handover.give_back() {
            return false;
        }
        if let Some(reactor) = self.reactor.get().and_then(Weak::upgrade) {
            reactor.request_interest_update(self.id);
        }
        true
    }

    /// A handover socket its JS thread cannot watch: the reactor reads it from now on.
    pub fn give_reads_to_reactor(self: &Arc<Self>) {
        let Some(handover) = &self.handover else { return };
        handover.take_over();
        if let Some(reactor) = self.reactor.get().and_then(Weak::upgrade) {
            reactor.request_interest_update(self.id);
        }
    }

    /// Whether the reactor thread must leave this socket's reads to its JS thread.
    fn read_by_js_thread(&self) -> bool {
        self.handover.as_ref().is_some_and(Handover::js_reads)
    }

    /// Whether the socket's JS thread should read it too (at `now`, a `monotonic_ns`): datagrams
    /// came lately, but nobody has read it for its lag. The builtin reads between the
    /// JS thread's own sends; a JS thread sending to its own socket flat out can starve the
    /// reactor thread of CPU (and the loopback delivery of its softirq time) for milliseconds,
    /// while the 256-datagram default queue overflows. Reading here keeps what the builtin keeps.
    /// `now` is asked for only when the socket has had data at all.
    pub fn needs_assist(&self, now: impl FnOnce() -> u64) -> bool {
        let data = self.last_data_ns.load(Ordering::Relaxed);
        if data == 0 {
            return false;
        }
        let now = now();
        let read = self.last_read_ns.load(Ordering::Relaxed);
        now.saturating_sub(data) < ASSIST_RECENT_NS
            && now.saturating_sub(read) >= self.assist_lag_ns.load(Ordering::Relaxed)
    }

    /// The JS thread's read of a thread-driver socket the reactor has fallen behind on (see
    /// `needs_assist`): up to `limit` messages into the mailbox. Returns how many it read.
    pub fn assist_read(self: &Arc<Self>, arena: &mut RecvArena, limit: usize) -> usize {
        // Waits for a read of the reactor in progress (a reactor preempted in the middle of one
        // holds the JS thread, as a builtin socket's reads would, instead of letting it send on).
        let _reader = lock(&self.reader);
        let read = self.read_locked(arena, limit, true).1;
        if read == 0 {
            let lag = self.assist_lag_ns.load(Ordering::Relaxed);
            self.assist_lag_ns.store((lag * 2).min(ASSIST_LAG_MAX_NS), Ordering::Relaxed);
        }
        read
    }

    /// Lets this socket's JS thread read it when the reactor lags (a thread-driver socket).
    pub fn enable_assist(&self) {
        self.assisted.store(true, Ordering::Relaxed);
    }

    /// `read_ready` with the reader lock held; for an assisted socket, notes when it read and
    /// when it brought data.
    fn read_locked(self: &Arc<Self>, arena: &mut RecvArena, limit: usize, on_js_thread: bool) -> (ReadOutcome, usize) {
        let outcome = self.drain_into_mailbox(arena, limit, on_js_thread);
        if !self.assisted.load(Ordering::Relaxed) {
            return outcome;
        }
        let now = monotonic_ns();
        self.last_read_ns.store(now, Ordering::Relaxed);
        if outcome.1 > 0 {
            self.last_data_ns.store(now, Ordering::Relaxed);
            self.assist_lag_ns.store(ASSIST_LAG_NS, Ordering::Relaxed);
        }
        outcome
    }

    fn drain_into_mailbox(self: &Arc<Self>, arena: &mut RecvArena, limit: usize, on_js_thread: bool) -> (ReadOutcome, usize) {
        let io = read(&self.io);
        let Some(bound) = io.as_ref() else { return (ReadOutcome::Drained, 0) };
        let fd = bound.socket.as_raw_fd();
        let (mut errors, mut messages) = (0, 0);
        if self.must_not_read() {
            return (ReadOutcome::Drained, 0);
        }
        while messages < limit {
            // Ask for no more messages than the mailbox has room for, judging by the largest one
            // seen (GRO makes messages of up to 64 KiB): what a read brings is never dropped for
            // want of room, it stays in the kernel queue instead.
            let largest = self.largest_message.load(Ordering::Relaxed).max(1);
            let room = PENDING_CAP_BYTES.saturating_sub(self.pending_bytes()) / largest;
            let max = room.min(limit - messages).clamp(1, batch::RECV_BATCH);
            match arena.recv(fd, max) {
                Ok(count) => {
                    messages += count;
                    if self.post(on_js_thread, |mail| self.take_datagrams(arena, count, mail)) {
                        return (ReadOutcome::Drained, messages);
                    }
                    // A short batch means the queue was empty: epoll (edge-triggered) reports the
                    // next arrival as a new event, so the read that would only say EAGAIN is
                    // skipped (one syscall less per wake-up, which is most of them at low rates).
                    if count < max {
                        return (ReadOutcome::Drained, messages);
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return (ReadOutcome::Drained, messages),
                Err(err) => {
                    let errno = error::to_errno(&err);
                    self.note_async_error(errno);
                    let _ = self.post(on_js_thread, |mail| mail.push_recv_error(errno));
                    errors += 1;
                    if errors >= ERRORS_PER_TURN {
                        return (ReadOutcome::Drained, messages);
                    }
                }
            }
        }
        (ReadOutcome::MoreToRead, messages)
    }

    /// Payload bytes waiting in the mailbox.
    fn pending_bytes(&self) -> usize {
        lock(&self.mailbox).mail.data.len()
    }

    fn take_datagrams(&self, arena: &RecvArena, count: usize, mail: &mut Mail) {
        let (mut kept, mut bytes, mut dropped) = (0u64, 0u64, 0u64);
        let mut largest = 0;
        let with_info = self.receive_info.load(Ordering::Relaxed);
        for i in 0..count {
            let message = arena.message(i);
            largest = largest.max(message.payload.len());
            let Some(peer) = message.peer else { continue };
            for payload in message.segments() {
                if mail.data.len() + payload.len() > PENDING_CAP_BYTES {
                    dropped += 1;
                    continue;
                }
                kept += 1;
                bytes += payload.len() as u64;
                mail.push_datagram(payload, peer);
                if with_info {
                    mail.push_info(&message);
                }
            }
        }
        // The estimate follows the traffic: it rises at once with a larger message and halves per
        // read of smaller ones, so one GRO super-datagram does not shrink every later read.
        let seen = self.largest_message.load(Ordering::Relaxed);
        self.largest_message.store(largest.max(seen / 2), Ordering::Relaxed);
        Stats::add(&self.stats.received_datagrams, kept);
        Stats::add(&self.stats.received_bytes, bytes);
        if dropped > 0 {
            Stats::add(&self.stats.dropped_pending, dropped);
        }
    }

    /// Sends what it can of the backlog; disarms write interest once it is empty.
    fn write_ready(self: &Arc<Self>, registry: &Registry) {
        let io = read(&self.io);
        let Some(bound) = io.as_ref() else { return };
        let fd = bound.socket.as_raw_fd();
        let mut backlog = lock(&self.backlog);
        if backlog.entries.is_empty() {
            self.disarm_write(&mut backlog, registry, fd);
            return;
        }
        let mut results = Vec::with_capacity(backlog.entries.len());
        let finished = {
            let backlog = &*backlog;
            let datagrams: Vec<Datagram> = backlog
                .entries
                .iter()
                .map(|q| Datagram { payload: &backlog.bytes[q.start..q.start + q.len], dest: q.dest.as_ref() })
                .collect();
            self.send_now(fd, &datagrams, &mut results)
        };
        backlog.remove_sent(finished);
        if backlog.entries.is_empty() {
            self.disarm_write(&mut backlog, registry, fd);
        }
        drop(backlog);
        if finished > 0 {
            self.stats.count_sends(&results);
            let _ = self.post(false, |mail| mail.send_results.extend_from_slice(&results));
        }
    }
}

impl UdpCore {
    fn disarm_write(&self, backlog: &mut Backlog, registry: &Registry, fd: RawFd) {
        if backlog.write_armed {
            backlog.write_armed = false;
            self.update_interest(registry, fd, false);
        }
    }

    /// Registers the socket's fd with `registry` for what the reactor must watch now: readability
    /// unless its JS thread reads it (the handover driver), writability while a send backlog waits;
    /// deregisters it when neither. On the thread that turns the reactor. Returns whether the
    /// registration is as wanted.
    fn update_interest(&self, registry: &Registry, fd: RawFd, write_armed: bool) -> bool {
        let mut wanted = 0;
        if !self.read_by_js_thread() {
            wanted |= INTEREST_READ;
        }
        if write_armed {
            wanted |= INTEREST_WRITE;
        }
        let current = self.epoll_interest.load(Ordering::Relaxed);
        if wanted == current {
            return true;
        }
        let source = &mut SourceFd(&fd);
        let token = token_of(self.id);
        let changed = match (current, wanted) {
            (_, 0) => registry.deregister(source),
            (0, _) => registry.register(source, token, interest_of(wanted)),
            _ => registry.reregister(source, token, interest_of(wanted)),
        };
        if changed.is_ok() {
            self.epoll_interest.store(wanted, Ordering::Relaxed);
        }
        changed.is_ok()
    }
}

/// mio's interest for non-empty INTEREST_* bits.
fn interest_of(bits: u8) -> Interest {
    match (bits & INTEREST_READ != 0, bits & INTEREST_WRITE != 0) {
        (true, true) => Interest::READABLE | Interest::WRITABLE,
        (false, true) => Interest::WRITABLE,
        _ => Interest::READABLE,
    }
}

fn token_of(id: u64) -> Token {
    Token(id as usize)
}

enum Command {
    /// The JS thread left a backlog on this socket: watch it for writability and send it.
    WantWrite(u64),
    /// JS emptied the mailbox of a socket the reactor had paused: read it again.
    ReadAgain(u64),
    /// A handover socket's reads went back to its JS thread: stop watching it for them.
    UpdateInterest(u64),
}

/// A reactor: the registry of its sockets, its command queue and the waker that interrupts its
/// poll. The `Turner` that goes with it does the work; it is turned either by the process's
/// reactor thread (`Reactor::thread`) or by a JS thread's event loop (the inline driver).
pub struct Reactor {
    registry: Registry,
    waker: Waker,
    sockets: Mutex<HashMap<u64, Arc<UdpCore>>>,
    commands: Mutex<Vec<Command>>,
    /// Handover-driver sockets, checked every CHECK_INTERVAL (see `check_handovers`).
    watched: Mutex<Vec<Weak<UdpCore>>>,
}

/// The state one turn of a reactor works with. It stays on the thread that turns it.
pub struct Turner {
    poll: Poll,
    events: Events,
    arena: RecvArena,
    readable: Vec<Arc<UdpCore>>,
    /// Sockets that still had data when their per-turn read budget ran out.
    carried: Vec<Arc<UdpCore>>,
    /// Messages read per socket per turn.
    read_limit: usize,
    /// Sockets read in the current turn, with how many messages each gave (see `reread`).
    served: Vec<(Arc<UdpCore>, usize)>,
    /// When the handover sockets are checked next.
    checks: CheckClock,
}

impl Turner {
    /// The epoll fd: readable whenever a turn has work (what the inline driver's libuv watches).
    pub fn poll_fd(&self) -> RawFd {
        self.poll.as_raw_fd()
    }

    /// Whether the last turn left sockets with unread data.
    pub fn has_carried(&self) -> bool {
        !self.carried.is_empty()
    }

    /// Reads at most `limit` messages per socket per turn (libuv's 32 for the inline driver).
    pub fn set_read_limit(&mut self, limit: usize) {
        self.read_limit = limit.max(1);
    }
}

static THREAD_REACTOR: OnceCell<Result<Arc<Reactor>, i32>> = OnceCell::new();

impl Reactor {
    /// A reactor and its turner, not yet turned by anyone.
    pub fn new() -> io::Result<(Arc<Reactor>, Turner)> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = Waker::new(poll.registry(), WAKER_TOKEN)?;
        let reactor = Arc::new(Reactor {
            registry,
            waker,
            sockets: Mutex::new(HashMap::new()),
            commands: Mutex::new(Vec::new()),
            watched: Mutex::new(Vec::new()),
        });
        let turner = Turner {
            poll,
            events: Events::with_capacity(256),
            arena: RecvArena::new(),
            readable: Vec::new(),
            carried: Vec::new(),
            read_limit: READS_PER_TURN,
            served: Vec::new(),
            checks: CheckClock::default(),
        };
        Ok((reactor, turner))
    }

    /// The process's reactor thread, started on first use. A failure to start it (no epoll, no
    /// thread) is an errno for JS, never a panic.
    pub fn thread() -> Result<Arc<Reactor>, i32> {
        THREAD_REACTOR.get_or_init(|| Reactor::start_thread().map_err(|e| error::to_errno(&e))).clone()
    }

    fn start_thread() -> io::Result<Arc<Reactor>> {
        let (reactor, mut turner) = Reactor::new()?;
        let turned = Arc::clone(&reactor);
        std::thread::Builder::new().name("turbo-dgram-reactor".into()).spawn(move || {
            moderation::set_timer_slack_ns(1_000);
            let mut moderation = Moderation::default();
            loop {
                // A socket left with data last turn is served again at once, after other events;
                // otherwise the wait ends in time for the next handover check, if any is watched.
                let timeout = if turner.has_carried() {
                    Some(Duration::ZERO)
                } else if lock(&turned.watched).is_empty() {
                    None
                } else {
                    Some(turner.checks.timeout(Instant::now()))
                };
                // Per-socket work is guarded inside the turn; this guard keeps the thread (every
                // socket's reader) alive through a panic anywhere else in it, at the cost of that turn.
                let read = guarded(|| turned.turn(&mut turner, timeout)).unwrap_or(0);
                guarded(|| turned.check_handovers(&mut turner));
                if moderation.after_turn(read, turner.has_carried()) {
                    std::thread::sleep(MODERATION_PAUSE);
                }
            }
        })?;
        Ok(reactor)
    }

    /// Interrupts the poll so the next turn runs soon (the inline driver's way to be called
    /// again when it left work behind).
    pub fn wake(&self) {
        // A failed wake (only on a broken eventfd) leaves the work for the next event.
        let _ = self.waker.wake();
    }

    fn register(&self, core: &Arc<UdpCore>, fd: RawFd) -> Result<(), i32> {
        lock(&self.sockets).insert(core.id, Arc::clone(core));
        let registered = self.registry.register(&mut SourceFd(&fd), token_of(core.id), Interest::READABLE);
        core.epoll_interest.store(INTEREST_READ, Ordering::Relaxed);
        registered.map_err(|e| {
            core.epoll_interest.store(0, Ordering::Relaxed);
            lock(&self.sockets).remove(&core.id);
            error::to_errno(&e)
        })
    }

    /// A handover socket: known to the reactor (for its send backlog and a takeover) but not
    /// watched for reads while its JS thread reads it.
    fn watch(&self, core: &Arc<UdpCore>) {
        lock(&self.sockets).insert(core.id, Arc::clone(core));
        lock(&self.watched).push(Arc::downgrade(core));
        // The reactor thread may be waiting without a timeout: let it start checking.
        self.wake();
    }

    /// Every CHECK_INTERVAL (or IDLE_CHECK_INTERVAL while all is quiet), on the reactor thread:
    /// takes over the reads of each handover socket whose JS thread has left data unserviced for a
    /// whole interval (see `Handover::check`), and forgets closed ones. A socket taken over is read
    /// in the next turn, at once.
    pub fn check_handovers(&self, turner: &mut Turner) {
        let now = Instant::now();
        if !turner.checks.is_due(now) {
            return;
        }
        let mut any_active = false;
        let mut watched = lock(&self.watched);
        watched.retain(|weak| {
            let Some(core) = weak.upgrade().filter(|core| !core.is_closed()) else { return false };
            let Some(handover) = &core.handover else { return false };
            if !handover.js_reads() {
                any_active = true;
                return true;
            }
            let pending = || core.with_socket(|sock, _| Ok(socket::has_pending_input(sock))).unwrap_or(false);
            match handover.check(pending) {
                Verdict::Keep { active } => any_active |= active,
                Verdict::TakeOver => {
                    any_active = true;
                    handover.take_over();
                    Stats::add(&core.stats.takeovers, 1);
                    let armed = lock(&core.backlog).write_armed;
                    let _ = core.with_socket(|sock, _| Ok(core.update_interest(&self.registry, sock.as_raw_fd(), armed)));
                    turner.carried.push(Arc::clone(&core));
                }
            }
            true
        });
        turner.checks.checked(now, any_active);
    }

    /// A handover socket's reads changed hands: the reactor adjusts what it watches.
    fn request_interest_update(&self, id: u64) {
        lock(&self.commands).push(Command::UpdateInterest(id));
        self.wake();
    }

    fn deregister(&self, id: u64, fd: RawFd) {
        lock(&self.sockets).remove(&id);
        let _ = self.registry.deregister(&mut SourceFd(&fd));
    }

    fn request_write(&self, id: u64) {
        lock(&self.commands).push(Command::WantWrite(id));
        self.wake();
    }

    fn request_read(&self, id: u64) {
        lock(&self.commands).push(Command::ReadAgain(id));
        self.wake();
    }

    fn lookup(&self, token: Token) -> Option<Arc<UdpCore>> {
        lock(&self.sockets).get(&(token.0 as u64)).cloned()
    }

    /// One turn: waits up to `timeout` for readiness, then sends backlogs of writable sockets
    /// and reads readable ones (each within its budget), posting mail to their owners. Returns
    /// how many messages it read.
    pub fn turn(&self, turner: &mut Turner, timeout: Option<Duration>) -> usize {
        if let Err(err) = turner.poll.poll(&mut turner.events, timeout) {
            if err.kind() != io::ErrorKind::Interrupted {
                std::thread::sleep(Duration::from_millis(1));
            }
            return 0;
        }
        let mut messages = 0;
        let Turner { events, arena, readable, carried, read_limit, served, .. } = turner;
        served.clear();
        readable.append(carried);
        for event in events.iter() {
            if event.token() == WAKER_TOKEN {
                self.run_commands(readable);
                continue;
            }
            let Some(core) = self.lookup(event.token()) else { continue };
            if event.is_writable() {
                guarded(|| core.write_ready(&self.registry));
            }
            if event.is_error() && core.is_connected() {
                core.defer_error_check();
            } else if (event.is_readable() || event.is_error() || event.is_read_closed())
                && !readable.iter().any(|c| c.id == core.id)
            {
                readable.push(core);
            }
        }
        for core in readable.drain(..) {
            if core.read_by_js_thread() {
                // A handover socket given back meanwhile: its JS thread reads it now.
                continue;
            }
            let Some((outcome, read)) = guarded(|| core.read_ready(arena, *read_limit)) else { continue };
            messages += read;
            if outcome == ReadOutcome::MoreToRead {
                carried.push(Arc::clone(&core));
            } else {
                served.push((core, read));
            }
        }
        messages
    }

    /// Reads again the sockets the last turn drained, each up to what is left of its limit, as
    /// libuv does for node:dgram: it keeps calling recvmsg on a readable socket (up to 32 times)
    /// after each datagram's callbacks ran, so a datagram that arrived meanwhile (a listener's
    /// own send over loopback) is read in the same poll phase. Call after delivering the mail of
    /// the turn; returns how many messages it read (0: nothing more to do).
    pub fn reread(&self, turner: &mut Turner) -> usize {
        let Turner { arena, read_limit, served, carried, .. } = turner;
        let mut messages = 0;
        served.retain_mut(|(core, count)| {
            if *count >= *read_limit || core.is_closed() {
                return false;
            }
            let Some((outcome, read)) = guarded(|| core.read_ready(arena, *read_limit - *count)) else { return false };
            *count += read;
            messages += read;
            if outcome == ReadOutcome::MoreToRead {
                carried.push(Arc::clone(core));
                return false;
            }
            read > 0
        });
        messages
    }

    /// Runs what JS threads asked for; sockets to read again join `readable`.
    fn run_commands(&self, readable: &mut Vec<Arc<UdpCore>>) {
        let commands = std::mem::take(&mut *lock(&self.commands));
        for command in commands {
            match command {
                Command::ReadAgain(id) => {
                    let Some(core) = self.lookup(token_of(id)) else { continue };
                    if !readable.iter().any(|c| c.id == core.id) {
                        readable.push(core);
                    }
                }
                Command::WantWrite(id) => {
                    let Some(core) = self.lookup(token_of(id)) else { continue };
                    let armed = core.with_socket(|socket, _| Ok(core.update_interest(&self.registry, socket.as_raw_fd(), true)));
                    if armed == Ok(true) {
                        guarded(|| core.write_ready(&self.registry));
                    }
                }
                Command::UpdateInterest(id) => {
                    let Some(core) = self.lookup(token_of(id)) else { continue };
                    let _ = core.with_socket(|socket, _| {
                        let armed = lock(&core.backlog).write_armed;
                        Ok(core.update_interest(&self.registry, socket.as_raw_fd(), armed))
                    });
                }
            }
        }
    }
}

/// Runs one socket's work so that a panic in it costs that turn, not the reactor thread.
fn guarded<T>(work: impl FnOnce() -> T) -> Option<T> {
    catch_unwind(AssertUnwindSafe(work)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn datagram(payload: &[u8]) -> Datagram<'_> {
        Datagram { payload, dest: None }
    }

    #[test]
    fn a_table_entry_is_found_among_the_newest_and_added_again_beyond_them() {
        let mut table = Vec::new();
        assert_eq!(table_index(&mut table, 7), 0);
        assert_eq!(table_index(&mut table, 8), 1);
        assert_eq!(table_index(&mut table, 7), 0);
        for n in 100..100 + TABLE_SCAN as u32 {
            table_index(&mut table, n);
        }
        // 7 is older than the scan now: it gets a second entry, which later lookups find.
        let again = table_index(&mut table, 7);
        assert_eq!(again as usize, table.len() - 1);
        assert_eq!(table_index(&mut table, 7), again);
    }

    #[test]
    fn a_backlog_gives_back_the_bytes_of_sent_datagrams_while_it_keeps_filling() {
        let mut backlog = Backlog::default();
        let payload = [7u8; 100];
        for round in 0..1000 {
            backlog.push(&datagram(&payload));
            backlog.push(&datagram(&payload));
            backlog.remove_sent(1);
            assert_eq!(backlog.byte_len(), (round + 1) * 100);
        }
        // 1000 datagrams wait; the buffer holds them and at most as much again of sent ones.
        assert_eq!(backlog.entries.len(), 1000);
        assert!(backlog.bytes.len() <= 2 * 1000 * 100, "buffer kept {} bytes", backlog.bytes.len());
        let first = backlog.entries.front().map(|q| q.start).unwrap_or(usize::MAX);
        assert_eq!(&backlog.bytes[first..first + 100], &payload[..]);
        backlog.remove_sent(usize::MAX);
        assert_eq!((backlog.byte_len(), backlog.bytes.len()), (0, 0));
    }
}
