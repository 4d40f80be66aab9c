// ES module entry: the CommonJS module as the default export, plus named exports, as
// `import dgram from 'node:dgram'` and `import { createSocket } from 'node:dgram'` give.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const dgram = require('./index.js');

export default dgram;
export const { createSocket, Socket, drivers, implementation } = dgram;
