// Differential probes of group state v3's open points (SPEC-FINDINGS.md, U-rows): cases whose expected answer is
// THIS implementation's, run against the reference as a black box. Usage:
//   node testing/probe-users.mjs /tmp/probe-u/probe.json && domvia-e2ee conformance --vectors /tmp/probe-u
// A failing case is a disagreement between the two implementations.
import { writeFileSync } from 'node:fs';
import { randomBytes } from '@noble/hashes/utils.js';
import { Identity, RoomKey, ZERO_HASH, toHex } from '../src/index.mjs';
import { _buildBundle } from '../src/bundle.mjs';
import { buildDeviceList, listDigest, parseDeviceList } from '../src/devicelist.mjs';
import { UserSigner } from '../src/userkey.mjs';
import { runOp } from '../conformance/ops.mjs';

const privOf = new WeakMap();
async function person(id) {
  const k = { id, x25519: randomBytes(32), ed25519: randomBytes(32) };
  const i = await Identity.fromKeys(k);
  privOf.set(i, { id, x25519: toHex(k.x25519), ed25519: toHex(k.ed25519) });
  return i;
}
const h = (b) => toHex(b);
const cases = [];
async function add(id, description, op, input) {
  let r;
  try {
    r = await runOp(op, input);
  } catch (e) {
    r = { error: e.code ?? `uncaught ${e}` };
  }
  cases.push({ id: `probe-u-${id}`, op, description, input, ...('error' in r ? { error: r.error } : { output: r.output }) });
}
async function session(id, description, owner, steps, anchor) {
  const input = {
    owner: privOf.get(owner), allow_unsigned: false, directory: [anchor.public.toObject()],
    anchors: [{ room_id: 'room', id: anchor.id }], steps,
  };
  await add(id, description, 'session', input);
}
async function epoch({ rotator, members, prev = null, lists = [] }) {
  const roomKey = RoomKey.generate({ roomId: 'room', epoch: prev ? prev.header.epoch + 1 : 1, suite: 'A256GCM' });
  const b = await _buildBundle({
    rotator, roomKey, kem: 1, previous: prev ? prev.epochHash : ZERO_HASH, issuedAt: 7n, flags: 0, maxMessages: 100,
    maxAgeSeconds: 604800, admins: [{ id: rotator.id, fingerprint: rotator.fingerprint }], members: members.map((m) => m.public),
    lists: lists.map((l) => (l instanceof Uint8Array ? parseDeviceList(l) : l)),
  }, null);
  return b;
}

const phone = await person('alice/phone');
const laptop = await person('alice/laptop');
const bob = await person('bob/phone');
const tablet = await person('bob/tablet');
const aliceKey = UserSigner.generate('alice');
const bobKey = UserSigner.generate('bob');
const a1 = buildDeviceList({ signer: aliceKey, version: 1, issuedAt: 1, devices: [phone.public, laptop.public] });
const a1b = buildDeviceList({ signer: aliceKey, version: 1, issuedAt: 9, devices: [phone.public, laptop.public] });
const a2 = buildDeviceList({
  signer: aliceKey, version: 2, issuedAt: 2, devices: [phone.public],
  revoked: [{ id: 'alice/laptop', fingerprint: laptop.fingerprint, backupSeqLimit: 0 }],
});
const b1 = buildDeviceList({ signer: bobKey, version: 1, issuedAt: 1, devices: [bob.public] });
const add1 = (l, identities = []) => ({ add_device_list: h(l), identities });

// U1: build_bundle with lists (left out of the file: the reference's runner stops with "unexpected ValueError:
// devices not on their users' device lists" instead of answering with a code), a member of a listed user that its list does not name
await add('build-unlisted-device', 'bob/tablet is not on bob\'s list: entered with a zero digest here', 'build_bundle', {
  rotator: privOf.get(phone), secret: h(randomBytes(32)), suite: 'A256GCM', kem: 1, room_id: 'room', epoch: 1,
  previous: h(ZERO_HASH), issued_at: 7, flags: 0, max_messages: 100, max_age_seconds: 604800,
  admins: [['alice/phone', h(phone.fingerprint)]], members: [phone, laptop, bob, tablet].map((m) => m.public.toObject()),
  ephemerals: Object.fromEntries(['alice/phone', 'alice/laptop', 'bob/phone', 'bob/tablet'].map((i) => [i, h(randomBytes(32))])),
  authority: null, lists: [h(a1), h(b1)],
});
// U2: a list given that no member is on is not carried
await add('build-unused-list', 'bob\'s list given, no member of bob', 'build_bundle', {
  rotator: privOf.get(phone), secret: h(randomBytes(32)), suite: 'A256GCM', kem: 1, room_id: 'room', epoch: 1,
  previous: h(ZERO_HASH), issued_at: 7, flags: 0, max_messages: 100, max_age_seconds: 604800,
  admins: [['alice/phone', h(phone.fingerprint)]], members: [phone, laptop].map((m) => m.public.toObject()),
  ephemerals: { 'alice/phone': h(randomBytes(32)), 'alice/laptop': h(randomBytes(32)) }, authority: null, lists: [h(a1), h(b1)],
});
const e1 = await epoch({ rotator: phone, members: [phone, laptop, bob], lists: [a1, b1] });
const e1b = await epoch({ rotator: phone, members: [phone, laptop, bob], lists: [a1b, b1] });
// U3: a group-state list of the newest's version with another digest (the user key equivocated)
await session('equivocating-list-in-bundle', 'a bundle carrying alice\'s other version-1 list', bob,
  [add1(a1), add1(b1), { accept: h(e1b.bundle) }], phone);
// U4: a list older than the newest held, in a join bundle
await session('older-list-in-join', 'alice v2 held, then a bundle with alice v1', bob, [add1(a2), add1(b1), { accept: h(e1.bundle) }], phone);
// U5: signature and pin both wrong: which is checked first
const flipped = Uint8Array.from(a1);
flipped[flipped.length - 1] ^= 1;
await add('bad-sig-and-other-pin', 'bad signature, and another key pinned', 'device_list', { list: h(flipped), pinned: UserSigner.generate('alice').public.toObject() });
// U6: pin_user with a second key for a pinned user
await session('pin-twice', 'another user key for a pinned user', bob, [{ pin_user: aliceKey.public.toObject() }, { pin_user: UserSigner.generate('alice').public.toObject() }], phone);
await session('pin-same-twice', 'the same user key pinned twice', bob, [{ pin_user: aliceKey.public.toObject() }, { pin_user: aliceKey.public.toObject() }], phone);
// U7: add_device_list refusal order; the same list twice
await session('older-and-unnamed', 'an older list naming an identity it does not list', bob, [add1(a2), add1(a1, [tablet.public.toObject()])], phone);
await session('unnamed-identity', 'an identity the list does not name', bob, [add1(a1, [tablet.public.toObject()])], phone);
await session('same-list-twice', 'the same list added twice', bob, [add1(a1), add1(a1)], phone);
await session('list-after-pin-other', 'a list signed by another key than the pinned one', bob, [{ pin_user: UserSigner.generate('alice').public.toObject() }, add1(a1)], phone);
// U8: sealing with a removed device in the roster
await session('seal-after-removal', 'alice\'s phone holds her v2 list, the laptop is in the latest roster', phone,
  [add1(a1), add1(b1), { accept: h(e1.bundle) }, add1(a2), { seal: { room_id: 'room', content: '6869', message_id: 'm1', nonce: h(randomBytes(12)) } }], phone);
// U9: an invalid user key in a bundle's list, with a bundle signature that fails (step 3)
const badUser = Uint8Array.from(a1);
badUser.set(Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 1 : 0)), 4 + 1 + 5);
const fakeBad = { ...parseDeviceList(a1), bytes: badUser, digest: listDigest(badUser) }; // the builder refuses the key
const e1bad = await epoch({ rotator: phone, members: [phone, laptop, bob], lists: [fakeBad, b1] });
const sigBroken = Uint8Array.from(e1bad.bundle);
sigBroken[4 + e1bad.header.bytes.length] ^= 1;
await session('bad-user-key-and-bad-signature', 'a list with a small-order user key in a bundle whose signature fails', bob, [{ accept: h(sigBroken) }], phone);
await add('bad-user-key', 'a device list whose user key is small order', 'device_list', { list: h(badUser), pinned: null });
// U10: history roster members that are devices: the member proof object and roster carry no list digest
await add('history-device-roster', 'build_history with a device in a roster (no list digest in the op)', 'build_history', {
  sharer: privOf.get(phone), recipient: bob.public.toObject(), room_id: 'room', anchor_epoch: 2, issued_at: 7, kem: 1,
  entries: [{ header: h(e1.header.bytes), secret: h(randomBytes(32)), roster: [phone, laptop, bob].map((m) => ({ identity: m.public.toObject(), wrapped_digest: h(randomBytes(32)) })), ephemeral: h(randomBytes(32)) }],
  sharer_proof: { identity: phone.public.toObject(), wrapped_digest: h(randomBytes(32)), index: 0, path: [] },
});
// U11: a slice whose member's list is older than the newest held for that user (the member's own user)
const e2 = await epoch({ rotator: phone, members: [phone, bob], prev: e1, lists: [a2, b1] });
await session('users-after-link', 'the users output after a bundle that brings a newer list', laptop,
  [add1(a1), { accept: h(e1.bundle) }, { accept: h(e2.announcement) }], phone);


// U12: a user whose key is not pinned (its lists reach P only inside group-state structures): is it held, reported
// in `users`, and checked for rollback?
const b2 = buildDeviceList({ signer: bobKey, version: 2, issuedAt: 2, devices: [bob.public] });
const f1 = await epoch({ rotator: phone, members: [phone, laptop, bob], lists: [a1, b2] });
const f2 = await epoch({ rotator: phone, members: [phone, laptop, bob], prev: f1, lists: [a1, b1] });
await session('unpinned-rollback', 'bob never pinned: bob v2 in epoch 1, bob v1 in epoch 2', laptop, [add1(a1), { accept: h(f1.bundle) }, { accept: h(f2.bundle) }], phone);
await session('unpinned-users', 'bob never pinned: the users output after epoch 1', laptop, [add1(a1), { accept: h(f1.bundle) }], phone);
await session('pinned-not-added-users', 'bob pinned but no list added: the users output after epoch 1', laptop, [add1(a1), { pin_user: bobKey.public.toObject() }, { accept: h(f1.bundle) }], phone);
await session('pinned-rollback', 'bob pinned only: bob v2 in epoch 1, bob v1 in epoch 2', laptop, [add1(a1), { pin_user: bobKey.public.toObject() }, { accept: h(f1.bundle) }, { accept: h(f2.bundle) }], phone);
await session('nothing-pinned-users', 'nothing added or pinned: the users output after epoch 1 (a slice)', laptop, [{ accept: h(f1.slices['alice/laptop']) }], phone);
// U9b: an invalid user key and a trailing byte: format first?
await add('bad-user-key-and-trailing', 'a small-order user key and a byte after the signature (E_BAD_KEY first)', 'device_list', { list: h(new Uint8Array([...badUser, 0])), pinned: null });
writeFileSync(process.argv[2] ?? 'probe.json', JSON.stringify({ name: 'probe-users', version: 1, description: 'JS answers to probe against the reference', cases: cases.filter((c) => c.id !== 'probe-u-build-unlisted-device') }, null, 1));
