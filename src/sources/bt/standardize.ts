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
import { csvRecords } from "../../util/csv-records.js";
import { JsonRowWriter } from "../../util/json-rows.js";
import { pyJson } from "../../util/pyjson.js";
import { RAW_COLUMNS, TIME_COLUMNS, type BtFileType } from "./files.js";
import { AwamTimeParser } from "./times.js";
import { ownCopy } from "./publish.js";

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
  /** The source's rules of this file type (ctx.rules): rows that break them are quarantined, not written. */
  rules?: { accept(value: (c: number) => unknown, where: { line?: number; file?: string; text?: () => string }): boolean },
  file?: string,
): AsyncGenerator<Buffer | string> {
  const columns = RAW_COLUMNS[fileType];
  const width = columns.length;
  const times = TIME_COLUMNS[fileType];
  const timeIdx = times.columns.map((c) => columns.indexOf(c));
  const parser = new AwamTimeParser(zone);
  const isUnmatched = fileType === "unmatched";
  const hostIdx = columns.indexOf("host_timestamp");
  const readerIdx = columns.indexOf("reader_id");

  yield `{"header": ${pyJson(header)}, "data": [`;
  const values: (string | null)[] = new Array(width);
  const records = csvRecords(input, (line, problem) => {
    stats.dropped++;
    report(stats, line, `${problem}; row dropped`);
  }, { quotedLineEnds: "lf" }); // a line end inside a quoted value reads as "\n", as the original's text-mode open() gives it
  const rows = new JsonRowWriter(columns);
  for await (const batch of records) {
    for (const { line, fields } of batch) {
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
      if (rules && !rules.accept((c) => values[c], { line, ...(file !== undefined ? { file } : {}), text: () => fields.join(",") })) continue;
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
      const full = rows.row(values);
      if (full) yield full;
    }
  }
  yield rows.take();
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

