/**
 * A simulated KITS database (SQLite) and the RADAR part of the demo inventory, for the demo, tests and the bench.
 * Readings are deterministic: each (detector, day) draws from its own seeded generator, so a day looks the same
 * whatever window it is generated in. Times are local wall clock, as KITS keeps them: on the fall-back day the
 * hour 01:00–01:59 appears twice (25 hours of readings), on the spring-forward day 02:00–02:59 not at all.
 */
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { sqliteOptions } from "../../drivers/sqlite-db.js";
import { DateTime } from "luxon";
import type { UnitDevice } from "../../support/drivers.js";
import { seededRandom } from "../../util/random.js";
import { writeInventorySection } from "../../util/inventory-file.js";
import type { SourceDemo } from "../../support/kit.js";

export interface SimIntersection {
  intId: number;
  intName: string;
  /** Detector names (direction prefix before "_", e.g. NB_in). */
  detectors: string[];
  /** Listed in the device inventory as a RADAR device (kits_id = intId). */
  inInventory: boolean;
  lat: number;
  lon: number;
  primarySt: string;
  crossSt: string;
}

/** The demo's intersections: three inventoried, one (LAMARBRAKER) missing from the inventory. */
export const DEMO_INTERSECTIONS: SimIntersection[] = [
  { intId: 1, intName: "LAMARMANCHACA", detectors: ["NB_in", "SB_in", "EB_in", "WB_in"], inInventory: true, lat: 30.2441, lon: -97.7837, primarySt: "S LAMAR BLVD", crossSt: "MANCHACA RD" },
  { intId: 2, intName: "BURNETRUTLAND", detectors: ["NB_in", "SB_in", "NB_out"], inInventory: true, lat: 30.3769, lon: -97.7206, primarySt: "BURNET RD", crossSt: "RUTLAND DR" },
  { intId: 3, intName: "CONGRESSOLTORF", detectors: ["NB_in", "SB_in"], inInventory: true, lat: 30.2335, lon: -97.7568, primarySt: "S CONGRESS AVE", crossSt: "E OLTORF ST" },
  { intId: 4, intName: "LAMARBRAKER", detectors: ["NB_in", "SB_in"], inInventory: false, lat: 30.3589, lon: -97.7265, primarySt: "N LAMAR BLVD", crossSt: "BRAKER LN" },
];

/** n intersections with k detectors each (the bench's large day). All inventoried. */
export function manyIntersections(n: number, k: number): SimIntersection[] {
  const dirs = ["NB_in", "SB_in", "EB_in", "WB_in", "NB_out", "SB_out"];
  return Array.from({ length: n }, (_, i) => ({
    intId: 1000 + i,
    intName: `SIMINT${String(i + 1).padStart(3, "0")}`,
    detectors: dirs.slice(0, k),
    inInventory: true,
    lat: 30.2 + i / 1000,
    lon: -97.7 - i / 1000,
    primarySt: `SIM ST ${i + 1}`,
    crossSt: `CROSS ST ${i + 1}`,
  }));
}

/** Detector id of the j-th detector of an intersection. */
export function detectorId(intId: number, j: number): number {
  return intId * 100 + j + 1;
}

const mulberry32 = seededRandom;

export const KITS_SCHEMA = `
CREATE TABLE IF NOT EXISTS DETECTORSRM (DETID INTEGER PRIMARY KEY, INTID INTEGER NOT NULL, INTNAME TEXT, DETNAME TEXT);
CREATE TABLE IF NOT EXISTS SYSDETHISTORYRM (
  DETID INTEGER NOT NULL, CURDATETIME TEXT NOT NULL, VOLUME INTEGER, OCCUPANCY INTEGER, SPEED INTEGER, STATUS TEXT,
  UPLOADSUCCESS INTEGER, DETCOUNTCOMPARISON INTEGER, DAILYCUMULATIVE INTEGER);
CREATE INDEX IF NOT EXISTS SYSDETHISTORYRM_TIME ON SYSDETHISTORYRM (CURDATETIME);
`;

export interface KitsSimOptions {
  zone: string;
  /** First local day, YYYY-MM-DD. */
  from: string;
  /** Last local day, exclusive. */
  to: string;
  intersections?: SimIntersection[];
  /** Minutes between readings (KITS: 15). */
  stepMinutes?: number;
  seed?: number;
}

/** Creates (replacing) a KITS SQLite file with detectors and readings; returns the number of readings. */
export function createKitsDatabase(file: string, opts: KitsSimOptions): number {
  const intersections = opts.intersections ?? DEMO_INTERSECTIONS;
  const step = opts.stepMinutes ?? 15;
  const seed = opts.seed ?? 2024;
  mkdirSync(path.dirname(file), { recursive: true });
  rmSync(file, { force: true });
  const db = new Database(file, sqliteOptions());
  try {
    db.pragma("journal_mode = OFF");
    db.pragma("synchronous = OFF");
    db.exec(KITS_SCHEMA);
    const addDet = db.prepare("INSERT INTO DETECTORSRM (DETID, INTID, INTNAME, DETNAME) VALUES (?, ?, ?, ?)");
    const addRow = db.prepare(
      "INSERT INTO SYSDETHISTORYRM (DETID, CURDATETIME, VOLUME, OCCUPANCY, SPEED, STATUS, UPLOADSUCCESS, DETCOUNTCOMPARISON, DAILYCUMULATIVE) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    );
    let count = 0;
    db.transaction(() => {
      for (const x of intersections) x.detectors.forEach((d, j) => addDet.run(detectorId(x.intId, j), x.intId, x.intName, d));
      const end = DateTime.fromISO(opts.to, { zone: opts.zone });
      for (let day = DateTime.fromISO(opts.from, { zone: opts.zone }); day < end; day = day.plus({ days: 1 })) {
        const next = day.plus({ days: 1 });
        const dayNo = Math.round(day.toMillis() / 86_400_000);
        const rngs = new Map<number, () => number>();
        const cumulative = new Map<number, number>();
        // Real elapsed time, so the fall-back day gets 25 hours of readings and the spring-forward day 23.
        for (let t = day; t < next; t = t.plus({ minutes: step })) {
          const wall = t.toFormat("yyyy-MM-dd HH:mm:ss");
          const hour = t.hour + t.minute / 60;
          const profile = 0.15 + Math.max(0, Math.sin(((hour - 5) / 19) * Math.PI)) * (hour > 6 && hour < 9 ? 1.4 : 1);
          for (const x of intersections) {
            x.detectors.forEach((_, j) => {
              const det = detectorId(x.intId, j);
              let rng = rngs.get(det);
              if (!rng) rngs.set(det, (rng = mulberry32(seed ^ Math.imul(det, 0x9e3779b1) ^ Math.imul(dayNo, 0x85ebca6b))));
              const volume = Math.max(0, Math.round((8 + (det % 7) * 3) * profile * (step / 15) * (0.7 + 0.6 * rng())));
              const occupancy = Math.min(100, Math.round(volume / 3 + rng() * 2));
              const speed = volume === 0 ? 0 : Math.round(28 + rng() * 17);
              const cum = (cumulative.get(det) ?? 0) + volume;
              cumulative.set(det, cum);
              addRow.run(det, wall, volume, occupancy, speed, "Working", 100, 1, cum);
              count++;
            });
          }
        }
      }
    })();
    return count;
  } finally {
    db.close();
  }
}

/** The RADAR inventory (unit data devices, keys in the order of original §6.1) of the inventoried intersections. */
export function radarDevices(intersections: SimIntersection[] = DEMO_INTERSECTIONS): UnitDevice[] {
  return intersections
    .filter((x) => x.inInventory)
    .map((x, i) => ({
      device_type: "RADAR",
      atd_device_id: 5000 + x.intId,
      device_name: `${x.intName}_RADAR`,
      device_status: "OK",
      device_ip: `10.66.${Math.floor(x.intId / 250)}.${(x.intId % 250) + 1}`,
      ip_comm_status: "ONLINE",
      atd_location_id: `LOC16-${String(4000 + i).padStart(6, "0")}`,
      coa_intersection_id: 5_150_000 + x.intId,
      lat: x.lat,
      lon: x.lon,
      primary_st: x.primarySt,
      primary_st_segment_id: 2_000_000 + x.intId,
      cross_st: x.crossSt,
      cross_st_segment_id: 3_000_000 + x.intId,
      kits_id: x.intId,
    }));
}

/** The demo's KITS database (SQLite, under <home>/sources/) and the RADAR part of the inventory. */
const demo: SourceDemo = {
  async simulate(ctx) {
    const file = path.join(ctx.home, "sources", "kits.sqlite");
    // The large day: 130 intersections × 4 detectors, a reading every 15 minutes = 49,920 KITS rows a day.
    const intersections = ctx.size === "large" ? manyIntersections(130, 4) : DEMO_INTERSECTIONS;
    createKitsDatabase(file, { zone: ctx.zone, from: ctx.from, to: ctx.to, intersections });
    writeInventorySection(path.join(ctx.home, "sources", "inventory.json"), "wt", radarDevices(intersections));
    return { sql: { driver: "sqlite", options: { path: file } } };
  },
};
export default demo;
