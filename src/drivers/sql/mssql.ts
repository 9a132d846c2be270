/**
 * SQL source on Microsoft SQL Server through the `mssql` package (tedious 19): parameterised statements only,
 * placeholders `@p1, @p2, ...` (placeholder("mssql", i)), rows returned as plain objects.
 *
 * Never run against a real SQL Server in CI: no TDS server can be installed on the test machines. The tests cover
 * statement/parameter handling through an in-process stand-in of the ConnectionPool/Request surface, and real
 * tedious connection failures (closed port, a server that drops the connection, a silent server).
 *
 * The pool connects on the first query (no I/O at creation). Failures are classified: socket errors, timeouts and
 * deadlocks → TransientError; refused logins → ConfigError; SQL errors → TerminalError.
 */
import sql from "mssql";
import { defineDriver } from "../define.js";
import { mssqlOptions, type MssqlOptions } from "../options.js";

export { mssqlOptions };
import type { CallOptions, SqlDriver } from "../../support/drivers.js";
import { ConfigError, TerminalError, TransientError } from "../../support/errors.js";

export const DRIVER_NAME = "mssql";


// --- The mssql surface used (an in-process stand-in implements it in tests) ---
export interface MssqlRequestLike {
  input(name: string, type: unknown, value: unknown): MssqlRequestLike;
  query(text: string): Promise<{ recordset?: Record<string, unknown>[] }>;
  cancel?(): void;
}
export interface MssqlPoolLike {
  connect(): Promise<unknown>;
  request(): MssqlRequestLike;
  close(): Promise<unknown>;
  on?(event: "error", listener: (err: unknown) => void): unknown;
}
export type MssqlPoolFactory = (config: sql.config) => MssqlPoolLike;

const realPool: MssqlPoolFactory = (config) => new sql.ConnectionPool(config);

/** The highest @pN a statement mentions. */
function highestPlaceholder(text: string): number {
  let max = 0;
  for (const m of text.matchAll(/@p(\d+)\b/g)) max = Math.max(max, Number(m[1]));
  return max;
}

/** The SQL type a parameter is bound with. */
export function mssqlType(value: unknown): unknown {
  if (value === null || value === undefined) return sql.NVarChar(sql.MAX);
  if (typeof value === "number") {
    if (Number.isInteger(value) && Math.abs(value) <= 2_147_483_647) return sql.Int;
    if (Number.isInteger(value)) return sql.BigInt;
    return sql.Float;
  }
  if (typeof value === "bigint") return sql.BigInt;
  if (typeof value === "boolean") return sql.Bit;
  if (value instanceof Date) return sql.DateTimeOffset(7);
  if (Buffer.isBuffer(value)) return sql.VarBinary(sql.MAX);
  if (typeof value === "string") return sql.NVarChar(value.length > 4000 ? sql.MAX : Math.max(1, value.length));
  throw new TerminalError(`mssql: cannot bind a parameter of type ${typeof value}: pass text, a number, a boolean, a Date, a Buffer or null`);
}

export class MssqlSql implements SqlDriver {
  readonly driverName = DRIVER_NAME;
  readonly dialect = "mssql" as const;
  readonly #pool: MssqlPoolLike;
  readonly #where: string;
  #connected: Promise<unknown> | undefined;

  constructor(config: sql.config, factory: MssqlPoolFactory = realPool) {
    this.#pool = factory(config);
    // The pool re-emits connection errors as 'error' events; unheard, they would crash the process.
    this.#pool.on?.("error", () => undefined);
    this.#where = `${config.server}:${config.port ?? 1433}/${config.database ?? ""}`;
  }

  async query<T extends Record<string, unknown> = Record<string, unknown>>(text: string, params: unknown[] = [], opts?: CallOptions): Promise<T[]> {
    const needed = highestPlaceholder(text);
    if (needed > params.length) {
      throw new TerminalError(`mssql: the statement uses @p${needed} but only ${params.length} parameters were given (${this.#where})`);
    }
    await this.#connect();
    const request = this.#pool.request();
    params.forEach((v, i) => request.input(`p${i + 1}`, mssqlType(v), v === undefined ? null : v));
    // The runtime's deadline cancels the statement on the server (TDS attention), not only the wait for it.
    const cancel = () => request.cancel?.();
    opts?.signal?.addEventListener("abort", cancel, { once: true });
    try {
      const result = await request.query(text);
      return (result.recordset ?? []).map((row) => ({ ...row }) as T);
    } catch (err) {
      throw opts?.signal?.aborted ? opts.signal.reason : mssqlError("query", this.#where, err);
    } finally {
      opts?.signal?.removeEventListener("abort", cancel);
    }
  }

  async close(): Promise<void> {
    if (this.#connected) await this.#pool.close();
    this.#connected = undefined;
  }

  #connect(): Promise<unknown> {
    if (!this.#connected) {
      this.#connected = this.#pool.connect().catch((err: unknown) => {
        this.#connected = undefined;
        throw mssqlError("connect", this.#where, err);
      });
    }
    return this.#connected;
  }
}

/** Maps an mssql/tedious error to the framework's classes; the message names the server and what to check. */
export function mssqlError(op: string, where: string, err: unknown): Error {
  const e = err as { code?: string; number?: number; message?: string; originalError?: { code?: string; message?: string } };
  const code = e.code ?? e.originalError?.code ?? "";
  const msg = e.message ?? String(err);
  const head = `mssql: ${op} on ${where} failed (${code || "error"}): ${msg}`;
  if (code === "ELOGIN") return new ConfigError(`${head}: check the user and the password secret, and that the login may open the database`, { cause: err });
  if (code === "EINSTLOOKUP" || code === "EENCRYPT") return new ConfigError(`${head}: check server, port and the encrypt/trustServerCertificate options`, { cause: err });
  if (code === "ESOCKET" || code === "ETIMEOUT" || code === "ECONNCLOSED" || code === "ECONNRESET" || e.number === 1205) {
    return new TransientError(`${head}: the server did not answer or dropped the connection; check that it is reachable at ${where.split("/")[0]}`, { cause: err });
  }
  if (code === "EREQUEST" || typeof e.number === "number") return new TerminalError(`${head}: the statement was refused`, { cause: err });
  if (err instanceof TerminalError || err instanceof ConfigError || err instanceof TransientError) return err;
  return new TransientError(head, { cause: err });
}

export default defineDriver({
  options: mssqlOptions,
  create(o, ctx) {
    if (!o.database) {
      throw new ConfigError(`mssql: option "database" is not set for server ${o.server}: name the database that holds the tables (for Wavetronix, KITSDB)`);
    }
    const user = o.user ?? ctx.secrets.require(o.userSecret, `SQL Server login for ${o.server}/${o.database}`);
    const password = ctx.secrets.require(o.passwordSecret, `SQL Server password for ${user}@${o.server}/${o.database}`);
    return new MssqlSql(mssqlConfig(o, user, password));
  },
});

/** The mssql connection config of the options. */
export function mssqlConfig(o: MssqlOptions, user: string, password: string): sql.config {
  return {
    server: o.server,
    port: o.port,
    ...(o.database ? { database: o.database } : {}),
    user,
    password,
    connectionTimeout: o.connectTimeoutMs,
    // No statement timeout of tedious's own (its default is 15 s): the driver runtime's deadline cancels a statement.
    requestTimeout: 0,
    pool: { max: o.maxConnections, min: 0, idleTimeoutMillis: 30_000 },
    options: { encrypt: o.encrypt, trustServerCertificate: o.trustServerCertificate },
  };
}
