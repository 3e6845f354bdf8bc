// The backup secret and the backup key pair (spec/backup.md#backup-secret-and-backup-key): recovery key text
// (base32 with a 2-byte checksum), Argon2id from a passphrase, the X-Wing key pair from the secret, the backup key id.
import { argon2id } from '@noble/hashes/argon2.js';
import { expand, extract } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { concat } from './encoding.mjs';
import { FormatError } from './errors.mjs';
import { BACKUP_KEY_ID, INFO_BACKUP_KEY, RECOVERY_CHECKSUM } from './labels.mjs';
import { xwingPublicFromSeed } from './xwing.mjs';

export const SECRET_LENGTH = 32;
export const KDF_BOUNDS = Object.freeze({ memoryKib: [8192, 1048576], iterations: [1, 10], lanes: [1, 4] });

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const PAYLOAD = 34;
const TEXT_LENGTH = 55; // ceil(34 * 8 / 5)

function base32(bytes) {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += B32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  if (bits) out += B32[(acc << (5 - bits)) & 31];
  return out;
}

const checksum = (secret) => sha256(concat(RECOVERY_CHECKSUM, secret)).subarray(0, 2);

/** A 32-byte secret as recovery key text: "DVRK-" and 55 base32 characters in groups of five joined by "-". */
export function formatRecoveryKey(secret) {
  if (!(secret instanceof Uint8Array) || secret.length !== SECRET_LENGTH) throw new FormatError('secret', 'a backup secret is 32 bytes');
  const text = base32(concat(secret, checksum(secret)));
  return `DVRK-${text.match(/.{1,5}/g).join('-')}`;
}

/**
 * Recovery key text to its 32-byte secret. Case, white space and "-" are ignored, and a leading "DVRK" (when what
 * follows is not the 55 characters on its own: SPEC-FINDINGS B3). E_FORMAT (`recovery_key`) for text that is not
 * base32, not 34 bytes, not canonical (the 3 unused bits of the last character set) or whose checksum differs.
 */
export function parseRecoveryKey(text) {
  if (typeof text !== 'string') throw new FormatError('recovery_key', 'not text');
  let s = text.replace(/[\s-]/g, '').toUpperCase();
  if (s.startsWith('DVRK') && s.length !== TEXT_LENGTH) s = s.slice(4);
  if (s.length !== TEXT_LENGTH) throw new FormatError('recovery_key', 'not 34 bytes of base32');
  const out = new Uint8Array(PAYLOAD);
  let acc = 0;
  let bits = 0;
  let n = 0;
  for (const c of s) {
    const v = B32.indexOf(c);
    if (v < 0) throw new FormatError('recovery_key', 'not base32');
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out[n++] = (acc >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
    acc &= (1 << bits) - 1;
  }
  if (n !== PAYLOAD) throw new FormatError('recovery_key', 'not 34 bytes');
  if (acc !== 0) throw new FormatError('recovery_key', 'not canonical base32 (unused bits set)');
  const secret = out.slice(0, SECRET_LENGTH);
  const sum = checksum(secret);
  if (sum[0] !== out[32] || sum[1] !== out[33]) throw new FormatError('recovery_key', 'the checksum differs: mistyped?');
  return secret;
}

/** A fresh random backup secret (to be shown once as a recovery key). */
export function generateSecret() {
  return randomBytes(SECRET_LENGTH);
}

/** Argon2id bounds of a backup info (E_FORMAT naming `kdf.*`). */
export function checkKdf({ memoryKib, iterations, lanes }) {
  const within = (x, [lo, hi], field) => {
    if (!Number.isInteger(x) || x < lo || x > hi) throw new FormatError(`kdf.${field}`, `out of ${lo} to ${hi}`);
  };
  within(memoryKib, KDF_BOUNDS.memoryKib, 'memory_kib');
  within(iterations, KDF_BOUNDS.iterations, 'iterations');
  within(lanes, KDF_BOUNDS.lanes, 'lanes');
}

/** The backup secret of a passphrase (bytes): Argon2id (RFC 9106, version 0x13), 32 bytes. */
export function secretFromPassphrase(passphrase, { salt, memoryKib, iterations, lanes }) {
  checkKdf({ memoryKib, iterations, lanes });
  if (!(passphrase instanceof Uint8Array)) throw new FormatError('passphrase', 'not bytes');
  return argon2id(passphrase, salt, { t: iterations, m: memoryKib, p: lanes, dkLen: SECRET_LENGTH, maxmem: 2 ** 31 });
}

/** The X-Wing seed of the backup key pair: HKDF-Expand(HKDF-Extract(salt = "", secret), INFO_BACKUP_KEY, 32). */
export function backupSeed(secret) {
  if (!(secret instanceof Uint8Array) || secret.length !== SECRET_LENGTH) throw new FormatError('secret', 'a backup secret is 32 bytes');
  return expand(sha256, extract(sha256, secret, new Uint8Array(0)), INFO_BACKUP_KEY, 32);
}

/** backup_key_id = SHA-256(BACKUP_KEY_ID || public_key) */
export function backupKeyId(publicKey) {
  return sha256(concat(BACKUP_KEY_ID, publicKey));
}

/** The backup key pair of a secret: {seed, publicKey (1216 bytes), keyId}. */
export async function backupKeyPair(secret) {
  const seed = backupSeed(secret);
  const publicKey = await xwingPublicFromSeed(seed);
  return { seed, publicKey, keyId: backupKeyId(publicKey) };
}
