"""Opening many stored messages at once (spec/keyring.md, "Opening a history"): KeyRing.open_history.

Each message goes through the steps of KeyRing.open(check_replay=False) in the same order, and its
result is what that call would return or raise. Steps 1 to 3 (parse, the epoch's record and key, the
sender in its roster) read the key ring and may keep fork evidence, so they run one message at a time,
in the order given. Step 4 (signature and decryption) reads nothing of the key ring but the key and the
sender's identity found before: it runs on two threads once there are enough messages, as libsodium
releases the GIL while it verifies. Only then does the key ring count the messages that opened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Final, NamedTuple

from .. import sealing
from ..errors import DomviaError, PolicyError, UsageError
from ..identity import PublicIdentity
from ..keys import RoomKey
from ..message import SealedMessage
from ..sealing import OpenedMessage
from . import opening
from .epoch import EpochRecord
from .forks import ForkEvidence

PARALLEL_THRESHOLD: Final = 64
"""From this many messages on, signatures are verified on two threads."""

Message = SealedMessage | bytes | bytearray | memoryview | str
Result = OpenedMessage | DomviaError


class Ready(NamedTuple):
    """A message through steps 1 to 3: what step 4 needs (``sender`` None for an unsigned message)."""

    record: EpochRecord
    key: RoomKey
    sealed: SealedMessage
    sender: PublicIdentity | None


class Ring(NamedTuple):
    """What open_history reads of a key ring, handed over by KeyRing.open_history."""

    held: Callable[[str], Mapping[int, EpochRecord]]
    owner_id: str
    restored: set[str]
    validate: opening.Validate
    keep: Callable[[ForkEvidence], None]
    allow_unsigned: bool


def open_history(ring: Ring, messages: Iterable[Message]) -> list[Result]:
    """One result per message, in order: the OpenedMessage that ``open(m, check_replay=False)`` returns, or
    the DomviaError it raises. Exceptions other than DomviaError are not caught."""
    prepared = [_prepare(ring, message) for message in messages]
    results = _finish_all(prepared)
    for item, result in zip(prepared, results, strict=True):
        if isinstance(item, Ready) and not isinstance(result, DomviaError):
            item.record.messages += 1
    return results


def _prepare(ring: Ring, message: Message) -> Ready | DomviaError:
    """Steps 1 to 3 of KeyRing.open, in its order."""
    try:
        if not isinstance(message, SealedMessage | bytes | bytearray | memoryview | str):
            raise UsageError(f"a message is a SealedMessage, bytes or str, not {type(message).__name__}")
        sealed = SealedMessage.parse(message)  # type: ignore[arg-type]  # as KeyRing.open: bytes-like too
        held = ring.held(sealed.room_id)
        opening.before_first(held, sealed, ring.owner_id, sealed.room_id in ring.restored)
        record, key = opening.keyed_record(held, sealed, ring.validate, ring.keep)
        if sealed.signed:
            return Ready(record, key, sealed, opening.sender(record, sealed.sender_id, ring.validate))
        if not ring.allow_unsigned:
            raise PolicyError("unsigned message refused: this key ring requires signatures")
        opening.sender(record, sealed.sender_id, ring.validate)
        return Ready(record, key, sealed, None)
    except DomviaError as error:
        return error


def _finish(item: Ready | DomviaError) -> Result:
    """Step 4: verify and decrypt (pure: the key ring is not touched)."""
    if isinstance(item, DomviaError):
        return item
    try:
        if item.sender is None:
            return sealing._open_unsigned_parsed(item.key, item.sealed)
        return sealing._open_parsed(item.key, item.sealed, item.sender)
    except DomviaError as error:
        return error


def _finish_all(prepared: Sequence[Ready | DomviaError]) -> list[Result]:
    def run(part: Sequence[Ready | DomviaError]) -> list[Result]:
        return [_finish(item) for item in part]

    if len(prepared) < PARALLEL_THRESHOLD:
        return run(prepared)
    half = len(prepared) // 2
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(run, prepared[:half])
        second = run(prepared[half:])
        return first.result() + second
