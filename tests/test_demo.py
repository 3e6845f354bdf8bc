"""The demo shows the relay's bytes as they are: the tampered message is the original with one field changed."""

from __future__ import annotations

from domvia_e2ee.demo import story


def test_the_tampered_message_is_as_large_as_the_original() -> None:
    steps = {s.title.split(". ", 1)[1]: s for s in story()}
    original = steps["bob writes to the room"].relay[0]
    tampered = steps["the relay changes the message id of bob's message"].relay[0]
    assert (original["message_id"], tampered["message_id"]) == ("msg-1", "msg-9")
    assert tampered["bytes"] == original["bytes"]


def test_the_demo_shows_a_new_device_restoring_and_a_lost_one_shut_out() -> None:
    steps = {s.title.split(". ", 1)[1]: s for s in story()}
    tablet = steps["erin adds a tablet; her other devices are offline: the tablet restores from the backup"].reads
    assert [(r["member"], r.get("code"), r.get("text")) for r in tablet] == [
        ("erin/tablet", "E_DEVICE_TOO_NEW", None), ("erin/tablet", None, "hi, erin here, on my laptop")]
    lost = steps["erin loses her phone: it leaves her list and the room rotates"]
    assert [(r["member"], r["ok"], r.get("code")) for r in lost.reads] == [("erin/tablet", True, None),
                                                                          ("erin/phone", False, "E_NOT_MEMBER")]
    assert any("E_POLICY" in note for note in lost.notes)
