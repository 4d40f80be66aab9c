//! `send(handle, bufs, dests, destIndex, results[, count])`: one flush of a socket's send queue
//! (the contract is in lib/native.js).
//!
//! At one datagram per tick a flush is one datagram, so a heap allocation per flush would be one
//! per datagram. A small flush allocates nothing: its lists sit on the stack (`Slots`), the parsed
//! destinations and the outcomes reuse this thread's buffers, and each ip string is read into a
//! stack buffer. neon's borrows decide the shape: a payload's bytes borrow the context, which
//! reading an array element needs mutably, so every handle is gathered before any byte is read.

use std::cell::Cell;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::ops::Deref;

use neon::prelude::*;
use neon::types::buffer::TypedArray;
use socket2::SockAddr;

use super::{whole_number, SocketBox};
use crate::addr::{self, Family};
use crate::batch::Datagram;
use crate::error;
use crate::host::{self, NapiEnv, NapiValue};

/// Entries a flush's lists keep on the stack (datagrams, and destinations as [ip, port] pairs); a
/// larger flush allocates a list once, which its datagrams share.
const INLINE: usize = 16;

/// Bytes of an ip string read without allocating: the longest IPv6 literal with an interface name
/// (45 + 1 + 15) fits with room to spare; a longer string is read the allocating way.
const IP_TEXT: usize = 128;

/// What a flush fills and the next flush of this JS thread reuses.
#[derive(Default)]
struct Scratch {
    addresses: Vec<SockAddr>,
    results: Vec<i32>,
}

thread_local! {
    // Taken for the duration of a flush: a flush nested in it (from a getter on an array lib/
    // did not make) finds it empty and allocates its own.
    static SCRATCH: Cell<Scratch> = Cell::new(Scratch::default());
}

thread_local! {
    /// Flushes this JS thread has made (see `Replies`).
    static FLUSHES: Cell<u64> = const { Cell::new(0) };
}

/// Whether this JS thread sent anything during a receive turn: its listeners answered what the
/// turn read (a server). Moderation does not pause after such a turn (crate::moderation): each of
/// the server's peers waits for a reply, and a pause would add itself, and the late wake-up of a
/// halted vCPU, to every one. At 50k requests/s replies came in batches of ~20 and their p50 was
/// 7x the builtin's (without the pause ~3x lower; the server then spends ~15% more CPU per
/// request, the builtin's, which never pauses either). Counted per thread, not per socket: a
/// server may answer through another socket than the one it reads.
pub(super) struct Replies {
    flushes_before: u64,
}

impl Replies {
    /// At the start of a receive turn.
    pub(super) fn watch() -> Replies {
        Replies { flushes_before: FLUSHES.with(Cell::get) }
    }

    /// At its end.
    pub(super) fn sent(&self) -> bool {
        FLUSHES.with(Cell::get) != self.flushes_before
    }
}

pub(super) fn send(mut cx: FunctionContext) -> JsResult<JsNumber> {
    FLUSHES.with(|flushes| flushes.set(flushes.get().wrapping_add(1)));
    let mut scratch = SCRATCH.take();
    scratch.addresses.clear();
    scratch.results.clear();
    let sent = send_with(&mut cx, &mut scratch);
    SCRATCH.set(scratch);
    sent
}

/// `send`'s six arguments, each as it came.
type Args6<'a> = (Any<'a>, Any<'a>, Any<'a>, Any<'a>, Any<'a>, Any<'a>);
type Any<'a> = Handle<'a, JsValue>;

fn send_with<'a>(cx: &mut FunctionContext<'a>, scratch: &mut Scratch) -> JsResult<'a, JsNumber> {
    // neon's `argument` copies more than four arguments into a heap list; `args` reads them onto
    // the stack (missing ones as undefined, which `arg` then reports as `argument` would).
    let argc = cx.len();
    let (handle, bufs, dests, dest_index, results, count): Args6 = cx.args()?;
    let socket = arg::<JsBox<SocketBox>>(cx, handle, 0, argc)?;
    let bufs = arg::<JsArray>(cx, bufs, 1, argc)?;
    // `count`: the first that many of `bufs` (lib/ keeps a queue's arrays from flush to flush, so
    // they are longer than what they hold); absent or undefined: all of them.
    let limit = if count.is_a::<JsUndefined, _>(cx) {
        u32::MAX
    } else {
        let value = count.downcast_or_throw::<JsNumber, _>(cx)?.value(cx);
        match whole_number(value, u32::MAX) {
            Some(limit) => limit,
            None => return cx.throw_range_error("count must be a whole number"),
        }
    };
    let bufs = array_items(cx, bufs, limit)?;
    let dests = arg::<JsValue>(cx, dests, 2, argc)?;
    let dest_index = arg::<JsValue>(cx, dest_index, 3, argc)?;
    let mut results = arg::<JsInt32Array>(cx, results, 4, argc)?;
    let count = bufs.len();
    if results.as_slice(cx).len() < count {
        return cx.throw_range_error("results array is shorter than the batch");
    }
    let Some(family) = socket.core.family() else {
        return Ok(cx.number(error::EBADF));
    };

    let payloads =
        Slots::<_, INLINE>::try_from_fn(count, |i| bufs[i].downcast_or_throw::<JsTypedArray<u8>, _>(cx))?;
    let dest_index = if dests.is_a::<JsNull, _>(cx) || dests.is_a::<JsUndefined, _>(cx) {
        None
    } else {
        let dests = dests.downcast_or_throw::<JsArray, _>(cx)?;
        let dests = array_items(cx, dests, u32::MAX)?;
        let dest_index = dest_index.downcast_or_throw::<JsTypedArray<u32>, _>(cx)?;
        if let Err(errno) = parse_destinations(cx, &dests, family, &mut scratch.addresses)? {
            return Ok(cx.number(errno));
        }
        Some(dest_index)
    };

    let addresses = &scratch.addresses;
    let sent = {
        let index = dest_index.as_ref().map(|d| d.as_slice(cx));
        if let Some(index) = index {
            if index.len() < count || index[..count].iter().any(|&d| d as usize >= addresses.len()) {
                return cx.throw_range_error("destIndex must name a destination for every datagram");
            }
        }
        let datagrams = Slots::<_, INLINE>::from_fn(count, |i| Datagram {
            payload: payloads[i].as_slice(cx),
            dest: index.map(|index| &addresses[index[i] as usize]),
        });
        match index {
            // A connected socket's destination: its peer's port where `connect` said it.
            None => socket.js_loop.watches.note_send_to(socket.peer_port.get()),
            Some(_) => addresses.iter().for_each(|a| socket.js_loop.watches.note_send_to(a.as_socket().map(|a| a.port()))),
        }
        socket.core.send(&datagrams, &mut scratch.results)
    };
    match sent {
        Ok(finished) => {
            results.as_mut_slice(cx)[..finished].copy_from_slice(&scratch.results[..finished]);
            Ok(cx.number(finished as i32))
        }
        Err(errno) => Ok(cx.number(errno)),
    }
}

/// Argument `index` (read as `value`) as a `V`, thrown at as `FunctionContext::argument` throws.
fn arg<'a, V: Value>(
    cx: &mut FunctionContext<'a>,
    value: Handle<'a, JsValue>,
    index: usize,
    argc: usize,
) -> JsResult<'a, V> {
    if index >= argc {
        return cx.throw_type_error("not enough arguments");
    }
    value.downcast_or_throw(cx)
}

/// The elements of a JS array. Unlike `JsArray::to_vec`, every step returns an error instead of
/// panicking when the env cannot run JS any more (a worker being terminated), which would
/// otherwise abort the process.
fn array_items<'a>(
    cx: &mut FunctionContext<'a>,
    array: Handle<'a, JsArray>,
    limit: u32,
) -> NeonResult<Slots<Handle<'a, JsValue>, INLINE>> {
    // SAFETY: inside this JS call, with `array` a live handle of its env.
    let length = unsafe { host::array_length(cx.to_raw() as NapiEnv, array.to_raw() as NapiValue) };
    let Some(length) = length else { return cx.throw_error("cannot read the array's length") };
    Slots::try_from_fn(length.min(limit) as usize, |i| array.get::<JsValue, _, _>(cx, i as u32))
}

/// The flush's distinct destinations, flat `[ip, port, ...]` as lib/ deduplicated them, appended
/// to `addresses`: each string is read and parsed once per flush, whatever the number of
/// datagrams. A malformed literal fails the whole flush with EINVAL (lib/ sends only literals it
/// resolved).
fn parse_destinations<'a>(
    cx: &mut FunctionContext<'a>,
    flat: &[Handle<'a, JsValue>],
    family: Family,
    addresses: &mut Vec<SockAddr>,
) -> NeonResult<Result<(), i32>> {
    for pair in flat.chunks(2) {
        let [ip, port] = pair else { return cx.throw_range_error("dests must hold [ip, port] pairs") };
        let port = port.downcast_or_throw::<JsNumber, _>(cx)?.value(cx);
        let Some(port) = whole_number(port, u16::MAX as u32) else {
            return cx.throw_range_error("port must be an integer in 0..=65535");
        };
        let ip = ip.downcast_or_throw::<JsString, _>(cx)?;
        let Some(addr) = parse_ip_string(cx, ip, port as u16, family) else { return Ok(Err(error::EINVAL)) };
        addresses.push(SockAddr::from(addr));
    }
    Ok(Ok(()))
}

/// An ip string and `port` as a socket address of `family`, the string read without allocating
/// when it is short (as every real address is).
fn parse_ip_string<'a>(
    cx: &mut FunctionContext<'a>,
    ip: Handle<'a, JsString>,
    port: u16,
    family: Family,
) -> Option<SocketAddr> {
    let mut text = [0u8; IP_TEXT];
    // SAFETY: the env is this JS call's, and `ip` a handle that lives as long as the call.
    match unsafe { host::read_utf8(cx.to_raw() as NapiEnv, ip.to_raw() as NapiValue, &mut text) } {
        Some(text) => addr::parse_socket_addr(text, port, family),
        None => addr::parse_socket_addr(&ip.value(cx), port, family),
    }
}

/// `count` values, on the stack when they are at most `N` (a flush usually carries a few
/// datagrams), else in one heap list.
enum Slots<T, const N: usize> {
    Inline([T; N], usize),
    Heap(Vec<T>),
}

impl<T: Copy, const N: usize> Slots<T, N> {
    /// `f(0)`, `f(1)` ... `f(count - 1)`, in that order, up to the first error.
    fn try_from_fn<E>(count: usize, mut f: impl FnMut(usize) -> Result<T, E>) -> Result<Self, E> {
        if count == 0 || count > N {
            let mut items = Vec::with_capacity(count);
            for i in 0..count {
                items.push(f(i)?);
            }
            return Ok(Slots::Heap(items));
        }
        // The first value fills the unused slots too, so `T` needs no default.
        let first = f(0)?;
        let mut items = [first; N];
        for (i, slot) in items.iter_mut().enumerate().take(count).skip(1) {
            *slot = f(i)?;
        }
        Ok(Slots::Inline(items, count))
    }

    fn from_fn(count: usize, mut f: impl FnMut(usize) -> T) -> Self {
        let Ok(slots) = Self::try_from_fn(count, |i| Ok::<T, Infallible>(f(i)));
        slots
    }
}

impl<T, const N: usize> Deref for Slots<T, N> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match self {
            Slots::Inline(items, len) => &items[..*len],
            Slots::Heap(items) => items,
        }
    }
}
