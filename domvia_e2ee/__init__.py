"""domvia-e2ee: end-to-end encryption for realtime chat rooms.

The public surface is a recipe. Identities hold keys; a Room rotates; a KeyRing accepts
bundles and opens messages; seal/open work on a single RoomKey. Nonces are never an
argument and every id is keyword-only and authenticated. Low-level pieces live in
domvia_e2ee.hazmat and are not part of this surface.
"""

from .errors import (
    AuthenticationError, DomviaError, DowngradeError, ForkError, FormatError, GapError, InvalidKeyError,
    KeyExhaustedError, NotMemberError, NotRecipientError, PolicyError, ReplayError, StaleEpochError,
    UnauthorizedError, UnknownKeyError, UnknownSenderError,
)
from .group.bundle import Announcement, Bundle, Slice
from .group.forks import ForkEvidence
from .group.header import RoomPolicy
from .group.history import HistoryBundle
from .group.keyring import Accepted, KeyRing
from .group.keyring_state import keyring_from_plaintext, keyring_to_plaintext
from .group.members import MemberProofFile
from .group.room import Room, Rotation
from .hazmat.suites import Suite
from .identity import Identity, PublicIdentity
from .keys import RoomKey
from .message import SealedMessage
from .sealing import OpenedMessage, open, open_unsigned, seal, seal_unsigned  # noqa: A004
from .wrap import WrapKem

__version__ = "0.1.0"

__all__ = [
    "Accepted", "Announcement", "AuthenticationError", "Bundle", "DomviaError", "DowngradeError", "ForkError",
    "ForkEvidence", "FormatError", "GapError", "HistoryBundle", "Identity", "InvalidKeyError", "KeyExhaustedError",
    "KeyRing", "MemberProofFile", "NotMemberError", "NotRecipientError", "OpenedMessage", "PolicyError",
    "PublicIdentity", "ReplayError", "Room", "RoomKey", "RoomPolicy", "Rotation", "SealedMessage", "Slice",
    "StaleEpochError", "Suite", "UnauthorizedError", "UnknownKeyError", "UnknownSenderError", "WrapKem",
    "keyring_from_plaintext", "keyring_to_plaintext",
    "open", "open_unsigned", "seal", "seal_unsigned",
]
