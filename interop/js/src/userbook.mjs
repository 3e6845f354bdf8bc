// What a key ring holds of users (spec/users.md#what-a-member-holds): pinned user keys, every device list accepted
// (by digest) and each user's newest list, with the rollback refusals.
import { compareAscii, constantTimeEqual, toHex } from './encoding.mjs';
import { PolicyError, RollbackError } from './errors.mjs';
import { listsDevice, parseDeviceList, verifyDeviceList } from './devicelist.mjs';
import { UserKey, userOfDevice } from './userkey.mjs';

export class UserBook {
  #pinned = new Map(); // user id -> UserKey
  #lists = new Map(); // digest hex -> parsed list
  #newest = new Map(); // user id -> parsed list

  /** Pin a user key (after comparing its safety number). Another key already pinned for the user is E_POLICY. */
  pin(userKey) {
    if (!(userKey instanceof UserKey)) throw new TypeError('a UserKey');
    const known = this.#pinned.get(userKey.userId);
    if (known && !known.equals(userKey)) throw new PolicyError('another user key is already pinned for this user');
    this.#pinned.set(userKey.userId, userKey);
    return userKey;
  }

  pinned(userId) {
    return this.#pinned.get(userId) ?? null;
  }

  newest(userId) {
    return this.#newest.get(userId) ?? null;
  }

  /** A held list by digest (hex or bytes), or null. */
  list(digest) {
    return this.#lists.get(typeof digest === 'string' ? digest : toHex(digest)) ?? null;
  }

  /** The rollback refusals for a list offered as the user's newest: E_ROLLBACK (older, or same version, other digest). */
  checkNewer(list) {
    const newest = this.#newest.get(list.userId);
    if (newest && list.version < newest.version) throw new RollbackError(`older than ${list.userId}'s newest held list`);
    this.checkEquivocation(list);
  }

  /**
   * A list of the same version as one held for its user (whichever key signed either) but another digest: the user
   * key equivocated, E_ROLLBACK (spec/users.md#what-a-member-holds; for lists inside structures, step 4b 2).
   */
  checkEquivocation(list) {
    const digest = toHex(list.digest);
    for (const [d, held] of this.#lists) {
      if (held.userId === list.userId && held.version === list.version && d !== digest) {
        throw new RollbackError(`another list of version ${list.version} for ${list.userId}: the user key equivocated`);
      }
    }
  }

  /**
   * The owner adds a list itself (bytes or parsed): parse, verify under the pinned key (pinning the list's key when
   * none is pinned), refuse a rollback. `commit: false` checks only. Returns the parsed list.
   */
  add(bytes, { commit = true } = {}) {
    const list = bytes instanceof Uint8Array ? parseDeviceList(bytes) : bytes;
    verifyDeviceList(list, this.pinned(list.userId));
    this.checkNewer(list);
    if (commit) {
      if (!this.#pinned.has(list.userId)) this.#pinned.set(list.userId, new UserKey(list.userId, list.userKey));
      this.#keep(list);
    }
    return list;
  }

  /**
   * add_device_list (spec/conformance.md): add a list as the owner, with identities of devices it names; one it does
   * not name (id and fingerprint) is E_POLICY, after the list's own checks. `pinIdentity(pub)` pins each, on success.
   */
  addWithIdentities(list, identities, pinIdentity) {
    this.add(list, { commit: false });
    for (const pub of identities) {
      if (!listsDevice(list, pub.id, pub.fingerprint)) throw new PolicyError(`${pub.id} with this identity is not on the list`);
    }
    this.add(list);
    for (const pub of identities) pinIdentity(pub);
    return list;
  }

  /** Ids of a roster (Map id -> keys) that their user's newest held list no longer lists with their fingerprint. */
  removedDevices(roster) {
    const out = [];
    for (const [id, keys] of roster) {
      const user = id.includes('/') ? userOfDevice(id) : null;
      if (user !== null && !this.stillListed(user, id, keys.fingerprint)) out.push(id);
    }
    return out;
  }

  /** Whether a member user's newest held list is not the one a roster's entries name (rotation_due `devices`). */
  listsChanged(roster) {
    for (const keys of roster.values()) {
      if (!keys.listDigest || keys.listDigest.every((b) => b === 0)) continue;
      const newest = this.#newest.get(userOfDevice(keys.id));
      if (newest && !constantTimeEqual(newest.digest, keys.listDigest)) return true;
    }
    return false;
  }

  /**
   * Lists accepted inside a group-state structure (already verified by step 4b): kept by digest; a list becomes its
   * user's newest only when its version is higher than the newest held. Never pins a key.
   */
  keepAll(lists) {
    for (const l of lists) this.#keep(l);
  }

  #keep(list) {
    this.#lists.set(toHex(list.digest), list);
    const newest = this.#newest.get(list.userId);
    if (!newest || list.version > newest.version) this.#newest.set(list.userId, list);
  }

  /** Whether the user's newest held list still lists the device `id` with `fingerprint` (true when none is held). */
  stillListed(userId, id, fingerprint) {
    const newest = this.#newest.get(userId);
    return !newest || listsDevice(newest, id, fingerprint);
  }

  /**
   * Each pinned user's newest held list, sorted by user id: [{userId, version, digest, list}]. Lists of users whose key
   * is not pinned are held (and checked for rollback) but not reported, as the reference does (SPEC-FINDINGS U12).
   */
  users() {
    return [...this.#newest.keys()].filter((u) => this.#pinned.has(u)).sort(compareAscii).map((u) => {
      const l = this.#newest.get(u);
      return { userId: u, version: l.version, digest: l.digest, list: l };
    });
  }
}
