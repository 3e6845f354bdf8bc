// Device lists (spec/users.md#device-list): a user's signed, versioned list of devices (id, identity fingerprint)
// and of revoked devices; strict parsing, building, verification and the list digest.
import { sha256 } from '@noble/hashes/sha2.js';
import { ByteReader, ByteWriter, compareAscii, compareBytes, concat, constantTimeEqual } from './encoding.mjs';
import { AuthError, FormatError, UnauthorizedError } from './errors.mjs';
import { ed25519VerifyStrict, validateEd25519Public } from './ed25519.mjs';
import { MAX_ISSUED_AT } from './header.mjs';
import { DEVICE_LIST_HASH, MAGIC_DEVICE_LIST, SIG_DEVICE_LIST } from './labels.mjs';
import { UserKey, checkUserId, userFingerprint } from './userkey.mjs';

export const MAX_DEVICE_LIST = 16 * 1024;
export const MAX_DEVICES = 16;
export const MAX_REVOKED = 64;

/** list_digest = SHA-256(DEVICE_LIST_HASH || device_list), signature included. */
export function listDigest(bytes) {
  return sha256(concat(DEVICE_LIST_HASH, bytes));
}

/** A device id of this list's user: user_id "/" name, name without "/". */
function readDeviceId(r, userId, field) {
  const id = r.id(field);
  const name = id.startsWith(`${userId}/`) ? id.slice(userId.length + 1) : '';
  if (!name.length || name.includes('/')) throw new FormatError(field, `not ${userId}/name`);
  return id;
}

const compareRevoked = (a, b) => compareAscii(a.id, b.id) || compareBytes(a.fingerprint, b.fingerprint);

/**
 * Parse a device list strictly (E_FORMAT naming the field); the user key is validated as soon as it is read
 * (E_BAD_KEY before any later format error: the spec gives no order, this is the reference's, SPEC-FINDINGS U9).
 * Returns {bytes, userId, userKey, version, issuedAt, devices, revoked, signature,
 * digest}; devices [{id, fingerprint}], revoked [{id, fingerprint, backupSeqLimit}].
 */
export function parseDeviceList(bytes) {
  if (!(bytes instanceof Uint8Array)) throw new FormatError('device_list', 'not bytes');
  if (bytes.length > MAX_DEVICE_LIST) throw new FormatError('device_list', 'larger than 16 KiB');
  const r = new ByteReader(bytes);
  const magic = r.take(4, 'magic');
  if (!constantTimeEqual(magic, MAGIC_DEVICE_LIST)) throw new FormatError('magic', 'not a version-3 device list');
  const userId = r.id('user_id');
  checkUserId(userId, 'user_id');
  const userKey = validateEd25519Public(Uint8Array.from(r.take(32, 'user_key')));
  const version = r.u32('version');
  if (version === 0) throw new FormatError('version', 'a list version is 1 to 2^32 - 1');
  const issuedAt = r.u64('issued_at');
  if (issuedAt > MAX_ISSUED_AT) throw new FormatError('issued_at', 'past 9999-12-31T23:59:59Z');
  const deviceCount = r.u8('device_count');
  if (deviceCount < 1 || deviceCount > MAX_DEVICES) throw new FormatError('device_count', 'must be 1 to 16');
  const devices = [];
  for (let i = 0; i < deviceCount; i++) {
    const d = { id: readDeviceId(r, userId, 'device.id'), fingerprint: Uint8Array.from(r.take(32, 'device.fingerprint')) };
    if (i > 0 && compareAscii(devices[i - 1].id, d.id) >= 0) throw new FormatError('devices', 'not strictly sorted by id');
    devices.push(d);
  }
  const revokedCount = r.u8('revoked_count');
  if (revokedCount > MAX_REVOKED) throw new FormatError('revoked_count', 'at most 64');
  const revoked = [];
  for (let i = 0; i < revokedCount; i++) {
    const d = {
      id: readDeviceId(r, userId, 'revoked.id'),
      fingerprint: Uint8Array.from(r.take(32, 'revoked.fingerprint')),
      backupSeqLimit: r.u32('revoked.backup_seq_limit'),
    };
    if (i > 0 && compareRevoked(revoked[i - 1], d) >= 0) throw new FormatError('revoked', 'not strictly sorted by (id, fingerprint)');
    if (devices.some((x) => x.id === d.id && constantTimeEqual(x.fingerprint, d.fingerprint))) {
      throw new FormatError('revoked', 'a revoked device that is also listed');
    }
    revoked.push(d);
  }
  const signedLength = r.pos;
  const signature = Uint8Array.from(r.take(64, 'signature'));
  r.end('device_list');
  const copy = Uint8Array.from(bytes);
  return {
    bytes: copy, signed: copy.subarray(0, signedLength), userId, userKey, version, issuedAt, devices, revoked, signature,
    digest: listDigest(copy),
  };
}

/**
 * A list verifies (spec/users.md#device-list): the pinned key for its user, when there is one (a UserKey or null), is
 * its user key (E_UNAUTHORIZED), and the signature verifies under it (E_AUTH). The pin is compared first: "the pinned
 * key decides, never a list" (the spec gives no order; the reference compares the pin first, SPEC-FINDINGS U5).
 */
export function verifyDeviceList(list, pinned = null) {
  if (pinned && !(pinned.userId === list.userId && constantTimeEqual(pinned.key, list.userKey))) {
    throw new UnauthorizedError('the device list is signed by another key than the pinned one');
  }
  if (!ed25519VerifyStrict(list.userKey, concat(SIG_DEVICE_LIST, list.signed), list.signature)) throw new AuthError();
  return list;
}

/** The device of a list with this id, or null. */
export function deviceOf(list, id) {
  return list.devices.find((d) => d.id === id) ?? null;
}

/** Whether a list names the device `id` with identity fingerprint `fingerprint`. */
export function listsDevice(list, id, fingerprint) {
  const d = deviceOf(list, id);
  return !!d && constantTimeEqual(d.fingerprint, fingerprint);
}

/** The user key of a parsed list (UserKey: validated). */
export function userKeyOf(list) {
  return new UserKey(list.userId, list.userKey);
}

export function userFingerprintOf(list) {
  return userFingerprint(list.userId, list.userKey);
}

/**
 * Build and sign a device list. signer: UserSigner; devices: [{id, fingerprint}] or PublicIdentity[] (sorted here);
 * revoked: [{id, fingerprint, backupSeqLimit}] (sorted here). Every format rule is the parser's: returns the bytes.
 */
export function buildDeviceList({ signer, version, issuedAt, devices, revoked = [] }) {
  const ds = devices.map((d) => ({ id: d.id, fingerprint: d.fingerprint })).sort((a, b) => compareAscii(a.id, b.id));
  const rs = [...revoked].sort(compareRevoked);
  if (ds.length > 255 || rs.length > 255) throw new FormatError('devices', 'too many');
  const u32 = (x, field) => {
    if (!Number.isSafeInteger(x) || x < 0 || x > 0xffffffff) throw new FormatError(field, 'not a u32');
    return x;
  };
  u32(version, 'version');
  for (const d of rs) u32(d.backupSeqLimit, 'revoked.backup_seq_limit');
  if (typeof issuedAt !== 'bigint' && !Number.isSafeInteger(issuedAt)) throw new FormatError('issued_at', 'not an integer');
  if (BigInt(issuedAt) < 0n || BigInt(issuedAt) > MAX_ISSUED_AT) throw new FormatError('issued_at', 'out of range');
  const w = new ByteWriter().bytes(MAGIC_DEVICE_LIST).str8(signer.userId).bytes(signer.public.key).u32(version).u64(issuedAt);
  w.u8(ds.length);
  for (const d of ds) w.str8(d.id).bytes(d.fingerprint);
  w.u8(rs.length);
  for (const d of rs) w.str8(d.id).bytes(d.fingerprint).u32(d.backupSeqLimit);
  const signed = w.finish();
  const bytes = concat(signed, signer.sign(concat(SIG_DEVICE_LIST, signed)));
  parseDeviceList(bytes);
  return bytes;
}
