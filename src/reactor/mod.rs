//! The reactor: a mio `Poll` with a registry of sockets, a command queue and a waker.
//!
//! There is one thread reactor per process, turned by a thread named `turbo-dgram-reactor`
//! (`Reactor::thread`): it reads the thread-driver sockets of every JS thread (main and workers)
//! and the handover-driver sockets it has taken over, and finishes the send backlogs of both.
//! Each JS thread that has an inline-driver socket has a reactor of its own (`Reactor::new`) for
//! those sockets, turned from that thread's libuv loop by bindings/delivery.rs. When a socket is readable the
//! turn drains the kernel queue with `recvmmsg` into the socket's mailbox; when a socket the JS
//! thread could not finish sending to becomes writable it sends the backlog. Either way JS is
//! told through the socket's `Notify` at most once per delivery: the next wake-up happens only
//! after JS has found the mailbox empty (see `UdpCore::take_mail`).
//!
//! Sockets of the handover driver (crate::handover, the default) are read by their JS thread
//! (bindings/watch.rs) while it is responsive; the reactor thread only checks on them every
//! CHECK_INTERVAL (`Reactor::check_handovers`), takes their reads over while their JS thread is
//! stalled, and stops watching them for reads once the JS thread takes the reads back.
//!
//! This module knows nothing of Node: `Notify` is how bindings/delivery.rs learns of mail.
//!
//! The reactor's parts: this file (the `Reactor`, its `Turner`, the commands JS threads send it,
//! the turn loop of the reactor thread, the handover checks); `core` (a socket's shared state and
//! lifecycle); `receive` and `send` (its two data paths); `mail` (the mailbox, the wire format to
//! JS); `backlog` (sends waiting for writability); `stats` (the counters); `assist` (the thread
//! driver's read assist).

mod assist;
mod backlog;
mod core;
mod mail;
mod receive;
mod send;
mod stats;

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token, Waker};
use once_cell::sync::OnceCell;

pub use self::assist::monotonic_ns;
pub use self::core::{Bound, UdpCore};
pub use self::mail::{Mail, PENDING_CAP_BYTES, RECV_ERROR_PEER};
pub use self::stats::Stats;

use self::core::{token_of, INTEREST_READ};
use self::receive::ReadOutcome;
use crate::batch::{self, RecvArena};
use crate::error;
use crate::handover::{CheckClock, Verdict, CHECK_INTERVAL};
use crate::moderation::{self, Moderation, MODERATION_PAUSE};
use crate::socket;
use crate::sync::lock;

/// Messages read per socket per reactor turn (16 full `recvmmsg`), so one flooded socket cannot
/// starve the others; a socket that still has data is served again on the next turn without
/// waiting for an event. The inline driver reads as libuv reads for node:dgram instead.
const READS_PER_TURN: usize = 16 * batch::RECV_BATCH;

const WAKER_TOKEN: Token = Token(usize::MAX);

/// How a socket's owner (the JS thread) is told that its mailbox has something.
pub trait Notify: Send + Sync {
    /// Called with the mailbox marked in flight; the owner must eventually call
    /// `UdpCore::take_mail` until it returns false (which ends the delivery). `on_js_thread`: the
    /// mail was posted by the socket's own JS thread (which may deliver it itself), not by the
    /// reactor thread.
    fn notify(&self, core: &Arc<UdpCore>, on_js_thread: bool);
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
        let elapsed = turner.checks.elapsed(now);
        // The soonest any active socket needs its next check (None: all quiet).
        let mut within: Option<Duration> = None;
        let mut soon = |d: Duration| within = Some(within.map_or(d, |w| w.min(d)));
        let mut watched = lock(&self.watched);
        watched.retain(|weak| {
            let Some(core) = weak.upgrade().filter(|core| !core.is_closed()) else { return false };
            let Some(handover) = &core.handover else { return false };
            if !handover.js_reads() {
                soon(CHECK_INTERVAL);
                return true;
            }
            let queue = || core.with_socket(|sock, _| socket::receive_queue_fill(sock)).unwrap_or((0, 1));
            match handover.check(queue) {
                Verdict::Keep { active: false } => {}
                Verdict::Keep { active: true } => {
                    let received = core.stats.received_datagrams.load(Ordering::Relaxed);
                    let bytes = core.stats.received_bytes.load(Ordering::Relaxed);
                    soon(handover.next_check_within(received, bytes, elapsed));
                }
                Verdict::TakeOver => {
                    soon(CHECK_INTERVAL);
                    handover.take_over();
                    Stats::add(&core.stats.takeovers, 1);
                    let armed = lock(&core.backlog).write_armed;
                    let _ = core.with_socket(|sock, _| Ok(core.update_interest(&self.registry, sock.as_raw_fd(), armed)));
                    turner.carried.push(Arc::clone(&core));
                }
            }
            true
        });
        turner.checks.checked(now, within);
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
