"""The simulation's ground truth: every genuine epoch (its member devices and users), every honest message
as the store logged them, every genuine device list, and which epoch keys each user's devices handed on in
a backup chunk or a sibling share; and which failure codes each kind of delivery may cause
(spec/errors.md, spec/keyring.md "Opening", spec/unreadable.md).

Nothing here trusts a key ring's view of a room: entitlement is computed from what the admins signed.
A device is an *incarnation*: its participant id and identity fingerprint (a device that replaces its
keys keeps its id and is another incarnation, which must restore its user's history like a new device).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Final

from ..group.replay import DEFAULT_LIVE_EPOCHS

Device = tuple[str, bytes]  # (participant id, identity fingerprint)

# Codes a client retries on after its action (spec/unreadable.md: fetch, restore); the rest are final.
RETRY: Final = frozenset({"E_GAP", "E_UNKNOWN_KEY", "E_UNKNOWN_SENDER", "E_DEVICE_TOO_NEW", "E_WITHHELD"})
# Deliveries the malicious server makes up, and every code each may end in (transient ones included).
FORGED: Final[dict[str, frozenset[str]]] = {
    "forged-bundle": frozenset({"E_UNAUTHORIZED", "E_GAP", "E_STALE"}),        # signed by a non-admin
    "other-slice": frozenset({"E_NOT_RECIPIENT", "E_STALE", "E_GAP"}),         # another member's slice
    "tampered": frozenset({"E_AUTH", "E_UNKNOWN_KEY", "E_NOT_MEMBER", "E_UNKNOWN_SENDER", "E_DEVICE_TOO_NEW",
                           "E_WITHHELD"}),
    # ... or one a device signs under a key restored from its user's backup, its id then on the roster with
    # older keys (E_AUTH: the roster's key does not verify it).
    "removed-sender": frozenset({"E_UNAUTHORIZED", "E_UNKNOWN_SENDER", "E_STALE", "E_NOT_MEMBER",
                                 "E_UNKNOWN_KEY", "E_REPLAY", "E_DEVICE_TOO_NEW", "E_WITHHELD", "E_AUTH"}),
}
# The cause (domvia_e2ee.unreadable) each failure of a message must be reported with.
CAUSES: Final = {"E_UNKNOWN_KEY": "no-key-yet", "E_GAP": "no-key-yet", "E_UNKNOWN_SENDER": "unknown-sender",
                 "E_DEVICE_TOO_NEW": "device-too-new", "E_NOT_MEMBER": "not-a-member",
                 "E_WITHHELD": "withheld-by-policy", "E_AUTH": "tampered", "E_FORMAT": "tampered",
                 "E_REPLAY": "replayed", "E_STALE": "replayed", "E_UNAUTHORIZED": "unknown-sender"}


class InvariantError(AssertionError):
    """An invariant of the simulation failed; the message names the seed and the event number."""


@dataclass(frozen=True)
class Message:
    """An honest message as stored: room, log position, epoch, sending device, plaintext."""

    room_id: str
    seq: int
    epoch: int
    sender: Device
    text: bytes


@dataclass
class RoomTruth:
    """One room's chain as stored: per epoch its member devices and users, and each epoch's log position."""

    admin: str
    members: dict[int, frozenset[Device]] = field(default_factory=dict)
    users: dict[int, frozenset[str]] = field(default_factory=dict)
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
    """Rooms, honest messages, genuine lists, what each user's devices handed on, and who read what."""

    rooms: dict[str, RoomTruth] = field(default_factory=dict)
    messages: dict[tuple[str, int], Message] = field(default_factory=dict)
    by_wire: dict[bytes, tuple[str, int]] = field(default_factory=dict)
    read: set[tuple[Device, str, int]] = field(default_factory=set)          # (device, room, seq)
    lists: dict[bytes, tuple[str, int]] = field(default_factory=dict)       # genuine list digest -> (user, version)
    handed: dict[str, set[tuple[str, int]]] = field(default_factory=dict)   # user -> (room, epoch) keys backed up
    gone: dict[Device, dict[str, int]] = field(default_factory=dict)        # lost or replaced -> newest epochs then

    def epoch_stored(self, room_id: str, epoch: int, seq: int, members: frozenset[Device],
                     users: frozenset[str]) -> None:
        """Records a genuine epoch the store put on the room's chain."""
        truth = self.rooms[room_id]
        assert epoch == truth.latest + 1, "the admin's epochs are stored in order"
        truth.members[epoch], truth.users[epoch] = members, users
        truth.epoch_seqs.append(seq)

    def message_stored(self, message: Message, wire: bytes) -> None:
        """Records an honest message the store accepted."""
        self.messages[(message.room_id, message.seq)] = message
        self.by_wire[wire] = (message.room_id, message.seq)

    def is_member(self, room_id: str, epoch: int, who: Device) -> bool:
        """Whether the device incarnation ``who`` is a member of that genuine epoch."""
        return who in self.rooms[room_id].members.get(epoch, frozenset())

    def user_member(self, room_id: str, epoch: int, user: str | None) -> bool:
        """Whether ``user`` is a member user of that genuine epoch."""
        return user in self.rooms[room_id].users.get(epoch, frozenset())

    def live_entitled(self, who: Device, message: Message) -> bool:
        """Whether a correct device must read the message live: a member of its epoch, and the spec lets a
        reader that follows the store's order open it (its sender still a member of the epoch newest when it
        was stored, and that epoch at most 15 newer than the message's)."""
        newest = self.rooms[message.room_id].latest_at(message.seq)
        return (self.is_member(message.room_id, message.epoch, who)
                and self.is_member(message.room_id, newest, message.sender)
                and message.epoch > newest - DEFAULT_LIVE_EPOCHS)

    def lose(self, device: Device) -> None:
        """A device is lost, or its keys replaced: it may have held keys of epochs up to now, none after."""
        self.gone[device] = {room_id: truth.latest for room_id, truth in self.rooms.items()}

    def restorable(self, user: str | None, message: Message, device: Device | None = None) -> bool:
        """Whether the message's key is one the user's devices backed up (or shared), its user a member then
        (and, for a gone ``device``, an epoch before it was lost)."""
        if device in self.gone and message.epoch > self.gone[device].get(message.room_id, 0):
            return False
        return (user is not None and self.user_member(message.room_id, message.epoch, user)
                and (message.room_id, message.epoch) in self.handed.get(user, set()))

    def unable_to_decrypt(self, devices: dict[Device, str | None]) -> list[tuple[Device, Message]]:
        """Every (device, message) a current device is entitled to and has not read."""
        return [(d, m) for m in self.messages.values() for d, user in devices.items()
                if (d, m.room_id, m.seq) not in self.read and d not in self.gone
                and (self.live_entitled(d, m) or self.restorable(user, m))]
