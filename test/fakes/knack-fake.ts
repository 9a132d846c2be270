/**
 * A plain-HTTP fake of the Knack object API used by the unit-data driver:
 * - `GET /v1/applications/{appId}`: app metadata (objects and their fields: key, name, type), from which field
 *   labels are resolved;
 * - `GET /v1/objects/{object}/records?page=&rows_per_page=&filters=`: `{total_pages, current_page, total_records,
 *   records}`, each record `{id, field_N: formatted, field_N_raw: raw}`; filters support `match: and` with `is`.
 * Requests need `X-Knack-Application-Id` and `X-Knack-REST-API-Key` (401 otherwise). Every request is recorded with
 * the key masked. Faults on demand: a status for the next K requests, 429 with Retry-After.
 *
 * Seeded with object_11 locations, object_56 sensors (BLUETOOTH / RADAR / one CCTV, via field_884) and object_98
 * GRIDSMART detectors (field_2384 = included); KNACK_SEED_EXPECTED is what the driver must make of them.
 *
 * Dev server: `node --import tsx test/fakes/knack-fake.ts --port 54480` (app id "fake-app", key "fake-key").
 */
import http from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { UnitDevice } from "../../src/support/drivers.js";

export type KnackValue = string | number | boolean | null | { raw: unknown; formatted: unknown };

export interface KnackObjectSeed {
  key: string;
  name: string;
  /** field key → label (Knack calls it the field's name). */
  fields: Record<string, string>;
  /** Records by label; a plain value is both raw and formatted. */
  records: Record<string, KnackValue>[];
}

export interface KnackRecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  status?: number;
}

export interface KnackFakeOptions {
  port?: number;
  appId?: string;
  apiKey?: string;
  objects?: KnackObjectSeed[];
}

/** A connection field value: raw [{id, identifier}], formatted as Knack's span markup. */
export function connection(identifier: string): KnackValue {
  return { raw: [{ id: `rec-${identifier}`, identifier }], formatted: `<span class="rec-${identifier}">${identifier}</span>` };
}

/** An address field: raw object with latitude/longitude, formatted as HTML. */
export function address(latitude: string | number | null, longitude: string | number | null): KnackValue {
  if (latitude === null) return { raw: "", formatted: "" };
  return { raw: { street: "x", city: "Austin", state: "TX", latitude, longitude }, formatted: `x<br />Austin, TX` };
}

/** A number field: raw number, formatted text. */
export function num(n: number | null): KnackValue {
  return n === null ? { raw: "", formatted: "" } : { raw: n, formatted: String(n) };
}

export function bool(b: boolean): KnackValue {
  return { raw: b, formatted: b ? "Yes" : "No" };
}

const LOCATION_FIELDS = {
  field_1: "ATD_LOCATION_ID",
  field_2: "COA_INTERSECTION_ID",
  field_3: "CROSS_ST",
  field_4: "CROSS_ST_SEGMENT_ID",
  field_5: "LOCATION",
  field_6: "PRIMARY_ST",
  field_7: "PRIMARY_ST_SEGMENT_ID",
  field_8: "SIGNAL_ID",
};
const SENSOR_FIELDS = {
  field_880: "ATD_SENSOR_ID",
  field_881: "READER_ID",
  field_882: "SENSOR_STATUS",
  field_883: "SENSOR_IP",
  field_884: "SENSOR_TYPE",
  field_885: "IP_COMM_STATUS",
  field_886: "ATD_LOCATION_ID",
  field_887: "KITS_ID",
};
const DETECTOR_FIELDS = {
  field_2380: "DETECTOR_ID",
  field_2381: "DETECTOR_IP",
  field_2382: "DETECTOR_STATUS",
  field_2383: "IP_COMM_STATUS",
  field_2384: "DATA_LAKE",
  field_2385: "SIGNAL_ID",
};

export function knackSeed(): KnackObjectSeed[] {
  return [
    {
      key: "object_11",
      name: "locations",
      fields: LOCATION_FIELDS,
      records: [
        { ATD_LOCATION_ID: "LOC16-000865", COA_INTERSECTION_ID: num(5155826), CROSS_ST: " W 38TH ST ", CROSS_ST_SEGMENT_ID: num(2010541), LOCATION: address("30.3056", "-97.7414"), PRIMARY_ST: "LAMAR BLVD", PRIMARY_ST_SEGMENT_ID: { raw: "2010000.0", formatted: "2010000.0" }, SIGNAL_ID: connection("152") },
        { ATD_LOCATION_ID: "LOC16-000900", COA_INTERSECTION_ID: { raw: "5156000", formatted: "5156000" }, CROSS_ST: "MANCHACA RD", CROSS_ST_SEGMENT_ID: num(3001), LOCATION: address(30.2, -97.8), PRIMARY_ST: "LAMAR BLVD", PRIMARY_ST_SEGMENT_ID: num(3002), SIGNAL_ID: connection("153") },
        { ATD_LOCATION_ID: "LOC17-001000", COA_INTERSECTION_ID: num(null), CROSS_ST_SEGMENT_ID: { raw: "", formatted: "" }, LOCATION: address(null, null), PRIMARY_ST: "  BURNET RD", PRIMARY_ST_SEGMENT_ID: { raw: "n/a", formatted: "n/a" }, SIGNAL_ID: connection("200") },
      ],
    },
    {
      key: "object_56",
      name: "sensors",
      fields: SENSOR_FIELDS,
      records: [
        { ATD_SENSOR_ID: "2", READER_ID: "lamar_38th", SENSOR_STATUS: "OK", SENSOR_IP: "10.0.0.1", SENSOR_TYPE: "BLUETOOTH", IP_COMM_STATUS: "ONLINE", ATD_LOCATION_ID: connection("LOC16-000865"), KITS_ID: num(null) },
        { ATD_SENSOR_ID: "10", READER_ID: "LAMAR_MANCHACA", SENSOR_STATUS: "OK", SENSOR_IP: "10.0.1.5", SENSOR_TYPE: "RADAR", IP_COMM_STATUS: "ONLINE", ATD_LOCATION_ID: connection("LOC16-000900"), KITS_ID: num(1) },
        { ATD_SENSOR_ID: "11", READER_ID: "BURNET_X", SENSOR_STATUS: "BROKEN", SENSOR_IP: "10.0.1.6", SENSOR_TYPE: "RADAR", IP_COMM_STATUS: "OFFLINE", ATD_LOCATION_ID: connection("LOC17-001000"), KITS_ID: { raw: 5152102, formatted: "5152102.0" } },
        { ATD_SENSOR_ID: "3", READER_ID: "orphan_reader", SENSOR_STATUS: "OK", SENSOR_IP: "10.0.0.9", SENSOR_TYPE: "BLUETOOTH", IP_COMM_STATUS: "ONLINE", ATD_LOCATION_ID: connection("LOC99-999999"), KITS_ID: num(null) },
        { ATD_SENSOR_ID: "50", READER_ID: "camera", SENSOR_STATUS: "OK", SENSOR_IP: "10.0.9.9", SENSOR_TYPE: "CCTV", IP_COMM_STATUS: "ONLINE", ATD_LOCATION_ID: connection("LOC16-000865"), KITS_ID: num(null) },
      ],
    },
    {
      key: "object_98",
      name: "detectors",
      fields: DETECTOR_FIELDS,
      records: [
        { DETECTOR_ID: "GS-1", DETECTOR_IP: "10.66.0.1", DETECTOR_STATUS: "OK", IP_COMM_STATUS: "ONLINE", DATA_LAKE: bool(true), SIGNAL_ID: connection("152") },
        { DETECTOR_ID: "GS-3", DETECTOR_IP: "10.66.0.3", DETECTOR_STATUS: "REMOVED", IP_COMM_STATUS: "OFFLINE", DATA_LAKE: bool(false), SIGNAL_ID: connection("153") },
        { DETECTOR_ID: "GS-2", DETECTOR_IP: "10.66.0.2", DETECTOR_STATUS: "OK", IP_COMM_STATUS: "ONLINE", DATA_LAKE: bool(true), SIGNAL_ID: connection("200") },
      ],
    },
  ];
}

const L1 = { atd_location_id: "LOC16-000865", coa_intersection_id: 5155826, lat: 30.3056, lon: -97.7414, primary_st: "LAMAR BLVD", primary_st_segment_id: 2010000, cross_st: "W 38TH ST", cross_st_segment_id: 2010541 };
const L2 = { atd_location_id: "LOC16-000900", coa_intersection_id: 5156000, lat: 30.2, lon: -97.8, primary_st: "LAMAR BLVD", primary_st_segment_id: 3002, cross_st: "MANCHACA RD", cross_st_segment_id: 3001 };
const L3 = { atd_location_id: "LOC17-001000", coa_intersection_id: null, lat: null, lon: null, primary_st: "BURNET RD", primary_st_segment_id: null, cross_st: null, cross_st_segment_id: null };
const NO_LOC = { coa_intersection_id: null, lat: null, lon: null, primary_st: null, primary_st_segment_id: null, cross_st: null, cross_st_segment_id: null };

function sensor(type: string, id: string, name: string, status: string, ip: string, comm: string, loc: Record<string, unknown>, locId: string, kits: number | null): UnitDevice {
  return {
    device_type: type, atd_device_id: id, device_name: name, device_status: status, device_ip: ip, ip_comm_status: comm,
    atd_location_id: locId, coa_intersection_id: loc.coa_intersection_id as number | null, lat: loc.lat as number | null, lon: loc.lon as number | null,
    primary_st: loc.primary_st as string | null, primary_st_segment_id: loc.primary_st_segment_id as number | null,
    cross_st: loc.cross_st as string | null, cross_st_segment_id: loc.cross_st_segment_id as number | null, kits_id: kits,
  };
}

function detector(id: string, ip: string, status: string, comm: string, loc: typeof L1 | typeof L3): UnitDevice {
  return {
    device_type: "GRIDSMART", atd_device_id: id, device_ip: ip, device_status: status, ip_comm_status: comm,
    atd_location_id: loc.atd_location_id, coa_intersection_id: loc.coa_intersection_id, lat: loc.lat, lon: loc.lon,
    primary_st: loc.primary_st, primary_st_segment_id: loc.primary_st_segment_id, cross_st: loc.cross_st, cross_st_segment_id: loc.cross_st_segment_id,
  };
}

/** The normalised inventory the seed must produce (original §6.1 key order). */
export const KNACK_SEED_EXPECTED: Record<"bt" | "wt" | "gs", UnitDevice[]> = {
  bt: [
    sensor("BLUETOOTH", "2", "lamar_38th", "OK", "10.0.0.1", "ONLINE", L1, "LOC16-000865", null),
    sensor("BLUETOOTH", "3", "orphan_reader", "OK", "10.0.0.9", "ONLINE", NO_LOC, "LOC99-999999", null),
  ],
  wt: [
    sensor("RADAR", "10", "LAMAR_MANCHACA", "OK", "10.0.1.5", "ONLINE", L2, "LOC16-000900", 1),
    sensor("RADAR", "11", "BURNET_X", "BROKEN", "10.0.1.6", "OFFLINE", L3, "LOC17-001000", 5152102),
  ],
  gs: [detector("GS-1", "10.66.0.1", "OK", "ONLINE", L1), detector("GS-2", "10.66.0.2", "OK", "ONLINE", L3)],
};

type Fault =
  | { kind: "status"; status: number; remaining: number }
  | { kind: "throttle"; remaining: number; retryAfterSeconds: number }
  | { kind: "stall"; remaining: number };

export class KnackFake {
  readonly requests: KnackRecordedRequest[] = [];
  objects: KnackObjectSeed[];
  private faults: Fault[] = [];
  private listenPort = 0;
  readonly appId: string;
  readonly apiKey: string;

  private constructor(private readonly server: http.Server, opts: KnackFakeOptions) {
    this.objects = opts.objects ?? knackSeed();
    this.appId = opts.appId ?? "fake-app";
    this.apiKey = opts.apiKey ?? "fake-key";
  }

  static async start(opts: KnackFakeOptions = {}): Promise<KnackFake> {
    const server = http.createServer();
    const fake = new KnackFake(server, opts);
    server.on("request", (req, res) => fake.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
    });
    fake.listenPort = (server.address() as AddressInfo).port;
    return fake;
  }

  get port(): number {
    return this.listenPort;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.listenPort}`;
  }

  failNext(status: number, times = 1): void {
    this.faults.push({ kind: "status", status, remaining: times });
  }

  throttleNext(times = 1, retryAfterSeconds = 1): void {
    this.faults.push({ kind: "throttle", remaining: times, retryAfterSeconds });
  }

  /** The next `times` requests are never answered. */
  stallNext(times = 1): void {
    this.faults.push({ kind: "stall", remaining: times });
  }

  reset(): void {
    this.requests.length = 0;
    this.faults = [];
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // --- Internal helpers ---

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://fake");
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = k === "x-knack-rest-api-key" ? "<masked>" : String(v);
    const rec: KnackRecordedRequest = { method: req.method ?? "GET", path: url.pathname, query: Object.fromEntries(url.searchParams), headers };
    this.requests.push(rec);
    const send = (status: number, body: unknown, extra: Record<string, string> = {}) => {
      rec.status = status;
      const text = JSON.stringify(body);
      res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text), ...extra });
      res.end(text);
    };
    const fault = this.faults[0];
    if (fault) {
      fault.remaining--;
      if (fault.remaining <= 0) this.faults.shift();
      if (fault.kind === "stall") return;
      if (fault.kind === "throttle") return send(429, { errors: [{ message: "Rate limit exceeded" }] }, { "Retry-After": String(fault.retryAfterSeconds) });
      return send(fault.status, { errors: [{ message: `fake failure ${fault.status}` }] });
    }
    if (req.method !== "GET") return send(405, { errors: [{ message: "only GET is faked" }] });

    const app = /^\/v1\/applications\/([^/]+)$/.exec(url.pathname);
    if (app) {
      if (decodeURIComponent(app[1]!) !== this.appId) return send(404, { errors: [{ message: "Application not found" }] });
      return send(200, {
        application: {
          id: this.appId,
          objects: this.objects.map((o) => ({ key: o.key, name: o.name, fields: Object.entries(o.fields).map(([key, name]) => ({ key, name, type: "short_text" })) })),
        },
      });
    }
    if (req.headers["x-knack-application-id"] !== this.appId || req.headers["x-knack-rest-api-key"] !== this.apiKey) {
      return send(401, { errors: [{ message: "Invalid API key" }] });
    }
    const m = /^\/v1\/objects\/([^/]+)\/records$/.exec(url.pathname);
    if (!m) return send(404, { errors: [{ message: `no route ${url.pathname}` }] });
    const obj = this.objects.find((o) => o.key === m[1]);
    if (!obj) return send(404, { errors: [{ message: `Object ${m[1]} not found` }] });
    let records = obj.records.map((r, i) => toKnackRecord(obj, r, i));
    const filters = url.searchParams.get("filters");
    if (filters) {
      let f: { match?: string; rules?: { field: string; operator: string; value: unknown }[] };
      try {
        f = JSON.parse(filters);
      } catch {
        return send(400, { errors: [{ message: "filters is not JSON" }] });
      }
      records = records.filter((r) => (f.rules ?? []).every((rule) => rule.operator === "is" && matches(r[`${rule.field}_raw`] ?? r[rule.field], rule.value)));
    }
    const perPage = Math.min(1000, Math.max(1, Number(url.searchParams.get("rows_per_page") ?? 25)));
    const page = Math.max(1, Number(url.searchParams.get("page") ?? 1));
    const totalPages = Math.ceil(records.length / perPage);
    send(200, { total_pages: totalPages, current_page: page, total_records: records.length, records: records.slice((page - 1) * perPage, page * perPage) });
  }
}

function toKnackRecord(obj: KnackObjectSeed, seed: Record<string, KnackValue>, i: number): Record<string, unknown> {
  const out: Record<string, unknown> = { id: `${obj.key}-rec-${i}` };
  for (const [key, label] of Object.entries(obj.fields)) {
    const v = seed[label];
    if (v === undefined) continue;
    if (v !== null && typeof v === "object") {
      out[key] = v.formatted;
      out[`${key}_raw`] = v.raw;
    } else {
      out[key] = v === null ? "" : String(v);
      out[`${key}_raw`] = v === null ? "" : v;
    }
  }
  return out;
}

function matches(raw: unknown, value: unknown): boolean {
  if (typeof raw === "boolean") return raw === [1, "1", true, "true", "yes", "Yes"].includes(value as never);
  if (Array.isArray(raw)) return raw.some((c) => String((c as { identifier?: unknown }).identifier) === String(value));
  return String(raw) === String(value);
}

function isMain(): boolean {
  try {
    return Boolean(process.argv[1]) && realpathSync(process.argv[1]!) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  const i = process.argv.indexOf("--port");
  const fake = await KnackFake.start({ port: i >= 0 ? Number(process.argv[i + 1]) : 54480 });
  process.stdout.write(`Knack fake listening on ${fake.baseUrl} (app id ${fake.appId}, api key ${fake.apiKey})\n`);
  const stop = () => void fake.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
