// Bundles, slices and epoch announcements of group state v3 (spec/bundle.md#structures): strict parsing and
// building, with the device lists their entries name (spec/users.md). Acceptance against held state is in chain.mjs.
import { sha256 as sha } from '@noble/hashes/sha2.js';
import { ByteReader, ByteWriter, compareAscii, constantTimeEqual } from './encoding.mjs';
import { FormatError } from './errors.mjs';
import { encodeHeader, epochHash, epochSignedBytes, MAX_MEMBERS, readHeader } from './header.mjs';
import { MAGIC_BUNDLE, MAGIC_EPOCH, MAGIC_SLICE } from './labels.mjs';
import { listsDevice, parseDeviceList } from './devicelist.mjs';
import { LIST_LIMITS, namedLists, readLists, writeLists } from './lists.mjs';
import { userOfDevice } from './userkey.mjs';
import { inclusionPath, merkleRoot } from './merkle.mjs';
import {
  encodeMemberProofFile, keysOf, memberLeaf, readAuthority, readMember, readPath, readProof, writeAuthority, writeMember,
  writePath, writeProof,
} from './memberproof.mjs';
import { INFO_WRAP, KEM_XWING, _wrapRoomKey, toKem } from './wrap.mjs';

export const MAX_BUNDLE = 128 * 1024 * 1024;
export const MAX_SLICE = 64 * 1024;
export const MAX_ANNOUNCEMENT = 64 * 1024;

const OLD = { 0x42: 'bundle', 0x53: 'slice', 0x45: 'announcement' };

function readMagic(r, magic, name) {
  const m = r.take(4, 'magic');
  if (constantTimeEqual(m, magic)) return;
  const old = (m[3] === 0x01 || m[3] === 0x02) && m[0] === 0x44 && m[1] === 0x56 && OLD[m[2]];
  throw new FormatError('magic', old ? `a version-${m[3]} ${old}: reading it is not supported` : `not a version-3 ${name}`);
}

function readSigned(r) {
  const header = readHeader(r);
  const signature = Uint8Array.from(r.take(64, 'signature'));
  const authority = readAuthority(r);
  return { header, signature, authority };
}

/** bundle = MAGIC_BUNDLE || header || signature || authority || lists || member_0 .. member_{n-1} */
export function parseBundle(bytes) {
  if (bytes.length > MAX_BUNDLE) throw new FormatError('bundle', 'larger than 128 MiB');
  const r = new ByteReader(bytes);
  readMagic(r, MAGIC_BUNDLE, 'bundle');
  const s = readSigned(r);
  const lists = readLists(r, s.header.memberCount);
  const members = [];
  for (let i = 0; i < s.header.memberCount; i++) {
    const m = readMember(r, s.header.kem);
    if (i > 0 && compareAscii(members[i - 1].id, m.id) >= 0) throw new FormatError('members', 'not strictly sorted by id');
    members.push(m);
  }
  r.end('bundle');
  return { kind: 'bundle', ...s, lists, members };
}

/** slice = MAGIC_SLICE || header || signature || authority || rotator_proof || lists || member || u32(index) || path */
export function parseSlice(bytes) {
  if (bytes.length > MAX_SLICE) throw new FormatError('slice', 'larger than 64 KiB');
  const r = new ByteReader(bytes);
  readMagic(r, MAGIC_SLICE, 'slice');
  const s = readSigned(r);
  const rotatorProof = readProof(r, 'rotator_proof');
  const lists = readLists(r, LIST_LIMITS.slice);
  const member = readMember(r, s.header.kem);
  const index = r.u32('index');
  const path = readPath(r, 'path');
  r.end('slice');
  return { kind: 'slice', ...s, rotatorProof, lists, member, index, path };
}

/** announcement = MAGIC_EPOCH || header || signature || authority || rotator_proof || lists */
export function parseAnnouncement(bytes) {
  if (bytes.length > MAX_ANNOUNCEMENT) throw new FormatError('announcement', 'larger than 64 KiB');
  const r = new ByteReader(bytes);
  readMagic(r, MAGIC_EPOCH, 'announcement');
  const s = readSigned(r);
  const rotatorProof = readProof(r, 'rotator_proof');
  const lists = readLists(r, LIST_LIMITS.announcement);
  r.end('announcement');
  return { kind: 'announcement', ...s, rotatorProof, lists };
}

/** `lists`: parsed device lists; the announcement carries the one the rotator proof names. */
export function encodeAnnouncement({ header, signature, authority, rotatorProof, lists = [] }) {
  const w = new ByteWriter().bytes(MAGIC_EPOCH).bytes(header.bytes).bytes(signature);
  writeAuthority(w, authority);
  writeProof(w, rotatorProof);
  return writeLists(w, namedLists([rotatorProof], lists)).finish();
}

/** The member proof of members[i] in a sorted member list (leaves given, or computed). */
export function proofOfMember(members, i, leaves = members.map(memberLeaf)) {
  const m = members[i];
  return {
    id: m.id, x25519: m.x25519, ed25519: m.ed25519, xwing: m.xwing, fingerprint: m.fingerprint, listDigest: m.listDigest,
    wrappedDigest: m.wrappedDigest, index: i, path: inclusionPath(i, leaves),
  };
}

// ---------------------------------------------------------------- building

/**
 * Build and sign epoch E's bundle, its announcement and one slice per member, wrapping with fresh ephemeral keys.
 * rotator: Identity (a member); roomKey: RoomKey of E; members: PublicIdentity[]; previous: epoch hash of E - 1
 * (32 zero bytes for E = 1); admins: [{id, fingerprint}]; authority: the rotator's member proof of E - 1, or null;
 * lists: device lists (bytes or parsed): a member of a list's user is entered naming that list.
 * Returns {bundle, announcement, slices: {id: bytes}, header, epochHash}.
 */
export async function buildBundle(opts) {
  return _buildBundle(opts, null);
}

/** PRIVATE test-vector hook (not exported from index.mjs): `ephemerals` maps member id -> wrap randomness. */
export async function _buildBundle(
  { rotator, roomKey, kem, previous, issuedAt, flags = 0, maxMessages = 100, maxAgeSeconds = 604800, admins, members, authority = null, lists = [] },
  ephemerals,
) {
  kem = toKem(kem);
  const parsedLists = lists.map((l) => (l instanceof Uint8Array ? parseDeviceList(l) : l));
  if (members.length < 1 || members.length > MAX_MEMBERS) throw new FormatError('members', 'must be 1 to 100,000');
  const sorted = [...members].sort((a, b) => compareAscii(a.id, b.id));
  for (let i = 1; i < sorted.length; i++) if (sorted[i - 1].id === sorted[i].id) throw new FormatError('members', 'duplicate participant id');
  const entries = [];
  for (const m of sorted) {
    const recipientPublic = kem.id === KEM_XWING.id ? m.xwing : m.x25519;
    if (!recipientPublic) throw new FormatError('members', `${m.id} has no X-Wing key`);
    const wrapped = await _wrapRoomKey({ kem, label: INFO_WRAP, roomKey, recipientId: m.id, recipientPublic }, ephemerals?.[m.id] ?? null);
    entries.push({ ...keysOf(m, listFor(m, parsedLists)), wrapped, wrappedDigest: sha(wrapped) });
  }
  // A rotator that is not a member gets a bundle (refused by every receiver) and no slice or announcement:
  // without its leaf there is no rotator proof (spec/conformance.md, build_bundle).
  const rotatorIndex = entries.findIndex((e) => e.id === rotator.id);
  const leaves = entries.map(memberLeaf);
  const header = encodeHeader({
    kem, suite: roomKey.suite, roomId: roomKey.roomId, epoch: roomKey.epoch, keyId: roomKey.keyId, previous,
    rotatorId: rotator.id, issuedAt, flags, maxMessages, maxAgeSeconds, admins, // as given: unsorted is E_FORMAT
    memberCount: entries.length, root: merkleRoot(leaves),
  });
  const signature = rotator.sign(epochSignedBytes(header));
  const w = new ByteWriter().bytes(MAGIC_BUNDLE).bytes(header.bytes).bytes(signature);
  writeAuthority(w, authority);
  writeLists(w, namedLists(entries, parsedLists));
  for (const e of entries) writeMember(w, e);
  const bundle = w.finish();
  if (rotatorIndex < 0) return { bundle, announcement: null, slices: {}, header, epochHash: epochHash(header) };
  const rotatorProof = proofOfMember(entries, rotatorIndex, leaves);
  const slices = {};
  entries.forEach((e, i) => {
    const sw = new ByteWriter().bytes(MAGIC_SLICE).bytes(header.bytes).bytes(signature);
    writeAuthority(sw, authority);
    writeProof(sw, rotatorProof);
    writeLists(sw, namedLists([rotatorProof, e], parsedLists));
    writeMember(sw, e).u32(i);
    slices[e.id] = writePath(sw, inclusionPath(i, leaves)).finish();
  });
  const announcement = encodeAnnouncement({ header, signature, authority, rotatorProof, lists: parsedLists });
  return { bundle, announcement, slices, header, epochHash: epochHash(header) };
}

/**
 * The digest a member is entered with: the list of its user among `lists` that names it (by id and fingerprint), or
 * zero (a participant that is no user's device). spec/conformance.md build_bundle: "a member on one of them".
 */
function listFor(m, lists) {
  const user = m.id.includes('/') ? userOfDevice(m.id, 'members') : null;
  const l = user === null ? null : lists.find((x) => x.userId === user && listsDevice(x, m.id, m.fingerprint));
  return l ? l.digest : new Uint8Array(32);
}

/** The member proof file of `memberId` in a full bundle (bytes or parsed), or null if it is not listed. */
export function memberProofFile(bundle, memberId) {
  const b = bundle instanceof Uint8Array ? parseBundle(bundle) : bundle;
  const i = b.members.findIndex((m) => m.id === memberId);
  if (i < 0) return null;
  const proof = proofOfMember(b.members, i);
  return encodeMemberProofFile(b.header.roomId, b.header.epoch, proof, namedLists([proof], b.lists));
}

/** The member proof (for an authority or a sharer proof) of `memberId` in a full bundle, or null. */
export function memberProof(bundle, memberId) {
  const b = bundle instanceof Uint8Array ? parseBundle(bundle) : bundle;
  const i = b.members.findIndex((m) => m.id === memberId);
  return i < 0 ? null : proofOfMember(b.members, i);
}

