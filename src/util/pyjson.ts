/**
 * Byte-for-byte Python serialisation where the original's output depends on it (§0.4):
 * json.dumps defaults (", " and ": " separators, ASCII escapes, insertion order) and str() of values for hashes.
 * NaN is written as null rather than the literal NaN (fixes B31: NaN is not JSON).
 *
 * Also json.dumps of values read from file bytes, written straight into a Utf8Sink (writeJsonFloatText,
 * writeJsonStringBytes): a day of device rows is a million fields, and making a string of each costs more than the
 * rest of the work (bench/gs.bench.ts, gs-json-standard).
 */
import { hash } from "node:crypto";
import type { Utf8Sink } from "./utf8-sink.js";

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

const DOT_ZERO = Buffer.from(".0", "latin1");
const NULL = Buffer.from("null", "latin1");
const QUOTE = Buffer.from('"', "latin1");
/** Significant digits any decimal text keeps through a double and back (DBL_DIG). */
const DBL_DIG = 15;

/**
 * json.dumps(float(text)) of the decimal text bytes[s, e): Python's repr, null when not finite (B31). A plain text
 * (digits, at most one ".", an optional "-", no leading zero) of at most 15 significant digits in [1e-4, 1e16) is
 * already the shortest round-trip form of its double, which is what repr prints: it is copied, trailing zeros
 * trimmed and ".0" added where the fraction is empty ("2" → "2.0", "1.50" → "1.5"). Any other text is converted
 * (Number, then pyFloatRepr).
 */
export function writeJsonFloatText(sink: Utf8Sink, bytes: Uint8Array, s: number, e: number): void {
  const signEnd = bytes[s] === 45 ? s + 1 : s;
  let dot = -1;
  let plain = true;
  for (let i = signEnd; i < e; i++) {
    const c = bytes[i]!;
    if (c === 46 && dot < 0) dot = i;
    else if (c < 48 || c > 57) {
      plain = false;
      break;
    }
  }
  const intLen = (dot < 0 ? e : dot) - signEnd;
  if (plain && intLen > 0 && intLen <= DBL_DIG && !(intLen > 1 && bytes[signEnd] === 48)) {
    if (dot < 0) {
      sink.bytes(bytes, s, e);
      sink.bytes(DOT_ZERO);
      return;
    }
    let end = e;
    while (end > dot + 1 && bytes[end - 1] === 48) end--;
    if (end === dot + 1) {
      sink.bytes(bytes, s, dot);
      sink.bytes(DOT_ZERO);
      return;
    }
    let significant = intLen + (end - dot - 1);
    if (intLen === 1 && bytes[signEnd] === 48) {
      // 0.000ddd: below 1e-4 repr switches to an exponent; the leading zeros of the fraction are not significant.
      let lead = dot + 1;
      while (lead < end && bytes[lead] === 48) lead++;
      significant = lead - dot - 1 >= 4 ? Infinity : end - lead;
    }
    if (significant <= DBL_DIG) {
      sink.bytes(bytes, s, end);
      return;
    }
  }
  const v = Number(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1", s, e));
  if (Number.isFinite(v)) sink.write(pyFloatRepr(v));
  else sink.bytes(NULL);
}

/** json.dumps(text) of the UTF-8 bytes[s, e): copied between quotes when printable ASCII without '"' and '\\'. */
export function writeJsonStringBytes(sink: Utf8Sink, bytes: Uint8Array, s: number, e: number): void {
  for (let i = s; i < e; i++) {
    const c = bytes[i]!;
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
      sink.write(escapeString(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8", s, e)));
      return;
    }
  }
  sink.bytes(QUOTE);
  sink.bytes(bytes, s, e);
  sink.bytes(QUOTE);
}
