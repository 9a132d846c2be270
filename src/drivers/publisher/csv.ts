/**
 * The embedded default publisher: one CSV file per dataset under `dir` (default `<home>/published`), upserted by
 * row id so a rerun never duplicates rows. The CSV file is the published data; a row index on disk (SQLite,
 * `<dir>.index.sqlite`: row id → hash of the row's line, see csv-index.ts) says which ids exist and whether a row
 * changed, so memory stays about one chunk whatever the dataset size. Per call: rows with new ids are appended; rows
 * whose content changed, a new column or a delete cost one streaming rewrite of the file (temp file + rename,
 * csv-records.ts); rows sent again unchanged cost nothing. The index records the file's size, mtime and inode after
 * each write: a file that grew since (an append cut short, or done by a call that failed) has its complete records
 * indexed and a torn last record cut off; any other change re-indexes the file. The header is the union of columns
 * in first-seen order (a later row with other keys never fails: fixes B35's CSV part); lines end in `\r\n` like
 * Python's csv module.
 */
import { appendFile, mkdir, open, rename, rm, stat, truncate } from "node:fs/promises";
import type { Stats } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { defineDriver } from "../define.js";
import type { PublisherDriver, PublishValue } from "../../support/drivers.js";
import { ConfigError, TerminalError } from "../../support/errors.js";
import { CsvIndex, type DatasetState } from "./csv-index.js";
import { fieldAt, fieldCount, recordFields, rewriteRecords, scanRecords, type RewritePlan } from "./csv-records.js";

export const DRIVER_NAME = "csv";

export const csvPublisherOptions = z
  .object({
    /** Folder of the dataset files; relative paths resolve against the config's folder. @default <home>/published */
    dir: z.string().optional(),
    /** Row index (SQLite) file; relative paths resolve against the config's folder. @default <dir>.index.sqlite */
    index: z.string().optional(),
    /** Rows per upsert call the framework sends (each call makes at most one pass over the file). @default 10000 */
    maxRowsPerRequest: z.number().int().positive().default(10_000),
  })
  .strict();

/** A dataset name becomes a file name: letters, digits, dot, dash, underscore only. */
const DATASET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Index rows inserted per statement while (re)indexing a file. */
const INDEX_BATCH = 10_000;

/** What the driver holds in memory, for tests and benchmarks: rows of the call in progress, never the dataset. */
export interface CsvPublisherMemory {
  /** Rows (serialised lines) held right now. */
  heldRows: number;
  /** Most rows held at once since the driver was created. */
  peakHeldRows: number;
}

export type CsvPublisher = PublisherDriver & {
  countRows(dataset: string): Promise<number>;
  /** Rows held in memory (at most one call's rows; the index is on disk). */
  memory(): CsvPublisherMemory;
  close(): Promise<void>;
};

export function createCsvPublisher(dir: string, maxRowsPerRequest = 10_000, indexPath = `${path.resolve(dir)}.index.sqlite`): CsvPublisher {
  const index = new CsvIndex(indexPath);
  const mem: CsvPublisherMemory = { heldRows: 0, peakHeldRows: 0 };
  const hold = (n: number) => {
    mem.heldRows = n;
    if (n > mem.peakHeldRows) mem.peakHeldRows = n;
  };

  function fileOf(dataset: string): string {
    if (!DATASET_NAME.test(dataset) || dataset.includes("..")) {
      throw new TerminalError(`csv publisher: dataset name "${dataset}" cannot be a file name (use letters, digits, ".", "-", "_")`);
    }
    return path.join(dir, `${dataset}.csv`);
  }

  async function statOf(file: string): Promise<Stats | undefined> {
    try {
      return await stat(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new ConfigError(`csv publisher: cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
  }

  const stamp = (s: DatasetState, st: Stats): DatasetState => ({ ...s, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino });

  /**
   * Indexes the records of `file` from byte `from` (0: the header first) into the dataset's index. A torn last
   * record (no line ending: an append cut short) is cut off the file: the call that wrote it failed, so its rows
   * were never reported as published and will be sent again.
   */
  async function indexRecords(dataset: string, file: string, rowIdField: string, from: number, known: DatasetState | undefined): Promise<DatasetState> {
    let header = known?.header;
    let at = header ? header.indexOf(rowIdField) : -1;
    let rows = known?.rows ?? 0;
    let uniform = known?.uniform ?? true;
    let recordNo = from === 0 ? 0 : Number.NaN; // line numbers are only meaningful from the start
    let failure: TerminalError | undefined;
    let batch: [string, number][] = [];
    const where = (n: number) => (Number.isNaN(n) ? "an appended line" : `line ${n}`);
    const flush = () => {
      const dup = index.insertNew(dataset, batch);
      if (dup !== undefined && !failure) {
        failure = new TerminalError(`csv publisher: ${file} holds row id "${dup}" more than once (column "${rowIdField}"): remove the extra rows or move the file away`);
      }
      batch = [];
    };
    const fh = await open(file, "r");
    let scan;
    try {
      scan = await scanRecords(fh, from, {
        record(buf, start, end, _next, quoted) {
          recordNo++;
          if (failure || end === start) return;
          if (!header) {
            header = recordFields(buf, start, end, quoted);
            at = header.indexOf(rowIdField);
            return;
          }
          if (at < 0) {
            failure = new TerminalError(`csv publisher: ${file} has no column "${rowIdField}" to use as row id (columns: ${header.join(", ")})`);
            return;
          }
          const id = fieldAt(buf, start, end, quoted, at);
          if (id === "") {
            failure = new TerminalError(`csv publisher: ${file} ${where(recordNo)} has an empty row id in column "${rowIdField}"`);
            return;
          }
          if (uniform && fieldCount(buf, start, end, quoted) !== header.length) uniform = false;
          batch.push([id, rowHash(buf.toString("utf8", start, end))]);
          rows++;
        },
        async block() {
          if (batch.length >= INDEX_BATCH) flush();
        },
      });
      flush();
    } finally {
      await fh.close();
    }
    if (failure) throw failure;
    if (scan.tornBytes > 0) await truncate(file, scan.end);
    const st = await stat(file);
    const state = stamp({ rowIdField, header: header ?? [], rows, uniform, size: 0, mtimeMs: 0, ino: 0 }, st);
    index.saveState(dataset, state);
    return state;
  }

  /**
   * The dataset's index state, brought up to date with its file: unchanged → as saved; grown since (same inode) →
   * the new records indexed; otherwise (other file, edited, first use) → indexed again from the start.
   */
  async function sync(dataset: string, rowIdField: string): Promise<DatasetState> {
    const file = fileOf(dataset);
    const st = await statOf(file);
    let saved = index.state(dataset);
    if (!st) {
      if (saved) index.clear(dataset);
      index.ensure(dataset);
      return { rowIdField, header: [], rows: 0, uniform: true, size: 0, mtimeMs: 0, ino: 0 };
    }
    if (saved && saved.rowIdField !== rowIdField) {
      if (saved.rows > 0 && !saved.header.includes(rowIdField)) {
        throw new TerminalError(`csv publisher: ${file} has no column "${rowIdField}" to use as row id (columns: ${saved.header.join(", ")})`);
      }
      saved = undefined; // keyed by another column so far: index again by this one
    }
    if (saved && st.ino === saved.ino && st.size === saved.size && st.mtimeMs === saved.mtimeMs) return saved;
    if (saved && st.ino === saved.ino && st.size > saved.size && saved.size > 0) {
      index.ensure(dataset);
      return indexRecords(dataset, file, rowIdField, saved.size, saved);
    }
    index.clear(dataset);
    index.ensure(dataset);
    return indexRecords(dataset, file, rowIdField, 0, undefined);
  }

  /** Rewrites the file atomically (temp file + rename) in one streaming pass; returns the rows it now holds. */
  async function rewrite(file: string, s: DatasetState, plan: Omit<RewritePlan, "uniformWidth">): Promise<number> {
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    const out = await open(tmp, "w");
    const src = s.size > 0 ? await open(file, "r") : undefined;
    try {
      const rows = await rewriteRecords(src, out, { ...plan, uniformWidth: s.uniform ? s.header.length : undefined });
      await out.close();
      await rename(tmp, file);
      return rows;
    } catch (err) {
      await out.close().catch(() => undefined);
      await rm(tmp, { force: true });
      throw err;
    } finally {
      await src?.close();
    }
  }

  /** Appends complete lines; a failed append is cut back so the file keeps only complete, indexed rows. */
  async function append(file: string, s: DatasetState, lines: string[]): Promise<void> {
    try {
      await appendFile(file, `${lines.join("\r\n")}\r\n`);
    } catch (err) {
      await truncate(file, s.size).catch(() => undefined); // else the next call cuts the torn record
      throw err;
    }
  }

  function writeError(file: string, err: unknown): Error {
    if (err instanceof TerminalError || err instanceof ConfigError) return err;
    return new TerminalError(`csv publisher: cannot write ${file}: ${(err as Error).message}`, { cause: err });
  }

  return {
    driverName: DRIVER_NAME,
    capabilities: { maxRowsPerRequest, supportsDelete: true },
    async upsert(dataset, rows, rowIdField) {
      if (rows.length === 0) return { created: 0, updated: 0 };
      const file = fileOf(dataset);
      // Validate every row before anything changes, so a bad row leaves the store unchanged.
      const ids = rows.map((row, i) => {
        const id = row[rowIdField];
        if (id === undefined || id === null || id === "") {
          throw new TerminalError(`csv publisher: row ${i} for dataset ${dataset} has no value in row id field "${rowIdField}"`);
        }
        return cell(id);
      });
      return index.exclusive(async () => {
        const s = await sync(dataset, rowIdField);
        const header = [...s.header];
        const columns = new Set(header);
        const addColumn = (k: string) => {
          if (!columns.has(k)) {
            columns.add(k);
            header.push(k);
          }
        };
        addColumn(rowIdField);
        for (const row of rows) for (const k in row) addColumn(k);
        const existing = index.lookup(dataset, [...new Set(ids)]);
        // id → line over the whole header; a repeated id keeps its first position and its last content
        const lines = new Map<string, string>();
        let created = 0;
        let updated = 0;
        try {
          rows.forEach((row, i) => {
            const id = ids[i]!;
            if (existing.has(id) || lines.has(id)) updated++;
            else created++;
            lines.set(id, csvLine(header.map((k) => cell(row[k]))));
          });
          hold(lines.size);
          const fresh: string[] = [];
          const changed = new Map<string, string>();
          const entries: [string, number][] = [];
          for (const [id, line] of lines) {
            const h = rowHash(line);
            const before = existing.get(id);
            if (before === undefined) fresh.push(line);
            else if (before !== h) changed.set(id, line);
            else continue; // sent again unchanged: nothing to write
            entries.push([id, h]);
          }
          const grew = header.length !== s.header.length;
          if (!grew && changed.size === 0 && fresh.length === 0) return { created, updated };
          let total: number;
          const appendOnly = !grew && changed.size === 0 && s.size > 0;
          try {
            if (appendOnly) {
              await append(file, s, fresh);
              total = s.rows + fresh.length;
            } else {
              total = await rewrite(file, s, { headerLine: csvLine(header), idColumn: header.indexOf(rowIdField), width: header.length, replace: changed, drop: new Set(), append: fresh });
            }
          } catch (err) {
            throw writeError(file, err);
          }
          index.put(dataset, entries);
          index.saveState(dataset, stamp({ rowIdField, header, rows: total, uniform: appendOnly ? s.uniform : true, size: 0, mtimeMs: 0, ino: 0 }, await stat(file)));
          return { created, updated };
        } finally {
          hold(0);
        }
      });
    },
    async delete(dataset, rowIds, rowIdField) {
      if (rowIds.length === 0) return 0;
      const file = fileOf(dataset);
      return index.exclusive(async () => {
        const s = await sync(dataset, rowIdField);
        const found = [...index.lookup(dataset, [...new Set(rowIds.map(String))]).keys()];
        if (found.length === 0) return 0;
        let total: number;
        try {
          total = await rewrite(file, s, { headerLine: csvLine(s.header), idColumn: s.header.indexOf(rowIdField), width: s.header.length, replace: new Map(), drop: new Set(found), append: [] });
        } catch (err) {
          throw writeError(file, err);
        }
        index.remove(dataset, found);
        index.saveState(dataset, stamp({ ...s, rows: total, uniform: true }, await stat(file)));
        return found.length;
      });
    },
    async countRows(dataset) {
      const file = fileOf(dataset);
      return index.exclusive(async () => {
        const saved = index.state(dataset);
        if (saved) return (await sync(dataset, saved.rowIdField)).rows;
        return countRecords(file);
      });
    },
    memory: () => ({ ...mem }),
    async close() {
      index.close();
    },
  };
}

/** Data records of a file not indexed yet (no row id column named so far); a torn last record is not counted. */
async function countRecords(file: string): Promise<number> {
  let fh;
  try {
    fh = await open(file, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw new ConfigError(`csv publisher: cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  let n = 0;
  try {
    await scanRecords(fh, 0, {
      record(_buf, start, end) {
        if (end > start) n++;
      },
    });
  } finally {
    await fh.close();
  }
  return Math.max(0, n - 1);
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


/**
 * 53-bit hash of a row's line with its trailing empty fields left out (so padding a row to a wider header keeps its
 * hash): tells an update that changes nothing from one that does. cyrb53 (public domain): a tenth of the time of
 * a crypto digest, which matters at one hash per published row; two different lines of one row id share a hash
 * with a probability of 2^-53.
 */
export function rowHash(line: string): number {
  let n = line.length;
  while (n > 0 && line.charCodeAt(n - 1) === 44) n--;
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < n; i++) {
    const ch = line.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

export default defineDriver({
  options: csvPublisherOptions,
  create: (options, ctx) => {
    const dir = options.dir ? path.resolve(ctx.baseDir, options.dir) : path.join(ctx.home, "published");
    return createCsvPublisher(dir, options.maxRowsPerRequest, options.index ? path.resolve(ctx.baseDir, options.index) : undefined);
  },
});
