/**
 * Writing rows into a destination table (SQLite or PostgreSQL through the SQL driver) with a declared write mode
 * (seed-systems §3.8), the same for every source:
 *
 * - `upsert`: insert, or update the row with the same key (ON CONFLICT (key) DO UPDATE). Idempotent.
 * - `replace-partition`: the partition's rows become exactly the given ones: the rows are inserted (upserted by key
 *   when there is one) tagged with this load's id, then the partition's rows of other loads are deleted. Idempotent.
 *   The SQL driver port has no transactions: a failure between the two steps leaves the partition's older rows
 *   beside the new ones until the block is run again (it is failed, so a repair sweep takes it).
 * - `fail-on-conflict`: refuses the whole load (nothing written) when a key is already in the table.
 * - `append`: plain inserts (a table without a key; a rerun duplicates, a key conflict raises). Never the default.
 *
 * The default is idempotent: `upsert` when the table has a key, else `replace-partition`. Rows are de-duplicated by
 * key before writing (the first occurrence is kept, the others counted). Never a table-wide clobber.
 *
 * With `isolateRefused` (upsert and append), a batch the database refuses is written again row by row: the rows it
 * still refuses are returned with the database's reason and the others are written (one bad row costs one row).
 * A table that exists with fewer columns than its spec gets the missing ones added (nullable): additive migrations.
 */
import { placeholder, type SqlDriver } from "./drivers.js";
import { ConfigError, TerminalError, errorMessage } from "./errors.js";

export type WriteMode = "append" | "upsert" | "replace-partition" | "fail-on-conflict";
export const WRITE_MODES: readonly WriteMode[] = ["append", "upsert", "replace-partition", "fail-on-conflict"];

export type ColumnType = "text" | "integer" | "real";

export interface TableSpec {
  name: string;
  /** Column → type, in order. */
  columns: Record<string, ColumnType>;
  /** Natural key columns (the primary key), if any. */
  key?: readonly string[];
  /** The column holding the partition key (needed by replace-partition). */
  partitionColumn?: string;
  /** Further indexes, each a list of columns (e.g. provider and end time, for reading an hour back). */
  indexes?: readonly (readonly string[])[];
}

export type SqlRow = Record<string, string | number | null>;

export interface WriteResult {
  mode: WriteMode;
  written: number;
  /** Rows dropped as duplicates of an earlier row of the batch with the same key. */
  duplicates: number;
  /** Rows of the partition removed because the new load does not have them (replace-partition). */
  replaced: number;
  /** Rows the database refused, with its reason (only with isolateRefused; otherwise a refusal throws). */
  refused: { row: SqlRow; error: string }[];
}

const LOAD_ID = "_load_id";
const IDENT = /^[a-z_][a-z0-9_]*$/;

function check(spec: TableSpec): void {
  for (const c of [spec.name, ...Object.keys(spec.columns)]) if (!IDENT.test(c)) throw new ConfigError(`table ${spec.name}: "${c}" is not a plain lower-case identifier`);
  for (const k of [...(spec.key ?? []), ...(spec.partitionColumn ? [spec.partitionColumn] : []), ...(spec.indexes ?? []).flat()]) {
    if (!(k in spec.columns)) throw new ConfigError(`table ${spec.name}: key column "${k}" is not one of its columns`);
  }
}

/** The idempotent default: upsert by key, else replace the partition. */
export function defaultMode(spec: TableSpec): WriteMode {
  return spec.key?.length ? "upsert" : "replace-partition";
}

const ensured = new WeakMap<SqlDriver, Map<string, Promise<void>>>();

/**
 * Creates the table (and its partition index) when missing, once per driver and table. Two processes creating it at
 * once (PostgreSQL's CREATE TABLE IF NOT EXISTS can then fail on its catalog) are settled by trying again.
 */
export function ensureTable(db: SqlDriver, spec: TableSpec): Promise<void> {
  let byName = ensured.get(db);
  if (!byName) ensured.set(db, (byName = new Map()));
  let made = byName.get(spec.name);
  if (!made) {
    made = createTable(db, spec).catch(() => createTable(db, spec));
    byName.set(spec.name, made);
    made.catch(() => byName.delete(spec.name));
  }
  return made;
}

async function createTable(db: SqlDriver, spec: TableSpec): Promise<void> {
  check(spec);
  const types: Record<ColumnType, string> = db.dialect === "postgres" ? { text: "TEXT", integer: "BIGINT", real: "DOUBLE PRECISION" } : { text: "TEXT", integer: "INTEGER", real: "REAL" };
  const all: [string, string][] = [...Object.entries(spec.columns).map(([c, t]): [string, string] => [c, types[t]]), [LOAD_ID, "TEXT"]];
  const pk = spec.key?.length ? `, PRIMARY KEY (${spec.key.join(", ")})` : "";
  await db.query(`CREATE TABLE IF NOT EXISTS ${spec.name} (${all.map(([c, t]) => `${c} ${t}`).join(", ")}${pk})`);
  const present = new Set(await columnsOf(db, spec.name));
  for (const [c, t] of all) if (!present.has(c)) await db.query(`ALTER TABLE ${spec.name} ADD COLUMN ${c} ${t}`);
  for (const cols of [...(spec.partitionColumn ? [[spec.partitionColumn]] : []), ...(spec.indexes ?? [])]) {
    await db.query(`CREATE INDEX IF NOT EXISTS ${spec.name}_${cols.join("_")} ON ${spec.name} (${cols.join(", ")})`);
  }
}

/** The column names of an existing table. */
async function columnsOf(db: SqlDriver, table: string): Promise<string[]> {
  if (db.dialect === "sqlite") return (await db.query<{ name: string }>(`PRAGMA table_info(${table})`)).map((r) => r.name);
  const rows = await db.query<{ name: string }>(
    `SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ${placeholder(db.dialect, 0)}`,
    [table],
  );
  return rows.map((r) => r.name);
}

/** Rows with a key seen before in the batch are dropped (the first is kept). */
export function dedupeByKey<R extends SqlRow>(rows: readonly R[], key: readonly string[] | undefined): { rows: R[]; duplicates: number } {
  if (!key?.length) return { rows: [...rows], duplicates: 0 };
  const seen = new Set<string>();
  const out: R[] = [];
  for (const r of rows) {
    const k = JSON.stringify(key.map((c) => r[c] ?? null));
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(r);
  }
  return { rows: out, duplicates: rows.length - out.length };
}

function insertSql(db: SqlDriver, spec: TableSpec, n: number, onConflict: "update" | "none"): string {
  const cols = [...Object.keys(spec.columns), LOAD_ID];
  let i = 0;
  const values = Array.from({ length: n }, () => `(${cols.map(() => placeholder(db.dialect, i++)).join(", ")})`);
  let tail = "";
  if (onConflict === "update" && spec.key?.length) {
    const set = cols.filter((c) => !spec.key!.includes(c)).map((c) => `${c} = excluded.${c}`);
    tail = ` ON CONFLICT (${spec.key.join(", ")}) DO UPDATE SET ${set.join(", ")}`;
  }
  return `INSERT INTO ${spec.name} (${cols.join(", ")}) VALUES ${values.join(", ")}${tail}`;
}

/**
 * Writes rows in one mode, in batches (each batch one statement, atomic). `partition` is the partition key of the
 * rows (replace-partition); `loadId` tells this load's rows apart (default: a fresh one).
 */
export async function writeRows(
  db: SqlDriver,
  spec: TableSpec,
  input: readonly SqlRow[],
  opts: { mode?: WriteMode; partition?: string; loadId?: string; batchSize?: number; isolateRefused?: boolean } = {},
): Promise<WriteResult> {
  check(spec);
  const mode = opts.mode ?? defaultMode(spec);
  if (!WRITE_MODES.includes(mode)) throw new ConfigError(`write mode "${String(mode)}": use ${WRITE_MODES.join(", ")}`);
  if (mode === "upsert" && !spec.key?.length) throw new ConfigError(`table ${spec.name}: write mode upsert needs a key`);
  if (mode === "replace-partition" && (!spec.partitionColumn || opts.partition === undefined)) {
    throw new ConfigError(`table ${spec.name}: write mode replace-partition needs a partition column and the partition`);
  }
  if (opts.isolateRefused && mode !== "upsert" && mode !== "append") throw new ConfigError(`table ${spec.name}: isolateRefused is for write modes upsert and append (${mode} is all or nothing)`);
  const { rows, duplicates } = dedupeByKey(input, spec.key);
  const p = (i: number) => placeholder(db.dialect, i);
  if (mode === "fail-on-conflict" && spec.key?.length && rows.length) {
    const present = await existingKeys(db, spec, rows);
    if (present.length) throw new TerminalError(`${spec.name}: ${present.length} key(s) already loaded (write mode fail-on-conflict), e.g. ${present.slice(0, 3).join(", ")}; nothing was written`);
  }
  const loadId = opts.loadId ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const cols = Object.keys(spec.columns);
  const batchSize = Math.max(1, Math.min(opts.batchSize ?? 500, Math.floor(30_000 / (cols.length + 1))));
  const conflict = mode === "upsert" || mode === "replace-partition" ? "update" : "none";
  const write = (batch: readonly SqlRow[]) => db.query(insertSql(db, spec, batch.length, conflict), batch.flatMap((r) => [...cols.map((c) => r[c] ?? null), loadId]));
  const refused: WriteResult["refused"] = [];
  for (let i = 0; i < rows.length; i += batchSize) {
    const batch = rows.slice(i, i + batchSize);
    if (!opts.isolateRefused) {
      await write(batch);
      continue;
    }
    try {
      await write(batch);
    } catch {
      for (const row of batch) await write([row]).catch((err: unknown) => refused.push({ row, error: errorMessage(err).slice(0, 300) }));
    }
  }
  let replaced = 0;
  if (mode === "replace-partition") {
    const where = `${spec.partitionColumn} = ${p(0)} AND (${LOAD_ID} IS NULL OR ${LOAD_ID} <> ${p(1)})`;
    const n = await db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${spec.name} WHERE ${where}`, [opts.partition, loadId]);
    replaced = Number(n[0]?.n ?? 0);
    if (replaced) await db.query(`DELETE FROM ${spec.name} WHERE ${where}`, [opts.partition, loadId]);
  }
  return { mode, written: rows.length - refused.length, duplicates, replaced, refused };
}

/** Keys of rows already in the table (text form "a|b"). */
async function existingKeys(db: SqlDriver, spec: TableSpec, rows: readonly SqlRow[]): Promise<string[]> {
  const key = spec.key!;
  const found: string[] = [];
  const per = Math.max(1, Math.floor(900 / key.length));
  for (let i = 0; i < rows.length; i += per) {
    const batch = rows.slice(i, i + per);
    let n = 0;
    const cond = batch.map(() => `(${key.map((c) => `${c} = ${placeholder(db.dialect, n++)}`).join(" AND ")})`).join(" OR ");
    const hit = await db.query(`SELECT ${key.join(", ")} FROM ${spec.name} WHERE ${cond}`, batch.flatMap((r) => key.map((c) => r[c] ?? null)));
    for (const h of hit) found.push(key.map((c) => String(h[c])).join("|"));
  }
  return found;
}
