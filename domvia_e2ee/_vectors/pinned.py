"""X-Wing wrapped keys, generated once and kept in vectors/pinned/xwing.json.

cryptography's X-Wing encapsulation draws its own randomness, so these ciphertexts cannot be
regenerated identically; they are made once by `python -m domvia_e2ee._vectors pin-xwing`,
committed, and copied into decrypt-side vectors. `vectors check` re-opens every one of them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..hazmat.suites import Suite
from ..keys import RoomKey
from ..labels import INFO_HISTORY_WRAP, INFO_WRAP
from ..wrap import WrapKem, wrap
from ..vector_files import default_vectors_dir
from .fixtures import seed

# Where pinned() reads: the vectors directory generate() was given (vectors check --vectors), else the default.
_DIRECTORY: list[Path] = []
PQ_ROOM = "room-pq"
# (name, recipient, room, epoch, label)
WRAPS = [
    ("erin-wrap", "erin", "room-42", 1, "wrap"),
    ("erin-history", "erin", "room-42", 1, "history-wrap"),
    ("alice-pq-room", "alice", PQ_ROOM, 1, "wrap"),
    ("bob-pq-room", "bob", PQ_ROOM, 1, "wrap"),
]


def pq_secret(room_id: str, epoch: int) -> bytes:
    return seed(f"pq-room-key/{room_id}/{epoch}")


def write_pinned() -> None:
    from .fixtures import identity

    out = {}
    for name, recipient, room_id, epoch, label in WRAPS:
        key = RoomKey(pq_secret(room_id, epoch), room_id=room_id, epoch=epoch, suite=Suite.AES_256_GCM)
        who = identity(recipient, post_quantum=True)
        wrapped = wrap(key, who.public, WrapKem.MLKEM768_X25519, INFO_WRAP if label == "wrap" else INFO_HISTORY_WRAP)
        out[name] = wrapped.hex()
    path = pinned_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")


def use_directory(directory: Path | None) -> None:
    _DIRECTORY[:] = [] if directory is None else [Path(directory)]


def pinned_path() -> Path:
    return (_DIRECTORY[0] if _DIRECTORY else default_vectors_dir()) / "pinned" / "xwing.json"


def pinned() -> dict[str, Any]:
    return dict(json.loads(pinned_path().read_text()))
