/**
 * MDS trips: the record schema (one for 0.3 and 0.4: 0.4 adds publication_time and currency), the row loaded into
 * the database (start and end points from the route, council district and census tract of each by point in
 * polygon) and the published row (no precise coordinates).
 */
import { booleanPointInPolygon } from "@turf/boolean-point-in-polygon";
import type { Feature, FeatureCollection, Polygon } from "geojson";
import { DateTime } from "luxon";
import * as z from "zod/mini";
import { CENSUS_TRACTS, COUNCIL_DISTRICTS } from "./layers.js";

const point = z.object({
  geometry: z.object({ type: z.literal("Point"), coordinates: z.tuple([z.number().check(z.minimum(-180), z.maximum(180)), z.number().check(z.minimum(-90), z.maximum(90))]) }),
  properties: z.optional(z.looseObject({ timestamp: z.optional(z.number()) })),
});

export const tripSchema = z.looseObject({
  provider_id: z.string().check(z.minLength(1)),
  provider_name: z.string().check(z.minLength(1)),
  device_id: z.string().check(z.minLength(1)),
  vehicle_id: z.string(),
  vehicle_type: z.enum(["bicycle", "car", "scooter", "moped", "other"]),
  propulsion_types: z.array(z.string()),
  trip_id: z.string().check(z.minLength(1)),
  trip_duration: z.int().check(z.minimum(0)),
  trip_distance: z.number().check(z.minimum(0)),
  route: z.object({ type: z.literal("FeatureCollection"), features: z.array(point).check(z.minLength(1)) }),
  start_time: z.int(),
  end_time: z.int(),
  standard_cost: z.optional(z.nullable(z.int())),
  actual_cost: z.optional(z.nullable(z.int())),
  publication_time: z.optional(z.nullable(z.int())),
});
export type MdsTrip = z.infer<typeof tripSchema>;

/** The columns of the trips table, natural key first. */
export const TRIP_COLUMNS = [
  "trip_id", "provider", "provider_id", "provider_name", "device_id", "vehicle_id", "vehicle_type", "propulsion_types",
  "trip_duration", "trip_distance", "start_time", "end_time", "start_latitude", "start_longitude", "end_latitude",
  "end_longitude", "council_district_start", "council_district_end", "census_geoid_start", "census_geoid_end",
  "standard_cost", "actual_cost", "mds_version",
] as const;
export type TripRow = Record<(typeof TRIP_COLUMNS)[number], string | number | null>;

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

/** The database row of a valid trip, and which of its points lie outside the layers. */
export function tripRow(t: MdsTrip, provider: string, version: string): { row: TripRow; outside: string[] } {
  const first = t.route.features[0]!.geometry.coordinates;
  const last = t.route.features[t.route.features.length - 1]!.geometry.coordinates;
  const outside: string[] = [];
  const at = (c: readonly [number, number], end: string) => {
    const district = lookup(COUNCIL_DISTRICTS, c[0], c[1])?.council_district ?? null;
    const tract = lookup(CENSUS_TRACTS, c[0], c[1])?.geoid ?? null;
    if (district === null || tract === null) outside.push(`${end} outside the reference layers`);
    return { district, tract };
  };
  const s = at(first, "start");
  const e = at(last, "end");
  return {
    outside,
    row: {
      trip_id: t.trip_id, provider, provider_id: t.provider_id, provider_name: t.provider_name, device_id: t.device_id,
      vehicle_id: t.vehicle_id, vehicle_type: t.vehicle_type, propulsion_types: t.propulsion_types.join(","),
      trip_duration: t.trip_duration, trip_distance: t.trip_distance, start_time: t.start_time, end_time: t.end_time,
      start_latitude: first[1], start_longitude: first[0], end_latitude: last[1], end_longitude: last[0],
      council_district_start: s.district, council_district_end: e.district, census_geoid_start: s.tract, census_geoid_end: e.tract,
      standard_cost: t.standard_cost ?? null, actual_cost: t.actual_cost ?? null, mds_version: version,
    },
  };
}

/** The published row: local and UTC times, calendar parts, geographies; never the coordinates. */
export function publishedRow(r: Record<string, unknown>, zone: string): Record<string, string | number | null> {
  const start = DateTime.fromMillis(Number(r.start_time), { zone });
  const end = DateTime.fromMillis(Number(r.end_time), { zone });
  const local = (d: DateTime) => d.toFormat("yyyy-MM-dd'T'HH:mm:ss");
  return {
    trip_id: String(r.trip_id), provider_name: String(r.provider_name), vehicle_type: String(r.vehicle_type),
    propulsion_type: String(r.propulsion_types), trip_duration: Number(r.trip_duration), trip_distance: Number(r.trip_distance),
    start_time: local(start), end_time: local(end), start_time_utc: start.toUTC().toISO(), end_time_utc: end.toUTC().toISO(),
    year: end.year, month: end.month, hour: end.hour, day_of_week: end.weekday % 7,
    council_district_start: num(r.council_district_start), council_district_end: num(r.council_district_end),
    census_geoid_start: str(r.census_geoid_start), census_geoid_end: str(r.census_geoid_end),
  };
}
const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v)); // zero-filled, as the original published
const str = (v: unknown) => (v === null || v === undefined ? "0" : String(v));
