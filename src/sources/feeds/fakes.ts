/**
 * Fakes of the feeds source (tests and the demo): a utility website and job implementations against it.
 *
 * The site (`startUtilitySite`): per account, monthly bills from `since` (a bill is out once its period is over):
 * `GET /accounts/<a>/bills.json?until=YYYY-MM-DD` → [{id, start, end, cost, use, peak}] (bills closed before `until`),
 * `GET /accounts/<a>/bills/<id>.pdf` → the bill document, `GET /accounts/<a>/portal?until=…` → an HTML table of the
 * same bills; with `brokenPortal` (or for its first `failPortal` requests) the portal answers a page without the table,
 * as a site whose layout changed does. Every request is logged.
 *
 * `GET /meters/<m>/readings.json?start=…&end=…` → hourly readings [{start, end, kwh}] of [start, end) (a value of
 * the hour: reruns see the same); `GET /login` with Basic credentials → 200 for a user of `users`, else 401.
 *
 * The jobs (`fake-utility-bills`: the JSON API plus each bill's PDF; `fake-utility-portal`: the HTML table, throws
 * when it is not there; `fake-utility-interval`: a meter's hourly readings of the run's range; `fake-utility-login`:
 * logs in with the job's stored credentials, throws FeedAuthError when refused, then the bills; `fake-hang`: never
 * finishes, for the timeout). Their params: {url, account} ({url, meter} for the interval job).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { writeFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { DateTime } from "luxon";
import { FeedAuthError, type FeedJob, type FeedJobContext, type Bill } from "./job.js";

export interface SiteBill {
  id: string;
  start: string;
  end: string;
  cost: number;
  use: number;
  peak: number | null;
}

export interface UtilitySite {
  url: string;
  requests: string[];
  stop(): Promise<void>;
}

export function siteBills(account: string, since: string, until: string): SiteBill[] {
  const out: SiteBill[] = [];
  for (let i = 0, s = DateTime.fromISO(since, { zone: "UTC" }); ; i++, s = s.plus({ months: 1 })) {
    const end = s.plus({ months: 1 }).minus({ days: 1 });
    if (end.toISODate()! >= until) return out;
    out.push({ id: `${account}-${s.toFormat("yyyyMM")}`, start: s.toISODate()!, end: end.toISODate()!, cost: 1000 + 37.25 * i, use: 4800 + 210 * i, peak: i % 2 ? 31.5 + i : null });
  }
}

export async function startUtilitySite(o: { since?: string; brokenPortal?: boolean; failPortal?: number; users?: Record<string, string> } = {}): Promise<UtilitySite> {
  const requests: string[] = [];
  let portalFailures = o.failPortal ?? 0;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://site");
    requests.push(url.pathname + url.search);
    if (url.pathname === "/login") {
      const [user, password] = Buffer.from(String(req.headers.authorization ?? "").replace(/^Basic /, ""), "base64").toString("utf8").split(":");
      return user && o.users?.[user] === password ? res.writeHead(200).end("welcome") : res.writeHead(401).end("login refused");
    }
    const meter = /^\/meters\/([^/]+)\/readings\.json$/.exec(url.pathname);
    if (meter) {
      const out = [];
      const end = DateTime.fromISO(url.searchParams.get("end") ?? "", { setZone: true });
      for (let t = DateTime.fromISO(url.searchParams.get("start") ?? "", { setZone: true }); t < end; t = t.plus({ hours: 1 })) {
        out.push({ start: t.toISO(), end: t.plus({ hours: 1 }).toISO(), kwh: 1 + (t.hour % 6) * 0.25 });
      }
      return res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(out));
    }
    const m = /^\/accounts\/([^/]+)\/(bills\.json|portal|bills\/([^/]+)\.pdf)$/.exec(url.pathname);
    if (!m) return res.writeHead(404).end("not found");
    if (m[3]) return res.writeHead(200, { "content-type": "application/pdf" }).end(`%PDF-1.4\n% bill ${m[3]}\n%%EOF\n`);
    const until = url.searchParams.get("until");
    if (!until || !/^\d{4}-\d{2}-\d{2}$/.test(until)) return res.writeHead(400).end("until=YYYY-MM-DD is required");
    const bills = siteBills(decodeURIComponent(m[1]!), o.since ?? "2024-01-01", until);
    if (m[2] === "bills.json") return res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(bills));
    if (o.brokenPortal || portalFailures-- > 0) return res.writeHead(200, { "content-type": "text/html" }).end("<html><body><p>We are updating our site.</p></body></html>");
    const rows = bills.map((b) => `<tr data-id="${b.id}"><td>${b.start}</td><td>${b.end}</td><td>${b.cost}</td><td>${b.use}</td><td>${b.peak ?? ""}</td></tr>`);
    res.writeHead(200, { "content-type": "text/html" }).end(`<html><body><table id="bills">\n${rows.join("\n")}\n</table></body></html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const get = async (url: string) => {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return res;
};
const until = (ctx: FeedJobContext) => DateTime.fromISO(ctx.end, { setZone: true }).toISODate()!;
const base = (ctx: FeedJobContext) => `${String(ctx.params.url)}/accounts/${encodeURIComponent(String(ctx.params.account))}`;

/** The JSON API and each bill's PDF, downloaded into the working directory. */
export const billsJob: FeedJob = {
  async run(ctx) {
    const bills = (await (await get(`${base(ctx)}/bills.json?until=${until(ctx)}`)).json()) as SiteBill[];
    await mkdir(path.join(ctx.workdir, "downloads"), { recursive: true });
    const out: Bill[] = [];
    for (const b of bills) {
      const pdf = `downloads/${b.id}.pdf`;
      await writeFile(path.join(ctx.workdir, pdf), Buffer.from(await (await get(`${base(ctx)}/bills/${b.id}.pdf`)).arrayBuffer()));
      out.push({ account: String(ctx.params.account), start: b.start, end: b.end, cost: b.cost, use: b.use, peak: b.peak, pdf });
    }
    ctx.log(`${out.length} bill(s) from the API`);
    return { bills: out };
  },
};

/** The HTML portal; throws when its bill table is not there. */
export const portalJob: FeedJob = {
  async run(ctx) {
    const html = await (await get(`${base(ctx)}/portal?until=${until(ctx)}`)).text();
    await writeFile(path.join(ctx.workdir, "portal.html"), html);
    if (!html.includes('<table id="bills">')) throw new Error("portal: the bill table is not on the page (did the site change?)");
    const bills = [...html.matchAll(/<tr data-id="[^"]+"><td>([^<]*)<\/td><td>([^<]*)<\/td><td>([^<]*)<\/td><td>([^<]*)<\/td><td>([^<]*)<\/td><\/tr>/g)].map((m) => ({
      account: String(ctx.params.account), start: m[1]!, end: m[2]!, cost: Number(m[3]), use: Number(m[4]), peak: m[5] ? Number(m[5]) : null,
    }));
    ctx.log(`${bills.length} bill(s) from the portal`);
    return { bills };
  },
};

/** A meter's hourly readings of the run's range. */
export const intervalJob: FeedJob = {
  async run(ctx) {
    const meter = String(ctx.params.meter);
    const q = `start=${encodeURIComponent(ctx.start)}&end=${encodeURIComponent(ctx.end)}`;
    const rows = (await (await get(`${String(ctx.params.url)}/meters/${encodeURIComponent(meter)}/readings.json?${q}`)).json()) as { start: string; end: string; kwh: number }[];
    ctx.log(`${rows.length} reading(s) of meter ${meter}`);
    return { readings: rows.map((r) => ({ meter, start: r.start, end: r.end, value: r.kwh, unit: "kWh" })) };
  },
};

/** Logs in with the stored credentials ({username, password}); a refused login is an authentication failure. */
export const loginJob: FeedJob = {
  async run(ctx) {
    const { username, password } = (ctx.credentials ?? {}) as { username?: string; password?: string };
    if (!username || !password) throw new FeedAuthError(`no credentials stored for job ${ctx.job}`);
    ctx.log(`logging in as ${username}`);
    const res = await fetch(`${String(ctx.params.url)}/login`, { headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}` } });
    if (res.status === 401) throw new FeedAuthError(`login refused for user ${username}`);
    if (!res.ok) throw new Error(`login: HTTP ${res.status}`);
    return billsJob.run(ctx);
  },
};

/** Never finishes (the run's timeout kills it). */
export const hangJob: FeedJob = {
  async run(ctx) {
    ctx.log("started; waiting forever");
    await new Promise(() => setInterval(() => undefined, 1_000));
    return { bills: [] };
  },
};
