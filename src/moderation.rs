//! Interrupt moderation, as network cards do it, for both drivers: while datagrams arrive faster
//! than MODERATION_RATE, a driver pauses briefly after each turn that read something and left the
//! kernel queue empty, so the next turn finds a batch instead of a single datagram and JS runs
//! once per batch, not once per datagram (a wake-up costs more than the datagram itself). Below
//! the rate (request/response traffic, an echo with one datagram in flight) it never pauses, so
//! latency is untouched.
//!
//! The thread driver's reactor thread sleeps through the pause. The inline driver must not block
//! the JS thread, so it stops watching its reactor for the pause and lets a `PauseTimer` (a
//! timerfd that libuv watches) say when to look again; the loop serves everything else meanwhile.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

/// Above this many messages a second a driver moderates (chosen by measurement: an echo with one
/// datagram in flight runs at ~15k/s here and must stay below it).
const MODERATION_RATE: u64 = 40_000;
/// How often the rate is re-estimated.
const MODERATION_WINDOW: Duration = Duration::from_millis(2);
/// The pause: at 100k datagrams/s it gathers about five per turn. Short on purpose, measured at
/// 100k/s evenly spaced on a 2-vCPU VM: a 250 us pause cut the process's CPU per datagram from
/// ~6.5 us to ~3.7 us (0.57x the builtin), but the kernel dropped 0.2-3% of the datagrams (the
/// builtin: under 1%). A sleep that long lets the idle vCPU halt, and the host wakes it
/// milliseconds late now and then, while the 256-datagram default receive queue fills; 100 us
/// already lost more than 50 us (thread driver; the inline driver: 200 us cut CPU to 0.62x but
/// delivered 93% where the builtin delivered 99%).
pub const MODERATION_PAUSE: Duration = Duration::from_micros(50);

/// The rate estimate of one driver.
pub struct Moderation {
    window_start: Instant,
    window_messages: usize,
    busy: bool,
}

impl Default for Moderation {
    fn default() -> Moderation {
        Moderation { window_start: Instant::now(), window_messages: 0, busy: false }
    }
}

impl Moderation {
    /// After a turn that read `read` messages; `no_pause` when the next turn must not wait: the
    /// kernel queue still holds data (the next turn reads it at once), or the JS thread answered
    /// what it read (bindings/send.rs `Replies`: a server's peers wait for each reply). Returns
    /// whether to pause for MODERATION_PAUSE before the next turn.
    pub fn after_turn(&mut self, read: usize, no_pause: bool) -> bool {
        self.after_turn_at(Instant::now(), read, no_pause)
    }

    fn after_turn_at(&mut self, now: Instant, read: usize, no_pause: bool) -> bool {
        self.window_messages += read;
        let elapsed = now.saturating_duration_since(self.window_start);
        if elapsed >= MODERATION_WINDOW {
            let per_second = self.window_messages as u128 * 1_000_000_000 / elapsed.as_nanos().max(1);
            self.busy = per_second > MODERATION_RATE as u128;
            self.window_start = now;
            self.window_messages = 0;
        }
        read > 0 && self.busy && !no_pause
    }
}

/// Lets the calling thread's short sleeps end on time: Linux lets a normal thread's timers fire up
/// to 50 us late by default, as long as the pause itself. For the reactor thread only: a JS
/// thread's slack is Node's business (the inline driver's timerfd has no slack anyway).
pub fn set_timer_slack_ns(slack: u64) {
    // SAFETY: PR_SET_TIMERSLACK takes one unsigned long argument and affects only this thread.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, slack as libc::c_ulong);
    }
}

/// A one-shot monotonic timer as a file descriptor: readable once it expired, until `clear`.
pub struct PauseTimer {
    fd: OwnedFd,
}

impl PauseTimer {
    pub fn new() -> io::Result<PauseTimer> {
        // SAFETY: timerfd_create takes a clock id and flags and returns a new fd or -1.
        let fd = unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, libc::TFD_NONBLOCK | libc::TFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just created and is owned by nobody else.
        Ok(PauseTimer { fd: unsafe { OwnedFd::from_raw_fd(fd) } })
    }

    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Makes the fd readable `after` from now (replacing any earlier arming).
    pub fn arm(&self, after: Duration) -> io::Result<()> {
        let spec = libc::itimerspec {
            it_interval: libc::timespec { tv_sec: 0, tv_nsec: 0 },
            it_value: libc::timespec {
                tv_sec: after.as_secs() as libc::time_t,
                // A zero it_value would disarm the timer instead: at least 1 ns.
                tv_nsec: (after.subsec_nanos().max(u32::from(after.as_secs() == 0))) as libc::c_long,
            },
        };
        // SAFETY: the fd is a timerfd we own; `spec` is a valid itimerspec and the old value is
        // not asked for (null).
        let status = unsafe { libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
        if status < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Consumes the expiry, so the fd is no longer readable (libuv watches it level-triggered).
    pub fn clear(&self) {
        let mut expirations = 0u64;
        // SAFETY: reads at most 8 bytes into a u64 from our non-blocking timerfd; EAGAIN (not
        // expired) leaves it as it was, which is what clearing asks.
        unsafe {
            libc::read(self.fd.as_raw_fd(), (&mut expirations as *mut u64).cast(), std::mem::size_of::<u64>());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_the_rate_a_driver_never_pauses() {
        let start = Instant::now();
        let mut moderation = Moderation { window_start: start, window_messages: 0, busy: false };
        // 20 messages per 2 ms window: 10k/s.
        for step in 1..=10u32 {
            assert!(!moderation.after_turn_at(start + MODERATION_WINDOW * step, 20, false));
        }
    }

    #[test]
    fn above_the_rate_it_pauses_unless_the_kernel_queue_still_holds_data() {
        let start = Instant::now();
        let mut moderation = Moderation { window_start: start, window_messages: 0, busy: false };
        // 200 messages in one 2 ms window: 100k/s.
        assert!(moderation.after_turn_at(start + MODERATION_WINDOW, 200, false));
        assert!(moderation.after_turn_at(start + MODERATION_WINDOW, 5, false));
        assert!(!moderation.after_turn_at(start + MODERATION_WINDOW, 5, true), "data waits: read it now");
        assert!(!moderation.after_turn_at(start + MODERATION_WINDOW, 0, false), "nothing read: nothing to gather");
        // The rate falls to 1k/s: no more pauses once the next window closes.
        assert!(!moderation.after_turn_at(start + MODERATION_WINDOW * 3, 4, false));
    }

    fn readable(fd: RawFd, timeout_ms: i32) -> bool {
        let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut pfd, 1, timeout_ms) == 1 }
    }

    #[test]
    fn a_pause_timer_becomes_readable_once_armed_and_quiet_once_cleared() {
        let timer = PauseTimer::new().expect("timerfd");
        assert!(!readable(timer.fd(), 0), "not armed yet");
        timer.arm(MODERATION_PAUSE).expect("arm");
        assert!(readable(timer.fd(), 5_000), "expired");
        timer.clear();
        assert!(!readable(timer.fd(), 0), "cleared");
        timer.arm(Duration::ZERO).expect("arm for 0");
        assert!(readable(timer.fd(), 5_000), "a zero pause still expires");
    }
}
