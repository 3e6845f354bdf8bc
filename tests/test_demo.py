"""The demo shows the relay's bytes as they are: the tampered message is the original with one field changed."""

from __future__ import annotations

from domvia_e2ee.demo import story


def test_the_tampered_message_is_as_large_as_the_original() -> None:
    steps = {s.title.split(". ", 1)[1]: s for s in story()}
    original = steps["bob writes to the room"].relay[0]
    tampered = steps["the relay changes the message id of bob's message"].relay[0]
    assert (original["message_id"], tampered["message_id"]) == ("msg-1", "msg-9")
    assert tampered["bytes"] == original["bytes"]
