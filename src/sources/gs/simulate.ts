/**
 * Simulated GRIDSMART intersections (demo, device fake, tests, bench): deterministic vehicles, real-shaped site,
 * datetime and hardware answers, and counts archives in both layouts and all three API versions.
 *
 * Vehicles are generated per zone per true UTC hour from a seeded generator, so any device day is the same however
 * it is asked for, and adjacent day files agree. A device day is the device's own clock day: its wall clock (v8,
 * v7; with daylight time when the device follows it) or UTC (v4), both shifted by the device's clock drift.
 */
import { createHash } from "node:crypto";
import { zipSync } from "fflate";
import { DateTime } from "luxon";
import { dashGuid, type GsApiVersion, type GsDateTime, type GsSite, type GsUnitDevice } from "./types.js";
import path from "node:path";
import { seededRandom } from "../../util/random.js";
import { writeInventorySection } from "../../util/inventory-file.js";
import type { SourceDemo } from "../../support/kit.js";

export interface SimZone {
  /** 32 hex digits, undashed, as devices report Vehicle.Id. */
  id: string;
  approach: "Northbound" | "Southbound" | "Eastbound" | "Westbound" | "Unassigned";
  turn: "Straight" | "Left" | "Right" | "U-Turn";
  includeInData: boolean;
}

export interface SimDevice {
  ip: string;
  atdDeviceId: number;
  locationId: string | null;
  coaIntersectionId: number | null;
  /** Inventory (Knack) street names. */
  primarySt: string | null;
  crossSt: string | null;
  deviceStatus: string;
  /** Site file street names (the lake base is street1_street2). */
  street1: string;
  street2: string;
  lat: number;
  lon: number;
  /** "00:30:53:26:e6:e1" */
  mac: string;
  apiVersion: GsApiVersion;
  layout: "A" | "B";
  /** IANA zone of the device's clock. */
  clockZone: string;
  /** false: the clock stays on standard time all year (utc_offset constant). */
  followsDst: boolean;
  /** datetime.json TimeZoneId, e.g. "(UTC-06:00) Central Time (US & Canada)". */
  timeZoneId: string;
  /** Device clock = true time + drift. */
  driftSeconds: number;
  zones: SimZone[];
  vehiclesPerZonePerDay: number;
  seed: number;
}

// ------------------------------------------------------------------ deterministic randomness

const rng = seededRandom;

function hashSeed(...parts: (string | number)[]): number {
  return createHash("md5").update(parts.join("|")).digest().readUInt32LE(0);
}

export function simZoneIds(ip: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => createHash("md5").update(`zone|${ip}|${i}`).digest("hex"));
}

const APPROACHES: SimZone["approach"][] = ["Northbound", "Southbound", "Eastbound", "Westbound"];
const TURNS: SimZone["turn"][] = ["Straight", "Left", "Right"];
const TURN_LETTER: Record<SimZone["turn"], string> = { Straight: "S", Left: "L", Right: "R", "U-Turn": "U" };

/** Zones: 4 approaches × (straight, left, right), the last one excluded from data (like real unused masks). */
export function makeZones(ip: string, n: number): SimZone[] {
  return simZoneIds(ip, n).map((id, i) => ({
    id,
    approach: APPROACHES[Math.floor(i / 3) % 4]!,
    turn: TURNS[i % 3]!,
    includeInData: i !== n - 1 || n < 4,
  }));
}

// ------------------------------------------------------------------ vehicles

export interface SimVehicle {
  /** True instant, ms (10 ms resolution). */
  ms: number;
  zone: number;
  r: number[];
}

const HOUR = 3_600_000;

/** Diurnal profile (share of the daily volume per local-ish hour). */
const PROFILE = [0.2, 0.12, 0.1, 0.1, 0.2, 0.5, 1.1, 1.7, 1.6, 1.2, 1.1, 1.2, 1.3, 1.3, 1.3, 1.4, 1.7, 1.8, 1.5, 1.1, 0.9, 0.7, 0.5, 0.3];
const PROFILE_SUM = PROFILE.reduce((a, b) => a + b, 0);

/** Vehicles of one zone with true instants in [fromMs, toMs), ordered by time. */
export function zoneVehicles(dev: SimDevice, zoneIdx: number, fromMs: number, toMs: number): SimVehicle[] {
  const out: SimVehicle[] = [];
  const perHour = dev.vehiclesPerZonePerDay / PROFILE_SUM;
  for (let h = Math.floor(fromMs / HOUR); h * HOUR < toMs; h++) {
    const rand = rng(hashSeed(dev.seed, dev.ip, zoneIdx, h));
    const localHour = (((h - 6) % 24) + 24) % 24; // shape only: about Central time
    const n = Math.round(perHour * PROFILE[localHour]! * (0.7 + 0.6 * rand()));
    const hourVehicles: SimVehicle[] = [];
    for (let i = 0; i < n; i++) {
      const ms = h * HOUR + Math.floor(rand() * 360_000) * 10;
      const r = [rand(), rand(), rand(), rand(), rand(), rand(), rand(), rand()];
      if (ms >= fromMs && ms < toMs) hourVehicles.push({ ms, zone: zoneIdx, r });
    }
    hourVehicles.sort((a, b) => a.ms - b.ms);
    out.push(...hourVehicles);
  }
  return out;
}

/** The fixed zone of a clock that ignores daylight time: the zone's standard offset all year. */
function standardZone(zone: string, year: number): string {
  const jan = DateTime.fromObject({ year, month: 1, day: 1 }, { zone }).offset;
  const jul = DateTime.fromObject({ year, month: 7, day: 1 }, { zone }).offset;
  const off = Math.min(jan, jul);
  const sign = off < 0 ? "-" : "+";
  const abs = Math.abs(off);
  return `UTC${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

/** The zone the device's wall clock shows. */
export function deviceClockZone(dev: SimDevice, year: number): string {
  return dev.followsDst ? dev.clockZone : standardZone(dev.clockZone, year);
}

/** True-time window [from, to) of a device day. */
export function deviceDayWindow(dev: SimDevice, day: string): { fromMs: number; toMs: number } {
  const drift = dev.driftSeconds * 1000;
  if (dev.apiVersion === 4) {
    const start = Date.parse(`${day}T00:00:00Z`);
    return { fromMs: start - drift, toMs: start + 24 * HOUR - drift };
  }
  const d = DateTime.fromISO(day, { zone: deviceClockZone(dev, Number(day.slice(0, 4))) });
  return { fromMs: d.toMillis() - drift, toMs: d.plus({ days: 1 }).toMillis() - drift };
}

const p2 = (n: number) => String(n).padStart(2, "0");
const pick = <T>(list: readonly T[], x: number): T => list[Math.floor(x * list.length) % list.length]!;

/** One CSV line of a vehicle in the device's API version. */
function csvLine(dev: SimDevice, zone: SimZone, v: SimVehicle, clockZone: string): string {
  const t = v.ms + dev.driftSeconds * 1000;
  const [a, b, c, d, e, f, g, h] = v.r as [number, number, number, number, number, number, number, number];
  const turn = a < 0.9 ? TURN_LETTER[zone.turn] : pick(["S", "L", "R", "U"], b);
  const length = c < 0.1 ? 18 + Math.floor(d * 40) : 8 + Math.floor(d * 9);
  const speed = 5 + Math.floor(e * 45);
  const light = pick(["G", "G", "G", "Y", "R"], f);
  const inZone = (0.3 + g * 4).toFixed(1);
  if (dev.apiVersion === 4) {
    const u = new Date(t);
    const ts = `${u.getUTCFullYear()}${p2(u.getUTCMonth() + 1)}${p2(u.getUTCDate())}T${p2(u.getUTCHours())}${p2(u.getUTCMinutes())}${p2(u.getUTCSeconds())}.${String(u.getUTCMilliseconds()).padStart(3, "0")}000`;
    return [4, 12, ts, Math.floor(h * 100000), pick(["1", "2", "3"], a), length, speed, turn, "SLR", inZone, (g * 30).toFixed(2),
      Math.floor(b * 5), light, (f * 60).toFixed(1), Math.floor(t / 100) % 1_000_000, pick(["D", "D", "N"], (t / HOUR / 24) % 1)].join(",");
  }
  const wall = DateTime.fromMillis(t, { zone: clockZone });
  const hundredths = Math.floor((t % 1000) / 10);
  const ts = `${wall.hour * 10000 + wall.minute * 100 + wall.second}.${p2(hundredths)}`;
  if (dev.apiVersion === 7) {
    return [7, 21, ts, wall.offset, turn, length, speed, light, inZone, Math.floor(b * 4), 50 + Math.floor(h * 50)].join(",");
  }
  return [8, 23, ts, wall.offset, turn, length, speed, light, inZone, Math.floor(b * 4), (h * 120).toFixed(2), (f * 60).toFixed(1),
    35 + (dev.seed % 10), 33 + (dev.seed % 10)].join(",");
}

/** The zone CSV texts of one device day ("<dashed GUID>.csv" → text). */
export function dayCsvs(dev: SimDevice, day: string): Map<string, string> {
  const { fromMs, toMs } = deviceDayWindow(dev, day);
  const clockZone = deviceClockZone(dev, Number(day.slice(0, 4)));
  const out = new Map<string, string>();
  dev.zones.forEach((zone, i) => {
    const lines = zoneVehicles(dev, i, fromMs, toMs).map((v) => csvLine(dev, zone, v, clockZone));
    out.set(`${dashGuid(zone.id)}.csv`, lines.length ? `${lines.join("\r\n")}\r\n` : "");
  });
  return out;
}

export function macFolder(mac: string): string {
  return mac.replace(/:/g, "-");
}

/** The day's counts archive as the device serves it (Type A: date folder; Type B: inner day zip). */
export function dayArchive(dev: SimDevice, day: string): Uint8Array {
  const csvs = dayCsvs(dev, day);
  const mac = macFolder(dev.mac);
  const files: Record<string, Uint8Array> = {};
  const enc = new TextEncoder();
  // A fixed entry time (the end of the day) keeps archives byte-for-byte reproducible.
  const opts = { level: 6 as const, mtime: `${day}T23:59:58` };
  if (dev.layout === "A") {
    for (const [name, text] of csvs) files[`${mac}/${day}/${name}`] = enc.encode(text);
  } else {
    const inner: Record<string, Uint8Array> = {};
    for (const [name, text] of csvs) inner[name] = enc.encode(text);
    files[`${mac}/${day}.zip`] = zipSync(inner, opts);
  }
  return zipSync(files, opts);
}

// ------------------------------------------------------------------ device answers

export function siteJson(dev: SimDevice): GsSite {
  return {
    Id: createHash("md5").update(`site|${dev.ip}`).digest("hex"),
    Location: {
      City: "Austin",
      Country: "USA",
      County: "Travis",
      Latitude: dev.lat,
      Longitude: dev.lon,
      MetricUnits: false,
      PostalCode: "78757",
      RightSideDriving: true,
      State: "TX",
      Street1: dev.street1,
      Street2: dev.street2,
    },
    CameraDevices: [
      {
        Fisheye: {
          IsConfigured: true,
          MACAddress: dev.mac,
          Name: `${dev.street1} & ${dev.street2}`,
          CameraMasks: {
            ZoneMasks: dev.zones.map((z) => ({
              Vehicle: {
                ApproachType: z.approach,
                NumberOfLanes: 1,
                TurnType: z.turn,
                ExpectedFreeFlowSpeed: 40,
                IncludeInData: z.includeInData,
                Name: "",
                Id: z.id,
              },
            })),
          },
        },
      },
    ],
  };
}

/** datetime.json at a true instant: the device wall clock (with drift) in its clock zone. */
export function datetimeJson(dev: SimDevice, nowMs: number): GsDateTime & Record<string, unknown> {
  const t = nowMs + dev.driftSeconds * 1000;
  const year = new Date(t).getUTCFullYear();
  const wall = DateTime.fromMillis(t, { zone: deviceClockZone(dev, year) });
  return {
    DateTime: wall.toFormat("M/d/yyyy h:mm:ss a"),
    TimeZoneId: dev.timeZoneId,
    UtcOffset: wall.offset,
    NtpEnabled: dev.followsDst && dev.driftSeconds === 0,
    HostTimeUTC: "",
  };
}

export function hardwareInfoJson(dev: SimDevice): Record<string, unknown> {
  return { BoxSerialNumber: `GS2-${1000 + (dev.seed % 9000)}`, HardwareId: dev.mac.replace(/:/g, "").toUpperCase(), HardwareVersion: "GS2" };
}

/** Inventory (unit data) row of a device, keys in original §6.1 GS order. */
export function unitDevice(dev: SimDevice): GsUnitDevice {
  return {
    device_type: "GRIDSMART",
    atd_device_id: dev.atdDeviceId,
    device_ip: dev.ip,
    device_status: dev.deviceStatus,
    ip_comm_status: "ONLINE",
    atd_location_id: dev.locationId,
    coa_intersection_id: dev.coaIntersectionId,
    lat: dev.lat,
    lon: dev.lon,
    primary_st: dev.primarySt,
    primary_st_segment_id: dev.coaIntersectionId ? dev.coaIntersectionId + 1 : null,
    cross_st: dev.crossSt,
    cross_st_segment_id: dev.coaIntersectionId ? dev.coaIntersectionId + 2 : null,
  };
}

// ------------------------------------------------------------------ the demo's three intersections

export interface DemoDeviceOptions {
  vehiclesPerZonePerDay?: number;
  zonesPerDevice?: number;
  /** More intersections than the three: the three kinds again in turn, each with its own address and streets. */
  intersections?: number;
  /** Zones in all (spread over the intersections, the first ones one more), instead of zonesPerDevice each. */
  totalZones?: number;
}

/** The large day (DemoContext size "large"): 8 intersections, 36 zones, about 107,000 vehicles. */
export const LARGE_DEVICES: DemoDeviceOptions = { intersections: 8, totalZones: 36, vehiclesPerZonePerDay: 2_975 };

/** The demo's devices at a simulator size. */
export function sizedDevices(size: "demo" | "large" | undefined): SimDevice[] {
  return demoDevices(size === "large" ? LARGE_DEVICES : {});
}

/**
 * Three intersections, one per API version: v8 Type A on network time (daylight time, no drift), v7 Type B whose
 * clock runs 17 minutes fast, v4 Type B (UTC days) 40 seconds slow.
 */
export function demoDevices(opts: DemoDeviceOptions = {}): SimDevice[] {
  const three = baseDevices(opts.vehiclesPerZonePerDay ?? 300, opts.zonesPerDevice ?? 12);
  const n = opts.intersections ?? 3;
  const devices = Array.from({ length: n }, (_, i) => {
    const t = three[i % 3]!;
    if (i < 3) return t;
    const ip = `10.66.2.${i + 1}`;
    const mac = `00:30:53:${(0x50 + i).toString(16)}:${t.mac.slice(12)}`;
    return {
      ...t,
      ip,
      atdDeviceId: 6110 + i,
      locationId: `LOC16-00${3000 + i}`,
      coaIntersectionId: 5160000 + i,
      primarySt: ` SIM AVE ${i + 1}`,
      crossSt: ` CROSS ST ${i + 1}`,
      street1: `Sim${i + 1}`,
      street2: `Cross${i + 1}`,
      lat: t.lat + i / 1000,
      lon: t.lon - i / 1000,
      mac,
      zones: makeZones(ip, t.zones.length),
      seed: t.seed + 100 * i,
    };
  });
  if (opts.totalZones !== undefined) {
    devices.forEach((d, i) => {
      const nz = Math.floor(opts.totalZones! / n) + (i < opts.totalZones! % n ? 1 : 0);
      d.zones = makeZones(d.ip, nz);
    });
  }
  return devices;
}

function baseDevices(per: number, nz: number): SimDevice[] {
  const common = { deviceStatus: "TURNED_ON", clockZone: "America/Chicago", timeZoneId: "(UTC-06:00) Central Time (US & Canada)", vehiclesPerZonePerDay: per };
  return [
    {
      ...common,
      ip: "10.66.1.21",
      atdDeviceId: 6101,
      locationId: "LOC16-000935",
      coaIntersectionId: 5151323,
      primarySt: " BURNET RD",
      crossSt: " RICHCREEK RD",
      street1: "Burnet",
      street2: "Richcreek",
      lat: 30.35,
      lon: -97.73,
      mac: "00:30:53:26:e6:e1",
      apiVersion: 8,
      layout: "A",
      followsDst: true,
      driftSeconds: 0,
      zones: makeZones("10.66.1.21", nz),
      seed: 11,
    },
    {
      ...common,
      ip: "10.66.1.22",
      atdDeviceId: 6102,
      locationId: "LOC16-001207",
      coaIntersectionId: 5152210,
      primarySt: " LAMAR BLVD",
      crossSt: " 38TH ST",
      street1: "Lamar",
      street2: "38th",
      lat: 30.3033,
      lon: -97.7453,
      mac: "00:30:53:1b:02:7c",
      apiVersion: 7,
      layout: "B",
      followsDst: true,
      driftSeconds: 17 * 60,
      zones: makeZones("10.66.1.22", nz),
      seed: 22,
    },
    {
      ...common,
      ip: "10.66.1.23",
      atdDeviceId: 6103,
      locationId: "LOC16-002410",
      coaIntersectionId: 5153377,
      primarySt: " CONGRESS AVE",
      crossSt: " OLTORF ST / LIVE OAK ST",
      street1: "Congress",
      street2: "Oltorf/Live Oak",
      lat: 30.2452,
      lon: -97.7505,
      mac: "00:30:53:40:9a:11",
      apiVersion: 4,
      layout: "B",
      followsDst: true,
      driftSeconds: -40,
      zones: makeZones("10.66.1.23", nz),
      seed: 33,
    },
  ];
}

/** Days from..to (exclusive), YYYY-MM-DD. */
export function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let d = DateTime.fromISO(from, { zone: "UTC" }); d < DateTime.fromISO(to, { zone: "UTC" }); d = d.plus({ days: 1 })) out.push(d.toISODate()!);
  return out;
}

/** Inventory of the demo: the three devices plus a removed one (left out by gs-insert-lake's filters). */
export function demoInventory(size?: "demo" | "large"): GsUnitDevice[] {
  const devices = sizedDevices(size).map(unitDevice);
  const removed = { ...devices[0]!, atd_device_id: 6199, device_ip: "10.66.1.99", device_status: "REMOVED", atd_location_id: "LOC16-009999" };
  return [...devices, removed];
}

/** The demo's field devices (three intersections, one per API version, one with a drifted clock) behind the device fake. */
const demo: SourceDemo = {
  async simulate(ctx) {
    writeInventorySection(path.join(ctx.home, "sources", "inventory.json"), "gs", demoInventory(ctx.size));
    return {};
  },
  async serve(ctx) {
    const { startGridsmartFake } = await import("./device-fake.js");
    const days = daysBetween(ctx.from, ctx.to);
    const fake = await startGridsmartFake({ devices: sizedDevices(ctx.size).map((device) => ({ device, days })) });
    return { stop: () => fake.stop(), sourceConfig: { deviceUrl: fake.deviceUrl } };
  },
  // Only the ingest stage talks to the devices.
  serveFor: ["gs-insert-lake"],
};
export default demo;
