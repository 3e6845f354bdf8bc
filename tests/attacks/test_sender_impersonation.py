"""Attack: a member impersonates another sender (signed mode).

Sources: with one symmetric group key, every member can produce ciphertexts under any sender name;
Megolm (Matrix) adds an Ed25519 signature for this reason, and Albrecht, Celi, Dowling and Jones,
"Practically-exploitable Cryptographic Vulnerabilities in Matrix" (IEEE S&P 2023, disclosed 2022)
show impersonation attacks once the link between a key and the sender it is attributed to is weak.
Rösler, Mainka and Schwenk (EuroS&P 2018) list the same goal (sender authenticity inside the group)
for Signal, WhatsApp and Threema.

Why it fails here: in signed mode (the default), the sender's Ed25519 signature covers the whole
wire message under the label "message-sig", the receiver verifies it with the public identity it
holds for the sender id in the header, and the sender must be in the epoch's roster. The sender id
is also in the AEAD's associated data and selects the per-sender AEAD key, so relabelling a sealed
message breaks decryption even before signatures. Stripping the signature flips a flag bit, which
is authenticated too; and a key ring that requires signatures refuses unsigned messages outright.
Unsigned (bot) mode must be enabled explicitly and reports signed=False (spec/threat-model.md).
"""

from __future__ import annotations

from domvia_e2ee import KeyRing, SealedMessage, open as open_signed, seal
from domvia_e2ee.message import FLAG_SIGNED
from domvia_e2ee.sealing import _seal_from_parts

from .scenario import ROOM, error_code, held_key, scenario

def _bytes_relabelled(message: SealedMessage, sender_id: str) -> bytes:
    """The same wire with the sender id field rewritten (same length ids: alice <-> carol)."""
    old, new = message.sender_id.encode(), sender_id.encode()
    assert len(old) == len(new)
    start = message.wire.index(bytes((len(old),)) + old, 6 + 1 + len(message.room_id) + 36)
    return message.wire[:start + 1] + new + message.wire[start + 1 + len(old):]


def test_member_signing_a_message_under_another_members_id() -> None:
    """carol seals and signs with her own key, but puts alice's id in the header."""
    s = scenario()
    key = held_key(s.rings["carol"], 1)
    forged = _seal_from_parts(key, b"from alice, honest", message_id="m-1", sender_id="alice",
                              content_type="text/plain", pad=True, nonce=bytes(12), signer=s.people["carol"])
    assert error_code(s.rings["bob"].open, forged.to_bytes()) == "E_AUTH"
    assert error_code(s.rings["bob"].open, forged.to_json()) == "E_AUTH"
    # The bare recipe with alice's real identity: the signature is carol's.
    assert error_code(open_signed, key, forged, sender=s.people["alice"].public) == "E_AUTH"


def test_relabelled_sender_breaks_signature_and_decryption() -> None:
    s = scenario()
    genuine = s.rings["carol"].seal(ROOM, b"carol speaking", message_id="m-2")
    relabelled = _bytes_relabelled(genuine, "alice")
    assert SealedMessage.from_bytes(relabelled).sender_id == "alice"
    assert error_code(s.rings["bob"].open, relabelled) == "E_AUTH"
    # Re-signed by carol under alice's id: the signature is still carol's, not alice's.
    body = SealedMessage.from_bytes(relabelled).signed_part
    resigned = body + s.people["carol"].sign(b"domvia-e2ee/v1 message-sig" + body)
    assert error_code(s.rings["bob"].open, resigned) == "E_AUTH"


def test_signature_stripping_is_refused_even_where_unsigned_mode_is_on() -> None:
    s = scenario(allow_unsigned=True)
    genuine = s.rings["alice"].seal(ROOM, b"signed by alice", message_id="m-3")
    stripped = bytearray(genuine.signed_part)
    stripped[5] &= ~FLAG_SIGNED & 0xFF
    parsed = SealedMessage.from_bytes(bytes(stripped))
    assert not parsed.signed
    # The flags byte is in the associated data: the unsigned variant does not decrypt.
    assert error_code(s.rings["bob"].open, bytes(stripped)) == "E_AUTH"
    # The signature cut off but the flag kept: the last 64 bytes of ciphertext are read as a signature.
    assert error_code(s.rings["bob"].open, genuine.signed_part) in {"E_AUTH", "E_FORMAT"}


def test_signature_transplanted_from_another_message() -> None:
    s = scenario()
    alice_says = s.rings["alice"].seal(ROOM, b"yes", message_id="m-4")
    carol_says = s.rings["carol"].seal(ROOM, b"no", message_id="m-4")
    transplanted = carol_says.signed_part + (alice_says.signature or b"")
    assert error_code(s.rings["bob"].open, transplanted) == "E_AUTH"


def test_opening_with_the_wrong_identity_is_a_distinct_error() -> None:
    s = scenario()
    key = held_key(s.rings["bob"], 1)
    genuine = s.rings["alice"].seal(ROOM, b"hi", message_id="m-5")
    assert error_code(open_signed, key, genuine, sender=s.people["carol"].public) == "E_UNKNOWN_SENDER"


def test_unsigned_message_claiming_a_member_is_refused_by_default() -> None:
    s = scenario()
    forged = s.rings["carol"].seal_unsigned(ROOM, b"alice: please send the budget", message_id="m-6")
    as_alice = _bytes_relabelled(forged, "alice")
    for ring in ("alice", "bob"):
        assert error_code(s.rings[ring].open, forged) == "E_POLICY"
        assert error_code(s.rings[ring].open, as_alice) == "E_POLICY"


def test_unsigned_mode_never_reports_a_forgery_as_signed() -> None:
    """Bot mode is explicit: its messages come from 'some key holder', and say so."""
    s = scenario(allow_unsigned=True)
    key = held_key(s.rings["carol"], 1)
    forged = _seal_from_parts(key, b"bot says", message_id="m-7", sender_id="alice", content_type="text/plain",
                              pad=True, nonce=bytes(12), signer=None)
    opened = s.rings["bob"].open(forged)
    assert opened.sender_id == "alice" and opened.signed is False


def test_signed_message_from_someone_outside_the_epoch() -> None:
    """dave holds no key; given one by a member, his validly signed message is from a non-member."""
    s = scenario()
    leaked = held_key(s.rings["bob"], 1)
    outsider = seal(leaked, b"hello from outside", message_id="m-8", sender=s.people["dave"])
    assert error_code(s.rings["alice"].open, outsider) == "E_UNAUTHORIZED"
    unknown = KeyRing(s.people["bob"])
    assert error_code(unknown.open, outsider) == "E_UNKNOWN_KEY"
