"""The exception tree: one root, stable codes, FormatError names its field."""

from __future__ import annotations

import pytest

import domvia_e2ee
from domvia_e2ee import errors

CODES = {
    "DomviaError": "E_INTERNAL", "FormatError": "E_FORMAT", "AuthenticationError": "E_AUTH",
    "UnknownKeyError": "E_UNKNOWN_KEY", "UnknownSenderError": "E_UNKNOWN_SENDER", "ReplayError": "E_REPLAY",
    "StaleEpochError": "E_STALE", "UnauthorizedError": "E_UNAUTHORIZED", "NotRecipientError": "E_NOT_RECIPIENT",
    "PolicyError": "E_POLICY", "KeyExhaustedError": "E_KEY_EXHAUSTED", "InvalidKeyError": "E_BAD_KEY",
    "NotMemberError": "E_NOT_MEMBER", "GapError": "E_GAP", "ForkError": "E_FORK", "DowngradeError": "E_DOWNGRADE",
    "UsageError": "E_USAGE", "DeviceTooNewError": "E_DEVICE_TOO_NEW", "WithheldError": "E_WITHHELD",
    "RollbackError": "E_ROLLBACK",
}


def test_codes_are_stable_and_unique() -> None:
    assert {cls.__name__: cls.code for cls in errors.ALL_ERRORS} == CODES
    assert len(set(CODES.values())) == len(CODES)


def test_one_root_and_exported() -> None:
    for cls in errors.ALL_ERRORS:
        assert issubclass(cls, domvia_e2ee.DomviaError)
        assert getattr(domvia_e2ee, cls.__name__) is cls
    assert issubclass(errors.KeyExhaustedError, errors.PolicyError)
    assert not issubclass(errors.AuthenticationError, (ValueError, KeyError))


def test_format_error_names_its_field() -> None:
    error = errors.FormatError("k", "must be 32 bytes")
    assert (error.field, error.reason, str(error), error.code) == ("k", "must be 32 bytes", "k: must be 32 bytes",
                                                                 "E_FORMAT")


def test_authentication_error_says_nothing_more() -> None:
    assert str(errors.AuthenticationError()) == "authentication failed"
    with pytest.raises(TypeError):
        errors.AuthenticationError("detail")  # type: ignore[call-arg]
