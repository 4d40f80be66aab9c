//! The mailbox: what a socket's reads gathered for its JS thread, in the shape JS takes it.
//!
//! `Mail` is the wire format of a delivery (payloads back to back, `[length, peer index]` pairs,
//! a per-batch peer table, optional receive info, outcomes of sends the reactor finished);
//! bindings/delivery.rs turns it into one JS call per datagram. `Mailbox` wraps it with the
//! in-flight flag (one wake-up per delivery) and the pause flag (a full mailbox stops reads).
//! Filling and emptying it, under its lock, is crate::reactor::receive's job.

use std::net::{IpAddr, SocketAddr};

use crate::batch::RecvMessage;

/// Bytes of received payload a socket may hold while JS has not taken them (the reactor pauses
/// reading at half of it, see PAUSE_AT_BYTES; what still overflows is dropped and counted).
/// Small on purpose: each delivery becomes one JS Buffer, and buffers this size die young and are
/// freed by V8's scavenges, while megabyte batches outlive them, get promoted and pile up until a
/// full GC (measured under a GSO flood: peak RSS 120 MiB with 2 MiB, 55 MiB with 512 KiB, same
/// throughput). The pause point, 256 KiB, still holds ~3,500 small datagrams, a 20 ms stall at
/// 170k/s; beyond that the kernel queue (SO_RCVBUF) absorbs, as for the builtin.
pub const PENDING_CAP_BYTES: usize = 512 * 1024;

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

    pub(super) fn push_info(&mut self, message: &RecvMessage) {
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

    pub(super) fn push_datagram(&mut self, payload: &[u8], peer: SocketAddr) {
        let index = table_index(&mut self.peers, peer);
        self.data.extend_from_slice(payload);
        self.meta.push(payload.len() as u32);
        self.meta.push(index);
    }

    pub(super) fn push_recv_error(&mut self, errno: i32) {
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

pub(super) struct Mailbox {
    pub(super) mail: Mail,
    /// True from the `notify` until JS found the mailbox empty: while it is set, the reactor
    /// appends without waking JS again.
    pub(super) in_flight: bool,
    /// The reactor stopped reading the socket because the mailbox is full; the next `take_mail`
    /// asks it to read again. Meanwhile the kernel queue absorbs (and, when full, drops and
    /// counts) what arrives, so the reactor spends no CPU on datagrams it would only drop.
    pub(super) paused: bool,
}

/// Mail beyond which the reactor pauses reading a socket until JS takes it: half the cap, so
/// that one more `recvmmsg` (64 datagrams, more with GRO) still fits in most cases.
const PAUSE_AT_BYTES: usize = PENDING_CAP_BYTES / 2;

impl Mailbox {
    /// Marks the mailbox paused when it holds PAUSE_AT_BYTES or more; returns whether it does.
    pub(super) fn pause_if_full(&mut self) -> bool {
        let full = self.mail.data.len() >= PAUSE_AT_BYTES;
        self.paused |= full;
        full
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
