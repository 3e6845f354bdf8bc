import { test } from 'node:test';
import assert from 'node:assert/strict';
import { b64uDecode, b64uEncode, checkId } from '../src/encoding.mjs';
import { JsonNonInteger, canonicalJson, parseStrict } from '../src/json.mjs';
import { padme, pad, unpad } from '../src/padding.mjs';
import { code } from '../testing/code.mjs';


test('base64url is strict: no padding, URL alphabet, canonical trailing bits, exact length', () => {
  for (let n = 0; n < 40; n++) {
    const b = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
    assert.deepEqual(b64uDecode(b64uEncode(b), 'f', n), b);
  }
  assert.equal(code(() => b64uDecode('AA==', 'f')), 'E_FORMAT');
  assert.equal(code(() => b64uDecode('a+b/', 'f')), 'E_FORMAT');
  assert.equal(code(() => b64uDecode('AB', 'f')), 'E_FORMAT'); // unused bits set
  assert.deepEqual(b64uDecode('AA', 'f'), Uint8Array.of(0));
  assert.equal(code(() => b64uDecode('A', 'f')), 'E_FORMAT');
  assert.equal(code(() => b64uDecode('AAAA', 'f', 2)), 'E_FORMAT');
});

test('ids', () => {
  assert.equal(checkId('user-1/device-a', 'id'), 'user-1/device-a');
  for (const bad of ['', 'a b', 'é', 'x'.repeat(129)]) assert.equal(code(() => checkId(bad, 'id')), 'E_FORMAT');
  assert.equal(checkId('x'.repeat(128), 'id').length, 128);
});

test('strict JSON: duplicates after unescaping, integers apart from floats, syntax', () => {
  assert.equal(code(() => parseStrict('{"c":1,"\\u0063":2}', 'j')), 'E_FORMAT');
  assert.equal(code(() => parseStrict('[1]', 'j')), 'E_FORMAT');
  assert.equal(code(() => parseStrict('{"a":NaN}', 'j')), 'E_FORMAT');
  assert.equal(code(() => parseStrict('{"a":01}', 'j')), 'E_FORMAT');
  assert.equal(code(() => parseStrict('{"a":1}x', 'j')), 'E_FORMAT');
  assert.equal(code(() => parseStrict('{"a":"x"}', 'j', 8)), 'E_FORMAT');
  const v = parseStrict(' {"i": 12, "f": 1.0, "e": 1e2, "s": "\\"\\u00e9", "t": true} ', 'j');
  assert.equal(v.i, 12n);
  assert.ok(v.f instanceof JsonNonInteger);
  assert.ok(v.e instanceof JsonNonInteger);
  assert.equal(v.s, '"é');
  assert.equal(v.t, true);
});

test('canonical JSON: sorted, compact, ASCII', () => {
  assert.equal(canonicalJson({ b: 1, a: 'x"\\y', c: { z: 2n, y: [true, null] } }), '{"a":"x\\"\\\\y","b":1,"c":{"y":[true,null],"z":2}}');
  assert.equal(canonicalJson({ s: 'é\n' }), '{"s":"\\u00e9\\n"}');
});

test('Padmé with the 32-byte floor', () => {
  const cases = { 0: 32, 31: 32, 32: 36, 100: 104, 200: 208, 1000: 1024, 65536: 67584 };
  for (const [n, want] of Object.entries(cases)) assert.equal(pad(new Uint8Array(Number(n))).length, want);
  assert.equal(padme(1), 1);
  const content = Uint8Array.of(1, 2, 0x80, 0);
  assert.deepEqual(unpad(pad(content)), content);
  const longer = new Uint8Array(64);
  longer[2] = 0x80;
  assert.equal(code(() => unpad(longer)), 'E_AUTH');
});
