//! Delivery of reactor mail into JS, for both drivers.
//!
//! Each JS thread has one `JsLoop`: a libuv async handle that the reactor thread fires when a
//! thread-driver socket has mail (or a handover socket it took over), (once an inline socket
//! exists) the inline reactor with the libuv poll handle that turns it, and a libuv poll handle
//! per handover-driver socket, on the socket's own fd, whose callback reads it and delivers.
//! Either way delivery runs from a top-level libuv callback, and after each call into JS the
//! nextTicks and microtasks it queued run (`LoopCallback::after_js_call`), as node:dgram's one
//! MakeCallback per datagram does: they run before the next datagram's 'message'.
//!
//! JS steps through a batch one event at a time (dispatch returns whether more wait), and each
//! socket gets STEPS_PER_CALLBACK steps per callback before the rest of the loop runs.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use neon::prelude::*;
use neon::types::buffer::TypedArray;
use neon::thread::LocalKey;

use super::pool::ReceivePool;
use super::watch::Watches;
use crate::addr;
use crate::batch::{RecvArena, RECV_BATCH};
use crate::host::{LoopCallback, LoopHandle, LoopHandleKind, NapiEnv, OnFire, WakeSender};
use crate::moderation::{Moderation, PauseTimer, MODERATION_PAUSE};
use crate::reactor::{self, Mail, Notify, Reactor, Turner, UdpCore, RECV_ERROR_PEER};
use crate::sync::lock;

/// dispatch(id, KIND_RECV, data, meta, peers[, info, locals]) -> more: a new batch; JS emits its
/// first event and says whether more of its backlog waits.
pub const KIND_RECV: u32 = 1;
/// dispatch(id, KIND_SEND_DONE, results): outcomes of sends the reactor finished.
pub const KIND_SEND_DONE: u32 = 2;
/// dispatch(id, KIND_RECV_STEP) -> more: the next event of the socket's receive backlog.
pub const KIND_RECV_STEP: u32 = 3;
/// dispatch(id, KIND_RECV_ONE, pool, offset, length, peer, port) -> more: a batch of one
/// datagram without receive info, its payload at `offset` in this thread's receive pool (`pool`
/// is the pool's ArrayBuffer when it is new, else undefined); `peer` is the sender's IPv4 address
/// as a number (host order), or its address text otherwise.
pub const KIND_RECV_ONE: u32 = 4;

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

/// The JS side of delivery on this JS thread (one per Node env): see `Dispatcher`.
pub static DISPATCH: LocalKey<Dispatcher> = LocalKey::new();

/// The JS function that receives every socket event of this JS thread, and the array of three
/// u32 it and the native side answer each other through, in memory (a returned JS value cost a
/// type check and a conversion through Node-API per datagram, ~5% of a flooded receiver):
/// - `REPLY_MORE`: 1 when more of the socket's receive backlog waits (JS writes it);
/// - `REPLY_EVENTS`: how many receive events the call emitted (JS writes it, also when it throws);
/// - `REPLY_ALLOWED`: how many it may emit (the native side writes it before a receive call). A
///   dispatch that runs the ticks itself goes on through the backlog, a tick run after each
///   event, up to that many; else each call emits one.
pub struct Dispatcher {
    function: Root<JsFunction>,
    /// Rooted, so that the memory `reply` points into stays alive.
    _reply: Root<JsTypedArray<u32>>,
    /// The address of the reply array's first u32, kept as a number (the Dispatcher lives in the
    /// thread's instance data, which must be Send and Sync; only that JS thread uses it). Its
    /// ArrayBuffer was made by lib/ with `new ArrayBuffer` (a backing store outside V8's heap,
    /// which never moves), is never handed to user code (so never detached or transferred), and
    /// stays rooted above.
    reply: usize,
    /// Whether `function` runs the nextTicks and microtasks itself before it returns (Node's own
    /// tick runner, see lib/socket.js); if not, the native side runs them after each call
    /// (`LoopCallback::after_js_call`).
    runs_ticks: bool,
}

const REPLY_MORE: usize = 0;
const REPLY_EVENTS: usize = 1;
const REPLY_ALLOWED: usize = 2;
const REPLY_SLOTS: usize = 3;

impl Dispatcher {
    /// From `init(dispatch, reply, runsTicks)`: `reply` must be a Uint32Array of REPLY_SLOTS
    /// over an ArrayBuffer of its own.
    pub fn new<'a>(
        cx: &mut impl Context<'a>,
        function: Handle<'a, JsFunction>,
        reply: Handle<'a, JsTypedArray<u32>>,
        runs_ticks: bool,
    ) -> NeonResult<Dispatcher> {
        let slots = reply.as_slice(cx);
        if slots.len() < REPLY_SLOTS {
            return cx.throw_range_error("the reply array must hold three u32");
        }
        let reply_address = slots.as_ptr() as usize;
        Ok(Dispatcher { function: function.root(cx), _reply: reply.root(cx), reply: reply_address, runs_ticks })
    }
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
        let pause = inline.moderation.borrow_mut().after_turn(messages, more_waiting);
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

/// A KIND_RECV_ONE batch as JS takes it: seven scalars at most, where a batch of one would cost a
/// Buffer, a Uint32Array and a peers array.
fn one_arguments<'a>(
    cx: &mut Cx<'a>,
    id: Handle<'a, JsValue>,
    payload: &[u8],
    peer: SocketAddr,
    pool: &mut ReceivePool,
) -> NeonResult<[Handle<'a, JsValue>; 7]> {
    let (new_pool, offset) = pool.place(cx, payload)?;
    let new_pool = match new_pool {
        Some(buffer) => buffer.upcast(),
        None => cx.undefined().upcast(),
    };
    let address = match peer {
        SocketAddr::V4(v4) => cx.number(u32::from(*v4.ip())).upcast(),
        SocketAddr::V6(_) => cx.string(addr::IpText::default().write_ip(&peer)).upcast(),
    };
    Ok([
        id,
        cx.number(KIND_RECV_ONE).upcast(),
        new_pool,
        cx.number(offset as f64).upcast(),
        cx.number(payload.len() as f64).upcast(),
        address,
        cx.number(peer.port()).upcast(),
    ])
}

/// A KIND_RECV batch as JS takes it: payloads, meta pairs, the peers table and, with the
/// receive-info extra, the per-datagram info and local addresses.
fn batch_arguments<'a>(cx: &mut Cx<'a>, id: Handle<'a, JsValue>, mail: &Mail) -> NeonResult<Vec<Handle<'a, JsValue>>> {
    let mut args = vec![
        id,
        cx.number(KIND_RECV).upcast(),
        JsBuffer::from_slice(cx, &mail.data)?.upcast(),
        JsUint32Array::from_slice(cx, &mail.meta)?.upcast(),
        peers_to_js(cx, &mail.peers)?.upcast(),
    ];
    if !mail.info.is_empty() {
        args.push(JsUint32Array::from_slice(cx, &mail.info)?.upcast());
        let locals = JsArray::new(cx, mail.locals.len());
        for (i, ip) in mail.locals.iter().enumerate() {
            let text = cx.string(ip.to_string());
            locals.set(cx, i as u32, text)?;
        }
        args.push(locals.upcast());
    }
    Ok(args)
}

fn send_done_arguments<'a>(cx: &mut Cx<'a>, id: Handle<'a, JsValue>, mail: &Mail) -> NeonResult<Vec<Handle<'a, JsValue>>> {
    Ok(vec![id, cx.number(KIND_SEND_DONE).upcast(), JsInt32Array::from_slice(cx, &mail.send_results)?.upcast()])
}

/// The batch's peer table, flat: `[address, port, ...]`; each string made once a batch. Every
/// peer has the socket's family (JS knows it), so it is not repeated here.
fn peers_to_js<'a>(cx: &mut Cx<'a>, peers: &[SocketAddr]) -> JsResult<'a, JsArray> {
    let array = JsArray::new(cx, peers.len() * 2);
    let mut text = addr::IpText::default();
    for (i, peer) in peers.iter().enumerate() {
        let base = (i * 2) as u32;
        let address = cx.string(text.write_ip(peer));
        let port = cx.number(peer.port());
        array.set(cx, base, address)?;
        array.set(cx, base + 1, port)?;
    }
    Ok(array)
}

/// One socket's calls into `dispatch` during a delivery.
#[derive(Clone, Copy)]
struct Call<'a> {
    dispatch: Handle<'a, JsFunction>,
    /// The reply array (see `Dispatcher`).
    reply: *mut u32,
    /// See `Dispatcher::runs_ticks`.
    runs_ticks: bool,
    id: Handle<'a, JsValue>,
}

/// What a receive call did.
struct Answer {
    /// More of the socket's receive backlog waits.
    more: bool,
    /// Receive events it emitted (at least one is counted, so delivery always advances).
    events: usize,
}

impl<'a> Call<'a> {
    /// A receive event (and, where dispatch runs the ticks itself, up to `allowed` of them in a
    /// row), each followed by the nextTicks and microtasks it queued.
    fn receive(self, cx: &mut Cx<'a>, scope: &LoopCallback, allowed: usize, args: &[Handle<'a, JsValue>]) -> Answer {
        let allowed = if self.runs_ticks { allowed.max(1) } else { 1 };
        // SAFETY: the reply array stays valid while the Dispatcher it came from lives (see
        // `Dispatcher::reply`), which is as long as this thread's env; only this thread's JS and
        // this code touch it, never at the same time.
        unsafe {
            self.reply.add(REPLY_ALLOWED).write(u32::try_from(allowed).unwrap_or(u32::MAX));
            self.reply.add(REPLY_EVENTS).write(0);
        }
        let returned = self.run(cx, scope, args);
        // SAFETY: as above; dispatch wrote both before it returned or threw.
        let (more, events) = unsafe { (self.reply.add(REPLY_MORE).read() != 0, self.reply.add(REPLY_EVENTS).read()) };
        Answer {
            // After a throw, ask again: JS advanced past that event, and the next step says
            // whether anything is left.
            more: !returned || more,
            events: (events as usize).clamp(1, allowed),
        }
    }

    /// `receive` with arguments that could not be built (a JS exception, e.g. out of memory)
    /// reported as uncaught; nothing was emitted, and nothing more waits in JS.
    fn receive_with(self, cx: &mut Cx<'a>, scope: &LoopCallback, allowed: usize, args: NeonResult<impl AsRef<[Handle<'a, JsValue>]>>) -> Answer {
        match args {
            Ok(args) => self.receive(cx, scope, allowed, args.as_ref()),
            Err(_) => {
                scope.report_pending_exception();
                Answer { more: false, events: 1 }
            }
        }
    }

    /// Calls dispatch(...args), then has the nextTicks and microtasks it queued run; returns
    /// whether it returned (false: it threw). A throw goes to Node as uncaught with the thrown
    /// value itself, as a throw in a builtin 'message' listener does.
    fn run(self, cx: &mut Cx<'a>, scope: &LoopCallback, args: &[Handle<'a, JsValue>]) -> bool {
        let undefined = cx.undefined();
        match self.dispatch.call(cx, undefined, args) {
            Ok(_) => {
                // A dispatch that runs the ticks itself has run them by now.
                if !self.runs_ticks {
                    scope.after_js_call();
                }
                true
            }
            Err(_) => {
                // Thrown by a listener (its ticks did not run) or by a tick (the rest of the queue
                // did not): they wait for the next callback's end, the next datagram's here, as
                // after a builtin recv callback that threw (Node skips the ticks of a failed
                // callback scope).
                scope.report_pending_exception();
                false
            }
        }
    }

    /// `run` with arguments that could not be built, reported as uncaught too.
    fn run_with(self, cx: &mut Cx<'a>, scope: &LoopCallback, args: NeonResult<impl AsRef<[Handle<'a, JsValue>]>>) {
        match args {
            Ok(args) => {
                self.run(cx, scope, args.as_ref());
            }
            Err(_) => {
                scope.report_pending_exception();
            }
        }
    }
}
