/**
 * The example source of docs/sources/new-source.md: counters drop a CSV of per-minute counts per day into a folder
 * (`counts_YYYY-MM-DD.csv`); the lake keeps the file as raw, bins it into 15-minute counts per counter (ready) and
 * publishes them. Everything else (compare loop, catalog, reruns, perfmet, publishing) is the kit's.
 */
import { ConfigError } from "../../support/errors.js";
import { defineSource, defineStage } from "../../support/kit.js";
import { binCounts, binRow, type CounterBin } from "./transform.js";

export interface CountersConfig {
  /** The folder the counters drop their daily files into (relative to the config file). */
  dropdir?: string;
}

const FEED = [{ prefix: "counts_", dateFormat: "yyyy-MM-dd", postfix: ".csv", base: "feed", ext: "csv" }] as const;
export const BAD_READING = "reading not counted (see log)";

export default defineSource<CountersConfig>({
  code: "counters",
  name: "Counters",
  description: "Example: per-minute counter readings from a drop folder, published as 15-minute counts",
  datasets: { counters: { production: "counters-15min", debug: "counters-15min-test", rowId: "record_id" } },
  stages: [
    defineStage<CountersConfig>({
      kind: "ingest",
      name: "insert-lake",
      description: "Counters: drop-folder CSV → raw",
      perfmet: "Ingest",
      to: "raw",
      compareOn: "base",
      schedule: { at: "02:00", args: ["-r", "0", "-s", "7"] },
      items(ctx) {
        if (!ctx.config.dropdir) throw new ConfigError("sources.counters.dropdir is not set: give the folder the counters write to");
        return ctx.providers.files(ctx.resolvePath(ctx.config.dropdir), FEED);
      },
      process: (item) => ({ ext: "csv", file: (item.provItem.payload as { path: string }).path, contentType: "text/csv" }),
    }),
    defineStage<CountersConfig>({
      kind: "transform",
      name: "ready",
      description: "Counters: raw CSV → 15-minute bins per counter",
      perfmet: "Ready",
      from: "raw",
      to: "ready",
      compareOn: "base",
      schedule: { at: "02:30", args: ["-r", "0", "-s", "7"] },
      process({ item, entry, body }, ctx) {
        const { bins, bad } = binCounts(body.toString("utf8"), item.date, `${ctx.from.repository}/${entry.pointer}`);
        for (const b of bad.slice(0, 10)) ctx.log.warn(`${entry.pointer} line ${b.line}: ${b.reason}`);
        ctx.drop(BAD_READING, bad.length);
        return { ext: "json", json: { day: item.date.toISODate(), bins }, rows: bins.length };
      },
    }),
    defineStage<CountersConfig>({
      kind: "publish",
      name: "publish",
      description: "Counters: 15-minute bins → the counters dataset",
      perfmet: "Publish",
      from: "ready",
      compareOn: "base",
      dataset: "counters",
      schedule: { at: "03:00", args: ["-r", "0", "-s", "7"] },
      rows: ({ body }) => [(JSON.parse(body.toString("utf8")) as { bins: CounterBin[] }).bins.map(binRow)],
    }),
  ],
  demo: () => import("./simulate.js"),
});
