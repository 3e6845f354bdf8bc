// Rotation and history sharing from a key ring (spec/bundle.md#rotation, spec/history.md#sharing): the next header
// is derived from the newest held epoch, the rotator's own pins are enforced, and the new bundle is accepted into
// the rotator's key ring as the last step that can fail.
import { compareAscii, constantTimeEqual } from './encoding.mjs';

const sameBytes = (a, b) => a.length === b.length && constantTimeEqual(a, b);
import { FormatError, PolicyError } from './errors.mjs';
import { FLAG_DOWNGRADE, FLAG_MEMBERS_MAY_ROTATE, ZERO_HASH, epochHash, isAdmin } from './header.mjs';
import { buildBundle, memberProof, proofOfMember } from './bundle.mjs';
import { _buildHistory } from './history.mjs';
import { RoomKey } from './keys.mjs';
import { KEM_CLASSIC, KEM_XWING, toKem } from './wrap.mjs';
import { listsDevice } from './devicelist.mjs';
import { userOfDevice } from './userkey.mjs';

/**
 * spec/users.md#rotation: each member user expands to every device of its newest held list, with the pinned
 * identity whose fingerprint the list names (one not held is a local error); a device member given directly must be
 * on its user's newest held list. Returns {members, lists}.
 */
function expandUsers(ring, members, users) {
  const out = new Map(members.map((m) => [m.id, m]));
  const lists = new Map();
  for (const u of users) {
    const list = ring.newestList(u);
    if (!list) throw new PolicyError(`no device list held for user ${u}`);
    for (const d of list.devices) {
      const pub = ring.identity(d.id);
      if (!pub || !sameBytes(pub.fingerprint, d.fingerprint)) throw new PolicyError(`the identity of ${d.id} that ${u}'s list names is not held`);
      out.set(d.id, pub);
    }
  }
  for (const m of out.values()) {
    const user = userOfDevice(m.id, 'members');
    if (user === null) continue;
    const list = ring.newestList(user);
    if (!list || !listsDevice(list, m.id, m.fingerprint)) throw new PolicyError(`${m.id} is not on its user's newest held list`);
    lists.set(user, list);
  }
  return { members: [...out.values()], lists: [...lists.values()] };
}

/** The owner's member proof of a held epoch: from its full roster, or the one its slice carried. */
export function ownProofOf(rec, ownerId) {
  if (rec.full) {
    const members = [...rec.roster.values()].sort((a, b) => compareAscii(a.id, b.id));
    const i = members.findIndex((m) => m.id === ownerId);
    if (i >= 0) return proofOfMember(members, i);
  }
  if (rec.ownProof) return rec.ownProof;
  throw new PolicyError('not a member of that epoch');
}

/**
 * Rotate a room to epoch latest + 1 (or create it at epoch 1). opts: members (PublicIdentity[], the owner included)
 * and/or users (user ids: every device of each user's newest held list), and optionally kem, suite, admins ([{id, fingerprint}]), membersMayRotate, maxMessages, maxAgeSeconds, issuedAt,
 * share: [{recipient: PublicIdentity, epochs: [int]}] (history bundles for joiners, anchored at the new epoch).
 * Returns {bundle, announcement, slices, header, epochHash, histories: [bytes]}.
 */
export async function rotate(ring, owner, roomId, opts) {
  const latest = ring.latestEpoch(roomId);
  const prev = latest ? ring.epochRecord(roomId, latest) : null;
  if (prev && !prev.roomKey) throw new PolicyError('the latest epoch is held as a link: not a member');
  const { members, lists } = expandUsers(ring, opts.members ?? [], opts.users ?? []);
  opts = { ...opts, members };
  for (const m of opts.members) {
    const pinned = ring.identity(m.id);
    if (pinned && !pinned.equals(m)) throw new PolicyError(`${m.id} differs from the pinned identity: replace the pin explicitly`);
  }
  if (!opts.members.some((m) => m.id === owner.id)) throw new PolicyError('the rotator must be a member of its epoch');
  const ph = prev?.header;
  const kem = toKem(opts.kem ?? ph?.kem ?? KEM_CLASSIC);
  const lowered = ph?.kem.id === KEM_XWING.id && kem.id === KEM_CLASSIC.id;
  const mayRotate = opts.membersMayRotate ?? (ph ? (ph.flags & FLAG_MEMBERS_MAY_ROTATE) !== 0 : false);
  const admin = !ph || isAdmin(ph, owner.id, owner.fingerprint);
  // Removing an admin from the room removes it from the admin set (only an admin may do that); so does its removal
  // from its user's device list (spec/users.md#rotation), which `members` then no longer holds.
  const listed = (a) => opts.members.some((m) => m.id === a.id && sameBytes(m.fingerprint, a.fingerprint));
  let admins = opts.admins ?? ph?.admins.filter(listed) ?? [{ id: owner.id, fingerprint: owner.fingerprint }];
  if (!opts.admins && ph && admins.length !== ph.admins.length && !admin) throw new PolicyError('only an admin may remove an admin');
  if (!admins.length) throw new PolicyError('the room would have no admin left');
  admins = [...admins].sort((a, b) => compareAscii(a.id, b.id));
  const roomKey = RoomKey.generate({ roomId, epoch: latest + 1, suite: opts.suite ?? ph?.suite ?? 'A256GCM' });
  const built = await buildBundle({
    rotator: owner, roomKey, kem, previous: ph ? epochHash(ph) : ZERO_HASH,
    issuedAt: BigInt(opts.issuedAt ?? Math.floor(Date.now() / 1000)),
    flags: (mayRotate ? FLAG_MEMBERS_MAY_ROTATE : 0) | (lowered ? FLAG_DOWNGRADE : 0),
    maxMessages: opts.maxMessages ?? ph?.maxMessages ?? 100,
    maxAgeSeconds: opts.maxAgeSeconds ?? ph?.maxAgeSeconds ?? 604800,
    admins,
    members: opts.members,
    lists,
    authority: admin ? null : ownProofOf(prev, owner.id),
  });
  const anchor = { header: built.header, proof: memberProof(built.bundle, owner.id) };
  const histories = [];
  for (const s of opts.share ?? []) histories.push(await shareHistory(ring, owner, roomId, { ...s, anchor }));
  if (!prev) ring.trustAnchor(roomId, owner.public); // the creator is its own anchor
  await ring.accept(built.bundle); // the last step that can fail
  return { ...built, histories };
}

/**
 * A history bundle for `recipient` sharing the keys of `epochs`, anchored at `anchorEpoch` (default: the latest held
 * epoch) or at `anchor` ({header, proof}, a rotation in progress). Epochs between are link-only entries.
 */
export async function shareHistory(ring, owner, roomId, { recipient, epochs, anchorEpoch, anchor, issuedAt }) {
  if (!anchor) {
    const rec = ring.epochRecord(roomId, anchorEpoch ?? ring.latestEpoch(roomId));
    if (!rec) throw new PolicyError('the anchor epoch is not held');
    anchor = { header: rec.header, proof: ownProofOf(rec, owner.id) };
  }
  if (!epochs.length) throw new FormatError('epochs', 'nothing to share');
  const wanted = new Set(epochs);
  const entries = [];
  for (let e = Math.min(...epochs); e < anchor.header.epoch; e++) {
    const rec = ring.epochRecord(roomId, e);
    if (!rec) throw new PolicyError(`epoch ${e} is not held`);
    if (!wanted.has(e)) {
      entries.push({ header: rec.header, secret: null, roster: [] });
      continue;
    }
    if (!rec.roomKey || !rec.full) throw new PolicyError(`sharing epoch ${e} needs its key and its full roster`);
    entries.push({ header: rec.header, secret: rec.roomKey.secret, roster: [...rec.roster.values()] });
  }
  return _buildHistory({
    sharer: owner, recipient, roomId, anchorEpoch: anchor.header.epoch, kem: anchor.header.kem,
    issuedAt: BigInt(issuedAt ?? Math.floor(Date.now() / 1000)), sharerProof: anchor.proof,
    entries: entries.map((x) => ({ ...x, ephemeral: null })),
  });
}
