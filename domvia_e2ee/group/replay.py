"""Replay state per (room, epoch) with bounded memory (spec/keyring.md, "Replay state").

Nothing is ever evicted from an epoch's set: a full epoch is closed instead (live messages in it
become E_STALE), and the state of a room's older epochs is dropped whole. So no authentic message
can open a second time as new, and one room's traffic cannot push out another's entries.
"""

from __future__ import annotations

from typing import Final

from ..errors import PolicyError, ReplayError, StaleEpochError

DEFAULT_CAPACITY: Final = 100_000
DEFAULT_LIVE_EPOCHS: Final = 16
SEALED: Final = 1
OPENED: Final = 2


class EpochReplay:
    """One epoch's replay state: (sender id, message id) to SEALED and OPENED bits; ``closed`` once full."""

    __slots__ = ("seen", "closed")

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], int] = {}
        self.closed = False


class ReplayState:
    """Every call names the room's latest held epoch: state is kept for the newest ``live_epochs``, each of
    at most ``capacity`` entries. Raises ValueError for a capacity or live_epochs below 1."""

    __slots__ = ("capacity", "live_epochs", "_rooms")

    def __init__(self, capacity: int = DEFAULT_CAPACITY, live_epochs: int = DEFAULT_LIVE_EPOCHS) -> None:
        if capacity < 1 or live_epochs < 1:
            raise ValueError("replay capacity and live epochs must be positive")
        self.capacity, self.live_epochs = capacity, live_epochs
        self._rooms: dict[str, dict[int, EpochReplay]] = {}

    def _peek(self, room_id: str, epoch: int, latest: int) -> EpochReplay | None:
        """The epoch's state without changing anything; raises E_STALE for a dropped or closed epoch."""
        if epoch <= latest - self.live_epochs:
            raise StaleEpochError(f"epoch {epoch} is more than {self.live_epochs} epochs old: live messages there are refused")
        state = self._rooms.get(room_id, {}).get(epoch)
        if state is not None and state.closed:
            raise StaleEpochError(f"epoch {epoch} saw {self.capacity} messages: its replay state is full")
        return state

    def _epoch(self, room_id: str, epoch: int, latest: int) -> EpochReplay:
        self._peek(room_id, epoch, latest)
        epochs = self._rooms.setdefault(room_id, {})
        for old in [e for e in epochs if e <= latest - self.live_epochs]:
            del epochs[old]
        return epochs.setdefault(epoch, EpochReplay())

    def check_open(self, room_id: str, epoch: int, latest: int, sender_id: str, message_id: str) -> None:
        """Changes nothing. Raises StaleEpochError (E_STALE) for a dropped or closed epoch, ReplayError
        (E_REPLAY) for a message already opened."""
        state = self._peek(room_id, epoch, latest)
        if state is not None and state.seen.get((sender_id, message_id), 0) & OPENED:
            raise ReplayError(f"message {message_id!r} from {sender_id!r} in epoch {epoch} was already opened")

    def record_open(self, room_id: str, epoch: int, latest: int, sender_id: str, message_id: str) -> None:
        """Marks a message opened, dropping the room's epochs out of the live window. Raises StaleEpochError
        (E_STALE) for a dropped or closed epoch (check_open first)."""
        self._mark(self._epoch(room_id, epoch, latest), (sender_id, message_id), OPENED)

    def reserve_seal(self, room_id: str, epoch: int, sender_id: str, message_id: str) -> None:
        """A sealer never reuses an id in an epoch: receivers would drop the second message as a replay.
        Raises PolicyError (E_POLICY) for an id already seen in the epoch, StaleEpochError (E_STALE) for a
        closed epoch."""
        state = self._epoch(room_id, epoch, epoch)
        if (sender_id, message_id) in state.seen:
            raise PolicyError(f"message id {message_id!r} was already used in epoch {epoch}: choose another")
        self._mark(state, (sender_id, message_id), SEALED)

    def _mark(self, state: EpochReplay, entry: tuple[str, str], bit: int) -> None:
        state.seen[entry] = state.seen.get(entry, 0) | bit
        if len(state.seen) >= self.capacity:
            state.closed = True

    def forget_seal(self, room_id: str, epoch: int, sender_id: str, message_id: str) -> None:
        """Undoes reserve_seal when sealing failed after it, so a rejected seal changes nothing."""
        state = self._rooms.get(room_id, {}).get(epoch)
        if state is not None and state.seen.get((sender_id, message_id)) == SEALED:
            del state.seen[(sender_id, message_id)]
            state.closed = False

    def forget_room(self, room_id: str) -> None:
        """Drops the replay state of every epoch of a room."""
        self._rooms.pop(room_id, None)

    def dump(self) -> dict[str, list[list[object]]]:
        """The whole state, sorted, for a key ring file: room to ``[epoch, closed, [[sender, id, bits], ...]]``."""
        return {room: [[e, s.closed, [[a, b, bits] for (a, b), bits in sorted(s.seen.items())]]
                       for e, s in sorted(epochs.items())] for room, epochs in sorted(self._rooms.items())}

    def restore(self, room_id: str, epoch: int, closed: bool, seen: dict[tuple[str, str], int]) -> None:
        """Sets one epoch's state as dump() wrote it; checks nothing."""
        state = self._rooms.setdefault(room_id, {}).setdefault(epoch, EpochReplay())
        state.seen, state.closed = seen, closed
