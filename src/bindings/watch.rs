//! The handover driver on the JS thread (crate::handover has the policy and the reactor's side):
//! one libuv poll handle per socket, on the socket's own fd, whose callback reads the socket and
//! delivers what it read in that same callback, as libuv's recv callbacks do for the builtin. No
//! thread hop and no nested epoll: the readiness libuv already waits for is the socket's own.
//! Above MODERATION_RATE it moderates as the inline driver does (crate::moderation): after a read
//! that emptied the kernel queue the socket's watch stops for MODERATION_PAUSE and a timerfd,
//! which libuv watches, starts it again, so that JS is woken per batch, not per datagram.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::os::fd::RawFd;
use std::sync::{Arc, Weak};

use super::delivery::{with_this_loop, JsLoop, LIBUV_READS_PER_EVENT};
use super::send::Replies;
use crate::batch::RecvArena;
use crate::handover::LoopState;
use crate::host::{LoopCallback, LoopHandle, LoopHandleKind, NapiEnv, OnFire};
use crate::moderation::{Moderation, PauseTimer, MODERATION_PAUSE};
use crate::reactor::UdpCore;

/// This JS thread's handover sockets.
#[derive(Default)]
pub struct Watches {
    sockets: RefCell<HashMap<u64, Watch>>,
    /// Where this thread reads them; made with the first one (64 slots of 64 KiB: GRO).
    arena: RefCell<Option<Box<RecvArena>>>,
    /// A send of this thread went to the port of one of these sockets since the last read.
    sent_to_own_port: Cell<bool>,
    /// The moderation pause's timer, made with the first pause, and the sockets it will resume.
    pause: RefCell<Option<PauseClock>>,
    paused: RefCell<Vec<u64>>,
    /// The loop's iteration count, kept by a prepare handle made with the first socket.
    loop_state: RefCell<Option<LoopWatch>>,
}

struct LoopWatch {
    state: Arc<LoopState>,
    _prepare: Option<LoopHandle>,
}

struct Watch {
    handle: LoopHandle,
    core: Weak<UdpCore>,
    /// The local port it was bound to (see `note_send_to`).
    port: u16,
    moderation: Moderation,
}

struct PauseClock {
    timer: PauseTimer,
    /// Watches `timer`; unreferenced, as a bound socket's holding keeps the loop alive already.
    _handle: LoopHandle,
    armed: Cell<bool>,
}

impl Watches {
    /// The loop state a new handover socket of this thread shares (its delivery budget counts
    /// loop iterations), with the prepare handle that counts them made on first use.
    pub fn loop_state(&self, env: NapiEnv) -> Arc<LoopState> {
        let mut watch = self.loop_state.borrow_mut();
        let watch = watch.get_or_insert_with(|| {
            let state = Arc::new(LoopState::default());
            let counter = Arc::clone(&state);
            // Without it iterations stay uncounted and the budget unlimited (`steps_left`).
            let prepare = LoopHandle::start_prepare(env, Box::new(move || counter.next_iteration()));
            LoopWatch { state, _prepare: prepare }
        });
        Arc::clone(&watch.state)
    }

    /// Starts watching a bound handover socket's fd: libuv calls `serve` whenever it is readable
    /// (level-triggered, as for the builtin's UDP handles). Returns false where libuv refuses; the
    /// caller then hands the socket's reads to the reactor for good.
    pub fn start(&self, js_loop: &JsLoop, core: &Arc<UdpCore>, fd: RawFd, port: u16) -> bool {
        let weak = Arc::downgrade(core);
        let on_fire: OnFire = Box::new(move |scope| {
            let Some(core) = weak.upgrade() else { return };
            with_this_loop(|js_loop| serve(js_loop, scope, &core));
        });
        let kind = LoopHandleKind::Readable(fd);
        let Some(handle) = LoopHandle::start_sharing(js_loop.env, kind, on_fire, &js_loop.wake) else { return false };
        let watch = Watch { handle, core: Arc::downgrade(core), port, moderation: Moderation::default() };
        if let Some(old) = self.sockets.borrow_mut().insert(core.id, watch) {
            old.handle.close();
        }
        true
    }

    /// Stops watching the socket (before its fd closes: libuv must not watch a closed fd).
    pub fn stop(&self, id: u64) {
        let watch = self.sockets.borrow_mut().remove(&id);
        if let Some(watch) = watch {
            watch.handle.close();
        }
    }

    /// A send of this thread left for `port` (`None`: a connected socket's peer, not known here,
    /// e.g. an adopted fd that came connected):
    /// if that is one of these sockets' ports, `serve` reads again after delivering, as libuv
    /// would find the datagram in the same poll phase (a loopback send arrives before it returns).
    pub fn note_send_to(&self, port: Option<u16>) {
        if self.sent_to_own_port.get() {
            return;
        }
        let sockets = self.sockets.borrow();
        let own = match port {
            Some(port) => sockets.values().any(|watch| watch.port == port),
            None => !sockets.is_empty(),
        };
        if own {
            self.sent_to_own_port.set(true);
        }
    }

    /// After a serve that read `read` messages: whether the socket's watch pauses (moderation).
    /// `no_pause`: the next serve must not wait (data left unread, or replies sent).
    fn moderate(&self, id: u64, read: usize, no_pause: bool) -> bool {
        let mut sockets = self.sockets.borrow_mut();
        let Some(watch) = sockets.get_mut(&id) else { return false };
        if !watch.moderation.after_turn(read, no_pause) {
            return false;
        }
        // If libuv cannot stop the watch, there is no pause: the next readiness is served at once.
        watch.handle.set_watching(false)
    }

    /// The pause clock, made on first use; `None` where no timerfd can be made or watched.
    fn arm_pause(&self, js_loop: &JsLoop) -> bool {
        let mut pause = self.pause.borrow_mut();
        if pause.is_none() {
            *pause = PauseTimer::new().ok().and_then(|timer| {
                let on_fire: OnFire = Box::new(|scope| with_this_loop(|js_loop| end_pause(js_loop, scope)));
                let kind = LoopHandleKind::Readable(timer.fd());
                let handle = LoopHandle::start_sharing(js_loop.env, kind, on_fire, &js_loop.wake)?;
                Some(PauseClock { timer, _handle: handle, armed: Cell::new(false) })
            });
        }
        let Some(clock) = pause.as_ref() else { return false };
        if clock.armed.get() {
            return true;
        }
        let armed = clock.timer.arm(MODERATION_PAUSE).is_ok();
        clock.armed.set(armed);
        armed
    }

    /// While the reactor reads a socket, its watch is stopped.
    fn stop_watching(&self, id: u64) {
        if let Some(watch) = self.sockets.borrow().get(&id) {
            watch.handle.set_watching(false);
        }
    }

    /// The socket's reads came back from the reactor: it is watched again.
    pub(super) fn reads_back(&self, id: u64) {
        self.resume(id);
    }

    /// Resumes the watch of a paused socket (also when the pause could not be timed).
    fn resume(&self, id: u64) -> Option<Arc<UdpCore>> {
        let sockets = self.sockets.borrow();
        let watch = sockets.get(&id)?;
        watch.handle.set_watching(true);
        watch.core.upgrade()
    }
}

/// A handover socket's fd is readable: reads up to libuv's 32 datagrams and delivers them, each
/// followed by its own nextTicks, as libuv's recv callbacks for the builtin. libuv then reads again
/// until the queue is empty; here a read that returned fewer than it asked for already says the
/// queue was empty, so the only datagrams that can be new are those this thread's listeners sent
/// to one of its own sockets. Only then does it read again in this callback; anything else that
/// arrived meanwhile makes the fd readable for the next poll phase.
fn serve(js_loop: &JsLoop, scope: &mut LoopCallback, core: &Arc<UdpCore>) {
    if !core.handover.as_ref().is_some_and(|handover| handover.js_reads()) {
        // The reactor reads it meanwhile and delivers through the async handle. (Both may deliver
        // in one loop iteration around a hand-back; they share its budget, `Handover::steps_left`.)
        // The watch stops until the reads come back (`Watches::reads_back`): level-triggered, it
        // would fire every loop iteration while the reactor has data left to read.
        js_loop.watches.stop_watching(core.id);
        return;
    }
    let watches = &js_loop.watches;
    let Ok(mut arena) = watches.arena.try_borrow_mut() else { return };
    let arena = arena.get_or_insert_with(|| Box::new(RecvArena::new()));
    let limit = LIBUV_READS_PER_EVENT;
    watches.sent_to_own_port.set(false);
    let replies = Replies::watch();
    let mut total = core.read_on_js_thread(arena, limit);
    // Each pass delivers what the last read posted, a receive error without datagrams included
    // (a pass that finds nothing ready ends the loop).
    while js_loop.deliver_ready(scope) && total < limit && !core.is_closed() {
        // The last datagram's nextTicks have run (its send, say), as after each of libuv's recv
        // callbacks, before the next read.
        if !watches.sent_to_own_port.replace(false) {
            break;
        }
        total += core.read_on_js_thread(arena, limit - total);
    }
    let unread = total >= limit;
    if !core.is_closed() && watches.moderate(core.id, total, unread || replies.sent()) {
        watches.paused.borrow_mut().push(core.id);
        if !watches.arm_pause(js_loop) {
            for id in watches.paused.take() {
                watches.resume(id);
            }
        }
    }
}

/// The pause timer expired: every paused socket is watched again and served now (what arrived
/// meanwhile is waiting).
fn end_pause(js_loop: &JsLoop, scope: &mut LoopCallback) {
    let watches = &js_loop.watches;
    if let Some(clock) = watches.pause.borrow().as_ref() {
        clock.timer.clear();
        clock.armed.set(false);
    }
    let paused = watches.paused.take();
    for id in paused {
        let Some(core) = watches.resume(id) else { continue };
        serve(js_loop, scope, &core);
    }
}
