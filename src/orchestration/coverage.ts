/**
 * The coverage report: per local day × layer (raw, standardized, ready, aggregated, published), how many catalog rows
 * a source has, marking missing days and partial ones (fewer objects than the source's known count per day, or fewer
 * than the most seen on any day of the window). Layers no stage of the source writes are "n/a". Metadata objects
 * (unit_data.*, site.*) are not counted. GRIDSMART's "aggregated" layer is its ready agg*.json objects.
 */
import type { Purpose } from "../config/schema.js";
import { Catalog } from "../support/catalog.js";
import type { LakeRuntime } from "../support/runtime.js";
import type { SourceDefinition } from "../support/kit.js";
import { isMetadataExt } from "../support/unitdata.js";
import { addDays, dayText, eachDay, parseDay } from "../util/dates.js";
import { UsageError } from "../support/errors.js";

export const LAYERS = ["raw", "standardized", "ready", "aggregated", "published"] as const;
export type Layer = (typeof LAYERS)[number];
export type CellStatus = "ok" | "partial" | "missing" | "n/a";


const LAYER_PURPOSE: Record<Layer, Purpose> = { raw: "raw", standardized: "standardized", ready: "ready", aggregated: "ready", published: "public" };

export interface CoverageCell {
  count: number;
  /** Rows of those objects, as the stages that wrote them counted (null when none of them says). */
  rows: number | null;
  status: CellStatus;
  /** What a complete day has (known count, else the window's maximum). */
  expected: number | null;
  /** Items of the day that failed the same way on consecutive runs (failed-terminal: skipped until fixed), with why. */
  failed?: { stage: string; item: string; error: string; runs: number }[];
}

export interface CoverageReport {
  source: string;
  from: string;
  /** Exclusive. */
  to: string;
  zone: string;
  layers: Layer[];
  /** Layers this source writes. */
  applicable: Layer[];
  days: { day: string; cells: Record<Layer, CoverageCell> }[];
  gaps: { day: string; layer: Layer; status: "missing" | "partial"; count: number; expected: number | null }[];
}

/**
 * Which layers a source's stages write, from their declarations: the target layer; an Aggregate stage →
 * aggregated; a publish stage → published (its catalog rows live in the public repository).
 */
function applicableLayers(source: SourceDefinition): Layer[] {
  const out = new Set<Layer>();
  for (const { decl } of source.stages) {
    if (decl.perfmet === "Aggregate") out.add("aggregated");
    else if (decl.kind === "publish") out.add("published");
    else out.add(decl.to as Layer);
  }
  return LAYERS.filter((l) => out.has(l));
}

function coverageDays(from: string, to: string, zone: string): string[] {
  const start = parseDay(from, zone, "--from");
  const end = parseDay(to, zone, "--to");
  if (end < start) throw new UsageError(`--to ${to} is before --from ${from}; --to is exclusive and must not precede --from`);
  return [...eachDay(start, end.toMillis() === start.toMillis() ? addDays(start, 1) : end)].map(dayText);
}

export async function coverageReport(
  runtime: LakeRuntime,
  pipeline: SourceDefinition,
  opts: { from: string; to: string; debug?: boolean; expected?: Partial<Record<Layer, number>> },
): Promise<CoverageReport> {
  const days = coverageDays(opts.from, opts.to, runtime.zone);
  const applicable = applicableLayers(pipeline);
  const declaredMetadata = new Set((pipeline.metadataExts ?? []).map((e) => e.toLowerCase()));
  const aggregateExt = pipeline.coverage?.aggregateExt;
  const catalog = new Catalog(await runtime.driver("catalog", Boolean(opts.debug)), pipeline.code, { zone: runtime.zone });
  const early = parseDay(days[0]!, runtime.zone);
  const late = addDays(parseDay(days[days.length - 1]!, runtime.zone), 1);
  const counts = new Map<Layer, Map<string, number>>(LAYERS.map((l) => [l, new Map()]));
  const rowCounts = new Map<Layer, Map<string, number>>(LAYERS.map((l) => [l, new Map()]));
  const repos = new Map<Purpose, Layer[]>();
  for (const l of applicable) repos.set(LAYER_PURPOSE[l], [...(repos.get(LAYER_PURPOSE[l]) ?? []), l]);
  for (const [purpose, layers] of repos) {
    for await (const e of catalog.query(runtime.repository(purpose, Boolean(opts.debug)), { early, late })) {
      if (isMetadataExt(e.ext, declaredMetadata)) continue;
      const isAggregate = layers.includes("aggregated") && aggregateExt !== undefined && aggregateExt.test(e.ext);
      const layer = isAggregate ? "aggregated" : layers.find((l) => l !== "aggregated");
      if (!layer) continue;
      const day = dayText(e.collectionDate);
      counts.get(layer)!.set(day, (counts.get(layer)!.get(day) ?? 0) + 1);
      const rows = e.metadata?.rows;
      if (typeof rows === "number") rowCounts.get(layer)!.set(day, (rowCounts.get(layer)!.get(day) ?? 0) + rows);
    }
  }
  // Failed-terminal items, by the layer their stage writes (kept in the catalog under the state repository).
  const failed = new Map<string, NonNullable<CoverageCell["failed"]>>();
  const stageLayer = new Map(pipeline.stages.map((s) => [s.name, (s.decl.perfmet === "Aggregate" ? "aggregated" : s.decl.kind === "publish" ? "published" : s.decl.to) as Layer]));
  for await (const e of catalog.query(runtime.stateRepository(Boolean(opts.debug)), { ext: { like: "failed:*" }, early, late })) {
    const m = e.metadata ?? {};
    const layer = stageLayer.get(String(m.stage));
    if (m.terminal !== true || !layer) continue;
    const key = `${dayText(e.collectionDate)}|${layer}`;
    const list = failed.get(key) ?? [];
    list.push({ stage: String(m.stage), item: `${e.base}/${e.ext.split(":").slice(2).join(":") || "day"}`, error: String(m.error ?? ""), runs: Number(m.runs ?? 0) });
    failed.set(key, list);
  }
  const known = { ...(pipeline.coverage?.expectedPerDay ?? {}), ...(opts.expected ?? {}) };
  const report: CoverageReport = { source: pipeline.code, from: days[0]!, to: dayText(late), zone: runtime.zone, layers: [...LAYERS], applicable, days: [], gaps: [] };
  const maxSeen = new Map(LAYERS.map((l) => [l, Math.max(0, ...counts.get(l)!.values())]));
  for (const day of days) {
    const cells = {} as Record<Layer, CoverageCell>;
    for (const layer of LAYERS) {
      if (!applicable.includes(layer)) {
        cells[layer] = { count: 0, rows: null, status: "n/a", expected: null };
        continue;
      }
      const count = counts.get(layer)!.get(day) ?? 0;
      const expected = known[layer] ?? (maxSeen.get(layer)! || null);
      const status: CellStatus = count === 0 ? "missing" : expected !== null && count < expected ? "partial" : "ok";
      const failedHere = failed.get(`${day}|${layer}`);
      cells[layer] = { count, rows: rowCounts.get(layer)!.get(day) ?? null, status, expected, ...(failedHere ? { failed: failedHere } : {}) };
      if (status === "missing" || status === "partial") report.gaps.push({ day, layer, status, count, expected });
    }
    report.days.push({ day, cells });
  }
  return report;
}

export function formatCoverage(r: CoverageReport, name?: string): string {
  const width = 14;
  const lines = [
    `coverage of ${r.source}${name ? ` (${name})` : ""}: ${r.from} up to ${r.to} (exclusive), local days in ${r.zone}`,
    ["day".padEnd(10), ...r.layers.map((l) => l.padStart(width))].join(" "),
  ];
  for (const d of r.days) {
    const cells = r.layers.map((l) => {
      const c = d.cells[l];
      const text = c.status === "n/a" ? "n/a" : c.status === "missing" ? "MISSING" : c.status === "partial" ? `${c.count}/${c.expected} PART` : String(c.count);
      return `${text}${c.failed ? ` F${c.failed.length}` : ""}`.padStart(width);
    });
    lines.push([d.day.padEnd(10), ...cells].join(" "));
  }
  const missing = r.gaps.filter((g) => g.status === "missing").length;
  const partial = r.gaps.length - missing;
  lines.push("", r.gaps.length ? `${missing} missing and ${partial} partial day-layer cell(s); fill them with \`lake backfill ${r.source} --time-min … --time-max …\`` : "no gaps");
  const failures = r.days.flatMap((d) => r.layers.flatMap((l) => (d.cells[l].failed ?? []).map((f) => ({ day: d.day, ...f }))));
  if (failures.length) {
    lines.push(`${failures.length} item(s) failed-terminal (Fn: skipped by later runs until the source changes, or -F):`);
    for (const f of failures) lines.push(`  ${f.day} ${f.stage} ${f.item}: failed ${f.runs} times: ${f.error}`);
  }
  return `${lines.join("\n")}\n`;
}

const escapeHtml = (t: string) => t.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

/** The report as a standalone web page (no scripts, no external files). */
export function formatCoverageHtml(r: CoverageReport, name?: string): string {
  const title = `Coverage of ${r.source}${name ? ` (${name})` : ""}, ${r.from} up to ${r.to}`;
  const head = r.layers.map((l) => `<th>${l}</th>`).join("");
  const rows = r.days
    .map((d) => {
      const cells = r.layers
        .map((l) => {
          const c = d.cells[l];
          const text = c.status === "n/a" ? "n/a" : c.status === "missing" ? "missing" : c.status === "partial" ? `${c.count} of ${c.expected}` : String(c.count);
          return `<td class="${c.status === "n/a" ? "na" : c.status}">${text}</td>`;
        })
        .join("");
      return `<tr><th>${d.day}</th>${cells}</tr>`;
    })
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}th,td{padding:.25em .8em;border:1px solid #ccc;text-align:right}
td.ok{background:#e6f4ea}td.partial{background:#fff4cc}td.missing{background:#fde2e1;font-weight:bold}td.na{color:#999}
</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p>Catalog rows per local day (${escapeHtml(r.zone)}) and layer. ${r.gaps.length} gap(s).</p>
<table><thead><tr><th>day</th>${head}</tr></thead><tbody>
${rows}
</tbody></table></body></html>
`;
}
