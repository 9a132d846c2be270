/**
 * The demo's simulated AWAM share: per day the three Bluetooth files under their share names, from a seeded
 * generator (the same days always give the same bytes), and the BLUETOOTH part of the shared device inventory.
 * Five readers appear in the data; the inventory lists four of them, so the ready stage shows a dropped reader.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { DateTime } from "luxon";
import type { UnitDevice } from "../../support/drivers.js";
import { shareFilename } from "./files.js";
import { seededRandom } from "../../util/random.js";
import { writeInventorySection } from "../../util/inventory-file.js";
import { writeIfChanged } from "../../util/same-file.js";
import type { SourceDemo } from "../../support/kit.js";

export interface Reader {
  name: string;
  ip: string;
  lat: number;
  lon: number;
  primary: string;
  cross: string;
}

export const SIM_READERS: readonly Reader[] = [
  { name: "lamar_mlk", ip: "10.66.1.11", lat: 30.2812345, lon: -97.7465432, primary: "LAMAR BLVD", cross: "MARTIN LUTHER KING JR BLVD" },
  { name: "lamar_6th", ip: "10.66.1.12", lat: 30.2704567, lon: -97.7523456, primary: "LAMAR BLVD", cross: "6TH ST" },
  { name: "51st_springdale", ip: "10.66.1.13", lat: 30.3041234, lon: -97.6912345, primary: "51ST ST", cross: "SPRINGDALE RD" },
  { name: "51st_manor", ip: "10.66.1.14", lat: 30.2987654, lon: -97.7004321, primary: "51ST ST", cross: "MANOR RD" },
  // In the data but not in the inventory: its rows are dropped by bt-ready.
  { name: "Woodway_ChimneyRock", ip: "10.66.1.15", lat: 30.25, lon: -97.8, primary: "WOODWAY DR", cross: "CHIMNEY ROCK RD" },
];
export const SIM_MISSING_READER = "Woodway_ChimneyRock";

const PAIRS: readonly [number, number, string, string, string, string, string, string, string][] = [
  [0, 1, "Lamar", "MLK", "Southbound", "Lamar", "6th", "Southbound", "0.874"],
  [2, 3, "51st", "Springdale", "Westbound", "51st", "Manor", "Westbound", "0.633"],
  [3, 2, "51st", "Manor", "Eastbound", "51st", "Springdale", "Eastbound", "0.633"],
];

/** Small seeded generator (mulberry32). */
export const seeded = seededRandom;

/** AWAM wall-clock text of a second of a local day: `M/D/YYYY h:mm:ss AM` (or without seconds). */
export function awamTime(day: { year: number; month: number; day: number }, secondOfDay: number, seconds = true): string {
  const h24 = Math.floor(secondOfDay / 3600) % 24;
  const mi = Math.floor((secondOfDay % 3600) / 60);
  const s = secondOfDay % 60;
  const h12 = h24 % 12 === 0 ? 12 : h24 % 12;
  const mm = String(mi).padStart(2, "0");
  const ss = seconds ? `:${String(s).padStart(2, "0")}` : "";
  return `${day.month}/${day.day}/${day.year} ${h12}:${mm}${ss} ${h24 < 12 ? "AM" : "PM"}`;
}

function devAddr(n: number): string {
  return Buffer.from(`sim-device-${n}`).toString("base64");
}

export interface DayVolume {
  unmatched: number;
  matched: number;
  /** 15-minute intervals per pair (96 = the whole day). */
  intervals: number;
  /** Distinct devices seen in a day. */
  devices: number;
  /** Summary reader pairs: the first N ordered pairs of the readers (default: three fixed street pairs). */
  summaryPairs?: number;
}

type Pair = (typeof PAIRS)[number];

function pairsFor(volume: DayVolume, readers: readonly Reader[]): readonly Pair[] {
  if (!volume.summaryPairs) return PAIRS;
  const out: Pair[] = [];
  for (let o = 0; o < readers.length && out.length < volume.summaryPairs; o++) {
    for (let t = 0; t < readers.length && out.length < volume.summaryPairs; t++) {
      if (o === t) continue;
      const [a, b] = [readers[o]!, readers[t]!];
      out.push([o, t, a.primary, a.cross, "Northbound", b.primary, b.cross, "Northbound", "1.25"]);
    }
  }
  return out;
}

/** n synthetic readers (bench volumes), named reader_00 … */
export function manyReaders(n: number): Reader[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `reader_${String(i).padStart(2, "0")}`,
    ip: `10.67.0.${i + 1}`,
    lat: 30.2 + i / 1000,
    lon: -97.7 - i / 1000,
    primary: `STREET ${i}`,
    cross: `AVENUE ${i}`,
  }));
}

export const DEMO_VOLUME: DayVolume = { unmatched: 300, matched: 120, intervals: 96, devices: 150 };
/** The large day (DemoContext size "large"): 300,000 unmatched, 40,000 matched, 2,880 summary lines (96 × 30 pairs). */
export const LARGE_VOLUME: DayVolume = { unmatched: 300_000, matched: 40_000, intervals: 96, devices: 60_000, summaryPairs: 30 };
/** The large day's readers: 7 (42 ordered pairs, 30 used by the summary), all in the inventory. */
export const LARGE_READERS: readonly Reader[] = manyReaders(7);

/** The three files' text of one day (CRLF lines, as the share's Windows tools write them). */
export function* dayFiles(
  day: DateTime,
  volume: DayVolume = DEMO_VOLUME,
  readers: readonly Reader[] = SIM_READERS,
): Generator<{ fileType: "unmatched" | "matched" | "traf_match_summary"; name: string; lines: Generator<string> }> {
  const seed = day.year * 10_000 + day.month * 100 + day.day;
  const d = { year: day.year, month: day.month, day: day.day };
  yield {
    fileType: "unmatched",
    name: shareFilename("unmatched", day),
    lines: (function* () {
      const rnd = seeded(seed);
      for (let i = 0; i < volume.unmatched; i++) {
        const second = Math.floor((i * 86_400) / volume.unmatched + rnd() * (86_400 / volume.unmatched));
        const r = readers[Math.floor(rnd() * readers.length)]!;
        const field = Math.min(86_399, second + Math.floor(rnd() * 3));
        yield `${awamTime(d, second)},${r.ip},${awamTime(d, field)},${r.name},${devAddr(Math.floor(rnd() * volume.devices))}\r\n`;
      }
    })(),
  };
  yield {
    fileType: "matched",
    name: shareFilename("matched", day),
    lines: (function* () {
      const rnd = seeded(seed + 1);
      const pairs = pairsFor(volume, readers);
      for (let i = 0; i < volume.matched; i++) {
        const [o, t] = pairs[Math.floor(rnd() * pairs.length)]!;
        const start = Math.floor((i * 80_000) / volume.matched + rnd() * 60);
        const travel = 60 + Math.floor(rnd() * 600);
        const speed = Math.max(3, Math.round(3600 / travel));
        const valid = rnd() < 0.8 ? "valid" : "invalid";
        yield `${devAddr(Math.floor(rnd() * volume.devices))},${readers[o]!.name},${readers[t]!.name},${awamTime(d, start)},${awamTime(d, Math.min(86_399, start + travel))},${travel},${speed},${valid},125\r\n`;
      }
    })(),
  };
  yield {
    fileType: "traf_match_summary",
    name: shareFilename("traf_match_summary", day),
    lines: (function* () {
      const rnd = seeded(seed + 2);
      const pairs = pairsFor(volume, readers);
      for (let k = 0; k < volume.intervals; k++) {
        for (const [o, t, oRoad, oCross, oDir, dRoad, dCross, dDir, len] of pairs) {
          const samples = Math.floor(rnd() * 12);
          const avgTime = samples ? 60 + Math.floor(rnd() * 300) : -1;
          const avgSpeed = samples ? Math.round((Number(len) * 3600) / avgTime) : -1;
          const std = samples ? (rnd() * 40).toFixed(2) : "-1";
          yield `${readers[o]!.name},${readers[t]!.name},${oRoad},${oCross},${oDir},${dRoad},${dCross},${dDir},${len},${awamTime(d, k * 900, false)},${avgTime},${avgSpeed},15,${samples},${std}\r\n`;
        }
      }
    })(),
  };
}

/**
 * Writes the share's files for every day in [from, to) (a file that already holds the same lines is left as it is);
 * returns the lines written.
 */
export async function writeShare(
  dir: string,
  zone: string,
  from: string,
  to: string,
  volume: DayVolume = DEMO_VOLUME,
  readers: readonly Reader[] = SIM_READERS,
): Promise<number> {
  mkdirSync(dir, { recursive: true });
  let lines = 0;
  const end = DateTime.fromISO(to, { zone });
  for (let day = DateTime.fromISO(from, { zone }); day < end; day = day.plus({ days: 1 })) {
    for (const f of dayFiles(day, volume, readers)) {
      const counted = (function* () {
        for (const line of f.lines) {
          lines++;
          yield line;
        }
      })();
      await writeIfChanged(path.join(dir, f.name), counted);
    }
  }
  return lines;
}

/** The BLUETOOTH devices of the inventory (keys in original §6.1 order): every reader but the missing one. */
export function bluetoothDevices(readers: readonly Reader[] = SIM_READERS, missing = SIM_MISSING_READER): UnitDevice[] {
  return readers.filter((r) => r.name !== missing).map((r, i) => ({
    device_type: "BLUETOOTH",
    atd_device_id: 1000 + i,
    device_name: r.name,
    device_status: "OK",
    device_ip: r.ip,
    ip_comm_status: "ONLINE",
    atd_location_id: `LOC${String(2000 + i)}`,
    coa_intersection_id: 5_000_000 + i,
    lat: r.lat,
    lon: r.lon,
    primary_st: r.primary,
    primary_st_segment_id: 3_000_000 + i,
    cross_st: r.cross,
    cross_st_segment_id: 3_100_000 + i,
    kits_id: 100 + i,
  }));
}

/** The demo's AWAM share (`<home>/sources/awam/`) and the BLUETOOTH part of `<home>/sources/inventory.json`. */
const demo: SourceDemo = {
  async simulate(ctx) {
    const dir = path.resolve(ctx.home, "sources", "awam");
    if (ctx.size === "large") {
      await writeShare(dir, ctx.zone, ctx.from, ctx.to, LARGE_VOLUME, LARGE_READERS);
      writeInventorySection(path.join(ctx.home, "sources", "inventory.json"), "bt", bluetoothDevices(LARGE_READERS, "none"));
    } else {
      await writeShare(dir, ctx.zone, ctx.from, ctx.to);
      writeInventorySection(path.join(ctx.home, "sources", "inventory.json"), "bt", bluetoothDevices());
    }
    return { sourcedir: dir };
  },
};
export default demo;
