"""The per-entry checks of a restore (spec/backup.md, "Restoring", step 6), done before the chain is walked.

Parsing an entry and checking what it carries on its own (bundle.md steps 2, 3, 4 and 4b: the rotator's
entry, the header's signature, the rotator's path to the root, the device lists) depend on no other entry,
so they run for every entry up front, on two threads once there are enough of them (libsodium releases the
GIL while it verifies). Nothing is decided here: each entry keeps what parsing or its checks raised, and
restore.py raises it at the point of the chain walk where the one-entry-at-a-time order would have, so a
room is refused with exactly the code it was refused with before.

Within one restore, a device list whose signature verified is held for the next entries: the same
rotator's list is carried by every epoch it signed, and its digest (SHA-256 of its bytes) names those
exact bytes, so a list verified once verifies again under the same pins.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final

from ..errors import DomviaError
from ..group.bundle import Announcement
from ..group.header import EpochHeader
from ..group.lists import UserState
from ..group.members import MemberProof, RosterEntry
from ..group.verify import check_item_lists, check_signature, check_tree, rotator_of
from .backup_entries import SIGNED, BackupEntry

PARALLEL_THRESHOLD: Final = 64
"""From this many entries on, the checks run on two threads."""


@dataclass(frozen=True)
class Checked:
    """One entry, parsed once, with what its own checks found. ``parse_error`` is what reading the header
    raised (nothing else is set then); ``error`` what the signature, tree or list checks raised."""

    entry: BackupEntry
    header: EpochHeader | None = None
    announcement: Announcement | None = None
    rotator: RosterEntry | None = None
    proof: MemberProof | None = None
    parse_error: DomviaError | None = None
    error: DomviaError | None = None


def check_all(entries: Sequence[BackupEntry], users: UserState) -> list[Checked]:
    """``check_one`` of every entry, in order; on two threads from PARALLEL_THRESHOLD entries on."""
    cached = UserState(users.pins, dict(users.held))

    def run(part: Sequence[BackupEntry]) -> list[Checked]:
        return [check_one(entry, cached) for entry in part]

    if len(entries) < PARALLEL_THRESHOLD:
        return run(entries)
    half = len(entries) // 2
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(run, entries[:half])
        second = run(entries[half:])
        return first.result() + second


def check_one(entry: BackupEntry, users: UserState) -> Checked:
    """Parses the entry and, for a signed one, runs bundle.md steps 2, 3, 4 and 4b on it. A list that
    verified is added to ``users.held`` (a dict owned by check_all) for the entries after it."""
    try:
        if entry.kind != SIGNED:
            return Checked(entry, EpochHeader.from_bytes(entry.data))
        announcement = Announcement.from_bytes(entry.data)
    except DomviaError as error:
        return Checked(entry, parse_error=error)
    header = announcement.header
    try:
        rotator, proof = rotator_of(announcement)
    except DomviaError as error:
        return Checked(entry, header, announcement, error=error)
    try:
        check_signature(announcement.signed, rotator)
        check_tree(announcement)
        verified = check_item_lists(announcement, users)
    except DomviaError as error:
        return Checked(entry, header, announcement, rotator, proof, error=error)
    held = users.held
    assert isinstance(held, dict)
    held.update(verified)
    return Checked(entry, header, announcement, rotator, proof)
