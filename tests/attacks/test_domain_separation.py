"""Attack: confusion between a message, a bundle, a slice and a history bundle (domain separation).

Sources: Albrecht, Celi, Dowling and Jones, "Practically-exploitable Cryptographic Vulnerabilities in
Matrix" (IEEE S&P 2023, disclosed 2022): several of its attacks rest on a message or identifier of
one kind being accepted where another kind was expected (message-type confusion). More generally, one key used for two purposes without separation lets a valid object of
one kind be replayed as another (cross-protocol attacks).

Why it fails here: every wire form starts with its own magic ("DVM", "DVB", "DVS", "DVE", "DVP", "DVH",
each with the version byte: 1 for messages, 2 for group state) and every parser checks it first; every signature, AEAD associated data, HPKE info
and HKDF info starts with its own label from labels.py, no label is a prefix of another, so bytes
signed, wrapped or derived for one purpose never verify, unwrap or match for another. The content type
is in the associated data, so a message cannot be re-typed either.
"""

from __future__ import annotations

import itertools

import pytest

from domvia_e2ee import Announcement, Bundle, HistoryBundle, MemberProofFile, SealedMessage, Slice, labels
from domvia_e2ee.hazmat import curves
from domvia_e2ee.wrap import unwrap

from .scenario import ROOM, error_code, scenario, state

PARSERS = {"message": SealedMessage.from_bytes, "bundle": Bundle.from_bytes, "slice": Slice.from_bytes,
           "announcement": Announcement.from_bytes, "proof": MemberProofFile.from_bytes,
           "history": HistoryBundle.from_bytes}
MAGICS = {"message": labels.MAGIC_MESSAGE, "bundle": labels.MAGIC_BUNDLE, "slice": labels.MAGIC_SLICE,
          "announcement": labels.MAGIC_EPOCH, "proof": labels.MAGIC_MEMBER_PROOF, "history": labels.MAGIC_HISTORY}
History = HistoryBundle


def _objects() -> tuple[object, dict[str, bytes]]:
    s = scenario()
    rotation = s.room.add([s.people["dave"].public], share_history=[1])
    s.deliver(rotation.bundle, "bob", "dave")
    message = s.rings["alice"].seal(ROOM, b"hello", message_id="m-1")
    return s, {"message": message.to_bytes(), "bundle": rotation.bundle.to_bytes(),
               "slice": rotation.bundle.slice_for("bob").to_bytes(),
               "announcement": rotation.bundle.announcement().to_bytes(),
               "proof": MemberProofFile(ROOM, 2, rotation.bundle.proof_for("alice")).to_bytes(),
               "history": rotation.history["dave"].to_bytes()}


def _labels() -> dict[str, bytes]:
    return {name: value for name, value in vars(labels).items()
            if isinstance(value, bytes) and not name.startswith("_")}


def test_labels_are_distinct_and_prefix_free() -> None:
    found = _labels()
    assert len(set(found.values())) == len(found)
    for (name_a, a), (name_b, b) in itertools.permutations(found.items(), 2):
        if name_a.startswith("MAGIC") != name_b.startswith("MAGIC"):
            continue  # magics start wire forms; labels start signed, derived or authenticated strings
        assert not b.startswith(a), f"{name_a} is a prefix of {name_b}"


@pytest.mark.parametrize(("kind", "parser"), list(itertools.permutations(PARSERS, 2)))
def test_no_wire_form_parses_as_another(kind: str, parser: str) -> None:
    s, objects = _objects()
    assert error_code(PARSERS[parser], objects[kind]) == "E_FORMAT"
    # The body of one under the magic of the other: the layouts differ, so parsing refuses it.
    swapped = MAGICS[parser] + objects[kind][4:]
    assert error_code(PARSERS[parser], swapped) == "E_FORMAT"
    ring = s.rings["bob"]
    assert error_code(ring.open if parser == "message" else ring.accept, swapped) == "E_FORMAT"


def test_key_ring_entry_points_refuse_the_other_kinds() -> None:
    s, objects = _objects()
    ring = s.rings["bob"]
    before = state(ring)
    assert error_code(ring.accept, objects["message"]) == "E_FORMAT"
    for kind in ("bundle", "slice", "announcement", "proof", "history"):
        assert error_code(ring.open, objects[kind]) == "E_FORMAT"
    assert state(ring) == before


def test_signatures_do_not_cross_purposes() -> None:
    """One Ed25519 key signs messages, epoch headers and history bundles: each under its own label."""
    s, objects = _objects()
    alice = s.people["alice"].public.ed25519
    bundle = Bundle.from_bytes(objects["bundle"])
    history = History.from_bytes(objects["history"])
    message = SealedMessage.from_bytes(objects["message"])
    signed = {labels.SIG_EPOCH: (bundle.signed.signature, bundle.header.to_bytes()),
              labels.SIG_HISTORY: (history.signature, history.body()),
              labels.SIG_MESSAGE: (message.signature or b"", message.signed_part)}
    for label, (signature, body) in signed.items():
        curves.verify(alice, signature, label + body)
        for other in signed:
            if other != label:
                assert error_code(curves.verify, alice, signature, other + body) == "E_AUTH"


def test_history_wrapped_key_is_not_a_rotation_wrapped_key() -> None:
    s, objects = _objects()
    history = History.from_bytes(objects["history"])
    entry = history.entries[0]
    header = entry.header
    dave = s.people["dave"]
    assert unwrap(dave, entry.wrapped, kem=history.kem, suite=header.suite, room_id=ROOM, epoch=header.epoch,
                  key_id=header.key_id, label=labels.INFO_HISTORY_WRAP).epoch == header.epoch
    assert error_code(unwrap, dave, entry.wrapped, kem=history.kem, suite=header.suite, room_id=ROOM,
                      epoch=header.epoch, key_id=header.key_id) == "E_AUTH"
    # And a rotation member's wrapped key offered as a history key for the same epoch and key.
    bundle = Bundle.from_bytes(objects["bundle"])
    member = bundle.members[bundle.index_of("dave") or 0]
    assert error_code(unwrap, dave, member.wrapped, kem=history.kem, suite=bundle.header.suite, room_id=ROOM,
                      epoch=bundle.header.epoch, key_id=bundle.header.key_id, label=labels.INFO_HISTORY_WRAP) == "E_AUTH"


def test_content_type_cannot_be_changed() -> None:
    """A chat line re-typed as, say, an attachment reference or a control message does not open."""
    s = scenario(allow_unsigned=True)
    plain = s.rings["alice"].seal_unsigned(ROOM, b"just text", message_id="m-2")
    retyped = plain.to_bytes().replace(b"\x0atext/plain", b"\x0atext/xhtml")
    assert retyped != plain.to_bytes()
    assert SealedMessage.from_bytes(retyped).content_type == "text/xhtml"
    assert error_code(s.rings["bob"].open, retyped) == "E_AUTH"
