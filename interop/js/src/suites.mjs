// Message suites (spec/keys.md#suites) and their AEADs.
import { gcm } from '@noble/ciphers/aes.js';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { AuthError, FormatError } from './errors.mjs';

export const A256GCM = Object.freeze({ id: 0x01, name: 'A256GCM', keyLength: 32, nonceLength: 12, tagLength: 16 });
export const XC20P = Object.freeze({ id: 0x02, name: 'XC20P', keyLength: 32, nonceLength: 24, tagLength: 16 });
export const SUITES = [A256GCM, XC20P];
export const TAG_LENGTH = 16;

export function suiteById(id, field = 'suite') {
  const s = SUITES.find((x) => x.id === id);
  if (!s) throw new FormatError(field, 'unknown suite');
  return s;
}

export function suiteByName(name, field = 'suite') {
  const s = SUITES.find((x) => x.name === name);
  if (!s) throw new FormatError(field, 'unknown suite');
  return s;
}

/** A suite given as a suite object, a wire id or a JSON name. */
export function toSuite(s, field = 'suite') {
  if (s === A256GCM || s === XC20P) return s;
  if (typeof s === 'number') return suiteById(s, field);
  return suiteByName(s, field);
}

function cipher(suite, key, nonce, aad) {
  if (key.length !== 32) throw new TypeError('AEAD key must be 32 bytes');
  if (nonce.length !== suite.nonceLength) throw new TypeError('bad nonce length for the suite');
  const ad = aad && aad.length ? aad : undefined;
  return suite.id === A256GCM.id ? gcm(key, nonce, ad) : xchacha20poly1305(key, nonce, ad);
}

export function aeadEncrypt(suite, key, nonce, plaintext, aad) {
  return cipher(suite, key, nonce, aad).encrypt(plaintext);
}

/** Decrypt and authenticate; any failure is the opaque E_AUTH. */
export function aeadDecrypt(suite, key, nonce, ciphertext, aad) {
  if (ciphertext.length < TAG_LENGTH) throw new AuthError();
  try {
    return cipher(suite, key, nonce, aad).decrypt(ciphertext);
  } catch {
    throw new AuthError();
  }
}
