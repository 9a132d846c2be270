/**
 * MDS status changes: a vehicle becoming available, reserved, unavailable or removed, at a time and a place. 0.3 asks
 * for an hour by start_time/end_time (epoch ms, by event time), 0.4 by event_time=YYYY-MM-DDTHH (the UTC hour); 0.4
 * adds publication_time and associated_ticket. A status change has no id of its own: its natural key is the provider,
 * the device, the event time, type and reason, kept as one id column (a UUID-shaped digest of them) that is also the
 * published row id. The event location is enriched with council district and census tract, and not published.
 */
import { createHash } from "node:crypto";
import * as z from "zod/mini";
import { columnTypes, geographyOf, issuesText, localText, localTime, num, pointFeature, str, vehicleFields, type Endpoint } from "./endpoint.js";

export const statusChangeSchema = z.looseObject({
  ...vehicleFields,
  event_type: z.enum(["available", "reserved", "unavailable", "removed"]),
  event_type_reason: z.optional(z.nullable(z.string())),
  event_time: z.int(),
  event_location: pointFeature,
  battery_pct: z.optional(z.nullable(z.number().check(z.minimum(0), z.maximum(1)))),
  associated_trip: z.optional(z.nullable(z.string())),
  associated_ticket: z.optional(z.nullable(z.string())),
  publication_time: z.optional(z.nullable(z.int())),
});
export type MdsStatusChange = z.infer<typeof statusChangeSchema>;

const COLUMNS = [
  "status_change_id", "provider", "provider_id", "provider_name", "device_id", "vehicle_id", "vehicle_type", "propulsion_types",
  "event_type", "event_type_reason", "event_time", "latitude", "longitude", "council_district", "census_geoid", "battery_pct",
  "associated_trip", "associated_ticket", "publication_time", "mds_version", "loaded_at",
] as const;

/** The natural key of a status change as one id: a UUID-shaped digest of provider, device, time, type and reason. */
export function statusChangeId(s: Pick<MdsStatusChange, "provider_id" | "device_id" | "event_time" | "event_type" | "event_type_reason">): string {
  const text = [s.provider_id, s.device_id, s.event_time, s.event_type, s.event_type_reason ?? ""].join("|");
  return createHash("sha256").update(text).digest("hex").slice(0, 32).replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, "$1-$2-$3-$4-$5");
}

export const STATUS_CHANGES: Endpoint = {
  name: "status_changes",
  dataset: "status_changes",
  query: {
    "0.3": (start, end) => ({ start_time: start.toMillis(), end_time: end.toMillis() }),
    "0.4": (start) => ({ event_time: start.toUTC().toFormat("yyyy-MM-dd'T'HH") }),
  },
  table: {
    name: "mds_status_changes",
    columns: columnTypes(COLUMNS, ["event_time", "council_district", "publication_time", "loaded_at"], ["latitude", "longitude", "battery_pct"]),
    key: ["status_change_id"],
    indexes: [["provider", "event_time"]],
  },
  timeColumn: "event_time",
  row(record, provider, version) {
    const v = statusChangeSchema.safeParse(record);
    if (!v.success) return { refused: issuesText(v.error.issues) };
    const s = v.data;
    const at = s.event_location.geometry.coordinates;
    const outside: string[] = [];
    const g = geographyOf(at, "event location", outside);
    return {
      outside,
      row: {
        status_change_id: statusChangeId(s), provider, provider_id: s.provider_id, provider_name: s.provider_name, device_id: s.device_id,
        vehicle_id: s.vehicle_id, vehicle_type: s.vehicle_type, propulsion_types: s.propulsion_types.join(","), event_type: s.event_type,
        event_type_reason: s.event_type_reason ?? null, event_time: s.event_time, latitude: at[1], longitude: at[0],
        council_district: g.district, census_geoid: g.tract, battery_pct: s.battery_pct ?? null, associated_trip: s.associated_trip ?? null,
        associated_ticket: s.associated_ticket ?? null, publication_time: s.publication_time ?? null, mds_version: version,
      },
    };
  },
  published(r, zone) {
    const at = localTime(r.event_time, zone);
    return {
      status_change_id: String(r.status_change_id), provider_name: String(r.provider_name), vehicle_type: String(r.vehicle_type),
      propulsion_type: String(r.propulsion_types), event_type: String(r.event_type), event_type_reason: r.event_type_reason === null ? null : String(r.event_type_reason),
      event_time: localText(at), event_time_utc: at.toUTC().toISO(), year: at.year, month: at.month, hour: at.hour, day_of_week: at.weekday % 7,
      council_district: num(r.council_district), census_geoid: str(r.census_geoid), battery_pct: r.battery_pct === null ? null : Number(r.battery_pct),
    };
  },
};
