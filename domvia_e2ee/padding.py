"""Padmé padding (Nikitin et al., PETS 2019) with a 32-byte floor and an 0x80 end marker.

padded = plaintext || 0x80 || 0x00 * k, with len(padded) = padme(max(len(plaintext) + 1, 32)).
Padmé leaks O(log log n) bits of the length and costs at most 12% overhead; the floor hides
the length of every short chat line ("ok", "yes", a single emoji) completely.
"""

from __future__ import annotations

from typing import Final

from .errors import AuthenticationError, FormatError

MIN_PADDED: Final = 32
"""The smallest padded size: every plaintext shorter than 32 bytes pads to exactly 32."""
MAX_CONTENT: Final = 65536
"""The largest content a message carries (spec/message.md#limits)."""


def padme(length: int) -> int:
    """Padmé: `length` rounded up by clearing its low bits, keeping O(log log n) bits of it. Raises nothing."""
    if length < 2:
        return length
    exponent = length.bit_length() - 1
    low_bits = exponent - exponent.bit_length()
    mask = (1 << low_bits) - 1
    return (length + mask) & ~mask


def padded_size(plaintext_size: int) -> int:
    """The size `pad` gives a plaintext of `plaintext_size` bytes (the end marker and the floor included).

    Raises nothing.
    """
    return padme(max(plaintext_size + 1, MIN_PADDED))


# Chat messages are small: a table makes padding two lookups instead of bit arithmetic.
_TABLE_LIMIT: Final = 4096
_PAD_TAIL: Final = [b"\x80" + bytes(padded_size(n) - n - 1) for n in range(_TABLE_LIMIT)]
_PADDED_SIZE: Final = [padded_size(n) for n in range(_TABLE_LIMIT)]


def pad(plaintext: bytes) -> bytes:
    """`plaintext` followed by 0x80 and zero bytes up to `padded_size(len(plaintext))`. Raises nothing."""
    n = len(plaintext)
    if n < _TABLE_LIMIT:
        return plaintext + _PAD_TAIL[n]
    return plaintext + b"\x80" + bytes(padded_size(n) - n - 1)


def unpad(padded: bytes) -> bytes:
    """Inverse of pad. Runs after authentication, so a failure means a malicious sender:
    it is reported as the same opaque error, never as a padding oracle.

    Content over 65,536 bytes is E_FORMAT (spec/message.md#limits): padme(65,537) = 67,584 also
    pads every length up to 67,583, so the canonical-padding rule alone would let it through.

    Raises `AuthenticationError` (E_AUTH) when the end marker is missing or the size is not the
    one `pad` gives (a non-canonical padding), `FormatError` (E_FORMAT) for content over MAX_CONTENT.
    """
    stripped = padded.rstrip(b"\x00")
    end = len(stripped) - 1
    if end < 0 or stripped[end] != 0x80:
        raise AuthenticationError()
    if (_PADDED_SIZE[end] if end < _TABLE_LIMIT else padded_size(end)) != len(padded):
        raise AuthenticationError()
    if end > MAX_CONTENT:
        raise FormatError("content", f"larger than {MAX_CONTENT} bytes")
    return stripped[:end]
