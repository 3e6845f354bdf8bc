"""Files at rest (spec/files.md): identity, key ring and room state files, and how they are written.

- Every write is atomic: a new temp file beside the target (O_CREAT|O_EXCL, mode 0600 or 0644),
  written, fsynced, renamed over the target, then the directory fsynced. A reader sees the old
  file or the new one, never a mix; a failed write leaves no temp file behind.
- Private files (identity, key ring) are refused when group or others may read them, or when
  another user owns them, the way ssh refuses a private key.
- An identity file may be encrypted under a passphrase: Argon2id derives an AES-256-GCM key; the
  KDF parameters and salt are stored in the file and bound into the associated data. The
  encrypted identity also carries a random key ring key, so the key ring is encrypted at rest
  exactly when the identity is, without a second passphrase derivation.
- The room state file holds no secret. A rotation writes it with a pending next state first,
  then the key ring, then the committed state, so a crash at any point leaves a pair that loads
  into one consistent epoch (rolled back or rolled forward; see `load_room_state`).
- `locked(path)` serializes writers with flock(2) on a sidecar `PATH.lock` file.

Every failure is a `FileError` naming the file; its `code` is the underlying error's code
(E_FORMAT, E_AUTH, E_POLICY) or E_IO for an operating-system error.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import os
import re
import secrets
import shutil
import signal
import stat
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from . import labels
from .bundle import Bundle
from .encoding import Writer, b64decode, b64encode, check_fields, check_id, dumps, get_int, get_str, loads_object
from .errors import AuthenticationError, DomviaError, FormatError, PolicyError
from .hazmat.suites import AeadKey, Suite
from .identity import Identity
from .keyring import KeyRing
from .room import Room

FILE_VERSION: Final = 1
IDENTITY_FILE: Final = "domvia-e2ee identity"
KEYRING_FILE: Final = "domvia-e2ee keyring"
ROOM_STATE_FILE: Final = "domvia-e2ee room-state"
KDF_NAME: Final = "argon2id"
SALT_SIZE: Final = 16
NONCE_SIZE: Final = 12
KEY_SIZE: Final = 32
MAX_IDENTITY_BYTES: Final = 64 << 10
MAX_STATE_BYTES: Final = 512 << 20
PRIVATE_MODE: Final = 0o600
PUBLIC_MODE: Final = 0o644
PARALLEL_WRITES: Final = 32
WRITERS: Final = 16
Passphrase = Callable[[], bytes]


class FileError(DomviaError):
    """A file could not be read, parsed, decrypted or written. Names the file; may carry a hint."""

    def __init__(self, path: Path | str, reason: str, *, code: str = "E_FORMAT", hint: str | None = None) -> None:
        self.path = str(path)
        self.reason = reason
        self.code = code
        self.hint = hint
        super().__init__(f"{path}: {reason}")


def _os_error(path: Path | str, error: OSError) -> FileError:
    return FileError(path, error.strerror or str(error), code="E_IO")


class OutputError(FileError):
    """The change is committed (key ring and state are durable) but writing an output failed."""


def _refusal(reason: str, *, code: str = PolicyError.code, hint: str | None = None) -> FileError:
    # A FileError whose path the loader fills in: helpers below do not know which file they check.
    return FileError("", reason, code=code, hint=hint)


def _wrap(path: Path | str, error: DomviaError, what: str) -> FileError:
    if isinstance(error, FileError):
        return error if error.path else FileError(path, error.reason, code=error.code, hint=error.hint)
    if isinstance(error, AuthenticationError):
        return FileError(path, "wrong passphrase, or the file was modified", code=error.code,
                         hint="check the passphrase; a modified file cannot be repaired, restore it from a backup")
    return FileError(path, f"not a valid {what}: {error}", code=error.code)


# -- atomic writes ---------------------------------------------------------------------------


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temp_beside(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")


def _write_new(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


class Staged:
    """A complete, fsynced temp file beside its target, waiting to be renamed into place."""

    def __init__(self, path: Path | str, data: bytes, *, mode: int = PRIVATE_MODE, exclusive: bool = False) -> None:
        self.path = Path(path)
        self.exclusive = exclusive
        self.temp = _temp_beside(self.path)
        # True from the moment the rename (or link) has happened, even if the directory fsync then fails.
        self.in_place = False
        if self.path.is_dir():
            raise FileError(self.path, "is a directory", code="E_IO")
        try:
            _write_new(self.temp, data, mode)
        except OSError as error:
            self.temp.unlink(missing_ok=True)
            raise _os_error(self.path, error) from None

    def commit(self) -> None:
        """Renames into place (never over an existing file when exclusive), then fsyncs the directory."""
        try:
            if self.exclusive:
                self._link_exclusive()
            else:
                os.replace(self.temp, self.path)
                self.in_place = True
            _fsync_directory(self.path.parent)
        except OSError as error:
            self.discard()
            raise _os_error(self.path, error) from None

    def _link_exclusive(self) -> None:
        # link(2) fails if the target exists: creation and "never overwrite" in one atomic step.
        try:
            os.link(self.temp, self.path)
        except FileExistsError:
            self.discard()
            raise FileError(self.path, "already exists; refusing to overwrite it", code="E_IO",
                            hint="choose another file name, or move the existing file away first") from None
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS):
                raise
            self._reserve_then_replace()
            return
        self.in_place = True
        os.unlink(self.temp)

    def _reserve_then_replace(self) -> None:
        # No hard links here (some FUSE and FAT file systems): claim the name with O_EXCL, then replace it.
        try:
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_MODE))
        except FileExistsError:
            self.discard()
            raise FileError(self.path, "already exists; refusing to overwrite it", code="E_IO") from None
        os.replace(self.temp, self.path)
        self.in_place = True

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self.temp.unlink(missing_ok=True)


class StagedDirectory:
    """A directory of files built under a temp name and renamed into place in one step."""

    def __init__(self, path: Path | str, files: dict[str, bytes], *, mode: int = PUBLIC_MODE) -> None:
        self.path = Path(path)
        self.temp = _temp_beside(self.path)
        if os.path.lexists(self.path) and not _is_empty_directory(self.path):
            raise _not_empty(self.path)
        try:
            os.mkdir(self.temp, 0o700)
            _write_many(self.temp, files, mode)
            os.chmod(self.temp, 0o755 if mode & 0o044 else 0o700)
            _fsync_directory(self.temp)
        except OSError as error:
            self.discard()
            raise _os_error(self.path, error) from None

    def commit(self) -> None:
        """rename(2) replaces the target only if it is missing or an empty directory."""
        try:
            os.rename(self.temp, self.path)
            _fsync_directory(self.path.parent)
        except OSError as error:
            self.discard()
            if error.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
                raise _not_empty(self.path) from None
            raise _os_error(self.path, error) from None

    def discard(self) -> None:
        shutil.rmtree(self.temp, ignore_errors=True)


def _write_many(directory: Path, files: dict[str, bytes], mode: int) -> None:
    """Many small files (one slice per member): concurrent fsyncs share journal commits, about 20 times faster."""
    if len(files) < PARALLEL_WRITES:
        for name, data in files.items():
            _write_new(directory / name, data, mode)
        return
    with ThreadPoolExecutor(WRITERS) as pool:
        for done in [pool.submit(_write_new, directory / name, data, mode) for name, data in files.items()]:
            done.result()


def _is_empty_directory(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink() and not any(path.iterdir())


def _not_empty(path: Path) -> FileError:
    return FileError(path, "exists and is not an empty directory", code="E_IO", hint="name a new or empty directory")


def write_atomic(path: Path | str, data: bytes, *, mode: int = PRIVATE_MODE, exclusive: bool = False) -> None:
    Staged(path, data, mode=mode, exclusive=exclusive).commit()


def commit_all(staged: Sequence[Staged | StagedDirectory], *,
               rest: Sequence[Staged | StagedDirectory] = ()) -> None:
    """Commits in order; on the first failure discards the others and `rest`: no stray temp file remains."""
    for index, item in enumerate(staged):
        try:
            item.commit()
        except BaseException:
            discard_all([*staged[index + 1:], *rest])
            raise


def discard_all(staged: Sequence[Staged | StagedDirectory]) -> None:
    for item in staged:
        item.discard()


# -- reading, permissions, locks ---------------------------------------------------------------


def read_file(path: Path | str, *, limit: int, private: bool = False) -> bytes:
    """Reads a regular file of at most limit bytes; private files must be 0600-like and ours."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as error:
        raise _os_error(path, error) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileError(path, "not a regular file", code="E_IO")
        if private:
            check_private(path, info)
        if info.st_size > limit:
            raise FileError(path, f"larger than {limit} bytes")
        with os.fdopen(os.dup(fd), "rb") as stream:
            data = stream.read(limit + 1)
    except OSError as error:
        raise _os_error(path, error) from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise FileError(path, f"larger than {limit} bytes")
    return data


def check_private(path: Path | str, info: os.stat_result) -> None:
    """Like ssh: a private file readable by group or others, or owned by someone else, is refused."""
    if info.st_mode & 0o077:
        raise FileError(path, f"permissions {stat.S_IMODE(info.st_mode):04o} are too open: "
                        "a private key or key ring file must not be accessible by group or others",
                        code=PolicyError.code, hint=f"chmod 600 {path}")
    if info.st_uid != os.geteuid():
        raise FileError(path, "owned by another user; refusing to use it as a private file",
                        code=PolicyError.code, hint=f"the file must belong to user id {os.geteuid()}")


@contextlib.contextmanager
def locked(path: Path | str, *, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Holds an exclusive flock on PATH.lock (kept, never deleted: deleting lock files races)."""
    target = Path(path).resolve()
    lock_path = target.with_name(target.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_MODE)
    except OSError as error:
        raise _os_error(lock_path, error) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
        _remove_stale_temps(target)
        yield
    finally:
        os.close(fd)


def _remove_stale_temps(target: Path) -> None:
    """Only lock holders write temp files of target, so any found now were left by a crash."""
    for temp in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        if re.fullmatch(rf"\.{re.escape(target.name)}\.[0-9a-f]{{12}}\.tmp", temp.name):
            with contextlib.suppress(OSError):
                temp.unlink()


# -- passphrase envelope -------------------------------------------------------------------------


@dataclass(frozen=True)
class KdfCost:
    """Argon2id parameters (RFC 9106). Stored in the file, so each file says how to open it."""

    memory_kib: int
    iterations: int
    lanes: int

    def check(self) -> KdfCost:
        for name, value, low, high in (("memory_kib", self.memory_kib, MIN_COST.memory_kib, MAX_MEMORY_KIB),
                                       ("iterations", self.iterations, 1, MAX_ITERATIONS),
                                       ("lanes", self.lanes, 1, MAX_LANES)):
            if not low <= value <= high:
                raise FormatError(f"kdf.{name}", f"must be from {low} to {high}")
        if self.memory_kib < 8 * self.lanes:
            raise FormatError("kdf.memory_kib", "must be at least 8 KiB per lane")
        return self

    def to_dict(self) -> dict[str, Any]:
        return {"name": KDF_NAME, "memory_kib": self.memory_kib, "iterations": self.iterations, "lanes": self.lanes}

    @classmethod
    def from_dict(cls, obj: object) -> KdfCost:
        if not isinstance(obj, dict):
            raise FormatError("kdf", "must be an object")
        check_fields(obj, ("name", "memory_kib", "iterations", "lanes"))
        if obj["name"] != KDF_NAME:
            raise FormatError("kdf.name", f"unsupported KDF; this version reads {KDF_NAME!r}")
        return cls(get_int(obj, "memory_kib"), get_int(obj, "iterations"), get_int(obj, "lanes")).check()


# OWASP's minimum, RFC 9106's second recommended option, and a heavier level.
MIN_COST: Final = KdfCost(19 * 1024, 2, 1)
COST_LEVELS: Final = {"low": MIN_COST, "medium": KdfCost(64 * 1024, 3, 4), "high": KdfCost(256 * 1024, 4, 4)}
DEFAULT_COST: Final = "medium"
MAX_MEMORY_KIB: Final = 1 << 20
MAX_ITERATIONS: Final = 10
MAX_LANES: Final = 16


def _passphrase_key(passphrase: bytes, salt: bytes, cost: KdfCost) -> AeadKey:
    kdf = Argon2id(salt=salt, length=KEY_SIZE, iterations=cost.iterations, lanes=cost.lanes,
                   memory_cost=cost.memory_kib)
    return AeadKey(Suite.AES_256_GCM, kdf.derive(passphrase))


def _identity_aad(cost: KdfCost, salt: bytes) -> bytes:
    return (Writer(labels.KEYFILE_AAD).u8(FILE_VERSION).str8("identity").str8(KDF_NAME).u32(cost.memory_kib)
            .u32(cost.iterations).u32(cost.lanes).bytes16(salt).getvalue())


def _keyring_aad(identity: Identity) -> bytes:
    public = identity.public
    return (Writer(labels.KEYFILE_AAD).u8(FILE_VERSION).str8("keyring").str8(public.participant_id)
            .raw(public.fingerprint).getvalue())


def _seal(key: AeadKey, plaintext: bytes, aad: bytes) -> dict[str, str]:
    nonce = key.random_nonce()
    return {"nonce": b64encode(nonce), "ciphertext": b64encode(key.encrypt(nonce, plaintext, aad))}


def _open(key: AeadKey, obj: dict[str, Any], aad: bytes) -> bytes:
    nonce = b64decode(obj["nonce"], "nonce", size=NONCE_SIZE)
    return key.decrypt(nonce, b64decode(obj["ciphertext"], "ciphertext"), aad)


def _check_header(obj: dict[str, Any], file_kind: str) -> None:
    if obj.get("file") != file_kind:
        raise _refusal(f"not a {file_kind} file", code=FormatError.code)
    version = obj.get("v")
    if version != FILE_VERSION:
        raise _refusal(f"unsupported file version {version!r}; this domvia-e2ee reads version {FILE_VERSION}",
                       code=FormatError.code, hint="the file was written by another version of domvia-e2ee")


# -- identity files ------------------------------------------------------------------------------


class StoredIdentity:
    """An identity loaded from its file, with the key ring key when the file is encrypted."""

    __slots__ = ("_keyring_key", "identity", "path")

    def __init__(self, identity: Identity, path: Path | str, keyring_key: bytes | None) -> None:
        self.identity = identity
        self.path = Path(path)
        self._keyring_key = keyring_key

    def __repr__(self) -> str:
        return f"StoredIdentity({self.identity!r}, path={str(self.path)!r}, encrypted={self.encrypted})"

    @property
    def encrypted(self) -> bool:
        return self._keyring_key is not None

    def keyring_cipher(self) -> AeadKey | None:
        return None if self._keyring_key is None else AeadKey(Suite.AES_256_GCM, self._keyring_key)


def dump_identity(identity: Identity, *, passphrase: bytes | None = None, cost: KdfCost | None = None) -> bytes:
    """The identity file's bytes; encrypted (with a fresh key ring key inside) when given a passphrase."""
    out: dict[str, Any] = {"file": IDENTITY_FILE, "v": FILE_VERSION}
    if passphrase is None:
        out["identity"] = identity.to_private_dict()
        return dumps(out) + b"\n"
    if not passphrase:
        raise PolicyError("an empty passphrase protects nothing")
    salt = os.urandom(SALT_SIZE)
    inner = dumps({"identity": identity.to_private_dict(), "keyring_key": b64encode(os.urandom(KEY_SIZE))})
    cost = (cost or COST_LEVELS[DEFAULT_COST]).check()
    out["kdf"] = cost.to_dict()
    out["salt"] = b64encode(salt)
    out.update(_seal(_passphrase_key(passphrase, salt, cost), inner, _identity_aad(cost, salt)))
    return dumps(out) + b"\n"


def load_identity(path: Path | str, passphrase: Passphrase | None = None) -> StoredIdentity:
    """Reads an identity file; passphrase() is called only if the file is encrypted."""
    obj = _load_json(path, MAX_IDENTITY_BYTES, IDENTITY_FILE, private=True)
    try:
        if "kdf" not in obj:
            check_fields(obj, ("file", "v", "identity"))
            return StoredIdentity(Identity.from_private_dict(_object(obj["identity"], "identity")), path, None)
        check_fields(obj, ("file", "v", "kdf", "salt", "nonce", "ciphertext"))
        cost = KdfCost.from_dict(obj["kdf"])
        salt = b64decode(obj["salt"], "salt", size=SALT_SIZE)
        if passphrase is None:
            raise FileError(path, "is encrypted and no passphrase was given", code=PolicyError.code)
        inner = _open(_passphrase_key(passphrase(), salt, cost), obj, _identity_aad(cost, salt))
        secret = loads_object(inner, "identity")
        check_fields(secret, ("identity", "keyring_key"))
        key = b64decode(secret["keyring_key"], "keyring_key", size=KEY_SIZE)
        return StoredIdentity(Identity.from_private_dict(_object(secret["identity"], "identity")), path, key)
    except DomviaError as error:
        raise _wrap(path, error, IDENTITY_FILE + " file") from None
    except (TypeError, ValueError, KeyError, AttributeError):
        raise FileError(path, "not a valid domvia-e2ee identity file: malformed structure") from None


def _object(value: object, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FormatError(field, "must be an object")
    return value


def _load_json(path: Path | str, limit: int, file_kind: str, *, private: bool) -> dict[str, Any]:
    data = read_file(path, limit=limit, private=private)
    if not data.strip():
        raise FileError(path, "is empty")
    try:
        obj = loads_object(data, "file", max_bytes=limit)
    except FormatError:
        raise FileError(path, "not valid JSON: truncated or corrupt") from None
    try:
        _check_header(obj, file_kind)
    except DomviaError as error:
        raise _wrap(path, error, file_kind + " file") from None
    return obj


# -- key ring files ------------------------------------------------------------------------------


def dump_keyring(ring: KeyRing, owner: StoredIdentity) -> bytes:
    """The key ring file's bytes: encrypted under the identity's key ring key iff the identity is."""
    public = ring.owner.public
    out: dict[str, Any] = {"file": KEYRING_FILE, "v": FILE_VERSION, "owner": public.participant_id,
                           "owner_fingerprint": b64encode(public.fingerprint)}
    cipher = owner.keyring_cipher()
    body = ring.to_dict()
    if cipher is None:
        out["keyring"] = body
    else:
        out.update(_seal(cipher, dumps(body), _keyring_aad(ring.owner)))
    return dumps(out) + b"\n"


def load_keyring(path: Path | str, owner: StoredIdentity) -> KeyRing:
    obj = _load_json(path, MAX_STATE_BYTES, KEYRING_FILE, private=True)
    try:
        _check_owner(obj, owner.identity)
        cipher = owner.keyring_cipher()
        if cipher is None:
            if "keyring" not in obj:
                raise _refusal("is encrypted but the identity file is not: they do not belong together")
            check_fields(obj, ("file", "v", "owner", "owner_fingerprint", "keyring"))
            body = _object(obj["keyring"], "keyring")
        else:
            if "keyring" in obj:
                raise _refusal("is not encrypted but the identity file is; refusing a downgraded key ring",
                               hint="restore the encrypted key ring from a backup")
            check_fields(obj, ("file", "v", "owner", "owner_fingerprint", "nonce", "ciphertext"))
            body = loads_object(_open(cipher, obj, _keyring_aad(owner.identity)), "keyring", max_bytes=MAX_STATE_BYTES)
        return KeyRing.from_dict(body, owner.identity)
    except AuthenticationError:
        raise FileError(path, "cannot be decrypted with this identity: modified, or written for another identity",
                        code=AuthenticationError.code) from None
    except DomviaError as error:
        raise _wrap(path, error, KEYRING_FILE + " file") from None
    except (TypeError, ValueError, KeyError, AttributeError):
        raise FileError(path, "not a valid domvia-e2ee keyring file: malformed structure") from None


def _check_owner(obj: dict[str, Any], identity: Identity) -> None:
    owner = get_str(obj, "owner") if "owner" in obj else None
    fingerprint = b64decode(obj.get("owner_fingerprint"), "owner_fingerprint", size=32)
    if owner != identity.participant_id:
        raise _refusal(f"belongs to {owner!r}, not to this identity ({identity.participant_id!r})")
    if fingerprint != identity.public.fingerprint:
        raise _refusal(f"belongs to another identity also named {owner!r} (its fingerprint differs)")


def load_or_new_keyring(path: Path | str, owner: StoredIdentity) -> tuple[KeyRing, bool]:
    """The key ring at path, or a new empty one (True) when the file does not exist yet."""
    if not os.path.lexists(path):
        return KeyRing(owner.identity), True
    return load_keyring(path, owner), False


def stage_keyring(path: Path | str, ring: KeyRing, owner: StoredIdentity, *, new: bool = False) -> Staged:
    return Staged(path, dump_keyring(ring, owner), exclusive=new)




# -- room state files ----------------------------------------------------------------------------

NOTHING_COMMITTED: Final = {"room": None, "bundle": None}


@dataclass
class RoomState:
    """A room loaded from its state file, the signed bundle of its current epoch, and how it was found."""

    room: Room
    bundle: bytes
    # "rolled back" or "rolled forward" when a rotation was interrupted; None otherwise.
    recovered: str | None = None

    def snapshot(self) -> dict[str, Any]:
        """The committed part of the state file. Take it before changing the room."""
        return {"room": self.room.to_dict(), "bundle": b64encode(self.bundle)}


def dump_room_state(room: Room, bundle: bytes, *, before: dict[str, Any] | None = None) -> bytes:
    """The state file's bytes. With `before`, that is the committed part and this room waits as "pending"."""
    public = room.keyring.owner.public
    out: dict[str, Any] = {"file": ROOM_STATE_FILE, "v": FILE_VERSION, "owner": public.participant_id,
                           "owner_fingerprint": b64encode(public.fingerprint)}
    current = {"room": room.to_dict(), "bundle": b64encode(bundle)}
    if before is None:
        out.update(current, pending=None)
    else:
        out.update(before, pending=current)
    return dumps(out) + b"\n"


def load_room_state(path: Path | str, ring: KeyRing) -> RoomState:
    """Loads the state and reconciles it with the key ring (spec/files.md, "Interrupted rotations").

    A pending state whose epoch and key id the key ring holds as its latest is rolled forward;
    otherwise the committed state is used, and it must match the key ring's latest epoch.
    """
    obj = _load_json(path, MAX_STATE_BYTES, ROOM_STATE_FILE, private=False)
    try:
        check_fields(obj, ("file", "v", "owner", "owner_fingerprint", "room", "bundle", "pending"))
        _check_owner(obj, ring.owner)
        pending = obj["pending"]
        if pending is None:
            return _room_state(obj, ring, None)
        check_fields(_object(pending, "pending"), ("room", "bundle"))
        if _held_as_latest(ring, pending):
            return _room_state(pending, ring, "rolled forward")
        return _room_state(obj, ring, "rolled back")
    except DomviaError as error:
        raise _wrap(path, error, ROOM_STATE_FILE + " file") from None
    except (TypeError, ValueError, KeyError, AttributeError):
        raise FileError(path, "not a valid domvia-e2ee room-state file: malformed structure") from None


def is_interrupted_creation(path: Path | str, ring: KeyRing) -> bool:
    """True when the file is what an interrupted `room create` left: nothing committed yet."""
    try:
        load_room_state(path, ring)
    except FileError as error:
        return error.reason == _NEVER_CREATED
    return False


_NEVER_CREATED: Final = "the room was never created: its creation was interrupted"


def _held_as_latest(ring: KeyRing, part: dict[str, Any]) -> bool:
    header = Bundle.from_bytes(b64decode(part["bundle"], "pending.bundle")).header
    if ring.latest_epoch(header.room_id) != header.epoch:
        return False
    return ring.record(header.room_id, header.epoch).key.matches(header.key_id)


def _room_state(part: dict[str, Any], ring: KeyRing, recovered: str | None) -> RoomState:
    if part["room"] is None and part["bundle"] is None:
        raise _refusal(_NEVER_CREATED, code=FormatError.code,
                       hint="create the room again with the same state file; it replaces this one")
    body = _object(part["room"], "room")
    bundle = b64decode(part["bundle"], "bundle")
    header = Bundle.from_bytes(bundle).header
    room_id = check_id(body.get("room"), "room.room")
    held = ring.latest_epoch(room_id)
    epoch = get_int(body, "epoch")
    if held != epoch:
        raise _refusal(f"room state is at epoch {epoch} of {room_id!r} but the key ring's latest is {held}",
                       code=FormatError.code,
                       hint="another member rotated the room, or this state file and key ring do not belong together")
    if header.room_id != room_id or header.epoch != epoch or not ring.record(room_id, epoch).key.matches(header.key_id):
        raise FormatError("bundle", "is not the signed bundle of the current epoch")
    return RoomState(Room.from_dict(body, ring), bundle, recovered)


def commit_rotation(state_path: Path | str, keyring_path: Path | str, owner: StoredIdentity, room: Room,
                    bundle: bytes, *, before: dict[str, Any] | None,
                    outputs: Sequence[Staged | StagedDirectory] = ()) -> None:
    """Makes a rotation durable: (1) state with the change pending, (2) key ring, (3) committed state, (4) outputs.

    `before` is RoomState.snapshot() taken before the change, or None for a new room. Every
    file is staged (written and fsynced) before the first rename, so most failures change
    nothing. A crash after (1) rolls back on load, after (2) rolls forward. A failure in (2)
    restores the previous state file; a failure after (2) raises OutputError: the change stands.
    """
    state_path = Path(state_path)
    original = read_file(state_path, limit=MAX_STATE_BYTES) if os.path.lexists(state_path) else None
    staged: list[Staged] = []
    try:
        staged.append(Staged(state_path, dump_room_state(room, bundle, before=before or NOTHING_COMMITTED),
                             exclusive=original is None))
        staged.append(stage_keyring(keyring_path, room.keyring, owner, new=not os.path.lexists(keyring_path)))
        staged.append(Staged(state_path, dump_room_state(room, bundle)))
    except BaseException:
        discard_all([*staged, *outputs])
        raise
    pending, keyring, final = staged
    _commit_journaled(state_path, original, pending, keyring, [final, *outputs])


def _commit_journaled(state_path: Path, original: bytes | None, pending: Staged, keyring: Staged,
                      rest: Sequence[Staged | StagedDirectory]) -> None:
    with _signals_deferred():
        commit_all([pending], rest=[keyring, *rest])
        late: FileError | None = None
        try:
            keyring.commit()
        except FileError as error:
            if not keyring.in_place:
                discard_all(rest)
                _restore(state_path, original)
                raise
            late = error  # renamed, but the directory fsync failed: the change stands, finish it
        _finish(rest, late)


def _finish(staged: Sequence[Staged | StagedDirectory], late: FileError | None) -> None:
    try:
        commit_all(staged)
    except FileError as error:
        late = error
    if late is not None:
        raise OutputError(late.path, f"{late.reason} (the change itself is committed)", code=late.code,
                          hint=late.hint)


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Ctrl-C or SIGTERM during the renames waits until they are done (a SIGKILL is what recovery is for)."""
    signals = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _restore(state_path: Path, original: bytes | None) -> None:
    """Best effort: the pending state already loads as the previous one, this only tidies the bytes."""
    with contextlib.suppress(OSError, FileError):
        if original is None:
            state_path.unlink()
        else:
            write_atomic(state_path, original)


def commit_keyring(keyring_path: Path | str, ring: KeyRing, owner: StoredIdentity, *, new: bool = False,
                   outputs: Sequence[Staged | StagedDirectory] = ()) -> None:
    """Saves a key ring, then renames the outputs into place (raising OutputError if one fails)."""
    try:
        staged = stage_keyring(keyring_path, ring, owner, new=new)
    except BaseException:
        discard_all(outputs)
        raise
    with _signals_deferred():
        late: FileError | None = None
        try:
            staged.commit()
        except FileError as error:
            if not staged.in_place:
                discard_all(outputs)
                raise
            late = error
        _finish(outputs, late)
