"""A seeded chaos simulation of rooms over the reference store (private: for tests and benchmarks).

`world.run(seed, events, Settings(...))` plays participants joining, leaving, going offline and sending,
through `store.ServerStore`, a lossy `relay.Relay` and, in malicious mode, an `adversary.Adversary`;
`invariants.Checker` checks every delivery and `ledger.Ledger` holds the ground truth. Error codes:
InvariantError (an AssertionError) naming the seed and event when an invariant fails.
"""
