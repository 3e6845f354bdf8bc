#!/usr/bin/env node
// Conformance adapter (spec/conformance.md#adapter-protocol): one JSON request per line on standard
// input, one JSON response per line on standard output, in order; exits when standard input closes.
// It only translates the protocol: the operations are in conformance/ops.mjs, the library in src/.
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { runOp } from './conformance/ops.mjs';

async function respond(line) {
  let id = null;
  try {
    const req = JSON.parse(line);
    id = req.id ?? null;
    return { id, ...(await runOp(req.op, req.input ?? {})) };
  } catch (e) {
    const code = e && typeof e.code === 'string' && e.code.startsWith('E_') ? e.code : 'E_INTERNAL';
    if (code === 'E_INTERNAL' && process.env.DOMVIA_JS_DEBUG) process.stderr.write(`${id}: ${e && e.stack}\n`);
    return { id, error: code };
  }
}

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
  if (!line.trim()) continue;
  const response = await respond(line);
  if (!process.stdout.write(JSON.stringify(response) + '\n')) await once(process.stdout, 'drain');
}
