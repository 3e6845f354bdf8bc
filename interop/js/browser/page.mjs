// What the Chromium page runs (bundled by run.mjs with esbuild): the conformance operations, and the
// browser side of the round trips with the Python library. The page's own identity is generated here,
// with the browser's randomness, and its private keys never leave the page.
import { openedOutput, runOp } from '../conformance/ops.mjs';
import { FormatError, UnsupportedError } from '../src/errors.mjs';
import { Identity, KeyRing, PublicIdentity, RoomKey, fromHex, open, openUnsigned, seal, sealUnsigned, toHex } from '../src/index.mjs';

let me = null; // this page's Identity, made by browser_identity

function opened(o) {
  return openedOutput(o, true);
}

function wire(r) {
  if (typeof r.binary === 'string') return fromHex(r.binary, 'binary');
  if (typeof r.json === 'string') return r.json;
  throw new FormatError('message', 'binary or json is required');
}

function mine() {
  if (!me) throw new FormatError('identity', 'call browser_identity first');
  return me;
}

const BROWSER_OPS = {
  /** A fresh identity made in the page: {id} -> {public: identity JSON text}. */
  async browser_identity(i) {
    me = await Identity.generate(i.id);
    return { public: me.public.toJSON() };
  },

  /** Open with a room key: {secret, suite, room_id, epoch, binary|json, sender?: public JSON text}. */
  async browser_open(i) {
    const key = new RoomKey(fromHex(i.secret, 'secret'), { roomId: i.room_id, epoch: i.epoch, suite: i.suite });
    const o = i.sender ? open(key, wire(i), PublicIdentity.fromJSON(i.sender)) : openUnsigned(key, wire(i));
    return opened(o);
  },

  /** Seal with a room key and a random nonce, signed with the page's identity unless signed is false. */
  async browser_seal(i) {
    const key = new RoomKey(fromHex(i.secret, 'secret'), { roomId: i.room_id, epoch: i.epoch, suite: i.suite });
    const options = { messageId: i.message_id, contentType: i.content_type, padded: i.padded };
    const msg = i.signed === false
      ? sealUnsigned(key, fromHex(i.content, 'content'), { ...options, senderId: i.sender_id })
      : seal(key, fromHex(i.content, 'content'), { ...options, senderId: mine().id, signer: mine() });
    return { binary: toHex(msg.toBinary()), json: msg.toJSON() };
  },

  /**
   * A key ring owned by the page's identity: {directory: [public JSON], admins: [{room_id, id}], steps}, steps
   * {accept: hex} (a bundle, slice or history bundle), {open: {binary|json}}, {seal: {room_id, content, message_id}}.
   */
  async browser_keyring(i) {
    const ring = new KeyRing(mine());
    for (const text of i.directory ?? []) ring.addIdentity(PublicIdentity.fromJSON(text));
    for (const a of i.anchors ?? []) ring.trustAnchor(a.room_id, ring.identity(a.id));
    const results = [];
    for (const step of i.steps) {
      if (step.accept !== undefined) {
        const a = await ring.accept(fromHex(step.accept, 'accept'));
        results.push({ accepted: { room_id: a.roomId, epochs: a.epochs, kind: a.kind } });
      } else if (step.open !== undefined) {
        results.push({ opened: opened(ring.open(wire(step.open))) });
      } else if (step.seal !== undefined) {
        const msg = ring.seal(step.seal.room_id, fromHex(step.seal.content, 'content'), { messageId: step.seal.message_id });
        results.push({ sealed: { binary: toHex(msg.toBinary()) } });
      } else {
        throw new UnsupportedError('unknown key ring step');
      }
    }
    return { results };
  },

  /** What the platform's own Ed25519 says: {public, signature, message} (hex) -> {importable, verifies}. */
  async browser_webcrypto_ed25519(i) {
    let key;
    try {
      key = await crypto.subtle.importKey('raw', fromHex(i.public), { name: 'Ed25519' }, false, ['verify']);
    } catch (e) {
      return { importable: false, verifies: null, why: String(e && e.name) };
    }
    return { importable: true, verifies: await crypto.subtle.verify({ name: 'Ed25519' }, key, fromHex(i.signature), fromHex(i.message)) };
  },
};

/** One line of the adapter protocol (spec/conformance.md) in, one line out. */
export async function respond(line) {
  let id = null;
  try {
    const request = JSON.parse(line);
    id = request.id ?? null;
    const op = BROWSER_OPS[request.op];
    return JSON.stringify({ id, ...(op ? { output: await op(request.input ?? {}) } : await runOp(request.op, request.input ?? {})) });
  } catch (e) {
    const code = e && typeof e.code === 'string' && e.code.startsWith('E_') ? e.code : 'E_INTERNAL';
    if (code === 'E_INTERNAL') console.error(`${id}: ${e && e.stack}`); // run.mjs copies it to standard error
    return JSON.stringify({ id, error: code });
  }
}
