// The key ring (spec/keyring.md): directory, join anchors, per-room chains of epoch records, fork evidence,
// per-epoch replay state; accepting group-state structures (chain.mjs, historychain.mjs) and opening in spec order.
import { randomBytes } from '@noble/hashes/utils.js';
import { b64uEncode, compareAscii, toHex } from './encoding.mjs';
import { AuthError, DeviceTooNewError, DomviaError, FormatError, ForkError, WithheldError, KeyExhaustedError, NotMemberError, PolicyError, StaleError, UnauthorizedError, UnknownKeyError, UnknownSenderError } from './errors.mjs';
import { ed25519VerifyStrict, validateEd25519Public } from './ed25519.mjs';
import { parseAnnouncement, parseBundle, parseSlice } from './bundle.mjs';
import { checkMemberProof, checkRotation, evidenceOf, sameBytes } from './chain.mjs';
import { checkHistory } from './historychain.mjs';
import { parseHistory } from './history.mjs';
import { PublicIdentity } from './identity.mjs';
import { MAGIC_BUNDLE, MAGIC_EPOCH, MAGIC_HISTORY, MAGIC_MEMBER_PROOF, MAGIC_SLICE } from './labels.mjs';
import { parseMemberProofFile } from './memberproof.mjs';
import { MESSAGE_BOUND, SealedMessage, _sealWithNonce as sealMessageWithNonce, openParsed } from './message.mjs';
import { DEFAULT_LIVE_EPOCHS, DEFAULT_REPLAY_CAPACITY, RoomReplay } from './replay.mjs';
import { rotate, shareHistory } from './rotation.mjs';
import { UserBook } from './userbook.mjs';
import { UserKey } from './userkey.mjs';
import { listsDevice, parseDeviceList } from './devicelist.mjs';
import { openBackupInfo, parseBackupInfo, secretOf, verifyBackupInfo } from './backupinfo.mjs';
import { byRoom, planMerge, readChunks, verifyRoom } from './restore.mjs';
import { RECIPIENT_BACKUP_KEY, RECIPIENT_SIBLING, heldEntries, sealChunks } from './backingup.mjs';
import { userOfDevice } from './userkey.mjs';

export const MAX_EVIDENCE = 16;

const PARSERS = [
  [MAGIC_BUNDLE, parseBundle], [MAGIC_SLICE, parseSlice], [MAGIC_EPOCH, parseAnnouncement],
  [MAGIC_HISTORY, parseHistory], [MAGIC_MEMBER_PROOF, parseMemberProofFile],
];

/** A sender for message.mjs's openParsed: a roster entry's Ed25519 key, validated before use. */
function senderOf(keys) {
  return { id: keys.id, verify: (m, s) => ed25519VerifyStrict(keys.ed25519, m, s) };
}

// Hooks for the conformance vectors (a fixed nonce; a sealed count as restored from a key ring file), assigned in
// KeyRing's static block so that they reach its private state; exported below, not from index.mjs.
let sealWithNonceHook;
let setSealedHook;

export class KeyRing {
  #owner;
  #directory = new Map(); // id -> PublicIdentity (pinned)
  #anchors = new Map(); // room id -> Set of fingerprint hex (joining only)
  #rooms = new Map(); // room id -> {epochs: Map epoch -> record, first, latest, evidence, replay}
  #replayOptions;
  #users = new UserBook(); // pinned user keys, held device lists (spec/users.md#what-a-member-holds)
  #restored = new Set(); // room ids whose history a restore or share brought (spec/unreadable.md, step 1)
  #backedUp = new Map(); // "room\0epoch" -> whether the key was backed up (spec/backup.md#backing-up)

  /** owner: the Identity this key ring belongs to. allowUnsigned: unsigned mode (bots) on. */
  constructor(owner, { allowUnsigned = false, replayCapacity = DEFAULT_REPLAY_CAPACITY, liveEpochs = DEFAULT_LIVE_EPOCHS } = {}) {
    this.#owner = owner;
    this.allowUnsigned = allowUnsigned;
    this.#replayOptions = { capacity: replayCapacity, liveEpochs };
    this.#directory.set(owner.id, owner.public);
  }

  get owner() {
    return this.#owner.public;
  }

  // ------------------------------------------------------------ directory and anchors

  /** Pin a public identity. A changed identity for a known id is E_POLICY unless `replace` is given explicitly. */
  addIdentity(identity, { replace = false } = {}) {
    const pub = typeof identity === 'string' ? PublicIdentity.fromJSON(identity) : identity;
    const known = this.#directory.get(pub.id);
    if (known && !known.equals(pub) && !replace) throw new PolicyError('a different identity is already pinned for this id');
    this.#directory.set(pub.id, pub);
    return pub;
  }

  identity(id) {
    return this.#directory.get(id) ?? null;
  }

  /**
   * Trust an admin (identity or 32-byte fingerprint) to let this participant join one room. Refused (E_POLICY)
   * for a room already held: from then on only the chain decides (spec/keyring.md#authority).
   */
  trustAnchor(roomId, identityOrFingerprint) {
    if (this.#rooms.get(roomId)?.epochs.size) throw new PolicyError('the room is held: the chain decides');
    const fp = identityOrFingerprint instanceof Uint8Array ? identityOrFingerprint : identityOrFingerprint.fingerprint;
    if (!this.#anchors.has(roomId)) this.#anchors.set(roomId, new Set());
    this.#anchors.get(roomId).add(toHex(fp));
  }

  /**
   * Remove a room (its chain, replay state, fork evidence and join anchors), for instance to rejoin the other branch of
   * a fork as a join from an admin trusted anew (spec/keyring.md#forks).
   */
  forgetRoom(roomId) {
    this.#rooms.delete(roomId);
    this.#anchors.delete(roomId);
  }

  // ------------------------------------------------------------ users and device lists (spec/users.md)

  /** Pin a user key (UserKey or its JSON text), after comparing its safety number. Another key: E_POLICY. */
  pinUser(userKey) {
    return this.#users.pin(typeof userKey === 'string' ? UserKey.fromJSON(userKey) : userKey);
  }

  userKey(userId) {
    return this.#users.pinned(userId);
  }

  /**
   * Add a device list as the owner (bytes): verified under the pinned user key, or pinning the list's own key when
   * none is pinned yet; an older list, or another of the newest's version, is E_ROLLBACK. `identities`: public
   * identities of devices the list names, pinned (replacing an older pin of the id); one it does not name is E_POLICY.
   * Returns the parsed list. Nothing changes when it is refused.
   */
  addDeviceList(bytes, identities = []) {
    const pubs = identities.map((i) => (typeof i === 'string' ? PublicIdentity.fromJSON(i) : i));
    return this.#users.addWithIdentities(parseDeviceList(bytes), pubs, (pub) => this.#directory.set(pub.id, pub));
  }

  /** A user's newest held device list (parsed), or null. */
  newestList(userId) {
    return this.#users.newest(userId);
  }

  /** A held device list by digest, or null. */
  deviceList(digest) {
    return this.#users.list(digest);
  }

  /** Each user's newest held list, sorted by user id: [{userId, version, digest, list}]. */
  users() {
    return this.#users.users();
  }

  // ------------------------------------------------------------ state

  #room(roomId) {
    let r = this.#rooms.get(roomId);
    if (!r) this.#rooms.set(roomId, (r = { epochs: new Map(), first: 0, latest: 0, evidence: [], replay: new RoomReplay(this.#replayOptions) }));
    return r;
  }

  epochRecord(roomId, epoch) {
    return this.#rooms.get(roomId)?.epochs.get(epoch) ?? null;
  }

  latestEpoch(roomId) {
    return this.#rooms.get(roomId)?.latest ?? 0;
  }

  /** Fork evidence kept for a room (at most 16 items): [{kind: 'announcement'|'header'|'message', bytes, ...}]. */
  forkEvidence(roomId) {
    return [...(this.#rooms.get(roomId)?.evidence ?? [])];
  }

  /**
   * Every held (room, epoch), sorted by room id then epoch: key id (the header's), secret (null for a link), the ids of
   * the roster held in byte order (`members`: all members, or those proved so far) and whether it is the whole list
   * (`complete`).
   */
  held() {
    const out = [];
    for (const roomId of [...this.#rooms.keys()].sort(compareAscii)) {
      const room = this.#rooms.get(roomId);
      for (const epoch of [...room.epochs.keys()].sort((a, b) => a - b)) {
        const rec = room.epochs.get(epoch);
        out.push({
          roomId, epoch, keyId: rec.header.keyId, secret: rec.roomKey ? rec.roomKey.secret : null,
          members: [...rec.roster.keys()].sort(compareAscii), complete: !!rec.full,
        });
      }
    }
    return out;
  }

  #keepEvidence(roomId, e) {
    if (!(e instanceof ForkError)) return;
    const room = this.#room(roomId);
    for (const item of e.evidence) if (room.evidence.length < MAX_EVIDENCE) room.evidence.push(item);
  }

  /**
   * Roster entries whose id is pinned with another fingerprint (spec/keyring.md#identities), in byte order: reported,
   * never silently replacing the pin.
   */
  #identityChanges(roster) {
    const out = [];
    for (const [id, keys] of roster ?? []) {
      const pinned = this.#directory.get(id);
      if (pinned && !sameBytes(pinned.fingerprint, keys.fingerprint)) out.push(id);
    }
    return out.sort(compareAscii);
  }

  // ------------------------------------------------------------ accepting

  /**
   * Accept a bundle, slice, announcement, history bundle or member proof file.
   * Returns {roomId, epochs, kind, identityChanges}. A rejected input changes nothing (fork evidence aside).
   */
  async accept(bytes) {
    if (!(bytes instanceof Uint8Array)) throw new FormatError('input', 'not bytes');
    const magic = bytes.subarray(0, 4);
    const parser = PARSERS.find(([m]) => sameBytes(m, magic));
    if (!parser) throw new FormatError('magic', 'not a version-3 bundle, slice, announcement, history bundle or member proof');
    const s = parser[1](bytes);
    if (s.kind === 'history') return this.#acceptHistory(s);
    if (s.kind === 'member') return this.#acceptMember(s);
    return this.#acceptRotation(s);
  }

  async #acceptRotation(s) {
    const roomId = s.header.roomId;
    let plan;
    try {
      plan = await checkRotation(this.#owner, this.#rooms.get(roomId) ?? null, this.#anchors.get(roomId), s, this.#users);
    } catch (e) {
      this.#keepEvidence(roomId, e);
      throw e;
    }
    const room = this.#room(roomId);
    const epoch = s.header.epoch;
    this.#users.keepAll(plan.lists);
    let roster;
    if (plan.fill) {
      const rec = room.epochs.get(epoch);
      if (plan.fill.roster) {
        rec.roster = roster = plan.fill.roster;
        rec.full ||= plan.result.kind !== 'slice';
      }
      if (plan.fill.roomKey) rec.roomKey = plan.fill.roomKey;
      if (plan.fill.ownProof) rec.ownProof = plan.fill.ownProof;
    } else {
      room.epochs.set(epoch, { ...plan.record, sealed: 0, used: 0 });
      roster = plan.record.roster;
      if (!room.first) room.first = epoch;
      room.latest = Math.max(room.latest, epoch);
      room.replay.prune(room.latest);
    }
    return { ...plan.result, identityChanges: this.#identityChanges(roster) };
  }

  async #acceptHistory(h) {
    const room = this.#rooms.get(h.roomId) ?? null;
    const { result, plan } = await checkHistory(this.#owner, room, h);
    const changes = [];
    for (const p of plan) {
      if (p.record) {
        room.epochs.set(p.epoch, { ...p.record, sealed: 0, used: 0 });
        room.first = Math.min(room.first, p.epoch);
        changes.push(...this.#identityChanges(p.record.roster));
      } else {
        const rec = room.epochs.get(p.epoch);
        if (p.gain.roomKey) rec.roomKey = p.gain.roomKey;
        if (p.gain.roster) {
          rec.roster = p.gain.roster;
          rec.full = true;
          changes.push(...this.#identityChanges(p.gain.roster));
        }
      }
    }
    return { ...result, identityChanges: [...new Set(changes)].sort(compareAscii) };
  }

  #acceptMember(f) {
    const room = this.#rooms.get(f.roomId) ?? null;
    const { result, member } = checkMemberProof(room, f, this.#users);
    this.#users.keepAll(f.lists);
    if (!member) return { ...result, identityChanges: [] };
    room.epochs.get(f.epoch).roster.set(member.id, member);
    return { ...result, identityChanges: this.#identityChanges([[member.id, member]]) };
  }

  // ------------------------------------------------------------ opening

  /** The roster entry of a sender: E_UNAUTHORIZED (full roster) or E_UNKNOWN_SENDER (partial) when absent. */
  static #member(rec, id) {
    const keys = rec.roster.get(id);
    if (keys) return keys;
    if (rec.full) throw new UnauthorizedError('the sender is not a member of the epoch');
    throw new UnknownSenderError("the sender's membership of the epoch is not proved yet");
  }

  /**
   * Open a sealed message (Uint8Array binary form or JSON string) by spec/keyring.md#opening.
   * checkReplay: false only for the explicit re-reading of stored history (skips steps 5 and 6).
   */
  open(input, { checkReplay = true } = {}) {
    // 1. parse
    const msg = SealedMessage.parse(input);
    // 2. the epoch, its key, its key id
    const room = this.#rooms.get(msg.roomId);
    if (room?.epochs.size && msg.epoch < room.first && this.#owner.id.includes('/')) {
      // spec/unreadable.md, step 1: a user's device added after the epoch, until it restores the room's history
      if (this.#restored.has(msg.roomId)) throw new NotMemberError('no device of this user held the epoch');
      throw new DeviceTooNewError('sent before this device was added: restore the key backup or ask a sibling');
    }
    const rec = room?.epochs.get(msg.epoch);
    if (!rec) throw new UnknownKeyError();
    if (!rec.roomKey && rec.withheld) throw new WithheldError('the retention policy forgot this key: restore the key backup');
    if (!rec.roomKey) throw new NotMemberError();
    if (rec.roomKey.suite.id !== msg.suite.id || !rec.roomKey.hasKeyId(msg.keyId)) this.#otherKey(msg.roomId, rec, msg);
    // 3. the sender, from the epoch's roster
    if (!msg.signed && !this.allowUnsigned) throw new PolicyError('unsigned mode is off');
    const keys = KeyRing.#member(rec, msg.senderId);
    if (msg.signed) validateEd25519Public(keys.ed25519);
    // 4. open with the epoch's key
    const opened = openParsed(rec.roomKey, msg, { sender: senderOf(keys), mode: 'any' });
    if (checkReplay) {
      // 5. superseded epoch
      if (msg.epoch < room.latest) {
        if (!msg.signed) throw new StaleError('an unsigned message in a superseded epoch');
        const now = KeyRing.#member(room.epochs.get(room.latest), msg.senderId);
        if (!sameBytes(now.fingerprint, keys.fingerprint)) throw new UnauthorizedError('the sender is another identity in the latest epoch');
      }
      // 6. replay
      const state = room.replay.state(msg.epoch, room.latest);
      if (!state) throw new StaleError("the epoch's replay state was dropped");
      state.recordOpened(msg.senderId, msg.messageId);
    }
    rec.used += 1;
    return opened;
  }

  /** Step 2's key id mismatch: a fork when a member signed it, else E_AUTH. */
  #otherKey(roomId, rec, msg) {
    const keys = rec.roster.get(msg.senderId);
    if (!msg.signed || !keys) throw new AuthError();
    validateEd25519Public(keys.ed25519); // a roster key is validated at its first use: E_BAD_KEY (spec/bundle.md#member-tree)
    if (!ed25519VerifyStrict(keys.ed25519, msg.signedBytes, msg.signature)) throw new AuthError();
    const e = new ForkError([evidenceOf(rec), { kind: 'message', bytes: msg.toBinary(), sender: keys }], 'a member sealed with another key for a held epoch');
    this.#keepEvidence(roomId, e);
    throw e;
  }

  // ------------------------------------------------------------ sealing

  /**
   * Seal with the latest epoch of a room, signed by the owner unless `signed: false`. A given message id already
   * sealed or opened in the epoch is refused (E_POLICY); ids are generated when none is given. The owner's nonce
   * budget for the epoch (spec/keys.md#nonce-bound: 2^32 messages) is enforced: past it, E_KEY_EXHAUSTED.
   */
  seal(roomId, content, opts = {}) {
    return this.#seal(roomId, content, opts, null);
  }

  /** `nonce`: null for a fresh random one (the only public path), else the fixed-randomness hook's bytes. */
  #seal(roomId, content, { messageId, contentType, padded = true, signed = true } = {}, nonce) {
    const room = this.#rooms.get(roomId);
    if (!room?.latest) throw new UnknownKeyError('no epoch held for this room');
    const rec = room.epochs.get(room.latest);
    if (!rec.roomKey) throw new NotMemberError('the latest epoch is held as a link');
    // spec/users.md#messages-from-devices: never seal to a device its user's newer list removed
    if (this.#users.removedDevices(rec.roster).length) throw new PolicyError('a device of the room was removed from its list: a rotation is due');
    const state = room.replay.state(room.latest, room.latest);
    // order (not in the spec; the reference's, learnt as a black box): closed replay state, reused id, nonce budget
    if (state.closed) throw new StaleError("the epoch's replay state is closed: rotate");
    let id = messageId;
    if (id === undefined || id === null) {
      do id = b64uEncode(randomBytes(16));
      while (state.has(this.#owner.id, id));
    } else if (state.has(this.#owner.id, id)) throw new PolicyError('this message id was already sealed or opened in the epoch');
    if (rec.sealed >= MESSAGE_BOUND) throw new KeyExhaustedError("the owner's nonce budget for the epoch is spent: rotate");
    // every check (and the sealing itself) before any count or id is recorded: a refused seal changes nothing
    const msg = sealMessageWithNonce(
      rec.roomKey, content,
      { senderId: this.#owner.id, messageId: id, contentType, padded, signer: signed ? this.#owner : null },
      nonce ?? randomBytes(rec.roomKey.suite.nonceLength),
    );
    state.recordSealed(this.#owner.id, id);
    rec.sealed += 1;
    rec.used += 1;
    return msg;
  }

  /** The owner's count of messages sealed in a held epoch (its nonce budget spent), or null when not held. */
  sealedCount(roomId, epoch) {
    return this.#rooms.get(roomId)?.epochs.get(epoch)?.sealed ?? null;
  }

  static {
    sealWithNonceHook = (ring, roomId, content, opts, nonce) => {
      if (!(nonce instanceof Uint8Array)) throw new FormatError('nonce', 'not bytes');
      return ring.#seal(roomId, content, opts, nonce);
    };
    setSealedHook = (ring, roomId, epoch, count) => {
      if (!Number.isSafeInteger(count) || count < 0 || count > MESSAGE_BOUND) {
        throw new FormatError('count', 'a sealed count is an integer from 0 to 2^32');
      }
      const rec = ring.#rooms.get(roomId)?.epochs.get(epoch);
      if (!rec) throw new UnknownKeyError('the epoch is not held');
      if (!rec.roomKey) throw new FormatError('count', 'an epoch held as a link has no nonce budget');
      rec.sealed = count;
    };
  }

  // ------------------------------------------------------------ key backups, sibling shares, retention (spec/backup.md)

  /** The owner's user and its newest held list; E_POLICY for a participant that is no user's device (or lacks them). */
  #ownUser() {
    const userId = userOfDevice(this.#owner.id);
    const list = userId === null ? null : this.#users.newest(userId);
    if (!list || !this.#users.pinned(userId)) throw new PolicyError("no user's device with its user key and device list: no backup or sibling");
    return { userId, list };
  }

  /**
   * Restore the user's key backup: `info` (bytes) verified under the pinned user key (E_FORMAT, E_AUTH), opened with
   * `recoveryKey` (text) or `passphrase` (bytes) (E_FORMAT, E_AUTH), then the chunks as restoreChunks reports them.
   */
  async restore({ info, chunks, recoveryKey, passphrase }) {
    const { userId } = this.#ownUser();
    const parsed = verifyBackupInfo(parseBackupInfo(info), this.#users.pinned(userId));
    const backup = await openBackupInfo(parsed, secretOf(parsed, { recoveryKey, passphrase }));
    return this.#restoreChunks(chunks, backup);
  }

  /** Accept a sibling's share (chunks of kind 2 to the owner): verified as a restore is. */
  async acceptShare(chunks) {
    return this.#restoreChunks(chunks, null);
  }

  /**
   * Steps 1 to 7 of spec/backup.md#restoring. Returns {rooms: {room id: [the run's epochs within the chain]}, keys (their count of keys),
   * refusedRooms: {room id: code}, refusedChunks: ["uploader#seq: code"]}. Each room is merged all or nothing.
   */
  async #restoreChunks(chunks, backup) {
    const { userId, list } = this.#ownUser();
    const { entries, refusedChunks } = await readChunks(chunks, { owner: this.#owner, userId, list, backup });
    const out = { rooms: {}, keys: 0, refusedRooms: {}, refusedChunks };
    for (const [roomId, roomEntries] of byRoom(entries)) {
      let plan;
      let run;
      try {
        run = verifyRoom(roomId, roomEntries, this.#users);
        plan = planMerge(this.#rooms.get(roomId) ?? null, run);
      } catch (e) {
        if (!(e instanceof DomviaError)) throw e;
        out.refusedRooms[roomId] = e.code;
        continue;
      }
      const room = this.#room(roomId);
      const epochs = [];
      for (const r of run) this.#users.keepAll(r.lists);
      for (const { epoch, record } of plan.add) {
        room.epochs.set(epoch, { ...record, sealed: 0, used: 0 });
        room.first = room.first ? Math.min(room.first, epoch) : epoch;
        room.latest = Math.max(room.latest, epoch);
        epochs.push(epoch);
        if (record.roomKey) out.keys += 1;
      }
      for (const { epoch, roomKey } of plan.keys) {
        const rec = room.epochs.get(epoch);
        rec.roomKey = roomKey;
        delete rec.withheld;
        epochs.push(epoch);
        out.keys += 1;
      }
      // reported as the reference does (SPEC-FINDINGS B5): every epoch of the run within P's chain, and its keys
      for (const { epoch, record } of plan.same) {
        epochs.push(epoch);
        if (record.roomKey) out.keys += 1;
      }
      room.replay.prune(room.latest);
      this.#restored.add(roomId);
      if (epochs.length) out.rooms[roomId] = epochs.sort((a, b) => a - b);
    }
    return out;
  }

  /**
   * Chunks for the backup (info bytes, verified under the pinned user key) holding every held epoch not backed up yet
   * with what is held now, numbered from `seq` (the server's count + 1). Recorded as backed up.
   */
  async backup(info, { seq }) {
    const { userId } = this.#ownUser();
    const parsed = verifyBackupInfo(parseBackupInfo(info), this.#users.pinned(userId));
    const key = (r, e) => `${r}\0${e}`;
    const entries = heldEntries(this.#rooms, (r, e, hasKey) => this.#backedUp.has(key(r, e)) && (this.#backedUp.get(key(r, e)) || !hasKey));
    if (!entries.length) return [];
    const chunks = await sealChunks({
      userId, uploader: this.#owner, seq, entries, recipient: { kind: RECIPIENT_BACKUP_KEY, publicKey: parsed.publicKey, keyId: parsed.keyId },
    });
    for (const e of entries) this.#backedUp.set(key(e.roomId, e.epoch), !!e.key);
    return chunks;
  }

  /** A share of every held epoch for a sibling (PublicIdentity on the user's newest list: E_UNAUTHORIZED otherwise). */
  async shareWithSibling(sibling, { seq = 1 } = {}) {
    const { userId, list } = this.#ownUser();
    if (sibling.id === this.#owner.id || !listsDevice(list, sibling.id, sibling.fingerprint)) {
      throw new UnauthorizedError("not a sibling: another device on the user's newest list");
    }
    const entries = heldEntries(this.#rooms);
    if (!entries.length) return [];
    return sealChunks({ userId, uploader: this.#owner, seq, entries, recipient: { kind: RECIPIENT_SIBLING, identity: sibling } });
  }

  /**
   * Retention (spec/backup.md#retention): forget the keys of epochs issued more than `maxAgeSeconds` before `now`,
   * never a room's latest epoch; their headers stay and their messages are E_WITHHELD. Returns the count forgotten.
   */
  forgetOldKeys({ maxAgeSeconds, now = Math.floor(Date.now() / 1000) }) {
    let n = 0;
    for (const room of this.#rooms.values()) {
      for (const [epoch, rec] of room.epochs) {
        if (epoch === room.latest || !rec.roomKey) continue;
        if (rec.header.issuedAt + BigInt(maxAgeSeconds) < BigInt(now)) {
          rec.roomKey = null;
          rec.withheld = true;
          n += 1;
        }
      }
    }
    return n;
  }

  // ------------------------------------------------------------ rotating and sharing

  /** Rotate (or create) a room as the owner: see rotation.mjs. The new bundle is accepted here last. */
  async rotate(roomId, opts) {
    return rotate(this, this.#owner, roomId, opts);
  }

  /** A history bundle sharing held epochs with one joiner, on purpose: see rotation.mjs. */
  async shareHistory(roomId, opts) {
    return shareHistory(this, this.#owner, roomId, opts);
  }

  /**
   * spec/keyring.md#rotation-policy: why the latest epoch is due for a rotation, or false: 'messages' (its message
   * count), 'age', or 'devices' (spec/users.md: a member user's newest held list is not the one the epoch used).
   */
  rotationDue(roomId, now = Math.floor(Date.now() / 1000)) {
    const room = this.#rooms.get(roomId);
    const rec = room?.epochs.get(room.latest);
    if (!rec) return false;
    if (rec.used >= rec.header.maxMessages) return 'messages';
    if (BigInt(now) >= rec.header.issuedAt + BigInt(rec.header.maxAgeSeconds)) return 'age';
    return this.#users.listsChanged(rec.roster) ? 'devices' : false;
  }
}

/**
 * Conformance hook (spec/conformance.md `session` step `seal`): KeyRing.seal with a given nonce. A conforming
 * application never chooses a nonce; not exported from index.mjs.
 */
export function _sealWithNonce(ring, roomId, content, opts, nonce) {
  return sealWithNonceHook(ring, roomId, content, opts, nonce);
}

/**
 * Conformance hook (`session` step `set_sealed`): set the owner's sealed count of a held epoch, as a key ring restored
 * from its file (spec/files.md, epoch record `sealed`) would. E_FORMAT outside 0..2^32 or for a link (no key, no
 * budget), E_UNKNOWN_KEY when not held.
 */
export function _setSealed(ring, roomId, epoch, count) {
  setSealedHook(ring, roomId, epoch, count);
}
