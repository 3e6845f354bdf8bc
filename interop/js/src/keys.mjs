// Room keys and the key schedule (spec/keys.md).
import { extract, expand } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { ByteWriter, checkEpoch, checkId, concat, constantTimeEqual, toHex } from './encoding.mjs';
import { FormatError } from './errors.mjs';
import { INFO_KEY_ID, INFO_SENDER_KEY, ROOM_KEY_SALT } from './labels.mjs';
import { A256GCM, toSuite } from './suites.mjs';

export function hkdfExtract(salt, ikm) {
  return extract(sha256, ikm, salt.length ? salt : new Uint8Array(32));
}
export function hkdfExpand(prk, info, length) {
  return expand(sha256, prk, info, length);
}

/** context = u8(suite) || str8(room_id) || u32(epoch) */
export function keyContext(suite, roomId, epoch) {
  return new ByteWriter().u8(suite.id).str8(roomId).u32(epoch).finish();
}

/** A 32-byte room key bound to its (suite, room id, epoch). */
export class RoomKey {
  #prk;
  #secret;
  #senderKeys = new Map();

  constructor(secret, { roomId, epoch, suite = A256GCM } = {}) {
    if (!(secret instanceof Uint8Array) || secret.length !== 32) throw new FormatError('secret', 'a room key is 32 bytes');
    this.suite = toSuite(suite);
    this.roomId = checkId(roomId, 'room_id');
    this.epoch = checkEpoch(epoch);
    this.#secret = Uint8Array.from(secret);
    this.#prk = hkdfExtract(ROOM_KEY_SALT, this.#secret);
    this.context = keyContext(this.suite, this.roomId, this.epoch);
    this.keyId = hkdfExpand(this.#prk, concat(INFO_KEY_ID, this.context), 32);
  }

  static generate({ roomId, epoch, suite = A256GCM }) {
    return new RoomKey(randomBytes(32), { roomId, epoch, suite });
  }

  /** The raw secret, for wrapping and export only. */
  get secret() {
    return Uint8Array.from(this.#secret);
  }

  /** sender_key(sender_id) = HKDF-Expand(prk, INFO_SENDER_KEY || context || str8(sender_id), 32), cached. */
  senderKey(senderId) {
    checkId(senderId, 'sender_id');
    let k = this.#senderKeys.get(senderId);
    if (!k) {
      const info = concat(INFO_SENDER_KEY, this.context, new ByteWriter().str8(senderId).finish());
      k = hkdfExpand(this.#prk, info, 32);
      this.#senderKeys.set(senderId, k);
    }
    return k;
  }

  /** Constant-time check that `keyId` is this key's key id. */
  hasKeyId(keyId) {
    return constantTimeEqual(this.keyId, keyId);
  }

  toString() {
    return `RoomKey(${this.roomId}, epoch ${this.epoch}, ${this.suite.name}, key id ${toHex(this.keyId).slice(0, 16)}...)`;
  }
  [Symbol.for('nodejs.util.inspect.custom')]() {
    return this.toString();
  }
  toJSON() {
    return this.toString();
  }
}
