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

/**
 * Runs fn on a connection of the pool, bound to the call's deadline: when signal aborts, the statement in flight is
 * cancelled on the server (a cancel request on a side connection, as psql's Ctrl-C) and the connection is closed and
 * given back, so a stuck query never keeps a pool connection (nor a transaction) after its call failed. Without a
 * signal, a plain pool connection.
 */
export async function withPgClient<T>(pool: PgPool, signal: AbortSignal | undefined, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  signal?.throwIfAborted();
  const connecting = pool.connect();
  let client: pg.PoolClient;
  if (!signal) client = await connecting;
  else {
    let onAbort!: () => void;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      client = await Promise.race([connecting, aborted]);
    } catch (err) {
      // A connection that arrives after the deadline goes straight back.
      void connecting.then((c) => c.release(), () => undefined);
      throw err;
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }
  let released = false;
  const release = (err?: Error) => {
    if (released) return;
    released = true;
    // release(error) closes the connection instead of returning it: it may be mid-statement or mid-transaction.
    client.release(err);
  };
  const onAbort = () => {
    cancelStatement(pool, client);
    release(signal!.reason instanceof Error ? signal!.reason : new Error("deadline"));
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  if (signal?.aborted) onAbort();
  try {
    return await fn(client);
  } finally {
    signal?.removeEventListener("abort", onAbort);
    release();
  }
}

/** One statement on the pool under the call's deadline (see withPgClient). */
export async function pgQuery(pool: PgPool, sql: string, params: unknown[], signal?: AbortSignal): Promise<pg.QueryResult> {
  if (!signal) return pool.query(sql, params);
  return withPgClient(pool, signal, (client) => client.query(sql, params));
}

/** Asks the server to cancel the statement a connection is running (PostgreSQL's cancel request; no login needed). */
function cancelStatement(pool: PgPool, client: pg.PoolClient): void {
  const target = client as unknown as { processID: number | null; secretKey: number | null };
  if (target.processID === null || target.secretKey === null) return;
  try {
    const side = new pg.Client((pool as unknown as { options: pg.ClientConfig }).options) as unknown as {
      host: string;
      port: number;
      connection: {
        on(event: string, fn: (...a: unknown[]) => void): void;
        connect(port: number | string, host?: string): void;
        cancel(processID: number, secretKey: number): void;
      };
    };
    const con = side.connection;
    con.on("error", () => undefined);
    con.on("connect", () => con.cancel(target.processID!, target.secretKey!));
    if (side.host?.startsWith("/")) con.connect(`${side.host}/.s.PGSQL.${side.port}`);
    else con.connect(side.port, side.host);
  } catch {
    // the connection is closed below anyway; the server ends the statement when it notices
  }
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
