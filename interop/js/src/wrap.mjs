// Wrapping a room key to a participant with RFC 9180 HPKE, base mode, single-shot (spec/wrap.md).
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';
import { x25519PublicFromPrivate } from './ed25519.mjs';
import { ByteWriter } from './encoding.mjs';
import { AuthError, FormatError } from './errors.mjs';
import { INFO_HISTORY_WRAP, INFO_WRAP } from './labels.mjs';
import { RoomKey } from './keys.mjs';
import { xwingKem } from './xwing.mjs';

export const KEM_CLASSIC = Object.freeze({ id: 0x01, name: 'classic', encLength: 32, wrappedLength: 80 });
export const KEM_XWING = Object.freeze({ id: 0x02, name: 'xwing', encLength: 1120, wrappedLength: 1168 });
export const KEMS = [KEM_CLASSIC, KEM_XWING];

export function kemById(id, field = 'kem') {
  const k = KEMS.find((x) => x.id === id);
  if (!k) throw new FormatError(field, 'unknown KEM');
  return k;
}

export function toKem(k, field = 'kem') {
  if (k === KEM_CLASSIC || k === KEM_XWING) return k;
  return kemById(k, field);
}

let classicSuite;
let xwingSuite;
export function hpkeSuite(kem) {
  if (kem.id === KEM_CLASSIC.id) {
    classicSuite ??= new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes256Gcm() });
    return classicSuite;
  }
  xwingSuite ??= new CipherSuite({ kem: xwingKem(), kdf: new HkdfSha256(), aead: new Aes256Gcm() });
  return xwingSuite;
}

export const LABELS = { wrap: INFO_WRAP, 'history-wrap': INFO_HISTORY_WRAP };
export { INFO_WRAP, INFO_HISTORY_WRAP };

/** info = label || u8(kem) || u8(suite) || str8(room_id) || u32(epoch) || key_id || str8(recipient_id) */
export function wrapInfo(label, kem, suite, roomId, epoch, keyId, recipientId) {
  return new ByteWriter()
    .bytes(label)
    .u8(kem.id)
    .u8(suite.id)
    .str8(roomId)
    .u32(epoch)
    .bytes(keyId)
    .str8(recipientId)
    .finish();
}

const u8 = (ab) => new Uint8Array(ab);

/**
 * wrapped = enc || ct with (enc, ct) = SealBase(pkR, info, "", room key), with a fresh ephemeral key.
 * `recipientPublic`: 32-byte X25519 (classic) or 1216-byte X-Wing public key.
 */
export async function wrapRoomKey({ kem, label = INFO_WRAP, roomKey, recipientId, recipientPublic }) {
  return _wrapRoomKey({ kem, label, roomKey, recipientId, recipientPublic }, null);
}

/**
 * PRIVATE test-vector hook (not exported from index.mjs): wrap with given encapsulation randomness,
 * the 32-byte X25519 ephemeral private key (classic) or 64 bytes for X-Wing; null draws fresh randomness.
 */
export async function _wrapRoomKey({ kem, label = INFO_WRAP, roomKey, recipientId, recipientPublic }, ephemeral) {
  kem = toKem(kem);
  const suite = hpkeSuite(kem);
  const info = wrapInfo(label, kem, roomKey.suite, roomKey.roomId, roomKey.epoch, roomKey.keyId, recipientId);
  const recipientPublicKey = await suite.kem.deserializePublicKey(Uint8Array.from(recipientPublic));
  const params = { recipientPublicKey, info };
  if (ephemeral) {
    if (kem.id === KEM_CLASSIC.id) {
      params.ekm = {
        privateKey: await suite.kem.deserializePrivateKey(Uint8Array.from(ephemeral)),
        publicKey: await suite.kem.deserializePublicKey(x25519PublicFromPrivate(ephemeral)),
      };
    } else {
      params.ekm = Uint8Array.from(ephemeral);
    }
  }
  const { ct, enc } = await suite.seal(params, roomKey.secret, new Uint8Array(0));
  const out = new Uint8Array(kem.wrappedLength);
  out.set(u8(enc), 0);
  out.set(u8(ct), kem.encLength);
  if (enc.byteLength !== kem.encLength || ct.byteLength !== 48) throw new Error('unexpected HPKE output size');
  return out;
}

/**
 * Unwrap: room_key = OpenBase(enc, skR, info, "", ct), then check its key id against `keyId`.
 * Wrong length for the KEM: E_FORMAT; any other failure: E_AUTH.
 * `recipientPrivate`: 32-byte X25519 private key (classic) or 32-byte X-Wing seed.
 */
export async function unwrapRoomKey({ kem, label = INFO_WRAP, suite: msgSuite, roomId, epoch, keyId, recipientId, recipientPrivate, wrapped }) {
  kem = toKem(kem);
  if (wrapped.length !== kem.wrappedLength) throw new FormatError('wrapped', `a ${kem.name} wrapped key is ${kem.wrappedLength} bytes`);
  if (!recipientPrivate) throw new AuthError();
  const suite = hpkeSuite(kem);
  const info = wrapInfo(label, kem, msgSuite, roomId, epoch, keyId, recipientId);
  let secret;
  try {
    const recipientKey = await suite.kem.deserializePrivateKey(Uint8Array.from(recipientPrivate));
    const pt = await suite.open(
      { recipientKey, enc: wrapped.slice(0, kem.encLength), info },
      wrapped.slice(kem.encLength),
      new Uint8Array(0),
    );
    secret = u8(pt);
  } catch {
    throw new AuthError();
  }
  if (secret.length !== 32) throw new AuthError();
  const key = new RoomKey(secret, { roomId, epoch, suite: msgSuite });
  if (!key.hasKeyId(keyId)) throw new AuthError();
  return key;
}
