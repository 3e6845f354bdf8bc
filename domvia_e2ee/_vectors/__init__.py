"""Deterministic generation of vectors/*.json (private: fixed randomness lives only here).

`python -m domvia_e2ee._vectors write` regenerates every file; `check` compares them with
the committed ones byte for byte. Every expected output is produced by the reference
implementation's conformance handlers, and every must-fail case is generated only after
checking that the handler really fails with the expected code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from ..vector_files import default_vectors_dir
from typing import Any

Case = dict[str, Any]
VECTORS_DIR = default_vectors_dir()


def files() -> dict[str, tuple[str, Callable[[], list[Case]]]]:
    """File name -> (description, case builder), in a fixed order."""
    from . import attachments, backups, bundles, group_edges, history, identities, keyring, messages, primitives, users, wraps

    out = {
        "keys": ("Room key schedule: key ids and per-sender keys.", primitives.key_cases),
        "padding": ("Padme padding with the 32-byte floor, and canonical unpadding.", primitives.padding_cases),
        "message": ("Sealed messages: header/AAD encoding, seal, open, convert, and every malformed or tampered form.",
                    messages.cases),
        "identity": ("Public identity import: JWKs, key validation, fingerprints and safety numbers.", identities.cases),
        "wrap": ("HPKE wrapping of room keys (classic with pinned ephemerals; X-Wing decrypt side).", wraps.cases),
        "bundle": ("Epoch headers, bundles, slices, announcements and member proofs: building and acceptance in spec order.", bundles.cases),
        "history": ("History bundles bound to the chain: sharing past epochs with a joiner on purpose.", history.history_cases),
        "keyring": ("Opening through a key ring: membership, unsigned policy, replay, rosters.", keyring.cases),
        "group": ("Group-state rules that need hand-built inputs: invalid keys in signed rosters, another KEM, "
                  "malformed member proofs, closed and dropped replay state.", group_edges.cases),
    }
    out["attachment"] = ("Streamed attachments (STREAM) and attachment references.", attachments.cases)
    out["users"] = ("Users and devices: signed device lists, rooms of users, and the device-list rules of step 4b.",
                    users.cases)
    out["backup"] = ("Key backups and sibling shares: backup infos, recovery keys, and restores verified against the chain.",
                     backups.cases)
    return out


def render(name: str, description: str, cases: list[Case]) -> bytes:
    document = {"name": name, "version": 1, "description": description, "cases": cases}
    return (json.dumps(document, indent=1, sort_keys=False, ensure_ascii=True) + "\n").encode("ascii")


def generate(directory: Path | None = None) -> dict[str, bytes]:
    """Every vector file's bytes; X-Wing wraps are read from `directory`'s pinned/ (default: VECTORS_DIR)."""
    from .pinned import use_directory

    use_directory(directory)
    rendered = {}
    seen: set[str] = set()
    for name, (description, build) in files().items():
        cases = build()
        for case in cases:
            if case["id"] in seen:
                raise ValueError(f"duplicate vector id {case['id']}")
            seen.add(case["id"])
        rendered[f"{name}.json"] = render(name, description, cases)
    return rendered
