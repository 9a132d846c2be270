/**
 * Byte-for-byte Python serialisation where the original's output depends on it (§0.4):
 * json.dumps defaults (", " and ": " separators, ASCII escapes, insertion order) and str() of values for hashes.
 * NaN is written as null rather than the literal NaN (fixes B31: NaN is not JSON).
 */
import { hash } from "node:crypto";

/** A number that Python holds as a float: printed "13.0" rather than "13". */
export class PyFloat {
  constructor(readonly value: number) {}
  toJSON(): number {
    return this.value;
  }
}

export function pyFloat(value: number): PyFloat {
  return new PyFloat(value);
}

/** Python's repr() of a float: shortest round-trip digits, ".0" on integral values, exponent outside [1e-4, 1e16). */
export function pyFloatRepr(n: number): string {
  if (Number.isNaN(n)) return "nan";
  if (n === Infinity) return "inf";
  if (n === -Infinity) return "-inf";
  if (n === 0) return Object.is(n, -0) ? "-0.0" : "0.0";
  const abs = Math.abs(n);
  if (abs >= 1e16 || abs < 1e-4) {
    // Python: mantissa digits then e±XX with at least two exponent digits.
    const [mant, exp] = n.toExponential().split("e") as [string, string];
    const e = Number(exp);
    const sign = e < 0 ? "-" : "+";
    return `${mant}e${sign}${String(Math.abs(e)).padStart(2, "0")}`;
  }
  const s = String(n);
  if (s.includes("e")) {
    // JS uses exponent form from 1e21 up; we only reach here below 1e16, so this is defensive.
    return Number(n).toFixed(1);
  }
  return s.includes(".") ? s : `${s}.0`;
}

/** Python's str() of a scalar as the original concatenated them into MD5 inputs. */
export function pyStr(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (v instanceof PyFloat) return pyFloatRepr(v.value);
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : pyFloatRepr(v);
  return String(v);
}

/** MD5 of the concatenated Python str() of each value, lowercase hex (§9 record ids). */
export function md5Concat(...values: unknown[]): string {
  // One-shot crypto.hash (Node >= 20.12): no Hash object per row, about twice as fast on a day of rows.
  let text = "";
  for (const v of values) text += pyStr(v);
  return hash("md5", text, "hex");
}

/** Printable ASCII without '"' and '\\' is written as is: the common case, one regex test per string. */
const PLAIN_TEXT = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function escapeString(s: string): string {
  if (PLAIN_TEXT.test(s)) return `"${s}"`;
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i]!;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\b") out += "\\b";
    else if (ch === "\f") out += "\\f";
    else if (c < 0x20 || c > 0x7e) out += `\\u${c.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return out + '"';
}

/** json.dumps(obj) with Python's defaults. */
export function pyJson(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (value instanceof PyFloat) return Number.isFinite(value.value) ? pyFloatRepr(value.value) : "null";
  switch (typeof value) {
    case "string":
      return escapeString(value);
    case "number":
      if (!Number.isFinite(value)) return "null";
      return Number.isInteger(value) ? String(value) : pyFloatRepr(value);
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return value.toString();
    case "object": {
      if (Array.isArray(value)) return `[${value.map(pyJson).join(", ")}]`;
      if (typeof (value as { toJSON?: unknown }).toJSON === "function" && !(value instanceof PyFloat)) {
        return pyJson((value as { toJSON: () => unknown }).toJSON());
      }
      const parts: string[] = [];
      const obj = value as Record<string, unknown>;
      for (const k of Object.keys(obj)) {
        const v = obj[k];
        if (v === undefined) continue;
        parts.push(`${escapeString(k)}: ${pyJson(v)}`);
      }
      return `{${parts.join(", ")}}`;
    }
    default:
      return "null";
  }
}
