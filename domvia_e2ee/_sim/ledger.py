"""The simulation's ground truth: every genuine epoch and honest message as the store logged them, and
which failure codes each kind of delivery may cause (spec/errors.md, spec/keyring.md "Opening").

Nothing here trusts a key ring: entitlement is computed from what the admins really signed.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Final

from ..group.replay import DEFAULT_LIVE_EPOCHS

# Codes a client retries on after fetching what is missing (spec/errors.md, "what a client does").
RETRY: Final = frozenset({"E_GAP", "E_UNKNOWN_KEY", "E_UNKNOWN_SENDER"})
# Deliveries the malicious server makes up, and every code each may end in (transient ones included).
FORGED: Final[dict[str, frozenset[str]]] = {
    "forged-bundle": frozenset({"E_UNAUTHORIZED", "E_GAP", "E_STALE"}),        # signed by a non-admin
    "other-slice": frozenset({"E_NOT_RECIPIENT", "E_STALE", "E_GAP"}),         # another member's slice
    "tampered": frozenset({"E_AUTH", "E_UNKNOWN_KEY", "E_NOT_MEMBER", "E_UNKNOWN_SENDER"}),
    "removed-sender": frozenset({"E_UNAUTHORIZED", "E_UNKNOWN_SENDER", "E_STALE", "E_NOT_MEMBER",
                                 "E_UNKNOWN_KEY", "E_REPLAY"}),
}


class InvariantError(AssertionError):
    """An invariant of the simulation failed; the message names the seed and the event number."""


@dataclass(frozen=True)
class Message:
    """An honest message as stored: room, log position, epoch, sender, plaintext."""

    room_id: str
    seq: int
    epoch: int
    sender: str
    text: bytes


@dataclass
class RoomTruth:
    """One room's chain as stored: per epoch its members, and the log position of each epoch's bundle."""

    admin: str
    members: dict[int, frozenset[str]] = field(default_factory=dict)
    epoch_seqs: list[int] = field(default_factory=list)   # seq of the bundle of epoch i + 1

    def latest_at(self, seq: int) -> int:
        """The newest epoch whose bundle the store logged before position ``seq``."""
        return bisect.bisect_left(self.epoch_seqs, seq)

    @property
    def latest(self) -> int:
        """The newest stored epoch."""
        return len(self.epoch_seqs)


@dataclass
class Ledger:
    """Rooms, honest messages and who read what."""

    rooms: dict[str, RoomTruth] = field(default_factory=dict)
    messages: dict[tuple[str, int], Message] = field(default_factory=dict)
    by_wire: dict[bytes, tuple[str, int]] = field(default_factory=dict)
    read: set[tuple[str, str, int]] = field(default_factory=set)      # (client, room, seq)

    def epoch_stored(self, room_id: str, epoch: int, seq: int, members: frozenset[str]) -> None:
        """Records a genuine epoch the store put on the room's chain."""
        truth = self.rooms[room_id]
        assert epoch == truth.latest + 1, "the admin's epochs are stored in order"
        truth.members[epoch] = members
        truth.epoch_seqs.append(seq)

    def message_stored(self, message: Message, wire: bytes) -> None:
        """Records an honest message the store accepted."""
        self.messages[(message.room_id, message.seq)] = message
        self.by_wire[wire] = (message.room_id, message.seq)

    def is_member(self, room_id: str, epoch: int, who: str) -> bool:
        """Whether ``who`` is a member of that genuine epoch."""
        return who in self.rooms[room_id].members.get(epoch, frozenset())

    def entitled(self, who: str, message: Message) -> bool:
        """Whether a correct client must read the message: a member of its epoch, and the spec lets a reader
        that follows the store's order open it live (its sender still a member of the epoch newest when it
        was stored, and that epoch at most 15 newer than the message's)."""
        truth = self.rooms[message.room_id]
        newest = truth.latest_at(message.seq)
        return (self.is_member(message.room_id, message.epoch, who)
                and self.is_member(message.room_id, newest, message.sender)
                and message.epoch > newest - DEFAULT_LIVE_EPOCHS)

    def unable_to_decrypt(self, clients: list[str]) -> list[tuple[str, Message]]:
        """Every (client, message) the client is entitled to and has not read."""
        return [(c, m) for m in self.messages.values() for c in clients
                if self.entitled(c, m) and (c, m.room_id, m.seq) not in self.read]
