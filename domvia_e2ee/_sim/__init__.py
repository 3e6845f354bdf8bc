"""A seeded chaos simulation of rooms of users over the reference store (private: for tests and benchmarks).

`world.run(seed, events, Settings(...))` plays users with one to three devices (users.py: UserKey, device
lists in the store's device_lists table) joining and leaving rooms, adding, losing and re-keying devices,
going offline, sending (events.py), backing up, restoring and sharing with siblings (backups.py), through
`store.ServerStore`, a lossy `relay.Relay` and, in malicious mode, an `adversary.Adversary`;
`invariants.Checker` checks every delivery, list fetch and restore and `ledger.Ledger` holds the ground
truth. Error codes: InvariantError (an AssertionError) naming the seed and event when an invariant fails.
"""
