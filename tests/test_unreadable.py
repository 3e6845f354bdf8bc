"""The unreadable-message taxonomy (spec/unreadable.md): one table for the library, the CLI and the spec."""

from __future__ import annotations

import re
from pathlib import Path

from domvia_e2ee import errors
from domvia_e2ee.group.keyring import KeyRing
from domvia_e2ee.unreadable import TAXONOMY, UNKNOWN, explain

SPEC = Path(__file__).resolve().parent.parent / "spec" / "unreadable.md"
ISSUE_CAUSES = {"no-key-yet", "not-a-member", "device-too-new", "withheld-by-policy", "fork", "tampered", "replayed",
                "unknown-sender"}


def test_the_spec_table_is_the_code() -> None:
    rows = re.findall(r"^\| `(E_[A-Z_]+)` \| `([a-z-]+)` \| (yes|no) \| `([a-z-]+)` \| (.+) \|$", SPEC.read_text(),
                      re.M)
    assert {code: (cause, retry == "yes", action, message) for code, cause, retry, action, message in rows} == {
        c.code: (c.cause, c.retry, c.action, c.message) for c in TAXONOMY.values()}


def test_every_cause_a_client_must_tell_apart_has_its_own_code() -> None:
    assert {c.cause for c in TAXONOMY.values()} >= ISSUE_CAUSES
    raised = set(re.findall(r"E_[A-Z_]+", KeyRing.open.__doc__ or ""))
    assert raised - {"E_USAGE"} <= set(TAXONOMY)  # every refusal of open() has a cause
    for cls in (errors.DeviceTooNewError, errors.WithheldError, errors.NotMemberError, errors.UnknownKeyError):
        assert explain(cls("x")).code == cls.code
    assert explain(errors.UsageError("x")) is UNKNOWN
