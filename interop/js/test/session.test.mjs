// The key ring support behind the conformance `session` op (spec/conformance.md): rosters and completeness of held
// epochs, identity changes, the nonce budget, sealed/opened replay entries, the fixed-nonce hook; and the op itself:
// may_fail steps, seal and set_sealed steps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toHex } from '../src/index.mjs';
import { _sealWithNonce, _setSealed } from '../src/keyring.mjs';
import { runOp } from '../conformance/ops.mjs';
import { codeOf, enc, epochOf, people, ringFor } from '../testing/room.mjs';

const BOUND = 2 ** 32;
const rosters = (ring) => ring.held().map((h) => [h.epoch, h.members, h.complete]);

test('held epochs list the roster ids held, in byte order, and whether it is complete', async () => {
  const ids = await people(['carol', 'alice', 'Bob', 'bob']);
  const e1 = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.Bob, ids.bob, ids.carol] });
  const full = ringFor(ids.carol, ids.alice);
  await full.accept(e1.bundle);
  assert.deepEqual(rosters(full), [[1, ['Bob', 'alice', 'bob', 'carol'], true]]); // memcmp: 'B' < 'a'
  const partial = ringFor(ids.carol, ids.alice);
  await partial.accept(e1.slices.carol);
  assert.deepEqual(rosters(partial), [[1, ['alice', 'carol'], false]]); // the rotator and P itself
  await partial.accept(e1.bundle);
  assert.deepEqual(rosters(partial), [[1, ['Bob', 'alice', 'bob', 'carol'], true]]);
});

test('identity changes: a roster id pinned with another fingerprint is reported, sorted, and the pin kept', async () => {
  const ids = await people(['alice', 'bob', 'carol', 'dave']);
  const others = await people(['carol', 'dave']);
  const e1 = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.bob, ids.carol, ids.dave] });
  const bob = ringFor(ids.bob, ids.alice);
  bob.addIdentity(others.dave.public);
  bob.addIdentity(others.carol.public);
  bob.addIdentity(ids.alice.public);
  const r = await bob.accept(e1.bundle);
  assert.deepEqual(r.identityChanges, ['carol', 'dave']);
  assert.equal(toHex(bob.identity('carol').fingerprint), toHex(others.carol.public.fingerprint));
  const clean = ringFor(ids.bob, ids.alice);
  assert.deepEqual((await clean.accept(e1.bundle)).identityChanges, []);
});

test('the nonce budget: 2^32 seals per epoch, counted per epoch record, reset by a new epoch', async () => {
  const ids = await people(['alice', 'bob']);
  const e1 = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.bob] });
  const e2 = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.bob], prev: e1 });
  const bob = ringFor(ids.bob, ids.alice);
  await bob.accept(e1.bundle);
  _setSealed(bob, 'room', 1, BOUND - 1);
  bob.seal('room', enc('the last one'), { messageId: 'last' });
  assert.equal(bob.sealedCount('room', 1), BOUND);
  const held = JSON.stringify(bob.held());
  assert.equal(await codeOf(() => bob.seal('room', enc('one more'), { messageId: 'more' })), 'E_KEY_EXHAUSTED');
  assert.equal(bob.sealedCount('room', 1), BOUND);
  assert.equal(JSON.stringify(bob.held()), held);
  // the refused seal did not use its id, and the count starts again in the new epoch
  await bob.accept(e2.bundle);
  assert.equal(bob.seal('room', enc('one more'), { messageId: 'more' }).epoch, 2);
  assert.equal(bob.sealedCount('room', 2), 1);
  // bounds of the hook
  assert.equal(await codeOf(() => _setSealed(bob, 'room', 1, BOUND + 1)), 'E_FORMAT');
  assert.equal(await codeOf(() => _setSealed(bob, 'room', 1, -1)), 'E_FORMAT');
  assert.equal(await codeOf(() => _setSealed(bob, 'room', 1, 1.5)), 'E_FORMAT');
  assert.equal(await codeOf(() => _setSealed(bob, 'room', 3, 0)), 'E_UNKNOWN_KEY');
  assert.equal(await codeOf(() => _setSealed(bob, 'elsewhere', 1, 0)), 'E_UNKNOWN_KEY');
  // a link has no key and no budget
  const e3 = await epochOf({ rotator: ids.alice, members: [ids.alice], prev: e2 });
  await bob.accept(e3.bundle);
  assert.equal(await codeOf(() => _setSealed(bob, 'room', 3, 0)), 'E_FORMAT');
});

test('sealing refuses, in this order: a closed replay state (E_STALE), a reused id (E_POLICY), a spent budget', async () => {
  const ids = await people(['alice', 'bob']);
  const e1 = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.bob] });
  const bob = ringFor(ids.bob, ids.alice, 'room', { replayCapacity: 2 });
  await bob.accept(e1.bundle);
  bob.seal('room', enc('one'), { messageId: 'b-1' });
  _setSealed(bob, 'room', 1, BOUND);
  assert.equal(await codeOf(() => bob.seal('room', enc('two'), { messageId: 'b-1' })), 'E_POLICY');
  assert.equal(await codeOf(() => bob.seal('room', enc('two'), { messageId: 'b-2' })), 'E_KEY_EXHAUSTED');
  _setSealed(bob, 'room', 1, 1);
  bob.seal('room', enc('two'), { messageId: 'b-2' }); // the set is full now: sealed ids count
  assert.equal(await codeOf(() => bob.seal('room', enc('three'), { messageId: 'b-1' })), 'E_STALE');
  _setSealed(bob, 'room', 1, BOUND);
  assert.equal(await codeOf(() => bob.seal('room', enc('three'), { messageId: 'b-3' })), 'E_STALE');
});

test('replay entries: an own sealed message opens live once; ids opened or sealed are refused for sealing', async () => {
  const ids = await people(['alice', 'bob']);
  const e1 = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.bob] });
  const alice = ringFor(ids.alice, ids.alice);
  const bob = ringFor(ids.bob, ids.alice);
  await alice.accept(e1.bundle);
  await bob.accept(e1.bundle);
  const mine = bob.seal('room', enc('mine'), { messageId: 'b-1' });
  assert.equal(bob.open(mine.toBinary()).messageId, 'b-1'); // the server's echo: sealed here, not yet opened
  assert.equal(await codeOf(() => bob.open(mine.toBinary())), 'E_REPLAY');
  assert.equal(await codeOf(() => bob.seal('room', enc('again'), { messageId: 'b-1' })), 'E_POLICY');
  // an id alice used is hers: bob may seal it (pairs are (sender id, message id))
  bob.open(alice.seal('room', enc('hi'), { messageId: 'x' }).toBinary());
  assert.equal(bob.seal('room', enc('mine too'), { messageId: 'x' }).messageId, 'x');
});

test('the fixed-nonce hook seals as KeyRing.seal does and refuses what it refuses, changing nothing', async () => {
  const ids = await people(['alice', 'bob']);
  const e1 = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.bob] });
  const bob = ringFor(ids.bob, ids.alice);
  const alice = ringFor(ids.alice, ids.alice);
  await bob.accept(e1.bundle);
  await alice.accept(e1.bundle);
  const nonce = new Uint8Array(12).fill(7);
  const a = _sealWithNonce(bob, 'room', enc('hello'), { messageId: 'm' }, nonce);
  assert.equal(toHex(a.nonce), toHex(nonce));
  assert.equal(alice.open(a.toBinary()).senderId, 'bob');
  assert.equal(await codeOf(() => _sealWithNonce(bob, 'room', enc('hello'), { messageId: 'm' }, nonce)), 'E_POLICY');
  // a wrong nonce length is E_FORMAT, and neither the id nor the budget is spent
  assert.equal(await codeOf(() => _sealWithNonce(bob, 'room', enc('x'), { messageId: 'n' }, new Uint8Array(24))), 'E_FORMAT');
  assert.equal(bob.sealedCount('room', 1), 1);
  assert.equal(_sealWithNonce(bob, 'room', enc('x'), { messageId: 'n' }, nonce).messageId, 'n');
  assert.equal(await codeOf(() => _sealWithNonce(bob, 'other', enc('x'), { messageId: 'n' }, nonce)), 'E_UNKNOWN_KEY');
});

/** A session input for `owner` joining through `anchor` (Identities), directory holding `pins`. */
function sessionInput(owner, anchor, steps, pins = []) {
  const priv = (p) => ({ id: p.id, x25519: toHex(p.x25519Private), ed25519: toHex(p.ed25519Seed) });
  return {
    owner: priv(owner), allow_unsigned: false, directory: [anchor.public, ...pins].map((p) => p.toObject()),
    anchors: [{ room_id: 'room', id: anchor.id }], steps,
  };
}

test('session op: may_fail steps report their error and go on unchanged; seal and set_sealed steps', async () => {
  const ids = await people(['alice', 'bob']);
  const e1 = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.bob] });
  const nonce = '00'.repeat(12);
  const seal = (id) => ({ seal: { room_id: 'room', content: '6869', message_id: id, nonce } });
  const steps = [
    { accept: toHex(e1.bundle) },
    { ...seal('b-1'), may_fail: true },
    { ...seal('b-1'), may_fail: true },
    { set_sealed: { room_id: 'room', epoch: 1, count: BOUND } },
    { ...seal('b-2'), may_fail: true },
    { set_sealed: { room_id: 'room', epoch: 1, count: 0 } },
    seal('b-2'),
  ];
  const { output } = await runOp('session', sessionInput(ids.bob, ids.alice, steps));
  assert.deepEqual(output.results[0].accepted.identity_changes, []);
  assert.ok(output.results[1].sealed.binary);
  assert.deepEqual(output.results.slice(2, 6), [{ error: 'E_POLICY' }, { set: true }, { error: 'E_KEY_EXHAUSTED' }, { set: true }]);
  assert.ok(output.results[6].sealed.binary);
  assert.deepEqual(output.held.map((h) => [h.epoch, h.members, h.complete]), [[1, ['alice', 'bob'], true]]);
  // without may_fail a failing step ends the session with its error
  await assert.rejects(runOp('session', sessionInput(ids.bob, ids.alice, [...steps.slice(0, 2), seal('b-1')])), (e) => e.code === 'E_POLICY');
});
