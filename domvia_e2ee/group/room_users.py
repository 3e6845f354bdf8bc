"""Users in a room: a member user stands for every device on its newest device list
(spec/users.md, "Rotation"). An admin's room expands users to devices here, from its key ring."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..errors import PolicyError
from ..identity import PublicIdentity
from ..users.device_list import DeviceList
from .epoch import EpochRecord
from .keyring import KeyRing


def expand_users(keyring: KeyRing, user_ids: Iterable[str]) -> tuple[dict[str, PublicIdentity], list[DeviceList]]:
    """Every device of each user's newest held list, with its pinned identity, and those lists. Raises
    PolicyError (E_POLICY) for a user with no held list or a device whose identity is not held."""
    devices: dict[str, PublicIdentity] = {}
    lists = []
    for user_id in sorted(set(user_ids)):
        device_list = keyring.users.newest(user_id)
        if device_list is None:
            raise PolicyError(f"no device list of user {user_id!r} is held: add it with KeyRing.add_device_list")
        lists.append(device_list)
        for device in device_list.devices:
            identity = keyring.known_identity(device.device_id)
            if identity is None or identity.fingerprint != device.fingerprint:
                raise PolicyError(f"the identity of {device.device_id!r} on {user_id!r}'s list is not held")
            devices[device.device_id] = identity
    return devices, lists


def users_of(record: EpochRecord) -> dict[str, bytes]:
    """The users of an epoch (as far as its roster is known): user id to the digest of the list used."""
    return {e.user_id: e.list_digest for e in record.roster.values() if e.user_id is not None}


def stale_users(keyring: KeyRing, users: Mapping[str, bytes]) -> list[str]:
    """Users whose newest held list is not the one the epoch used: a rotation is due ("devices")."""
    return sorted(u for u, digest in users.items()
                  if (newest := keyring.users.newest(u)) is not None and newest.digest != digest)
