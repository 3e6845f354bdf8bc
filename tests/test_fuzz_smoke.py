"""CI's fuzz smoke pass: every harness of fuzz/harnesses.py on its seed corpus (and the seeds found in
vectors/) plus a bounded number of seeded mutations, without atheris. A few seconds in all.

The rule is the fuzzers': any exception other than a DomviaError is a bug, and so is a broken
invariant (re-encoding, unchanged key ring on rejection, replay on a second open). Long runs under
atheris: fuzz/run.sh, figures in fuzz/README.md.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from domvia_e2ee import DomviaError, KeyRing, SealedMessage, keyring_from_plaintext

FUZZ_DIR = Path(__file__).resolve().parent.parent / "fuzz"
MUTATIONS_PER_SEED = 300
ENTRY_POINTS = {"message_binary", "message_json", "bundle", "slice", "announcement", "member_proof", "history",
                "header", "wrapped_key", "public_identity", "private_identity", "keyring_state", "room_state",
                "json_edit", "identity_file", "keyring_file", "attachment_reference", "attachment_blob"}


def _load(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, FUZZ_DIR / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


smoke = _load("smoke")
harnesses = _load("harnesses")


def test_every_entry_point_has_a_harness_and_seeds() -> None:
    assert set(harnesses.HARNESSES) >= ENTRY_POINTS
    for name in harnesses.HARNESSES:
        if name != "json_edit":  # it edits the JSON harnesses' seeds
            assert smoke.seeds(name), f"no seed corpus for {name}"


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_harness_on_seeds_and_mutations(name: str) -> None:
    # These load a whole key ring, room state or file per input: fewer mutations keep each near a second.
    slow = {"json_edit", "identity_file", "keyring_file", "room_state", "keyring_state"}
    per_seed = MUTATIONS_PER_SEED // 3 if name in slow else MUTATIONS_PER_SEED
    executions = smoke.run(name, per_seed)
    assert executions >= per_seed


def test_seeds_reach_the_deep_checks() -> None:
    """The corpus is worth fuzzing from: its valid seeds open and are accepted (not refused on parse),
    and its near misses are refused by the step they aim at."""
    world = harnesses.world()

    def fresh() -> KeyRing:
        return keyring_from_plaintext(world.bob_state, world.bob)

    ring = fresh()
    opened = [ring.open(seed, check_replay=False) for seed in smoke.corpus_seeds("message_binary")
              if SealedMessage.from_bytes(seed).epoch in (1, 2) and SealedMessage.from_bytes(seed).sender_id != "mallory"
              and SealedMessage.from_bytes(seed).message_id != "m-7"]
    assert len(opened) >= 4
    outcomes: dict[str, list[str]] = {}
    for kind in ("bundle", "slice", "announcement", "member_proof", "history"):
        for seed in smoke.corpus_seeds(kind):
            try:
                outcomes.setdefault(kind, []).append(fresh().accept(seed).kind)
            except DomviaError as error:  # the near misses
                outcomes.setdefault(kind, []).append(error.code)
    everything = [o for found in outcomes.values() for o in found]
    assert "E_FORMAT" not in everything
    assert outcomes["bundle"].count("bundle") >= 4 and "link" in outcomes["bundle"]
    assert {"E_FORK", "E_UNAUTHORIZED", "E_DOWNGRADE", "E_GAP", "E_STALE"} <= set(outcomes["bundle"])
    assert outcomes["slice"].count("slice") >= 4 and "E_NOT_RECIPIENT" in outcomes["slice"]
    assert outcomes["announcement"].count("link") >= 3 and "E_FORK" in outcomes["announcement"]
    assert outcomes["member_proof"].count("member") >= 3
    assert outcomes["history"].count("history") >= 2


def test_an_unexpected_exception_escapes_the_harness(monkeypatch: pytest.MonkeyPatch) -> None:
    """The harnesses do not swallow what they must report."""
    def broken(data: bytes) -> SealedMessage:
        raise IndexError("a parser bug")

    monkeypatch.setattr(harnesses.SealedMessage, "from_bytes", broken)
    with pytest.raises(IndexError):
        harnesses.message_binary(b"DVM\x01")


def test_a_state_change_on_rejection_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    world = harnesses.world()
    world.forget_rings()
    ring = world.bob_ring()
    original = KeyRing.accept

    def half_commits(self: KeyRing, data: bytes) -> object:
        self._rooms.setdefault("room-x", {})[1] = self._rooms["room-1"][1]
        return original(self, b"not a bundle")

    monkeypatch.setattr(KeyRing, "accept", half_commits)
    with pytest.raises(harnesses.InvariantError):
        harnesses.bundle(b"DVB\x03")
    world.forget_rings()
    assert ring is not world.bob_ring()
