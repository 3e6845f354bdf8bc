// History bundles of group state v3 (spec/history.md#format): past epochs shared with one joiner, each entry
// carrying its original signed header. Strict parsing and building; verification is in chain.mjs.
import { ByteReader, ByteWriter, checkEpoch, compareAscii, concat, constantTimeEqual } from './encoding.mjs';
import { FormatError } from './errors.mjs';
import { MAX_ISSUED_AT, parseHeader } from './header.mjs';
import { MAGIC_HISTORY, SIG_HISTORY } from './labels.mjs';
import { keysOf, readKeys, readProof, writeKeys, writeProof } from './memberproof.mjs';
import { INFO_HISTORY_WRAP, KEM_XWING, _wrapRoomKey, kemById, toKem } from './wrap.mjs';
import { RoomKey } from './keys.mjs';

export const MAX_ENTRIES = 4096;
export const MAX_HISTORY = 64 * 1024 * 1024;

export function historySignedBytes(bodyBytes) {
  return concat(SIG_HISTORY, bodyBytes);
}

function readEntry(r, roomId, kem, i) {
  const header = parseHeader(r.bytes16('entry.header'), 'entry.header');
  if (header.roomId !== roomId) throw new FormatError('entry.header', 'an entry of another room');
  const wrapped = Uint8Array.from(r.bytes16('entry.wrapped'));
  if (wrapped.length !== 0 && wrapped.length !== kem.wrappedLength) {
    throw new FormatError('entry.wrapped', `a ${kem.name} wrapped key is ${kem.wrappedLength} bytes`);
  }
  const rosterCount = r.u32('entry.roster_count');
  if (rosterCount !== (wrapped.length === 0 ? 0 : header.memberCount)) {
    throw new FormatError('entry.roster_count', wrapped.length === 0 ? 'must be 0 for a link-only entry' : "must be the header's member_count");
  }
  const roster = [];
  for (let j = 0; j < rosterCount; j++) {
    const m = { ...readKeys(r, 'entry.roster', header.kem), wrappedDigest: Uint8Array.from(r.take(32, 'entry.roster.wrapped_digest')) };
    if (j > 0 && compareAscii(roster[j - 1].id, m.id) >= 0) throw new FormatError('entry.roster', 'not strictly sorted by id');
    roster.push(m);
  }
  return { header, wrapped: wrapped.length ? wrapped : null, roster, index: i };
}

/** history = MAGIC_HISTORY || body || signature || sharer_proof */
export function parseHistory(bytes) {
  if (bytes.length > MAX_HISTORY) throw new FormatError('history', 'larger than 64 MiB');
  const r = new ByteReader(bytes);
  const magic = r.take(4, 'magic');
  if (!constantTimeEqual(magic, MAGIC_HISTORY)) {
    const old = (magic[3] === 0x01 || magic[3] === 0x02) && magic[2] === 0x48;
    throw new FormatError('magic', old ? `a version-${magic[3]} history bundle: not supported` : 'not a version-3 history bundle');
  }
  const start = r.pos;
  const roomId = r.id('room_id');
  const sharerId = r.id('sharer_id');
  const recipientId = r.id('recipient_id');
  const anchorEpoch = checkEpoch(r.u32('anchor_epoch'), 'anchor_epoch');
  const issuedAt = r.u64('issued_at');
  if (issuedAt > MAX_ISSUED_AT) throw new FormatError('issued_at', 'past 9999-12-31T23:59:59Z');
  const kem = kemById(r.u8('kem'), 'kem');
  const count = r.u32('entry_count');
  if (count < 1 || count > MAX_ENTRIES) throw new FormatError('entry_count', 'must be 1 to 4096');
  const entries = [];
  for (let i = 0; i < count; i++) {
    const e = readEntry(r, roomId, kem, i);
    if (i > 0 && e.header.epoch !== entries[i - 1].header.epoch + 1) throw new FormatError('entry.header', 'entry epochs not consecutive');
    entries.push(e);
  }
  if (entries[count - 1].header.epoch !== anchorEpoch - 1) throw new FormatError('entry.header', 'the last entry is not anchor_epoch - 1');
  const bodyBytes = Uint8Array.from(bytes.subarray(start, r.pos));
  const signature = Uint8Array.from(r.take(64, 'signature'));
  const sharerProof = readProof(r, 'sharer_proof');
  if (sharerProof.id !== sharerId) throw new FormatError('sharer_proof.id', 'not sharer_id');
  r.end('history');
  return { kind: 'history', roomId, sharerId, recipientId, anchorEpoch, issuedAt, kem, entries, bodyBytes, signature, sharerProof };
}

/**
 * Build and sign a history bundle, wrapping with fresh ephemeral keys.
 * sharer: Identity; recipient: PublicIdentity; entries, consecutive and ending at anchorEpoch - 1:
 * [{header (parsed), secret: 32 bytes or null (link-only), roster: [{identity: PublicIdentity | key record, wrappedDigest, listDigest (optional, with identity)}]}];
 * sharerProof: the sharer's member proof of the anchor epoch.
 */
export async function buildHistory({ sharer, recipient, roomId, anchorEpoch, issuedAt, kem, entries, sharerProof }) {
  return _buildHistory({ sharer, recipient, roomId, anchorEpoch, issuedAt, kem, sharerProof, entries: entries.map((e) => ({ ...e, ephemeral: null })) });
}

/** PRIVATE test-vector hook (not exported from index.mjs): entries may carry `ephemeral` wrap randomness. */
export async function _buildHistory({ sharer, recipient, roomId, anchorEpoch, issuedAt, kem, entries, sharerProof }) {
  kem = toKem(kem);
  if (entries.length < 1 || entries.length > MAX_ENTRIES) throw new FormatError('entries', 'must be 1 to 4096');
  const w = new ByteWriter().str8(roomId).str8(sharer.id).str8(recipient.id).u32(checkEpoch(anchorEpoch, 'anchor_epoch'))
    .u64(issuedAt).u8(kem.id).u32(entries.length);
  for (const e of entries) {
    const h = e.header;
    let wrapped = new Uint8Array(0);
    if (e.secret) {
      const roomKey = new RoomKey(e.secret, { roomId: h.roomId, epoch: h.epoch, suite: h.suite });
      const recipientPublic = kem.id === KEM_XWING.id ? recipient.xwing : recipient.x25519;
      if (!recipientPublic) throw new FormatError('recipient', 'no X-Wing key');
      wrapped = await _wrapRoomKey({ kem, label: INFO_HISTORY_WRAP, roomKey, recipientId: recipient.id, recipientPublic }, e.ephemeral ?? null);
    }
    const roster = e.secret ? [...e.roster].map((m) => ({ ...(m.identity ? keysOf(m.identity, m.listDigest) : m), wrappedDigest: m.wrappedDigest })) : [];
    roster.sort((a, b) => compareAscii(a.id, b.id));
    w.bytes16(h.bytes).bytes16(wrapped).u32(roster.length);
    for (const m of roster) writeKeys(w, m).bytes(m.wrappedDigest);
  }
  const body = w.finish();
  const signature = sharer.sign(historySignedBytes(body));
  const out = new ByteWriter().bytes(MAGIC_HISTORY).bytes(body).bytes(signature);
  const bytes = writeProof(out, sharerProof).finish();
  parseHistory(bytes); // every format rule (consecutive entries, roster counts, sharer proof id) is the parser's
  return bytes;
}
