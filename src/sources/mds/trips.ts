/**
 * MDS trips: the record schema (one for 0.3 and 0.4: 0.4 adds publication_time and currency), the row loaded into
 * the database (start and end points from the route, council district and census tract of each by point in
 * polygon) and the published row (no precise coordinates). 0.3 asks for an hour by min_end_time/max_end_time (epoch
 * ms), 0.4 by end_time=YYYY-MM-DDTHH (the UTC hour).
 */
import * as z from "zod/mini";
import { columnTypes, geographyOf, issuesText, localText, localTime, num, pointFeature, str, vehicleFields, type Endpoint } from "./endpoint.js";

export const tripSchema = z.looseObject({
  ...vehicleFields,
  trip_id: z.string().check(z.minLength(1)),
  trip_duration: z.int().check(z.minimum(0)),
  trip_distance: z.number().check(z.minimum(0)),
  route: z.object({ type: z.literal("FeatureCollection"), features: z.array(pointFeature).check(z.minLength(1)) }),
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

/** The database row of a valid trip, and which of its points lie outside the layers. */
export function tripRow(t: MdsTrip, provider: string, version: string): { row: TripRow; outside: string[] } {
  const first = t.route.features[0]!.geometry.coordinates;
  const last = t.route.features[t.route.features.length - 1]!.geometry.coordinates;
  const outside: string[] = [];
  const s = geographyOf(first, "start", outside);
  const e = geographyOf(last, "end", outside);
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
  const start = localTime(r.start_time, zone);
  const end = localTime(r.end_time, zone);
  return {
    trip_id: String(r.trip_id), provider_name: String(r.provider_name), vehicle_type: String(r.vehicle_type),
    propulsion_type: String(r.propulsion_types), trip_duration: Number(r.trip_duration), trip_distance: Number(r.trip_distance),
    start_time: localText(start), end_time: localText(end), start_time_utc: start.toUTC().toISO(), end_time_utc: end.toUTC().toISO(),
    year: end.year, month: end.month, hour: end.hour, day_of_week: end.weekday % 7,
    council_district_start: num(r.council_district_start), council_district_end: num(r.council_district_end),
    census_geoid_start: str(r.census_geoid_start), census_geoid_end: str(r.census_geoid_end),
  };
}

export const TRIPS: Endpoint = {
  name: "trips",
  dataset: "trips",
  query: {
    "0.3": (start, end) => ({ min_end_time: start.toMillis(), max_end_time: end.toMillis() }),
    "0.4": (start) => ({ end_time: start.toUTC().toFormat("yyyy-MM-dd'T'HH") }),
  },
  table: {
    name: "mds_trips",
    columns: columnTypes(
      [...TRIP_COLUMNS, "loaded_at"],
      ["trip_duration", "start_time", "end_time", "standard_cost", "actual_cost", "council_district_start", "council_district_end", "loaded_at"],
      ["trip_distance", "start_latitude", "start_longitude", "end_latitude", "end_longitude"],
    ),
    key: ["trip_id"],
    indexes: [["provider", "end_time"]],
  },
  timeColumn: "end_time",
  row(record, provider, version) {
    const v = tripSchema.safeParse(record);
    return v.success ? tripRow(v.data, provider, version) : { refused: issuesText(v.error.issues) };
  },
  idOf: (record) => ((r) => (typeof r === "string" && r ? r : undefined))((record as { trip_id?: unknown } | null)?.trip_id),
  published: publishedRow,
};
