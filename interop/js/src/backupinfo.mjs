// Backup infos (spec/backup.md#backup-info): the user's signed announcement of its backup public key and, for a
// passphrase, the Argon2id salt and cost. Strict parsing, building, verification under the pinned user key, and the
// check that a typed-in secret opens it.
import { ByteReader, ByteWriter, concat, constantTimeEqual } from './encoding.mjs';
import { AuthError, FormatError } from './errors.mjs';
import { ed25519VerifyStrict } from './ed25519.mjs';
import { MAGIC_BACKUP_INFO, SIG_BACKUP_INFO } from './labels.mjs';
import { backupKeyId, backupKeyPair, checkKdf, parseRecoveryKey, secretFromPassphrase } from './recovery.mjs';
import { checkUserId } from './userkey.mjs';
import { XWING_PUBLIC_LENGTH } from './xwing.mjs';

export const MAX_BACKUP_INFO = 4096;
export const KDF_RECOVERY_KEY = 1;
export const KDF_PASSPHRASE = 2;
export const SALT_LENGTH = 16;

/**
 * Parse a backup info strictly (E_FORMAT naming the field). Returns {bytes, userId, version, kdf ('recovery-key' or
 * 'passphrase'), salt, memoryKib, iterations, lanes (passphrase only), publicKey, keyId, signed, signature}.
 */
export function parseBackupInfo(bytes) {
  if (!(bytes instanceof Uint8Array)) throw new FormatError('backup_info', 'not bytes');
  if (bytes.length > MAX_BACKUP_INFO) throw new FormatError('backup_info', 'larger than 4 KiB');
  const r = new ByteReader(bytes);
  if (!constantTimeEqual(r.take(4, 'magic'), MAGIC_BACKUP_INFO)) throw new FormatError('magic', 'not a version-3 backup info');
  const userId = checkUserId(r.id('user_id'), 'user_id');
  const version = r.u32('version');
  if (version === 0) throw new FormatError('version', 'a backup info version is 1 to 2^32 - 1');
  const kdfByte = r.u8('kdf');
  const info = { userId, version };
  if (kdfByte === KDF_RECOVERY_KEY) info.kdf = 'recovery-key';
  else if (kdfByte === KDF_PASSPHRASE) {
    info.kdf = 'passphrase';
    info.salt = Uint8Array.from(r.take(SALT_LENGTH, 'kdf.salt'));
    info.memoryKib = r.u32('kdf.memory_kib');
    info.iterations = r.u32('kdf.iterations');
    info.lanes = r.u8('kdf.lanes');
    checkKdf(info);
  } else throw new FormatError('kdf', 'unknown key derivation');
  const publicKey = Uint8Array.from(r.bytes16('public_key'));
  if (publicKey.length !== XWING_PUBLIC_LENGTH) throw new FormatError('public_key', 'an X-Wing public key is 1216 bytes');
  const signedLength = r.pos;
  const signature = Uint8Array.from(r.take(64, 'signature'));
  r.end('backup_info');
  const copy = Uint8Array.from(bytes);
  return { ...info, publicKey, keyId: backupKeyId(publicKey), bytes: copy, signed: copy.subarray(0, signedLength), signature };
}

/**
 * Verify a parsed info under the user's pinned key (a UserKey): another user's info is E_FORMAT (`user_id`), a bad
 * signature (a changed public key or cost included) E_AUTH.
 */
export function verifyBackupInfo(info, userKey) {
  if (!userKey || info.userId !== userKey.userId) throw new FormatError('user_id', "not the pinned user's backup info");
  if (!ed25519VerifyStrict(userKey.key, concat(SIG_BACKUP_INFO, info.signed), info.signature)) throw new AuthError();
  return info;
}

/**
 * The backup secret typed in for an info: {recoveryKey: text} or {passphrase: bytes}. The other kind of secret than
 * the info's is E_FORMAT naming it (spec/backup.md, "Backup info"). Returns 32 bytes.
 */
export function secretOf(info, { recoveryKey, passphrase } = {}) {
  if (recoveryKey !== undefined && recoveryKey !== null) {
    if (info.kdf !== 'recovery-key') throw new FormatError('recovery_key', 'this backup is opened with a passphrase');
    return parseRecoveryKey(recoveryKey);
  }
  if (passphrase !== undefined && passphrase !== null) {
    if (info.kdf !== 'passphrase') throw new FormatError('passphrase', 'this backup is opened with a recovery key');
    return secretFromPassphrase(passphrase, info);
  }
  throw new FormatError('recovery_key', 'a recovery key or passphrase is needed');
}

/** The backup key pair of a secret, checked against the info's public key (E_AUTH: a wrong recovery key or passphrase). */
export async function openBackupInfo(info, secret) {
  const pair = await backupKeyPair(secret);
  if (!constantTimeEqual(pair.keyId, info.keyId) || !constantTimeEqual(pair.publicKey, info.publicKey)) {
    throw new AuthError('the recovery key or passphrase does not open this backup');
  }
  return pair;
}

/**
 * Build and sign a backup info. signer: UserSigner; publicKey: the backup key pair's; passphrase infos give
 * {salt, memoryKib, iterations, lanes}. Every format rule is the parser's: returns the bytes.
 */
export function buildBackupInfo({ signer, version, publicKey, kdf = 'recovery-key', salt, memoryKib, iterations, lanes }) {
  const w = new ByteWriter().bytes(MAGIC_BACKUP_INFO).str8(signer.userId).u32(version);
  if (kdf === 'passphrase') {
    checkKdf({ memoryKib, iterations, lanes });
    if (!(salt instanceof Uint8Array) || salt.length !== SALT_LENGTH) throw new FormatError('kdf.salt', '16 bytes');
    w.u8(KDF_PASSPHRASE).bytes(salt).u32(memoryKib).u32(iterations).u8(lanes);
  } else w.u8(KDF_RECOVERY_KEY);
  const signed = w.bytes16(publicKey).finish();
  const bytes = concat(signed, signer.sign(concat(SIG_BACKUP_INFO, signed)));
  parseBackupInfo(bytes);
  return bytes;
}
