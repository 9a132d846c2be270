/**
 * The block store in SQL, shared by the SQLite and PostgreSQL drivers: the dialects differ only in placeholders,
 * the DDL column types and how a statement is executed. Lease acquisition is one INSERT … ON CONFLICT DO UPDATE …
 * WHERE (expired or ours) RETURNING statement, atomic in both databases.
 */
import { readStatus, type AcquireOptions, type BlockFinish, type BlockKey, type BlockQuery, type BlockRecord, type BlockStore, type LeaseRecord, type LeaseResult } from "../../support/block-store.js";
import type { CallOptions } from "../../support/drivers.js";

export interface SqlExecutor {
  /**
   * Runs one statement; `?` placeholders are rewritten for the dialect. Returns rows (RETURNING/SELECT) and changes.
   * A statement still running when signal aborts is cancelled and its connection given back.
   */
  run(sql: string, params: unknown[], signal?: AbortSignal): Promise<{ rows: Record<string, unknown>[]; changes: number }>;
  close(): Promise<void>;
  /** "no such table" and the like: a read-only store with no tables yet reads as empty. */
  isMissingTable(err: unknown): boolean;
}

/** Columns added after the first version of the table: (name, type) for an ALTER TABLE … ADD COLUMN. */
export const ADDED_COLUMNS: readonly [string, string][] = [
  ["errors", "INTEGER NOT NULL DEFAULT 0"],
  ["payload", "TEXT"],
  ["error_payload", "TEXT"],
];

export function blocksDdl(table: string, leases: string, bigint: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${table} (
      source TEXT NOT NULL, stage TEXT NOT NULL, day TEXT NOT NULL,
      status TEXT NOT NULL, message TEXT,
      processed INTEGER NOT NULL DEFAULT 0, skipped INTEGER NOT NULL DEFAULT 0,
      failed INTEGER NOT NULL DEFAULT 0, records INTEGER NOT NULL DEFAULT 0,
      attempts INTEGER NOT NULL DEFAULT 0, owner TEXT,
      started_at ${bigint}, finished_at ${bigint}, updated_at ${bigint} NOT NULL,
      errors INTEGER NOT NULL DEFAULT 0, payload TEXT, error_payload TEXT,
      PRIMARY KEY (source, stage, day))`,
    `CREATE TABLE IF NOT EXISTS ${leases} (
      source TEXT NOT NULL, stage TEXT NOT NULL, day TEXT NOT NULL,
      owner TEXT NOT NULL, acquired_at ${bigint} NOT NULL, expires_at ${bigint} NOT NULL,
      PRIMARY KEY (source, stage, day))`,
  ];
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function toBlock(r: Record<string, unknown>): BlockRecord {
  return {
    source: String(r.source),
    stage: String(r.stage),
    day: String(r.day),
    status: readStatus(String(r.status)),
    message: r.message === null || r.message === undefined ? null : String(r.message),
    payload: r.payload === null || r.payload === undefined ? null : String(r.payload),
    errorPayload: r.error_payload === null || r.error_payload === undefined ? null : String(r.error_payload),
    processed: num(r.processed),
    skipped: num(r.skipped),
    failed: num(r.failed),
    records: num(r.records),
    errors: num(r.errors),
    attempts: num(r.attempts),
    owner: r.owner === null || r.owner === undefined ? null : String(r.owner),
    startedAt: numOrNull(r.started_at),
    finishedAt: numOrNull(r.finished_at),
    updatedAt: num(r.updated_at),
  };
}

function toLease(r: Record<string, unknown>): LeaseRecord {
  return {
    source: String(r.source),
    stage: String(r.stage),
    day: String(r.day),
    owner: String(r.owner),
    acquiredAt: num(r.acquired_at),
    expiresAt: num(r.expires_at),
  };
}

export class SqlBlockStore implements BlockStore {
  constructor(
    readonly driverName: string,
    private readonly db: SqlExecutor,
    private readonly table: string,
    private readonly leaseTable: string,
    private readonly readOnly: boolean,
  ) {}

  private async read(sql: string, params: unknown[], opts?: CallOptions): Promise<Record<string, unknown>[]> {
    try {
      return (await this.db.run(sql, params, opts?.signal)).rows;
    } catch (err) {
      if (this.readOnly && this.db.isMissingTable(err)) return [];
      throw err;
    }
  }

  private async write(sql: string, params: unknown[], opts?: CallOptions) {
    if (this.readOnly) throw new Error(`read-only block store (${this.driverName}): nothing may be written in a dry run`);
    return this.db.run(sql, params, opts?.signal);
  }

  async list(q: BlockQuery, opts?: CallOptions): Promise<BlockRecord[]> {
    const where = ["source = ?"];
    const params: unknown[] = [q.source];
    if (q.stage !== undefined) (where.push("stage = ?"), params.push(q.stage));
    if (q.from !== undefined) (where.push("day >= ?"), params.push(q.from));
    if (q.to !== undefined) (where.push("day < ?"), params.push(q.to));
    const rows = await this.read(`SELECT * FROM ${this.table} WHERE ${where.join(" AND ")} ORDER BY day, stage`, params, opts);
    return rows.map(toBlock);
  }

  async get(key: BlockKey, opts?: CallOptions): Promise<BlockRecord | undefined> {
    const rows = await this.read(`SELECT * FROM ${this.table} WHERE source = ? AND stage = ? AND day = ?`, [key.source, key.stage, key.day], opts);
    return rows[0] ? toBlock(rows[0]) : undefined;
  }

  async markPending(key: BlockKey, now: number, message?: string, opts?: CallOptions): Promise<void> {
    await this.write(
      `INSERT INTO ${this.table} (source, stage, day, status, message, updated_at) VALUES (?, ?, ?, 'pending', ?, ?)
       ON CONFLICT (source, stage, day) DO UPDATE SET status = 'pending', message = excluded.message, updated_at = excluded.updated_at
       WHERE ${this.table}.status NOT IN ('leased', 'running')`,
      [key.source, key.stage, key.day, message ?? null, now],
      opts,
    );
  }

  async markRunning(key: BlockKey, owner: string, now: number, opts?: CallOptions): Promise<void> {
    await this.write(
      `INSERT INTO ${this.table} (source, stage, day, status, attempts, owner, started_at, updated_at)
       VALUES (?, ?, ?, 'leased', 1, ?, ?, ?)
       ON CONFLICT (source, stage, day) DO UPDATE SET status = 'leased', message = NULL, processed = 0, skipped = 0,
         failed = 0, records = 0, errors = 0, error_payload = NULL, attempts = ${this.table}.attempts + 1, owner = excluded.owner,
         started_at = excluded.started_at, finished_at = NULL, updated_at = excluded.updated_at`,
      [key.source, key.stage, key.day, owner, now, now],
      opts,
    );
  }

  async markFinished(key: BlockKey, result: BlockFinish, now: number, opts?: CallOptions): Promise<void> {
    const c = result.counts;
    await this.write(
      `INSERT INTO ${this.table} (source, stage, day, status, message, processed, skipped, failed, records, errors, payload, error_payload, finished_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (source, stage, day) DO UPDATE SET status = excluded.status, message = excluded.message,
         processed = excluded.processed, skipped = excluded.skipped, failed = excluded.failed, records = excluded.records,
         errors = excluded.errors, payload = excluded.payload, error_payload = excluded.error_payload,
         finished_at = excluded.finished_at, updated_at = excluded.updated_at`,
      [key.source, key.stage, key.day, result.status, result.message, c.processed, c.skipped, c.failed, c.records, c.errors ?? 0, result.payload ?? null, result.errorPayload ?? null, now, now],
      opts,
    );
  }

  async acquireLease(key: BlockKey, owner: string, now: number, ttlMs: number, opts?: AcquireOptions): Promise<LeaseResult> {
    const { rows } = await this.write(
      `INSERT INTO ${this.leaseTable} (source, stage, day, owner, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (source, stage, day) DO UPDATE SET owner = excluded.owner, acquired_at = excluded.acquired_at,
         expires_at = excluded.expires_at
       WHERE ${this.leaseTable}.expires_at <= excluded.acquired_at OR ${this.leaseTable}.owner = excluded.owner
         OR ${this.leaseTable}.owner = ?
       RETURNING owner`,
      [key.source, key.stage, key.day, owner, now, now + ttlMs, opts?.takeOver ?? owner],
      opts,
    );
    if (rows.length > 0 && rows[0]!.owner === owner) return { acquired: true };
    const held = await this.read(`SELECT * FROM ${this.leaseTable} WHERE source = ? AND stage = ? AND day = ?`, [key.source, key.stage, key.day], opts);
    return { acquired: false, holder: held[0] ? toLease(held[0]) : undefined };
  }

  async renewLease(key: BlockKey, owner: string, now: number, ttlMs: number, opts?: CallOptions): Promise<boolean> {
    const { changes } = await this.write(
      `UPDATE ${this.leaseTable} SET expires_at = ? WHERE source = ? AND stage = ? AND day = ? AND owner = ?`,
      [now + ttlMs, key.source, key.stage, key.day, owner],
      opts,
    );
    return changes > 0;
  }

  async releaseLease(key: BlockKey, owner: string, opts?: CallOptions): Promise<void> {
    await this.write(`DELETE FROM ${this.leaseTable} WHERE source = ? AND stage = ? AND day = ? AND owner = ?`, [key.source, key.stage, key.day, owner], opts);
  }

  async leases(q: { source?: string }, opts?: CallOptions): Promise<LeaseRecord[]> {
    const rows = q.source
      ? await this.read(`SELECT * FROM ${this.leaseTable} WHERE source = ? ORDER BY day, stage`, [q.source], opts)
      : await this.read(`SELECT * FROM ${this.leaseTable} ORDER BY source, day, stage`, [], opts);
    return rows.map(toLease);
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
