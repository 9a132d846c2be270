/**
 * The records of a CSV text, with the 1-based line each starts on: the one record reader of the sources that read
 * text files (Wavetronix raw CSV, Bluetooth logs, GRIDSMART zone CSVs with a quote; util/csv-scan.ts reads plain
 * zone CSVs as byte ranges under the same rules).
 *
 * Lines without a double quote (nearly every line a device or wt-insert-lake writes) are split on commas, which is
 * exactly what a CSV reader gives for them; a line holding a quote goes to csv-parse, joined with the following
 * lines while its quotes are open (a quoted value may hold a line end: kept as the file has it, as csv-parse does, or
 * read as "\n", as Python's text mode reads a file: option `quotedLineEnds`), so quoted values read as in any CSV file. Why not csv-parse alone: it reads the Bluetooth bench's 300,000-line day
 * (`npm run bench -- bt`) several times slower than the stage's budget of one second, and it takes the first line
 * end it sees for every line (a file with CRLF and LF mixed would have lines joined).
 *
 * Rules: a UTF-8 BOM before the first line is skipped; lines end with LF, CRLF or a lone CR; blank lines are
 * skipped (as Python's csv.DictReader does) but counted. A record csv-parse cannot read, and a quoted value still
 * open at the end of the text, are reported to onError with their line and dropped; reading goes on.
 *
 * Entry points: `forEachCsvRecord` for a whole text in memory (a callback per record, no array of the day),
 * `csvRecords` for a stream (batches, one per input chunk), both on `CsvRecordReader`.
 */
import { StringDecoder } from "node:string_decoder";
import { parse as parseCsv } from "csv-parse/sync";

export interface CsvRecord {
  /** 1-based line of the text where the record starts. */
  line: number;
  fields: string[];
}

/** Receives each record: its fields and the 1-based line it starts on. */
export type CsvRecordSink = (fields: string[], line: number) => void;
/** Receives each record that cannot be read (dropped): the line it starts on and why. */
export type CsvErrorSink = (line: number, message: string) => void;

const QUOTED_OPTIONS = { relax_column_count: true, relax_quotes: true, skip_empty_lines: true } as const;

function countQuotes(s: string): number {
  let n = 0;
  for (let i = s.indexOf('"'); i >= 0; i = s.indexOf('"', i + 1)) n++;
  return n;
}

export interface CsvRecordOptions {
  /** A line end inside a quoted value: "kept" as the file has it (the default), or "lf": read as "\n" (Python). */
  quotedLineEnds?: "kept" | "lf";
}

/** An incremental reader: `write` pieces of the text in order, then `end`. */
export class CsvRecordReader {
  private lineNo = 0;
  private started = false;
  private rest = "";
  /** The text of a record whose quotes are still open, the line it starts on and the quotes seen so far. */
  private quoted: string | undefined;
  private quotedStart = 0;
  private quotes = 0;
  private readonly lf: boolean;

  constructor(
    private readonly each: CsvRecordSink,
    private readonly onError: CsvErrorSink,
    opts: CsvRecordOptions = {},
  ) {
    this.lf = opts.quotedLineEnds === "lf";
  }

  write(text: string): void {
    if (!this.started && text !== "") {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    this.rest = this.split(this.rest === "" ? text : this.rest + text, false);
  }

  end(): void {
    this.split(this.rest, true);
    this.rest = "";
  }

  private parseQuoted(): void {
    const text = this.quoted!;
    this.quoted = undefined;
    try {
      for (const fields of parseCsv(text, QUOTED_OPTIONS) as string[][]) this.each(fields, this.quotedStart);
    } catch (err) {
      this.onError(this.quotedStart, `not readable as CSV (${(err as Error).message})`);
    }
  }

  /** One line (without its end, `eol`: kept inside an open quoted value). */
  private take(line: string, eol: string): void {
    this.lineNo++;
    if (this.quoted !== undefined) {
      this.quoted += line;
      this.quotes += countQuotes(line);
      if (this.quotes % 2 === 0) this.parseQuoted();
      else this.quoted += this.lf ? "\n" : eol;
      return;
    }
    if (line === "") return;
    if (line.indexOf('"') < 0) {
      this.each(line.split(","), this.lineNo);
      return;
    }
    this.quotedStart = this.lineNo;
    this.quotes = countQuotes(line);
    this.quoted = line;
    if (this.quotes % 2 === 0) this.parseQuoted();
    else this.quoted += this.lf ? "\n" : eol;
  }

  /** A line that may hold lone CRs (each ends a line too), ended by `eol`. */
  private takeParts(line: string, eol: string): void {
    const parts = line.split("\r");
    for (let i = 0; i < parts.length; i++) this.take(parts[i]!, i < parts.length - 1 ? "\r" : eol);
  }

  /** Takes the whole lines of text; returns the rest (all of it taken when final). */
  private split(text: string, final: boolean): string {
    let pos = 0;
    let cr = text.indexOf("\r");
    for (;;) {
      const nl = text.indexOf("\n", pos);
      if (nl < 0) break;
      const crlf = nl > pos && text.charCodeAt(nl - 1) === 13;
      const end = crlf ? nl - 1 : nl;
      if (cr >= 0 && cr < pos) cr = text.indexOf("\r", pos);
      if (cr >= 0 && cr < end) this.takeParts(text.slice(pos, end), crlf ? "\r\n" : "\n");
      else this.take(text.slice(pos, end), crlf ? "\r\n" : "\n");
      pos = nl + 1;
    }
    const tail = text.slice(pos);
    if (!final) return tail;
    if (tail !== "") this.takeParts(tail.endsWith("\r") ? tail.slice(0, -1) : tail, "");
    if (this.quoted !== undefined) {
      this.onError(this.quotedStart, "a quoted value is not closed before the end of the file (file cut short?); record dropped");
      this.quoted = undefined;
    }
    return "";
  }
}

/** Calls `each` with every record of a whole text (UTF-8 bytes or a string), in order. */
export function forEachCsvRecord(input: string | Uint8Array, each: CsvRecordSink, onError: CsvErrorSink, opts?: CsvRecordOptions): void {
  const reader = new CsvRecordReader(each, onError, opts);
  reader.write(typeof input === "string" ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString("utf8"));
  reader.end();
}

/** Yields the records of the text (UTF-8 bytes or strings), in batches (one per input chunk). */
export async function* csvRecords(
  input: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
  onError: CsvErrorSink,
  opts?: CsvRecordOptions,
): AsyncGenerator<CsvRecord[]> {
  const decoder = new StringDecoder("utf8");
  let out: CsvRecord[] = [];
  const reader = new CsvRecordReader((fields, line) => void out.push({ line, fields }), onError, opts);
  for await (const chunk of input) {
    reader.write(typeof chunk === "string" ? chunk : decoder.write(chunk));
    if (out.length) {
      yield out;
      out = [];
    }
  }
  reader.write(decoder.end());
  reader.end();
  if (out.length) yield out;
}
