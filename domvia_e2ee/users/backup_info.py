"""The user-signed backup info (spec/backup.md, "Backup info"): which public key a user's devices wrap
their key backup to, and how a passphrase becomes its secret.

The user key signs it, so the server cannot hand devices a public key of its own (and so read every
key they back up) nor weaken the passphrase's Argon2id cost.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Final

from .. import labels
from ..encoding import Reader, Writer
from ..errors import AuthenticationError, FormatError, UsageError
from ..hazmat import curves, xwing
from .recovery import SALT_SIZE, Argon2Cost, BackupSecret, backup_key_id
from .user_key import UserKey, UserPublicKey, check_user_id

KDF_RECOVERY_KEY: Final = 1
KDF_PASSPHRASE: Final = 2
MAX_INFO_BYTES: Final = 4096
DEFAULT_COST: Final = Argon2Cost()  # 64 MiB, 3 passes: RFC 9106's second recommended option, one lane


@dataclass(frozen=True)
class BackupInfo:
    """A parsed backup info. ``verify()`` checks the user's signature; ``key_id`` names the public key."""

    user_id: str
    version: int
    kdf: int
    salt: bytes
    cost: Argon2Cost | None
    public: bytes = field(repr=False)
    signature: bytes = field(repr=False)
    raw: bytes = field(repr=False)

    @property
    def key_id(self) -> bytes:
        """The backup key id that chunks wrapped to this key carry."""
        return backup_key_id(self.public)

    def to_bytes(self) -> bytes:
        """The info's bytes, as signed."""
        return self.raw

    @classmethod
    def from_bytes(cls, data: bytes) -> BackupInfo:
        """Parses an info of at most 4 KiB, verifying nothing. Raises FormatError (E_FORMAT) naming the field."""
        if not isinstance(data, bytes | bytearray | memoryview) or len(data) > MAX_INFO_BYTES:
            raise FormatError("backup_info", f"must be at most {MAX_INFO_BYTES} bytes")
        data = bytes(data)
        if data[:4] != labels.MAGIC_BACKUP_INFO:
            raise FormatError("magic", "not a version 3 backup info")
        r = Reader(data, 4)
        user_id = check_user_id(r.str8("user_id"), "user_id")
        version = r.u32("version")
        if version == 0:
            raise FormatError("version", "must be 1 or more")
        kdf, salt, cost = _read_kdf(r)
        public = r.bytes16("public")
        if len(public) != xwing.PUBLIC_KEY_SIZE:
            raise FormatError("public", f"must be {xwing.PUBLIC_KEY_SIZE} bytes (X-Wing)")
        xwing.public_key(public)  # E_BAD_KEY for a malformed half
        signature = r.raw(curves.SIGNATURE_SIZE, "signature")
        r.end()
        return cls(user_id, version, kdf, salt, cost, public, signature, data)

    def verify(self, user: UserPublicKey) -> BackupInfo:
        """Returns self if ``user`` (the pinned user key of this user) signed it. Raises FormatError (E_FORMAT)
        for another user's info, AuthenticationError (E_AUTH) for a bad signature."""
        if user.user_id != self.user_id:
            raise FormatError("user_id", f"this backup info is {self.user_id!r}'s")
        curves.verify(user.ed25519, self.signature, labels.SIG_BACKUP_INFO + self.raw[:-curves.SIGNATURE_SIZE])
        return self

    def secret(self, *, recovery_key: str | None = None, passphrase: bytes | None = None) -> BackupSecret:
        """The backup secret from what the user typed. Raises FormatError (E_FORMAT) naming the input for the other
        kind of secret than this info's and for a mistyped recovery key, UsageError (E_USAGE) for neither,
        AuthenticationError (E_AUTH) for a secret whose public key is not this info's (a wrong one)."""
        if recovery_key is not None:
            if self.kdf != KDF_RECOVERY_KEY:
                raise FormatError("recovery_key", "this backup is opened with a passphrase")
            secret = BackupSecret.from_recovery_key(recovery_key)
        elif passphrase is not None and self.cost is not None:
            secret = BackupSecret.from_passphrase(passphrase, self.salt, self.cost)
        elif passphrase is not None:
            raise FormatError("passphrase", "this backup is opened with a recovery key")
        else:
            raise UsageError("a recovery key or a passphrase is needed")
        if secret.public_key() != self.public:
            raise AuthenticationError()
        return secret


def _read_kdf(r: Reader) -> tuple[int, bytes, Argon2Cost | None]:
    kdf = r.u8("kdf")
    if kdf == KDF_RECOVERY_KEY:
        return kdf, b"", None
    if kdf != KDF_PASSPHRASE:
        raise FormatError("kdf", "must be 1 (recovery key) or 2 (passphrase)")
    salt = r.raw(SALT_SIZE, "salt")
    cost = Argon2Cost(r.u32("kdf.memory_kib"), r.u32("kdf.iterations"), r.u8("kdf.lanes")).check()
    return kdf, salt, cost


def create_backup_info(user: UserKey, *, version: int = 1, passphrase: bytes | None = None,
                       cost: Argon2Cost = DEFAULT_COST) -> tuple[BackupInfo, BackupSecret]:
    """A new backup: its signed info and its secret (show ``secret.recovery_key()`` once, unless it came
    from ``passphrase``)."""
    if passphrase is None:
        secret = BackupSecret.generate()
        return _backup_info_from_parts(user, secret, version=version), secret
    salt = os.urandom(SALT_SIZE)
    secret = BackupSecret.from_passphrase(passphrase, salt, cost)
    return _backup_info_from_parts(user, secret, version=version, salt=salt, cost=cost), secret


def _backup_info_from_parts(user: UserKey, secret: BackupSecret, *, version: int, salt: bytes = b"",
                            cost: Argon2Cost | None = None) -> BackupInfo:
    """The signed info of a given secret (and, for a passphrase, its salt and cost): for test vectors only."""
    w = Writer(labels.MAGIC_BACKUP_INFO).str8(user.user_id).u32(version)
    if cost is None:
        w.u8(KDF_RECOVERY_KEY)
    else:
        w.u8(KDF_PASSPHRASE).raw(salt).u32(cost.memory_kib).u32(cost.iterations).u8(cost.lanes)
    body = w.bytes16(secret.public_key()).getvalue()
    return BackupInfo.from_bytes(body + user.sign(labels.SIG_BACKUP_INFO + body))
