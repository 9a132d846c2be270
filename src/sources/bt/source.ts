/**
 * Bluetooth (original §9.1): AWAM readers' text files on a share → raw → standardized JSON → ready JSON joined with
 * the BLUETOOTH inventory (hashed device ids) → three datasets (summary, matched, unmatched).
 *
 * Every stage compares on (base, file type): a day's matched file never hides its unmatched one (the original
 * compared on base alone: B28). device_address is the day's counter computed from the day's unmatched and matched
 * ready files whatever else shares the run (fixes B1/B29); rows with a missing or unparseable time are not
 * published and are counted (the original crashed: B38).
 */
import { stat } from "node:fs/promises";
import { createReadStream } from "node:fs";
import path from "node:path";
import { parsePyStr, pyStr } from "../../util/dates.js";
import { ConfigError, TerminalError } from "../../support/errors.js";
import { defineSource, defineStage, type StageContext } from "../../support/kit.js";
import type { FilePattern } from "../../support/last-update.js";
import { SENSOR_DEVICE_KEYS, UNIT_DATA_EXT } from "../../support/unitdata.js";
import type { CatalogEntry } from "../../support/catalog.js";
import { fileTypeOf, RAW_COLUMNS, SHARE_PATTERNS, type BtFileType } from "./files.js";
import { ValueIds } from "../../util/json-rows.js";
import { addressNumbers, DATASET_KEYS, publishRows, readReadyFile, type HeldRows } from "./publish.js";
import { ReadyBuilder } from "./ready.js";
import { newStats, standardizeBluetooth, type StandardHeader, type StandardizeStats } from "./standardize.js";

export const SKIP_DROPPED = "raw row dropped (cut short or not CSV; see log)";
export const SKIP_EXTRA = "raw row had extra values (dropped; see log)";
export const SKIP_TIME = "timestamp not parseable (written null; see log)";
export const SKIP_MISSING_READER = "row of a reader missing from the inventory (dropped; see log)";
export const SKIP_ROW_PREFIX = "row not published: ";
export const SKIP_WAIT_UNMATCHED = "matched file waits for the day's unmatched ready file (device_address numbering)";

interface BtConfig {
  /** The AWAM share folder (relative to the config file's folder). */
  sourcedir?: string;
}

const isFileType = (suffix: "txt" | "json") => (e: CatalogEntry) => fileTypeOf(e.ext, suffix) !== undefined;

const insertLake = defineStage<BtConfig>({
  kind: "ingest",
  name: "insert-lake",
  description: "Bluetooth: AWAM share text files → raw",
  perfmet: "Ingest",
  to: "raw",
  compareOn: "base+ext",
  options: [{ flags: "-d, --sourcedir <dir>", description: "folder (AWAM share) holding the Bluetooth text files; default sources.bt.sourcedir, else ." }],
  schedule: { at: "00:30", args: ["-r", "0", "-s", "60"] },
  /** Three files per day found by name (`Austin_bt_MM-DD-YYYY.txt`, `Austin_btmatch_…`, `Austin_bt_summary_15_…`). */
  async items(ctx) {
    const given = ctx.options.sourcedir;
    const dir =
      typeof given === "string" && given !== ""
        ? path.resolve(given)
        : ctx.config.sourcedir
          ? ctx.resolvePath(ctx.config.sourcedir)
          : path.resolve(".");
    const info = await stat(dir).catch(() => undefined);
    if (!info?.isDirectory()) {
      throw new ConfigError(`Bluetooth source folder ${dir} does not exist or is not a folder: pass -d/--sourcedir or set sources.bt.sourcedir`);
    }
    return ctx.providers.files(dir, SHARE_PATTERNS);
  },
  /** Copied unchanged, streamed (a day's unmatched file is tens of MB); lines are counted on the way. */
  process(item, ctx) {
    const { path: file } = item.provItem.payload as { path: string; pattern: FilePattern };
    async function* counted(): AsyncGenerator<Buffer> {
      let lines = 0;
      let last = 0x0a;
      for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
        for (let i = chunk.indexOf(0x0a); i >= 0; i = chunk.indexOf(0x0a, i + 1)) lines++;
        if (chunk.length) last = chunk[chunk.length - 1]!;
        yield chunk;
      }
      ctx.addRows(lines + (last === 0x0a ? 0 : 1));
      ctx.log.info(`${file} -> ${ctx.to.repository}:${ctx.to.filename(item.base, item.ext, item.date)}`);
    }
    return { ext: item.ext, body: counted(), contentType: "text/plain" };
  },
});

function reportProblems(ctx: StageContext<BtConfig>, where: string, stats: StandardizeStats): void {
  for (const p of stats.problems) ctx.log.warn(`${where} line ${p.line}: ${p.problem}`);
  const total = stats.dropped + stats.extraColumns + stats.unparseableTimes;
  if (total > stats.problems.length) ctx.log.warn(`${where}: ${total - stats.problems.length} more problems (counted in the summary)`);
  ctx.drop(SKIP_DROPPED, stats.dropped);
  ctx.drop(SKIP_EXTRA, stats.extraColumns);
  ctx.drop(SKIP_TIME, stats.unparseableTimes);
}

const jsonStandard = defineStage<BtConfig, void, "stream">({
  kind: "transform",
  name: "json-standard",
  description: "Bluetooth: raw AWAM text → standardized JSON",
  perfmet: "Standardize",
  from: "raw",
  to: "standardized",
  compareOn: "base+ext",
  select: { accept: isFileType("txt") },
  // The standardized "<type>.json" of a day stands for the raw "<type>.txt".
  target: {
    map: (t) => {
      const fileType = fileTypeOf(t.ext, "json");
      return fileType ? { ...t, ext: `${fileType}.txt` } : undefined;
    },
  },
  read: "stream",
  storesInventory: true,
  schedule: { at: "03:00", args: ["-r", "0", "-s", "30"] },
  async *process({ item, entry, body }, ctx) {
    const fileType = fileTypeOf(item.ext, "txt")!;
    const header: StandardHeader = {
      data_type: "bluetooth",
      file_type: fileType,
      origin_filename: ctx.from.basename(entry.pointer),
      target_filename: ctx.to.filename(item.base, `${fileType}.json`, item.date),
      collection_date: pyStr(item.date),
      processing_date: pyStr(ctx.processingDate),
    };
    const stats = newStats();
    const rules = ctx.rules(fileType, RAW_COLUMNS[fileType]);
    const text = ctx.readableLines(body, `${ctx.from.repository}/${entry.pointer}`);
    const body_ = standardizeBluetooth(text, fileType, header, ctx.zone, stats, rules.active ? rules : undefined, `${ctx.from.repository}/${entry.pointer}`);
    yield { ext: `${fileType}.json`, body: body_, contentType: "application/json" };
    ctx.addRows(stats.rows);
    reportProblems(ctx, `${ctx.from.repository}/${entry.pointer}`, stats);
    // Perfmet (unmatched files): per reader the row count and earliest/latest parsed host_timestamp (fixes B11).
    if (fileType !== "unmatched") return;
    for (const [reader, r] of stats.perReader) {
      ctx.observe(reader, "Unmatched Entries", {
        observation: r.count,
        expected: null,
        collectionDate: item.date,
        minTimestamp: r.min ? parsePyStr(r.min, ctx.zone) : null,
        maxTimestamp: r.max ? parsePyStr(r.max, ctx.zone) : null,
      });
    }
  },
});

const ready = defineStage<BtConfig, void, "stream">({
  kind: "transform",
  name: "ready",
  description: "Bluetooth: standardized JSON → ready JSON joined with the device inventory",
  perfmet: "Ready",
  from: "standardized",
  to: "ready",
  compareOn: "base+ext",
  // Unit data of the standardized layer is not a data file.
  select: { accept: (e) => e.ext !== UNIT_DATA_EXT && isFileType("json")(e) },
  read: "stream",
  schedule: { at: "05:00", args: ["-r", "0", "-s", "30"] },
  async process({ item, entry, body }, ctx) {
    const fileType = fileTypeOf(item.ext, "json")!;
    const unit = await ctx.from.units(item.date); // the first inventory stored after the day (fixes B33)
    const where = `${ctx.from.repository}/${entry.pointer}`;
    const builder = new ReadyBuilder(fileType, unit.devices);
    const doc = await builder.read(body, where);
    const header = doc.header;
    if (typeof header !== "object" || header === null) throw new TerminalError(`${where}: no "header" object; rewrite it with bt-json-standard -F`);
    let dropped = 0;
    for (const [reader, n] of builder.stats.missingReaders) {
      ctx.log.warn(`${where}: reader "${reader}" is not in the BLUETOOTH inventory; ${n} row(s) dropped`);
      dropped += n;
    }
    ctx.drop(SKIP_MISSING_READER, dropped);
    return {
      ext: `${fileType}.json`,
      body: builder.json(header as Record<string, unknown>, pyStr(ctx.processingDate)),
      rows: builder.rowCount,
      contentType: "application/json",
    };
  },
});

interface ReadyFile {
  rows: HeldRows;
  /** device_id → device_name of the file's devices. */
  devices: Map<string, string>;
}

interface DayBasis {
  day: number;
  /** The day's dev_addr values in first-appearance order (unmatched rows, then matched): the numbering. */
  devAddrIds: ValueIds;
  /** Ready files (ext) the numbering was built from. */
  files: string[];
  /** Those files read on the numbering pass and not yet published: their rows wait here, so each is read once. */
  pending: Map<string, ReadyFile>;
}

/** One pass over a ready file: its rows held for publishing (see HeldRows), and its devices. */
function readReady(ctx: StageContext<BtConfig>, body: AsyncIterable<Buffer>, pointer: string, fileType: BtFileType, devAddrIds?: ValueIds): Promise<ReadyFile> {
  return readReadyFile(body, fileType, devAddrIds, `${ctx.from.repository}/${pointer}`);
}

const extractSoc = defineStage<BtConfig, { basis?: DayBasis }, "none">({
  kind: "publish",
  name: "extract-soc",
  description: "Bluetooth: ready JSON → public datasets (summary, matched, unmatched)",
  perfmet: "Publish",
  from: "ready",
  compareOn: "base+ext",
  select: { accept: isFileType("json") },
  dataset: (item) => DATASET_KEYS[fileTypeOf(item.ext, "json")!],
  // The file is read here (once: the day's numbering pass may already hold its rows).
  read: "none",
  schedule: { at: "07:00", args: ["-r", "0", "-s", "30"] },
  setup: () => ({}),
  async rows({ item, entry }, ctx, state) {
    const fileType = fileTypeOf(item.ext, "json")!;
    const basis = fileType === "traf_match_summary" ? undefined : await dayBasis(ctx, state, item.base, item.date);
    if (fileType === "matched" && !basis!.files.includes("unmatched.json")) {
      // Matched rows are numbered after the day's unmatched addresses: if that file is still on its way (in raw or
      // standardized, not yet ready), publishing now would give ids that change once it is ready.
      const pending =
        (await ctx.layer("standardized").lookup(item.base, "unmatched.json", item.date)) ?? (await ctx.layer("raw").lookup(item.base, "unmatched.txt", item.date));
      if (pending) {
        ctx.skip(SKIP_WAIT_UNMATCHED);
        return [];
      }
    }
    // The file's rows: held from the day's numbering pass (then dropped from it), else read now (a summary file,
    // or a file the numbering pass did not see: its new addresses are numbered after the day's).
    let file = basis?.pending.get(item.ext);
    if (file) basis!.pending.delete(item.ext);
    else file = await readReady(ctx, await ctx.from.readStream(entry.pointer), entry.pointer, fileType, basis?.devAddrIds);
    const numbers = basis ? addressNumbers(basis.devAddrIds) : undefined;
    const where = `${ctx.from.repository}/${entry.pointer}`;
    const skips = new Map<string, number>();
    const held = file;
    return (function* () {
      yield* publishRows(held.rows, held.devices, numbers, (reason) => skips.set(reason, (skips.get(reason) ?? 0) + 1));
      for (const [reason, n] of skips) {
        ctx.log.warn(`${where}: ${n} row(s) not published: ${reason}`);
        ctx.drop(SKIP_ROW_PREFIX + reason, n);
      }
    })();
  },
});

/** The day's device-address numbering: unmatched ready rows first, then matched, in file order. */
async function dayBasis(ctx: StageContext<BtConfig>, state: { basis?: DayBasis }, base: string, date: import("luxon").DateTime): Promise<DayBasis> {
  const day = date.toMillis();
  if (state.basis?.day === day) return state.basis;
  state.basis = undefined; // the previous day's rows can go
  const devAddrIds = new ValueIds();
  const files: string[] = [];
  const pending = new Map<string, ReadyFile>();
  for (const ext of ["unmatched.json", "matched.json"]) {
    const entry = await ctx.from.lookup(base, ext, date);
    if (!entry) continue;
    files.push(ext);
    pending.set(ext, await readReady(ctx, await ctx.from.readStream(entry.pointer), entry.pointer, fileTypeOf(ext, "json")!, devAddrIds));
  }
  if (!files.includes("unmatched.json") && files.includes("matched.json")) {
    ctx.log.warn(`${base} ${date.toISODate()}: no unmatched file for the day; device_address numbered from the matched file alone`);
  }
  state.basis = { day, devAddrIds, files, pending };
  return state.basis;
}

export default defineSource<BtConfig>({
  code: "bt",
  name: "Bluetooth",
  description: "AWAM Bluetooth readers: unmatched reads, matched trips and 15-minute travel-time summaries",
  datasets: {
    [DATASET_KEYS.unmatched]: { production: "qnpj-zrb9", debug: "qnpj-zrb9-test", rowId: "record_id" },
    [DATASET_KEYS.matched]: { production: "x44q-icha", debug: "x44q-icha-test", rowId: "record_id" },
    [DATASET_KEYS.traf_match_summary]: { production: "v7zg-5jg9", debug: "v7zg-5jg9-test", rowId: "record_id" },
  },
  devices: { type: "BLUETOOTH", keys: SENSOR_DEVICE_KEYS },
  // Per file type (the raw columns): rows dated outside the file's day by more than a day, or with a measure out of
  // range, are quarantined by bt-json-standard. A day's file holds trips that started the evening before, and the
  // summaries write -1 for "no data", so the bounds leave both alone (docs/sources/bluetooth.md).
  rules: {
    unmatched: { day: { fields: ["host_timestamp"], slackHours: 24 } },
    matched: {
      ranges: { travel_time_secs: { min: 0 }, speed: { min: 0, max: 1_000 } },
      day: { fields: ["start_time", "end_time"], slackHours: 24 },
    },
    traf_match_summary: {
      ranges: { seg_length: { min: 0 }, avg_travel_time: { min: -1 }, avg_speed: { min: -1, max: 1_000 }, interval: { min: 0 }, samples: { min: 0, integer: true }, std_dev: { min: -1 } },
      day: { fields: ["timestamp"], slackHours: 24 },
    },
  },
  coverage: { expectedPerDay: { raw: 3 } },
  stages: [insertLake, jsonStandard, ready, extractSoc],
  demo: () => import("./simulate.js"),
});
