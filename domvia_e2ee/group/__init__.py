"""The group layer: a room's chain of signed epochs, who may change it, what each member holds.

Modules follow the spec's chapters: header, members and bundle (spec/bundle.md), verify (its
verification steps), history (spec/history.md), epoch, replay, forks, keyring and keyring_state
(spec/keyring.md), room (the rotating admin's view). Data flows one way: nothing here imports
the key ring from below it, and nothing below the group layer imports the group layer.
"""
