"""The Python API for users: wrong types get the library's errors, JSON is text, secrets are
exported only under a name that says so, and an identity is saved encrypted and atomically."""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path
from typing import Any

import pytest

from domvia_e2ee import (
    DomviaError, Identity, PublicIdentity, RoomKey, SealedMessage, UsageError, open, seal,  # noqa: A004
)
from domvia_e2ee.storage import FileError

PASS = b"correct horse battery staple"
KEY = RoomKey.generate(room_id="room-1", epoch=1)
ALICE = Identity.generate("alice")


def _sealed() -> SealedMessage:
    return seal(KEY, b"hello", message_id="m-1", sender=ALICE)


@pytest.mark.parametrize("call", [
    lambda: seal(KEY, "hello", message_id="m-1", sender=ALICE),  # type: ignore[arg-type]
    lambda: seal(KEY, b"hello", message_id=7, sender=ALICE),  # type: ignore[arg-type]
    lambda: seal(KEY, b"hello", message_id="m-1", sender=ALICE.public),  # type: ignore[arg-type]
    lambda: seal("not a key", b"hello", message_id="m-1", sender=ALICE),  # type: ignore[arg-type]
    lambda: seal(KEY, b"hello", message_id="m-1", sender=ALICE, content_type=None),  # type: ignore[arg-type]
    lambda: open(KEY, 12345, sender=ALICE.public),  # type: ignore[arg-type]
    lambda: open(KEY, _sealed(), sender=ALICE),  # type: ignore[arg-type]
    lambda: open(b"key", _sealed(), sender=ALICE.public),  # type: ignore[arg-type]
])
def test_wrong_types_are_usage_errors(call: Any) -> None:
    with pytest.raises(UsageError) as raised:
        call()
    assert raised.value.code == "E_USAGE" and isinstance(raised.value, (DomviaError, TypeError))


def test_bytes_like_plaintexts_are_accepted() -> None:
    for plaintext in (bytearray(b"hello"), memoryview(b"hello")):
        sealed = seal(KEY, plaintext, message_id="m-2", sender=ALICE)
        assert open(KEY, sealed.to_bytes(), sender=ALICE.public).plaintext == b"hello"


def test_to_json_is_text_that_can_be_written_to_a_text_file(tmp_path: Path) -> None:
    sealed, public = _sealed(), ALICE.public
    assert isinstance(sealed.to_json(), str) and isinstance(public.to_json(), str)
    with (tmp_path / "m.json").open("w") as out:
        out.write(sealed.to_json())
    with (tmp_path / "alice.pub").open("w") as out:
        out.write(public.to_json())
    assert SealedMessage.from_json((tmp_path / "m.json").read_text()) == sealed
    assert PublicIdentity.from_json((tmp_path / "alice.pub").read_text()) == public
    assert open(KEY, sealed.to_json(), sender=ALICE.public).plaintext == b"hello"


def test_the_plaintext_export_says_what_it_is() -> None:
    exported = ALICE.to_plaintext_private_dict()
    assert Identity.from_private_dict(exported).public == ALICE.public
    assert "save" in (Identity.to_plaintext_private_dict.__doc__ or "")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert ALICE.to_private_dict() == exported
    assert [w.category for w in caught] == [DeprecationWarning]


def test_save_and_load_encrypted(tmp_path: Path) -> None:
    path = tmp_path / "alice.id"
    ALICE.save(path, passphrase=PASS, cost="low")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert b"x25519" not in path.read_bytes()  # encrypted: no private key member in the clear
    again = Identity.load(path, passphrase=PASS)
    assert again.public == ALICE.public and again.to_plaintext_private_dict() == ALICE.to_plaintext_private_dict()
    assert [p.name for p in tmp_path.iterdir()] == ["alice.id"]  # no temp file left


def test_save_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "alice.id"
    ALICE.save(path, passphrase=None)
    before = path.read_bytes()
    with pytest.raises(FileError) as refused:
        Identity.generate("bob").save(path, passphrase=None)
    assert refused.value.code == "E_IO" and "refusing to overwrite" in str(refused.value)
    assert path.read_bytes() == before
    Identity.generate("bob").save(path, passphrase=None, overwrite=True)
    assert Identity.load(path).participant_id == "bob" and stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_a_wrong_passphrase_is_e_auth_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "alice.id"
    ALICE.save(path, passphrase=PASS, cost="low")
    before = path.read_bytes()
    with pytest.raises(DomviaError) as wrong:
        Identity.load(path, passphrase=b"not it")
    assert wrong.value.code == "E_AUTH"
    with pytest.raises(DomviaError) as missing:
        Identity.load(path)
    assert missing.value.code == "E_POLICY"
    assert path.read_bytes() == before and sorted(tmp_path.iterdir()) == [path]


def test_save_and_load_refuse_wrong_arguments(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        ALICE.save(tmp_path / "a.id", passphrase="text")  # type: ignore[arg-type]
    with pytest.raises(DomviaError) as empty:
        ALICE.save(tmp_path / "a.id", passphrase=b"")
    assert empty.value.code == "E_POLICY"
    with pytest.raises(UsageError):
        ALICE.save(tmp_path / "a.id", passphrase=PASS, cost="extreme")
    assert list(tmp_path.iterdir()) == []
