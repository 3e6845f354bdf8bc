// Shared by the unit tests: identities, key rings and a small room whose epochs chain.
import { Identity, KeyRing, RoomKey, ZERO_HASH } from '../src/index.mjs';
import { sha256 } from '@noble/hashes/sha2.js';
import { _buildBundle, encodeAnnouncement, proofOfMember } from '../src/bundle.mjs';
import { ByteWriter } from '../src/encoding.mjs';
import { encodeHeader, epochSignedBytes } from '../src/header.mjs';
import { MAGIC_BUNDLE, MAGIC_SLICE } from '../src/labels.mjs';
import { inclusionPath, merkleRoot } from '../src/merkle.mjs';
import { memberLeaf, writeAuthority, writeMember, writePath, writeProof } from '../src/memberproof.mjs';
import { namedLists, writeLists } from '../src/lists.mjs';

export const enc = (s) => new TextEncoder().encode(s);

/** The error code an async call fails with, or 'no error'. */
export async function codeOf(fn) {
  try {
    await fn();
  } catch (e) {
    return e.code ?? String(e);
  }
  return 'no error';
}

export async function people(names, opts = {}) {
  const ids = {};
  for (const n of names) ids[n] = await Identity.generate(n, opts);
  return ids;
}

/** A key ring for `me` that trusts `anchor` (an Identity) to let it join `roomId`. */
export function ringFor(me, anchor, roomId = 'room', opts = {}) {
  const ring = new KeyRing(me, opts);
  if (anchor) ring.trustAnchor(roomId, anchor.public);
  return ring;
}

/**
 * Build epoch `epoch` of `roomId` on top of `prev` (an earlier result of this function, or null for epoch 1).
 * Admins and policy default to prev's; `rotator` and `members` are Identities.
 */
export async function epochOf({ rotator, members, prev = null, epoch, roomId = 'room', kem = 1, suite = 'A256GCM', flags, admins, maxMessages, maxAgeSeconds, authority = null, issuedAt = 1000, lists = [] }) {
  const e = epoch ?? (prev ? prev.header.epoch + 1 : 1);
  const roomKey = RoomKey.generate({ roomId, epoch: e, suite });
  const b = await _buildBundle(
    {
      rotator, roomKey, kem, previous: prev ? prev.epochHash : ZERO_HASH, issuedAt,
      flags: flags ?? (prev ? prev.header.flags & 1 : 0),
      maxMessages: maxMessages ?? prev?.header.maxMessages ?? 100,
      maxAgeSeconds: maxAgeSeconds ?? prev?.header.maxAgeSeconds ?? 604800,
      admins: admins ? admins.map((a) => ({ id: a.id, fingerprint: a.fingerprint })).sort((a, b) => (a.id < b.id ? -1 : 1)) : prev ? prev.header.admins : [{ id: rotator.id, fingerprint: rotator.fingerprint }],
      members: members.map((m) => m.public), authority, lists,
    },
    null,
  );
  return { ...b, roomKey };
}

/**
 * A bundle, slices and announcement written from raw parts, signed by `signer` (an Identity) whatever the header
 * says: for the MUST-reject tests. entries: [{keys (key record), wrapped}] sorted by id; header: encodeHeader fields;
 * lists: parsed device lists, written as given (`lists`) or as each structure's entries name them (default).
 */
export function forge({ signer, header, entries, authority = null, rotatorIndex = 0, lists = [], exactLists = null }) {
  const withDigest = entries.map((e) => ({ ...e.keys, wrapped: e.wrapped, wrappedDigest: sha256(e.wrapped) }));
  const leaves = withDigest.map(memberLeaf);
  const h = encodeHeader({ ...header, memberCount: entries.length, root: header.root ?? merkleRoot(leaves) });
  const signature = signer.sign(epochSignedBytes(h));
  const w = new ByteWriter().bytes(MAGIC_BUNDLE).bytes(h.bytes).bytes(signature);
  writeAuthority(w, authority);
  const section = (named) => exactLists ?? namedLists(named, lists);
  writeLists(w, section(withDigest));
  for (const m of withDigest) writeMember(w, m);
  const rotatorProof = proofOfMember(withDigest, rotatorIndex, leaves);
  const slice = (i, over = {}) => {
    const sw = new ByteWriter().bytes(MAGIC_SLICE).bytes(h.bytes).bytes(signature);
    writeAuthority(sw, authority);
    writeProof(sw, over.rotatorProof ?? rotatorProof);
    writeLists(sw, section([over.rotatorProof ?? rotatorProof, withDigest[i]]));
    writeMember(sw, withDigest[i]).u32(over.index ?? i);
    return writePath(sw, over.path ?? inclusionPath(i, leaves)).finish();
  };
  return { bundle: w.finish(), header: h, slice, announcement: encodeAnnouncement({ header: h, signature, authority, rotatorProof, lists }), members: withDigest };
}
