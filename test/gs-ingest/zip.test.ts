import { zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { TerminalError } from "../../src/support/errors.js";
import { demoDevices, dayArchive, type SimDevice } from "../../src/sources/gs/simulate.js";
import { readCountsArchive, unsafeEntryName } from "../../src/sources/gs/zip.js";

const enc = new TextEncoder();
const small = (over: Partial<SimDevice>): SimDevice => ({ ...demoDevices({ vehiclesPerZonePerDay: 20, zonesPerDevice: 3 })[0]!, ...over });

describe("GRIDSMART counts archive", () => {
  it("reads Type A (date folder) and Type B (inner day zip) alike", () => {
    const a = readCountsArchive(dayArchive(small({ layout: "A" }), "2024-11-05"), "a.zip");
    const b = readCountsArchive(dayArchive(small({ layout: "B" }), "2024-11-05"), "b.zip");
    expect(a.layout).toBe("A");
    expect(b.layout).toBe("B");
    expect(a.day).toBe("2024-11-05");
    expect(b.day).toBe("2024-11-05");
    expect(a.cameras).toEqual(["00-30-53-26-e6-e1"]);
    expect(a.zones.map((z) => z.guid)).toEqual(b.zones.map((z) => z.guid));
    expect(a.zones.map((z) => Buffer.from(z.data).toString())).toEqual(b.zones.map((z) => Buffer.from(z.data).toString()));
    expect(a.zones[0]!.guid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it("refuses an entry whose name climbs out of the folder, or is absolute", () => {
    const climbing = zipSync({ "00-30-53-26-e6-e1/2024-11-05/../../../etc/evil.csv": enc.encode("8,23\r\n") });
    expect(() => readCountsArchive(climbing, "evil.zip")).toThrow(/evil.zip: entry .*climbs out of the archive folder/);
    const absolute = zipSync({ "/etc/passwd": enc.encode("x") });
    expect(() => readCountsArchive(absolute, "abs.zip")).toThrow(/absolute path/);
    expect(unsafeEntryName("C:\\x.csv")).toMatch(/drive letter/);
    expect(unsafeEntryName("a\\..\\..\\b.csv")).toMatch(/climbs out/);
    expect(unsafeEntryName("00-30-53-26-e6-e1/2024-11-05/x.csv")).toBeUndefined();
  });

  it("refuses a nested climbing entry inside a Type B day zip", () => {
    const inner = zipSync({ "../x.csv": enc.encode("8\r\n") });
    const outer = zipSync({ "00-30-53-26-e6-e1/2024-11-05.zip": inner });
    expect(() => readCountsArchive(outer, "b.zip")).toThrow(/b.zip → 00-30-53-26-e6-e1\/2024-11-05.zip: entry "..\/x.csv" climbs out/);
  });

  it("refuses a corrupt (truncated) archive with a clear message", () => {
    const good = dayArchive(small({}), "2024-11-05");
    const err = (() => {
      try {
        readCountsArchive(good.subarray(0, Math.floor(good.length / 2)), "cut.zip");
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(TerminalError);
    expect((err as Error).message).toMatch(/cut.zip: not a readable zip archive/);
  });

  it("refuses an archive without a camera folder, or a camera folder with nothing usable", () => {
    expect(() => readCountsArchive(zipSync({ "counts/a.csv": enc.encode("8") }), "x.zip")).toThrow(/no camera folder/);
    expect(() => readCountsArchive(zipSync({ "00-30-53-26-e6-e1/readme.txt": enc.encode("8") }), "x.zip")).toThrow(/neither a date folder nor a day zip/);
  });

  it("refuses zip bombs by declared size, ratio, and a size that lies", () => {
    const zeros = new Uint8Array(4_000_000);
    const bomb = zipSync({ "00-30-53-26-e6-e1/2024-11-05/a.csv": zeros }, { level: 9 });
    expect(() => readCountsArchive(bomb, "bomb.zip", { maxTotalBytes: 1_000_000, maxEntries: 100, maxRatio: 1e9 })).toThrow(/declare more than 1000000/);
    expect(() => readCountsArchive(bomb, "bomb.zip", { maxTotalBytes: 1e9, maxEntries: 100, maxRatio: 100 })).toThrow(/zip bomb/);
    // Patch the declared size (central directory and local header) to 10 bytes: the real stream is much longer.
    const lying = Uint8Array.from(zipSync({ "00-30-53-26-e6-e1/2024-11-05/a.csv": enc.encode("8,23,1.0,-300,S\r\n".repeat(50)) }));
    const dv = new DataView(lying.buffer);
    for (let i = 0; i < lying.length - 4; i++) {
      const sig = dv.getUint32(i, true);
      if (sig === 0x04034b50) dv.setUint32(i + 22, 10, true);
      if (sig === 0x02014b50) dv.setUint32(i + 24, 10, true);
    }
    expect(() => readCountsArchive(lying, "lie.zip")).toThrow(/CRC-32/);
  });

  it("refuses too many entries", () => {
    const files: Record<string, Uint8Array> = {};
    for (let i = 0; i < 20; i++) files[`00-30-53-26-e6-e1/2024-11-05/${i}.csv`] = enc.encode("8");
    expect(() => readCountsArchive(zipSync(files), "many.zip", { maxTotalBytes: 1e9, maxEntries: 10, maxRatio: 1e9 })).toThrow(/more than 10 entries/);
  });
});
