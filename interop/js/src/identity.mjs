// Participant identities (spec/identity.md): public JSON/JWK form, key validation, fingerprint,
// safety number, and the private identity.
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import {
  ed25519PublicFromSeed,
  ed25519Sign,
  ed25519VerifyStrict,
  validateEd25519Public,
  validateX25519Public,
  x25519PublicFromPrivate,
} from './ed25519.mjs';
import { ByteWriter, b64uDecode, b64uEncode, checkId, concat, constantTimeEqual, toHex } from './encoding.mjs';
import { FormatError } from './errors.mjs';
import { canonicalJson, checkMembers, getObject, getString, isObject, parseStrict } from './json.mjs';
import { FINGERPRINT } from './labels.mjs';
import { validateXwingPublic, xwingPublicFromSeed, XWING_PUBLIC_LENGTH } from './xwing.mjs';

export const IDENTITY_JSON_MAX = 8192;
export const PQ_KEM_NAME = 'MLKEM768-X25519';

function parseJwk(obj, name, crv) {
  const jwk = getObject(obj, name);
  checkMembers(jwk, ['crv', 'kty', 'x']);
  if (getString(jwk, 'kty') !== 'OKP') throw new FormatError(`${name}.kty`, 'not OKP');
  if (getString(jwk, 'crv') !== crv) throw new FormatError(`${name}.crv`, `not ${crv}`);
  return b64uDecode(getString(jwk, 'x'), `${name}.x`, 32);
}

export class PublicIdentity {
  #fingerprint;

  /** Build from raw public keys, validating each (E_BAD_KEY). */
  constructor({ id, x25519, ed25519, xwing = null }) {
    this.id = checkId(id, 'id');
    if (!(x25519 instanceof Uint8Array) || x25519.length !== 32) throw new FormatError('enc.x', 'expected 32 bytes');
    if (!(ed25519 instanceof Uint8Array) || ed25519.length !== 32) throw new FormatError('sig.x', 'expected 32 bytes');
    if (xwing !== null && (!(xwing instanceof Uint8Array) || xwing.length !== XWING_PUBLIC_LENGTH)) {
      throw new FormatError('pq.pub', `expected ${XWING_PUBLIC_LENGTH} bytes`);
    }
    validateX25519Public(x25519);
    validateEd25519Public(ed25519);
    if (xwing !== null) validateXwingPublic(xwing);
    this.x25519 = Uint8Array.from(x25519);
    this.ed25519 = Uint8Array.from(ed25519);
    this.xwing = xwing === null ? null : Uint8Array.from(xwing);
    Object.freeze(this);
  }

  /**
   * Import the JSON text of spec/identity.md. Every format rule is checked before any key
   * (E_FORMAT before E_BAD_KEY).
   */
  static fromJSON(text) {
    const obj = parseStrict(text, 'identity', IDENTITY_JSON_MAX);
    return PublicIdentity.fromParsed(obj);
  }

  /** From an object produced by the strict parser (integers as BigInt). */
  static fromParsed(obj) {
    if (!isObject(obj)) throw new FormatError('identity', 'not an object');
    checkMembers(obj, ['enc', 'id', 'sig', 'v'], ['pq']);
    if (typeof obj.v !== 'bigint' || obj.v !== 1n) throw new FormatError('v', 'unsupported identity version');
    const id = checkId(getString(obj, 'id'), 'id');
    const x25519 = parseJwk(obj, 'enc', 'X25519');
    const ed25519 = parseJwk(obj, 'sig', 'Ed25519');
    let xwing = null;
    if (Object.prototype.hasOwnProperty.call(obj, 'pq')) {
      const pq = getObject(obj, 'pq');
      checkMembers(pq, ['kem', 'pub']);
      if (getString(pq, 'kem') !== PQ_KEM_NAME) throw new FormatError('pq.kem', 'unknown post-quantum KEM');
      xwing = b64uDecode(getString(pq, 'pub'), 'pq.pub', XWING_PUBLIC_LENGTH);
    }
    return new PublicIdentity({ id, x25519, ed25519, xwing });
  }

  toObject() {
    const o = {
      enc: { crv: 'X25519', kty: 'OKP', x: b64uEncode(this.x25519) },
      id: this.id,
      sig: { crv: 'Ed25519', kty: 'OKP', x: b64uEncode(this.ed25519) },
      v: 1,
    };
    if (this.xwing) o.pq = { kem: PQ_KEM_NAME, pub: b64uEncode(this.xwing) };
    return o;
  }

  /** The canonical JSON text. */
  toJSON() {
    return canonicalJson(this.toObject());
  }

  /** SHA-256(FINGERPRINT || str8(id) || x25519 || ed25519 || bytes16(xwing or empty)) */
  get fingerprint() {
    this.#fingerprint ??= fingerprintOf(this);
    return Uint8Array.from(this.#fingerprint);
  }

  /** Six groups of five digits: int(fp[i:i+5]) mod 100000 for i = 0, 5, ..., 25. */
  get safetyNumber() {
    return safetyNumber(this.fingerprint);
  }

  equals(other) {
    return other instanceof PublicIdentity && constantTimeEqual(this.fingerprint, other.fingerprint);
  }

  /** Strict Ed25519 verification with this identity's signing key. */
  verify(message, signature) {
    return ed25519VerifyStrict(this.ed25519, message, signature);
  }
}

/**
 * The fingerprint of raw public keys, without validating them (a member entry's keys are validated when first
 * used, spec/bundle.md#member-tree). `xwing` is null or empty when absent.
 */
export function fingerprintOf({ id, x25519, ed25519, xwing }) {
  const data = new ByteWriter()
    .bytes(FINGERPRINT)
    .str8(id)
    .bytes(x25519)
    .bytes(ed25519)
    .bytes16(xwing ?? new Uint8Array(0))
    .finish();
  return sha256(data);
}

export function safetyNumber(fingerprint) {
  const groups = [];
  for (let i = 0; i < 30; i += 5) {
    let n = 0n;
    for (let j = i; j < i + 5; j++) n = (n << 8n) | BigInt(fingerprint[j]);
    groups.push((n % 100000n).toString().padStart(5, '0'));
  }
  return groups.join(' ');
}

/** A private identity: id, X25519 private key, Ed25519 seed and an optional X-Wing seed. */
export class Identity {
  #x25519;
  #ed25519;
  #xwing;

  constructor(id, x25519Private, ed25519Seed, xwingSeed, publicIdentity) {
    this.id = id;
    this.#x25519 = x25519Private;
    this.#ed25519 = ed25519Seed;
    this.#xwing = xwingSeed;
    this.public = publicIdentity;
    Object.freeze(this);
  }

  /** From raw private keys (32 bytes each). Async because the X-Wing public key is derived. */
  static async fromKeys({ id, x25519, ed25519, xwing = null }) {
    checkId(id, 'id');
    for (const [name, k] of [['x25519', x25519], ['ed25519', ed25519], ['xwing', xwing]]) {
      if (k !== null && (!(k instanceof Uint8Array) || k.length !== 32)) throw new FormatError(name, 'expected 32 bytes');
    }
    const pub = new PublicIdentity({
      id,
      x25519: x25519PublicFromPrivate(x25519),
      ed25519: ed25519PublicFromSeed(ed25519),
      xwing: xwing ? await xwingPublicFromSeed(xwing) : null,
    });
    return new Identity(id, Uint8Array.from(x25519), Uint8Array.from(ed25519), xwing ? Uint8Array.from(xwing) : null, pub);
  }

  static async generate(id, { pq = false } = {}) {
    return Identity.fromKeys({ id, x25519: randomBytes(32), ed25519: randomBytes(32), xwing: pq ? randomBytes(32) : null });
  }

  get fingerprint() {
    return this.public.fingerprint;
  }

  sign(message) {
    return ed25519Sign(this.#ed25519, message);
  }

  /** Private key material for the HPKE layer; not for display. */
  get x25519Private() {
    return Uint8Array.from(this.#x25519);
  }
  get xwingSeed() {
    return this.#xwing ? Uint8Array.from(this.#xwing) : null;
  }
  get ed25519Seed() {
    return Uint8Array.from(this.#ed25519);
  }

  toString() {
    return `Identity(${this.id}, fingerprint ${toHex(this.fingerprint)})`;
  }
  [Symbol.for('nodejs.util.inspect.custom')]() {
    return this.toString();
  }
  toJSON() {
    return this.toString();
  }
}

export { concat };
