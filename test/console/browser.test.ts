/**
 * The console in a real browser: Debian's headless Chromium driven by playwright-core (no browser download) loads
 * every page over a demo lake and over a PostgREST + PostgreSQL lake, checks the numbers shown against the catalog,
 * and clicks from a coverage gap to the failed run and its rerun command. Screenshots of each page go to
 * test-artifacts/console/.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { startConsole, type RunningConsole } from "../../src/console/server.js";
import { defaultRegistry } from "../../src/orchestration/pipelines.js";
import { repairDay } from "../../src/orchestration/repair.js";
import { Catalog } from "../../src/support/catalog.js";
import { parseDay } from "../../src/util/dates.js";
import type { LakeRuntime } from "../../src/support/runtime.js";
import type { SourceRegistry } from "../../src/support/registry.js";
import { describeService, servicesRequired } from "../helpers/services.js";
import { root } from "../helpers/build.js";
import { BROKEN_DAY, PG_SERVICES, breakDay, deletePublishedDay, demoLake, postgresLake } from "./lake.js";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = path.join(root, "test-artifacts", "console");
const AUDIT_DAY = "2024-11-06";
const TOKEN = "browser-console-token-93ad";

async function countOf(runtime: LakeRuntime, code: string, purpose: "raw" | "ready", day: string): Promise<number> {
  const catalog = new Catalog(await runtime.driver("catalog", false), code, { zone: runtime.zone });
  return (await catalog.list(runtime.repository(purpose, false), { early: parseDay(day, runtime.zone), exact: true })).filter((e) => !e.ext.startsWith("unit_data")).length;
}

function browserFlows(name: string, setup: () => Promise<{ runtime: LakeRuntime; registry: SourceRegistry; codes: string[] }>) {
  let browser: Browser;
  let page: Page;
  let server: RunningConsole;
  let runtime: LakeRuntime;
  let codes: string[];
  let deleted = 0;
  const shot = (file: string) => page.screenshot({ path: path.join(ARTIFACTS, `${name}-${file}.png`), fullPage: true });

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const lake = await setup();
    ({ runtime, codes } = lake);
    await breakDay(runtime);
    deleted = await deletePublishedDay(runtime, AUDIT_DAY);
    const repair = (source: string, day: string) => repairDay(runtime, lake.registry, source, day);
    server = await startConsole({ runtime, registry: lake.registry, debug: false }, { host: "127.0.0.1", port: 0, token: TOKEN, repair });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await runtime?.close();
  });

  it("overview: every source, its last runs, the failure and the gap", async () => {
    await page.goto(`${server.url}/`);
    expect(await page.locator("section[data-source]").evaluateAll((s) => s.map((e) => e.getAttribute("data-source")))).toEqual(codes);
    const wt = page.locator('section[data-source="wt"]');
    expect(await wt.locator("[data-failures]").getAttribute("data-failures")).toBe("1");
    expect(await wt.locator("[data-gaps]").getAttribute("data-gaps")).toBe("1");
    expect(await wt.locator("tbody tr").count()).toBe(4);
    expect(await wt.locator("td.failed").count()).toBe(1);
    await shot("overview");
  });

  it("coverage: the numbers are the catalog's; a gap leads to the failed run and its rerun command", async () => {
    await page.goto(`${server.url}/coverage`);
    const cell = (code: string, layer: string, day: string) => page.locator(`section[data-source="${code}"] td[data-layer="${layer}"][data-day="${day}"]`);
    for (const code of codes) {
      // A source whose stages write no lake layer (usage loads a database from its logs) has no layer columns.
      if (await cell(code, "raw", "2024-11-01").count()) {
        expect(Number(await cell(code, "raw", "2024-11-01").getAttribute("data-count")), code).toBe(await countOf(runtime, code, "raw", "2024-11-01"));
      }
      // The ready repository holds the ready objects and the aggregates (a layer of their own where a source has them).
      const aggregated = (await cell(code, "aggregated", "2024-11-01").count()) ? Number(await cell(code, "aggregated", "2024-11-01").getAttribute("data-count")) : 0;
      // A source whose stages write no ready layer (mds loads a database) has no ready column.
      if (await cell(code, "ready", "2024-11-01").count()) {
        expect(Number(await cell(code, "ready", "2024-11-01").getAttribute("data-count")) + aggregated, code).toBe(await countOf(runtime, code, "ready", "2024-11-01"));
      }
    }
    expect(await page.locator(".legend").textContent()).toContain("missing");
    const gap = cell("wt", "standardized", BROKEN_DAY);
    expect(await gap.getAttribute("class")).toContain("missing");
    await shot("coverage");
    await gap.locator("a").click();
    await page.waitForURL(/\/runs\?/);
    const failed = page.locator("#runs td.failed");
    expect(await failed.count()).toBe(1);
    await shot("runs-of-gap");
    await page.locator("#runs tr", { has: page.locator("td.failed") }).locator("a").first().click();
    await page.waitForURL(/\/runs\/wt-json-standard/);
    expect(await page.locator("#rerun").textContent()).toBe(`lake run wt-json-standard -s ${BROKEN_DAY} -e 2024-11-06`);
    expect(await page.locator("#failures tbody tr").count()).toBe(1);
    await shot("run");
  });

  it("runs: history with filters", async () => {
    await page.goto(`${server.url}/runs?source=wt`);
    const rows = await page.locator("#runs tbody tr").count();
    expect(rows).toBeGreaterThanOrEqual(5);
    await page.selectOption('select[name="status"]', "failed");
    await page.locator("form.filters button").click();
    await page.waitForURL(/status=failed/);
    expect(await page.locator("#runs tbody tr").count()).toBe(1);
    await shot("runs");
  });

  it("devices: a chart per device and its verdict", async () => {
    await page.goto(`${server.url}/devices`);
    await page.waitForSelector("canvas[data-drawn]");
    const wt = page.locator('section[data-source="wt"]');
    expect(await wt.locator("canvas.spark").count()).toBe(4);
    expect(await wt.locator("canvas[data-drawn]").count()).toBe(4);
    expect(await wt.locator('tr[data-sensor="LAMARBRAKER"] td.not-in-inventory').count()).toBe(1);
    expect(await wt.locator("td.healthy").count()).toBe(3);
    await shot("devices");
  });

  it("audit: the day deleted at the destination is highlighted with its difference", async () => {
    await page.goto(`${server.url}/audit`);
    const day = page.locator(`section[data-dataset] tr[data-day="${AUDIT_DAY}"] td.diff`).first();
    expect(await day.textContent()).toBe(String(-deleted));
    // Without the token (not given to this browser yet) there is no repair button.
    expect(await page.locator("button[data-repair]").count()).toBe(0);
    await shot("audit");
  });

  it("audit: a repair from the console, with the token and a confirmation, makes the day equal", async () => {
    await page.goto(`${server.url}/audit?token=${TOKEN}`); // once; then a cookie
    expect(new URL(page.url()).search).toBe("");
    const wt = page.locator('section[data-source="wt"]');
    const row = wt.locator(`tr[data-day="${AUDIT_DAY}"]`);
    const asked: string[] = [];
    page.on("dialog", (d) => {
      asked.push(d.message());
      void (d.type() === "confirm" ? d.accept() : d.dismiss());
    });
    const reloaded = page.waitForEvent("load");
    await row.locator("button[data-repair]").click();
    await Promise.race([reloaded, new Promise((r) => page.once("dialog", r))]);
    expect(asked[0]).toContain(`Repair wt ${AUDIT_DAY}?`);
    expect(asked.slice(1), "no alert of a failed repair").toEqual([]);
    await page.waitForLoadState("load");
    expect(await wt.locator(`tr[data-day="${AUDIT_DAY}"] td.diff`).count()).toBe(0);
    expect(await wt.locator("td.diff").count()).toBe(0);
    await shot("audit-repaired");
  });
}

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && servicesRequired()) {
  describe("console in a browser", () => {
    it("has Chromium", () => {
      throw new Error(`${CHROMIUM} is missing: install Debian's chromium (scripts/install-system.sh does)`);
    });
  });
} else {
  describe.skipIf(!haveChromium)("console in a browser: demo lake", () => {
    browserFlows("demo", async () => {
      const { runtime } = await demoLake();
      const registry = await defaultRegistry();
      return { runtime, registry, codes: registry.codes() };
    });
  });
  describeService(PG_SERVICES, "console in a browser: PostgREST + PostgreSQL", () => {
    if (!haveChromium) return;
    browserFlows("postgres", async () => {
      const { runtime } = await postgresLake();
      const all = await defaultRegistry();
      const registry = { codes: () => ["wt"], has: (c: string) => c === "wt", source: (c: string) => all.source(c) } as unknown as SourceRegistry;
      return { runtime, registry, codes: ["wt"] };
    });
  });
}
