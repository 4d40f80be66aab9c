//! `UdpCore`: one UDP socket as its JS thread and the reactor share it, and its lifecycle.
//!
//! This file holds the shared state (the fd under the io lock, the mailbox, the send backlog,
//! the reader lock, the counters, the handover state) and what opens, binds, attaches and closes
//! it, plus its epoll registration. What moves data lives beside it: crate::reactor::receive
//! (kernel -> mailbox -> JS), crate::reactor::send (JS -> kernel, the backlog), and
//! crate::reactor::assist (the thread driver's read assist).

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use once_cell::sync::OnceCell;
use socket2::Socket;

use super::assist::ReadAssist;
use super::backlog::Backlog;
use super::mail::{Mail, Mailbox};
use super::send::SEND_MODE_UNCONNECTED;
use super::stats::Stats;
use super::{Notify, Reactor};
use crate::addr::Family;
use crate::batch;
use crate::error;
use crate::handover::{Handover, LoopState};
use crate::socket;
use crate::sync::{lock, read, write};

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
    pub(super) reactor: OnceCell<Weak<Reactor>>,
    pub(super) io: RwLock<Option<Bound>>,
    pub(super) mailbox: Mutex<Mailbox>,
    pub(super) backlog: Mutex<Backlog>,
    pub(super) notify: Box<dyn Notify>,
    pub(super) closed: AtomicBool,
    /// Whether received datagrams carry `Mail::info` (the pktinfo / timestamp extra).
    pub(super) receive_info: AtomicBool,
    /// JS still has events of delivered batches to emit (touched by the owning JS thread only).
    pub(super) js_backlog: AtomicBool,
    /// SEND_MODE_*: how sends are grouped into syscalls (see `send_now`).
    pub(super) send_mode: AtomicU8,
    /// About the largest message reads bring lately (a GRO message holds many datagrams), to
    /// size reads to the mailbox's room; see `take_datagrams`.
    pub(super) largest_message: AtomicUsize,
    /// Held by whoever reads the socket, across the read and the post of what it read, so that
    /// the mailbox keeps the kernel's order: the reactor's turn, and on the JS thread the handover
    /// driver's `read_on_js_thread` and the thread driver's `assist_read`.
    pub(super) reader: Mutex<()>,
    /// The read assist's clock (a thread-driver socket's JS thread reads it when the reactor lags).
    pub(super) assist: ReadAssist,
    /// For a socket of the handover driver: who reads it now (see crate::handover).
    pub handover: Option<Handover>,
    /// INTEREST_* bits this socket is registered with in its reactor's epoll; changed on the
    /// thread that turns the reactor only (and at attach, before anyone else knows the socket).
    pub(super) epoll_interest: AtomicU8,

    pub stats: Stats,
}

pub(super) const INTEREST_READ: u8 = 1;
pub(super) const INTEREST_WRITE: u8 = 2;

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
            assist: ReadAssist::default(),
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

    /// Turns on the receive-info extra: local address and interface (IP_PKTINFO /
    /// IPV6_RECVPKTINFO) and/or kernel receive timestamps (SO_TIMESTAMPNS) on every datagram.
    pub fn enable_receive_info(&self, pktinfo: bool, timestamps: bool) -> Result<(), i32> {
        self.with_socket(|socket, family| {
            batch::enable_receive_info(socket.as_raw_fd(), family == Family::V6, pktinfo, timestamps)
        })?;
        self.receive_info.store(pktinfo || timestamps, Ordering::Relaxed);
        Ok(())
    }

    /// unless its JS thread reads it (the handover driver), writability while a send backlog waits;
    /// deregisters it when neither. On the thread that turns the reactor. Returns whether the
    /// registration is as wanted.
    pub(super) fn update_interest(&self, registry: &Registry, fd: RawFd, write_armed: bool) -> bool {
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

pub(super) fn token_of(id: u64) -> Token {
    Token(id as usize)
}
