"""What the store checks before it writes: what it can check from the input and the chain it follows.

The store follows each room's chain the way its first epoch was uploaded: it checks that a bundle is
signed by the rotator it lists, that its member list hashes to the signed root, and that the rotator
may sign it on top of the stored epoch before (an admin of it, or a member where the room allows
that). It cannot check a room's first epoch against anyone's trust anchor (only each joiner knows
whom it trusts), nor anything a client decides locally (pins, replay state): clients verify
everything again. Error codes: E_FORMAT, E_AUTH, E_BAD_KEY, E_UNAUTHORIZED, E_GAP, E_UNKNOWN_KEY.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass

from .. import labels
from ..errors import GapError, UnauthorizedError
from ..group.bundle import Bundle
from ..group.header import EpochHeader, Flag, epoch_hash
from ..group.verify import check_signature, check_tree, rotator_of
from ..hazmat import curves
from ..message import SealedMessage


@dataclass(frozen=True)
class Placement:
    """Where a checked bundle goes: on the room's chain, or beside it as fork evidence."""

    on_chain: bool


def check_bundle_alone(bundle: Bundle) -> None:
    """A bundle's own consistency: the rotator is listed (E_UNAUTHORIZED), its key is valid (E_BAD_KEY),
    the signature verifies and the members hash to the root (AuthenticationError, E_AUTH)."""
    rotator, _ = rotator_of(bundle)
    check_signature(bundle.signed, rotator)
    check_tree(bundle)


def place(header: EpochHeader, rotator_fingerprint: bytes, chain_before: EpochHeader | None,
          chain_now: EpochHeader | None, was_member: Callable[[str], bool]) -> Placement:
    """Whether a self-consistent bundle extends the stored chain or is a second, authorised header for an
    epoch (kept as fork evidence). ``chain_before`` is the stored chain's epoch E - 1, ``chain_now`` its
    epoch E (None where not stored) and ``was_member`` whether an id is a member of E - 1.
    Raises GapError (E_GAP) when E - 1 is not stored yet, UnauthorizedError (E_UNAUTHORIZED) when the
    rotator may not sign on top of it (for a second epoch 1: is not an admin of the stored one)."""
    if header.epoch == 1:
        if chain_now is None:
            return Placement(on_chain=True)  # a new room: the product server decided who creates it
        if not chain_now.is_admin(header.rotator_id, rotator_fingerprint):
            raise UnauthorizedError(f"{header.rotator_id!r} is not an admin of the stored epoch 1")
        return Placement(on_chain=False)
    if chain_before is None:
        raise GapError(f"epoch {header.epoch - 1} of room {header.room_id!r} is not stored: upload it first")
    _authorise(header, rotator_fingerprint, chain_before, was_member)
    builds_on_chain = hmac.compare_digest(header.previous, epoch_hash(chain_before.to_bytes()))
    return Placement(on_chain=chain_now is None and builds_on_chain)


def _authorise(header: EpochHeader, fingerprint: bytes, before: EpochHeader, was_member: Callable[[str], bool]) -> None:
    if before.is_admin(header.rotator_id, fingerprint):
        return
    if not before.flags & Flag.MEMBERS_MAY_ROTATE or not was_member(header.rotator_id):
        raise UnauthorizedError(f"{header.rotator_id!r} may not sign epoch {header.epoch} on top of the stored chain")
    if header.governance() != before.governance():
        raise UnauthorizedError("only an admin changes the admins, the policy, the suite or the KEM")


def check_message_signature(sealed: SealedMessage, ed25519: bytes) -> None:
    """A signed message verifies under its sender's key in the epoch's roster. Raises InvalidKeyError
    (E_BAD_KEY) for an unusable key, AuthenticationError (E_AUTH) for a bad signature; an unsigned
    (bot) message has nothing the store can check."""
    if sealed.signature is None:
        return
    curves.check_ed25519_public(ed25519, "sender.ed25519")
    curves.verify(ed25519, sealed.signature, labels.SIG_MESSAGE + sealed.signed_part)
