"""Replay detection with bounded memory (spec/keyring.md, "Replay").

Message ids are opaque strings, not counters, so there is no sliding bitmap: the window
remembers the last `capacity` opened (room, epoch, sender, message id) tuples, oldest out
first. The default holds 1,000 times the default rotation threshold of 100 messages.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final

from .errors import ReplayError

DEFAULT_CAPACITY: Final = 100_000
Seen = tuple[str, int, str, str]


class ReplayWindow:
    __slots__ = ("capacity", "_seen")

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        self._seen: OrderedDict[Seen, None] = OrderedDict()

    def check(self, entry: Seen) -> None:
        if entry in self._seen:
            raise ReplayError(f"message {entry[3]!r} from {entry[2]!r} in epoch {entry[1]} was already opened")

    def record(self, entry: Seen) -> None:
        self._seen[entry] = None
        if len(self._seen) > self.capacity:
            self._seen.popitem(last=False)

    def entries(self) -> list[Seen]:
        return list(self._seen)

    def __len__(self) -> int:
        return len(self._seen)
