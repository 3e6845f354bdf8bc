// Every published vector through the conformance operations, without the Python runner.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { runOp } from '../conformance/ops.mjs';

const dir = fileURLToPath(new URL('../../../vectors/', import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

for (const file of files) {
  const doc = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  test(`vectors/${file}`, async () => {
    let failures = [];
    for (const c of doc.cases) {
      let got;
      try {
        got = await runOp(c.op, c.input);
      } catch (e) {
        got = { error: e.code ?? `uncaught ${e}` };
      }
      const want = 'error' in c ? { error: c.error } : { output: c.output };
      try {
        assert.deepStrictEqual(got, want);
      } catch {
        failures.push(`${c.id}: expected ${JSON.stringify(want).slice(0, 200)}, got ${JSON.stringify(got).slice(0, 200)}`);
      }
    }
    assert.deepEqual(failures, []);
  });
}
