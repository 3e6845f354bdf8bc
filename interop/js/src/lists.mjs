// Device lists in the group state (spec/users.md#device-lists-in-the-group-state): the `lists` section of bundles,
// slices, announcements and member proof files, the list_digest rule of member entries, verification step 4b and
// the rollback rule of step 6.
import { ByteWriter, compareAscii, constantTimeEqual, toHex } from './encoding.mjs';
import { FormatError, RollbackError, UnauthorizedError } from './errors.mjs';
import { listsDevice, parseDeviceList, verifyDeviceList } from './devicelist.mjs';
import { userOfDevice } from './userkey.mjs';

export const ZERO_DIGEST = new Uint8Array(32);
export const LIST_LIMITS = { bundle: null, slice: 2, announcement: 1, member: 1 };

const isZero = (d) => constantTimeEqual(d, ZERO_DIGEST);

/**
 * An entry's list_digest: 32 zero bytes exactly when its id has no "/", and an id with "/" is user_id/name
 * (E_FORMAT `<field>.list_digest` otherwise). Returns the digest.
 */
export function checkListDigest(id, digest, field) {
  let user;
  try {
    user = userOfDevice(id, `${field}.list_digest`);
  } catch (e) {
    throw new FormatError(`${field}.list_digest`, 'an id with "/" must be user_id/name');
  }
  if (user === null && !isZero(digest)) throw new FormatError(`${field}.list_digest`, 'an id without "/" names no device list');
  if (user !== null && isZero(digest)) throw new FormatError(`${field}.list_digest`, 'a device id must name its user\'s device list');
  return digest;
}

/** lists = u32(count) || count * bytes16(device_list), strictly sorted by user id; at most `max` (null: any). */
export function readLists(r, max) {
  const count = r.u32('lists');
  if (max !== null && count > max) throw new FormatError('lists', `at most ${max} device lists here`);
  const lists = [];
  for (let i = 0; i < count; i++) {
    if (r.remaining < 2) throw new FormatError('lists', 'truncated');
    const list = parseDeviceList(Uint8Array.from(r.bytes16('lists')));
    if (i > 0 && compareAscii(lists[i - 1].userId, list.userId) >= 0) throw new FormatError('lists', 'not strictly sorted by user id');
    lists.push(list);
  }
  return lists;
}

/** Write a lists section from parsed lists (sorted here by user id). */
export function writeLists(w, lists = []) {
  const sorted = [...lists].sort((a, b) => compareAscii(a.userId, b.userId));
  w.u32(sorted.length);
  for (const l of sorted) w.bytes16(l.bytes);
  return w;
}

export function encodeLists(lists) {
  return writeLists(new ByteWriter(), lists).finish();
}

/** The lists of `lists` named by `entries` (each entry: {listDigest}), for building a structure's section. */
export function namedLists(entries, lists) {
  const want = new Set(entries.filter((e) => !isZero(e.listDigest)).map((e) => toHex(e.listDigest)));
  return lists.filter((l) => want.has(toHex(l.digest)));
}

/**
 * Step 4b for the entries a structure carries ({id, fingerprint, listDigest}) and its lists section.
 * pinnedOf(userId) -> UserKey or null. `complete`: the structure is a bundle (every device of a named list must be
 * an entry). `equivocation(list)`: throws E_ROLLBACK for a list of a held version with another digest.
 * Throws E_FORMAT, E_BAD_KEY, E_AUTH, E_UNAUTHORIZED, E_ROLLBACK.
 */
export function checkLists(entries, lists, pinnedOf, { complete = false, equivocation = null } = {}) {
  // 1. the digests the entries name are exactly the section's
  const named = new Set(entries.filter((e) => !isZero(e.listDigest)).map((e) => toHex(e.listDigest)));
  const byDigest = new Map(lists.map((l) => [toHex(l.digest), l]));
  if (named.size !== byDigest.size || [...named].some((d) => !byDigest.has(d))) {
    throw new FormatError('lists', 'the device lists carried are not exactly those the entries name');
  }
  // 2. each list verifies (under the pinned user key, when there is one), then is no other list of a held version
  // (E_ROLLBACK; each list in turn: the spec does not say whether all verify first, SPEC-FINDINGS B1)
  for (const l of lists) {
    verifyDeviceList(l, pinnedOf(l.userId));
    equivocation?.(l);
  }
  // 3. each entry naming a list is a device of that list's user, with the listed fingerprint
  for (const e of entries) {
    if (isZero(e.listDigest)) continue;
    const l = byDigest.get(toHex(e.listDigest));
    if (userOfDevice(e.id) !== l.userId || !listsDevice(l, e.id, e.fingerprint)) {
      throw new UnauthorizedError(`${e.id} is not on its user's device list`);
    }
  }
  // 4. a bundle lists every device of every list it names
  if (complete) {
    const byId = new Map(entries.map((e) => [e.id, e]));
    for (const l of lists) {
      for (const d of l.devices) {
        const e = byId.get(d.id);
        if (!e || !constantTimeEqual(e.fingerprint, d.fingerprint)) throw new UnauthorizedError(`${d.id}, on its user's list, is left out`);
      }
    }
  }
}

/**
 * Step 6 (extend), after the DOWNGRADE check: no user's list in E (the section) has a lower version than the list
 * P holds for that user from an entry of its roster of E - 1. heldList(digestHex) -> parsed list or null.
 */
export function checkRollback(prevRoster, lists, heldList) {
  const before = new Map(); // user id -> highest version named in E - 1's roster and held
  for (const e of prevRoster.values()) {
    if (!e.listDigest || isZero(e.listDigest)) continue;
    const l = heldList(toHex(e.listDigest));
    if (l && (before.get(l.userId) ?? 0) < l.version) before.set(l.userId, l.version);
  }
  for (const l of lists) {
    const v = before.get(l.userId);
    if (v !== undefined && l.version < v) throw new RollbackError(`${l.userId}'s device list goes back to version ${l.version}`);
  }
}
