// Encodings of spec/encoding.md: integers, str8/bytes16, ids, content types, epochs, base64url.
import { FormatError } from './errors.mjs';

export const MAX_U32 = 0xffffffff;

// ---------------------------------------------------------------- bytes

export function concat(...parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function toHex(bytes) {
  let s = '';
  for (const b of bytes) s += HEX[b];
  return s;
}

export function fromHex(s, field = 'hex') {
  if (typeof s !== 'string' || s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) {
    throw new FormatError(field, 'not a hex string');
  }
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16);
  return out;
}

/** Constant-time equality of two byte strings (the lengths are not secret). */
export function constantTimeEqual(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

/** Byte-order comparison (memcmp, then length), used for sorting ids. */
export function compareBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** Compare two ASCII strings in byte order. */
export function compareAscii(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

const ENC = new TextEncoder();
export const asciiBytes = (s) => ENC.encode(s);

// ---------------------------------------------------------------- writer

export class ByteWriter {
  constructor() {
    this.parts = [];
  }
  bytes(b) {
    this.parts.push(b);
    return this;
  }
  u8(x) {
    return this.bytes(Uint8Array.of(x & 0xff));
  }
  u16(x) {
    return this.bytes(Uint8Array.of((x >>> 8) & 0xff, x & 0xff));
  }
  u32(x) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, x);
    return this.bytes(b);
  }
  u64(x) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(x));
    return this.bytes(b);
  }
  str8(s) {
    const b = typeof s === 'string' ? asciiBytes(s) : s;
    if (b.length > 255) throw new FormatError('str8', 'longer than 255 bytes');
    return this.u8(b.length).bytes(b);
  }
  bytes16(b) {
    if (b.length > 0xffff) throw new FormatError('bytes16', 'longer than 65535 bytes');
    return this.u16(b.length).bytes(b);
  }
  finish() {
    return concat(...this.parts);
  }
}

// ---------------------------------------------------------------- reader

/** Strict reader: every short read is E_FORMAT naming the field being read. */
export class ByteReader {
  constructor(bytes) {
    this.buf = bytes;
    this.pos = 0;
  }
  get remaining() {
    return this.buf.length - this.pos;
  }
  take(n, field) {
    if (n > this.remaining) throw new FormatError(field, 'truncated');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  rest() {
    return this.take(this.remaining, 'rest');
  }
  u8(field) {
    return this.take(1, field)[0];
  }
  u16(field) {
    const b = this.take(2, field);
    return (b[0] << 8) | b[1];
  }
  u32(field) {
    const b = this.take(4, field);
    return new DataView(b.buffer, b.byteOffset, 4).getUint32(0);
  }
  u64(field) {
    const b = this.take(8, field);
    return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0);
  }
  str8(field) {
    const n = this.u8(field);
    return this.take(n, field);
  }
  bytes16(field) {
    const n = this.u16(field);
    return this.take(n, field);
  }
  /** An id read as str8 and validated. */
  id(field) {
    return idFromBytes(this.str8(field), field);
  }
  end(field = 'trailing bytes') {
    if (this.remaining !== 0) throw new FormatError(field, 'bytes after the end of the structure');
  }
}

// ---------------------------------------------------------------- ids, content types, epochs

const ID_RE = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

export function checkId(s, field) {
  if (typeof s !== 'string' || !ID_RE.test(s)) throw new FormatError(field, 'not a valid id');
  return s;
}

function asciiFromBytes(bytes, field) {
  let s = '';
  for (const b of bytes) {
    if (b > 0x7f) throw new FormatError(field, 'non-ASCII byte');
    s += String.fromCharCode(b);
  }
  return s;
}

export function idFromBytes(bytes, field) {
  return checkId(asciiFromBytes(bytes, field), field);
}

export const DEFAULT_CONTENT_TYPE = 'text/plain';
const CONTENT_TYPE_RE = /^[\x21-\x7e]{1,127}$/;

export function checkContentType(s, field = 'content_type') {
  if (typeof s !== 'string' || !CONTENT_TYPE_RE.test(s)) throw new FormatError(field, 'not a valid content type');
  return s;
}

export function contentTypeFromBytes(bytes, field = 'content_type') {
  return checkContentType(asciiFromBytes(bytes, field), field);
}

export function checkEpoch(e, field = 'epoch') {
  if (typeof e === 'bigint') {
    if (e < 1n || e > BigInt(MAX_U32)) throw new FormatError(field, 'out of range');
    return Number(e);
  }
  if (!Number.isInteger(e) || e < 1 || e > MAX_U32) throw new FormatError(field, 'out of range');
  return e;
}

// ---------------------------------------------------------------- base64url (RFC 4648 section 5, no padding, canonical)

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64_INDEX[B64.charCodeAt(i)] = i;

export function b64uEncode(bytes) {
  let out = '';
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + B64[n & 63];
  }
  const r = bytes.length - i;
  if (r === 1) {
    const n = bytes[i] << 16;
    out += B64[n >> 18] + B64[(n >> 12) & 63];
  } else if (r === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63];
  }
  return out;
}

/**
 * Strict base64url decoding: no '=', only the URL-safe alphabet, no length of 1 mod 4,
 * zero unused trailing bits, and (if `length` is given) exactly that many decoded bytes.
 */
export function b64uDecode(s, field, length = null) {
  if (typeof s !== 'string') throw new FormatError(field, 'not a string');
  if (s.length % 4 === 1) throw new FormatError(field, 'bad base64url length');
  const vals = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? B64_INDEX[c] : -1;
    if (v < 0) throw new FormatError(field, 'not base64url');
    vals[i] = v;
  }
  const full = Math.floor(s.length / 4);
  const r = s.length % 4;
  const out = new Uint8Array(full * 3 + (r === 0 ? 0 : r - 1));
  let o = 0;
  let i = 0;
  for (let k = 0; k < full; k++, i += 4) {
    const n = (vals[i] << 18) | (vals[i + 1] << 12) | (vals[i + 2] << 6) | vals[i + 3];
    out[o++] = n >> 16;
    out[o++] = (n >> 8) & 0xff;
    out[o++] = n & 0xff;
  }
  if (r === 2) {
    if (vals[i + 1] & 0x0f) throw new FormatError(field, 'non-canonical base64url');
    out[o++] = (vals[i] << 2) | (vals[i + 1] >> 4);
  } else if (r === 3) {
    if (vals[i + 2] & 0x03) throw new FormatError(field, 'non-canonical base64url');
    out[o++] = (vals[i] << 2) | (vals[i + 1] >> 4);
    out[o++] = ((vals[i + 1] & 0x0f) << 4) | (vals[i + 2] >> 2);
  }
  if (length !== null && out.length !== length) throw new FormatError(field, `expected ${length} bytes`);
  return out;
}
