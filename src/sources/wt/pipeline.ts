/**
 * The Wavetronix pipeline: stages in run order, the original's nightly schedule (§10.3), and the demo's
 * simulated KITS database.
 */
import path from "node:path";
import type { DemoContext, SourcePipeline } from "../types.js";
import { createKitsDatabase, radarDevices } from "./simulate.js";
import { writeInventorySection } from "../../util/inventory-file.js";

export const pipeline: SourcePipeline = {
  code: "wt",
  name: "Wavetronix",
  stages: ["wt-insert-lake", "wt-json-standard", "wt-ready", "wt-extract-soc"],
  schedule: [
    { stage: "wt-insert-lake", time: "01:00", args: ["-r", "0", "-s", "60"] },
    { stage: "wt-json-standard", time: "03:30", args: ["-r", "0", "-s", "30"] },
    { stage: "wt-ready", time: "06:30", args: ["-r", "0", "-s", "30"] },
    { stage: "wt-extract-soc", time: "07:30", args: ["-r", "0", "-s", "30"] },
  ],
  async simulate(ctx: DemoContext) {
    const file = path.join(ctx.home, "sources", "kits.sqlite");
    createKitsDatabase(file, { zone: ctx.zone, from: ctx.from, to: ctx.to });
    writeInventorySection(path.join(ctx.home, "sources", "inventory.json"), "wt", radarDevices());
    return { sql: { driver: "sqlite", options: { path: file } } };
  },
};
