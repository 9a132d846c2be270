/**
 * Row rules: what a source declares its rows must be (`defineSource({rules: {<row kind>: {ranges, day}}})`), checked
 * the same way for every source. A stage asks `ctx.rules(kind, columns)` for a checker and hands it each row's
 * values; a row that breaks a rule is not carried over but quarantined (counted per reason in the summary and
 * perfmet, and written with its file, line, field and value to the quarantine object beside the day).
 *
 * - ranges: a numeric field must be a number (or numeric text) in [min, max]; `integer` asks for an exact integer
 *   (a value a double cannot hold exactly, beyond 2^53, is refused too: it would be published altered);
 * - day: the row's time fields must fall in the item's day [00:00, next 00:00) local, widened by `slackHours` on
 *   both sides (a Bluetooth file holds trips that started the evening before).
 *
 * Missing values (null, undefined, empty text) and text that is no number are not judged here: the stage's own
 * reading decides about them (and reports them as it did).
 */
import { DateTime } from "luxon";
import { PyFloat } from "../util/pyjson.js";

export interface FieldRange {
  min?: number;
  max?: number;
  /** An exact integer (and no larger than 2^53 in magnitude). */
  integer?: boolean;
}

export interface DayRule {
  /** Fields holding a time of the row (str(datetime) text, local wall-clock text, a DateTime or epoch ms). */
  fields: readonly string[];
  /** Hours allowed before the day's start and after its end (default 0). */
  slackHours?: number;
}

export interface RowRules {
  ranges?: Readonly<Record<string, FieldRange>>;
  day?: DayRule;
}

/** Why a row breaks the rules. `reason` names the field and the rule (no value), so rows count per reason. */
export interface RuleBreak {
  reason: string;
  field: string;
  value: unknown;
}

interface RangeCheck {
  c: number;
  field: string;
  min: number;
  max: number;
  integer: boolean;
  reasonRange: string;
  reasonNumber: string;
  reasonInteger: string;
}

const STR_TIME = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d+)?)([+-]\d{2}:\d{2}|Z)?$/;

function bound(n: number): string {
  return Number.isInteger(n) && Math.abs(n) >= 1e6 ? n.toExponential().replace("e+", "e") : String(n);
}

/** A value as a number (bigint beyond 15 digits); undefined when missing or not numeric text; NaN for NaN. */
function numberOf(v: unknown): number | bigint | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === "number") return v;
  if (v instanceof PyFloat) return v.value;
  if (typeof v === "bigint") return v;
  if (typeof v === "string") {
    const t = v.trim();
    if (t === "") return undefined;
    // Text that is no number is the stage's own reading to report (an unreadable field), not a range question.
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return undefined;
    return /^[+-]?\d+$/.test(t) && t.replace(/^[+-]?0*/, "").length > 15 ? BigInt(t) : Number(t);
  }
  return Number.NaN;
}

/**
 * Epoch ms of a time value; undefined when missing or not a time (its own reading reports that). A wall-clock time
 * (no offset) is read in the zone as luxon reads it; `minutes` keeps, per wall-clock minute, the difference luxon
 * gives between the instant and the wall time read as UTC (constant within a minute, DST gaps and overlaps
 * included, as zones change offset on whole minutes), so a file's rows cost luxon once per minute, not per row.
 */
export function timeOf(v: unknown, zone: string, minutes?: Map<string, number | null>): number | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  if (DateTime.isDateTime(v)) return v.isValid ? v.toMillis() : undefined;
  if (typeof v !== "string") return undefined;
  const m = STR_TIME.exec(v.trim());
  if (!m) return undefined;
  if (m[3]) {
    const ms = Date.parse(`${m[1]}T${m[2]}${m[3]}`);
    return Number.isNaN(ms) ? undefined : ms;
  }
  const luxon = () => {
    const d = DateTime.fromISO(`${m[1]}T${m[2]}`, { zone });
    return d.isValid ? d.toMillis() : undefined;
  };
  if (!minutes) return luxon();
  const asUtc = Date.parse(`${m[1]}T${m[2]}Z`);
  if (Number.isNaN(asUtc)) return luxon();
  const minute = `${m[1]}T${m[2]!.slice(0, 5)}`;
  let delta = minutes.get(minute);
  if (delta === undefined) {
    const start = DateTime.fromISO(minute, { zone });
    delta = start.isValid ? start.toMillis() - Date.parse(`${minute}Z`) : null;
    if (minutes.size > 100_000) minutes.clear();
    minutes.set(minute, delta);
  }
  return delta === null ? luxon() : asUtc + delta;
}

/** The rules of one row kind bound to a row layout (column names) and an item's day. */
export class RowCheck {
  readonly active: boolean;
  private readonly ranges: RangeCheck[] = [];
  private readonly dayCols: { c: number; field: string }[] = [];
  private readonly fromMs: number;
  private readonly toMs: number;
  private readonly dayReason: string;
  /** Wall-clock minute → luxon's offset from UTC reading (see timeOf). */
  private readonly minutes = new Map<string, number | null>();

  constructor(
    rules: RowRules | undefined,
    columns: readonly string[],
    day: DateTime | undefined,
    private readonly zone: string,
  ) {
    for (const [field, r] of Object.entries(rules?.ranges ?? {})) {
      const c = columns.indexOf(field);
      if (c < 0) continue;
      const min = r.min ?? -Infinity;
      const max = r.max ?? Infinity;
      const span = `[${Number.isFinite(min) ? bound(min) : "-∞"}, ${Number.isFinite(max) ? bound(max) : "∞"}]`;
      this.ranges.push({
        c,
        field,
        min,
        max,
        integer: r.integer === true,
        reasonRange: `${field} outside ${span}`,
        reasonNumber: `${field} not a number`,
        reasonInteger: `${field} not an exact integer`,
      });
    }
    const slack = (rules?.day?.slackHours ?? 0) * 3_600_000;
    if (rules?.day && day) {
      for (const field of rules.day.fields) {
        const c = columns.indexOf(field);
        if (c >= 0) this.dayCols.push({ c, field });
      }
    }
    this.fromMs = day ? day.startOf("day").toMillis() - slack : -Infinity;
    this.toMs = day ? day.startOf("day").plus({ days: 1 }).toMillis() + slack : Infinity;
    const slackText = rules?.day?.slackHours ? ` (±${rules.day.slackHours} h)` : "";
    this.dayReason = `outside the file's day${slackText}`;
    this.active = this.ranges.length > 0 || this.dayCols.length > 0;
  }

  /** The first rule the row breaks; `value(c)` gives the row's value of column c. */
  check(value: (c: number) => unknown): RuleBreak | undefined {
    for (const r of this.ranges) {
      const v = value(r.c);
      const n = numberOf(v);
      if (n === undefined) continue;
      if (typeof n === "bigint") {
        // More than 15 digits: exact only while a double holds it.
        const d = Number(n);
        if (d < r.min || d > r.max) return { reason: r.reasonRange, field: r.field, value: v };
        if (r.integer && (n > BigInt(Number.MAX_SAFE_INTEGER) || n < -BigInt(Number.MAX_SAFE_INTEGER))) return { reason: r.reasonInteger, field: r.field, value: v };
        continue;
      }
      if (Number.isNaN(n)) return { reason: r.reasonNumber, field: r.field, value: v };
      if (n < r.min || n > r.max) return { reason: r.reasonRange, field: r.field, value: v };
      if (r.integer && !Number.isSafeInteger(n)) return { reason: r.reasonInteger, field: r.field, value: v };
    }
    for (const d of this.dayCols) {
      const v = value(d.c);
      const ms = timeOf(v, this.zone, this.minutes);
      if (ms === undefined) continue;
      if (ms < this.fromMs || ms >= this.toMs) return { reason: `${d.field} ${this.dayReason}`, field: d.field, value: v };
    }
    return undefined;
  }
}
