//! Delivery of reactor mail into JS, for both drivers.
//!
//! Each JS thread has one `JsLoop`: a libuv async handle that the reactor thread fires when a
//! thread-driver socket has mail (or a handover socket it took over), (once an inline socket
//! exists) the inline reactor with the libuv poll handle that turns it, and a libuv poll handle
//! per handover-driver socket, on the socket's own fd, whose callback reads it and delivers.
//! Either way delivery runs from a top-level libuv callback, and the nextTicks and microtasks
//! of each event run before the next datagram's 'message', as after each of node:dgram's
//! MakeCallbacks (the calls into JS: bindings/dispatch.rs).
//!
//! JS steps through a batch one event at a time, up to EVENTS_PER_CALL per call, and each socket
//! gets STEPS_PER_CALLBACK steps per callback before the rest of the loop runs.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use neon::prelude::*;

use super::dispatch::{batch_arguments, one_arguments, send_done_arguments, Call, DISPATCH, KIND_RECV_STEP};
use super::pool::ReceivePool;
use super::send::Replies;
use super::watch::Watches;
use crate::batch::{RecvArena, RECV_BATCH};
use crate::host::{LoopCallback, LoopHandle, LoopHandleKind, NapiEnv, OnFire, WakeSender};
use crate::moderation::{Moderation, PauseTimer, MODERATION_PAUSE};
use crate::reactor::{self, Mail, Notify, Reactor, Turner, UdpCore, RECV_ERROR_PEER};
use crate::sync::lock;

/// Receive events one socket may emit per loop callback before the rest of the loop (timers,
/// other sockets) gets a turn. libuv reads at most 32 datagrams per socket per iteration for the
/// builtin; more here, because each step is cheap and the batch is already in memory.
pub const STEPS_PER_CALLBACK: usize = 256;

/// Receive events one call into JS may emit (where dispatch runs the ticks itself). The reactor
/// sees the JS thread serve a socket once per call (`Handover::note_js_service`), and takes the
/// reads over when it sees none for a check interval (1 ms at 50k datagrams/s) while the queue
/// fills: a call must stay well inside that. At 256 a call took ~5 ms in a server answering 50k
/// requests/s (~19 us each), the reactor took over ~40 times a second and the replies waited in
/// its mailbox (p50 67 ms). 16 events keep a call near 0.3 ms there, and already spread the
/// call's own cost over 16 datagrams in a flood.
const EVENTS_PER_CALL: usize = 16;

/// Datagrams libuv reads per readable UDP socket per poll phase (src/unix/udp.c, uv__udp_recvmsg).
pub(super) const LIBUV_READS_PER_EVENT: usize = 32;

/// Whether posting mail fires the JS thread's async handle.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// Thread driver: every notification (the JS thread's read assist's too) is delivered by the
    /// async handle.
    Always,
    /// Inline driver: mail is posted inside the turn that delivers it.
    Never,
    /// Handover driver: mail the JS thread read is delivered by the same callback; the reactor's
    /// (after a takeover) wakes the JS thread.
    FromReactor,
}

/// A socket's delivery buffers, swapped with its mailbox so steady-state delivery allocates
/// nothing in Rust.
pub type Spare = Arc<Mutex<Mail>>;

/// Sockets with mail (or a JS backlog) waiting for delivery on this JS thread.
type ReadyList = Arc<Mutex<VecDeque<(Arc<UdpCore>, Spare)>>>;

/// The inline driver: this thread's own reactor, turned when libuv sees its epoll fd readable.
struct InlineReactor {
    reactor: Arc<Reactor>,
    turner: RefCell<Turner>,
    watch: LoopHandle,
    moderation: RefCell<Moderation>,
    /// `None` where no timerfd could be made or watched: the driver then never pauses.
    pause: Option<Pause>,
}

/// The inline driver's moderation pause (see crate::moderation): while `active`, `watch` is
/// stopped and `timer` armed; its handle ends the pause with a turn. The handle holds the loop
/// during a pause exactly when `watch` would have.
struct Pause {
    timer: PauseTimer,
    handle: LoopHandle,
    active: Cell<bool>,
}

/// The JS thread's read assist for its thread-driver sockets (see `UdpCore::needs_assist`): a
/// check handle looks after every poll phase whether the reactor lags on one of them, and reads
/// it if so.
struct Assist {
    sockets: RefCell<Vec<Weak<UdpCore>>>,
    arena: RefCell<RecvArena>,
    _check: LoopHandle,
}

/// One per JS thread (main or worker): how mail reaches this thread's JS.
pub struct JsLoop {
    pub(super) env: NapiEnv,
    ready: ReadyList,
    /// The ready list's other buffer: a delivery swaps it in, so taking the list allocates nothing.
    taken: RefCell<VecDeque<(Arc<UdpCore>, Spare)>>,
    /// The async handle; the handover driver's handles run in its async context too.
    pub(super) wake: LoopHandle,
    sender: Arc<WakeSender>,
    inline: RefCell<Option<InlineReactor>>,
    /// Sockets that currently hold the event loop (bound, ref'd, open).
    holders: Cell<usize>,
    /// Made with this thread's first thread-driver socket.
    assist: RefCell<Option<Assist>>,
    /// This thread's handover-driver sockets (bindings/watch.rs).
    pub(super) watches: Watches,
    pool: RefCell<ReceivePool>,
}

thread_local! {
    static JS_LOOP: RefCell<Option<Rc<JsLoop>>> = const { RefCell::new(None) };
}

/// This thread's loop, if it has one (the libuv callbacks find it here, so they hold no
/// reference of their own).
fn this_thread() -> Option<Rc<JsLoop>> {
    JS_LOOP.with(|l| l.borrow().clone())
}

/// A loop handle's callback: `f` on this thread's loop (looked up when it fires, so the handle
/// holds no reference to it).
fn on_this_loop(f: fn(&JsLoop, &mut LoopCallback)) -> OnFire {
    Box::new(move |scope| with_this_loop(|js_loop| f(js_loop, scope)))
}

pub(super) fn with_this_loop(f: impl FnOnce(&JsLoop)) {
    if let Some(js_loop) = this_thread() {
        f(&js_loop);
    }
}

impl JsLoop {
    /// This thread's loop, made on first use; `None` where the host lacks what it needs.
    pub fn for_this_thread(env: NapiEnv) -> Option<Rc<JsLoop>> {
        if let Some(existing) = this_thread() {
            return Some(existing);
        }
        let wake = LoopHandle::start(
            env,
            LoopHandleKind::Async,
            on_this_loop(|js_loop, scope| { js_loop.deliver_ready(scope); }),
        )?;
        let js_loop = Rc::new(JsLoop {
            env,
            ready: Arc::new(Mutex::new(VecDeque::new())),
            taken: RefCell::new(VecDeque::new()),
            sender: wake.sender()?,
            wake,
            inline: RefCell::new(None),
            holders: Cell::new(0),
            assist: RefCell::new(None),
            watches: Watches::default(),
            pool: RefCell::new(ReceivePool::default()),
        });
        JS_LOOP.with(|l| *l.borrow_mut() = Some(Rc::clone(&js_loop)));
        Some(js_loop)
    }

    /// The inline reactor of this thread, started on first use; `None` if it cannot start
    /// (the caller then uses the thread driver).
    pub fn inline_reactor(self: &Rc<Self>) -> Option<Arc<Reactor>> {
        if let Some(inline) = self.inline.borrow().as_ref() {
            return Some(Arc::clone(&inline.reactor));
        }
        let (reactor, mut turner) = Reactor::new().ok()?;
        // libuv reads at most 32 datagrams per readable socket per poll phase for node:dgram
        // (uv__udp_recvmsg); reading the same keeps the builtin's interleaving with timers.
        turner.set_read_limit(LIBUV_READS_PER_EVENT);
        let watch = LoopHandle::start(
            self.env,
            LoopHandleKind::Readable(turner.poll_fd()),
            on_this_loop(|js_loop, scope| { js_loop.turn_inline(scope); }),
        )?;
        watch.set_ref(self.holders.get() > 0);
        let pause = PauseTimer::new().ok().and_then(|timer| {
            let handle = LoopHandle::start(
                self.env,
                LoopHandleKind::Readable(timer.fd()),
                on_this_loop(|js_loop, scope| { js_loop.end_pause(scope); }),
            )?;
            Some(Pause { timer, handle, active: Cell::new(false) })
        });
        let handle = Arc::clone(&reactor);
        let moderation = RefCell::new(Moderation::default());
        *self.inline.borrow_mut() = Some(InlineReactor { reactor, turner: RefCell::new(turner), watch, moderation, pause });
        Some(handle)
    }

    /// A thread-driver socket of this thread: its JS thread reads it too when the reactor lags.
    /// Without a check handle (a host without one) the socket simply goes without the assist.
    pub fn track_thread_socket(&self, core: &Arc<UdpCore>) {
        if self.assist.borrow().is_none() {
            let Some(check) = LoopHandle::start_check(self.env, Box::new(|| with_this_loop(JsLoop::run_assist))) else {
                return;
            };
            let arena = RefCell::new(RecvArena::new());
            *self.assist.borrow_mut() = Some(Assist { sockets: RefCell::new(Vec::new()), arena, _check: check });
        }
        if let Some(assist) = self.assist.borrow().as_ref() {
            core.enable_assist();
            assist.sockets.borrow_mut().push(Arc::downgrade(core));
        }
    }

    /// After each poll phase: reads every tracked socket the reactor lags on into its mailbox,
    /// which notifies as the reactor's reads do (delivery stays with the async handle, in the
    /// next poll phase). Runs every loop iteration, so when nothing lags it reads a clock and a
    /// few atomics and nothing else. Forgets closed sockets.
    fn run_assist(&self) {
        let assist = self.assist.borrow();
        let Some(assist) = assist.as_ref() else { return };
        let (Ok(mut sockets), Ok(mut arena)) = (assist.sockets.try_borrow_mut(), assist.arena.try_borrow_mut()) else {
            return;
        };
        // The clock is read once, and only if some socket has had data.
        let mut now = None;
        let mut now = || *now.get_or_insert_with(reactor::monotonic_ns);
        sockets.retain(|weak| match weak.upgrade() {
            Some(core) if !core.is_closed() => {
                if core.needs_assist(&mut now) {
                    core.assist_read(&mut arena, RECV_BATCH);
                }
                true
            }
            _ => false,
        });
    }

    /// The notifier for a socket of this thread.
    pub fn notifier(&self, spare: Spare, wake: Wake) -> Box<dyn Notify> {
        Box::new(LoopNotify { ready: Arc::clone(&self.ready), sender: Arc::clone(&self.sender), wake, spare })
    }

    /// One more (or one fewer) socket holds the event loop, as a referenced libuv handle would.
    pub fn adjust_holders(&self, hold: bool) {
        let holders = if hold { self.holders.get() + 1 } else { self.holders.get().saturating_sub(1) };
        self.holders.set(holders);
        self.wake.set_ref(holders > 0);
        if let Some(inline) = self.inline.borrow().as_ref() {
            inline.watch.set_ref(holders > 0);
            if let Some(pause) = inline.pause.as_ref().filter(|pause| pause.active.get()) {
                pause.handle.set_ref(holders > 0);
            }
        }
    }

    /// The inline reactor's epoll fd is readable: one turn without waiting, then delivery, then
    /// the rereads libuv would do in the same poll phase (see `Reactor::reread`).
    fn turn_inline(&self, scope: &mut LoopCallback) {
        let inline = self.inline.borrow();
        let Some(inline) = inline.as_ref() else { return };
        let Ok(mut turner) = inline.turner.try_borrow_mut() else { return };
        let replies = Replies::watch();
        let mut messages = inline.reactor.turn(&mut turner, Some(Duration::ZERO));
        // Inline sockets' mail is posted only by this turn and its rereads, and never wakes the
        // async handle (see `notifier`): everything they post is delivered here, a reread's
        // receive error included even when it read no datagram.
        let mut delivered = self.deliver_ready(scope);
        while delivered {
            // The last datagram's nextTicks have run (its send, say), as after each of libuv's
            // recv callbacks, before the next read.
            let read = inline.reactor.reread(&mut turner);
            messages += read;
            delivered = self.deliver_ready(scope) && read > 0;
        }
        let more_waiting = turner.has_carried();
        let pause = inline.moderation.borrow_mut().after_turn(messages, more_waiting || replies.sent());
        if more_waiting {
            // Unread data left behind: make the epoll fd readable again so libuv calls us on its
            // next iteration, after the other handles had their turn.
            inline.reactor.wake();
        } else if pause {
            self.begin_pause(inline);
        }
    }

    /// Stops watching the reactor for MODERATION_PAUSE; the loop runs on meanwhile.
    fn begin_pause(&self, inline: &InlineReactor) {
        let Some(pause) = &inline.pause else { return };
        if pause.active.get() || pause.timer.arm(MODERATION_PAUSE).is_err() {
            return;
        }
        pause.active.set(true);
        pause.handle.set_ref(self.holders.get() > 0);
        // If libuv cannot stop the watch, the pause only costs the timer's turn.
        inline.watch.set_watching(false);
    }

    /// The pause timer expired: watch the reactor again and turn it now (what arrived meanwhile
    /// is waiting).
    fn end_pause(&self, scope: &mut LoopCallback) {
        {
            let inline = self.inline.borrow();
            let Some(inline) = inline.as_ref() else { return };
            let Some(pause) = &inline.pause else { return };
            pause.timer.clear();
            if !pause.active.get() {
                return;
            }
            if inline.watch.set_watching(true) {
                pause.active.set(false);
                pause.handle.set_ref(false);
            } else {
                // libuv would not watch again (only out of memory): the pause stays, and its timer
                // turns the reactor every MODERATION_PAUSE until libuv agrees.
                let _ = pause.timer.arm(MODERATION_PAUSE);
            }
        }
        self.turn_inline(scope);
    }

    /// Delivers to every socket that was ready when the callback began; a socket that used up
    /// its steps goes to the back of the list and the async handle fires again next iteration.
    /// Returns whether anything was ready.
    pub(super) fn deliver_ready(&self, scope: &mut LoopCallback) -> bool {
        let mut ready = self.taken.take();
        std::mem::swap(&mut ready, &mut *lock(&self.ready));
        if ready.is_empty() {
            *self.taken.borrow_mut() = ready;
            return false;
        }
        // SAFETY: on the JS thread inside the handle scope `scope` stands for; the
        // Cx lives only for this call.
        let mut cx = unsafe { Cx::from_raw(scope.env as neon::sys::bindings::Env) };
        let Some((dispatch, reply, runs_ticks)) =
            DISPATCH.get(&mut cx).map(|d| (d.function.to_inner(&mut cx), d.reply as *mut u32, d.runs_ticks))
        else {
            return true;
        };
        let Ok(mut pool) = self.pool.try_borrow_mut() else { return true };
        for (core, spare) in ready.drain(..) {
            let id = cx.number(core.id as f64).upcast();
            let call = Call { dispatch, reply, runs_ticks, id };
            if let Budget::Exhausted = deliver(&mut cx, scope, &self.watches, call, &core, &spare, &mut pool) {
                lock(&self.ready).push_back((core, spare));
                self.sender.wake();
            }
        }
        *self.taken.borrow_mut() = ready;
        true
    }
}

/// Records a socket as ready and, for a thread-driver socket, fires the async handle: from the
/// reactor thread that is the only cross-thread wake-up, once per delivery. An inline socket's
/// mail is posted inside `turn_inline`, which delivers it before it returns.
struct LoopNotify {
    ready: ReadyList,
    sender: Arc<WakeSender>,
    wake: Wake,
    spare: Spare,
}

impl Notify for LoopNotify {
    fn notify(&self, core: &Arc<UdpCore>, on_js_thread: bool) {
        lock(&self.ready).push_back((Arc::clone(core), Arc::clone(&self.spare)));
        let wake = match self.wake {
            Wake::Always => true,
            Wake::Never => false,
            Wake::FromReactor => !on_js_thread,
        };
        if wake {
            self.sender.wake();
        }
    }
}

/// How a delivery ended.
enum Budget {
    /// Nothing waits: the mailbox is idle and the next mail notifies again.
    Idle,
    /// STEPS_PER_CALLBACK events ran and more may wait; the mailbox stays in flight.
    Exhausted,
}

/// Steps a socket's receive backlog and drains its mailbox, one event per call into JS, each
/// followed by the nextTicks and microtasks it queued.
fn deliver<'a>(
    cx: &mut Cx<'a>,
    scope: &mut LoopCallback,
    watches: &Watches,
    call: Call<'a>,
    core: &Arc<UdpCore>,
    spare: &Spare,
    pool: &mut ReceivePool,
) -> Budget {
    let step_kind = cx.number(KIND_RECV_STEP).upcast();
    let budget = core.handover.as_ref().map_or(STEPS_PER_CALLBACK, |h| h.steps_left(STEPS_PER_CALLBACK));
    let mut steps = 0;
    // A handover socket: counts the steps against the loop iteration's budget, and takes the
    // reads back from the reactor when the JS thread has been behind for long (not stalled:
    // `Handover::hand_back_while_behind`) or has caught up (the mailbox is empty).
    let budget_spent = |steps, exhausted| {
        if let Some(handover) = &core.handover {
            handover.spend_steps(steps);
            let received = core.stats.received_datagrams.load(Ordering::Relaxed);
            if handover.hand_back_while_behind(exhausted, received) && core.take_reads_back() {
                watches.reads_back(core.id);
            }
        }
    };
    let served = || {
        if let Some(handover) = &core.handover {
            handover.note_js_service();
        }
    };
    loop {
        if core.is_closed() {
            budget_spent(steps, false);
            return Budget::Idle;
        }
        // The mailbox stays in flight until `take_mail` finds it empty, so stopping here (with
        // or without a JS backlog) loses no wake-up: the caller queues the socket again.
        if steps >= budget {
            budget_spent(steps, true);
            return Budget::Exhausted;
        }
        if core.has_js_backlog() {
            served();
            let answer = call.receive(cx, scope, (budget - steps).min(EVENTS_PER_CALL), &[call.id, step_kind]);
            core.set_js_backlog(answer.more);
            steps += answer.events;
            continue;
        }
        let mut mail = std::mem::take(&mut *lock(spare));
        if !core.take_mail(&mut mail) {
            *lock(spare) = mail;
            // The JS thread has caught up with all the reactor read for it: a handover socket's
            // reads come back here (a no-op for one whose reads never left).
            if core.take_reads_back() {
                watches.reads_back(core.id);
            }
            budget_spent(steps, false);
            return Budget::Idle;
        }
        core.resolve_error_check(&mut mail);
        if !mail.send_results.is_empty() {
            let args = send_done_arguments(cx, call.id, &mail);
            call.run_with(cx, scope, args);
        }
        let allowed = (budget - steps).min(EVENTS_PER_CALL);
        if !mail.meta.is_empty() && !core.is_closed() {
            core.stats.count_batch();
            served();
            let answer = match single_datagram(&mail) {
                Some((payload, peer)) => {
                    let args = one_arguments(cx, call.id, payload, peer, pool);
                    call.receive_with(cx, scope, allowed, args)
                }
                None => {
                    let args = batch_arguments(cx, call.id, &mail);
                    call.receive_with(cx, scope, allowed, args)
                }
            };
            core.set_js_backlog(answer.more);
            steps += answer.events;
        }
        mail.clear();
        *lock(spare) = mail;
    }
}

/// The payload and sender of mail that holds exactly one datagram and no receive info.
fn single_datagram(mail: &Mail) -> Option<(&[u8], SocketAddr)> {
    match (mail.meta.as_slice(), mail.info.is_empty()) {
        ([_, peer], true) if *peer != RECV_ERROR_PEER => Some((&mail.data, *mail.peers.get(*peer as usize)?)),
        _ => None,
    }
}

