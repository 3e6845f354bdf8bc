"""The reference server-side store: round trips, strict cursors, all-or-nothing puts, forks kept,
slices versus announcements, limits, schema version refusal, and two connections at once (WAL)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from domvia_e2ee import DomviaError, FormatError, Identity, KeyRing, Room
from domvia_e2ee.group.bundle import Plan, build_bundle
from domvia_e2ee.keys import RoomKey
from domvia_e2ee.store import SCHEMA_VERSION, Cursor, ServerStore
from domvia_e2ee.storage.errors import FileError
from domvia_e2ee.wrap import WrapKem

ROOM = "room-s"


@pytest.fixture(scope="module")
def people() -> dict[str, Identity]:
    return {n: Identity.generate(n) for n in ("alice", "bob", "carol", "dave")}


def _rings(people: dict[str, Identity]) -> dict[str, KeyRing]:
    rings = {n: KeyRing(p) for n, p in people.items()}
    for name, ring in rings.items():
        if name != "alice":
            ring.trust_admin(ROOM, people["alice"].public)
    return rings


@pytest.fixture()
def world(people: dict[str, Identity], tmp_path: Path):
    rings = _rings(people)
    room, rotation = Room.create(rings["alice"], ROOM, [people["bob"].public, people["carol"].public])
    store = ServerStore(tmp_path / "store.db")
    store.put_bundle(rotation.bundle.to_bytes())
    rings["bob"].accept(rotation.bundle.to_bytes())  # bob seals in some tests
    yield store, rings, room
    store.close()


def _table_counts(store: ServerStore) -> dict[str, int]:
    tables = [r[0] for r in store._query("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {t: store._query(f"SELECT count(*) FROM {t}")[0][0] for t in tables}


def _apply(ring: KeyRing, batch) -> list[bytes]:
    read = []
    for item in batch.items:
        if item.kind == "message":
            read.append(ring.open(item.data).plaintext)
        else:
            try:
                ring.accept(item.data)
            except DomviaError as error:  # an epoch the ring took from an earlier sync
                assert error.code == "E_STALE", error
    return read


def test_a_round_trip_serves_every_member_what_it_can_read(world) -> None:
    store, rings, _room = world
    sealed = rings["bob"].seal(ROOM, b"hello")
    seq = store.put_message(sealed.to_json())
    assert store.put_message(sealed.to_bytes()) == seq           # the same message, either form: stored once
    batch = store.sync("carol")
    assert [i.kind for i in batch.items] == ["slice", "member_proof", "message"]
    assert _apply(rings["carol"], batch) == [b"hello"]
    again = store.sync("carol", batch.cursor)
    assert again.items == () and not again.more and again.since == batch.cursor
    assert store.sync("carol").items == batch.items                # idempotent: the same cursor, the same answer


def test_a_removed_member_gets_announcements_not_slices_and_no_later_messages(world) -> None:
    store, rings, room = world
    store.put_message(rings["alice"].seal(ROOM, b"before").to_bytes())
    store.put_bundle(room.remove(["carol"]).bundle.to_bytes())
    store.put_message(rings["alice"].seal(ROOM, b"after").to_bytes())
    store.put_bundle(room.rotate().bundle.to_bytes())
    batch = store.sync("carol")
    assert [(i.kind, i.epoch) for i in batch.items] == [("slice", 1), ("message", 1), ("announcement", 2),
                                                        ("announcement", 3)]
    assert _apply(rings["carol"], batch) == [b"before"]
    assert rings["carol"].latest_epoch(ROOM) == 3
    assert _apply(rings["bob"], store.sync("bob")) == [b"before", b"after"]


def test_messages_come_between_the_epochs_in_log_order(world) -> None:
    """An offline member reads bob's message sealed before bob's removal: it is served before the removal."""
    store, rings, room = world
    store.put_message(rings["bob"].seal(ROOM, b"last words").to_bytes())
    store.put_bundle(room.remove(["bob"]).bundle.to_bytes())
    assert _apply(rings["carol"], store.sync("carol")) == [b"last words"]


def test_a_cursor_is_parsed_strictly(world) -> None:
    store, _, _ = world
    good = store.sync("bob").cursor
    assert Cursor.from_token(good).to_token() == good
    bad = {"": "cursor", "[]": "cursor", '{"v":1}': "cursor", '{"rooms":{},"v":2}': "cursor.v",
           '{"rooms":[],"v":1}': "cursor.rooms", '{"rooms":{"room-s":[1,2]},"v":1}': "cursor.rooms.room-s",
           '{"rooms":{"room-s":[1,2,-1]},"v":1}': "cursor.rooms.room-s",
           '{"rooms":{"room-s":[1,true,0]},"v":1}': "cursor.rooms.room-s",
           '{"rooms":{"bad id":[1,2,0]},"v":1}': "cursor.rooms", '{"v":1,"rooms":{}}': "cursor",
           '{"rooms":{}, "v":1}': "cursor", '{"rooms":{},"v":1,"x":0}': "cursor"}
    for token, field in bad.items():
        with pytest.raises(FormatError) as caught:
            store.sync("bob", token)
        assert caught.value.field == field, token
    with pytest.raises(FormatError, match="limit"):
        store.sync("bob", limit=0)
    with pytest.raises(FormatError, match="held"):
        store.sync("bob", held={ROOM: -1})


def test_a_refused_put_writes_nothing(world, people) -> None:
    store, rings, room = world
    before = _table_counts(store)
    sealed = rings["bob"].seal(ROOM, b"x").to_bytes()
    tampered = sealed[:-70] + bytes([sealed[-70] ^ 1]) + sealed[-69:]
    forged = build_bundle(people["bob"], RoomKey.generate(room_id=ROOM, epoch=2), [people["bob"].public],
                          kem=WrapKem.X25519, issued_at=0,
                          plan=Plan(rings["bob"].header(ROOM).epoch_hash(), rings["bob"].header(ROOM).policy,
                                    rings["bob"].header(ROOM).admins))
    outsider = KeyRing(people["dave"])
    _, elsewhere = Room.create(outsider, "room-other", [])
    far = room.rotate()
    rings["alice"]._rooms[ROOM].pop(2)  # forget epoch 2 locally only to build a bundle for epoch 3 from it
    cases = [(store.put_message, b"DVM\x01junk", "E_FORMAT"), (store.put_message, tampered, "E_AUTH"),
             (store.put_bundle, b"DVB\x02" + bytes(40), "E_FORMAT"), (store.put_bundle, forged.to_bytes(), "E_UNAUTHORIZED"),
             (store.put_message, outsider.seal("room-other", b"?").to_bytes(), "E_UNKNOWN_KEY"),
             (store.put_member_proof, b"DVP\x02", "E_FORMAT"), (store.put_history, b"DVH\x02" + bytes(9), "E_FORMAT")]
    for put, data, code in cases:
        with pytest.raises(DomviaError) as caught:
            put(data)
        assert caught.value.code == code, put.__name__
        assert _table_counts(store) == before
    assert elsewhere.epoch == 1 and far.epoch == 2


def test_a_bundle_skipping_an_epoch_is_a_gap(world) -> None:
    store, _, room = world
    room.rotate()
    third = room.rotate()
    with pytest.raises(DomviaError) as caught:
        store.put_bundle(third.bundle.to_bytes())
    assert caught.value.code == "E_GAP"


def test_a_second_header_for_an_epoch_is_kept_and_served_as_fork_evidence(people, tmp_path) -> None:
    rings = _rings(people)
    room, rotation = Room.create(rings["alice"], ROOM, [people["bob"].public, people["carol"].public], admins=["bob"])
    store = ServerStore(tmp_path / "fork.db")
    store.put_bundle(rotation.bundle.to_bytes())
    rings["bob"].accept(rotation.bundle.to_bytes())
    alices = room.rotate()
    bobs = Room(rings["bob"], ROOM).rotate()                         # two admins rotate at once: a fork
    assert store.put_bundle(alices.bundle.to_bytes()).on_chain
    second = store.put_bundle(bobs.bundle.to_bytes())
    assert not second.on_chain and store.put_bundle(bobs.bundle.to_bytes()) == second
    assert store.headers(ROOM, 2) == [alices.announcement().to_bytes(), bobs.announcement().to_bytes()]
    batch = store.sync("carol")
    assert [i.kind for i in batch.items] == ["slice", "slice", "fork"]
    ring = rings["carol"]
    ring.accept(batch.items[0].data)
    ring.accept(batch.items[1].data)
    with pytest.raises(DomviaError) as caught:
        ring.accept(batch.items[2].data)
    assert caught.value.code == "E_FORK" and len(ring.forks(ROOM)) == 1
    store.close()


def test_the_limit_bounds_a_batch_and_the_cursor_resumes(world) -> None:
    store, rings, _room = world
    texts = [b"m%d" % i for i in range(7)]
    for text in texts:
        store.put_message(rings["alice"].seal(ROOM, text).to_bytes())
    read, cursor, calls = [], None, 0
    while True:
        batch = store.sync("bob", cursor, limit=3)
        assert len(batch.items) <= 3
        read += _apply(rings["bob"], batch)
        cursor, calls = batch.cursor, calls + 1
        if not batch.more:
            break
    assert read == texts and calls >= 3


def test_held_serves_again_an_epoch_the_key_ring_lacks(world) -> None:
    store, _rings, room = world
    store.put_bundle(room.rotate().bundle.to_bytes())
    first = store.sync("bob")                                       # bob holds epoch 1; the epoch-2 slice is lost
    assert [(i.kind, i.epoch) for i in first.items] == [("slice", 1), ("slice", 2)]
    again = store.sync("bob", first.cursor, held={ROOM: 1})
    assert [(i.kind, i.epoch) for i in again.items] == [("slice", 2)]


def test_member_proofs_and_slices_are_derived_on_demand(world) -> None:
    store, _, _ = world
    assert store.slice_for(ROOM, 1, "dave") is None and store.member_proof(ROOM, 1, "dave") is None
    proof = store.member_proof(ROOM, 1, "bob")
    assert proof is not None and store.member_proof(ROOM, 1, "bob") == proof
    store.put_member_proof(proof)
    with pytest.raises(DomviaError) as caught:
        store.put_member_proof(proof[:-5] + bytes([proof[-5] ^ 1]) + proof[-4:])  # the path's last byte
    assert caught.value.code == "E_AUTH"


def test_history_bundles_reach_their_recipient_after_the_anchor(people, tmp_path) -> None:
    rings = _rings(people)
    room, rotation = Room.create(rings["alice"], ROOM, [people["bob"].public])
    store = ServerStore(tmp_path / "h.db")
    store.put_bundle(rotation.bundle.to_bytes())
    store.put_message(rings["alice"].seal(ROOM, b"old").to_bytes())
    joined = room.add([people["dave"].public], share_history=[1])
    store.put_bundle(joined.bundle.to_bytes())
    history_id = store.put_history(joined.history["dave"].to_bytes())
    assert store.put_history(joined.history["dave"].to_bytes()) == history_id
    batch = store.sync("dave")
    assert [(i.kind, i.epoch) for i in batch.items] == [("slice", 2), ("history", 2)]
    _apply(rings["dave"], batch)
    backfill = store.messages(ROOM, epoch=1)
    assert [rings["dave"].open(m, check_replay=False).plaintext for _, m in backfill] == [b"old"]
    assert store.sync("dave", batch.cursor).items == ()
    store.close()


def test_opaque_blobs_are_kept_once_and_bounded(world) -> None:
    store, _, _ = world
    store.put_device_list("bob", 1, b"list-1")
    store.put_device_list("bob", 1, b"list-1")
    store.put_device_list("bob", 2, b"list-2")
    assert store.device_list("bob") == (2, b"list-2") and store.device_list("bob", 1) == (1, b"list-1")
    with pytest.raises(DomviaError) as caught:
        store.put_device_list("bob", 1, b"other")
    assert caught.value.code == "E_POLICY"
    with pytest.raises(FormatError):
        store.put_backup_chunk("bob", "phone", 0, bytes((1 << 20) + 1))
    store.put_backup_chunk("bob", "phone", 0, b"c0")
    store.put_backup_chunk("bob", "phone", 1, b"c1")
    assert store.backup_chunks("bob", "phone", after=0) == [(1, b"c1")]


def test_a_newer_schema_is_refused_with_a_clear_error(tmp_path) -> None:
    path = tmp_path / "new.db"
    ServerStore(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(FileError) as caught:
        ServerStore(path)
    assert caught.value.code == "E_FORMAT" and "newer" in str(caught.value) and caught.value.hint


def test_the_store_runs_in_wal_mode_with_foreign_keys(world) -> None:
    store, _, _ = world
    assert store._query("PRAGMA journal_mode")[0][0] == "wal"
    assert store._query("PRAGMA foreign_keys")[0][0] == 1
    with pytest.raises(FileError) as caught:
        store._query("INSERT INTO messages VALUES ('nowhere', 1, 1, 'a', 'b', zeroblob(32), x'00')")
    assert caught.value.code == "E_IO"


def test_two_connections_write_and_read_at_once(people, tmp_path) -> None:
    rings = _rings(people)
    _room, rotation = Room.create(rings["alice"], ROOM, [people["bob"].public])
    path = tmp_path / "wal.db"
    with ServerStore(path) as setup:
        setup.put_bundle(rotation.bundle.to_bytes())
    sealed = [rings["alice"].seal(ROOM, b"w%d" % i).to_bytes() for i in range(40)]
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            with ServerStore(path) as store:
                for data in sealed:
                    store.put_message(data)
        except BaseException as error:  # reported below: a thread's exception is not the test's
            errors.append(error)

    thread = threading.Thread(target=writer)
    reader = ServerStore(path)
    thread.start()
    counts = []
    while thread.is_alive():  # reads while the other connection writes: WAL lets both go on
        counts.append(len([i for i in reader.sync("bob").items if i.kind == "message"]))
    thread.join()
    seen = len([i for i in reader.sync("bob").items if i.kind == "message"])
    assert counts == sorted(counts)  # each read sees a committed prefix, never a half-written put
    assert errors == [] and seen == len(sealed)
    assert [s for s, _ in reader.messages(ROOM, epoch=1)] == list(range(2, 2 + len(sealed)))
    reader.close()
