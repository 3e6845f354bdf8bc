"""What a participant holds about one epoch of one room."""

from __future__ import annotations

from dataclasses import dataclass, field

from .keys import RoomKey
from .wrap import WrapKem


@dataclass
class EpochRecord:
    key: RoomKey
    kem: WrapKem
    # Member-tree root and size, from the signed header; None for epochs learnt from history.
    root: bytes | None
    size: int
    # id -> identity fingerprint, when the whole member list is known (full bundle or history).
    roster: dict[str, bytes] | None
    header: bytes | None
    issued_at: int
    source: str
    messages: int = field(default=0)

    def is_member(self, participant_id: str, fingerprint: bytes) -> bool | None:
        """True or False when the roster is known, None when only a slice was received."""
        if self.roster is None:
            return None
        listed = self.roster.get(participant_id)
        return listed is not None and listed == fingerprint
