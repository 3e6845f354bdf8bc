"""Peak memory of one rotation or join, each case in a fresh interpreter.

    python -m benchmarks._memory prepare DIR        writes the N=10,000 slice and bundle to DIR
    python -m benchmarks._memory CASE N [DIR]       prints {"baseline_kib": ..., "peak_kib": ...}

Measured with resource.getrusage(RUSAGE_SELF).ru_maxrss, the process's resident-set
high-water mark: `baseline` is read after the inputs exist (identities, keys, bytes read),
`peak` after the operation, so peak - baseline is what the operation itself added at its
highest point. Inputs a joiner would receive come from files, so building them never
raises the mark before the measurement starts.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOM = "room-0123456789"
JOIN_N = 10_000


def _maxrss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def _rotate(n: int, _: Path | None) -> Callable[[], Any]:
    from benchmarks._shared import identities, publics
    from domvia_e2ee import RoomKey, WrapKem
    from domvia_e2ee.bundle import build_bundle

    members, rotator = publics(n), identities(1)[0]
    key = RoomKey.generate(room_id=ROOM, epoch=2)
    return lambda: build_bundle(rotator, key, members, kem=WrapKem.X25519, issued_at=1_700_000_000, proof=None)


def _join(form: str) -> Callable[[int, Path | None], Callable[[], Any]]:
    def setup(n: int, folder: Path | None) -> Callable[[], Any]:
        from benchmarks._shared import make_identity
        from domvia_e2ee import KeyRing

        assert folder is not None, "join cases read the inputs written by `prepare`"
        data = (folder / f"{form}.bin").read_bytes()
        ring = KeyRing(make_identity(n // 2))
        ring.trust_admin(ROOM, make_identity(0).public)
        return lambda: ring.accept(data)
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
    "peer.sealedbox": _sealedbox, "peer.pyrage": _pyrage, "peer.pyrage-decrypt": _pyrage_decrypt, "peer.olm": _olm,
}


def prepare(folder: Path) -> None:
    from benchmarks._shared import identities, publics
    from domvia_e2ee import RoomKey, WrapKem
    from domvia_e2ee.bundle import build_bundle

    key = RoomKey.generate(room_id=ROOM, epoch=2)
    bundle = build_bundle(identities(1)[0], key, publics(JOIN_N), kem=WrapKem.X25519, issued_at=1_700_000_000,
                          proof=None)
    (folder / "bundle.bin").write_bytes(bundle.to_bytes())
    (folder / "slice.bin").write_bytes(bundle.slice_for(identities(JOIN_N)[JOIN_N // 2].participant_id).to_bytes())


def measure(case: str, n: int, folder: Path | None) -> dict[str, int]:
    operation = CASES[case](n, folder)
    baseline = _maxrss_kib()
    operation()
    return {"baseline_kib": baseline, "peak_kib": _maxrss_kib()}


def main(argv: list[str]) -> int:
    if argv[:1] == ["prepare"]:
        prepare(Path(argv[1]))
        return 0
    folder = Path(argv[2]) if len(argv) > 2 else None
    print(json.dumps(measure(argv[0], int(argv[1]), folder)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
