// Key backup chunks and sibling shares (spec/backup.md#chunk): strict parsing, building (HPKE single-shot seal to
// the backup key, X-Wing, or to a sibling's identity, classic X25519 or X-Wing), the uploader's signature and
// opening, and the entries of the plaintext.
import { ByteReader, ByteWriter, MAX_U32, concat, constantTimeEqual } from './encoding.mjs';
import { AuthError, FormatError } from './errors.mjs';
import { ed25519VerifyStrict, validateEd25519Public, validateX25519Public, x25519PublicFromPrivate } from './ed25519.mjs';
import { parseAnnouncement } from './bundle.mjs';
import { parseHeader } from './header.mjs';
import { fingerprintOf } from './identity.mjs';
import { INFO_BACKUP_WRAP, MAGIC_BACKUP, SIG_BACKUP_CHUNK } from './labels.mjs';
import { userOfDevice, checkUserId } from './userkey.mjs';
import { KEM_CLASSIC, KEM_XWING, hpkeSuite } from './wrap.mjs';
import { XWING_PUBLIC_LENGTH, validateXwingPublic } from './xwing.mjs';

export const MAX_CHUNK = 64 * 1024 * 1024;
export const MAX_ENTRIES = 4096;
export const MAX_ENTRY_DATA = 65536;
export const RECIPIENT_BACKUP_KEY = 1;
export const RECIPIENT_SIBLING = 2;
export const ENTRY_SIGNED = 1;
export const ENTRY_CHAINED = 2;
const TAG = 16;

/**
 * Parse a chunk strictly (E_FORMAT naming the field; the uploader's keys E_BAD_KEY after every format rule).
 * Returns {bytes, userId, uploader: {id, x25519, ed25519, xwing, fingerprint}, seq, recipient ({kind: 1, keyId} or
 * {kind: 2, deviceId, fingerprint}), kem, enc, ciphertext, info (the HPKE info), signed, signature}.
 */
export function parseChunk(bytes) {
  if (!(bytes instanceof Uint8Array)) throw new FormatError('chunk', 'not bytes');
  if (bytes.length > MAX_CHUNK) throw new FormatError('chunk', 'larger than 64 MiB');
  const r = new ByteReader(bytes);
  if (!constantTimeEqual(r.take(4, 'magic'), MAGIC_BACKUP)) throw new FormatError('magic', 'not a version-3 backup chunk');
  const userId = checkUserId(r.id('user_id'), 'user_id');
  const id = r.id('uploader_id');
  if (userOfDevice(id, 'uploader_id') !== userId) throw new FormatError('uploader_id', `not a device of ${userId}`);
  const x25519 = Uint8Array.from(r.take(32, 'uploader.x25519'));
  const ed25519 = Uint8Array.from(r.take(32, 'uploader.ed25519'));
  const xwing = Uint8Array.from(r.bytes16('uploader.xwing_public'));
  if (xwing.length !== 0 && xwing.length !== XWING_PUBLIC_LENGTH) throw new FormatError('uploader.xwing_public', 'must be 0 or 1216 bytes');
  const seq = r.u32('seq');
  if (seq === 0) throw new FormatError('seq', 'a chunk number is 1 to 2^32 - 1');
  const kind = r.u8('recipient_kind');
  let recipient;
  if (kind === RECIPIENT_BACKUP_KEY) recipient = { kind, keyId: Uint8Array.from(r.take(32, 'backup_key_id')) };
  else if (kind === RECIPIENT_SIBLING) {
    const deviceId = r.id('device_id');
    if (userOfDevice(deviceId, 'device_id') !== userId) throw new FormatError('device_id', `not a device of ${userId}`);
    recipient = { kind, deviceId, fingerprint: Uint8Array.from(r.take(32, 'fingerprint')) };
  } else throw new FormatError('recipient_kind', 'unknown recipient kind');
  const kemId = r.u8('kem');
  const kem = kemId === KEM_XWING.id ? KEM_XWING : kemId === KEM_CLASSIC.id ? KEM_CLASSIC : null;
  if (!kem) throw new FormatError('kem', 'unknown KEM');
  if (kind === RECIPIENT_BACKUP_KEY && kem !== KEM_XWING) throw new FormatError('kem', 'the backup key is X-Wing');
  const infoEnd = r.pos;
  const sealedLength = r.u32('sealed');
  const sealed = r.take(sealedLength, 'sealed');
  if (sealed.length < kem.encLength + TAG) throw new FormatError('sealed', 'shorter than enc and a tag');
  const signedLength = r.pos;
  const signature = Uint8Array.from(r.take(64, 'signature'));
  r.end('chunk');
  validateX25519Public(x25519);
  validateEd25519Public(ed25519);
  if (xwing.length) validateXwingPublic(xwing);
  const copy = Uint8Array.from(bytes);
  return {
    bytes: copy, userId, uploader: { id, x25519, ed25519, xwing, fingerprint: fingerprintOf({ id, x25519, ed25519, xwing }) },
    seq, recipient, kem, enc: Uint8Array.from(sealed.subarray(0, kem.encLength)), ciphertext: Uint8Array.from(sealed.subarray(kem.encLength)),
    info: concat(INFO_BACKUP_WRAP, copy.subarray(0, infoEnd)), signed: copy.subarray(0, signedLength), signature,
  };
}

/** The uploader's signature (E_AUTH). */
export function verifyChunkSignature(c) {
  if (!ed25519VerifyStrict(c.uploader.ed25519, concat(SIG_BACKUP_CHUNK, c.signed), c.signature)) throw new AuthError();
}

/** HPKE single-shot open with the recipient's private key (32-byte X25519 key or X-Wing seed): E_AUTH on failure. */
export async function openChunk(c, recipientPrivate) {
  if (!recipientPrivate) throw new AuthError('no private key for this KEM');
  const suite = hpkeSuite(c.kem);
  try {
    const recipientKey = await suite.kem.deserializePrivateKey(Uint8Array.from(recipientPrivate));
    return new Uint8Array(await suite.open({ recipientKey, enc: c.enc, info: c.info }, c.ciphertext, new Uint8Array(0)));
  } catch {
    throw new AuthError();
  }
}

/**
 * Parse the plaintext: [{roomId, epoch, kind (1 signed, 2 chained), data, announcement | header, key (32 bytes or
 * null)}]. The data is parsed here (an announcement or a bare header): any malformed field is E_FORMAT naming it.
 */
export function parseEntries(bytes) {
  const r = new ByteReader(bytes);
  const count = r.u32('entries.count');
  if (count < 1 || count > MAX_ENTRIES) throw new FormatError('entries.count', 'must be 1 to 4096');
  const out = [];
  for (let i = 0; i < count; i++) {
    const roomId = r.id('entry.room_id');
    const epoch = r.u32('entry.epoch');
    if (epoch === 0) throw new FormatError('entry.epoch', 'must be 1 to 2^32 - 1');
    const kind = r.u8('entry.kind');
    if (kind !== ENTRY_SIGNED && kind !== ENTRY_CHAINED) throw new FormatError('entry.kind', 'must be 1 (signed) or 2 (chained)');
    const len = r.u32('entry.data');
    if (len > MAX_ENTRY_DATA) throw new FormatError('entry.data', 'longer than 65536 bytes');
    const data = Uint8Array.from(r.take(len, 'entry.data'));
    const hasKey = r.u8('entry.has_key');
    if (hasKey > 1) throw new FormatError('entry.has_key', 'must be 0 or 1');
    const key = hasKey ? Uint8Array.from(r.take(32, 'entry.key')) : null;
    const e = { roomId, epoch, kind, data, key };
    if (kind === ENTRY_SIGNED) {
      e.announcement = parseAnnouncement(data);
      e.header = e.announcement.header;
    } else e.header = parseHeader(data, 'entry.header');
    out.push(e);
  }
  r.end('entries');
  return out;
}

/** entries = u32(count) || count * entry; each {roomId, epoch, kind, data, key}. */
export function encodeEntries(entries) {
  if (entries.length < 1 || entries.length > MAX_ENTRIES) throw new FormatError('entries.count', 'must be 1 to 4096');
  const w = new ByteWriter().u32(entries.length);
  for (const e of entries) {
    if (e.data.length > MAX_ENTRY_DATA) throw new FormatError('entry.data', 'longer than 65536 bytes');
    w.str8(e.roomId).u32(e.epoch).u8(e.kind).u32(e.data.length).bytes(e.data);
    if (e.key) w.u8(1).bytes(e.key);
    else w.u8(0);
  }
  return w.finish();
}

/**
 * Build and sign a chunk. uploader: the uploading device's Identity; recipient: {kind: 1, publicKey (X-Wing backup
 * key), keyId} or {kind: 2, identity (the sibling's PublicIdentity)}; entries as encodeEntries takes them.
 * `ekm`: fixed encapsulation randomness (tests only). Returns the bytes, parsed again strictly.
 */
export async function buildChunk({ userId, uploader, seq, recipient, entries }, ekm = null) {
  if (!Number.isInteger(seq) || seq < 1 || seq > MAX_U32) throw new FormatError('seq', 'a chunk number is 1 to 2^32 - 1');
  const pub = uploader.public;
  const w = new ByteWriter().bytes(MAGIC_BACKUP).str8(userId).str8(pub.id).bytes(pub.x25519).bytes(pub.ed25519)
    .bytes16(pub.xwing ?? new Uint8Array(0)).u32(seq);
  let kem;
  let recipientPublic;
  if (recipient.kind === RECIPIENT_BACKUP_KEY) {
    w.u8(RECIPIENT_BACKUP_KEY).bytes(recipient.keyId);
    kem = KEM_XWING;
    recipientPublic = recipient.publicKey;
  } else {
    const sib = recipient.identity;
    w.u8(RECIPIENT_SIBLING).str8(sib.id).bytes(sib.fingerprint);
    kem = sib.xwing && sib.xwing.length ? KEM_XWING : KEM_CLASSIC;
    recipientPublic = kem === KEM_XWING ? sib.xwing : sib.x25519;
  }
  w.u8(kem.id);
  const head = w.finish();
  const suite = hpkeSuite(kem);
  const params = { recipientPublicKey: await suite.kem.deserializePublicKey(Uint8Array.from(recipientPublic)), info: concat(INFO_BACKUP_WRAP, head) };
  if (ekm && kem === KEM_CLASSIC) {
    params.ekm = {
      privateKey: await suite.kem.deserializePrivateKey(Uint8Array.from(ekm)),
      publicKey: await suite.kem.deserializePublicKey(x25519PublicFromPrivate(ekm)),
    };
  } else if (ekm) params.ekm = Uint8Array.from(ekm);
  const { enc, ct } = await suite.seal(params, encodeEntries(entries), new Uint8Array(0));
  const sealed = concat(new Uint8Array(enc), new Uint8Array(ct));
  const signed = new ByteWriter().bytes(head).u32(sealed.length).bytes(sealed).finish();
  const bytes = concat(signed, uploader.sign(concat(SIG_BACKUP_CHUNK, signed)));
  parseChunk(bytes);
  return bytes;
}
