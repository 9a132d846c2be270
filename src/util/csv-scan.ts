/**
 * A headerless CSV as byte ranges, with the column types pandas' read_csv gives it, and json.dumps of its fields.
 *
 * One scan finds every field and the fields stay where they are in the bytes: no string per field. This is the hot
 * path of a day of device rows (GRIDSMART: about 100,000 rows × 14 fields a day), where csv-parse takes about
 * fourteen times as long as the scan (bench/gs.bench.ts, gs-json-standard). The rules are those of the record
 * reader (util/csv-records.ts: BOM, blank lines skipped but counted, LF, CRLF or lone CR line ends); a CSV with a
 * quote or a lone CR anywhere is read by that reader instead, its fields laid end to end in a new buffer, so both
 * kinds come out alike. Each row keeps the 1-based line of the file it starts on (for messages and quarantine).
 *
 * pandas rules (read_csv defaults): a column with any decimal is float, with any text is text, an integer column
 * with a missing value is float; the missing-value words below read as NaN (written null, B31).
 */
import { forEachCsvRecord } from "./csv-records.js";
import { TerminalError } from "../support/errors.js";
import { pyJson, writeJsonFloatText, writeJsonStringBytes } from "./pyjson.js";
import type { Utf8Sink } from "./utf8-sink.js";

export interface CsvFields {
  /** The CSV bytes (for a quoted CSV: its parsed fields laid end to end, UTF-8). */
  bytes: Buffer;
  /** Fields per row (the expected column count; shorter rows leave fields absent). */
  width: number;
  rows: number;
  /** Field c of row r is bytes[start[i], end[i]) with i = r * width + c; an absent field has start -1. */
  start: Int32Array;
  end: Int32Array;
  /** The 1-based line of the file where row r starts (blank lines and a header, if the caller has one, counted). */
  line: Int32Array;
}

export interface ScanOptions {
  /** Names the file in messages. */
  where: string;
  /** The error for a row with more than `width` fields (line: the file's, 1-based; first: the row's first field). */
  tooManyFields?: (line: number, fields: number, first: string) => Error;
}

const COMMA = 44;
const LF = 10;
const CR = 13;
const QUOTE = 0x22;

function tooMany(opts: ScanOptions, width: number, line: number, fields: number, first: string): Error {
  return opts.tooManyFields?.(line, fields, first) ?? new TerminalError(`${opts.where}: line ${line} has ${fields} fields, ${width} expected`);
}

/**
 * The fields of a headerless CSV under `width` columns: a UTF-8 BOM and blank lines skipped, "\n", "\r\n" or a
 * lone "\r" line ends, short rows allowed (their last fields absent), a row with too many fields an error naming
 * its line.
 */
export function scanCsv(data: Uint8Array, width: number, opts: ScanOptions): CsvFields {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return bytes.includes(QUOTE) || hasLoneCr(bytes) ? scanRecords(bytes, width, opts) : scanPlain(bytes, width, opts);
}

/** Whether a CR ends a line on its own (not followed by LF). */
function hasLoneCr(bytes: Buffer): boolean {
  for (let i = bytes.indexOf(CR); i >= 0; i = bytes.indexOf(CR, i + 1)) if (bytes[i + 1] !== LF) return true;
  return false;
}

/** No quotes and LF or CRLF line ends (what devices write): a byte scan. */
function scanPlain(bytes: Buffer, width: number, opts: ScanOptions): CsvFields {
  const W = width;
  const n = bytes.length;
  let p = n >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  let lines = 1;
  for (let i = bytes.indexOf(LF, p); i >= 0; i = bytes.indexOf(LF, i + 1)) lines++;
  const start = new Int32Array(lines * W).fill(-1);
  const end = new Int32Array(lines * W);
  const line = new Int32Array(lines);
  let r = 0;
  let lineNo = 0;
  while (p < n) {
    lineNo++;
    let eol = bytes.indexOf(LF, p);
    if (eol < 0) eol = n;
    let le = eol;
    if (le > p && bytes[le - 1] === CR) le--;
    if (le > p) {
      const base = r * W;
      let c = 0;
      let fs = p;
      for (let i = p; i <= le; i++) {
        if (i === le || bytes[i] === COMMA) {
          if (c >= W) {
            let fields = 1;
            for (let j = p; j < le; j++) if (bytes[j] === COMMA) fields++;
            throw tooMany(opts, W, lineNo, fields, bytes.toString("latin1", p, bytes.indexOf(COMMA, p)));
          }
          start[base + c] = fs;
          end[base + c] = i;
          c++;
          fs = i + 1;
        }
      }
      line[r] = lineNo;
      r++;
    }
    p = eol + 1;
  }
  return { bytes, width: W, rows: r, start, end, line: line.subarray(0, r) };
}

/** A CSV with quotes or lone CRs (valid CSV, though devices do not write one): csv-records, fields laid end to end. */
function scanRecords(bytes: Buffer, width: number, opts: ScanOptions): CsvFields {
  const W = width;
  const records: string[][] = [];
  const lines: number[] = [];
  forEachCsvRecord(
    bytes,
    (rec, line) => {
      if (rec.length > W) throw tooMany(opts, W, line, rec.length, rec[0] ?? "");
      records.push(rec);
      lines.push(line);
    },
    (line, message) => {
      throw new TerminalError(`${opts.where}: unreadable CSV at line ${line} (${message})`);
    },
  );
  const start = new Int32Array(records.length * W).fill(-1);
  const end = new Int32Array(records.length * W);
  const parts: Buffer[] = [];
  let pos = 0;
  records.forEach((rec, r) => {
    rec.forEach((field, c) => {
      const b = Buffer.from(field, "utf8");
      start[r * W + c] = pos;
      end[r * W + c] = pos + b.length;
      pos += b.length;
      parts.push(b);
    });
  });
  return { bytes: Buffer.concat(parts), width: W, rows: records.length, start, end, line: Int32Array.from(lines) };
}

// ------------------------------------------------------------------ pandas column types

export type PandasType = "int" | "float" | "text";

/** Texts pandas reads as missing (NaN) by default (the common ones). */
const MISSING = new Set(["", "NaN", "nan", "NA", "N/A", "NULL", "null", "n/a", "#N/A", "<NA>", "-NaN", "-nan", "None"]);
/** The shortest and longest missing-value word besides "": a field of another length is never missing. */
const MISSING_MIN = 2;
const MISSING_MAX = 4;
const FLOAT_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

const K_MISSING = 0;
const K_INT = 1;
const K_FLOAT = 2;
const K_TEXT = 3;

/** What a token is to pandas: missing, integer, decimal or text. */
function kindOfText(t: string): number {
  if (t.length === 0 || MISSING.has(t)) return K_MISSING;
  if (!FLOAT_RE.test(t)) return K_TEXT;
  return /[.eE]/.test(t) ? K_FLOAT : K_INT;
}

/** What the field bytes[s, e) is: a byte scan for the common forms ([+-]digits[.digits]), kindOfText for the rest. */
function kindAt(bytes: Buffer, s: number, e: number): number {
  if (s < 0 || s === e) return K_MISSING;
  let i = s;
  let c = bytes[i]!;
  if (c === 45 || c === 43) i++;
  let dot = false;
  let digits = 0;
  for (; i < e; i++) {
    c = bytes[i]!;
    if (c >= 48 && c <= 57) digits++;
    else if (c === 46 && !dot) dot = true;
    else return kindOfText(bytes.toString("utf8", s, e));
  }
  if (digits === 0) return kindOfText(bytes.toString("utf8", s, e));
  return dot ? K_FLOAT : K_INT;
}

/** The type pandas' read_csv gives each column. */
export function pandasTypes(t: CsvFields): PandasType[] {
  const { bytes, start, end, rows, width: W } = t;
  const types: PandasType[] = [];
  for (let c = 0; c < W; c++) {
    let type: PandasType = "int";
    let missing = false;
    for (let r = 0; r < rows; r++) {
      const k = kindAt(bytes, start[r * W + c]!, end[r * W + c]!);
      if (k === K_INT) continue;
      if (k === K_MISSING) missing = true;
      else if (k === K_FLOAT) type = "float";
      else {
        type = "text";
        break;
      }
    }
    types.push(type === "int" && missing ? "float" : type);
  }
  return types;
}

/** Number(text) when pandas reads the text as a number, else NaN. */
export function pandasNumber(text: string): number {
  const k = kindOfText(text);
  return k === K_INT || k === K_FLOAT ? Number(text) : Number.NaN;
}

/** Whether field i is missing (absent, empty or a missing-value word). */
export function isMissingField(t: CsvFields, i: number): boolean {
  const s = t.start[i]!;
  const e = t.end[i]!;
  return s < 0 || s === e || isMissingWord(t.bytes, s, e);
}

/** Whether bytes[s, e) is a missing-value word; the first bytes rule out nearly every other field without a string. */
function isMissingWord(bytes: Buffer, s: number, e: number): boolean {
  const n = e - s;
  if (n < MISSING_MIN || n > MISSING_MAX) return false;
  const b0 = bytes[s]!;
  const lead = b0 === 45 ? bytes[s + 1]! : b0;
  // Every word starts with N, n, #, < or -N/-n.
  if (lead !== 78 && lead !== 110 && (b0 === 45 || (b0 !== 35 && b0 !== 60))) return false;
  return MISSING.has(bytes.toString("latin1", s, e));
}

/** The text of field i (undefined when absent). */
export function fieldText(t: CsvFields, i: number): string | undefined {
  const s = t.start[i]!;
  return s < 0 ? undefined : t.bytes.toString("utf8", s, t.end[i]);
}

/** The value of field i in a column of the type: a number (int or float columns), text, or null when missing. */
export function fieldValue(t: CsvFields, i: number, type: PandasType): number | string | null {
  if (type !== "text") {
    const v = fieldNumber(t, i);
    return Number.isNaN(v) ? null : v;
  }
  return isMissingField(t, i) ? null : fieldText(t, i)!;
}

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/**
 * Number() of field i of a numeric column, NaN when missing. A plain field ([-]digits with at most one ".", up to
 * 15 digits: nearly every device value) is read from the bytes: the integer of all its digits is exact and one
 * division by an exact power of ten rounds correctly, as Number() of the text does. Other forms go through Number().
 */
export function fieldNumber(t: CsvFields, i: number): number {
  const s = t.start[i]!;
  const e = t.end[i]!;
  const { bytes } = t;
  if (s < 0 || s === e) return Number.NaN;
  const negative = bytes[s] === 45;
  let m = 0;
  let digits = 0;
  let dot = -1;
  for (let k = negative ? s + 1 : s; k < e; k++) {
    const c = bytes[k]!;
    if (c >= 48 && c <= 57) {
      m = m * 10 + (c - 48);
      digits++;
    } else if (c === 46 && dot < 0) dot = k;
    else {
      digits = -1;
      break;
    }
  }
  if (digits > 0 && digits <= 15) {
    const v = dot < 0 ? m : m / POW10[e - dot - 1]!;
    return negative ? -v : v;
  }
  return isMissingWord(bytes, s, e) ? Number.NaN : Number(bytes.toString("latin1", s, e));
}

/** How a column is written: as pandas read it, or "int-cast" (Python int() of its value, pandas' astype(int)). */
export type JsonColumnType = PandasType | "int-cast";

/**
 * json.dumps of field i as pandas reads it in a column of the type: null when missing; an int column's value as
 * Python prints it (the text itself when already in that form); a float column's as repr(float); text escaped.
 * An "int-cast" column writes int(value) of a number in any form (4.7 → 4); a value that is not a number, null.
 */
export function writeFieldJson(sink: Utf8Sink, t: CsvFields, i: number, type: JsonColumnType): void {
  const s = t.start[i]!;
  const e = t.end[i]!;
  const { bytes } = t;
  if (s < 0 || s === e || isMissingWord(bytes, s, e)) sink.bytes(NULL);
  else if (type === "float") writeJsonFloatText(sink, bytes, s, e);
  else if (type === "text") writeJsonStringBytes(sink, bytes, s, e);
  else if (type === "int" && isCanonicalInt(bytes, s, e)) sink.bytes(bytes, s, e);
  else sink.write(pyJson(Math.trunc(Number(bytes.toString("latin1", s, e)))));
}

const NULL = Buffer.from("null", "latin1");

/**
 * Whether a token of an int column ([+-]digits) is written as Python prints the int: "0", or an optional "-" then
 * a nonzero digit (what follows is digits: the column's type says so).
 */
function isCanonicalInt(bytes: Buffer, s: number, e: number): boolean {
  const b0 = bytes[s]!;
  if (b0 >= 49 && b0 <= 57) return true;
  if (b0 === 48) return e - s === 1;
  const b1 = bytes[s + 1]!;
  return b0 === 45 && e - s > 1 && b1 >= 49 && b1 <= 57;
}
