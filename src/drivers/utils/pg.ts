/**
 * Shared by the PostgreSQL drivers (catalog, sql): the pool, the connection string from options or a secret, and
 * error classification by SQLSTATE class.
 */
import pg from "pg";
import type { DriverContext } from "../define.js";
import { ConfigError, TerminalError, TransientError } from "../../support/errors.js";

export type PgPool = pg.Pool;

/** The connection string: the option when given, else the first set secret among `secretNames`. */
export function pgConnectionString(driver: string, option: string | undefined, secretNames: string[], ctx: DriverContext): string {
  if (option) return option;
  for (const name of secretNames) {
    const v = ctx.secrets.get(name);
    if (v) return v;
  }
  throw new ConfigError(
    `${driver}: no database to connect to: set the option connectionString or the secret ${secretNames.join(" or ")} ` +
      "(postgres://user:password@host:5432/database)",
  );
}

export function pgPool(connectionString: string, max: number): PgPool {
  const pool = new pg.Pool({ connectionString, max, connectionTimeoutMillis: 10_000 });
  // An idle client losing its server must not crash the process; the next query reports the failure.
  pool.on("error", () => {});
  return pool;
}

/** Host and database of a connection string, without user or password (for messages). */
export function pgWhere(connectionString: string): string {
  try {
    const u = new URL(connectionString);
    return `${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    return "the configured database";
  }
}

const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

/** Maps a pg failure to the framework's classes. */
export function pgError(driver: string, op: string, where: string, err: unknown): Error {
  if (err instanceof ConfigError || err instanceof TerminalError || err instanceof TransientError) return err;
  const e = err as { code?: string; message?: string; errors?: { code?: string }[] };
  const code = e.code ?? e.errors?.[0]?.code ?? "";
  const msg = e.message || (e.errors ? "connection failed" : String(err));
  const opts = { cause: err };
  if (NETWORK_CODES.has(code) || /timeout|Connection terminated/i.test(msg)) {
    return new TransientError(`${driver}: cannot reach PostgreSQL at ${where} for ${op} (${code || msg}): is the server up and the address right?`, opts);
  }
  if (code === "28P01" || code === "28000") {
    return new ConfigError(`${driver}: PostgreSQL at ${where} refused the login (${msg}): check the user and password in the connection string`, opts);
  }
  if (code === "3D000" || code === "42P01" || code === "3F000") {
    return new ConfigError(`${driver}: ${msg} at ${where}: check the database, schema and table options (or set ensureSchema)`, opts);
  }
  if (code === "42501") return new ConfigError(`${driver}: permission denied for ${op} at ${where} (${msg}): grant it to the login`, opts);
  // 08 connection exception, 40 transaction rollback (serialization, deadlock), 53 resources, 57 operator intervention.
  if (/^(08|40|53|57)/.test(code)) return new TransientError(`${driver}: ${op} at ${where} failed (${code}: ${msg})`, opts);
  return new TerminalError(`${driver}: ${op} at ${where} refused (${code ? `${code}: ` : ""}${msg})`, opts);
}

/** A safely quoted identifier ("schema"."table"). */
export function quoteIdent(...parts: string[]): string {
  return parts.map((p) => `"${p.replace(/"/g, '""')}"`).join(".");
}
