// The key ring on group state v2: joining by anchor, extending, links, gaps, forks, downgrades, member rotation,
// partial rosters and member proofs, superseded epochs, replay state, history bundles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FLAG_DOWNGRADE, FLAG_MEMBERS_MAY_ROTATE, KeyRing, memberProof, memberProofFile } from '../src/index.mjs';
import { _buildHistory } from '../src/history.mjs';
import { codeOf, enc, epochOf, people, ringFor } from '../testing/room.mjs';

const kindOf = (r) => [r.epochs, r.kind];

test('join by anchor, slices, links, stale, gap, E_NOT_MEMBER', async () => {
  const ids = await people(['alice', 'bob', 'carol', 'dave']);
  const e1 = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.bob, ids.carol] });
  const bob = ringFor(ids.bob, ids.alice);
  const carol = ringFor(ids.carol, ids.alice);
  assert.deepEqual(kindOf(await bob.accept(e1.bundle)), [[1], 'bundle']);
  assert.deepEqual(kindOf(await carol.accept(e1.slices.carol)), [[1], 'slice']);
  assert.equal(await codeOf(() => bob.accept(e1.bundle)), 'E_STALE');
  assert.equal(await codeOf(() => bob.accept(e1.slices.bob)), 'E_STALE');
  // no anchor; an anchor not in the admin set; an outsider; an announcement cannot join
  assert.equal(await codeOf(() => new KeyRing(ids.bob).accept(e1.bundle)), 'E_UNAUTHORIZED');
  assert.equal(await codeOf(() => ringFor(ids.bob, ids.carol).accept(e1.bundle)), 'E_UNAUTHORIZED');
  assert.equal(await codeOf(() => ringFor(ids.dave, ids.alice).accept(e1.bundle)), 'E_NOT_RECIPIENT');
  assert.equal(await codeOf(() => ringFor(ids.bob, ids.alice).accept(e1.announcement)), 'E_NOT_RECIPIENT');
  // an anchor is refused once the room is held
  assert.equal(await codeOf(() => bob.trustAnchor('room', ids.dave.public)), 'E_POLICY');

  const e2 = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.bob], prev: e1 });
  const e3 = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.bob], prev: e2 });
  assert.equal(await codeOf(() => bob.accept(e3.bundle)), 'E_GAP');
  assert.deepEqual(kindOf(await carol.accept(e2.bundle)), [[2], 'link']);
  assert.deepEqual(kindOf(await carol.accept(e3.announcement)), [[3], 'link']);
  assert.deepEqual(carol.held().map((h) => [h.epoch, h.secret === null]), [[1, false], [2, true], [3, true]]);
  await bob.accept(e2.slices.bob);
  const m2 = bob.seal('room', enc('after carol'), { messageId: 'b2' });
  assert.equal(await codeOf(() => carol.open(m2.toBinary())), 'E_NOT_MEMBER');
  assert.equal(await codeOf(() => new KeyRing(ids.carol).open(m2.toBinary())), 'E_UNKNOWN_KEY');
  // a rejected input changes nothing
  const before = JSON.stringify(bob.held());
  assert.equal(await codeOf(() => bob.accept(e1.bundle)), 'E_STALE');
  assert.equal(JSON.stringify(bob.held()), before);
});

test('forks: two headers for one epoch, a header off the chain, a message under another key id', async () => {
  const ids = await people(['alice', 'bob', 'mallory']);
  const e1 = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.bob, ids.mallory] });
  const bob = ringFor(ids.bob, ids.alice);
  await bob.accept(e1.bundle);
  const e2 = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.bob], prev: e1 });
  const e2b = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.bob, ids.mallory], prev: e1 });
  await bob.accept(e2.bundle);
  const held = JSON.stringify(bob.held());
  assert.equal(await codeOf(() => bob.accept(e2b.slices.bob)), 'E_FORK');
  assert.equal(JSON.stringify(bob.held()), held);
  assert.deepEqual(bob.forkEvidence('room').map((e) => e.kind), ['announcement', 'announcement']);
  // the same different header from someone who may not sign it
  const e2m = await epochOf({ rotator: ids.mallory, members: [ids.bob, ids.mallory], prev: e1, admins: [ids.alice] });
  assert.equal(await codeOf(() => bob.accept(e2m.bundle)), 'E_UNAUTHORIZED');
  // an authorised epoch 3 on another epoch 2
  const e3b = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.bob], prev: e2b });
  assert.equal(await codeOf(() => bob.accept(e3b.bundle)), 'E_FORK');
  // a member's signed message in a held epoch under another key id
  const alice2 = ringFor(ids.alice, ids.alice);
  await alice2.accept(e1.bundle);
  await alice2.accept(e2b.bundle);
  const other = alice2.seal('room', enc('other branch'), { messageId: 'x' });
  assert.equal(await codeOf(() => bob.open(other.toBinary())), 'E_FORK');
  assert.equal(bob.forkEvidence('room').at(-1).kind, 'message');
});

test('authority: admins of E - 1, member rotation with an authority proof, governance changes, removed admins', async () => {
  const ids = await people(['alice', 'bob', 'carol']);
  const e1 = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.bob, ids.carol] });
  const carol = ringFor(ids.carol, ids.alice);
  await carol.accept(e1.slices.carol); // partial roster: bob is not proved
  const byBob = await epochOf({ rotator: ids.bob, members: [ids.bob, ids.carol], prev: e1 });
  assert.equal(await codeOf(() => carol.accept(byBob.slices.carol)), 'E_UNAUTHORIZED');

  const m1 = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.bob, ids.carol], flags: FLAG_MEMBERS_MAY_ROTATE });
  const ring = ringFor(ids.carol, ids.alice);
  await ring.accept(m1.slices.carol);
  const noProof = await epochOf({ rotator: ids.bob, members: [ids.bob, ids.carol], prev: m1 });
  assert.equal(await codeOf(() => ring.accept(noProof.slices.carol)), 'E_UNAUTHORIZED');
  const authority = memberProof(m1.bundle, 'bob');
  const policy = await epochOf({ rotator: ids.bob, members: [ids.bob, ids.carol], prev: m1, authority, maxMessages: 5 });
  assert.equal(await codeOf(() => ring.accept(policy.slices.carol)), 'E_UNAUTHORIZED');
  const admins = await epochOf({ rotator: ids.bob, members: [ids.bob, ids.carol], prev: m1, authority, admins: [ids.alice, ids.bob] });
  assert.equal(await codeOf(() => ring.accept(admins.slices.carol)), 'E_UNAUTHORIZED');
  const ok = await epochOf({ rotator: ids.bob, members: [ids.bob, ids.carol], prev: m1, authority });
  assert.deepEqual(kindOf(await ring.accept(ok.slices.carol)), [[2], 'slice']);

  // alice hands the room to bob: alice's later headers are refused
  const full = ringFor(ids.carol, ids.alice);
  await full.accept(e1.bundle);
  const handover = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.bob, ids.carol], prev: e1, admins: [ids.bob] });
  await full.accept(handover.bundle);
  const byAlice = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.carol], prev: handover });
  assert.equal(await codeOf(() => full.accept(byAlice.bundle)), 'E_UNAUTHORIZED');
  const byBob3 = await epochOf({ rotator: ids.bob, members: [ids.bob, ids.carol], prev: handover });
  assert.deepEqual(kindOf(await full.accept(byBob3.bundle)), [[3], 'bundle']);
});

test('downgrades need the DOWNGRADE flag, and the flag needs a downgrade', async () => {
  const ids = await people(['alice', 'bob'], { pq: true });
  const e1 = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.bob], kem: 2 });
  const bob = ringFor(ids.bob, ids.alice);
  await bob.accept(e1.slices.bob);
  const silent = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.bob], prev: e1, kem: 1 });
  assert.equal(await codeOf(() => bob.accept(silent.slices.bob)), 'E_DOWNGRADE');
  const flagged = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.bob], prev: e1, kem: 1, flags: FLAG_DOWNGRADE });
  assert.deepEqual(kindOf(await bob.accept(flagged.slices.bob)), [[2], 'slice']);
  const noop = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.bob], prev: flagged, kem: 1, flags: FLAG_DOWNGRADE });
  assert.equal(await codeOf(() => bob.accept(noop.slices.bob)), 'E_DOWNGRADE');
});

test('partial rosters: member proofs for senders, roster fill-in, superseded epochs', async () => {
  const ids = await people(['alice', 'bob', 'carol']);
  const e1 = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.bob, ids.carol] });
  const rings = {};
  for (const n of ['alice', 'bob', 'carol']) rings[n] = ringFor(ids[n], ids.alice);
  await rings.alice.accept(e1.bundle);
  await rings.bob.accept(e1.slices.bob);
  await rings.carol.accept(e1.bundle);
  const fromCarol = rings.carol.seal('room', enc('carol in 1'), { messageId: 'c1' });
  assert.equal(await codeOf(() => rings.bob.open(fromCarol.toBinary())), 'E_UNKNOWN_SENDER');
  const proof = memberProofFile(e1.bundle, 'carol');
  assert.deepEqual(kindOf(await rings.bob.accept(proof)), [[1], 'member']);
  assert.equal(rings.bob.open(fromCarol.toJSON(), { checkReplay: false }).senderId, 'carol');
  const tampered = Uint8Array.from(proof);
  tampered[tampered.length - 5] ^= 1; // the last path node (an empty lists section follows)
  assert.equal(await codeOf(() => rings.bob.accept(tampered)), 'E_AUTH');
  assert.equal(await codeOf(() => new KeyRing(ids.bob).accept(proof)), 'E_UNKNOWN_KEY');

  // epoch 2 removes carol; bob holds a slice of it
  const e2 = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.bob], prev: e1 });
  await rings.bob.accept(e2.slices.bob);
  // superseded epoch, partial latest roster: carol is not proved in epoch 2 (and cannot be)
  assert.equal(await codeOf(() => rings.bob.open(fromCarol.toBinary())), 'E_UNKNOWN_SENDER');
  assert.deepEqual(kindOf(await rings.bob.accept(e2.bundle)), [[2], 'roster']);
  assert.equal(await codeOf(() => rings.bob.open(fromCarol.toBinary())), 'E_UNAUTHORIZED');
  const fromAlice1 = rings.alice.seal('room', enc('alice in 1'), { messageId: 'a1' });
  assert.equal(rings.bob.open(fromAlice1.toBinary()).messageId, 'a1');
  assert.equal(await codeOf(() => rings.bob.open(fromAlice1.toBinary())), 'E_REPLAY');
  // a tampered roster fill-in: the signature is checked first
  const forged = Uint8Array.from(e2.bundle);
  forged[forged.length - 1] ^= 1;
  const r3 = ringFor(ids.bob, ids.alice);
  await r3.accept(e1.slices.bob);
  await r3.accept(e2.slices.bob);
  assert.equal(await codeOf(() => r3.accept(forged)), 'E_AUTH');
});

test('unsigned mode and the sealer refuses a reused message id', async () => {
  const ids = await people(['alice', 'bob']);
  const e1 = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.bob], suite: 'XC20P' });
  const alice = ringFor(ids.alice, ids.alice);
  await alice.accept(e1.bundle);
  const bot = alice.seal('room', enc('beep'), { messageId: 'bot-1', signed: false });
  assert.equal(await codeOf(() => alice.seal('room', enc('again'), { messageId: 'bot-1' })), 'E_POLICY');
  const strict = ringFor(ids.bob, ids.alice);
  await strict.accept(e1.bundle);
  assert.equal(await codeOf(() => strict.open(bot.toBinary())), 'E_POLICY');
  const lenient = ringFor(ids.bob, ids.alice, 'room', { allowUnsigned: true });
  await lenient.accept(e1.bundle);
  assert.equal(lenient.open(bot.toBinary()).signed, false);
  const e2 = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.bob], prev: e1, suite: 'XC20P' });
  await lenient.accept(e2.bundle);
  const bot2 = alice.seal('room', enc('beep'), { messageId: 'bot-2', signed: false });
  assert.equal(await codeOf(() => lenient.open(bot2.toBinary())), 'E_STALE'); // alice still seals in epoch 1
});

test('replay state per epoch: closes when full, dropped past the live epochs', async () => {
  const ids = await people(['alice', 'bob']);
  const bob = ringFor(ids.bob, ids.alice, 'room', { replayCapacity: 2, liveEpochs: 2 });
  const alice = ringFor(ids.alice, ids.alice);
  let prev = null;
  const epochs = [];
  for (let i = 0; i < 3; i++) {
    prev = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.bob], prev });
    epochs.push(prev);
  }
  await bob.accept(epochs[0].bundle);
  await alice.accept(epochs[0].bundle);
  const msgs = ['a', 'b', 'c'].map((id) => alice.seal('room', enc(id), { messageId: id }));
  bob.open(msgs[0].toBinary());
  bob.open(msgs[1].toBinary());
  assert.equal(await codeOf(() => bob.open(msgs[2].toBinary())), 'E_STALE'); // closed
  assert.equal(await codeOf(() => bob.open(msgs[0].toBinary())), 'E_STALE');
  assert.equal(bob.open(msgs[2].toBinary(), { checkReplay: false }).messageId, 'c');
  await bob.accept(epochs[1].bundle);
  await bob.accept(epochs[2].bundle);
  assert.equal(await codeOf(() => bob.open(msgs[2].toBinary())), 'E_STALE'); // epoch 1 dropped
});

test('history bundles: consecutive entries bound to the chain, link-only entries, gains, refusals', async () => {
  const ids = await people(['alice', 'bob', 'dave']);
  const e1 = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.bob] });
  const e2 = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.bob], prev: e1 });
  const e3 = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.bob, ids.dave], prev: e2 });
  const rosterOf = (b) => b.header && memberProofs(b);
  const memberProofs = (b) => ['alice', 'bob', 'dave'].map((id) => memberProof(b.bundle, id)).filter(Boolean);
  const build = (over = {}) =>
    _buildHistory({
      sharer: ids.alice, recipient: ids.dave.public, roomId: 'room', anchorEpoch: 3, issuedAt: 5, kem: 1,
      sharerProof: memberProof(e3.bundle, 'alice'),
      entries: [
        { header: e1.header, secret: e1.roomKey.secret, roster: rosterOf(e1) },
        { header: e2.header, secret: null, roster: [] },
      ],
      ...over,
    });
  const history = await build();
  const dave = ringFor(ids.dave, ids.alice);
  assert.equal(await codeOf(() => dave.accept(history)), 'E_UNKNOWN_KEY');
  await dave.accept(e3.slices.dave);
  assert.deepEqual(kindOf(await dave.accept(history)), [[1, 2], 'history']);
  assert.deepEqual(kindOf(await dave.accept(history)), [[], 'history']);
  assert.deepEqual(dave.held().map((h) => [h.epoch, h.secret !== null]), [[1, true], [2, false], [3, true]]);
  const alice = ringFor(ids.alice, ids.alice);
  await alice.accept(e1.bundle);
  const old = alice.seal('room', enc('from before'), { messageId: 'old' });
  assert.equal(dave.open(old.toBinary(), { checkReplay: false }).messageId, 'old');
  // epoch 2's key arrives later: it is gained
  const more = await build({ entries: [{ header: e2.header, secret: e2.roomKey.secret, roster: rosterOf(e2) }] });
  assert.deepEqual(kindOf(await dave.accept(more)), [[2], 'history']);

  const fresh = async () => {
    const r = ringFor(ids.dave, ids.alice);
    await r.accept(e3.bundle);
    return r;
  };
  assert.equal(await codeOf(async () => (await fresh()).accept(await build({ recipient: ids.bob.public }))), 'E_NOT_RECIPIENT');
  const notMember = await build({ sharer: ids.bob, sharerProof: memberProof(e2.bundle, 'bob') });
  assert.equal(await codeOf(async () => (await fresh()).accept(notMember)), 'E_UNAUTHORIZED');
  const badSig = Uint8Array.from(history);
  badSig[badSig.length - 200] ^= 1; // inside the sharer proof or signature: either way refused
  assert.notEqual(await codeOf(async () => (await fresh()).accept(badSig)), 'no error');
  const offChain = await build({ entries: [{ header: e1.header, secret: e1.roomKey.secret, roster: rosterOf(e1) }], anchorEpoch: 2, sharerProof: memberProof(e2.bundle, 'alice') });
  const r = await fresh();
  assert.equal(await codeOf(() => r.accept(offChain)), 'E_UNKNOWN_KEY'); // dave does not hold epoch 2
  const wrongRoster = await build({ entries: [{ header: e1.header, secret: e1.roomKey.secret, roster: rosterOf(e2) }, { header: e2.header, secret: null, roster: [] }] });
  assert.equal(await codeOf(async () => (await fresh()).accept(wrongRoster)), 'E_AUTH');
  const wrongKey = await build({ entries: [{ header: e1.header, secret: e2.roomKey.secret, roster: rosterOf(e1) }, { header: e2.header, secret: null, roster: [] }] });
  assert.equal(await codeOf(async () => (await fresh()).accept(wrongKey)), 'E_AUTH');
});

test('history bundles: a chain that does not link to the anchor, and a KEM other than the anchor\'s', async () => {
  const ids = await people(['alice', 'dave'], { pq: true });
  const e1 = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.dave] });
  const other1 = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.dave] });
  const e2 = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.dave], prev: e1 });
  const dave = ringFor(ids.dave, ids.alice);
  await dave.accept(e2.bundle);
  const h = (header, secret, kem = 1) =>
    _buildHistory({
      sharer: ids.alice, recipient: ids.dave.public, roomId: 'room', anchorEpoch: 2, issuedAt: 5, kem,
      sharerProof: memberProof(e2.bundle, 'alice'), entries: [{ header, secret, roster: secret ? [memberProof(e1.bundle, 'alice'), memberProof(e1.bundle, 'dave')] : [] }],
    });
  assert.equal(await codeOf(async () => dave.accept(await h(other1.header, null))), 'E_AUTH');
  assert.equal(await codeOf(async () => dave.accept(await h(e1.header, e1.roomKey.secret, 2))), 'E_DOWNGRADE');
  assert.deepEqual(kindOf(await dave.accept(await h(e1.header, e1.roomKey.secret))), [[1], 'history']);
});

test('KeyRing.rotate and shareHistory: a room lived through its key rings', async () => {
  const ids = await people(['alice', 'bob', 'carol', 'dave']);
  const rings = {};
  for (const n of Object.keys(ids)) rings[n] = ringFor(ids[n], n === 'alice' ? null : ids.alice);
  const pub = (...names) => names.map((n) => ids[n].public);
  const r1 = await rings.alice.rotate('room', { members: pub('alice', 'bob', 'carol'), membersMayRotate: true });
  await rings.bob.accept(r1.slices.bob);
  await rings.carol.accept(r1.bundle);
  const hello = rings.carol.seal('room', enc('hello'), { messageId: 'h' });
  // bob (a member, not an admin) removes carol; his authority is the proof of his slice
  const r2 = await rings.bob.rotate('room', { members: pub('alice', 'bob') });
  assert.deepEqual(kindOf(await rings.alice.accept(r2.slices.alice)), [[2], 'slice']);
  assert.deepEqual(kindOf(await rings.carol.accept(r2.announcement)), [[2], 'link']);
  // alice adds dave and shares epoch 1 with him
  const r3 = await rings.alice.rotate('room', { members: pub('alice', 'bob', 'dave'), share: [{ recipient: ids.dave.public, epochs: [1] }] });
  assert.equal(rings.alice.latestEpoch('room'), 3);
  await rings.dave.accept(r3.slices.dave);
  assert.deepEqual(kindOf(await rings.dave.accept(r3.histories[0])), [[1, 2], 'history']);
  assert.equal(rings.dave.open(hello.toBinary(), { checkReplay: false }).senderId, 'carol');
  // a pinned identity is never replaced silently by a rotator
  const impostor = (await people(['dave'])).dave;
  rings.alice.addIdentity(ids.dave.public);
  assert.equal(await codeOf(() => rings.alice.rotate('room', { members: [ids.alice.public, impostor.public] })), 'E_POLICY');
  assert.equal(rings.alice.latestEpoch('room'), 3);
});

test('rotate removes a removed admin from the admin set; forgetRoom allows a rejoin on another branch', async () => {
  const ids = await people(['alice', 'bob', 'carol']);
  const alice = ringFor(ids.alice, null);
  const r1 = await alice.rotate('room', { members: [ids.alice.public, ids.bob.public, ids.carol.public], admins: [ids.alice, ids.bob] });
  const r2 = await alice.rotate('room', { members: [ids.alice.public, ids.carol.public] });
  assert.deepEqual(r2.header.admins.map((a) => a.id), ['alice']);
  const carol = ringFor(ids.carol, ids.alice);
  await carol.accept(r1.bundle);
  await carol.accept(r2.bundle);
  // another branch of epoch 2 by bob, an admin of epoch 1: a fork; carol rejoins it explicitly
  const other = await epochOf({ rotator: ids.bob, members: [ids.bob, ids.carol], prev: { header: r1.header, epochHash: r1.epochHash } });
  assert.equal(await codeOf(() => carol.accept(other.bundle)), 'E_FORK');
  carol.forgetRoom('room');
  assert.deepEqual(carol.held(), []);
  assert.equal(await codeOf(() => carol.accept(other.bundle)), 'E_UNAUTHORIZED'); // no anchor any more
  carol.trustAnchor('room', ids.bob.public);
  assert.deepEqual(kindOf(await carol.accept(other.bundle)), [[2], 'bundle']);
});
