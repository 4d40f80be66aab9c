//! The only module that speaks Neon: argument conversion, the `JsBox` socket handle, delivery of
//! mail to JS (delivery.rs), and cleanup when a JS thread (main or worker) goes away.
//!
//! The contract these functions implement is written out in lib/native.js. Kernel errors are
//! returned as negative errno numbers; a wrong argument type throws (a bug in lib/, not a user
//! error). Nothing here unwraps what a user or the kernel controls.

use std::cell::Cell;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use neon::prelude::*;

use crate::addr::{self, Family};
use crate::error;
use crate::host::NapiEnv;
use crate::reactor::{Mail, Reactor, UdpCore, RECV_ERROR_PEER};
use crate::socket::{self, BindFlags, Membership, SockOpt};

mod delivery;
mod dispatch;
mod pool;
mod send;
mod watch;

use delivery::{JsLoop, Spare, Wake};
use dispatch::{DISPATCH, KIND_RECV, KIND_RECV_ONE, KIND_RECV_STEP, KIND_SEND_DONE};

/// Driver numbers as JS passes them to `create` (DRIVER_* constants).
const DRIVER_THREAD: u32 = 0;
const DRIVER_INLINE: u32 = 1;
const DRIVER_HANDOVER: u32 = 2;

/// Who reads a socket: see the README's "Receive drivers".
#[derive(Clone, Copy, PartialEq, Eq)]
enum Driver {
    /// The process's reactor thread.
    Thread,
    /// Its JS thread's own reactor, turned from the event loop.
    Inline,
    /// Its JS thread through a libuv watch on the fd, the reactor thread while that one is
    /// stalled (crate::handover).
    Handover,
}

/// What a JS `Socket` holds: the shared core plus state that only its JS thread touches.
pub struct SocketBox {
    core: Arc<UdpCore>,
    /// The family `createSocket` asked for; an adopted fd may replace it.
    family: Cell<Family>,
    /// This thread's delivery loop; with the inline driver, its reactor is the one this socket uses.
    js_loop: Rc<JsLoop>,
    driver: Driver,
    /// The handover driver's libuv watch on the fd is running (bindings/watch.rs).
    watching: Cell<bool>,
    /// The port `connect` connected the socket to (its sends' destination; see
    /// `Watches::note_send_to`), while connected through `connect`.
    peer_port: Cell<Option<u16>>,
    wants_ref: Cell<bool>,
    bound: Cell<bool>,
    /// Whether this socket currently counts among the loop's holders.
    holding: Cell<bool>,
}

impl Finalize for SocketBox {
    /// Runs when the handle is garbage collected or its JS thread exits (Node-API finalizes every
    /// wrapped value at env teardown): a worker's sockets close with it, others stay untouched.
    fn finalize<'a, C: Context<'a>>(self, _cx: &mut C) {
        self.stop_watch();
        self.core.close();
        if self.holding.get() {
            self.js_loop.adjust_holders(false);
        }
    }
}

impl SocketBox {
    /// Holds the event loop while the socket is bound, ref'd and open, like a libuv handle.
    fn update_ref(&self) {
        let hold = self.wants_ref.get() && self.bound.get() && !self.core.is_closed();
        if self.holding.replace(hold) != hold {
            self.js_loop.adjust_holders(hold);
        }
    }

    fn reactor(&self) -> Result<Arc<Reactor>, i32> {
        if self.driver == Driver::Inline {
            self.js_loop.inline_reactor().ok_or(error::EINVAL)
        } else {
            Reactor::thread()
        }
    }

    fn started(&self) {
        self.bound.set(true);
        self.update_ref();
        if self.driver == Driver::Handover {
            self.start_watch();
        }
    }

    /// The JS thread starts watching the handover socket's fd; where libuv cannot, the reactor
    /// reads it for good (the thread driver's behaviour).
    fn start_watch(&self) {
        let fd_and_port = self.core.with_socket(|sock, _| {
            let port = sock.local_addr()?.as_socket().map_or(0, |addr| addr.port());
            Ok((sock.as_raw_fd(), port))
        });
        let js_loop = &self.js_loop;
        let started = fd_and_port.is_ok_and(|(fd, port)| js_loop.watches.start(js_loop, &self.core, fd, port));
        self.watching.set(started);
        if !started {
            self.core.give_reads_to_reactor();
        }
    }

    /// Stops the watch before the fd closes (libuv must not watch a closed fd).
    fn stop_watch(&self) {
        if self.watching.replace(false) {
            self.js_loop.watches.stop(self.core.id);
        }
    }
}

// ---- argument helpers ------------------------------------------------------------------------

type Handle_<'a> = Handle<'a, JsBox<SocketBox>>;

fn socket_arg<'a>(cx: &mut FunctionContext<'a>) -> NeonResult<Handle_<'a>> {
    cx.argument::<JsBox<SocketBox>>(0)
}

/// A whole number in `0..=max`, or a RangeError: these come from lib/, which validated them.
fn uint_arg(cx: &mut FunctionContext, index: usize, max: u32) -> NeonResult<u32> {
    let value = cx.argument::<JsNumber>(index)?.value(cx);
    match whole_number(value, max) {
        Some(value) => Ok(value),
        None => cx.throw_range_error(format!("argument {index} must be an integer in 0..={max}")),
    }
}

/// `value` if it is a whole number in `0..=max` (NaN and infinities are not).
fn whole_number(value: f64, max: u32) -> Option<u32> {
    (value.fract() == 0.0 && (0.0..=max as f64).contains(&value)).then_some(value as u32)
}

fn int_result<'a>(cx: &mut FunctionContext<'a>, status: i32) -> JsResult<'a, JsNumber> {
    Ok(cx.number(status))
}

fn parse_addr(ip: &str, port: u16, family: Family) -> Result<SocketAddr, i32> {
    addr::parse_socket_addr(ip, port, family).ok_or(error::EINVAL)
}

// ---- exported functions ----------------------------------------------------------------------

fn init(mut cx: FunctionContext) -> JsResult<JsUndefined> {
    let function = cx.argument::<JsFunction>(0)?;
    let reply = cx.argument::<JsTypedArray<u32>>(1)?;
    let runs_ticks = match cx.argument_opt(2) {
        Some(value) => value.downcast_or_throw::<JsBoolean, _>(&mut cx)?.value(&mut cx),
        None => false,
    };
    // A second init on the same thread keeps the first dispatcher; lib/ calls it once per thread.
    if DISPATCH.get(&mut cx).is_none() {
        let dispatcher = dispatch::Dispatcher::new(&mut cx, function, reply, runs_ticks)?;
        DISPATCH.get_or_init(&mut cx, || dispatcher);
    }
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
    let Some(js_loop) = JsLoop::for_this_thread(cx.to_raw() as NapiEnv) else {
        return cx.throw_error("turbo-dgram cannot attach to this Node's event loop (libuv or Node-API symbols missing)");
    };
    let driver = if wanted == DRIVER_INLINE as f64 && js_loop.inline_reactor().is_some() {
        Driver::Inline
    } else if wanted == DRIVER_HANDOVER as f64 {
        Driver::Handover
    } else {
        Driver::Thread
    };
    let spare: Spare = Arc::new(Mutex::new(Mail::default()));
    let core = match driver {
        Driver::Thread => UdpCore::new(js_loop.notifier(spare, Wake::Always)),
        Driver::Inline => UdpCore::new(js_loop.notifier(spare, Wake::Never)),
        Driver::Handover => {
            let loop_state = js_loop.watches.loop_state(js_loop.env);
            UdpCore::with_handover(js_loop.notifier(spare, Wake::FromReactor), loop_state)
        }
    };
    if driver == Driver::Thread {
        js_loop.track_thread_socket(&core);
    }
    Ok(cx.boxed(SocketBox {
        core,
        family: Cell::new(family),
        js_loop,
        driver,
        watching: Cell::new(false),
        peer_port: Cell::new(None),
        wants_ref: Cell::new(true),
        bound: Cell::new(false),
        holding: Cell::new(false),
    }))
}

fn driver_of(mut cx: FunctionContext) -> JsResult<JsNumber> {
    let socket = socket_arg(&mut cx)?;
    let driver = match socket.driver {
        Driver::Thread => DRIVER_THREAD,
        Driver::Inline => DRIVER_INLINE,
        Driver::Handover => DRIVER_HANDOVER,
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
    if bound.is_ok() {
        socket.started();
    }
    int_result(&mut cx, error::status(bound))
}

fn open(mut cx: FunctionContext) -> JsResult<JsNumber> {
    let socket = socket_arg(&mut cx)?;
    let fd = uint_arg(&mut cx, 1, i32::MAX as u32)? as i32;
    // open(handle, fd, true): adopt a duplicate of `fd`, which stays its owner's (a cluster
    // worker's shared handle); a duplicate that cannot be adopted is closed here.
    let duplicate = match cx.argument_opt(2) {
        Some(value) => value.downcast::<JsBoolean, _>(&mut cx).map(|b| b.value(&mut cx)).unwrap_or(false),
        None => false,
    };
    let fd = if duplicate {
        match socket::duplicate_fd(fd) {
            Ok(dup) => dup,
            Err(e) => return int_result(&mut cx, error::to_errno(&e)),
        }
    } else {
        fd
    };
    let adopted = socket::adopt_udp_fd(fd).map_err(|e| error::to_errno(&e)).and_then(|(s, family)| {
        let reactor = match socket.reactor() {
            Ok(reactor) => reactor,
            Err(errno) => {
                socket::give_back(s);
                return Err(errno);
            }
        };
        socket.family.set(family);
        socket.core.attach(crate::reactor::Bound { socket: s, family }, &reactor).map_err(|(errno, bound)| {
            socket::give_back(bound.socket);
            errno
        })
    });
    if adopted.is_ok() {
        socket.started();
    } else if duplicate {
        socket::close_unattached(fd);
    }
    int_result(&mut cx, error::status(adopted))
}

fn connect(mut cx: FunctionContext) -> JsResult<JsNumber> {
    let socket = socket_arg(&mut cx)?;
    let ip = cx.argument::<JsString>(1)?.value(&mut cx);
    let port = uint_arg(&mut cx, 2, u16::MAX as u32)? as u16;
    // Without an fd the answer is EBADF, whatever the address.
    let Some(family) = socket.core.family() else {
        return int_result(&mut cx, error::EBADF);
    };
    let connected = parse_addr(&ip, port, family)
        .and_then(|addr| socket.core.with_socket(|s, _| socket::connect(s, addr)));
    if connected.is_ok() {
        socket.core.set_connected(true);
        socket.peer_port.set(Some(port));
    }
    int_result(&mut cx, error::status(connected))
}

fn disconnect(mut cx: FunctionContext) -> JsResult<JsNumber> {
    let socket = socket_arg(&mut cx)?;
    let disconnected = socket.core.with_socket(|s, _| socket::disconnect(s));
    if disconnected.is_ok() {
        socket.core.set_connected(false);
        socket.peer_port.set(None);
    }
    int_result(&mut cx, error::status(disconnected))
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
    let set = socket.core.with_socket(|s, family| socket::set_option(s, family, opt, value));
    int_result(&mut cx, error::status(set))
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

/// An optional interface argument: not a string (absent, null) means "let the kernel choose".
/// Either family: the kernel answers a mismatch, as it does for the builtin.
fn iface_arg(cx: &mut FunctionContext, index: usize) -> NeonResult<Result<Option<(std::net::IpAddr, u32)>, i32>> {
    // Not a string (undefined, null): any interface. A string is parsed as libuv parses it, so
    // '' is EINVAL.
    let text = match cx.argument_opt(index) {
        Some(value) if value.is_a::<JsString, _>(cx) => value.downcast_or_throw::<JsString, _>(cx)?.value(cx),
        _ => return Ok(Ok(None)),
    };
    Ok(addr::parse_any_ip(&text).map(Some).ok_or(error::EINVAL))
}

fn set_multicast_interface(mut cx: FunctionContext) -> JsResult<JsNumber> {
    let socket = socket_arg(&mut cx)?;
    if socket.core.family().is_none() {
        return int_result(&mut cx, error::EBADF);
    }
    let set = match iface_arg(&mut cx, 1)? {
        Ok(Some((ip, scope))) => socket.core.with_socket(|s, _| socket::set_multicast_interface(s, ip, scope)),
        Ok(None) => Err(error::EINVAL),
        Err(errno) => Err(errno),
    };
    int_result(&mut cx, error::status(set))
}

fn membership_kind(cx: &mut FunctionContext, index: usize) -> NeonResult<Membership> {
    let add = cx.argument::<JsBoolean>(index)?.value(cx);
    Ok(if add { Membership::Join } else { Membership::Leave })
}

fn membership(mut cx: FunctionContext) -> JsResult<JsNumber> {
    let socket = socket_arg(&mut cx)?;
    let how = membership_kind(&mut cx, 1)?;
    let group = cx.argument::<JsString>(2)?.value(&mut cx);
    if socket.core.family().is_none() {
        return int_result(&mut cx, error::EBADF);
    }
    let iface = iface_arg(&mut cx, 3)?;
    let changed = match (addr::parse_any_ip(&group), iface) {
        (Some((group, _)), Ok(iface)) => socket.core.with_socket(|s, _| socket::membership(s, how, group, iface)),
        (None, _) => Err(error::EINVAL),
        (_, Err(errno)) => Err(errno),
    };
    int_result(&mut cx, error::status(changed))
}

fn source_membership(mut cx: FunctionContext) -> JsResult<JsNumber> {
    let socket = socket_arg(&mut cx)?;
    let how = membership_kind(&mut cx, 1)?;
    let source = cx.argument::<JsString>(2)?.value(&mut cx);
    let group = cx.argument::<JsString>(3)?.value(&mut cx);
    if socket.core.family().is_none() {
        return int_result(&mut cx, error::EBADF);
    }
    let iface = iface_arg(&mut cx, 4)?;
    let changed = match (addr::parse_any_ip(&source), addr::parse_any_ip(&group), iface) {
        (Some((source, _)), Some((group, _)), Ok(iface)) => {
            socket.core.with_socket(|s, _| socket::source_membership(s, how, source, group, iface))
        }
        (_, _, Err(errno)) => Err(errno),
        _ => Err(error::EINVAL),
    };
    int_result(&mut cx, error::status(changed))
}

/// `setReceiveInfo(handle, flags)`: RECV_INFO_PKTINFO | RECV_INFO_TIMESTAMP (the extras).
fn set_receive_info(mut cx: FunctionContext) -> JsResult<JsNumber> {
    let socket = socket_arg(&mut cx)?;
    let flags = uint_arg(&mut cx, 1, 3)?;
    let enabled = socket.core.enable_receive_info(flags & 1 != 0, flags & 2 != 0);
    int_result(&mut cx, error::status(enabled))
}

fn set_ref(mut cx: FunctionContext, wants_ref: bool) -> JsResult<JsUndefined> {
    let socket = socket_arg(&mut cx)?;
    socket.wants_ref.set(wants_ref);
    socket.update_ref();
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
    socket.stop_watch();
    socket.core.close();
    socket.update_ref();
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
        ("takeovers", s.takeovers.load(Relaxed)),
        // Read live from the kernel while the socket is open, else the count at close.
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
    let constants: [(&str, f64); 23] = [
        ("KIND_RECV_STEP", KIND_RECV_STEP as f64),
        ("KIND_RECV_ONE", KIND_RECV_ONE as f64),
        ("RECV_INFO_PKTINFO", 1.0),
        ("RECV_INFO_TIMESTAMP", 2.0),
        ("DRIVER_THREAD", DRIVER_THREAD as f64),
        ("DRIVER_INLINE", DRIVER_INLINE as f64),
        ("DRIVER_HANDOVER", DRIVER_HANDOVER as f64),
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
        ("STEPS_PER_CALLBACK", delivery::STEPS_PER_CALLBACK as f64),
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
    cx.export_function("send", send::send)?;
    cx.export_function("sendQueueSize", send_queue_size)?;
    cx.export_function("sendQueueCount", send_queue_count)?;
    cx.export_function("setOption", set_option)?;
    cx.export_function("getOption", get_option)?;
    cx.export_function("setMulticastInterface", set_multicast_interface)?;
    cx.export_function("membership", membership)?;
    cx.export_function("sourceMembership", source_membership)?;
    cx.export_function("setReceiveInfo", set_receive_info)?;
    cx.export_function("ref", ref_)?;
    cx.export_function("unref", unref)?;
    cx.export_function("close", close)?;
    cx.export_function("stats", stats)?;
    Ok(())
}
