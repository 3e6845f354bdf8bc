"""Accepting bundles, slices and announcements: the steps of spec/bundle.md, in its order.

Every function is pure: it returns what to commit and touches nothing, so the key ring commits
only when every check has passed and a rejected input leaves it exactly as it was.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import (
    AuthenticationError, DowngradeError, ForkError, FormatError, GapError, NotRecipientError, StaleEpochError,
    UnauthorizedError,
)
from ..hazmat import curves, merkle
from ..identity import Identity
from ..keys import RoomKey
from ..wrap import WrapKem, unwrap
from .bundle import Announcement, Bundle, SignedHeader, Slice
from .epoch import EpochRecord
from .forks import ForkEvidence
from .header import EpochHeader, Flag
from ..users.device_list import DeviceList
from .lists import UserState, check_complete, check_lists, check_no_rollback, lists_for
from .members import Member, MemberProof, MemberProofFile, RosterEntry

Epochs = Mapping[int, EpochRecord]
Delivery = Bundle | Slice | Announcement


@dataclass(frozen=True)
class Decision:
    """What one accepted input changes: a new epoch record, or what a held epoch gains. ``kind`` is
    "bundle", "slice", "link" or "roster"."""

    kind: str
    record: EpochRecord
    lists: dict[bytes, DeviceList] = field(default_factory=dict)


def rotator_of(item: Delivery) -> tuple[RosterEntry, MemberProof]:
    """Step 2: the rotator's roster entry and member proof, from the structure itself. Raises
    UnauthorizedError (E_UNAUTHORIZED) for a bundle not listing its rotator, FormatError (E_FORMAT) for a
    rotator proof of another id."""
    header = item.header
    if isinstance(item, Bundle):
        index = item.index_of(header.rotator_id)
        if index is None:
            raise UnauthorizedError(f"rotator {header.rotator_id!r} is not a member of epoch {header.epoch}")
        return item.members[index].entry, item.proof_for(header.rotator_id)
    if item.rotator.entry.participant_id != header.rotator_id:
        raise FormatError("rotator.id", "is not the header's rotator")
    return item.rotator.entry, item.rotator


def check_signature(signed: SignedHeader, rotator: RosterEntry) -> None:
    """Step 3: the header's signature under the rotator's key. Raises InvalidKeyError (E_BAD_KEY) for an
    unusable Ed25519 key, AuthenticationError (E_AUTH) for a bad signature."""
    curves.check_ed25519_public(rotator.ed25519, "rotator.ed25519")
    curves.verify(rotator.ed25519, signed.signature, signed.header.signed_bytes())


def check_tree(item: Delivery) -> None:
    """Step 4: the member list (bundle) or the rotator's path (slice, announcement) matches the root.
    Raises AuthenticationError (E_AUTH) if not."""
    header = item.header
    if isinstance(item, Bundle):
        ok = hmac.compare_digest(item.tree().root, header.root)
    else:
        ok = item.rotator.verifies(header.member_count, header.root)
    if not ok:
        raise AuthenticationError()


def check_item_lists(item: Delivery, users: UserState) -> dict[bytes, DeviceList]:
    """Step 4b: the device lists of the entries the structure carries (spec/users.md). Raises E_FORMAT,
    E_AUTH or E_UNAUTHORIZED."""
    if isinstance(item, Bundle):
        entries = [m.entry for m in item.members]
        lists = check_lists(entries, item.lists, users)
        check_complete(entries, lists)
        return lists
    carried = [item.rotator.entry] + ([item.member.entry] if isinstance(item, Slice) else [])
    return check_lists(carried, item.lists, users)


def was_member(previous: EpochRecord, who: RosterEntry, authority: MemberProof | None) -> bool:
    """Whether ``who`` (id and fingerprint) was a member of ``previous``: in its roster or, for a partial
    roster only, proved by ``authority`` against its root."""
    listed = previous.member(who.participant_id)
    if listed is not None:
        return hmac.compare_digest(listed.fingerprint, who.fingerprint)
    if previous.complete or authority is None or authority.entry.participant_id != who.participant_id:
        return False
    return (hmac.compare_digest(authority.entry.fingerprint, who.fingerprint)
            and authority.verifies(previous.header.member_count, previous.header.root))


def authorise_extend(header: EpochHeader, rotator: RosterEntry, authority: MemberProof | None,
                     previous: EpochRecord) -> None:
    """Step 6: an admin of E - 1, or (where E - 1 allows it) a member who changes no governance.
    Raises UnauthorizedError (E_UNAUTHORIZED) otherwise."""
    before = previous.header
    if before.is_admin(rotator.participant_id, rotator.fingerprint):
        return
    if not before.flags & Flag.MEMBERS_MAY_ROTATE:
        raise UnauthorizedError(f"{rotator.participant_id!r} is not an admin of epoch {before.epoch}")
    if not was_member(previous, rotator, authority):
        raise UnauthorizedError(f"{rotator.participant_id!r} was not a member of epoch {before.epoch}")
    if header.governance() != before.governance():
        raise UnauthorizedError("only an admin changes the admins, the policy, the suite or the KEM")


def check_downgrade(header: EpochHeader, before: EpochHeader) -> None:
    """Raises DowngradeError (E_DOWNGRADE) unless the DOWNGRADE flag is set exactly when the KEM goes from
    X-Wing to classic."""
    lowers = before.kem is WrapKem.MLKEM768_X25519 and header.kem is WrapKem.X25519
    if lowers != bool(header.flags & Flag.DOWNGRADE):
        raise DowngradeError("the KEM goes from X-Wing to classic only with the DOWNGRADE flag, and only then")


def authorise_join(header: EpochHeader, rotator: RosterEntry, anchors: set[bytes]) -> None:
    """Joining (no epoch held): the rotator is a trust anchor and in the header's admin set. Raises
    UnauthorizedError (E_UNAUTHORIZED) otherwise."""
    if rotator.fingerprint not in anchors:
        raise UnauthorizedError(f"{rotator.participant_id!r} is not an admin trusted to let you join this room")
    if not header.is_admin(rotator.participant_id, rotator.fingerprint):
        raise UnauthorizedError(f"{rotator.participant_id!r} is not in the header's admin set")


def fork_or_unauthorised(item: Delivery, rotator: RosterEntry, held: Epochs, mine: EpochRecord) -> Exception:
    """A different header for a held epoch: a fork if it was authorised, else just unauthorised.
    Returns, not raises, the error: ForkError (E_FORK) with header evidence, UnauthorizedError
    (E_UNAUTHORIZED), or StaleEpochError (E_STALE) when the held epoch came from history."""
    header = item.header
    previous = held.get(header.epoch - 1)
    try:
        if previous is not None:
            authorise_extend(header, rotator, item.signed.authority, previous)
        elif not mine.header.is_admin(rotator.participant_id, rotator.fingerprint):
            raise UnauthorizedError(f"{rotator.participant_id!r} is not an admin of epoch {header.epoch}")
    except UnauthorizedError as error:
        return error
    ours = mine.announcement()
    if ours is None:
        return StaleEpochError(f"epoch {header.epoch} is held, from history")
    return ForkError(ForkEvidence(header.room_id, header.epoch, "header", ours, announce(item)))


def announce(item: Delivery) -> bytes:
    """The delivery's announcement bytes, as fork evidence."""
    if isinstance(item, Bundle):
        return item.announcement().to_bytes()
    return Announcement(item.signed, item.rotator).to_bytes()


def accept_delivery(owner: Identity, item: Delivery, held: Epochs, anchors: set[bytes],
                    users: UserState | None = None) -> Decision:
    """Steps 2 to 9 of spec/bundle.md for one bundle, slice or announcement: the Decision to commit.
    Raises GapError (E_GAP) for an epoch past the next one, StaleEpochError (E_STALE) for one before the
    first held or already held, ForkError (E_FORK) for a header not building on the chain or another
    header of a held epoch, and what the steps raise (E_FORMAT, E_AUTH, E_BAD_KEY, E_UNAUTHORIZED,
    E_DOWNGRADE, E_NOT_RECIPIENT, E_ROLLBACK)."""
    header = item.header
    users = users or UserState()
    rotator, rotator_proof = rotator_of(item)
    check_signature(item.signed, rotator)
    check_tree(item)
    lists = check_item_lists(item, users)
    if not held:
        authorise_join(header, rotator, anchors)
        return _receive(owner, item, rotator_proof, lists, joining=True)
    first, latest = min(held), max(held)
    if first <= header.epoch <= latest:
        return _again(owner, item, rotator, held, lists)
    if header.epoch > latest + 1:
        raise GapError(f"epochs {latest + 1} to {header.epoch - 1} are missing: fetch them first")
    if header.epoch < first:
        raise StaleEpochError(f"epoch {header.epoch} is older than the first held epoch {first}")
    previous = held[latest]
    authorise_extend(header, rotator, item.signed.authority, previous)
    if not hmac.compare_digest(header.previous, previous.header.epoch_hash()):
        raise ForkError(ForkEvidence(header.room_id, header.epoch, "chain", previous.announcement() or b"",
                                     announce(item)))
    check_downgrade(header, previous.header)
    check_no_rollback(lists, previous.roster.values(), {**users.held, **lists})
    return _receive(owner, item, rotator_proof, lists, joining=False)


def _again(owner: Identity, item: Delivery, rotator: RosterEntry, held: Epochs,
           lists: dict[bytes, DeviceList]) -> Decision:
    """A delivery for a held epoch: a replay, something the held epoch lacks, or a fork."""
    mine = held[item.header.epoch]
    if not hmac.compare_digest(mine.header_bytes, item.header.to_bytes()):
        raise fork_or_unauthorised(item, rotator, held, mine)
    if mine.key is None and not isinstance(item, Announcement) and _lists(owner, item):
        decision = _receive(owner, item, mine.rotator or rotator_of(item)[1], lists, joining=False)
        decision.record.messages = mine.messages
        if mine.complete and not decision.record.complete:
            decision.record.roster, decision.record.complete = mine.roster, True
        return decision
    if isinstance(item, Bundle) and not mine.complete:
        return Decision("roster", _with_roster(mine, item), lists)
    raise StaleEpochError(f"epoch {item.header.epoch} is already held")


def _lists(owner: Identity, item: Bundle | Slice) -> bool:
    if isinstance(item, Slice):
        return item.member.participant_id == owner.participant_id
    return item.index_of(owner.participant_id) is not None


def _with_roster(mine: EpochRecord, bundle: Bundle) -> EpochRecord:
    return EpochRecord(mine.header, mine.header_bytes, mine.signature, mine.authority, mine.rotator, mine.key,
                       roster_of(bundle), True, mine.source, mine.messages, mine.rotator_lists)


def roster_of(bundle: Bundle) -> dict[str, RosterEntry]:
    """A bundle's full roster: participant id to roster entry."""
    return {m.participant_id: m.entry for m in bundle.members}


def _receive(owner: Identity, item: Delivery, rotator_proof: MemberProof, lists: dict[bytes, DeviceList], *,
             joining: bool) -> Decision:
    """Steps 7 to 9: P's own entry, its key, and the record to commit."""
    header = item.header
    mine = _own_member(owner, item, joining)
    key = None if mine is None else _unwrap(owner, header, mine.wrapped)
    if isinstance(item, Bundle):
        roster, complete, kind = roster_of(item), True, "bundle" if key is not None else "link"
    else:
        roster = {rotator_proof.entry.participant_id: rotator_proof.entry}
        if mine is not None:
            roster[owner.participant_id] = mine.entry
        complete, kind = False, "slice" if isinstance(item, Slice) else "link"
    record = EpochRecord(header, header.to_bytes(), item.signed.signature, item.signed.authority, rotator_proof,
                         key, roster, complete, kind, 0, lists_for([rotator_proof.entry], lists))
    return Decision(kind, record, lists)


def _own_member(owner: Identity, item: Delivery, joining: bool) -> Member | None:
    if isinstance(item, Slice):
        return _own_slice_member(owner, item)
    index = item.index_of(owner.participant_id) if isinstance(item, Bundle) else None
    if not isinstance(item, Bundle) or index is None:
        if joining:
            raise NotRecipientError(f"{owner.participant_id!r} is not a member of epoch {item.header.epoch}")
        return None
    mine = item.members[index]
    if not hmac.compare_digest(mine.entry.fingerprint, owner.public.fingerprint):
        raise NotRecipientError("listed under another identity fingerprint")
    return mine


def _own_slice_member(owner: Identity, piece: Slice) -> Member:
    mine = piece.member
    if mine.participant_id != owner.participant_id:
        raise NotRecipientError(f"this slice is for {mine.participant_id!r}")
    if not hmac.compare_digest(mine.entry.fingerprint, owner.public.fingerprint):
        raise NotRecipientError("listed under another identity fingerprint")
    header = piece.header
    if not merkle.verify_inclusion(mine.entry.leaf(), piece.index, header.member_count, piece.path, header.root):
        raise AuthenticationError()
    return mine


def _unwrap(owner: Identity, header: EpochHeader, wrapped: bytes) -> RoomKey:
    return unwrap(owner, wrapped, kem=header.kem, suite=header.suite, room_id=header.room_id, epoch=header.epoch,
                  key_id=header.key_id)


def accept_member_proof(item: MemberProofFile, record: EpochRecord,
                        users: UserState) -> tuple[RosterEntry, dict[bytes, DeviceList]]:
    """A sender's proof for a held epoch: what it adds to the roster (spec/bundle.md, last paragraph) and
    the device list it names. Raises AuthenticationError (E_AUTH) for a proof that does not verify against
    the epoch's root, or that lists a known member with another fingerprint; E_FORMAT, E_AUTH or
    E_UNAUTHORIZED for its device list."""
    proof = item.proof
    if not proof.verifies(record.header.member_count, record.header.root):
        raise AuthenticationError()
    listed = record.member(proof.entry.participant_id)
    if listed is not None and not hmac.compare_digest(listed.fingerprint, proof.entry.fingerprint):
        raise AuthenticationError()
    return proof.entry, check_lists([proof.entry], item.lists, users)
