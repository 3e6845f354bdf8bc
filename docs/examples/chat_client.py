"""The chat client tutorial (docs/tutorial-chat-client.rst), as one script.

Every group-layer call the documentation shows lives in this file and docs/examples/bot.py:
update them here when the API changes. tests/test_docs.py runs both.
"""

# [identities]
from domvia_e2ee import Identity, KeyRing

alice = Identity.generate("alice")  # the room's admin: her client rotates its keys
bob = Identity.generate("bob")
carol = Identity.generate("carol")

alice_ring, bob_ring, carol_ring = KeyRing(alice), KeyRing(bob), KeyRing(carol)
# [end identities]

# [trust]
# Each member's client trusts alice to let it join this room, after comparing her safety number out of
# band. Nothing else: who the other members are (and their keys) comes from alice's signed bundle.
for ring in (bob_ring, carol_ring):
    ring.trust_admin("room-42", alice.public)
# [end trust]

# [create]
from domvia_e2ee import Room

room, rotation = Room.create(alice_ring, "room-42", [bob.public, carol.public])
bundle = rotation.bundle.to_bytes()  # alice's client posts this to the room

for ring in (bob_ring, carol_ring):  # each member's client, on receiving it
    accepted = ring.accept(bundle)
    assert accepted.epochs == (1,)
# [end create]

# [send]
sealed = bob_ring.seal("room-42", b"the launch is on Friday", message_id="msg-1")
payload = sealed.to_json()  # what the relay carries and the server stores
# [end send]

# [receive]
opened = carol_ring.open(payload)
print(opened.sender_id, opened.epoch, opened.plaintext)  # bob 1 b'the launch is on Friday'
# [end receive]

# [errors]
from domvia_e2ee import DomviaError, ReplayError, UnknownKeyError

try:
    carol_ring.open(payload)  # the relay delivers the same message twice
except ReplayError as error:
    print("dropped:", error.code)  # dropped: E_REPLAY

wire = bytearray(bob_ring.seal("room-42", b"see you there", message_id="msg-1b").to_bytes())
wire[-1] ^= 1  # the relay flips one bit
try:
    carol_ring.open(bytes(wire))
except DomviaError as error:
    print("rejected:", error.code)  # rejected: E_AUTH
# [end errors]

# [remove]
rotation = room.remove(["carol"])  # a new epoch, wrapped to alice and bob only
bob_ring.accept(rotation.bundle.to_bytes())

secret = bob_ring.seal("room-42", b"carol is not reading this", message_id="msg-2").to_json()
print(alice_ring.open(secret).plaintext)  # b'carol is not reading this'
try:
    carol_ring.open(secret)
except UnknownKeyError as error:
    print("carol:", error.code)  # carol: E_UNKNOWN_KEY (she never receives the epoch 2 key)
# [end remove]

# [add]
dave = Identity.generate("dave")
dave_ring = KeyRing(dave)
dave_ring.trust_admin("room-42", alice.public)

rotation = room.add([dave.public])  # epoch 3
for ring in (bob_ring, dave_ring):
    ring.accept(rotation.bundle.to_bytes())

hello = dave_ring.seal("room-42", b"hi all", message_id="msg-3").to_json()
print(bob_ring.open(hello).plaintext)  # b'hi all'
try:
    dave_ring.open(secret)  # sealed before dave joined
except UnknownKeyError as error:
    print("dave:", error.code)  # dave: E_UNKNOWN_KEY
# [end add]

# [governance]
# Only an admin changes the room. A member's own bundle is refused by everyone, whatever order the
# server delivers things in: here bob, who is no admin, tries to rotate the room himself.
from domvia_e2ee import UnauthorizedError
from domvia_e2ee.group.bundle import Plan, build_bundle
from domvia_e2ee.keys import RoomKey
from domvia_e2ee.wrap import WrapKem

header = bob_ring.header("room-42")
forged = build_bundle(bob, RoomKey.generate(room_id="room-42", epoch=header.epoch + 1), [alice.public, bob.public],
                      kem=WrapKem.X25519, issued_at=0, plan=Plan(header.epoch_hash(), header.policy, header.admins))
try:
    dave_ring.accept(forged.to_bytes())
except UnauthorizedError as error:
    print("dave:", error.code)  # dave: E_UNAUTHORIZED
print("admins:", ", ".join(room.admins))  # admins: alice
# [end governance]

# [slices]
# In a large room each member fetches its own slice (about 1.4 KiB at 10,000 members) instead of the
# whole bundle, and the server serves a short proof for each sender it has not met yet.
from domvia_e2ee import MemberProofFile, UnknownSenderError

rotation = room.rotate()  # epoch 4: alice, bob, dave
dave_ring.accept(rotation.bundle.slice_for("dave").to_bytes())
bob_ring.accept(rotation.bundle.slice_for("bob").to_bytes())
note = bob_ring.seal("room-42", b"slices work", message_id="msg-s")
try:
    dave_ring.open(note.to_bytes())
except UnknownSenderError as error:
    print("dave:", error.code)  # dave: E_UNKNOWN_SENDER (bob's membership not proved yet)
dave_ring.accept(MemberProofFile("room-42", 4, rotation.bundle.proof_for("bob")).to_bytes())
print(dave_ring.open(note.to_bytes()).plaintext)  # b'slices work'
# [end slices]

# [early]
# A message can arrive before the bundle of its epoch: keep it, and retry after the next accept.
rotation = room.remove(["dave"])  # epoch 5
early = alice_ring.seal("room-42", b"new epoch", message_id="msg-4").to_json()
pending = []
try:
    bob_ring.open(early)
except UnknownKeyError:
    pending.append(early)
bob_ring.accept(rotation.bundle.to_bytes())  # the bundle arrives
print([bob_ring.open(message).plaintext for message in pending])  # [b'new epoch']
# [end early]

# [attachment]
import io

from domvia_e2ee.attachment import AttachmentReference, open_file, seal_file, seal_reference

photo = io.BytesIO(b"\x89PNG..." * 10_000)
blob = io.BytesIO()  # upload this to any file store: it is encrypted
reference = seal_file(photo, blob, content_type="image/png")
note = seal_reference(bob_ring, "room-42", reference, message_id="msg-5")  # the key travels sealed

received = AttachmentReference.from_message(alice_ring.open(note.to_bytes()))
out = io.BytesIO()
open_file(received, io.BytesIO(blob.getvalue()), out)  # every chunk is authenticated
assert out.getvalue() == photo.getvalue()
# [end attachment]
