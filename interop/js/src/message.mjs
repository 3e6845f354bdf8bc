// Sealed messages (spec/message.md): binary and JSON forms, associated data, seal and open with a key.
import { randomBytes } from '@noble/hashes/utils.js';
import { ed25519Sign } from './ed25519.mjs';
import {
  ByteReader,
  ByteWriter,
  DEFAULT_CONTENT_TYPE,
  b64uDecode,
  b64uEncode,
  checkContentType,
  checkEpoch,
  checkId,
  concat,
  contentTypeFromBytes,
  constantTimeEqual,
} from './encoding.mjs';
import { AuthError, FormatError, KeyExhaustedError, PolicyError, UnknownKeyError, UnknownSenderError } from './errors.mjs';
import { canonicalJson, checkMembers, getInteger, getString, parseStrict, utf8Length } from './json.mjs';
import { AAD_MESSAGE, MAGIC_MESSAGE, SIG_MESSAGE } from './labels.mjs';
import { pad, paddedLength, unpad } from './padding.mjs';
import { TAG_LENGTH, aeadDecrypt, aeadEncrypt, suiteById, suiteByName } from './suites.mjs';

export const FLAG_SIGNED = 0x01;
export const FLAG_PADDED = 0x02;
export const MAX_CONTENT = 65536;
export const MAX_PADDED = paddedLength(MAX_CONTENT); // 67,584
export const MIN_PADDED = 32;
export const MAX_BINARY = 69632;
export const MAX_JSON = 98304;
export const SIGNATURE_LENGTH = 64;
/** The hard per-(epoch, sender) bound of spec/keys.md#nonce-bound. */
export const MESSAGE_BOUND = 2 ** 32;

/** header = MAGIC_MESSAGE || u8(suite) || u8(flags) || str8(room) || u32(epoch) || key_id || str8(sender) || str8(ct) || str8(mid) */
export function encodeHeader({ suite, flags, roomId, epoch, keyId, senderId, contentType, messageId }) {
  return new ByteWriter()
    .bytes(MAGIC_MESSAGE)
    .u8(suite.id)
    .u8(flags)
    .str8(roomId)
    .u32(epoch)
    .bytes(keyId)
    .str8(senderId)
    .str8(contentType)
    .str8(messageId)
    .finish();
}

function checkCiphertextLength(ciphertext, flags, field) {
  if (ciphertext.length < TAG_LENGTH) throw new FormatError(field, 'shorter than the tag');
  if (flags & FLAG_PADDED) {
    if (ciphertext.length < MIN_PADDED + TAG_LENGTH) throw new FormatError(field, 'padded ciphertext below the floor');
    if (ciphertext.length > MAX_PADDED + TAG_LENGTH) throw new FormatError(field, 'too long');
  } else if (ciphertext.length > MAX_CONTENT + TAG_LENGTH) {
    throw new FormatError(field, 'too long');
  }
}

/** A parsed sealed message. Construct with SealedMessage.parse / fromBinary / fromJSON. */
export class SealedMessage {
  constructor(fields) {
    Object.assign(this, fields);
    this.header = encodeHeader(this);
    Object.freeze(this);
  }

  get signed() {
    return (this.flags & FLAG_SIGNED) !== 0;
  }
  get padded() {
    return (this.flags & FLAG_PADDED) !== 0;
  }
  get aad() {
    return concat(AAD_MESSAGE, this.header);
  }
  /** The bytes the signature covers: SIG_MESSAGE || header || nonce || ciphertext. */
  get signedBytes() {
    return concat(SIG_MESSAGE, this.header, this.nonce, this.ciphertext);
  }

  /** Parse a Uint8Array as the binary form or a string as the JSON form. */
  static parse(input) {
    if (input instanceof Uint8Array) return SealedMessage.fromBinary(input);
    if (typeof input === 'string') return SealedMessage.fromJSON(input);
    throw new FormatError('message', 'neither binary nor JSON');
  }

  static fromBinary(bytes) {
    if (bytes.length > MAX_BINARY) throw new FormatError('message', 'larger than 69,632 bytes');
    const r = new ByteReader(bytes);
    const magic = r.take(4, 'magic');
    if (!constantTimeEqual(magic, MAGIC_MESSAGE)) throw new FormatError('magic', 'not a version-1 sealed message');
    const suite = suiteById(r.u8('suite'), 'suite');
    const flags = r.u8('flags');
    if (flags & ~(FLAG_SIGNED | FLAG_PADDED)) throw new FormatError('flags', 'unknown flag bits');
    const roomId = r.id('room_id');
    const epoch = checkEpoch(r.u32('epoch'), 'epoch');
    const keyId = r.take(32, 'key_id');
    const senderId = r.id('sender_id');
    const contentType = contentTypeFromBytes(r.str8('content_type'), 'content_type');
    const messageId = r.id('message_id');
    const nonce = r.take(suite.nonceLength, 'nonce');
    let ciphertext;
    let signature = null;
    if (flags & FLAG_SIGNED) {
      if (r.remaining < SIGNATURE_LENGTH) throw new FormatError('signature', 'truncated');
      ciphertext = r.take(r.remaining - SIGNATURE_LENGTH, 'ciphertext');
      signature = r.take(SIGNATURE_LENGTH, 'signature');
    } else {
      ciphertext = r.rest();
    }
    checkCiphertextLength(ciphertext, flags, 'ciphertext');
    return new SealedMessage({
      suite, flags, roomId, epoch, keyId: Uint8Array.from(keyId), senderId, contentType, messageId,
      nonce: Uint8Array.from(nonce), ciphertext: Uint8Array.from(ciphertext),
      signature: signature && Uint8Array.from(signature),
    });
  }

  static fromJSON(text) {
    const o = parseStrict(text, 'message', MAX_JSON);
    checkMembers(o, ['c', 'e', 'k', 'm', 'n', 'p', 'r', 's', 't', 'u', 'v'], ['g']);
    const v = getInteger(o, 'v');
    if (v !== 1n) throw new FormatError('v', 'unsupported version');
    const suite = suiteByName(getString(o, 's'), 's');
    const roomId = checkId(getString(o, 'r'), 'r');
    const epoch = checkEpoch(getInteger(o, 'e'), 'e');
    const keyId = b64uDecode(getString(o, 'k'), 'k', 32);
    const senderId = checkId(getString(o, 'u'), 'u');
    const contentType = checkContentType(getString(o, 't'), 't');
    const messageId = checkId(getString(o, 'm'), 'm');
    const p = getInteger(o, 'p');
    if (p !== 0n && p !== 1n) throw new FormatError('p', 'must be 0 or 1');
    const nonce = b64uDecode(getString(o, 'n'), 'n', suite.nonceLength);
    const ciphertext = b64uDecode(getString(o, 'c'), 'c');
    let signature = null;
    if (Object.prototype.hasOwnProperty.call(o, 'g')) signature = b64uDecode(getString(o, 'g'), 'g', SIGNATURE_LENGTH);
    const flags = (p === 1n ? FLAG_PADDED : 0) | (signature ? FLAG_SIGNED : 0);
    checkCiphertextLength(ciphertext, flags, 'c');
    const msg = new SealedMessage({ suite, flags, roomId, epoch, keyId, senderId, contentType, messageId, nonce, ciphertext, signature });
    if (msg.toBinary().length > MAX_BINARY) throw new FormatError('message', 'binary form larger than 69,632 bytes');
    return msg;
  }

  toBinary() {
    return concat(this.header, this.nonce, this.ciphertext, this.signature ?? new Uint8Array(0));
  }

  toObject() {
    const o = {
      c: b64uEncode(this.ciphertext),
      e: this.epoch,
      k: b64uEncode(this.keyId),
      m: this.messageId,
      n: b64uEncode(this.nonce),
      p: this.padded ? 1 : 0,
      r: this.roomId,
      s: this.suite.name,
      t: this.contentType,
      u: this.senderId,
      v: 1,
    };
    if (this.signature) o.g = b64uEncode(this.signature);
    return o;
  }

  /** The canonical JSON text. */
  toJSON() {
    return canonicalJson(this.toObject());
  }
}

// ---------------------------------------------------------------- sealing

/**
 * Seal with a caller-chosen nonce. PRIVATE test-vector hook (spec/message.md#sealing forbids a public
 * API that takes a nonce): not exported from index.mjs.
 */
export function _sealWithNonce(roomKey, content, opts, nonce) {
  const {
    senderId,
    messageId,
    contentType = DEFAULT_CONTENT_TYPE,
    padded = true,
    signer = null,
    counter = null,
  } = opts;
  checkId(senderId, 'sender_id');
  checkId(messageId, 'message_id');
  checkContentType(contentType, 'content_type');
  if (!(content instanceof Uint8Array)) throw new FormatError('content', 'not bytes');
  if (content.length > MAX_CONTENT) throw new FormatError('content', 'larger than 65,536 bytes: use an attachment');
  if (counter) counter.count(roomKey, senderId);
  const suite = roomKey.suite;
  if (nonce.length !== suite.nonceLength) throw new FormatError('nonce', 'wrong length for the suite');
  const sig = signer || null; // an Identity (has .sign) or a raw 32-byte Ed25519 seed
  const flags = (sig ? FLAG_SIGNED : 0) | (padded ? FLAG_PADDED : 0);
  const fields = {
    suite, flags, roomId: roomKey.roomId, epoch: roomKey.epoch, keyId: roomKey.keyId,
    senderId, contentType, messageId,
  };
  const header = encodeHeader(fields);
  const plaintext = padded ? pad(content) : content;
  const ciphertext = aeadEncrypt(suite, roomKey.senderKey(senderId), nonce, plaintext, concat(AAD_MESSAGE, header));
  let signature = null;
  if (sig) {
    const data = concat(SIG_MESSAGE, header, nonce, ciphertext);
    signature = sig instanceof Uint8Array ? ed25519Sign(sig, data) : sig.sign(data);
  }
  return new SealedMessage({ ...fields, nonce: Uint8Array.from(nonce), ciphertext, signature });
}

/**
 * Counts messages per (room, epoch, sender) and refuses past the 2^32 bound with E_KEY_EXHAUSTED.
 * A key ring persists it; this in-memory one is for callers that seal without a key ring.
 */
export class SealCounter {
  #counts = new Map();
  constructor(bound = MESSAGE_BOUND) {
    this.bound = bound;
  }
  count(roomKey, senderId) {
    const k = `${roomKey.roomId}\n${roomKey.epoch}\n${senderId}`;
    const n = this.#counts.get(k) ?? 0;
    if (n >= this.bound) throw new KeyExhaustedError();
    this.#counts.set(k, n + 1);
  }
}

/** Seal `content` with a room key: a fresh random nonce; signed iff `signer` (an Identity) is given. */
export function seal(roomKey, content, opts) {
  const messageId = opts.messageId ?? b64uEncode(randomBytes(16));
  return _sealWithNonce(roomKey, content, { ...opts, messageId }, randomBytes(roomKey.suite.nonceLength));
}

/** Seal without a signature (bot mode). */
export function sealUnsigned(roomKey, content, opts) {
  return seal(roomKey, content, { ...opts, signer: null });
}

// ---------------------------------------------------------------- opening

/**
 * Steps 2-5 of spec/message.md#opening-a-message-with-a-key on a parsed message.
 * `sender`: the sender's PublicIdentity (signed path) or null; `mode`: 'signed' (a signature is required),
 * 'unsigned' (only unsigned messages) or 'any' (a key ring in unsigned mode).
 */
export function openParsed(roomKey, msg, { sender = null, mode = 'signed' } = {}) {
  // 2. the key named by the header
  if (msg.roomId !== roomKey.roomId || msg.epoch !== roomKey.epoch || msg.suite.id !== roomKey.suite.id || !roomKey.hasKeyId(msg.keyId)) {
    throw new UnknownKeyError();
  }
  // 3. signature policy
  if (msg.signed) {
    if (mode === 'unsigned') throw new PolicyError('a signed message on a path that skips its signature');
    if (!sender) throw new UnknownSenderError();
    if (sender.id !== msg.senderId) throw new UnknownSenderError('the identity is not the sender');
    if (!sender.verify(msg.signedBytes, msg.signature)) throw new AuthError();
  } else if (mode === 'signed') {
    throw new PolicyError('unsigned message where a signature is required');
  }
  // 4. AEAD
  const plaintext = aeadDecrypt(msg.suite, roomKey.senderKey(msg.senderId), msg.nonce, msg.ciphertext, msg.aad);
  // 5. padding
  const content = msg.padded ? unpad(plaintext) : plaintext;
  // unpad refuses padded content over MAX_CONTENT (E_FORMAT); unpadded content is bounded by the ciphertext length.
  return {
    roomId: msg.roomId,
    epoch: msg.epoch,
    senderId: msg.senderId,
    messageId: msg.messageId,
    contentType: msg.contentType,
    signed: msg.signed,
    content,
  };
}

/** Open a signed message (binary Uint8Array or JSON string) with a room key and the sender's identity. */
export function open(roomKey, input, sender) {
  return openParsed(roomKey, SealedMessage.parse(input), { sender, mode: 'signed' });
}

/** Open an unsigned message; a signed one is refused with E_POLICY. */
export function openUnsigned(roomKey, input) {
  return openParsed(roomKey, SealedMessage.parse(input), { mode: 'unsigned' });
}

export { utf8Length };
