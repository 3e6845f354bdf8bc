"""Wrapping room keys to participants with HPKE: bound to recipient, room, epoch, key id."""

from __future__ import annotations

from typing import Any

import pytest
from core_helpers import fixed_identity, fixed_key, raises_auth, seed

from domvia_e2ee import FormatError, Identity, InvalidKeyError, Suite, WrapKem, labels
from domvia_e2ee.hazmat import hpke
from domvia_e2ee.wrap import PARALLEL_THRESHOLD, unwrap, wrap, wrap_info, wrap_many

BOB = fixed_identity("bob")
CAROL = fixed_identity("carol")
BOB_PQ = fixed_identity("bob", post_quantum=True)
KEY = fixed_key()


def _context(**changes: Any) -> dict[str, Any]:
    context = dict(kem=WrapKem.X25519, suite=KEY.suite, room_id=KEY.room_id, epoch=KEY.epoch, key_id=KEY.key_id)
    context.update(changes)
    return context


@pytest.mark.parametrize(("kem", "recipient"), [(WrapKem.X25519, BOB), (WrapKem.MLKEM768_X25519, BOB_PQ)])
def test_unwrap_by_the_right_recipient(kem: WrapKem, recipient: Identity) -> None:
    wrapped = wrap(KEY, recipient.public, kem)
    assert len(wrapped) == kem.wrapped_size
    key = unwrap(recipient, wrapped, **_context(kem=kem))
    assert key == KEY and bytes(key) == bytes(KEY)


def test_wrapped_sizes() -> None:
    assert WrapKem.X25519.wrapped_size == 32 + 32 + 16
    assert WrapKem.MLKEM768_X25519.wrapped_size == 1120 + 32 + 16


@pytest.mark.parametrize("kem", list(WrapKem))
def test_wraps_are_randomised(kem: WrapKem) -> None:
    assert wrap(KEY, BOB_PQ.public, kem) != wrap(KEY, BOB_PQ.public, kem)


def test_not_replayable_to_another_recipient() -> None:
    wrapped = wrap(KEY, BOB.public, WrapKem.X25519)
    raises_auth(unwrap, CAROL, wrapped, **_context())


def test_not_replayable_to_another_id_holding_the_same_keys() -> None:
    """The recipient id is in the HPKE info: the same private key under another id cannot open it."""
    alias = Identity("bob-alias", x25519_private=seed("bob", "x25519"), ed25519_seed=seed("bob", "ed25519"))
    assert alias.public.x25519 == BOB.public.x25519
    raises_auth(unwrap, alias, wrap(KEY, BOB.public, WrapKem.X25519), **_context())


def test_not_replayable_to_another_room() -> None:
    raises_auth(unwrap, BOB, wrap(KEY, BOB.public, WrapKem.X25519), **_context(room_id="room-2"))


def test_not_replayable_to_another_epoch() -> None:
    raises_auth(unwrap, BOB, wrap(KEY, BOB.public, WrapKem.X25519), **_context(epoch=KEY.epoch + 1))


def test_not_replayable_under_another_key_id() -> None:
    other = fixed_key(secret=seed("other"))
    raises_auth(unwrap, BOB, wrap(KEY, BOB.public, WrapKem.X25519), **_context(key_id=other.key_id))


def test_not_replayable_under_another_suite() -> None:
    raises_auth(unwrap, BOB, wrap(KEY, BOB.public, WrapKem.X25519), **_context(suite=Suite.XCHACHA20_POLY1305))


def test_not_replayable_as_a_history_wrap_or_back() -> None:
    raises_auth(unwrap, BOB, wrap(KEY, BOB.public, WrapKem.X25519), **_context(), label=labels.INFO_HISTORY_WRAP)
    raises_auth(unwrap, BOB, wrap(KEY, BOB.public, WrapKem.X25519, labels.INFO_HISTORY_WRAP), **_context())


@pytest.mark.parametrize("kem", list(WrapKem))
def test_not_replayable_for_x_wing_either(kem: WrapKem) -> None:
    wrapped = wrap(KEY, BOB_PQ.public, kem)
    carol = fixed_identity("carol", post_quantum=True)
    raises_auth(unwrap, carol, wrapped, **_context(kem=kem))
    raises_auth(unwrap, BOB_PQ, wrapped, **_context(kem=kem, epoch=2))
    raises_auth(unwrap, BOB_PQ, wrapped, **_context(kem=kem, room_id="other"))


def test_key_id_must_match_the_unwrapped_secret() -> None:
    """A wrap made with the right info but another secret: HPKE opens it, the key id check refuses it."""
    info = wrap_info(labels.INFO_WRAP, WrapKem.X25519, KEY.suite, KEY.room_id, KEY.epoch, KEY.key_id, "bob")
    wrapped = hpke.seal_base(BOB.public.x25519, info, seed("another secret"))
    raises_auth(unwrap, BOB, wrapped, **_context())


def test_wrong_sizes_are_format_errors() -> None:
    wrapped = wrap(KEY, BOB.public, WrapKem.X25519)
    for bad in (wrapped[:-1], wrapped + b"\x00", b""):
        with pytest.raises(FormatError) as info:
            unwrap(BOB, bad, **_context())
        assert info.value.field == "wrapped_key"
    with pytest.raises(FormatError):
        unwrap(BOB_PQ, wrapped, **_context(kem=WrapKem.MLKEM768_X25519))


def test_tampered_wraps_fail_authentication() -> None:
    wrapped = wrap(KEY, BOB.public, WrapKem.X25519)
    for index in (0, 31, 32, 63, 64, len(wrapped) - 1):
        mutated = bytearray(wrapped)
        mutated[index] ^= 0x01
        raises_auth(unwrap, BOB, bytes(mutated), **_context())
    raises_auth(unwrap, BOB, bytes(32) + wrapped[32:], **_context())  # a low-order enc


def test_x_wing_needs_a_post_quantum_key() -> None:
    with pytest.raises(InvalidKeyError):
        wrap(KEY, BOB.public, WrapKem.MLKEM768_X25519)
    wrapped = wrap(KEY, BOB_PQ.public, WrapKem.MLKEM768_X25519)
    raises_auth(unwrap, BOB, wrapped, **_context(kem=WrapKem.MLKEM768_X25519))


@pytest.mark.parametrize("count", [3, PARALLEL_THRESHOLD + 5])
def test_wrap_many_keeps_order_on_one_or_two_threads(count: int) -> None:
    recipients = [Identity(f"member-{i:03d}", x25519_private=seed(i, "x"), ed25519_seed=seed(i, "e"))
                  for i in range(count)]
    seen: list[int] = []
    wrapped = wrap_many(KEY, [r.public for r in recipients], WrapKem.X25519, lambda done, total: seen.append(total))
    assert len(wrapped) == count and len(seen) == count and set(seen) == {count}
    for recipient, item in zip(recipients, wrapped, strict=True):
        assert unwrap(recipient, item, **_context()) == KEY


def test_kem_wire_identifiers() -> None:
    assert (int(WrapKem.X25519), int(WrapKem.MLKEM768_X25519)) == (1, 2)
    assert WrapKem.from_wire(2) is WrapKem.MLKEM768_X25519
    with pytest.raises(FormatError) as info:
        WrapKem.from_wire(3, "kem")
    assert info.value.field == "kem"
