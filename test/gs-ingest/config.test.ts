import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, UsageError } from "../../src/support/errors.js";
import { deviceBaseUrl, readGsConfig } from "../../src/sources/gs/config.js";
import { selectDevices } from "../../src/sources/gs/devices.js";
import { demoDevices, type SimDevice } from "../../src/sources/gs/simulate.js";
import { inventoryOf, makeHarness, RAW, type Harness } from "./harness.js";

const [V8] = demoDevices({ vehiclesPerZonePerDay: 10, zonesPerDevice: 2 }) as [SimDevice];
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("sources.gs settings", () => {
  it("defaults, the {ip} template, and clear errors", () => {
    const cfg = readGsConfig({});
    expect(cfg).toMatchObject({ deviceUrl: "http://{ip}:8902/api/", timeoutMs: 15_000, concurrency: 8, dayCoveredToleranceMinutes: 5 });
    expect(deviceBaseUrl(cfg.deviceUrl, " 10.0.0.5 ")).toBe("http://10.0.0.5:8902/api/");
    expect(deviceBaseUrl("http://h/{ip}/api", "1.2.3.4")).toBe("http://h/1.2.3.4/api/");
    expect(() => readGsConfig({ deviceUrl: "http://x:8902/api/" })).toThrow(ConfigError);
    expect(() => readGsConfig({ deviceUrl: "http://x:8902/api/" })).toThrow(/sources.gs:\n  deviceUrl: must contain "\{ip\}"/);
    expect(() => readGsConfig({ timeoutMs: -1 })).toThrow(/timeoutMs/);
  });

  it("device selection keeps inventory order and says why others were left out", () => {
    const inv = inventoryOf([V8]);
    const sel = selectDevices(
      [
        { ...inv[0]!, device_status: "REMOVED" },
        { ...inv[0]!, atd_location_id: null },
        { ...inv[0]!, device_ip: null },
        inv[0]!,
      ],
      /.*/,
    );
    expect(sel.selected.map((s) => s.ip)).toEqual([V8.ip]);
    expect(sel.skipped.map(([, why]) => why)).toEqual(["removed", "no location", "no IP address"]);
  });

  it("a bad -f regex is a usage error; -0 writes nothing", async () => {
    h = await makeHarness({ devices: [{ device: V8, days: ["2024-11-18", "2024-11-19"] }] });
    await expect(h.insert({ start_date: "2024-11-18", name_filter: "(" })).rejects.toThrow(UsageError);
    const s = await h.insert({ start_date: "2024-11-18", simulate: true });
    expect(s).toMatchObject({ processed: 2, failed: 0, simulate: true });
    expect(h.keys(RAW)).toEqual([]);
    expect(h.catalog.rows.size).toBe(0);
    expect(s.plan!.filter((p) => p.kind === "storage").map((p) => p.detail.split(" ")[0])).toEqual([
      "2024/11/20/gs/Austin_gs_2024-11-20_unit_data.json",
      "2024/11/18/gs/Burnet_Richcreek_gs_2024-11-18.zip",
      "2024/11/20/gs/Burnet_Richcreek_gs_2024-11-20_site.json",
      "2024/11/19/gs/Burnet_Richcreek_gs_2024-11-19.zip",
    ]);
  });
});
