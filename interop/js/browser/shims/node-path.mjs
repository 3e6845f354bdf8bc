// `node:path` for the browser bundle.
export const join = (...parts) => parts.join('/').replace(/\/+/g, '/');
export default { join };
