//! The only module that speaks Neon: argument conversion, the `JsBox` socket handle, `Channel`
//! delivery of reactor mail to JS, and cleanup when a JS thread (main or worker) goes away.
//!
//! The contract these functions implement is written out in lib/native.js. Kernel errors are
//! returned as negative errno numbers; a wrong argument type throws (a bug in lib/, not a user
//! error). Nothing here unwraps what a user or the kernel controls.

use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use neon::prelude::*;
use neon::thread::LocalKey;
use neon::types::buffer::TypedArray;
use socket2::SockAddr;

use crate::addr::{self, Family};
use crate::batch::Datagram;
use crate::error;
use crate::host::{self, CallbackScope, LoopWatch, NapiEnv};
use crate::reactor::{Mail, Notify, Reactor, Turner, UdpCore, RECV_ERROR_PEER};
use crate::socket::{self, BindFlags, Membership, SockOpt};

const KIND_RECV: u32 = 1;
const KIND_SEND_DONE: u32 = 2;
/// The thread driver used up its delivery budget with mail still waiting: JS calls `resume`
/// from setImmediate, so timers and other I/O run in between (a Channel re-send would be run by
/// Node's threadsafe-function loop at once, up to 1000 times, starving the event loop).
const KIND_MORE: u32 = 3;

/// Reactor deliveries handled in one Channel callback before yielding to the event loop, so a
/// flood cannot keep timers and I/O of the same thread from running.
const DELIVERIES_PER_CALLBACK: usize = 2;

/// The JS function that receives every socket event of this JS thread (one per Node env).
static DISPATCH: LocalKey<Root<JsFunction>> = LocalKey::new();

/// Driver numbers as JS passes them to `create` (DRIVER_* constants).
const DRIVER_THREAD: u32 = 0;
const DRIVER_INLINE: u32 = 1;

/// Who turns a socket's reactor, and so how the socket holds its JS thread's event loop.
enum Driver {
    /// The process's reactor thread; mail arrives through this Channel, whose reference on the
    /// event loop is the socket's.
    Thread { channel: RefCell<Channel> },
    /// The JS thread's own reactor, turned from its event loop; the loop is held through the
    /// driver's libuv handle while any of its sockets wants it.
    Inline { driver: Rc<InlineDriver>, holding: Cell<bool> },
}

/// What a JS `Socket` holds: the shared core plus state that only its JS thread touches.
pub struct SocketBox {
    core: Arc<UdpCore>,
    /// The family `createSocket` asked for; an adopted fd may replace it.
    family: Cell<Family>,
    driver: Driver,
    /// The delivery buffers shared with this socket's notifier (see `ChannelNotify::spare`).
    spare: Arc<Mutex<Mail>>,
    wants_ref: Cell<bool>,
    bound: Cell<bool>,
}

impl Finalize for SocketBox {
    /// Runs when the handle is garbage collected or its JS thread exits (Node-API finalizes every
    /// wrapped value at env teardown): a worker's sockets close with it, others stay untouched.
    fn finalize<'a, C: Context<'a>>(self, _cx: &mut C) {
        self.core.close();
    }
}

impl SocketBox {
    /// Holds the event loop while the socket is bound, ref'd and open, like a libuv handle.
    fn update_ref<'a, C: Context<'a>>(&self, cx: &mut C) {
        let hold = self.wants_ref.get() && self.bound.get() && !self.core.is_closed();
        match &self.driver {
            Driver::Thread { channel } => {
                let mut channel = channel.borrow_mut();
                if hold {
                    channel.reference(cx);
                } else {
                    channel.unref(cx);
                }
            }
            Driver::Inline { driver, holding } => {
                if holding.replace(hold) != hold {
                    driver.adjust_holders(hold);
                }
            }
        }
    }

    fn reactor(&self) -> Result<Arc<Reactor>, i32> {
        match &self.driver {
            Driver::Thread { .. } => Reactor::thread(),
            Driver::Inline { driver, .. } => Ok(Arc::clone(&driver.reactor)),
        }
    }

    fn started<'a, C: Context<'a>>(&self, cx: &mut C) {
        self.bound.set(true);
        self.update_ref(cx);
    }
}

/// Wakes the owning JS thread through a Channel that never holds the event loop by itself.
struct ChannelNotify {
    channel: Channel,
    /// Buffers handed back and forth with the mailbox, so steady-state delivery allocates
    /// nothing in Rust. Only the JS thread touches it.
    spare: Arc<Mutex<Mail>>,
}

impl Notify for ChannelNotify {
    fn notify(&self, core: &Arc<UdpCore>) {
        let core = Arc::clone(core);
        let spare = Arc::clone(&self.spare);
        // Fails only once the JS thread is shutting down; its sockets are being closed then.
        let _ = self.channel.try_send(move |cx| deliver_or_yield(cx, core, spare));
    }
}

/// A JS thread's own reactor, turned from its event loop (the inline driver): libuv watches the
/// reactor's epoll fd, and when it is readable this thread runs a turn and delivers the mail at
/// once, with no thread hop. One per JS thread, made when its first inline socket is.
pub struct InlineDriver {
    reactor: Arc<Reactor>,
    turner: RefCell<Turner>,
    /// Sockets whose mailbox was notified during (or since) the last turn.
    ready: ReadyList,
    /// True while this thread is inside a turn: notifications then need no wake-up.
    in_turn: Arc<AtomicBool>,
    watch: RefCell<Option<LoopWatch>>,
    /// Sockets that currently hold the event loop.
    holders: Cell<usize>,
}

/// Inline sockets with mail, each with its delivery buffers, gathered during a turn.
type ReadyList = Arc<Mutex<Vec<(Arc<UdpCore>, Arc<Mutex<Mail>>)>>>;

thread_local! {
    static INLINE_DRIVER: RefCell<Option<Rc<InlineDriver>>> = const { RefCell::new(None) };
}

impl InlineDriver {
    /// This thread's driver, made on first use; `None` where the host lacks what it needs (the
    /// caller then falls back to the thread driver).
    fn for_this_thread(env: NapiEnv) -> Option<Rc<InlineDriver>> {
        if let Some(driver) = INLINE_DRIVER.with(|d| d.borrow().clone()) {
            return Some(driver);
        }
        let (reactor, turner) = Reactor::new().ok()?;
        let poll_fd = turner.poll_fd();
        let driver = Rc::new(InlineDriver {
            reactor,
            turner: RefCell::new(turner),
            ready: Arc::new(Mutex::new(Vec::new())),
            in_turn: Arc::new(AtomicBool::new(false)),
            watch: RefCell::new(None),
            holders: Cell::new(0),
        });
        // The watch holds the driver weakly: the thread-local owns it.
        let weak = Rc::downgrade(&driver);
        let watch = LoopWatch::start(
            env,
            poll_fd,
            Box::new(move |scope| {
                if let Some(driver) = weak.upgrade() {
                    driver.turn_and_deliver(scope);
                }
            }),
        )?;
        *driver.watch.borrow_mut() = Some(watch);
        INLINE_DRIVER.with(|d| *d.borrow_mut() = Some(Rc::clone(&driver)));
        Some(driver)
    }

    fn notifier(&self, spare: Arc<Mutex<Mail>>) -> InlineNotify {
        InlineNotify {
            ready: Arc::clone(&self.ready),
            in_turn: Arc::clone(&self.in_turn),
            reactor: Arc::clone(&self.reactor),
            spare,
        }
    }

    fn adjust_holders(&self, hold: bool) {
        let holders = if hold { self.holders.get() + 1 } else { self.holders.get().saturating_sub(1) };
        self.holders.set(holders);
        if let Some(watch) = self.watch.borrow().as_ref() {
            watch.set_ref(holders > 0);
        }
    }

    /// One turn without waiting, then delivery of everything it gathered, inside the callback
    /// scope `scope` (so nextTicks and microtasks run afterwards, as after builtin I/O).
    fn turn_and_deliver(&self, scope: &CallbackScope) {
        self.in_turn.store(true, Ordering::Release);
        if let Ok(mut turner) = self.turner.try_borrow_mut() {
            self.reactor.turn(&mut turner, Some(Duration::ZERO));
            if turner.has_carried() {
                // Unread data left behind: make the epoll fd readable again so libuv calls us
                // on its next iteration, after the other handles had their turn.
                self.reactor.wake();
            }
        }
        self.in_turn.store(false, Ordering::Release);
        let ready = std::mem::take(&mut *self.ready.lock().unwrap_or_else(|p| p.into_inner()));
        for (core, spare) in ready {
            // SAFETY: we are on the JS thread inside the handle scope and callback scope that
            // `scope` stands for; the Cx lives only for this call.
            let mut cx = unsafe { Cx::from_raw(scope.env as neon::sys::bindings::Env) };
            match deliver(&mut cx, &core, &spare) {
                // Budget used up: a wake-up brings libuv back on its next iteration.
                Ok(Budget::Exhausted) => core.finish_delivery(),
                Ok(Budget::Idle) => {}
                Err(_) => {
                    scope.report_pending_exception();
                }
            }
        }
    }
}

/// Wakes an inline socket's owner: records the socket as ready; outside a turn it also wakes the
/// reactor so that libuv runs a turn soon (a write to an eventfd, no thread hop).
struct InlineNotify {
    ready: ReadyList,
    in_turn: Arc<AtomicBool>,
    reactor: Arc<Reactor>,
    spare: Arc<Mutex<Mail>>,
}

impl Notify for InlineNotify {
    fn notify(&self, core: &Arc<UdpCore>) {
        self.ready.lock().unwrap_or_else(|p| p.into_inner()).push((Arc::clone(core), Arc::clone(&self.spare)));
        if !self.in_turn.load(Ordering::Acquire) {
            self.reactor.wake();
        }
    }
}

/// How a delivery ended.
enum Budget {
    /// The mailbox was empty: it is idle, the next mail notifies again.
    Idle,
    /// DELIVERIES_PER_CALLBACK deliveries ran and mail may still wait; the mailbox stays in
    /// flight until the caller arranges the next delivery.
    Exhausted,
}

/// Runs on the JS thread: hands the mailbox to `dispatch`, again while the reactor keeps
/// filling it, up to DELIVERIES_PER_CALLBACK times.
fn deliver(cx: &mut Cx, core: &Arc<UdpCore>, spare: &Mutex<Mail>) -> NeonResult<Budget> {
    for _ in 0..DELIVERIES_PER_CALLBACK {
        if core.is_closed() {
            return Ok(Budget::Idle);
        }
        let mut mail = std::mem::take(&mut *spare.lock().unwrap_or_else(|p| p.into_inner()));
        if !core.take_mail(&mut mail) {
            *spare.lock().unwrap_or_else(|p| p.into_inner()) = mail;
            return Ok(Budget::Idle);
        }
        let emitted = cx.try_catch(|cx| emit_mail(cx, core, &mail));
        mail.clear();
        *spare.lock().unwrap_or_else(|p| p.into_inner()) = mail;
        if let Err(thrown) = emitted {
            // The thrown value itself goes to Node as uncaught, like a throw in a builtin
            // 'message' listener (a Channel would wrap it in an error of its own); whatever is
            // still queued is delivered on the next callback.
            core.finish_delivery();
            // SAFETY: on the JS thread, with `thrown` a live handle of this env.
            let reported = unsafe { host::report_uncaught(cx.to_raw() as NapiEnv, thrown.to_raw() as *mut c_void) };
            return if reported { Ok(Budget::Idle) } else { cx.throw(thrown) };
        }
    }
    Ok(Budget::Exhausted)
}

/// The thread driver's delivery: when the budget runs out, JS is asked (KIND_MORE) to resume
/// from setImmediate, so the event loop turns between rounds.
fn deliver_or_yield(mut cx: Cx, core: Arc<UdpCore>, spare: Arc<Mutex<Mail>>) -> NeonResult<()> {
    deliver_or_yield_in(&mut cx, core, spare)
}

fn deliver_or_yield_in(cx: &mut Cx, core: Arc<UdpCore>, spare: Arc<Mutex<Mail>>) -> NeonResult<()> {
    let budget = deliver(cx, &core, &spare)?;
    if let Budget::Exhausted = budget {
        let asked = cx.try_catch(|cx| {
            let Some(dispatch) = DISPATCH.get(cx).map(|root| root.to_inner(cx)) else { return Ok(false) };
            let undefined = cx.undefined();
            let id = cx.number(core.id as f64).upcast::<JsValue>();
            let kind = cx.number(KIND_MORE).upcast::<JsValue>();
            dispatch.exec(cx, undefined, [id, kind])?;
            Ok(true)
        });
        if !matches!(asked, Ok(true)) {
            core.finish_delivery();
        }
    }
    Ok(())
}

fn emit_mail(cx: &mut Cx, core: &UdpCore, mail: &Mail) -> NeonResult<()> {
    let dispatch = match DISPATCH.get(cx) {
        Some(root) => root.to_inner(cx),
        None => return Ok(()),
    };
    let undefined = cx.undefined();
    let id = cx.number(core.id as f64).upcast::<JsValue>();
    if !mail.meta.is_empty() {
        core.stats.count_batch();
        let data = JsBuffer::from_slice(cx, &mail.data)?.upcast::<JsValue>();
        let meta = JsUint32Array::from_slice(cx, &mail.meta)?.upcast::<JsValue>();
        let peers = peers_to_js(cx, &mail.peers)?.upcast::<JsValue>();
        let kind = cx.number(KIND_RECV).upcast::<JsValue>();
        if mail.info.is_empty() {
            dispatch.exec(cx, undefined, [id, kind, data, meta, peers])?;
        } else {
            let info = JsUint32Array::from_slice(cx, &mail.info)?.upcast::<JsValue>();
            let locals = JsArray::new(cx, mail.locals.len());
            for (i, ip) in mail.locals.iter().enumerate() {
                let text = cx.string(ip.to_string());
                locals.set(cx, i as u32, text)?;
            }
            dispatch.exec(cx, undefined, [id, kind, data, meta, peers, info, locals.upcast()])?;
        }
    }
    if !mail.send_results.is_empty() && !core.is_closed() {
        let results = JsInt32Array::from_slice(cx, &mail.send_results)?.upcast::<JsValue>();
        let kind = cx.number(KIND_SEND_DONE).upcast::<JsValue>();
        dispatch.exec(cx, undefined, [id, kind, results])?;
    }
    Ok(())
}

/// The batch's peer table, flat: `[address, family, port, ...]`; each string made once a batch.
fn peers_to_js<'a>(cx: &mut Cx<'a>, peers: &[SocketAddr]) -> JsResult<'a, JsArray> {
    let array = JsArray::new(cx, peers.len() * 3);
    for (i, peer) in peers.iter().enumerate() {
        let base = (i * 3) as u32;
        let address = cx.string(addr::format_ip(peer));
        let family = cx.string(Family::of(peer).node_name());
        let port = cx.number(peer.port());
        array.set(cx, base, address)?;
        array.set(cx, base + 1, family)?;
        array.set(cx, base + 2, port)?;
    }
    Ok(array)
}

// ---- argument helpers ------------------------------------------------------------------------

type Handle_<'a> = Handle<'a, JsBox<SocketBox>>;

/// The elements of a JS array. Unlike `JsArray::to_vec`, every step returns an error instead of
/// panicking when the env cannot run JS any more (a worker being terminated), which would
/// otherwise abort the process.
fn array_items<'a>(cx: &mut FunctionContext<'a>, array: Handle<'a, JsArray>) -> NeonResult<Vec<Handle<'a, JsValue>>> {
    let length = array.get::<JsNumber, _, _>(cx, "length")?.value(cx) as u32;
    (0..length).map(|i| array.get::<JsValue, _, _>(cx, i)).collect()
}

fn socket_arg<'a>(cx: &mut FunctionContext<'a>) -> NeonResult<Handle_<'a>> {
    cx.argument::<JsBox<SocketBox>>(0)
}

/// A whole number in `0..=max`, or a RangeError: these come from lib/, which validated them.
fn uint_arg(cx: &mut FunctionContext, index: usize, max: u32) -> NeonResult<u32> {
    let value = cx.argument::<JsNumber>(index)?.value(cx);
    if value.fract() != 0.0 || !(0.0..=max as f64).contains(&value) {
        return cx.throw_range_error(format!("argument {index} must be an integer in 0..={max}"));
    }
    Ok(value as u32)
}

fn int_result<'a>(cx: &mut FunctionContext<'a>, status: i32) -> JsResult<'a, JsNumber> {
    Ok(cx.number(status))
}

fn parse_addr(ip: &str, port: u16, family: Family) -> Result<SocketAddr, i32> {
    addr::parse_socket_addr(ip, port, family).ok_or(error::EINVAL)
}

// ---- exported functions ----------------------------------------------------------------------

fn init(mut cx: FunctionContext) -> JsResult<JsUndefined> {
    let dispatch = cx.argument::<JsFunction>(0)?.root(&mut cx);
    // A second init on the same thread keeps the first dispatcher; lib/ calls it once per thread.
    DISPATCH.get_or_init(&mut cx, || dispatch);
    Ok(cx.undefined())
}

/// `create(family[, driver])`: a socket without an fd yet. An inline driver that cannot start on
/// this host falls back to the thread driver (`driverOf` tells which one a socket got).
fn create(mut cx: FunctionContext) -> JsResult<JsBox<SocketBox>> {
    let number = cx.argument::<JsNumber>(0)?.value(&mut cx);
    let Some(family) = Family::from_number(number) else {
        return cx.throw_range_error("family must be 4 or 6");
    };
    let wanted = match cx.argument_opt(1) {
        Some(value) if value.is_a::<JsNumber, _>(&mut cx) => value.downcast_or_throw::<JsNumber, _>(&mut cx)?.value(&mut cx),
        _ => DRIVER_THREAD as f64,
    };
    let inline = if wanted == DRIVER_INLINE as f64 { InlineDriver::for_this_thread(cx.to_raw() as NapiEnv) } else { None };
    let spare = Arc::new(Mutex::new(Mail::default()));
    let (core, driver) = match inline {
        Some(driver) => {
            let core = UdpCore::new(Box::new(driver.notifier(Arc::clone(&spare))));
            (core, Driver::Inline { driver, holding: Cell::new(false) })
        }
        None => {
            let mut channel = cx.channel();
            channel.unref(&mut cx);
            // The clone is unreferenced too: only `Driver::Thread::channel` ever holds the loop.
            let notify = ChannelNotify { channel: channel.clone(), spare: Arc::clone(&spare) };
            (UdpCore::new(Box::new(notify)), Driver::Thread { channel: RefCell::new(channel) })
        }
    };
    Ok(cx.boxed(SocketBox { core, family: Cell::new(family), driver, spare, wants_ref: Cell::new(true), bound: Cell::new(false) }))
}

fn driver_of(mut cx: FunctionContext) -> JsResult<JsNumber> {
    let socket = socket_arg(&mut cx)?;
    let driver = match socket.driver {
        Driver::Thread { .. } => DRIVER_THREAD,
        Driver::Inline { .. } => DRIVER_INLINE,
    };
    Ok(cx.number(driver))
}

fn socket_id(mut cx: FunctionContext) -> JsResult<JsNumber> {
    let socket = socket_arg(&mut cx)?;
    Ok(cx.number(socket.core.id as f64))
}

fn bind(mut cx: FunctionContext) -> JsResult<JsNumber> {
    let socket = socket_arg(&mut cx)?;
    let ip = cx.argument::<JsString>(1)?.value(&mut cx);
    let port = uint_arg(&mut cx, 2, u16::MAX as u32)? as u16;
    let flags = BindFlags::from_bits(uint_arg(&mut cx, 3, u32::MAX)?);
    let family = socket.core.family().unwrap_or(socket.family.get());
    let bound = parse_addr(&ip, port, family).and_then(|addr| socket.core.bind(addr, flags, &socket.reactor()?));
    match bound {
        Ok(()) => {
            socket.started(&mut cx);
            int_result(&mut cx, 0)
        }
        Err(errno) => int_result(&mut cx, errno),
    }
}

fn open(mut cx: FunctionContext) -> JsResult<JsNumber> {
    let socket = socket_arg(&mut cx)?;
    let fd = uint_arg(&mut cx, 1, i32::MAX as u32)? as i32;
    let adopted = socket::adopt_udp_fd(fd).map_err(|e| error::to_errno(&e)).and_then(|(s, family)| {
        socket.family.set(family);
        socket.core.attach(crate::reactor::Bound { socket: s, family }, &socket.reactor()?)
    });
    match adopted {
        Ok(()) => {
            socket.started(&mut cx);
            int_result(&mut cx, 0)
        }
        Err(errno) => int_result(&mut cx, errno),
    }
}

fn connect(mut cx: FunctionContext) -> JsResult<JsNumber> {
    let socket = socket_arg(&mut cx)?;
    let ip = cx.argument::<JsString>(1)?.value(&mut cx);
    let port = uint_arg(&mut cx, 2, u16::MAX as u32)? as u16;
    let status = socket
        .core
        .with_socket(|s, family| {
            let addr = parse_addr(&ip, port, family).map_err(std::io::Error::from_raw_os_error_neg)?;
            socket::connect(s, addr)
        })
        .err()
        .unwrap_or(0);
    int_result(&mut cx, status)
}

/// `io::Error` from our negative errno convention.
trait FromNegErrno {
    fn from_raw_os_error_neg(errno: i32) -> std::io::Error;
}

impl FromNegErrno for std::io::Error {
    fn from_raw_os_error_neg(errno: i32) -> std::io::Error {
        std::io::Error::from_raw_os_error(-errno)
    }
}

fn disconnect(mut cx: FunctionContext) -> JsResult<JsNumber> {
    let socket = socket_arg(&mut cx)?;
    let status = socket.core.with_socket(|s, _| socket::disconnect(s)).err().unwrap_or(0);
    int_result(&mut cx, status)
}

fn address_object<'a>(cx: &mut FunctionContext<'a>, result: Result<SocketAddr, i32>) -> JsResult<'a, JsValue> {
    match result {
        Ok(addr) => {
            let object = cx.empty_object();
            let address = cx.string(addr::format_ip(&addr));
            let family = cx.string(Family::of(&addr).node_name());
            let port = cx.number(addr.port());
            object.set(cx, "address", address)?;
            object.set(cx, "family", family)?;
            object.set(cx, "port", port)?;
            Ok(object.upcast())
        }
        Err(errno) => Ok(cx.number(errno).upcast()),
    }
}

fn local_address(mut cx: FunctionContext) -> JsResult<JsValue> {
    let socket = socket_arg(&mut cx)?;
    let result = socket.core.with_socket(|s, _| socket::local_addr(s));
    address_object(&mut cx, result)
}

fn remote_address(mut cx: FunctionContext) -> JsResult<JsValue> {
    let socket = socket_arg(&mut cx)?;
    let result = socket.core.with_socket(|s, _| socket::peer_addr(s));
    address_object(&mut cx, result)
}

/// Destinations already parsed in this flush, found again by string identity: sends in one tick
/// mostly go to a handful of peers, so each distinct one is read and parsed once per flush.
const RECENT_DESTINATIONS: usize = 16;

fn send(mut cx: FunctionContext) -> JsResult<JsNumber> {
    let socket = socket_arg(&mut cx)?;
    let bufs = cx.argument::<JsArray>(1)?;
    let bufs = array_items(&mut cx, bufs)?;
    let ips = cx.argument::<JsValue>(2)?;
    let ports = cx.argument::<JsValue>(3)?;
    let mut results_array = cx.argument::<JsInt32Array>(4)?;
    let count = bufs.len();
    if results_array.as_slice(&cx).len() < count {
        return cx.throw_range_error("results array is shorter than the batch");
    }
    let Some(family) = socket.core.family() else {
        return int_result(&mut cx, error::EBADF);
    };

    let payloads: Vec<Handle<JsTypedArray<u8>>> =
        bufs.into_iter().map(|b| b.downcast_or_throw(&mut cx)).collect::<NeonResult<_>>()?;
    let (dests, dest_of) = if ips.is_a::<JsNull, _>(&mut cx) || ips.is_a::<JsUndefined, _>(&mut cx) {
        (Vec::new(), Vec::new())
    } else {
        let ips = ips.downcast_or_throw::<JsArray, _>(&mut cx)?;
        let ips = array_items(&mut cx, ips)?;
        let ports = ports.downcast_or_throw::<JsArray, _>(&mut cx)?;
        let ports = array_items(&mut cx, ports)?;
        if ips.len() != count || ports.len() != count {
            return cx.throw_range_error("ips and ports must have one entry per datagram");
        }
        match destinations(&mut cx, &ips, &ports, family)? {
            Ok(parsed) => parsed,
            Err(errno) => return int_result(&mut cx, errno),
        }
    };

    let mut results = Vec::with_capacity(count);
    let sent = {
        let datagrams: Vec<Datagram> = payloads
            .iter()
            .enumerate()
            .map(|(i, payload)| Datagram {
                payload: payload.as_slice(&cx),
                dest: dest_of.get(i).map(|&d| &dests[d]),
            })
            .collect();
        socket.core.send(&datagrams, &mut results)
    };
    match sent {
        Ok(finished) => {
            results_array.as_mut_slice(&mut cx)[..finished].copy_from_slice(&results[..finished]);
            int_result(&mut cx, finished as i32)
        }
        Err(errno) => int_result(&mut cx, errno),
    }
}

/// The distinct destinations of a flush, and per datagram the index of its own.
type Destinations = (Vec<SockAddr>, Vec<usize>);

/// Parses each datagram's destination; returns the distinct addresses and, per datagram, the
/// index of its address. A malformed literal fails the whole flush with EINVAL (lib/ sends only
/// literals it resolved, so this does not happen in practice).
fn destinations<'a>(
    cx: &mut FunctionContext<'a>,
    ips: &[Handle<'a, JsValue>],
    ports: &[Handle<'a, JsValue>],
    family: Family,
) -> NeonResult<Result<Destinations, i32>> {
    let mut dests: Vec<SockAddr> = Vec::new();
    let mut dest_of = Vec::with_capacity(ips.len());
    let mut recent: Vec<(Handle<'a, JsValue>, u16, usize)> = Vec::with_capacity(RECENT_DESTINATIONS);
    for (ip, port) in ips.iter().zip(ports) {
        let port = port.downcast_or_throw::<JsNumber, _>(cx)?.value(cx);
        if port.fract() != 0.0 || !(0.0..=65535.0).contains(&port) {
            return cx.throw_range_error("port must be an integer in 0..=65535");
        }
        let port = port as u16;
        let mut found = None;
        for (known_ip, known_port, index) in recent.iter().rev() {
            if *known_port == port && known_ip.strict_equals(cx, *ip) {
                found = Some(*index);
                break;
            }
        }
        let index = match found {
            Some(index) => index,
            None => {
                let text = ip.downcast_or_throw::<JsString, _>(cx)?.value(cx);
                let Ok(addr) = parse_addr(&text, port, family) else { return Ok(Err(error::EINVAL)) };
                dests.push(SockAddr::from(addr));
                if recent.len() == RECENT_DESTINATIONS {
                    recent.remove(0);
                }
                recent.push((*ip, port, dests.len() - 1));
                dests.len() - 1
            }
        };
        dest_of.push(index);
    }
    Ok(Ok((dests, dest_of)))
}

/// Bytes held by the reactor, not yet given to the kernel.
fn send_queue_size(mut cx: FunctionContext) -> JsResult<JsNumber> {
    let socket = socket_arg(&mut cx)?;
    let (bytes, _) = socket.core.send_queue();
    Ok(cx.number(bytes as f64))
}

/// Datagrams held by the reactor, not yet given to the kernel.
fn send_queue_count(mut cx: FunctionContext) -> JsResult<JsNumber> {
    let socket = socket_arg(&mut cx)?;
    let (_, count) = socket.core.send_queue();
    Ok(cx.number(count as f64))
}

fn sock_opt(cx: &mut FunctionContext, index: usize) -> NeonResult<SockOpt> {
    let number = uint_arg(cx, index, u32::MAX)?;
    match SockOpt::from_number(number) {
        Some(opt) => Ok(opt),
        None => cx.throw_range_error(format!("unknown socket option {number}")),
    }
}

fn set_option(mut cx: FunctionContext) -> JsResult<JsNumber> {
    let socket = socket_arg(&mut cx)?;
    let opt = sock_opt(&mut cx, 1)?;
    let value = uint_arg(&mut cx, 2, u32::MAX)?;
    let status = socket.core.with_socket(|s, family| socket::set_option(s, family, opt, value)).err().unwrap_or(0);
    int_result(&mut cx, status)
}

fn get_option(mut cx: FunctionContext) -> JsResult<JsNumber> {
    let socket = socket_arg(&mut cx)?;
    let opt = sock_opt(&mut cx, 1)?;
    let value = match socket.core.with_socket(|s, _| socket::get_option(s, opt)) {
        Ok(value) => value as f64,
        Err(errno) => errno as f64,
    };
    Ok(cx.number(value))
}

/// An optional interface argument: '' (or absent) means "let the kernel choose".
fn iface_arg(cx: &mut FunctionContext, index: usize, family: Family) -> NeonResult<Result<Option<(std::net::IpAddr, u32)>, i32>> {
    let text = match cx.argument_opt(index) {
        Some(value) if value.is_a::<JsString, _>(cx) => value.downcast_or_throw::<JsString, _>(cx)?.value(cx),
        _ => String::new(),
    };
    if text.is_empty() {
        return Ok(Ok(None));
    }
    Ok(addr::parse_ip(&text, family).map(Some).ok_or(error::EINVAL))
}

fn set_multicast_interface(mut cx: FunctionContext) -> JsResult<JsNumber> {
    let socket = socket_arg(&mut cx)?;
    let Some(family) = socket.core.family() else { return int_result(&mut cx, error::EBADF) };
    let status = match iface_arg(&mut cx, 1, family)? {
        Ok(Some((ip, scope))) => {
            socket.core.with_socket(|s, _| socket::set_multicast_interface(s, ip, scope)).err().unwrap_or(0)
        }
        Ok(None) => error::EINVAL,
        Err(errno) => errno,
    };
    int_result(&mut cx, status)
}

fn membership_kind(cx: &mut FunctionContext, index: usize) -> NeonResult<Membership> {
    let add = cx.argument::<JsBoolean>(index)?.value(cx);
    Ok(if add { Membership::Join } else { Membership::Leave })
}

fn membership(mut cx: FunctionContext) -> JsResult<JsNumber> {
    let socket = socket_arg(&mut cx)?;
    let how = membership_kind(&mut cx, 1)?;
    let group = cx.argument::<JsString>(2)?.value(&mut cx);
    let Some(family) = socket.core.family() else { return int_result(&mut cx, error::EBADF) };
    let iface = iface_arg(&mut cx, 3, family)?;
    let status = match (addr::parse_ip(&group, family), iface) {
        (Some((group, _)), Ok(iface)) => {
            socket.core.with_socket(|s, _| socket::membership(s, how, group, iface)).err().unwrap_or(0)
        }
        (None, _) => error::EINVAL,
        (_, Err(errno)) => errno,
    };
    int_result(&mut cx, status)
}

fn source_membership(mut cx: FunctionContext) -> JsResult<JsNumber> {
    let socket = socket_arg(&mut cx)?;
    let how = membership_kind(&mut cx, 1)?;
    let source = cx.argument::<JsString>(2)?.value(&mut cx);
    let group = cx.argument::<JsString>(3)?.value(&mut cx);
    let Some(family) = socket.core.family() else { return int_result(&mut cx, error::EBADF) };
    let iface = iface_arg(&mut cx, 4, family)?;
    let status = match (addr::parse_ip(&source, family), addr::parse_ip(&group, family), iface) {
        (Some((source, _)), Some((group, _)), Ok(iface)) => socket
            .core
            .with_socket(|s, _| socket::source_membership(s, how, source, group, iface))
            .err()
            .unwrap_or(0),
        (_, _, Err(errno)) => errno,
        _ => error::EINVAL,
    };
    int_result(&mut cx, status)
}

/// `resume(handle)`: the next round of a thread-driver delivery, after KIND_MORE.
fn resume(mut cx: FunctionContext) -> JsResult<JsUndefined> {
    let socket = socket_arg(&mut cx)?;
    let (core, spare) = (Arc::clone(&socket.core), Arc::clone(&socket.spare));
    let mut cx: Cx = cx.into();
    deliver_or_yield_in(&mut cx, core, spare)?;
    Ok(cx.undefined())
}

/// `setReceiveInfo(handle, flags)`: RECV_INFO_PKTINFO | RECV_INFO_TIMESTAMP (the extras).
fn set_receive_info(mut cx: FunctionContext) -> JsResult<JsNumber> {
    let socket = socket_arg(&mut cx)?;
    let flags = uint_arg(&mut cx, 1, 3)?;
    let status = socket.core.enable_receive_info(flags & 1 != 0, flags & 2 != 0).err().unwrap_or(0);
    int_result(&mut cx, status)
}

fn set_ref(mut cx: FunctionContext, wants_ref: bool) -> JsResult<JsUndefined> {
    let socket = socket_arg(&mut cx)?;
    socket.wants_ref.set(wants_ref);
    socket.update_ref(&mut cx);
    Ok(cx.undefined())
}

fn ref_(cx: FunctionContext) -> JsResult<JsUndefined> {
    set_ref(cx, true)
}

fn unref(cx: FunctionContext) -> JsResult<JsUndefined> {
    set_ref(cx, false)
}

fn close(mut cx: FunctionContext) -> JsResult<JsUndefined> {
    let socket = socket_arg(&mut cx)?;
    socket.core.close();
    socket.update_ref(&mut cx);
    Ok(cx.undefined())
}

fn stats(mut cx: FunctionContext) -> JsResult<JsObject> {
    use std::sync::atomic::Ordering::Relaxed;
    let socket = socket_arg(&mut cx)?;
    let live_drops = socket.core.with_socket(|sock, _| socket::kernel_drops(sock)).ok().map(u64::from);
    let s = &socket.core.stats;
    let fields = [
        ("receivedDatagrams", s.received_datagrams.load(Relaxed)),
        ("receivedBytes", s.received_bytes.load(Relaxed)),
        ("sentDatagrams", s.sent_datagrams.load(Relaxed)),
        ("sentBytes", s.sent_bytes.load(Relaxed)),
        ("sendErrors", s.send_errors.load(Relaxed)),
        ("droppedPending", s.dropped_pending.load(Relaxed)),
        ("receiveBatches", s.receive_batches.load(Relaxed)),
        // Read live from the kernel when it can be, else the last count a datagram carried.
        ("kernelDrops", live_drops.unwrap_or(0).max(s.kernel_drops.load(Relaxed))),
    ];
    let object = cx.empty_object();
    for (name, value) in fields {
        let value = cx.number(value as f64);
        object.set(&mut cx, name, value)?;
    }
    Ok(object)
}

fn export_constants(cx: &mut ModuleContext) -> NeonResult<()> {
    let constants: [(&str, f64); 20] = [
        ("KIND_MORE", KIND_MORE as f64),
        ("RECV_INFO_PKTINFO", 1.0),
        ("RECV_INFO_TIMESTAMP", 2.0),
        ("DRIVER_THREAD", DRIVER_THREAD as f64),
        ("DRIVER_INLINE", DRIVER_INLINE as f64),
        ("KIND_RECV", KIND_RECV as f64),
        ("KIND_SEND_DONE", KIND_SEND_DONE as f64),
        ("RECV_ERROR_PEER", RECV_ERROR_PEER as f64),
        ("FLAG_REUSEADDR", BindFlags::REUSEADDR as f64),
        ("FLAG_REUSEPORT", BindFlags::REUSEPORT as f64),
        ("FLAG_IPV6ONLY", BindFlags::IPV6ONLY as f64),
        ("FLAG_RECV_PKTINFO", BindFlags::RECV_PKTINFO as f64),
        ("FLAG_RECV_TIMESTAMP", BindFlags::RECV_TIMESTAMP as f64),
        ("OPT_BROADCAST", 1.0),
        ("OPT_TTL", 2.0),
        ("OPT_MULTICAST_TTL", 3.0),
        ("OPT_MULTICAST_LOOP", 4.0),
        ("OPT_RCVBUF", 5.0),
        ("OPT_SNDBUF", 6.0),
        ("PENDING_CAP_BYTES", crate::reactor::PENDING_CAP_BYTES as f64),
    ];
    for (name, value) in constants {
        let value = cx.number(value);
        cx.export_value(name, value)?;
    }
    Ok(())
}

/// Test hook: panics inside a native entry point, to prove the panic reaches JS as an Error and
/// never aborts the process. Exported only when TURBO_DGRAM_TEST_HOOKS=1 at load time.
fn panic_for_test(_cx: FunctionContext) -> JsResult<JsUndefined> {
    panic!("turbo-dgram test panic");
}

/// Registers every export; called from `#[neon::main]`.
pub fn register(cx: &mut ModuleContext) -> NeonResult<()> {
    export_constants(cx)?;
    if std::env::var("TURBO_DGRAM_TEST_HOOKS").as_deref() == Ok("1") {
        cx.export_function("panicForTest", panic_for_test)?;
    }
    cx.export_function("init", init)?;
    cx.export_function("create", create)?;
    cx.export_function("socketId", socket_id)?;
    cx.export_function("driverOf", driver_of)?;
    cx.export_function("bind", bind)?;
    cx.export_function("open", open)?;
    cx.export_function("connect", connect)?;
    cx.export_function("disconnect", disconnect)?;
    cx.export_function("localAddress", local_address)?;
    cx.export_function("remoteAddress", remote_address)?;
    cx.export_function("send", send)?;
    cx.export_function("sendQueueSize", send_queue_size)?;
    cx.export_function("sendQueueCount", send_queue_count)?;
    cx.export_function("setOption", set_option)?;
    cx.export_function("getOption", get_option)?;
    cx.export_function("setMulticastInterface", set_multicast_interface)?;
    cx.export_function("membership", membership)?;
    cx.export_function("sourceMembership", source_membership)?;
    cx.export_function("setReceiveInfo", set_receive_info)?;
    cx.export_function("resume", resume)?;
    cx.export_function("ref", ref_)?;
    cx.export_function("unref", unref)?;
    cx.export_function("close", close)?;
    cx.export_function("stats", stats)?;
    Ok(())
}
