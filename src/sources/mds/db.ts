/** The trips table (SQLite or PostgreSQL through the SQL driver): created when missing, upserted by trip_id in batches. */
import { placeholder, type SqlDriver } from "../../support/drivers.js";
import { errorMessage } from "../../support/errors.js";
import { TRIP_COLUMNS, type TripRow } from "./trips.js";

export const TRIPS_TABLE = "mds_trips";

export async function ensureTable(db: SqlDriver): Promise<void> {
  const big = db.dialect === "postgres" ? "BIGINT" : "INTEGER";
  const real = db.dialect === "postgres" ? "DOUBLE PRECISION" : "REAL";
  const types: Record<string, string> = {
    trip_duration: big, start_time: big, end_time: big, standard_cost: big, actual_cost: big, council_district_start: big,
    council_district_end: big, trip_distance: real, start_latitude: real, start_longitude: real, end_latitude: real, end_longitude: real,
  };
  const cols = TRIP_COLUMNS.map((c) => `${c} ${types[c] ?? "TEXT"}${c === "trip_id" ? " PRIMARY KEY" : ""}`);
  await db.query(`CREATE TABLE IF NOT EXISTS ${TRIPS_TABLE} (${cols.join(", ")}, loaded_at ${big})`);
  await db.query(`CREATE INDEX IF NOT EXISTS ${TRIPS_TABLE}_provider_end ON ${TRIPS_TABLE} (provider, end_time)`);
}

function upsertSql(db: SqlDriver, n: number): string {
  const cols = [...TRIP_COLUMNS, "loaded_at"];
  let i = 0;
  const values = Array.from({ length: n }, () => `(${cols.map(() => placeholder(db.dialect, i++)).join(", ")})`);
  const set = cols.filter((c) => c !== "trip_id").map((c) => `${c} = excluded.${c}`);
  return `INSERT INTO ${TRIPS_TABLE} (${cols.join(", ")}) VALUES ${values.join(", ")} ON CONFLICT (trip_id) DO UPDATE SET ${set.join(", ")}`;
}

/**
 * Upserts rows in batches (one statement each, atomic); a batch the database refuses is retried row by row, so one
 * bad row is reported with its trip_id and the others are loaded. Returns the rows loaded and the refusals.
 */
export async function upsertTrips(db: SqlDriver, rows: readonly TripRow[], batchSize: number, now: number): Promise<{ loaded: number; refused: { id: string; error: string }[] }> {
  let loaded = 0;
  const refused: { id: string; error: string }[] = [];
  const params = (batch: readonly TripRow[]) => batch.flatMap((r) => [...TRIP_COLUMNS.map((c) => r[c]), now]);
  for (let i = 0; i < rows.length; i += batchSize) {
    const batch = rows.slice(i, i + batchSize);
    try {
      await db.query(upsertSql(db, batch.length), params(batch));
      loaded += batch.length;
    } catch {
      for (const r of batch) {
        try {
          await db.query(upsertSql(db, 1), params([r]));
          loaded++;
        } catch (err) {
          refused.push({ id: String(r.trip_id), error: errorMessage(err).slice(0, 300) });
        }
      }
    }
  }
  return { loaded, refused };
}

/** The trips of a provider that ended in [start, end) (epoch ms). */
export function tripsEnding(db: SqlDriver, provider: string, start: number, end: number): Promise<Record<string, unknown>[]> {
  const p = (i: number) => placeholder(db.dialect, i);
  return db.query(`SELECT * FROM ${TRIPS_TABLE} WHERE provider = ${p(0)} AND end_time >= ${p(1)} AND end_time < ${p(2)} ORDER BY trip_id`, [provider, start, end]);
}
