"""The key ring's users and backups (spec/users.md, spec/backup.md): pinned user keys and device lists,
the devices a newer list took away, what a key backup still needs, restored epochs and the retention
policy. A part of KeyRing, kept apart so that each file holds one concept.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..errors import PolicyError, UnauthorizedError
from ..identity import Identity, PublicIdentity
from ..users.device_list import DeviceList
from ..users.user_key import UserPublicKey
from .epoch import EpochRecord
from .restored import merge_restored
from .user_directory import UserDirectory

if TYPE_CHECKING:
    from .keyring import Accepted


class UsersAndBackup:
    """KeyRing's methods about users, devices, backups and retention (KeyRing sets the attributes)."""

    _owner: Identity
    users: UserDirectory
    _superseded: dict[str, tuple[int, int, list[str]]]
    _restored: set[str]
    _backed_up: set[tuple[str, int, bool]]

    if TYPE_CHECKING:  # provided by KeyRing
        def add_identity(self, identity: PublicIdentity, *, replace: bool = False) -> None: ...
        def _current(self, room_id: str) -> EpochRecord: ...
        def _held(self, room_id: str) -> dict[int, EpochRecord]: ...
        def _commit(self, room_id: str, records: list[EpochRecord], kind: str) -> Accepted: ...
        def rooms(self) -> list[str]: ...
        def epochs(self, room_id: str) -> list[int]: ...

    def pin_user(self, user: UserPublicKey, *, replace: bool = False) -> None:
        """Pins a user's key, after comparing its safety number out of band. Raises PolicyError (E_POLICY) for
        another key of a pinned user without replace=True."""
        self.users.pin(user, replace=replace)

    def add_device_list(self, data: DeviceList | bytes, identities: Iterable[PublicIdentity] = ()) -> DeviceList:
        """Verifies and holds a user's device list, and pins its devices' identities (a device's new keys
        replace its old ones: the user signed for them). Raises E_FORMAT, E_AUTH, E_UNAUTHORIZED (a key
        other than the pinned user key), E_ROLLBACK (older than the newest held), E_POLICY (an identity
        the list does not name) and then holds what it held before."""
        device_list = DeviceList.from_bytes(data.raw if isinstance(data, DeviceList) else data)
        device_list.verify(self.users.pinned(device_list.user_id))
        self.users.check_newer(device_list)
        identities = list(identities)
        for identity in identities:
            try:
                device_list.require(identity.participant_id, identity.fingerprint)
            except UnauthorizedError:
                raise PolicyError(f"{identity.participant_id!r} is not on this device list") from None
        self.users.add(device_list)
        for identity in identities:
            self.add_identity(identity, replace=identity.participant_id != self._owner.participant_id)
        return device_list

    def superseded_devices(self, room_id: str) -> list[str]:
        """Devices of the room's latest epoch (as far as its roster is known) that a newer list of their user
        removed or re-keyed: until a rotation, nothing is sealed to them."""
        record = self._current(room_id)
        cached = self._superseded.get(room_id)
        if cached is None or cached[:2] != (record.epoch, self.users.generation):
            found = self.users.superseded(e.list_digest for e in record.roster.values())
            cached = self._superseded[room_id] = (record.epoch, self.users.generation, found)
        return cached[2]

    # -- backup and retention (spec/backup.md) -------------------------------------------

    def accept_restored(self, room_id: str, records: list[EpochRecord]) -> Accepted:
        """Adds a room's verified restored epochs (users.restore) to its chain: all of them or none. Raises
        AuthenticationError (E_AUTH) if they do not chain into the held epochs, StaleEpochError (E_STALE) for a
        held epoch restored with another header."""
        merged = merge_restored(self._held(room_id), records)
        accepted = self._commit(room_id, merged, "backup")
        # The restored epochs name their rotators' device lists: hold them, as accept() does, or the key
        # ring's export would name lists it does not hold and no longer load.
        self.users.keep(d for record in merged for d in record.rotator_lists)
        self._restored.add(room_id)
        self._backed_up.update((room_id, r.epoch, r.key is not None) for r in records)
        return accepted

    def backup_pending(self) -> list[tuple[str, EpochRecord]]:
        """Held epochs not yet in a backup chunk with what is held now (a key learnt later counts again)."""
        return [(room, self._held(room)[e]) for room in self.rooms() for e in self.epochs(room)
                if (room, e, self._held(room)[e].key is not None) not in self._backed_up]

    def mark_backed_up(self, pending: list[tuple[str, EpochRecord]]) -> None:
        """Records that these epochs are in a stored backup chunk."""
        self._backed_up.update((room, r.epoch, r.key is not None) for room, r in pending)

    def forget_keys_older_than(self, max_age_seconds: int, now: float | None = None) -> int:
        """The retention policy: drops the key of every epoch issued more than ``max_age_seconds`` ago, except
        each room's latest, keeping the chain (a stolen device cannot read what it forgot; the backup can).
        Returns how many keys were dropped."""
        limit = (time.time() if now is None else now) - max_age_seconds
        dropped = 0
        for room in self.rooms():
            held = self._held(room)
            for epoch in sorted(held)[:-1]:
                record = held[epoch]
                if record.key is not None and record.header.issued_at < limit:
                    record.key, record.withheld, dropped = None, True, dropped + 1
        return dropped
