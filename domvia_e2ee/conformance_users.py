"""The conformance operations of users and devices (spec/conformance.md): build_device_list and
device_list, and the key ring session steps pin_user and add_device_list."""

from __future__ import annotations

from typing import Any

from .conformance_ops import Handler, Input, unhex
from .errors import FormatError, UsageError
from .group.keyring import KeyRing
from .identity import PublicIdentity
from .users.device_list import DeviceList, RevokedDevice, sign_device_list
from .users.user_key import UserKey, UserPublicKey


def list_obj(device_list: DeviceList) -> dict[str, Any]:
    """What a parsed, verified device list says, as the vectors record it."""
    return {"user_id": device_list.user_id, "user_fingerprint": device_list.user_key.fingerprint.hex(),
            "version": device_list.version, "issued_at": device_list.issued_at,
            "devices": [{"id": d.device_id, "fingerprint": d.fingerprint.hex()} for d in device_list.devices],
            "revoked": [{"id": d.device_id, "fingerprint": d.fingerprint.hex(), "backup_seq_limit": d.backup_seq_limit}
                        for d in device_list.revoked],
            "digest": device_list.digest.hex()}


def op_build_device_list(i: Input) -> dict[str, Any]:
    try:
        user = UserKey(i["user_id"], seed=unhex(i["user_seed"], "user_seed"))
    except UsageError:
        raise FormatError("user_seed", "must be 32 bytes") from None
    revoked = [RevokedDevice(r["id"], unhex(r["fingerprint"], "fingerprint"), r["backup_seq_limit"]) for r in i["revoked"]]
    device_list = sign_device_list(user, version=i["version"], issued_at=i["issued_at"], revoked=revoked,
                                   devices=[PublicIdentity.from_dict(d) for d in i["devices"]])
    return {"list": device_list.raw.hex()}


def op_device_list(i: Input) -> dict[str, Any]:
    device_list = DeviceList.from_bytes(unhex(i["list"], "list"))
    pinned = None if i.get("pinned") is None else UserPublicKey.from_dict(i["pinned"])
    return list_obj(device_list.verify(pinned))


def session_step(ring: KeyRing, step: Input) -> dict[str, Any] | None:
    """The users' session steps, or None for a step of another kind."""
    if "pin_user" in step:
        ring.pin_user(UserPublicKey.from_dict(step["pin_user"]))
        return {"pinned": step["pin_user"]["user"]}
    if "add_device_list" in step:
        identities = [PublicIdentity.from_dict(d) for d in step.get("identities", [])]
        device_list = ring.add_device_list(unhex(step["add_device_list"], "add_device_list"), identities)
        return {"device_list": {"user_id": device_list.user_id, "version": device_list.version,
                                "digest": device_list.digest.hex()}}
    return None


def users_held(ring: KeyRing) -> list[dict[str, Any]]:
    """Each user's newest held list: what a session reports besides its epochs."""
    newest = [ring.users.newest(u.user_id) for u in ring.users.users()]
    return [{"user_id": d.user_id, "version": d.version, "digest": d.digest.hex()}
            for d in sorted((d for d in newest if d is not None), key=lambda d: d.user_id.encode())]


OPS: dict[str, Handler] = {"build_device_list": op_build_device_list, "device_list": op_device_list}
