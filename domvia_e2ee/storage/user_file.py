"""User key files (spec/files.md, "User key file"): a user's private signing key, in the clear or
encrypted under a passphrase with the identity file's envelope (Argon2id, AES-256-GCM).

The user key is the single authority over the user's devices (spec/users.md), so its file follows
the identity file's rules: created 0600 and never over an existing file (the writer stages it with
``Staged(..., exclusive=True)``), refused when group or others may read it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Final

from ..encoding import b64decode, b64encode, check_fields, dumps, get_int, loads_object
from ..errors import DomviaError, FormatError, PolicyError
from ..hazmat import curves
from ..users.user_key import USER_KEY_VERSION, UserKey, check_user_id
from .envelope import COST_LEVELS, DEFAULT_COST, SALT_SIZE, KdfCost, _open, _passphrase_aad, _passphrase_key, _seal
from .errors import FileError, _wrap
from .identity_file import Passphrase
from .json_file import FILE_VERSION, _load_json, _object

USER_KEY_FILE: Final = "domvia-e2ee user-key"
MAX_USER_KEY_BYTES: Final = 64 << 10
_KIND: Final = "user-key"


class StoredUserKey:
    """A user key loaded from its file, and whether the file is encrypted."""

    __slots__ = ("encrypted", "path", "user")

    def __init__(self, user: UserKey, path: Path | str, encrypted: bool) -> None:
        self.user = user
        self.path = Path(path)
        self.encrypted = encrypted

    def __repr__(self) -> str:
        return f"StoredUserKey({self.user!r}, path={str(self.path)!r}, encrypted={self.encrypted})"


def _private_dict(user: UserKey) -> dict[str, Any]:
    return {"v": USER_KEY_VERSION, "user": user.user_id, "ed25519": b64encode(user._seed_for_file())}


def _from_private_dict(obj: dict[str, Any]) -> UserKey:
    check_fields(obj, ("v", "user", "ed25519"))
    if get_int(obj, "v") != USER_KEY_VERSION:
        raise FormatError("v", "unsupported private user key version")
    seed = b64decode(obj["ed25519"], "ed25519", size=curves.SEED_SIZE)
    return UserKey(check_user_id(obj["user"], "user"), seed=seed)


def dump_user_key(user: UserKey, *, passphrase: bytes | None = None, cost: KdfCost | None = None) -> bytes:
    """The user key file's bytes: encrypted when given a passphrase, in the clear otherwise."""
    out: dict[str, Any] = {"file": USER_KEY_FILE, "v": FILE_VERSION}
    if passphrase is None:
        out["user"] = _private_dict(user)
        return dumps(out) + b"\n"
    if not passphrase:
        raise PolicyError("an empty passphrase protects nothing")
    salt = os.urandom(SALT_SIZE)
    cost = (cost or COST_LEVELS[DEFAULT_COST]).check()
    out["kdf"] = cost.to_dict()
    out["salt"] = b64encode(salt)
    inner = dumps({"user": _private_dict(user)})
    out.update(_seal(_passphrase_key(passphrase, salt, cost), inner, _passphrase_aad(_KIND, cost, salt)))
    return dumps(out) + b"\n"


def load_user_key(path: Path | str, passphrase: Passphrase | None = None) -> StoredUserKey:
    """Reads a user key file (a private file: 0600 and ours); passphrase() is called only if it is encrypted.
    Raises FileError naming the file: E_FORMAT, E_AUTH (wrong passphrase or a modified file), E_POLICY, E_IO."""
    obj = _load_json(path, MAX_USER_KEY_BYTES, USER_KEY_FILE, private=True)
    try:
        if "kdf" not in obj:
            check_fields(obj, ("file", "v", "user"))
            return StoredUserKey(_from_private_dict(_object(obj["user"], "user")), path, False)
        check_fields(obj, ("file", "v", "kdf", "salt", "nonce", "ciphertext"))
        cost = KdfCost.from_dict(obj["kdf"])
        salt = b64decode(obj["salt"], "salt", size=SALT_SIZE)
        if passphrase is None:
            raise FileError(path, "is encrypted and no passphrase was given", code=PolicyError.code)
        inner = loads_object(_open(_passphrase_key(passphrase(), salt, cost), obj, _passphrase_aad(_KIND, cost, salt)),
                             "user key")
        check_fields(inner, ("user",))
        return StoredUserKey(_from_private_dict(_object(inner["user"], "user")), path, True)
    except DomviaError as error:
        raise _wrap(path, error, USER_KEY_FILE + " file") from None
    except (TypeError, ValueError, KeyError, AttributeError):
        raise FileError(path, "not a valid domvia-e2ee user key file: malformed structure") from None
