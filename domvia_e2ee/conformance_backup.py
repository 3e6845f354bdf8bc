"""The conformance operations of key backups (spec/conformance.md): backup_info, and the key ring session
steps restore and accept_share."""

from __future__ import annotations

from typing import Any

from .conformance_ops import Handler, Input, unhex
from .errors import FormatError
from .group.keyring import KeyRing
from .users.backup import accept_sibling_share, restore
from .users.backup_info import KDF_RECOVERY_KEY, BackupInfo
from .users.restore import RestoreReport
from .users.user_key import UserPublicKey


def op_backup_info(i: Input) -> dict[str, Any]:
    info = BackupInfo.from_bytes(unhex(i["info"], "info")).verify(UserPublicKey.from_dict(i["user"]))
    out: dict[str, Any] = {"user_id": info.user_id, "version": info.version, "key_id": info.key_id.hex(),
                           "kdf": "recovery-key" if info.kdf == KDF_RECOVERY_KEY else "passphrase"}
    if info.cost is not None:
        out |= {"salt": info.salt.hex(), "memory_kib": info.cost.memory_kib, "iterations": info.cost.iterations,
                "lanes": info.cost.lanes}
    if "recovery_key" in i or "passphrase" in i:
        passphrase = unhex(i["passphrase"], "passphrase") if "passphrase" in i else None
        info.secret(recovery_key=i.get("recovery_key"), passphrase=passphrase)
        out["secret_ok"] = True
    return out


def report_obj(report: RestoreReport) -> dict[str, Any]:
    """A restore's report as the vectors record it."""
    return {"rooms": {room: [r.epoch for r in records] for room, records in sorted(report.rooms.items())},
            "keys": report.keys, "refused_rooms": dict(sorted(report.refused_rooms.items())),
            "refused_chunks": report.refused_chunks}


def session_step(ring: KeyRing, step: Input) -> dict[str, Any] | None:
    """The backup session steps, or None for a step of another kind."""
    if "restore" in step:
        s = step["restore"]
        if not isinstance(s, dict) or not {"info", "chunks"} <= set(s) or len(set(s) & {"recovery_key", "passphrase"}) != 1:
            raise FormatError("restore", "needs info, chunks and one of recovery_key and passphrase")
        passphrase = unhex(s["passphrase"], "passphrase") if "passphrase" in s else None
        report = restore(ring, [unhex(c, "chunks") for c in s["chunks"]], BackupInfo.from_bytes(unhex(s["info"], "info")),
                         recovery_key=s.get("recovery_key"), passphrase=passphrase)
        return {"restored": report_obj(report)}
    if "accept_share" in step:
        report = accept_sibling_share(ring, [unhex(c, "accept_share") for c in step["accept_share"]])
        return {"restored": report_obj(report)}
    return None


OPS: dict[str, Handler] = {"backup_info": op_backup_info}
