// The browser shims must judge like Node's own assert/strict, or the unit tests would pass in the page
// for the wrong reason. Runs under `node --test` (not in the page), against node:util and node:assert.
import { test } from 'node:test';
import nodeAssert from 'node:assert/strict';
import { isDeepStrictEqual as nodeDeep } from 'node:util';
import shim, { isDeepStrictEqual } from './shims/node-assert.mjs';
import { run, test as register } from './shims/node-test.mjs';

const nullProto = (o) => Object.assign(Object.create(null), o);
const PAIRS = [
  [1, 1], [1, 1n], [1n, 1n], [true, 1], [0, -0], [NaN, NaN], ['a', 'a'], [null, undefined], [null, null],
  [[1, 2], [1, 2]], [[1, 2], [1, 2, 3]], [[1, [true]], [1, [1]]], [{ a: 1 }, { a: 1 }], [{ a: 1 }, { a: 1, b: undefined }],
  [{ a: 1 }, nullProto({ a: 1 })], [nullProto({ a: 1n }), nullProto({ a: 1n })], [{ a: { b: 0 } }, { a: { b: false } }],
  [Uint8Array.of(1, 2), Uint8Array.of(1, 2)], [Uint8Array.of(1, 2), Uint8Array.of(1, 3)], [Uint8Array.of(1), [1]],
  [Uint8Array.of(1), Uint16Array.of(1)], [new Error('x'), new Error('x')], [new Error('x'), new Error('y')],
];

test('isDeepStrictEqual agrees with node:util on every pair', () => {
  for (const [i, [a, b]] of PAIRS.entries()) nodeAssert.equal(isDeepStrictEqual(a, b), nodeDeep(a, b), `pair ${i}`);
});

test('the assert shim throws where node:assert/strict throws', () => {
  const cases = [
    (x) => x.equal(1, 1n), (x) => x.equal(0, -0), (x) => x.equal(1, 1), (x) => x.ok(0), (x) => x.ok('y'),
    (x) => x.deepEqual({ a: [1] }, { a: [1] }), (x) => x.deepEqual({ a: [1] }, { a: ['1'] }),
    (x) => x.match('abc', /b/), (x) => x.match('abc', /d/), (x) => x.doesNotMatch('abc', /b/),
    (x) => x.throws(() => {}), (x) => x.throws(() => { throw new Error('e'); }), (x) => x.notEqual(1, 2),
  ];
  for (const [i, c] of cases.entries()) {
    const threw = (x) => { try { c(x); return false; } catch { return true; } };
    nodeAssert.equal(threw(shim), threw(nodeAssert), `case ${i}`);
  }
});

test('the test shim reports a failing test as failed', async () => {
  register('passes', () => {});
  register('fails', () => shim.equal(1, 2));
  register('rejects', async () => { throw new Error('async failure'); });
  const results = await run();
  nodeAssert.deepEqual(results.map((r) => [r.name, r.ok]), [['passes', true], ['fails', false], ['rejects', false]]);
});
