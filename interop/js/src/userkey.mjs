// User keys and device ids (spec/users.md#user-key): the Ed25519 key that signs a user's device lists, its
// `.user.pub` JSON form, the user fingerprint and safety number; user ids and device ids (user_id/name).
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { ed25519PublicFromSeed, ed25519Sign, validateEd25519Public } from './ed25519.mjs';
import { ByteWriter, b64uDecode, b64uEncode, checkId, constantTimeEqual } from './encoding.mjs';
import { FormatError } from './errors.mjs';
import { safetyNumber } from './identity.mjs';
import { canonicalJson, checkMembers, getString, isObject, parseStrict } from './json.mjs';
import { USER_FINGERPRINT } from './labels.mjs';

export const MAX_USER_ID = 96;
export const USER_KEY_JSON_MAX = 1024;

/** A user id: an id of at most 96 characters without "/". Throws E_FORMAT naming `field`. */
export function checkUserId(s, field = 'user_id') {
  checkId(s, field);
  if (s.length > MAX_USER_ID || s.includes('/')) throw new FormatError(field, 'not a user id (at most 96 characters, no "/")');
  return s;
}

/**
 * The user of a device id `user_id/name` (name: 1 or more id characters, no "/"), or null when `id` has no "/".
 * An id with a "/" that is not of this form is E_FORMAT naming `field`.
 */
export function userOfDevice(id, field = 'id') {
  const i = id.indexOf('/');
  if (i < 0) return null;
  const user = id.slice(0, i);
  const name = id.slice(i + 1);
  if (!name.length || name.includes('/') || !user.length || user.length > MAX_USER_ID) {
    throw new FormatError(field, 'an id with "/" must be user_id/name');
  }
  return user;
}

/** user_fingerprint = SHA-256(USER_FINGERPRINT || str8(user_id) || ed25519_public) */
export function userFingerprint(userId, key) {
  return sha256(new ByteWriter().bytes(USER_FINGERPRINT).str8(userId).bytes(key).finish());
}

/** The public user key: {"v": 1, "user": user_id, "sig": base64url(key)}. */
export class UserKey {
  constructor(userId, key) {
    this.userId = checkUserId(userId, 'user');
    if (!(key instanceof Uint8Array) || key.length !== 32) throw new FormatError('sig', 'expected 32 bytes');
    validateEd25519Public(key);
    this.key = Uint8Array.from(key);
    Object.freeze(this);
  }

  /** The JSON text of a `.user.pub` file, strictly (exactly v, user, sig; every format rule before the key). */
  static fromJSON(text) {
    return UserKey.fromParsed(parseStrict(text, 'user_key', USER_KEY_JSON_MAX));
  }

  static fromParsed(obj) {
    if (!isObject(obj)) throw new FormatError('user_key', 'not an object');
    checkMembers(obj, ['sig', 'user', 'v']);
    if (typeof obj.v !== 'bigint' || obj.v !== 1n) throw new FormatError('v', 'unsupported user key version');
    const userId = checkUserId(getString(obj, 'user'), 'user');
    const key = b64uDecode(getString(obj, 'sig'), 'sig', 32);
    return new UserKey(userId, key);
  }

  toObject() {
    return { sig: b64uEncode(this.key), user: this.userId, v: 1 };
  }

  toJSON() {
    return canonicalJson(this.toObject());
  }

  get fingerprint() {
    return userFingerprint(this.userId, this.key);
  }

  get safetyNumber() {
    return safetyNumber(this.fingerprint);
  }

  equals(other) {
    return other instanceof UserKey && other.userId === this.userId && constantTimeEqual(other.key, this.key);
  }
}

/** A user's private key (an Ed25519 seed): signs the user's device lists. */
export class UserSigner {
  #seed;

  constructor(userId, seed) {
    checkUserId(userId);
    if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new FormatError('user_seed', 'expected 32 bytes');
    this.#seed = Uint8Array.from(seed);
    this.public = new UserKey(userId, ed25519PublicFromSeed(this.#seed));
    Object.freeze(this);
  }

  static generate(userId) {
    return new UserSigner(userId, randomBytes(32));
  }

  get userId() {
    return this.public.userId;
  }

  sign(message) {
    return ed25519Sign(this.#seed, message);
  }

  toString() {
    return `UserSigner(${this.userId})`;
  }
  toJSON() {
    return this.toString();
  }
}
