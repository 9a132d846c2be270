/**
 * Device matching for gs-ready (original §9.3.3): which unit-data (Knack) device is the GRIDSMART intersection whose
 * site file says Location.Street1 / Street2? A cascade, first success wins:
 *
 *   0. lookup table "Street1_Street2" → atd_location_id (KNACK_LOOKUPS, overridden/extended by sources.gs.lookups);
 *   1. fuzzy name match: Python difflib ratio of "street1 street2" (lower case) against "primary cross" and
 *      "cross primary" of every device; the best strictly-greater ratio wins and must be >= 0.7;
 *   2. street synonyms (whole-string replacements of a street name), then the fuzzy match again;
 *   3. the device IP the site file was read from (header.device_net_addr) equal to a device_ip;
 *   4. the nearest device by haversine distance from the site's coordinates, accepted under 300 ft.
 *
 * Pure functions: the unit data is never mutated (the original mutated its cached copy, so a `reversed` flag or an
 * emptied street name leaked from one intersection into the next); the matched device is returned as a copy with
 * `reversed` added.
 *
 * Differences from the original, on purpose:
 * - B16: the lookup path sets `reversed` too: true when the device's "cross primary" orientation resembles the site's
 *   streets (or their synonyms) more than "primary cross" does; false on a tie.
 * - B26: STREET_SYNONYMS had "Loop 1" twice, so Python kept only the last value ("MOPAC EXPY SVRD"). Here a street
 *   maps to a list of replacements and every one is tried; the best ratio wins, and on equal ratios the earlier
 *   replacement wins, so "MOPAC EXPY SVRD" (the value the original really used) takes precedence over "MOPAC".
 * - A lookup entry whose location id is not in the unit data falls through to the rest of the cascade (the
 *   original stopped there with no device).
 * - The GPS step runs whenever the IP step finds nothing, also when the site file has no device_net_addr (the
 *   original then skipped both).
 */
import * as z from "zod/mini";
import { ConfigError } from "../../support/errors.js";
import type { UnitDevice } from "../../support/drivers.js";
import { PyFloat } from "../../util/pyjson.js";
import { similarityRatio } from "./difflib.js";

/** The original's config_app.KNACK_LOOKUPS: GRIDSMART "Street1_Street2" → Knack atd_location_id. */
export const KNACK_LOOKUPS: Readonly<Record<string, string>> = {
  "Loop 360_Barton Creek": "LOC16-004315",
  "Loop 360_Loop 1 SBFR": "LOC16-004350",
  "Parmer_Market Dwy": "LOC16-002565",
};

/**
 * The original's config_app.STREET_SYNONYMS with the duplicate "Loop 1" key kept as two candidates (B26); the
 * first candidate wins ties.
 */
export const STREET_SYNONYMS: Readonly<Record<string, readonly string[]>> = {
  "Loop 1": ["MOPAC EXPY SVRD", "MOPAC"],
  "Loop 360": ["CAPITAL OF TEXAS HWY"],
  "Hancock Mall": ["N IH 35 SVRD SB AT 41ST TRN"],
};

/** The original's MIN_MATCH_RATIO: lowest difflib ratio accepted as a name match. */
export const MIN_MATCH_RATIO = 0.7;
/** The original's MAX_DIST: farthest a device may be (feet) for the GPS fallback. */
export const MAX_GPS_FEET = 300;

const EARTH_RADIUS_M = 6_371_000;
const MILES_PER_METRE = 0.000621371;
const FEET_PER_MILE = 5280;

/** The original's gps_h.gps2feet: haversine on a 6,371,000 m sphere, metres → miles (× 0.000621371) → feet. */
export function gps2feet(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = (d: number) => (d * Math.PI) / 180;
  const phi1 = rad(lat1);
  const phi2 = rad(lat2);
  const dPhi = rad(lat2 - lat1);
  const dLambda = rad(lon2 - lon1);
  const a = Math.sin(dPhi / 2) ** 2 + Math.cos(phi1) * Math.cos(phi2) * Math.sin(dLambda / 2) ** 2;
  const c = 2 * Math.atan2(Math.sqrt(a), Math.sqrt(1 - a));
  return EARTH_RADIUS_M * c * MILES_PER_METRE * FEET_PER_MILE;
}

export interface MatchTables {
  lookups: Readonly<Record<string, string>>;
  synonyms: Readonly<Record<string, readonly string[]>>;
}

const nonEmpty = z.string().check(z.minLength(1));
const tablesSchema = z.looseObject({
  lookups: z.optional(z.record(z.string(), nonEmpty)),
  synonyms: z.optional(z.record(z.string(), z.union([nonEmpty, z.array(nonEmpty).check(z.minLength(1))]))),
});

/**
 * The match tables of a run: the built-in ones, with `sources.gs.lookups` ({"Street1_Street2": "LOC..."}) and
 * `sources.gs.synonyms` ({"Street": "REPLACEMENT" or ["FIRST", "SECOND"]}) from the config overriding or adding
 * entries key by key.
 */
export function matchTables(sourceConfig: Record<string, unknown> = {}): MatchTables {
  const parsed = tablesSchema.safeParse(sourceConfig);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(
      `sources.gs.${issue.path.join(".")}: ${issue.message} (lookups: {"Street1_Street2": "<atd_location_id>"}, ` +
        `synonyms: {"<street>": "<replacement>" or ["<replacement>", ...]})`,
    );
  }
  const synonyms: Record<string, readonly string[]> = { ...STREET_SYNONYMS };
  for (const [k, v] of Object.entries(parsed.data.synonyms ?? {})) synonyms[k] = Array.isArray(v) ? v : [v];
  return { lookups: { ...KNACK_LOOKUPS, ...(parsed.data.lookups ?? {}) }, synonyms };
}

/** What the site file says about the intersection. */
export interface SiteIdentity {
  street1: string;
  street2: string;
  latitude?: unknown;
  longitude?: unknown;
  /** header.device_net_addr: the IP the site file was read from. */
  netAddr?: string | undefined;
}

export type MatchMethod = "lookup" | "fuzzy" | "synonym" | "ip" | "gps" | "none";

export interface MatchResult {
  /** Copy of the matched unit-data device with `reversed` added; undefined when nothing matched. */
  device: (UnitDevice & { reversed: boolean }) | undefined;
  method: MatchMethod;
  /** Best fuzzy ratio seen (0 when the fuzzy steps did not run). */
  ratio: number;
  /** Distance of the GPS match, feet. */
  feet?: number;
  /** The fuzzy string that won (after synonyms). */
  matchedOn?: string;
  /** Things worth a warning in the log. */
  warnings: string[];
}

interface Candidate {
  text: string;
  reversed: boolean;
  device: UnitDevice;
}

const isNanLike = (v: unknown) =>
  (typeof v === "number" && Number.isNaN(v)) || (v instanceof PyFloat && Number.isNaN(v.value)) || v === "nan";

/** A street name as the original read it: null/empty → "" (Python `if not x: x = ""`), strings trimmed. */
function streetText(v: unknown): string {
  if (v === null || v === undefined || v === "" || v === false) return "";
  return String(v).trim();
}

/** The device as written into the counts file: names null → "" (as the original's matching left them), + reversed. */
function matchedCopy(device: UnitDevice, reversed: boolean): UnitDevice & { reversed: boolean } {
  const copy: UnitDevice = { ...device };
  for (const k of ["primary_st", "cross_st"] as const) {
    if (k in copy && (copy[k] === null || copy[k] === undefined)) copy[k] = "";
  }
  return { ...copy, reversed };
}

/** Both orientations of every device with usable names, in unit-data order (primary-cross first). */
export function candidates(devices: readonly UnitDevice[]): Candidate[] {
  const out: Candidate[] = [];
  for (const device of devices) {
    if (isNanLike(device.primary_st) || isNanLike(device.cross_st)) continue;
    const p = streetText(device.primary_st);
    const c = streetText(device.cross_st);
    out.push({ text: `${p} ${c}`.toLowerCase(), reversed: false, device });
    out.push({ text: `${c} ${p}`.toLowerCase(), reversed: true, device });
  }
  return out;
}

/** The original's _findFuzzyWinner: the first candidate with the strictly greatest ratio. */
export function fuzzyWinner(list: readonly Candidate[], test: string): { winner: Candidate | undefined; ratio: number } {
  let winner: Candidate | undefined;
  let best = 0;
  for (const cand of list) {
    const r = similarityRatio(test, cand.text);
    if (r > best) {
      winner = cand;
      best = r;
    }
  }
  return { winner, ratio: best };
}

/** Every synonym substitution of (street1, street2), in candidate order; the unchanged pair is not included. */
export function synonymVariants(street1: string, street2: string, synonyms: MatchTables["synonyms"]): string[] {
  const opts1 = synonyms[street1] ?? [street1];
  const opts2 = synonyms[street2] ?? [street2];
  const plain = `${street1} ${street2}`.toLowerCase();
  const out: string[] = [];
  for (const s1 of opts1) {
    for (const s2 of opts2) {
      const t = `${s1} ${s2}`.toLowerCase();
      if (t !== plain && !out.includes(t)) out.push(t);
    }
  }
  return out;
}

function toNumber(v: unknown): number | undefined {
  if (v instanceof PyFloat) v = v.value;
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  if (typeof v === "string" && v.trim() !== "") {
    const n = Number(v.trim());
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** Orientation of a device against the site streets (plain and synonym forms): reversed when "cross primary" wins. */
function orientation(device: UnitDevice, tests: readonly string[]): boolean {
  const [forward, backward] = candidates([device]);
  if (!forward || !backward) return false;
  let f = 0;
  let b = 0;
  for (const t of tests) {
    f = Math.max(f, similarityRatio(t, forward.text));
    b = Math.max(b, similarityRatio(t, backward.text));
  }
  return b > f;
}

/** Runs the cascade for one intersection. */
export function matchDevice(site: SiteIdentity, devices: readonly UnitDevice[], tables: MatchTables = matchTables()): MatchResult {
  const warnings: string[] = [];
  const street1 = streetText(site.street1);
  const street2 = streetText(site.street2);
  const plain = `${street1} ${street2}`.toLowerCase();
  const variants = synonymVariants(street1, street2, tables.synonyms);

  // Stage 0: the lookup table.
  const lookupKey = `${street1}_${street2}`;
  const locationId = tables.lookups[lookupKey];
  if (locationId !== undefined) {
    const device = devices.find((d) => d.atd_location_id === locationId);
    if (device) {
      return { device: matchedCopy(device, orientation(device, [plain, ...variants])), method: "lookup", ratio: 0, warnings };
    }
    warnings.push(`lookup entry "${lookupKey}" names location ${locationId}, which is not in the unit data; trying the other match steps`);
  }

  // Stage 1: fuzzy names.
  const list = candidates(devices);
  let { winner, ratio } = fuzzyWinner(list, plain);
  let method: MatchMethod = "fuzzy";
  let matchedOn = plain;
  // Stage 2: synonyms (each candidate combination in order; strictly better wins).
  if (ratio < MIN_MATCH_RATIO) {
    for (const v of variants) {
      const r = fuzzyWinner(list, v);
      if (r.ratio > ratio) {
        ({ winner, ratio } = r);
        method = "synonym";
        matchedOn = v;
      }
    }
  }
  if (ratio >= MIN_MATCH_RATIO && winner) {
    return { device: matchedCopy(winner.device, winner.reversed), method, ratio, matchedOn, warnings };
  }
  warnings.push(`no unit-data device resembles "${street1} / ${street2}" by name (best ratio ${ratio.toFixed(3)})`);

  // Stage 3: the IP address the site file came from.
  if (site.netAddr) {
    const device = devices.find((d) => d.device_ip === site.netAddr);
    if (device) return { device: matchedCopy(device, false), method: "ip", ratio, warnings };
    warnings.push(`no unit-data device has IP ${site.netAddr}`);
  }

  // Stage 4: the nearest device by GPS.
  const lat = toNumber(site.latitude);
  const lon = toNumber(site.longitude);
  if (lat !== undefined && lon !== undefined) {
    let best: { device: UnitDevice; feet: number } | undefined;
    for (const device of devices) {
      const dlat = toNumber(device.lat);
      const dlon = toNumber(device.lon);
      if (dlat === undefined || dlon === undefined) continue;
      const feet = gps2feet(lat, lon, dlat, dlon);
      if (!best || best.feet > feet) best = { device, feet };
    }
    if (best && best.feet < MAX_GPS_FEET) {
      return { device: matchedCopy(best.device, false), method: "gps", ratio, feet: best.feet, warnings };
    }
    warnings.push(best ? `nearest device is ${Math.round(best.feet)} ft away (limit ${MAX_GPS_FEET} ft)` : "no device has coordinates");
  } else {
    warnings.push("the site file has no usable coordinates");
  }
  return { device: undefined, method: "none", ratio, warnings };
}

/** One line for the log: how the device was found. */
export function describeMatch(m: MatchResult): string {
  const d = m.device;
  const name = d ? `${String(d.primary_st)} / ${String(d.cross_st)} (${String(d.atd_location_id)})` : "";
  switch (m.method) {
    case "lookup":
      return `matched ${name} by the lookup table${d?.reversed ? ", reversed" : ""}`;
    case "fuzzy":
    case "synonym":
      return `matched ${name} by ${m.method === "synonym" ? "synonym " : ""}name "${m.matchedOn}" (ratio ${m.ratio.toFixed(3)}${d?.reversed ? ", reversed" : ""})`;
    case "ip":
      return `matched ${name} by IP address`;
    case "gps":
      return `matched ${name} by coordinates at ${Math.round(m.feet ?? 0)} ft`;
    case "none":
      return "no matching unit-data device";
  }
}
