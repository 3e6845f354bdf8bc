// History bundles (spec/history.md): sharing past epoch keys with one joiner on purpose.
import { ByteReader, ByteWriter, checkEpoch, compareAscii, concat, constantTimeEqual } from './encoding.mjs';
import { FormatError } from './errors.mjs';
import { MAGIC_HISTORY, SIG_HISTORY } from './labels.mjs';
import { readProof, writeProof } from './bundle.mjs';
import { suiteById } from './suites.mjs';
import { INFO_HISTORY_WRAP, KEM_XWING, _wrapRoomKey, kemById, toKem } from './wrap.mjs';

export const MAX_ENTRIES = 4096;
export const MAX_ROSTER = 100000;
export const MAX_HISTORY = 64 * 1024 * 1024;

export function historySignedBytes(bodyBytes) {
  return concat(SIG_HISTORY, bodyBytes);
}

/** history = MAGIC_HISTORY || body || signature || proof */
export function parseHistory(bytes) {
  if (bytes.length > MAX_HISTORY) throw new FormatError('history', 'larger than 64 MiB');
  const r = new ByteReader(bytes);
  if (!constantTimeEqual(r.take(4, 'magic'), MAGIC_HISTORY)) throw new FormatError('magic', 'not a version-1 history bundle');
  const start = r.pos;
  const roomId = r.id('room_id');
  const sharerId = r.id('sharer_id');
  const recipientId = r.id('recipient_id');
  const anchorEpoch = checkEpoch(r.u32('anchor_epoch'), 'anchor_epoch');
  const issuedAt = r.u64('issued_at');
  const kem = kemById(r.u8('kem'), 'kem');
  const count = r.u32('entry_count');
  if (count < 1 || count > MAX_ENTRIES) throw new FormatError('entry_count', 'must be 1 to 4096');
  const entries = [];
  for (let i = 0; i < count; i++) {
    const epoch = checkEpoch(r.u32('entry.epoch'), 'entry.epoch');
    if (epoch >= anchorEpoch) throw new FormatError('entry.epoch', 'not below the anchor epoch');
    if (i > 0 && epoch <= entries[i - 1].epoch) throw new FormatError('entry.epoch', 'epochs not strictly increasing');
    const suite = suiteById(r.u8('entry.suite'), 'entry.suite');
    const keyId = Uint8Array.from(r.take(32, 'entry.key_id'));
    const wrapped = r.bytes16('entry.wrapped');
    if (wrapped.length !== kem.wrappedLength) throw new FormatError('entry.wrapped', `a ${kem.name} wrapped key is ${kem.wrappedLength} bytes`);
    const rosterCount = r.u32('entry.roster_count');
    if (rosterCount > MAX_ROSTER) throw new FormatError('entry.roster_count', 'more than 100,000 members');
    const roster = [];
    for (let j = 0; j < rosterCount; j++) {
      const id = r.id('entry.roster.id');
      const fingerprint = Uint8Array.from(r.take(32, 'entry.roster.fingerprint'));
      if (j > 0 && compareAscii(roster[j - 1][0], id) >= 0) throw new FormatError('entry.roster', 'not strictly sorted by id');
      roster.push([id, fingerprint]);
    }
    entries.push({ epoch, suite, keyId, wrapped: Uint8Array.from(wrapped), roster });
  }
  const bodyBytes = bytes.slice(start, r.pos);
  const signature = Uint8Array.from(r.take(64, 'signature'));
  const proof = readProof(r);
  r.end('history');
  return { kind: 'history', roomId, sharerId, recipientId, anchorEpoch, issuedAt, kem, entries, bodyBytes, signature, proof };
}

/**
 * Build and sign a history bundle, wrapping with fresh ephemeral keys.
 * sharer: Identity; recipient: PublicIdentity; entries: [{roomKey, roster: [[id, fingerprint], ...]}]
 * (roomKey.roomId must be roomId); proof: the sharer's membership proof in the anchor epoch, or null.
 */
export async function buildHistory({ sharer, recipient, roomId, anchorEpoch, issuedAt, kem, entries, proof = null }) {
  return _buildHistory({ sharer, recipient, roomId, anchorEpoch, issuedAt, kem, entries: entries.map(({ roomKey, roster }) => ({ roomKey, roster })), proof });
}

/** PRIVATE test-vector hook (not exported from index.mjs): entries may carry `ephemeral` wrap randomness. */
export async function _buildHistory({ sharer, recipient, roomId, anchorEpoch, issuedAt, kem, entries, proof = null }) {
  kem = toKem(kem);
  if (entries.length < 1 || entries.length > MAX_ENTRIES) throw new FormatError('entries', 'must be 1 to 4096');
  const sortedEntries = [...entries].sort((a, b) => a.roomKey.epoch - b.roomKey.epoch);
  const w = new ByteWriter()
    .str8(roomId)
    .str8(sharer.id)
    .str8(recipient.id)
    .u32(checkEpoch(anchorEpoch, 'anchor_epoch'))
    .u64(issuedAt)
    .u8(kem.id)
    .u32(sortedEntries.length);
  let previous = 0;
  for (const e of sortedEntries) {
    const k = e.roomKey;
    if (k.roomId !== roomId) throw new FormatError('entries', 'an entry of another room');
    if (k.epoch <= previous || k.epoch >= anchorEpoch) throw new FormatError('entries', 'epochs must increase and stay below the anchor');
    previous = k.epoch;
    const recipientPublic = kem.id === KEM_XWING.id ? recipient.xwing : recipient.x25519;
    if (!recipientPublic) throw new FormatError('recipient', 'no X-Wing key');
    const wrapped = await _wrapRoomKey({ kem, label: INFO_HISTORY_WRAP, roomKey: k, recipientId: recipient.id, recipientPublic }, e.ephemeral ?? null);
    const roster = [...e.roster].sort((a, b) => compareAscii(a[0], b[0]));
    w.u32(k.epoch).u8(k.suite.id).bytes(k.keyId).bytes16(wrapped).u32(roster.length);
    for (const [id, fp] of roster) w.str8(id).bytes(fp);
  }
  const body = w.finish();
  const signature = sharer.sign(historySignedBytes(body));
  const out = new ByteWriter().bytes(MAGIC_HISTORY).bytes(body).bytes(signature);
  writeProof(out, proof);
  return out.finish();
}
