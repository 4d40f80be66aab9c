//! The JS side of delivery: the one function of each JS thread that every socket event goes
//! to (lib/socket.js's dispatch), the memory it answers through, the arguments of each kind of
//! event, and the calls themselves (`Call`), each followed by the nextTicks and microtasks it
//! queued, as after each of node:dgram's recv callbacks.

use std::net::SocketAddr;

use neon::prelude::*;
use neon::thread::LocalKey;
use neon::types::buffer::TypedArray;

use super::pool::ReceivePool;
use crate::addr;
use crate::host::LoopCallback;
use crate::reactor::Mail;

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
    pub(super) function: Root<JsFunction>,
    /// Rooted, so that the memory `reply` points into stays alive.
    _reply: Root<JsTypedArray<u32>>,
    /// The address of the reply array's first u32, kept as a number (the Dispatcher lives in the
    /// thread's instance data, which must be Send and Sync; only that JS thread uses it). Its
    /// ArrayBuffer was made by lib/ with `new ArrayBuffer` (a backing store outside V8's heap,
    /// which never moves), is never handed to user code (so never detached or transferred), and
    /// stays rooted above.
    pub(super) reply: usize,
    /// Whether `function` runs the nextTicks and microtasks itself before it returns (Node's own
    /// tick runner, see lib/socket.js); if not, the native side runs them after each call
    /// (`LoopCallback::after_js_call`).
    pub(super) runs_ticks: bool,
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

/// A KIND_RECV_ONE batch as JS takes it: seven scalars at most, where a batch of one would cost a
/// Buffer, a Uint32Array and a peers array.
pub(super) fn one_arguments<'a>(
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
pub(super) fn batch_arguments<'a>(cx: &mut Cx<'a>, id: Handle<'a, JsValue>, mail: &Mail) -> NeonResult<Vec<Handle<'a, JsValue>>> {
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

pub(super) fn send_done_arguments<'a>(cx: &mut Cx<'a>, id: Handle<'a, JsValue>, mail: &Mail) -> NeonResult<Vec<Handle<'a, JsValue>>> {
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
pub(super) struct Call<'a> {
    pub(super) dispatch: Handle<'a, JsFunction>,
    /// The reply array (see `Dispatcher`).
    pub(super) reply: *mut u32,
    /// See `Dispatcher::runs_ticks`.
    pub(super) runs_ticks: bool,
    pub(super) id: Handle<'a, JsValue>,
}

/// What a receive call did.
pub(super) struct Answer {
    /// More of the socket's receive backlog waits.
    pub(super) more: bool,
    /// Receive events it emitted (at least one is counted, so delivery always advances).
    pub(super) events: usize,
}

impl<'a> Call<'a> {
    /// A receive event (and, where dispatch runs the ticks itself, up to `allowed` of them in a
    /// row), each followed by the nextTicks and microtasks it queued.
    pub(super) fn receive(self, cx: &mut Cx<'a>, scope: &LoopCallback, allowed: usize, args: &[Handle<'a, JsValue>]) -> Answer {
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
    pub(super) fn receive_with(self, cx: &mut Cx<'a>, scope: &LoopCallback, allowed: usize, args: NeonResult<impl AsRef<[Handle<'a, JsValue>]>>) -> Answer {
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
    pub(super) fn run(self, cx: &mut Cx<'a>, scope: &LoopCallback, args: &[Handle<'a, JsValue>]) -> bool {
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
    pub(super) fn run_with(self, cx: &mut Cx<'a>, scope: &LoopCallback, args: NeonResult<impl AsRef<[Handle<'a, JsValue>]>>) {
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
