/**
 * `lake doctor`: the whole configuration checked at once. The file's shape and every driver's options, then every
 * configured system reached with one cheap read each (storage, catalog, perfmet, publisher, unit data, the SQL
 * databases of the sources, the job queue, the block store), all at once and each within a short deadline (no
 * retries). Creating a driver checks its secrets. Every finding comes back, ok or not: one run shows everything
 * that is wrong. No data is written (the block store opens read-only; the notifier is built, never sent to); a
 * SQLite catalog or perfmet that does not exist yet is created empty, as by any command.
 */
import path from "node:path";
import type { DriverSpec, LakeConfig } from "../config/schema.js";
import { checkConfig, readRawConfig, type LoadOptions } from "../config/load.js";
import { isDriverSpec } from "../config/factory.js";
import { driverEntry, type DriverKind } from "../drivers/registry.js";
import { clockFromEnv, LakeRuntime } from "../support/runtime.js";
import { datasetTarget, type SourceDefinition } from "../support/kit.js";
import type { SourceRegistry } from "../support/registry.js";
import type { DriverBase } from "../support/drivers.js";
import { redact } from "../util/redact.js";
import { blockStoreSpec, openBlockStore } from "./blocks.js";

export interface Finding {
  /** What was checked: config, storage, catalog, ..., sql (sources.wt.sql), source wt. */
  interface: string;
  driver: string;
  /** Where it points, without credentials (user-info and query strings of URLs dropped, secrets masked). */
  target: string;
  ok: boolean;
  detail: string;
}

export interface DoctorOptions extends LoadOptions {
  registry: SourceRegistry;
  /** Deadline of each check, ms (default 5000). */
  timeoutMs?: number;
  /** Check the debug (test) targets. */
  debug?: boolean;
}

export const DEFAULT_DOCTOR_TIMEOUT_MS = 5_000;

const SECTIONS = ["storage", "catalog", "perfmet", "publisher", "unitdata", "queue"] as const;

/** A URL without user-info, query or fragment; anything else as is. */
function bareUrl(text: string): string {
  try {
    const u = new URL(text);
    if (!u.host) return text;
    return `${u.protocol}//${u.host}${u.pathname === "/" ? "" : u.pathname}`;
  } catch {
    return text;
  }
}

/** Where a driver spec points, from its options (never a secret's value: a secret is named). */
export function describeTarget(spec: { driver: string; options?: Record<string, unknown> }, baseDir: string, home: string): string {
  const o = spec.options ?? {};
  const text = (k: string) => (typeof o[k] === "string" ? (o[k] as string) : undefined);
  const file = (k: string) => (text(k) !== undefined ? path.resolve(baseDir, text(k)!) : undefined);
  const server = text("server") ? `${text("server")}:${String(o.port ?? 1433)}${text("database") ? `/${text("database")}` : ""}` : undefined;
  const url = text("url") ?? text("connectionString") ?? text("endpoint") ?? text("baseUrl");
  const where =
    (url && bareUrl(url)) ??
    text("domain") ??
    server ??
    file("path") ??
    file("root") ??
    file("dir") ??
    (text("secret") ? `secret ${text("secret")}` : undefined) ??
    (text("urlSecret") ? `secret ${text("urlSecret")}` : undefined);
  if (where === undefined && (spec.driver === "memory" || spec.driver === "inprocess")) return "this process";
  return redact(where ?? `default (under ${home})`);
}

function message(err: unknown): string {
  return redact(err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, "; ");
}

/** The check's answer within its deadline, or a failure saying there was none (a driver that ignores its signal). */
async function within<T>(ms: number, what: string, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([fn(), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The configuration with every driver's deadline at most the doctor's, and no retries. */
function doctorConfig(config: LakeConfig, timeoutMs: number): LakeConfig {
  const short = <S extends { timeoutMs?: number | undefined }>(spec: S): S => ({ ...spec, timeoutMs: Math.min(spec.timeoutMs || timeoutMs, timeoutMs) });
  const out = { ...config, retry: { ...config.retry, retries: 0 } } as LakeConfig;
  for (const k of SECTIONS) (out as Record<string, unknown>)[k] = short(config[k]);
  out.blocks = short(config.blocks);
  if (config.notify) out.notify = short(config.notify);
  return out;
}

interface Check {
  interface: string;
  driver: string;
  target: string;
  run: () => Promise<string>;
}

/** Runs every check at once; the findings in the order of the checks. */
async function runChecks(checks: Check[], timeoutMs: number): Promise<Finding[]> {
  return Promise.all(
    checks.map(async (c): Promise<Finding> => {
      const base = { interface: c.interface, driver: c.driver, target: c.target };
      try {
        // The driver's own deadline comes first; this one catches a connect that ignores it (twice the time).
        const detail = await within(2 * timeoutMs + 1_000, c.interface, c.run);
        return { ...base, ok: true, detail };
      } catch (err) {
        return { ...base, ok: false, detail: message(err) };
      }
    }),
  );
}

async function closing<D extends DriverBase, T>(made: Promise<D>, use: (d: D) => Promise<T>): Promise<T> {
  const d = await made;
  try {
    return await use(d);
  } finally {
    await within(2_000, "close", async () => d.close?.()).catch(() => undefined);
  }
}

/** The SQL databases a source's settings name ({driver, options} of a SQL driver at its top level), by key. */
function sqlSpecs(settings: unknown): [string, DriverSpec][] {
  if (typeof settings !== "object" || settings === null) return [];
  return Object.entries(settings as Record<string, unknown>).filter(
    (e): e is [string, DriverSpec] => isDriverSpec(e[1]) && driverEntry("sql", (e[1] as DriverSpec).driver) !== undefined,
  );
}

/** Every finding of a configuration; ok when none failed. */
export async function diagnose(opts: DoctorOptions): Promise<{ ok: boolean; findings: Finding[] }> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_DOCTOR_TIMEOUT_MS;
  const debug = Boolean(opts.debug);
  const findings: Finding[] = [];
  let checked: { config: LakeConfig; problems: ReturnType<typeof checkConfig>["problems"] };
  let loaded: ReturnType<typeof readRawConfig>;
  try {
    loaded = readRawConfig(opts);
    checked = checkConfig(loaded.raw, loaded.where);
  } catch (err) {
    return { ok: false, findings: [{ interface: "config", driver: "-", target: redact(opts.file ?? "(lookup)"), ok: false, detail: message(err) }] };
  }
  const refused = new Map(checked.problems.map((p) => [p.section, p.lines.map((l) => l.trim()).join("; ")]));
  findings.push({
    interface: "config",
    driver: "-",
    target: loaded.file ?? loaded.where,
    ok: refused.size === 0,
    detail: refused.size ? `${refused.size} driver section(s) refused, see below` : "valid",
  });
  const env = opts.env ?? process.env;
  const clock = clockFromEnv(env);
  const runtime = new LakeRuntime(doctorConfig(checked.config, timeoutMs), loaded.baseDir, {}, {
    env,
    ...(clock ? { clock } : {}),
    ...(loaded.file ? { configFile: loaded.file } : {}),
  });
  try {
    const spec = (kind: DriverKind): DriverSpec | undefined => (runtime.config as unknown as Record<string, DriverSpec | undefined>)[kind];
    // Where each spec points, its driver's defaults filled in (knack's baseUrl, ...) when its options are valid.
    const target = (s: DriverSpec, kind: DriverKind) => {
      const parsed = driverEntry(kind, s.driver)?.options.safeParse(s.options ?? {});
      const options = parsed?.success ? (parsed.data as Record<string, unknown>) : s.options;
      return describeTarget({ driver: s.driver, options }, runtime.baseDir, runtime.home);
    };
    const checks: Check[] = [];
    const add = (kind: DriverKind, s: DriverSpec, run: () => Promise<string>) => {
      const problem = refused.get(kind);
      checks.push({
        interface: kind,
        driver: s.driver,
        target: target(s, kind),
        run: problem ? () => Promise.reject(new Error(problem)) : run,
      });
    };
    const open = <K extends DriverKind>(kind: K) => runtime.openDriver(kind, spec(kind)!, debug);
    const sources = await opts.registry.all();

    add("storage", spec("storage")!, () =>
      closing(open("storage"), async (d) => {
        const repo = runtime.repository("raw", debug);
        await d.exists(repo, ".lake-doctor");
        return `reached (repository ${repo})`;
      }),
    );
    add("catalog", spec("catalog")!, () =>
      closing(open("catalog"), async (d) => {
        const repo = runtime.repository("raw", debug);
        for await (const _ of d.query({ repository: repo, dataSource: "lake-doctor", limit: 1 })) break;
        return `reached (catalog query on ${repo})`;
      }),
    );
    add("perfmet", spec("perfmet")!, () =>
      closing(open("perfmet"), async (d) => {
        const now = runtime.clock();
        await d.readJobs({ from: now, to: now });
        return "reached (job table read)";
      }),
    );
    add("publisher", spec("publisher")!, () =>
      closing(open("publisher"), async (d) => {
        const withSets = sources.find((s) => s.datasets && Object.keys(s.datasets).length);
        const key = withSets ? Object.keys(withSets.datasets!)[0]! : undefined;
        if (!withSets || !key || !d.countRows) return "built (no dataset to read)";
        const { target: dataset } = datasetTarget(withSets, key, runtime.config.datasets, debug);
        const rows = await d.countRows(dataset);
        return `reached (dataset ${dataset} of ${withSets.code}: ${rows} rows)`;
      }),
    );
    add("unitdata", spec("unitdata")!, () =>
      closing(open("unitdata"), async (d) => {
        const src = sources.find((s) => s.devices);
        if (!src?.devices) return "built (no source asks for devices)";
        const list = await d.devices({ dataSource: src.code, deviceType: src.devices.type, keys: src.devices.keys });
        return `reached (${list.length} ${src.devices.type} devices of ${src.code})`;
      }),
    );
    add("queue", spec("queue")!, () =>
      closing(open("queue"), async (d) => `reached (${await d.pending()} jobs pending in ${d.queueName})`),
    );
    let blocks: DriverSpec | undefined;
    try {
      blocks = blockStoreSpec(runtime);
    } catch (err) {
      checks.push({ interface: "blocks", driver: "-", target: "-", run: () => Promise.reject(err) });
    }
    if (blocks) {
      add("blocks", blocks, () =>
        closing(openBlockStore(runtime, { readOnly: true }), async (d) => {
          await d.list({ source: "lake-doctor" });
          return "reached (block table read, read-only)";
        }),
      );
    }
    const notify = spec("notify");
    if (notify) add("notify", notify, () => closing(open("notify"), async () => "built: options and secrets valid (not sent to)"));

    for (const source of sources) addSourceChecks(checks, source, runtime, target, { debug, timeoutMs });
    findings.push(...(await runChecks(checks, timeoutMs)));
  } finally {
    await runtime.close();
  }
  return { ok: findings.every((f) => f.ok), findings };
}

/** A source's settings (checked against its schema) and the SQL databases they name. */
function addSourceChecks(
  checks: Check[],
  source: SourceDefinition,
  runtime: LakeRuntime,
  target: (s: DriverSpec, kind: DriverKind) => string,
  { debug, timeoutMs }: { debug: boolean; timeoutMs: number },
): void {
  let settings: unknown;
  try {
    settings = source.settings(runtime.sourceConfig(source.code));
  } catch (err) {
    checks.push({ interface: `source ${source.code}`, driver: "-", target: `sources.${source.code}`, run: () => Promise.reject(err) });
    return;
  }
  for (const [key, s] of sqlSpecs(settings)) {
    checks.push({
      interface: `sql (sources.${source.code}.${key})`,
      driver: s.driver,
      target: target(s, "sql"),
      run: () =>
        closing(runtime.openDriver("sql", { ...s, timeoutMs: Math.min(s.timeoutMs || timeoutMs, timeoutMs) }, debug), async (d) => {
          await d.query("select 1 as one");
          return "reached (select 1)";
        }),
    });
  }
}

/** The findings as one table (interface, driver, target, status, detail). */
export function formatFindings(findings: Finding[]): string {
  const head = ["interface", "driver", "target", "status", "detail"];
  const rows = findings.map((f) => [f.interface, f.driver, f.target, f.ok ? "ok" : "FAIL", f.detail]);
  const widths = head.slice(0, 4).map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `${r.slice(0, 4).map((c, i) => c.padEnd(widths[i]!)).join("  ")}  ${r[4]}`.trimEnd();
  const failed = findings.filter((f) => !f.ok).length;
  return [line(head), ...rows.map(line), failed ? `${failed} of ${findings.length} checks failed` : `all ${findings.length} checks ok`].join("\n") + "\n";
}
