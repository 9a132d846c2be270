/**
 * Feeds (issue 16, seed-systems §4.8) beyond the registry: the launcher's resolvers (configured id, account + type,
 * an ad hoc dev run of an unregistered implementation), the skipped outcome and its exit code, the result handlers
 * (interval readings merged by meter + start, bill documents stored once per content hash), encrypted per-job
 * credentials, and a job disabled after an authentication failure with a notice to the webhook.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { strFromU8, unzipSync } from "fflate";
import { tempDir } from "../core/helpers.js";
import { startUtilitySite, type UtilitySite } from "../../src/sources/feeds/fakes.js";
import { defaultRegistry } from "../../src/orchestration/pipelines.js";
import { runStageAction } from "../../src/cli/run.js";
import { sourceCommandAction } from "../../src/cli/source-commands.js";
import { backfillAction } from "../../src/cli/backfill.js";
import { openBlockStore } from "../../src/orchestration/blocks.js";
import { parseOptions, runApp } from "../../src/support/etl-app.js";
import { Catalog, type CatalogEntry } from "../../src/support/catalog.js";
import { LakeRuntime } from "../../src/support/runtime.js";
import { validateConfig } from "../../src/config/load.js";
import { fixedClock } from "../../src/util/dates.js";
import type { LakeConfigInput } from "../../src/config/schema.js";

/** `lake feeds credentials set <job> [--from-env VAR] [--stdin]` and `lake feeds enable <job>`, the source's own commands. */
type CommandDeps = Parameters<typeof sourceCommandAction>[2];
const setCredentialsAction = (job: string, flags: { fromEnv?: string; stdin?: boolean }, deps: CommandDeps) =>
  sourceCommandAction("feeds", ["credentials", "set", job, ...(flags.fromEnv ? ["--from-env", flags.fromEnv] : []), ...(flags.stdin ? ["--stdin"] : [])], deps);
const enableAction = (job: string, _flags: object, deps: CommandDeps) => sourceCommandAction("feeds", ["enable", job], deps);

const KEY = randomBytes(32).toString("base64");
let site: UtilitySite;
let runtime: LakeRuntime;
let home: string;
let hook: { server: Server; url: string; bodies: Record<string, unknown>[] } | undefined;
const logs: string[] = [];

async function lake(jobs: Record<string, unknown>[], o: { users?: Record<string, string>; config?: LakeConfigInput } = {}) {
  site = await startUtilitySite(o.users ? { users: o.users } : {});
  home = tempDir("lake-feeds-");
  const config = validateConfig({ home, ...(o.config ?? {}) }, "test");
  runtime = new LakeRuntime(config, home, {}, { clock: fixedClock("2024-11-20T10:00:00-06:00"), env: { LAKE_FEEDS_KEY: KEY } });
  runtime.overrideSourceConfig("feeds", { jobs: jobs.map((j) => ({ ...j, params: { url: site.url, ...(j.params as object) } })) });
  runtime.events.on("log", (e) => logs.push(e.message));
}

async function receiver() {
  const bodies: Record<string, unknown>[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      bodies.push(JSON.parse(Buffer.concat(parts).toString("utf8")) as Record<string, unknown>);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  hook = { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, bodies };
  return hook;
}

afterEach(async () => {
  await runtime.close();
  await site.stop();
  if (hook) await new Promise((r) => hook!.server.close(r));
  hook = undefined;
  rmSync(home, { recursive: true, force: true });
  logs.length = 0;
});

const run = (...argv: string[]) => runStageAction("feeds-run", argv, { runtime, out: () => undefined });
const raw = async (ext: string): Promise<CatalogEntry[]> => new Catalog(await runtime.driver("catalog", false), "feeds", { zone: runtime.zone }).list(runtime.repository("raw", false), { ext });
const archive = (e: CatalogEntry) => unzipSync(readFileSync(path.join(home, "lake", runtime.repository("raw", false), e.pointer)));
const published = (name: string) => (existsSync(path.join(home, "published", `${name}.csv`)) ? readFileSync(path.join(home, "published", `${name}.csv`), "utf8").trim().split("\n") : []);
const files = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String).filter((f) => statSync(path.join(dir, f)).isFile()).sort() : []);
/** A run's error as `lake run` would print it (the stage's own run, for the message). */
async function refusal(argv: string[]): Promise<string> {
  const { App } = await (await defaultRegistry()).stage("feeds-run");
  return runApp(App, parseOptions(App, argv), { runtime }).then(() => "no error", (e: Error) => `${e.name}: ${e.message}`);
}

const WATER = { name: "water", id: "mds-17", impl: "fake-utility-bills", params: { account: "W_1001" } };
const METER = { name: "meter-m1", impl: "fake-utility-interval", type: "interval", account: "M-1", params: { meter: "M-1" } };

describe("feeds launcher: resolvers", () => {
  it("by configured id, by account + type, and ad hoc by implementation (-0, nothing persisted); unknown ones exit 2 naming them", async () => {
    await lake([WATER, METER]);
    expect(await run("--source-id", "mds-17", "--partition", "2024-11-08")).toBe(0);
    expect(await run("--entity", "M-1", "--type", "interval", "--partition", "2024-11-08")).toBe(0);
    expect(await run("--entity", "W_1001", "--type", "bills", "--partition", "2024-11-09")).toBe(0);
    expect((await raw("zip")).map((e) => [e.metadata!.job, e.collectionDate.toISODate()]).sort()).toEqual([["meter-m1", "2024-11-08"], ["water", "2024-11-08"], ["water", "2024-11-09"]]);

    for (const [argv, message] of [
      [["--source-id", "nope"], 'UsageError: feeds: no job is configured with id "nope" (ids: mds-17)'],
      [["--entity", "W_1001", "--type", "interval"], 'UsageError: feeds: no job is configured for account "W_1001" and type interval'],
      [["--entity", "W_1001", "--type", "gas"], 'UsageError: feeds: --type "gas" is not a source type (bills, interval)'],
      [["--job", "no-such-scraper", "-0"], 'UsageError: feeds: --job: unknown implementation "no-such-scraper"'],
      [["--job", "fake-utility-bills"], "UsageError: feeds: --job fake-utility-bills runs an implementation that is not registered: that is a dev run only: add -0"],
      [["--entity", "ghost"], 'UsageError: feeds-run: no entity "ghost"'],
    ] as const) {
      expect(await refusal([...argv, "-s", "2024-11-10", "-e", "2024-11-10"])).toContain(message);
      expect(await run(...argv, "-s", "2024-11-10", "-e", "2024-11-10")).toBe(2);
    }
    expect((await raw("zip"))).toHaveLength(3); // nothing more was run

    // Ad hoc: an implementation with inline params, no registration: it runs and prints what would be loaded.
    const before = files(home).filter((f) => !f.includes(".sqlite"));
    const rows = (await raw("zip")).length;
    expect(await run("--job", "fake-utility-bills", "--params", JSON.stringify({ url: site.url, account: "A-77" }), "-0", "-s", "2024-11-08", "-e", "2024-11-08")).toBe(0);
    expect(site.requests.filter((r) => r.includes("/accounts/A-77/"))).toHaveLength(11);
    expect(logs.join("\n")).toMatch(/dev-fake-utility-bills run dev-fake-utility-bills-20241108-[0-9a-f]{8}: completed; would be loaded \(-0: nothing written\):\nstart .*\n2024-01-01 +2024-01-31 +1000\.00/);
    expect((await raw("zip")).length).toBe(rows); // no run-index row
    expect(files(home).filter((f) => !f.includes(".sqlite"))).toEqual(before); // no object, no published row
    expect(published("feeds-bills").join("\n")).not.toContain("A-77");
  });
});

describe("feeds outcomes: skipped", () => {
  it("a job disabled in the configuration, or run by hand on a day its schedule has no block, is skipped: exit 3, nothing run", async () => {
    await lake([WATER, { name: "off", impl: "fake-utility-bills", enabled: false, params: { account: "O-1" } }, { name: "monthly", impl: "fake-utility-bills", schedule: "monthly", params: { account: "M-2" } }]);
    expect(await run("--partition", "2024-11-08#off")).toBe(3);
    expect(await run("--partition", "2024-11-05#monthly")).toBe(3);
    const { App } = await (await defaultRegistry()).stage("feeds-run");
    const s = await runApp(App, parseOptions(App, ["--partition", "2024-11-05#monthly"]), { runtime });
    expect(s.blocks!.map((b) => [b.status, b.message])).toEqual([["skipped", "job monthly is scheduled monthly (on the 1st): no block on 2024-11-05"]]);
    expect(s.skipReasons).toEqual({ "not run: job monthly is scheduled monthly (on the 1st): no block on 2024-11-05": 1 });
    expect(site.requests).toEqual([]);
    expect(await raw("zip")).toEqual([]);
    // A day with a job that runs beside the disabled one: the run is not all skipped: exit 0.
    expect(await run("-s", "2024-11-08", "-e", "2024-11-08")).toBe(0);
    expect((await raw("zip")).map((e) => e.metadata!.job)).toEqual(["water"]);
  });
});

describe("feeds result handlers", () => {
  it("interval readings are merged by meter + interval start: a rerun of the day changes nothing", async () => {
    await lake([METER]);
    expect(await run("--partition", "2024-11-08#meter-m1")).toBe(0);
    const first = published("feeds-readings");
    expect(first).toHaveLength(25);
    expect(first.find((l) => l.includes("M-1|2024-11-08T06:00:00.000Z"))).toBeDefined(); // local midnight, in UTC
    expect((await raw("zip"))[0]!.metadata).toMatchObject({ status: "completed", readings: 24, maxFetched: "2024-11-09T00:00:00.000-06:00" });
    expect(await run("--partition", "2024-11-08#meter-m1")).toBe(0);
    expect(published("feeds-readings").sort()).toEqual([...first].sort().map((l) => expect.stringContaining(l.split(",")[0]!)));
    expect(published("feeds-readings")).toHaveLength(25);
    const again = (await raw("zip")).find((e) => e.metadata!.status !== "completed")!;
    expect(again.metadata).toMatchObject({ status: "completed (no new data)", readings: 24 });
    expect(strFromU8(archive(again)["readings.csv"]!).split("\n")[1]).toBe("M-1,2024-11-08T00:00:00.000-06:00,2024-11-08T01:00:00.000-06:00,1,kWh");
    expect(await run("--partition", "2024-11-09#meter-m1")).toBe(0);
    expect(published("feeds-readings")).toHaveLength(49);
  });

  it("bill documents are stored once per content hash: a rerun uploads nothing new and counts what was there", async () => {
    await lake([WATER]);
    expect(await run("--partition", "2024-11-08#water")).toBe(0);
    const docs = await raw("pdf");
    expect(docs).toHaveLength(10);
    const pdf = "%PDF-1.4\n% bill W_1001-202401\n%%EOF\n";
    const sha = createHash("sha256").update(pdf).digest("hex");
    const jan = docs.find((d) => d.base === sha)!;
    expect(path.basename(jan.pointer)).toBe(`${sha}.pdf`);
    expect(readFileSync(path.join(home, "lake", runtime.repository("raw", false), jan.pointer), "utf8")).toBe(pdf);
    expect(published("feeds-bills")[1]).toContain(sha); // the bill row names its document
    expect((await raw("zip"))[0]!.metadata!.documents).toEqual({ stored: 10, existing: 0 });
    const written = files(path.join(home, "lake")).length;
    expect(await run("--partition", "2024-11-09#water")).toBe(0);
    expect(await raw("pdf")).toHaveLength(10);
    expect(files(path.join(home, "lake")).length).toBe(written + 1); // the second run's archive only
    expect((await raw("zip")).find((e) => e.collectionDate.toISODate() === "2024-11-09")!.metadata!.documents).toEqual({ stored: 0, existing: 10 });
    expect(logs.join("\n")).toContain("documents: 0 new, 10 already stored");
  });
});

describe("feeds credentials and authentication failures", () => {
  const GOOD = JSON.stringify({ username: "alice", password: "s3cret-pw-1" });
  const BAD = JSON.stringify({ username: "alice", password: "wrong-pw-22" });

  it("credentials are stored encrypted, decrypted in the run's child; a refused login disables the job, notifies, and later runs are skipped until enabled", async () => {
    const { url, bodies } = await receiver();
    await lake([{ name: "portal", impl: "fake-utility-login", params: { account: "P-1" } }, WATER], { users: { alice: "s3cret-pw-1" }, config: { notify: { driver: "webhook", options: { url } } } as never });
    process.env.LAKE_TEST_FEEDS_CREDS = GOOD;
    const out: string[] = [];
    expect(await setCredentialsAction("portal", { fromEnv: "LAKE_TEST_FEEDS_CREDS" }, { runtime, out: (s) => out.push(s) })).toBe(0);
    expect(out.join("")).toBe("feeds: credentials of job portal stored, encrypted with LAKE_FEEDS_KEY (fields: password, username)\n");
    expect(await run("--partition", "2024-11-08#portal")).toBe(0);
    const ok = (await raw("zip"))[0]!;
    expect(ok.metadata).toMatchObject({ status: "completed", bills: 10 });
    expect(strFromU8(archive(ok)["run.log"]!)).toContain("logging in as ***");

    // A wrong password: authentication failed, the job is disabled, the webhook is told (source, stage, item, error).
    expect(await setCredentialsAction("portal", { stdin: true }, { runtime, out: () => undefined, input: async () => BAD })).toBe(0);
    expect(await run("--partition", "2024-11-09#portal")).toBe(1);
    const failed = (await raw("zip")).find((e) => e.metadata!.status === "failed")!;
    expect(failed.metadata).toMatchObject({ error: "authentication failed: login refused for user ***", disabled: true });
    const notice = bodies.find((b) => b.event === "source.disabled")!;
    expect(notice).toMatchObject({ source: "feeds", stage: "feeds-run", item: "portal", ok: false });
    expect(String(notice.error)).toMatch(/^job portal run portal-20241109-[0-9a-f]{8} authentication failed: login refused for user \*\*\*; job portal is disabled until `lake feeds enable portal`; archive /);
    // Later runs are skipped (exit 3): the site is not asked; the other job is unaffected.
    const asked = site.requests.length;
    expect(await run("--partition", "2024-11-10#portal")).toBe(3);
    expect(await run("--partition", "2024-11-10#water")).toBe(0);
    expect(site.requests.filter((r) => r.startsWith("/login")).length).toBe(site.requests.slice(0, asked).filter((r) => r.startsWith("/login")).length);
    const { App } = await (await defaultRegistry()).stage("feeds-run");
    const s = await runApp(App, parseOptions(App, ["--partition", "2024-11-10#portal"]), { runtime });
    expect(s.blocks![0]!.message).toMatch(/^job portal is disabled since .* after an authentication failure \(run portal-20241109-[0-9a-f]{8}: authentication failed: login refused for user \*\*\*\): set its credentials \(lake feeds credentials set portal\), then lake feeds enable portal$/);

    // A backfill of a later day: the portal's block is skipped, the other job's runs.
    expect(await backfillAction("feeds", { timeMin: "2024-11-12", timeMax: "2024-11-12" }, { runtime, out: () => undefined })).toBe(0);
    const blocks = async () => {
      const store = await openBlockStore(runtime);
      try {
        return (await store.list({ source: "feeds" })).map((b) => [b.day, b.status]).sort();
      } finally {
        await store.close();
      }
    };
    expect(await blocks()).toEqual([["2024-11-12#portal", "skipped"], ["2024-11-12#water", "no-data"]]);

    // Fixed credentials and `lake feeds enable`: it runs again, and the day it was skipped on is pending again.
    expect(await setCredentialsAction("portal", { stdin: true }, { runtime, out: () => undefined, input: async () => GOOD })).toBe(0);
    const enabled: string[] = [];
    expect(await enableAction("portal", {}, { runtime, out: (t) => enabled.push(t) })).toBe(0);
    expect(enabled.join("")).toMatch(/^feeds: job portal enabled again \(disabled since .*: authentication failed: login refused for user \*\*\*\); 1 day\(s\) it was skipped on are pending again/);
    expect(await blocks()).toEqual([["2024-11-12#portal", "pending"], ["2024-11-12#water", "no-data"]]);
    expect(await backfillAction("feeds", { timeMin: "2024-11-12", timeMax: "2024-11-12", incompleteOnly: true }, { runtime, out: () => undefined })).toBe(0);
    expect(await blocks()).toEqual([["2024-11-12#portal", "no-data"], ["2024-11-12#water", "no-data"]]); // it ran: nothing newer than its first run's bills
    expect((await raw("zip")).some((e) => String(e.metadata!.runId).startsWith("portal-20241112-"))).toBe(true);
    expect(await run("--partition", "2024-11-11#portal")).toBe(0);

    // Nothing secret in the catalog's database, the archives, the logs or the notices: ciphertext only.
    const stored = readdirSync(home, { recursive: true }).map(String).filter((f) => statSync(path.join(home, f)).isFile());
    for (const f of stored) expect(readFileSync(path.join(home, f)).includes("s3cret-pw-1"), f).toBe(false);
    for (const e of await raw("zip")) for (const [name, body] of Object.entries(archive(e))) expect(strFromU8(body).includes("s3cret-pw-1"), name).toBe(false);
    expect(JSON.stringify(bodies) + logs.join("\n")).not.toMatch(/s3cret-pw-1|wrong-pw-22/);
    delete process.env.LAKE_TEST_FEEDS_CREDS;
  });

  it("a job that prints its credentials prints *** (run.log, result.json, the block's message); bad input to the CLI is refused by name", async () => {
    await lake([{ name: "leaky", impl: path.join(import.meta.dirname, "fixtures/leaky-login.mjs") }]);
    expect(await setCredentialsAction("leaky", { stdin: true }, { runtime, out: () => undefined, input: async () => GOOD })).toBe(0);
    expect(await run("--partition", "2024-11-08#leaky")).toBe(1);
    const e = (await raw("zip"))[0]!;
    const zip = archive(e);
    const log = strFromU8(zip["run.log"]!);
    expect(log).toContain("trying *** with ***");
    expect(log).toContain("console: password=***");
    expect(log).not.toContain("s3cret-pw-1");
    expect(strFromU8(zip["result.json"]!)).toBe('{"error":"the site said no to ***"}');
    expect(e.metadata!.error).toBe("threw: the site said no to ***");

    expect(await setCredentialsAction("ghost", { stdin: true }, { runtime, out: () => undefined, input: async () => GOOD })).toBe(2);
    expect(await setCredentialsAction("leaky", { stdin: true }, { runtime, out: () => undefined, input: async () => "username=alice" })).toBe(2);
    expect(await setCredentialsAction("leaky", {}, { runtime, out: () => undefined })).toBe(2);
    expect(await enableAction("ghost", {}, { runtime, out: () => undefined })).toBe(2);
  });
});
