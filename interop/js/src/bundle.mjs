// Rotation bundles, membership proofs and per-recipient slices (spec/bundle.md): encoding, strict
// parsing and building. Acceptance against held state is in keyring.mjs.
import { sha256 } from '@noble/hashes/sha2.js';
import { ByteReader, ByteWriter, checkEpoch, checkId, compareAscii, concat, constantTimeEqual } from './encoding.mjs';
import { FormatError } from './errors.mjs';
import { MAGIC_BUNDLE, MAGIC_SLICE, SIG_BUNDLE } from './labels.mjs';
import { MAX_PATH, inclusionPath, leafHash, merkleRoot } from './merkle.mjs';
import { suiteById } from './suites.mjs';
import { INFO_WRAP, KEM_XWING, _wrapRoomKey, kemById, toKem } from './wrap.mjs';

export const MAX_MEMBERS = 100000;
export const MAX_BUNDLE = 128 * 1024 * 1024;
export const MAX_SLICE = 64 * 1024;

// ---------------------------------------------------------------- header

export function encodeBundleHeader(h) {
  return new ByteWriter()
    .u8(h.kem.id)
    .u8(h.suite.id)
    .str8(h.roomId)
    .u32(h.epoch)
    .bytes(h.keyId)
    .str8(h.rotatorId)
    .u64(h.issuedAt)
    .u32(h.memberCount)
    .bytes(h.root)
    .finish();
}

function readHeader(r) {
  const start = r.pos;
  const kem = kemById(r.u8('kem'), 'kem');
  const suite = suiteById(r.u8('suite'), 'suite');
  const roomId = r.id('room_id');
  const epoch = checkEpoch(r.u32('epoch'), 'epoch');
  const keyId = r.take(32, 'key_id');
  const rotatorId = r.id('rotator_id');
  const issuedAt = r.u64('issued_at');
  const memberCount = r.u32('member_count');
  if (memberCount < 1 || memberCount > MAX_MEMBERS) throw new FormatError('member_count', 'must be 1 to 100,000');
  const root = r.take(32, 'root');
  const headerBytes = r.buf.slice(start, r.pos);
  return { kem, suite, roomId, epoch, keyId: Uint8Array.from(keyId), rotatorId, issuedAt, memberCount, root: Uint8Array.from(root), headerBytes };
}

/** The bytes a bundle signature covers. */
export function bundleSignedBytes(headerBytes) {
  return concat(SIG_BUNDLE, headerBytes);
}

// ---------------------------------------------------------------- proof and path

function readPath(r, field) {
  const len = r.u8(field);
  if (len > MAX_PATH) throw new FormatError(field, 'longer than 32 nodes');
  const path = [];
  for (let i = 0; i < len; i++) path.push(Uint8Array.from(r.take(32, field)));
  return path;
}

function writePath(w, path) {
  if (path.length > MAX_PATH) throw new FormatError('path', 'longer than 32 nodes');
  w.u8(path.length);
  for (const p of path) w.bytes(p);
}

/** proof = u8(0) | u8(1) || wrapped_digest || u32(index) || u8(len) || nodes */
export function readProof(r) {
  const presence = r.u8('proof');
  if (presence === 0) return null;
  if (presence !== 1) throw new FormatError('proof', 'presence byte must be 0 or 1');
  const wrappedDigest = Uint8Array.from(r.take(32, 'proof'));
  const index = r.u32('proof');
  const path = readPath(r, 'proof');
  return { wrappedDigest, index, path };
}

export function writeProof(w, proof) {
  if (!proof) return w.u8(0);
  w.u8(1).bytes(proof.wrappedDigest).u32(proof.index);
  writePath(w, proof.path);
  return w;
}

// ---------------------------------------------------------------- members

function readMember(r, kem) {
  const id = r.id('member.id');
  const fingerprint = Uint8Array.from(r.take(32, 'member.fingerprint'));
  const wrapped = r.bytes16('member.wrapped');
  if (wrapped.length !== kem.wrappedLength) throw new FormatError('member.wrapped', `a ${kem.name} wrapped key is ${kem.wrappedLength} bytes`);
  return { id, fingerprint, wrapped: Uint8Array.from(wrapped) };
}

function writeMember(w, m) {
  return w.str8(m.id).bytes(m.fingerprint).bytes16(m.wrapped);
}

export function memberLeaf(m) {
  return leafHash(m.id, m.fingerprint, sha256(m.wrapped));
}

// ---------------------------------------------------------------- parsing

/** bundle = MAGIC_BUNDLE || header || signature || proof || member_0 .. member_{n-1} */
export function parseBundle(bytes) {
  if (bytes.length > MAX_BUNDLE) throw new FormatError('bundle', 'larger than 128 MiB');
  const r = new ByteReader(bytes);
  if (!constantTimeEqual(r.take(4, 'magic'), MAGIC_BUNDLE)) throw new FormatError('magic', 'not a version-1 bundle');
  const header = readHeader(r);
  const signature = Uint8Array.from(r.take(64, 'signature'));
  const proof = readProof(r);
  const members = [];
  for (let i = 0; i < header.memberCount; i++) {
    const m = readMember(r, header.kem);
    if (i > 0 && compareAscii(members[i - 1].id, m.id) >= 0) throw new FormatError('members', 'not strictly sorted by id');
    members.push(m);
  }
  r.end('bundle');
  return { kind: 'bundle', ...header, signature, proof, members };
}

/** slice = MAGIC_SLICE || header || signature || proof || member || u32(index) || u8(len) || nodes */
export function parseSlice(bytes) {
  if (bytes.length > MAX_SLICE) throw new FormatError('slice', 'larger than 64 KiB');
  const r = new ByteReader(bytes);
  if (!constantTimeEqual(r.take(4, 'magic'), MAGIC_SLICE)) throw new FormatError('magic', 'not a version-1 slice');
  const header = readHeader(r);
  const signature = Uint8Array.from(r.take(64, 'signature'));
  const proof = readProof(r);
  const member = readMember(r, header.kem);
  const index = r.u32('index');
  const path = readPath(r, 'path');
  r.end('slice');
  return { kind: 'slice', ...header, signature, proof, member, index, path };
}

// ---------------------------------------------------------------- building

/**
 * Build and sign a rotation bundle and one slice per member, wrapping with fresh ephemeral keys.
 * rotator: Identity; roomKey: RoomKey (the new epoch's key); members: PublicIdentity[] (the rotator included);
 * issuedAt: seconds since 1970; proof: the rotator's membership proof of epoch E - 1, or null.
 * Returns {bundle, slices: {id: slice}}.
 */
export async function buildBundle({ rotator, roomKey, kem, issuedAt, members, proof = null }) {
  return _buildBundle({ rotator, roomKey, kem, issuedAt, members, proof }, null);
}

/** PRIVATE test-vector hook (not exported from index.mjs): `ephemerals` maps member id -> wrap randomness. */
export async function _buildBundle({ rotator, roomKey, kem, issuedAt, members, proof = null }, ephemerals) {
  kem = toKem(kem);
  if (members.length < 1 || members.length > MAX_MEMBERS) throw new FormatError('members', 'must be 1 to 100,000');
  const sorted = [...members].sort((a, b) => compareAscii(a.id, b.id));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i - 1].id === sorted[i].id) throw new FormatError('members', 'duplicate participant id');
  }
  const entries = [];
  for (const m of sorted) {
    const recipientPublic = kem.id === KEM_XWING.id ? m.xwing : m.x25519;
    if (!recipientPublic) throw new FormatError('members', `${m.id} has no X-Wing key`);
    const wrapped = await _wrapRoomKey(
      { kem, label: INFO_WRAP, roomKey, recipientId: m.id, recipientPublic },
      ephemerals ? ephemerals[m.id] ?? null : null,
    );
    entries.push({ id: m.id, fingerprint: m.fingerprint, wrapped });
  }
  const leaves = entries.map(memberLeaf);
  const header = {
    kem, suite: roomKey.suite, roomId: roomKey.roomId, epoch: roomKey.epoch, keyId: roomKey.keyId,
    rotatorId: checkId(rotator.id, 'rotator_id'), issuedAt: BigInt(issuedAt), memberCount: entries.length,
    root: merkleRoot(leaves),
  };
  const headerBytes = encodeBundleHeader(header);
  const signature = rotator.sign(bundleSignedBytes(headerBytes));
  const w = new ByteWriter().bytes(MAGIC_BUNDLE).bytes(headerBytes).bytes(signature);
  writeProof(w, proof);
  for (const e of entries) writeMember(w, e);
  const bundle = w.finish();
  const slices = {};
  entries.forEach((e, i) => {
    const sw = new ByteWriter().bytes(MAGIC_SLICE).bytes(headerBytes).bytes(signature);
    writeProof(sw, proof);
    writeMember(sw, e).u32(i);
    writePath(sw, inclusionPath(i, leaves));
    slices[e.id] = sw.finish();
  });
  return { bundle, slices, header: { ...header, headerBytes } };
}

/** The membership proof of `memberId` in a parsed full bundle (for the next rotation or a history bundle). */
export function membershipProof(parsedBundle, memberId) {
  const i = parsedBundle.members.findIndex((m) => m.id === memberId);
  if (i < 0) return null;
  const leaves = parsedBundle.members.map(memberLeaf);
  return { wrappedDigest: sha256(parsedBundle.members[i].wrapped), index: i, path: inclusionPath(i, leaves) };
}

