/**
 * Knack unit-data driver (original §6.2): device inventory from the Knack object API with global fetch.
 *
 * - Locations: object_11, every record, raw values (`field_N_raw`); the address field LOCATION gives lat/lon.
 * - Bluetooth / Wavetronix: object_56 filtered `field_884 is BLUETOOTH` / `RADAR`, formatted values (`field_N`,
 *   HTML stripped), left-joined with locations on ATD_LOCATION_ID.
 * - GRIDSMART: object_98 filtered `field_2384 is 1`, device_type "GRIDSMART", left-joined on SIGNAL_ID.
 * Field labels (ATD_LOCATION_ID, KITS_ID, ...) are resolved to field keys from the app's metadata
 * (`GET /v1/applications/{appId}`), as the original's Knack client did; a `fields` map per object in the options
 * names field keys directly and skips that lookup. Keys come out in the order of §6.1, values normalised
 * (normalise.ts).
 * Errors: the shared HTTP classifier (errors.ts httpStatusError): 429/5xx/network → TransientError (the driver runtime
 * retries and re-raises after the last attempt: fixes B20; it also owns the timeout), 401/403 → ConfigError, other
 * refusals → TerminalError.
 */
import { defineDriver } from "../define.js";
import { knackOptions, type KnackOptions, KNACK_MAX_ROWS_PER_PAGE } from "../options.js";
import type { DeviceRequest, UnitDataDriver, UnitDevice } from "../../support/drivers.js";
import { ConfigError, httpStatusError, networkCode, TerminalError, TransientError } from "../../support/errors.js";
import { normaliseDevice } from "./normalise.js";

export const DRIVER_NAME = "knack";

export { KNACK_MAX_ROWS_PER_PAGE, knackOptions };
/** Stops a server that keeps reporting more pages (1,000,000 records at the page cap). */
const MAX_PAGES = 1000;



const LOCATION_LABELS = ["ATD_LOCATION_ID", "COA_INTERSECTION_ID", "CROSS_ST", "CROSS_ST_SEGMENT_ID", "LOCATION", "PRIMARY_ST", "PRIMARY_ST_SEGMENT_ID", "SIGNAL_ID"] as const;
const SENSOR_LABELS = ["SENSOR_TYPE", "ATD_SENSOR_ID", "READER_ID", "SENSOR_STATUS", "SENSOR_IP", "IP_COMM_STATUS", "ATD_LOCATION_ID", "KITS_ID"] as const;
const DETECTOR_LABELS = ["DETECTOR_ID", "DETECTOR_IP", "DETECTOR_STATUS", "IP_COMM_STATUS", "SIGNAL_ID"] as const;

type KnackRecord = Record<string, unknown>;
type Signal = AbortSignal | undefined;
type Row = Record<string, unknown>;
interface AppMeta {
  objects: { key: string; name?: string; fields: { key: string; name: string }[] }[];
}

export function createKnackUnitData(options: KnackOptions, credentials: { appId: string; apiKey: string }): UnitDataDriver {
  const base = options.baseUrl.replace(/\/+$/, "");
  const headers = { "X-Knack-Application-Id": credentials.appId, "X-Knack-REST-API-Key": credentials.apiKey, Accept: "application/json" };
  let meta: Promise<AppMeta> | undefined;

  async function getJson(url: string, what: string, signal: Signal): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(url, { headers, ...(signal ? { signal } : {}) });
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw new TransientError(`knack: ${what}: cannot reach ${base} (${networkCode(err)}): check the network and baseUrl`, { cause: err });
    }
    if (!res.ok) throw await classify(res, what);
    try {
      return await res.json();
    } catch (err) {
      throw new TransientError(`knack: ${what}: the answer is not JSON`, { cause: err });
    }
  }

  async function appMeta(signal: Signal): Promise<AppMeta> {
    meta ??= (async () => {
      const body = (await getJson(`${base}/v1/applications/${encodeURIComponent(credentials.appId)}`, "app metadata", signal)) as { application?: AppMeta };
      if (!body?.application || !Array.isArray(body.application.objects)) {
        throw new TerminalError(`knack: app metadata from ${base} has no application.objects`);
      }
      return body.application;
    })();
    meta.catch(() => (meta = undefined));
    return meta;
  }

  /** label → field key for one object: configured keys first, the rest from the app metadata. */
  async function resolveFields(section: string, object: string, labels: readonly string[], configured: Record<string, string>, signal: Signal): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    const missing: string[] = [];
    for (const label of labels) {
      if (configured[label]) out[label] = configured[label];
      else missing.push(label);
    }
    if (missing.length === 0) return out;
    const obj = (await appMeta(signal)).objects.find((o) => o.key === object);
    if (!obj) throw new ConfigError(`knack: the app has no object ${object}: check unitdata.options.${section}.object`);
    for (const label of missing) {
      const f = obj.fields.find((x) => x.name === label);
      if (!f) {
        throw new ConfigError(
          `knack: object ${object} has no field labelled ${label}: set unitdata.options.${section}.fields.${label} to its field key (field_N)`,
        );
      }
      out[label] = f.key;
    }
    return out;
  }

  async function records(object: string, signal: Signal, filter?: { field: string; value: unknown }): Promise<KnackRecord[]> {
    const out: KnackRecord[] = [];
    const filters = filter ? `&filters=${encodeURIComponent(JSON.stringify({ match: "and", rules: [{ field: filter.field, operator: "is", value: filter.value }] }))}` : "";
    for (let page = 1; page <= MAX_PAGES; page++) {
      const what = `records of ${object}, page ${page}`;
      const body = (await getJson(`${base}/v1/objects/${encodeURIComponent(object)}/records?page=${page}&rows_per_page=${options.rowsPerPage}${filters}`, what, signal)) as {
        records?: unknown;
        total_pages?: unknown;
      };
      if (!body || !Array.isArray(body.records)) throw new TerminalError(`knack: ${what}: the answer has no records list`);
      out.push(...(body.records as KnackRecord[]));
      if (page >= Number(body.total_pages ?? 1) || body.records.length === 0) return out;
    }
    throw new TerminalError(`knack: ${object} reports more than ${MAX_PAGES} pages: raise rowsPerPage or check the filter`);
  }

  async function locationIndex(joinOn: "ATD_LOCATION_ID" | "SIGNAL_ID", signal: Signal): Promise<Map<string, Row[]>> {
    const f = await resolveFields("locations", options.locations.object, LOCATION_LABELS, options.locations.fields, signal);
    const index = new Map<string, Row[]>();
    for (const r of await records(options.locations.object, signal)) {
      const loc: Row = {};
      for (const label of LOCATION_LABELS) loc[label] = rawValue(r, f[label]!);
      const address = loc.LOCATION;
      loc.LOCATION_latitude = isObject(address) ? address.latitude : null;
      loc.LOCATION_longitude = isObject(address) ? address.longitude : null;
      const key = joinKey(loc[joinOn]);
      if (key === undefined) continue; // a null key joins nothing
      const list = index.get(key);
      if (list) list.push(loc);
      else index.set(key, [loc]);
    }
    return index;
  }

  /** pandas' left merge: every device once per matching location, or once with no location. */
  function leftJoin(devices: Row[], index: Map<string, Row[]>, on: string): [Row, Row | undefined][] {
    return devices.flatMap((d): [Row, Row | undefined][] => {
      const key = joinKey(d[on]);
      const matches = key === undefined ? undefined : index.get(key);
      return matches ? matches.map((l): [Row, Row | undefined] => [d, l]) : [[d, undefined]];
    });
  }

  async function sensors(request: DeviceRequest, filterValue: string, signal: Signal): Promise<UnitDevice[]> {
    const s = options.sensors;
    const f = await resolveFields("sensors", s.object, SENSOR_LABELS, s.fields, signal);
    const devices = (await records(s.object, signal, { field: s.filterField, value: filterValue })).map((r) => labelled(r, f, SENSOR_LABELS));
    const joined = leftJoin(devices, await locationIndex("ATD_LOCATION_ID", signal), "ATD_LOCATION_ID");
    return joined.map(([d, l], i) =>
      normaliseDevice(
        {
          device_type: d.SENSOR_TYPE,
          atd_device_id: d.ATD_SENSOR_ID,
          device_name: d.READER_ID,
          device_status: d.SENSOR_STATUS,
          device_ip: d.SENSOR_IP,
          ip_comm_status: d.IP_COMM_STATUS,
          atd_location_id: d.ATD_LOCATION_ID,
          ...locationPart(l),
          kits_id: d.KITS_ID,
        },
        request.keys,
        `knack ${s.object} device ${i} (${String(d.ATD_SENSOR_ID ?? "no id")})`,
      ),
    );
  }

  async function detectors(request: DeviceRequest, signal: Signal): Promise<UnitDevice[]> {
    const g = options.detectors;
    const f = await resolveFields("detectors", g.object, DETECTOR_LABELS, g.fields, signal);
    const devices = (await records(g.object, signal, { field: g.filterField, value: g.filterValue })).map((r) => labelled(r, f, DETECTOR_LABELS));
    const joined = leftJoin(devices, await locationIndex("SIGNAL_ID", signal), "SIGNAL_ID");
    return joined.map(([d, l], i) =>
      normaliseDevice(
        {
          device_type: g.deviceType,
          atd_device_id: d.DETECTOR_ID,
          device_ip: d.DETECTOR_IP,
          device_status: d.DETECTOR_STATUS,
          ip_comm_status: d.IP_COMM_STATUS,
          atd_location_id: l?.ATD_LOCATION_ID ?? null,
          ...locationPart(l),
        },
        request.keys,
        `knack ${g.object} device ${i} (${String(d.DETECTOR_ID ?? "no id")})`,
      ),
    );
  }

  return {
    driverName: DRIVER_NAME,
    async devices(request, opts) {
      if (request.deviceType === options.detectors.deviceType) return detectors(request, opts?.signal);
      return sensors(request, options.sensors.filterValues[request.dataSource] ?? request.deviceType, opts?.signal);
    },
  };
}

export default defineDriver({
  options: knackOptions,
  create(options, ctx) {
    const appId = ctx.secrets.require("KNACK_APP_ID", "Knack unit data (device inventory)");
    const apiKey = ctx.secrets.require("KNACK_API_KEY", "Knack unit data (device inventory)");
    return createKnackUnitData(options, { appId, apiKey });
  },
});

// --- Internal helpers ---

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Connection values ([{id, identifier}]) become their identifiers. */
function simplify(v: unknown): unknown {
  if (Array.isArray(v)) {
    const ids = v.map((c) => (isObject(c) && "identifier" in c ? String(c.identifier) : String(c)));
    return ids.length === 0 ? null : ids.join(", ");
  }
  return v;
}

function rawValue(r: KnackRecord, key: string): unknown {
  return simplify(`${key}_raw` in r ? r[`${key}_raw`] : r[key]);
}

const ENTITIES: Record<string, string> = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'", "&nbsp;": " " };

/** The formatted value as text: Knack wraps connections and some types in HTML markup. */
function formattedValue(r: KnackRecord, key: string): unknown {
  const v = r[key];
  if (typeof v !== "string") return simplify(v);
  return v.replace(/<br\s*\/?>/gi, " ").replace(/<[^>]*>/g, "").replace(/&(amp|lt|gt|quot|#39|nbsp);/g, (m) => ENTITIES[m] ?? m);
}

function labelled(r: KnackRecord, fields: Record<string, string>, labels: readonly string[]): Row {
  const out: Row = {};
  for (const label of labels) out[label] = formattedValue(r, fields[label]!);
  return out;
}

function joinKey(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  const s = String(v).trim();
  return s === "" ? undefined : s;
}

function locationPart(l: Row | undefined): Row {
  return {
    coa_intersection_id: l?.COA_INTERSECTION_ID ?? null,
    lat: l?.LOCATION_latitude ?? null,
    lon: l?.LOCATION_longitude ?? null,
    primary_st: l?.PRIMARY_ST ?? null,
    primary_st_segment_id: l?.PRIMARY_ST_SEGMENT_ID ?? null,
    cross_st: l?.CROSS_ST ?? null,
    cross_st_segment_id: l?.CROSS_ST_SEGMENT_ID ?? null,
  };
}

async function classify(res: Response, what: string): Promise<Error> {
  let body = "";
  try {
    body = await res.text();
  } catch {
    // body unreadable: the status says enough
  }
  return httpStatusError(`knack: ${what}`, { status: res.status, body, retryAfter: res.headers.get("retry-after") }, {
    credentials: "check KNACK_APP_ID and KNACK_API_KEY",
    notFound: "check the object keys in unitdata.options and KNACK_APP_ID",
  })!;
}
