/**
 * SQL source on PostgreSQL (pg Pool): parameterised statements only ($1, $2, ...; see placeholder()).
 * The connection string comes from the option, or from the secret named by `secret` (default PG_URL).
 */
import { defineDriver } from "../define.js";
import { postgresSqlOptions } from "../options.js";
import type { CallOptions, SqlDriver } from "../../support/drivers.js";
import { pgConnectionString, pgError, pgPool, pgQuery, pgWhere, type PgPool } from "../utils/pg.js";

export const DRIVER_NAME = "postgres";


export class PostgresSql implements SqlDriver {
  readonly driverName = DRIVER_NAME;
  readonly dialect = "postgres" as const;
  readonly #pool: PgPool;
  readonly #where: string;

  constructor(connectionString: string, maxConnections: number) {
    this.#pool = pgPool(connectionString, maxConnections);
    this.#where = pgWhere(connectionString);
  }

  async query<T extends Record<string, unknown> = Record<string, unknown>>(sql: string, params: unknown[] = [], opts?: CallOptions): Promise<T[]> {
    try {
      const res = await pgQuery(this.#pool, sql, params, opts?.signal);
      return res.rows as T[];
    } catch (err) {
      throw pgError("postgres sql", "query", this.#where, err);
    }
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}

export default defineDriver({
  options: postgresSqlOptions,
  create: (o, ctx) => new PostgresSql(pgConnectionString("postgres sql", o.connectionString, [o.secret], ctx), o.maxConnections),
});
