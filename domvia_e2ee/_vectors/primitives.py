"""Vectors for the key schedule and padding."""

from __future__ import annotations

from .fixtures import ROOM, Case, invalid, seed, valid


def key_cases() -> list[Case]:
    cases = []
    for suite in ("A256GCM", "XC20P"):
        for epoch, sender in ((1, "alice"), (7, "bob/phone"), (4294967295, "bot:weather")):
            cases.append(valid(f"key-schedule-{suite.lower()}-e{epoch}", "key_schedule",
                               f"key id and sender key for {sender} in epoch {epoch}, suite {suite}",
                               {"secret": seed(f"room-key/{epoch}").hex(), "suite": suite, "room_id": ROOM,
                                "epoch": epoch, "sender_id": sender}))
    cases.append(valid("key-schedule-other-room", "key_schedule", "same secret, another room: another key id",
                       {"secret": seed("room-key/1").hex(), "suite": "A256GCM", "room_id": "room-43", "epoch": 1,
                        "sender_id": "alice"}))
    cases.append(invalid("key-schedule-epoch-zero", "key_schedule", "epoch 0 does not exist",
                         {"secret": seed("room-key/1").hex(), "suite": "A256GCM", "room_id": ROOM, "epoch": 0,
                          "sender_id": "alice"}, "E_FORMAT", "MR-EPOCH"))
    cases.append(invalid("key-schedule-bad-room-id", "key_schedule", "a space is not allowed in an id",
                         {"secret": seed("room-key/1").hex(), "suite": "A256GCM", "room_id": "room 42", "epoch": 1,
                          "sender_id": "alice"}, "E_FORMAT", "MR-ID"))
    cases.append(invalid("key-schedule-unknown-suite", "key_schedule", "suite names are exact",
                         {"secret": seed("room-key/1").hex(), "suite": "AES256GCM", "room_id": ROOM, "epoch": 1,
                          "sender_id": "alice"}, "E_FORMAT", "MR-MSG-SUITE"))
    return cases


def padding_cases() -> list[Case]:
    cases = [valid(f"pad-{n}", "pad", f"{n}-byte content pads to the Padme size of max(n + 1, 32)",
                   {"content": (bytes([0x80]) * n if n % 2 else seed(f"pad/{n}", max(n, 1))[:n]).hex()})
             for n in (0, 1, 2, 30, 31, 32, 33, 63, 64, 100, 200, 255, 256, 1000, 4095, 4096, 5000)]
    cases.append(valid("unpad-trailing-80", "unpad", "content ending in 0x80 and 0x00 bytes survives",
                       {"padded": (b"ok\x80\x00" + b"\x80" + bytes(27)).hex()}))
    bad = {
        "unpad-no-marker": (bytes(32), "no 0x80 marker: all zero"),
        "unpad-nonzero-tail": (b"hi\x80" + bytes(28) + b"\x01", "a non-zero byte after the marker"),
        "unpad-too-long": (b"hi\x80" + bytes(61), "64 bytes where 2 bytes of content pad to 32: not canonical"),
        "unpad-below-floor": (b"hi\x80" + bytes(13), "16 bytes: shorter than the 32-byte floor"),
        "unpad-not-padme": (bytes(40) + b"\x80" + bytes(4), "45 bytes is no Padme size for 40 bytes of content"),
        "unpad-empty": (b"", "empty input"),
    }
    for case_id, (padded, why) in bad.items():
        cases.append(invalid(case_id, "unpad", why, {"padded": padded.hex()}, "E_AUTH", "MR-MSG-PADDING"))
    # 67,584 = padme(65,537) bytes also canonically pad every content length up to 67,583: the content limit
    # is a rule of its own (E_FORMAT), not a padding failure.
    cases.append(valid("unpad-max-content", "unpad", "65,536 bytes of content, the most a message holds, in 67,584",
                       {"padded": (b"x" * 65536 + b"\x80" + bytes(67584 - 65537)).hex()}))
    cases.append(invalid("unpad-content-over-limit", "unpad", "canonical padding of 66,000 bytes: over the content limit",
                         {"padded": (b"x" * 66000 + b"\x80" + bytes(67584 - 66001)).hex()}, "E_FORMAT",
                         "MR-MSG-OVERSIZED"))
    return cases
