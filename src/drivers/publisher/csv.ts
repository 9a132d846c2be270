/**
 * The embedded default publisher: one CSV file per dataset under `dir` (default `<home>/published`), upserted by
 * row id so a rerun never duplicates rows. The file is the store: on first use the driver loads it into an index
 * (row id → row); each upsert or delete rewrites it atomically (temp file + rename). The header is the union of
 * columns in first-seen order (a later row with other keys never fails: fixes B35's CSV part); lines end in
 * `\r\n` like Python's csv module.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { parse } from "csv-parse/sync";
import { stringify } from "csv-stringify/sync";
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

/** A dataset name becomes a file name: letters, digits, dot, dash, underscore only. */
const DATASET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

interface DatasetFile {
  file: string;
  header: string[];
  /** row id → row (values as text, "" for null), in file order. */
  rows: Map<string, Record<string, string>>;
  rowIdField: string | undefined;
  /** Rows read from the file, not yet keyed (the row id column is named by the first call). */
  pending?: Record<string, string>[];
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

  async function save(ds: DatasetFile): Promise<void> {
    await mkdir(path.dirname(ds.file), { recursive: true });
    const lines = [ds.header, ...[...ds.rows.values()].map((r) => ds.header.map((k) => r[k] ?? ""))];
    const tmp = `${ds.file}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, stringify(lines, { record_delimiter: "\r\n" }));
    await rename(tmp, ds.file);
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
        rows.forEach((row, i) => {
          for (const k of Object.keys(row)) if (!ds.header.includes(k)) ds.header.push(k);
          const text: Record<string, string> = {};
          for (const [k, v] of Object.entries(row)) text[k] = cell(v);
          const id = ids[i]!;
          if (ds.rows.has(id)) updated++;
          else created++;
          ds.rows.set(id, text);
        });
        await save(ds);
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
        if (n > 0) await save(ds);
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
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { file, header: [], rows: new Map(), rowIdField: undefined };
    throw new ConfigError(`csv publisher: cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  let records: string[][];
  try {
    records = parse(text, { skip_empty_lines: true }) as string[][];
  } catch (err) {
    throw new TerminalError(`csv publisher: ${file} is not a valid CSV file (${(err as Error).message}): fix or move it away`, { cause: err });
  }
  const header = records[0] ?? [];
  const pending = records.slice(1).map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ""])));
  return { file, header, rows: new Map(), rowIdField: undefined, pending };
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
  if (pending.length > 0 && !ds.header.includes(rowIdField)) {
    throw new TerminalError(`csv publisher: ${ds.file} has no column "${rowIdField}" to use as row id (columns: ${ds.header.join(", ")})`);
  }
  pending.forEach((r, i) => {
    const id = r[rowIdField] ?? "";
    if (id === "") throw new TerminalError(`csv publisher: ${ds.file} line ${i + 2} has an empty row id in column "${rowIdField}"`);
    ds.rows.set(id, r);
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
