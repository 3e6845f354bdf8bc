"""Device lists inside group-state structures (spec/users.md, "Device lists in the group state").

Member entries name their user's device list by digest; a bundle carries every list it names, a
slice, announcement or member proof file the lists of the entries it carries. Checking them is a
pure function of the structure, the pinned user keys and the lists already held.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..encoding import Reader, Writer
from ..errors import FormatError, RollbackError, UnauthorizedError
from ..users.device_list import NO_LIST, DeviceList
from ..users.user_key import UserPublicKey

if TYPE_CHECKING:  # members.py reads lists sections too
    from .members import RosterEntry

Lists = tuple[DeviceList, ...]


@dataclass(frozen=True)
class UserState:
    """What a key ring knows of users when it checks a structure: pinned user keys and held lists."""

    pins: Mapping[str, UserPublicKey] = field(default_factory=dict)
    held: Mapping[bytes, DeviceList] = field(default_factory=dict)
    versions: Mapping[tuple[str, int], bytes] = field(default_factory=dict)  # (user, version) -> digest held


def write_lists(w: Writer, lists: Sequence[DeviceList]) -> Writer:
    """Writes u32(count) and each list as bytes16, sorted by user id, and returns ``w``."""
    w.u32(len(lists))
    for device_list in sorted(lists, key=lambda d: d.user_id.encode()):
        w.bytes16(device_list.raw)
    return w


def read_lists(r: Reader, limit: int) -> Lists:
    """Reads a lists section of at most ``limit`` lists, strictly sorted by user id. Raises FormatError
    (E_FORMAT) naming the field."""
    count = r.u32("lists.count")
    if count > limit:
        raise FormatError("lists.count", f"at most {limit} device lists here")
    lists = tuple(_parse_list(r.bytes16("lists.list")) for _ in range(count))
    for before, after in itertools.pairwise(lists):
        if before.user_id.encode() >= after.user_id.encode():
            raise FormatError("lists", "must be sorted by user id, one list per user")
    return lists


# The same list travels in every announcement, slice and backup entry its user's devices appear in: a
# restore of 10,000 epochs parsed the rotator's list 10,000 times. A DeviceList is immutable and is a
# function of its bytes, so one parsed object serves every copy (a malformed one raises, and is not kept).
_parse_list = functools.lru_cache(maxsize=1024)(DeviceList.from_bytes)


def lists_for(entries: Iterable[RosterEntry], known: Mapping[bytes, DeviceList]) -> Lists:
    """The lists the entries name, from ``known`` (digest to list), one per digest."""
    digests = {e.list_digest for e in entries if e.list_digest != NO_LIST}
    return tuple(known[d] for d in sorted(digests))


def check_lists(entries: Sequence[RosterEntry], lists: Lists, users: UserState) -> dict[bytes, DeviceList]:
    """The lists of a structure, checked: every list named by an entry is there and none is extra
    (E_FORMAT); each is signed by its user key, the pinned one where one is pinned (E_AUTH,
    E_UNAUTHORIZED); each device entry is on its list with its fingerprint (E_UNAUTHORIZED).
    Returns digest to list."""
    by_digest = {d.digest: d for d in lists}
    named = {e.list_digest for e in entries if e.list_digest != NO_LIST}
    if named != set(by_digest):
        raise FormatError("lists", "must be exactly the device lists that the member entries name")
    for device_list in lists:
        pinned = users.pins.get(device_list.user_id)
        if device_list.digest in users.held:  # its signature was verified when it was first held
            _same_pin(device_list, pinned)
            continue
        device_list.verify(pinned)
        if users.versions.get((device_list.user_id, device_list.version), device_list.digest) != device_list.digest:
            raise RollbackError(f"two different version {device_list.version} device lists of {device_list.user_id!r}: "
                                "its user key signed both")
    for entry in entries:
        if entry.list_digest != NO_LIST:
            device_list = by_digest[entry.list_digest]
            if entry.user_id != device_list.user_id:
                raise UnauthorizedError(f"{entry.participant_id!r} is not a device of {device_list.user_id!r}")
            device_list.require(entry.participant_id, entry.fingerprint)
    return by_digest


def _same_pin(device_list: DeviceList, pinned: UserPublicKey | None) -> None:
    if pinned is not None and pinned != device_list.user_key:
        raise UnauthorizedError(f"the device list of {device_list.user_id!r} is signed by a key other than the pinned one")


def check_complete(entries: Sequence[RosterEntry], lists: Mapping[bytes, DeviceList]) -> None:
    """A full roster wraps to every device of every list it names. Raises UnauthorizedError (E_UNAUTHORIZED)."""
    present = {(e.participant_id, e.fingerprint) for e in entries}
    for device_list in lists.values():
        for device in device_list.devices:
            if (device.device_id, device.fingerprint) not in present:
                raise UnauthorizedError(f"the epoch leaves out {device.device_id!r}, on its user's device list")


def check_no_rollback(now: Mapping[bytes, DeviceList], before: Iterable[RosterEntry],
                      held: Mapping[bytes, DeviceList]) -> None:
    """No user's list is older in epoch E than in E - 1. Raises RollbackError (E_ROLLBACK)."""
    versions = {d.user_id: d.version for d in now.values()}
    for entry in before:
        older = held.get(entry.list_digest)
        if older is not None and versions.get(older.user_id, older.version) < older.version:
            raise RollbackError(f"the device list of {older.user_id!r} goes back from version {older.version} "
                                f"to {versions[older.user_id]}")
