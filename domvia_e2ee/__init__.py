"""domvia-e2ee: end-to-end encryption for realtime chat rooms.

The public surface is a recipe. Identities hold keys; a Room rotates; a KeyRing accepts
bundles and opens messages; seal/open work on a single RoomKey. Nonces are never an
argument and every id is keyword-only and authenticated. Low-level pieces live in
domvia_e2ee.hazmat and are not part of this surface.
"""

from .bundle import Bundle, Slice
from .errors import (
    AuthenticationError, DomviaError, FormatError, InvalidKeyError, KeyExhaustedError, NotRecipientError,
    PolicyError, ReplayError, StaleEpochError, UnauthorizedError, UnknownKeyError, UnknownSenderError,
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

__all__ = [
    "Accepted", "AuthenticationError", "Bundle", "DomviaError", "FormatError", "HistoryBundle", "Identity",
    "InvalidKeyError", "KeyExhaustedError", "KeyRing", "NotRecipientError", "OpenedMessage", "PolicyError",
    "PublicIdentity", "ReplayError", "Room", "RoomKey", "Rotation", "RotationPolicy", "SealedMessage", "Slice",
    "StaleEpochError", "Suite", "UnauthorizedError", "UnknownKeyError", "UnknownSenderError", "WrapKem",
    "open", "open_unsigned", "seal", "seal_unsigned",
]
