"""What every storage file shares: one JSON object of bounded size whose header names its kind,
its format version and, for key ring and room state files, the identity that owns it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from ..encoding import b64decode, get_str, loads_object
from ..errors import DomviaError, FormatError
from ..identity import Identity
from .errors import FileError, _refusal, _wrap
from .reading import read_file

FILE_VERSION: Final = 1
MAX_STATE_BYTES: Final = 512 << 20


def _check_header(obj: dict[str, Any], file_kind: str) -> None:
    if obj.get("file") != file_kind:
        raise _refusal(f"not a {file_kind} file", code=FormatError.code)
    version = obj.get("v")
    if version != FILE_VERSION:
        raise _refusal(f"unsupported file version {version!r}; this domvia-e2ee reads version {FILE_VERSION}",
                       code=FormatError.code, hint="the file was written by another version of domvia-e2ee")


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


def _check_owner(obj: dict[str, Any], identity: Identity) -> None:
    owner = get_str(obj, "owner") if "owner" in obj else None
    fingerprint = b64decode(obj.get("owner_fingerprint"), "owner_fingerprint", size=32)
    if owner != identity.participant_id:
        raise _refusal(f"belongs to {owner!r}, not to this identity ({identity.participant_id!r})")
    if fingerprint != identity.public.fingerprint:
        raise _refusal(f"belongs to another identity also named {owner!r} (its fingerprint differs)")
