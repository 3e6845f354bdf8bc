"""A seeded chaos run over the reference store (domvia_e2ee/_sim): users with one to three devices join and
leave rooms, add, lose and re-key devices, go offline, send, back up and restore, through a lossy relay and a
malicious server; every delivery, list fetch and restore is checked as it is handled, and every message a
device is entitled to is read once the chaos stops. Broken clients make the check fail."""

from __future__ import annotations

import pytest

from domvia_e2ee._sim.ledger import InvariantError
from domvia_e2ee._sim.world import Settings, run

EVENTS = 1500
EVERY_USER = tuple(f"u{i}" for i in range(Settings().users))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_malicious_chaos_run_heals_with_no_message_left_unreadable(seed: int) -> None:
    report = run(seed, EVENTS)
    assert report.utd == [], f"seed {seed}: unable to decrypt at quiescence: {report.utd[:5]}"
    assert report.reads > report.messages       # every message has readers besides its sender
    forged_opened = [k for k, n in report.codes.items() if k.startswith(("forged-bundle", "other-slice", "tampered"))
                     and k.endswith(":ok") and n]
    assert forged_opened == []
    assert any(k.startswith("tampered:message:E_AUTH") for k in report.codes)
    assert report.devices > Settings().users     # devices were added or re-keyed


def test_the_run_covers_devices_backups_and_the_attacks_on_them() -> None:
    codes: dict[str, int] = {}
    for seed in (1, 2, 3, 4):
        for key, count in run(seed, EVENTS).codes.items():
            codes[key] = codes.get(key, 0) + count
    for expected in ("history:message:ok", "probe:device-too-new", "probe:not-a-member", "list:old-list:E_ROLLBACK",
                     "list:forged-list:E_UNAUTHORIZED", "list:other-user:ok", "restore:chunk:E_UNAUTHORIZED",
                     "stolen:message:E_UNKNOWN_KEY", "honest:message:E_DEVICE_TOO_NEW", "cause:replayed"):
        assert codes.get(expected), f"{expected} never happened: {sorted(codes)}"


def test_a_lossy_but_honest_run_heals_too() -> None:
    report = run(7, EVENTS, Settings(malicious=False, loss=0.25, duplicate=0.1))
    assert report.utd == [], report.utd[:5]
    assert not any(k.split(":")[0] in ("forged-bundle", "other-slice", "tampered", "removed-sender")
                   or (k.startswith("list:") and not k.startswith("list:honest")) for k in report.codes)


@pytest.mark.parametrize("mode", ["retries", "restore"])
def test_a_broken_client_leaves_messages_unreadable(mode: str) -> None:
    """The regressions the invariant exists for: devices that drop what fails with a retry code, or that never
    restore their user's backup, lose messages for good. If one of these passes with UTD 0, the check is blind."""
    unread = [len(run(seed, EVENTS, Settings(broken=EVERY_USER, broken_mode=mode)).utd) for seed in (1, 2)]
    assert all(n > 0 for n in unread), unread


def test_devices_that_never_fetch_lists_leave_a_lost_device_in_the_room() -> None:
    """Devices that never fetch device lists never learn a loss, so no admin rotates: the lost device goes on
    reading. (New devices still read everything, through the backup: UTD alone cannot see this.)"""
    with pytest.raises(InvariantError, match=r"seed 1: room r\d epoch \d+ still wraps to gone"):
        run(1, EVENTS, Settings(broken=EVERY_USER, broken_mode="lists"))


def test_a_violation_names_the_seed_and_the_event(monkeypatch: pytest.MonkeyPatch) -> None:
    from domvia_e2ee._sim import invariants

    # A checker that believes a forged list may be refused only as a rollback: the run must stop, saying where.
    monkeypatch.setitem(invariants.LIST_CODES, "forged-list", {"E_ROLLBACK"})
    with pytest.raises(InvariantError, match=r"seed 1, event \d+: u\d/d\d+ fetched forged-list list of u\d"):
        run(1, EVENTS)
