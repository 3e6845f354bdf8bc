"""Fork evidence (spec/keyring.md, "Forks"): two signed items that no single honest history explains.

Evidence is self-contained: announcements carry their rotator's keys and tree path, a message
evidence carries the sender's roster entry, so any member can check it without trusting the holder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from ..encoding import b64decode, b64encode, check_epoch, check_fields, check_id, get_str
from ..errors import FormatError

KINDS: Final = ("header", "chain", "message")
MAX_EVIDENCE_PER_ROOM: Final = 16


@dataclass(frozen=True)
class ForkEvidence:
    """kind "header": two announcements of one epoch; "chain": the held announcement of E - 1 and
    an authorised one of E that does not build on it; "message": the held announcement of E and a
    member's signed message naming E with another key id. ``held`` and ``other`` are those bytes."""

    room_id: str
    epoch: int
    kind: str
    held: bytes
    other: bytes
    # kind "message": the sender's roster entry (id, keys, wrapped digest) in the held epoch; else empty.
    sender: bytes = b""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of a key ring file: room, epoch, kind, and held, other and sender in base64url."""
        return {"room": self.room_id, "epoch": self.epoch, "kind": self.kind, "held": b64encode(self.held),
                "other": b64encode(self.other), "sender": b64encode(self.sender)}

    @classmethod
    def from_dict(cls, obj: Any) -> ForkEvidence:
        """Reads to_dict()'s form, verifying no signature. Raises FormatError (E_FORMAT) naming the field."""
        if not isinstance(obj, dict):
            raise FormatError("forks", "must be an object")
        check_fields(obj, ("room", "epoch", "kind", "held", "other", "sender"))
        kind = get_str(obj, "kind")
        if kind not in KINDS:
            raise FormatError("forks.kind", "unknown kind")
        return cls(check_id(obj["room"], "forks.room"), check_epoch(obj["epoch"], "forks.epoch"), kind,
                   b64decode(obj["held"], "forks.held"), b64decode(obj["other"], "forks.other"),
                   b64decode(obj["sender"], "forks.sender"))
