// The ES module loader that lib/register.js hands to module.register() on Node without
// module.registerHooks() (Node 20.6 - 22.14). It runs on Node's loader thread; the decision itself
// lives in lib/register-resolve.js, shared with the in-thread hook.

import { createRequire } from 'node:module';

const { resolveDgram } = createRequire(import.meta.url)('./register-resolve.js');

export async function resolve(specifier, context, nextResolve) {
  return resolveDgram(specifier, context, nextResolve);
}
