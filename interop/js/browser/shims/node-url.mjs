// `node:url` for the browser bundle: a file "path" is the URL itself (node-fs.mjs reads by file name).
export const fileURLToPath = (url) => String(url);
export default { fileURLToPath };
