"""Attachments: sealing 64 MiB and 1 GiB generated on the fly, opening 64 MiB, against the raw primitives
over the same 64 KiB chunks in the same run, Tink streaming AEAD and age (pyrage) on the same data, and
peak RSS in a fresh process.

    pytest benchmarks/bench_attachment.py                 (or python -m benchmarks)
    python -m benchmarks.bench_attachment rss seal|open N  one fresh process: {"baseline_kib", "peak_kib"}

Floors: `floor.attachment.aesgcm.SIZE` is AESGCM.encrypt over the same chunks (what STREAM must at least
do); `floor.attachment.aesgcm-blake3.SIZE` adds a BLAKE3 leaf per encrypted chunk, which the reference's
chunk tree requires (what this format must at least do); `floor.attachment.aesgcm-sha256.SIZE` and
`...aesgcm-sha256-per-chunk.SIZE` are the alternatives measured for the hash choice (spec/attachment.md).

    python -m benchmarks.bench_attachment ratios [MiB]   seal/open vs raw AES-GCM in one run, as ratios Source data is 16 fixed random 64 KiB
blocks cycled, so every contender reads the same bytes and generating them costs nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import resource
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from blake3 import blake3
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from benchmarks._shared import run_rounds, tag
from domvia_e2ee.attachment import AttachmentEncryptor, AttachmentReference, open_stream, seal_stream
from domvia_e2ee.attachment_stream import StreamKey
from domvia_e2ee.hazmat.suites import Suite

try:
    from benchmarks._report import SECTIONS
except ImportError:  # the report module is optional for running this file alone
    SECTIONS = {}

CHUNK = 1 << 16
BLOCKS = [os.urandom(CHUNK) for _ in range(16)]
SIZES = {"64MiB": 64 << 20, "1GiB": 1 << 30}
SECTION = "attachment" if "attachment" in SECTIONS else "other"
ROOT = Path(__file__).resolve().parent.parent


def generated(size: int) -> Iterator[bytes]:
    for index in range(size // CHUNK):
        yield BLOCKS[index % len(BLOCKS)]


def rounds_for(size: int) -> int:
    return 5 if size > 64 << 20 else 15


def label(size_name: str, text: str) -> str:
    return f"{text}, {size_name.replace('MiB', ' MiB').replace('GiB', ' GiB')} generated on the fly"


# -- floors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("size_name", SIZES)
def test_floor_aesgcm(benchmark: Any, size_name: str) -> None:
    size = SIZES[size_name]
    aes, nonce = AESGCM(os.urandom(32)), bytes(12)
    tag(benchmark, f"floor.attachment.aesgcm.{size_name}", label(size_name, "raw AESGCM.encrypt per 64 KiB chunk"),
        section=SECTION, nbytes=size)

    def run() -> None:
        for chunk in generated(size):
            aes.encrypt(nonce, chunk, None)

    run_rounds(benchmark, run, rounds=rounds_for(size))


@pytest.mark.parametrize("size_name", SIZES)
def test_floor_aesgcm_sha256(benchmark: Any, size_name: str) -> None:
    size = SIZES[size_name]
    aes, nonce = AESGCM(os.urandom(32)), bytes(12)
    tag(benchmark, f"floor.attachment.aesgcm-sha256.{size_name}",
        label(size_name, "raw AESGCM.encrypt + SHA-256 of the ciphertext"), section=SECTION, nbytes=size)

    def run() -> None:
        digest = hashlib.sha256()
        for chunk in generated(size):
            digest.update(aes.encrypt(nonce, chunk, None))

    run_rounds(benchmark, run, rounds=rounds_for(size))


@pytest.mark.parametrize("size_name", SIZES)
@pytest.mark.parametrize("hash_name", ["blake3", "sha256-per-chunk"])
def test_floor_aesgcm_chunk_hash(benchmark: Any, size_name: str, hash_name: str) -> None:
    size = SIZES[size_name]
    aes, nonce, leaf = AESGCM(os.urandom(32)), bytes(12), CHUNK_HASHES[hash_name]
    tag(benchmark, f"floor.attachment.aesgcm-{hash_name}.{size_name}",
        label(size_name, f"raw AESGCM.encrypt + {hash_name} of each encrypted chunk"), section=SECTION, nbytes=size)

    def run() -> None:
        for chunk in generated(size):
            leaf(aes.encrypt(nonce, chunk, None))

    run_rounds(benchmark, run, rounds=rounds_for(size))


CHUNK_HASHES = {"blake3": lambda data: blake3(data).digest(), "sha256-per-chunk": lambda data: hashlib.sha256(data).digest()}


# -- domvia ------------------------------------------------------------------------------------


@pytest.mark.parametrize("suite", [Suite.AES_256_GCM, Suite.XCHACHA20_POLY1305], ids=["aes", "xchacha"])
@pytest.mark.parametrize("size_name", SIZES)
def test_seal(benchmark: Any, size_name: str, suite: Suite) -> None:
    """The whole seal: chunking, STREAM, the chunk tree (BLAKE3), the reference."""
    size = SIZES[size_name]
    floor = [f"floor.attachment.aesgcm.{size_name}", f"floor.attachment.aesgcm-blake3.{size_name}"]
    tag(benchmark, f"domvia.attachment.seal.{suite.label}.{size_name}",
        label(size_name, f"seal_stream {suite.label}, 64 KiB chunks (STREAM + chunk tree)"),
        section=SECTION, nbytes=size, floor=floor)

    def run() -> AttachmentReference:
        stream = seal_stream(generated(size), suite=suite)
        for _ in stream:
            pass
        return stream.reference

    assert run_rounds(benchmark, run, rounds=rounds_for(size)).size == size


@pytest.mark.parametrize("size_name", SIZES)
def test_stream_layer_only(benchmark: Any, size_name: str) -> None:
    """STREAM alone (no digest): what the chunked construction costs over raw AES-GCM."""
    size = SIZES[size_name]
    key = StreamKey.create(os.urandom(32), suite=Suite.AES_256_GCM, chunk_size=CHUNK)
    tag(benchmark, f"domvia.attachment.stream-only.A256GCM.{size_name}",
        label(size_name, "STREAM chunk sealing only, A256GCM (no digest)"), section=SECTION, nbytes=size,
        floor=[f"floor.attachment.aesgcm.{size_name}"])

    def run() -> None:
        seal_chunk = key.seal_chunk
        for index, chunk in enumerate(generated(size)):
            seal_chunk(index, chunk, False)

    run_rounds(benchmark, run, rounds=rounds_for(size))


@pytest.fixture(scope="module")
def sealed_64mib() -> tuple[AttachmentReference, list[bytes]]:
    stream = seal_stream(generated(SIZES["64MiB"]))
    pieces = list(stream)
    return stream.reference, pieces


def test_open_64mib(benchmark: Any, sealed_64mib: tuple[AttachmentReference, list[bytes]]) -> None:
    """The whole open: STREAM, lengths, the chunk tree and root, final chunk released last. Blob in memory."""
    reference, pieces = sealed_64mib
    tag(benchmark, "domvia.attachment.open.A256GCM.64MiB", "open_stream A256GCM, 64 MiB blob held in 64 KiB pieces",
        section=SECTION, nbytes=reference.size, floor=["floor.attachment.aesgcm-decrypt.64MiB"])

    def run() -> int:
        return sum(len(p) for p in open_stream(reference, pieces))

    assert run_rounds(benchmark, run, rounds=15) == reference.size


def test_floor_aesgcm_decrypt_64mib(benchmark: Any) -> None:
    key = os.urandom(32)
    aes, nonce = AESGCM(key), bytes(12)
    pieces = [aes.encrypt(nonce, chunk, None) for chunk in generated(SIZES["64MiB"])]
    tag(benchmark, "floor.attachment.aesgcm-decrypt.64MiB", "raw AESGCM.decrypt per 64 KiB chunk, 64 MiB in memory",
        section=SECTION, nbytes=SIZES["64MiB"])

    def run() -> None:
        for piece in pieces:
            aes.decrypt(nonce, piece, None)

    run_rounds(benchmark, run, rounds=15)


# -- peers -------------------------------------------------------------------------------------


class Discard(io.RawIOBase):
    """A sink that counts bytes and keeps none."""

    def __init__(self) -> None:
        self.count = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        size = memoryview(data).nbytes
        self.count += size
        return size


class Generated(io.RawIOBase):
    """A readable file over generated(size), for peers that read from a file object."""

    def __init__(self, size: int) -> None:
        self._pieces = generated(size)
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._pending:
            self._pending = memoryview(next(self._pieces, b""))
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count


@pytest.mark.parametrize("size_name", SIZES)
def test_tink_streaming_aead(benchmark: Any, size_name: str) -> None:
    """Tink AES256_GCM_HKDF streaming AEAD with 64 KiB segments, writing the same chunks."""
    tink = pytest.importorskip("tink")
    from tink import streaming_aead
    from tink.proto import common_pb2

    streaming_aead.register()
    template = streaming_aead.streaming_aead_key_templates.create_aes_gcm_hkdf_streaming_key_template(
        32, common_pb2.HashType.SHA256, 32, CHUNK)
    primitive = tink.new_keyset_handle(template).primitive(streaming_aead.StreamingAead)
    size = SIZES[size_name]
    tag(benchmark, f"peer.tink-streaming.{size_name}", label(size_name, "Tink AES256-GCM-HKDF streaming, 64 KiB segments"),
        section=SECTION, nbytes=size, floor=[f"floor.attachment.aesgcm.{size_name}"], peer="tink")

    def run() -> None:
        with primitive.new_encrypting_stream(Discard(), b"") as writer:
            for chunk in generated(size):
                writer.write(chunk)

    run_rounds(benchmark, run, rounds=rounds_for(size))


@pytest.mark.parametrize("size_name", SIZES)
def test_age_pyrage(benchmark: Any, size_name: str) -> None:
    """age (pyrage, Rust) to one X25519 recipient: ChaCha20-Poly1305 STREAM, 64 KiB chunks."""
    pyrage = pytest.importorskip("pyrage")
    recipient = pyrage.x25519.Identity.generate().to_public()
    size = SIZES[size_name]
    tag(benchmark, f"peer.age-pyrage.{size_name}", label(size_name, "age (pyrage) encrypt_io, one X25519 recipient"),
        section=SECTION, nbytes=size, floor=[f"floor.attachment.aesgcm.{size_name}"], peer="pyrage")

    def run() -> int:
        sink = Discard()
        pyrage.encrypt_io(io.BufferedReader(Generated(size), CHUNK), sink, [recipient])
        return sink.count

    assert run_rounds(benchmark, run, rounds=rounds_for(size)) > size


# -- peak RSS, one fresh process per case ------------------------------------------------------


def measure_rss(action: str, size: int) -> dict[str, int]:
    """Runs `python -m benchmarks.bench_attachment rss ACTION SIZE` and returns its report."""
    done = subprocess.run([sys.executable, "-m", "benchmarks.bench_attachment", "rss", action, str(size)], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout))


@pytest.mark.parametrize(("action", "size_name"), [("seal", "64MiB"), ("seal", "1GiB"), ("open", "1GiB")])
def test_peak_rss(benchmark: Any, action: str, size_name: str) -> None:
    """Peak resident set of a fresh process that seals (or seals and opens) SIZE generated on the fly.
    The limit (64 MiB whatever the size) is checked by tests/test_attachment_memory.py, not here."""
    size = SIZES[size_name]
    report = run_rounds(benchmark, lambda: measure_rss(action, size), rounds=1)
    peak_mib = report["peak_kib"] / 1024
    tag(benchmark, f"domvia.attachment.rss.{action}.{size_name}",
        f"fresh process: {action} {size_name} on the fly; peak RSS {peak_mib:.1f} MiB "
        f"(before: {report['baseline_kib'] / 1024:.1f} MiB); time includes interpreter start",
        section=SECTION, nbytes=size)
    benchmark.extra_info.update(report)


def peak_rss_kib() -> int:
    """This process's resident-set high-water mark. VmHWM, not getrusage's ru_maxrss: a child forked from
    a large parent (pytest holding a 64 MiB blob) inherits the parent's ru_maxrss across exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # not Linux: the best there is


def _rss_child(action: str, size: int) -> dict[str, int]:
    encryptor = AttachmentEncryptor(_file_key=bytes(32), _salt=bytes(32))
    baseline = peak_rss_kib()
    if action == "seal":
        stream = seal_stream(generated(size))
        for _ in stream:
            pass
    else:  # open: the blob is produced on the fly by a second, deterministic encryptor
        for chunk in generated(size):
            encryptor.update(chunk)
        encryptor.finalize()
        twin = AttachmentEncryptor(_file_key=bytes(32), _salt=bytes(32))
        blob = (twin.update(chunk) for chunk in generated(size))
        for _ in open_stream(encryptor.reference, _then(blob, twin)):
            pass
    return {"baseline_kib": baseline, "peak_kib": peak_rss_kib()}


def _then(pieces: Iterator[bytes], encryptor: AttachmentEncryptor) -> Iterator[bytes]:
    yield from pieces
    yield encryptor.finalize()


if __name__ == "__main__" and sys.argv[1:2] == ["rss"]:
    print(json.dumps(_rss_child(sys.argv[2], int(sys.argv[3]))))


def ratios(size: int) -> dict[str, float]:
    """Best of 3 seconds per GiB, in one run: raw AES-GCM, the hash alternatives, domvia seal and open."""
    import time

    aes, nonce = AESGCM(os.urandom(32)), bytes(12)
    sealed = seal_stream(generated(size))
    blob = list(sealed)

    def best(work: Any) -> float:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            work()
            times.append(time.perf_counter() - start)
        return min(times) * (1 << 30) / size

    def raw(leaf: Any = None) -> None:
        for chunk in generated(size):
            sealed_chunk = aes.encrypt(nonce, chunk, None)
            if leaf is not None:
                leaf(sealed_chunk)

    def seal() -> None:
        for _ in seal_stream(generated(size)):
            pass

    def open_() -> None:
        for _ in open_stream(sealed.reference, blob):
            pass

    out = {"aesgcm": best(raw), **{f"aesgcm+{name}": best(lambda h=h: raw(h)) for name, h in CHUNK_HASHES.items()},
           "seal": best(seal), "open": best(open_)}
    return out | {"seal/aesgcm": out["seal"] / out["aesgcm"], "open/aesgcm": out["open"] / out["aesgcm"]}


if __name__ == "__main__" and sys.argv[1:2] == ["ratios"]:
    for name, value in ratios(int(sys.argv[2] if len(sys.argv) > 2 else 256) << 20).items():
        print(f"{name:24s} {value:6.2f}" + ("x" if "/" in name else " s/GiB"))
