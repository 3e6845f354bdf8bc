"""Room: the rotating member's view. Membership changes and the rotation policy live here.

Every change produces a new epoch: removal always rotates, joining rotates (history is
shared only on purpose), and rotation falls due after a message count or an age. A change
is committed to the Room only after the owner's own key ring has accepted the new bundle,
so a failure at any point leaves the previous epoch in force.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .bundle import Bundle, MembershipProof, build_bundle
from .encoding import check_id
from .errors import PolicyError
from .hazmat.suites import DEFAULT_SUITE, Suite
from .history import HistoryBundle, build_history
from .identity import PublicIdentity
from .keyring import KeyRing
from .keys import RoomKey
from .wrap import Progress, WrapKem


@dataclass(frozen=True)
class RotationPolicy:
    """When a rotation falls due. Defaults follow Megolm: 100 messages or 7 days."""

    max_messages: int = 100
    max_age_seconds: int = 7 * 24 * 3600

    def __post_init__(self) -> None:
        if self.max_messages < 1 or self.max_age_seconds < 1:
            raise ValueError("rotation limits must be positive")


@dataclass(frozen=True)
class Rotation:
    """The outputs of one membership change: the bundle for everyone, history for joiners."""

    bundle: Bundle
    history: dict[str, HistoryBundle] = field(default_factory=dict)

    @property
    def epoch(self) -> int:
        return self.bundle.header.epoch


class Room:
    """State of a room kept by a member who rotates it. Keys stay in the owner's KeyRing."""

    def __init__(self, keyring: KeyRing, room_id: str, *, suite: Suite = DEFAULT_SUITE,
                 kem: WrapKem = WrapKem.X25519, policy: RotationPolicy | None = None) -> None:
        self.keyring = keyring
        self.room_id = check_id(room_id, "room_id")
        self.suite = Suite(suite)
        self.kem = WrapKem(kem)
        self.policy = policy or RotationPolicy()
        self.members: dict[str, PublicIdentity] = {}
        self.epoch = 0
        self.own_proof: MembershipProof | None = None

    def __repr__(self) -> str:
        return f"Room({self.room_id!r}, epoch={self.epoch}, members={len(self.members)})"

    @classmethod
    def create(cls, keyring: KeyRing, room_id: str, members: Iterable[PublicIdentity] = (), *,
               suite: Suite = DEFAULT_SUITE, kem: WrapKem = WrapKem.X25519,
               policy: RotationPolicy | None = None, progress: Progress | None = None) -> tuple[Room, Rotation]:
        """A new room at epoch 1; its creator becomes its first admin."""
        room = cls(keyring, room_id, suite=suite, kem=kem, policy=policy)
        keyring.trust_admin(room_id, keyring.owner.public)
        everyone = {m.participant_id: m for m in members}
        everyone[keyring.owner.participant_id] = keyring.owner.public
        return room, room._rotate(everyone, progress)

    def add(self, joiners: Iterable[PublicIdentity], *, share_history: Sequence[int] = (),
            progress: Progress | None = None) -> Rotation:
        """Adds members and rotates. share_history lists past epochs to wrap to each joiner."""
        joiners = list(joiners)
        for joiner in joiners:
            if joiner.participant_id in self.members:
                raise PolicyError(f"{joiner.participant_id!r} is already a member")
        everyone = dict(self.members) | {j.participant_id: j for j in joiners}
        history_keys = [self._history_entry(e) for e in share_history]
        return self._rotate(everyone, progress, joiners if history_keys else [], history_keys)

    def remove(self, participant_ids: Iterable[str], *, progress: Progress | None = None) -> Rotation:
        """Removes members; always rotates, so they cannot read anything sealed afterwards."""
        leaving = set(participant_ids)
        if self.keyring.owner.participant_id in leaving:
            raise PolicyError("the rotating member cannot remove itself; hand the room to another member")
        unknown = leaving - set(self.members)
        if unknown:
            raise PolicyError(f"not members: {sorted(unknown)}")
        return self._rotate({p: m for p, m in self.members.items() if p not in leaving}, progress)

    def rotate(self, *, progress: Progress | None = None) -> Rotation:
        return self._rotate(dict(self.members), progress)

    def rotation_due(self, now: float | None = None) -> tuple[str, ...]:
        """The reasons a rotation is due now, or () if none."""
        record = self.keyring.record(self.room_id, self.epoch)
        reasons = []
        if record.messages >= self.policy.max_messages:
            reasons.append("messages")
        if (now if now is not None else time.time()) - record.issued_at >= self.policy.max_age_seconds:
            reasons.append("age")
        return tuple(reasons)

    def _history_entry(self, epoch: int) -> tuple[RoomKey, list[tuple[str, bytes]]]:
        record = self.keyring.record(self.room_id, epoch)
        if epoch >= self.epoch + 1 or record.roster is None:
            raise PolicyError(f"epoch {epoch} cannot be shared: its key or member list is not held")
        return record.key, sorted(record.roster.items())

    def _rotate(self, members: dict[str, PublicIdentity], progress: Progress | None,
                joiners: Sequence[PublicIdentity] = (),
                history_keys: Sequence[tuple[RoomKey, list[tuple[str, bytes]]]] = ()) -> Rotation:
        """Everything that can fail (bundle, proof, history) is built first. The key ring's
        acceptance of the bundle is the commit point; the room follows it, so a failure before
        leaves the old epoch in force and none after can leave the two on different epochs."""
        owner = self.keyring.owner
        if owner.participant_id not in members:
            raise PolicyError("the rotating member must stay a member")
        key = RoomKey.generate(room_id=self.room_id, epoch=self.epoch + 1, suite=self.suite)
        bundle = build_bundle(owner, key, list(members.values()), kem=self.kem,
                              issued_at=int(time.time()), proof=self.own_proof, progress=progress)
        own_proof = bundle.proof_for(owner.participant_id)
        history = {j.participant_id: build_history(owner, j, history_keys, anchor_epoch=key.epoch, kem=self.kem,
                                                   issued_at=int(time.time()), proof=own_proof)
                   for j in joiners}
        self.keyring.accept(bundle)
        self.members, self.epoch, self.own_proof = members, key.epoch, own_proof
        for member in members.values():
            if member.participant_id != owner.participant_id:
                self.keyring.add_identity(member, replace=True)
        return Rotation(bundle, history)

    def to_dict(self) -> dict[str, Any]:
        from .room_state import dump

        return dump(self)

    @classmethod
    def from_dict(cls, obj: dict[str, Any], keyring: KeyRing) -> Room:
        from .room_state import load

        return load(cls, obj, keyring)
