// Differential probes (a maintenance tool, not a test): session and op cases whose expected result is THIS
// implementation's answer, on points the spec leaves open (SPEC-FINDINGS.md, V-rows). Usage:
//   node testing/probe.mjs /tmp/probe/probe.json && domvia-e2ee conformance --vectors /tmp/probe   (the reference, built-in)
// A failing case is a disagreement between the two implementations.
import { writeFileSync } from 'node:fs';
import { randomBytes } from '@noble/hashes/utils.js';
const J = '..';
const { Identity, RoomKey, ZERO_HASH, toHex, memberProof, memberProofFile, FLAG_DOWNGRADE, FLAG_MEMBERS_MAY_ROTATE, parseHeader } = await import(`${J}/src/index.mjs`);
const { _buildBundle } = await import(`${J}/src/bundle.mjs`);
const { _buildHistory } = await import(`${J}/src/history.mjs`);
const { runOp } = await import(`${J}/conformance/ops.mjs`);
const { _sealWithNonce } = await import(`${J}/src/message.mjs`);

const privOf = new WeakMap();
async function person(id, pq = false) {
  const k = { id, x25519: randomBytes(32), ed25519: randomBytes(32), xwing: pq ? randomBytes(32) : null };
  const i = await Identity.fromKeys(k);
  privOf.set(i, { id, x25519: toHex(k.x25519), ed25519: toHex(k.ed25519), ...(pq ? { xwing: toHex(k.xwing) } : {}) });
  return i;
}
async function epoch({ rotator, members, prev = null, kem = 1, flags, admins, suite = 'A256GCM', maxMessages, authority = null, roomId = 'room', e }) {
  const roomKey = RoomKey.generate({ roomId, epoch: e ?? (prev ? prev.header.epoch + 1 : 1), suite });
  const b = await _buildBundle({
    rotator, roomKey, kem, previous: prev ? prev.epochHash : ZERO_HASH, issuedAt: 7n,
    flags: flags ?? (prev ? prev.header.flags & 1 : 0), maxMessages: maxMessages ?? prev?.header.maxMessages ?? 100,
    maxAgeSeconds: prev?.header.maxAgeSeconds ?? 604800,
    admins: admins ?? prev?.header.admins ?? [{ id: rotator.id, fingerprint: rotator.fingerprint }],
    members: members.map((m) => m.public), authority,
  }, null);
  return { ...b, roomKey };
}
const h = (b) => toHex(b);
const cases = [];
async function session(id, description, owner, steps, { directory = [], anchors = [{ room_id: 'room', id: 'alice' }], allowUnsigned = false, replayCapacity } = {}) {
  const input = { owner: privOf.get(owner), allow_unsigned: allowUnsigned, directory: directory.map((d) => d.public.toObject()), anchors, steps };
  if (replayCapacity !== undefined) input.replay_capacity = replayCapacity;
  await add(id, description, 'session', input);
}
async function add(id, description, op, input) {
  let r;
  try { r = await runOp(op, input); } catch (e) { r = { error: e.code ?? String(e) }; }
  cases.push({ id: 'probe-' + id, op, description, input, ...(r.output ? { output: r.output } : { error: r.error }) });
}
const acc = (b) => ({ accept: h(b) });
const open = (m, check = true) => ({ open: { binary: h(m.toBinary()) }, check_replay: check });

const alice = await person('alice'), bob = await person('bob'), carol = await person('carol'), dave = await person('dave');
const D = [alice, bob, carol, dave];

// P1, P2: a link from an announcement, then a bundle listing P (V2, V3)
{
  const e1 = await epoch({ rotator: alice, members: [alice, dave] });
  const e2 = await epoch({ rotator: alice, members: [alice, bob, dave], prev: e1 });
  await session('link-then-bundle', 'V3: link from an announcement, then the full bundle listing P', dave, [acc(e1.bundle), acc(e2.announcement), acc(e2.bundle)], { directory: D });
  await session('link-then-slice', 'V2: link from an announcement, then P\'s slice', dave, [acc(e1.bundle), acc(e2.announcement), acc(e2.slices.dave)], { directory: D });
  const dave2 = await person('dave');
  const e2x = await epoch({ rotator: alice, members: [alice, bob, dave2], prev: e1 });
  // same header? no: another dave makes another root, so build the announcement of e2x and then its bundle
  await session('link-then-bundle-other-fp', 'V2: link, then the bundle lists P\'s id under another fingerprint', dave, [acc(e1.bundle), acc(e2x.announcement), acc(e2x.bundle)], { directory: [alice, bob] });
}
// P3: a differing header for a held epoch from a member changing policy in a members-may-rotate room (V4)
{
  const e1 = await epoch({ rotator: alice, members: [alice, bob, carol], flags: FLAG_MEMBERS_MAY_ROTATE });
  const e2 = await epoch({ rotator: alice, members: [alice, bob, carol], prev: e1 });
  const e2b = await epoch({ rotator: bob, members: [bob, carol], prev: e1, maxMessages: 7 });
  await session('fork-by-member-changing-policy', 'V4: differing epoch 2 by a member that changes the policy', carol, [acc(e1.bundle), acc(e2.bundle), acc(e2b.bundle)], { directory: D });
  const e2c = await epoch({ rotator: bob, members: [bob, carol], prev: e1 });
  await session('fork-by-member', 'V4: differing epoch 2 by a member keeping the policy', carol, [acc(e1.bundle), acc(e2.bundle), acc(e2c.bundle)], { directory: D });
}
// P4: member rotation after a downgrade epoch (V5)
{
  const a = await person('alice', true), b = await person('bob', true), c = await person('carol', true);
  const e1 = await epoch({ rotator: a, members: [a, b, c], kem: 2, flags: FLAG_MEMBERS_MAY_ROTATE });
  const e2 = await epoch({ rotator: a, members: [a, b, c], prev: e1, kem: 1, flags: FLAG_MEMBERS_MAY_ROTATE | FLAG_DOWNGRADE });
  const authority = memberProof(e2.bundle, 'bob');
  const cleared = await epoch({ rotator: b, members: [a, b, c], prev: e2, kem: 1, flags: FLAG_MEMBERS_MAY_ROTATE, authority });
  const kept = await epoch({ rotator: b, members: [a, b, c], prev: e2, kem: 1, flags: FLAG_MEMBERS_MAY_ROTATE | FLAG_DOWNGRADE, authority });
  const dir = [a, b, c];
  await session('member-after-downgrade-cleared', 'V5: a member rotates after a downgrade epoch, DOWNGRADE cleared', c, [acc(e1.slices.carol), acc(e2.slices.carol), acc(cleared.bundle)], { directory: dir });
  await session('member-after-downgrade-kept', 'V5: a member rotates after a downgrade epoch, DOWNGRADE kept', c, [acc(e1.slices.carol), acc(e2.slices.carol), acc(kept.bundle)], { directory: dir });
}
// P5: join where the admin set names the rotator's id with another fingerprint (V6)
{
  const e1 = await epoch({ rotator: alice, members: [alice, bob], admins: [{ id: 'alice', fingerprint: bob.fingerprint }] });
  await session('join-admin-other-fp', 'V6: the admin set lists alice with another fingerprint', bob, [acc(e1.bundle)], { directory: D });
}
// P6: a slice holder opens its own message (V9)
{
  const e1 = await epoch({ rotator: alice, members: [alice, bob, carol] });
  const m = _sealWithNonce(e1.roomKey, new Uint8Array([1]), { senderId: 'bob', messageId: 'own', contentType: 'text/plain', padded: true, signer: bob }, randomBytes(12));
  await session('slice-own-message', 'V9: a slice holder opens its own signed message', bob, [acc(e1.slices.bob), open(m)], { directory: D });
  const u = _sealWithNonce(e1.roomKey, new Uint8Array([1]), { senderId: 'alice', messageId: 'u', contentType: 'text/plain', padded: true, signer: null }, randomBytes(12));
  await session('slice-unsigned-rotator', 'unsigned message from the rotator, slice holder, unsigned mode', bob, [acc(e1.slices.bob), open(u)], { directory: D, allowUnsigned: true });
  const other = new RoomKey(randomBytes(32), { roomId: 'room', epoch: 1, suite: 'XC20P' });
  const f = _sealWithNonce(other, new Uint8Array([1]), { senderId: 'alice', messageId: 'f', contentType: 'text/plain', padded: true, signer: alice }, randomBytes(24));
  await session('message-other-suite', 'V12: a member signs a message for a held epoch with another suite', bob, [acc(e1.bundle), open(f)], { directory: D });
  const other2 = new RoomKey(randomBytes(32), { roomId: 'room', epoch: 1 });
  const g = _sealWithNonce(other2, new Uint8Array([1]), { senderId: 'alice', messageId: 'g', contentType: 'text/plain', padded: true, signer: null }, randomBytes(12));
  await session('message-other-key-unsigned', 'an unsigned message for a held epoch with another key id', bob, [acc(e1.bundle), open(g)], { directory: D, allowUnsigned: true });
  await add('member-proof-absent', 'V21: member_proof for an id not in the bundle', 'member_proof', { bundle: h(e1.bundle), id: 'dave' });
  await session('anchor-not-in-directory', 'V22: an anchor id missing from the directory', bob, [acc(e1.bundle)], { directory: [], anchors: [{ room_id: 'room', id: 'zed' }] });
  const pf = memberProofFile(e1.bundle, 'carol');
  await session('member-proof-trailing', 'V8: a member proof file with a trailing byte', bob, [acc(e1.slices.bob), { accept: h(pf) + '00' }], { directory: D });
}
// P8, P22: history anchored on a link; a link gaining a key (V11)
{
  const e1 = await epoch({ rotator: alice, members: [alice, dave] });
  const e2 = await epoch({ rotator: alice, members: [alice, bob], prev: e1 });
  const e3 = await epoch({ rotator: alice, members: [alice, bob, dave], prev: e2 });
  const roster = (b, ids) => ids.map((i) => { const p = memberProof(b.bundle, i); return { identity: (D.find((d) => d.id === i)).public.toObject(), wrapped_digest: h(p.wrappedDigest) }; });
  const hist = { sharer: privOf.get(alice), recipient: dave.public.toObject(), room_id: 'room', anchor_epoch: 3, issued_at: 9, kem: 1,
    entries: [{ header: h(e2.header.bytes), secret: h(e2.roomKey.secret), roster: roster(e2, ['alice', 'bob']), ephemeral: null }],
    sharer_proof: (() => { const p = memberProof(e3.bundle, 'alice'); return { identity: alice.public.toObject(), wrapped_digest: h(p.wrappedDigest), index: p.index, path: p.path.map(h) }; })() };
  const hb = (await runOp('build_history', hist)).output.history;
  await session('history-link-gains-key', 'a link epoch gains its key from a history bundle', dave, [acc(e1.bundle), acc(e2.announcement), acc(e3.slices.dave), { accept: hb }], { directory: D });
  const e4 = await epoch({ rotator: alice, members: [alice, bob], prev: e3 });
  const hist4 = { ...hist, anchor_epoch: 4, entries: [{ header: h(e3.header.bytes), secret: null, roster: [], ephemeral: null }],
    sharer_proof: (() => { const p = memberProof(e4.bundle, 'alice'); return { identity: alice.public.toObject(), wrapped_digest: h(p.wrappedDigest), index: p.index, path: p.path.map(h) }; })() };
  const d2 = { ...hist4 };
  const hb4 = (await runOp('build_history', d2)).output;
  // dave joins on a link? impossible; carol holds e4 as link after a join on e3 -> use bob: holds e4 (member)
  await session('history-anchor-link', 'V11: history anchored on an epoch held as a link', dave, [acc(e1.bundle), acc(e2.announcement), acc(e3.slices.dave), acc(e4.announcement),
    { accept: hb4.history }], { directory: D });
}
// Batch 2: bad keys, fingerprints changing between epochs, forks at the first held epoch, proof key lengths, builders
{
  const { forge } = await import('./room.mjs');
  const { keysOf } = await import(`${J}/src/memberproof.mjs`);
  const { fingerprintOf } = await import(`${J}/src/identity.mjs`);
  const { INFO_WRAP, _wrapRoomKey } = await import(`${J}/src/wrap.mjs`);
  const { ByteWriter } = await import(`${J}/src/encoding.mjs`);
  const smallOrder = Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 1 : 0));
  const zed = await person('zed');
  const badZed = { ...keysOf(zed.public), ed25519: smallOrder };
  badZed.fingerprint = fingerprintOf(badZed);
  const hdr = (key, rotator, prev = ZERO_HASH) => ({ kem: 1, suite: key.suite, roomId: 'room', epoch: key.epoch, keyId: key.keyId, previous: prev,
    rotatorId: rotator.id, issuedAt: 0n, flags: 0, maxMessages: 100, maxAgeSeconds: 604800, admins: [{ id: 'alice', fingerprint: alice.fingerprint }] });
  const wrapTo = async (key, id, pub) => _wrapRoomKey({ kem: 1, label: INFO_WRAP, roomKey: key, recipientId: id, recipientPublic: pub }, null);
  const k1 = RoomKey.generate({ roomId: 'room', epoch: 1 });
  const entries = [
    { keys: keysOf(alice.public), wrapped: await wrapTo(k1, 'alice', alice.public.x25519) },
    { keys: keysOf(bob.public), wrapped: await wrapTo(k1, 'bob', bob.public.x25519) },
    { keys: badZed, wrapped: await wrapTo(k1, 'zed', zed.public.x25519) },
  ];
  const f1 = forge({ signer: alice, header: hdr(k1, alice), entries });
  const fromZed = _sealWithNonce(k1, new Uint8Array([2]), { senderId: 'zed', messageId: 'z', contentType: 'text/plain', padded: true, signer: zed }, randomBytes(12));
  await session('member-bad-ed25519', 'a member whose Ed25519 key is small order sends a signed message: E_BAD_KEY at use', bob, [acc(f1.bundle), open(fromZed)], { directory: D });
  const kx = new RoomKey(randomBytes(32), { roomId: 'room', epoch: 1 });
  const zedOther = _sealWithNonce(kx, new Uint8Array([2]), { senderId: 'zed', messageId: 'z2', contentType: 'text/plain', padded: true, signer: zed }, randomBytes(12));
  await session('fork-check-bad-key', 'V13: another key id, signed by a member whose roster key is invalid', bob, [acc(f1.bundle), open(zedOther)], { directory: D });
  const entriesR = [entries[1], { ...entries[2], keys: { ...badZed, id: 'zed' } }];
  const fr = forge({ signer: alice, header: { ...hdr(k1, zed), admins: [{ id: 'zed', fingerprint: badZed.fingerprint }] }, entries: [entries[1], entries[2]], rotatorIndex: 1 });
  await session('rotator-bad-key', 'MR-EPOCH-ROTATOR-KEY: the rotator\'s Ed25519 key is small order', bob, [acc(fr.bundle)], { directory: D, anchors: [] });
  await session('rotator-bad-key-slice', 'MR-EPOCH-ROTATOR-KEY: the same, as a slice', bob, [acc(fr.slice(0))], { directory: D, anchors: [] });
  // a sharer whose key is small order, proved in the anchor epoch
  const k2 = RoomKey.generate({ roomId: 'room', epoch: 2 });
  const e1ok = await epoch({ rotator: alice, members: [alice, bob, dave] });
  const f2 = forge({ signer: alice, header: hdr(k2, alice, e1ok.epochHash), entries: [
    { keys: keysOf(alice.public), wrapped: await wrapTo(k2, 'alice', alice.public.x25519) },
    { keys: keysOf(dave.public), wrapped: await wrapTo(k2, 'dave', dave.public.x25519) },
    { keys: badZed, wrapped: await wrapTo(k2, 'zed', zed.public.x25519) }] });
  const { memberProof: mp } = await import(`${J}/src/index.mjs`);
  const zp = mp(f2.bundle, 'zed');
  const hz = await _buildHistory({ sharer: zed, recipient: dave.public, roomId: 'room', anchorEpoch: 2, issuedAt: 0n, kem: 1, sharerProof: zp,
    entries: [{ header: e1ok.header, secret: null, roster: [], ephemeral: null }] });
  await session('sharer-bad-key', 'MR-HIST-SHARER-KEY: a sharer proved in the anchor epoch with a small-order key', dave, [acc(f2.slice(1)), acc(hz)], { directory: D });
  // V14: carol changes keys between epochs; bob holds epoch 2 as a slice and carol's new proof
  const carol2 = await person('carol');
  const c1 = await epoch({ rotator: alice, members: [alice, bob, carol] });
  const c2 = await epoch({ rotator: alice, members: [alice, bob, carol2], prev: c1 });
  const old = _sealWithNonce(c1.roomKey, new Uint8Array([3]), { senderId: 'carol', messageId: 'old-keys', contentType: 'text/plain', padded: true, signer: carol }, randomBytes(12));
  await session('superseded-partial-other-fp', 'V14: sender proved in the latest partial roster under another fingerprint', bob,
    [acc(c1.bundle), acc(c2.slices.bob), acc(memberProofFile(c2.bundle, 'carol')), open(old)], { directory: [alice] });
  await session('superseded-partial-unproved', 'the same before the proof: E_UNKNOWN_SENDER', bob, [acc(c1.bundle), acc(c2.slices.bob), open(old)], { directory: [alice] });
  // forks at the first held epoch (no E - 1 held)
  const g2 = await epoch({ rotator: alice, members: [alice, bob, dave], prev: c1 });
  const g2b = await epoch({ rotator: alice, members: [alice, dave], prev: c1 });
  const g2m = await epoch({ rotator: bob, members: [bob, dave], prev: c1, admins: [{ id: 'alice', fingerprint: alice.fingerprint }] });
  await session('fork-at-first', 'a second epoch 2 by an admin of the held epoch 2, nothing older held', dave, [acc(g2.slices.dave), acc(g2b.slices.dave)], { directory: D });
  await session('fork-at-first-non-admin', 'a second epoch 2 by a non-admin, nothing older held', dave, [acc(g2.slices.dave), acc(g2m.slices.dave)], { directory: D });
  await session('announcement-of-held-slice', 'the announcement of an epoch held from a slice', dave, [acc(g2.slices.dave), acc(g2.announcement)], { directory: D });
  await session('bundle-then-link-bundle-again', 'a link from a bundle, then the same bundle', carol, [acc(c1.bundle), acc(g2b.bundle), acc(g2b.bundle)], { directory: D });
  // V7: a member proof file whose xwing_public is 5 bytes
  const p = memberProof(c1.bundle, 'alice');
  const w = new ByteWriter().bytes(Uint8Array.of(0x44, 0x56, 0x50, 0x02)).str8('room').u32(1).str8('alice').bytes(p.x25519).bytes(p.ed25519).bytes16(new Uint8Array(5)).bytes(p.wrappedDigest).u32(p.index).u8(p.path.length);
  for (const n of p.path) w.bytes(n);
  await session('member-proof-xwing-5', 'V7: a member proof with a 5-byte X-Wing key', bob, [acc(c1.slices.bob), acc(w.finish())], { directory: D });
  // V20: build_bundle with admins out of order
  const eph = {};
  for (const m of [alice, bob]) eph[m.id] = h(randomBytes(32));
  await add('build-unsorted-admins', 'V20: build_bundle with admins given out of order', 'build_bundle', {
    rotator: privOf.get(alice), secret: h(randomBytes(32)), suite: 'A256GCM', kem: 1, room_id: 'room', epoch: 1, previous: h(ZERO_HASH),
    issued_at: 1, flags: 0, max_messages: 100, max_age_seconds: 604800, admins: [['bob', h(bob.fingerprint)], ['alice', h(alice.fingerprint)]],
    members: [alice.public.toObject(), bob.public.toObject()], ephemerals: eph, authority: null });
}
// Batch 3: history bundles gaining a roster; a history entry header with a trailing byte (V8)
{
  const { ByteWriter } = await import(`${J}/src/encoding.mjs`);
  const { writeProof } = await import(`${J}/src/memberproof.mjs`);
  const e1 = await epoch({ rotator: alice, members: [alice, bob] });
  const e2 = await epoch({ rotator: alice, members: [alice, bob, dave], prev: e1 });
  const e3 = await epoch({ rotator: alice, members: [alice, bob, dave], prev: e2 });
  const fromBob = _sealWithNonce(e2.roomKey, new Uint8Array([4]), { senderId: 'bob', messageId: 'b2', contentType: 'text/plain', padded: true, signer: bob }, randomBytes(12));
  const mp2 = (b, i) => memberProof(b.bundle, i);
  const hb = await _buildHistory({ sharer: alice, recipient: dave.public, roomId: 'room', anchorEpoch: 3, issuedAt: 0n, kem: 1, sharerProof: memberProof(e3.bundle, 'alice'),
    entries: [{ header: e1.header, secret: e1.roomKey.secret, roster: ['alice', 'bob'].map((i) => mp2(e1, i)), ephemeral: null },
      { header: e2.header, secret: e2.roomKey.secret, roster: ['alice', 'bob', 'dave'].map((i) => mp2(e2, i)), ephemeral: null }] });
  await session('history-gains-roster', 'a slice-held epoch gains its roster from a history bundle, then bob\'s message opens', dave,
    [acc(e2.slices.dave), acc(e3.slices.dave), acc(hb), open(fromBob, false)], { directory: D });
  await session('history-before-roster', 'the same message before the history bundle', dave, [acc(e2.slices.dave), acc(e3.slices.dave), open(fromBob, false)], { directory: D });
  const w = new ByteWriter().str8('room').str8('alice').str8('dave').u32(3).u64(0).u8(1).u32(1)
    .bytes16(new Uint8Array([...e2.header.bytes, 0])).bytes16(new Uint8Array(0)).u32(0);
  const raw = writeProof(new ByteWriter().bytes(Uint8Array.of(0x44, 0x56, 0x48, 0x02)).bytes(w.finish()).bytes(new Uint8Array(64)), memberProof(e3.bundle, 'alice')).finish();
  await session('history-entry-trailing', 'V8: a history entry header with a trailing byte inside its bytes16', dave, [acc(e3.slices.dave), acc(raw)], { directory: D });
}
// Batch 4: the session's seal and set_sealed steps, may_fail, identity changes (W-rows)
{
  const e1 = await epoch({ rotator: alice, members: [alice, bob, carol] });
  const e2 = await epoch({ rotator: alice, members: [alice, carol], prev: e1 });
  const seal = (mid, nonce = '11'.repeat(12), room = 'room') => ({ seal: { room_id: room, content: '6869', message_id: mid, nonce } });
  const setS = (epochN, count, room = 'room') => ({ set_sealed: { room_id: room, epoch: epochN, count } });
  const mf = (step) => ({ ...step, may_fail: true });
  const B = 2 ** 32;
  // W1: the owner's own sealed message, opened live (the server's echo)
  const first = (await runOp('session', { owner: privOf.get(bob), allow_unsigned: false, directory: [alice.public.toObject()], anchors: [{ room_id: 'room', id: 'alice' }], steps: [acc(e1.bundle), seal('b-1')] })).output;
  const echo = { open: { binary: first.results[1].sealed.binary }, check_replay: true };
  await session('seal-then-open-own', 'W1: bob seals b-1, then opens it live (the echo), then again', bob, [acc(e1.bundle), seal('b-1'), mf(echo), mf(echo)], { directory: [alice] });
  await session('open-own-then-seal', 'W1: bob opens a b-1 he sealed elsewhere, then seals b-1', bob, [acc(e1.bundle), echo, mf(seal('b-1', '22'.repeat(12)))], { directory: [alice] });
  // W2: exhausted budget and a reused id at once
  await session('seal-exhausted-and-reused', 'W2: a reused id once the budget is spent', bob, [acc(e1.bundle), seal('b-1'), setS(1, B), seal('b-1', '22'.repeat(12))], { directory: [alice] });
  await session('seal-budget-boundary', 'W2: 2^32 - 1 sealed: one more, then E_KEY_EXHAUSTED', bob, [acc(e1.bundle), setS(1, B - 1), seal('b-1'), mf(seal('b-2'))], { directory: [alice] });
  // W3: set_sealed out of range or on an epoch not held, and on a link
  await session('set-sealed-over', 'W3: set_sealed 2^32 + 1', bob, [acc(e1.bundle), setS(1, B + 1)], { directory: [alice] });
  await session('set-sealed-negative', 'W3: set_sealed -1', bob, [acc(e1.bundle), setS(1, -1)], { directory: [alice] });
  await session('set-sealed-not-held', 'W3: set_sealed of epoch 2, not held', bob, [acc(e1.bundle), setS(2, 0)], { directory: [alice] });
  await session('set-sealed-no-room', 'W3: set_sealed in a room not held', bob, [acc(e1.bundle), setS(1, 0, 'other')], { directory: [alice] });
  await session('set-sealed-link', 'W3: set_sealed on an epoch held as a link', bob, [acc(e1.bundle), acc(e2.bundle), setS(2, 5)], { directory: [alice] });
  await session('set-sealed-old-epoch', 'W3: a spent budget in epoch 1 does not stop sealing in epoch 2', carol, [acc(e1.bundle), acc(e2.bundle), setS(1, B), seal('c-1')], { directory: [alice] });
  // W4: sealing where the latest epoch is a link, in a room not held; a bad nonce length
  await session('seal-latest-link', 'W4: bob seals after his removal (latest epoch a link)', bob, [acc(e1.bundle), acc(e2.bundle), seal('b-1')], { directory: [alice] });
  await session('seal-no-room', 'W4: seal in a room not held', bob, [acc(e1.bundle), seal('b-1', '11'.repeat(12), 'other')], { directory: [alice] });
  await session('seal-short-nonce', 'W4: a nonce of 11 bytes', bob, [acc(e1.bundle), seal('b-1', '11'.repeat(11))], { directory: [alice] });
  await session('seal-long-nonce', 'W4: a nonce of 24 bytes in an AES-256-GCM epoch', bob, [acc(e1.bundle), seal('b-1', '11'.repeat(24))], { directory: [alice] });
  // W5: sealing into a closed replay state (capacity 1, one message opened)
  const fromAlice = _sealWithNonce(e1.roomKey, new Uint8Array([1]), { senderId: 'alice', messageId: 'a-1', contentType: 'text/plain', padded: true, signer: alice }, randomBytes(12));
  await session('seal-closed', 'W5: capacity 1, alice\'s message opened, then bob seals', bob, [acc(e1.bundle), open(fromAlice), seal('b-1')], { directory: [alice], replayCapacity: 1 });
  await session('seal-fills', 'W5: capacity 1, bob seals, then alice\'s message opens?', bob, [acc(e1.bundle), seal('b-1'), open(fromAlice)], { directory: [alice], replayCapacity: 1 });
  await session('seal-closed-reused', 'W5: capacity 1, bob seals b-1, then b-1 again (closed and reused)', bob, [acc(e1.bundle), seal('b-1'), seal('b-1', '22'.repeat(12))], { directory: [alice], replayCapacity: 1 });
  await session('seal-closed-exhausted', 'W5: capacity 1, alice\'s message opened, budget spent, bob seals', bob, [acc(e1.bundle), open(fromAlice), setS(1, B), seal('b-1')], { directory: [alice], replayCapacity: 1 });
  await session('seal-exhausted-closed-echo', 'W5: capacity 1, bob seals b-1, then opens its echo (closed)', bob, [acc(e1.bundle), seal('b-1'), mf(echo)], { directory: [alice], replayCapacity: 1 });
  await session('set-sealed-link-zero', 'W3: set_sealed 0 on an epoch held as a link', bob, [acc(e1.bundle), acc(e2.bundle), setS(2, 0)], { directory: [alice] });
  await session('set-sealed-fraction', 'W3: set_sealed 1.5', bob, [acc(e1.bundle), setS(1, 1.5)], { directory: [alice] });
  // W6: another sender's id is not P's
  await session('seal-others-id', 'W6: bob seals a-1 after opening alice\'s a-1', bob, [acc(e1.bundle), open(fromAlice), seal('a-1')], { directory: [alice] });
  // W7: identity changes through a slice, a roster fill-in, a member proof, an announcement, a history bundle
  const carol2 = await person('carol');
  await session('idchange-slice-then-roster', 'W7: carol pinned otherwise: bob\'s slice, then the full bundle, then carol\'s proof', bob,
    [acc(e1.slices.bob), acc(e1.bundle), acc(memberProofFile(e1.bundle, 'carol'))], { directory: [alice, carol2] });
  await session('idchange-slice-then-proof', 'W7: carol pinned otherwise: bob\'s slice, then carol\'s member proof', bob,
    [acc(e1.slices.bob), acc(memberProofFile(e1.bundle, 'carol'))], { directory: [alice, carol2] });
  await session('idchange-announcement', 'W7: carol pinned otherwise: the announcement of epoch 2 (a link)', bob,
    [acc(e1.slices.bob), acc(e2.announcement), acc(e2.bundle)], { directory: [alice, carol2] });
  // W8: may_fail on a forking step: held unchanged, the session goes on
  const e2b = await epoch({ rotator: alice, members: [alice, bob, carol], prev: e1 });
  await session('may-fail-fork', 'W8: a fork under may_fail, then the genuine epoch 2 slice... already held', carol,
    [acc(e1.bundle), acc(e2.bundle), mf(acc(e2b.slices.carol)), seal('c-1')], { directory: [alice] });
  // W9: a may_fail step that succeeds, and may_fail false
  await session('may-fail-ok', 'W9: may_fail on a succeeding step', bob, [mf(acc(e1.bundle)), { ...seal('b-1'), may_fail: false }], { directory: [alice] });
  await session('may-fail-false-fails', 'W9: may_fail false on a failing step', bob, [acc(e1.bundle), seal('b-1'), { ...seal('b-1'), may_fail: false }], { directory: [alice] });
  await session('seal-no-id', 'W10: a seal step without message_id', bob, [acc(e1.bundle), { seal: { room_id: 'room', content: '6869', nonce: '11'.repeat(12) } }], { directory: [alice] });
}
writeFileSync(process.argv[2] ?? 'probe.json', JSON.stringify({ name: 'probe', version: 1, description: 'JS answers to probe against the reference', cases }, null, 1));
for (const c of cases) console.log(c.id, c.error ?? JSON.stringify(c.output).slice(0, 150));
