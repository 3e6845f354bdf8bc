// spec/encoding.md#json rules that JSON.parse cannot meet, as the strict parser applies them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStrict } from '../src/json.mjs';
import { unpad } from '../src/padding.mjs';
import { code } from '../testing/code.mjs';

const nested = (depth) => '{"a":' + '['.repeat(depth - 1) + '1' + ']'.repeat(depth - 1) + '}';

test('-0, a byte order mark, lone surrogates and nesting past 32 levels are E_FORMAT', () => {
  for (const text of ['{"a":-0}', '{"a":[1,-0]}', '\ufeff{"a":1}', '{"a":"\\ud800"}', '{"a":"\\udc00"}',
    '{"a":"\\ud800\\u0041"}', '{"\\ud800":1}', '{"a":"\ud800"}', nested(33), nested(45000)]) {
    assert.equal(code(() => parseStrict(text, 'x', 1 << 20)), 'E_FORMAT', JSON.stringify(text.slice(0, 40)));
  }
  assert.equal(code(() => parseStrict(Uint8Array.of(0xef, 0xbb, 0xbf, 0x7b, 0x7d), 'x', 100)), 'E_FORMAT');
});

test('what stays valid: -1, -0.0, a surrogate pair (escaped or not), 32 levels', () => {
  assert.equal(parseStrict('{"a":-1}', 'x', 100).a, -1n);
  assert.equal(parseStrict('{"a":"\\ud83d\\ude00"}', 'x', 100).a, '\u{1f600}');
  assert.equal(parseStrict('{"a":"\u{1f600}"}', 'x', 100).a, '\u{1f600}');
  assert.equal(code(() => parseStrict('{"a":-0.0}', 'x', 100)), 'no error');
  assert.equal(code(() => parseStrict(nested(32), 'x', 1000)), 'no error');
});

test('unpad: 65,536 bytes of content is the most, 65,537 to 67,583 are E_FORMAT', () => {
  const padded = (n) => {
    const out = new Uint8Array(67584).fill(0x78, 0, n);
    out[n] = 0x80;
    return out;
  };
  assert.equal(unpad(padded(65536)).length, 65536);
  for (const n of [65537, 66000, 67583]) assert.equal(code(() => unpad(padded(n))), 'E_FORMAT', String(n));
});
