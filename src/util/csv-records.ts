/**
 * The records of a headerless CSV text read from a stream, for any source that ingests text files.
 *
 * Lines without a double quote (nearly every line of a device's log) are split on commas, which is exactly what a
 * CSV reader gives for them; a line holding a quote goes to csv-parse, joined with the following lines while its
 * quotes are open (a quoted value may hold a newline), so quoted values read as in any CSV file. Why not csv-parse
 * alone: it reads the Bluetooth bench's 300,000-line day (`npm run bench -- bt`) several times slower than the
 * stage's budget of one second.
 *
 * Lines end with LF, CRLF or a lone CR; blank lines are skipped (as Python's csv.DictReader does). A record csv-parse
 * cannot read, and a quoted value still open at the end of the text, are reported to onError with their line and
 * dropped; reading goes on.
 */
import { StringDecoder } from "node:string_decoder";
import { parse as parseCsv } from "csv-parse/sync";

export interface CsvRecord {
  /** 1-based line of the text where the record starts. */
  line: number;
  fields: string[];
}

const QUOTED_OPTIONS = { relax_column_count: true, relax_quotes: true, skip_empty_lines: true } as const;

function countQuotes(s: string): number {
  let n = 0;
  for (let i = s.indexOf('"'); i >= 0; i = s.indexOf('"', i + 1)) n++;
  return n;
}

/** Yields the records of the text (UTF-8 bytes or strings), in batches (one per input chunk). */
export async function* csvRecords(
  input: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
  onError: (line: number, message: string) => void,
): AsyncGenerator<CsvRecord[]> {
  const decoder = new StringDecoder("utf8");
  let lineNo = 0;
  /** Lines of a record whose quotes are still open, the line it starts on and the quotes seen so far. */
  let quoted: string[] | undefined;
  let quotedStart = 0;
  let quotes = 0;

  const parseQuoted = (out: CsvRecord[]) => {
    const text = quoted!.join("\n");
    quoted = undefined;
    try {
      for (const fields of parseCsv(text, QUOTED_OPTIONS) as string[][]) out.push({ line: quotedStart, fields });
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
    if (line === "") return;
    if (line.indexOf('"') < 0) {
      out.push({ line: lineNo, fields: line.split(",") });
      return;
    }
    quoted = [line];
    quotedStart = lineNo;
    quotes = countQuotes(line);
    if (quotes % 2 === 0) parseQuoted(out);
  };
  /** Takes the whole lines of text; returns the rest (all of it taken when final). */
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

  let rest = "";
  for await (const chunk of input) {
    const out: CsvRecord[] = [];
    rest = split(rest + (typeof chunk === "string" ? chunk : decoder.write(chunk)), out, false);
    if (out.length) yield out;
  }
  const out: CsvRecord[] = [];
  split(rest + decoder.end(), out, true);
  if (out.length) yield out;
}
