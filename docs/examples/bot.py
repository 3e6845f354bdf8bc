"""The bot tutorial (docs/tutorial-bot.rst), as one script.

A bot is a member like any other: it holds an identity and a key ring, accepts the bundles
the room's admin posts, opens messages and seals replies. Here the relay is a list of events;
a real bot reads them from its websocket. tests/test_docs.py runs this file.
"""

# [setup]
from domvia_e2ee import Identity, KeyRing, Room

alice = Identity.generate("alice")  # the room's admin
bot = Identity.generate("dice-bot")
alice_ring, bot_ring = KeyRing(alice), KeyRing(bot)

bot_ring.trust_admin("room-42", alice.public)  # configured when the bot is deployed
# [end setup]

# [handler]
import secrets

from domvia_e2ee import DomviaError, ReplayError, UnknownKeyError, UnknownSenderError


class DiceBot:
    """Answers '/roll' with a number from 1 to 6; ignores everything else."""

    def __init__(self, ring: KeyRing, room_id: str) -> None:
        self.ring, self.room_id = ring, room_id
        self.pending: list[bytes] = []  # messages whose epoch key has not arrived yet
        self.replies = 0

    def on_bundle(self, data: bytes) -> list[bytes]:
        """Accepts a bundle, then retries the messages that waited for it; returns the replies."""
        self.ring.accept(data)  # raises, and changes nothing, unless alice signed it for us
        waiting, self.pending = self.pending, []
        return [reply for payload in waiting if (reply := self.on_message(payload)) is not None]

    def on_message(self, payload: bytes) -> bytes | None:
        """Opens one message; returns the sealed reply to post, if any."""
        try:
            opened = self.ring.open(payload)
        except UnknownKeyError:
            self.pending.append(payload)  # its bundle is still on the way
            return None
        except (ReplayError, UnknownSenderError):
            return None  # a duplicate, or a sender the bot was never told about
        except DomviaError as error:  # log the code, never the payload or a key
            print("dropped a message:", error.code)
            return None
        if opened.plaintext.strip() != b"/roll":
            return None
        self.replies += 1
        answer = f"{opened.sender_id} rolled {secrets.randbelow(6) + 1}".encode()
        return self.ring.seal(self.room_id, answer, message_id=f"dice-{self.replies}").to_json()
# [end handler]

# [run]
room, rotation = Room.create(alice_ring, "room-42", [bot.public])
dice = DiceBot(bot_ring, "room-42")

roll = alice_ring.seal("room-42", b"/roll", message_id="msg-1").to_json()
assert dice.on_message(roll) is None  # arrived before the bundle: kept for later
replies = dice.on_bundle(rotation.bundle.to_bytes())  # the bundle arrives: the kept message is answered
print([alice_ring.open(reply).plaintext for reply in replies])  # e.g. [b'alice rolled 3']

reply = dice.on_message(alice_ring.seal("room-42", b"/roll", message_id="msg-2").to_json())
assert reply is not None
print(alice_ring.open(reply).plaintext)  # e.g. b'alice rolled 4'
assert dice.on_message(b"{}") is None  # malformed input is dropped; prints "dropped a message: E_FORMAT"
# [end run]
