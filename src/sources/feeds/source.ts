/**
 * Scraper jobs ("datafeeds", seed-systems §4): utility-bill and interval-data scrapers run as isolated jobs. A job
 * registry in the configuration (name, id, account + type, implementation, schedule, timeout, params); each job is
 * an entity of a daily partition, so each (job, day) is a block that `lake backfill feeds`, `lake enqueue feeds` +
 * `lake worker` and `lake run feeds-run` run like any other block. A run:
 *
 * 1. is resolved by job name (--entity / --partition), configured id (--source-id), account + type (--entity with
 *    --type) or, as a dev run, by implementation with inline params (--job … -0: nothing persisted);
 * 2. is skipped (not run) when the job is disabled (configured so, or after an authentication failure) or has no
 *    block that day;
 * 3. gets a run id and a fresh working directory, and runs the implementation in a child process there
 *    (src/support/isolated-run.ts), killed at the job's timeout, with its credentials decrypted in that child only;
 * 4. archives the whole folder as `raw/<day>/feeds/<run id>.zip`, its catalog row the run's index entry;
 * 5. hands the results to their handlers: bills upserted by bill id, interval readings merged by meter + start,
 *    bill documents stored once per content hash; the watermark moves when something ends after it.
 */
import { randomUUID } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { DateTime } from "luxon";
import * as z from "zod/mini";
import { entityBase } from "../../support/entities.js";
import { ConfigError, UsageError } from "../../support/errors.js";
import { runIsolated, zipDirectory } from "../../support/isolated-run.js";
import { storeDocuments } from "../../support/documents.js";
import { defineSource, defineStage, type BlockContext, type BlockResult, type RecordError } from "../../support/kit.js";
import type { Partition } from "../../util/partitions.js";
import { IMPLEMENTATIONS, type Bill, type ChildInput, type Reading } from "./job.js";

export { runFeedJob, FeedAuthError, type Bill, type Reading, type FeedJob, type FeedJobContext, type FeedResult } from "./job.js";

const TYPES = ["bills", "interval"] as const;
const job = z.object({
  name: z.string(),
  /** The configured source's id (`--source-id`). */
  id: z.optional(z.string()),
  /** The account (or meter) it serves, with `type` what `--entity <account> --type <type>` resolves; default params.account. */
  account: z.optional(z.string()),
  type: z._default(z.enum(TYPES), "bills"),
  /** A built-in implementation (IMPLEMENTATIONS) or a module path (relative to the configuration file). */
  impl: z.string(),
  enabled: z._default(z.boolean(), true),
  schedule: z._default(z.enum(["daily", "weekly", "monthly"]), "daily"),
  timeoutMs: z._default(z.number(), 600_000),
  params: z._default(z.record(z.string(), z.unknown()), {}),
});
const configSchema = z.looseObject({
  jobs: z._default(z.array(job), []),
  /** The secret (environment or secrets file) holding the key of the stored credentials. */
  keySecret: z._default(z.string(), "LAKE_FEEDS_KEY"),
});
export type FeedsConfig = z.infer<typeof configSchema>;
export type JobDeclaration = z.infer<typeof job>;

const JOB_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const isModulePath = (impl: string) => /[/\\]|\.(m?js|ts)$/.test(impl);
const unknownImpl = (impl: string) => `unknown implementation "${impl}" (built in: ${Object.keys(IMPLEMENTATIONS).join(", ")}; or a module path)`;
export const accountOf = (j: JobDeclaration): string | undefined => j.account ?? (typeof j.params.account === "string" ? j.params.account : undefined);

/** The registry: every job checked (its name names its folder, archive and queue job: no "/", "..", nothing empty). */
export function jobsOf(config: FeedsConfig): JobDeclaration[] {
  const seen = new Set<string>();
  const ids = new Set<string>();
  config.jobs.forEach((j, i) => {
    const where = `sources.feeds.jobs[${i}]`;
    if (!j.name.trim()) throw new ConfigError(`${where}: the job's name is empty`);
    if (!JOB_NAME.test(j.name)) throw new ConfigError(`${where}: job name ${JSON.stringify(j.name)} is not allowed: use letters, digits, "-" and "_" (no "/", "..", "." or spaces): it names the run's folder and archive`);
    if (seen.has(j.name)) throw new ConfigError(`${where}: job name "${j.name}" is declared twice`);
    if (j.id !== undefined && ids.has(j.id)) throw new ConfigError(`${where} (job "${j.name}"): id "${j.id}" is declared twice`);
    if (!IMPLEMENTATIONS[j.impl] && !isModulePath(j.impl)) throw new ConfigError(`${where} (job "${j.name}"): ${unknownImpl(j.impl)}`);
    seen.add(j.name);
    if (j.id !== undefined) ids.add(j.id);
  });
  return config.jobs;
}

/** The job a run names by its id, by account + type, or (a dev run) by implementation; undefined: by name. */
function entityOf(config: FeedsConfig, o: Record<string, unknown>): string | undefined {
  const jobs = jobsOf(config);
  if (o.source_id !== undefined) {
    const j = jobs.find((x) => x.id === String(o.source_id));
    if (!j) throw new UsageError(`feeds: no job is configured with id "${String(o.source_id)}" (ids: ${jobs.flatMap((x) => x.id ?? []).join(", ") || "none"})`);
    return j.name;
  }
  if (o.type !== undefined) {
    const type = String(o.type);
    if (!(TYPES as readonly string[]).includes(type)) throw new UsageError(`feeds: --type "${type}" is not a source type (${TYPES.join(", ")})`);
    if (o.entity === undefined) throw new UsageError(`feeds: --type ${type} needs --entity <account>`);
    const found = jobs.filter((x) => accountOf(x) === String(o.entity) && x.type === type);
    if (found.length !== 1) throw new UsageError(`feeds: ${found.length ? `jobs ${found.map((x) => x.name).join(", ")} are all` : "no job is"} configured for account "${String(o.entity)}" and type ${type}`);
    return found[0]!.name;
  }
  if (o.job !== undefined) {
    const impl = String(o.job);
    if (!IMPLEMENTATIONS[impl] && !isModulePath(impl)) throw new UsageError(`feeds: --job: ${unknownImpl(impl)}`);
    if (!o.simulate) throw new UsageError(`feeds: --job ${impl} runs an implementation that is not registered: that is a dev run only: add -0 (nothing is written)`);
    return `dev-${path.basename(impl).replace(/\.(m?js|ts)$/, "").replace(/[^A-Za-z0-9_-]/g, "_")}`;
  }
  return undefined;
}

const SCHEDULE_DAYS = { daily: "every day", weekly: "on Mondays", monthly: "on the 1st" };
const scheduled = (j: JobDeclaration, p?: Partition) => !p || j.schedule === "daily" || (j.schedule === "weekly" ? p.start.weekday === 1 : p.start.day === 1);

/** The bills and readings of result.json, each checked (row = its position, 1-based); refused ones with field and reason. */
function checkResult(value: unknown, file: string, zone: string): { bills: Bill[]; readings: Reading[]; errors: RecordError[] } {
  const v = value as { bills?: unknown; readings?: unknown };
  const errors: RecordError[] = [];
  if (v?.bills !== undefined && !Array.isArray(v.bills)) errors.push({ reason: "bills is not a list", file });
  if (v?.readings !== undefined && !Array.isArray(v.readings)) errors.push({ reason: "readings is not a list", file });
  if (!Array.isArray(v?.bills) && !Array.isArray(v?.readings)) return { bills: [], readings: [], errors: errors.length ? errors : [{ reason: "result has no bills or readings list", file }] };
  const date = (x: unknown) => typeof x === "string" && /^\d{4}-\d{2}-\d{2}$/.test(x) && DateTime.fromISO(x).isValid;
  const instant = (x: unknown) => (typeof x === "string" ? DateTime.fromISO(x, { zone }) : DateTime.invalid("not a string"));
  const number = (x: unknown) => typeof x === "number" && Number.isFinite(x);
  const bills = (Array.isArray(v.bills) ? v.bills : []).filter((b: Record<string, unknown>, i) => {
    const bad = (field: string, why: string) => !errors.push({ reason: `${field} ${why}`, file, line: i + 1, field: `bills.${field}` });
    if (typeof b?.account !== "string" || !b.account) return bad("account", "is missing");
    if (!date(b.start)) return bad("start", `is not a YYYY-MM-DD date: ${JSON.stringify(b.start)}`);
    if (!date(b.end) || (b.end as string) < (b.start as string)) return bad("end", `is not a YYYY-MM-DD date on or after start: ${JSON.stringify(b.end)}`);
    for (const f of ["cost", "use"]) if (!number(b[f])) return bad(f, `is not a number: ${JSON.stringify(b[f])}`);
    if (b.peak != null && !number(b.peak)) return bad("peak", `is not a number: ${JSON.stringify(b.peak)}`);
    return true;
  }) as Bill[];
  const readings = (Array.isArray(v.readings) ? v.readings : []).filter((r: Record<string, unknown>, i) => {
    const bad = (field: string, why: string) => !errors.push({ reason: `${field} ${why}`, file, line: i + 1, field: `readings.${field}` });
    if (typeof r?.meter !== "string" || !r.meter) return bad("meter", "is missing");
    if (!instant(r.start).isValid) return bad("start", `is not an ISO time: ${JSON.stringify(r.start)}`);
    if (!instant(r.end).isValid || instant(r.end) <= instant(r.start)) return bad("end", `is not an ISO time after start: ${JSON.stringify(r.end)}`);
    if (!number(r.value)) return bad("value", `is not a number: ${JSON.stringify(r.value)}`);
    return true;
  }) as Reading[];
  return { bills, readings, errors };
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

/** The job of a block: a configured one, or the dev run's implementation (--job, relative to the working directory). */
function jobOf(entity: string | undefined, ctx: Ctx): JobDeclaration {
  const j = jobsOf(ctx.config).find((x) => x.name === entity);
  if (j) return j;
  if (ctx.options.job !== undefined && entity) return { name: entity, impl: String(ctx.options.job), type: "bills", enabled: true, schedule: "daily", timeoutMs: 600_000, params: {} };
  throw new UsageError(`feeds: no job "${entity}" (jobs: ${jobsOf(ctx.config).map((x) => x.name).join(", ") || "none"})`);
}

/** Why a job is not run for a block, or undefined when it runs. */
async function skipReason(j: JobDeclaration, p: Partition, ctx: Ctx): Promise<string | undefined> {
  if (!j.enabled) return `job ${j.name} is disabled in the configuration (enabled: false)`;
  if (!scheduled(j, p)) return `job ${j.name} is scheduled ${j.schedule} (${SCHEDULE_DAYS[j.schedule]}): no block on ${p.start.toISODate()}`;
  const off = await ctx.entities.record(entityBase([j.name]), "disabled");
  if (off) return `job ${j.name} is disabled since ${String(off.since)} after an authentication failure (run ${String(off.runId)}: ${String(off.error)}): set its credentials (lake feeds credentials set ${j.name}), then lake feeds enable ${j.name}`;
  return undefined;
}

async function runJob(j: JobDeclaration, p: Partition, ctx: Ctx, adHoc: boolean) {
  const inline = ctx.options.params === undefined ? {} : inlineParams(String(ctx.options.params));
  const runId = `${j.name}-${p.start.toFormat("yyyyMMdd")}-${randomUUID().slice(0, 8)}`;
  const workdir = path.join(await ctx.tempDir(), runId);
  await mkdir(workdir);
  const where = isModulePath(j.impl) ? { module: pathToFileURL(adHoc ? path.resolve(j.impl) : ctx.resolvePath(j.impl)).href } : { impl: j.impl };
  const range = { start: p.start.toISO()!, end: p.end.toISO()! };
  const sealed = adHoc ? undefined : await ctx.entities.record(entityBase([j.name]), "credentials");
  const credentials = sealed ? { sealed: String(sealed.sealed), key: ctx.secret(ctx.config.keySecret, `the key of the stored credentials of job ${j.name}`), keyName: ctx.config.keySecret } : undefined;
  const input: ChildInput = { job: j.name, runId, workdir, ...range, params: { ...j.params, ...inline }, ...where, ...(credentials ? { credentials } : {}) };
  const r = await runIsolated({ module: SELF, export: "runFeedJob", input, cwd: workdir, timeoutMs: j.timeoutMs, logFile: path.join(workdir, "run.log") });
  const result = await readFile(path.join(workdir, "result.json"), "utf8").then((t) => JSON.parse(t) as { error?: string; auth?: boolean }, () => undefined);
  let error: string | undefined;
  if (r.timedOut) error = r.started ? `killed at its timeout (${j.timeoutMs} ms)` : "killed: it did not start within 120 s";
  else if (r.exitCode !== 0) error = result?.error ? `${result.auth ? "authentication failed" : "threw"}: ${result.error}` : `exited with ${r.exitCode ?? r.signal} (see run.log in the archive)`;
  return { runId, workdir, range, error, auth: Boolean(r.exitCode !== 0 && result?.auth), result };
}

/** The summary table of what was (or, with -0, would be) loaded. */
function summaryTable(head: string, bills: Bill[], readings: Reading[], docs: { stored: number; existing: number }): string {
  const lines = [head];
  if (bills.length) {
    lines.push(`${"start".padEnd(11)} ${"end".padEnd(11)} ${"cost".padStart(10)} ${"use".padStart(9)} ${"peak".padStart(7)}  pdf`);
    for (const b of bills) lines.push(`${b.start.padEnd(11)} ${b.end.padEnd(11)} ${b.cost.toFixed(2).padStart(10)} ${String(b.use).padStart(9)} ${String(b.peak ?? "").padStart(7)}  ${b.pdf ? "yes" : "no"}`);
  }
  const meters = new Map<string, Reading[]>();
  for (const r of readings) meters.set(r.meter, [...(meters.get(r.meter) ?? []), r]);
  for (const [m, rs] of meters) lines.push(`meter ${m}: ${rs.length} reading(s) ${rs[0]!.start} .. ${rs[rs.length - 1]!.end}, total ${rs.reduce((s, r) => s + r.value, 0)}${rs[0]!.unit ? ` ${rs[0]!.unit}` : ""}`);
  if (docs.stored + docs.existing) lines.push(`documents: ${docs.stored} new, ${docs.existing} already stored`);
  return lines.join("\n");
}

async function runBlock(entity: string | undefined, partition: Partition, ctx: Ctx): Promise<BlockResult> {
  const j = jobOf(entity, ctx);
  const adHoc = ctx.options.job !== undefined && !jobsOf(ctx.config).some((x) => x.name === j.name);
  const skip = adHoc ? undefined : await skipReason(j, partition, ctx);
  if (skip) return { total: 0, processed: 0, status: "skipped", message: skip };
  const run = await runJob(j, partition, ctx, adHoc);
  const file = `${run.runId}.zip:result.json`;
  const { bills, readings, errors } = run.error ? { bills: [], readings: [], errors: [] } : checkResult(run.result, file, ctx.zone);
  const base = entityBase([j.name]);
  const stored = await ctx.entities.watermark(base);
  const ends = [...bills.map((b) => DateTime.fromISO(b.end, { zone: ctx.zone })), ...readings.map((r) => DateTime.fromISO(r.end, { zone: ctx.zone }))];
  const newest = ends.length ? DateTime.max(...ends) : undefined;
  const maxFetched = newest && (readings.length ? newest.toISO() : newest.toISODate());
  const isNew = newest !== undefined && (!stored || newest > stored.at);
  const status = run.error ? "failed" : isNew ? "completed" : "completed (no new data)";
  const docs = { stored: 0, existing: 0 };
  const keys = new Map<Bill, string>();
  if (!run.error) {
    const withPdf = bills.filter((b) => b.pdf);
    const bodies = await Promise.all(withPdf.map((b) => readFile(path.resolve(run.workdir, b.pdf!))));
    const res = await storeDocuments(ctx.to, withPdf.map((b, i) => ({ body: bodies[i]!, ext: "pdf", date: DateTime.fromISO(b.start, { zone: ctx.zone }), metadata: { job: j.name, account: b.account, runId: run.runId } })), "application/pdf");
    withPdf.forEach((b, i) => keys.set(b, res.keys[i]!));
    Object.assign(docs, { stored: res.stored, existing: res.existing });
  }
  const disable = run.auth && !ctx.simulate && !adHoc;
  const entry = await ctx.to.write({
    base: entityBase([j.name, run.runId]), ext: "zip", date: partition.start, collectionEnd: partition.end, name: `${run.runId}.zip`,
    body: await zipDirectory(run.workdir), contentType: "application/zip", rows: bills.length + readings.length,
    metadata: { job: j.name, runId: run.runId, status, error: run.error ?? null, range: run.range, bills: bills.length, readings: readings.length, documents: docs, refused: errors.length, maxFetched: maxFetched ?? null, ...(disable ? { disabled: true } : {}) },
  });
  if (run.error) {
    const message = `job ${j.name} run ${run.runId} ${run.error}${disable ? `; job ${j.name} is disabled until \`lake feeds enable ${j.name}\`` : ""}; archive ${entry.pointer}`;
    if (disable) {
      ctx.entities.setRecord(base, "disabled", { since: ctx.now().toISO(), runId: run.runId, error: run.error });
      await ctx.notify("source.disabled", j.name, message);
    }
    return { total: 0, processed: 0, status: "failed", message, payload: entry.pointer };
  }
  const billRows = bills.map((b) => ({ bill_id: `${j.name}|${b.account}|${b.start}`, job: j.name, account: b.account, start: b.start, end: b.end, cost: b.cost, use: b.use, peak: b.peak ?? null, has_pdf: Boolean(b.pdf), document: keys.get(b) ?? null, run_id: run.runId }));
  if (billRows.length) await ctx.publish("bills", billRows);
  const readingRows = readings.map((r) => {
    const start = DateTime.fromISO(r.start, { zone: ctx.zone }).toUTC().toISO()!;
    return { reading_id: `${r.meter}|${start}`, meter: r.meter, start, end: DateTime.fromISO(r.end, { zone: ctx.zone }).toUTC().toISO()!, value: r.value, unit: r.unit ?? null, job: j.name, run_id: run.runId };
  });
  if (readingRows.length) await ctx.publish("readings", readingRows);
  if (isNew) ctx.entities.setWatermark(base, newest, { runId: run.runId });
  const verb = ctx.simulate ? "would be loaded (-0: nothing written)" : "loaded";
  ctx.log.info(summaryTable(`${j.name} run ${run.runId}: ${status}; ${verb}:`, bills, readings, docs));
  const total = bills.length + readings.length;
  return { total: total + errors.length, processed: total, errors, ...(isNew || errors.length ? {} : { status: "no-data" as const }), message: `${status}, run ${run.runId}`, payload: entry.pointer };
}

export default defineSource<FeedsConfig>({
  code: "feeds",
  name: "Feeds",
  description: "Scraper jobs: utility bills and interval readings per job and day, each run isolated and archived under its run id",
  config: configSchema,
  partition: { grain: "day", entities: (c, p) => jobsOf(c).filter((j) => scheduled(j, p)).map((j) => j.name), entityOf },
  datasets: {
    bills: { production: "feeds-bills", debug: "feeds-bills-test", rowId: "bill_id" },
    readings: { production: "feeds-readings", debug: "feeds-readings-test", rowId: "reading_id" },
  },
  stages: [
    defineStage<FeedsConfig>({
      kind: "block",
      name: "run",
      description: "Feeds: one job's run of a day in a child process → its archive (raw zip), bills, readings and documents",
      perfmet: "Ingest",
      to: "raw",
      options: [
        { flags: "--params <json>", description: "inline parameters merged into the job's (a dev run: with -0 nothing is written)" },
        { flags: "--source-id <id>", description: "the job configured with this id" },
        { flags: "--type <type>", description: "with --entity <account>: the job configured for that account and type (bills, interval)" },
        { flags: "--job <impl>", description: "a dev run (-0) of an implementation that is not registered (built-in name or module path), with --params" },
      ],
      run: (block, ctx) => runBlock(block.entity, block.partition, ctx as Ctx),
    }),
  ],
  demo: () => import("./simulate.js"),
  commands: () => import("./commands.js"),
});
