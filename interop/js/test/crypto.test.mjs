import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ed25519 } from '@noble/curves/ed25519.js';
import {
  A256GCM,
  Identity,
  PublicIdentity,
  RoomKey,
  SealedMessage,
  XC20P,
  open,
  openUnsigned,
  seal,
  sealUnsigned,
} from '../src/index.mjs';
import { ed25519VerifyStrict, validateX25519Public } from '../src/ed25519.mjs';
import { inclusionPath, merkleRoot, verifyInclusion } from '../src/merkle.mjs';
import { sha256 } from '@noble/hashes/sha2.js';
import { code } from '../testing/code.mjs';

const enc = (s) => new TextEncoder().encode(s);

test('seal and open with a room key, both suites, both wire forms', async () => {
  const alice = await Identity.generate('alice');
  for (const suite of [A256GCM, XC20P]) {
    const key = RoomKey.generate({ roomId: 'room-1', epoch: 5, suite });
    const msg = seal(key, enc('hi'), { senderId: 'alice', messageId: 'm1', signer: alice });
    for (const wire of [msg.toBinary(), msg.toJSON()]) {
      const o = open(key, wire, alice.public);
      assert.deepEqual([o.senderId, o.messageId, o.signed, new TextDecoder().decode(o.content)], ['alice', 'm1', true, 'hi']);
      assert.equal(code(() => openUnsigned(key, wire)), 'E_POLICY');
    }
    const bot = sealUnsigned(key, enc('beep'), { senderId: 'bot', messageId: 'b1', padded: false });
    assert.equal(openUnsigned(key, bot.toJSON()).signed, false);
    assert.equal(code(() => open(key, bot.toBinary(), alice.public)), 'E_POLICY');
    const other = RoomKey.generate({ roomId: 'room-1', epoch: 5, suite });
    assert.equal(code(() => open(other, msg.toBinary(), alice.public)), 'E_UNKNOWN_KEY');
    const bytes = msg.toBinary();
    bytes[bytes.length - 70] ^= 1;
    assert.equal(code(() => open(key, bytes, alice.public)), 'E_AUTH');
    assert.deepEqual(SealedMessage.parse(msg.toJSON()).toBinary(), msg.toBinary());
  }
});

test('identities: JSON round trip, fingerprint, E_BAD_KEY', async () => {
  const id = await Identity.generate('user-1/device-a', { pq: true });
  const back = PublicIdentity.fromJSON(id.public.toJSON());
  assert.ok(back.equals(id.public));
  assert.match(back.safetyNumber, /^\d{5}( \d{5}){5}$/);
  assert.equal(code(() => validateX25519Public(new Uint8Array(32))), 'E_BAD_KEY');
  const p = new Uint8Array(32).fill(0xff);
  p[31] = 0x7f;
  p[0] = 0xed; // 2^255 - 19
  assert.equal(code(() => validateX25519Public(p)), 'E_BAD_KEY');
  assert.match(String(id), /^Identity\(user-1\/device-a, fingerprint [0-9a-f]{64}\)$/);
});

test('Ed25519 verification is strict: S >= L is refused', () => {
  const seed = new Uint8Array(32).fill(7);
  const pub = ed25519.getPublicKey(seed);
  const msg = enc('m');
  const sig = ed25519.sign(msg, seed);
  assert.ok(ed25519VerifyStrict(pub, msg, sig));
  const L = ed25519.Point.Fn.ORDER;
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i]);
  s += L;
  const bad = Uint8Array.from(sig);
  for (let i = 32; i < 64; i++) {
    bad[i] = Number(s & 0xffn);
    s >>= 8n;
  }
  assert.equal(ed25519VerifyStrict(pub, msg, bad), false);
});

test('member tree: every inclusion path of trees of 1 to 17 leaves verifies, and only there', () => {
  for (let n = 1; n <= 17; n++) {
    const leaves = Array.from({ length: n }, (_, i) => sha256(Uint8Array.of(i)));
    const root = merkleRoot(leaves);
    for (let m = 0; m < n; m++) {
      const path = inclusionPath(m, leaves);
      assert.ok(verifyInclusion(leaves[m], m, n, path, root));
      if (n > 1) assert.ok(!verifyInclusion(leaves[m], (m + 1) % n, n, path, root));
    }
  }
});
