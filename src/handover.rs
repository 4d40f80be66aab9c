//! The handover driver (the default): who reads a socket, its JS thread or the reactor thread, and
//! when the reads change hands.
//!
//! While its JS thread is responsive, a socket is read by that thread, as libuv reads the
//! builtin's: libuv watches the socket itself and the reads and 'message' events happen in the
//! same loop callback, with no thread hop. The reactor thread only looks in now and then (every
//! CHECK_INTERVAL while traffic flows): when the JS thread's watch has not fired once for a whole
//! interval and the kernel queue has filled to TAKEOVER_FILL_DIVISOR of its buffer meanwhile, the
//! JS thread is stalled (a long computation, a GC pause, a blocking call), and the reactor takes
//! the reads over, draining the kernel queue into the socket's mailbox so that a stalled loop
//! loses nothing the queue would have overflowed with. When the JS thread has delivered
//! everything the reactor read, it takes the reads back. Every read, whoever makes it, holds the
//! socket's reader lock and appends to its mailbox, and delivery always drains the mailbox first,
//! so the kernel's order is kept across every hand-over.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the reactor thread looks at sockets that had traffic lately: a stalled JS thread is
/// seen one to two intervals after its last service, once the queue has filled to 1/8. At 50k
/// datagrams/s the default 212 KiB receive queue holds ~256 small datagrams, ~5 ms: two 1 ms
/// intervals stay well inside it.
pub const CHECK_INTERVAL: Duration = Duration::from_millis(1);
/// How often it looks while no watched socket had traffic: a burst that starts while the JS
/// thread is already stalled waits up to this long (plus CHECK_INTERVAL) before the reactor
/// drains it. Idle processes then cost the reactor thread 100 wake-ups a second, not 1,000.
pub const IDLE_CHECK_INTERVAL: Duration = Duration::from_millis(10);

/// A JS thread's event loop as its handover sockets see it: which iteration it is in (counted by
/// a prepare handle, bindings/watch.rs), for the delivery budget they share per iteration.
#[derive(Default)]
pub struct LoopState {
    /// Loop iterations so far; 0 where the prepare handle could not be made.
    iteration: AtomicU64,
}

impl LoopState {
    /// From the loop's prepare handle, before each poll phase.
    pub fn next_iteration(&self) {
        self.iteration.fetch_add(1, Ordering::Relaxed);
    }
}

/// The reactor takes a socket's reads over when its JS thread has not served it for a whole check
/// interval and its kernel queue holds this fraction (1/N) of the receive buffer or more: the
/// queue is filling and would overflow before a stalled thread came back. A few datagrams waiting
/// on a thread busy for a millisecond are no risk and stay with the thread, which then reads them
/// exactly when libuv would have for the builtin. At 50k small datagrams/s the default buffer
/// (~212 KiB, ~256 datagrams) reaches 1/8 in ~0.6 ms.
const TAKEOVER_FILL_DIVISOR: u32 = 8;

/// Checks after the last firing of its watch during which a socket still counts as active: it
/// keeps the reactor checking every CHECK_INTERVAL and its queue is looked at every check.
const RECENT_CHECKS: u32 = 32;

/// The most checks a quiet socket skips between two looks at its kernel queue: once quiet for
/// RECENT_CHECKS, a socket whose queue was empty skips 1, 7, then 15 checks before it looks
/// again (160 ms at IDLE_CHECK_INTERVAL), so a process with a thousand idle sockets makes ~6k cheap `poll`s a
/// second instead of 100k. Any firing of its watch makes it look at every check again. The price:
/// a burst that starts on a long-quiet socket while its JS thread is already stalled is taken
/// over up to that much later (the kernel queue holds ~256 small datagrams meanwhile).
const MAX_SKIPPED_CHECKS: u32 = 15;

const OWNER_JS: u8 = 0;
const OWNER_REACTOR: u8 = 1;

/// One socket's handover state, shared by its JS thread and the reactor thread.
pub struct Handover {
    /// Its JS thread's loop.
    js_loop: Arc<LoopState>,
    /// OWNER_JS or OWNER_REACTOR: who reads the socket now.
    owner: AtomicU8,
    /// Counts the firings of the JS thread's watch on the socket (the reactor compares).
    js_serviced: AtomicU64,
    /// Reactor thread only: `js_serviced` at its last check, and whether data was pending then.
    seen: AtomicU64,
    /// Reactor thread only: checks in a row that found the queue empty, and checks left to skip.
    quiet: AtomicU32,
    skip: AtomicU32,
    /// JS thread only: the loop iteration of the last delivery, and the events it has had in it.
    /// The socket's watch and (after a takeover) the async handle may both deliver in one poll
    /// phase; together they stay within one STEPS_PER_CALLBACK.
    steps_iteration: AtomicU64,
    steps_used: AtomicU64,
}

/// What a check found.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The JS thread keeps the reads; `active` when the socket had traffic since the last check.
    Keep { active: bool },
    /// Data waited a whole interval without the JS thread looking: the reactor reads from now on.
    TakeOver,
}

impl Handover {
    pub fn new(js_loop: Arc<LoopState>) -> Handover {
        Handover {
            js_loop,
            owner: AtomicU8::new(OWNER_JS),
            js_serviced: AtomicU64::new(0),
            seen: AtomicU64::new(0),
            quiet: AtomicU32::new(0),
            skip: AtomicU32::new(0),
            steps_iteration: AtomicU64::new(0),
            steps_used: AtomicU64::new(0),
        }
    }

    /// JS thread: of `budget` events per loop iteration, how many this socket may still deliver
    /// in the current one (all of them where iterations are not counted).
    pub fn steps_left(&self, budget: usize) -> usize {
        let iteration = self.js_loop.iteration.load(Ordering::Relaxed);
        if iteration == 0 {
            return budget;
        }
        if self.steps_iteration.swap(iteration, Ordering::Relaxed) != iteration {
            self.steps_used.store(0, Ordering::Relaxed);
        }
        budget.saturating_sub(self.steps_used.load(Ordering::Relaxed) as usize)
    }

    /// JS thread: `steps` events were delivered in the current loop iteration.
    pub fn spend_steps(&self, steps: usize) {
        self.steps_used.fetch_add(steps as u64, Ordering::Relaxed);
    }

    /// Whether the JS thread reads the socket (else the reactor thread does).
    pub fn js_reads(&self) -> bool {
        self.owner.load(Ordering::Acquire) == OWNER_JS
    }

    /// The JS thread's watch on the socket fired (called before it reads).
    pub fn note_js_service(&self) {
        self.js_serviced.fetch_add(1, Ordering::Relaxed);
    }

    /// On the reactor thread, every check interval, for a socket the JS thread reads. `queue`
    /// gives the bytes its kernel queue holds and the receive buffer's size; it is asked (a
    /// syscall) only when the JS thread's watch has not fired since the last check.
    pub fn check(&self, queue: impl FnOnce() -> (u32, u32)) -> Verdict {
        let serviced = self.js_serviced.load(Ordering::Relaxed);
        if self.seen.swap(serviced, Ordering::Relaxed) != serviced {
            self.quiet.store(0, Ordering::Relaxed);
            self.skip.store(0, Ordering::Relaxed);
            return Verdict::Keep { active: true };
        }
        // Checks in a row without the watch firing. Traffic comes in bursts (a sender's timer
        // ticks, say), so a socket stays `active` (checked every CHECK_INTERVAL, its queue looked
        // at each time) for RECENT_CHECKS after its last service; only then does it count as quiet.
        let quiet = self.quiet.load(Ordering::Relaxed).saturating_add(1);
        self.quiet.store(quiet, Ordering::Relaxed);
        let recent = quiet <= RECENT_CHECKS;
        if !recent {
            let skip = self.skip.load(Ordering::Relaxed);
            if skip > 0 {
                self.skip.store(skip - 1, Ordering::Relaxed);
                return Verdict::Keep { active: false };
            }
        }
        let (held, capacity) = queue();
        if held == 0 {
            if !recent {
                let looks = quiet - RECENT_CHECKS;
                let skip = 1u32.checked_shl(looks.min(31)).map_or(MAX_SKIPPED_CHECKS, |n| (n - 1).min(MAX_SKIPPED_CHECKS));
                self.skip.store(skip, Ordering::Relaxed);
            }
            return Verdict::Keep { active: recent };
        }
        // Data waits: the socket is active again, whatever happens next.
        self.quiet.store(0, Ordering::Relaxed);
        self.skip.store(0, Ordering::Relaxed);
        if held.saturating_mul(TAKEOVER_FILL_DIVISOR) >= capacity {
            return Verdict::TakeOver;
        }
        Verdict::Keep { active: true }
    }

    /// The reactor thread takes the reads over.
    pub fn take_over(&self) {
        self.owner.store(OWNER_REACTOR, Ordering::Release);
    }

    /// The JS thread takes the reads back; returns whether it did (false: it had them already).
    pub fn give_back(&self) -> bool {
        self.owner.compare_exchange(OWNER_REACTOR, OWNER_JS, Ordering::AcqRel, Ordering::Relaxed).is_ok()
    }
}

/// When the reactor thread checks its watched sockets next.
pub struct CheckClock {
    next: Instant,
}

impl Default for CheckClock {
    fn default() -> CheckClock {
        CheckClock { next: Instant::now() + IDLE_CHECK_INTERVAL }
    }
}

impl CheckClock {
    /// How long the reactor may wait for events before the next check is due.
    pub fn timeout(&self, now: Instant) -> Duration {
        self.next.saturating_duration_since(now)
    }

    pub fn is_due(&self, now: Instant) -> bool {
        now >= self.next
    }

    /// After a check at `now`: the next one in CHECK_INTERVAL if any socket was active, else in
    /// IDLE_CHECK_INTERVAL.
    pub fn checked(&mut self, now: Instant, any_active: bool) {
        self.next = now + if any_active { CHECK_INTERVAL } else { IDLE_CHECK_INTERVAL };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUFFER: u32 = 212_992;
    const FILLING: (u32, u32) = (BUFFER / TAKEOVER_FILL_DIVISOR, BUFFER);
    const A_FEW: (u32, u32) = (3 * 768, BUFFER);
    const EMPTY: (u32, u32) = (0, BUFFER);

    fn socket() -> Handover {
        Handover::new(Arc::new(LoopState::default()))
    }

    #[test]
    fn a_serviced_socket_stays_with_its_js_thread_and_the_kernel_queue_is_not_asked() {
        let handover = socket();
        for _ in 0..5 {
            handover.note_js_service();
            let verdict = handover.check(|| panic!("queue asked although the watch fired"));
            assert_eq!(verdict, Verdict::Keep { active: true });
        }
        assert!(handover.js_reads());
    }

    #[test]
    fn a_filling_queue_left_unserviced_for_a_whole_interval_is_taken_over() {
        let handover = socket();
        handover.note_js_service();
        assert_eq!(handover.check(|| FILLING), Verdict::Keep { active: true }, "serviced since the last check");
        assert_eq!(handover.check(|| FILLING), Verdict::TakeOver);
    }

    #[test]
    fn a_few_datagrams_waiting_on_a_busy_thread_stay_with_it() {
        let handover = socket();
        for _ in 0..100 {
            assert_eq!(handover.check(|| A_FEW), Verdict::Keep { active: true });
        }
        assert_eq!(handover.check(|| FILLING), Verdict::TakeOver);
    }

    #[test]
    fn a_quiet_socket_looks_at_its_queue_ever_more_rarely_until_its_watch_fires() {
        let handover = socket();
        let looks = std::cell::Cell::new(0);
        let mut looked_at = Vec::new();
        let mut active = Vec::new();
        for check in 0..200u32 {
            let verdict = handover.check(|| {
                looks.set(looks.get() + 1);
                EMPTY
            });
            active.push(verdict == Verdict::Keep { active: true });
            if looks.replace(0) > 0 {
                looked_at.push(check);
            }
        }
        // Active, and looked at every check, for RECENT_CHECKS; then 1, 7, then 15 skipped.
        let recent = RECENT_CHECKS as usize;
        assert!(active[..recent].iter().all(|a| *a) && active[recent..].iter().all(|a| !*a));
        assert_eq!(looked_at[..recent], (0..RECENT_CHECKS).collect::<Vec<_>>()[..]);
        let r = RECENT_CHECKS;
        assert_eq!(&looked_at[recent..recent + 5], &[r, r + 2, r + 10, r + 26, r + 42]);
        assert!(looked_at.windows(2).all(|w| w[1] - w[0] <= MAX_SKIPPED_CHECKS + 1));
        handover.note_js_service();
        assert_eq!(handover.check(|| panic!("asked although the watch fired")), Verdict::Keep { active: true });
        assert_eq!(handover.check(|| FILLING), Verdict::TakeOver, "looks at once again");
    }

    #[test]
    fn the_step_budget_is_shared_within_a_loop_iteration_and_renewed_by_the_next() {
        let js_loop = Arc::new(LoopState::default());
        let handover = Handover::new(Arc::clone(&js_loop));
        assert_eq!(handover.steps_left(256), 256, "iterations not counted: no limit");
        js_loop.next_iteration();
        assert_eq!(handover.steps_left(256), 256);
        handover.spend_steps(200);
        assert_eq!(handover.steps_left(256), 56);
        handover.spend_steps(56);
        assert_eq!(handover.steps_left(256), 0);
        js_loop.next_iteration();
        assert_eq!(handover.steps_left(256), 256);
    }

    #[test]
    fn reads_change_hands_and_back_once() {
        let handover = socket();
        assert!(!handover.give_back());
        handover.take_over();
        assert!(!handover.js_reads());
        assert!(handover.give_back());
        assert!(handover.js_reads());
        assert!(!handover.give_back());
    }

    #[test]
    fn the_clock_checks_often_only_while_traffic_flows() {
        let start = Instant::now();
        let mut clock = CheckClock { next: start };
        assert!(clock.is_due(start));
        clock.checked(start, true);
        assert_eq!(clock.timeout(start), CHECK_INTERVAL);
        clock.checked(start, false);
        assert_eq!(clock.timeout(start), IDLE_CHECK_INTERVAL);
        assert!(!clock.is_due(start));
        assert!(clock.is_due(start + IDLE_CHECK_INTERVAL));
    }
}
