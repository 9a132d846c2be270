/**
 * The GRIDSMART pipeline: stages in run order, the original's nightly schedule (§10.3), and the demo's simulated
 * field devices (three intersections, one per API version, one with a drifted clock) served by the device fake.
 */
import path from "node:path";
import type { DemoContext, SourcePipeline } from "../types.js";
import { writeInventorySection } from "../../util/inventory-file.js";
import { daysBetween, demoDevices, unitDevice } from "./simulate.js";
import type { GsUnitDevice } from "./types.js";

/** Inventory of the demo: the three devices plus a removed one (left out by gs-insert-lake's filters). */
export function demoInventory(): GsUnitDevice[] {
  const devices = demoDevices().map(unitDevice);
  const removed = { ...devices[0]!, atd_device_id: 6199, device_ip: "10.66.1.99", device_status: "REMOVED", atd_location_id: "LOC16-009999" };
  return [...devices, removed];
}

export const pipeline: SourcePipeline = {
  code: "gs",
  name: "GRIDSMART",
  stages: ["gs-insert-lake", "gs-json-standard", "gs-ready", "gs-ready-agg", "gs-agg-extract-soc"],
  schedule: [
    { stage: "gs-insert-lake", time: "01:30", args: ["-r", "0", "-s", "60"] },
    { stage: "gs-json-standard", time: "04:00", args: ["-r", "0", "-s", "30"] },
    { stage: "gs-ready", time: "05:30", args: ["-r", "0", "-s", "30"] },
    { stage: "gs-ready-agg", time: "06:00", args: ["-r", "0", "-s", "30"] },
    { stage: "gs-agg-extract-soc", time: "08:30", args: ["-r", "0", "-s", "30"] },
  ],
  async simulate(ctx: DemoContext) {
    writeInventorySection(path.join(ctx.home, "sources", "inventory.json"), "gs", demoInventory());
    return {};
  },
  async serve(ctx: DemoContext) {
    const { startGridsmartFake } = await import("./device-fake.js");
    const days = daysBetween(ctx.from, ctx.to);
    const fake = await startGridsmartFake({ devices: demoDevices().map((device) => ({ device, days })) });
    return { stop: () => fake.stop(), sourceConfig: { deviceUrl: fake.deviceUrl } };
  },
};
