"""What a key ring knows of users: pinned user keys, every device list it accepted (by digest) and the
newest list of each user (spec/users.md, "What a member holds").

A list only ever moves forward: a list older than the newest held for its user is a rollback, and
two different lists of one version are the user key equivocating. Both are refused (E_ROLLBACK).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..errors import PolicyError, RollbackError
from ..users.device_list import DeviceList
from ..users.user_key import UserPublicKey
from .lists import UserState


class UserDirectory:
    """Pinned user keys and held device lists. Not thread-safe (one key ring, one thread)."""

    def __init__(self) -> None:
        self._pins: dict[str, UserPublicKey] = {}
        self._lists: dict[bytes, DeviceList] = {}
        self._newest: dict[str, DeviceList] = {}
        self._versions: dict[tuple[str, int], bytes] = {}
        self.generation = 0  # bumped whenever a user's newest list changes: a cache key for superseded()

    def pin(self, user: UserPublicKey, *, replace: bool = False) -> None:
        """Pins a user key (after comparing its safety number). Raises PolicyError (E_POLICY) for another key
        of a pinned user without replace=True."""
        known = self._pins.get(user.user_id)
        if known is not None and known != user and not replace:
            raise PolicyError(f"user {user.user_id!r} already has another key; pass replace=True")
        self._pins[user.user_id] = user

    def pinned(self, user_id: str) -> UserPublicKey | None:
        """The pinned key of a user, or None."""
        return self._pins.get(user_id)

    def state(self) -> UserState:
        """The view verification reads: pins and held lists."""
        return UserState(self._pins, self._lists, self._versions)

    def check_newer(self, device_list: DeviceList) -> None:
        """Raises RollbackError (E_ROLLBACK) unless ``device_list`` is the newest held for its user or newer."""
        newest = self._newest.get(device_list.user_id)
        if newest is None or newest.digest == device_list.digest:
            return
        if device_list.version < newest.version:
            raise RollbackError(f"version {device_list.version} of the device list of {device_list.user_id!r} "
                                f"is older than version {newest.version}, already held")
        if self._versions.get((device_list.user_id, device_list.version), device_list.digest) != device_list.digest:
            raise RollbackError(f"two different version {device_list.version} device lists of {device_list.user_id!r}")

    def add(self, device_list: DeviceList) -> None:
        """Adds a verified list (pinning its user key on first sight) after check_newer()."""
        self._pins.setdefault(device_list.user_id, device_list.user_key)
        self.keep([device_list])

    def keep(self, lists: Iterable[DeviceList]) -> None:
        """Keeps lists that verification accepted inside a structure; a newer one becomes the user's newest."""
        for device_list in lists:
            self._lists.setdefault(device_list.digest, device_list)
            self._versions.setdefault((device_list.user_id, device_list.version), device_list.digest)
            newest = self._newest.get(device_list.user_id)
            if newest is None or device_list.version > newest.version:
                self._newest[device_list.user_id] = device_list
                self.generation += 1

    def newest(self, user_id: str) -> DeviceList | None:
        """The newest held list of a user, or None."""
        return self._newest.get(user_id)

    def by_digest(self) -> Mapping[bytes, DeviceList]:
        """Every held list by digest."""
        return self._lists

    def users(self) -> list[UserPublicKey]:
        """Every pinned user key."""
        return list(self._pins.values())

    def superseded(self, digests: Iterable[bytes]) -> list[str]:
        """Devices on these lists that a newer held list of their user removed or re-keyed: the reason a
        rotation is due ("devices") and sealing in that epoch is refused."""
        gone: list[str] = []
        for digest in set(digests):
            old = self._lists.get(digest)
            newest = None if old is None else self._newest.get(old.user_id)
            if old is None or newest is None or newest.version <= old.version:
                continue
            current = {(d.device_id, d.fingerprint) for d in newest.devices}
            gone.extend(d.device_id for d in old.devices if (d.device_id, d.fingerprint) not in current)
        return sorted(gone)
