/**
 * A fake of GRIDSMART field devices: one HTTP server hosting several devices, each under a path prefix named by
 * its IP (http://127.0.0.1:<port>/<ip>/api/...), so the lake's `sources.gs.deviceUrl` template
 * "http://127.0.0.1:<port>/{ip}/api/" reaches them (production: "http://{ip}:8902/api/"). A plain "/api/..."
 * request is routed by its Host header instead (a proxy or name resolution pointing device names at the fake).
 *
 * Serves site.json, datetime.json, system/hardwareinfo.json, counts.json and counts/bydate/YYYY-MM-DD (a real zip,
 * Type A or B, API version 4, 7 or 8) from a SimDevice. Per device controls: time out, fail with an HTTP status,
 * answer JSON that makes no sense (garbage), serve a corrupt zip, or a zip whose entry name climbs out of its
 * folder; optionally only on some routes.
 *
 * On the real clock, a datetime.json answer is held back a moment when its second is about to end, so the second the
 * device shows is still the host's when the lake reads its own clock after the answer: repeated readings of a
 * simulated clock then give the same whole-second difference (a real device's reading has that one-second jitter).
 * The source's simulator: the demo serves its devices through it (pipeline.ts), tests and the bench use it too.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { zipSync } from "fflate";
import { dayArchive, datetimeJson, hardwareInfoJson, siteJson, type SimDevice } from "./simulate.js";

export type FakeRoute = "site" | "datetime" | "hardware" | "counts" | "bydate";

export interface FakeBehaviour {
  mode: "ok" | "timeout" | "fail" | "garbage" | "corrupt-zip" | "climbing-zip";
  /** HTTP status for "fail" (default 500). */
  status?: number;
  /** Only these routes misbehave (default: all; corrupt/climbing apply to bydate only). */
  routes?: FakeRoute[];
}

export interface FakeDeviceEntry {
  device: SimDevice;
  /** Days the device lists in counts.json (YYYY-MM-DD). */
  days: string[];
  behaviour?: FakeBehaviour;
  /** The site.json answer as text, exactly (default: the simulated device's site as JSON). */
  siteText?: string;
}

export interface GridsmartFakeOptions {
  devices: FakeDeviceEntry[];
  /** True now (ms) for datetime.json; default Date.now (then answers are aligned to the second, see above). */
  now?: () => number;
  host?: string;
  /** 0 = a free port. */
  port?: number;
}

export interface GridsmartFake {
  url: string;
  port: number;
  /** The lake's sources.gs.deviceUrl for this fake. */
  deviceUrl: string;
  /** Requests seen: "<ip> <route path>". */
  requests: string[];
  setBehaviour(ip: string, behaviour: FakeBehaviour | undefined): void;
  setDays(ip: string, days: string[]): void;
  stop(): Promise<void>;
}

function routeOf(path: string): FakeRoute | undefined {
  if (path === "site.json") return "site";
  if (path === "datetime.json") return "datetime";
  if (path === "system/hardwareinfo.json") return "hardware";
  if (path === "counts.json") return "counts";
  if (/^counts\/bydate\/\d{4}-\d{2}-\d{2}$/.test(path)) return "bydate";
  return undefined;
}

/** What a device answers that cannot be understood (valid JSON, nonsense values). */
const GARBAGE: Record<Exclude<FakeRoute, "bydate">, unknown> = {
  site: { Location: "nowhere", CameraDevices: 3 },
  datetime: { DateTime: "13/45/2024 99:99:99 XM", TimeZoneId: "Central", UtcOffset: "?" },
  hardware: "?",
  counts: ["someday"],
};

/** Milliseconds to wait before answering at `ms` so that at least `marginMs` of the second is left (0: none). */
export function secondAlignmentDelay(ms: number, marginMs = 150): number {
  const left = 1000 - (((ms % 1000) + 1000) % 1000);
  return left < marginMs ? left + 1 : 0;
}

/** A zip whose one entry climbs out of the extraction folder. */
function climbingZip(dev: SimDevice, day: string): Uint8Array {
  const mac = dev.mac.replace(/:/g, "-");
  return zipSync({ [`${mac}/${day}/../../../../tmp/evil.csv`]: new TextEncoder().encode("8,23,1.0,-300,S\r\n") });
}

export async function startGridsmartFake(opts: GridsmartFakeOptions): Promise<GridsmartFake> {
  const entries = new Map(opts.devices.map((e) => [e.device.ip, { ...e }]));
  const now = opts.now ?? (() => Date.now());
  const alignToSecond = !opts.now;
  const requests: string[] = [];
  const archives = new Map<string, Uint8Array>();
  const hanging = new Set<http.ServerResponse>();

  const server = http.createServer((req, res) => {
    const url = (req.url ?? "").split("?")[0]!;
    // Path prefix "/<ip>/api/...", or plain "/api/..." routed by the Host header's name (as a real device is reached).
    let m = /^\/([^/]+)\/api\/(.*)$/.exec(url);
    if (!m && url.startsWith("/api/")) m = ["", (req.headers.host ?? "").replace(/:\d+$/, ""), url.slice(5)] as unknown as RegExpExecArray;
    const entry = m ? entries.get(decodeURIComponent(m[1]!)) : undefined;
    const path = m?.[2] ?? "";
    const route = routeOf(path);
    requests.push(`${m?.[1] ?? "?"} ${path}`);
    if (!entry || !route) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    const b = entry.behaviour;
    const applies = b && b.mode !== "ok" && (!b.routes || b.routes.includes(route));
    if (applies && b.mode === "timeout") {
      hanging.add(res);
      res.on("close", () => hanging.delete(res));
      return; // never answers
    }
    if (applies && b.mode === "fail") {
      res.writeHead(b.status ?? 500, { "content-type": "text/plain" }).end("device error");
      return;
    }
    const dev = entry.device;
    const json = (body: unknown) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (applies && b.mode === "garbage" && route !== "bydate") return json(GARBAGE[route]);
    switch (route) {
      case "site":
        if (entry.siteText !== undefined) return res.writeHead(200, { "content-type": "application/json" }).end(entry.siteText);
        return json(siteJson(dev));
      case "datetime": {
        const answer = () => {
          const { HostTimeUTC: _drop, ...dt } = datetimeJson(dev, now());
          json(dt);
        };
        const wait = alignToSecond ? secondAlignmentDelay(now()) : 0;
        if (wait) setTimeout(answer, wait);
        else answer();
        return;
      }
      case "hardware":
        return json(hardwareInfoJson(dev));
      case "counts":
        return json(entry.days);
      case "bydate": {
        const day = path.slice(-10);
        if (!entry.days.includes(day)) {
          res.writeHead(404).end();
          return;
        }
        let body: Uint8Array;
        if (applies && b.mode === "climbing-zip") body = climbingZip(dev, day);
        else {
          const key = `${dev.ip}|${day}`;
          body = archives.get(key) ?? dayArchive(dev, day);
          archives.set(key, body);
          if (applies && b.mode === "corrupt-zip") body = Uint8Array.from(body.subarray(0, Math.floor(body.length / 2)));
        }
        res.writeHead(200, { "content-type": "application/zip", "content-length": String(body.byteLength) }).end(Buffer.from(body));
        return;
      }
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${opts.host ?? "127.0.0.1"}:${port}`;
  return {
    url,
    port,
    deviceUrl: `${url}/{ip}/api/`,
    requests,
    setBehaviour(ip, behaviour) {
      const e = entries.get(ip);
      if (!e) throw new Error(`gridsmart fake: no device ${ip}`);
      if (behaviour) e.behaviour = behaviour;
      else delete e.behaviour;
    },
    setDays(ip, days) {
      const e = entries.get(ip);
      if (!e) throw new Error(`gridsmart fake: no device ${ip}`);
      e.days = days;
    },
    async stop() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
