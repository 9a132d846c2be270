/**
 * ESPI / Green Button documents (Atom feeds of espi:UsagePoint, espi:ReadingType and espi:IntervalBlock entries),
 * read with fast-xml-parser: the usage points of a subscription, and the interval readings of a usage point as the
 * standard intermediate rows (project → consumption metadata → interval records). Pure: bytes in, rows out.
 * A malformed document is an error naming the file, line and column (never "empty"); a reading that cannot be read
 * is reported with its line and left out.
 */
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { DateTime } from "luxon";
import { TerminalError } from "../../support/errors.js";
import type { UploadRow } from "../../support/bulk-upload.js";

export interface UsagePoint {
  id: string;
  kind: number;
}

export interface Reading {
  start: number;
  duration: number;
  value: number;
}

export interface BadReading {
  line: number;
  reason: string;
  text: string;
}

export interface EspiDoc {
  kind: number | undefined;
  uom: number | undefined;
  multiplier: number;
  readings: Reading[];
  bad: BadReading[];
}

const ARRAYS = new Set(["entry", "IntervalBlock", "IntervalReading"]);
// Attributes are read only where needed (usage points' self links): reading them costs 3x on a year of readings.
const options = { removeNSPrefix: true, parseTagValue: false, isArray: (name: string) => ARRAYS.has(name) };
const parser = new XMLParser(options);
const withAttributes = new XMLParser({ ...options, ignoreAttributes: false });

type Node = Record<string, unknown>;

function parseDoc(xml: string, where: string, p = parser): Node {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    const e = valid.err;
    throw new TerminalError(`${where}: malformed ESPI XML at line ${e.line}, column ${e.col}: ${e.msg}`);
  }
  const doc = p.parse(xml) as Node;
  if (!doc.feed && !doc.entry) throw new TerminalError(`${where}: not an ESPI Atom feed (no <feed> element)`);
  return doc;
}

function entries(doc: Node): Node[] {
  const feed = (doc.feed ?? doc) as Node;
  return ((feed.entry as Node[] | undefined) ?? []).map((e) => (e.content ?? {}) as Node);
}

const text = (v: unknown): string => (v === undefined || v === null ? "" : typeof v === "object" ? String((v as Node)["#text"] ?? "") : String(v)).trim();

/** The usage points of a subscription's UsagePoint feed: id from the entry's self link (or title), kind 0 = electricity, 1 = gas. */
export function readUsagePoints(xml: string, where: string): UsagePoint[] {
  const feed = (parseDoc(xml, where, withAttributes).feed ?? {}) as Node;
  return ((feed.entry as Node[] | undefined) ?? []).flatMap((e) => {
    const up = ((e.content ?? {}) as Node).UsagePoint as Node | undefined;
    if (!up) return [];
    const links = ([] as Node[]).concat((e.link as Node[] | Node | undefined) ?? []);
    const self = links.find((l) => l["@_rel"] === "self")?.["@_href"];
    const id = self ? decodeURIComponent(String(self).split("/").pop()!) : text(e.title);
    if (!id) throw new TerminalError(`${where}: a UsagePoint entry has neither a self link nor a title`);
    return [{ id, kind: Number(text(((up.ServiceCategory ?? {}) as Node).kind) || 0) }];
  });
}

/** Line of each <IntervalReading> opening tag, in document order (what a bad reading is reported at). */
function readingLines(xml: string): number[] {
  const lines: number[] = [];
  const re = /<(?:[\w-]+:)?IntervalReading[\s>]/g;
  let line = 1;
  let at = 0;
  for (let m = re.exec(xml); m; m = re.exec(xml)) {
    for (let i = xml.indexOf("\n", at); i !== -1 && i < m.index; i = xml.indexOf("\n", i + 1)) line++;
    at = m.index;
    lines.push(line);
  }
  return lines;
}

export function readEspi(xml: string, where: string): EspiDoc {
  const doc = parseDoc(xml, where);
  const out: EspiDoc = { kind: undefined, uom: undefined, multiplier: 0, readings: [], bad: [] };
  const lines = readingLines(xml);
  let k = 0;
  for (const c of entries(doc)) {
    const up = c.UsagePoint as Node | undefined;
    if (up) out.kind = Number(text(((up.ServiceCategory ?? {}) as Node).kind) || 0);
    const rt = c.ReadingType as Node | undefined;
    if (rt) {
      out.uom = Number(text(rt.uom));
      out.multiplier = Number(text(rt.powerOfTenMultiplier) || 0);
    }
    for (const block of (c.IntervalBlock as Node[] | undefined) ?? []) {
      for (const r of (block.IntervalReading as Node[] | undefined) ?? []) {
        const line = lines[k++] ?? 0;
        const tp = (r.timePeriod ?? {}) as Node;
        const [start, duration, value] = [text(tp.start), text(tp.duration), text(r.value)];
        const reason = !/^\d+$/.test(start) ? "start is not a UNIX time" : !/^[1-9]\d*$/.test(duration) ? "duration is not a positive whole number" : !Number.isFinite(Number(value)) || value === "" ? "value is not a number" : undefined;
        if (reason) out.bad.push({ line, reason, text: `start=${start} duration=${duration} value=${value}` });
        else out.readings.push({ start: Number(start), duration: Number(duration), value: Number(value) });
      }
    }
  }
  return out;
}

/** The end of the last reading (what a fetch stored up to), or undefined when there is none. */
export function maxReadingEnd(doc: EspiDoc, zone: string): DateTime | undefined {
  let max = -Infinity;
  for (const r of doc.readings) max = Math.max(max, r.start + r.duration);
  return Number.isFinite(max) ? DateTime.fromSeconds(max, { zone }) : undefined;
}

const FUEL: Record<number, string> = { 0: "electricity", 1: "natural_gas" };
/** ESPI units of measure: 72 = Wh (sent as kWh), 169 = therm. */
const UNITS: Record<number, { unit: string; scale: number }> = { 72: { unit: "kWh", scale: 1e-3 }, 169: { unit: "therm", scale: 1 } };

/** What a parser gives back: rows per record type (the standard intermediate JSON), and readings it left out. */
export interface Parsed {
  types: Record<string, UploadRow[]>;
  bad: BadReading[];
}

/** The ESPI parser: one project, one consumption metadata (project, usage point, fuel, unit), its interval records. */
export function espiParser(body: Buffer, ctx: { file: string; parts: string[] }): Parsed {
  const [project, usagePoint] = ctx.parts as [string, string];
  const doc = readEspi(body.toString("utf8"), ctx.file);
  const unit = doc.uom !== undefined ? UNITS[doc.uom] : undefined;
  const scale = (unit?.scale ?? 1) * 10 ** doc.multiplier;
  const key = `${project}/${usagePoint}`;
  const iso = (s: number) => new Date(s * 1000).toISOString();
  return {
    types: {
      project: [{ project_id: project }],
      consumption_metadata: [{ project_key: project, usage_point: usagePoint, fuel_type: FUEL[doc.kind ?? 0] ?? `kind ${doc.kind}`, energy_unit: unit?.unit ?? `uom ${doc.uom}`, key }],
      consumption_record: doc.readings.map((r) => ({ metadata_key: key, start: iso(r.start), end: iso(r.start + r.duration), value: Math.round(r.value * scale * 1e6) / 1e6 })),
    },
    bad: doc.bad,
  };
}
