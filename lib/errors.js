'use strict';

// Node-shaped errors. Two families, as in Node's lib/internal/errors.js:
//   - ERR_* argument and state errors: the base class's name (TypeError, RangeError, Error), an own
//     enumerable `code`, the exact message, and `toString()` / stack header `Name [CODE]: message`.
//   - System errors built from a negative errno: plain Errors with own `errno`, `code`, `syscall`
//     (and `address` / `port`), message `${syscall} ${code}[ ${address}[:${port}]]`.
// ERR_SOCKET_BUFFER_SIZE is Node's one SystemError here: name 'SystemError', an `info` object, and
// `errno` / `syscall` accessors that util.inspect shows as [Getter/Setter].

const os = require('node:os');
const util = require('node:util');

let systemErrorMap; // errno -> [code, description], loaded on the first system error

function errnoName(errno) {
  return util.getSystemErrorName(errno);
}

function errnoDescription(errno) {
  systemErrorMap ??= util.getSystemErrorMap();
  const entry = systemErrorMap.get(errno);
  return entry ? entry[1] : 'unknown error';
}

// The stack is formatted lazily by V8 from the error's name at first access. Node's own errors get
// the code into the header through an internal marker we cannot set, so we format the stack once
// with the header name in place, then restore the name.
function stampStackHeader(error, headerName, restore) {
  Object.defineProperty(error, 'name', { value: headerName, configurable: true, writable: true });
  void error.stack;
  restore();
}

// ---------------------------------------------------------------------------------------------
// "Received ..." formatting, as Node's determineSpecificType and ERR_INVALID_ARG_TYPE do it.

function describeReceived(value) {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  switch (typeof value) {
    case 'bigint': return `type bigint (${value}n)`;
    case 'number':
      if (value === 0) return 1 / value === -Infinity ? 'type number (-0)' : 'type number (0)';
      return `type number (${value})`; // NaN and ±Infinity print as themselves
    case 'boolean': return `type boolean (${value})`;
    case 'symbol': return `type symbol (${String(value)})`;
    case 'function': return `function ${value.name}`;
    case 'object': {
      const name = value.constructor?.name;
      if (typeof name === 'string' && name !== '') return `an instance of ${name}`;
      return util.inspect(value, { depth: -1 });
    }
    case 'string': {
      const shown = value.length > 28 ? `${value.slice(0, 25)}...` : value;
      return shown.includes("'") ? `type string (${JSON.stringify(shown)})` : `type string ('${shown}')`;
    }
    default: {
      let shown = util.inspect(value, { colors: false });
      if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
      return `type ${typeof value} (${shown})`;
    }
  }
}

function formatList(items, joiner) {
  if (items.length <= 2) return items.join(` ${joiner} `);
  return `${items.slice(0, -1).join(', ')}, ${joiner} ${items[items.length - 1]}`;
}

// Node sorts expected types into primitives (lower-cased), classes, and other words.
const PRIMITIVE_TYPES = new Set(['string', 'function', 'number', 'object', 'Function', 'Object',
  'boolean', 'bigint', 'symbol']);

function invalidArgTypeMessage(name, expected, actual) {
  const kind = name.endsWith(' argument') ? '' : (name.includes('.') ? ' property' : ' argument');
  const subject = name.endsWith(' argument') ? name : `"${name}"${kind}`;
  const types = [];
  const instances = [];
  const other = [];
  for (const value of Array.isArray(expected) ? expected : [expected]) {
    if (PRIMITIVE_TYPES.has(value)) types.push(value.toLowerCase());
    else if (/^[A-Z][a-zA-Z0-9]*$/.test(value)) instances.push(value);
    else other.push(value);
  }
  if (instances.length > 0 && types.includes('object')) {
    types.splice(types.indexOf('object'), 1);
    instances.push('Object');
  }
  const parts = [];
  if (types.length > 0) parts.push(`${types.length > 1 ? 'one of type' : 'of type'} ${formatList(types, 'or')}`);
  if (instances.length > 0) parts.push(`an instance of ${formatList(instances, 'or')}`);
  if (other.length > 0) {
    parts.push(other.length > 1 ? `one of ${formatList(other, 'or')}` :
      `${other[0].toLowerCase() !== other[0] ? 'an ' : ''}${other[0]}`);
  }
  return `The ${subject} must be ${parts.join(' or ')}. Received ${describeReceived(actual)}`;
}

function withSeparators(digits) {
  const start = digits[0] === '-' ? 1 : 0;
  let out = '';
  let i = digits.length;
  for (; i >= start + 4; i -= 3) out = `_${digits.slice(i - 3, i)}${out}`;
  return `${digits.slice(0, i)}${out}`;
}

function outOfRangeMessage(name, range, input) {
  let received;
  if (Number.isInteger(input) && Math.abs(input) > 2 ** 32) received = withSeparators(String(input));
  else if (typeof input === 'bigint') {
    received = String(input);
    if (input > 2n ** 32n || input < -(2n ** 32n)) received = withSeparators(received);
    received += 'n';
  } else received = util.inspect(input);
  return `The value of "${name}" is out of range. It must be ${range}. Received ${received}`;
}

function invalidArgValueMessage(name, value, reason = 'is invalid') {
  let shown = util.inspect(value);
  if (shown.length > 128) shown = `${shown.slice(0, 128)}...`;
  return `The ${name.includes('.') ? 'property' : 'argument'} '${name}' ${reason}. Received ${shown}`;
}

function missingArgsMessage(...names) {
  const quoted = names.map((n) => (Array.isArray(n) ? n.map((a) => `"${a}"`).join(' or ') : `"${n}"`));
  return `The ${formatList(quoted, 'and')} argument${names.length > 1 ? 's' : ''} must be specified`;
}

// ---------------------------------------------------------------------------------------------
// ERR_* classes. Like Node's, each is a subclass of its base whose `constructor` reads as the
// base, with `code` as an own enumerable field.

function defineCode(code, Base, message) {
  const fixed = typeof message === 'string';
  class NodeError extends Base {
    constructor(...args) {
      // Node passes a fixed message to the base constructor but defines a computed one after the
      // `code` field: own property order (stack, message, code vs stack, code, message) follows.
      super(...(fixed ? [message] : []));
      this.code = code;
      if (!fixed) {
        Object.defineProperty(this, 'message', {
          value: message(...args), enumerable: false, writable: true, configurable: true,
        });
      }
      stampStackHeader(this, `${Base.prototype.name} [${code}]`, () => { delete this.name; });
    }

    get ['constructor']() { return Base; }

    toString() { return `${this.name} [${code}]: ${this.message}`; }
  }
  return NodeError;
}

const codes = {
  ERR_BUFFER_OUT_OF_BOUNDS: defineCode('ERR_BUFFER_OUT_OF_BOUNDS', RangeError,
    (name) => (name ? `"${name}" is outside of buffer bounds` : 'Attempt to access memory outside buffer bounds')),
  ERR_INVALID_ARG_TYPE: defineCode('ERR_INVALID_ARG_TYPE', TypeError, invalidArgTypeMessage),
  ERR_INVALID_ARG_VALUE: defineCode('ERR_INVALID_ARG_VALUE', TypeError, invalidArgValueMessage),
  ERR_INVALID_FD_TYPE: defineCode('ERR_INVALID_FD_TYPE', TypeError, (type) => `Unsupported fd type: ${type}`),
  ERR_IP_BLOCKED: defineCode('ERR_IP_BLOCKED', Error, (ip) => `IP(${ip}) is blocked by net.BlockList`),
  ERR_MISSING_ARGS: defineCode('ERR_MISSING_ARGS', TypeError, missingArgsMessage),
  ERR_OUT_OF_RANGE: defineCode('ERR_OUT_OF_RANGE', RangeError, outOfRangeMessage),
  ERR_SOCKET_ALREADY_BOUND: defineCode('ERR_SOCKET_ALREADY_BOUND', Error, 'Socket is already bound'),
  ERR_SOCKET_BAD_BUFFER_SIZE: defineCode('ERR_SOCKET_BAD_BUFFER_SIZE', TypeError,
    'Buffer size must be a positive integer'),
  ERR_SOCKET_BAD_PORT: defineCode('ERR_SOCKET_BAD_PORT', RangeError, (name, port, allowZero = true) =>
    `${name} should be ${allowZero ? '>=' : '>'} 0 and < 65536. Received ${describeReceived(port)}.`),
  ERR_SOCKET_BAD_TYPE: defineCode('ERR_SOCKET_BAD_TYPE', TypeError,
    'Bad socket type specified. Valid types are: udp4, udp6'),
  ERR_SOCKET_DGRAM_IS_CONNECTED: defineCode('ERR_SOCKET_DGRAM_IS_CONNECTED', Error, 'Already connected'),
  ERR_SOCKET_DGRAM_NOT_CONNECTED: defineCode('ERR_SOCKET_DGRAM_NOT_CONNECTED', Error, 'Not connected'),
  ERR_SOCKET_DGRAM_NOT_RUNNING: defineCode('ERR_SOCKET_DGRAM_NOT_RUNNING', Error, 'Not running'),
};

// ---------------------------------------------------------------------------------------------
// ERR_SOCKET_BUFFER_SIZE: Node's SystemError shape.

const SOCKET_BUFFER_SIZE = 'ERR_SOCKET_BUFFER_SIZE';

class SystemError extends Error {
  constructor(code, prefix, context) {
    super();
    this.code = code;
    const message = `${prefix}: ${context.syscall} returned ${context.code} (${context.message})`;
    Object.defineProperties(this, {
      name: { value: 'SystemError', enumerable: false, writable: true, configurable: true },
      message: { value: message, enumerable: false, writable: true, configurable: true },
      info: { value: context, enumerable: true, configurable: true, writable: false },
      errno: {
        get() { return context.errno; },
        set(value) { context.errno = value; },
        enumerable: true, configurable: true,
      },
      syscall: {
        get() { return context.syscall; },
        set(value) { context.syscall = value; },
        enumerable: true, configurable: true,
      },
    });
    stampStackHeader(this, `SystemError [${code}]`, () => {
      Object.defineProperty(this, 'name', { value: 'SystemError', enumerable: false, writable: true, configurable: true });
    });
  }

  toString() { return `${this.name} [${this.code}]: ${this.message}`; }

  [util.inspect.custom](depth, options) {
    return util.inspect(this, { ...options, getters: true, customInspect: false });
  }
}

// Node's class is named NodeError (a subclass per code); `err.constructor.name` shows it.
class NodeError extends SystemError {}

// errno < 0; syscall is libuv's name ('uv_recv_buffer_size' / 'uv_send_buffer_size').
function socketBufferSizeError(errno, syscall) {
  return new NodeError(SOCKET_BUFFER_SIZE, 'Could not get or set buffer size', {
    errno, code: errnoName(errno), message: errnoDescription(errno), syscall,
  });
}

// ---------------------------------------------------------------------------------------------
// System errors from a negative errno.

class ErrnoException extends Error {
  constructor(errno, syscall) {
    super(`${syscall} ${errnoName(errno)}`);
    this.errno = errno;
    this.code = errnoName(errno);
    this.syscall = syscall;
  }

  get ['constructor']() { return Error; }
}

class ExceptionWithHostPort extends Error {
  constructor(errno, syscall, address, port) {
    const code = errnoName(errno);
    let details = '';
    if (port && port > 0) details = ` ${address}:${port}`;
    else if (address) details = ` ${address}`;
    super(`${syscall} ${code}${details}`);
    this.errno = errno;
    this.code = code;
    this.syscall = syscall;
    this.address = address;
    if (port) this.port = port;
  }

  get ['constructor']() { return Error; }
}

function errnoException(errno, syscall) {
  return new ErrnoException(errno, syscall);
}

function exceptionWithHostPort(errno, syscall, address, port) {
  return new ExceptionWithHostPort(errno, syscall, address, port);
}

// What V8 throws when a method reads a property of a closed socket's null handle: several builtin
// methods skip the running check and fail exactly like this.
function nullHandleError(property) {
  return new TypeError(`Cannot read properties of null (reading '${property}')`);
}

// The errnos lib/ produces itself (where libuv fails before any syscall), negative as libuv
// returns them.
const UV = {
  ECANCELED: -os.constants.errno.ECANCELED,
  EINVAL: -os.constants.errno.EINVAL,
  EISCONN: -os.constants.errno.EISCONN,
};

module.exports = {
  UV,
  codes,
  errnoException,
  exceptionWithHostPort,
  nullHandleError,
  socketBufferSizeError,
};
