/**
 * The Bluetooth pipeline: stages in run order, the original's nightly schedule (§10.3), and the demo's simulated
 * AWAM share (`<home>/sources/awam/`) with the BLUETOOTH part of `<home>/sources/inventory.json`.
 */
import path from "node:path";
import type { DemoContext, SourcePipeline } from "../types.js";
import { bluetoothDevices, writeShare } from "./simulate.js";
import { writeInventorySection } from "../../util/inventory-file.js";

export const pipeline: SourcePipeline = {
  code: "bt",
  name: "Bluetooth",
  stages: ["bt-insert-lake", "bt-json-standard", "bt-ready", "bt-extract-soc"],
  schedule: [
    { stage: "bt-insert-lake", time: "00:30", args: ["-r", "0", "-s", "60", "-d", "/app/awam"] },
    { stage: "bt-json-standard", time: "03:00", args: ["-r", "0", "-s", "30"] },
    { stage: "bt-ready", time: "05:00", args: ["-r", "0", "-s", "30"] },
    { stage: "bt-extract-soc", time: "07:00", args: ["-r", "0", "-s", "30"] },
  ],
  async simulate(ctx: DemoContext) {
    const dir = path.resolve(ctx.home, "sources", "awam");
    writeShare(dir, ctx.zone, ctx.from, ctx.to);
    writeInventorySection(path.join(ctx.home, "sources", "inventory.json"), "bt", bluetoothDevices());
    return { sourcedir: dir };
  },
};
