"""The fuzz smoke pass without atheris: seeds plus seeded random mutations, bounded and deterministic.

tests/test_fuzz_smoke.py runs it in CI; `python fuzz/smoke.py [N]` runs it by hand with N mutations per
seed. Seeds come from fuzz/corpus/<harness>/ and, when the lead's vectors/ exist, from every byte
string and JSON object in them that parses as the harness's input kind.
"""

from __future__ import annotations

import functools
import json
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

FUZZ_DIR = Path(__file__).resolve().parent
REPO_ROOT = FUZZ_DIR.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(FUZZ_DIR))

from harnesses import HARNESSES  # noqa: E402

from domvia_e2ee import labels  # noqa: E402

_MAGIC_KIND = {labels.MAGIC_MESSAGE: "message_binary", labels.MAGIC_BUNDLE: "bundle", labels.MAGIC_SLICE: "slice",
               labels.MAGIC_HISTORY: "history", labels.MAGIC_EPOCH: "announcement",
               labels.MAGIC_MEMBER_PROOF: "member_proof"}
_INTERESTING = [b"\x00", b"\xff", b"\x7f", b"\x80", b"\x01", b"{", b"}", b'"', b"\\u0063", b"=", b"-1", b"1e9",
                b"null", b"[]", b"{}", b"9" * 40, b"\x00" * 32, b"\xff" * 4]


def corpus_seeds(name: str) -> list[bytes]:
    folder = FUZZ_DIR / "corpus" / name
    return [path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()] if folder.is_dir() else []


def _walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def _kind_of_object(obj: dict[str, Any]) -> str | None:
    if {"v", "s", "r", "e", "k", "c"} <= obj.keys():
        return "message_json"
    if {"v", "id", "enc", "sig"} <= obj.keys():
        return "public_identity"
    if {"v", "id", "x25519", "ed25519"} <= obj.keys():
        return "private_identity"
    return None


@functools.cache
def vector_seeds() -> dict[str, list[bytes]]:
    """Byte strings (hex) that start with a wire magic, and JSON objects shaped like a harness input."""
    found: dict[str, list[bytes]] = {}
    for path in sorted((REPO_ROOT / "vectors").glob("*.json")):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            continue
        for value in _walk(document):
            kind, data = None, b""
            if isinstance(value, str) and len(value) >= 8 and len(value) % 2 == 0:
                try:
                    data = bytes.fromhex(value)
                except ValueError:
                    continue
                kind = _MAGIC_KIND.get(data[:4])
            elif isinstance(value, dict):
                kind = _kind_of_object(value)
                data = json.dumps(value, separators=(",", ":"), sort_keys=True).encode()
            if kind is not None:
                found.setdefault(kind, []).append(data)
    return found


def seeds(name: str, max_vector_seeds: int | None = None) -> list[bytes]:
    """The corpus seeds, then the vector seeds (all, or an evenly spread sample of at most the number given)."""
    from_vectors = list(dict.fromkeys(vector_seeds().get(name, [])))
    if max_vector_seeds is not None and len(from_vectors) > max_vector_seeds:
        step = len(from_vectors) / max_vector_seeds
        from_vectors = [from_vectors[int(i * step)] for i in range(max_vector_seeds)]
    return list(dict.fromkeys(corpus_seeds(name) + from_vectors))


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to four byte-level edits: flip, set, insert, delete, splice a token, truncate, duplicate."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(7)
        pos = rng.randrange(len(out) + 1)
        if op == 0 and out:
            out[pos % len(out)] ^= 1 << rng.randrange(8)
        elif op == 1 and out:
            out[pos % len(out)] = rng.randrange(256)
        elif op == 2:
            out[pos:pos] = bytes([rng.randrange(256)])
        elif op == 3 and out:
            del out[pos % len(out): pos % len(out) + rng.randint(1, 8)]
        elif op == 4:
            out[pos:pos] = rng.choice(_INTERESTING)
        elif op == 5:
            out = out[:pos]
        else:
            start = rng.randrange(len(out) + 1)
            out[pos:pos] = out[start:start + rng.randint(1, 64)]
    return bytes(out)


def run(name: str, mutations_per_seed: int, seed: int = 0, max_vector_seeds: int | None = 8) -> int:
    """Runs the harness on every seed and on its mutations; returns the number of executions.
    An exception escaping the harness is the finding: it propagates with the input attached."""
    harness = HARNESSES[name]
    rng = random.Random(f"{name}:{seed}")  # noqa: S311 - reproducible mutations, not secrets
    count = 0
    for original in seeds(name, max_vector_seeds):
        for data in [original] + [mutate(original, rng) for _ in range(mutations_per_seed)]:
            try:
                harness(data)
            except Exception as error:
                error.add_note(f"fuzz input for {name}: {data!r}")
                raise
            count += 1
    return count


def main() -> None:
    per_seed = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    names = sys.argv[2:] or list(HARNESSES)
    for name in names:
        start = time.perf_counter()
        count = run(name, per_seed)
        print(f"{name}: {count} executions in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
