/**
 * The console's pages: HTML rendered from the same data the JSON API returns (src/console/model.ts). Charts are
 * Chart.js, drawn in the browser from the numbers each canvas carries (assets/console.js); nothing is drawn by hand.
 */
import type { AuditDataset, BlockRow, CoverageAll, OverviewSource, RunDetail, RunRow, SourceDevices } from "./model.js";
import { DEVICE_DAYS, RECENT_DAYS } from "./model.js";

export const esc = (t: unknown): string =>
  String(t ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

const qs = (params: Record<string, string | undefined>) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : "";
};

const NAV = [
  ["/", "Overview"],
  ["/runs", "Runs"],
  ["/coverage", "Coverage"],
  ["/devices", "Devices"],
  ["/audit", "Audit"],
] as const;

const STYLE = `
body{font-family:system-ui,sans-serif;margin:0;color:#1d1d1f}header{background:#1f3a5f;color:#fff;padding:.6em 1.5em;display:flex;gap:1.5em;align-items:baseline}
header a{color:#dbe7f5;text-decoration:none}header a.on{color:#fff;font-weight:bold;border-bottom:2px solid #fff}main{padding:1em 1.5em}
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{padding:.2em .6em;border:1px solid #d0d4da;text-align:left;vertical-align:top}
td.num,th.num{text-align:right}.ok,.succeeded,.healthy{background:#e6f4ea}.partial{background:#fff4cc}.missing,.failed,.pipeline-broken{background:#fde2e1}
.sensor-silent{background:#fff4cc}.not-in-inventory{background:#e8e4f8}.na{color:#999}.diff{background:#fde2e1;font-weight:bold}
code.cmd{background:#f3f4f6;padding:.3em .5em;display:inline-block}.legend span{padding:.1em .5em;margin-right:.5em;border:1px solid #d0d4da}
canvas.spark{width:240px;height:48px;display:block}form.filters{margin:.5em 0}form.filters label{margin-right:1em}.note{color:#555}
`;

export function layout(title: string, active: string, body: string): string {
  const nav = NAV.map(([href, label]) => `<a href="${href}"${href === active ? ' class="on"' : ""}>${label}</a>`).join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)} · lake console</title>
<style>${STYLE}</style></head><body>
<header><strong>lake console</strong>${nav}</header>
<main><h1>${esc(title)}</h1>
${body}
</main></body></html>
`;
}

const secs = (s: number) => `${s.toFixed(2)} s`;
const statusCell = (s: string) => `<td class="${esc(s.replace(/ /g, "-"))}">${esc(s)}</td>`;
const runLink = (r: RunRow) => `<a href="/runs/${encodeURIComponent(r.id)}">${esc(r.start)}</a>`;

export function overviewPage(data: { zone: string; debug: boolean; sources: OverviewSource[] }): string {
  const blocks = data.sources
    .map((s) => {
      const rows = s.stages
        .map((st) => {
          const r = st.lastRun;
          return r
            ? `<tr><td>${esc(st.stage)}</td><td>${runLink(r)}</td>${statusCell(r.status)}<td class="num">${r.items}</td><td class="num">${r.rows}</td><td>${esc(r.error ?? "")}</td></tr>`
            : `<tr><td>${esc(st.stage)}</td><td colspan="5" class="na">never ran</td></tr>`;
        })
        .join("\n");
      const gaps = s.gaps ? `<a href="/coverage${qs({ source: s.code })}" data-gaps="${s.gaps}">${s.gaps} gap(s)</a>` : "no gaps";
      return `<section data-source="${esc(s.code)}"><h2>${esc(s.name)} (${esc(s.code)})</h2>
<p>Failures in the last ${RECENT_DAYS} days: <a href="/runs${qs({ source: s.code, status: "failed" })}" data-failures="${s.failures7d}">${s.failures7d}</a> · Coverage ${esc(s.window.from)} up to ${esc(s.window.to)}: ${gaps}</p>
<table><thead><tr><th>stage</th><th>last run</th><th>status</th><th class="num">items</th><th class="num">records</th><th>error</th></tr></thead><tbody>
${rows}
</tbody></table></section>`;
    })
    .join("\n");
  return layout("Overview", "/", `<p class="note">Local days in ${esc(data.zone)}${data.debug ? "; debug (test) repositories" : ""}.</p>\n${blocks}`);
}

export function runsPage(runs: RunRow[], blocks: BlockRow[], filters: Record<string, string | undefined>, choices: { sources: string[]; stages: string[] }): string {
  const select = (name: string, values: string[]) =>
    `<label>${name} <select name="${name}"><option value="">all</option>${values.map((v) => `<option${filters[name] === v ? " selected" : ""}>${esc(v)}</option>`).join("")}</select></label>`;
  const form = `<form class="filters" method="get" action="/runs">${select("source", choices.sources)}${select("stage", choices.stages)}${select("status", ["succeeded", "failed"])}
<label>day <input name="day" value="${esc(filters.day ?? "")}" placeholder="YYYY-MM-DD" size="10"></label><button>filter</button></form>`;
  const rows = runs
    .map(
      (r) =>
        `<tr data-run="${esc(r.id)}"><td>${runLink(r)}</td><td>${esc(r.source)}</td><td>${esc(r.stage)}</td><td class="num">${secs(r.seconds)}</td><td class="num">${r.items}</td><td class="num">${r.rows}</td><td>${esc(r.from ?? "")}${r.to ? ` – ${esc(r.to)}` : ""}</td>${statusCell(r.status)}<td>${esc(r.error ?? "")}</td></tr>`,
    )
    .join("\n");
  const blockRows = blocks
    .map(
      (b) =>
        `<tr><td>${esc(b.source)}</td><td>${esc(b.stage)}</td><td>${esc(b.day)}</td>${statusCell(b.status)}<td class="num">${b.attempts}</td><td class="num">${b.processed}</td><td class="num">${b.failed}</td><td class="num">${b.records}</td><td>${esc(b.message ?? "")}</td></tr>`,
    )
    .join("\n");
  return layout(
    "Runs",
    "/runs",
    `${form}
<p>${runs.length} run(s).</p>
<table id="runs"><thead><tr><th>start</th><th>source</th><th>stage</th><th class="num">duration</th><th class="num">items</th><th class="num">records</th><th>days</th><th>status</th><th>error</th></tr></thead><tbody>
${rows}
</tbody></table>
${blocks.length ? `<h2>Backfill blocks</h2><table id="blocks"><thead><tr><th>source</th><th>stage</th><th>day</th><th>status</th><th class="num">attempts</th><th class="num">processed</th><th class="num">failed</th><th class="num">records</th><th>message</th></tr></thead><tbody>\n${blockRows}\n</tbody></table>` : ""}`,
  );
}

export function runPage(r: RunDetail): string {
  const failures = r.failureList.length
    ? `<h2>Failures</h2><table id="failures"><thead><tr><th>day</th><th>item</th><th class="num">runs</th><th>terminal</th><th>error</th></tr></thead><tbody>
${r.failureList.map((f) => `<tr><td>${esc(f.day)}</td><td>${esc(f.item)}</td><td class="num">${f.runs}</td><td>${f.terminal ? "yes" : "no"}</td><td>${esc(f.error)}</td></tr>`).join("\n")}
</tbody></table>`
    : "";
  const written = r.written
    .map((w) => `<tr><td>${esc(w.day)}</td><td>${esc(w.repository)}</td><td>${esc(w.base)}</td><td>${esc(w.ext)}</td><td>${esc(w.pointer)}</td></tr>`)
    .join("\n");
  return layout(
    `Run ${r.stage} at ${r.start}`,
    "/runs",
    `<table><tbody>
<tr><th>source</th><td>${esc(r.source)}</td></tr><tr><th>stage</th><td>${esc(r.stage)} (${esc(r.kind)})</td></tr>
<tr><th>status</th>${statusCell(r.status)}</tr><tr><th>duration</th><td>${secs(r.seconds)}</td></tr>
<tr><th>items</th><td id="items">${r.items}</td></tr><tr><th>records (perfmet)</th><td id="rows">${r.rows}</td></tr>
<tr><th>days</th><td>${esc(r.from ?? "none")}${r.to ? ` up to ${esc(r.to)}` : ""}</td></tr></tbody></table>
<p>Run it again: <code class="cmd" id="rerun">${esc(r.rerun)}</code></p>
${failures}
<h2>Written (${r.written.length})</h2><table id="written"><thead><tr><th>day</th><th>repository</th><th>base</th><th>ext</th><th>pointer</th></tr></thead><tbody>
${written}
</tbody></table>`,
  );
}

export function coveragePage(c: CoverageAll): string {
  const legend = `<p class="legend">Legend: <span class="ok">objects · rows: complete</span><span class="partial">partial (fewer than expected)</span><span class="missing">missing</span><span class="na">n/a: no stage writes it</span> · a cell links to the runs that wrote (or failed to write) it.</p>`;
  const tables = c.sources
    .map((s) => {
      const head = s.applicable.map((l) => `<th>${l}</th>`).join("");
      const rows = s.days
        .map((d) => {
          const cells = s.applicable
            .map((l) => {
              const cell = d.cells[l];
              const stage = s.stageOf[l];
              const objects = cell.status === "missing" ? "missing" : cell.status === "partial" ? `${cell.count} of ${cell.expected}` : String(cell.count);
              const text = cell.rows !== null && cell.count > 0 ? `${objects} · ${cell.rows.toLocaleString("en-US")} rows` : objects;
              const failed = cell.failed?.length ? ` <span title="${esc(cell.failed.map((f) => f.error).join("; "))}">F${cell.failed.length}</span>` : "";
              const href = `/runs${qs({ source: s.source, stage, day: d.day })}`;
              return `<td class="${cell.status} num" data-layer="${l}" data-day="${d.day}" data-count="${cell.count}"${cell.rows !== null ? ` data-rows="${cell.rows}"` : ""}><a href="${href}">${text}</a>${failed}</td>`;
            })
            .join("");
          return `<tr><th>${d.day}</th>${cells}</tr>`;
        })
        .join("\n");
      return `<section data-source="${esc(s.source)}"><h2>${esc(s.name)} (${esc(s.source)})</h2><p>${s.gaps.length} gap(s).</p>
<table class="coverage"><thead><tr><th>day</th>${head}</tr></thead><tbody>
${rows}
</tbody></table></section>`;
    })
    .join("\n");
  return layout(
    "Coverage",
    "/coverage",
    `<form class="filters" method="get" action="/coverage"><label>from <input name="from" value="${esc(c.from)}" size="10"></label><label>to (exclusive) <input name="to" value="${esc(c.to)}" size="10"></label><button>show</button></form>
<p class="note">Catalog objects per local day (${esc(c.zone)}) and layer, and their rows as the stages that wrote them counted, ${esc(c.from)} up to ${esc(c.to)}.</p>${legend}
${tables}`,
  );
}

export function devicesPage(list: SourceDevices[]): string {
  const sections = list
    .map((s) => {
      const rows = s.devices
        .map((d) => {
          const data = JSON.stringify({ labels: d.perDay.map((p) => p.day), rows: d.perDay.map((p) => p.rows) });
          return `<tr data-sensor="${esc(d.sensor)}"><td>${esc(d.sensor)}</td><td>${d.device ? esc(`${d.device.atd_device_id ?? ""} ${d.device.device_status ?? ""}`) : "—"}</td><td>${esc(d.lastSeen ?? "never")}</td>
<td><canvas class="spark" width="240" height="48" data-chart="${esc(data)}" aria-label="rows per day of ${esc(d.sensor)}"></canvas></td>${statusCell(d.verdict)}<td>${esc(d.why)}</td></tr>`;
        })
        .join("\n");
      return `<section data-source="${esc(s.source)}"><h2>${esc(s.name)} (${esc(s.source)})</h2><p class="note">Rows per day, ${esc(s.from)} up to ${esc(s.to)} (${DEVICE_DAYS} days, up to the last day the pipeline processed).${s.note ? ` ${esc(s.note)}` : ""}</p>
<table class="devices"><thead><tr><th>device</th><th>inventory</th><th>last seen</th><th>rows per day</th><th>verdict</th><th>why</th></tr></thead><tbody>
${rows}
</tbody></table></section>`;
    })
    .join("\n");
  return layout(
    "Devices",
    "/devices",
    `<p class="legend">Verdicts: <span class="healthy">healthy</span><span class="sensor-silent">sensor silent: the pipeline ran, the device sent nothing</span><span class="pipeline-broken">pipeline broken: the stage failed or did not run</span><span class="not-in-inventory">not in inventory: rows from an unknown reader</span></p>
${sections}
<script src="/assets/chart.js"></script><script src="/assets/console.js"></script>`,
  );
}

export function auditPage(list: AuditDataset[], window: { from?: string; to?: string }, opts: { repair?: boolean } = {}): string {
  const sections = list
    .map((a) => {
      const rows = a.days
        .map((d) => {
          const action = opts.repair && d.difference ? `<button data-repair="${esc(a.source)} ${d.day}">repair</button>` : "";
          return `<tr data-day="${d.day}"><td>${d.day}</td><td class="num">${d.lake}</td><td class="num">${d.destination ?? "n/a"}</td><td class="num${d.difference ? " diff" : ""}">${d.difference ?? "n/a"}</td><td>${action}</td></tr>`;
        })
        .join("\n");
      const extra = a.destinationTotal === null ? "" : a.destinationTotal - a.lakeTotal;
      return `<section data-source="${esc(a.source)}" data-dataset="${esc(a.dataset)}"><h2>${esc(a.source)} · ${esc(a.key)} → ${esc(a.dataset)}</h2>
<p>Published by the lake in the window: ${a.lakeTotal} rows; in the whole destination dataset: ${a.destinationTotal ?? "n/a"}${extra !== "" && extra !== 0 ? ` <span class="diff">(${extra > 0 ? "+" : ""}${extra} against the window)</span>` : ""}.</p>
<table class="audit"><thead><tr><th>day</th><th class="num">lake (ready rows published)</th><th class="num">at destination</th><th class="num">difference</th><th></th></tr></thead><tbody>
${rows}
</tbody></table></section>`;
    })
    .join("\n");
  return layout(
    "Audit",
    "/audit",
    `<form class="filters" method="get" action="/audit"><label>from <input name="from" value="${esc(window.from ?? "")}" size="10"></label><label>to (exclusive) <input name="to" value="${esc(window.to ?? "")}" size="10"></label><button>show</button></form>
<p class="note">Per dataset and day: the rows the lake published from the ready layer (the row ids it keeps per published object) and how many of them the destination holds. A difference means rows were lost (or deleted) at the destination. ${opts.repair ? "Repair deletes the day's published rows at the destination and publishes the day again." : "Repair (deleting the day's rows at the destination and publishing it again) is <code>lake repair &lt;source&gt; --day &lt;day&gt;</code>, or here when the console runs with LAKE_CONSOLE_TOKEN."}</p>
${sections}${opts.repair ? '\n<script src="/assets/console.js"></script>' : ""}`,
  );
}

/**
 * The browser side: one Chart.js bar chart per canvas, from its data-chart numbers (null = the pipeline did not run);
 * the audit's repair buttons (a confirmation, then POST /api/repair with the confirmation header).
 */
export const CONSOLE_JS = `"use strict";
if (typeof Chart !== "undefined") document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
  var d = JSON.parse(canvas.getAttribute("data-chart"));
  new Chart(canvas, {
    type: "bar",
    data: { labels: d.labels, datasets: [{ data: d.rows, backgroundColor: "#3b6ea5" }] },
    options: { animation: false, responsive: false, plugins: { legend: { display: false } }, scales: { x: { display: false }, y: { display: false, beginAtZero: true } } }
  });
  canvas.setAttribute("data-drawn", "1");
});
document.querySelectorAll("button[data-repair]").forEach(function (button) {
  button.addEventListener("click", function () {
    var what = button.getAttribute("data-repair").split(" ");
    if (!confirm("Repair " + what[0] + " " + what[1] + "? Its published rows are deleted at the destination and the day is published again.")) return;
    button.disabled = true;
    fetch("/api/repair", {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", "x-lake-confirm": "repair " + what[0] + " " + what[1] },
      body: JSON.stringify({ source: what[0], day: what[1] })
    }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.error || r.statusText);
        location.reload();
      });
    }).catch(function (err) {
      button.disabled = false;
      alert("Repair failed: " + err.message);
    });
  });
});
`;
