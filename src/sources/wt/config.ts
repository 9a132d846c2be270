/**
 * The Wavetronix settings block, `sources.wt` of the configuration (documented in docs/sources/wavetronix.md):
 *
 *   sources:
 *     wt:
 *       sql: { driver: mssql, options: { server: ..., database: KITSDB } }   # the KITS database (sqlite/postgres/mssql)
 *       tables: { history: KITS.SYSDETHISTORYRM, detectors: KITS.DETECTORSRM } # optional; defaults per dialect
 */
import * as z from "zod/mini";
import { driverSpec } from "../../config/schema.js";
import { formatZodError } from "../../config/load.js";
import { ConfigError } from "../../support/errors.js";
import type { SqlDriver } from "../../support/drivers.js";

function isSqlDriver(v: unknown): v is SqlDriver {
  return typeof v === "object" && v !== null && typeof (v as SqlDriver).query === "function" && typeof (v as SqlDriver).dialect === "string";
}

export const wtSourceSchema = z.looseObject({
  /** The KITS database as a SQL driver spec (or, programmatically, a built SqlDriver). Required by wt-insert-lake only. */
  sql: z.optional(
    z.union([driverSpec, z.custom<SqlDriver>(isSqlDriver, { message: "expected {driver, options} or a SqlDriver" })]),
  ),
  /** Table-name overrides (plain identifiers, optionally schema-qualified). */
  tables: z._default(
    z.strictObject({ history: z.optional(z.string().check(z.minLength(1))), detectors: z.optional(z.string().check(z.minLength(1))) }),
    {},
  ),
});

export type WtSourceConfig = z.infer<typeof wtSourceSchema>;

export function readWtConfig(raw: Record<string, unknown>): WtSourceConfig {
  const parsed = wtSourceSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(formatZodError(parsed.error, "sources.wt"));
  return parsed.data;
}
