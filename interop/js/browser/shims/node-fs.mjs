// `node:fs` for the browser bundle: the page fetches vectors/*.json before it loads the tests, into
// globalThis.__DOMVIA_FILES (file name -> text); readFileSync and readdirSync read that, by file name.
const files = () => {
  if (!globalThis.__DOMVIA_FILES) throw new Error('the page did not preload the vector files');
  return globalThis.__DOMVIA_FILES;
};
const baseName = (path) => String(path).split('/').pop();

export function readFileSync(path) {
  const text = files()[baseName(path)];
  if (text === undefined) throw new Error(`ENOENT: ${path} was not preloaded`);
  return text;
}

export function readdirSync() {
  return Object.keys(files()).sort();
}

export default { readFileSync, readdirSync };
