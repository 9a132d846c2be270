/**
 * The process zone (src/util/process-zone.ts): luxon's answers in the lake's zone, read from Date with TZ set, equal
 * its own IANAZone's (Intl) for every hour of 2019–2026 in zones with DST on different days, a half-hour DST (Lord
 * Howe) and none (Kolkata); unknown zones and UTC+0 zones are refused, as is a TZ that names another zone.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { root } from "../helpers/build.js";
import { zoneAnswers } from "../helpers/process-zone-answers.js";

function child(zone: string, env: Record<string, string | undefined> = {}) {
  const e: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (!("TZ" in env)) delete e.TZ;
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete e[k];
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join(root, "test/helpers/process-zone-child.ts"), zone], { cwd: root, encoding: "utf8", env: e, maxBuffer: 256 * 1024 * 1024 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { installed: boolean; tz: string | null; probeType: string; answers: ReturnType<typeof zoneAnswers> | null };
}

describe("process zone", () => {
  for (const zone of ["America/Chicago", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata"]) {
    it(`${zone}: every hour of 2019–2026 as luxon's own zone answers it`, () => {
      const got = child(zone);
      expect(got.installed).toBe(true);
      expect(got.tz).toBe(zone);
      expect(got.probeType).toBe("ProcessZone");
      const want = zoneAnswers(zone); // this process: luxon's IANAZone, through Intl
      const a = got.answers!;
      expect(a.offsets.length).toBe(70128);
      expect(a.offsets).toEqual(want.offsets);
      expect(a.iso).toEqual(want.iso);
      expect(a.wall).toEqual(want.wall);
      expect(a.days).toEqual(want.days);
      expect(a.formatted).toEqual(want.formatted);
    }, 120_000);
  }

  it("refuses an unknown zone and a zone at UTC+0 all year (Date would answer UTC for both): luxon's own zone stays", () => {
    for (const zone of ["Nowhere/Atlantis", "Africa/Abidjan"]) {
      const got = child(zone);
      expect(got.installed, zone).toBe(false);
      expect(got.tz, zone).toBe(null);
      expect(got.probeType, zone).not.toBe("ProcessZone");
    }
  });

  it("refuses when TZ names another zone (the process's local time is the operator's)", () => {
    const got = child("America/Chicago", { TZ: "Europe/Berlin" });
    expect(got.installed).toBe(false);
    expect(got.tz).toBe("Europe/Berlin");
    expect(got.probeType).toBe("IANAZone");
    const same = child("America/Chicago", { TZ: "America/Chicago" });
    expect(same.installed).toBe(true);
  });
});
