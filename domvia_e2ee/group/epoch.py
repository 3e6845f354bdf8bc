"""What a participant holds about one epoch of one room: its place in the chain, its key (unless
the participant was not a member then) and its roster (every member, or those proved so far)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..encoding import Writer
from ..keys import RoomKey
from .. import labels
from .header import EpochHeader
from ..users.device_list import DeviceList
from .lists import write_lists
from .members import MemberProof, RosterEntry, write_path

SOURCES = ("bundle", "slice", "link", "history")


@dataclass
class EpochRecord:
    """One held epoch: its header, the key (None: a link only), the roster (``complete`` or those proved so
    far), ``source`` (one of SOURCES) and ``messages``, the count sealed and opened in it."""

    header: EpochHeader
    header_bytes: bytes
    # The signature, authority and rotator proof, to rebuild the announcement as fork evidence;
    # None for an epoch learnt from history, whose header is vouched for by the chain alone.
    signature: bytes | None
    authority: MemberProof | None
    rotator: MemberProof | None
    key: RoomKey | None
    roster: dict[str, RosterEntry]
    complete: bool
    source: str
    messages: int = field(default=0)
    # The rotator's device list (none for a participant that is not a user's device), for the announcement.
    rotator_lists: tuple[DeviceList, ...] = ()
    # The key was held and then forgotten under the retention policy (opening says E_WITHHELD, not E_NOT_MEMBER).
    withheld: bool = False

    @property
    def epoch(self) -> int:
        """The epoch number."""
        return self.header.epoch

    def member(self, participant_id: str) -> RosterEntry | None:
        """The roster entry of a participant id, or None if it is not listed (or not proved yet)."""
        return self.roster.get(participant_id)

    def announcement(self) -> bytes | None:
        """The epoch's announcement bytes (spec/bundle.md): magic, header, signature, authority, rotator
        proof; None for an epoch learnt from history."""
        if self.signature is None or self.rotator is None:
            return None
        w = Writer(labels.MAGIC_EPOCH).raw(self.header_bytes).raw(self.signature)
        if self.authority is None:
            w.u8(0)
        else:
            self.authority.write(w.u8(1))
        self.rotator.entry.write(w).u32(self.rotator.index)
        return write_lists(write_path(w, self.rotator.path), self.rotator_lists).getvalue()
