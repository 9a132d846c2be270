/**
 * A fake MDS provider API (the demo's and the tests' providers): several providers under one server, each at
 * /<name>/trips and /<name>/status_changes, MDS 0.3 (trips by min_end_time/max_end_time, status changes by
 * start_time/end_time, epoch ms) or 0.4 (end_time= / event_time=YYYY-MM-DDTHH, version in the Accept header), bearer
 * tokens, pages of pageSize records linked by links.next. Misbehaviour on request: a provider that throttles (every
 * Nth request a 429 with Retry-After), hours that fail (HTTP 500), hours with no records, hours with records missing
 * fields, a point outside the reference layers, a page that is not JSON (each for both endpoints).
 */
import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { DateTime } from "luxon";
import { seededRandom } from "../../util/random.js";

export interface FakeProvider {
  name: string;
  version: "0.3" | "0.4";
  token: string;
  pageSize?: number;
  /** Trips ending in each hour (default 6). */
  tripsPerHour?: number;
  /** Status changes in each hour (default 5). */
  statusChangesPerHour?: number;
  /** Every Nth request is answered 429 with Retry-After: retryAfter seconds. */
  throttleEvery?: number;
  retryAfter?: number;
  /** UTC hour starts (epoch ms) answered with HTTP 500. */
  failHours?: number[];
  /** A failing hour fails only its first failTimes requests (an outage that ends); default: always. */
  failTimes?: number;
  /** Hours without records: 0.3 answers an empty page, 0.4 a 404 (as the 0.4 spec says). */
  emptyHours?: number[];
  /**
   * Hours whose records include two invalid ones (trips: no trip_id, a bad vehicle_type; status changes: no
   * device_id, a bad event_type) and one outside the layers (a trip's start, a status change's location).
   */
  badHours?: number[];
  /** Hours whose records end with a repeat of their first (a provider's paging that shifted). */
  duplicateHours?: number[];
  /** Hours whose second page is cut off (not JSON). */
  malformedHours?: number[];
}

export interface FakeMds {
  /** Base URL of a provider's API. */
  url(name: string): string;
  /** Requests served, by provider and status. */
  requests: { provider: string; status: number; url: string }[];
  stop(): Promise<void>;
}

const HOUR = 3_600_000;
const uuid = (s: string) => createHash("md5").update(s).digest("hex").replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, "$1-$2-$3-$4-$5");

/** The trips a provider has for the hour that starts at ms (UTC), deterministic. */
export function fakeTrips(p: FakeProvider, hourMs: number): Record<string, unknown>[] {
  if (p.emptyHours?.includes(hourMs)) return [];
  const rnd = seededRandom(hourMs / HOUR + p.name.length * 7919);
  const n = p.tripsPerHour ?? 6;
  const trips: Record<string, unknown>[] = [];
  for (let k = 0; k < n; k++) {
    const end = hourMs + Math.floor(rnd() * (HOUR - 1000));
    const duration = 120 + Math.floor(rnd() * 1500);
    const at = (): [number, number] => [Number((-97.88 + rnd() * 0.28).toFixed(6)), Number((30.12 + rnd() * 0.31).toFixed(6))];
    const a = at();
    const b = at();
    const trip: Record<string, unknown> = {
      provider_id: uuid(p.name), provider_name: p.name, device_id: uuid(`${p.name}:d${k % 5}`), vehicle_id: `${p.name.slice(0, 2).toUpperCase()}${1000 + (k % 5)}`,
      vehicle_type: k % 4 === 0 ? "bicycle" : "scooter", propulsion_types: ["electric"], trip_id: uuid(`${p.name}:${hourMs}:${k}`),
      trip_duration: duration, trip_distance: 200 + Math.floor(rnd() * 3000),
      route: { type: "FeatureCollection", features: [a, b].map((c, i) => ({ type: "Feature", properties: { timestamp: i ? end : end - duration * 1000 }, geometry: { type: "Point", coordinates: c } })) },
      start_time: end - duration * 1000, end_time: end, standard_cost: 100 + k * 10, actual_cost: 100 + k * 10,
      ...(p.version === "0.4" ? { publication_time: end + 60_000, currency: "USD" } : {}),
    };
    trips.push(trip);
  }
  if (p.badHours?.includes(hourMs) && trips.length >= 3) {
    delete trips[0]!.trip_id;
    trips[1]!.vehicle_type = "hoverboard";
    (trips[2]!.route as { features: { geometry: { coordinates: number[] } }[] }).features[0]!.geometry.coordinates = [-98.4936, 29.4241];
  }
  return trips;
}

const EVENTS: [string, string][] = [["available", "user_drop_off"], ["reserved", "user_pick_up"], ["unavailable", "low_battery"], ["removed", "rebalance_pick_up"], ["available", "service_start"]];

/** The status changes a provider has for the hour that starts at ms (UTC), deterministic. */
export function fakeStatusChanges(p: FakeProvider, hourMs: number): Record<string, unknown>[] {
  if (p.emptyHours?.includes(hourMs)) return [];
  const rnd = seededRandom(hourMs / HOUR + p.name.length * 104729);
  const changes = Array.from({ length: p.statusChangesPerHour ?? 5 }, (_, k): Record<string, unknown> => {
    const [type, reason] = EVENTS[k % EVENTS.length]!;
    const time = hourMs + Math.floor(rnd() * (HOUR - 1000));
    return {
      provider_id: uuid(p.name), provider_name: p.name, device_id: uuid(`${p.name}:d${k % 5}`), vehicle_id: `${p.name.slice(0, 2).toUpperCase()}${1000 + (k % 5)}`,
      vehicle_type: "scooter", propulsion_types: ["electric"], event_type: type, event_type_reason: reason, event_time: time,
      event_location: { type: "Feature", properties: { timestamp: time }, geometry: { type: "Point", coordinates: [Number((-97.88 + rnd() * 0.28).toFixed(6)), Number((30.12 + rnd() * 0.31).toFixed(6))] } },
      battery_pct: Number((0.1 + rnd() * 0.9).toFixed(2)),
      ...(reason === "user_drop_off" || reason === "user_pick_up" ? { associated_trip: uuid(`${p.name}:${hourMs}:${k}`) } : {}),
      ...(p.version === "0.4" ? { publication_time: time + 60_000 } : {}),
    };
  });
  if (p.badHours?.includes(hourMs) && changes.length >= 3) {
    delete changes[0]!.device_id;
    changes[1]!.event_type = "teleported";
    (changes[2]!.event_location as { geometry: { coordinates: number[] } }).geometry.coordinates = [-98.4936, 29.4241];
  }
  return changes;
}

/** Each endpoint: its records of an hour and the query parameters of the hour per version (0.4: a UTC hour). */
const ROUTES: Record<string, { records: (p: FakeProvider, hourMs: number) => Record<string, unknown>[]; v03: [string, string]; v04: string }> = {
  trips: { records: fakeTrips, v03: ["min_end_time", "max_end_time"], v04: "end_time" },
  status_changes: { records: fakeStatusChanges, v03: ["start_time", "end_time"], v04: "event_time" },
};

export async function startFakeMds(providers: FakeProvider[], opts: { port?: number } = {}): Promise<FakeMds> {
  const requests: FakeMds["requests"] = [];
  const counts = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? "/", "http://fake");
    const [, name, route] = u.pathname.split("/");
    const p = providers.find((x) => x.name === name);
    const answer = (status: number, body: string, headers: Record<string, string> = {}) => {
      requests.push({ provider: name ?? "", status, url: u.pathname + u.search });
      res.writeHead(status, { "content-type": "application/vnd.mds.provider+json", ...headers });
      res.end(body);
    };
    const endpoint = route && Object.hasOwn(ROUTES, route) ? ROUTES[route] : undefined;
    if (!p || !endpoint) return answer(404, JSON.stringify({ message: "no such endpoint" }));
    if (req.headers.authorization !== `Bearer ${p.token}`) return answer(401, JSON.stringify({ message: "invalid token" }));
    const n = (counts.get(p.name) ?? 0) + 1;
    counts.set(p.name, n);
    if (p.throttleEvery && n % p.throttleEvery === 0) return answer(429, JSON.stringify({ message: "slow down" }), { "retry-after": String(p.retryAfter ?? 1) });
    let hourMs: number;
    if (p.version === "0.3") {
      const [from, to] = endpoint.v03;
      hourMs = Number(u.searchParams.get(from));
      if (!Number.isFinite(hourMs) || Number(u.searchParams.get(to)) - hourMs !== HOUR) return answer(400, JSON.stringify({ message: `${from} and ${to} must span one hour` }));
    } else {
      if (!String(req.headers.accept ?? "").includes("version=0.4")) return answer(406, JSON.stringify({ message: "Accept must name version=0.4" }));
      const hour = DateTime.fromFormat(u.searchParams.get(endpoint.v04) ?? "", "yyyy-MM-dd'T'HH", { zone: "utc" });
      if (!hour.isValid) return answer(400, JSON.stringify({ message: `${endpoint.v04} must be YYYY-MM-DDTHH` }));
      hourMs = hour.toMillis();
    }
    if (p.failHours?.includes(hourMs)) {
      const k = `${p.name}:${route}:${hourMs}`;
      const failed = (counts.get(k) ?? 0) + 1;
      counts.set(k, failed);
      if (p.failTimes === undefined || failed <= p.failTimes) return answer(500, JSON.stringify({ message: "internal error" }));
    }
    const page = Number(u.searchParams.get("page") ?? "1");
    // MDS 0.4: "If the data does not exist or the hour has not completed, /trips shall return a 404 Not Found error."
    if (p.version === "0.4" && p.emptyHours?.includes(hourMs)) return answer(404, JSON.stringify({ error: "not_found", error_description: "no data for this hour" }));
    const size = p.pageSize ?? 4;
    const records0 = endpoint.records(p, hourMs);
    const all = p.duplicateHours?.includes(hourMs) && records0.length ? [...records0, records0[0]!] : records0;
    const records = all.slice((page - 1) * size, page * size);
    const nextUrl = new URL(u.toString());
    nextUrl.searchParams.set("page", String(page + 1));
    const next = page * size < all.length ? `http://${req.headers.host}${nextUrl.pathname}${nextUrl.search}` : null;
    const body = JSON.stringify({ version: p.version === "0.3" ? "0.3.1" : "0.4.1", data: { [route!]: records }, links: { next } });
    if (page === 2 && p.malformedHours?.includes(hourMs)) return answer(200, body.slice(0, Math.floor(body.length / 2)));
    answer(200, body);
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, "127.0.0.1", () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (name) => `http://127.0.0.1:${port}/${name}/`,
    requests,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
