// Member entries, member proofs, authority proofs and member proof files (spec/bundle.md#member-tree,
// #member-proof, #authority-proof). Keys are length-checked here and validated only when first used.
import { sha256 } from '@noble/hashes/sha2.js';
import { ByteReader, ByteWriter, checkEpoch, constantTimeEqual } from './encoding.mjs';
import { FormatError } from './errors.mjs';
import { fingerprintOf } from './identity.mjs';
import { MAGIC_MEMBER_PROOF } from './labels.mjs';
import { LIST_LIMITS, ZERO_DIGEST, checkListDigest, readLists, writeLists } from './lists.mjs';
import { MAX_PATH, leafHash, verifyInclusion } from './merkle.mjs';
import { XWING_PUBLIC_LENGTH } from './xwing.mjs';
import { KEM_XWING } from './wrap.mjs';

const copy = (b) => Uint8Array.from(b);

/**
 * id || x25519 || ed25519 || bytes16(xwing_public) || list_digest: xwing 0 or 1216 bytes, 1216 in an X-Wing epoch
 * (`kem`, or null when no epoch's KEM applies); list_digest zero exactly when the id has no "/" (spec/users.md).
 * Returns a key record {id, x25519, ed25519, xwing, fingerprint, listDigest}.
 */
export function readKeys(r, field, kem = null) {
  const id = r.id(`${field}.id`);
  const x25519 = copy(r.take(32, `${field}.x25519`));
  const ed25519 = copy(r.take(32, `${field}.ed25519`));
  const xwing = copy(r.bytes16(`${field}.xwing_public`));
  if (xwing.length !== 0 && xwing.length !== XWING_PUBLIC_LENGTH) throw new FormatError(`${field}.xwing_public`, 'must be 0 or 1216 bytes');
  if (kem && kem.id === KEM_XWING.id && xwing.length !== XWING_PUBLIC_LENGTH) {
    throw new FormatError(`${field}.xwing_public`, 'an X-Wing epoch needs every member\'s X-Wing key');
  }
  const listDigest = checkListDigest(id, copy(r.take(32, `${field}.list_digest`)), field);
  return { id, x25519, ed25519, xwing, fingerprint: fingerprintOf({ id, x25519, ed25519, xwing }), listDigest };
}

export function writeKeys(w, k) {
  return w.str8(k.id).bytes(k.x25519).bytes(k.ed25519).bytes16(k.xwing ?? new Uint8Array(0)).bytes(k.listDigest ?? ZERO_DIGEST);
}

/** Key record of a PublicIdentity, naming the device list `listDigest` (zero: none). */
export function keysOf(pub, listDigest = ZERO_DIGEST) {
  const k = { id: pub.id, x25519: pub.x25519, ed25519: pub.ed25519, xwing: pub.xwing ?? new Uint8Array(0) };
  return { ...k, fingerprint: fingerprintOf(k), listDigest };
}

// ---------------------------------------------------------------- member entries and leaves

/** member = keys || bytes16(wrapped), wrapped of the KEM's size. */
export function readMember(r, kem, field = 'member') {
  const keys = readKeys(r, field, kem);
  const wrapped = copy(r.bytes16(`${field}.wrapped`));
  if (wrapped.length !== kem.wrappedLength) throw new FormatError(`${field}.wrapped`, `a ${kem.name} wrapped key is ${kem.wrappedLength} bytes`);
  return { ...keys, wrapped, wrappedDigest: sha256(wrapped) };
}

export function writeMember(w, m) {
  return writeKeys(w, m).bytes16(m.wrapped);
}

/** leaf = SHA-256(TREE_LEAF || str8(id) || fingerprint || list_digest || wrapped_digest) */
export function memberLeaf(m) {
  return leafHash(m.id, m.fingerprint, m.listDigest ?? ZERO_DIGEST, m.wrappedDigest);
}

// ---------------------------------------------------------------- paths

export function readPath(r, field) {
  const len = r.u8(field);
  if (len > MAX_PATH) throw new FormatError(field, 'longer than 32 nodes');
  const path = [];
  for (let i = 0; i < len; i++) path.push(copy(r.take(32, field)));
  return path;
}

export function writePath(w, path) {
  if (path.length > MAX_PATH) throw new FormatError('path', 'longer than 32 nodes');
  w.u8(path.length);
  for (const p of path) w.bytes(p);
  return w;
}

// ---------------------------------------------------------------- member proofs

/** member_proof = keys || wrapped_digest || u32(index) || u8(len) || nodes */
export function readProof(r, field = 'member_proof') {
  const keys = readKeys(r, field);
  const wrappedDigest = copy(r.take(32, `${field}.wrapped_digest`));
  const index = r.u32(`${field}.index`);
  const path = readPath(r, `${field}.path`);
  return { ...keys, wrappedDigest, index, path };
}

export function writeProof(w, p) {
  writeKeys(w, p).bytes(p.wrappedDigest).u32(p.index);
  return writePath(w, p.path);
}

/** A proof verifies against an epoch: its leaf has its path at its index in the epoch's tree (root, member count). */
export function verifyProof(proof, header) {
  return verifyInclusion(memberLeaf(proof), proof.index, header.memberCount, proof.path, header.root);
}

/** authority = u8(0) | u8(1) || member_proof */
export function readAuthority(r) {
  const presence = r.u8('authority');
  if (presence === 0) return null;
  if (presence !== 1) throw new FormatError('authority', 'presence byte must be 0 or 1');
  return readProof(r, 'authority');
}

export function writeAuthority(w, proof) {
  if (!proof) return w.u8(0);
  return writeProof(w.u8(1), proof);
}

// ---------------------------------------------------------------- member proof files

export const MAX_MEMBER_PROOF_FILE = 64 * 1024;

/** member_proof_file = MAGIC_MEMBER_PROOF || str8(room_id) || u32(epoch) || member_proof || lists (at most 1) */
export function parseMemberProofFile(bytes) {
  if (bytes.length > MAX_MEMBER_PROOF_FILE) throw new FormatError('member_proof', 'larger than 64 KiB');
  const r = new ByteReader(bytes);
  if (!constantTimeEqual(r.take(4, 'magic'), MAGIC_MEMBER_PROOF)) throw new FormatError('magic', 'not a version-3 member proof');
  const roomId = r.id('room_id');
  const epoch = checkEpoch(r.u32('epoch'), 'epoch');
  const proof = readProof(r);
  const lists = readLists(r, LIST_LIMITS.member);
  r.end('member_proof');
  return { kind: 'member', roomId, epoch, proof, lists };
}

/** `lists`: parsed device lists, the one the proof names (or none). */
export function encodeMemberProofFile(roomId, epoch, proof, lists = []) {
  const w = writeProof(new ByteWriter().bytes(MAGIC_MEMBER_PROOF).str8(roomId).u32(checkEpoch(epoch)), proof);
  return writeLists(w, lists).finish();
}
