#!/usr/bin/env node
// The JavaScript implementation in a real headless Chromium (Debian's /usr/bin/chromium, driven by
// puppeteer-core), served from an HTTP server on 127.0.0.1 that this script starts and stops.
//
//   node browser/run.mjs tests     every unit test of test/*.test.mjs (and so every vector) in the page
//   node browser/run.mjs adapter   the conformance adapter protocol (spec/conformance.md) on stdin/stdout,
//                                  answered by the page: `domvia-e2ee conformance --impl "node interop/js/browser/run.mjs adapter"`;
//                                  besides the conformance ops, the browser_* ops of browser/page.mjs (round trips)
//   node browser/run.mjs size      the size of a browser bundle of the library: minified, and gzip-compressed
//   node browser/run.mjs webcrypto which primitives the page's WebCrypto offers (browser/webcrypto-probe.mjs)
//
// CHROMIUM overrides the browser's path. Nothing listens beyond 127.0.0.1; the page loads nothing from elsewhere.
import { createServer } from 'node:http';
import { readFileSync, readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import puppeteer from 'puppeteer-core';

const HERE = dirname(fileURLToPath(import.meta.url));
const JS = join(HERE, '..');
const VECTORS = join(JS, '..', '..', 'vectors');
// spec files a unit test reads (test/unreadable.test.mjs), preloaded beside the vectors
const SPEC_FILES = { 'unreadable.md': join(JS, '..', '..', 'spec', 'unreadable.md') };
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/** esbuild resolves node:test, node:assert/strict, node:fs, node:url and node:path to browser/shims. */
const shims = {
  name: 'node-shims',
  setup(build) {
    build.onResolve({ filter: /^node:/ }, (args) => {
      const name = args.path.slice('node:'.length).replace('/strict', '');
      return { path: join(HERE, 'shims', `node-${name}.mjs`) };
    });
  },
};

async function bundle(contents, { minify = false, metafile = false } = {}) {
  const result = await esbuild.build({
    metafile,
    stdin: { contents, resolveDir: JS, loader: 'js' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    minify,
    write: false,
    plugins: [shims],
    logLevel: 'warning',
  });
  return metafile ? { text: result.outputFiles[0].text, metafile: result.metafile } : result.outputFiles[0].text;
}

function testsEntry() {
  const files = readdirSync(join(JS, 'test')).filter((f) => f.endsWith('.test.mjs')).sort();
  return files.map((f) => `import './test/${f}';`).join('\n') + "\nexport { run } from 'node:test';\n";
}

const PAGE = `<!doctype html><meta charset="utf-8"><title>domvia-e2ee in Chromium</title>
<script type="module">
  const names = await (await fetch('/vectors/')).json();
  globalThis.__DOMVIA_FILES = Object.fromEntries(await Promise.all(
    names.map(async (n) => [n, await (await fetch('/vectors/' + n)).text()])));
  globalThis.domvia = await import('/app.js');
  document.title = 'ready';
</script>`;

/** Serves the page, the bundle, vectors/*.json and SPEC_FILES on 127.0.0.1 (an ephemeral port). */
async function serve(app) {
  const names = [...readdirSync(VECTORS).filter((f) => f.endsWith('.json')).sort(), ...Object.keys(SPEC_FILES)];
  const pathOf = (name) => SPEC_FILES[name] ?? join(VECTORS, name);
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://127.0.0.1').pathname;
    const send = (type, body) => res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
    if (path === '/') return send('text/html; charset=utf-8', PAGE);
    if (path === '/favicon.ico') return res.writeHead(204).end();
    if (path === '/app.js') return send('text/javascript; charset=utf-8', app);
    if (path === '/vectors/') return send('application/json', JSON.stringify(names));
    const name = path.startsWith('/vectors/') ? path.slice('/vectors/'.length) : null;
    if (name && names.includes(name)) return send('application/json', readFileSync(pathOf(name)));
    res.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

async function withPage(app, fn) {
  const server = await serve(app);
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--no-default-browser-check'],
  });
  try {
    const page = await browser.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warn') process.stderr.write(`[chromium] ${m.text()}\n`);
    });
    page.on('pageerror', (e) => process.stderr.write(`[chromium] ${e}\n`));
    // Everything the page loads must come from this server.
    await page.setRequestInterception(true);
    const origin = `http://127.0.0.1:${server.address().port}`;
    page.on('request', (r) => (r.url().startsWith(origin + '/') ? r.continue() : r.abort()));
    await page.goto(origin + '/');
    await page.waitForFunction(() => document.title === 'ready', { timeout: 60_000 });
    return await fn(page, await browser.version());
  } finally {
    await browser.close();
    server.close();
  }
}

async function tests() {
  const app = await bundle(testsEntry());
  const started = performance.now();
  const { results, version } = await withPage(app, async (page, version) => ({
    results: await page.evaluate(() => globalThis.domvia.run()),
    version,
  }));
  for (const r of results) {
    console.log(`${r.ok ? 'PASS' : 'FAIL'} ${r.name} (${r.ms.toFixed(0)} ms)`);
    if (!r.ok) console.log(r.error.split('\n').map((l) => '    ' + l).join('\n'));
  }
  const failed = results.filter((r) => !r.ok).length;
  console.log(`${version}: ${results.length - failed} passed, ${failed} failed, ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return failed === 0 && results.length > 0 ? 0 : 1;
}

async function adapter() {
  const app = await bundle("export { respond } from './browser/page.mjs';\n");
  await withPage(app, async (page) => {
    const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
    for await (const line of rl) {
      if (!line.trim()) continue;
      const response = await page.evaluate((l) => globalThis.domvia.respond(l), line);
      if (!process.stdout.write(response + '\n')) await once(process.stdout, 'drain');
    }
  });
  return 0;
}

async function size() {
  const { text, metafile } = await bundle("export * from './src/index.mjs';\n", { minify: true, metafile: true });
  // Minified bytes in the output by package (src/ is this implementation).
  const parts = {};
  for (const [path, { bytesInOutput }] of Object.entries(Object.values(metafile.outputs)[0].inputs)) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
    const name = m ? m[1] : 'src (this implementation)';
    parts[name] = (parts[name] ?? 0) + bytesInOutput;
  }
  console.log(JSON.stringify({
    entry: 'src/index.mjs', esbuild: esbuild.version, target: 'chrome120, ESM, minified',
    minified_bytes: Buffer.byteLength(text), gzip_bytes: gzipSync(text, { level: 9 }).length, by_package: parts,
  }, null, 1));
  return 0;
}

async function webcrypto() {
  const app = await bundle("export { probeWebCrypto } from './browser/webcrypto-probe.mjs';\n");
  const out = await withPage(app, async (page, version) => ({
    platform: version, ...(await page.evaluate(() => globalThis.domvia.probeWebCrypto())),
  }));
  console.log(JSON.stringify(out, null, 1));
  return 0;
}

const MODES = { tests, adapter, size, webcrypto };
const mode = MODES[process.argv[2]];
if (!mode) {
  process.stderr.write(`usage: node browser/run.mjs {${Object.keys(MODES).join('|')}}\n`);
  process.exit(2);
}
process.exitCode = await mode();
