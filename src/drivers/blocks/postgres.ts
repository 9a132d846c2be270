/**
 * PostgreSQL block store: tables lake_blocks and lake_leases (schema `lake_ops` by default) in the postgres catalog's
 * database. Connection: options.connectionString (or url), else the secret CATALOG_PG_URL, then PG_URL (as the
 * postgres catalog). Tables are created on first use under an advisory lock, so two workers starting together do not
 * race.
 */
import { defineDriver } from "../define.js";
import { postgresBlocksOptions } from "../options.js";
import { pgConnectionString, pgError, pgPool, pgQuery, pgWhere } from "../utils/pg.js";
import { ADDED_COLUMNS, blocksDdl, SqlBlockStore, type SqlExecutor } from "./sql-store.js";

const DRIVER = "postgres blocks";

/** The SQLSTATE of a pg failure, wrapped or not. */
function sqlState(err: unknown): string {
  const e = err as { code?: string; cause?: { code?: string } };
  return String(e?.code ?? e?.cause?.code ?? "");
}

export async function postgresBlockStore(url: string, schema: string, poolSize: number, readOnly: boolean): Promise<SqlBlockStore> {
  const pool = pgPool(url, poolSize);
  const where = pgWhere(url);
  const table = `${schema}.lake_blocks`;
  const leases = `${schema}.lake_leases`;
  const toDollar = (sql: string) => {
    let i = 0;
    return sql.replace(/\?/g, () => `$${++i}`);
  };
  const what = (sql: string) => sql.trim().split(/\s+/).slice(0, 3).join(" ");
  const exec: SqlExecutor = {
    async run(sql, params, signal) {
      try {
        const res = await pgQuery(pool, toDollar(sql), params, signal);
        return { rows: res.rows as Record<string, unknown>[], changes: res.rowCount ?? 0 };
      } catch (err) {
        throw pgError(DRIVER, what(sql), where, err);
      }
    },
    close: () => pool.end(),
    isMissingTable: (err) => ["42P01", "3F000"].includes(sqlState(err)),
  };
  if (!readOnly) {
    try {
      await createTables(pool, schema, table, leases);
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw pgError(DRIVER, "create tables", where, err);
    }
  }
  return new SqlBlockStore("postgres", exec, table, leases, readOnly);
}

async function createTables(pool: ReturnType<typeof pgPool>, schema: string, table: string, leases: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock(hashtext('lake_ops.blocks_ddl'))");
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    for (const ddl of blocksDdl(table, leases, "BIGINT")) await client.query(ddl);
    for (const [name, type] of ADDED_COLUMNS) await client.query(`ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${name} ${type}`);
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

export default defineDriver({
  options: postgresBlocksOptions,
  create: (o, ctx) =>
    postgresBlockStore(o.url ?? pgConnectionString(DRIVER, o.connectionString, ["CATALOG_PG_URL", "PG_URL"], ctx), o.schema, o.poolSize, o.readOnly),
});
