// Strict JSON (spec/encoding.md#json): a parser that rejects duplicate member names (compared after
// unescaping), keeps integers apart from fractions/exponents, and a canonical serializer.
import { FormatError } from './errors.mjs';

/** A JSON number written with a fraction or an exponent: never an integer. */
export class JsonNonInteger {
  constructor(text) {
    this.text = text;
  }
}

// ignoreBOM: true keeps a byte order mark in the text, where the parser refuses it (TextDecoder strips it by default).
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const ENC = new TextEncoder();

/** UTF-8 byte length of a JS string. */
export function utf8Length(s) {
  return ENC.encode(s).length;
}

/**
 * Parse a JSON text strictly. Objects become null-prototype objects, integers BigInt,
 * other numbers JsonNonInteger. `field` names the structure in errors; `maxBytes` is its size limit.
 * The top level MUST be an object.
 */
export function parseStrict(input, field, maxBytes) {
  let text;
  if (typeof input === 'string') {
    text = input;
    if (maxBytes !== undefined && (text.length > maxBytes * 3 || utf8Length(text) > maxBytes)) {
      throw new FormatError(field, 'too large');
    }
  } else if (input instanceof Uint8Array) {
    if (maxBytes !== undefined && input.length > maxBytes) throw new FormatError(field, 'too large');
    try {
      text = UTF8.decode(input);
    } catch {
      throw new FormatError(field, 'not UTF-8');
    }
  } else {
    throw new FormatError(field, 'not a JSON text');
  }
  const p = new Parser(text, field);
  p.ws();
  const v = p.value(0);
  p.ws();
  if (p.i !== text.length) p.fail('trailing characters');
  if (!isObject(v)) throw new FormatError(field, 'top level is not an object');
  return v;
}

export function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof JsonNonInteger);
}

const MAX_DEPTH = 32;

class Parser {
  constructor(text, field) {
    this.t = text;
    this.i = 0;
    this.field = field;
  }
  fail(why) {
    throw new FormatError(this.field, `invalid JSON (${why})`);
  }
  ws() {
    const t = this.t;
    while (this.i < t.length) {
      const c = t.charCodeAt(this.i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.i++;
      else break;
    }
  }
  value(depth) {
    if (depth > MAX_DEPTH) this.fail('nested too deeply');
    const c = this.t[this.i];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return this.string();
    if (c === '-' || (c >= '0' && c <= '9')) return this.number();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]]) {
      if (this.t.startsWith(word, this.i)) {
        this.i += word.length;
        return v;
      }
    }
    this.fail('unexpected character');
  }
  object(depth) {
    this.i++; // {
    const obj = Object.create(null);
    this.ws();
    if (this.t[this.i] === '}') {
      this.i++;
      return obj;
    }
    for (;;) {
      this.ws();
      if (this.t[this.i] !== '"') this.fail('expected a member name');
      const name = this.string();
      if (Object.prototype.hasOwnProperty.call(obj, name)) {
        throw new FormatError(name, 'duplicate member');
      }
      this.ws();
      if (this.t[this.i] !== ':') this.fail("expected ':'");
      this.i++;
      this.ws();
      obj[name] = this.value(depth + 1);
      this.ws();
      const c = this.t[this.i];
      if (c === ',') {
        this.i++;
        continue;
      }
      if (c === '}') {
        this.i++;
        return obj;
      }
      this.fail("expected ',' or '}'");
    }
  }
  array(depth) {
    this.i++; // [
    const arr = [];
    this.ws();
    if (this.t[this.i] === ']') {
      this.i++;
      return arr;
    }
    for (;;) {
      this.ws();
      arr.push(this.value(depth + 1));
      this.ws();
      const c = this.t[this.i];
      if (c === ',') {
        this.i++;
        continue;
      }
      if (c === ']') {
        this.i++;
        return arr;
      }
      this.fail("expected ',' or ']'");
    }
  }
  string() {
    const t = this.t;
    this.i++; // opening quote
    let out = '';
    for (;;) {
      if (this.i >= t.length) this.fail('unterminated string');
      const c = t.charCodeAt(this.i);
      if (c === 0x22) {
        this.i++;
        return out;
      }
      if (c < 0x20) this.fail('control character in string');
      if (c >= 0xd800 && c <= 0xdfff) {
        // A string handed in already decoded may hold a raw lone surrogate (no UTF-8 text can).
        const next = t.charCodeAt(this.i + 1);
        if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) this.fail('lone surrogate');
        out += t[this.i] + t[this.i + 1];
        this.i += 2;
        continue;
      }
      if (c !== 0x5c) {
        out += t[this.i++];
        continue;
      }
      const e = t[this.i + 1];
      this.i += 2;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          const unit = this.hex4();
          if (unit >= 0xdc00 && unit <= 0xdfff) this.fail('lone surrogate');
          if (unit >= 0xd800 && unit <= 0xdbff) {
            // A high surrogate MUST be followed by an escaped low surrogate: the pair is one character.
            if (t[this.i] !== '\\' || t[this.i + 1] !== 'u') this.fail('lone surrogate');
            this.i += 2;
            const low = this.hex4();
            if (low < 0xdc00 || low > 0xdfff) this.fail('lone surrogate');
            out += String.fromCharCode(unit, low);
          } else {
            out += String.fromCharCode(unit);
          }
          break;
        }
        default:
          this.fail('bad escape');
      }
    }
  }
  hex4() {
    const h = this.t.substr(this.i, 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) this.fail('bad \\u escape');
    this.i += 4;
    return parseInt(h, 16);
  }
  number() {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(this.t.slice(this.i, this.i + 400));
    if (!m || m[0] === '-' || m[0] === '') this.fail('bad number');
    const s = m[0];
    this.i += s.length;
    if (m[2] === undefined && m[3] === undefined) {
      if (s === '-0') this.fail('-0 is not an integer of this format');
      return BigInt(s);
    }
    return new JsonNonInteger(s);
  }
}

// ---------------------------------------------------------------- reading members

/**
 * Check that `obj` has exactly the members in `required` and optionally those in `optional`.
 * Unknown member -> E_FORMAT naming it; missing member -> E_FORMAT naming it.
 */
export function checkMembers(obj, required, optional = []) {
  for (const k of Object.keys(obj)) {
    if (!required.includes(k) && !optional.includes(k)) throw new FormatError(k, 'unknown member');
  }
  for (const k of required) {
    if (!Object.prototype.hasOwnProperty.call(obj, k)) throw new FormatError(k, 'missing member');
  }
}

export function getString(obj, name) {
  const v = obj[name];
  if (typeof v !== 'string') throw new FormatError(name, 'not a string');
  return v;
}

/** An integer member (a JSON number without fraction or exponent; never a boolean). Returns a BigInt. */
export function getInteger(obj, name) {
  const v = obj[name];
  if (typeof v !== 'bigint') throw new FormatError(name, 'not an integer');
  return v;
}

export function getObject(obj, name) {
  const v = obj[name];
  if (!isObject(v)) throw new FormatError(name, 'not an object');
  return v;
}

// ---------------------------------------------------------------- canonical form

function escapeString(s) {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c < 0x20 || c > 0x7e) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += s[i];
  }
  return out + '"';
}

function compareNames(a, b) {
  // Byte order of the UTF-8 encodings; every member name here is ASCII, where it is code unit order.
  const ea = ENC.encode(a);
  const eb = ENC.encode(b);
  const n = Math.min(ea.length, eb.length);
  for (let i = 0; i < n; i++) if (ea[i] !== eb[i]) return ea[i] - eb[i];
  return ea.length - eb.length;
}

/**
 * Canonical JSON: members sorted by name (byte order), no insignificant whitespace, ASCII only,
 * integers in shortest decimal form. Values: objects, arrays, strings, booleans, null, integers
 * (Number or BigInt).
 */
export function canonicalJson(v) {
  if (v === null) return 'null';
  if (v === true) return 'true';
  if (v === false) return 'false';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new TypeError('canonical JSON holds integers only');
    return String(v);
  }
  if (typeof v === 'string') return escapeString(v);
  if (Array.isArray(v)) return '[' + v.map(canonicalJson).join(',') + ']';
  if (typeof v === 'object') {
    const keys = Object.keys(v).filter((k) => v[k] !== undefined).sort(compareNames);
    return '{' + keys.map((k) => escapeString(k) + ':' + canonicalJson(v[k])).join(',') + '}';
  }
  throw new TypeError('not a JSON value');
}
