"""Accepting bundles, slices and history bundles: the checks of spec/bundle.md, in its order.

Each function returns the records to add and touches nothing; the key ring commits them
only when every check has passed, so a rejected input leaves it exactly as it was.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping

from . import labels
from .bundle import Bundle, BundleHeader, MembershipProof, Slice
from .epoch import EpochRecord
from .errors import (
    AuthenticationError, FormatError, NotRecipientError, StaleEpochError, UnauthorizedError, UnknownKeyError,
    UnknownSenderError,
)
from .hazmat import curves, merkle
from .history import HistoryBundle
from .identity import Identity, PublicIdentity
from .wrap import unwrap

Lookup = Callable[[str], PublicIdentity | None]


def signer_identity(directory: Lookup, signer_id: str) -> PublicIdentity:
    identity = directory(signer_id)
    if identity is None:
        raise UnknownSenderError(f"no public identity known for signer {signer_id!r}")
    return identity


def authorise(signer: PublicIdentity, proof: MembershipProof | None, anchor: EpochRecord | None,
              admins: set[bytes], anchor_epoch: int) -> None:
    """The signer is a room admin, or was a member of the anchor epoch we hold: listed in its
    roster, or proved by a path to its root."""
    if signer.fingerprint in admins:
        return
    if anchor is None:
        raise UnauthorizedError(f"signer {signer.participant_id!r} is not an admin and epoch {anchor_epoch} is not held")
    if anchor.is_member(signer.participant_id, signer.fingerprint):
        return
    if anchor.root is not None and proof is not None and proof.verifies(signer, anchor.size, anchor.root):
        return
    raise UnauthorizedError(f"signer {signer.participant_id!r} was not a member of epoch {anchor_epoch}")


def _check_header(header: BundleHeader, signature: bytes, proof: MembershipProof | None,
                  held: Mapping[int, EpochRecord], directory: Lookup, admins: set[bytes],
                  members_may_rotate: bool) -> None:
    signer = signer_identity(directory, header.rotator_id)
    curves.verify(signer.ed25519, signature, header.signed_bytes())
    latest = max(held, default=0)
    if header.epoch <= latest:
        raise StaleEpochError(f"epoch {header.epoch} is not newer than held epoch {latest}")
    previous = held.get(header.epoch - 1) if members_may_rotate else None
    authorise(signer, proof, previous, admins, header.epoch - 1)


def _own_record(owner: Identity, header: BundleHeader, wrapped: bytes, roster: dict[str, bytes] | None,
                source: str) -> EpochRecord:
    key = unwrap(owner, wrapped, kem=header.kem, suite=header.suite, room_id=header.room_id,
                 epoch=header.epoch, key_id=header.key_id)
    return EpochRecord(key, header.kem, header.root, header.member_count, roster, header.to_bytes(),
                       header.issued_at, source)


def accept_bundle(owner: Identity, bundle: Bundle, held: Mapping[int, EpochRecord], directory: Lookup,
                  admins: set[bytes], *, members_may_rotate: bool = True) -> EpochRecord:
    header = bundle.header
    _check_header(header, bundle.signature, bundle.proof, held, directory, admins, members_may_rotate)
    if not hmac.compare_digest(bundle.tree().root, header.root):
        raise AuthenticationError()
    index = bundle.index_of(owner.participant_id)
    if index is None:
        raise NotRecipientError(f"{owner.participant_id!r} is not a member of epoch {header.epoch}")
    mine = bundle.members[index]
    if not hmac.compare_digest(mine.fingerprint, owner.public.fingerprint):
        raise NotRecipientError("listed under another identity fingerprint")
    roster = {m.participant_id: m.fingerprint for m in bundle.members}
    return _own_record(owner, header, mine.wrapped, roster, "bundle")


def accept_slice(owner: Identity, piece: Slice, held: Mapping[int, EpochRecord], directory: Lookup,
                 admins: set[bytes], *, members_may_rotate: bool = True) -> EpochRecord:
    header = piece.header
    _check_header(header, piece.signature, piece.proof, held, directory, admins, members_may_rotate)
    mine = piece.member
    if mine.participant_id != owner.participant_id:
        raise NotRecipientError(f"this slice is for {mine.participant_id!r}")
    if not hmac.compare_digest(mine.fingerprint, owner.public.fingerprint):
        raise NotRecipientError("listed under another identity fingerprint")
    if not merkle.verify_inclusion(mine.leaf(), piece.index, header.member_count, piece.path, header.root):
        raise AuthenticationError()
    return _own_record(owner, header, mine.wrapped, None, "slice")


def roster_upgrade(owner: Identity, bundle: Bundle, record: EpochRecord, directory: Lookup) -> dict[str, bytes] | None:
    """A full bundle for an epoch held from a slice, with the same header: adopt its roster.
    Its signature is still checked (spec/bundle.md step 4): the held header proves nothing about these bytes."""
    if record.roster is not None or record.header is None or record.header != bundle.header.to_bytes():
        return None
    signer = signer_identity(directory, bundle.header.rotator_id)
    curves.verify(signer.ed25519, bundle.signature, bundle.header.signed_bytes())
    if not hmac.compare_digest(bundle.tree().root, bundle.header.root):
        raise AuthenticationError()
    roster = {m.participant_id: m.fingerprint for m in bundle.members}
    listed = roster.get(owner.participant_id)
    if listed is None or not hmac.compare_digest(listed, owner.public.fingerprint):
        raise NotRecipientError(f"{owner.participant_id!r} is not listed in this bundle")
    return roster


def accept_history(owner: Identity, history: HistoryBundle, held: Mapping[int, EpochRecord],
                   directory: Lookup, admins: set[bytes]) -> list[EpochRecord]:
    if history.recipient_id != owner.participant_id:
        raise NotRecipientError(f"this history bundle is for {history.recipient_id!r}")
    signer = signer_identity(directory, history.sharer_id)
    curves.verify(signer.ed25519, history.signature, labels.SIG_HISTORY + history.body())
    anchor = held.get(history.anchor_epoch)
    if anchor is None:
        raise UnknownKeyError(f"anchor epoch {history.anchor_epoch} is not held yet")
    authorise(signer, history.proof, anchor, admins, history.anchor_epoch)
    records = []
    for entry in history.entries:
        key = unwrap(owner, entry.wrapped, kem=history.kem, suite=entry.suite, room_id=history.room_id,
                     epoch=entry.epoch, key_id=entry.key_id, label=labels.INFO_HISTORY_WRAP)
        existing = held.get(entry.epoch)
        if existing is not None and not existing.key.matches(entry.key_id):
            raise AuthenticationError()
        records.append(EpochRecord(key, history.kem, None, len(entry.roster), dict(entry.roster), None,
                                   history.issued_at, "history"))
    return records


def wrapped_digest(wrapped: bytes) -> bytes:
    return hashlib.sha256(wrapped).digest()


__all__ = ["accept_bundle", "accept_slice", "accept_history", "roster_upgrade", "FormatError"]
