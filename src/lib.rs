//! turbo-dgram's native core: UDP sockets driven by a mio reactor with batched syscalls.
//!
//! Layout (the map: docs/ARCHITECTURE.md): `bindings` is the only module that knows Neon;
//! `reactor` (a directory) owns a socket's shared state, readiness and the mailbox JS is delivered
//! from; `socket` creates sockets and sets options; `batch` (a directory) holds the
//! recvmmsg/sendmmsg and control-message `unsafe`; `host` the libuv/Node-API FFI; `addr` and
//! `error` convert addresses and errors; `moderation` decides when a driver pauses to gather a
//! batch; `handover` when the default driver's reads pass between a JS thread and the reactor;
//! `sync` has the lock helpers.

pub mod addr;
pub mod batch;
mod bindings;
pub mod error;
pub mod handover;
mod host;
mod moderation;
pub mod reactor;
pub mod socket;
mod sync;

#[neon::main]
fn main(mut cx: neon::context::ModuleContext) -> neon::result::NeonResult<()> {
    bindings::register(&mut cx)
}
