// Key backups and sibling shares (spec/backup.md): recovery key text, backup infos, chunks, restore and share between
// key rings, E_DEVICE_TOO_NEW and E_WITHHELD in opening.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Identity, KeyRing, UserSigner, buildDeviceList, toHex } from '../src/index.mjs';
import { formatRecoveryKey, generateSecret, backupKeyPair, parseRecoveryKey } from '../src/recovery.mjs';
import { buildBackupInfo, openBackupInfo, parseBackupInfo, secretOf, verifyBackupInfo } from '../src/backupinfo.mjs';
import { parseChunk } from '../src/backupchunk.mjs';

const code = (fn) => assert.rejects(fn, (e) => e.code);
const codeOf = async (fn) => {
  try {
    await fn();
  } catch (e) {
    return e.code;
  }
  return null;
};

test('recovery key text: format, tolerant reading, every refusal', () => {
  const secret = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
  const text = formatRecoveryKey(secret);
  assert.match(text, /^DVRK(-[A-Z2-7]{5}){11}$/);
  assert.deepEqual(parseRecoveryKey(text), secret);
  assert.deepEqual(parseRecoveryKey(` ${text.toLowerCase().replaceAll('-', ' ')} `), secret);
  assert.deepEqual(parseRecoveryKey(text.slice(5)), secret); // without DVRK
  const body = text.slice(5).replaceAll('-', '');
  const last = body.at(-1);
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const unusedSet = A[A.indexOf(last) | 1];
  for (const bad of [body.slice(0, -1) + (unusedSet === last ? A[A.indexOf(last) ^ 2] : unusedSet), body + 'A', body.slice(1), body.replace(/.$/, '1'),
    body.slice(0, 10) + (body[10] === 'A' ? 'B' : 'A') + body.slice(11)]) {
    assert.throws(() => parseRecoveryKey(bad), (e) => e.code === 'E_FORMAT' && e.field === 'recovery_key', bad);
  }
});

test('backup infos: build, parse, verify, open; tampering and bounds', async () => {
  const alice = new UserSigner('alice', new Uint8Array(32).fill(1));
  const secret = generateSecret();
  const pair = await backupKeyPair(secret);
  const info = buildBackupInfo({ signer: alice, version: 1, publicKey: pair.publicKey });
  const parsed = verifyBackupInfo(parseBackupInfo(info), alice.public);
  assert.deepEqual(parsed.keyId, pair.keyId);
  await openBackupInfo(parsed, secretOf(parsed, { recoveryKey: formatRecoveryKey(secret) }));
  assert.equal(await codeOf(() => openBackupInfo(parsed, generateSecret())), 'E_AUTH');
  const tampered = Uint8Array.from(info);
  tampered[20] ^= 1;
  assert.throws(() => verifyBackupInfo(parseBackupInfo(tampered), alice.public), (e) => e.code === 'E_AUTH');
  const bob = new UserSigner('bob', new Uint8Array(32).fill(2));
  assert.throws(() => verifyBackupInfo(parsed, bob.public), (e) => e.code === 'E_FORMAT');
  assert.throws(() => buildBackupInfo({ signer: alice, version: 1, publicKey: pair.publicKey, kdf: 'passphrase', salt: new Uint8Array(16), memoryKib: 8191, iterations: 1, lanes: 1 }),
    (e) => e.code === 'E_FORMAT' && e.field === 'kdf.memory_kib');
  assert.throws(() => parseBackupInfo(Uint8Array.of(...info, 0)), (e) => e.code === 'E_FORMAT');
});

/** alice/phone creates a room with bob (epoch 1), then adds alice/tablet (epoch 2); the tablet joins at epoch 2. */
async function family() {
  const phone = await Identity.generate('alice/phone');
  const tablet = await Identity.generate('alice/tablet', { pq: true });
  const bob = await Identity.generate('bob');
  const alice = new UserSigner('alice', new Uint8Array(32).fill(3));
  const v1 = buildDeviceList({ signer: alice, version: 1, issuedAt: 1, devices: [phone.public] });
  const v2 = buildDeviceList({ signer: alice, version: 2, issuedAt: 2, devices: [phone.public, tablet.public] });
  const phoneRing = new KeyRing(phone);
  phoneRing.addDeviceList(v1);
  await phoneRing.rotate('room', { members: [phone.public, bob.public] });
  const m1 = phoneRing.seal('room', new TextEncoder().encode('before the tablet')).toBinary();
  phoneRing.addDeviceList(v2);
  const e2 = await phoneRing.rotate('room', { members: [phone.public, tablet.public, bob.public] });
  const tabletRing = new KeyRing(tablet);
  tabletRing.addDeviceList(v2);
  tabletRing.trustAnchor('room', phone.public);
  await tabletRing.accept(e2.slices['alice/tablet']);
  return { phone, tablet, bob, alice, v2, phoneRing, tabletRing, m1 };
}

test('a sibling share brings the epochs before the tablet was added', async () => {
  const { phoneRing, tabletRing, tablet, bob, m1 } = await family();
  assert.equal(await codeOf(() => tabletRing.open(m1)), 'E_DEVICE_TOO_NEW');
  const chunks = await phoneRing.shareWithSibling(tablet.public);
  assert.equal(parseChunk(chunks[0]).kem.id, 2); // the tablet has an X-Wing key
  const r = await tabletRing.acceptShare(chunks);
  assert.deepEqual(r, { rooms: { room: [1, 2] }, keys: 2, refusedRooms: {}, refusedChunks: [] }); // epoch 2 was held: reported all the same
  assert.equal(new TextDecoder().decode(tabletRing.open(m1, { checkReplay: false }).content), 'before the tablet');
  assert.deepEqual(tabletRing.held().map((h) => [h.epoch, !!h.secret]), [[1, true], [2, true]]);
  // the same share again adds nothing
  assert.deepEqual((await tabletRing.acceptShare(chunks)).rooms, { room: [1, 2] }); // reported again, as the reference does
  assert.equal(await codeOf(() => phoneRing.shareWithSibling(bob.public)), 'E_UNAUTHORIZED');
  assert.equal(await codeOf(() => new KeyRing(bob).acceptShare(chunks)), 'E_POLICY');
});

test('a backup restores a new device; retention forgets keys, E_WITHHELD, and a restore brings them back', async () => {
  const { phoneRing, tablet, alice, v2, m1 } = await family();
  const secret = generateSecret();
  const pair = await backupKeyPair(secret);
  const info = buildBackupInfo({ signer: alice, version: 1, publicKey: pair.publicKey });
  const chunks = await phoneRing.backup(info, { seq: 1 });
  assert.equal(chunks.length, 1);
  assert.deepEqual(await phoneRing.backup(info, { seq: 2 }), []); // nothing new
  const fresh = new KeyRing(tablet);
  fresh.addDeviceList(v2);
  const recoveryKey = formatRecoveryKey(secret);
  assert.equal(await codeOf(() => fresh.restore({ info, chunks, recoveryKey: formatRecoveryKey(generateSecret()) })), 'E_AUTH');
  const r = await fresh.restore({ info, chunks, recoveryKey });
  assert.deepEqual(r.rooms, { room: [1, 2] });
  assert.equal(r.keys, 2);
  assert.equal(toHex(fresh.held()[0].keyId), toHex(phoneRing.held()[0].keyId));
  // retention on the phone: epoch 1's key is forgotten (never the latest)
  assert.equal(phoneRing.forgetOldKeys({ maxAgeSeconds: 1, now: 2 ** 40 }), 1);
  assert.equal(await codeOf(() => phoneRing.open(m1, { checkReplay: false })), 'E_WITHHELD');
  const back = await phoneRing.restore({ info, chunks, recoveryKey });
  assert.deepEqual(back.rooms, { room: [1, 2] });
  assert.equal(back.keys, 2);
  assert.equal(phoneRing.open(m1, { checkReplay: false }).epoch, 1);
});
