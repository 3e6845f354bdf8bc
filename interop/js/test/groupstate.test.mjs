// Strict parsing of the group-state v2 structures: every MUST-reject of spec/bundle.md and spec/history.md, and
// round trips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sha256 } from '@noble/hashes/sha2.js';
import { ByteWriter, toHex } from '../src/encoding.mjs';
import { encodeHeader, epochHash, parseHeader } from '../src/header.mjs';
import { parseAnnouncement, parseBundle, parseSlice, memberProof, memberProofFile, parseHistory, parseMemberProofFile } from '../src/index.mjs';
import {
  EPOCH_HASH, SIG_EPOCH, SIG_HISTORY, TREE_LEAF, MAGIC_BUNDLE, MAGIC_SLICE, MAGIC_EPOCH, MAGIC_MEMBER_PROOF, MAGIC_HISTORY,
  MAGIC_DEVICE_LIST, SIG_DEVICE_LIST, DEVICE_LIST_HASH, USER_FINGERPRINT,
} from '../src/labels.mjs';
import { writeLists } from '../src/lists.mjs';
import { writeMember, writeAuthority, writeProof } from '../src/memberproof.mjs';
import { code } from '../testing/code.mjs';
import { epochOf, people } from '../testing/room.mjs';

const Z = new Uint8Array(32);
const ONE = Uint8Array.from({ length: 32 }, () => 1);

/** A header written field by field, with no checks, so that each bound can be broken alone. */
function rawHeader(o = {}) {
  const f = {
    kem: 1, suite: 1, room: 'room', epoch: 2, keyId: ONE, previous: ONE, rotator: 'alice', issuedAt: 0n, flags: 0,
    maxMessages: 100, maxAge: 604800, admins: [['alice', ONE]], memberCount: 1, root: ONE, ...o,
  };
  const w = new ByteWriter().u8(f.kem).u8(f.suite).str8(f.room).u32(f.epoch).bytes(f.keyId).bytes(f.previous).str8(f.rotator)
    .u64(f.issuedAt).u8(f.flags).u32(f.maxMessages).u32(f.maxAge).u8(f.admins.length);
  for (const [id, fp] of f.admins) w.str8(id).bytes(fp);
  return w.u32(f.memberCount).bytes(f.root).finish();
}

test('labels and magics of format version 3 (spec/labels.md)', () => {
  const hex = (b) => toHex(b);
  assert.equal(hex(MAGIC_BUNDLE), '44564203');
  assert.equal(hex(MAGIC_SLICE), '44565303');
  assert.equal(hex(MAGIC_EPOCH), '44564503');
  assert.equal(hex(MAGIC_MEMBER_PROOF), '44565003');
  assert.equal(hex(MAGIC_HISTORY), '44564803');
  assert.equal(hex(MAGIC_DEVICE_LIST), '44564c03');
  assert.equal(hex(SIG_EPOCH), '646f6d7669612d653265652f76332065706f63682d736967');
  assert.equal(hex(SIG_HISTORY), '646f6d7669612d653265652f763320686973746f72792d736967');
  assert.equal(hex(EPOCH_HASH), '646f6d7669612d653265652f76332065706f63682d68617368');
  assert.equal(hex(TREE_LEAF), '00646f6d7669612d653265652f7633206d656d626572');
  assert.equal(hex(SIG_DEVICE_LIST), '646f6d7669612d653265652f7633206465766963652d6c6973742d736967');
  assert.equal(hex(DEVICE_LIST_HASH), '646f6d7669612d653265652f7633206465766963652d6c6973742d68617368');
  assert.equal(hex(USER_FINGERPRINT), '646f6d7669612d653265652f763320757365722d66696e6765727072696e74');
});

test('header: round trip and every bound (E_FORMAT)', () => {
  const h = parseHeader(rawHeader());
  assert.deepEqual(parseHeader(encodeHeader(h).bytes).bytes, h.bytes);
  assert.equal(toHex(epochHash(h)), toHex(sha256(new Uint8Array([...EPOCH_HASH, ...h.bytes]))));
  assert.equal(parseHeader(rawHeader({ epoch: 1, previous: Z })).epoch, 1);
  assert.equal(parseHeader(rawHeader({ flags: 3, issuedAt: 253402300799n, maxMessages: 0xffffffff })).flags, 3);
  const bad = {
    'unknown KEM': { kem: 3 },
    'unknown suite': { suite: 0 },
    'epoch 0': { epoch: 0 },
    'zero previous after epoch 1': { previous: Z },
    'previous in epoch 1': { epoch: 1 },
    'issued_at past 9999': { issuedAt: 253402300800n },
    'unknown flag': { flags: 4 },
    'DOWNGRADE in epoch 1': { epoch: 1, previous: Z, flags: 2 },
    'max_messages 0': { maxMessages: 0 },
    'max_age_seconds 0': { maxAge: 0 },
    'no admin': { admins: [] },
    '33 admins': { admins: Array.from({ length: 33 }, (_, i) => [`a${String(i).padStart(2, '0')}`, ONE]) },
    'admins unsorted': { admins: [['bob', ONE], ['alice', ONE]] },
    'admins duplicate': { admins: [['alice', ONE], ['alice', Z]] },
    'member_count 0': { memberCount: 0 },
    'member_count 100,001': { memberCount: 100001 },
    'bad room id': { room: 'a room' },
  };
  for (const [name, o] of Object.entries(bad)) assert.equal(code(() => parseHeader(rawHeader(o))), 'E_FORMAT', name);
  assert.equal(parseHeader(rawHeader({ admins: Array.from({ length: 32 }, (_, i) => [`a${String(i).padStart(2, '0')}`, ONE]), memberCount: 100000 })).admins.length, 32);
  assert.equal(code(() => parseHeader(rawHeader().subarray(0, 100))), 'E_FORMAT');
  assert.equal(code(() => parseHeader(new Uint8Array([...rawHeader(), 0]))), 'E_FORMAT');
});

test('bundles, slices, announcements, member proofs: round trips and MUST-rejects', async () => {
  const ids = await people(['alice', 'bob', 'carol']);
  const e1 = await epochOf({ rotator: ids.alice, members: [ids.carol, ids.alice, ids.bob] });
  const b = parseBundle(e1.bundle);
  assert.deepEqual(b.members.map((m) => m.id), ['alice', 'bob', 'carol']);
  assert.equal(toHex(b.members[1].fingerprint), toHex(ids.bob.fingerprint));
  assert.equal(parseSlice(e1.slices.bob).member.id, 'bob');
  assert.equal(parseAnnouncement(e1.announcement).rotatorProof.id, 'alice');
  const f = parseMemberProofFile(memberProofFile(e1.bundle, 'carol'));
  assert.deepEqual([f.roomId, f.epoch, f.proof.id, f.proof.index], ['room', 1, 'carol', 2]);

  const all = [e1.bundle, e1.slices.bob, e1.announcement, memberProofFile(e1.bundle, 'bob')];
  const parsers = [parseBundle, parseSlice, parseAnnouncement, parseMemberProofFile];
  parsers.forEach((p, i) => {
    assert.equal(code(() => p(new Uint8Array([...all[i], 0]))), 'E_FORMAT', 'trailing byte');
    assert.equal(code(() => p(all[i].subarray(0, all[i].length - 1))), 'E_FORMAT', 'truncated');
    for (const version of [1, 2]) {
      const old = Uint8Array.from(all[i]);
      old[3] = version;
      assert.equal(code(() => p(old)), 'E_FORMAT', `version ${version}`);
    }
    assert.equal(code(() => p(all[(i + 1) % 4])), 'E_FORMAT', 'another structure');
  });
  // authority presence byte
  const at = 4 + b.header.bytes.length + 64;
  const presence = Uint8Array.from(e1.bundle);
  presence[at] = 2;
  assert.equal(code(() => parseBundle(presence)), 'E_FORMAT');
  // members re-written: unsorted, wrong wrapped size, an X-Wing key of the wrong length
  const rewrite = (members, edit = (w, m) => writeMember(w, m)) => {
    const w = new ByteWriter().bytes(MAGIC_BUNDLE).bytes(b.header.bytes).bytes(b.signature);
    writeAuthority(w, b.authority);
    writeLists(w, []);
    for (const m of members) edit(w, m);
    return w.finish();
  };
  assert.equal(parseBundle(rewrite(b.members)).members.length, 3);
  assert.equal(code(() => parseBundle(rewrite([b.members[1], b.members[0], b.members[2]]))), 'E_FORMAT');
  assert.equal(code(() => parseBundle(rewrite(b.members, (w, m) => writeMember(w, { ...m, wrapped: m.wrapped.subarray(1) })))), 'E_FORMAT');
  assert.equal(code(() => parseBundle(rewrite(b.members, (w, m) => writeMember(w, { ...m, xwing: new Uint8Array(5) })))), 'E_FORMAT');
  // a path over 32 nodes
  const p = memberProof(e1.bundle, 'bob');
  const w = new ByteWriter().bytes(MAGIC_MEMBER_PROOF).str8('room').u32(1).str8(p.id).bytes(p.x25519).bytes(p.ed25519)
    .bytes16(p.xwing).bytes(new Uint8Array(32)).bytes(p.wrappedDigest).u32(p.index).u8(33);
  for (let i = 0; i < 33; i++) w.bytes(ONE);
  const long = w.finish();
  assert.equal(code(() => parseMemberProofFile(long)), 'E_FORMAT');
  // a slice over 64 KiB
  assert.equal(code(() => parseSlice(new Uint8Array(64 * 1024 + 1))), 'E_FORMAT');
});

test('X-Wing epochs: every member entry carries a 1216-byte X-Wing key', async () => {
  const ids = await people(['alice', 'bob'], { pq: true });
  const e1 = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.bob], kem: 2 });
  const b = parseBundle(e1.bundle);
  assert.equal(b.members[0].xwing.length, 1216);
  const w = new ByteWriter().bytes(MAGIC_BUNDLE).bytes(b.header.bytes).bytes(b.signature);
  writeAuthority(w, null);
  writeLists(w, []);
  for (const m of b.members) writeMember(w, { ...m, xwing: new Uint8Array(0) });
  assert.equal(code(() => parseBundle(w.finish())), 'E_FORMAT');
});

test('history bundles: MUST-rejects of spec/history.md#format', async () => {
  const ids = await people(['alice', 'dave']);
  const e1 = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.dave] });
  const e2 = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.dave], prev: e1 });
  const e3 = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.dave], prev: e2 });
  const other = await epochOf({ rotator: ids.alice, members: [ids.alice, ids.dave], roomId: 'other', epoch: 2, prev: e1 });
  const roster1 = [memberProof(e1.bundle, 'alice'), memberProof(e1.bundle, 'dave')];
  const wrapped = new Uint8Array(80);
  const raw = ({ anchor = 3, entries, sharer = 'alice', proof = memberProof(e3.bundle, 'alice'), kem = 1, count } = {}) => {
    const w = new ByteWriter().str8('room').str8(sharer).str8('dave').u32(anchor).u64(0).u8(kem).u32(count ?? entries.length);
    for (const e of entries) {
      w.bytes16(e.header).bytes16(e.wrapped ?? new Uint8Array(0)).u32(e.roster?.length ?? e.count ?? 0);
      for (const m of e.roster ?? []) {
        w.str8(m.id).bytes(m.x25519).bytes(m.ed25519).bytes16(m.xwing).bytes(m.listDigest).bytes(m.wrappedDigest);
      }
    }
    const out = new ByteWriter().bytes(MAGIC_HISTORY).bytes(w.finish()).bytes(new Uint8Array(64));
    return writeProof(out, proof).finish();
  };
  const good = [{ header: e1.header.bytes, wrapped, roster: roster1 }, { header: e2.header.bytes }];
  assert.equal(parseHistory(raw({ entries: good })).entries.length, 2);
  const bad = {
    'not consecutive': { entries: [good[0], { header: e3.header.bytes }], anchor: 4 },
    'last not anchor - 1': { entries: good, anchor: 4 },
    'another room': { entries: [good[0], { header: other.header.bytes }] },
    'header does not parse': { entries: [good[0], { header: e2.header.bytes.subarray(1) }] },
    'wrapped size': { entries: [{ ...good[0], wrapped: new Uint8Array(81) }, good[1]] },
    'roster count for a link-only entry': { entries: [good[0], { header: e2.header.bytes, roster: roster1 }] },
    'roster count not member_count': { entries: [{ ...good[0], roster: roster1.slice(1) }, good[1]] },
    'roster unsorted': { entries: [{ ...good[0], roster: [roster1[1], roster1[0]] }, good[1]] },
    'sharer proof id': { entries: good, sharer: 'dave' },
    'no entries': { entries: [], count: 0 },
    'unknown kem': { entries: good, kem: 9 },
  };
  for (const [name, o] of Object.entries(bad)) assert.equal(code(() => parseHistory(raw(o))), 'E_FORMAT', name);
  const v = raw({ entries: good });
  assert.equal(code(() => parseHistory(new Uint8Array([...v, 0]))), 'E_FORMAT');
  const v1 = Uint8Array.from(v);
  v1[3] = 1;
  assert.equal(code(() => parseHistory(v1)), 'E_FORMAT');
});
