import http from "node:http";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import pipeline from "../../src/sources/gs/source.js";
import { GS_UNIT_DEVICE_KEYS } from "../../src/sources/gs/types.js";
import { dayArchive, demoDevices } from "../../src/sources/gs/simulate.js";

describe("GRIDSMART pipeline", () => {
  it("declares the five stages and the original's schedule", () => {
    expect(pipeline.stageNames).toEqual(["gs-insert-lake", "gs-json-standard", "gs-ready", "gs-ready-agg", "gs-agg-extract-soc"]);
    expect(pipeline.schedule.map((s) => `${s.time} ${s.stage} ${s.args.join(" ")}`)).toEqual([
      "01:30 gs-insert-lake -r 0 -s 60",
      "04:00 gs-json-standard -r 0 -s 30",
      "05:30 gs-ready -r 0 -s 30",
      "06:00 gs-ready-agg -r 0 -s 30",
      "08:30 gs-agg-extract-soc -r 0 -s 30",
    ]);
  });

  it("simulate writes the gs inventory and keeps the other sources' sections", async () => {
    const home = mkdtempSync(path.join(tmpdir(), "lake-gs-pipe-"));
    try {
      const file = path.join(home, "sources", "inventory.json");
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify({ wt: [{ kits_id: 1 }], gs: [{ old: true }] }));
      const over = await (await pipeline.loadDemo())!.simulate({ home, zone: "America/Chicago", from: "2024-11-01", to: "2024-11-04" });
      expect(over).toEqual({});
      const inv = JSON.parse(readFileSync(file, "utf8"));
      expect(inv.wt).toEqual([{ kits_id: 1 }]);
      expect(inv.gs).toHaveLength(4);
      expect(Object.keys(inv.gs[0])).toEqual([...GS_UNIT_DEVICE_KEYS]);
      expect(inv.gs.map((d: { device_status: string }) => d.device_status)).toEqual(["TURNED_ON", "TURNED_ON", "TURNED_ON", "REMOVED"]);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it("serve starts the device fake on a free port with the demo days; archives are deterministic", async () => {
    const ctx = { home: "/nonexistent", zone: "America/Chicago", from: "2024-11-01", to: "2024-11-03" };
    const served = await (await pipeline.loadDemo())!.serve!(ctx);
    try {
      const url = String(served.sourceConfig.deviceUrl);
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\{ip\}\/api\/$/);
      const base = url.replace("{ip}", demoDevices()[0]!.ip);
      expect(await (await fetch(`${base}counts.json`)).json()).toEqual(["2024-11-01", "2024-11-02"]);
      const zip = new Uint8Array(await (await fetch(`${base}counts/bydate/2024-11-02`)).arrayBuffer());
      expect(Buffer.from(zip).equals(Buffer.from(dayArchive(demoDevices()[0]!, "2024-11-02")))).toBe(true);
      expect((await fetch(`${base}counts/bydate/2024-11-03`)).status).toBe(404);
      // The same device by Host header on the plain /api/ path.
      const port = Number(new URL(url.replace("{ip}", "x")).port);
      const viaHost = await new Promise<string>((resolve, reject) => {
        http
          .get({ host: "127.0.0.1", port, path: "/api/counts.json", headers: { host: `${demoDevices()[0]!.ip}:8902` } }, (res) => {
            let body = "";
            res.on("data", (c) => (body += c)).on("end", () => resolve(body));
          })
          .on("error", reject);
      });
      expect(JSON.parse(viaHost)).toEqual(["2024-11-01", "2024-11-02"]);
    } finally {
      await served.stop();
    }
  });

  it("code in src/ imports nothing from test/ (the device fake is the source's simulator, src/sources/gs/device-fake.ts)", () => {
    const src = path.join(import.meta.dirname, "../../src");
    const offenders = (readdirSync(src, { recursive: true }) as string[])
      .filter((f) => f.endsWith(".ts"))
      .filter((f) => /from\s+["'](?:\.\.\/)+test\/|import\(\s*["'](?:\.\.\/)+test\//.test(readFileSync(path.join(src, f), "utf8")));
    expect(offenders).toEqual([]);
  });
});
