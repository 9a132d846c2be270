/**
 * The embedded default publisher: one CSV file per dataset under `dir` (default `<home>/published`), upserted by
 * row id so a rerun never duplicates rows. The CSV file is the store; in memory the driver keeps only, per dataset,
 * row id → hash of the row's line (no row content), built by one streaming pass over the file on first use. Per
 * call: rows with new ids are appended; changed rows, a new column or a delete cost one streaming rewrite of the
 * file (temp file + rename, csv-records.ts); rows sent again unchanged cost nothing. The driver remembers the
 * file's size, mtime and inode after each write: a file changed since (an append cut short, another writer) is
 * indexed again, and a torn last record is cut off. The header is the union of columns in first-seen order (a later
 * row with other keys never fails: fixes B35's CSV part); lines end in `\r\n` like Python's csv module.
 * Writers of one dataset never overlap: the driver runtime holds the dataset's lock (across processes) around each
 * call, and the driver checks the file against what it last wrote inside that call.
 */
import { appendFile, mkdir, open, rename, rm, stat, truncate } from "node:fs/promises";
import type { Stats } from "node:fs";
import path from "node:path";
import { defineDriver } from "../define.js";
import { csvPublisherOptions } from "../options.js";
import type { CallOptions, PublisherDriver, PublishRow, PublishValue } from "../../support/drivers.js";
import { ConfigError, TerminalError } from "../../support/errors.js";
import { sweepTempsOnce, tempPathFor } from "../../util/temp-file.js";
import { IdIndex } from "./csv-ids.js";
import { fieldAt, fieldCount, recordFields, rewriteRecords, scanRecords, type RewritePlan } from "./csv-records.js";

export const DRIVER_NAME = "csv";


/** A dataset name becomes a file name: letters, digits, dot, dash, underscore only. */
const DATASET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * What the driver keeps of one dataset: its header and, per row id, the hash of the row's line (no row content),
 * plus the file's size, mtime and inode after the driver's last write, to notice a file changed behind its back.
 */
interface DatasetState {
  rowIdField: string;
  header: string[];
  /** row id → rowHash of its line (csv-ids.ts: hashes in typed arrays, no strings). */
  ids: IdIndex;
  /** Every record has exactly `header.length` fields (a rewrite then need not count them). */
  uniform: boolean;
  size: number;
  mtimeMs: number;
  ino: number;
}

/** What the driver holds in memory, for tests and benchmarks: rows of the call in progress, never the dataset. */
export interface CsvPublisherMemory {
  /** Rows (serialised lines) held right now. */
  heldRows: number;
  /** Most rows held at once since the driver was created. */
  peakHeldRows: number;
  /** Row ids indexed. */
  indexedRows?: number;
  /** Bytes of the indexes (16 per slot, at most three quarters of the slots used): no row content, no strings. */
  indexBytes?: number;
}

export type CsvPublisher = PublisherDriver & {
  countRows(dataset: string, opts?: CallOptions): Promise<number>;
  countIds(dataset: string, rowIds: string[], rowIdField: string, opts?: CallOptions): Promise<number>;
  /** Rows held in memory: at most one call's rows; the index holds ids and hashes only. */
  memory(): CsvPublisherMemory;
  close(): Promise<void>;
};

export function createCsvPublisher(dir: string, maxRowsPerRequest = 10_000): CsvPublisher {
  const swept = new Set<string>();
  const datasets = new Map<string, DatasetState>();
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

  function stamp(s: DatasetState, st: Stats): void {
    s.size = st.size;
    s.mtimeMs = st.mtimeMs;
    s.ino = st.ino;
  }

  /**
   * Reads the dataset file in one streaming pass and indexes its rows by `rowIdField`. A torn last record (no line
   * ending: an append cut short) is cut off the file: the call that wrote it failed, so its rows were never
   * reported as published and will be sent again.
   */
  async function indexFile(file: string, rowIdField: string): Promise<DatasetState> {
    let header: string[] | undefined;
    let at = -1;
    let uniform = true;
    let recordNo = 0;
    let failure: TerminalError | undefined;
    const ids = new IdIndex();
    let fh;
    try {
      fh = await open(file, "r");
    } catch (err) {
      throw new ConfigError(`csv publisher: cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
    let scan;
    try {
      scan = await scanRecords(fh, 0, {
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
            failure = new TerminalError(`csv publisher: ${file} line ${recordNo} has an empty row id in column "${rowIdField}"`);
          } else if (ids.has(id)) {
            failure = new TerminalError(`csv publisher: ${file} line ${recordNo} repeats row id "${id}" (column "${rowIdField}"): remove the extra row or move the file away`);
          } else {
            if (uniform && fieldCount(buf, start, end, quoted) !== header.length) uniform = false;
            ids.set(id, rowHash(buf.toString("utf8", start, end)));
          }
        },
      });
    } catch (err) {
      throw new ConfigError(`csv publisher: cannot read ${file}: ${(err as Error).message}`, { cause: err });
    } finally {
      await fh.close();
    }
    if (failure) throw failure;
    if (scan.tornBytes > 0) await truncate(file, scan.end);
    const state: DatasetState = { rowIdField, header: header ?? [], ids, uniform, size: 0, mtimeMs: 0, ino: 0 };
    stamp(state, await stat(file));
    return state;
  }

  /**
   * The dataset's state, checked against its file: as the driver last wrote it (same size, mtime, inode) → kept;
   * otherwise (first use, another writer, an append cut short) → indexed again from the file.
   */
  async function sync(dataset: string, rowIdField: string): Promise<DatasetState> {
    sweepTempsOnce(dir, swept); // rewrites a killed process left half-done (util/temp-file.ts)
    const file = fileOf(dataset);
    const st = await statOf(file);
    let s = datasets.get(dataset);
    if (s && s.rowIdField !== rowIdField) {
      if (s.ids.size > 0 && !s.header.includes(rowIdField)) {
        throw new TerminalError(`csv publisher: ${file} has no column "${rowIdField}" to use as row id (columns: ${s.header.join(", ")})`);
      }
      s = undefined; // keyed by another column so far: index again by this one
    }
    if (!st) s = { rowIdField, header: [], ids: new IdIndex(), uniform: true, size: 0, mtimeMs: 0, ino: 0 };
    else if (!s || st.ino !== s.ino || st.size !== s.size || st.mtimeMs !== s.mtimeMs) {
      datasets.delete(dataset);
      s = await indexFile(file, rowIdField);
    }
    datasets.set(dataset, s);
    return s;
  }

  /** Rewrites the file atomically (temp file + rename) in one streaming pass; returns the rows it now holds. */
  async function rewrite(file: string, s: DatasetState, plan: Omit<RewritePlan, "uniformWidth">): Promise<number> {
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = tempPathFor(file);
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

  /** A failed write forgets the dataset (the next call indexes the file again) and names the file. */
  function writeError(dataset: string, file: string, err: unknown): Error {
    datasets.delete(dataset);
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
      for (const row of rows) {
        // rows of one source share their keys in header order: compare by position before asking the set
        let at = 0;
        for (const k in row) {
          if (header[at++] !== k) addColumn(k);
        }
      }
      // The call's rows, once per id: a repeated id keeps its first position and its last content.
      const slot = new Map<string, number>();
      const slotIds: string[] = [];
      const slotLines: string[] = [];
      const slotBefore: (number | undefined)[] = [];
      let created = 0;
      let updated = 0;
      try {
        for (let i = 0; i < rows.length; i++) {
          const id = ids[i]!;
          const line = rowLine(rows[i]!, header);
          const k = slot.get(id);
          if (k !== undefined) {
            slotLines[k] = line;
            updated++;
            continue;
          }
          const before = s.ids.get(id);
          if (before === undefined) created++;
          else updated++;
          slot.set(id, slotIds.length);
          slotIds.push(id);
          slotLines.push(line);
          slotBefore.push(before);
        }
        hold(slotLines.length);
        const fresh: string[] = [];
        const changed = new Map<string, string>();
        const hashes: [string, number][] = [];
        for (let k = 0; k < slotIds.length; k++) {
          const line = slotLines[k]!;
          const h = rowHash(line);
          const before = slotBefore[k];
          if (before === undefined) fresh.push(line);
          else if (before !== h) changed.set(slotIds[k]!, line);
          else continue; // sent again unchanged: nothing to write
          hashes.push([slotIds[k]!, h]);
        }
        const grew = header.length !== s.header.length;
        if (!grew && changed.size === 0 && fresh.length === 0) return { created, updated };
        const appendOnly = !grew && changed.size === 0 && s.size > 0;
        try {
          if (appendOnly) await append(file, s, fresh);
          else await rewrite(file, s, { headerLine: csvLine(header), idColumn: header.indexOf(rowIdField), width: header.length, replace: changed, drop: new Set(), append: fresh });
          stamp(s, await stat(file));
        } catch (err) {
          throw writeError(dataset, file, err);
        }
        for (const [id, h] of hashes) s.ids.set(id, h);
        s.header = header;
        if (!appendOnly) s.uniform = true;
        return { created, updated };
      } finally {
        hold(0);
      }
    },
    async delete(dataset, rowIds, rowIdField) {
      if (rowIds.length === 0) return 0;
      const file = fileOf(dataset);
      const s = await sync(dataset, rowIdField);
      const found = new Set(rowIds.map(String).filter((id) => s.ids.has(id)));
      if (found.size === 0) return 0;
      try {
        await rewrite(file, s, { headerLine: csvLine(s.header), idColumn: s.header.indexOf(rowIdField), width: s.header.length, replace: new Map(), drop: found, append: [] });
        stamp(s, await stat(file));
      } catch (err) {
        throw writeError(dataset, file, err);
      }
      for (const id of found) s.ids.delete(id);
      s.uniform = true;
      return found.size;
    },
    async countIds(dataset, rowIds, rowIdField) {
      const s = await sync(dataset, rowIdField);
      return new Set(rowIds.map(String).filter((id) => s.ids.has(id))).size;
    },
    async countRows(dataset) {
      const file = fileOf(dataset);
      const s = datasets.get(dataset);
      if (s) return (await sync(dataset, s.rowIdField)).ids.size;
      return countRecords(file);
    },
    memory: () => {
      const all = [...datasets.values()];
      return { ...mem, indexedRows: all.reduce((n, s) => n + s.ids.size, 0), indexBytes: all.reduce((n, s) => n + s.ids.bytes, 0) };
    },
    async close() {
      datasets.clear();
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

/** One row as its CSV line over `header` (csvLine of its cells, without building the array of cells). */
export function rowLine(row: PublishRow, header: string[]): string {
  let out = field(row[header[0]!]);
  for (let c = 1; c < header.length; c++) out += `,${field(row[header[c]!])}`;
  return out === "" && header.length === 1 ? '""' : out;
}

/** One cell as written in a line: the value's text, quoted when needed. */
function field(v: PublishValue | undefined): string {
  if (typeof v === "number") return String(v);
  const s = cell(v);
  return NEEDS_QUOTES.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
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
    return createCsvPublisher(dir, options.maxRowsPerRequest);
  },
});
