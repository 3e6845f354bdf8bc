import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AttachmentReader,
  AttachmentReference,
  AttachmentSealer,
  openAttachment,
  openAttachmentChunk,
  sealAttachment,
} from '../src/index.mjs';
import { chunkLength, chunkOffset, proofOffsets } from '../src/attachment.mjs';
import { code } from '../testing/code.mjs';


const data = (n) => Uint8Array.from({ length: n }, (_, i) => (i * 131 + 7) & 0xff);

test('streaming sealing in odd pieces gives a blob that opens whole, streamed and by chunk', () => {
  for (const suite of ['A256GCM', 'XC20P']) {
    for (const size of [0, 1, 64, 65, 200, 256]) {
      const plain = data(size);
      const sealer = new AttachmentSealer({ suite, chunkSize: 64, contentType: 'image/png' });
      const parts = [];
      for (let o = 0; o < size; o += 13) parts.push(sealer.push(plain.subarray(o, o + 13)));
      const { bytes, reference } = sealer.finish();
      parts.push(bytes);
      const blob = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let o = 0;
      for (const p of parts) {
        blob.set(p, o);
        o += p.length;
      }
      assert.equal(blob.length, reference.encryptedSize);
      const ref = AttachmentReference.fromJSON(reference.toJSON());
      assert.deepEqual(openAttachment(ref, blob), plain);
      const reader = new AttachmentReader(reference.toJSON());
      const out = [];
      for (let i = 0; i < blob.length; i += 50) out.push(...reader.push(blob.subarray(i, i + 50)));
      out.push(...reader.finish());
      assert.deepEqual(Uint8Array.from(out), plain);
      for (let i = 0; i < ref.chunkCount; i++) {
        const start = chunkOffset(i, 64);
        const chunk = blob.subarray(start, start + chunkLength(ref, i));
        const proof = new Uint8Array(proofOffsets(ref, i).flatMap((at) => [...blob.subarray(at, at + 32)]));
        assert.deepEqual(openAttachmentChunk(ref, blob.subarray(0, 70), i, chunk, proof), plain.subarray(i * 64, i * 64 + 64));
        if (proof.length) {
          const wrong = Uint8Array.from(proof);
          wrong[0] ^= 1;
          assert.equal(code(() => openAttachmentChunk(ref, blob.subarray(0, 70), i, chunk, wrong)), 'E_AUTH');
          assert.equal(code(() => openAttachmentChunk(ref, blob.subarray(0, 70), i, chunk, proof.subarray(32))), 'E_AUTH');
        }
      }
      assert.equal(code(() => openAttachmentChunk(ref, blob.subarray(0, 70), ref.chunkCount, new Uint8Array(16), new Uint8Array(0))), 'E_FORMAT');
      assert.equal(code(() => openAttachment(ref, blob.subarray(0, blob.length - 1))), 'E_AUTH');
    }
  }
});

test('a reader releases nothing after an error', () => {
  const { blob, reference } = sealAttachment(data(300), { chunkSize: 64 });
  const bad = Uint8Array.from(blob);
  bad[70 + 5] ^= 1;
  const reader = new AttachmentReader(reference);
  assert.equal(code(() => reader.push(bad)), 'E_AUTH');
  assert.equal(code(() => reader.push(new Uint8Array(0))), 'E_AUTH');
  assert.equal(code(() => reader.finish()), 'E_AUTH');
  assert.doesNotMatch(String(reference), /key/);
});
