//! The send backlog: datagrams the kernel refused with EAGAIN, kept in order until the reactor
//! finds the socket writable (crate::reactor::send sends them and reports their outcomes through
//! the mailbox).

use std::collections::VecDeque;

use socket2::SockAddr;

use crate::batch::Datagram;

/// A datagram the kernel refused with EAGAIN, kept until the socket is writable.
pub(super) struct Queued {
    pub(super) start: usize,
    pub(super) len: usize,
    pub(super) dest: Option<SockAddr>,
}

/// Datagrams waiting for the socket to become writable, payloads back to back in one buffer.
#[derive(Default)]
pub(super) struct Backlog {
    pub(super) bytes: Vec<u8>,
    pub(super) entries: VecDeque<Queued>,
    /// The reactor watches the socket for writability (set by JS, cleared by the reactor when
    /// the backlog is empty; both under the backlog lock).
    pub(super) write_armed: bool,
}

impl Backlog {
    pub(super) fn push(&mut self, datagram: &Datagram) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(datagram.payload);
        self.entries.push_back(Queued { start, len: datagram.payload.len(), dest: datagram.dest.cloned() });
    }

    /// Forgets the first `sent` datagrams, giving their bytes back once they are most of the
    /// buffer: a sender that keeps meeting EAGAIN appends while older datagrams leave, and the
    /// buffer must not keep what already went out.
    pub(super) fn remove_sent(&mut self, sent: usize) {
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
    pub(super) fn byte_len(&self) -> usize {
        self.entries.front().map_or(0, |q| self.bytes.len() - q.start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn datagram(payload: &[u8]) -> Datagram<'_> {
        Datagram { payload, dest: None }
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
