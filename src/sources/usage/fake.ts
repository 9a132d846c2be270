/**
 * The usage source's simulated systems: the logs (web and download, per arrival day, with an overlapping export
 * that repeats some lines and late lines of the day before) and a geocoder fake (GET /<ip>/json) that counts its
 * lookups and can fail its first requests (an outage that ends).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { DateTime } from "luxon";
import { seededRandom } from "../../util/random.js";

const IPS = Array.from({ length: 12 }, (_, i) => `203.0.113.${10 + i * 7}`);
const PATHS = ["/pudl.db", "/ferc1.db", "/pudl/plants_entity_eia.csv", "/pudl/out_eia__yearly_generators.json", "/-/static/app.css"];
const CITIES = [["US", "Texas", "Austin"], ["US", "California", "Oakland"], ["DE", "Berlin", "Berlin"], ["IN", "Karnataka", "Bengaluru"]];

interface Event {
  kind: "web" | "download";
  id: string;
  time: number;
  ip: string;
  path: string;
  late: boolean;
}

/** The day's requests (local day in zone), deterministic; the last two web requests of the day arrive late. */
export function dayEvents(day: DateTime, perDay = { web: 20, download: 8 }): Event[] {
  const start = day.toMillis();
  const span = day.plus({ days: 1 }).toMillis() - start;
  const rnd = seededRandom(start / 1000);
  const out: Event[] = [];
  for (const kind of ["web", "download"] as const) {
    for (let k = 0; k < perDay[kind]; k++) {
      const late = kind === "web" && k >= perDay.web - 2;
      const time = late ? start + span - 60_000 * (k + 1 - (perDay.web - 2)) * 3 : start + Math.floor(rnd() * (span - 1_800_000));
      out.push({ kind, id: `${kind === "web" ? "w" : "R"}${day.toFormat("yyyyMMdd")}${String(k).padStart(3, "0")}`, time, ip: IPS[Math.floor(rnd() * IPS.length)]!, path: PATHS[k % PATHS.length]!, late });
    }
  }
  return out;
}

const webLine = (e: Event) => JSON.stringify({ insertId: e.id, timestamp: new Date(e.time).toISOString(), httpRequest: { requestMethod: "GET", requestUrl: `https://data.catalyst.coop${e.path}?_size=100`, status: 200, responseSize: String(1000 + (e.time % 5000)), remoteIp: e.ip, userAgent: "Mozilla/5.0" } });
const accessLine = (e: Event) => `pudl.catalyst.coop [${DateTime.fromMillis(e.time, { zone: "utc" }).toFormat("dd/LLL/yyyy:HH:mm:ss ZZZ")}] ${e.ip} ${e.id} GET ${e.path.slice(1)} 200 ${(e.time % 90_000) + 1000} "aws-cli/2.15"`;

/** The log objects that arrive on a day: key (`<kind>/<day>/<name>`) → text. */
export function arrivalObjects(day: DateTime): Record<string, string> {
  const mine = dayEvents(day);
  const before = dayEvents(day.minus({ days: 1 })).filter((e) => e.late);
  const web = mine.filter((e) => e.kind === "web" && !e.late);
  const d = day.toISODate()!;
  return {
    [`web/${d}/part-000.jsonl`]: `${web.map(webLine).join("\n")}\n`,
    // The overlapping export: its first three lines repeat part-000's last three.
    [`web/${d}/part-001.jsonl`]: `${[...web.slice(-3), ...before].map(webLine).join("\n")}\n`,
    [`download/${d}/access.log`]: `${mine.filter((e) => e.kind === "download").map(accessLine).join("\n")}\n`,
  };
}

export interface FakeGeocoder {
  url: string;
  /** Lookups served, per IP. */
  lookups: Map<string, number>;
  total(): number;
  stop(): Promise<void>;
}

/** A geocoder on 127.0.0.1: GET /<ip>/json → {ip, country, region, city, org}; failFirst requests answer 503. */
export async function startFakeGeocoder(opts: { failFirst?: number; token?: string } = {}): Promise<FakeGeocoder> {
  const lookups = new Map<string, number>();
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    const m = /^\/([^/]+)\/json$/.exec(req.url ?? "");
    if (opts.token && req.headers.authorization !== `Bearer ${opts.token}`) return void res.writeHead(401).end("{}");
    if (requests <= (opts.failFirst ?? 0)) return void res.writeHead(503, { "retry-after": "0" }).end("busy");
    if (!m) return void res.writeHead(404).end("{}");
    const ip = decodeURIComponent(m[1]!);
    lookups.set(ip, (lookups.get(ip) ?? 0) + 1);
    const [country, region, city] = CITIES[Number(ip.split(".").pop()) % CITIES.length]!;
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ip, country, region, city, org: `AS64500 Example Net ${ip.split(".").pop()}` }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    lookups,
    total: () => [...lookups.values()].reduce((a, b) => a + b, 0),
    stop: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}
