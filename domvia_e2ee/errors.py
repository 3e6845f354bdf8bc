"""The exception tree. Every error the library raises on purpose is a DomviaError.

Codes are stable strings shared with the spec, the vectors and other implementations.
"""

from __future__ import annotations


class DomviaError(Exception):
    """Root of every error raised by domvia-e2ee."""

    code = "E_INTERNAL"


class FormatError(DomviaError):
    """Malformed structure. Names the offending field; never carries secret bytes."""

    code = "E_FORMAT"

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class AuthenticationError(DomviaError):
    """Decryption or verification failed. Deliberately says nothing more."""

    code = "E_AUTH"

    def __init__(self) -> None:
        super().__init__("authentication failed")


class UnknownKeyError(DomviaError):
    """The message or bundle refers to a key (epoch, key id) this holder does not have."""

    code = "E_UNKNOWN_KEY"


class UnknownSenderError(DomviaError):
    """The sender's identity or its membership of the epoch is not known here yet."""

    code = "E_UNKNOWN_SENDER"


class ReplayError(DomviaError):
    """This (room, epoch, sender, message id) was already opened."""

    code = "E_REPLAY"


class StaleEpochError(DomviaError):
    """A bundle is not newer than what is held: a rollback or a replayed bundle."""

    code = "E_STALE"


class UnauthorizedError(DomviaError):
    """The signer of a bundle is not allowed to rotate or share keys for this room."""

    code = "E_UNAUTHORIZED"


class NotRecipientError(DomviaError):
    """A bundle or slice does not list this participant."""

    code = "E_NOT_RECIPIENT"


class PolicyError(DomviaError):
    """Refused by local policy: an unsigned message where signatures are required,
    a key past its message bound, a membership change that is not allowed."""

    code = "E_POLICY"


class KeyExhaustedError(PolicyError):
    """The room key reached its nonce-safety bound for this sender; rotate first."""

    code = "E_KEY_EXHAUSTED"


class InvalidKeyError(DomviaError):
    """A public key is malformed, low-order or otherwise unusable."""

    code = "E_BAD_KEY"


class UsageError(DomviaError, TypeError):
    """The library was called wrongly: an argument of the wrong type (a str plaintext, a number for
    an id). A TypeError too, so code that catches TypeError keeps working; raised before any work."""

    code = "E_USAGE"


ALL_ERRORS: tuple[type[DomviaError], ...] = (
    DomviaError,
    FormatError,
    AuthenticationError,
    UnknownKeyError,
    UnknownSenderError,
    ReplayError,
    StaleEpochError,
    UnauthorizedError,
    NotRecipientError,
    PolicyError,
    KeyExhaustedError,
    InvalidKeyError,
    UsageError,
)
