"""Room: an admin's view of a room, derived from the newest epoch its key ring holds.

Members, admins, policy, suite and KEM are read from the signed chain, never from a local file,
so nothing stored beside the key ring can add a member or change an identity. Every change is a
new epoch, committed to the Room only after the owner's key ring accepted its bundle.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..encoding import check_id
from ..errors import PolicyError
from ..hazmat import merkle
from ..hazmat.suites import DEFAULT_SUITE, Suite
from ..identity import PublicIdentity
from ..keys import RoomKey
from ..wrap import Progress, WrapKem
from .bundle import Announcement, Bundle, Plan, build_bundle
from .epoch import EpochRecord
from .header import NO_PREVIOUS, Admin, RoomPolicy
from .history import HistoryBundle, SharedEpoch, build_history
from .keyring import KeyRing
from .members import MemberProof
from .room_users import expand_users, stale_users, users_of


@dataclass(frozen=True)
class Rotation:
    """The outputs of one change: the bundle (slices and announcement from it), history for joiners
    (joiner id to its history bundle, when history was shared)."""

    bundle: Bundle
    history: dict[str, HistoryBundle] = field(default_factory=dict)

    @property
    def epoch(self) -> int:
        """The new epoch's number."""
        return self.bundle.header.epoch

    def announcement(self) -> Announcement:
        """The new epoch's announcement, for participants who keep the chain but are not members."""
        return self.bundle.announcement()


class Room:
    """The state of a room as its key ring's newest epoch says. Raises PolicyError (E_POLICY) if the room,
    or that epoch's key or full roster, is not held (accept the full bundle first)."""

    def __init__(self, keyring: KeyRing, room_id: str) -> None:
        self.keyring = keyring
        self.room_id = check_id(room_id, "room_id")
        self._sync()

    def __repr__(self) -> str:
        return f"Room({self.room_id!r}, epoch={self.epoch}, members={len(self.members)})"

    def _sync(self) -> None:
        latest = self.keyring.latest_epoch(self.room_id)
        if latest is None:
            raise PolicyError(f"room {self.room_id!r} is not held")
        record = self.keyring.record(self.room_id, latest)
        if getattr(self, "_header", None) == record.header_bytes:
            return  # the same epoch of the same chain (a rejoined fork branch has another header)
        if record.key is None or not record.complete:
            raise PolicyError(f"epoch {latest}: its key and full member list are needed: accept the full bundle")
        self.epoch, self._header = latest, record.header_bytes
        self.members: dict[str, PublicIdentity] = {i: e.identity() for i, e in record.roster.items()}
        self.users: dict[str, bytes] = users_of(record)

    @property
    def _record(self) -> EpochRecord:
        return self.keyring.record(self.room_id, self.epoch)

    @property
    def admins(self) -> tuple[str, ...]:
        """The ids of the current epoch's admins, sorted."""
        return tuple(a for a, _ in self._record.header.admins)

    @property
    def policy(self) -> RoomPolicy:
        """The current epoch's signed policy."""
        return self._record.header.policy

    @property
    def suite(self) -> Suite:
        """The current epoch's message suite."""
        return self._record.header.suite

    @property
    def kem(self) -> WrapKem:
        """The current epoch's key-wrapping KEM."""
        return self._record.header.kem

    @classmethod
    def create(cls, keyring: KeyRing, room_id: str, members: Iterable[PublicIdentity] = (), *,
               users: Iterable[str] = (), suite: Suite = DEFAULT_SUITE, kem: WrapKem = WrapKem.X25519,
               policy: RoomPolicy | None = None, admins: Iterable[str] = (),
               progress: Progress | None = None) -> tuple[Room, Rotation]:
        """A new room at epoch 1 whose creator is an admin (with the members named in admins). ``users`` are
        member users: every device on each one's newest held device list is a member. Raises PolicyError
        (E_POLICY) for a room the key ring holds, a member whose pinned identity differs, a user whose list
        or device identities are not held, or admins who are not members (or not 1 to 32)."""
        room_id = check_id(room_id, "room_id")
        owner = keyring.owner.public
        devices, lists = expand_users(keyring, users)
        everyone = _check_pins(keyring, {m.participant_id: m for m in members} | {owner.participant_id: owner})
        everyone |= devices
        if keyring.latest_epoch(room_id) is not None:
            raise PolicyError(f"room {room_id!r} is already held")
        key = RoomKey.generate(room_id=room_id, epoch=1, suite=Suite(suite))
        plan = Plan(NO_PREVIOUS, policy or RoomPolicy(), _admins(everyone, {owner.participant_id, *admins}))
        bundle = build_bundle(keyring.owner, key, list(everyone.values()), kem=WrapKem(kem),
                              issued_at=int(time.time()), plan=plan, progress=progress, lists=lists)
        anchors = keyring.anchors(room_id)
        keyring.trust_admin(room_id, owner)  # its own anchor: the creator joins on its own epoch 1
        try:
            keyring.accept(bundle)
        except BaseException:
            keyring._anchors[room_id] = anchors  # a failed create leaves the key ring as it was
            if not anchors:
                del keyring._anchors[room_id]
            raise
        _pin(keyring, everyone.values())
        return cls(keyring, room_id), Rotation(bundle)

    def add(self, joiners: Iterable[PublicIdentity], *, share_history: Sequence[int] = (),
            progress: Progress | None = None) -> Rotation:
        """Adds members and rotates. With share_history, each joiner gets a history bundle with the keys of the
        listed past epochs (the epochs between them and the joiners' first go as links only, to reach the chain).
        Raises PolicyError (E_POLICY) for a joiner already a member, a pinned identity that differs, a listed
        epoch that is not a past one or whose key or full roster is not held, or an owner who may not rotate;
        UnknownKeyError (E_UNKNOWN_KEY) for an epoch to share that is not held at all."""
        self._sync()
        joiners = list(joiners)
        for joiner in joiners:
            if joiner.participant_id in self.members:
                raise PolicyError(f"{joiner.participant_id!r} is already a member")
        everyone = _check_pins(self.keyring, dict(self.members) | {j.participant_id: j for j in joiners})
        return self._rotate(everyone, self._record.header.admins, joiners=joiners, share=share_history,
                            progress=progress)

    def add_users(self, user_ids: Iterable[str], *, share_history: Sequence[int] = (),
                  progress: Progress | None = None) -> Rotation:
        """Adds member users (every device on each one's newest held list) and rotates; with share_history,
        each of their devices gets a history bundle (as add()). Raises PolicyError (E_POLICY) for a user
        already a member, or whose list or device identities are not held."""
        self._sync()
        joining = set(user_ids)
        if joining & set(self.users):
            raise PolicyError(f"already members: {sorted(joining & set(self.users))}")
        devices, _ = expand_users(self.keyring, joining)
        return self._rotate(self._bare(), self._record.header.admins, users=set(self.users) | joining,
                            joiners=list(devices.values()), share=share_history, progress=progress)

    def remove_users(self, user_ids: Iterable[str], *, progress: Progress | None = None) -> Rotation:
        """Removes member users, all their devices and their admin roles, and rotates. Raises PolicyError
        (E_POLICY) for a user that is not a member, or the owner's own user."""
        self._sync()
        leaving = set(user_ids)
        if leaving - set(self.users):
            raise PolicyError(f"not member users: {sorted(leaving - set(self.users))}")
        if self.keyring.owner.participant_id in self._devices_of(leaving):
            raise PolicyError("the rotating device cannot remove its own user; hand the room to another admin")
        return self._rotate(self._bare(), self._record.header.admins, users=set(self.users) - leaving,
                            progress=progress)

    def _bare(self) -> dict[str, PublicIdentity]:
        """The members that are not users' devices."""
        return {p: m for p, m in self.members.items() if p not in self._devices_of(self.users)}

    def _devices_of(self, user_ids: Iterable[str]) -> set[str]:
        wanted = set(user_ids)
        return {p for p, e in self._record.roster.items() if e.user_id in wanted}

    def remove(self, participant_ids: Iterable[str], *, progress: Progress | None = None) -> Rotation:
        """Removes members (and their admin role); always rotates, so they read nothing sealed afterwards.
        Raises PolicyError (E_POLICY) for the owner itself, an id that is not a member, or no admin left."""
        self._sync()
        leaving = set(participant_ids)
        if self.keyring.owner.participant_id in leaving:
            raise PolicyError("the rotating member cannot remove itself; hand the room to another admin")
        devices = leaving & self._devices_of(self.users)
        if devices:
            raise PolicyError(f"users' devices leave through their users' device lists: {sorted(devices)}")
        unknown = leaving - set(self.members)
        if unknown:
            raise PolicyError(f"not members: {sorted(unknown)}")
        admins = tuple(a for a in self._record.header.admins if a[0] not in leaving)
        return self._rotate({p: m for p, m in self._bare().items() if p not in leaving}, admins, progress=progress)

    def rotate(self, *, progress: Progress | None = None) -> Rotation:
        """A new epoch with the same members, admins and policy, and each member user's newest device list:
        the rotation that follows a device's addition, loss or new keys. Raises PolicyError (E_POLICY) if the
        owner is not an admin and the room's members may not rotate."""
        self._sync()
        return self._rotate(self._bare(), self._record.header.admins, progress=progress)

    def set_admins(self, admin_ids: Iterable[str], *, progress: Progress | None = None) -> Rotation:
        """Replaces the admin set (members only, 1 to 32) and rotates. Only an admin may. Raises PolicyError
        (E_POLICY) for admins who are not members or not 1 to 32, and refuses a non-admin's change (E_POLICY;
        UnauthorizedError, E_UNAUTHORIZED, where members may rotate)."""
        self._sync()
        return self._rotate(self._bare(), _admins(self.members, set(admin_ids)), progress=progress)

    def change_policy(self, *, policy: RoomPolicy | None = None, suite: Suite | None = None,
                      kem: WrapKem | None = None, allow_downgrade: bool = False,
                      progress: Progress | None = None) -> Rotation:
        """Changes the signed policy, suite or KEM and rotates. Going from X-Wing to classic wrapping
        needs allow_downgrade=True (else PolicyError, E_POLICY), and members see the DOWNGRADE flag in the
        header. A non-admin changing them is refused (E_POLICY; E_UNAUTHORIZED where members may rotate)."""
        self._sync()
        new_kem = self.kem if kem is None else WrapKem(kem)
        downgrade = self.kem is WrapKem.MLKEM768_X25519 and new_kem is WrapKem.X25519
        if downgrade and not allow_downgrade:
            raise PolicyError("going from X-Wing to classic wrapping is a downgrade: pass allow_downgrade=True")
        return self._rotate(self._bare(), self._record.header.admins, policy=policy,
                            suite=suite, kem=new_kem, downgrade=downgrade, progress=progress)

    def rotation_due(self, now: float | None = None) -> tuple[str, ...]:
        """The reasons a rotation is due now ("messages", "age", "devices": a member user's device list
        changed), or () if none."""
        record = self.keyring.record(self.room_id, self.keyring.latest_epoch(self.room_id) or self.epoch)
        reasons = []
        if record.messages >= record.header.policy.max_messages:
            reasons.append("messages")
        if (now if now is not None else time.time()) - record.header.issued_at >= record.header.policy.max_age_seconds:
            reasons.append("age")
        if stale_users(self.keyring, users_of(record)):
            reasons.append("devices")
        return tuple(reasons)

    def _rotate(self, bare: dict[str, PublicIdentity], admins: tuple[Admin, ...], *, users: set[str] | None = None,
                joiners: Sequence[PublicIdentity] = (), share: Sequence[int] = (), policy: RoomPolicy | None = None,
                suite: Suite | None = None, kem: WrapKem | None = None, downgrade: bool = False,
                progress: Progress | None = None) -> Rotation:
        """Everything that can fail is built first; the key ring's acceptance of the bundle is the
        commit point, and the room follows it, so a failure leaves the old epoch in force. Member users
        stand for the devices of their newest held lists; admin devices no longer listed lose the role."""
        owner = self.keyring.owner
        devices, lists = expand_users(self.keyring, self.users if users is None else users)
        members = bare | devices
        admins = tuple(a for a in admins if a[0] in members and a[1] == members[a[0]].fingerprint)
        if owner.participant_id not in members:
            raise PolicyError("the rotating member must stay a member")
        previous = self._record
        header = previous.header
        plan = Plan(header.epoch_hash(), policy or header.policy, _admins(members, {a for a, _ in admins}),
                    downgrade, self._authority(previous))
        key = RoomKey.generate(room_id=self.room_id, epoch=self.epoch + 1, suite=header.suite if suite is None else suite)
        shared = self._share_plan(set(share), key.epoch)
        bundle = build_bundle(owner, key, list(members.values()), kem=header.kem if kem is None else kem,
                              issued_at=int(time.time()), plan=plan, progress=progress, lists=lists)
        history = {j.participant_id: build_history(owner, j, shared, room_id=self.room_id, anchor_epoch=key.epoch,
                                                   kem=bundle.header.kem, issued_at=int(time.time()),
                                                   sharer_proof=bundle.proof_for(owner.participant_id))
                   for j in joiners} if share else {}
        self.keyring.accept(bundle)
        self._header = b""
        self._sync()
        _pin(self.keyring, bare.values())
        return Rotation(bundle, history)

    def _authority(self, previous: EpochRecord) -> MemberProof | None:
        """A non-admin rotator (members-may-rotate rooms) proves its membership of the previous epoch."""
        owner = self.keyring.owner.public
        if previous.header.is_admin(owner.participant_id, owner.fingerprint):
            return None
        if not previous.header.policy.members_may_rotate:
            raise PolicyError(f"only an admin of room {self.room_id!r} may change it")
        entries = sorted(previous.roster.values(), key=lambda e: e.participant_id.encode())
        index = [e.participant_id for e in entries].index(owner.participant_id)
        return MemberProof(entries[index], index, tuple(merkle.Tree([e.leaf() for e in entries]).path(index)))

    def _share_plan(self, share: set[int], anchor: int) -> list[SharedEpoch]:
        """The entries of a history bundle: the listed epochs with their keys, the ones between as links only.
        Raises E_POLICY for an epoch that is not a past one or whose key or full roster is not held."""
        if not share:
            return []
        wrong = sorted(e for e in share if not 1 <= e < anchor)
        if wrong:
            raise PolicyError(f"epochs {wrong} cannot be shared: only past epochs can")
        plan = []
        for epoch in range(min(share), anchor):
            record = self.keyring.record(self.room_id, epoch)
            if epoch not in share:
                plan.append(SharedEpoch(record.header_bytes, None, ()))
            elif record.key is None or not record.complete:
                raise PolicyError(f"epoch {epoch} cannot be shared: its key or member list is not held")
            else:
                plan.append(SharedEpoch(record.header_bytes, record.key, tuple(record.roster.values())))
        return plan

def _admins(members: dict[str, PublicIdentity], admin_ids: set[str]) -> tuple[Admin, ...]:
    missing = admin_ids - set(members)
    if missing:
        raise PolicyError(f"admins must be members: {sorted(missing)}")
    if not 1 <= len(admin_ids) <= 32:
        raise PolicyError("a room has 1 to 32 admins")
    return tuple((a, members[a].fingerprint) for a in sorted(admin_ids, key=str.encode))


def _check_pins(keyring: KeyRing, members: dict[str, PublicIdentity]) -> dict[str, PublicIdentity]:
    """No identity pinned in the key ring is replaced silently by one a caller (or server) supplies."""
    for participant_id, identity in members.items():
        pinned = keyring.known_identity(participant_id)
        if pinned is not None and pinned != identity:
            raise PolicyError(f"{participant_id!r} is pinned with another identity: "
                              "replace it with KeyRing.add_identity(..., replace=True) first")
    return members


def _pin(keyring: KeyRing, identities: Iterable[PublicIdentity]) -> None:
    for identity in identities:
        if keyring.known_identity(identity.participant_id) is None:
            keyring.add_identity(identity)
