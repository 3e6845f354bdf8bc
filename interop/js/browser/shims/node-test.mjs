// `node:test` for the browser bundle: test() registers, run() runs every registered test in order.
const tests = [];

export function test(name, fn) {
  tests.push({ name, fn });
}

export default test;

export async function run() {
  const results = [];
  for (const { name, fn } of tests) {
    const start = performance.now();
    try {
      await fn();
      results.push({ name, ok: true, ms: performance.now() - start });
    } catch (e) {
      results.push({ name, ok: false, ms: performance.now() - start, error: String((e && e.stack) || e) });
    }
  }
  return results;
}
