//! The send path of a `UdpCore`: JS -> kernel, in order.
//!
//! The JS thread sends a tick's datagrams itself (`send`); what the kernel refuses with EAGAIN
//! joins the socket's backlog (crate::reactor::backlog) and the reactor is asked to watch for
//! writability, then finishes it (`write_ready`) and posts the outcomes to the mailbox. While a
//! backlog exists new datagrams queue behind it. How sends are grouped into syscalls follows the
//! socket's connection state and whether an ICMP error was seen (`batch::SendPolicy`).

use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use mio::Registry;

use super::backlog::Backlog;
use super::core::UdpCore;
use crate::batch::{self, Datagram};
use crate::error;
use crate::sync::{lock, read};

pub(super) const SEND_MODE_UNCONNECTED: u8 = 0;
const SEND_MODE_CONNECTED: u8 = 1;
const SEND_MODE_CAREFUL: u8 = 2;

impl UdpCore {
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
    pub(super) fn note_async_error(&self, errno: i32) {
        if batch::is_async_socket_error(errno) && self.send_mode.load(Ordering::Relaxed) != SEND_MODE_UNCONNECTED {
            self.send_mode.store(SEND_MODE_CAREFUL, Ordering::Relaxed);
        }
    }

    /// Bytes and datagrams held in the backlog (not yet given to the kernel).
    pub fn send_queue(&self) -> (usize, usize) {
        let backlog = lock(&self.backlog);
        (backlog.byte_len(), backlog.entries.len())
    }

    pub(super) fn is_connected(&self) -> bool {
        self.send_mode.load(Ordering::Relaxed) != SEND_MODE_UNCONNECTED
    }

    /// Sends what it can of the backlog; disarms write interest once it is empty.
    pub(super) fn write_ready(self: &Arc<Self>, registry: &Registry) {
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

    fn disarm_write(&self, backlog: &mut Backlog, registry: &Registry, fd: RawFd) {
        if backlog.write_armed {
            backlog.write_armed = false;
            self.update_interest(registry, fd, false);
        }
    }

}
