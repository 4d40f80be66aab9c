//! The Node host functions the drivers need and Neon does not wrap: a few Node-API calls
//! (`napi_get_uv_event_loop`, callback scopes, `napi_fatal_exception`, env cleanup hooks, a string
//! read into a caller's buffer) and libuv's poll and async handles. All of them are looked up at
//! run time in the running node binary with `dlsym`, so the addon still loads (and the thread
//! driver still works) where they are missing, and Rust tests link without Node.
//!
//! Only ABI-stable libuv is used: the handle is allocated with `uv_handle_size(UV_POLL)`, and the
//! only field touched is `data`, which libuv documents as the first member of every handle.
//! All `unsafe` FFI of delivery into JS lives here, and the string read of `send`.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::ptr;
use std::sync::{Arc, Mutex};

use once_cell::sync::OnceCell;

use crate::sync::lock;

pub type NapiEnv = *mut c_void;
pub type NapiValue = *mut c_void;
type NapiStatus = c_int;
type UvLoop = c_void;
type UvPoll = c_void;
type UvPollCb = unsafe extern "C" fn(handle: *mut UvPoll, status: c_int, events: c_int);
type UvCloseCb = unsafe extern "C" fn(handle: *mut c_void);
type UvAsyncCb = unsafe extern "C" fn(handle: *mut c_void);

const NAPI_OK: NapiStatus = 0;
/// `UV_ASYNC`, `UV_CHECK` and `UV_POLL` in `uv_handle_type` (uv.h: UV_HANDLE_TYPE_MAP, stable
/// across libuv 1.x).
const UV_ASYNC: c_int = 1;
const UV_CHECK: c_int = 2;
const UV_POLL: c_int = 8;
const UV_PREPARE: c_int = 9;
/// `UV_READABLE` in `uv_poll_event`.
const UV_READABLE: c_int = 1;

/// Function pointers resolved once per process.
struct Host {
    napi_get_uv_event_loop: unsafe extern "C" fn(NapiEnv, *mut *mut UvLoop) -> NapiStatus,
    napi_open_handle_scope: unsafe extern "C" fn(NapiEnv, *mut *mut c_void) -> NapiStatus,
    napi_close_handle_scope: unsafe extern "C" fn(NapiEnv, *mut c_void) -> NapiStatus,
    napi_create_string_utf8: unsafe extern "C" fn(NapiEnv, *const c_char, usize, *mut NapiValue) -> NapiStatus,
    napi_get_value_string_utf8: unsafe extern "C" fn(NapiEnv, NapiValue, *mut c_char, usize, *mut usize) -> NapiStatus,
    napi_get_array_length: unsafe extern "C" fn(NapiEnv, NapiValue, *mut u32) -> NapiStatus,
    napi_async_init: unsafe extern "C" fn(NapiEnv, NapiValue, NapiValue, *mut *mut c_void) -> NapiStatus,
    napi_open_callback_scope: unsafe extern "C" fn(NapiEnv, NapiValue, *mut c_void, *mut *mut c_void) -> NapiStatus,
    napi_close_callback_scope: unsafe extern "C" fn(NapiEnv, *mut c_void) -> NapiStatus,
    napi_is_exception_pending: unsafe extern "C" fn(NapiEnv, *mut bool) -> NapiStatus,
    napi_get_and_clear_last_exception: unsafe extern "C" fn(NapiEnv, *mut NapiValue) -> NapiStatus,
    napi_fatal_exception: unsafe extern "C" fn(NapiEnv, NapiValue) -> NapiStatus,
    napi_add_env_cleanup_hook: unsafe extern "C" fn(NapiEnv, unsafe extern "C" fn(*mut c_void), *mut c_void) -> NapiStatus,
    napi_remove_env_cleanup_hook: unsafe extern "C" fn(NapiEnv, unsafe extern "C" fn(*mut c_void), *mut c_void) -> NapiStatus,
    uv_handle_size: unsafe extern "C" fn(c_int) -> usize,
    uv_poll_init: unsafe extern "C" fn(*mut UvLoop, *mut UvPoll, c_int) -> c_int,
    uv_poll_start: unsafe extern "C" fn(*mut UvPoll, c_int, UvPollCb) -> c_int,
    uv_poll_stop: unsafe extern "C" fn(*mut UvPoll) -> c_int,
    uv_async_init: unsafe extern "C" fn(*mut UvLoop, *mut c_void, UvAsyncCb) -> c_int,
    uv_async_send: unsafe extern "C" fn(*mut c_void) -> c_int,
    uv_check_init: unsafe extern "C" fn(*mut UvLoop, *mut c_void) -> c_int,
    uv_check_start: unsafe extern "C" fn(*mut c_void, UvAsyncCb) -> c_int,
    uv_prepare_init: unsafe extern "C" fn(*mut UvLoop, *mut c_void) -> c_int,
    uv_prepare_start: unsafe extern "C" fn(*mut c_void, UvAsyncCb) -> c_int,
    uv_close: unsafe extern "C" fn(*mut c_void, UvCloseCb),
    uv_ref: unsafe extern "C" fn(*mut c_void),
    uv_unref: unsafe extern "C" fn(*mut c_void),
}

static HOST: OnceCell<Option<Host>> = OnceCell::new();

fn host() -> Option<&'static Host> {
    HOST.get_or_init(Host::resolve).as_ref()
}

/// Looks a symbol up in the process (the node executable exports Node-API and libuv).
fn symbol(name: &CStr) -> Option<*mut c_void> {
    // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name only reads the symbol tables.
    let found = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    (!found.is_null()).then_some(found)
}

macro_rules! resolve {
    ($name:ident) => {{
        let name = concat!(stringify!($name), "\0");
        let found = symbol(CStr::from_bytes_with_nul(name.as_bytes()).ok()?)?;
        // SAFETY: the symbol is the host's function of that name; its signature is the one
        // declared in `Host`, taken from node_api.h / js_native_api.h / uv.h (the target type
        // is the field's, inferred).
        #[allow(clippy::missing_transmute_annotations)]
        unsafe { std::mem::transmute::<*mut c_void, _>(found) }
    }};
}

impl Host {
    fn resolve() -> Option<Host> {
        Some(Host {
            napi_get_uv_event_loop: resolve!(napi_get_uv_event_loop),
            napi_open_handle_scope: resolve!(napi_open_handle_scope),
            napi_close_handle_scope: resolve!(napi_close_handle_scope),
            napi_create_string_utf8: resolve!(napi_create_string_utf8),
            napi_get_value_string_utf8: resolve!(napi_get_value_string_utf8),
            napi_get_array_length: resolve!(napi_get_array_length),
            napi_async_init: resolve!(napi_async_init),
            napi_open_callback_scope: resolve!(napi_open_callback_scope),
            napi_close_callback_scope: resolve!(napi_close_callback_scope),
            napi_is_exception_pending: resolve!(napi_is_exception_pending),
            napi_get_and_clear_last_exception: resolve!(napi_get_and_clear_last_exception),
            napi_fatal_exception: resolve!(napi_fatal_exception),
            napi_add_env_cleanup_hook: resolve!(napi_add_env_cleanup_hook),
            napi_remove_env_cleanup_hook: resolve!(napi_remove_env_cleanup_hook),
            uv_handle_size: resolve!(uv_handle_size),
            uv_poll_init: resolve!(uv_poll_init),
            uv_poll_start: resolve!(uv_poll_start),
            uv_poll_stop: resolve!(uv_poll_stop),
            uv_async_init: resolve!(uv_async_init),
            uv_async_send: resolve!(uv_async_send),
            uv_check_init: resolve!(uv_check_init),
            uv_check_start: resolve!(uv_check_start),
            uv_prepare_init: resolve!(uv_prepare_init),
            uv_prepare_start: resolve!(uv_prepare_start),
            uv_close: resolve!(uv_close),
            uv_ref: resolve!(uv_ref),
            uv_unref: resolve!(uv_unref),
        })
    }
}

/// A JS string as UTF-8, read into `buf` (`napi_get_value_string_utf8`) instead of a new
/// `String` as Neon's `JsString::value` makes. `None` when the string may not have fit (the
/// caller then reads it the allocating way), or when Node-API refuses.
///
/// # Safety
/// `env` must be the calling JS thread's env inside a JS call, and `value` a live handle of it.
pub unsafe fn read_utf8(env: NapiEnv, value: NapiValue, buf: &mut [u8]) -> Option<&str> {
    let host = host()?;
    let mut written = 0usize;
    if (host.napi_get_value_string_utf8)(env, value, buf.as_mut_ptr().cast(), buf.len(), &mut written) != NAPI_OK {
        return None;
    }
    // Node writes at most `buf.len() - 1` bytes (then a NUL) and stops before a character that
    // does not fit, which takes up to 4 bytes: only a string that ends further from the limit is
    // known to be whole.
    if written + 4 >= buf.len() {
        return None;
    }
    std::str::from_utf8(buf.get(..written)?).ok()
}

/// The length of a JS array (`napi_get_array_length`), where Neon's `JsArray::len` would panic on
/// a failure and reading the `length` property by name costs a string lookup per call. `None`
/// when Node-API refuses (the env is being torn down).
///
/// # Safety
/// `env` must be the calling JS thread's env inside a JS call, and `array` a live handle of it
/// to an array.
pub unsafe fn array_length(env: NapiEnv, array: NapiValue) -> Option<u32> {
    let host = host()?;
    let mut length = 0u32;
    ((host.napi_get_array_length)(env, array, &mut length) == NAPI_OK).then_some(length)
}

/// What a loop handle calls on the JS thread when it fires, inside fresh scopes.
pub type OnFire = Box<dyn FnMut(&mut LoopCallback)>;

/// What a check handle runs every loop iteration, after the poll phase. It runs no JS (no scope
/// is opened for it), so it must not call into JS.
pub type Task = Box<dyn FnMut()>;

/// What the libuv callbacks of one handle need. Freed by `free_handle` after `uv_close`.
struct HandleState {
    env: NapiEnv,
    async_context: *mut c_void,
    on_fire: OnFire,
    handle: *mut c_void,
    /// For an async handle: the senders' view of it, cleared before the handle closes.
    sender: Option<Arc<WakeSender>>,
    /// For a check handle: what it runs (instead of `on_fire`).
    task: Option<Task>,
    closed: bool,
}

/// Which libuv handle to make.
pub enum LoopHandleKind {
    /// `uv_poll_t` watching an fd for readability (the inline driver's epoll fd, a socket of the
    /// handover driver, a pause timer).
    Readable(c_int),
    /// `uv_async_t`, fired from any thread through its `WakeSender` (the thread driver's wake-up).
    Async,
    /// `uv_check_t`: a task after each poll phase of the loop (the thread driver's read assist);
    /// see `LoopHandle::start_check`.
    Check(Task),
    /// `uv_prepare_t`: a task before each poll phase (before libuv may block waiting for I/O).
    Prepare(Task),
}

/// A libuv handle on a JS thread's event loop. It starts unreferenced (it does not keep the
/// loop alive) and closes itself when the env is torn down (a worker exiting).
pub struct LoopHandle {
    state: *mut HandleState,
}

/// Fires an async `LoopHandle` from any thread; a no-op once the handle is closed, so the reactor
/// thread may keep it past a worker's exit.
pub struct WakeSender {
    /// The `uv_async_t`, or null once closed.
    handle: Mutex<usize>,
}

impl WakeSender {
    pub fn wake(&self) {
        let Some(host) = host() else { return };
        let handle = lock(&self.handle);
        if *handle != 0 {
            // SAFETY: the handle is open while the pointer is set (cleared under this lock
            // before uv_close); uv_async_send may be called from any thread.
            unsafe {
                (host.uv_async_send)(*handle as *mut c_void);
            }
        }
    }
}

impl LoopHandle {
    /// Makes the handle on the loop of `env` (the calling JS thread's env). `None` when the
    /// host lacks a needed function or libuv refuses.
    pub fn start(env: NapiEnv, kind: LoopHandleKind, on_fire: OnFire) -> Option<LoopHandle> {
        LoopHandle::start_in(env, kind, on_fire, None)
    }

    /// `start` for a handle whose callbacks run in the async context of `other` (a handle of the
    /// same env), instead of one of its own: a handle made per socket would otherwise leave an
    /// async context behind per socket, and one cannot be destroyed while a callback of its
    /// handle is running (a socket closed by its own 'message' listener).
    pub fn start_sharing(env: NapiEnv, kind: LoopHandleKind, on_fire: OnFire, other: &LoopHandle) -> Option<LoopHandle> {
        // SAFETY: as in `sender`.
        let context = unsafe { (*other.state).async_context };
        LoopHandle::start_in(env, kind, on_fire, Some(context))
    }

    fn start_in(env: NapiEnv, kind: LoopHandleKind, on_fire: OnFire, context: Option<*mut c_void>) -> Option<LoopHandle> {
        let host = host()?;
        // SAFETY: `env` is the current thread's napi_env (the caller is inside a JS call), and
        // every out-pointer is valid. The handle gets exactly uv_handle_size() bytes from malloc
        // and is freed only in the close callback, after libuv is done with it.
        unsafe {
            let mut uv_loop = ptr::null_mut();
            if (host.napi_get_uv_event_loop)(env, &mut uv_loop) != NAPI_OK || uv_loop.is_null() {
                return None;
            }
            // A check or prepare handle runs its task outside any scope: it needs no async context.
            let async_context = match (&kind, context) {
                (LoopHandleKind::Check(_) | LoopHandleKind::Prepare(_), _) => ptr::null_mut(),
                (_, Some(shared)) => shared,
                _ => async_context(host, env)?,
            };
            let type_id = match kind {
                LoopHandleKind::Readable(_) => UV_POLL,
                LoopHandleKind::Async => UV_ASYNC,
                LoopHandleKind::Check(_) => UV_CHECK,
                LoopHandleKind::Prepare(_) => UV_PREPARE,
            };
            let handle = libc::malloc((host.uv_handle_size)(type_id));
            if handle.is_null() {
                return None;
            }
            let started = match kind {
                LoopHandleKind::Readable(fd) => (host.uv_poll_init)(uv_loop, handle, fd) == 0,
                LoopHandleKind::Async => (host.uv_async_init)(uv_loop, handle, on_async) == 0,
                LoopHandleKind::Check(_) => (host.uv_check_init)(uv_loop, handle) == 0,
                LoopHandleKind::Prepare(_) => (host.uv_prepare_init)(uv_loop, handle) == 0,
            };
            if !started {
                libc::free(handle);
                return None;
            }
            let sender = matches!(kind, LoopHandleKind::Async).then(|| Arc::new(WakeSender { handle: Mutex::new(handle as usize) }));
            let start_task: Option<unsafe extern "C" fn(*mut c_void, UvAsyncCb) -> c_int> = match kind {
                LoopHandleKind::Check(_) => Some(host.uv_check_start),
                LoopHandleKind::Prepare(_) => Some(host.uv_prepare_start),
                _ => None,
            };
            let (readable, task) = match kind {
                LoopHandleKind::Readable(_) => (true, None),
                LoopHandleKind::Async => (false, None),
                LoopHandleKind::Check(task) | LoopHandleKind::Prepare(task) => (false, Some(task)),
            };
            let state = Box::into_raw(Box::new(HandleState { env, async_context, on_fire, handle, sender, task, closed: false }));
            // `data` is the first member of every uv handle (uv.h: UV_HANDLE_FIELDS).
            *(handle as *mut *mut c_void) = state as *mut c_void;
            (host.uv_unref)(handle);
            let watching = if readable {
                (host.uv_poll_start)(handle, UV_READABLE, on_poll) == 0
            } else if let Some(start_task) = start_task {
                start_task(handle, on_task) == 0
            } else {
                true
            };
            if !watching {
                close_on_teardown(state as *mut c_void);
                return None;
            }
            (host.napi_add_env_cleanup_hook)(env, close_on_teardown, state as *mut c_void);
            Some(LoopHandle { state })
        }
    }

    /// A check handle running `task` after every poll phase of the loop of `env`.
    pub fn start_check(env: NapiEnv, task: Task) -> Option<LoopHandle> {
        LoopHandle::start(env, LoopHandleKind::Check(task), Box::new(|_| {}))
    }

    /// A prepare handle running `task` before every poll phase of the loop of `env`.
    pub fn start_prepare(env: NapiEnv, task: Task) -> Option<LoopHandle> {
        LoopHandle::start(env, LoopHandleKind::Prepare(task), Box::new(|_| {}))
    }

    /// The sender of an async handle (`None` for a poll handle).
    pub fn sender(&self) -> Option<Arc<WakeSender>> {
        // SAFETY: `state` lives until the handle's close callback, which runs only after the
        // env's teardown; the JS thread (the only caller) runs no JS after that.
        unsafe { (*self.state).sender.clone() }
    }

    /// Starts or stops a poll handle watching its fd; returns whether libuv agreed. A stopped
    /// handle never fires and, like any inactive handle, does not keep the loop alive.
    pub fn set_watching(&self, watching: bool) -> bool {
        let Some(host) = host() else { return false };
        // SAFETY: as in `sender`; a closed handle is not touched. Poll handles are the ones with
        // neither a sender (async) nor a task (check), and only they have `on_poll`.
        unsafe {
            let state = &*self.state;
            if state.closed || state.sender.is_some() || state.task.is_some() {
                return false;
            }
            let status = if watching {
                (host.uv_poll_start)(state.handle, UV_READABLE, on_poll)
            } else {
                (host.uv_poll_stop)(state.handle)
            };
            status == 0
        }
    }

    /// Closes the handle now, before the env's teardown would (a socket's own watch, closed with
    /// the socket: libuv must stop watching an fd before it is closed). A handle the teardown
    /// already closed is left alone.
    pub fn close(self) {
        let Some(host) = host() else { return };
        // SAFETY: as in `sender`. The cleanup hook is removed first so that it never sees the
        // state `free_handle` will free; `close_on_teardown` is the same close it would have run.
        unsafe {
            if (*self.state).closed {
                return;
            }
            (host.napi_remove_env_cleanup_hook)((*self.state).env, close_on_teardown, self.state as *mut c_void);
            close_on_teardown(self.state as *mut c_void);
        }
    }

    /// Whether the handle keeps the event loop alive.
    pub fn set_ref(&self, referenced: bool) {
        let Some(host) = host() else { return };
        // SAFETY: as in `sender`; a closed handle is not touched.
        unsafe {
            let state = &*self.state;
            if state.closed {
                return;
            }
            if referenced {
                (host.uv_ref)(state.handle);
            } else {
                (host.uv_unref)(state.handle);
            }
        }
    }
}

/// # Safety
/// `env` must be the calling JS thread's env, inside a handle scope (a JS call).
unsafe fn async_context(host: &Host, env: NapiEnv) -> Option<*mut c_void> {
    let name = b"turbo-dgram";
    let mut resource_name = ptr::null_mut();
    let mut context = ptr::null_mut();
    let ok = (host.napi_create_string_utf8)(env, name.as_ptr() as *const c_char, name.len(), &mut resource_name) == NAPI_OK
        && (host.napi_async_init)(env, ptr::null_mut(), resource_name, &mut context) == NAPI_OK;
    ok.then_some(context)
}

/// Proof that the code runs in one of our libuv callbacks on `env`'s thread, inside a handle
/// scope, with no callback scope of ours open.
///
/// Each call into JS runs outside any callback scope. Its nextTicks and microtasks then run, as
/// after each builtin I/O callback (node:dgram makes one per datagram): JS runs them itself where
/// it can (lib/socket.js, `runTicks`), else `after_js_call` opens and closes an empty callback
/// scope, which at the top of the stack makes Node run them. Why no callback scope around the
/// call itself: the receive events enter the
/// socket's async context from JS (lib/async-context.js, `runInAsyncScope`). Nested inside a native
/// callback scope, that JS push lands one level above the native one and its pop leaves the JS
/// list of execution resources one entry longer than the native stack, so every native pop then
/// shrinks that list through a generic V8 property write, and the next push grows it again (17%
/// of a flooded receiver's CPU in `perf record`, most of it `node::AsyncHooks::pop_async_context`).
/// At the top of the stack the JS push and pop are all there is.
pub struct LoopCallback {
    pub env: NapiEnv,
    async_context: *mut c_void,
}

impl LoopCallback {
    /// After a call into JS that returned: runs the nextTicks and microtasks it queued. A tick
    /// that throws is Node's to report, as after a builtin recv callback: the callback scope's own
    /// verbose TryCatch hands it to 'uncaughtException', and closing a scope is no Node-API call
    /// that could leave an exception pending here.
    pub fn after_js_call(&self) {
        let Some(host) = host() else { return };
        let mut scope = ptr::null_mut();
        // SAFETY: on the JS thread, inside the handle scope opened by `fire`, with no callback
        // scope of ours open; `async_context` is the handle's, alive while the handle is. The
        // resource argument is ignored by Node-API (the context's own resource is used), so none
        // is made for it.
        unsafe {
            if (host.napi_open_callback_scope)(self.env, ptr::null_mut(), self.async_context, &mut scope) == NAPI_OK {
                (host.napi_close_callback_scope)(self.env, scope);
            }
        }
    }

    /// Hands an exception the JS code left pending to Node as uncaught (the 'uncaughtException'
    /// path a throw in a builtin 'message' listener takes). Returns whether there was one.
    pub fn report_pending_exception(&self) -> bool {
        let Some(host) = host() else { return false };
        // SAFETY: called on the JS thread inside the scopes opened by `fire`.
        unsafe {
            let mut pending = false;
            if (host.napi_is_exception_pending)(self.env, &mut pending) != NAPI_OK || !pending {
                return false;
            }
            let mut error = ptr::null_mut();
            if (host.napi_get_and_clear_last_exception)(self.env, &mut error) == NAPI_OK {
                (host.napi_fatal_exception)(self.env, error);
            }
            true
        }
    }
}

// SAFETY (both callbacks): libuv calls them on the loop's thread with a handle we started,
// whose `data` is our HandleState until `free_handle`.
unsafe extern "C" fn on_poll(handle: *mut c_void, status: c_int, _events: c_int) {
    if status < 0 {
        // libuv stops a poll handle whose fd reports POLLERR (a connected UDP socket's pending
        // ICMP error) and says UV_EBADF. The read this callback makes takes the error (as the
        // builtin's recvmsg does at that point), so the watch goes on.
        restart_poll(handle);
    }
    fire(handle);
}

/// # Safety
/// As for `on_poll`.
unsafe fn restart_poll(handle: *mut c_void) {
    let Some(host) = host() else { return };
    let state = *(handle as *mut *mut HandleState);
    if !state.is_null() && !(*state).closed {
        (host.uv_poll_start)(handle, UV_READABLE, on_poll);
    }
}

unsafe extern "C" fn on_async(handle: *mut c_void) {
    fire(handle);
}

unsafe extern "C" fn on_task(handle: *mut c_void) {
    let state = *(handle as *mut *mut HandleState);
    if state.is_null() || (*state).closed {
        return;
    }
    let Some(task) = (*state).task.as_mut() else { return };
    // A panic must not unwind into libuv: it only costs this iteration's run.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(task));
}

/// Runs a handle's `on_fire` inside a handle scope of its env (see `LoopCallback`).
///
/// # Safety
/// On the handle's loop thread, from a libuv callback (no JS on the stack), with `handle` one of
/// ours that is not yet freed.
unsafe fn fire(handle: *mut c_void) {
    let Some(host) = host() else { return };
    let state = *(handle as *mut *mut HandleState);
    if state.is_null() || (*state).closed {
        return;
    }
    let state = &mut *state;
    let env = state.env;
    let mut handle_scope = ptr::null_mut();
    if (host.napi_open_handle_scope)(env, &mut handle_scope) != NAPI_OK {
        return;
    }
    let mut scope = LoopCallback { env, async_context: state.async_context };
    // A panic must not unwind into libuv: it costs this callback only.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (state.on_fire)(&mut scope)));
    scope.report_pending_exception();
    (host.napi_close_handle_scope)(env, handle_scope);
}

/// Env cleanup hook (and failure path of `start`): closes the handle once; its memory and state
/// are freed by `free_handle` when libuv is done with it.
///
/// # Safety
/// `arg` is the HandleState of a started handle, on its loop's thread.
unsafe extern "C" fn close_on_teardown(arg: *mut c_void) {
    let Some(host) = host() else { return };
    let state = &mut *(arg as *mut HandleState);
    if !state.closed {
        state.closed = true;
        if let Some(sender) = &state.sender {
            *lock(&sender.handle) = 0;
        }
        (host.uv_close)(state.handle, free_handle);
    }
}

/// # Safety
/// libuv's close callback for a handle allocated by `LoopHandle::start`: called once, after which
/// libuv no longer touches it.
unsafe extern "C" fn free_handle(handle: *mut c_void) {
    let state = *(handle as *mut *mut HandleState);
    if !state.is_null() {
        drop(Box::from_raw(state));
    }
    libc::free(handle);
}
