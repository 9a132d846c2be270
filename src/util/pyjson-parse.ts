/**
 * json.loads as Python reads the lake's files, so that rewriting a value keeps its Python type: a number written
 * with a fraction or exponent ("13.0", "1e-05") comes back as a PyFloat and pyJson() prints it "13.0" again, while
 * "13" stays an integer, and an integer beyond 2^53 comes back as a bigint with all its digits (JSON.parse rounds
 * 9223372036854775807 to 9223372036854775808). JSON.parse cannot tell 13.0 from 13, and files that copy records from
 * one layer to the next (GRIDSMART counts and aggregates, device answers into raw site files) must not change 13.0
 * into 13.
 *
 * Also accepts Python's non-standard NaN, Infinity and -Infinity (older files written by pandas, B31) as PyFloat.
 */
import { TerminalError } from "../support/errors.js";
import { PyFloat } from "./pyjson.js";

/** Malformed JSON: bad input, not retried. */
export class JsonSyntaxError extends TerminalError {}

export function parsePyJson(text: string, what = "JSON"): unknown {
  let i = 0;
  const n = text.length;

  const fail = (msg: string): never => {
    const line = text.slice(0, i).split("\n").length;
    throw new JsonSyntaxError(`${what}: ${msg} at character ${i} (line ${line})`);
  };

  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
  };

  const str = (): string => {
    // i is at the opening quote.
    const start = ++i;
    const close = text.indexOf('"', start);
    if (close < 0) fail("unterminated string");
    // Fast path: no backslash before the closing quote (scan only this string, not the rest of the text).
    let plain = true;
    for (let k = start; k < close; k++) {
      if (text.charCodeAt(k) === 0x5c) {
        plain = false;
        break;
      }
    }
    if (plain) {
      i = close + 1;
      return text.slice(start, close);
    }
    let out = "";
    let chunk = start;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(chunk, i);
        i++;
        return out;
      }
      if (c === 0x5c) {
        out += text.slice(chunk, i);
        const e = text[i + 1];
        i += 2;
        switch (e) {
          case '"':
            out += '"';
            break;
          case "\\":
            out += "\\";
            break;
          case "/":
            out += "/";
            break;
          case "b":
            out += "\b";
            break;
          case "f":
            out += "\f";
            break;
          case "n":
            out += "\n";
            break;
          case "r":
            out += "\r";
            break;
          case "t":
            out += "\t";
            break;
          case "u": {
            const hex = text.slice(i, i + 4);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail("bad \\u escape");
            out += String.fromCharCode(parseInt(hex, 16));
            i += 4;
            break;
          }
          default:
            fail("bad escape");
        }
        chunk = i;
        continue;
      }
      i++;
    }
    return fail("unterminated string");
  };

  const num = (): number | bigint | PyFloat => {
    const start = i;
    if (text[i] === "-") i++;
    if (text.startsWith("Infinity", i)) {
      i += 8;
      return new PyFloat(text[start] === "-" ? -Infinity : Infinity);
    }
    let isFloat = false;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c >= 0x30 && c <= 0x39) i++;
      else if (c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d) {
        isFloat = true;
        i++;
      } else break;
    }
    const token = text.slice(start, i);
    const v = Number(token);
    if (token === "" || token === "-" || Number.isNaN(v)) fail(`bad number "${token}"`);
    if (isFloat) return new PyFloat(v);
    // An integer beyond 2^53 keeps every digit, as Python's int does (a bigint, which pyJson writes back as it came).
    return Number.isSafeInteger(v) ? v : BigInt(token);
  };

  const value = (): unknown => {
    ws();
    const c = text[i];
    switch (c) {
      case "{": {
        i++;
        const obj: Record<string, unknown> = {};
        ws();
        if (text[i] === "}") {
          i++;
          return obj;
        }
        for (;;) {
          ws();
          if (text[i] !== '"') fail("expected a key");
          const key = str();
          ws();
          if (text[i] !== ":") fail("expected ':'");
          i++;
          const v = value();
          if (key === "__proto__") Object.defineProperty(obj, key, { value: v, enumerable: true, writable: true, configurable: true });
          else obj[key] = v;
          ws();
          if (text[i] === ",") {
            i++;
            continue;
          }
          if (text[i] === "}") {
            i++;
            return obj;
          }
          fail("expected ',' or '}'");
        }
      }
      case "[": {
        i++;
        const arr: unknown[] = [];
        ws();
        if (text[i] === "]") {
          i++;
          return arr;
        }
        for (;;) {
          arr.push(value());
          ws();
          if (text[i] === ",") {
            i++;
            continue;
          }
          if (text[i] === "]") {
            i++;
            return arr;
          }
          fail("expected ',' or ']'");
        }
      }
      case '"':
        return str();
      case "t":
        if (text.startsWith("true", i)) return (i += 4), true;
        break;
      case "f":
        if (text.startsWith("false", i)) return (i += 5), false;
        break;
      case "n":
        if (text.startsWith("null", i)) return (i += 4), null;
        break;
      case "N":
        if (text.startsWith("NaN", i)) return (i += 3), new PyFloat(NaN);
        break;
      case "I":
        return num();
      default:
        if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return num();
    }
    return fail(c === undefined ? "unexpected end" : `unexpected "${c}"`);
  };

  const out = value();
  ws();
  if (i < n) fail("trailing characters");
  return out;
}

/** The numeric value of a parsed number (PyFloat, number or bigint); undefined for anything else (null, text). */
export function numericValue(v: unknown): number | undefined {
  if (v instanceof PyFloat) return v.value;
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Scanning without building objects: big files whose records are copied through unchanged (GRIDSMART zone files
// into counts files) are cut into the text of each record, so their numbers keep their exact written form and
// nothing but the fields a stage needs is ever parsed.

function skipWs(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
    else return i;
  }
}

function syntax(text: string, i: number, msg: string, what: string): never {
  let line = 1;
  for (let k = text.indexOf("\n"); k >= 0 && k < i; k = text.indexOf("\n", k + 1)) line++;
  throw new JsonSyntaxError(`${what}: ${msg} at character ${i} (line ${line})`);
}

/** Index just after the string starting at i (text[i] === '"'). */
function skipString(text: string, i: number, what: string): number {
  for (let k = i + 1; ; ) {
    const close = text.indexOf('"', k);
    if (close < 0) syntax(text, i, "unterminated string", what);
    // The quote closes the string unless preceded by an odd number of backslashes.
    let bs = 0;
    for (let b = close - 1; b > i && text.charCodeAt(b) === 0x5c; b--) bs++;
    if (bs % 2 === 0) return close + 1;
    k = close + 1;
  }
}

/** Index just after the JSON value starting at (or after whitespace from) i. */
export function skipValue(text: string, i: number, what = "JSON"): number {
  i = skipWs(text, i);
  const c = text.charCodeAt(i);
  if (c === 0x22) return skipString(text, i, what);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    for (let k = i; k < text.length; ) {
      const d = text.charCodeAt(k);
      if (d === 0x22) {
        k = skipString(text, k, what);
        continue;
      }
      if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        depth--;
        if (depth === 0) return k + 1;
      }
      k++;
    }
    return syntax(text, i, "unterminated object or array", what);
  }
  // Number, true, false, null, NaN, Infinity: up to the next delimiter.
  let k = i;
  while (k < text.length) {
    const d = text.charCodeAt(k);
    if (d === 0x2c || d === 0x7d || d === 0x5d || d === 0x20 || d === 0x0a || d === 0x0d || d === 0x09) break;
    k++;
  }
  if (k === i) syntax(text, i, "value expected", what);
  return k;
}

/**
 * Walks the members of the object starting at i (after whitespace): fn(keyStart, keyEnd, valueStart, valueEnd) for
 * each, the key's text including its quotes. Returns the index after the closing "}", or -1 when fn returned true
 * (stop early).
 */
function walkObject(text: string, i: number, what: string, fn: (ks: number, ke: number, vs: number, ve: number) => boolean | void): number {
  i = skipWs(text, i);
  if (text.charCodeAt(i) !== 0x7b) syntax(text, i, "object expected", what);
  i = skipWs(text, i + 1);
  if (text.charCodeAt(i) === 0x7d) return i + 1;
  for (;;) {
    if (text.charCodeAt(i) !== 0x22) syntax(text, i, "key expected", what);
    const keyEnd = skipString(text, i, what);
    const ks = i;
    i = skipWs(text, keyEnd);
    if (text.charCodeAt(i) !== 0x3a) syntax(text, i, "':' expected", what);
    const vs = skipWs(text, i + 1);
    const ve = skipValue(text, vs, what);
    if (fn(ks, keyEnd, vs, ve) === true) return -1;
    i = skipWs(text, ve);
    const c = text.charCodeAt(i);
    if (c === 0x2c) i = skipWs(text, i + 1);
    else if (c === 0x7d) return i + 1;
    else syntax(text, i, "',' or '}' expected", what);
  }
}

/** Walks the elements of the array starting at start: item(i) handles the element at i and returns its end. */
function walkArray(text: string, start: number, end: number, what: string, item: (i: number) => number): void {
  let i = skipWs(text, start);
  if (text.charCodeAt(i) !== 0x5b) syntax(text, i, "array expected", what);
  i = skipWs(text, i + 1);
  if (text.charCodeAt(i) === 0x5d) return;
  while (i < end) {
    i = skipWs(text, item(i));
    const c = text.charCodeAt(i);
    if (c === 0x2c) i = skipWs(text, i + 1);
    else if (c === 0x5d) return;
    else syntax(text, i, "',' or ']' expected", what);
  }
}

/** The members of the object starting at i: key → [start, end) of its value's text. */
export function objectMembers(text: string, i = 0, what = "JSON"): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  walkObject(text, i, what, (ks, ke, vs, ve) => {
    out.set(parsePyJson(text.slice(ks, ke), what) as string, [vs, ve]);
  });
  return out;
}

/** Calls fn(start, end) for each element of the array whose text is [start, end). */
export function forEachArrayItem(text: string, start: number, end: number, fn: (s: number, e: number) => void, what = "JSON"): void {
  walkArray(text, start, end, what, (i) => {
    const e = skipValue(text, i, what);
    fn(i, e);
    return e;
  });
}

/** The text of one top-level member's value of the object starting at start, or undefined. */
export function memberText(text: string, start: number, key: string, what = "JSON"): string | undefined {
  const quoted = `"${key}"`;
  let found: string | undefined;
  walkObject(text, start, what, (ks, ke, vs, ve) => {
    if (ke - ks === quoted.length && text.startsWith(quoted, ks)) {
      found = text.slice(vs, ve);
      return true;
    }
    return false;
  });
  return found;
}

/**
 * For each element of the array [start, end): fn(itemStart, itemEnd, valueText) where valueText is the text of the
 * element's top-level member `key` (undefined when absent or when the element is not an object). One pass over
 * each element: for big arrays of flat records.
 */
export function forEachItemWithMember(
  text: string,
  start: number,
  end: number,
  key: string,
  fn: (s: number, e: number, value: string | undefined) => void,
  what = "JSON",
): void {
  const quoted = `"${key}"`;
  const pattern = `${quoted}: "`;
  walkArray(text, start, end, what, (i) => {
    if (text.charCodeAt(i) !== 0x7b) {
      const e = skipValue(text, i, what);
      fn(i, e, undefined);
      return e;
    }
    const fast = lastStringMember(text, i, pattern);
    if (fast) {
      fn(i, fast[1], fast[0]);
      return fast[1];
    }
    let value: string | undefined;
    const e = walkObject(text, i, what, (ks, ke, vs, ve) => {
      if (ke - ks === quoted.length && text.startsWith(quoted, ks)) value = text.slice(vs, ve);
    });
    fn(i, e, value);
    return e;
  });
}

/**
 * Fast path for a flat record whose member `pattern` (`"key": "`) is its last member and a plain string, as json.dumps
 * writes GRIDSMART rows: [value text with quotes, index after the record's "}"], or undefined to take the full walk.
 * Safe by construction: inside a JSON string every quote is escaped, so an unescaped `"key": "` is a key; the
 * first "}" after the record's "{" must close the record right after that value, with no "{" before it.
 */
function lastStringMember(text: string, i: number, pattern: string): [string, number] | undefined {
  const close = text.indexOf("}", i);
  const k = text.indexOf(pattern, i);
  if (close < 0 || k <= i || k > close || text.charCodeAt(k - 1) === 0x5c) return undefined;
  const open = text.indexOf("{", i + 1);
  if (open >= 0 && open < close) return undefined;
  const vs = k + pattern.length - 1;
  const q = close - 1;
  if (text.charCodeAt(q) !== 0x22 || q <= vs) return undefined;
  for (let c = vs + 1; c < q; c++) {
    const ch = text.charCodeAt(c);
    if (ch === 0x22 || ch === 0x5c) return undefined;
  }
  return [text.slice(vs, q + 1), close + 1];
}

/**
 * A top-level object whose named members are parsed fast with JSON.parse (Python float-ness lost: use for members
 * whose numbers are only computed with, such as big record lists) and the others with parsePyJson (kept exact).
 */
export function parseSplit(text: string, fastKeys: readonly string[], what = "JSON"): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let i = skipWs(text, 0);
  if (text.charCodeAt(i) !== 0x7b) syntax(text, i, "object expected", what);
  i = skipWs(text, i + 1);
  if (text.charCodeAt(i) === 0x7d) return out;
  for (;;) {
    if (text.charCodeAt(i) !== 0x22) syntax(text, i, "key expected", what);
    const keyEnd = skipString(text, i, what);
    const key = parsePyJson(text.slice(i, keyEnd), what) as string;
    i = skipWs(text, keyEnd);
    if (text.charCodeAt(i) !== 0x3a) syntax(text, i, "':' expected", what);
    const vs = skipWs(text, i + 1);
    let ve = -1;
    if (fastKeys.includes(key)) {
      // A list of flat records ends at the first "]" when no string holds one; JSON.parse proves it (a prefix that
      // parses as a whole array is that array). Otherwise: the full walk.
      if (text.charCodeAt(vs) === 0x5b) {
        const cand = text.indexOf("]", vs);
        if (cand > 0) {
          try {
            out[key] = JSON.parse(text.slice(vs, cand + 1));
            ve = cand + 1;
          } catch {
            ve = -1;
          }
        }
      }
      if (ve < 0) {
        ve = skipValue(text, vs, what);
        const slice = text.slice(vs, ve);
        try {
          out[key] = JSON.parse(slice);
        } catch {
          out[key] = parsePyJson(slice, what); // NaN / Infinity written by older Python code
        }
      }
    } else {
      ve = skipValue(text, vs, what);
      out[key] = parsePyJson(text.slice(vs, ve), what);
    }
    i = skipWs(text, ve);
    const c = text.charCodeAt(i);
    if (c === 0x2c) i = skipWs(text, i + 1);
    else if (c === 0x7d) return out;
    else syntax(text, i, "',' or '}' expected", what);
  }
}
