/**
 * atd-mds, rebuilt: scooter and bike trips of several mobility providers through the MDS provider API (0.3, 0.4),
 * one block per provider and local hour, three stages:
 *
 * - extract: the hour's pages → one JSONL object in raw, encrypted at rest (the trips hold personal data);
 * - load:    each trip validated, enriched with council district and census tract at start and end, upserted by
 *            trip_id into the database in batches; refused records reported with file and line;
 * - publish: the hour's trips read back from the database → the trips dataset (upsert; no coordinates).
 *
 * Statuses, counters, leases, --dry-run, --incomplete-only and --force are the block runner's (`lake backfill mds`).
 */
import path from "node:path";
import type { DateTime } from "luxon";
import { ConfigError, TerminalError } from "../../support/errors.js";
import { defineSource, defineStage, type BlockContext, type BlockInput, type RecordError } from "../../support/kit.js";
import type { SqlDriver } from "../../support/drivers.js";
import { mdsConfig, type MdsConfig, type ProviderConfig } from "./config.js";
import { ensureTable, tripsEnding, upsertTrips } from "./db.js";
import { fetchHour, parsePage } from "./provider.js";
import { issuesText, publishedRow, tripRow, tripSchema, type TripRow } from "./trips.js";

type Ctx = BlockContext<MdsConfig>;

function providerOf(ctx: Ctx, block: BlockInput): ProviderConfig {
  const p = ctx.config.providers.find((x) => x.name === block.entity);
  if (!p) throw new ConfigError(`sources.mds.providers has no provider "${block.entity ?? ""}"`);
  return p;
}

/** The raw object of a block: base = provider, ext = the hour and its offset (a 25-hour day has two 01:00 hours). */
const rawExt = (start: DateTime) => `T${start.toFormat("HHmmZZZ").replace("+", "p").replace("-", "m")}.trips.jsonl`;

async function database(ctx: Ctx): Promise<SqlDriver> {
  const spec = ctx.config.database ?? { driver: "sqlite", options: { path: path.join(ctx.home, "mds.sqlite") } };
  const db = await ctx.sql({ ...spec, options: spec.driver === "sqlite" ? { readonly: false, ...spec.options } : spec.options });
  await ensureTable(db);
  return db;
}

export default defineSource<MdsConfig>({
  code: "mds",
  name: "MDS trips",
  description: "Mobility providers' trips (MDS 0.3/0.4) per provider and hour → PostgreSQL → the trips dataset",
  config: mdsConfig,
  partition: {
    grain: "hour",
    entities: (c) => c.providers.map((p) => p.name),
    settleHours: 30,
    // Every hour, the settled hours of the last six not yet done (a provider's outage is retried the next hour).
    schedule: { every: "hour", minute: 15, args: ["--interval", "6h", "--incomplete-only", "--continue-on-error"] },
  },
  datasets: { trips: { production: "mds-trips", debug: "mds-trips-test", rowId: "trip_id" } },
  stages: [
    defineStage<MdsConfig>({
      kind: "block",
      name: "extract",
      description: "MDS: a provider's trips of one hour → raw JSONL (encrypted)",
      perfmet: "Ingest",
      to: "raw",
      async run(block, ctx) {
        const p = providerOf(ctx as Ctx, block);
        const token = p.tokenSecret ? ctx.secret(p.tokenSecret, `MDS token of provider ${p.name}`) : undefined;
        const got = await fetchHour(p, token, block.partition.start, block.partition.end, (m) => ctx.log.warn(m));
        const body = got.pages.map((pg) => JSON.stringify({ page: pg.page, version: p.version, body: pg.body })).join("\n");
        const entry = await ctx.to.write({
          base: p.name, ext: rawExt(block.partition.start), date: block.partition.start, collectionEnd: block.partition.end,
          body: `${body}\n`, contentType: "application/x-ndjson", encrypt: true, rows: got.trips,
        });
        const errors: RecordError[] = got.malformed.map((line) => ({ reason: "page is not MDS JSON (paging stopped)", file: entry.pointer, line }));
        return { total: got.trips + errors.length, processed: got.trips, errors, payload: entry.pointer, message: `${got.pages.length} page(s)` };
      },
    }),
    defineStage<MdsConfig, SqlDriver>({
      kind: "block",
      name: "load",
      description: "MDS: raw trips of one hour → validated, enriched, upserted into the trips table",
      perfmet: "Standardize",
      from: "raw",
      setup: (ctx) => database(ctx as Ctx),
      async run(block, ctx, db) {
        const p = providerOf(ctx as Ctx, block);
        const entry = await ctx.layer("raw").lookup(p.name, rawExt(block.partition.start), block.partition.start);
        if (!entry) throw new TerminalError(`no raw trips of ${p.name} ${block.partition.key}: run mds-extract for the block first`);
        const text = (await ctx.layer("raw").read(entry.pointer)).toString("utf8");
        const errors: RecordError[] = [];
        const warnings: Record<string, number> = {};
        const rows: TripRow[] = [];
        const lineOf = new Map<string, number>();
        let total = 0;
        text.split("\n").forEach((line, i) => {
          if (!line.trim()) return;
          const at = { file: entry.pointer, line: i + 1 };
          let page: ReturnType<typeof parsePage>;
          try {
            page = parsePage((JSON.parse(line) as { body: string }).body);
          } catch {
            page = undefined;
          }
          if (!page) return void (total++, errors.push({ ...at, reason: "page is not MDS JSON" }));
          for (const [k, raw] of page.trips.entries()) {
            total++;
            const v = tripSchema.safeParse(raw);
            const id = (raw as { trip_id?: unknown })?.trip_id;
            if (!v.success) {
              errors.push({ ...at, reason: issuesText(v.error.issues), ...(typeof id === "string" ? { id } : {}), field: `data.trips[${k}]` });
              continue;
            }
            const { row, outside } = tripRow(v.data, p.name, p.version);
            for (const o of outside) warnings[o] = (warnings[o] ?? 0) + 1;
            lineOf.set(v.data.trip_id, i + 1);
            rows.push(row);
          }
        });
        const { loaded, refused } = await upsertTrips(db, rows, ctx.config.batchSize, ctx.clock());
        for (const r of refused) errors.push({ file: entry.pointer, line: lineOf.get(r.id) ?? 0, id: r.id, reason: `refused by the database: ${r.error}` });
        return { total, processed: loaded, errors, warnings, payload: entry.pointer };
      },
    }),
    defineStage<MdsConfig, SqlDriver>({
      kind: "block",
      name: "publish",
      description: "MDS: the hour's trips from the database → the trips dataset (upsert, no coordinates)",
      perfmet: "Publish",
      setup: (ctx) => database(ctx as Ctx),
      async run(block, ctx, db) {
        const p = providerOf(ctx as Ctx, block);
        const trips = await tripsEnding(db, p.name, block.partition.start.toMillis(), block.partition.end.toMillis());
        const sent = await (ctx as Ctx).publish("trips", trips.map((t) => publishedRow(t, ctx.zone)));
        return { total: trips.length, processed: sent };
      },
    }),
  ],
  demo: () => import("./simulate.js"),
});
