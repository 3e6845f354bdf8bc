// X-Wing (MLKEM768-X25519, HPKE KEM 0x647A) keys: spec/wrap.md#x-wing-keys.
// Key generation, encapsulation and decapsulation come from @hpke/hybridkem-x-wing, which implements
// draft-connolly-cfrg-xwing-kem with the 32-byte seed private key and plugs into @hpke/core.
import { XWing } from '@hpke/hybridkem-x-wing';
import { BadKeyError } from './errors.mjs';
import { validateX25519Public } from './ed25519.mjs';

export const XWING_PUBLIC_LENGTH = 1216;
export const XWING_SEED_LENGTH = 32;
export const MLKEM768_EK_LENGTH = 1184;
const Q = 3329;

let kem;
export function xwingKem() {
  if (!kem) kem = new XWing();
  return kem;
}

/** The 1216-byte X-Wing public key of a 32-byte seed. */
export async function xwingPublicFromSeed(seed) {
  const k = xwingKem();
  const pair = await k.generateKeyPairDerand(Uint8Array.from(seed));
  return new Uint8Array(await k.serializePublicKey(pair.publicKey));
}

/**
 * Validate an X-Wing public key: the ML-KEM-768 encapsulation key passes the FIPS 203 modulus check
 * (every 12-bit coefficient of its 1152-byte t-hat below q = 3329) and the X25519 part passes the
 * X25519 checks. Throws E_BAD_KEY.
 */
export function validateXwingPublic(pub) {
  if (pub.length !== XWING_PUBLIC_LENGTH) throw new BadKeyError('invalid X-Wing public key');
  for (let i = 0; i < 1152; i += 3) {
    const b0 = pub[i];
    const b1 = pub[i + 1];
    const b2 = pub[i + 2];
    const d1 = b0 | ((b1 & 0x0f) << 8);
    const d2 = (b1 >> 4) | (b2 << 4);
    if (d1 >= Q || d2 >= Q) throw new BadKeyError('ML-KEM-768 key fails the modulus check');
  }
  validateX25519Public(pub.subarray(MLKEM768_EK_LENGTH));
  return pub;
}
