/**
 * Catalyst's usage-metrics pipeline, rebuilt: web (request) and download (object access) logs, one block per local
 * day. The block lists the day's log objects by date prefix (and the next day's, for late arrivals), keeps the
 * requests whose event time is in the day, de-duplicates them by log id, enriches each IP with a location through
 * the shared geocode cache, and writes the rows with the destination's write mode (default upsert: a rerun
 * neither duplicates nor raises). Lines that do not parse are reported with file and line; the others load.
 *
 * Statuses, --concurrency, --incomplete-only (the catch-up tick after an outage) are the block runner's.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { DateTime } from "luxon";
import { ConfigError } from "../../support/errors.js";
import { httpGetText } from "../../support/http.js";
import { defineSource, defineStage, type BlockContext, type RecordError } from "../../support/kit.js";
import { LookupCache } from "../../support/lookup-cache.js";
import { NO_RETRY } from "../../support/resilience.js";
import type { SqlDriver } from "../../support/drivers.js";
import { ensureTable, writeRows } from "../../support/sql-write.js";
import { usageConfig, type GeocoderConfig, type UsageConfig } from "./config.js";
import { LOG_KINDS, parseLog, requestRow, TABLE, type LogKind, type Location, type Request } from "./logs.js";

type Ctx = BlockContext<UsageConfig>;

interface State {
  db: SqlDriver;
  cache: LookupCache<Location> | undefined;
}

/** The log objects of a kind that arrived on a day: `<kind>/<YYYY-MM-DD>/...`, in key order. */
async function* arrived(ctx: Ctx, kind: LogKind, day: DateTime): AsyncGenerator<{ file: string; text: string }> {
  const prefix = `${kind}/${day.toISODate()!}/`;
  const { dropdir, repository } = ctx.config.logs;
  if (dropdir) {
    const dir = path.join(ctx.resolvePath(dropdir), prefix);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const n of names.sort()) yield { file: path.join(dir, n), text: await readFile(path.join(dir, n), "utf8") };
    return;
  }
  if (!repository) throw new ConfigError("sources.usage.logs needs a repository (object storage) or a dropdir (folder)");
  const objects = await ctx.objects(repository);
  for await (const o of objects.list(prefix)) yield { file: `${repository}/${o.key}`, text: (await objects.read(o.key)) ?? "" };
}

function geocode(g: GeocoderConfig, token: string | undefined): (ip: string) => Promise<Location> {
  return async (ip) => {
    const { text } = await httpGetText(`${g.url.replace(/\/$/, "")}/${encodeURIComponent(ip)}/json`, {
      what: `geocoder ${ip}`, timeoutMs: g.timeoutMs, retry: NO_RETRY, ...(token ? { bearer: token } : {}), credentials: "sources.usage.geocoder.tokenSecret",
    });
    const o = JSON.parse(text) as Record<string, unknown>;
    const s = (k: string) => (typeof o[k] === "string" ? (o[k] as string) : null);
    return { country: s("country"), region: s("region"), city: s("city"), org: s("org") };
  };
}

export default defineSource<UsageConfig>({
  code: "usage",
  name: "Usage metrics",
  description: "Web and download logs per day → cleaned, de-duplicated, geocoded requests → SQLite or PostgreSQL",
  config: usageConfig,
  partition: { grain: "day", settleHours: 3, schedule: { every: "hour", minute: 45, args: ["--interval", "2d", "--incomplete-only", "--continue-on-error"] } },
  stages: [
    defineStage<UsageConfig, State>({
      kind: "block",
      name: "load",
      description: "Usage: a day's web and download logs → request rows (event time, de-duplicated, geocoded) in the database",
      perfmet: "Standardize",
      async setup(c) {
        const ctx = c as Ctx;
        const spec = ctx.config.database ?? { driver: "sqlite", options: { path: path.join(ctx.home, "usage.sqlite") } };
        const db = await ctx.sql({ ...spec, options: spec.driver === "sqlite" ? { readonly: false, ...spec.options } : spec.options });
        await ensureTable(db, TABLE);
        const g = ctx.config.geocoder;
        const cache = g
          ? new LookupCache<Location>({
              store: await ctx.objects(), key: g.cacheKey, ttlMs: g.ttlDays * 86_400_000, ratePerSecond: g.ratePerSecond,
              retry: { retries: g.retries, minTimeoutMs: g.minDelayMs, maxTimeoutMs: g.maxDelayMs }, clock: () => ctx.clock(), onRetry: (m) => ctx.log.warn(m),
            })
          : undefined;
        return { db, cache };
      },
      async run(block, c, { db, cache }) {
        const ctx = c as Ctx;
        const { start, end, key: day } = block.partition;
        const errors: RecordError[] = [];
        const requests: Request[] = [];
        const warnings: Record<string, number> = {};
        const warn = (w: string, n = 1) => void (n > 0 && (warnings[w] = (warnings[w] ?? 0) + n));
        for (const kind of LOG_KINDS) {
          for (const [arrival, d] of [["day", start], ["next", end]] as const) {
            for await (const f of arrived(ctx, kind, d)) {
              const got = parseLog(kind, f.text);
              // A bad line is reported by the block of the day it arrived on (its event time is unknown).
              if (arrival === "day") for (const b of got.bad) errors.push({ file: f.file, line: b.line, reason: b.reason });
              for (const r of got.requests) {
                if (r.time >= start.toMillis() && r.time < end.toMillis()) requests.push(r);
                else if (arrival === "day" && r.time >= end.toMillis()) warn("requests of a later day (taken by that day)");
              }
            }
          }
        }
        if (requests.length + errors.length === 0) return { total: 0, processed: 0, warnings };
        const found = cache && requests.length ? await cache.get(requests.map((r) => r.ip), geocode(ctx.config.geocoder!, ctx.config.geocoder!.tokenSecret ? ctx.secret(ctx.config.geocoder!.tokenSecret, "geocoder token") : undefined)) : undefined;
        for (const f of found?.failed.slice(0, 5) ?? []) ctx.log.warn(`no location for ${f.key}: ${f.error}`);
        warn("IPs without a location (lookup failed)", found?.failed.length ?? 0);
        const rows = requests.map((r) => requestRow(r, day, found?.values.get(r.ip)));
        if (ctx.simulate) return { total: requests.length + errors.length, processed: 0, errors, warnings, message: `simulated (-0): ${rows.length} row(s) not written` };
        const w = await writeRows(db, TABLE, rows, { mode: ctx.config.writeMode ?? "upsert", partition: day, batchSize: ctx.config.batchSize });
        warn("duplicate log ids dropped", w.duplicates);
        const geo = found ? `; ${found.distinct} IP(s): ${found.hits} cached, ${found.lookups} looked up` : "";
        return { total: requests.length + errors.length, processed: w.written, errors, warnings, message: `${w.mode}: ${w.written} row(s)${w.replaced ? `, ${w.replaced} replaced` : ""}${geo}` };
      },
    }),
  ],
  demo: () => import("./simulate.js"),
});
