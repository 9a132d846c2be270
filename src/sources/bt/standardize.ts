/**
 * Bluetooth standardization (original §9.1.2): a headerless AWAM text file → the standardized JSON
 * `{"header": {...}, "data": [rows in file order]}`, produced piece by piece from a stream.
 *
 * Values stay strings; timestamp columns become str(datetime) text in the lake's zone (see times.ts), unparseable
 * → null and counted. Differences from the original, on bad input only:
 * - a row with more values than columns keeps its first values and is reported (B39: the original gathered the
 *   extras under a null key);
 * - a row with fewer values than columns (a line cut short, e.g. the last line of a truncated file) is dropped and
 *   reported (the original kept it with nulls, or stopped reading at a CSV error);
 * - a CSV syntax error (e.g. an unclosed quote) drops that record only and reading goes on.
 */
import { StringDecoder } from "node:string_decoder";
import { parse as parseCsv } from "csv-parse/sync";
import { RAW_COLUMNS, TIME_COLUMNS, type BtFileType } from "./files.js";
import { ByteBatcher, jsonValue } from "./json-stream.js";
import { AwamTimeParser } from "./times.js";
import { ownCopy } from "./publish.js";
import { pyJson } from "../../util/pyjson.js";

export interface StandardHeader {
  data_type: "bluetooth";
  file_type: BtFileType;
  origin_filename: string;
  target_filename: string;
  collection_date: string;
  processing_date: string;
}

/** Per reader (unmatched files): rows and earliest/latest host_timestamp (as instants, nulls ignored: fixes B11). */
export interface ReaderStats {
  count: number;
  min: string | null;
  max: string | null;
  minMs: number;
  maxMs: number;
}

export interface RowProblem {
  /** 1-based line of the raw file. */
  line: number;
  problem: string;
}

export interface StandardizeStats {
  rows: number;
  /** Rows dropped (too few values, CSV syntax errors). */
  dropped: number;
  /** Rows that had more values than columns (extras dropped, row kept). */
  extraColumns: number;
  /** Timestamps that did not parse (written null). */
  unparseableTimes: number;
  /** The first few problems, with line numbers (all are counted). */
  problems: RowProblem[];
  perReader: Map<string, ReaderStats>;
}

export const MAX_REPORTED_PROBLEMS = 20;

export function newStats(): StandardizeStats {
  return { rows: 0, dropped: 0, extraColumns: 0, unparseableTimes: 0, problems: [], perReader: new Map() };
}

function report(stats: StandardizeStats, line: number, problem: string): void {
  if (stats.problems.length < MAX_REPORTED_PROBLEMS) stats.problems.push({ line, problem });
}

export interface CsvRecord {
  /** 1-based line of the file where the record starts. */
  line: number;
  fields: string[];
  /** No value needs a JSON escape (no quote, backslash, control or non-ASCII character). */
  plain: boolean;
}

// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE_UNQUOTED = /[\\\u0000-\u001f\u007f-\uffff]/;

/**
 * Splits the raw text into CSV records. Lines without a double quote (all AWAM lines in practice) are split on
 * commas, which is exactly what a CSV reader gives for them; a line with a quote goes through csv-parse, joined with
 * the following lines while its quotes are unbalanced (a quoted value may hold a newline). csv-parse alone reads a
 * 300,000-line day several times slower than the one-second budget of the stage.
 */
export async function* csvRecords(
  input: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
  onError: (line: number, message: string) => void,
): AsyncGenerator<CsvRecord[]> {
  const decoder = new StringDecoder("utf8");
  let rest = "";
  let lineNo = 0;
  let quoted: string[] | undefined;
  let quotedStart = 0;
  let quotes = 0;
  const parseQuoted = (out: CsvRecord[]) => {
    const text = quoted!.join("\n");
    quoted = undefined;
    try {
      for (const fields of parseCsv(text, { relax_column_count: true, relax_quotes: true, skip_empty_lines: true }) as string[][]) {
        out.push({ line: quotedStart, fields, plain: false });
      }
    } catch (err) {
      onError(quotedStart, `not readable as CSV (${(err as Error).message})`);
    }
  };
  const take = (line: string, out: CsvRecord[]) => {
    lineNo++;
    if (quoted) {
      quoted.push(line);
      quotes += countQuotes(line);
      if (quotes % 2 === 0) parseQuoted(out);
      return;
    }
    if (line === "") return; // blank lines are skipped, as csv.DictReader does
    if (line.indexOf('"') < 0) {
      out.push({ line: lineNo, fields: line.split(","), plain: !NEEDS_ESCAPE_UNQUOTED.test(line) });
      return;
    }
    quoted = [line];
    quotedStart = lineNo;
    quotes = countQuotes(line);
    if (quotes % 2 === 0) parseQuoted(out);
  };
  const split = (text: string, out: CsvRecord[], final: boolean): string => {
    let pos = 0;
    for (;;) {
      const nl = text.indexOf("\n", pos);
      if (nl < 0) break;
      let line = text.slice(pos, nl);
      if (line.endsWith("\r")) line = line.slice(0, -1);
      if (line.indexOf("\r") >= 0) for (const part of line.split("\r")) take(part, out);
      else take(line, out);
      pos = nl + 1;
    }
    const tail = text.slice(pos);
    if (!final) return tail;
    if (tail !== "") for (const part of tail.replace(/\r$/, "").split("\r")) take(part, out);
    if (quoted) {
      onError(quotedStart, "a quoted value is not closed before the end of the file (file cut short?); record dropped");
      quoted = undefined;
    }
    return "";
  };
  for await (const chunk of input) {
    const out: CsvRecord[] = [];
    rest = split(rest + (typeof chunk === "string" ? chunk : decoder.write(chunk)), out, false);
    if (out.length) yield out;
  }
  const out: CsvRecord[] = [];
  split(rest + decoder.end(), out, true);
  if (out.length) yield out;
}

function countQuotes(s: string): number {
  let n = 0;
  for (let i = s.indexOf('"'); i >= 0; i = s.indexOf('"', i + 1)) n++;
  return n;
}

/**
 * Yields the standardized JSON text of one raw file in pieces; fills `stats` as it goes (complete when the
 * generator ends).
 */
export async function* standardizeBluetooth(
  input: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
  fileType: BtFileType,
  header: StandardHeader,
  zone: string,
  stats: StandardizeStats,
): AsyncGenerator<Buffer | string> {
  const columns = RAW_COLUMNS[fileType];
  const width = columns.length;
  const times = TIME_COLUMNS[fileType];
  const timeIdx = times.columns.map((c) => columns.indexOf(c));
  const parser = new AwamTimeParser(zone);
  const isUnmatched = fileType === "unmatched";
  const hostIdx = columns.indexOf("host_timestamp");
  const readerIdx = columns.indexOf("reader_id");
  const keyText = columns.map((c, i) => `${i === 0 ? "{" : ", "}${jsonValue(c)}: `);

  let first = true;
  yield `{"header": ${pyJson(header)}, "data": [`;
  const values: (string | null)[] = new Array(width);
  const records = csvRecords(input, (line, problem) => {
    stats.dropped++;
    report(stats, line, `${problem}; row dropped`);
  });
  const bytes = new ByteBatcher();
  for await (const batch of records) {
    for (const { line, fields, plain } of batch) {
      if (fields.length < width) {
        stats.dropped++;
        report(stats, line, `${fields.length} values, expected ${width} (${columns.join(", ")}): line cut short; row dropped`);
        continue;
      }
      if (fields.length > width) {
        stats.extraColumns++;
        report(stats, line, `${fields.length} values, expected ${width}: the ${fields.length - width} extra value(s) were dropped`);
      }
      for (let i = 0; i < width; i++) values[i] = fields[i]!;
      for (const ti of timeIdx) {
        const raw = values[ti]!;
        const parsed = parser.parse(raw, times.seconds);
        if (parsed === null) {
          stats.unparseableTimes++;
          report(stats, line, `${columns[ti]} "${raw}" is not a time (${times.seconds ? "M/D/YYYY h:mm:ss AM" : "M/D/YYYY h:mm AM"}); written null`);
        }
        values[ti] = parsed;
      }
      stats.rows++;
      if (isUnmatched) {
        const reader = values[readerIdx];
        const host = values[hostIdx] ?? null;
        if (reader) {
          let r = stats.perReader.get(reader);
          if (!r) stats.perReader.set(ownCopy(reader), (r = { count: 0, min: null, max: null, minMs: Infinity, maxMs: -Infinity }));
          r.count++;
          // Compared as instants, not text (B11): on DST days the offsets differ. Same text as the current
          // extreme: nothing to do (most rows of a reader share few distinct seconds with their neighbours).
          if (host !== null && host !== r.min && host !== r.max) {
            const ms = Date.parse(`${host.slice(0, 10)}T${host.slice(11)}`);
            if (ms < r.minMs) (r.minMs = ms), (r.min = host);
            if (ms > r.maxMs) (r.maxMs = ms), (r.max = host);
          }
        }
      }
      let row = first ? "" : ", ";
      if (plain) {
        // Raw values need no escape and parsed times are ASCII: quote them as they are.
        for (let i = 0; i < width; i++) {
          const v = values[i];
          row += keyText[i] + (v === null ? "null" : `"${v}"`);
        }
      } else {
        for (let i = 0; i < width; i++) row += keyText[i] + jsonValue(values[i]);
      }
      const full = bytes.add(`${row}}`);
      first = false;
      if (full) yield full;
    }
  }
  yield bytes.take();
  yield "]}";
}

/** The JSON text of a whole small file (tests, fixtures). */
export async function standardizeToString(
  input: Buffer | string,
  fileType: BtFileType,
  header: StandardHeader,
  zone: string,
  stats: StandardizeStats = newStats(),
): Promise<string> {
  const pieces: Buffer[] = [];
  for await (const piece of standardizeBluetooth([typeof input === "string" ? Buffer.from(input) : input], fileType, header, zone, stats)) {
    pieces.push(typeof piece === "string" ? Buffer.from(piece, "utf8") : piece);
  }
  return Buffer.concat(pieces).toString("utf8");
}

