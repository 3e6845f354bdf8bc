// Backing up and sharing with a sibling (spec/backup.md#backing-up, #sibling-sharing): the entries of held epochs
// (the announcement as accepted, or the bare header of an epoch learnt from history; the key when held) sealed in
// chunks of at most 4096 entries to the backup key or to a sibling device.
import { compareAscii } from './encoding.mjs';
import { encodeAnnouncement } from './bundle.mjs';
import { ENTRY_CHAINED, ENTRY_SIGNED, MAX_ENTRIES, RECIPIENT_BACKUP_KEY, RECIPIENT_SIBLING, buildChunk } from './backupchunk.mjs';

/** The entry of a held epoch record. */
export function entryOf(roomId, epoch, rec) {
  const signed = !!rec.signature;
  return {
    roomId, epoch, kind: signed ? ENTRY_SIGNED : ENTRY_CHAINED,
    data: signed ? encodeAnnouncement(rec) : rec.header.bytes, key: rec.roomKey ? rec.roomKey.secret : null,
  };
}

/**
 * Entries for held epochs: rooms is an iterable of [roomId, {epochs: Map}]; `skip(roomId, epoch, hasKey)` says what
 * was already backed up with what it holds now. Sorted by room id, then epoch.
 */
export function heldEntries(rooms, skip = () => false) {
  const out = [];
  for (const [roomId, room] of [...rooms].sort((a, b) => compareAscii(a[0], b[0]))) {
    for (const epoch of [...room.epochs.keys()].sort((a, b) => a - b)) {
      const rec = room.epochs.get(epoch);
      if (!skip(roomId, epoch, !!rec.roomKey)) out.push(entryOf(roomId, epoch, rec));
    }
  }
  return out;
}

/**
 * Seal entries in chunks of at most 4096, numbered from `seq`. recipient: {kind: 1, publicKey, keyId} (the backup
 * key) or {kind: 2, identity} (a sibling). Returns the chunks (bytes).
 */
export async function sealChunks({ userId, uploader, seq, recipient, entries }) {
  const chunks = [];
  for (let i = 0; i < entries.length; i += MAX_ENTRIES) {
    chunks.push(await buildChunk({ userId, uploader, seq: seq + chunks.length, recipient, entries: entries.slice(i, i + MAX_ENTRIES) }));
  }
  return chunks;
}

export { RECIPIENT_BACKUP_KEY, RECIPIENT_SIBLING };
