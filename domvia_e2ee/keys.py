"""RoomKey: the secret of one room epoch, with the key id that commits to it.

The 32-byte secret is never used directly as an AEAD key. HKDF derives from it
- the key id, a 32-byte commitment to (secret, suite, room, epoch) sent with every message, and
- one AEAD key per sender, so each sender has its own random-nonce budget (spec/sealing.md).
"""

from __future__ import annotations

import hmac
import os
import threading
from typing import ClassVar, Final

from . import labels
from .encoding import Writer, check_epoch, check_id
from .errors import KeyExhaustedError
from .hazmat import kdf
from .hazmat.suites import DEFAULT_SUITE, KEY_SIZE, AeadKey, Suite

# Random 96-bit nonces: P(collision) <= q^2 / 2^97, so q = 2^32 messages per sender key
# keeps it at 2^-33 (spec/sealing.md, "Nonce bound"). XChaCha's 192-bit nonce makes the
# same cap far stricter than needed; one rule for both suites keeps policy simple.
MAX_MESSAGES_PER_SENDER: Final = 1 << 32
"""Messages one sender may seal under one epoch's key; `RoomKey.reserve_seal` refuses the next."""
KEY_ID_SIZE: Final = 32
"""Bytes of a key id, the commitment to (secret, suite, room, epoch) sent with every message."""
# open() derives the sender's key before anything is authenticated, so the sender id is the
# relay's choice: the cache is bounded, or forged ids would grow it without limit (~0.5 KiB each).
MAX_CACHED_SENDERS: Final = 1024
"""Sender keys a RoomKey caches before it starts over (a bound on memory, not a limit on senders)."""


def key_context(suite: Suite, room_id: str, epoch: int) -> bytes:
    """The bytes (suite, room id, epoch) that bind the key id and every sender key to one epoch.

    Expects a checked room id and epoch (`RoomKey` checks them first); raises no DomviaError.
    """
    return Writer().u8(suite).str8(room_id).u32(epoch).getvalue()


class RoomKey:
    """The key of one room epoch. Compare with ==, which is constant-time; never printed.

    `RoomKey(secret, room_id=..., epoch=..., suite=...)` raises `ValueError` when `secret` is not
    32 bytes (a programming error, not an input error) and `FormatError` (E_FORMAT) for an invalid
    room id or epoch. `key_id` is the 32-byte commitment; `bytes(key)` is the secret itself.
    """

    SIZE: ClassVar[int] = KEY_SIZE

    __slots__ = ("_secret", "room_id", "epoch", "suite", "key_id", "_prk", "_context",
                 "_senders", "_sealed", "_lock", "prefixes")

    def __init__(self, secret: bytes, *, room_id: str, epoch: int, suite: Suite = DEFAULT_SUITE) -> None:
        if not isinstance(secret, bytes) or len(secret) != KEY_SIZE:
            raise ValueError("a room key is 32 bytes")
        self._secret = secret
        self.room_id = check_id(room_id, "room_id")
        self.epoch = check_epoch(epoch)
        self.suite = Suite(suite)
        self._prk = kdf.extract(labels.ROOM_KEY_SALT, secret)
        self._context = key_context(self.suite, room_id, epoch)
        self.key_id: bytes = kdf.expand(self._prk, labels.INFO_KEY_ID + self._context, KEY_ID_SIZE)
        self._senders: dict[str, AeadKey] = {}
        self._sealed: dict[str, int] = {}
        self._lock = threading.Lock()
        # Message header prefixes by (sender, content type, flags): built once, not per message.
        self.prefixes: dict[tuple[str, str, int], bytes] = {}

    @classmethod
    def generate(cls, *, room_id: str, epoch: int, suite: Suite = DEFAULT_SUITE) -> RoomKey:
        """A fresh random key (os.urandom) for one epoch. Raises `FormatError` (E_FORMAT) for a bad id or epoch."""
        return cls(os.urandom(KEY_SIZE), room_id=room_id, epoch=epoch, suite=suite)

    def __bytes__(self) -> bytes:
        return self._secret

    def __repr__(self) -> str:
        return (f"RoomKey(room_id={self.room_id!r}, epoch={self.epoch}, suite={self.suite.label}, "
                f"key_id={self.key_id.hex()[:16]}…, secret=<redacted>)")

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RoomKey):
            return NotImplemented
        same_secret = hmac.compare_digest(self._secret, other._secret)
        return same_secret and self._context == other._context

    def __hash__(self) -> int:
        return hash(self.key_id)

    def matches(self, key_id: bytes) -> bool:
        """Constant-time check that key_id is this key's commitment. Raises nothing."""
        return hmac.compare_digest(self.key_id, key_id)

    def sender_cipher(self, sender_id: str) -> AeadKey:
        """The AEAD key of one sender in this epoch, derived once and cached.

        Expects a checked sender id (the message parser checks it before anything is derived);
        raises no DomviaError.
        """
        cipher = self._senders.get(sender_id)
        if cipher is None:
            info = Writer(labels.INFO_SENDER_KEY + self._context).str8(sender_id).getvalue()
            cipher = AeadKey(self.suite, kdf.expand(self._prk, info, KEY_SIZE))
            if len(self._senders) >= MAX_CACHED_SENDERS:
                self._senders.clear()
            self._senders[sender_id] = cipher
        return cipher

    def reserve_seal(self, sender_id: str) -> None:
        """Counts one message against the sender's nonce budget, refusing past the bound.

        Raises `KeyExhaustedError` (E_KEY_EXHAUSTED) once the sender sealed
        `MAX_MESSAGES_PER_SENDER` messages under this key: rotate the room.
        """
        with self._lock:
            used = self._sealed.get(sender_id, 0)
            if used >= MAX_MESSAGES_PER_SENDER:
                raise KeyExhaustedError("this epoch's key reached its message bound; rotate the room")
            self._sealed[sender_id] = used + 1

    def sealed_count(self, sender_id: str) -> int:
        """How many messages `sender_id` has sealed under this key in this process. Raises nothing."""
        return self._sealed.get(sender_id, 0)

    def _restore_sealed_count(self, sender_id: str, count: int) -> None:
        self._sealed[sender_id] = count
