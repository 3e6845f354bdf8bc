import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Identity, KeyRing, RoomKey, buildBundle, buildHistory, membershipProof, parseBundle } from '../src/index.mjs';

const enc = (s) => new TextEncoder().encode(s);
async function code(p) {
  try {
    await p();
  } catch (e) {
    return e.code;
  }
  return 'no error';
}

async function world() {
  const ids = {};
  for (const n of ['alice', 'bob', 'carol', 'dave']) ids[n] = await Identity.generate(n);
  const rings = {};
  for (const n of Object.keys(ids)) {
    rings[n] = new KeyRing(ids[n]);
    for (const m of Object.keys(ids)) if (m !== n) rings[n].addIdentity(ids[m].public);
    rings[n].trustAdmin('room', ids.alice.public);
  }
  return { ids, rings };
}

test('a room: creation, removal with a proof, superseded epochs, replay, slices, history', async () => {
  const { ids, rings } = await world();
  const k1 = RoomKey.generate({ roomId: 'room', epoch: 1 });
  const e1 = await buildBundle({ rotator: ids.alice, roomKey: k1, kem: 1, issuedAt: 1, members: [ids.alice.public, ids.bob.public, ids.carol.public] });
  for (const n of ['alice', 'bob', 'carol']) assert.deepEqual(await rings[n].accept(e1.bundle), { roomId: 'room', epochs: [1], kind: 'bundle' });
  assert.equal(await code(() => rings.dave.accept(e1.bundle)), 'E_NOT_RECIPIENT');
  assert.equal(await code(() => rings.bob.accept(e1.bundle)), 'E_STALE');

  const fromCarol = rings.carol.seal('room', enc('carol in epoch 1'), { messageId: 'c1' });
  // bob rotates (no admin): his authority is his membership of epoch 1, by roster or proof.
  const k2 = RoomKey.generate({ roomId: 'room', epoch: 2 });
  const proof = membershipProof(parseBundle(e1.bundle), 'bob');
  const e2 = await buildBundle({ rotator: ids.bob, roomKey: k2, kem: 1, issuedAt: 2, members: [ids.alice.public, ids.bob.public], proof });
  assert.deepEqual(await rings.alice.accept(e2.slices.alice), { roomId: 'room', epochs: [2], kind: 'slice' });
  assert.deepEqual(await rings.alice.accept(e2.bundle), { roomId: 'room', epochs: [2], kind: 'roster' });
  await rings.bob.accept(e2.bundle);
  assert.equal(await code(() => rings.carol.accept(e2.bundle)), 'E_NOT_RECIPIENT');

  // carol was removed: her epoch-1 message is refused live, readable as stored history
  assert.equal(await code(() => rings.bob.open(fromCarol.toBinary())), 'E_UNAUTHORIZED');
  assert.equal(rings.bob.open(fromCarol.toBinary(), { checkReplay: false }).senderId, 'carol');

  const m = rings.alice.seal('room', enc('epoch two'), { messageId: 'a2' });
  assert.equal(new TextDecoder().decode(rings.bob.open(m.toJSON()).content), 'epoch two');
  assert.equal(await code(() => rings.bob.open(m.toBinary())), 'E_REPLAY');
  assert.equal(await code(() => rings.carol.open(m.toBinary())), 'E_UNKNOWN_KEY');

  // dave joins at epoch 3; alice shares epochs 1 and 2 with him
  const k3 = RoomKey.generate({ roomId: 'room', epoch: 3 });
  const e3 = await buildBundle({ rotator: ids.alice, roomKey: k3, kem: 1, issuedAt: 3, members: [ids.alice.public, ids.bob.public, ids.dave.public] });
  const history = await buildHistory({
    sharer: ids.alice, recipient: ids.dave.public, roomId: 'room', anchorEpoch: 3, issuedAt: 3, kem: 1,
    entries: [
      { roomKey: k1, roster: [['alice', ids.alice.fingerprint], ['bob', ids.bob.fingerprint], ['carol', ids.carol.fingerprint]] },
      { roomKey: k2, roster: [['alice', ids.alice.fingerprint], ['bob', ids.bob.fingerprint]] },
    ],
  });
  assert.equal(await code(() => rings.dave.accept(history)), 'E_UNKNOWN_KEY');
  await rings.dave.accept(e3.bundle);
  assert.deepEqual(await rings.dave.accept(history), { roomId: 'room', epochs: [1, 2], kind: 'history' });
  assert.deepEqual(await rings.dave.accept(history), { roomId: 'room', epochs: [], kind: 'history' });
  assert.equal(rings.dave.open(m.toBinary(), { checkReplay: false }).messageId, 'a2');
  assert.deepEqual(rings.dave.held().map((h) => h.epoch), [1, 2, 3]);
});

test('unsigned mode, and a rejected bundle changes nothing', async () => {
  const { ids, rings } = await world();
  const k1 = RoomKey.generate({ roomId: 'room', epoch: 1, suite: 'XC20P' });
  const e1 = await buildBundle({ rotator: ids.alice, roomKey: k1, kem: 1, issuedAt: 1, members: [ids.alice.public, ids.bob.public] });
  const tampered = Uint8Array.from(e1.bundle);
  tampered[tampered.length - 1] ^= 1;
  assert.equal(await code(() => rings.bob.accept(tampered)), 'E_AUTH');
  assert.deepEqual(rings.bob.held(), []);
  await rings.bob.accept(e1.bundle);
  await rings.alice.accept(e1.bundle);
  const bot = rings.alice.seal('room', enc('beep'), { messageId: 'bot-1', signed: false });
  assert.equal(await code(() => rings.bob.open(bot.toBinary())), 'E_POLICY');
  const lenient = new KeyRing(ids.bob, { allowUnsigned: true });
  lenient.addIdentity(ids.alice.public);
  lenient.trustAdmin('room', ids.alice.public);
  await lenient.accept(e1.bundle);
  assert.equal(lenient.open(bot.toBinary()).signed, false);
});

test('X-Wing rooms', async () => {
  const alice = await Identity.generate('alice', { pq: true });
  const bob = await Identity.generate('bob', { pq: true });
  const ring = new KeyRing(bob);
  ring.addIdentity(alice.public);
  ring.trustAdmin('pq', alice.public);
  const key = RoomKey.generate({ roomId: 'pq', epoch: 1 });
  const b = await buildBundle({ rotator: alice, roomKey: key, kem: 2, issuedAt: 1, members: [alice.public, bob.public] });
  await ring.accept(b.slices.bob);
  assert.deepEqual(ring.held()[0].secret, key.secret);
});

test('a roster fill-in still checks the signature (spec/bundle.md step 3 before step 4)', async () => {
  const { ids, rings } = await world();
  const k1 = RoomKey.generate({ roomId: 'room', epoch: 1 });
  const e1 = await buildBundle({ rotator: ids.alice, roomKey: k1, kem: 1, issuedAt: 1, members: [ids.alice.public, ids.bob.public] });
  await rings.bob.accept(e1.slices.bob);
  const forged = Uint8Array.from(e1.bundle);
  const headerEnd = parseBundle(e1.bundle).headerBytes.length + 4;
  forged[headerEnd + 10] ^= 1; // inside the signature
  assert.equal(await code(() => rings.bob.accept(forged)), 'E_AUTH');
  const members = Uint8Array.from(e1.bundle);
  members[members.length - 1] ^= 1; // inside the last member: not the signed root
  assert.equal(await code(() => rings.bob.accept(members)), 'E_AUTH');
  assert.deepEqual(await rings.bob.accept(e1.bundle), { roomId: 'room', epochs: [1], kind: 'roster' });
  assert.equal(await code(() => rings.bob.accept(e1.bundle)), 'E_STALE');
});
