/**
 * The embedded default publisher: one CSV file per dataset under `dir` (default `<home>/published`), upserted by
 * row id so a rerun never duplicates rows. The file is the store: on first use the driver loads it into an index
 * (row id → row); a call that only adds new rows appends them, any other change rewrites the file atomically
 * (temp file + rename); a torn last record left by an interrupted append is dropped on load. The header is the union of
 * columns in first-seen order (a later row with other keys never fails: fixes B35's CSV part); lines end in
 * `\r\n` like Python's csv module.
 */
import { appendFile, mkdir, open, readFile, rename, rm } from "node:fs/promises";
import path from "node:path";
import { parse } from "csv-parse/sync";
import { z } from "zod";
import { defineDriver } from "../define.js";
import type { PublisherDriver, PublishRow, PublishValue } from "../../support/drivers.js";
import { ConfigError, TerminalError } from "../../support/errors.js";

export const DRIVER_NAME = "csv";

export const csvPublisherOptions = z
  .object({
    /** Folder of the dataset files; relative paths resolve against the config's folder. @default <home>/published */
    dir: z.string().optional(),
    /** Rows per upsert call the framework sends (every call rewrites the file). @default 10000 */
    maxRowsPerRequest: z.number().int().positive().default(10_000),
  })
  .strict();

/** Characters gathered before each write while rewriting a dataset file. */
const WRITE_BLOCK_CHARS = 1 << 20;

/** A dataset name becomes a file name: letters, digits, dot, dash, underscore only. */
const DATASET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** A row as its CSV line (no line ending) over the first `cols` header columns; later columns are empty. */
interface StoredRow {
  line: string;
  cols: number;
}

/** A row read from the file: its line, and its fields when the parser gave them (else split on commas: no quotes). */
interface PendingRow extends StoredRow {
  fields?: string[];
}

interface DatasetFile {
  file: string;
  header: string[];
  /** row id → row, in file order. Lines are kept serialised so a rewrite only joins them. */
  rows: Map<string, StoredRow>;
  rowIdField: string | undefined;
  /** Rows read from the file, not yet keyed (the row id column is named by the first call). */
  pending?: PendingRow[];
  /** The file on disk holds exactly header + rows and ends with a complete record, so new rows may be appended. */
  appendable: boolean;
}

export function createCsvPublisher(dir: string, maxRowsPerRequest = 10_000): PublisherDriver & { countRows(dataset: string): Promise<number> } {
  const loaded = new Map<string, Promise<DatasetFile>>();
  const locks = new Map<string, Promise<unknown>>();

  /** One operation at a time per dataset: each one reads and rewrites the whole file. */
  function exclusive<T>(dataset: string, fn: () => Promise<T>): Promise<T> {
    const run = (locks.get(dataset) ?? Promise.resolve()).then(fn, fn);
    locks.set(dataset, run.catch(() => undefined));
    return run;
  }

  function fileOf(dataset: string): string {
    if (!DATASET_NAME.test(dataset) || dataset.includes("..")) {
      throw new TerminalError(`csv publisher: dataset name "${dataset}" cannot be a file name (use letters, digits, ".", "-", "_")`);
    }
    return path.join(dir, `${dataset}.csv`);
  }

  function load(dataset: string): Promise<DatasetFile> {
    let p = loaded.get(dataset);
    if (!p) {
      p = readDataset(fileOf(dataset));
      loaded.set(dataset, p);
      p.catch(() => loaded.delete(dataset));
    }
    return p;
  }

  /** Rewrites the whole file atomically (temp file + rename), in blocks of about 1 MiB to keep memory flat. */
  async function rewrite(ds: DatasetFile): Promise<void> {
    await mkdir(path.dirname(ds.file), { recursive: true });
    const width = ds.header.length;
    const tmp = `${ds.file}.${process.pid}.${Date.now()}.tmp`;
    const fh = await open(tmp, "w");
    try {
      let block = `${csvLine(ds.header)}\r\n`;
      for (const r of ds.rows.values()) {
        block += r.cols < width ? `${r.line}${",".repeat(width - r.cols)}\r\n` : `${r.line}\r\n`;
        if (block.length >= WRITE_BLOCK_CHARS) {
          await fh.write(block);
          block = "";
        }
      }
      if (block) await fh.write(block);
      await fh.close();
      await rename(tmp, ds.file);
    } catch (err) {
      await fh.close().catch(() => undefined);
      await rm(tmp, { force: true });
      throw err;
    }
    ds.appendable = true;
  }

  /**
   * Writes a change: new rows only (same header) are appended, anything else rewrites the file. Appending keeps a
   * day of 300,000 rows linear instead of rewriting the growing file once per chunk. On failure the dataset is
   * dropped from memory, so the next call reloads the file (and repairs a torn last record).
   */
  async function persist(dataset: string, ds: DatasetFile, appendLines: string[] | undefined): Promise<void> {
    try {
      if (appendLines && ds.appendable) {
        ds.appendable = false;
        await appendFile(ds.file, appendLines.join("\r\n") + "\r\n");
        ds.appendable = true;
      } else {
        await rewrite(ds);
      }
    } catch (err) {
      loaded.delete(dataset);
      throw new TerminalError(`csv publisher: cannot write ${ds.file}: ${(err as Error).message}`, { cause: err });
    }
  }

  return {
    driverName: DRIVER_NAME,
    capabilities: { maxRowsPerRequest, supportsDelete: true },
    async upsert(dataset, rows, rowIdField) {
      if (rows.length === 0) return { created: 0, updated: 0 };
      return exclusive(dataset, async () => {
        const ds = await load(dataset);
        // Validate every row before touching the index, so a bad row leaves the store unchanged.
        const ids = rows.map((row, i) => {
          const id = row[rowIdField];
          if (id === undefined || id === null || id === "") {
            throw new TerminalError(`csv publisher: row ${i} for dataset ${dataset} has no value in row id field "${rowIdField}"`);
          }
          return cell(id);
        });
        keyRows(ds, rowIdField);
        let created = 0;
        let updated = 0;
        const width = ds.header.length;
        const columns = new Set(ds.header);
        const appended: string[] = [];
        rows.forEach((row, i) => {
          for (const k of Object.keys(row)) {
            if (!columns.has(k)) {
              columns.add(k);
              ds.header.push(k);
            }
          }
          const id = ids[i]!;
          if (ds.rows.has(id)) updated++;
          else created++;
          const stored = { line: csvLine(ds.header.map((k) => cell(row[k]))), cols: ds.header.length };
          ds.rows.set(id, stored);
          appended.push(stored.line);
        });
        // Only brand-new ids (none repeated in the batch) under an unchanged header can be appended.
        const pureAppend = updated === 0 && ds.header.length === width && new Set(ids).size === ids.length;
        await persist(dataset, ds, pureAppend ? appended : undefined);
        return { created, updated };
      });
    },
    async delete(dataset, rowIds, rowIdField) {
      if (rowIds.length === 0) return 0;
      return exclusive(dataset, async () => {
        const ds = await load(dataset);
        keyRows(ds, rowIdField);
        let n = 0;
        for (const id of rowIds) if (ds.rows.delete(String(id))) n++;
        if (n > 0) await persist(dataset, ds, undefined);
        return n;
      });
    },
    async countRows(dataset) {
      return exclusive(dataset, async () => {
        const ds = await load(dataset);
        return ds.pending ? ds.pending.length : ds.rows.size;
      });
    },
  };
}

const NEEDS_QUOTES = /[",\r\n]/;

/**
 * One CSV record without its line ending, quoted the way Python's csv module (QUOTE_MINIMAL) and csv-stringify do:
 * a field is quoted only when it holds a comma, a quote or a line break; a lone empty field is written `""`.
 * Written here because it runs once per published row (csv-stringify costs about 2 µs per call; this a tenth).
 */
export function csvLine(fields: string[]): string {
  if (fields.length === 1 && fields[0] === "") return '""';
  let out = "";
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    if (i > 0) out += ",";
    out += NEEDS_QUOTES.test(f) ? `"${f.replace(/"/g, '""')}"` : f;
  }
  return out;
}

/** A published value as CSV text: null → empty, booleans as Python writes them. */
function cell(v: PublishValue | undefined): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "boolean") return v ? "True" : "False";
  return String(v);
}

/** Reads an existing dataset file (or starts an empty one); rows are keyed once the row id column is named. */
async function readDataset(file: string): Promise<DatasetFile> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { file, header: [], rows: new Map(), rowIdField: undefined, appendable: false };
    throw new ConfigError(`csv publisher: cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  // A write cut short (crash, full disk) leaves a last record without its line ending: drop it. The call that wrote
  // it failed, so its rows were never reported as published and will be sent again.
  const complete = text === "" || text.endsWith("\n");
  if (!complete) text = text.slice(0, text.lastIndexOf("\n") + 1);
  const fast = unquotedLines(text);
  if (fast) {
    const header = fast.length > 0 ? fast[0]!.split(",") : [];
    const pending = fast.slice(1).map((line) => ({ line, cols: line.split(",").length }));
    return { file, header, rows: new Map(), rowIdField: undefined, pending, appendable: complete && header.length > 0 };
  }
  let records: string[][];
  try {
    records = parse(text, { skip_empty_lines: true }) as string[][];
  } catch (err) {
    throw new TerminalError(`csv publisher: ${file} is not a valid CSV file (${(err as Error).message}): fix or move it away`, { cause: err });
  }
  const header = records[0] ?? [];
  const pending = records.slice(1).map((fields) => ({ line: csvLine(fields), cols: fields.length, fields }));
  return { file, header, rows: new Map(), rowIdField: undefined, pending, appendable: complete && header.length > 0 };
}

/**
 * The non-empty lines of a file without any quote character, where a record is a line and a field is what lies
 * between commas; undefined when the text has quotes or mixed line endings (then csv-parse reads it). Loading a
 * day of 300,000 rows this way takes a fraction of csv-parse's time.
 */
function unquotedLines(text: string): string[] | undefined {
  if (text.includes('"')) return undefined;
  const crlf = text.includes("\r\n");
  const lines = text.split(crlf ? "\r\n" : "\n");
  if (lines.some((l) => l.includes("\r") || (crlf && l.includes("\n")))) return undefined;
  return lines.filter((l) => l !== "");
}

/** Indexes rows read from the file by the row id column the first call names. */
function keyRows(ds: DatasetFile, rowIdField: string): void {
  if (ds.rowIdField !== undefined) {
    if (ds.rowIdField !== rowIdField) {
      throw new TerminalError(`csv publisher: ${ds.file} is keyed by "${ds.rowIdField}", not "${rowIdField}"`);
    }
    return;
  }
  const pending = ds.pending ?? [];
  const at = ds.header.indexOf(rowIdField);
  if (pending.length > 0 && at < 0) {
    throw new TerminalError(`csv publisher: ${ds.file} has no column "${rowIdField}" to use as row id (columns: ${ds.header.join(", ")})`);
  }
  pending.forEach((r, i) => {
    const id = (r.fields ?? r.line.split(","))[at] ?? "";
    if (id === "") throw new TerminalError(`csv publisher: ${ds.file} line ${i + 2} has an empty row id in column "${rowIdField}"`);
    ds.rows.set(id, { line: r.line, cols: r.cols });
  });
  if (!ds.header.includes(rowIdField)) ds.header.push(rowIdField);
  ds.pending = undefined;
  ds.rowIdField = rowIdField;
}

export default defineDriver({
  options: csvPublisherOptions,
  create: (options, ctx) =>
    createCsvPublisher(options.dir ? path.resolve(ctx.baseDir, options.dir) : path.join(ctx.home, "published"), options.maxRowsPerRequest),
});
