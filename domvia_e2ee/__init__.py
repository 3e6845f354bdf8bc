"""domvia-e2ee: end-to-end encryption for realtime chat rooms.

The public surface is a recipe. Identities hold keys; a Room rotates; a KeyRing accepts
bundles and opens messages; seal/open work on a single RoomKey. Nonces are never an
argument and every id is keyword-only and authenticated. Low-level pieces live in
domvia_e2ee.hazmat and are not part of this surface.

The names below are imported on first use (PEP 562), so that `import domvia_e2ee.cli` costs
nothing before the command line's entry point has installed its Ctrl-C and SIGTERM handling
(not even `typing`, 14 ms of start-up: hence TYPE_CHECKING defined here).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .bundle import Bundle, Slice
    from .errors import (
        AuthenticationError, DomviaError, FormatError, InvalidKeyError, KeyExhaustedError, NotRecipientError,
        PolicyError, ReplayError, StaleEpochError, UnauthorizedError, UnknownKeyError, UnknownSenderError,
        UsageError,
    )
    from .hazmat.suites import Suite
    from .history import HistoryBundle
    from .identity import Identity, PublicIdentity
    from .keyring import Accepted, KeyRing
    from .keys import RoomKey
    from .message import SealedMessage
    from .room import Room, Rotation, RotationPolicy
    from .sealing import OpenedMessage, open, open_unsigned, seal, seal_unsigned  # noqa: A004
    from .wrap import WrapKem

__version__ = "0.1.0"

_HOMES: dict[str, str] = {
    **dict.fromkeys(("Bundle", "Slice"), "bundle"),
    **dict.fromkeys(("AuthenticationError", "DomviaError", "FormatError", "InvalidKeyError", "KeyExhaustedError",
                     "NotRecipientError", "PolicyError", "ReplayError", "StaleEpochError", "UnauthorizedError",
                     "UnknownKeyError", "UnknownSenderError", "UsageError"), "errors"),
    "Suite": "hazmat.suites", "HistoryBundle": "history", "Identity": "identity", "PublicIdentity": "identity",
    "Accepted": "keyring", "KeyRing": "keyring", "RoomKey": "keys", "SealedMessage": "message",
    **dict.fromkeys(("Room", "Rotation", "RotationPolicy"), "room"),
    **dict.fromkeys(("OpenedMessage", "open", "open_unsigned", "seal", "seal_unsigned"), "sealing"),
    "WrapKem": "wrap",
}

__all__ = [
    "Accepted", "AuthenticationError", "Bundle", "DomviaError", "FormatError", "HistoryBundle", "Identity",
    "InvalidKeyError", "KeyExhaustedError", "KeyRing", "NotRecipientError", "OpenedMessage", "PolicyError",
    "PublicIdentity", "ReplayError", "Room", "RoomKey", "Rotation", "RotationPolicy", "SealedMessage", "Slice",
    "StaleEpochError", "Suite", "UnauthorizedError", "UnknownKeyError", "UnknownSenderError", "UsageError",
    "WrapKem", "open", "open_unsigned", "seal", "seal_unsigned",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
