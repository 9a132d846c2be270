/**
 * Scraper jobs ("datafeeds", seed-systems §4): utility-bill scrapers run as isolated jobs. A job registry in the
 * configuration (name, implementation, schedule, timeout, params); each job is an entity of a daily partition, so
 * each (job, day) is a block that `lake backfill feeds`, `lake enqueue feeds` + `lake worker` and `lake run
 * feeds-run --partition` run like any other block. A run:
 *
 * 1. gets a run id and a fresh working directory named by it;
 * 2. runs the job's implementation in a child process there (src/support/isolated-run.ts), killed at the job's
 *    timeout; the implementation (one module, loaded by that child only) writes downloads into the folder and
 *    returns bills; the child writes result.json, bills.csv and run.log beside them;
 * 3. archives the whole folder as `raw/<day>/feeds/<run id>.zip`, its catalog row the run's index entry (job, run
 *    id, status, error, range, bills, max fetched date), whatever the outcome;
 * 4. publishes the bills (upserted by bill id: a rerun replaces, never duplicates) and moves the job's watermark
 *    (the newest bill end stored): "completed" when a bill ends after it, else "completed (no new data)".
 */
import { randomUUID } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { DateTime } from "luxon";
import { stringify } from "csv-stringify/sync";
import * as z from "zod/mini";
import { entityBase } from "../../support/entities.js";
import { ConfigError, UsageError } from "../../support/errors.js";
import { runIsolated, zipDirectory } from "../../support/isolated-run.js";
import { defineSource, defineStage, type BlockContext, type RecordError } from "../../support/kit.js";
import type { Partition } from "../../util/partitions.js";

/** A bill as a job returns it; `pdf` is a file of the working directory. */
export interface Bill {
  account: string;
  start: string;
  end: string;
  cost: number;
  use: number;
  peak?: number | null;
  pdf?: string;
}
/** What a job's implementation gets: its working directory (also the process's cwd), the run's range and params. */
export interface FeedJobContext {
  job: string;
  runId: string;
  workdir: string;
  /** The run's range [start, end), ISO with offset. */
  start: string;
  end: string;
  params: Record<string, unknown>;
  log(message: string): void;
}
/** A job implementation: a module whose default export (or a built-in) is this. */
export interface FeedJob {
  run(ctx: FeedJobContext): Promise<{ bills: Bill[] }>;
}

/** Built-in implementations by name, each imported only by the run that needs it. */
export const IMPLEMENTATIONS: Record<string, () => Promise<FeedJob>> = {
  "fake-utility-bills": async () => (await import("./fakes.js")).billsJob,
  "fake-utility-portal": async () => (await import("./fakes.js")).portalJob,
  "fake-hang": async () => (await import("./fakes.js")).hangJob,
};

const job = z.object({
  name: z.string(),
  /** A built-in implementation (IMPLEMENTATIONS) or a module path (relative to the configuration file). */
  impl: z.string(),
  schedule: z._default(z.enum(["daily", "weekly", "monthly"]), "daily"),
  timeoutMs: z._default(z.number(), 600_000),
  params: z._default(z.record(z.string(), z.unknown()), {}),
});
const configSchema = z.looseObject({ jobs: z._default(z.array(job), []) });
export type FeedsConfig = z.infer<typeof configSchema>;
export type JobDeclaration = z.infer<typeof job>;

const JOB_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const isModulePath = (impl: string) => /[/\\]|\.(m?js|ts)$/.test(impl);

/** The registry: every job checked (its name names its folder, archive and queue job: no "/", "..", nothing empty). */
export function jobsOf(config: FeedsConfig): JobDeclaration[] {
  const seen = new Set<string>();
  config.jobs.forEach((j, i) => {
    const where = `sources.feeds.jobs[${i}]`;
    if (!j.name.trim()) throw new ConfigError(`${where}: the job's name is empty`);
    if (!JOB_NAME.test(j.name)) throw new ConfigError(`${where}: job name ${JSON.stringify(j.name)} is not allowed: use letters, digits, "-" and "_" (no "/", "..", "." or spaces): it names the run's folder and archive`);
    if (seen.has(j.name)) throw new ConfigError(`${where}: job name "${j.name}" is declared twice`);
    if (!IMPLEMENTATIONS[j.impl] && !isModulePath(j.impl)) throw new ConfigError(`${where} (job "${j.name}"): unknown implementation "${j.impl}" (built in: ${Object.keys(IMPLEMENTATIONS).join(", ")}; or a module path)`);
    seen.add(j.name);
  });
  return config.jobs;
}

const scheduled = (j: JobDeclaration, p?: Partition) => !p || j.schedule === "daily" || (j.schedule === "weekly" ? p.start.weekday === 1 : p.start.day === 1);

interface ChildInput {
  job: string;
  runId: string;
  workdir: string;
  start: string;
  end: string;
  params: Record<string, unknown>;
  impl?: string;
  module?: string;
}

/** The child process's side of a run (called by runIsolated): the implementation, then result.json and bills.csv. */
export async function runFeedJob(input: ChildInput, ready: () => void): Promise<number> {
  const log = (m: string) => process.stdout.write(`${DateTime.utc().toISO()} ${m}\n`);
  log(`job ${input.job} run ${input.runId}: ${input.start} .. ${input.end}`);
  try {
    const impl = input.module ? ((await import(input.module)) as { default: FeedJob }).default : await IMPLEMENTATIONS[input.impl!]!();
    ready(); // the job's timeout counts from here
    const { bills } = await impl.run({ job: input.job, runId: input.runId, workdir: input.workdir, start: input.start, end: input.end, params: input.params, log });
    await writeFile("result.json", JSON.stringify({ bills }, null, 1));
    const rows = (Array.isArray(bills) ? bills : []).map((b) => [b.start, b.end, b.cost, b.use, b.peak ?? "", b.pdf ? "yes" : "no"]);
    await writeFile("bills.csv", stringify(rows, { header: true, columns: ["start", "end", "cost", "use", "peak", "has_pdf"] }));
    log(`done: ${rows.length} bill(s)`);
    return 0;
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await writeFile("result.json", JSON.stringify({ error: err instanceof Error ? err.message : String(err) }));
    return 1;
  }
}

/** The bills of result.json, each checked (row = its position, 1-based); refused ones with field and reason. */
function checkBills(value: unknown, file: string): { bills: Bill[]; errors: RecordError[] } {
  const list = (value as { bills?: unknown })?.bills;
  if (!Array.isArray(list)) return { bills: [], errors: [{ reason: "result has no bills list", file }] };
  const bills: Bill[] = [];
  const errors: RecordError[] = [];
  const date = (v: unknown) => typeof v === "string" && DateTime.fromISO(v).isValid && /^\d{4}-\d{2}-\d{2}$/.test(v);
  list.forEach((b: Record<string, unknown>, i) => {
    const bad = (field: string, why: string) => errors.push({ reason: `${field} ${why}`, file, line: i + 1, field });
    if (typeof b?.account !== "string" || !b.account) return bad("account", "is missing");
    if (!date(b.start)) return bad("start", `is not a YYYY-MM-DD date: ${JSON.stringify(b.start)}`);
    if (!date(b.end) || (b.end as string) < (b.start as string)) return bad("end", `is not a YYYY-MM-DD date on or after start: ${JSON.stringify(b.end)}`);
    for (const f of ["cost", "use"]) if (typeof b[f] !== "number" || !Number.isFinite(b[f])) return bad(f, `is not a number: ${JSON.stringify(b[f])}`);
    if (b.peak != null && typeof b.peak !== "number") return bad("peak", `is not a number: ${JSON.stringify(b.peak)}`);
    bills.push(b as unknown as Bill);
  });
  return { bills, errors };
}

function inlineParams(text: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--params: not JSON (${(err as Error).message}): ${text.slice(0, 80)}`);
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new UsageError(`--params: a JSON object is needed, e.g. '{"account":"A-1"}'`);
  return v as Record<string, unknown>;
}

const SELF = import.meta.url;
type Ctx = BlockContext<FeedsConfig>;

async function runJob(j: JobDeclaration, p: Partition, ctx: Ctx) {
  const inline = ctx.options.params === undefined ? {} : inlineParams(String(ctx.options.params));
  const runId = `${j.name}-${p.start.toFormat("yyyyMMdd")}-${randomUUID().slice(0, 8)}`;
  const workdir = path.join(await ctx.tempDir(), runId);
  await mkdir(workdir);
  const where = isModulePath(j.impl) ? { module: pathToFileURL(ctx.resolvePath(j.impl)).href } : { impl: j.impl };
  const range = { start: p.start.toISO()!, end: p.end.toISO()! };
  const input: ChildInput = { job: j.name, runId, workdir, ...range, params: { ...j.params, ...inline }, ...where };
  const r = await runIsolated({ module: SELF, export: "runFeedJob", input, cwd: workdir, timeoutMs: j.timeoutMs, logFile: path.join(workdir, "run.log") });
  const result = await readFile(path.join(workdir, "result.json"), "utf8").then((t) => JSON.parse(t) as { error?: string }, () => undefined);
  let error: string | undefined;
  if (r.timedOut) error = r.started ? `killed at its timeout (${j.timeoutMs} ms)` : "killed: it did not start within 120 s";
  else if (r.exitCode !== 0) error = result?.error ? `threw: ${result.error}` : `exited with ${r.exitCode ?? r.signal} (see run.log in the archive)`;
  return { runId, workdir, range, error, result };
}

export default defineSource<FeedsConfig>({
  code: "feeds",
  name: "Feeds",
  description: "Scraper jobs: utility bills per job and day, each run isolated and archived under its run id",
  config: configSchema,
  partition: { grain: "day", entities: (c, p) => jobsOf(c).filter((j) => scheduled(j, p)).map((j) => j.name) },
  datasets: { bills: { production: "feeds-bills", debug: "feeds-bills-test", rowId: "bill_id" } },
  stages: [
    defineStage<FeedsConfig>({
      kind: "block",
      name: "run",
      description: "Feeds: one job's run of a day in a child process → its archive (raw zip) and its bills (published)",
      perfmet: "Ingest",
      to: "raw",
      options: [{ flags: "--params <json>", description: "inline parameters merged into the job's (a dev run: with -0 nothing is written)" }],
      async run(block, ctx) {
        const j = jobsOf(ctx.config).find((x) => x.name === block.entity);
        if (!j) throw new UsageError(`feeds: no job "${block.entity}" (jobs: ${jobsOf(ctx.config).map((x) => x.name).join(", ") || "none"})`);
        const run = await runJob(j, block.partition, ctx as Ctx);
        const file = `${run.runId}.zip:result.json`;
        const { bills, errors } = run.error ? { bills: [], errors: [] } : checkBills(run.result, file);
        const base = entityBase([j.name]);
        const stored = await ctx.entities.watermark(base);
        const maxFetched = bills.reduce<string | undefined>((m, b) => (!m || b.end > m ? b.end : m), undefined);
        const isNew = maxFetched !== undefined && (!stored || maxFetched > stored.at.toISODate()!);
        const status = run.error ? "failed" : isNew ? "completed" : "completed (no new data)";
        const entry = await ctx.to.write({
          base: entityBase([j.name, run.runId]), ext: "zip", date: block.partition.start, collectionEnd: block.partition.end, name: `${run.runId}.zip`,
          body: await zipDirectory(run.workdir), contentType: "application/zip", rows: bills.length,
          metadata: { job: j.name, runId: run.runId, status, error: run.error ?? null, range: run.range, bills: bills.length, refused: errors.length, maxFetched: maxFetched ?? null },
        });
        if (run.error) return { total: 0, processed: 0, status: "failed", message: `job ${j.name} run ${run.runId} ${run.error}; archive ${entry.pointer}`, payload: entry.pointer };
        const rows = bills.map((b) => ({ bill_id: `${j.name}|${b.account}|${b.start}`, job: j.name, account: b.account, start: b.start, end: b.end, cost: b.cost, use: b.use, peak: b.peak ?? null, has_pdf: Boolean(b.pdf), run_id: run.runId }));
        if (rows.length) await ctx.publish("bills", rows);
        if (isNew) ctx.entities.setWatermark(base, DateTime.fromISO(maxFetched!, { zone: ctx.zone }), { runId: run.runId });
        const verb = ctx.simulate ? "would be loaded (-0: nothing written)" : "loaded";
        ctx.log.info([`${j.name} run ${run.runId}: ${status}; bills ${verb}:`, `${"start".padEnd(11)} ${"end".padEnd(11)} ${"cost".padStart(10)} ${"use".padStart(9)} ${"peak".padStart(7)}  pdf`,
          ...bills.map((b) => `${b.start.padEnd(11)} ${b.end.padEnd(11)} ${b.cost.toFixed(2).padStart(10)} ${String(b.use).padStart(9)} ${String(b.peak ?? "").padStart(7)}  ${b.pdf ? "yes" : "no"}`)].join("\n"));
        return { total: bills.length + errors.length, processed: bills.length, errors, ...(isNew || errors.length ? {} : { status: "no-data" as const }), message: `${status}, run ${run.runId}`, payload: entry.pointer };
      },
    }),
  ],
  demo: () => import("./simulate.js"),
});
