"""A seeded chaos run over the reference store (domvia_e2ee/_sim): participants join, leave, go offline and
send through a lossy relay and a malicious server; every delivery is checked as it is handled, and every
message a client is entitled to is read once the chaos stops. A broken client makes the check fail."""

from __future__ import annotations

import pytest

from domvia_e2ee._sim.ledger import InvariantError
from domvia_e2ee._sim.world import Settings, run

EVENTS = 1500
EVERY_CLIENT = tuple(f"p{i}" for i in range(Settings().clients))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_malicious_chaos_run_heals_with_no_message_left_unreadable(seed: int) -> None:
    report = run(seed, EVENTS)
    assert report.utd == [], f"seed {seed}: unable to decrypt at quiescence: {report.utd[:5]}"
    assert report.reads > report.messages       # every message has readers besides its sender
    forged_opened = [k for k, n in report.codes.items() if k.startswith(("forged-bundle", "other-slice", "tampered"))
                     and k.endswith(":ok") and n]
    assert forged_opened == []
    assert any(k.startswith("tampered:message:E_AUTH") for k in report.codes)


def test_a_lossy_but_honest_run_heals_too() -> None:
    report = run(7, EVENTS, Settings(malicious=False, loss=0.25, duplicate=0.1))
    assert report.utd == [], report.utd[:5]
    assert not any(k.split(":")[0] != "honest" for k in report.codes)


def test_a_client_that_drops_its_retries_leaves_messages_unreadable() -> None:
    """The regression the invariant exists for: a client that does not fetch and retry on E_GAP,
    E_UNKNOWN_KEY and E_UNKNOWN_SENDER loses messages for good. If this passes with UTD 0, the check is blind."""
    unread = [len(run(seed, EVENTS, Settings(broken=EVERY_CLIENT)).utd) for seed in (1, 2)]
    assert all(n > 0 for n in unread), unread


def test_a_violation_names_the_seed_and_the_event(monkeypatch: pytest.MonkeyPatch) -> None:
    from domvia_e2ee._sim import invariants

    # A checker that believes no forgery may ever fail with E_UNAUTHORIZED: the run must stop, saying where.
    monkeypatch.setitem(invariants.FORGED, "forged-bundle", frozenset({"E_GAP"}))
    with pytest.raises(InvariantError, match=r"seed 1, event \d+: p\d got forged-bundle slice"):
        run(1, EVENTS)
