import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import pipeline from "../../src/sources/bt/source.js";
import { SIM_MISSING_READER } from "../../src/sources/bt/simulate.js";
import { LakeRuntime } from "../../src/support/runtime.js";
import { runApp, parseOptions } from "../../src/support/etl-app.js";
import { fixedClock } from "../../src/util/dates.js";
import { SKIP_MISSING_READER } from "../../src/sources/bt/source.js";
import btSource from "../../src/sources/bt/source.js";

const dirs: string[] = [];
function home(): string {
  const d = mkdtempSync(path.join(tmpdir(), "lake-bt-pipe-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});

const ctx = (h: string) => ({ home: h, zone: "America/Chicago", from: "2024-11-01", to: "2024-11-05" });

describe("Bluetooth pipeline definition", () => {
  it("lists the four stages in order with the original's schedule", () => {
    expect(pipeline.code).toBe("bt");
    expect(pipeline.stageNames).toEqual(["bt-insert-lake", "bt-json-standard", "bt-ready", "bt-extract-soc"]);
    expect(pipeline.schedule.map((s) => [s.stage, s.time, s.args.join(" ")])).toEqual([
      // The share folder comes from sources.bt.sourcedir (the original hard-coded -d /app/awam here).
      ["bt-insert-lake", "00:30", "-r 0 -s 60"],
      ["bt-json-standard", "03:00", "-r 0 -s 30"],
      ["bt-ready", "05:00", "-r 0 -s 30"],
      ["bt-extract-soc", "07:00", "-r 0 -s 30"],
    ]);
  });

  it("simulates the share deterministically: three files per day under the original names", async () => {
    const a = home();
    const b = home();
    const ret = await (await pipeline.loadDemo())!.simulate(ctx(a));
    await (await pipeline.loadDemo())!.simulate(ctx(b));
    const share = path.join(a, "sources", "awam");
    expect(ret).toEqual({ sourcedir: share });
    const names = readdirSync(share).sort();
    expect(names).toHaveLength(12);
    expect(names).toContain("Austin_bt_11-01-2024.txt");
    expect(names).toContain("Austin_btmatch_11-03-2024.txt");
    expect(names).toContain("Austin_bt_summary_15_11-04-2024.txt");
    for (const n of names) expect(readFileSync(path.join(share, n))).toEqual(readFileSync(path.join(b, "sources", "awam", n)));
    const lines = readFileSync(path.join(share, "Austin_bt_11-01-2024.txt"), "utf8").trim().split("\r\n");
    expect(lines.length).toBeGreaterThanOrEqual(200);
    expect(lines[0]).toMatch(/^11\/1\/2024 \d{1,2}:\d{2}:\d{2} [AP]M,[\d.]+,11\/1\/2024 .*,\w+,[A-Za-z0-9+/=]+$/);
  });

  it("sets only the bt list of the shared inventory, keys in §6.1 order, one data reader left out", async () => {
    const h = home();
    const inv = path.join(h, "sources", "inventory.json");
    (await import("node:fs")).mkdirSync(path.dirname(inv), { recursive: true });
    writeFileSync(inv, JSON.stringify({ wt: [{ keep: 1 }], gs: [], bt: [{ old: true }] }));
    await (await pipeline.loadDemo())!.simulate(ctx(h));
    const doc = JSON.parse(readFileSync(inv, "utf8")) as Record<string, Record<string, unknown>[]>;
    expect(doc.wt).toEqual([{ keep: 1 }]);
    expect(doc.gs).toEqual([]);
    expect(doc.bt).toHaveLength(4);
    expect(Object.keys(doc.bt![0]!)).toEqual([
      "device_type", "atd_device_id", "device_name", "device_status", "device_ip", "ip_comm_status", "atd_location_id",
      "coa_intersection_id", "lat", "lon", "primary_st", "primary_st_segment_id", "cross_st", "cross_st_segment_id", "kits_id",
    ]);
    expect(doc.bt!.every((d) => d.device_type === "BLUETOOTH")).toBe(true);
    expect(doc.bt!.map((d) => d.device_name)).not.toContain(SIM_MISSING_READER);
  });

  it("runs end to end on the embedded default drivers (local storage, SQLite catalog, CSV publisher)", async () => {
    const h = home();
    const sources = { bt: await (await pipeline.loadDemo())!.simulate(ctx(h)) };
    const runtime = LakeRuntime.create({ overrides: { home: h, sources }, clock: fixedClock("2024-11-06T08:00:00-06:00") });
    try {
      const out = [];
      for (const stage of pipeline.stageNames) {
        const { App } = pipeline.stage(stage);
        out.push(await runApp(App, parseOptions(App, { start_date: "2024-11-01", end_date: "2024-11-05" }), { runtime }));
      }
      expect(out.map((s) => [s.processed, s.failed])).toEqual([
        [12, 0],
        [12, 0],
        [12, 0],
        [12, 0],
      ]);
      expect(out[2]!.rowsLeftOut![SKIP_MISSING_READER]).toBeGreaterThan(0);
      const published = readdirSync(path.join(h, "published")).sort();
      expect(published).toEqual(["qnpj-zrb9.csv", "v7zg-5jg9.csv", "x44q-icha.csv"]);
      const again = await runApp(pipeline.stage("bt-extract-soc").App, parseOptions(pipeline.stage("bt-extract-soc").App, { last_run_date: "0" }), { runtime });
      expect(again.processed).toBe(0);
    } finally {
      await runtime.close();
    }
  });
});
