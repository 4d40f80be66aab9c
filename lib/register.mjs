// `node --import turbo-dgram/register app.mjs`: the same hook as `-r turbo-dgram/register`, which
// covers both require() and import (see lib/register.js).

import { createRequire } from 'node:module';

const register = createRequire(import.meta.url)('./register.js');

export const active = register.active;
export default register;
