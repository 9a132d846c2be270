/**
 * gs-ready-agg's aggregation of one intersection-day (original §9.3.4), the original's pandas code re-done:
 *
 *   heavy_vehicle = 0 if vehicle_length < 17 ft else 1 (missing length → 1, as NaN < 17 is false);
 *   timestamp = timestamp_adj as UTC (bins on UTC, so the fall-back day's two local 01:00–02:00 hours stay apart);
 *   inner join with the site's zones on `zone` (zone_approach = ApproachType);
 *   group by (N-minute bin, zone_approach, turn, heavy_vehicle), observed combinations only, rows with a missing
 *   key dropped (pandas dropna), groups in key order;
 *   volume = rows; speed / seconds_in_zone: mean and sample standard deviation (n − 1; fewer than two values → 0)
 *   over the non-missing values, rounded to 3 places as pandas' DataFrame.round(3) does (numpy: the value times
 *   1000, rounded half to even as a float, divided by 1000; see npRound);
 *   timestamp written as the bin start in local time, "YYYY-MM-DD HH:MM:SS-05:00".
 *
 * Bins follow pandas' Grouper default origin ("start_day"): multiples of N minutes from UTC midnight of the day of
 * the earliest timestamp (for N dividing a day this is plain flooring on UTC).
 *
 * Numerics: the mean uses Kahan-compensated summation and the variance Welford's update, as pandas' grouped
 * mean/var do, so results agree with the original to the last bit before rounding.
 */
import { DateTime } from "luxon";
import { TerminalError } from "../../support/errors.js";
import { pyStr, pyStrEpochMs } from "../../util/dates.js";
import { PyFloat } from "../../util/pyjson.js";
import { numericValue } from "../../util/pyjson-parse.js";

/** Vehicles this long (feet) or longer are heavy (the original's threshold). */
export const HEAVY_VEHICLE_FEET = 17;

export const aggExt = (minutes: number) => `agg${minutes}.json`;

/** A zone of the site file the counts are joined with. */
export interface Movement {
  zone: string;
  zone_approach: unknown;
  turn_type: unknown;
}

export interface AggRow {
  timestamp: string;
  zone_approach: string;
  turn: string;
  heavy_vehicle: number;
  volume: number;
  speed_avg: PyFloat;
  speed_std: PyFloat;
  seconds_in_zone_avg: PyFloat;
  seconds_in_zone_std: PyFloat;
}

/**
 * numpy.round(x, ndigits), which pandas' DataFrame.round uses and so the original's aggregates: rint(x · 10^n) / 10^n,
 * the product rounded half to even *as a float*. It differs from Python's round() (which rounds the exact binary
 * value) in rare cases: the Kahan mean 18.0425 (binary 18.04250000000000043) gives 18.042 here, 18.043 in Python.
 * Cross-checked against the original's pandas code on 4,260 vehicles (test/gs-ready/aggregate.test.ts).
 */
export function npRound(x: number, ndigits: number): number {
  if (!Number.isFinite(x)) return x;
  const scale = 10 ** ndigits;
  const y = x * scale;
  const floor = Math.floor(y);
  const diff = y - floor;
  let r: number;
  if (diff > 0.5) r = floor + 1;
  else if (diff < 0.5) r = floor;
  else r = floor % 2 === 0 ? floor : floor + 1;
  return r / scale;
}

/**
 * Python's round(x, ndigits): the decimal nearest to the exact binary value of x, ties (only possible when x is
 * exactly halfway in binary) to even. Number.prototype.toFixed rounds the exact value too, but ties away from zero.
 */
export function pyRound(x: number, ndigits: number): number {
  if (!Number.isFinite(x) || Math.abs(x) >= 1e21) return x;
  const abs = Math.abs(x);
  let text = abs.toFixed(ndigits);
  // Exact decimal expansion (a double in this range has at most ~1074 binary, hence decimal, fraction digits, but
  // toFixed(100) is exact for anything whose fraction needs <= 100 digits, which covers every value >= 2^-47).
  const exact = abs.toFixed(100);
  const dot = exact.indexOf(".");
  const tail = exact.slice(dot + 1 + ndigits);
  if (tail[0] === "5" && /^50*$/.test(tail)) {
    // A true tie: toFixed went up (away from zero); go down instead when the kept last digit is odd → even.
    const kept = exact.slice(0, dot + 1 + ndigits).replace(/\.$/, "");
    const lastDigit = Number(kept.replace(".", "").slice(-1));
    if (lastDigit % 2 === 0) text = kept;
  }
  const v = Number(text);
  return x < 0 ? -v : v;
}

class Stat {
  n = 0;
  // Kahan sum for the mean.
  private sum = 0;
  private comp = 0;
  // Welford for the variance.
  private mean = 0;
  private ssqdm = 0;

  add(v: number): void {
    this.n++;
    const y = v - this.comp;
    const t = this.sum + y;
    this.comp = t - this.sum - y;
    this.sum = t;
    const old = this.mean;
    this.mean += (v - old) / this.n;
    this.ssqdm += (v - this.mean) * (v - old);
  }

  avg(): number {
    return this.n ? this.sum / this.n : NaN;
  }

  /** Sample standard deviation; fewer than two values → 0 (the original's fillna(0)). */
  std(): number {
    if (this.n < 2) return 0;
    return Math.sqrt(this.ssqdm / (this.n - 1));
  }
}

interface Group {
  bin: number;
  approach: string;
  turn: string;
  heavy: number;
  volume: number;
  speed: Stat;
  secs: Stat;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function keyText(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === "number" && Number.isNaN(v)) return undefined;
  if (v instanceof PyFloat) return Number.isNaN(v.value) ? undefined : String(v.value);
  return String(v);
}

/**
 * Aggregates the counts of one intersection-day. `counts` are the ready counts rows (with `zone` and
 * `timestamp_adj`), `movements` the zones to join with, `zone` the lake's time zone for the output timestamps.
 */
export function aggregate(counts: readonly Record<string, unknown>[], movements: readonly Movement[], minutes: number, zone: string, what = "counts"): AggRow[] {
  if (!Number.isInteger(minutes) || minutes <= 0) throw new TerminalError(`aggregation interval must be a positive whole number of minutes, not ${minutes}`);
  const binMs = minutes * 60_000;
  // Each joined movement with its approach key text, decided once per movement rather than once per row.
  const approachIds = new Map<string, number>();
  const byZone = new Map<string, { approach: string | undefined; approachId: number }[]>();
  for (const m of movements) {
    const approach = keyText(m.zone_approach);
    let approachId = -1;
    if (approach !== undefined) {
      approachId = approachIds.get(approach) ?? approachIds.size;
      approachIds.set(approach, approachId);
    }
    const list = byZone.get(m.zone);
    if (list) list.push({ approach, approachId });
    else byZone.set(m.zone, [{ approach, approachId }]);
  }
  // Times first: pandas' origin is UTC midnight of the earliest timestamp's day.
  const times = new Array<number>(counts.length);
  let minMs = Infinity;
  for (let i = 0; i < counts.length; i++) {
    const ms = pyStrEpochMs(counts[i]!.timestamp_adj);
    if (ms === undefined) throw new TerminalError(`${what}: counts[${i}].timestamp_adj is missing or unreadable ("${String(counts[i]!.timestamp_adj)}")`);
    times[i] = ms;
    if (ms < minMs) minMs = ms;
  }
  const origin = Number.isFinite(minMs) ? Math.floor(minMs / 86_400_000) * 86_400_000 : 0;

  // Groups are found by a number made of (bin index, approach id, turn id, heavy) while these stay small, which is
  // every real day; beyond that by a text key. Either way one group per (bin, approach, turn, heavy).
  const groups = new Map<number | string, Group>();
  const turnIds = new Map<string, number>();
  for (let i = 0; i < counts.length; i++) {
    const row = counts[i]!;
    const joined = byZone.get(String(row.zone));
    if (!joined) continue;
    const turn = keyText(row.turn);
    if (turn === undefined) continue;
    let turnId = turnIds.get(turn);
    if (turnId === undefined) turnIds.set(turn, (turnId = turnIds.size));
    const len = numericValue(row.vehicle_length);
    const heavy = len !== undefined && len < HEAVY_VEHICLE_FEET ? 0 : 1;
    const binIndex = Math.floor((times[i]! - origin) / binMs);
    const bin = origin + binIndex * binMs;
    const speed = numericValue(row.speed);
    const secs = numericValue(row.seconds_in_zone);
    for (const m of joined) {
      const approach = m.approach;
      if (approach === undefined) continue;
      const key =
        binIndex < 1 << 20 && m.approachId < 4096 && turnId < 4096
          ? ((binIndex * 4096 + m.approachId) * 4096 + turnId) * 2 + heavy
          : `${bin}\u0000${approach}\u0000${turn}\u0000${heavy}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { bin, approach, turn, heavy, volume: 0, speed: new Stat(), secs: new Stat() }));
      g.volume++;
      if (speed !== undefined && !Number.isNaN(speed)) g.speed.add(speed);
      if (secs !== undefined && !Number.isNaN(secs)) g.secs.add(secs);
    }
  }
  const sorted = [...groups.values()].sort((a, b) => a.bin - b.bin || cmp(a.approach, b.approach) || cmp(a.turn, b.turn) || a.heavy - b.heavy);
  const binText = new Map<number, string>();
  const localText = (ms: number) => {
    let t = binText.get(ms);
    if (t === undefined) binText.set(ms, (t = pyStr(DateTime.fromMillis(ms, { zone }))));
    return t;
  };
  return sorted.map((g) => ({
    timestamp: localText(g.bin),
    zone_approach: g.approach,
    turn: g.turn,
    heavy_vehicle: g.heavy,
    volume: g.volume,
    speed_avg: new PyFloat(npRound(g.speed.avg(), 3)),
    speed_std: new PyFloat(npRound(g.speed.std(), 3)),
    seconds_in_zone_avg: new PyFloat(npRound(g.secs.avg(), 3)),
    seconds_in_zone_std: new PyFloat(npRound(g.secs.std(), 3)),
  }));
}

/** The aggregate file (original §9.3.4): the counts header + processing_date + agg_interval_sec, then data, site, device. */
export function aggFile(countsJson: { header: Record<string, unknown>; site: unknown; device: unknown }, data: AggRow[], processingDate: string, minutes: number) {
  return {
    header: { ...countsJson.header, processing_date: processingDate, agg_interval_sec: minutes * 60 },
    data,
    site: countsJson.site,
    device: countsJson.device,
  };
}
