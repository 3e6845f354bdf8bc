"""The devices tutorial (docs/tutorial-devices.rst), as one script: a user with a phone and a laptop,
a key backup, a new tablet that restores alone, and a lost phone. tests/test_docs.py runs this file."""

# [user]
from domvia_e2ee import Identity, KeyRing, Room, UserKey, sign_device_list

erin = UserKey.generate("erin")                       # stays on erin's own devices, like a master key
phone, laptop = Identity.generate("erin/phone"), Identity.generate("erin/laptop")
erin_devices = sign_device_list(erin, version=1, devices=[phone.public, laptop.public], issued_at=1_764_000_000)
# one safety number for all her devices:
print(erin.public.safety_number == erin_devices.user_key.safety_number)  # True
# [end user]

# [room]
alice = Identity.generate("alice")
alice_ring, phone_ring, laptop_ring = KeyRing(alice), KeyRing(phone), KeyRing(laptop)
for ring in (alice_ring, phone_ring, laptop_ring):
    ring.add_device_list(erin_devices, [phone.public, laptop.public])  # checked under erin's user key
for ring in (phone_ring, laptop_ring):
    ring.trust_admin("room-42", alice.public)

room, rotation = Room.create(alice_ring, "room-42", users=["erin"])   # wraps to every device on erin's list
phone_ring.accept(rotation.bundle.slice_for("erin/phone").to_bytes())
laptop_ring.accept(rotation.bundle.slice_for("erin/laptop").to_bytes())
note = alice_ring.seal("room-42", b"welcome, erin")
print(laptop_ring.open(note).plaintext)  # b'welcome, erin'
# [end room]

# [backup]
from domvia_e2ee.users.backup import back_up, restore
from domvia_e2ee.users.backup_info import create_backup_info

info, secret = create_backup_info(erin)               # the info is signed by erin's user key
recovery_key = secret.recovery_key()                  # show it once; no device stores it
chunks = []
for pending in back_up(phone_ring, info, first_seq=1):
    chunks.append(pending.chunk.to_bytes())           # upload: the server sees a count and a size
    phone_ring.mark_backed_up(pending.pending)        # only once the server stored it
print(len(chunks))  # 1
# [end backup]

# [tablet]
from domvia_e2ee import DeviceTooNewError, next_device_list
from domvia_e2ee.unreadable import explain

tablet = Identity.generate("erin/tablet")
erin_devices = next_device_list(erin, erin_devices, devices=[phone.public, laptop.public, tablet.public],
                                issued_at=1_764_000_100)
tablet_ring = KeyRing(tablet)
for ring in (alice_ring, tablet_ring):
    ring.add_device_list(erin_devices, [phone.public, laptop.public, tablet.public])
print(room.rotation_due())  # ('devices',)
tablet_ring.trust_admin("room-42", alice.public)
tablet_ring.accept(room.rotate().bundle.slice_for("erin/tablet").to_bytes())

try:
    tablet_ring.open(note, check_replay=False)
except DeviceTooNewError as error:
    print(explain(error).action)  # restore-backup-or-ask-sibling
restore(tablet_ring, chunks, info, recovery_key=recovery_key)  # phone and laptop are offline
print(tablet_ring.open(note, check_replay=False).plaintext)  # b'welcome, erin'
# [end tablet]

# [lost]
erin_devices = next_device_list(erin, erin_devices, devices=[laptop.public, tablet.public], issued_at=1_764_000_200)
alice_ring.add_device_list(erin_devices)
rotation = room.rotate()                              # the phone gets no key for this epoch
print("erin/phone" in room.members)  # False
# [end lost]
