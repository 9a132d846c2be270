/**
 * What the stages need to know of an MDS provider endpoint (trips, status_changes), so that one extract, one load and
 * one publish serve both: the hour's query per MDS version, the record schema and its database row (enriched with
 * council district and census tract), the table (upserted by its natural key) and the published row.
 */
import { booleanPointInPolygon } from "@turf/boolean-point-in-polygon";
import type { Feature, FeatureCollection, Polygon } from "geojson";
import { DateTime } from "luxon";
import * as z from "zod/mini";
import type { PublishRow } from "../../support/drivers.js";
import type { SqlRow, TableSpec } from "../../support/sql-write.js";
import { CENSUS_TRACTS, COUNCIL_DISTRICTS } from "./layers.js";

export type MdsVersion = "0.3" | "0.4";
export type EndpointName = "trips" | "status_changes";

export interface Endpoint {
  /** The path below the provider's URL, and the name of the array in a page's `data`. */
  name: EndpointName;
  /** The source's dataset its rows are published to. */
  dataset: string;
  /** The query parameters of the hour [start, end) per MDS version. */
  query: Record<MdsVersion, (start: DateTime, end: DateTime) => Record<string, string | number>>;
  /** The table: key = the natural key (one column, also the published row id). */
  table: TableSpec & { key: readonly [string] };
  /** The column (epoch ms) the hour is read back by for publishing. */
  timeColumn: string;
  /** A record → its database row and the points outside the reference layers; or why it is refused. */
  row(record: unknown, provider: string, version: MdsVersion): { row: SqlRow; outside: string[] } | { refused: string };
  /** The id of a record (even one refused) for error reports, when it has one of its own. */
  idOf?(record: unknown): string | undefined;
  /** A database row → the published row (never precise coordinates). */
  published(row: Record<string, unknown>, zone: string): PublishRow;
}

const lonLat = z.tuple([z.number().check(z.minimum(-180), z.maximum(180)), z.number().check(z.minimum(-90), z.maximum(90))]);
/** A GeoJSON Point feature (a trip's route point, a status change's event location). */
export const pointFeature = z.object({
  geometry: z.object({ type: z.literal("Point"), coordinates: lonLat }),
  properties: z.optional(z.looseObject({ timestamp: z.optional(z.number()) })),
});

/** The fields every MDS vehicle record has (trips and status changes). */
export const vehicleFields = {
  provider_id: z.string().check(z.minLength(1)),
  provider_name: z.string().check(z.minLength(1)),
  device_id: z.string().check(z.minLength(1)),
  vehicle_id: z.string(),
  vehicle_type: z.enum(["bicycle", "car", "scooter", "moped", "other"]),
  propulsion_types: z.array(z.string()),
};

/** "missing trip_id; vehicle_type: invalid option" from a failed validation. */
export function issuesText(issues: readonly { path: readonly PropertyKey[]; message: string; code?: string }[]): string {
  return issues
    .slice(0, 3)
    .map((i) => {
      const at = i.path.map(String).join(".");
      return i.code === "invalid_type" && /undefined/.test(i.message) ? `missing ${at}` : `${at || "record"}: ${i.message}`;
    })
    .join("; ");
}

function lookup<P extends Record<string, unknown>>(layer: FeatureCollection<Polygon, P>, lon: number, lat: number): P | undefined {
  const hit = layer.features.find((f: Feature<Polygon, P>) => booleanPointInPolygon([lon, lat], f));
  return hit?.properties;
}

/** Council district and census tract of a point (null outside the layers); `outside` is told the point's name then. */
export function geographyOf(c: readonly [number, number], name: string, outside: string[]): { district: number | null; tract: string | null } {
  const district = lookup(COUNCIL_DISTRICTS, c[0], c[1])?.council_district ?? null;
  const tract = lookup(CENSUS_TRACTS, c[0], c[1])?.geoid ?? null;
  if (district === null || tract === null) outside.push(`${name} outside the reference layers`);
  return { district, tract };
}

/** A local time as published: "2024-11-01T00:12:34" in the zone. */
export const localTime = (ms: unknown, zone: string) => DateTime.fromMillis(Number(ms), { zone });
export const localText = (d: DateTime) => d.toFormat("yyyy-MM-dd'T'HH:mm:ss");

/** Geographies as the original published them: zero-filled. */
export const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));
export const str = (v: unknown) => (v === null || v === undefined ? "0" : String(v));

/** The table columns in the given order, each text unless named integer or real. */
export function columnTypes(order: readonly string[], integer: readonly string[], real: readonly string[]): TableSpec["columns"] {
  return Object.fromEntries(order.map((c) => [c, integer.includes(c) ? "integer" : real.includes(c) ? "real" : "text"]));
}
