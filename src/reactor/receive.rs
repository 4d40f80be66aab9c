//! The receive path of a `UdpCore`: kernel queue -> mailbox -> JS.
//!
//! Whoever reads a socket (the reactor thread, or its JS thread: the handover driver's watch,
//! the thread driver's read assist) holds the socket's reader lock across the `recvmmsg` and the
//! post of what it read, so the mailbox keeps the kernel's order. Posting wakes the JS thread
//! through `Notify` only when no delivery is in flight; JS empties the mailbox with `take_mail`
//! until it finds it empty. A mailbox over half its cap pauses reads (the kernel queue absorbs
//! meanwhile) until `take_mail` resumes them. Also here: the handover hand-offs seen from the
//! socket (`read_on_js_thread`, `take_reads_back`, `give_reads_to_reactor`) and the deferred
//! check of a connected socket's ICMP error.

use std::io;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use super::core::UdpCore;
use super::mail::{Mail, PENDING_CAP_BYTES};
use super::stats::Stats;
use crate::batch::{self, RecvArena};
use crate::error;
use crate::handover::Handover;
use crate::sync::{lock, read};

/// Receive errors in a row after which the reactor stops reading a socket for this turn (a
/// pending ICMP error is consumed by the read that reports it, so this is only a safety net).
const ERRORS_PER_TURN: usize = 4;

/// Whether the reactor should read a socket again without waiting for an event.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ReadOutcome {
    Drained,
    MoreToRead,
}

impl UdpCore {
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
    pub(super) fn post(self: &Arc<Self>, on_js_thread: bool, fill: impl FnOnce(&mut Mail)) -> bool {
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
    pub(super) fn defer_error_check(self: &Arc<Self>) {
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

    /// Drains the kernel queue (bounded per turn) into the mailbox. Also returns how many
    /// messages it read.
    pub(super) fn read_ready(self: &Arc<Self>, arena: &mut RecvArena, limit: usize) -> (ReadOutcome, usize) {
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
    pub(super) fn read_by_js_thread(&self) -> bool {
        self.handover.as_ref().is_some_and(Handover::js_reads)
    }

    /// `read_ready` with the reader lock held; for a socket with the read assist, notes when it
    /// read and whether that brought data (see crate::reactor::assist).
    pub(super) fn read_locked(self: &Arc<Self>, arena: &mut RecvArena, limit: usize, on_js_thread: bool) -> (ReadOutcome, usize) {
        let outcome = self.drain_into_mailbox(arena, limit, on_js_thread);
        self.assist.note_read(outcome.1 > 0);
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
}
