/**
 * Wavetronix (original §9.2): radar counts from the KITS database → raw CSV per day → standardized JSON → ready
 * JSON joined with the RADAR inventory → the "Radar Traffic Counts" dataset. The stages' transforms are the pure
 * functions of transform.ts; the kit does the reading, writing, catalog and publishing.
 */
import { addDays, pyStr } from "../../util/dates.js";
import { ConfigError, TerminalError, errorMessage } from "../../support/errors.js";
import { defineSource, defineStage } from "../../support/kit.js";
import { SqlDayProvider } from "../../support/last-update.js";
import type { SqlDriver } from "../../support/drivers.js";
import { SENSOR_DEVICE_KEYS } from "../../support/unitdata.js";
import { wtSourceSchema, type WtSourceConfig } from "./config.js";
import { wtQueries, type KitsRow, type WtQueries } from "./queries.js";
import { kitsCsvBytes, readyJson, SocrataTimes, socrataRow, standardizeJson, type ReadyRow, type SocrataRow, type StdJson, type WtHeader } from "./transform.js";

const WALL = "yyyy-MM-dd HH:mm:ss";
/** Bad-row messages printed per file before the rest are only counted. */
const BAD_ROW_MESSAGES_PER_FILE = 20;
/** Rows handed to the publisher at once. */
const PUBLISH_BATCH_ROWS = 1_000;

export const BAD_ROW_REASON = "unreadable row skipped (see log)";
export const NO_DEVICE_REASON = "rows dropped: intersection not in the device inventory (kits_id)";
export const WT_DATASET_KEY = "wt";

const insertLake = defineStage<WtSourceConfig, { db: SqlDriver; queries: WtQueries }>({
  kind: "ingest",
  name: "insert-lake",
  description: "Wavetronix: KITS database → raw CSV per day",
  perfmet: "Ingest",
  to: "raw",
  compareOn: "base",
  schedule: { at: "01:00", args: ["-r", "0", "-s", "60"] },
  async setup(ctx) {
    if (!ctx.config.sql) {
      throw new ConfigError(
        'sources.wt.sql is not set: give the KITS database as a SQL driver, e.g. sources.wt.sql = {driver: "mssql", options: {...}} (or run `lake demo` for a simulated one)',
      );
    }
    return { db: await ctx.sql(ctx.config.sql), queries: wtQueries(ctx.config.tables) };
  },
  /** The days the database has readings for (one item per local day). */
  items: (ctx, { db, queries }) => ctx.providers.sqlDays(db, queries, { base: ctx.areaBase, ext: "csv" }),
  async process(item, ctx, { db, queries }) {
    // The readings of one local day [00:00, next 00:00): 23, 24 or 25 hours of wall clock.
    const { sql, params } = queries.retrieval(db.dialect, { start: item.date.toFormat(WALL), end: addDays(item.date, 1).toFormat(WALL) });
    const rows = await db.query<KitsRow>(sql, params); // retried and timed by the driver runtime
    const csv = kitsCsvBytes(rows, rows.length);
    rows.length = 0; // let the day's rows go before the upload
    if (csv.rows === 0) ctx.log.warn(`${item.label}: the day has readings but none of their DETIDs is in the detector table; wrote the header only`);
    ctx.log.info(`${item.label} -> ${ctx.to.repository}: ${csv.rows} rows`);
    return { ext: item.ext, body: csv.body, rows: csv.rows, contentType: "text/csv" };
  },
});

const jsonStandard = defineStage<WtSourceConfig>({
  kind: "transform",
  name: "json-standard",
  description: "Wavetronix: raw CSV → standardized JSON",
  perfmet: "Standardize",
  from: "raw",
  to: "standardized",
  compareOn: "base",
  storesInventory: true,
  schedule: { at: "03:30", args: ["-r", "0", "-s", "30"] },
  process({ item, entry, body }, ctx) {
    const file = ctx.from.basename(entry.pointer);
    const header: WtHeader = {
      data_type: "wavetronix",
      origin_filename: file,
      target_filename: ctx.to.filename(item.base, "json", item.date),
      collection_date: pyStr(item.date),
      processing_date: pyStr(ctx.processingDate),
    };
    // The JSON text is written row by row as the CSV is read: no row objects of the whole day are kept.
    let result: ReturnType<typeof standardizeJson>;
    try {
      result = standardizeJson(ctx.readableLines(body, file), { file, zone: ctx.zone, rules: (columns) => ctx.rules("kits", columns) }, header);
    } catch (err) {
      throw new TerminalError(`${(err as Error).message} (${ctx.from.repository}/${entry.pointer})`, { cause: err });
    }
    const { badRows, perf } = result;
    badRows.slice(0, BAD_ROW_MESSAGES_PER_FILE).forEach((b) => ctx.log.warn(b.message));
    if (badRows.length > BAD_ROW_MESSAGES_PER_FILE) ctx.log.warn(`${file}: ${badRows.length - BAD_ROW_MESSAGES_PER_FILE} more unreadable rows skipped`);
    ctx.drop(BAD_ROW_REASON, badRows.length);
    for (const [intName, p] of perf) {
      ctx.observe(intName, "Vehicle Counts", { observation: p.volume, collectionDate: item.date, minTimestamp: p.min ?? null, maxTimestamp: p.max ?? null });
    }
    ctx.log.info(`${entry.pointer}: ${ctx.from.repository} -> ${ctx.to.repository}: ${result.rows} rows`);
    return { ext: "json", body: result.body, rows: result.rows, contentType: "application/json" };
  },
});

const ready = defineStage<WtSourceConfig>({
  kind: "transform",
  name: "ready",
  description: "Wavetronix: standardized JSON + device inventory → ready JSON",
  perfmet: "Ready",
  from: "standardized",
  to: "ready",
  compareOn: "base",
  // Data days only: the inventory files stored beside them are not days to make ready.
  select: { ext: "json" },
  schedule: { at: "06:30", args: ["-r", "0", "-s", "30"] },
  async process({ item, entry, body }, ctx) {
    // The inventory is the one stored on the first processing day after the data day ("closest future"; B33).
    const unitData = await ctx.from.units(item.date);
    const std = JSON.parse(body.toString("utf8")) as StdJson;
    const out = readyJson(std, unitData.devices, ctx.processingDate);
    if (out.dropped.size) {
      let rows = 0;
      const which: string[] = [];
      for (const [intID, d] of out.dropped) {
        rows += d.rows;
        which.push(`intID ${intID} (${d.intName}): ${d.rows} rows`);
      }
      ctx.drop(NO_DEVICE_REASON, rows);
      ctx.log.warn(`${entry.pointer}: ${rows} rows dropped, no RADAR device has their intersection as kits_id: ${which.join("; ")}`);
    }
    ctx.log.info(`${entry.pointer}: ${ctx.from.repository} -> ${ctx.to.repository}: ${out.rows} rows`);
    return { ext: "json", body: out.body, rows: out.rows, contentType: "application/json" };
  },
});

const extractSoc = defineStage<WtSourceConfig, SocrataTimes, "stream">({
  kind: "publish",
  name: "extract-soc",
  description: "Wavetronix: ready JSON → published dataset (Radar Traffic Counts)",
  perfmet: "Publish",
  from: "ready",
  compareOn: "base+ext",
  select: { ext: "json" },
  dataset: WT_DATASET_KEY,
  schedule: { at: "07:30", args: ["-r", "0", "-s", "30"] },
  setup: (ctx) => new SocrataTimes(ctx.zone),
  // Streamed: the ready rows are parsed a batch at a time (src/util/json-rows.ts), never the whole day at once.
  read: "stream",
  async *rows({ item, entry, body }, ctx, times) {
    const where = `${ctx.from.repository}/${entry.pointer}`;
    let n = 0;
    const noData = (rest: Record<string, unknown>) => {
      if (!Array.isArray(rest.data)) throw new TerminalError(`${where}: no "data" list; rerun wt-ready for ${item.date.toISODate()} with -F`);
    };
    // Imported when rows are published, not with the source: a run with nothing to do does not compile it.
    const { jsonRowBatches } = await import("../../util/json-rows.js");
    for await (const rows of jsonRowBatches(body, "data", where, PUBLISH_BATCH_ROWS, noData)) {
      const batch: SocrataRow[] = [];
      for (const row of rows as ReadyRow[]) {
        n++;
        try {
          batch.push(socrataRow(row, times));
        } catch (err) {
          throw new TerminalError(
            `${where} row ${n}: field "curDateTime": ${errorMessage(err)}; rerun wt-json-standard and wt-ready for ${item.date.toISODate()} with -F`,
            { cause: err },
          );
        }
      }
      yield batch;
    }
  },
});

export default defineSource<WtSourceConfig>({
  code: "wt",
  name: "Wavetronix",
  description: "Radar traffic counts from the KITS database",
  config: wtSourceSchema,
  datasets: { [WT_DATASET_KEY]: { production: "i626-g7ub", debug: "i626-g7ub-test", rowId: "row_id" } },
  // A reading's numbers and its time (the raw CSV's columns): rows outside are quarantined by wt-json-standard.
  // Bounds far beyond any real 15-minute reading, so no valid day changes (docs/sources/wavetronix.md).
  rules: {
    kits: {
      ranges: {
        detID: { min: 0, integer: true },
        intID: { min: 0, integer: true },
        volume: { min: 0, max: 10_000, integer: true },
        occupancy: { min: 0, max: 100, integer: true },
        speed: { min: 0, max: 250, integer: true },
        uploadSuccess: { integer: true },
        detCountComparison: { integer: true },
        dailyCumulative: { min: 0, max: 10_000_000, integer: true },
      },
      day: { fields: ["curDateTime"] },
    },
  },
  devices: { type: "RADAR", keys: SENSOR_DEVICE_KEYS, sensorName: (d) => (typeof d.device_name === "string" ? d.device_name.replace(/_RADAR$/, "") : undefined) },
  stages: [insertLake, jsonStandard, ready, extractSoc],
  demo: () => import("./simulate.js"),
});
