/**
 * PostgreSQL block store: tables lake_blocks and lake_leases (schema `lake_ops` by default) in the postgres catalog's
 * database. Connection: options.connectionString (or url), else the secret CATALOG_PG_URL, then PG_URL (as the
 * postgres catalog). Tables are created on first use under an advisory lock, so two workers starting together do not
 * race.
 */
import * as z from "zod/mini";
import { defineDriver, type DriverContext } from "../define.js";
import { ConfigError, TransientError } from "../../support/errors.js";
import { blocksDdl, SqlBlockStore, type SqlExecutor } from "./sql-store.js";

const IDENT = /^[a-z_][a-z0-9_]*$/;
/** SQLSTATE classes worth a retry: connection exceptions, serialization failures, too many connections. */
const TRANSIENT_CODES = /^(08|40|53)/;

const options = z.strictObject({
  url: z.optional(z.string()),
  connectionString: z.optional(z.string()),
  schema: z._default(z.string().check(z.regex(IDENT, "a lower-case SQL identifier")), "lake_ops"),
  /** Connections in the pool. */
  poolSize: z._default(z.int().check(z.minimum(1)), 4),
});

function connectionString(o: z.infer<typeof options>, ctx: DriverContext): string {
  const url = o.url ?? o.connectionString ?? ctx.secrets.get("CATALOG_PG_URL") ?? ctx.secrets.get("PG_URL");
  if (!url) throw new ConfigError("blocks (postgres): no database: set blocks.options.connectionString or the secret CATALOG_PG_URL or PG_URL");
  return url;
}

export async function postgresBlockStore(url: string, schema: string, poolSize: number, readOnly: boolean): Promise<SqlBlockStore> {
  const { default: pg } = await import("pg");
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  pool.on("error", () => undefined); // idle client errors surface on the next query instead of crashing the process
  const table = `${schema}.lake_blocks`;
  const leases = `${schema}.lake_leases`;
  const toDollar = (sql: string) => {
    let i = 0;
    return sql.replace(/\?/g, () => `$${++i}`);
  };
  const classify = (err: unknown, sql: string): Error => {
    const code = String((err as { code?: string }).code ?? "");
    const msg = `blocks (postgres): ${(err as Error).message} in ${sql.trim().split(/\s+/).slice(0, 4).join(" ")} …`;
    if (TRANSIENT_CODES.test(code) || /ECONNREFUSED|ECONNRESET|ETIMEDOUT|terminat/i.test(String((err as Error).message))) {
      return new TransientError(`${msg}; the database is unreachable or busy, retry later`, { cause: err });
    }
    return Object.assign(new Error(msg, { cause: err }), { code });
  };
  const exec: SqlExecutor = {
    async run(sql, params) {
      try {
        const res = await pool.query(toDollar(sql), params);
        return { rows: res.rows as Record<string, unknown>[], changes: res.rowCount ?? 0 };
      } catch (err) {
        throw classify(err, sql);
      }
    },
    close: () => pool.end(),
    isMissingTable: (err) => ["42P01", "3F000"].includes(String((err as { code?: string }).code)),
  };
  if (!readOnly) {
    const client = await pool.connect().catch((err: unknown) => {
      throw classify(err, "connect");
    });
    try {
      await client.query("BEGIN");
      await client.query("SELECT pg_advisory_xact_lock(hashtext('lake_ops.blocks_ddl'))");
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      for (const ddl of blocksDdl(table, leases, "BIGINT")) await client.query(ddl);
      await client.query("COMMIT");
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw classify(err, "create tables");
    } finally {
      client.release();
    }
  }
  return new SqlBlockStore("postgres", exec, table, leases, readOnly);
}

export default (readOnly: boolean) =>
  defineDriver({
    options,
    create: (o, ctx) => postgresBlockStore(connectionString(o, ctx), o.schema, o.poolSize, readOnly),
  });
