// Streamed attachments (spec/attachment.md): STREAM chunked AEAD with a key-committing header, each
// chunk followed by its part of the chunk tree (attachmenttree.mjs), and the attachment reference.
import { randomBytes } from '@noble/hashes/utils.js';
import { ByteWriter, b64uDecode, b64uEncode, checkContentType, concat, constantTimeEqual } from './encoding.mjs';
import { AuthError, FormatError } from './errors.mjs';
import { canonicalJson, checkMembers, getInteger, getString, parseStrict } from './json.mjs';
import { INFO_ATTACHMENT_KEY, MAGIC_ATTACHMENT } from './labels.mjs';
import { hkdfExpand, hkdfExtract } from './keys.mjs';
import { HASH_LENGTH, TreeBuilder, frameHashes, hashesBefore } from './attachmenttree.mjs';
import { A256GCM, TAG_LENGTH, aeadDecrypt, aeadEncrypt, suiteById, toSuite } from './suites.mjs';

export const HEADER_LENGTH = 70;
export const HEADER_PREFIX_LENGTH = 38;
export const MIN_LOG2_CHUNK = 6;
export const MAX_LOG2_CHUNK = 20;
export const DEFAULT_CHUNK_SIZE = 65536;
export const MAX_CHUNKS = 2 ** 32;
export const REFERENCE_MAX = 1024;
export const CONTENT_TYPE_ATTACHMENT = 'application/vnd.domvia.attachment+json';

function log2Exact(n) {
  for (let k = MIN_LOG2_CHUNK; k <= MAX_LOG2_CHUNK; k++) if (n === 2 ** k) return k;
  return -1;
}

/** n = max(1, ceil(size / chunk_size)) */
export function chunkCount(size, chunkSize) {
  return Math.max(1, Math.ceil(size / chunkSize));
}

/** encrypted_size(size) = 70 + size + 16 n + 32 (2n - popcount(n)) */
export function encryptedSize(size, chunkSize) {
  const n = chunkCount(size, chunkSize);
  return HEADER_LENGTH + size + TAG_LENGTH * n + HASH_LENGTH * hashesBefore(n);
}

/** Length of encrypted chunk i (ciphertext and tag) of a reference. */
export function chunkLength(ref, i) {
  const n = ref.chunkCount;
  return (i < n - 1 ? ref.chunkSize : ref.size - (n - 1) * ref.chunkSize) + TAG_LENGTH;
}


/** payload_key || commitment = HKDF-Expand(HKDF-Extract(salt, file_key), INFO_ATTACHMENT_KEY || header_prefix, 64) */
export function attachmentKeys(fileKey, headerPrefix) {
  const salt = headerPrefix.subarray(6, 38);
  const okm = hkdfExpand(hkdfExtract(salt, fileKey), concat(INFO_ATTACHMENT_KEY, headerPrefix), 64);
  return { payloadKey: okm.slice(0, 32), commitment: okm.slice(32, 64) };
}

/** N = 256 i + last, big-endian in the suite's nonce size. */
export function chunkNonce(suite, index, last) {
  const nonce = new Uint8Array(suite.nonceLength);
  const v = new DataView(nonce.buffer);
  const o = suite.nonceLength - 12; // u88(i) || u8(last) in the last 12 bytes
  nonce[o + 11] = last ? 1 : 0;
  // i < 2^32 fits in the low 4 bytes of the 11-byte counter
  v.setUint32(o + 7, index);
  return nonce;
}

// ---------------------------------------------------------------- reference

export class AttachmentReference {
  constructor({ fileKey, suite, chunkSize, size, contentType, root }) {
    this.fileKey = fileKey;
    this.suite = toSuite(suite);
    this.chunkSize = chunkSize;
    this.size = size;
    this.contentType = checkContentType(contentType, 'content_type');
    this.root = root;
    Object.freeze(this);
  }

  get chunkCount() {
    return chunkCount(this.size, this.chunkSize);
  }
  get encryptedSize() {
    return encryptedSize(this.size, this.chunkSize);
  }

  static fromJSON(text) {
    const o = parseStrict(text, 'reference', REFERENCE_MAX);
    // The version first, whatever the other members (version 1 had sha256 and no root).
    if ('v' in o && (typeof o.v !== 'bigint' || o.v !== 2n)) throw new FormatError('v', 'unsupported version');
    checkMembers(o, ['chunk_size', 'content_type', 'key', 'root', 'size', 'suite', 'v']);
    const fileKey = b64uDecode(getString(o, 'key'), 'key', 32);
    const suite = toSuite(getString(o, 'suite'), 'suite');
    const cs = getInteger(o, 'chunk_size');
    if (cs > BigInt(2 ** MAX_LOG2_CHUNK) || log2Exact(Number(cs)) < 0) throw new FormatError('chunk_size', 'not a power of two from 2^6 to 2^20');
    const chunkSize = Number(cs);
    const size = getInteger(o, 'size');
    if (size < 0n || size > BigInt(MAX_CHUNKS) * BigInt(chunkSize)) throw new FormatError('size', 'out of range');
    const contentType = checkContentType(getString(o, 'content_type'), 'content_type');
    const root = b64uDecode(getString(o, 'root'), 'root', 32);
    return new AttachmentReference({ fileKey, suite, chunkSize, size: Number(size), contentType, root });
  }

  toObject() {
    return {
      chunk_size: this.chunkSize,
      content_type: this.contentType,
      key: b64uEncode(this.fileKey),
      root: b64uEncode(this.root),
      size: this.size,
      suite: this.suite.name,
      v: 2,
    };
  }

  /** The canonical JSON text (it holds the file key: as secret as a message). */
  toJSON() {
    return canonicalJson(this.toObject());
  }

  toString() {
    return `AttachmentReference(${this.contentType}, ${this.size} bytes)`;
  }
  [Symbol.for('nodejs.util.inspect.custom')]() {
    return this.toString();
  }
}

// ---------------------------------------------------------------- header

/** Parse the 70-byte header (step 2 of "Opening"): E_FORMAT naming magic, version, suite or chunk_size. */
export function parseAttachmentHeader(bytes) {
  if (bytes.length < HEADER_LENGTH) throw new FormatError('header', 'shorter than 70 bytes');
  if (bytes[0] !== MAGIC_ATTACHMENT[0] || bytes[1] !== MAGIC_ATTACHMENT[1] || bytes[2] !== MAGIC_ATTACHMENT[2]) {
    throw new FormatError('magic', 'not an attachment');
  }
  if (bytes[3] !== MAGIC_ATTACHMENT[3]) throw new FormatError('version', 'not version 2');
  const suite = suiteById(bytes[4], 'suite');
  const log2 = bytes[5];
  if (log2 < MIN_LOG2_CHUNK || log2 > MAX_LOG2_CHUNK) throw new FormatError('chunk_size', 'log2 chunk size outside 6..20');
  return {
    suite,
    chunkSize: 2 ** log2,
    prefix: bytes.slice(0, HEADER_PREFIX_LENGTH),
    commitment: bytes.slice(HEADER_PREFIX_LENGTH, HEADER_LENGTH),
    bytes: bytes.slice(0, HEADER_LENGTH),
  };
}

// ---------------------------------------------------------------- sealing

/**
 * Streaming sealer. push(bytes) returns the encrypted bytes ready so far (the header first);
 * finish() returns the rest and the reference. Holds at most one chunk of plaintext.
 */
export class AttachmentSealer {
  #payloadKey;
  #buffered = [];
  #bufferedLength = 0;
  #index = 0;
  #size = 0;
  #tree = new TreeBuilder();
  #header;
  #headerPending;
  #done = false;

  constructor({ suite = A256GCM, chunkSize = DEFAULT_CHUNK_SIZE, contentType = 'application/octet-stream', fileKey = null, salt = null } = {}) {
    this.suite = toSuite(suite);
    const log2 = log2Exact(chunkSize);
    if (log2 < 0) throw new FormatError('chunk_size', 'not a power of two from 2^6 to 2^20');
    this.chunkSize = chunkSize;
    this.contentType = checkContentType(contentType, 'content_type');
    this.fileKey = fileKey ?? randomBytes(32);
    salt = salt ?? randomBytes(32);
    if (this.fileKey.length !== 32 || salt.length !== 32) throw new FormatError('file_key', 'file key and salt are 32 bytes');
    const prefix = new ByteWriter().bytes(MAGIC_ATTACHMENT).u8(this.suite.id).u8(log2).bytes(salt).finish();
    const { payloadKey, commitment } = attachmentKeys(this.fileKey, prefix);
    this.#payloadKey = payloadKey;
    this.#header = concat(prefix, commitment);
    this.#headerPending = this.#header;
  }

  #emit(parts, bytes) {
    parts.push(bytes);
  }

  #sealChunk(plaintext, last) {
    if (this.#index >= MAX_CHUNKS) throw new FormatError('size', 'more than 2^32 chunks');
    const ct = aeadEncrypt(this.suite, this.#payloadKey, chunkNonce(this.suite, this.#index, last), plaintext);
    this.#index += 1;
    return concat(ct, this.#tree.add(ct));
  }

  push(data) {
    if (this.#done) throw new Error('sealer finished');
    const parts = [];
    if (this.#headerPending) {
      this.#emit(parts, this.#headerPending);
      this.#headerPending = null;
    }
    let offset = 0;
    while (offset < data.length) {
      // A full chunk is sealed only once at least one more byte is known to follow it.
      if (this.#bufferedLength === this.chunkSize) {
        this.#emit(parts, this.#sealChunk(concat(...this.#buffered), false));
        this.#buffered = [];
        this.#bufferedLength = 0;
      }
      const take = Math.min(this.chunkSize - this.#bufferedLength, data.length - offset);
      this.#buffered.push(data.slice(offset, offset + take));
      this.#bufferedLength += take;
      this.#size += take;
      offset += take;
    }
    return concat(...parts);
  }

  finish({ contentType } = {}) {
    const parts = [this.push(new Uint8Array(0))];
    this.#done = true;
    this.#emit(parts, this.#sealChunk(concat(...this.#buffered), true));
    this.#buffered = [];
    const reference = new AttachmentReference({
      fileKey: this.fileKey, suite: this.suite, chunkSize: this.chunkSize, size: this.#size,
      contentType: contentType ?? this.contentType, root: this.#tree.root(this.#header),
    });
    return { bytes: concat(...parts), reference };
  }
}

/** Seal a whole attachment in memory: {blob, reference}. */
export function sealAttachment(plaintext, opts = {}) {
  const s = new AttachmentSealer(opts);
  const head = s.push(plaintext);
  const { bytes, reference } = s.finish();
  return { blob: concat(head, bytes), reference };
}

// ---------------------------------------------------------------- opening

/**
 * Streaming reader in the order of spec/attachment.md#opening. push(bytes) returns the verified
 * plaintext of non-final chunks; finish() checks the end and the digest and returns the final chunk.
 * After any error the reader releases nothing more.
 */
export class AttachmentReader {
  #ref;
  #payloadKey = null;
  #suite;
  #pending = new Uint8Array(0);
  #offset = 0;
  #index = 0;
  #tree = new TreeBuilder();
  #header = null;
  #failed = false;

  constructor(reference) {
    this.#ref = typeof reference === 'string' ? AttachmentReference.fromJSON(reference) : reference;
    this.#suite = this.#ref.suite;
    this.n = this.#ref.chunkCount;
  }

  #frameLength(i) {
    return chunkLength(this.#ref, i) + HASH_LENGTH * frameHashes(i);
  }

  /** Decrypt the frame's chunk, then check the tree hashes stored after it. */
  #openFrame(frame, last) {
    const len = chunkLength(this.#ref, this.#index);
    const ct = frame.subarray(0, len);
    const plain = aeadDecrypt(this.#suite, this.#payloadKey, chunkNonce(this.#suite, this.#index, last), ct);
    if (!constantTimeEqual(this.#tree.add(ct), frame.subarray(len))) throw new AuthError();
    this.#index += 1;
    return plain;
  }

  get #bufLength() {
    return this.#pending.length - this.#offset;
  }

  #take(n) {
    const out = this.#pending.subarray(this.#offset, this.#offset + n);
    this.#offset += n;
    return out;
  }

  #fail(e) {
    this.#failed = true;
    throw e;
  }

  push(data) {
    if (this.#failed) throw new AuthError();
    this.#pending = concat(this.#pending.subarray(this.#offset), data);
    this.#offset = 0;
    const out = [];
    try {
      if (!this.#payloadKey) {
        if (this.#bufLength < HEADER_LENGTH) return new Uint8Array(0);
        this.#openHeader(this.#take(HEADER_LENGTH));
      }
      // Open each complete chunk that is known not to be the last one: the final chunk waits for finish().
      while (this.#index < this.n - 1 && this.#bufLength >= this.#frameLength(this.#index)) {
        out.push(this.#openFrame(this.#take(this.#frameLength(this.#index)), false));
      }
    } catch (e) {
      this.#fail(e);
    }
    return concat(...out);
  }

  #openHeader(bytes) {
    const h = parseAttachmentHeader(bytes);
    const { payloadKey, commitment } = attachmentKeys(this.#ref.fileKey, h.prefix);
    if (!constantTimeEqual(commitment, h.commitment)) throw new AuthError();
    if (h.suite.id !== this.#ref.suite.id || h.chunkSize !== this.#ref.chunkSize) throw new AuthError();
    this.#payloadKey = payloadKey;
    this.#header = h.bytes;
  }

  /** Verify the end of the blob and the root; return the final chunk's plaintext. */
  finish() {
    if (this.#failed) throw new AuthError();
    try {
      if (!this.#payloadKey) {
        if (this.#bufLength < HEADER_LENGTH) throw new FormatError('header', 'shorter than 70 bytes');
        this.push(new Uint8Array(0));
      }
      if (this.#index !== this.n - 1) throw new AuthError();
      const len = this.#frameLength(this.#index);
      if (this.#bufLength < len) throw new AuthError();
      const plain = this.#openFrame(this.#take(len), true);
      if (this.#bufLength !== 0) throw new AuthError();
      if (!constantTimeEqual(this.#tree.root(this.#header), this.#ref.root)) throw new AuthError();
      return plain;
    } catch (e) {
      this.#fail(e);
    }
  }
}

/** Open a whole blob in memory; every check of "Opening" in its order. */
export function openAttachment(reference, blob) {
  const r = new AttachmentReader(reference);
  const head = r.push(blob);
  const tail = r.finish();
  return concat(head, tail);
}

/** Offset of chunk i in the blob: the header, the frames before it (chunks and their tree hashes). */
export function chunkOffset(index, chunkSize) {
  return HEADER_LENGTH + index * (chunkSize + TAG_LENGTH) + HASH_LENGTH * hashesBefore(index);
}

export { openAttachmentChunk, proofOffsets } from './attachmentaccess.mjs';
