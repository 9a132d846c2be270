/**
 * `lake feeds credentials set <job> --from-env VAR | --stdin` and `lake feeds enable <job>`: a feeds job's stored
 * credentials (a JSON object, encrypted with the key of the secret `keySecret`, default LAKE_FEEDS_KEY, before it
 * is written to the catalog; nothing secret on the command line) and re-enabling a job that an authentication
 * failure disabled.
 */
import type { Command } from "commander";
import { setCode, stdout, withRuntime, type ActionDeps } from "./shared.js";
import type { LakeRuntime } from "../support/runtime.js";

export interface FeedsFlags {
  fromEnv?: string;
  stdin?: boolean;
  debug?: boolean;
  config?: string;
}

export function register(program: Command): void {
  const feeds = program.command("feeds").description("feeds jobs: stored credentials, re-enabling a disabled job");
  const credentials = feeds.command("credentials").description("a job's stored credentials (encrypted with the key of LAKE_FEEDS_KEY)");
  credentials
    .command("set")
    .description("store a job's credentials: a JSON object such as {\"username\":…,\"password\":…}, read from a variable or stdin")
    .argument("<job>", "the job's name")
    .option("--from-env <var>", "the environment variable holding the JSON")
    .option("--stdin", "read the JSON from stdin")
    .option("--debug", "the debug catalog")
    .option("--config <file>", "configuration file")
    .action(async (job: string, opts: FeedsFlags, self: Command) => setCode(self, await setCredentialsAction(job, opts)));
  feeds
    .command("enable")
    .description("re-enable a job disabled after an authentication failure (its next runs run again)")
    .argument("<job>", "the job's name")
    .option("--debug", "the debug catalog")
    .option("--config <file>", "configuration file")
    .action(async (job: string, opts: FeedsFlags, self: Command) => setCode(self, await enableAction(job, opts)));
}

/** The job's records (catalog rows of the feeds source's state), once the job is known to the configuration. */
async function jobRecords(runtime: LakeRuntime, job: string, debug: boolean) {
  const [{ default: source, jobsOf }, { Catalog }, { EntityState, entityBase }, { UsageError }] = await Promise.all([
    import("../sources/feeds/source.js"),
    import("../support/catalog.js"),
    import("../support/entities.js"),
    import("../support/errors.js"),
  ]);
  const config = source.settings(runtime.sourceConfig("feeds"));
  const names = jobsOf(config).map((j) => j.name);
  if (!names.includes(job)) throw new UsageError(`feeds: no job "${job}" (jobs: ${names.join(", ") || "none"})`);
  const catalog = new Catalog(await runtime.driver("catalog", debug), "feeds", { zone: runtime.zone });
  const entities = new EntityState(catalog, runtime.stateRepository(debug), runtime.repository("raw", debug), "feeds-run");
  return { config, catalog, entities, base: entityBase([job]), UsageError };
}

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of process.stdin) parts.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(parts).toString("utf8");
}

export async function setCredentialsAction(job: string, flags: FeedsFlags, deps: ActionDeps & { input?: () => Promise<string> } = {}): Promise<number> {
  const out = deps.out ?? stdout;
  return withRuntime(flags, deps, async (runtime) => {
    const { config, catalog, entities, base, UsageError } = await jobRecords(runtime, job, Boolean(flags.debug));
    if (Boolean(flags.fromEnv) === Boolean(flags.stdin)) throw new UsageError("feeds credentials set: give one of --from-env VAR or --stdin (never the value itself)");
    const text = flags.fromEnv ? process.env[flags.fromEnv] : await (deps.input ?? readStdin)();
    if (!text?.trim()) throw new UsageError(flags.fromEnv ? `feeds credentials set: the variable ${flags.fromEnv} is not set or empty` : "feeds credentials set: stdin is empty");
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    if (!value || typeof value !== "object" || Array.isArray(value)) throw new UsageError(`feeds credentials set: ${flags.fromEnv ?? "stdin"} must hold a JSON object, e.g. {"username":"…","password":"…"} (its text is not shown)`);
    const { encrypt, parseKey } = await import("../util/encryption.js");
    const key = parseKey(runtime.secrets.require(config.keySecret, "the key of the feeds jobs' stored credentials"), config.keySecret);
    entities.setRecord(base, "credentials", { sealed: encrypt(Buffer.from(JSON.stringify(value), "utf8"), key).toString("base64"), fields: Object.keys(value).sort(), at: new Date(runtime.clock()).toISOString() });
    await catalog.flush();
    out(`feeds: credentials of job ${job} stored, encrypted with ${config.keySecret} (fields: ${Object.keys(value).sort().join(", ")})\n`);
    return 0;
  });
}

export async function enableAction(job: string, flags: FeedsFlags, deps: ActionDeps = {}): Promise<number> {
  const out = deps.out ?? stdout;
  return withRuntime(flags, deps, async (runtime) => {
    const { entities, base } = await jobRecords(runtime, job, Boolean(flags.debug));
    const was = await entities.record(base, "disabled");
    await entities.clearRecord(base, "disabled");
    // The days it was skipped on are pending again: `--incomplete-only` sweeps (and `lake schedule`) run them.
    const { openBlockStore } = await import("../orchestration/blocks.js");
    const store = await openBlockStore(runtime);
    let missed = 0;
    try {
      for (const b of await store.list({ source: "feeds" })) {
        if (!b.day.endsWith(`#${job}`) || b.status !== "skipped" || !b.message?.includes("after an authentication failure")) continue;
        await store.markPending({ source: b.source, stage: b.stage, day: b.day }, runtime.clock(), `job ${job} enabled again`);
        missed++;
      }
    } finally {
      await store.close();
    }
    const days = missed ? `; ${missed} day(s) it was skipped on are pending again (lake backfill feeds --incomplete-only runs them)` : "";
    out(was ? `feeds: job ${job} enabled again (disabled since ${String(was.since)}: ${String(was.error)})${days}\n` : `feeds: job ${job} was not disabled${days}\n`);
    return 0;
  });
}
