"""The backup secret and the backup key pair it derives (spec/backup.md, "Backup key").

A user's key backup is wrapped to one X-Wing public key, which every device of the user holds; its
private half is derived, only when restoring, from a 32-byte backup secret: a recovery key shown once,
or a passphrase stretched with Argon2id. Devices never hold the secret, so a stolen device cannot read
the backup of keys its retention policy made it forget.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from .. import labels
from ..errors import FormatError, UsageError
from ..hazmat import kdf, xwing

SECRET_SIZE: Final = 32
SALT_SIZE: Final = 16
GROUP: Final = 5


@dataclass(frozen=True)
class Argon2Cost:
    """Argon2id parameters of a passphrase backup (RFC 9106), bounded so a forged info cannot hang a device."""

    memory_kib: int = 64 * 1024
    iterations: int = 3
    lanes: int = 1

    def check(self) -> Argon2Cost:
        """Returns self if every parameter is in range; FormatError (E_FORMAT) naming it otherwise."""
        for name, value, low, high in (("memory_kib", self.memory_kib, 8 * 1024, 1 << 20),
                                       ("iterations", self.iterations, 1, 10), ("lanes", self.lanes, 1, 4)):
            if not low <= value <= high:
                raise FormatError(f"kdf.{name}", f"must be from {low} to {high}")
        return self


class BackupSecret:
    """The 32-byte secret a backup key pair is derived from. Never printed; compared in constant time."""

    SIZE: ClassVar[int] = SECRET_SIZE
    __slots__ = ("_secret",)

    def __init__(self, secret: bytes) -> None:
        if not isinstance(secret, bytes | bytearray) or len(secret) != SECRET_SIZE:
            raise UsageError(f"a backup secret is {SECRET_SIZE} bytes")
        self._secret = bytes(secret)

    @classmethod
    def generate(cls) -> BackupSecret:
        """A fresh random secret: the recovery key of a new backup."""
        return cls(os.urandom(SECRET_SIZE))

    @classmethod
    def from_passphrase(cls, passphrase: bytes, salt: bytes, cost: Argon2Cost) -> BackupSecret:
        """Argon2id(passphrase, salt) with the backup info's parameters."""
        if not isinstance(passphrase, bytes) or not passphrase:
            raise UsageError("a passphrase is non-empty bytes")
        cost.check()
        derive = Argon2id(salt=salt, length=SECRET_SIZE, iterations=cost.iterations, lanes=cost.lanes,
                          memory_cost=cost.memory_kib)
        return cls(derive.derive(passphrase))

    @classmethod
    def from_recovery_key(cls, text: str) -> BackupSecret:
        """Parses a recovery key as recovery_key() shows it (case, spaces and dashes ignored). Raises
        FormatError (E_FORMAT, field recovery_key) for a mistyped key: its checksum does not match."""
        if not isinstance(text, str):
            raise UsageError("a recovery key is text")
        compact = "".join(text.split()).replace("-", "").upper()
        if len(compact) == 59 and compact.startswith("DVRK"):  # the shown prefix; a bare payload may begin "DVRK"
            compact = compact[4:]
        try:
            raw = base64.b32decode(compact + "=" * (-len(compact) % 8))
        except ValueError:
            raise FormatError("recovery_key", "not a recovery key (base32)") from None
        canonical = base64.b32encode(raw).decode("ascii").rstrip("=") == compact  # the last character's unused bits
        if not canonical or len(raw) != SECRET_SIZE + 2 or not hmac.compare_digest(raw[SECRET_SIZE:],
                                                                                    _checksum(raw[:SECRET_SIZE])):
            raise FormatError("recovery_key", "mistyped: the checksum does not match")
        return cls(raw[:SECRET_SIZE])

    def recovery_key(self) -> str:
        """The secret as a recovery key to show once: "DVRK-" and 55 base32 characters in groups of five."""
        text = base64.b32encode(self._secret + _checksum(self._secret)).decode("ascii").rstrip("=")
        return "DVRK-" + "-".join(text[i:i + GROUP] for i in range(0, len(text), GROUP))

    def xwing_seed(self) -> bytes:
        """The X-Wing seed of the backup key pair: HKDF-SHA256 of the secret."""
        return kdf.expand(kdf.extract(b"", self._secret), labels.INFO_BACKUP_KEY, 32)

    def public_key(self) -> bytes:
        """The 1216-byte X-Wing public key that devices wrap backups to."""
        return xwing.public_bytes(self.xwing_seed())

    def private_key(self) -> Any:
        """The X-Wing private key (restoring only)."""
        return xwing.private_key(self.xwing_seed())

    def __repr__(self) -> str:
        return "BackupSecret(<secret>)"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BackupSecret):
            return NotImplemented
        return hmac.compare_digest(self._secret, other._secret)

    def __hash__(self) -> int:
        return hash(self.public_key())


def _checksum(secret: bytes) -> bytes:
    return hashlib.sha256(labels.RECOVERY_CHECKSUM + secret).digest()[:2]


def backup_key_id(public: bytes) -> bytes:
    """SHA-256(BACKUP_KEY_ID || public key): how a chunk names the backup key it is wrapped to."""
    return hashlib.sha256(labels.BACKUP_KEY_ID + public).digest()
