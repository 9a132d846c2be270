/**
 * Simulated OEEM systems (the demo and the tests): a Green Button auth service + ESPI API, and an OEEM datastore.
 *
 * ESPI fake: customers with usage points; readings of `intervalSeconds` from `since`, published up to the utility's
 * boundary (lag and end of day in its zone, from the fake's clock), or up to `until` for a usage point that stopped
 * (no new data). A usage point may answer a malformed document, or have no readings at all. Every request is logged.
 *
 * Datastore fake: bulk sync endpoints per record type (project, consumption_metadata, consumption_record) that
 * upsert by natural key and answer one {id} (or null: a project it refuses) per row; it checks the batch order (a
 * child naming an unknown parent id is a 400) and can reject chosen batches.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { DateTime } from "luxon";
import { fetchBoundary } from "../../support/entities.js";

export interface FakeUsagePoint {
  id: string;
  kind: 0 | 1;
  /** Readings end here (epoch ms): the meter publishes nothing newer. */
  until?: number;
  malformed?: boolean;
  /** No readings at all. */
  empty?: boolean;
}
export interface FakeCustomer {
  id: string;
  project: string;
  token: string;
  usagePoints: FakeUsagePoint[];
}
export interface EspiFakeOptions {
  customers?: FakeCustomer[];
  clock?: () => number;
  /** First reading (ISO); default 2015-01-01 local midnight. */
  since?: string;
  intervalSeconds?: number;
  zone?: string;
  endOfDay?: string;
  lagDays?: number;
  /** Bearer token the auth service wants (none: any). */
  authToken?: string;
}

/** Two customers, three usage points (ids with underscores): one normal, one that stopped publishing, one malformed. */
export function defaultCustomers(clock: () => number, malformed = true): FakeCustomer[] {
  const stopped = DateTime.fromMillis(clock(), { zone: "America/Los_Angeles" }).minus({ days: 30 }).startOf("day").toMillis();
  return [
    { id: "cust_1", project: "proj_A_1", token: "tok-cust-1-abc", usagePoints: [{ id: "up_1_elec", kind: 0 }, { id: "up_1_gas", kind: 1, until: stopped }] },
    { id: "cust_2", project: "proj_B_2", token: "tok-cust-2-def", usagePoints: [{ id: "up_2_elec", kind: 0, malformed }] },
  ];
}

async function listen(server: Server): Promise<{ url: string; stop(): Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, stop: () => new Promise<void>((r) => server.close(() => r())) };
}

function send(res: ServerResponse, status: number, body: string, type = "application/json"): void {
  res.writeHead(status, { "content-type": type });
  res.end(body);
}

const iso = (s: number) => new Date(s * 1000).toISOString();

export function usageXml(up: FakeUsagePoint, readings: { start: number; duration: number; value: number }[]): string {
  const uom = up.kind === 0 ? 72 : 169;
  const blocks: string[] = [];
  for (let i = 0; i < readings.length; i += 24) {
    const day = readings.slice(i, i + 24);
    const rs = day.map((r) => `      <espi:IntervalReading>\n        <espi:timePeriod><espi:duration>${r.duration}</espi:duration><espi:start>${r.start}</espi:start></espi:timePeriod>\n        <espi:value>${r.value}</espi:value>\n      </espi:IntervalReading>`);
    const span = day[day.length - 1]!.start + day[day.length - 1]!.duration - day[0]!.start;
    blocks.push(`  <entry><title>${iso(day[0]!.start)}</title><content><espi:IntervalBlock>\n      <espi:interval><espi:duration>${span}</espi:duration><espi:start>${day[0]!.start}</espi:start></espi:interval>\n${rs.join("\n")}\n    </espi:IntervalBlock></content></entry>`);
  }
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<feed xmlns="http://www.w3.org/2005/Atom" xmlns:espi="http://naesb.org/espi">`,
    `  <entry><title>${up.id}</title><content><espi:UsagePoint><espi:ServiceCategory><espi:kind>${up.kind}</espi:kind></espi:ServiceCategory></espi:UsagePoint></content></entry>`,
    `  <entry><content><espi:ReadingType><espi:uom>${uom}</espi:uom><espi:powerOfTenMultiplier>0</espi:powerOfTenMultiplier></espi:ReadingType></content></entry>`,
    ...blocks,
    `</feed>`,
    "",
  ].join("\n");
}

export interface EspiFake {
  url: string;
  authUrl: string;
  espiUrl: string;
  customers: FakeCustomer[];
  requests: { path: string; min?: string; max?: string; status: number }[];
  stop(): Promise<void>;
}

export async function startEspiFake(o: EspiFakeOptions = {}): Promise<EspiFake> {
  const clock = o.clock ?? Date.now;
  const zone = o.zone ?? "America/Los_Angeles";
  const step = o.intervalSeconds ?? 3600;
  const since = DateTime.fromISO(o.since ?? "2015-01-01", { zone }).toSeconds();
  const customers = o.customers ?? defaultCustomers(clock);
  const requests: EspiFake["requests"] = [];
  const value = (s: number) => Math.round((1 + Math.sin(s / 7200) * 0.5 + ((s / step) % 7) / 10) * 1000) / 1000;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? "/", "http://fake");
    const path = decodeURIComponent(u.pathname);
    const log = (status: number) => requests.push({ path, ...(u.searchParams.get("published-min") ? { min: u.searchParams.get("published-min")!, max: u.searchParams.get("published-max")! } : {}), status });
    const token = (req.headers.authorization ?? "").replace(/^Bearer /, "");
    if (path === "/auth/customers") {
      if (o.authToken && token !== o.authToken) return log(401), send(res, 401, '{"error":"bad token"}');
      log(200);
      return send(res, 200, JSON.stringify(customers.map((c) => ({ customer_id: c.id, project_id: c.project, access_token: c.token }))));
    }
    const m = /^\/espi(\/Batch)?\/Subscription\/([^/]+)\/UsagePoint(?:\/([^/]+))?$/.exec(path);
    const c = m ? customers.find((x) => x.id === m[2]) : undefined;
    if (!m || !c) return log(404), send(res, 404, '{"error":"not found"}');
    if (token !== c.token) return log(403), send(res, 403, '{"error":"token refused"}');
    const xmlHead = `<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" xmlns:espi="http://naesb.org/espi">\n`;
    if (!m[3]) {
      log(200);
      const entries = c.usagePoints.map((up) => `  <entry><link rel="self" href="/espi/Subscription/${encodeURIComponent(c.id)}/UsagePoint/${encodeURIComponent(up.id)}"/><title>${up.id}</title><content><espi:UsagePoint><espi:ServiceCategory><espi:kind>${up.kind}</espi:kind></espi:ServiceCategory></espi:UsagePoint></content></entry>\n`);
      return send(res, 200, `${xmlHead}${entries.join("")}</feed>\n`, "application/atom+xml");
    }
    const up = c.usagePoints.find((x) => x.id === m[3]);
    if (!up) return log(404), send(res, 404, '{"error":"no such usage point"}');
    log(200);
    if (up.malformed) return send(res, 200, `${xmlHead}  <entry><content><espi:IntervalBlock>\n    <espi:IntervalReading><espi:value>12</espi:value>\n  </entry>\n</feed>\n`, "application/atom+xml");
    const min = DateTime.fromISO(u.searchParams.get("published-min") ?? "", { zone }).toSeconds();
    const max = DateTime.fromISO(u.searchParams.get("published-max") ?? "", { zone }).toSeconds();
    const published = Math.min(fetchBoundary(clock(), { zone, endOfDay: o.endOfDay ?? "00:00", lagDays: o.lagDays ?? 2, lookBackYears: 0 }).toSeconds(), up.until !== undefined ? up.until / 1000 : Infinity);
    const readings: { start: number; duration: number; value: number }[] = [];
    if (!up.empty && Number.isFinite(min) && Number.isFinite(max)) {
      const first = since + Math.ceil(Math.max(0, min - since) / step) * step;
      for (let s = first; s + step <= Math.min(max + 1, published); s += step) readings.push({ start: s, duration: step, value: value(s) });
    }
    return send(res, 200, usageXml(up, readings), "application/atom+xml");
  });
  const l = await listen(server);
  return { url: l.url, authUrl: `${l.url}/auth`, espiUrl: `${l.url}/espi`, customers, requests, stop: l.stop };
}

export interface DatastoreFake {
  url: string;
  projects: Map<string, number>;
  metadata: Map<string, number>;
  records: Map<string, number>;
  /** Record types of the batches received, in order, with their sizes and statuses. */
  batches: { type: string; rows: number; status: number }[];
  stop(): Promise<void>;
}

export interface DatastoreFakeOptions {
  /** Projects it answers null for ("no project found"). */
  refuseProjects?: string[];
  /** Rejects a batch with HTTP 400 when this says so (n: the batch's number among batches of its type, from 1). */
  reject?: (type: string, n: number, rows: Record<string, unknown>[]) => boolean;
  token?: string;
}

export async function startDatastoreFake(o: DatastoreFakeOptions = {}): Promise<DatastoreFake> {
  const projects = new Map<string, number>();
  const metadata = new Map<string, number>();
  const records = new Map<string, number>();
  const batches: DatastoreFake["batches"] = [];
  const perType = new Map<string, number>();
  const ids = { next: 1 };
  const upsert = (map: Map<string, number>, key: string) => map.get(key) ?? (map.set(key, ids.next++), ids.next - 1);
  const known = (map: Map<string, number>, id: unknown) => [...map.values()].includes(Number(id));
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const type = /^\/([a-z_]+)\/sync\/$/.exec(req.url ?? "")?.[1] ?? "";
      let rows: Record<string, unknown>[];
      try {
        rows = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>[];
      } catch {
        return send(res, 400, '{"error":"body is not JSON"}');
      }
      const n = (perType.get(type) ?? 0) + 1;
      perType.set(type, n);
      const answer = (status: number, body: unknown) => (batches.push({ type, rows: rows.length, status }), send(res, status, JSON.stringify(body)));
      if (o.token && req.headers.authorization !== `Bearer ${o.token}`) return answer(401, { error: "token refused" });
      if (o.reject?.(type, n, rows)) return answer(400, { error: `batch ${n} of ${type} rejected` });
      if (type === "project") return answer(200, rows.map((r) => (o.refuseProjects?.includes(String(r.project_id)) ? null : { id: upsert(projects, String(r.project_id)) })));
      if (type === "consumption_metadata") {
        const bad = rows.find((r) => !known(projects, r.project));
        if (bad) return answer(400, { error: `batch order: project id ${String(bad.project)} is unknown` });
        return answer(200, rows.map((r) => ({ id: upsert(metadata, `${String(r.project)}/${String(r.usage_point)}`) })));
      }
      if (type === "consumption_record") {
        const bad = rows.find((r) => !known(metadata, r.metadata));
        if (bad) return answer(400, { error: `batch order: metadata id ${String(bad.metadata)} is unknown` });
        return answer(200, rows.map((r) => ({ id: upsert(records, `${String(r.metadata)}/${String(r.start)}`) })));
      }
      return answer(404, { error: `no endpoint ${req.url}` });
    });
  });
  const l = await listen(server);
  return { url: l.url, projects, metadata, records, batches, stop: l.stop };
}
