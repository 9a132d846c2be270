/**
 * The KITS queries of the Wavetronix source (original §9.2.1), one text per dialect, parameterised only.
 *
 * KITS keeps CURDATETIME as local wall-clock time without a zone. Window bounds are passed as local wall-clock
 * strings "YYYY-MM-DD HH:MM:SS" and every timestamp comes back as text in that form, so no driver or host zone
 * ever reinterprets a time.
 *
 * Table names are configurable (sources.wt.tables); they cannot be parameters, so they are checked against a
 * plain identifier pattern (schema-qualified allowed) before they enter any statement.
 */
import type { SqlDialect } from "../../support/drivers.js";
import { placeholder } from "../../support/drivers.js";
import type { SqlDayQueries } from "../../support/last-update.js";
import { ConfigError } from "../../support/errors.js";

export interface WtTables {
  /** Detector readings: DETID, CURDATETIME, VOLUME, OCCUPANCY, SPEED, STATUS, UPLOADSUCCESS, DETCOUNTCOMPARISON, DAILYCUMULATIVE. */
  history: string;
  /** Detector inventory: DETID, INTID, INTNAME, DETNAME. */
  detectors: string;
}

/** KITS lives in schema KITS of the database named in the connection (KITSDB; fixes B10's missing name). */
export const DEFAULT_TABLES: Record<SqlDialect, WtTables> = {
  mssql: { history: "KITS.SYSDETHISTORYRM", detectors: "KITS.DETECTORSRM" },
  postgres: { history: "SYSDETHISTORYRM", detectors: "DETECTORSRM" },
  sqlite: { history: "SYSDETHISTORYRM", detectors: "DETECTORSRM" },
};

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$/;

export function checkTableName(name: string, key: string): string {
  if (!IDENTIFIER.test(name)) {
    throw new ConfigError(
      `sources.wt.tables.${key} "${name}" is not a plain table name: use letters, digits and "_", optionally schema-qualified (KITS.SYSDETHISTORYRM)`,
    );
  }
  return name;
}

/** Column names of one retrieved row, in the CSV's order (original §9.2.1). */
export const KITS_COLUMNS = [
  "detID",
  "intID",
  "curDateTime",
  "intName",
  "detName",
  "volume",
  "occupancy",
  "speed",
  "status",
  "uploadSuccess",
  "detCountComparison",
  "dailyCumulative",
] as const;
export type KitsColumn = (typeof KITS_COLUMNS)[number];
export type KitsRow = Record<KitsColumn, unknown>;

/** Local wall-clock window [start, end); either bound may be absent. */
export interface WallWindow {
  start?: string;
  end?: string;
}

function quoteAlias(dialect: SqlDialect, alias: string): string {
  return dialect === "mssql" ? `[${alias}]` : `"${alias}"`;
}

/** CURDATETIME as 'YYYY-MM-DD HH:MM:SS' text. */
function timeText(dialect: SqlDialect, column: string): string {
  switch (dialect) {
    case "sqlite":
      return `strftime('%Y-%m-%d %H:%M:%S', ${column})`;
    case "postgres":
      return `to_char(${column}, 'YYYY-MM-DD HH24:MI:SS')`;
    case "mssql":
      return `CONVERT(char(19), ${column}, 120)`;
  }
}

/**
 * A numeric column as the database's own text (NULL stays NULL): no driver turns it into a JS number first, which
 * would round a 64-bit integer or (in the CSV writer) cut a decimal. MS SQL's CONVERT is exact for the integer and
 * decimal types KITS uses.
 */
function numberText(dialect: SqlDialect, column: string): string {
  switch (dialect) {
    case "sqlite":
      return `CAST(${column} AS TEXT)`;
    case "postgres":
      return `CAST(${column} AS text)`;
    case "mssql":
      return `CONVERT(varchar(64), ${column})`;
  }
}

/** The calendar day of CURDATETIME as 'YYYY-MM-DD' text (the original's CAST(CURDATETIME AS date)). */
function dayText(dialect: SqlDialect, column: string): string {
  switch (dialect) {
    case "sqlite":
      return `date(${column})`;
    case "postgres":
      return `to_char(CAST(${column} AS date), 'YYYY-MM-DD')`;
    case "mssql":
      return `CONVERT(char(10), CAST(${column} AS date), 120)`;
  }
}

/** A bound compared with CURDATETIME. SQLite keeps text, so the text comparison is the time comparison. */
function boundParam(dialect: SqlDialect, i: number): string {
  const p = placeholder(dialect, i);
  switch (dialect) {
    case "sqlite":
      return p;
    case "postgres":
      return `CAST(${p} AS timestamp)`;
    case "mssql":
      return `CONVERT(datetime2, ${p}, 120)`;
  }
}

function whereWindow(dialect: SqlDialect, column: string, w: WallWindow): { clause: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (w.start !== undefined) {
    parts.push(`${column} >= ${boundParam(dialect, params.length)}`);
    params.push(w.start);
  }
  if (w.end !== undefined) {
    parts.push(`${column} < ${boundParam(dialect, params.length)}`);
    params.push(w.end);
  }
  return { clause: parts.length ? ` WHERE ${parts.join(" AND ")}` : "", params };
}

/**
 * A day's fingerprint over what its raw CSV is made of (the readings joined with their detectors): a reading
 * corrected, added or removed, or a detector or intersection renamed, changes it. MS SQL and PostgreSQL hash every
 * field of every row; SQLite (the demo's database) has no hash function, so it sums the numbers and lists the names.
 */
function fingerprintColumns(dialect: SqlDialect): string {
  const fields = "a.DETID, b.INTID, b.INTNAME, b.DETNAME, a.CURDATETIME, a.VOLUME, a.OCCUPANCY, a.SPEED, a.STATUS, a.UPLOADSUCCESS, a.DETCOUNTCOMPARISON, a.DAILYCUMULATIVE";
  const n = quoteAlias(dialect, "n");
  switch (dialect) {
    case "mssql":
      return `COUNT(1) AS ${n}, CHECKSUM_AGG(CHECKSUM(${fields})) AS ${quoteAlias(dialect, "h")}`;
    case "postgres":
      return `COUNT(1) AS ${n}, SUM(hashtext(concat_ws('|', ${fields}))::bigint) AS ${quoteAlias(dialect, "h")}`;
    case "sqlite":
      return (
        `COUNT(1) AS ${n}, TOTAL(a.VOLUME) AS "v", TOTAL(a.OCCUPANCY) AS "o", TOTAL(a.SPEED) AS "s", TOTAL(a.DETID * 7 + b.INTID * 13) AS "d",` +
        ` TOTAL(a.VOLUME * a.DETID + a.SPEED * b.INTID) AS "x", GROUP_CONCAT(DISTINCT COALESCE(b.INTNAME, '') || '/' || COALESCE(b.DETNAME, '')) AS "names"`
      );
  }
}

export interface WtQueries extends SqlDayQueries {
  readonly tables: (dialect: SqlDialect) => WtTables;
  /** Every reading of [start, end) joined with its detector, ordered by CURDATETIME, INTNAME, DETNAME. */
  retrieval(dialect: SqlDialect, window: WallWindow): { sql: string; params: unknown[] };
}

/** The Wavetronix queries with optional table-name overrides (checked here, at configuration time). */
export function wtQueries(overrides: Partial<WtTables> = {}): WtQueries {
  if (overrides.history !== undefined) checkTableName(overrides.history, "history");
  if (overrides.detectors !== undefined) checkTableName(overrides.detectors, "detectors");
  const tables = (dialect: SqlDialect): WtTables => ({ ...DEFAULT_TABLES[dialect], ...overrides });
  return {
    tables,
    availability(dialect, window) {
      const t = tables(dialect);
      const day = dayText(dialect, "CURDATETIME");
      const { clause, params } = whereWindow(dialect, "CURDATETIME", window);
      const sql =
        `SELECT ${day} AS ${quoteAlias(dialect, "day")}, COUNT(1) AS ${quoteAlias(dialect, "n")} FROM ${t.history}${clause}` +
        ` GROUP BY ${day} ORDER BY ${day}`;
      return { sql, params };
    },
    fingerprint(dialect, window) {
      const t = tables(dialect);
      const day = dayText(dialect, "a.CURDATETIME");
      const { clause, params } = whereWindow(dialect, "a.CURDATETIME", window);
      const sql =
        `SELECT ${day} AS ${quoteAlias(dialect, "day")}, ${fingerprintColumns(dialect)}` +
        ` FROM ${t.history} a LEFT JOIN ${t.detectors} b ON a.DETID = b.DETID${clause} GROUP BY ${day}`;
      return { sql, params };
    },
    retrieval(dialect, window) {
      const t = tables(dialect);
      const q = (alias: KitsColumn) => quoteAlias(dialect, alias);
      // Numbers come back as the database's own text: the raw CSV keeps them exactly (12.5 stays 12.5, a 64-bit
      // 9223372036854775807 keeps its digits); the standardize stage judges them.
      const n = (column: string) => numberText(dialect, column);
      const { clause, params } = whereWindow(dialect, "a.CURDATETIME", window);
      const sql =
        `SELECT ${n("a.DETID")} AS ${q("detID")}, ${n("b.INTID")} AS ${q("intID")}, ${timeText(dialect, "a.CURDATETIME")} AS ${q("curDateTime")},` +
        ` INTNAME AS ${q("intName")}, DETNAME AS ${q("detName")}, ${n("a.VOLUME")} AS ${q("volume")}, ${n("a.OCCUPANCY")} AS ${q("occupancy")},` +
        ` ${n("SPEED")} AS ${q("speed")}, STATUS AS ${q("status")}, ${n("UPLOADSUCCESS")} AS ${q("uploadSuccess")},` +
        ` ${n("DETCOUNTCOMPARISON")} AS ${q("detCountComparison")}, ${n("DAILYCUMULATIVE")} AS ${q("dailyCumulative")}` +
        ` FROM ${t.history} a INNER JOIN ${t.detectors} b ON a.DETID = b.DETID${clause}` +
        ` ORDER BY a.CURDATETIME, INTNAME, DETNAME`;
      return { sql, params };
    },
  };
}
