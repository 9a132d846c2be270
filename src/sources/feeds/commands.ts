/**
 * The feeds source's own commands (`lake feeds …`, declared in source.ts): a job's stored credentials (a JSON object,
 * encrypted with the key of the secret `keySecret`, default LAKE_FEEDS_KEY, before it is written to the catalog;
 * nothing secret on the command line) and re-enabling a job that an authentication failure disabled.
 */
import type { SourceCommand, SourceCommandContext } from "../../support/kit.js";
import { Catalog } from "../../support/catalog.js";
import { EntityState, entityBase } from "../../support/entities.js";
import { UsageError } from "../../support/errors.js";
import { encrypt, parseKey } from "../../util/encryption.js";

/** The job's records (catalog rows of the feeds source's state), once the job is known to the configuration. */
async function jobRecords(ctx: SourceCommandContext, job: string) {
  const { runtime, debug } = ctx;
  // Imported here, not above: source.ts must stay in its own entry of the bundle (dist/sources/feeds.js), whose URL
  // a run's child process imports to find runFeedJob (a shared chunk would not export it).
  const { default: source, jobsOf } = await import("./source.js");
  const config = source.settings(runtime.sourceConfig("feeds"));
  const names = jobsOf(config).map((j) => j.name);
  if (!names.includes(job)) throw new UsageError(`feeds: no job "${job}" (jobs: ${names.join(", ") || "none"})`);
  const catalog = new Catalog(await runtime.driver("catalog", debug), "feeds", { zone: runtime.zone });
  const entities = new EntityState(catalog, runtime.stateRepository(debug), runtime.repository("raw", debug), "feeds-run");
  return { config, catalog, entities, base: entityBase([job]) };
}

const setCredentials: SourceCommand = {
  name: "credentials set",
  description: 'store a job\'s credentials: a JSON object such as {"username":…,"password":…}, read from a variable or stdin',
  args: [{ name: "job", description: "the job's name" }],
  options: [
    { flags: "--from-env <var>", description: "the environment variable holding the JSON" },
    { flags: "--stdin", description: "read the JSON from stdin" },
  ],
  async run([job], opts, ctx) {
    const { config, catalog, entities, base } = await jobRecords(ctx, job!);
    const fromEnv = opts.fromEnv as string | undefined;
    if (Boolean(fromEnv) === Boolean(opts.stdin)) throw new UsageError("feeds credentials set: give one of --from-env VAR or --stdin (never the value itself)");
    const text = fromEnv ? process.env[fromEnv] : await ctx.input();
    if (!text?.trim()) throw new UsageError(fromEnv ? `feeds credentials set: the variable ${fromEnv} is not set or empty` : "feeds credentials set: stdin is empty");
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    if (!value || typeof value !== "object" || Array.isArray(value)) throw new UsageError(`feeds credentials set: ${fromEnv ?? "stdin"} must hold a JSON object, e.g. {"username":"…","password":"…"} (its text is not shown)`);
    const key = parseKey(ctx.runtime.secrets.require(config.keySecret, "the key of the feeds jobs' stored credentials"), config.keySecret);
    const fields = Object.keys(value).sort();
    entities.setRecord(base, "credentials", { sealed: encrypt(Buffer.from(JSON.stringify(value), "utf8"), key).toString("base64"), fields, at: new Date(ctx.runtime.clock()).toISOString() });
    await catalog.flush();
    ctx.out(`feeds: credentials of job ${job} stored, encrypted with ${config.keySecret} (fields: ${fields.join(", ")})\n`);
  },
};

const enable: SourceCommand = {
  name: "enable",
  description: "re-enable a job disabled after an authentication failure (its next runs run again)",
  args: [{ name: "job", description: "the job's name" }],
  async run([job], _opts, ctx) {
    const { entities, base } = await jobRecords(ctx, job!);
    const was = await entities.record(base, "disabled");
    await entities.clearRecord(base, "disabled");
    // The days it was skipped on are pending again: `--incomplete-only` sweeps (and `lake schedule`) run them.
    const store = await ctx.blockStore();
    let missed = 0;
    try {
      for (const b of await store.list({ source: "feeds" })) {
        if (!b.day.endsWith(`#${job}`) || b.status !== "skipped" || !b.message?.includes("after an authentication failure")) continue;
        await store.markPending({ source: b.source, stage: b.stage, day: b.day }, ctx.runtime.clock(), `job ${job} enabled again`);
        missed++;
      }
    } finally {
      await store.close();
    }
    const days = missed ? `; ${missed} day(s) it was skipped on are pending again (lake backfill feeds --incomplete-only runs them)` : "";
    ctx.out(was ? `feeds: job ${job} enabled again (disabled since ${String(was.since)}: ${String(was.error)})${days}\n` : `feeds: job ${job} was not disabled${days}\n`);
  },
};

export default [setCredentials, enable] satisfies readonly SourceCommand[];
