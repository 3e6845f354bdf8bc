"""Attack: truncated, extended and concatenated ciphertexts and bundles.

Sources: length and framing manipulation of authenticated ciphertexts: truncation attacks on
record protocols (e.g. Smyth and Pironti, "Truncating TLS Connections to Violate Beliefs in Web
Applications", WOOT 2013) and parser differentials where two implementations split one byte
string into different messages. For a chat relay, cutting or joining payloads is free.

Why it fails here: every wire form is length-delimited and canonical: str8 and bytes16 fields carry
their length, a message's nonce length follows from its suite, its signature length from a flag
bit, and every parser ends with a check that no byte is left (spec/encoding.md). A cut message
lacks its tag or signature bytes, a longer one has the wrong tag or signature, and a bundle, slice or
history bundle with bytes before or after it does not parse. No prefix, extension or concatenation of
valid inputs is accepted, and a rejected input leaves the key ring as it was.
"""

from __future__ import annotations

from domvia_e2ee import Announcement, Bundle, HistoryBundle, MemberProofFile, SealedMessage, Slice
from domvia_e2ee.encoding import dumps

from .scenario import ROOM, Scenario, error_code, scenario, state

REFUSALS = {"E_FORMAT", "E_AUTH"}


def _setup() -> tuple[Scenario, list[SealedMessage]]:
    s = scenario(allow_unsigned=True)
    messages = [s.rings["alice"].seal(ROOM, b"signed and padded", message_id="m-1"),
                s.rings["alice"].seal(ROOM, b"signed, not padded", message_id="m-2", pad=False),
                s.rings["alice"].seal_unsigned(ROOM, b"unsigned", message_id="m-3"),
                s.rings["alice"].seal_unsigned(ROOM, b"x" * 100, message_id="m-4", pad=False)]
    return s, messages


def test_every_prefix_of_a_message_is_refused() -> None:
    s, messages = _setup()
    for message in messages:
        wire = message.to_bytes()
        for end in range(len(wire)):
            assert error_code(s.rings["bob"].open, wire[:end]) in REFUSALS | {"E_UNKNOWN_KEY"}, end


def test_extended_messages_are_refused() -> None:
    s, messages = _setup()
    for message in messages:
        wire = message.to_bytes()
        for tail in (b"\x00", b"\xff" * 16, wire[-16:], bytes(64)):
            assert error_code(s.rings["bob"].open, wire + tail) in REFUSALS


def test_concatenated_messages_are_refused() -> None:
    s, messages = _setup()
    for first in messages:
        for second in messages:
            assert error_code(s.rings["bob"].open, first.to_bytes() + second.to_bytes()) in REFUSALS
    # None was opened, so each still opens once.
    for message in messages:
        s.rings["bob"].open(message)


def test_json_ciphertext_cut_or_extended_is_refused() -> None:
    s, messages = _setup()
    for message in messages:
        obj = message.to_dict()
        for field in ("c", "n", "g", "k"):
            if field not in obj:
                continue
            for value in (obj[field][:-1], obj[field][:-2], obj[field] + "AA", obj[field][4:]):
                changed = dict(obj, **{field: value})
                assert error_code(s.rings["bob"].open, dumps(changed)) in REFUSALS


def test_bundle_slice_and_history_prefixes_and_extensions() -> None:
    s = scenario()
    rotation = s.room.add([s.people["dave"].public], share_history=[1])
    s.deliver(rotation.bundle, "dave")
    inputs = {"bundle": rotation.bundle.to_bytes(), "slice": rotation.bundle.slice_for("bob").to_bytes(),
              "announcement": rotation.bundle.announcement().to_bytes()}
    dave_inputs = {"history": rotation.history["dave"].to_bytes(),
                   "proof": MemberProofFile(ROOM, 2, rotation.bundle.proof_for("bob")).to_bytes()}
    parsers = {"bundle": Bundle.from_bytes, "slice": Slice.from_bytes, "announcement": Announcement.from_bytes,
               "history": HistoryBundle.from_bytes, "proof": MemberProofFile.from_bytes}
    for ring, cases in ((s.rings["bob"], inputs), (s.rings["dave"], dave_inputs)):
        before = state(ring)
        for kind, data in cases.items():
            for end in range(len(data)):
                assert error_code(parsers[kind], data[:end]) == "E_FORMAT"
                assert error_code(ring.accept, data[:end]) == "E_FORMAT"
            for tail in (b"\x00", data):
                assert error_code(parsers[kind], data + tail) == "E_FORMAT"
                assert error_code(ring.accept, data + tail) == "E_FORMAT"
        assert state(ring) == before
    # The untouched inputs still go through afterwards.
    s.rings["bob"].accept(inputs["slice"])
    assert s.rings["dave"].accept(dave_inputs["history"]).epochs == (1,)
