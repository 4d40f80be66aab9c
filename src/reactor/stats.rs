//! A socket's counters since bind (the `getStats()` extra): relaxed atomics that the reactor
//! thread and the JS thread bump, read by bindings/mod.rs.

use std::sync::atomic::{AtomicU64, Ordering};

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
    pub(super) fn add(counter: &AtomicU64, n: u64) {
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
