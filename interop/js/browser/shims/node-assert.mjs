// The part of `node:assert/strict` the unit tests use, with Node's strict semantics: equal is Object.is,
// deepEqual is deepStrictEqual (same prototypes, same own enumerable keys, typed arrays element by element).
export class AssertionError extends Error {
  constructor(message) {
    super(message);
    this.name = 'AssertionError';
  }
}

const show = (v) => {
  try {
    return typeof v === 'bigint' ? `${v}n` : JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? `${x}n` : x));
  } catch {
    return String(v);
  }
};

function fail(message, fallback) {
  throw message instanceof Error ? message : new AssertionError(message ?? fallback);
}

export function isDeepStrictEqual(a, b) {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (ArrayBuffer.isView(a)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
    return true;
  }
  if (a instanceof Map || a instanceof Set) {
    if (a.size !== b.size) return false;
    const bs = [...b];
    return [...a].every((x, i) => isDeepStrictEqual(x, bs[i]));
  }
  if (a instanceof Error && (a.name !== b.name || a.message !== b.message)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && isDeepStrictEqual(a[k], b[k]));
}

function matches(error, expected) {
  if (expected === undefined) return true;
  if (typeof expected === 'function' && expected.prototype !== undefined && error instanceof expected) return true;
  if (expected instanceof RegExp) return expected.test(String(error && error.message));
  if (typeof expected === 'function') return expected(error) === true;
  return Object.keys(expected).every((k) => isDeepStrictEqual(error[k], expected[k]) ||
    (expected[k] instanceof RegExp && expected[k].test(String(error[k]))));
}

const assert = {
  AssertionError,
  ok(value, message) {
    if (!value) fail(message, `expected a truthy value, got ${show(value)}`);
  },
  equal(actual, expected, message) {
    if (!Object.is(actual, expected)) fail(message, `expected ${show(expected)}, got ${show(actual)}`);
  },
  notEqual(actual, expected, message) {
    if (Object.is(actual, expected)) fail(message, `expected anything but ${show(expected)}`);
  },
  deepEqual(actual, expected, message) {
    if (!isDeepStrictEqual(actual, expected)) fail(message, `expected ${show(expected)}, got ${show(actual)}`);
  },
  notDeepEqual(actual, expected, message) {
    if (isDeepStrictEqual(actual, expected)) fail(message, `expected anything but ${show(expected)}`);
  },
  match(string, re, message) {
    if (!re.test(string)) fail(message, `${show(string)} does not match ${re}`);
  },
  doesNotMatch(string, re, message) {
    if (re.test(string)) fail(message, `${show(string)} matches ${re}`);
  },
  throws(fn, expected, message) {
    try {
      fn();
    } catch (e) {
      if (!matches(e, expected)) fail(message, `unexpected error ${e}`);
      return;
    }
    fail(typeof expected === 'string' ? expected : message, 'expected an exception');
  },
  async rejects(promiseOrFn, expected, message) {
    try {
      await (typeof promiseOrFn === 'function' ? promiseOrFn() : promiseOrFn);
    } catch (e) {
      if (!matches(e, expected)) fail(message, `unexpected rejection ${e}`);
      return;
    }
    fail(message, 'expected a rejection');
  },
};
assert.deepStrictEqual = assert.deepEqual;
assert.strictEqual = assert.equal;
assert.notStrictEqual = assert.notEqual;
assert.strict = assert;

export const { ok, equal, notEqual, deepEqual, deepStrictEqual, match, doesNotMatch, throws, rejects } = assert;
export default assert;
