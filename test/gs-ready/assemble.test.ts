import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { adjacentDay, assembleDay, countedZones, openZoneFile, rowsInDay, type ZoneFileText } from "../../src/sources/gs/assemble.js";
import type { GsSiteFile } from "../../src/sources/gs/types.js";
import { TerminalError } from "../../src/support/errors.js";
import { pyJson } from "../../src/util/pyjson.js";

const D = DateTime.fromISO("2024-06-01", { zone: "America/Chicago" });
const vehicle = (Id: string, IncludeInData: boolean, ApproachType = "Northbound") => ({ Vehicle: { Id, ApproachType, TurnType: "S", IncludeInData } });
const site = (cams: unknown[]) => ({ header: {}, site: { Location: {}, CameraDevices: cams } }) as unknown as GsSiteFile;
const cam = (IsConfigured: boolean, ZoneMasks: unknown[]) => ({ Fisheye: { MACAddress: "m", IsConfigured, CameraMasks: { ZoneMasks } } });

describe("countedZones", () => {
  it("keeps IncludeInData Vehicle zones of configured cameras, dashing undashed ids and keeping dashed ones (B16)", () => {
    const zones = countedZones(
      site([
        cam(true, [vehicle("a1b2c3d4e5f60718293a4b5c6d7e8f90", true), vehicle("b", false), { Pedestrian: { Id: "p" } }, vehicle("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", true, "Westbound")]),
        cam(false, [vehicle("cccccccccccccccccccccccccccccccc", true)]),
      ]),
    );
    expect(zones.map((z) => [z.ident, z.guid, z.approach])).toEqual([
      ["a1b2c3d4e5f60718293a4b5c6d7e8f90", "a1b2c3d4-e5f6-0718-293a-4b5c6d7e8f90", "Northbound"],
      ["0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "Westbound"],
    ]);
  });

  it("names what is missing in a malformed site file", () => {
    expect(() => countedZones({ site: {} } as unknown as GsSiteFile, "s.json")).toThrow(/s\.json: site\.CameraDevices/);
    expect(() => countedZones(site([{}]), "s.json")).toThrow(TerminalError);
  });
});

describe("day stitching pieces", () => {
  it("adjacentDay: +1 → previous day, -1 → next day, 0/absent → none (calendar days across DST)", () => {
    const fallBack = DateTime.fromISO("2024-11-03", { zone: "America/Chicago" });
    expect(adjacentDay(fallBack, 1)?.toISO()).toBe("2024-11-02T00:00:00.000-05:00");
    expect(adjacentDay(fallBack, -1)?.toISO()).toBe("2024-11-04T00:00:00.000-06:00");
    expect(adjacentDay(fallBack, 0)).toBeUndefined();
    expect(adjacentDay(fallBack, undefined)).toBeUndefined();
  });

  const file = (day: string, covered: number | undefined, stamps: string[]): ZoneFileText =>
    openZoneFile(
      pyJson({ header: { data_type: "gridsmart", zip_name: `z_${day}`, collection_date: `${day} 00:00:00-05:00`, version: 8, ...(covered === undefined ? {} : { day_covered: covered }) }, data: stamps.map((t) => ({ speed: 13.0, timestamp_adj: t })) }),
      `f_${day}`,
    );

  it("rowsInDay copies row text exactly and appends the zone", () => {
    const f = openZoneFile('{"header": {}, "data": [{"len": 13.0, "timestamp_adj": "2024-06-01 00:00:00-05:00"}, {"timestamp_adj": "2024-06-02 00:00:00-05:00"}]}', "f");
    const rows = rowsInDay(f, "abc", D.toMillis(), D.plus({ days: 1 }).toMillis());
    expect(rows.map((r) => [r.ts, r.body + r.zone])).toEqual([["2024-06-01 00:00:00-05:00", '{"len": 13.0, "timestamp_adj": "2024-06-01 00:00:00-05:00", "zone": "abc"}']]);
  });

  it("assembleDay: a missing adjacent file is reported per direction; a file lacking timestamp_adj is left out whole", async () => {
    const files = new Map<string, ZoneFileText>([
      ["2024-06-01 A", file("2024-06-01", 1, ["2024-06-01 00:10:00-05:00"])],
      ["2024-06-01 B", file("2024-06-01", -1, ["2024-06-01 00:20:00-05:00"])],
      ["2024-06-02 B", file("2024-06-02", -1, ["2024-06-01 23:59:00-05:00", "2024-06-02 00:01:00-05:00"])],
      ["2024-06-01 C", openZoneFile('{"header": {"day_covered": 0}, "data": [{"timestamp_adj": "2024-06-01 01:00:00-05:00"}, {"speed": 1}]}', "c")],
    ]);
    const zones = ["A", "B", "C", "D"].map((g) => ({ ident: g.toLowerCase(), guid: g, approach: "N", turnType: "S" }));
    const out = await assembleDay(D, zones, async (d, g) => files.get(`${d.toISODate()} ${g}`));
    expect(out.rows.map((r) => r.ts)).toEqual(["2024-06-01 00:10:00-05:00", "2024-06-01 00:20:00-05:00", "2024-06-01 23:59:00-05:00"]);
    expect(out.missingPrev).toEqual(["A"]);
    expect(out.missingNext).toEqual([]);
    expect(out.missingCurrent).toEqual(["D"]);
    expect(out.zonesRead).toBe(2);
    expect(out.header?.zip_name).toBe("z_2024-06-01");
    expect(out.warnings.some((w) => /c: data\[1\]\.timestamp_adj is missing/.test(w))).toBe(true);
  });
});
