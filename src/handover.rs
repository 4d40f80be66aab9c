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

/// The shortest interval between two looks at sockets that had traffic lately: a stalled JS
/// thread is seen one to two intervals after its last service, once the queue has filled to 1/8.
/// At 50k datagrams/s the default 212 KiB receive queue holds ~256 small datagrams, ~5 ms: two
/// 1 ms intervals stay well inside it. Slower traffic is looked at less often (`FillPace`).
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

/// Delivery callbacks in a row that used their whole step budget while the reactor read the
/// socket, without the backlog (read but not yet delivered) getting any shorter, after which its
/// JS thread takes the reads back although the reactor still has mail for it: the thread is not
/// stalled but slower than the traffic (a server past what it can answer), and reading ahead into
/// the mailbox would only add latency (up to its cap: ~100 ms at 50k small requests/s) where the
/// builtin drops at the kernel queue and answers the rest at once. After a stall the backlog
/// shrinks with every callback, and the reactor reads until it is gone. Order is kept: what the JS
/// thread reads is appended behind the reactor's mail.
const BEHIND_CALLBACKS_BEFORE_HAND_BACK: u32 = 4;

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
    /// Reactor thread only: how fast the kernel queue would fill if the JS thread stopped.
    pace: FillPace,
    /// JS thread only: receive events delivered so far; delivery callbacks in a row that ended
    /// with their budget used up while the reactor read the socket and the backlog did not
    /// shrink, and the backlog when that streak began.
    delivered: AtomicU64,
    behind: AtomicU32,
    behind_from: AtomicU64,
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
            pace: FillPace::default(),
            delivered: AtomicU64::new(0),
            behind: AtomicU32::new(0),
            behind_from: AtomicU64::new(0),
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
        self.delivered.fetch_add(steps as u64, Ordering::Relaxed);
    }

    /// Whether the JS thread reads the socket (else the reactor thread does).
    pub fn js_reads(&self) -> bool {
        self.owner.load(Ordering::Acquire) == OWNER_JS
    }

    /// JS thread, at the end of a delivery callback that used up its step budget (`behind`) or
    /// delivered everything, after `spend_steps`; `received` is the socket's count of datagrams
    /// read so far. Whether to take the reads back now although the reactor still has mail (see
    /// BEHIND_CALLBACKS_BEFORE_HAND_BACK).
    pub fn hand_back_while_behind(&self, behind: bool, received: u64) -> bool {
        if !behind || self.js_reads() {
            self.behind.store(0, Ordering::Relaxed);
            return false;
        }
        let backlog = received.saturating_sub(self.delivered.load(Ordering::Relaxed));
        let streak = self.behind.load(Ordering::Relaxed);
        if streak == 0 || backlog < self.behind_from.load(Ordering::Relaxed) {
            // A first callback behind, or the backlog shrank: the thread is catching up.
            self.behind_from.store(backlog, Ordering::Relaxed);
            self.behind.store(1, Ordering::Relaxed);
            return false;
        }
        if streak + 1 < BEHIND_CALLBACKS_BEFORE_HAND_BACK {
            self.behind.store(streak + 1, Ordering::Relaxed);
            return false;
        }
        self.behind.store(0, Ordering::Relaxed);
        true
    }

    /// The JS thread served the socket: its watch fired (before it reads), or it delivered one of
    /// the socket's events. A JS thread busy with the socket's own traffic is not stalled, however
    /// long its loop iterations take; taking its reads over would only move the queue from the
    /// kernel into the mailbox.
    pub fn note_js_service(&self) {
        self.js_serviced.fetch_add(1, Ordering::Relaxed);
    }

    /// On the reactor thread, every check interval, for a socket the JS thread reads. `queue`
    /// gives the bytes its kernel queue holds and the receive buffer's size; it is asked (a
    /// syscall) only when the JS thread has not served the socket since the last check.
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
        self.pace.capacity.store(capacity, Ordering::Relaxed);
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

    /// On the reactor thread, after a check that kept an active socket with its JS thread: how
    /// soon it must be looked at again (see `FillPace`). `received` and `bytes` are the socket's
    /// counters of datagrams and bytes read so far, `elapsed` the time since the last check.
    pub fn next_check_within(&self, received: u64, bytes: u64, elapsed: Duration) -> Duration {
        let serviced = self.js_serviced.load(Ordering::Relaxed);
        self.pace.next_check_within(received, bytes, elapsed, serviced)
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

/// Kernel memory a datagram is assumed to take beyond twice its payload (its skb's truesize):
/// the default 212 KiB buffer holds ~256 datagrams of 64 bytes on loopback, ~830 bytes each.
const DATAGRAM_OVERHEAD: u64 = 832;
/// The receive buffer assumed until a check has read the socket's own (Linux's default).
const DEFAULT_RCVBUF: u32 = 212_992;

/// How soon an active socket must be looked at again. A socket whose JS thread stalls is taken
/// over at the second check after its last service, at the latest the third if the queue was
/// still below the takeover fill at the second; so checks come at a fifth of the time its traffic
/// would take to fill the receive buffer: 1 ms (CHECK_INTERVAL) at 50k small datagrams/s and
/// above, ~4.4 ms at 10k/s, IDLE_CHECK_INTERVAL below ~2k/s. The fill rate is measured from what
/// the JS thread read between two checks where its watch fired, and decays by a quarter per such
/// check at most, so it stays up while the thread is stalled (and reads nothing). The price: a
/// socket whose traffic jumps from slow to fast at the moment its JS thread stalls is taken over
/// up to that much later, as a burst on a quiet socket is.
#[derive(Default)]
struct FillPace {
    /// The socket's `received` / `bytes` counters and its watch's firings at the last estimate.
    received: AtomicU64,
    bytes: AtomicU64,
    serviced: AtomicU64,
    /// Estimated kernel memory per second the traffic takes (bytes/s).
    fill_per_second: AtomicU64,
    /// The receive buffer's size as the last look at the queue saw it; 0 until then.
    capacity: AtomicU32,
}

impl FillPace {
    fn next_check_within(&self, received: u64, bytes: u64, elapsed: Duration, serviced: u64) -> Duration {
        let new_datagrams = received.saturating_sub(self.received.swap(received, Ordering::Relaxed));
        let new_bytes = bytes.saturating_sub(self.bytes.swap(bytes, Ordering::Relaxed));
        let was_serviced = self.serviced.swap(serviced, Ordering::Relaxed) != serviced;
        let mut fill = self.fill_per_second.load(Ordering::Relaxed);
        let micros = elapsed.as_micros().max(1) as u64;
        if was_serviced {
            let taken = new_datagrams.saturating_mul(DATAGRAM_OVERHEAD).saturating_add(new_bytes.saturating_mul(2));
            let measured = taken.saturating_mul(1_000_000) / micros;
            fill = measured.max(fill - fill / 4);
            self.fill_per_second.store(fill, Ordering::Relaxed);
        }
        if fill == 0 {
            return IDLE_CHECK_INTERVAL;
        }
        let capacity = match self.capacity.load(Ordering::Relaxed) {
            0 => DEFAULT_RCVBUF,
            known => known,
        };
        let fill_time = Duration::from_micros(u64::from(capacity).saturating_mul(1_000_000) / fill);
        (fill_time / 5).clamp(CHECK_INTERVAL, IDLE_CHECK_INTERVAL)
    }
}

/// When the reactor thread checks its watched sockets next.
pub struct CheckClock {
    last: Instant,
    next: Instant,
}

impl Default for CheckClock {
    fn default() -> CheckClock {
        let now = Instant::now();
        CheckClock { last: now, next: now + IDLE_CHECK_INTERVAL }
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

    /// Time since the last check.
    pub fn elapsed(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.last)
    }

    /// After a check at `now`: the next one `within` that long (the soonest any active socket
    /// needs), or in IDLE_CHECK_INTERVAL when none was active.
    pub fn checked(&mut self, now: Instant, within: Option<Duration>) {
        self.last = now;
        self.next = now + within.unwrap_or(IDLE_CHECK_INTERVAL);
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

    /// A delivery callback that used its budget of 256 events while `arrived` more were read.
    fn behind_after(handover: &Handover, received: &mut u64, arrived: u64) -> bool {
        *received += arrived;
        handover.spend_steps(256);
        handover.hand_back_while_behind(true, *received)
    }

    #[test]
    fn a_js_thread_whose_backlog_does_not_shrink_takes_the_reads_back() {
        let handover = socket();
        let mut received = 10_000;
        assert!(!behind_after(&handover, &mut received, 256), "it reads already");
        handover.take_over();
        for _ in 1..BEHIND_CALLBACKS_BEFORE_HAND_BACK {
            assert!(!behind_after(&handover, &mut received, 300));
        }
        assert!(!handover.hand_back_while_behind(false, received), "caught up: the streak ends");
        for _ in 1..BEHIND_CALLBACKS_BEFORE_HAND_BACK {
            assert!(!behind_after(&handover, &mut received, 256));
        }
        assert!(behind_after(&handover, &mut received, 256), "the backlog stayed: overloaded");
        assert!(!behind_after(&handover, &mut received, 256), "a new streak");
    }

    #[test]
    fn a_js_thread_working_off_a_stall_keeps_the_reactor_reading() {
        let handover = socket();
        handover.take_over();
        let mut received = 5_000;
        for _ in 0..10 * BEHIND_CALLBACKS_BEFORE_HAND_BACK {
            assert!(!behind_after(&handover, &mut received, 200), "the backlog shrinks every callback");
        }
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
        let mut clock = CheckClock { last: start, next: start };
        assert!(clock.is_due(start));
        clock.checked(start, Some(CHECK_INTERVAL));
        assert_eq!(clock.timeout(start), CHECK_INTERVAL);
        clock.checked(start, None);
        assert_eq!(clock.timeout(start), IDLE_CHECK_INTERVAL);
        assert!(!clock.is_due(start));
        assert!(clock.is_due(start + IDLE_CHECK_INTERVAL));
        assert_eq!(clock.elapsed(start + CHECK_INTERVAL), CHECK_INTERVAL);
    }

    /// A socket receiving `rate` datagrams/s of `size` bytes, its watch firing before every check
    /// (`interval` apart): the interval its pace asks for after a few checks.
    fn paced(handover: &Handover, rate: u64, size: u64, interval: Duration) -> Duration {
        let per_check = rate * interval.as_micros() as u64 / 1_000_000;
        let mut within = Duration::ZERO;
        for _ in 0..4 {
            handover.note_js_service();
            let received = handover.pace.received.load(Ordering::Relaxed) + per_check;
            within = handover.next_check_within(received, received * size, interval);
        }
        within
    }

    #[test]
    fn checks_come_at_a_quarter_of_the_time_the_traffic_would_take_to_fill_the_buffer() {
        let ms = Duration::from_millis;
        assert_eq!(paced(&socket(), 100_000, 64, ms(1)), CHECK_INTERVAL, "fast traffic: the shortest interval");
        assert_eq!(paced(&socket(), 50_000, 64, ms(1)), CHECK_INTERVAL);
        let at_10k = paced(&socket(), 10_000, 64, ms(1));
        assert!(at_10k >= ms(4) && at_10k <= ms(5), "10k/s: ~4.4 ms, got {at_10k:?}");
        let at_10k_large = paced(&socket(), 10_000, 1400, ms(1));
        assert!(at_10k_large < ms(2), "large datagrams fill the buffer sooner, got {at_10k_large:?}");
        assert_eq!(paced(&socket(), 1_000, 64, ms(10)), IDLE_CHECK_INTERVAL, "slow traffic: the idle interval");
    }

    #[test]
    fn a_smaller_receive_buffer_seen_at_a_look_shortens_the_interval() {
        let handover = socket();
        let before = paced(&handover, 10_000, 64, Duration::from_millis(1));
        // A look at the queue (the watch did not fire since the last check) reads the socket's
        // buffer size.
        assert_eq!(handover.check(|| panic!("serviced: not asked")), Verdict::Keep { active: true });
        assert_eq!(handover.check(|| (0, DEFAULT_RCVBUF / 4)), Verdict::Keep { active: true });
        let after = paced(&handover, 10_000, 64, Duration::from_millis(1));
        assert!(after < before, "{after:?} vs {before:?}");
    }

    #[test]
    fn the_pace_stays_up_while_the_js_thread_reads_nothing() {
        let handover = socket();
        let fast = paced(&handover, 50_000, 64, Duration::from_millis(1));
        let received = handover.pace.received.load(Ordering::Relaxed);
        let bytes = handover.pace.bytes.load(Ordering::Relaxed);
        let no_traffic = || handover.next_check_within(received, bytes, Duration::from_millis(1));
        // Stalled: no service, nothing read; the pace is kept, not measured as zero.
        for _ in 0..10 {
            assert_eq!(no_traffic(), fast);
        }
        // Serviced again but the traffic stopped: it slows down by a quarter per check at most.
        handover.note_js_service();
        let first = no_traffic();
        assert!(first > fast && first < fast * 2, "{first:?} after {fast:?}");
        let mut within = first;
        for _ in 0..40 {
            handover.note_js_service();
            within = no_traffic();
        }
        assert_eq!(within, IDLE_CHECK_INTERVAL);
    }
}
