/**
 * The shared hot-path helpers of src/util against the library or general code they stand in for, on the zone CSVs
 * of the GRIDSMART bench day (3 intersections, 36 zones, about 100,000 vehicles, 5.6 MB of CSV). Each line is the
 * best of several runs in CPU milliseconds; the helper is kept only where it is much faster:
 *   - util/csv-scan.ts scanCsv + pandasTypes     vs csv-parse (sync) records
 *   - util/pyjson.ts writeJsonFloatText           vs pyFloatRepr(Number(text)) of each float field
 *   - util/dates.ts PyStrFormatter                 vs pyStr(DateTime.fromMillis(ms, { zone })) per row
 *   - the zone JSON written from the fields        vs pyJson of row objects made from csv-parse records
 */
import { parse } from "csv-parse/sync";
import { DateTime } from "luxon";
import { dayCsvs, demoDevices } from "../src/sources/gs/simulate.js";
import { GS_COLUMNS } from "../src/sources/gs/standardize.js";
import { pandasTypes, scanCsv, writeFieldJson, type CsvFields } from "../src/util/csv-scan.js";
import { PyStrFormatter, pyStr } from "../src/util/dates.js";
import { pyFloat, pyFloatRepr, pyJson, writeJsonFloatText } from "../src/util/pyjson.js";
import { Utf8Sink } from "../src/util/utf8-sink.js";
import { fmt } from "./measure.js";

const ZONE = "America/Chicago";

function best(runs: number, fn: () => void): number {
  fn();
  let min = Infinity;
  for (let k = 0; k < runs; k++) {
    const c0 = process.cpuUsage();
    fn();
    const c = process.cpuUsage(c0);
    min = Math.min(min, (c.user + c.system) / 1000);
  }
  return min;
}

function line(what: string, helper: number, general: number): void {
  console.log(`${what.padEnd(46)} ${fmt(helper, 1).padStart(8)} ${fmt(general, 1).padStart(9)} ${fmt(general / helper, 1).padStart(6)}×`);
}

export async function run(): Promise<void> {
  const devices = demoDevices({ vehiclesPerZonePerDay: 2_780, zonesPerDevice: 12 });
  const zones = devices.flatMap((d) => [...dayCsvs(d, "2024-11-12").values()].map((text) => Buffer.from(text)));
  const width = (b: Buffer) => GS_COLUMNS[Number(b.toString("latin1", 0, 1)) as 4 | 7 | 8].length;
  const tables: CsvFields[] = zones.map((b) => scanCsv(b, width(b), { where: "bench" }));
  const rows = tables.reduce((n, t) => n + t.rows, 0);
  console.log(`${zones.length} zone CSVs, ${rows.toLocaleString("en-US")} rows, ${(zones.reduce((n, b) => n + b.length, 0) / 2 ** 20).toFixed(1)} MiB`);
  console.log(`${"CPU ms (best of 5)".padEnd(46)} ${"helper".padStart(8)} ${"general".padStart(9)} ${"ratio".padStart(7)}`);

  line(
    "CSV fields + pandas types / csv-parse records",
    best(5, () => zones.forEach((b) => pandasTypes(scanCsv(b, width(b), { where: "bench" })))),
    best(5, () => zones.forEach((b) => parse(b, { relax_column_count: true, skip_empty_lines: true, bom: true }))),
  );

  const floats: [Buffer, number, number][] = [];
  for (const t of tables) {
    const types = pandasTypes(t);
    for (let i = 0; i < t.rows * t.width; i++) if (types[i % t.width] === "float" && t.start[i]! >= 0) floats.push([t.bytes, t.start[i]!, t.end[i]!]);
  }
  line(
    `float text → repr (${floats.length.toLocaleString("en-US")} fields)`,
    best(5, () => {
      const sink = new Utf8Sink(floats.length * 8);
      for (const [b, s, e] of floats) writeJsonFloatText(sink, b, s, e);
    }),
    best(5, () => {
      const sink = new Utf8Sink(floats.length * 8);
      for (const [b, s, e] of floats) sink.write(pyFloatRepr(Number(b.toString("latin1", s, e))));
    }),
  );

  const start = Date.parse("2024-11-12T06:00:00Z");
  const instants = Array.from({ length: rows }, (_, i) => start + Math.floor((i * 86_400_000) / rows) + (i % 10) * 100);
  line(
    `str(datetime) of ${rows.toLocaleString("en-US")} instants`,
    best(3, () => {
      const f = new PyStrFormatter(ZONE);
      for (const ms of instants) f.format(ms);
    }),
    best(1, () => {
      for (const ms of instants) pyStr(DateTime.fromMillis(ms, { zone: ZONE }));
    }),
  );

  line(
    "zone JSON from fields / pyJson of row objects",
    best(5, () => {
      for (const t of tables) {
        const types = pandasTypes(t);
        const sink = new Utf8Sink(t.rows * 200);
        for (let i = 0; i < t.rows * t.width; i++) writeFieldJson(sink, t, i, types[i % t.width]!);
        sink.toBuffer();
      }
    }),
    best(5, () => {
      zones.forEach((b, z) => {
        const types = pandasTypes(tables[z]!);
        const columns = GS_COLUMNS[Number(b.toString("latin1", 0, 1)) as 4 | 7 | 8];
        const records = parse(b, { relax_column_count: true, skip_empty_lines: true, bom: true }) as string[][];
        const data = records.map((rec) => {
          const row: Record<string, unknown> = {};
          columns.forEach((c, i) => {
            const v = rec[i];
            row[c] = v === undefined || v === "" ? null : types[i] === "text" ? v : types[i] === "float" ? pyFloat(Number(v)) : Number(v);
          });
          return row;
        });
        Buffer.from(pyJson(data), "latin1");
      });
    }),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
