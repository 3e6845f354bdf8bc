"""Padmé padding with a 32-byte floor, and canonical unpadding."""

from __future__ import annotations

import math

import pytest
from core_helpers import assert_opaque_auth, fixed_key, seed
from hypothesis import given
from hypothesis import strategies as st

from domvia_e2ee import AuthenticationError, open_unsigned
from domvia_e2ee.message import FLAG_PADDED, header_prefix
from domvia_e2ee.padding import MIN_PADDED, pad, padded_size, padme, unpad


def reference_padme(length: int) -> int:
    """Padmé as the paper writes it (Nikitin et al., Algorithm 1), with floating-point logs."""
    exponent = math.floor(math.log2(length))
    significant = math.floor(math.log2(exponent)) + 1
    last_bits = exponent - significant
    mask = (1 << last_bits) - 1
    return (length + mask) & ~mask


@pytest.mark.parametrize(("length", "expected"), [
    (2, 2), (3, 3), (8, 8), (9, 10), (16, 16), (17, 18), (33, 36), (100, 104), (1000, 1024), (1025, 1088),
    (65537, 67584), (1_000_000, 1_015_808),
])
def test_padme_known_sizes(length: int, expected: int) -> None:
    assert padme(length) == expected


@given(st.integers(2, 2**40))
def test_padme_matches_the_paper_and_bounds_overhead(length: int) -> None:
    padded = padme(length)
    assert padded == reference_padme(length)
    assert length <= padded <= length * 1.12 + 1
    # At most floor(log2 E) + 1 significant bits, so only O(log log n) bits of length leak.
    exponent = length.bit_length() - 1
    assert (padded >> (exponent - exponent.bit_length())) << (exponent - exponent.bit_length()) == padded


def test_floor() -> None:
    assert MIN_PADDED == 32
    for n in range(32):
        assert len(pad(bytes(n))) == 32
    assert len(pad(bytes(32))) == padme(33) == 36


@given(st.binary(max_size=9000))
def test_pad_unpad_round_trip(plaintext: bytes) -> None:
    padded = pad(plaintext)
    assert len(padded) == padded_size(len(plaintext))
    assert padded[: len(plaintext)] == plaintext
    assert padded[len(plaintext)] == 0x80 and not any(padded[len(plaintext) + 1:])
    assert unpad(padded) == plaintext


@pytest.mark.parametrize("size", [4095, 4096, 4097, 65536])
def test_table_and_arithmetic_paths_agree(size: int) -> None:
    plaintext = seed(size) * (size // 32) + bytes(size % 32)
    assert len(pad(plaintext)) == padded_size(size)
    assert unpad(pad(plaintext)) == plaintext


def _non_canonical() -> list[bytes]:
    good = pad(b"hello")
    return [
        b"",
        bytes(32),  # no marker
        b"hello" + bytes(27),  # no marker
        b"hello\x80" + bytes(30),  # one byte too long for its content
        b"hello\x80" + bytes(25),  # one byte too short
        b"hello\x80",  # below the floor
        good[:-1] + b"\x01",  # a non-zero byte after the marker
        b"hello\x81" + bytes(26),  # a marker that is not 0x80
        pad(bytes(40)) + bytes(4),  # extra zeros: a valid plaintext, padded to the wrong size
        pad(b"") + bytes(32),
    ]


@pytest.mark.parametrize("padded", _non_canonical())
def test_non_canonical_padding_is_an_opaque_authentication_error(padded: bytes) -> None:
    with pytest.raises(AuthenticationError) as info:
        unpad(padded)
    assert_opaque_auth(info.value)


@pytest.mark.parametrize("padded", [p for p in _non_canonical() if len(p) >= 32])
def test_a_sender_who_pads_non_canonically_is_refused(padded: bytes) -> None:
    """The AEAD accepts the body, so only the canonical-padding check catches it."""
    key = fixed_key()
    header = header_prefix(key.suite, FLAG_PADDED, key.room_id, key.epoch, key.key_id, "alice", "text/plain")
    header += b"\x03m-1"
    nonce = seed("pad nonce")[:12]
    body = key.sender_cipher("alice").encrypt(nonce, padded, b"domvia-e2ee/v1 message-aad" + header)
    with pytest.raises(AuthenticationError) as info:
        open_unsigned(key, header + nonce + body)
    assert_opaque_auth(info.value)
