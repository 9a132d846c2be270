/**
 * Unit-data device shape and value normalisation shared by every unit-data driver (original §6.1):
 * keys in the original's order; kits_id, coa_intersection_id and the segment ids → integer via float (null when
 * missing or unparseable); lat/lon → float or null; street names trimmed or null.
 */
import type { UnitDevice } from "../../support/drivers.js";
import { TerminalError } from "../../support/errors.js";

const INTEGER_KEYS = new Set(["kits_id", "coa_intersection_id", "primary_st_segment_id", "cross_st_segment_id"]);
const FLOAT_KEYS = new Set(["lat", "lon"]);
const TRIMMED_KEYS = new Set(["primary_st", "cross_st"]);

const PY_FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
const PY_SPECIAL = /^[+-]?(inf|infinity|nan)$/i;

/** Python's float(v): a number, or undefined when float() would raise. */
export function pyFloat(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v !== "string") return undefined;
  const s = v.trim();
  if (PY_FLOAT.test(s)) return Number(s);
  if (PY_SPECIAL.test(s)) return /nan/i.test(s) ? Number.NaN : s.startsWith("-") ? -Infinity : Infinity;
  return undefined;
}

/** int(float(v)), or null when missing, NaN, infinite or unparseable (the original's cInt). */
export function toIntOrNull(v: unknown): number | null {
  const f = pyFloat(v);
  if (f === undefined || !Number.isFinite(f)) return null;
  const i = Math.trunc(f);
  return i === 0 ? 0 : i;
}

/** float(v), or null when missing or unparseable (the original's cFlt); NaN and infinities become null too. */
export function toFloatOrNull(v: unknown): number | null {
  const f = pyFloat(v);
  return f === undefined || !Number.isFinite(f) ? null : f;
}

/**
 * str(v).strip(), or null when missing (the original's tStr). A missing value from an unmatched join is null here,
 * where pandas wrote the text "nan".
 */
export function trimOrNull(v: unknown): string | null {
  if (v === null || v === undefined || (typeof v === "number" && Number.isNaN(v))) return null;
  return String(v).trim();
}

/**
 * One device in the key order its source declares, values normalised. Keys beyond those are kept after them (a
 * GRIDSMART inventory may carry `reversed`). `where` names the device in error messages.
 */
export function normaliseDevice(device: Record<string, unknown>, keys: readonly string[], where: string): UnitDevice {
  const out: UnitDevice = {};
  for (const k of keys) out[k] = normaliseValue(k, device[k], where);
  for (const [k, v] of Object.entries(device)) if (!(k in out)) out[k] = normaliseValue(k, v, where);
  return out;
}

function normaliseValue(key: string, v: unknown, where: string): string | number | boolean | null {
  if (INTEGER_KEYS.has(key)) return toIntOrNull(v);
  if (FLOAT_KEYS.has(key)) return toFloatOrNull(v);
  if (TRIMMED_KEYS.has(key)) return trimOrNull(v);
  if (v === undefined || v === null || (typeof v === "number" && Number.isNaN(v))) return null;
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
  throw new TerminalError(`unit data: ${where}, field "${key}": expected text, a number or a boolean, got ${JSON.stringify(v).slice(0, 80)}`);
}
