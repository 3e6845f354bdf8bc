// The key ring (spec/keyring.md): what a participant holds, acceptance of bundles, slices and history
// bundles in spec order (spec/bundle.md#verification, spec/history.md#verification), and opening.
import { sha256 } from '@noble/hashes/sha2.js';
import { compareAscii, constantTimeEqual, toHex } from './encoding.mjs';
import {
  AuthError,
  FormatError,
  NotRecipientError,
  PolicyError,
  ReplayError,
  StaleError,
  UnauthorizedError,
  UnknownKeyError,
  UnknownSenderError,
} from './errors.mjs';
import { bundleSignedBytes, memberLeaf, parseBundle, parseSlice } from './bundle.mjs';
import { historySignedBytes, parseHistory } from './history.mjs';
import { PublicIdentity } from './identity.mjs';
import { MAGIC_BUNDLE, MAGIC_HISTORY, MAGIC_SLICE } from './labels.mjs';
import { leafHash, merkleRoot, verifyInclusion } from './merkle.mjs';
import { SealCounter, SealedMessage, _sealWithNonce, openParsed } from './message.mjs';
import { randomBytes } from '@noble/hashes/utils.js';
import { b64uEncode } from './encoding.mjs';
import { INFO_HISTORY_WRAP, INFO_WRAP, KEM_XWING, unwrapRoomKey } from './wrap.mjs';

export const DEFAULT_REPLAY_CAPACITY = 100000;

/** The most recent `capacity` (room, epoch, sender, message id) tuples, oldest evicted first. */
export class ReplayWindow {
  #seen = new Set();
  constructor(capacity = DEFAULT_REPLAY_CAPACITY) {
    this.capacity = capacity;
  }
  static key(roomId, epoch, senderId, messageId) {
    // '\n' cannot occur in an id, so the tuple encoding is unambiguous.
    return `${roomId}\n${epoch}\n${senderId}\n${messageId}`;
  }
  has(k) {
    return this.#seen.has(k);
  }
  add(k) {
    this.#seen.add(k);
    if (this.#seen.size > this.capacity) this.#seen.delete(this.#seen.values().next().value);
  }
  get size() {
    return this.#seen.size;
  }
}

function sameBytes(a, b) {
  return a.length === b.length && constantTimeEqual(a, b);
}

/** Roster: participant id -> fingerprint. */
function rosterOf(pairs) {
  const m = new Map();
  for (const [id, fp] of pairs) m.set(id, fp);
  return m;
}

export class KeyRing {
  #owner;
  #directory = new Map(); // id -> PublicIdentity
  #admins = new Map(); // room id -> Set of fingerprint hex
  #adminRotation = new Set(); // room ids whose rotations need an admin
  #rooms = new Map(); // room id -> Map epoch -> record
  #replay;
  #counter = new SealCounter();

  /**
   * owner: the Identity this key ring belongs to. allowUnsigned: unsigned mode (bots) on.
   */
  constructor(owner, { allowUnsigned = false, replayCapacity = DEFAULT_REPLAY_CAPACITY } = {}) {
    this.#owner = owner;
    this.allowUnsigned = allowUnsigned;
    this.#replay = new ReplayWindow(replayCapacity);
    this.#directory.set(owner.id, owner.public);
  }

  get owner() {
    return this.#owner.public;
  }

  // ------------------------------------------------------------ directory and admins

  /**
   * Add a public identity to the directory. A changed identity for a known id is refused with
   * E_POLICY unless `replace` is given explicitly (spec/keyring.md: never replaced silently).
   */
  addIdentity(identity, { replace = false } = {}) {
    const pub = typeof identity === 'string' ? PublicIdentity.fromJSON(identity) : identity;
    const known = this.#directory.get(pub.id);
    if (known && !known.equals(pub) && !replace) throw new PolicyError('a different identity is already known for this id');
    this.#directory.set(pub.id, pub);
    return pub;
  }

  identity(id) {
    return this.#directory.get(id) ?? null;
  }

  /** Trust an identity (or a 32-byte fingerprint) as an admin of a room. */
  trustAdmin(roomId, identityOrFingerprint) {
    const fp = identityOrFingerprint instanceof Uint8Array ? identityOrFingerprint : identityOrFingerprint.fingerprint;
    if (!this.#admins.has(roomId)) this.#admins.set(roomId, new Set());
    this.#admins.get(roomId).add(toHex(fp));
  }

  /** Only the room's admins may rotate it (spec/keyring.md, "Authority"). */
  requireAdminRotation(roomId) {
    this.#adminRotation.add(roomId);
  }

  isAdmin(roomId, fingerprint) {
    return this.#admins.get(roomId)?.has(toHex(fingerprint)) ?? false;
  }

  // ------------------------------------------------------------ state

  #room(roomId) {
    return this.#rooms.get(roomId) ?? new Map();
  }

  /** The record of (room, epoch), or null. */
  epochRecord(roomId, epoch) {
    return this.#room(roomId).get(epoch) ?? null;
  }

  latestEpoch(roomId) {
    let latest = 0;
    for (const e of this.#room(roomId).keys()) if (e > latest) latest = e;
    return latest;
  }

  /** Every held (room, epoch) with its key id and secret, sorted by room id then epoch. */
  held() {
    const out = [];
    for (const roomId of [...this.#rooms.keys()].sort(compareAscii)) {
      const room = this.#rooms.get(roomId);
      for (const epoch of [...room.keys()].sort((a, b) => a - b)) {
        const rec = room.get(epoch);
        out.push({ roomId, epoch, keyId: rec.roomKey.keyId, secret: rec.roomKey.secret });
      }
    }
    return out;
  }

  #commit(roomId, epoch, record) {
    if (!this.#rooms.has(roomId)) this.#rooms.set(roomId, new Map());
    this.#rooms.get(roomId).set(epoch, record);
  }

  // ------------------------------------------------------------ accepting

  /** Accept a bundle, a slice or a history bundle. Returns {roomId, epochs, kind}. */
  async accept(bytes) {
    if (!(bytes instanceof Uint8Array)) throw new FormatError('bundle', 'not bytes');
    const magic = bytes.subarray(0, 4);
    if (sameBytes(magic, MAGIC_BUNDLE)) return this.acceptRotation(parseBundle(bytes));
    if (sameBytes(magic, MAGIC_SLICE)) return this.acceptRotation(parseSlice(bytes));
    if (sameBytes(magic, MAGIC_HISTORY)) return this.acceptHistory(parseHistory(bytes));
    throw new FormatError('magic', 'not a bundle, slice or history bundle');
  }

  #privateKeyFor(kem) {
    return kem.id === KEM_XWING.id ? this.#owner.xwingSeed : this.#owner.x25519Private;
  }

  /** Steps 2-10 of spec/bundle.md#verification on a parsed bundle or slice. */
  async acceptRotation(b) {
    const owner = this.#owner.public;
    // 2. the rotator's public identity
    const rotator = this.#directory.get(b.rotatorId);
    if (!rotator) throw new UnknownSenderError('the rotator is not known');
    // 3. signature
    if (!rotator.verify(bundleSignedBytes(b.headerBytes), b.signature)) throw new AuthError();
    // 4. freshness, with the roster fill-in exception
    const room = this.#room(b.roomId);
    const heldRecord = room.get(b.epoch);
    if (b.kind === 'bundle' && heldRecord && heldRecord.roster === null && sameBytes(heldRecord.headerBytes, b.headerBytes)) {
      return this.#fillRoster(b, heldRecord);
    }
    for (const e of room.keys()) if (e >= b.epoch) throw new StaleError();
    // 5. authority
    if (!this.#rotatorAuthorized(b, rotator)) throw new UnauthorizedError('the rotator is neither an admin nor a member of the previous epoch');
    // 6. root of a full bundle
    if (b.kind === 'bundle' && !constantTimeEqual(merkleRoot(b.members.map(memberLeaf)), b.root)) throw new AuthError();
    // 7. listed, with this identity
    let entry;
    if (b.kind === 'bundle') {
      entry = b.members.find((m) => m.id === owner.id);
    } else {
      entry = b.member.id === owner.id ? b.member : undefined;
    }
    if (!entry) throw new NotRecipientError();
    if (!constantTimeEqual(entry.fingerprint, owner.fingerprint)) throw new NotRecipientError('listed with another identity');
    // 8. slice inclusion path
    if (b.kind === 'slice' && !verifyInclusion(memberLeaf(entry), b.index, b.memberCount, b.path, b.root)) throw new AuthError();
    // 9. unwrap and check the key id
    const roomKey = await unwrapRoomKey({
      kem: b.kem, label: INFO_WRAP, suite: b.suite, roomId: b.roomId, epoch: b.epoch, keyId: b.keyId,
      recipientId: owner.id, recipientPrivate: this.#privateKeyFor(b.kem), wrapped: entry.wrapped,
    });
    // 10. commit
    this.#commit(b.roomId, b.epoch, {
      roomKey, kem: b.kem, root: b.root, memberCount: b.memberCount, headerBytes: b.headerBytes,
      issuedAt: b.issuedAt, roster: b.kind === 'bundle' ? rosterOf(b.members.map((m) => [m.id, m.fingerprint])) : null,
      source: b.kind, sealed: 0, used: 0,
    });
    return { roomId: b.roomId, epochs: [b.epoch], kind: b.kind };
  }

  /** The exception of step 4: a full bundle with the header held from a slice fills in the roster. */
  #fillRoster(b, rec) {
    const owner = this.#owner.public;
    // The header (signed, already accepted) fixes root and member count: only the member list is new.
    if (!constantTimeEqual(merkleRoot(b.members.map(memberLeaf)), b.root)) throw new AuthError();
    const entry = b.members.find((m) => m.id === owner.id);
    if (!entry) throw new NotRecipientError();
    if (!constantTimeEqual(entry.fingerprint, owner.fingerprint)) throw new NotRecipientError('listed with another identity');
    rec.roster = rosterOf(b.members.map((m) => [m.id, m.fingerprint]));
    return { roomId: b.roomId, epochs: [b.epoch], kind: 'roster' };
  }

  #rotatorAuthorized(b, rotator) {
    if (this.isAdmin(b.roomId, rotator.fingerprint)) return true;
    if (b.epoch < 2 || this.#adminRotation.has(b.roomId)) return false;
    const prev = this.epochRecord(b.roomId, b.epoch - 1);
    if (!prev) return false;
    return this.#memberOf(prev, b.rotatorId, rotator.fingerprint, b.proof);
  }

  /** Membership of a held epoch: by its roster, else by a proof against its root and member count. */
  #memberOf(rec, id, fingerprint, proof) {
    if (rec.roster) {
      const fp = rec.roster.get(id);
      if (fp && constantTimeEqual(fp, fingerprint)) return true;
    }
    if (proof && rec.root) {
      return verifyInclusion(leafHash(id, fingerprint, proof.wrappedDigest), proof.index, rec.memberCount, proof.path, rec.root);
    }
    return false;
  }

  /** Steps 2-8 of spec/history.md#verification on a parsed history bundle. */
  async acceptHistory(h) {
    const owner = this.#owner.public;
    // 2. recipient
    if (h.recipientId !== owner.id) throw new NotRecipientError();
    // 3. sharer identity
    const sharer = this.#directory.get(h.sharerId);
    if (!sharer) throw new UnknownSenderError('the sharer is not known');
    // 4. signature
    if (!sharer.verify(historySignedBytes(h.bodyBytes), h.signature)) throw new AuthError();
    // 5. anchor epoch held
    const anchor = this.epochRecord(h.roomId, h.anchorEpoch);
    if (!anchor) throw new UnknownKeyError('the anchor epoch is not held');
    // 6. authority
    if (!this.isAdmin(h.roomId, sharer.fingerprint) && !this.#memberOf(anchor, h.sharerId, sharer.fingerprint, h.proof)) {
      throw new UnauthorizedError('the sharer is neither an admin nor a member of the anchor epoch');
    }
    // 7. unwrap every entry; a held epoch must carry the held key id
    const fresh = [];
    for (const e of h.entries) {
      const roomKey = await unwrapRoomKey({
        kem: h.kem, label: INFO_HISTORY_WRAP, suite: e.suite, roomId: h.roomId, epoch: e.epoch, keyId: e.keyId,
        recipientId: owner.id, recipientPrivate: this.#privateKeyFor(h.kem), wrapped: e.wrapped,
      });
      const held = this.epochRecord(h.roomId, e.epoch);
      if (held) {
        if (held.roomKey.suite.id !== e.suite.id || !constantTimeEqual(held.roomKey.keyId, e.keyId)) throw new AuthError();
        continue;
      }
      fresh.push({ e, roomKey });
    }
    // 8. commit
    for (const { e, roomKey } of fresh) {
      this.#commit(h.roomId, e.epoch, {
        roomKey, kem: h.kem, root: null, memberCount: null, headerBytes: null, issuedAt: h.issuedAt,
        roster: rosterOf(e.roster), source: 'history', sealed: 0, used: 0,
      });
    }
    return { roomId: h.roomId, epochs: fresh.map((x) => x.e.epoch), kind: 'history' };
  }

  // ------------------------------------------------------------ opening

  /**
   * Open a sealed message (Uint8Array binary form or JSON string) by spec/keyring.md#opening.
   * checkReplay: false only for the explicit re-reading of stored history (skips the superseded-epoch
   * and replay steps).
   */
  open(input, { checkReplay = true } = {}) {
    // 1. parse
    const msg = SealedMessage.parse(input);
    // 2. the epoch with this key id
    const rec = this.epochRecord(msg.roomId, msg.epoch);
    if (!rec || rec.roomKey.suite.id !== msg.suite.id || !rec.roomKey.hasKeyId(msg.keyId)) throw new UnknownKeyError();
    // 3. sender
    let sender = null;
    if (msg.signed) {
      sender = this.#directory.get(msg.senderId);
      if (!sender) throw new UnknownSenderError();
      if (rec.roster === null) throw new UnknownSenderError("the epoch's roster is not held yet");
      const fp = rec.roster.get(msg.senderId);
      if (!fp || !constantTimeEqual(fp, sender.fingerprint)) throw new UnauthorizedError('the sender is not a member of the epoch');
    } else {
      if (!this.allowUnsigned) throw new PolicyError('unsigned mode is off');
      if (rec.roster !== null && !rec.roster.has(msg.senderId)) throw new UnauthorizedError('the sender is not a member of the epoch');
    }
    // 4. open with the epoch's key
    const opened = openParsed(rec.roomKey, msg, { sender, mode: 'any' });
    if (checkReplay) {
      // 5. superseded epoch
      const latest = this.latestEpoch(msg.roomId);
      if (msg.epoch < latest) {
        if (!msg.signed) throw new StaleError('an unsigned message in a superseded epoch');
        const latestRoster = this.epochRecord(msg.roomId, latest).roster;
        if (latestRoster) {
          const fp = latestRoster.get(msg.senderId);
          if (!fp || !constantTimeEqual(fp, sender.fingerprint)) throw new UnauthorizedError('the sender is not a member of the latest epoch');
        }
      }
      // 6. replay
      const k = ReplayWindow.key(msg.roomId, msg.epoch, msg.senderId, msg.messageId);
      if (this.#replay.has(k)) throw new ReplayError();
      this.#replay.add(k);
    }
    rec.used += 1;
    return opened;
  }

  // ------------------------------------------------------------ sealing

  /**
   * Seal with the latest epoch of a room, signed by the owner unless `signed: false`.
   * Counts against the per-(epoch, sender) bound (E_KEY_EXHAUSTED).
   */
  seal(roomId, content, { messageId, contentType, padded = true, signed = true } = {}) {
    const epoch = this.latestEpoch(roomId);
    if (!epoch) throw new UnknownKeyError('no epoch held for this room');
    const rec = this.epochRecord(roomId, epoch);
    const msg = _sealWithNonce(
      rec.roomKey,
      content,
      {
        senderId: this.#owner.id,
        messageId: messageId ?? b64uEncode(randomBytes(16)),
        contentType,
        padded,
        signer: signed ? this.#owner : null,
        counter: this.#counter,
      },
      randomBytes(rec.roomKey.suite.nonceLength),
    );
    rec.sealed += 1;
    rec.used += 1;
    return msg;
  }
}

export { sha256 };
