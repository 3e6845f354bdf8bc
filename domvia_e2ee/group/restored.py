"""Merging verified restored epochs (a key backup or a sibling's share) into a room's held chain
(spec/backup.md, "Restoring"). Pure: it returns what to commit, or raises and commits nothing.

Restored epochs only ever add: epochs before the first held one, if their chain ends in its
``previous``; keys of held epochs whose headers are byte for byte the restored ones. Epochs after
the newest held one are left to live delivery, which checks them as it checks any other.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence

from ..errors import AuthenticationError, StaleEpochError
from .epoch import EpochRecord


def merge_restored(held: Mapping[int, EpochRecord], restored: Sequence[EpochRecord]) -> list[EpochRecord]:
    """The records to commit for one room. Raises AuthenticationError (E_AUTH) for restored epochs that do not
    chain into the held ones, StaleEpochError (E_STALE) for a held epoch restored with another header."""
    restored = [r for r in restored if not held or r.epoch <= max(held)]
    if not held:
        return list(restored)
    first = min(held)
    older = [r for r in restored if r.epoch < first]
    if older and (older[-1].epoch != first - 1
                  or not hmac.compare_digest(held[first].header.previous, older[-1].header.epoch_hash())):
        raise AuthenticationError()
    out = list(older)
    for record in (r for r in restored if r.epoch >= first):
        mine = held[record.epoch]
        if not hmac.compare_digest(mine.header_bytes, record.header_bytes):
            raise StaleEpochError(f"epoch {record.epoch} is held with another header: the backup is of another branch")
        if mine.key is None and record.key is not None:
            out.append(EpochRecord(mine.header, mine.header_bytes, mine.signature, mine.authority, mine.rotator,
                                   record.key, mine.roster, mine.complete, mine.source, mine.messages,
                                   mine.rotator_lists))
    return out
