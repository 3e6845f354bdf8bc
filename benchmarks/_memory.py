"""Peak memory of one rotation or join, each case in a fresh interpreter.

    python -m benchmarks._memory prepare DIR        writes the N=10,000 slice and bundle to DIR
    python -m benchmarks._memory CASE N [DIR]       prints {"baseline_kib": ..., "peak_kib": ...}

Measured from Linux's /proc/self/status: once the inputs exist (identities, keys, bytes
read), the resident-set high-water mark is reset to the current RSS (`5` written to
/proc/self/clear_refs) and that RSS is `baseline`; `peak` is the high-water mark (VmHWM)
after the operation, so peak - baseline is the most the operation itself added at any
moment. (getrusage's ru_maxrss cannot be used: it cannot be reset, and after fork+exec it
starts from the parent's peak.) Inputs a joiner would receive come from files.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOM = "room-0123456789"
JOIN_N = 10_000


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def _rotate(n: int, _: Path | None) -> Callable[[], Any]:
    from benchmarks._shared import identities, publics
    from domvia_e2ee import RoomKey, WrapKem
    from domvia_e2ee.group.bundle import Plan, build_bundle

    members, rotator = publics(n), identities(1)[0]
    key = RoomKey.generate(room_id=ROOM, epoch=2)
    return lambda: build_bundle(rotator, key, members, kem=WrapKem.X25519, issued_at=1_700_000_000,
                        plan=Plan(b"\x01" * 32, admins=((rotator.participant_id, rotator.public.fingerprint),)))


def _join(form: str, warm: bool = False) -> Callable[[int, Path | None], Callable[[], Any]]:
    """warm: a first join in the same process has already paid the libraries' one-time set-up."""
    def setup(n: int, folder: Path | None) -> Callable[[], Any]:
        from benchmarks._shared import make_identity
        from domvia_e2ee import KeyRing

        assert folder is not None, "join cases read the inputs written by `prepare`"
        data = (folder / f"{form}.bin").read_bytes()
        rings = [KeyRing(make_identity(n // 2)) for _ in range(2)]
        for ring in rings:
            ring.trust_admin(ROOM, make_identity(0).public)
        if warm:
            rings.pop().accept(data)
        return lambda: rings[0].accept(data)
    return setup


def _sealedbox(n: int, _: Path | None) -> Callable[[], Any]:
    from nacl.public import PrivateKey, SealedBox

    boxes = [SealedBox(PrivateKey.generate().public_key) for _ in range(n)]
    secret = os.urandom(32)
    return lambda: [box.encrypt(secret) for box in boxes]


def _pyrage(n: int, _: Path | None) -> Callable[[], Any]:
    import pyrage

    recipients = [pyrage.x25519.Identity.generate().to_public() for _ in range(n)]
    secret = os.urandom(32)
    return lambda: pyrage.encrypt(secret, recipients)


def _pyrage_decrypt(n: int, _: Path | None) -> Callable[[], Any]:
    import pyrage

    keys = [pyrage.x25519.Identity.generate() for _ in range(n)]
    data = pyrage.encrypt(os.urandom(32), [key.to_public() for key in keys])
    return lambda: pyrage.decrypt(data, [keys[n // 2]])


def _olm(n: int, _: Path | None) -> Callable[[], Any]:
    import vodozemac

    sender, devices = vodozemac.Account(), []
    for _ in range(n):
        device = vodozemac.Account()
        device.generate_one_time_keys(1)
        devices.append((device.curve25519_key, next(iter(device.one_time_keys.values()))))
    payload = vodozemac.GroupSession().session_key.to_base64().encode()
    return lambda: [sender.create_outbound_session(i, o).encrypt(payload) for i, o in devices]


CASES: dict[str, Callable[[int, Path | None], Callable[[], Any]]] = {
    "domvia.rotate": _rotate, "domvia.join.slice": _join("slice"), "domvia.join.bundle": _join("bundle"),
    "domvia.join.slice.warm": _join("slice", warm=True),
    "peer.sealedbox": _sealedbox, "peer.pyrage": _pyrage, "peer.pyrage-decrypt": _pyrage_decrypt, "peer.olm": _olm,
}


def prepare(folder: Path) -> None:
    from benchmarks._shared import identities, publics
    from domvia_e2ee import RoomKey, WrapKem
    from domvia_e2ee.group.bundle import Plan, build_bundle

    key = RoomKey.generate(room_id=ROOM, epoch=2)
    bundle = build_bundle(identities(1)[0], key, publics(JOIN_N), kem=WrapKem.X25519, issued_at=1_700_000_000,
                        plan=Plan(b"\x01" * 32, admins=((identities(1)[0].participant_id, identities(1)[0].public.fingerprint),)))
    (folder / "bundle.bin").write_bytes(bundle.to_bytes())
    (folder / "slice.bin").write_bytes(bundle.slice_for(identities(JOIN_N)[JOIN_N // 2].participant_id).to_bytes())


def measure(case: str, n: int, folder: Path | None) -> dict[str, int]:
    operation = CASES[case](n, folder)
    _reset_peak()
    baseline = _status_kib("VmRSS")
    operation()
    return {"baseline_kib": baseline, "peak_kib": _status_kib("VmHWM")}


def main(argv: list[str]) -> int:
    if argv[:1] == ["prepare"]:
        prepare(Path(argv[1]))
        return 0
    folder = Path(argv[2]) if len(argv) > 2 else None
    print(json.dumps(measure(argv[0], int(argv[1]), folder)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
