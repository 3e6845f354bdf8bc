// Ed25519 and X25519 with the validation rules of spec/identity.md#key-validation and the strict,
// cofactorless verification of spec/message.md#signature (libsodium's rules, not ZIP 215).
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE } from '@noble/curves/utils.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { concat, constantTimeEqual } from './encoding.mjs';
import { BadKeyError } from './errors.mjs';

const Point = ed25519.Point;
const L = Point.Fn.ORDER;
const P = 2n ** 255n - 19n;

// ---------------------------------------------------------------- Ed25519

export function ed25519PublicFromSeed(seed) {
  return ed25519.getPublicKey(seed);
}

export function ed25519Sign(seed, message) {
  return ed25519.sign(message, seed);
}

/**
 * libsodium's crypto_core_ed25519_is_valid_point: a canonical encoding (y < p, no "negative zero"),
 * on the curve, not of small order, in the prime-order subgroup. Throws E_BAD_KEY otherwise.
 */
export function validateEd25519Public(pub) {
  let A;
  try {
    A = Point.fromBytes(pub, false);
  } catch {
    throw new BadKeyError('invalid Ed25519 public key');
  }
  if (A.isSmallOrder() || !A.isTorsionFree()) throw new BadKeyError('invalid Ed25519 public key');
  return pub;
}

/**
 * RFC 8032 section 5.1.7 verification with the cofactorless equation [S]B = R + [k]A, rejecting
 * S >= L, a non-canonical or small-order R, and a non-canonical or small-order A. `pub` must also have
 * passed validateEd25519Public (the prime-order subgroup check, done once when an identity is imported).
 *
 * These checks are made here, explicitly, because the platform APIs do not make them (spec/message.md#signature,
 * measured with the vectors msg-signature-*): WebCrypto's Ed25519 verify in Node 20 and Chromium 156 accepts R = the
 * identity with S = k * a, and small-order, non-canonical and mixed-order keys; @noble/curves' default
 * `ed25519.verify` (zip215: true) also accepts non-canonical encodings of R. Do not replace this function by either.
 */
export function ed25519VerifyStrict(pub, message, signature) {
  if (signature.length !== 64 || pub.length !== 32) return false;
  const Rb = signature.subarray(0, 32);
  const S = bytesToNumberLE(signature.subarray(32));
  if (S >= L) return false; // a non-reduced scalar: S + L satisfies the same equation
  let R;
  let A;
  try {
    // zip215 = false: y < p and no x = 0 with the sign bit set (canonical encodings only).
    R = Point.fromBytes(Rb, false);
    A = Point.fromBytes(pub, false);
  } catch {
    return false;
  }
  if (R.isSmallOrder() || A.isSmallOrder()) return false; // R = identity, S = k * a satisfies the equation
  const k = bytesToNumberLE(sha512(concat(Rb, pub, message))) % L;
  // [S]B - [k]A must encode to exactly R's bytes (which also rejects any non-canonical R).
  const check = Point.BASE.multiplyUnsafe(S).subtract(A.multiplyUnsafe(k));
  return constantTimeEqual(check.toBytes(), Rb);
}

// ---------------------------------------------------------------- X25519

export function x25519PublicFromPrivate(priv) {
  return x25519.getPublicKey(priv);
}

// The clamped scalar 48 11 11 ... 11 51 of spec/identity.md: X25519(s, u) is all zero exactly when
// u has order dividing 8.
const SMALL_ORDER_PROBE = new Uint8Array(32).fill(0x11);
SMALL_ORDER_PROBE[0] = 0x48;
SMALL_ORDER_PROBE[31] = 0x51;

/** Reject a non-canonical (>= 2^255 - 19, top bit included) or small-order X25519 public key with E_BAD_KEY. */
export function validateX25519Public(pub) {
  if (pub.length !== 32) throw new BadKeyError('invalid X25519 public key');
  if (bytesToNumberLE(pub) >= P) throw new BadKeyError('non-canonical X25519 public key');
  let out;
  try {
    out = x25519.scalarMult(SMALL_ORDER_PROBE, pub);
  } catch {
    throw new BadKeyError('small-order X25519 public key');
  }
  if (out.every((b) => b === 0)) throw new BadKeyError('small-order X25519 public key');
  return pub;
}
