// Differential mutation probes (a maintenance tool, not a test): every successful session vector of the group-state
// files with one accepted structure or opened binary message mutated (a flipped byte, a cut, an appended byte), expected answer = THIS
// implementation's. Run the reference on the output with `domvia-e2ee conformance --vectors DIR`: a FAIL is a
// disagreement. Usage: node testing/mutate.mjs OUT.json [mutations per step, default 4] [seed]
import { readFileSync, writeFileSync } from 'node:fs';
import { runOp } from '../conformance/ops.mjs';

const out = process.argv[2] ?? 'mutations.json';
const per = Number(process.argv[3] ?? 4);
let seed = Number(process.argv[4] ?? 1);
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const cases = [];
for (const f of ['bundle', 'history', 'keyring']) {
  const doc = JSON.parse(readFileSync(new URL(`../../../vectors/${f}.json`, import.meta.url), 'utf8'));
  for (const c of doc.cases) {
    if (c.op !== 'session' || !c.output) continue;
    c.input.steps.forEach((step, si) => {
      const hex = step.accept ?? step.open?.binary;
      if (!hex) return;
      const wrap = (m) => (step.accept ? { accept: m.toString('hex') } : { ...step, open: { binary: m.toString('hex') } });
      for (let k = 0; k < per; k++) {
        const bytes = Buffer.from(hex, 'hex');
        const kind = rand();
        let m;
        if (kind < 0.8) {
          const i = Math.floor(rand() * bytes.length);
          m = Buffer.from(bytes);
          m[i] ^= 1 << Math.floor(rand() * 8);
        } else if (kind < 0.9) m = bytes.subarray(0, Math.floor(rand() * bytes.length));
        else m = Buffer.concat([bytes, Buffer.from([Math.floor(rand() * 256)])]);
        const steps = c.input.steps.slice(0, si + 1).map((s, j) => (j === si ? wrap(m) : s));
        cases.push({ id: `mut-${c.id}-${si}-${k}`, op: 'session', description: `${c.id} step ${si} mutated`, input: { ...c.input, steps } });
      }
    });
  }
}
for (const c of cases) {
  try {
    c.output = (await runOp(c.op, c.input)).output;
  } catch (e) {
    c.error = e.code ?? `uncaught ${e}`;
  }
}
writeFileSync(out, JSON.stringify({ name: 'mutations', version: 1, description: 'mutated group-state sessions', cases }));
console.log(`${cases.length} cases`);
