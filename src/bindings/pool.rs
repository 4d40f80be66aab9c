//! The receive pool of a JS thread: one ArrayBuffer that single-datagram deliveries copy their
//! payload into, back to back, so that JS makes each `msg` as a view of it instead of the native
//! side making a Buffer per datagram (`napi_create_buffer_copy` allocates a backing store and sets
//! a prototype each time: ~2 us here, more than the rest of a delivery's Node-API calls together).
//! Node's own `Buffer.allocUnsafe` pool works the same way; a pool is never written twice, so a
//! view JS keeps never changes under it.

use neon::prelude::*;
use neon::types::buffer::TypedArray;

/// Bytes of a new pool (a datagram larger than that gets a pool of its own size). Small, because
/// a kept `msg` keeps its whole pool alive, as with Node's 8 KiB pool.
const POOL_BYTES: usize = 16 * 1024;

#[derive(Default)]
pub struct ReceivePool {
    buffer: Option<Root<JsArrayBuffer>>,
    /// Bytes of `buffer` handed out so far, and its size.
    used: usize,
    size: usize,
}

impl ReceivePool {
    /// Copies `payload` into the pool. Returns the offset it landed at, and the pool's ArrayBuffer
    /// when it is a new one that JS has not been given yet (else JS uses the one it has).
    pub fn place<'a>(&mut self, cx: &mut Cx<'a>, payload: &[u8]) -> NeonResult<(Option<Handle<'a, JsArrayBuffer>>, usize)> {
        let len = payload.len();
        if let Some(root) = &self.buffer {
            if self.size - self.used >= len {
                let mut buffer = root.to_inner(cx);
                let slice = buffer.as_mut_slice(cx);
                // A pool that user code transferred away (postMessage of `msg.buffer`) is
                // detached: its slice is empty, and it is replaced below.
                let whole = slice.len() == self.size;
                if let Some(target) = slice.get_mut(self.used..self.used + len).filter(|_| whole) {
                    target.copy_from_slice(payload);
                    let offset = self.used;
                    self.used += len;
                    return Ok((None, offset));
                }
            }
        }
        let size = POOL_BYTES.max(len);
        let mut buffer = JsArrayBuffer::new(cx, size)?;
        if let Some(target) = buffer.as_mut_slice(cx).get_mut(..len) {
            target.copy_from_slice(payload);
        }
        if let Some(old) = self.buffer.replace(buffer.root(cx)) {
            old.drop(cx);
        }
        self.used = len;
        self.size = size;
        Ok((Some(buffer), 0))
    }
}
