// Bundles, slices and epoch announcements of group state v2 (spec/bundle.md#structures): strict parsing and
// building. Acceptance against held state is in chain.mjs.
import { sha256 as sha } from '@noble/hashes/sha2.js';
import { ByteReader, ByteWriter, compareAscii, constantTimeEqual } from './encoding.mjs';
import { FormatError } from './errors.mjs';
import { encodeHeader, epochHash, epochSignedBytes, MAX_MEMBERS, readHeader } from './header.mjs';
import { MAGIC_BUNDLE, MAGIC_EPOCH, MAGIC_SLICE } from './labels.mjs';
import { inclusionPath, merkleRoot } from './merkle.mjs';
import {
  encodeMemberProofFile, keysOf, memberLeaf, readAuthority, readMember, readPath, readProof, writeAuthority, writeMember,
  writePath, writeProof,
} from './memberproof.mjs';
import { INFO_WRAP, KEM_XWING, _wrapRoomKey, toKem } from './wrap.mjs';

export const MAX_BUNDLE = 128 * 1024 * 1024;
export const MAX_SLICE = 64 * 1024;
export const MAX_ANNOUNCEMENT = 64 * 1024;

const VERSION_1 = { 0x42: 'bundle', 0x53: 'slice', 0x45: 'announcement' };

function readMagic(r, magic, name) {
  const m = r.take(4, 'magic');
  if (constantTimeEqual(m, magic)) return;
  const old = m[3] === 0x01 && m[0] === 0x44 && m[1] === 0x56 && VERSION_1[m[2]];
  throw new FormatError('magic', old ? `a version-1 ${old}: reading it is not supported` : `not a version-2 ${name}`);
}

function readSigned(r) {
  const header = readHeader(r);
  const signature = Uint8Array.from(r.take(64, 'signature'));
  const authority = readAuthority(r);
  return { header, signature, authority };
}

/** bundle = MAGIC_BUNDLE || header || signature || authority || member_0 .. member_{n-1} */
export function parseBundle(bytes) {
  if (bytes.length > MAX_BUNDLE) throw new FormatError('bundle', 'larger than 128 MiB');
  const r = new ByteReader(bytes);
  readMagic(r, MAGIC_BUNDLE, 'bundle');
  const s = readSigned(r);
  const members = [];
  for (let i = 0; i < s.header.memberCount; i++) {
    const m = readMember(r, s.header.kem);
    if (i > 0 && compareAscii(members[i - 1].id, m.id) >= 0) throw new FormatError('members', 'not strictly sorted by id');
    members.push(m);
  }
  r.end('bundle');
  return { kind: 'bundle', ...s, members };
}

/** slice = MAGIC_SLICE || header || signature || authority || rotator_proof || member || u32(index) || path */
export function parseSlice(bytes) {
  if (bytes.length > MAX_SLICE) throw new FormatError('slice', 'larger than 64 KiB');
  const r = new ByteReader(bytes);
  readMagic(r, MAGIC_SLICE, 'slice');
  const s = readSigned(r);
  const rotatorProof = readProof(r, 'rotator_proof');
  const member = readMember(r, s.header.kem);
  const index = r.u32('index');
  const path = readPath(r, 'path');
  r.end('slice');
  return { kind: 'slice', ...s, rotatorProof, member, index, path };
}

/** announcement = MAGIC_EPOCH || header || signature || authority || rotator_proof */
export function parseAnnouncement(bytes) {
  if (bytes.length > MAX_ANNOUNCEMENT) throw new FormatError('announcement', 'larger than 64 KiB');
  const r = new ByteReader(bytes);
  readMagic(r, MAGIC_EPOCH, 'announcement');
  const s = readSigned(r);
  const rotatorProof = readProof(r, 'rotator_proof');
  r.end('announcement');
  return { kind: 'announcement', ...s, rotatorProof };
}

export function encodeAnnouncement({ header, signature, authority, rotatorProof }) {
  const w = new ByteWriter().bytes(MAGIC_EPOCH).bytes(header.bytes).bytes(signature);
  writeAuthority(w, authority);
  return writeProof(w, rotatorProof).finish();
}

/** The member proof of members[i] in a sorted member list (leaves given, or computed). */
export function proofOfMember(members, i, leaves = members.map(memberLeaf)) {
  const m = members[i];
  return { id: m.id, x25519: m.x25519, ed25519: m.ed25519, xwing: m.xwing, fingerprint: m.fingerprint, wrappedDigest: m.wrappedDigest, index: i, path: inclusionPath(i, leaves) };
}

// ---------------------------------------------------------------- building

/**
 * Build and sign epoch E's bundle, its announcement and one slice per member, wrapping with fresh ephemeral keys.
 * rotator: Identity (a member); roomKey: RoomKey of E; members: PublicIdentity[]; previous: epoch hash of E - 1
 * (32 zero bytes for E = 1); admins: [{id, fingerprint}]; authority: the rotator's member proof of E - 1, or null.
 * Returns {bundle, announcement, slices: {id: bytes}, header, epochHash}.
 */
export async function buildBundle(opts) {
  return _buildBundle(opts, null);
}

/** PRIVATE test-vector hook (not exported from index.mjs): `ephemerals` maps member id -> wrap randomness. */
export async function _buildBundle(
  { rotator, roomKey, kem, previous, issuedAt, flags = 0, maxMessages = 100, maxAgeSeconds = 604800, admins, members, authority = null },
  ephemerals,
) {
  kem = toKem(kem);
  if (members.length < 1 || members.length > MAX_MEMBERS) throw new FormatError('members', 'must be 1 to 100,000');
  const sorted = [...members].sort((a, b) => compareAscii(a.id, b.id));
  for (let i = 1; i < sorted.length; i++) if (sorted[i - 1].id === sorted[i].id) throw new FormatError('members', 'duplicate participant id');
  const entries = [];
  for (const m of sorted) {
    const recipientPublic = kem.id === KEM_XWING.id ? m.xwing : m.x25519;
    if (!recipientPublic) throw new FormatError('members', `${m.id} has no X-Wing key`);
    const wrapped = await _wrapRoomKey({ kem, label: INFO_WRAP, roomKey, recipientId: m.id, recipientPublic }, ephemerals?.[m.id] ?? null);
    entries.push({ ...keysOf(m), wrapped, wrappedDigest: sha(wrapped) });
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
  for (const e of entries) writeMember(w, e);
  const bundle = w.finish();
  if (rotatorIndex < 0) return { bundle, announcement: null, slices: {}, header, epochHash: epochHash(header) };
  const rotatorProof = proofOfMember(entries, rotatorIndex, leaves);
  const slices = {};
  entries.forEach((e, i) => {
    const sw = new ByteWriter().bytes(MAGIC_SLICE).bytes(header.bytes).bytes(signature);
    writeAuthority(sw, authority);
    writeProof(sw, rotatorProof);
    writeMember(sw, e).u32(i);
    slices[e.id] = writePath(sw, inclusionPath(i, leaves)).finish();
  });
  const announcement = encodeAnnouncement({ header, signature, authority, rotatorProof });
  return { bundle, announcement, slices, header, epochHash: epochHash(header) };
}

/** The member proof file of `memberId` in a full bundle (bytes or parsed), or null if it is not listed. */
export function memberProofFile(bundle, memberId) {
  const b = bundle instanceof Uint8Array ? parseBundle(bundle) : bundle;
  const i = b.members.findIndex((m) => m.id === memberId);
  if (i < 0) return null;
  return encodeMemberProofFile(b.header.roomId, b.header.epoch, proofOfMember(b.members, i));
}

/** The member proof (for an authority or a sharer proof) of `memberId` in a full bundle, or null. */
export function memberProof(bundle, memberId) {
  const b = bundle instanceof Uint8Array ? parseBundle(bundle) : bundle;
  const i = b.members.findIndex((m) => m.id === memberId);
  return i < 0 ? null : proofOfMember(b.members, i);
}

