// Differential probes of spec/backup.md's open points (SPEC-FINDINGS.md, B-rows): cases built from vectors/backup.json
// (its owner alice/tablet re-uploads, to itself, entries it decrypts from alice/phone's share) whose expected answer is
// THIS implementation's, run against the reference as a black box. Usage:
//   node testing/probe-backup.mjs /tmp/probe-b/probe.json && domvia-e2ee conformance --vectors /tmp/probe-b
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Identity, fromHex, toHex } from '../src/index.mjs';
import { buildChunk, openChunk, parseChunk, parseEntries } from '../src/backupchunk.mjs';
import { _sealWithNonce } from '../src/message.mjs';
import { RoomKey } from '../src/keys.mjs';
import { runOp } from '../conformance/ops.mjs';

const doc = JSON.parse(readFileSync(fileURLToPath(new URL('../../../vectors/backup.json', import.meta.url)), 'utf8'));
const base = doc.cases.find((c) => c.id === 'backup-share-from-sibling');
const o = base.input.owner;
const owner = await Identity.fromKeys({ id: o.id, x25519: fromHex(o.x25519), ed25519: fromHex(o.ed25519) });
const shared = parseChunk(fromHex(base.input.steps[2].accept_share[0]));
const entries = parseEntries(await openChunk(shared, owner.x25519Private));
const [e1, e2] = entries;
const self = (es, seq = 1, userId = 'alice') => buildChunk({ userId, uploader: owner, seq, recipient: { kind: 2, identity: owner.public }, entries: es });
const cases = [];
async function session(id, description, steps, allowUnsigned = false) {
  const input = { ...base.input, allow_unsigned: allowUnsigned, steps: [...base.input.steps.slice(0, 2), ...steps] };
  let r;
  try {
    r = await runOp('session', input);
  } catch (e) {
    r = { error: e.code ?? `uncaught ${e}` };
  }
  cases.push({ id: `probe-b-${id}`, op: 'session', description, input, ...('error' in r ? { error: r.error } : { output: r.output }) });
}
const hx = async (p) => toHex(await p);
// an unsigned message of epoch 1 from alice/phone (step 2 decides before any key or sender check)
const k1 = new RoomKey(e1.key, { roomId: 'room-u', epoch: 1, suite: e1.header.suite });
const m1 = toHex(_sealWithNonce(k1, new TextEncoder().encode('hi'), { senderId: 'alice/phone', messageId: 'm1', signer: null }, new Uint8Array(k1.suite.nonceLength)).toBinary());

await session('epoch2-then-open-1', 'a share of epoch 2 only; a message of epoch 1 is then E_NOT_MEMBER (restored)', [
  { accept_share: [await hx(self([e2]))] }, { open: { binary: m1 }, check_replay: true, may_fail: true }], true);
await session('self-upload', "the owner's own chunk (on the list) restores", [{ accept_share: [await hx(self(entries))] }]);
await session('share-twice', 'the same share twice: the second adds nothing (rooms {})', [
  { accept_share: [await hx(self(entries))] }, { accept_share: [await hx(self(entries))] }]);
await session('chained-tail-key', 'epoch 1 signed, epoch 2 bare with its key: the tail is bare, E_AUTH', [
  { accept_share: [await hx(self([e1, { ...e2, kind: 2, data: e2.header.bytes }]))] }]);
await session('chained-first', 'epoch 1 bare (with key), epoch 2 signed: both restored', [
  { accept_share: [await hx(self([{ ...e1, kind: 2, data: e1.header.bytes }, e2]))] }]);
await session('merge-two-chunks', 'epoch 1 in one chunk, epoch 2 in another, epoch 1 again without key', [
  { accept_share: [await hx(self([e1], 1)), await hx(self([e2, { ...e1, key: null }], 2))] }]);
await session('wrong-key-in-duplicate', 'epoch 2 twice, once with a wrong key: E_AUTH for the room', [
  { accept_share: [await hx(self([e1, e2], 1)), await hx(self([{ ...e2, key: new Uint8Array(32) }], 2))] }]);
await session('wrong-key-first', 'epoch 2 twice, the wrong key first: the first key is used, E_AUTH', [
  { accept_share: [await hx(self([{ ...e2, key: new Uint8Array(32) }], 1)), await hx(self([e1, e2], 2))] }]);
await session('only-wrong-key', 'epoch 2 with a wrong key only: E_AUTH for the room', [
  { accept_share: [await hx(self([e1, { ...e2, key: new Uint8Array(32) }], 1))] }]);
await session('older-run-ignored', 'epoch 1 alone and epoch 2 missing... only epoch 1: a run of one signed entry', [
  { accept_share: [await hx(self([e1]))] }]);
writeFileSync(process.argv[2] ?? '/tmp/probe-b/probe.json', JSON.stringify({ name: 'probe-backup', version: 1, description: 'probes', cases }, null, 1));
console.log(cases.map((c) => `${c.id}: ${JSON.stringify(c.output?.results?.slice(2) ?? c.error)}`).join('\n'));
