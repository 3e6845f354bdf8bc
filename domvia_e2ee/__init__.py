"""domvia-e2ee: end-to-end encryption for realtime chat rooms.

The public surface is a recipe. Identities hold keys; a Room (an admin's view of a room's signed
chain of epochs) rotates; a KeyRing accepts bundles on top of the chain it holds and opens
messages; seal/open work on a single RoomKey. Nonces are never an argument and every id is
keyword-only and authenticated. Low-level pieces live in domvia_e2ee.hazmat and are not part of
this surface.

The names below are imported on first use (PEP 562), so that `import domvia_e2ee.cli` costs
nothing before the command line's entry point has installed its Ctrl-C and SIGTERM handling
(not even `typing`, 14 ms of start-up: hence TYPE_CHECKING defined here).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .errors import (
        AuthenticationError, DeviceTooNewError, DomviaError, DowngradeError, ForkError, FormatError, GapError,
        InvalidKeyError, KeyExhaustedError, NotMemberError, NotRecipientError, PolicyError, ReplayError,
        RollbackError, StaleEpochError, UnauthorizedError, UnknownKeyError, UnknownSenderError, UsageError,
        WithheldError,
    )
    from .users.device_list import DeviceList, next_device_list, sign_device_list
    from .users.user_key import UserKey, UserPublicKey
    from .group.bundle import Announcement, Bundle, Slice
    from .group.forks import ForkEvidence
    from .group.header import RoomPolicy
    from .group.history import HistoryBundle
    from .group.keyring import Accepted, KeyRing
    from .group.keyring_state import keyring_from_plaintext, keyring_to_plaintext
    from .group.members import MemberProofFile
    from .files import load_keyring, save_keyring
    from .group.room import Room, Rotation
    from .hazmat.suites import Suite
    from .identity import Identity, PublicIdentity
    from .keys import RoomKey
    from .message import SealedMessage
    from .sealing import OpenedMessage, open, open_unsigned, seal, seal_unsigned  # noqa: A004
    from .wrap import WrapKem

__version__ = "0.1.0"

_HOMES: dict[str, str] = {
    **dict.fromkeys(("AuthenticationError", "DomviaError", "DowngradeError", "ForkError", "FormatError", "GapError",
                     "InvalidKeyError", "KeyExhaustedError", "NotMemberError", "NotRecipientError", "PolicyError",
                     "ReplayError", "StaleEpochError", "UnauthorizedError", "UnknownKeyError", "UnknownSenderError",
                     "UsageError", "DeviceTooNewError", "RollbackError", "WithheldError"), "errors"),
    **dict.fromkeys(("DeviceList", "next_device_list", "sign_device_list"), "users.device_list"),
    **dict.fromkeys(("UserKey", "UserPublicKey"), "users.user_key"),
    **dict.fromkeys(("Announcement", "Bundle", "Slice"), "group.bundle"),
    "ForkEvidence": "group.forks", "RoomPolicy": "group.header", "HistoryBundle": "group.history",
    "Accepted": "group.keyring", "KeyRing": "group.keyring",
    **dict.fromkeys(("keyring_from_plaintext", "keyring_to_plaintext"), "group.keyring_state"),
    "MemberProofFile": "group.members", "Room": "group.room", "Rotation": "group.room",
    "Suite": "hazmat.suites", "Identity": "identity", "PublicIdentity": "identity", "RoomKey": "keys",
    "SealedMessage": "message",
    **dict.fromkeys(("OpenedMessage", "open", "open_unsigned", "seal", "seal_unsigned"), "sealing"),
    "WrapKem": "wrap", "load_keyring": "files", "save_keyring": "files",
}

__all__ = [
    "DeviceList", "DeviceTooNewError", "RollbackError", "UserKey", "UserPublicKey", "WithheldError",
    "next_device_list", "sign_device_list",
    "Accepted", "Announcement", "AuthenticationError", "Bundle", "DomviaError", "DowngradeError", "ForkError",
    "ForkEvidence", "FormatError", "GapError", "HistoryBundle", "Identity", "InvalidKeyError", "KeyExhaustedError",
    "KeyRing", "MemberProofFile", "NotMemberError", "NotRecipientError", "OpenedMessage", "PolicyError",
    "PublicIdentity", "ReplayError", "Room", "RoomKey", "RoomPolicy", "Rotation", "SealedMessage", "Slice",
    "StaleEpochError", "Suite", "UnauthorizedError", "UnknownKeyError", "UnknownSenderError", "UsageError", "WrapKem",
    "keyring_from_plaintext", "keyring_to_plaintext", "load_keyring", "open", "open_unsigned", "save_keyring", "seal", "seal_unsigned",
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
