/**
 * atd-mds, rebuilt: trips and status changes of several mobility providers through the MDS provider API (0.3, 0.4),
 * one block per provider, endpoint and local hour (entity "<provider>" for trips, "<provider>.status_changes"), three
 * stages, the same for both endpoints (./endpoint.ts says how they differ):
 *
 * - extract: the hour's pages → one JSONL object in raw, encrypted at rest (the records hold personal data);
 * - load:    each record validated, enriched with council district and census tract, upserted by its natural key
 *            into the database in batches (support/sql-write); refused records reported with file and line;
 * - publish: the hour's rows read back from the database → the endpoint's dataset (upsert; no coordinates).
 *
 * Statuses, counters, leases, --dry-run, --incomplete-only and --force are the block runner's (`lake backfill mds`).
 */
import path from "node:path";
import type { DateTime } from "luxon";
import { ConfigError, TerminalError } from "../../support/errors.js";
import { defineSource, defineStage, type BlockContext, type BlockInput, type RecordError } from "../../support/kit.js";
import { placeholder, type SqlDriver } from "../../support/drivers.js";
import { ensureTable, writeRows, type SqlRow } from "../../support/sql-write.js";
import { mdsConfig, type MdsConfig, type ProviderConfig } from "./config.js";
import type { Endpoint, EndpointName } from "./endpoint.js";
import { fetchHour, parsePage } from "./provider.js";
import { STATUS_CHANGES } from "./status-changes.js";
import { TRIPS } from "./trips.js";

type Ctx = BlockContext<MdsConfig>;
const ENDPOINTS: Record<EndpointName, Endpoint> = { trips: TRIPS, status_changes: STATUS_CHANGES };

/** The block's entity: "<provider>" (trips) or "<provider>.<endpoint>". */
const entityOf = (provider: string, endpoint: EndpointName) => (endpoint === "trips" ? provider : `${provider}.${endpoint}`);

function blockOf(ctx: Ctx, block: BlockInput): { p: ProviderConfig; ep: Endpoint } {
  const [name, endpoint = "trips"] = (block.entity ?? "").split(".");
  const p = ctx.config.providers.find((x) => x.name === name);
  if (!p) throw new ConfigError(`sources.mds.providers has no provider "${name ?? ""}"`);
  const ep = ENDPOINTS[endpoint as EndpointName];
  if (!ep || !p.endpoints.includes(ep.name)) throw new ConfigError(`provider ${p.name}: endpoint "${endpoint}" is not one of its endpoints (${p.endpoints.join(", ")})`);
  return { p, ep };
}

/** The raw object of a block: base = provider, ext = the hour and its offset (a 25-hour day has two 01:00 hours). */
const rawExt = (start: DateTime, ep: Endpoint) => `T${start.toFormat("HHmmZZZ").replace("+", "p").replace("-", "m")}.${ep.name}.jsonl`;

async function database(ctx: Ctx): Promise<SqlDriver> {
  const spec = ctx.config.database ?? { driver: "sqlite", options: { path: path.join(ctx.home, "mds.sqlite") } };
  const db = await ctx.sql({ ...spec, options: spec.driver === "sqlite" ? { readonly: false, ...spec.options } : spec.options });
  for (const ep of Object.values(ENDPOINTS)) await ensureTable(db, ep.table);
  return db;
}

export default defineSource<MdsConfig>({
  code: "mds",
  name: "MDS trips and status changes",
  description: "Mobility providers' trips and status changes (MDS 0.3/0.4) per provider and hour → PostgreSQL → their datasets",
  config: mdsConfig,
  partition: {
    grain: "hour",
    entities: (c) => (["trips", "status_changes"] as const).flatMap((e) => c.providers.filter((p) => p.endpoints.includes(e)).map((p) => entityOf(p.name, e))),
    settleHours: 30,
    // Every hour, the settled hours of the last six not yet done (a provider's outage is retried the next hour).
    schedule: { every: "hour", minute: 15, args: ["--interval", "6h", "--incomplete-only", "--continue-on-error"] },
  },
  datasets: {
    trips: { production: "mds-trips", debug: "mds-trips-test", rowId: "trip_id" },
    status_changes: { production: "mds-status-changes", debug: "mds-status-changes-test", rowId: "status_change_id" },
  },
  stages: [
    defineStage<MdsConfig>({
      kind: "block",
      name: "extract",
      description: "MDS: a provider's trips or status changes of one hour → raw JSONL (encrypted)",
      perfmet: "Ingest",
      to: "raw",
      async run(block, ctx) {
        const { p, ep } = blockOf(ctx as Ctx, block);
        const token = p.tokenSecret ? ctx.secret(p.tokenSecret, `MDS token of provider ${p.name}`) : undefined;
        const got = await fetchHour(p, ep, token, block.partition.start, block.partition.end, (m) => ctx.log.warn(m));
        const body = got.pages.map((pg) => JSON.stringify({ page: pg.page, version: p.version, body: pg.body })).join("\n");
        const entry = await ctx.to.write({
          base: p.name, ext: rawExt(block.partition.start, ep), date: block.partition.start, collectionEnd: block.partition.end,
          body: `${body}\n`, contentType: "application/x-ndjson", encrypt: true, rows: got.records,
        });
        const errors: RecordError[] = got.malformed.map((line) => ({ reason: "page is not MDS JSON (paging stopped)", file: entry.pointer, line }));
        const message = got.notFound ? "HTTP 404: no data for the hour (MDS 0.4)" : `${got.pages.length} page(s)`;
        return { total: got.records + errors.length, processed: got.records, errors, payload: entry.pointer, message };
      },
    }),
    defineStage<MdsConfig, SqlDriver>({
      kind: "block",
      name: "load",
      description: "MDS: raw records of one hour → validated, enriched, upserted into the endpoint's table",
      perfmet: "Standardize",
      from: "raw",
      setup: (ctx) => database(ctx as Ctx),
      async run(block, ctx, db) {
        const { p, ep } = blockOf(ctx as Ctx, block);
        const entry = await ctx.layer("raw").lookup(p.name, rawExt(block.partition.start, ep), block.partition.start);
        if (!entry) throw new TerminalError(`no raw ${ep.name} of ${p.name} ${block.partition.key}: run mds-extract for the block first`);
        const text = (await ctx.layer("raw").read(entry.pointer)).toString("utf8");
        const errors: RecordError[] = [];
        const warnings: Record<string, number> = {};
        const rows: SqlRow[] = [];
        const lineOf = new Map<unknown, number>();
        const loadedAt = ctx.clock();
        let total = 0;
        text.split("\n").forEach((line, i) => {
          if (!line.trim()) return;
          const at = { file: entry.pointer, line: i + 1 };
          let page: ReturnType<typeof parsePage>;
          try {
            page = parsePage((JSON.parse(line) as { body: string }).body, ep.name);
          } catch {
            page = undefined;
          }
          if (!page) return void (total++, errors.push({ ...at, reason: "page is not MDS JSON" }));
          for (const [k, raw] of page.records.entries()) {
            total++;
            const got = ep.row(raw, p.name, p.version);
            if ("refused" in got) {
              const id = ep.idOf?.(raw);
              errors.push({ ...at, reason: got.refused, ...(id ? { id } : {}), field: `data.${ep.name}[${k}]` });
              continue;
            }
            for (const o of got.outside) warnings[o] = (warnings[o] ?? 0) + 1;
            lineOf.set(got.row[ep.table.key[0]], i + 1);
            rows.push({ ...got.row, loaded_at: loadedAt });
          }
        });
        const key = ep.table.key[0];
        const w = await writeRows(db, ep.table, rows, { mode: "upsert", batchSize: ctx.config.batchSize, isolateRefused: true });
        for (const r of w.refused) errors.push({ file: entry.pointer, line: lineOf.get(r.row[key]) ?? 0, id: String(r.row[key]), reason: `refused by the database: ${r.error}` });
        if (w.duplicates) warnings[`duplicate ${key}(s) in the hour (the first kept)`] = w.duplicates;
        return { total, processed: w.written, errors, warnings, payload: entry.pointer };
      },
    }),
    defineStage<MdsConfig, SqlDriver>({
      kind: "block",
      name: "publish",
      description: "MDS: the hour's rows from the database → the endpoint's dataset (upsert, no coordinates)",
      perfmet: "Publish",
      setup: (ctx) => database(ctx as Ctx),
      async run(block, ctx, db) {
        const { p, ep } = blockOf(ctx as Ctx, block);
        const q = (i: number) => placeholder(db.dialect, i);
        const { name, key } = ep.table;
        const rows = await db.query(
          `SELECT * FROM ${name} WHERE provider = ${q(0)} AND ${ep.timeColumn} >= ${q(1)} AND ${ep.timeColumn} < ${q(2)} ORDER BY ${key[0]}`,
          [p.name, block.partition.start.toMillis(), block.partition.end.toMillis()],
        );
        const sent = await (ctx as Ctx).publish(ep.dataset, rows.map((r) => ep.published(r, ctx.zone)));
        return { total: rows.length, processed: sent };
      },
    }),
  ],
  demo: () => import("./simulate.js"),
});
