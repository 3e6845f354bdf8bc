// Acceptance of bundles, slices and announcements against a participant's chain (spec/bundle.md#verification),
// and of member proof files. Every check runs before anything changes: a check returns a plan, and the key ring
// applies the plan only when every step passed.
import { constantTimeEqual, toHex } from './encoding.mjs';
import {
  AuthError, DowngradeError, FormatError, ForkError, GapError, NotRecipientError, StaleError, UnauthorizedError, UnknownKeyError,
} from './errors.mjs';
import { validateEd25519Public, ed25519VerifyStrict } from './ed25519.mjs';
import { FLAG_DOWNGRADE, FLAG_MEMBERS_MAY_ROTATE, epochHash, epochSignedBytes, isAdmin, sameGovernance } from './header.mjs';
import { encodeAnnouncement, proofOfMember } from './bundle.mjs';
import { merkleRoot } from './merkle.mjs';
import { memberLeaf, verifyProof } from './memberproof.mjs';
import { checkLists, checkRollback, namedLists } from './lists.mjs';
import { INFO_WRAP, KEM_CLASSIC, KEM_XWING, unwrapRoomKey } from './wrap.mjs';

export const sameBytes = (a, b) => a.length === b.length && constantTimeEqual(a, b);

/** A roster entry {id, x25519, ed25519, xwing, fingerprint, listDigest, wrappedDigest} of a member, proof or history entry. */
export const keysOnly = ({ id, x25519, ed25519, xwing, fingerprint, listDigest, wrappedDigest }) => ({ id, x25519, ed25519, xwing, fingerprint, listDigest, wrappedDigest });

/** The entries whose device lists a structure carries (spec/users.md, step 4b). */
function listedEntries(s) {
  if (s.kind === 'bundle') return s.members;
  if (s.kind === 'slice') return [s.rotatorProof, s.member];
  return [s.rotatorProof];
}

/** The owner's private key for a KEM (null when it has none: the unwrap then fails with E_AUTH). */
export function privateKeyFor(owner, kem) {
  return kem.id === KEM_XWING.id ? owner.xwingSeed : owner.x25519Private;
}

/** A held record's announcement (evidence), or its bare header when it came from a history bundle. */
export function evidenceOf(rec) {
  if (!rec.signature) return { kind: 'header', bytes: rec.header.bytes };
  return { kind: 'announcement', bytes: encodeAnnouncement(rec) };
}

/** Step 2: the rotator's keys come from the structure itself. */
function rotatorOf(s) {
  const h = s.header;
  if (s.kind === 'bundle') {
    const i = s.members.findIndex((m) => m.id === h.rotatorId);
    if (i < 0) throw new UnauthorizedError('the rotator is not a member of its epoch');
    return { rotator: s.members[i], rotatorProof: proofOfMember(s.members, i) };
  }
  if (s.rotatorProof.id !== h.rotatorId) throw new FormatError('rotator_proof.id', 'not rotator_id');
  return { rotator: s.rotatorProof, rotatorProof: s.rotatorProof };
}

/** Step 6 (extend) authority against a held E - 1: throws E_UNAUTHORIZED. */
export function checkAuthority(prev, h, rotator, authority) {
  if (isAdmin(prev.header, rotator.id, rotator.fingerprint)) return;
  let member = false;
  if (prev.header.flags & FLAG_MEMBERS_MAY_ROTATE) {
    const listed = prev.roster.get(rotator.id);
    if (listed && sameBytes(listed.fingerprint, rotator.fingerprint)) member = true;
    else if (authority && sameBytes(authority.fingerprint, rotator.fingerprint) && verifyProof(authority, prev.header)) member = true;
  }
  if (!member) throw new UnauthorizedError('the rotator is not an admin (nor, where allowed, a member) of the previous epoch');
  if (!sameGovernance(prev.header, h)) throw new UnauthorizedError('a rotator that is not an admin changed admins or policy');
}

function isAuthorised(fn) {
  try {
    fn();
    return true;
  } catch (e) {
    if (e instanceof UnauthorizedError) return false;
    throw e;
  }
}

/**
 * Steps 2 to 8 for a parsed bundle, slice or announcement. `room` is the owner's room state or null;
 * `anchors` the room's join anchors (Set of fingerprint hex); `users` the owner's UserBook (pinned user keys, held
 * lists). Returns {result, record, fill, lists}: `lists` are the device lists to keep on commit.
 */
export async function checkRotation(owner, room, anchors, s, users) {
  const plan = await checkSteps(owner, room, anchors, s, users);
  return { ...plan, lists: s.lists };
}

/**
 * Steps 2 to 4b of a parsed bundle, slice or announcement (also a restored announcement, spec/backup.md#restoring
 * step 6): the rotator's identity and key, the signature, the root or rotator proof, the device lists. Returns
 * {rotator, rotatorProof}.
 */
export function checkSigned(s, users) {
  const h = s.header;
  // 2. the rotator's identity, and its key
  const { rotator, rotatorProof } = rotatorOf(s);
  validateEd25519Public(rotator.ed25519);
  // 3. signature
  if (!ed25519VerifyStrict(rotator.ed25519, epochSignedBytes(h), s.signature)) throw new AuthError();
  // 4. root, or the rotator's proof
  if (s.kind === 'bundle') {
    if (!sameBytes(merkleRoot(s.members.map(memberLeaf)), h.root)) throw new AuthError();
  } else if (!verifyProof(s.rotatorProof, h)) throw new AuthError();
  // 4b. the device lists the carried entries name
  checkLists(listedEntries(s), s.lists, (u) => users.pinned(u), { complete: s.kind === 'bundle', equivocation: (l) => users.checkEquivocation(l) });
  return { rotator, rotatorProof };
}

/** Step 6's DOWNGRADE rule against E - 1: the flag is set exactly when the KEM goes from X-Wing to classic. */
export function checkDowngrade(prevHeader, h) {
  const lowered = prevHeader.kem.id === KEM_XWING.id && h.kem.id === KEM_CLASSIC.id;
  if (lowered !== ((h.flags & FLAG_DOWNGRADE) !== 0)) throw new DowngradeError();
}

async function checkSteps(owner, room, anchors, s, users) {
  const h = s.header;
  const me = owner.public;
  const { rotator, rotatorProof } = checkSigned(s, users);
  const incoming = () => ({ kind: 'announcement', bytes: encodeAnnouncement({ ...s, rotatorProof }) });
  // 5. position in the chain
  const held = room && room.epochs.size > 0 ? room : null;
  let join = false;
  let mine = null; // P's record of E when the input may add its key (a link listed now)
  if (!held) join = true;
  else if (held.epochs.has(h.epoch)) {
    mine = held.epochs.get(h.epoch);
    if (sameBytes(mine.header.bytes, h.bytes)) {
      const listsMe = s.kind === 'bundle' ? s.members.some((m) => m.id === me.id) : s.kind === 'slice' && s.member.id === me.id;
      if (!(listsMe && !mine.roomKey)) {
        if (s.kind === 'bundle' && !mine.full) return fillRoster(s);
        throw new StaleError('this epoch is already held with this header');
      }
    } else {
      const prev = held.epochs.get(h.epoch - 1);
      const ok = prev
        ? isAuthorised(() => checkAuthority(prev, h, rotator, s.authority))
        : isAdmin(mine.header, rotator.id, rotator.fingerprint);
      if (ok) throw new ForkError([evidenceOf(mine), incoming()], 'two signed headers for one epoch');
      throw new UnauthorizedError('a different header from a signer who may not sign it');
    }
  } else if (h.epoch > held.latest + 1) throw new GapError(`missing epochs ${held.latest + 1} to ${h.epoch - 1}`);
  else if (h.epoch < held.first) throw new StaleError('older than the first held epoch');
  // 6. authority (not for a held header gaining its key: it was checked when the header was accepted)
  if (mine) {
    // go to step 7
  } else if (join) {
    if (!anchors?.has(toHex(rotator.fingerprint)) || !isAdmin(h, rotator.id, rotator.fingerprint)) {
      throw new UnauthorizedError('a join needs a trusted anchor that is an admin of the epoch');
    }
  } else {
    const prev = held.epochs.get(h.epoch - 1);
    checkAuthority(prev, h, rotator, s.authority);
    if (!sameBytes(h.previous, epochHash(prev.header))) {
      throw new ForkError([evidenceOf(prev), incoming()], 'the header does not build on the held chain');
    }
    checkDowngrade(prev.header, h);
    checkRollback(prev.roster, s.lists, (d) => users.list(d));
  }
  // 7. recipient
  let entry = null;
  if (s.kind === 'bundle') {
    entry = s.members.find((m) => m.id === me.id) ?? null;
    if (entry && !sameBytes(entry.fingerprint, me.fingerprint)) throw new NotRecipientError('listed with another identity');
    if (!entry && join) throw new NotRecipientError();
  } else if (s.kind === 'slice') {
    if (s.member.id !== me.id || !sameBytes(s.member.fingerprint, me.fingerprint)) throw new NotRecipientError();
    if (!verifyProof({ ...s.member, index: s.index, path: s.path }, h)) throw new AuthError();
    entry = s.member;
  } else if (join) throw new NotRecipientError('an announcement cannot start a chain');
  // 8. unwrap
  const roomKey = entry ? await unwrap(owner, h, entry.wrapped) : null;
  // 9. the record to commit
  const kind = roomKey ? s.kind : 'link';
  const result = { roomId: h.roomId, epochs: [h.epoch], kind };
  if (mine) {
    // a link gains its key; a bundle also brings the full roster, a slice the members it proves
    const roster = s.kind === 'bundle' || mine.full ? null : new Map(mine.roster);
    if (roster) roster.set(entry.id, keysOnly(entry)).set(rotator.id, keysOnly(rotator));
    const ownProof = s.kind === 'slice' ? { ...entry, index: s.index, path: s.path } : undefined;
    return { result, fill: { roomKey, roster: s.kind === 'bundle' ? rosterOf(s.members) : roster, ownProof } };
  }
  const roster = s.kind === 'bundle' ? rosterOf(s.members) : new Map([[rotator.id, keysOnly(rotator)]]);
  if (entry && s.kind === 'slice') roster.set(entry.id, keysOnly(entry));
  const ownProof = s.kind === 'slice' ? { ...entry, index: s.index, path: s.path } : null; // for a partial roster
  const record = {
    header: h, signature: s.signature, authority: s.authority, rotatorProof, lists: namedLists([rotatorProof], s.lists),
    roomKey, roster, full: s.kind === 'bundle', ownProof,
  };
  return { result, record };
}

async function unwrap(owner, h, wrapped) {
  return unwrapRoomKey({
    kem: h.kem, label: INFO_WRAP, suite: h.suite, roomId: h.roomId, epoch: h.epoch, keyId: h.keyId,
    recipientId: owner.id, recipientPrivate: privateKeyFor(owner, h.kem), wrapped,
  });
}

function rosterOf(members) {
  return new Map(members.map((m) => [m.id, keysOnly(m)]));
}

/** Step 5: a full bundle for a held header without a full roster adds the roster (then step 9). */
function fillRoster(s) {
  return { result: { roomId: s.header.roomId, epochs: [s.header.epoch], kind: 'roster' }, fill: { roster: rosterOf(s.members), roomKey: null } };
}

/** A member proof file (spec/bundle.md#verification, last paragraph; its device list: spec/users.md, steps 4b 1 to 3). */
export function checkMemberProof(room, f, users) {
  const rec = room?.epochs.get(f.epoch);
  if (!rec) throw new UnknownKeyError('the epoch of this member proof is not held');
  if (!verifyProof(f.proof, rec.header)) throw new AuthError();
  const listed = rec.roster.get(f.proof.id);
  if (listed && !sameBytes(listed.fingerprint, f.proof.fingerprint)) throw new AuthError();
  checkLists([f.proof], f.lists, (u) => users.pinned(u), { equivocation: (l) => users.checkEquivocation(l) });
  // `epochs` lists what the step added or changed: nothing when the member was already in the roster
  return { result: { roomId: f.roomId, epochs: listed ? [] : [f.epoch], kind: 'member' }, member: listed ? null : keysOnly(f.proof) };
}
