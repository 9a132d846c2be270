/**
 * json.loads as Python reads the lake's files, so that rewriting a value keeps its Python type: a number written
 * with a fraction or exponent ("13.0", "1e-05") comes back as a PyFloat and pyJson() prints it "13.0" again, while
 * "13" stays an integer. JSON.parse cannot tell 13.0 from 13, and files that copy records from one layer to the next
 * (GRIDSMART counts and aggregates) must not change 13.0 into 13.
 *
 * Also accepts Python's non-standard NaN, Infinity and -Infinity (older files written by pandas, B31) as PyFloat.
 */
import { PyFloat } from "./pyjson.js";

class JsonSyntaxError extends Error {}

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
    const bs = text.indexOf("\\", start);
    if (bs < 0 || bs > close) {
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

  const num = (): number | PyFloat => {
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
    return isFloat ? new PyFloat(v) : v;
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

/** The numeric value of a parsed number (PyFloat or number); undefined for anything else (null, text). */
export function numericValue(v: unknown): number | undefined {
  if (v instanceof PyFloat) return v.value;
  if (typeof v === "number") return v;
  return undefined;
}
