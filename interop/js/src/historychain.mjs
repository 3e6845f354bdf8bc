// Verification of a history bundle against the recipient's chain (spec/history.md#verification), in spec order.
// Returns a plan that the key ring applies only when every step passed.
import { AuthError, DowngradeError, NotRecipientError, UnauthorizedError, UnknownKeyError } from './errors.mjs';
import { ed25519VerifyStrict, validateEd25519Public } from './ed25519.mjs';
import { epochHash } from './header.mjs';
import { historySignedBytes } from './history.mjs';
import { merkleRoot } from './merkle.mjs';
import { memberLeaf, verifyProof } from './memberproof.mjs';
import { INFO_HISTORY_WRAP, unwrapRoomKey } from './wrap.mjs';
import { keysOnly, privateKeyFor, sameBytes } from './chain.mjs';

/** Steps 2 to 8. `room`: the owner's room state or null. Returns {result, records: [{epoch, record | null, gain}]}. */
export async function checkHistory(owner, room, h) {
  const me = owner.public;
  // 2. recipient
  if (h.recipientId !== me.id) throw new NotRecipientError('a history bundle for another participant');
  // 3. anchor epoch held
  const anchor = room?.epochs.get(h.anchorEpoch);
  if (!anchor) throw new UnknownKeyError('the anchor epoch is not held');
  // 4. the sharer is a member of the anchor epoch
  const p = h.sharerProof;
  if (!verifyProof(p, anchor.header)) throw new UnauthorizedError('the sharer is not a member of the anchor epoch');
  if (anchor.full) {
    const listed = anchor.roster.get(p.id);
    if (!listed || !sameBytes(listed.fingerprint, p.fingerprint)) throw new UnauthorizedError('the sharer is not in the anchor roster');
  }
  // 5. signature
  validateEd25519Public(p.ed25519);
  if (!ed25519VerifyStrict(p.ed25519, historySignedBytes(h.bodyBytes), h.signature)) throw new AuthError();
  // 6. KEM
  if (h.kem.id !== anchor.header.kem.id) throw new DowngradeError('the history bundle is wrapped with another KEM than its anchor epoch');
  // 7. chain
  const n = h.entries.length;
  for (let i = 0; i < n; i++) {
    const next = i + 1 < n ? h.entries[i + 1].header.previous : anchor.header.previous;
    if (!sameBytes(epochHash(h.entries[i].header), next)) throw new AuthError();
  }
  // 8. rosters and keys, in order
  const plan = [];
  for (const e of h.entries) {
    const heldRec = room.epochs.get(e.header.epoch) ?? null;
    let roomKey = null;
    let roster = null;
    if (e.wrapped) {
      if (!sameBytes(merkleRoot(e.roster.map(memberLeaf)), e.header.root)) throw new AuthError();
      roomKey = await unwrapRoomKey({
        kem: h.kem, label: INFO_HISTORY_WRAP, suite: e.header.suite, roomId: h.roomId, epoch: e.header.epoch,
        keyId: e.header.keyId, recipientId: me.id, recipientPrivate: privateKeyFor(owner, h.kem), wrapped: e.wrapped,
      });
      roster = new Map(e.roster.map((m) => [m.id, keysOnly(m)]));
    }
    if (!heldRec) {
      plan.push({ epoch: e.header.epoch, record: { header: e.header, signature: null, authority: null, rotatorProof: null, roomKey, roster: roster ?? new Map(), full: !!roster } });
    } else {
      const gain = {};
      if (roomKey && !heldRec.roomKey) gain.roomKey = roomKey;
      if (roster && !heldRec.full) gain.roster = roster;
      if (gain.roomKey || gain.roster) plan.push({ epoch: e.header.epoch, gain });
    }
  }
  return { result: { roomId: h.roomId, epochs: plan.map((x) => x.epoch), kind: 'history' }, plan };
}
