// Restoring a key backup or accepting a sibling's share (spec/backup.md#restoring): the chunks' uploader, signature
// and ciphertext (steps 1 to 3, a refused chunk is reported and skipped), then per room the merge of entries, the
// newest contiguous run, its verification against the signed chain (steps 4 to 6) and the plan of its merge into the
// key ring's chain (step 7). Every check runs before anything changes: the key ring applies the plans.
import { compareAscii, constantTimeEqual } from './encoding.mjs';
import { AuthError, DomviaError, FormatError, ForkError, StaleError, UnauthorizedError } from './errors.mjs';
import { checkAuthority, checkDowngrade, checkSigned, sameBytes } from './chain.mjs';
import { epochHash, isAdmin } from './header.mjs';
import { RoomKey } from './keys.mjs';
import { namedLists } from './lists.mjs';
import { ENTRY_SIGNED, RECIPIENT_BACKUP_KEY, RECIPIENT_SIBLING, openChunk, parseChunk, parseEntries, verifyChunkSignature } from './backupchunk.mjs';
import { KEM_XWING } from './wrap.mjs';

/** Step 2: the uploader is on the list with its fingerprint, or revoked in it with seq <= backup_seq_limit. */
function checkUploader(list, c) {
  const { id, fingerprint } = c.uploader;
  if (list.devices.some((d) => d.id === id && constantTimeEqual(d.fingerprint, fingerprint))) return;
  const revoked = list.revoked.find((d) => d.id === id && constantTimeEqual(d.fingerprint, fingerprint));
  if (revoked && c.seq <= revoked.backupSeqLimit) return;
  throw new UnauthorizedError(`${id} may not write chunk ${c.seq}`);
}

/**
 * Steps 1 to 3 for each chunk (bytes). `owner`: P's Identity; `userId`: U; `list`: U's newest list; `backup`: the
 * backup key pair {seed, keyId} or null (a sibling share). Returns {entries, refusedChunks: ["uploader#seq: CODE" or
 * "(malformed)"]}, in input order.
 */
export async function readChunks(chunks, { owner, userId, list, backup }) {
  const entries = [];
  const refusedChunks = [];
  for (const bytes of chunks) {
    let c;
    try {
      c = parseChunk(bytes);
    } catch (e) {
      if (!(e instanceof DomviaError)) throw e;
      refusedChunks.push('(malformed)');
      continue;
    }
    try {
      if (c.userId !== userId) throw new FormatError('user_id', "not the owner's user");
      checkUploader(list, c);
      verifyChunkSignature(c);
      let key = null;
      if (c.recipient.kind === RECIPIENT_BACKUP_KEY) {
        if (backup && constantTimeEqual(c.recipient.keyId, backup.keyId)) key = backup.seed;
      } else if (c.recipient.kind === RECIPIENT_SIBLING) {
        if (c.recipient.deviceId === owner.id && sameBytes(c.recipient.fingerprint, owner.fingerprint)) {
          key = c.kem.id === KEM_XWING.id ? owner.xwingSeed : owner.x25519Private;
        }
      }
      if (!key) throw new AuthError('the chunk is not for this backup key or device');
      entries.push(...parseEntries(await openChunk(c, key)));
    } catch (e) {
      if (!(e instanceof DomviaError)) throw e;
      refusedChunks.push(`${c.uploader.id}#${c.seq}: ${e.code}`);
    }
  }
  return { entries, refusedChunks };
}

/** Step 4: entries of one (room, epoch) merged; two headers are E_FORK; a signed entry preferred, then one with a key. */
function mergeEntries(entries) {
  const byEpoch = new Map();
  for (const e of entries) {
    const had = byEpoch.get(e.epoch);
    if (!had) {
      byEpoch.set(e.epoch, { ...e, keys: e.key ? [e.key] : [] });
      continue;
    }
    if (!sameBytes(had.header.bytes, e.header.bytes)) throw new ForkError([], `two headers for epoch ${e.epoch}`);
    if (e.key) had.keys.push(e.key);
    if (had.kind !== ENTRY_SIGNED && e.kind === ENTRY_SIGNED) Object.assign(had, { kind: e.kind, data: e.data, announcement: e.announcement });
  }
  return byEpoch;
}

/** Step 5: the newest contiguous run of epochs, in order; its last entry is signed (E_AUTH). */
function newestRun(byEpoch) {
  const epochs = [...byEpoch.keys()].sort((a, b) => b - a);
  const run = [byEpoch.get(epochs[0])];
  for (let i = 1; i < epochs.length && epochs[i] === epochs[i - 1] - 1; i++) run.unshift(byEpoch.get(epochs[i]));
  if (run[run.length - 1].kind !== ENTRY_SIGNED) throw new AuthError('nothing vouches for a bare header at the end of the chain');
  return run;
}

/**
 * Steps 4 to 6 for one room's entries. `users`: P's UserBook. Returns the run as records to commit:
 * [{epoch, record: {header, signature, authority, rotatorProof, lists, roomKey, roster, full: false, ownProof: null}}].
 */
export function verifyRoom(roomId, entries, users) {
  const run = newestRun(mergeEntries(entries));
  const out = [];
  let prev = null;
  for (const e of run) {
    const h = e.header;
    // 6. the header's place, the chain, the key
    if (h.roomId !== roomId || h.epoch !== e.epoch) throw new FormatError('entry.header', "not the entry's room and epoch");
    if (prev && !sameBytes(h.previous, epochHash(prev.header))) throw new AuthError("previous is not the epoch hash of the entry before");
    // of the keys several chunks carry, the first (later ones are ignored), as the reference does (SPEC-FINDINGS B6)
    const roomKey = e.keys.length ? new RoomKey(e.keys[0], { roomId, epoch: h.epoch, suite: h.suite }) : null;
    if (roomKey && !roomKey.hasKeyId(h.keyId)) throw new AuthError("the key does not match the header's key id");
    const record = { header: h, roomKey, roster: new Map(), full: false, ownProof: null };
    if (e.kind === ENTRY_SIGNED) {
      const a = e.announcement;
      const { rotator, rotatorProof } = checkSigned(a, users);
      if (!prev) {
        if (!isAdmin(h, rotator.id, rotator.fingerprint)) throw new UnauthorizedError("the first restored epoch's rotator is not in its admin set");
      } else {
        checkAuthority(prev, h, rotator, a.authority);
        checkDowngrade(prev.header, h);
      }
      Object.assign(record, {
        signature: a.signature, authority: a.authority, rotatorProof, lists: namedLists([rotatorProof], a.lists),
        roster: new Map([[rotator.id, rosterEntry(rotator)]]),
      });
    }
    out.push({ epoch: h.epoch, record, lists: e.kind === ENTRY_SIGNED ? e.announcement.lists : [] });
    prev = record;
  }
  return out;
}

const rosterEntry = ({ id, x25519, ed25519, xwing, fingerprint, listDigest, wrappedDigest }) => ({ id, x25519, ed25519, xwing, fingerprint, listDigest, wrappedDigest });

/**
 * Step 7: the merge of a verified run into P's room (null or {epochs: Map, first, latest}), all or nothing. Returns
 * {add: [{epoch, record}], keys: [{epoch, roomKey}], same: [{epoch, record}]}: epochs to add before P's first (or the
 * whole run), keys for held epochs that lack one, and the run's other held epochs (unchanged, still reported). E_AUTH (the run does not end at first - 1 with P's first `previous`), E_STALE (a held
 * epoch with another header).
 */
export function planMerge(room, run) {
  if (!room || room.epochs.size === 0) return { add: run, keys: [], same: [] };
  const first = room.epochs.get(room.first);
  const before = run.filter((r) => r.epoch < room.first);
  if (before.length) {
    const last = before[before.length - 1];
    if (last.epoch !== room.first - 1 || !sameBytes(epochHash(last.record.header), first.header.previous)) {
      throw new AuthError("the restored epochs do not end at the held chain's first epoch");
    }
  }
  const keys = [];
  const same = [];
  for (const r of run) {
    if (r.epoch < room.first || r.epoch > room.latest) continue;
    const held = room.epochs.get(r.epoch);
    if (!sameBytes(held.header.bytes, r.record.header.bytes)) throw new StaleError('the backup is of another branch');
    if (!held.roomKey && r.record.roomKey) keys.push({ epoch: r.epoch, roomKey: r.record.roomKey });
    else same.push(r);
  }
  return { add: before, keys, same };
}

/** Rooms of pooled entries, in byte order of room id: [[roomId, entries]]. */
export function byRoom(entries) {
  const m = new Map();
  for (const e of entries) {
    if (!m.has(e.roomId)) m.set(e.roomId, []);
    m.get(e.roomId).push(e);
  }
  return [...m.entries()].sort((a, b) => compareAscii(a[0], b[0]));
}
