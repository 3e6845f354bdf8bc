"""The relay between the store and the clients: it loses, duplicates, delays and so reorders deliveries.

Every decision comes from one seeded random.Random, so a seed replays the same run. A delivery to an
offline client is lost (the realtime channel keeps nothing); the store keeps everything for sync.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Relay:
    """``loss`` and ``duplicate`` are probabilities per delivery; a delivery arrives 1 to ``max_delay`` ticks
    after it was sent (independent delays reorder them)."""

    rng: random.Random
    loss: float = 0.1
    duplicate: float = 0.05
    max_delay: int = 8
    _queue: list[tuple[int, int, str, Any]] = field(default_factory=list)
    _order: int = 0
    sent: int = 0
    lost: int = 0

    def send(self, now: int, target: str, payload: Any) -> None:
        """Queues ``payload`` for ``target``: maybe lost, maybe twice, after a random delay."""
        self.sent += 1
        if self.rng.random() < self.loss:
            self.lost += 1
            return
        copies = 2 if self.rng.random() < self.duplicate else 1
        for _ in range(copies):
            self._order += 1
            heapq.heappush(self._queue, (now + self.rng.randint(1, self.max_delay), self._order, target, payload))

    def due(self, now: int) -> list[tuple[str, Any]]:
        """Everything that arrives by tick ``now``, in arrival order."""
        out = []
        while self._queue and self._queue[0][0] <= now:
            _, _, target, payload = heapq.heappop(self._queue)
            out.append((target, payload))
        return out

    def idle(self) -> bool:
        """Whether nothing is in flight."""
        return not self._queue
