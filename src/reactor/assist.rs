//! The read assist of the thread driver: a thread-driver socket's JS thread reads it too when
//! the reactor thread has fallen behind on it.
//!
//! `ReadAssist` is the clock and the policy (when a socket last was read and last brought data,
//! and how long nobody must have read it before its JS thread does); bindings/delivery.rs runs
//! the check (a libuv check handle, after each poll phase) and calls `assist_read`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use once_cell::sync::OnceCell;

use super::core::UdpCore;
use crate::batch::RecvArena;
use crate::sync::lock;

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

/// One socket's read-assist clock. Only a socket that has it enabled notes its reads.
pub(super) struct ReadAssist {
    /// Set for a thread-driver socket (`enable_assist`): only then do reads note the times below.
    enabled: AtomicBool,
    /// When the socket was last read (`monotonic_ns`; 0: never), and when a read last brought
    /// datagrams.
    last_read_ns: AtomicU64,
    last_data_ns: AtomicU64,
    /// How long nobody must have read the socket before its JS thread does (see ASSIST_LAG_NS).
    lag_ns: AtomicU64,
}

impl Default for ReadAssist {
    fn default() -> ReadAssist {
        ReadAssist {
            enabled: AtomicBool::new(false),
            last_read_ns: AtomicU64::new(0),
            last_data_ns: AtomicU64::new(0),
            lag_ns: AtomicU64::new(ASSIST_LAG_NS),
        }
    }
}

impl ReadAssist {
    /// After any read of the socket (by the reactor or the JS thread): notes when, and whether it
    /// brought data (which resets the lag).
    pub(super) fn note_read(&self, brought_data: bool) {
        if !self.enabled.load(Ordering::Relaxed) {
            return;
        }
        let now = monotonic_ns();
        self.last_read_ns.store(now, Ordering::Relaxed);
        if brought_data {
            self.last_data_ns.store(now, Ordering::Relaxed);
            self.lag_ns.store(ASSIST_LAG_NS, Ordering::Relaxed);
        }
    }
}

impl UdpCore {
    /// Whether the socket's JS thread should read it too (at `now`, a `monotonic_ns`): datagrams
    /// came lately, but nobody has read it for its lag. The builtin reads between the
    /// JS thread's own sends; a JS thread sending to its own socket flat out can starve the
    /// reactor thread of CPU (and the loopback delivery of its softirq time) for milliseconds,
    /// while the 256-datagram default queue overflows. Reading here keeps what the builtin keeps.
    /// `now` is asked for only when the socket has had data at all.
    pub fn needs_assist(&self, now: impl FnOnce() -> u64) -> bool {
        let data = self.assist.last_data_ns.load(Ordering::Relaxed);
        if data == 0 {
            return false;
        }
        let now = now();
        let read = self.assist.last_read_ns.load(Ordering::Relaxed);
        now.saturating_sub(data) < ASSIST_RECENT_NS
            && now.saturating_sub(read) >= self.assist.lag_ns.load(Ordering::Relaxed)
    }

    /// The JS thread's read of a thread-driver socket the reactor has fallen behind on (see
    /// `needs_assist`): up to `limit` messages into the mailbox. Returns how many it read.
    pub fn assist_read(self: &Arc<Self>, arena: &mut RecvArena, limit: usize) -> usize {
        // Waits for a read of the reactor in progress (a reactor preempted in the middle of one
        // holds the JS thread, as a builtin socket's reads would, instead of letting it send on).
        let _reader = lock(&self.reader);
        let read = self.read_locked(arena, limit, true).1;
        if read == 0 {
            let lag = self.assist.lag_ns.load(Ordering::Relaxed);
            self.assist.lag_ns.store((lag * 2).min(ASSIST_LAG_MAX_NS), Ordering::Relaxed);
        }
        read
    }

    /// Lets this socket's JS thread read it when the reactor lags (a thread-driver socket).
    pub fn enable_assist(&self) {
        self.assist.enabled.store(true, Ordering::Relaxed);
    }
}
