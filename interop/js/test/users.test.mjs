// Users and devices (spec/users.md): user keys, device lists, the lists sections of the group state, step 4b, the
// rollback rules and the key ring's users.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sha256 } from '@noble/hashes/sha2.js';
import { ByteReader, ByteWriter, b64uEncode, concat, fromHex, toHex } from '../src/encoding.mjs';
import { readLists } from '../src/lists.mjs';
import { buildDeviceList, listDigest, parseDeviceList, verifyDeviceList } from '../src/devicelist.mjs';
import { UserKey, UserSigner, checkUserId, userOfDevice } from '../src/userkey.mjs';
import { DEVICE_LIST_HASH, MAGIC_DEVICE_LIST, SIG_DEVICE_LIST, USER_FINGERPRINT } from '../src/labels.mjs';
import { parseBundle, parseSlice, parseAnnouncement, memberProofFile } from '../src/bundle.mjs';
import { keysOf, parseMemberProofFile } from '../src/memberproof.mjs';
import { RoomKey, ZERO_HASH } from '../src/index.mjs';
import { INFO_WRAP, _wrapRoomKey } from '../src/wrap.mjs';
import { codeOf, enc, epochOf, forge, people, ringFor } from '../testing/room.mjs';

const code = (fn) => {
  try {
    fn();
  } catch (e) {
    return e.code ?? String(e);
  }
  return 'no error';
};
const seed = (n) => new Uint8Array(32).fill(n);
const a1Key = (l) => ({ v: 1, user: l.userId, sig: b64uEncode(l.userKey) });

/** Raw device list bytes from parts, signed by `signer` (for the MUST-reject cases the builder refuses). */
function rawList({ signer, userId = signer.userId, version = 1, issuedAt = 0n, devices, revoked = [], magic = MAGIC_DEVICE_LIST }) {
  const w = new ByteWriter().bytes(magic).str8(userId).bytes(signer.public.key).u32(version).u64(issuedAt).u8(devices.length);
  for (const d of devices) w.str8(d.id).bytes(d.fingerprint);
  w.u8(revoked.length);
  for (const d of revoked) w.str8(d.id).bytes(d.fingerprint).u32(d.backupSeqLimit ?? 0);
  const signed = w.finish();
  return concat(signed, signer.sign(concat(SIG_DEVICE_LIST, signed)));
}

test('user keys: the .user.pub form, user ids, device ids, the user fingerprint and safety number', () => {
  const alice = new UserSigner('alice', seed(1));
  const k = UserKey.fromJSON(alice.public.toJSON());
  assert.ok(k.equals(alice.public));
  assert.equal(toHex(k.fingerprint), toHex(sha256(concat(USER_FINGERPRINT, Uint8Array.of(5), enc('alice'), k.key))));
  assert.match(k.safetyNumber, /^\d{5}( \d{5}){5}$/);
  const json = JSON.parse(alice.public.toJSON());
  assert.equal(code(() => UserKey.fromJSON(JSON.stringify({ ...json, extra: 1 }))), 'E_FORMAT');
  assert.equal(code(() => UserKey.fromJSON(JSON.stringify({ ...json, v: 2 }))), 'E_FORMAT');
  assert.equal(code(() => UserKey.fromJSON(JSON.stringify({ ...json, user: 'a/b' }))), 'E_FORMAT');
  assert.equal(code(() => UserKey.fromJSON(JSON.stringify({ ...json, sig: 'AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }))), 'E_BAD_KEY');
  assert.equal(checkUserId('u'.repeat(96)), 'u'.repeat(96));
  assert.equal(code(() => checkUserId('u'.repeat(97))), 'E_FORMAT');
  assert.equal(userOfDevice('alice/phone'), 'alice');
  assert.equal(userOfDevice('alice'), null);
  for (const bad of ['alice/', '/phone', 'alice/phone/2', `${'u'.repeat(97)}/phone`]) assert.equal(code(() => userOfDevice(bad)), 'E_FORMAT', bad);
});

test('device lists: build, parse, digest, verify, and every MUST-reject of spec/users.md#device-list', async () => {
  const ids = await people(['alice/phone', 'alice/laptop']);
  const alice = new UserSigner('alice', seed(1));
  const mallory = new UserSigner('alice', seed(2));
  const devices = [ids['alice/phone'].public, ids['alice/laptop'].public];
  const bytes = buildDeviceList({ signer: alice, version: 1, issuedAt: 7, devices });
  const l = verifyDeviceList(parseDeviceList(bytes), alice.public);
  assert.deepEqual(l.devices.map((d) => d.id), ['alice/laptop', 'alice/phone']);
  assert.equal(toHex(l.digest), toHex(sha256(concat(DEVICE_LIST_HASH, bytes))));
  assert.equal(toHex(listDigest(bytes)), toHex(l.digest));
  const fp = (n) => ids[n].fingerprint;
  const sorted = [{ id: 'alice/laptop', fingerprint: fp('alice/laptop') }, { id: 'alice/phone', fingerprint: fp('alice/phone') }];
  assert.equal(toHex(rawList({ signer: alice, issuedAt: 7n, devices: sorted })), toHex(bytes));
  const bad = {
    'another magic': { magic: Uint8Array.of(0x44, 0x56, 0x4c, 0x02) },
    'version 0': { version: 0 },
    'issued_at past 9999': { issuedAt: 253402300800n },
    'no device': { devices: [] },
    '17 devices': { devices: Array.from({ length: 17 }, (_, i) => ({ id: `alice/d${String(i).padStart(2, '0')}`, fingerprint: seed(i) })) },
    '65 revoked': { revoked: Array.from({ length: 65 }, (_, i) => ({ id: `alice/r${String(i).padStart(2, '0')}`, fingerprint: seed(i) })) },
    'a device of another user': { devices: [{ id: 'bob/phone', fingerprint: seed(1) }] },
    'a device id with two /': { devices: [{ id: 'alice/pho/ne', fingerprint: seed(1) }] },
    'a user id with /': { userId: 'al/ice', devices: [{ id: 'al/ice/x', fingerprint: seed(1) }] },
    'devices unsorted': { devices: [sorted[1], sorted[0]] },
    'a duplicate device': { devices: [sorted[0], sorted[0]] },
    'revoked unsorted': { revoked: [{ id: 'alice/old', fingerprint: seed(2) }, { id: 'alice/old', fingerprint: seed(1) }] },
    'a revoked id of another user': { revoked: [{ id: 'bob/old', fingerprint: seed(1) }] },
    'revoked and listed': { revoked: [{ id: 'alice/phone', fingerprint: fp('alice/phone') }] },
  };
  for (const [name, o] of Object.entries(bad)) {
    assert.equal(code(() => parseDeviceList(rawList({ signer: alice, devices: sorted, ...o }))), 'E_FORMAT', name);
  }
  // the same id revoked under another fingerprint (a device that replaced its keys) is fine
  const replaced = parseDeviceList(rawList({ signer: alice, devices: sorted, revoked: [{ id: 'alice/phone', fingerprint: seed(9), backupSeqLimit: 4 }] }));
  assert.equal(replaced.revoked[0].backupSeqLimit, 4);
  assert.equal(code(() => parseDeviceList(concat(bytes, Uint8Array.of(0)))), 'E_FORMAT');
  assert.equal(code(() => parseDeviceList(bytes.subarray(0, bytes.length - 1))), 'E_FORMAT');
  assert.equal(code(() => parseDeviceList(new Uint8Array(16 * 1024 + 1))), 'E_FORMAT');
  const flipped = Uint8Array.from(bytes);
  flipped[flipped.length - 1] ^= 1;
  assert.equal(code(() => verifyDeviceList(parseDeviceList(flipped))), 'E_AUTH');
  const forged = buildDeviceList({ signer: mallory, version: 2, issuedAt: 7, devices });
  assert.equal(code(() => verifyDeviceList(parseDeviceList(forged))), 'no error');
  assert.equal(code(() => verifyDeviceList(parseDeviceList(forged), alice.public)), 'E_UNAUTHORIZED');
  // an invalid user key: E_BAD_KEY when the list is verified
  const badKey = Uint8Array.from(bytes);
  badKey.set(Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 1 : 0)), 4 + 1 + 5);
  assert.equal(code(() => parseDeviceList(badKey)), 'E_BAD_KEY');
  assert.equal(code(() => parseDeviceList(concat(badKey, Uint8Array.of(0)))), 'E_BAD_KEY'); // as soon as it is read
  // the pinned key is compared before the signature
  assert.equal(code(() => verifyDeviceList(parseDeviceList(flipped), mallory.public)), 'E_UNAUTHORIZED');
});

test('the device list vectors: build and parse give the published bytes and digests', () => {
  const doc = JSON.parse(readFileSync(fileURLToPath(new URL('../../../vectors/users.json', import.meta.url)), 'utf8'));
  const parsed = doc.cases.filter((c) => c.op === 'device_list' && c.output);
  assert.ok(parsed.length >= 3);
  for (const c of parsed) assert.equal(toHex(parseDeviceList(fromHex(c.input.list)).digest), c.output.digest, c.id);
});

/** A room of users: alice (phone, laptop) and bob (phone); alice's phone is the admin. */
async function usersRoom() {
  const ids = await people(['alice/phone', 'alice/laptop', 'bob/phone', 'carol']);
  const alice = new UserSigner('alice', seed(1));
  const bob = new UserSigner('bob', seed(2));
  const a1 = parseDeviceList(buildDeviceList({ signer: alice, version: 1, issuedAt: 1, devices: [ids['alice/phone'].public, ids['alice/laptop'].public] }));
  const a2 = parseDeviceList(buildDeviceList({
    signer: alice, version: 2, issuedAt: 2, devices: [ids['alice/phone'].public],
    revoked: [{ id: 'alice/laptop', fingerprint: ids['alice/laptop'].fingerprint, backupSeqLimit: 0 }],
  }));
  const b1 = parseDeviceList(buildDeviceList({ signer: bob, version: 1, issuedAt: 1, devices: [ids['bob/phone'].public] }));
  return { ids, alice, bob, a1, a2, b1, admin: ids['alice/phone'] };
}

test('group state v3: member entries name their user\'s list, and each structure carries the lists it names', async () => {
  const { ids, a1, b1, admin } = await usersRoom();
  const all = [ids['alice/phone'], ids['alice/laptop'], ids['bob/phone'], ids.carol];
  const e1 = await epochOf({ rotator: admin, members: all, lists: [a1, b1] });
  const b = parseBundle(e1.bundle);
  assert.deepEqual(b.lists.map((l) => l.userId), ['alice', 'bob']);
  assert.deepEqual(b.members.map((m) => toHex(m.listDigest)), [a1, a1, b1].map((l) => toHex(l.digest)).concat([toHex(new Uint8Array(32))]));
  assert.deepEqual(parseSlice(e1.slices['bob/phone']).lists.map((l) => l.userId), ['alice', 'bob']);
  assert.deepEqual(parseSlice(e1.slices['alice/laptop']).lists.map((l) => l.userId), ['alice']);
  assert.deepEqual(parseSlice(e1.slices.carol).lists.map((l) => l.userId), ['alice']);
  assert.deepEqual(parseAnnouncement(e1.announcement).lists.map((l) => l.userId), ['alice']);
  assert.deepEqual(parseMemberProofFile(memberProofFile(e1.bundle, 'bob/phone')).lists.map((l) => l.userId), ['bob']);
  assert.deepEqual(parseMemberProofFile(memberProofFile(e1.bundle, 'carol')).lists, []);
  // every holder accepts
  for (const [who, input] of [['bob/phone', e1.bundle], ['bob/phone', e1.slices['bob/phone']], ['carol', e1.slices.carol]]) {
    const ring = ringFor(ids[who], admin);
    assert.equal((await ring.accept(input)).epochs[0], 1, who);
    // the lists are held (by digest, and each user's newest), but only pinned users are reported
    assert.deepEqual(ring.users(), []);
    assert.equal(ring.newestList('alice').version, 1);
    assert.equal(!!ring.newestList('bob'), input !== e1.slices.carol);
    ring.pinUser(UserKey.fromJSON(JSON.stringify(a1Key(a1))));
    assert.deepEqual(ring.users().map((u) => [u.userId, u.version]), [['alice', 1]]);
  }
});

test('step 4b: missing and extra lists, the digest rule, a device not on its list, an incomplete bundle, a pinned key', async () => {
  const { ids, alice, a1, b1, admin } = await usersRoom();
  const key = RoomKey.generate({ roomId: 'room', epoch: 1 });
  const header = {
    kem: 1, suite: key.suite, roomId: 'room', epoch: 1, keyId: key.keyId, previous: ZERO_HASH, rotatorId: 'alice/phone',
    issuedAt: 0n, flags: 0, maxMessages: 100, maxAgeSeconds: 604800, admins: [{ id: admin.id, fingerprint: admin.fingerprint }],
  };
  const entry = async (pub, digest) => ({
    keys: keysOf(pub, digest),
    wrapped: await _wrapRoomKey({ kem: 1, label: INFO_WRAP, roomKey: key, recipientId: pub.id, recipientPublic: pub.x25519 }, null),
  });
  const base = async (over = {}) => [
    await entry(ids['alice/laptop'].public, over.laptop ?? a1.digest),
    await entry(ids['alice/phone'].public, a1.digest),
    await entry(ids['bob/phone'].public, over.bob ?? b1.digest),
  ];
  const bobRing = () => ringFor(ids['bob/phone'], admin);
  const ok = forge({ signer: admin, header, entries: await base(), lists: [a1, b1], rotatorIndex: 1 });
  assert.equal((await bobRing().accept(ok.bundle)).kind, 'bundle');
  assert.equal((await bobRing().accept(ok.slice(2))).kind, 'slice');
  const cases = {
    'a list missing': [forge({ signer: admin, header, entries: await base(), exactLists: [a1], rotatorIndex: 1 }), 'E_FORMAT'],
    'an extra list': [forge({ signer: admin, header, entries: await base({ bob: new Uint8Array(32) }), exactLists: [a1, b1], rotatorIndex: 1 }), 'E_FORMAT'],
    'a device with a zero digest': [forge({ signer: admin, header, entries: await base({ bob: new Uint8Array(32) }), lists: [a1], rotatorIndex: 1 }), 'E_FORMAT'],
    'a device under another user\'s list': [forge({ signer: admin, header, entries: await base({ bob: a1.digest }), lists: [a1], rotatorIndex: 1 }), 'E_UNAUTHORIZED'],
    'an incomplete bundle': [forge({
      signer: admin, header, entries: (await base()).slice(1), lists: [a1, b1], rotatorIndex: 0,
    }), 'E_UNAUTHORIZED'],
  };
  for (const [name, [f, want]] of Object.entries(cases)) assert.equal(await codeOf(() => bobRing().accept(f.bundle)), want, name);
  // the section itself: strictly sorted by user id (so one list per user), at most the structure's limit
  const section = (lists, count = lists.length) => {
    const w = new ByteWriter().u32(count);
    for (const l of lists) w.bytes16(l.bytes);
    return new ByteReader(w.finish());
  };
  assert.equal(readLists(section([a1, b1]), null).length, 2);
  assert.equal(code(() => readLists(section([b1, a1]), null)), 'E_FORMAT');
  assert.equal(code(() => readLists(section([a1, a1]), null)), 'E_FORMAT');
  assert.equal(code(() => readLists(section([a1, b1]), 1)), 'E_FORMAT');
  assert.equal(code(() => readLists(section([a1], 2), null)), 'E_FORMAT');
  // an id without "/" naming a list
  const carolEntry = await entry(ids.carol.public, b1.digest);
  const named = forge({ signer: admin, header, entries: [...(await base()), carolEntry], lists: [a1, b1], rotatorIndex: 1 });
  assert.equal(await codeOf(() => bobRing().accept(named.bundle)), 'E_FORMAT');
  // a slice carries the rotator's and the member's lists only: the incomplete bundle's slice is accepted
  assert.equal((await bobRing().accept(cases['an incomplete bundle'][0].slice(1))).kind, 'slice');
  // a list signed by another key than the one pinned for its user
  const ring = bobRing();
  ring.pinUser(new UserSigner('alice', seed(3)).public);
  assert.equal(await codeOf(() => ring.accept(ok.bundle)), 'E_UNAUTHORIZED');
  const pinned = bobRing();
  pinned.pinUser(alice.public);
  assert.equal((await pinned.accept(ok.bundle)).kind, 'bundle');
});

test('rollback: an epoch going back to an older list, an older or equivocating list added, sealing after a removal', async () => {
  const { ids, alice, bob: bobKey, a1, a2, b1, admin } = await usersRoom();
  const everyone = [ids['alice/phone'], ids['alice/laptop'], ids['bob/phone']];
  const e1 = await epochOf({ rotator: admin, members: everyone, lists: [a1, b1] });
  const e2 = await epochOf({ rotator: admin, members: [ids['alice/phone'], ids['bob/phone']], prev: e1, lists: [a2, b1] });
  const e3 = await epochOf({ rotator: admin, members: everyone, prev: e2, lists: [a1, b1] });
  for (const form of ['bundle', 'slice']) {
    const bob = ringFor(ids['bob/phone'], admin);
    bob.pinUser(alice.public);
    bob.pinUser(bobKey.public);
    const pick = (e) => (form === 'bundle' ? e.bundle : e.slices['bob/phone']);
    await bob.accept(pick(e1));
    await bob.accept(pick(e2));
    assert.deepEqual(bob.users().map((u) => [u.userId, u.version]), [['alice', 2], ['bob', 1]]);
    assert.equal(await codeOf(() => bob.accept(pick(e3))), 'E_ROLLBACK', form);
    assert.equal(bob.latestEpoch('room'), 2);
  }
  // a joiner may join on an epoch whose list is older than the newest it holds: kept by digest only
  const late = ringFor(ids['bob/phone'], admin);
  late.addDeviceList(a2.bytes);
  await late.accept(e1.bundle);
  assert.equal(late.newestList('alice').version, 2);
  assert.ok(late.deviceList(a1.digest));
  // the owner adds lists itself: older, or same version with another digest, is E_ROLLBACK
  const ring = ringFor(ids['bob/phone'], admin);
  assert.equal(ring.addDeviceList(a2.bytes).version, 2);
  assert.equal(toHex(ring.userKey('alice').key), toHex(alice.public.key));
  assert.equal(code(() => ring.addDeviceList(a1.bytes)), 'E_ROLLBACK');
  const twin = buildDeviceList({ signer: alice, version: 2, issuedAt: 99, devices: [ids['alice/phone'].public] });
  assert.equal(code(() => ring.addDeviceList(twin)), 'E_ROLLBACK');
  assert.equal(ring.addDeviceList(a2.bytes).version, 2); // the same list again
  assert.equal(code(() => ring.addDeviceList(buildDeviceList({ signer: new UserSigner('alice', seed(4)), version: 3, issuedAt: 3, devices: [ids['alice/phone'].public] }))), 'E_UNAUTHORIZED');
  assert.equal(code(() => ring.addDeviceList(b1.bytes, [ids['alice/phone'].public])), 'E_POLICY');
  assert.equal(ring.users().length, 1);
  assert.equal(code(() => ring.pinUser(new UserSigner('alice', seed(5)).public)), 'E_POLICY');
  // sealing in an epoch with a device that the newest held list removed: E_POLICY, and rotation_due says devices
  const laptopRing = ringFor(ids['alice/phone'], admin);
  await laptopRing.accept(e1.bundle);
  assert.equal(laptopRing.rotationDue('room', 1001), false);
  assert.ok(laptopRing.seal('room', enc('hi')));
  laptopRing.addDeviceList(a2.bytes);
  assert.equal(laptopRing.rotationDue('room', 1001), 'devices');
  assert.equal(await codeOf(() => laptopRing.seal('room', enc('hi'))), 'E_POLICY');
  await laptopRing.accept(e2.bundle);
  assert.ok(laptopRing.seal('room', enc('hi')));
});

test('member proof files name their list; KeyRing.rotate expands users to the devices of their newest lists', async () => {
  const { ids, a1, a2, b1, admin } = await usersRoom();
  const ring = ringFor(admin, null);
  ring.addDeviceList(a1.bytes, [ids['alice/laptop'].public]);
  ring.addDeviceList(b1.bytes, [ids['bob/phone'].public]);
  const e1 = await ring.rotate('room', { users: ['alice', 'bob'], members: [ids.carol.public], issuedAt: 1000 });
  assert.deepEqual(parseBundle(e1.bundle).members.map((m) => m.id), ['alice/laptop', 'alice/phone', 'bob/phone', 'carol']);
  const laptop = ringFor(ids['alice/laptop'], admin);
  await laptop.accept(e1.slices['alice/laptop']);
  const proof = memberProofFile(e1.bundle, 'bob/phone');
  assert.deepEqual((await laptop.accept(proof)).epochs, [1]);
  assert.deepEqual(laptop.held()[0].members, ['alice/laptop', 'alice/phone', 'bob/phone']);
  // a proof file whose list is signed by another key than the one pinned: refused before the roster changes
  const other = ringFor(ids['alice/laptop'], admin);
  await other.accept(e1.slices['alice/laptop']);
  other.pinUser(new UserSigner('bob', seed(7)).public);
  assert.equal(await codeOf(() => other.accept(proof)), 'E_UNAUTHORIZED');
  assert.deepEqual(other.held()[0].members, ['alice/laptop', 'alice/phone']);
  // alice's second list drops the laptop: the next rotation leaves it out, and it keeps the chain as a link
  ring.addDeviceList(a2.bytes);
  const e2 = await ring.rotate('room', { users: ['alice', 'bob'], issuedAt: 1001 });
  assert.deepEqual(parseBundle(e2.bundle).members.map((m) => m.id), ['alice/phone', 'bob/phone']);
  assert.equal((await laptop.accept(e2.announcement)).kind, 'link');
  // a user whose list names an identity the admin does not hold: nothing is built
  const fresh = ringFor(admin, null);
  fresh.addDeviceList(a1.bytes);
  assert.equal(await codeOf(() => fresh.rotate('room2', { users: ['alice'] })), 'E_POLICY');
});
