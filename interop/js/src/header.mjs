// The signed epoch header of group state v2 (spec/bundle.md#header-signed): encoding, strict parsing with every
// bound, the bytes its signature covers and its epoch hash.
import { sha256 } from '@noble/hashes/sha2.js';
import { ByteReader, ByteWriter, MAX_U32, checkEpoch, compareAscii, concat, toHex } from './encoding.mjs';
import { FormatError } from './errors.mjs';
import { EPOCH_HASH, SIG_EPOCH } from './labels.mjs';
import { suiteById, toSuite } from './suites.mjs';
import { kemById, toKem } from './wrap.mjs';

export const FLAG_MEMBERS_MAY_ROTATE = 0x01;
export const FLAG_DOWNGRADE = 0x02;
export const MAX_ISSUED_AT = 253402300799n; // 9999-12-31T23:59:59Z
export const MAX_ADMINS = 32;
export const MAX_MEMBERS = 100000;
export const ZERO_HASH = new Uint8Array(32);

function checkLimit(n, field) {
  if (!Number.isInteger(n) || n < 1 || n > MAX_U32) throw new FormatError(field, 'must be 1 to 2^32 - 1');
  return n;
}

function isZero(b) {
  return b.every((x) => x === 0);
}

/** Ranges a ByteWriter would otherwise wrap silently; every other rule is the parser's. */
function checkWritable(h) {
  checkEpoch(h.epoch);
  if (!Number.isInteger(h.flags) || h.flags < 0 || h.flags > 0xff) throw new FormatError('flags', 'not a byte');
  checkLimit(h.maxMessages, 'max_messages');
  checkLimit(h.maxAgeSeconds, 'max_age_seconds');
  if (h.admins.length < 1 || h.admins.length > MAX_ADMINS) throw new FormatError('admin_count', 'must be 1 to 32');
  if (!Number.isInteger(h.memberCount) || h.memberCount < 1 || h.memberCount > MAX_MEMBERS) {
    throw new FormatError('member_count', 'must be 1 to 100,000');
  }
  if (h.issuedAt < 0n || h.issuedAt > MAX_ISSUED_AT) throw new FormatError('issued_at', 'past 9999-12-31T23:59:59Z');
}

/** Read a header from a ByteReader; the result keeps its exact bytes in `.bytes`. */
export function readHeader(r) {
  const start = r.pos;
  const kem = kemById(r.u8('kem'), 'kem');
  const suite = suiteById(r.u8('suite'), 'suite');
  const roomId = r.id('room_id');
  const epoch = checkEpoch(r.u32('epoch'), 'epoch');
  const keyId = Uint8Array.from(r.take(32, 'key_id'));
  const previous = Uint8Array.from(r.take(32, 'previous'));
  if (epoch === 1 ? !isZero(previous) : isZero(previous)) throw new FormatError('previous', 'must be all zero exactly in epoch 1');
  const rotatorId = r.id('rotator_id');
  const issuedAt = r.u64('issued_at');
  if (issuedAt > MAX_ISSUED_AT) throw new FormatError('issued_at', 'past 9999-12-31T23:59:59Z');
  const flags = r.u8('flags');
  if (flags & ~(FLAG_MEMBERS_MAY_ROTATE | FLAG_DOWNGRADE)) throw new FormatError('flags', 'unknown flag bits');
  if (epoch === 1 && flags & FLAG_DOWNGRADE) throw new FormatError('flags', 'DOWNGRADE set in epoch 1');
  const maxMessages = r.u32('max_messages');
  if (maxMessages === 0) throw new FormatError('max_messages', 'must be at least 1');
  const maxAgeSeconds = r.u32('max_age_seconds');
  if (maxAgeSeconds === 0) throw new FormatError('max_age_seconds', 'must be at least 1');
  const adminCount = r.u8('admin_count');
  if (adminCount < 1 || adminCount > MAX_ADMINS) throw new FormatError('admin_count', 'must be 1 to 32');
  const admins = [];
  for (let i = 0; i < adminCount; i++) {
    const id = r.id('admin_id');
    const fingerprint = Uint8Array.from(r.take(32, 'admin_fingerprint'));
    if (i > 0 && compareAscii(admins[i - 1].id, id) >= 0) throw new FormatError('admins', 'not strictly increasing by id');
    admins.push({ id, fingerprint });
  }
  const memberCount = r.u32('member_count');
  if (memberCount < 1 || memberCount > MAX_MEMBERS) throw new FormatError('member_count', 'must be 1 to 100,000');
  const root = Uint8Array.from(r.take(32, 'root'));
  const bytes = Uint8Array.from(r.buf.subarray(start, r.pos));
  return Object.freeze({
    kem, suite, roomId, epoch, keyId, previous, rotatorId, issuedAt, flags, maxMessages, maxAgeSeconds, admins,
    memberCount, root, bytes,
  });
}

/** A header given alone (a history entry): nothing may follow it. */
export function parseHeader(bytes, field = 'header') {
  const r = new ByteReader(bytes);
  let h;
  try {
    h = readHeader(r);
  } catch (e) {
    if (e instanceof FormatError) throw new FormatError(`${field}.${e.field}`, e.message);
    throw e;
  }
  r.end(field);
  return h;
}

/** Encode header fields (as returned by readHeader, without `bytes`), checking every bound: E_FORMAT. */
export function encodeHeader(fields) {
  const h = { ...fields, kem: toKem(fields.kem), suite: toSuite(fields.suite), issuedAt: BigInt(fields.issuedAt) };
  checkWritable(h);
  const w = new ByteWriter()
    .u8(h.kem.id)
    .u8(h.suite.id)
    .str8(h.roomId)
    .u32(h.epoch)
    .bytes(h.keyId)
    .bytes(h.previous)
    .str8(h.rotatorId)
    .u64(h.issuedAt)
    .u8(h.flags)
    .u32(h.maxMessages)
    .u32(h.maxAgeSeconds)
    .u8(h.admins.length);
  for (const a of h.admins) w.str8(a.id).bytes(a.fingerprint);
  const bytes = w.u32(h.memberCount).bytes(h.root).finish();
  return parseHeader(bytes); // the parser is the one authority on validity
}

/** The bytes an epoch signature covers: SIG_EPOCH || header. */
export function epochSignedBytes(header) {
  return concat(SIG_EPOCH, header.bytes);
}

/** epoch_hash = SHA-256(EPOCH_HASH || header) */
export function epochHash(header) {
  return sha256(concat(EPOCH_HASH, header.bytes));
}

/** The admin set contains (id, fingerprint). */
export function isAdmin(header, id, fingerprint) {
  const fp = toHex(fingerprint);
  return header.admins.some((a) => a.id === id && toHex(a.fingerprint) === fp);
}

/** The policy of spec/bundle.md (flags without DOWNGRADE) and the admin set are equal in both headers. */
export function sameGovernance(a, b) {
  const admins = (h) => h.admins.map((x) => `${x.id}:${toHex(x.fingerprint)}`).join(',');
  return (
    a.kem.id === b.kem.id &&
    a.suite.id === b.suite.id &&
    (a.flags & ~FLAG_DOWNGRADE) === (b.flags & ~FLAG_DOWNGRADE) &&
    a.maxMessages === b.maxMessages &&
    a.maxAgeSeconds === b.maxAgeSeconds &&
    admins(a) === admins(b)
  );
}
