// The verification steps of spec/bundle.md#verification and spec/history.md#verification that need forged input:
// one test per MUST-reject item of spec/must-reject.md (group state v2) not covered by keyring.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoomKey, ZERO_HASH, memberProof } from '../src/index.mjs';
import { _buildHistory } from '../src/history.mjs';
import { keysOf } from '../src/memberproof.mjs';
import { INFO_WRAP, _wrapRoomKey } from '../src/wrap.mjs';
import { codeOf, epochOf, forge, people, ringFor } from '../testing/room.mjs';

async function parts(ids, names, roomKey) {
  const entries = [];
  for (const n of names.sort()) {
    const wrapped = await _wrapRoomKey({ kem: 1, label: INFO_WRAP, roomKey, recipientId: n, recipientPublic: ids[n].public.x25519 }, null);
    entries.push({ keys: keysOf(ids[n].public), wrapped });
  }
  return entries;
}

const headerFor = (roomKey, rotator, admins) => ({
  kem: 1, suite: roomKey.suite, roomId: roomKey.roomId, epoch: roomKey.epoch, keyId: roomKey.keyId, previous: ZERO_HASH,
  rotatorId: rotator.id, issuedAt: 0n, flags: 0, maxMessages: 100, maxAgeSeconds: 604800,
  admins: admins.map((a) => ({ id: a.id, fingerprint: a.fingerprint })),
});

test('MR-EPOCH-ROTATOR-MEMBER, MR-BUNDLE-FORMAT (rotator proof id), MR-EPOCH-ROTATOR-KEY, MR-BUNDLE-SIGNATURE, MR-BUNDLE-ROOT', async () => {
  const ids = await people(['alice', 'bob', 'carol']);
  const key = RoomKey.generate({ roomId: 'room', epoch: 1 });
  const entries = await parts(ids, ['bob', 'carol'], key);
  const absent = forge({ signer: ids.alice, header: headerFor(key, ids.alice, [ids.alice]), entries });
  assert.equal(await codeOf(() => ringFor(ids.bob, ids.alice).accept(absent.bundle)), 'E_UNAUTHORIZED');

  const all = await parts(ids, ['alice', 'bob', 'carol'], key);
  const ok = forge({ signer: ids.alice, header: headerFor(key, ids.alice, [ids.alice]), entries: all });
  assert.equal((await ringFor(ids.bob, ids.alice).accept(ok.slice(1))).kind, 'slice');
  const bobProof = { ...ok.members[1], index: 1, path: memberProof(ok.bundle, 'bob').path };
  assert.equal(await codeOf(() => ringFor(ids.bob, ids.alice).accept(ok.slice(1, { rotatorProof: bobProof }))), 'E_FORMAT');

  // a rotator whose Ed25519 key is the identity point (small order): E_BAD_KEY before the signature
  const bad = { ...all[0], keys: keysOf(ids.alice.public) };
  bad.keys = { ...bad.keys, ed25519: Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 1 : 0)) };
  const { fingerprintOf } = await import('../src/identity.mjs');
  bad.keys.fingerprint = fingerprintOf(bad.keys);
  const badKey = forge({ signer: ids.alice, header: headerFor(key, ids.alice, [ids.alice]), entries: [bad, ...all.slice(1)] });
  assert.equal(await codeOf(() => ringFor(ids.bob, ids.alice).accept(badKey.bundle)), 'E_BAD_KEY');

  // signed by someone else than rotator_id (the server knows every public key and no private one)
  const server = forge({ signer: ids.carol, header: headerFor(key, ids.alice, [ids.alice]), entries: all });
  assert.equal(await codeOf(() => ringFor(ids.bob, ids.alice).accept(server.bundle)), 'E_AUTH');
  assert.equal(await codeOf(() => ringFor(ids.bob, ids.alice).accept(server.slice(1))), 'E_AUTH');

  // a root that is not the members' (the signature is fine)
  const root = forge({ signer: ids.alice, header: { ...headerFor(key, ids.alice, [ids.alice]), root: new Uint8Array(32).fill(7) }, entries: all });
  assert.equal(await codeOf(() => ringFor(ids.bob, ids.alice).accept(root.bundle)), 'E_AUTH');
  assert.equal(await codeOf(() => ringFor(ids.bob, ids.alice).accept(root.slice(1))), 'E_AUTH');
});

test('MR-BUNDLE-ROOT (slice path) and MR-BUNDLE-PARTITION', async () => {
  const ids = await people(['alice', 'bob', 'carol']);
  const key = RoomKey.generate({ roomId: 'room', epoch: 1 });
  const all = await parts(ids, ['alice', 'bob', 'carol'], key);
  const ok = forge({ signer: ids.alice, header: headerFor(key, ids.alice, [ids.alice]), entries: all });
  assert.equal(await codeOf(() => ringFor(ids.bob, ids.alice).accept(ok.slice(1, { index: 2 }))), 'E_AUTH');
  assert.equal(await codeOf(() => ringFor(ids.bob, ids.alice).accept(ok.slice(1, { path: [] }))), 'E_AUTH');
  // bob's wrapped key carries another room key, under the signed root: the key id check catches it
  const other = RoomKey.generate({ roomId: 'room', epoch: 1 });
  const split = [all[0], (await parts(ids, ['bob'], other))[0], all[2]];
  const partition = forge({ signer: ids.alice, header: headerFor(key, ids.alice, [ids.alice]), entries: split });
  assert.equal(await codeOf(() => ringFor(ids.bob, ids.alice).accept(partition.bundle)), 'E_AUTH');
  assert.equal(await codeOf(() => ringFor(ids.bob, ids.alice).accept(partition.slice(1))), 'E_AUTH');
  assert.equal((await ringFor(ids.carol, ids.alice).accept(partition.slice(2))).kind, 'slice');
});

test('MR-HIST-SIGNATURE and MR-HIST-SHARER: the sharer proof and signature', async () => {
  const ids = await people(['alice', 'bob', 'dave']);
  const e1 = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.bob] });
  const e2 = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.bob, ids.dave], prev: e1 });
  const dave = ringFor(ids.dave, ids.alice);
  await dave.accept(e2.slices.dave);
  const make = (sharer, sharerProof) =>
    _buildHistory({
      sharer, recipient: ids.dave.public, roomId: 'room', anchorEpoch: 2, issuedAt: 0, kem: 1, sharerProof,
      entries: [{ header: e1.header, secret: null, roster: [] }],
    });
  // bob signs with alice's proof: the proof id is alice, the signature bob's
  const forged = await make({ ...ids.bob, id: 'alice', sign: (m) => ids.bob.sign(m) }, memberProof(e2.bundle, 'alice'));
  assert.equal(await codeOf(() => dave.accept(forged)), 'E_AUTH');
  const tampered = { ...memberProof(e2.bundle, 'alice'), index: 1 };
  assert.equal(await codeOf(async () => dave.accept(await make(ids.alice, tampered))), 'E_UNAUTHORIZED');
  assert.deepEqual((await dave.accept(await make(ids.alice, memberProof(e2.bundle, 'alice')))).epochs, [1]);
});

test('MR-HIST-SHARER-KEY: a sharer proved in the anchor epoch whose Ed25519 key is small order', async () => {
  const ids = await people(['alice', 'dave', 'zed']);
  const { fingerprintOf } = await import('../src/identity.mjs');
  const e1 = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.dave] });
  const key = RoomKey.generate({ roomId: 'room', epoch: 2 });
  const entries = await parts(ids, ['alice', 'dave', 'zed'], key);
  entries[2].keys = { ...entries[2].keys, ed25519: Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 1 : 0)) };
  entries[2].keys.fingerprint = fingerprintOf(entries[2].keys);
  const e2 = forge({ signer: ids.alice, header: { ...headerFor(key, ids.alice, [ids.alice]), previous: e1.epochHash }, entries });
  const dave = ringFor(ids.dave, ids.alice);
  await dave.accept(e2.slice(1));
  const history = await _buildHistory({
    sharer: ids.zed, recipient: ids.dave.public, roomId: 'room', anchorEpoch: 2, issuedAt: 0, kem: 1,
    sharerProof: memberProof(e2.bundle, 'zed'), entries: [{ header: e1.header, secret: null, roster: [] }],
  });
  assert.equal(await codeOf(() => dave.accept(history)), 'E_BAD_KEY');
});
