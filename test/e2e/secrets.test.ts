/**
 * Secrets never leave the process (issue 14, requirement 4). Every driver that holds a credential is pointed at a
 * server that echoes the request (credentials included) back in its error, with distinct planted secrets (from the
 * environment, the secrets file, and a password inside a URL's user-info in the config file). Each runs through the
 * compiled CLI (bin/lake.js) in four modes (plain, --debug, --json, -0 --plan; --dry-run where a command has no
 * simulation) and must fail as expected; then stdout, stderr, every file of the lake home, the plan file, every row
 * of every SQLite table (catalog, blocks, leases, perfmet), the webhook bodies received and (against the real
 * PostgreSQL service) every row of the lake's tables are searched for every secret, its URL-encoded form and its
 * base64 at every alignment (Basic-auth pairs included): 0 occurrences.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, root } from "../helpers/build.js";
import { tempDir } from "../core/helpers.js";
import { describeService, serviceEnv } from "../helpers/services.js";
import { echoText, httpEcho, pgEcho, redisEcho, tdsEcho, type EchoServer } from "../fakes/echo-servers.js";
import { bodyText, ERROR_BODY_CHARS } from "../../src/support/errors.js";
import { Redactor } from "../../src/util/redact.js";

const LAKE = path.join(root, "bin/lake.js");
const WINDOW = ["-s", "2024-11-02", "-e", "2024-11-04", "-F"];
const RANGE = ["--time-min", "2024-11-02", "--time-max", "2024-11-04"];
/** A generous guard against a hung child (never reached by a working run): no test waits for it. */
const CHILD_GUARD_MS = 120_000;
const TEST_MS = 180_000;

type Mode = "plain" | "debug" | "json" | "plan";
const MODES: Mode[] = ["plain", "debug", "json", "plan"];

/** The standard flags of a mode (a stage run); `plan` saves the plan file. */
function stageFlags(mode: Mode, planFile: string): string[] {
  if (mode === "debug") return ["--debug"];
  if (mode === "json") return ["--json"];
  if (mode === "plan") return ["-0", "--plan", planFile];
  return [];
}

/** The same for commands without a simulation (backfill, enqueue): --dry-run stands for -0 --plan. */
function opsFlags(mode: Mode): string[] {
  if (mode === "debug") return ["--debug"];
  if (mode === "json") return ["--json"];
  if (mode === "plan") return ["--dry-run"];
  return [];
}

/** A distinct planted secret: a label (to read a leak report) and random characters, some of them special. */
function plant(label: string, special = ""): string {
  return `${label}-${randomBytes(6).toString("hex")}${special}${randomBytes(3).toString("base64url")}`;
}

/** Every form a secret could leave in: as is, URL-encoded, base64 (standard and url-safe) at each byte alignment. */
export function secretForms(value: string): string[] {
  const out = new Set([value, encodeURIComponent(value), Buffer.from(value).toString("base64").replace(/=+$/, "")]);
  const bytes = Buffer.from(value, "utf8");
  for (let pad = 0; pad < 3; pad++) {
    const enc = Buffer.concat([Buffer.alloc(pad), bytes]).toString("base64");
    const core = enc.slice(Math.ceil((8 * pad) / 6), Math.floor((8 * (pad + bytes.length)) / 6));
    out.add(core);
    out.add(core.replace(/\+/g, "-").replace(/\//g, "_"));
  }
  return [...out];
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function lake(args: string[], env: Record<string, string>, cwd: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LAKE, ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: cwd, TZ: "UTC", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    const guard = setTimeout(() => child.kill("SIGKILL"), CHILD_GUARD_MS);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    });
  });
}

// ---------------------------------------------------------------- what is searched

interface Output {
  where: string;
  data: Buffer;
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

/** Every row of every table of every SQLite database under dir, as JSON text. */
function sqliteRows(dir: string): Output[] {
  const out: Output[] = [];
  for (const file of filesUnder(dir).filter((f) => f.endsWith(".sqlite"))) {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
      for (const { name } of tables) {
        const rows = db.prepare(`SELECT * FROM "${name.replace(/"/g, '""')}"`).all();
        out.push({ where: `${path.basename(file)} table ${name} (${rows.length} rows)`, data: Buffer.from(JSON.stringify(rows)) });
      }
    } finally {
      db.close();
    }
  }
  return out;
}

function count(hay: Buffer, needle: string): number {
  const n = Buffer.from(needle, "utf8");
  let c = 0;
  for (let at = hay.indexOf(n); at >= 0; at = hay.indexOf(n, at + 1)) c++;
  return c;
}

/** Leaks: "where: secret (form) ×n". */
function leaks(outputs: Output[], secrets: Record<string, string>): string[] {
  const found: string[] = [];
  for (const [name, value] of Object.entries(secrets)) {
    for (const form of secretForms(value)) {
      for (const o of outputs) {
        const n = count(o.data, form);
        if (n > 0) found.push(`${o.where}: ${name}${form === value ? "" : ` (as ${form})`} ×${n}`);
      }
    }
  }
  return found;
}

// ---------------------------------------------------------------- scenarios

interface Scenario {
  name: string;
  /** Secrets given as environment variables. */
  env?: Record<string, string>;
  /** Secrets given in the secrets file. */
  file?: Record<string, string>;
  /** Other planted values searched for: passwords inside URLs in the config file, Basic-auth pairs. */
  planted?: Record<string, string>;
  /** The config file (home, secretsFile and retry are added). */
  config: () => Record<string, unknown>;
  args: (mode: Mode, planFile: string) => string[];
  /** The exit code each mode must end with. */
  code: (mode: Mode) => number;
  /** True when the planted credential reached the echo server during this run (so the echo had it to leak). */
  reached?: (mode: Mode, newRequests: (s: EchoServer) => { method: string; url: string; headers: Record<string, string>; body: string }[]) => boolean;
  /** Servers of the scenario (their received requests are counted per run). */
  servers: () => EchoServer[];
  /** Output that is not the lake's (e.g. the webhook bodies received) also searched. */
  extra?: () => Output[];
  /** More checks on a run. */
  check?: (mode: Mode, r: RunResult) => void;
}

let template: string;
let certPath: string | undefined;
const servers: Record<string, EchoServer> = {};

const s3 = { AWS_ACCESS_KEY_ID: plant("s3-akid"), AWS_SECRET_ACCESS_KEY: plant("s3-secret", "+/"), AWS_SESSION_TOKEN: plant("s3-session") };
const postgrestKey = { CATALOG_KEY: `eyJ${plant("pgrst-jwt")}` };
const perfmetKey = { PERFMET_JWT: `eyJ${plant("perfmet-jwt")}` };
const pgUser = "lake_user";
const pgPassword = plant("pg-pass", "#@");
const pgCatalogUrl = { CATALOG_PG_URL: `postgres://${pgUser}:${encodeURIComponent(pgPassword)}@HOST/lakedb` };
const blocksPassword = plant("pg-blocks-pass", "!$");
const socrata = { SOCRATA_USERNAME: plant("soc-user"), SOCRATA_PASSWORD: plant("soc-pass"), SOCRATA_APP_TOKEN: plant("soc-token") };
const knack = { KNACK_APP_ID: plant("knack-app"), KNACK_API_KEY: plant("knack-key") };
const mssql = { WT_DB_USER: plant("mssql-user"), WT_DB_PASSWORD: plant("mssql-pass", "!") };
const redisUser = "lake";
const redisPassword = plant("redis-pass", "%");
const webhookToken = { LAKE_WEBHOOK_TOKEN: plant("hook-token") };
const webhookKnack = { KNACK_APP_ID: plant("hook-knack-app"), KNACK_API_KEY: plant("hook-knack-key") };

const fromRequests = (s: EchoServer, from: number) => s.requests.slice(from);

const SCENARIOS: Scenario[] = [
  {
    name: "S3 storage (wt-json-standard reads raw objects)",
    env: s3,
    servers: () => [servers.s3!],
    config: () => ({
      storage: { driver: "s3", options: { endpoint: servers.s3!.url, forcePathStyle: true, checksumMode: "WHEN_REQUIRED" } },
    }),
    args: (mode, plan) => ["run", "wt-json-standard", ...WINDOW, ...stageFlags(mode, plan)],
    code: () => 1,
    reached: (_m, reqs) => reqs(servers.s3!).some((r) => (r.headers.authorization ?? "").includes(s3.AWS_ACCESS_KEY_ID)),
  },
  {
    name: "PostgREST catalog (503, retried)",
    file: postgrestKey,
    servers: () => [servers.postgrest!],
    config: () => ({ catalog: { driver: "postgrest", options: { url: servers.postgrest!.url } } }),
    args: (mode, plan) => ["run", "wt-ready", ...WINDOW, ...stageFlags(mode, plan)],
    code: () => 1,
    reached: (_m, reqs) => reqs(servers.postgrest!).some((r) => (r.headers.authorization ?? "").includes(postgrestKey.CATALOG_KEY)),
  },
  {
    name: "PostgREST perfmet (job row refused)",
    env: perfmetKey,
    servers: () => [servers.perfmet!],
    config: () => ({ perfmet: { driver: "postgrest", options: { url: servers.perfmet!.url, keySecret: "PERFMET_JWT" } } }),
    args: (mode, plan) => ["run", "wt-ready", ...WINDOW, ...stageFlags(mode, plan)],
    // A simulation writes no perfmet row: it succeeds, with the job row in its plan.
    code: (mode) => (mode === "plan" ? 0 : 1),
    reached: (mode, reqs) => mode === "plan" || reqs(servers.perfmet!).some((r) => (r.headers.authorization ?? "").includes(perfmetKey.PERFMET_JWT)),
  },
  {
    name: "PostgreSQL catalog and its block store (login refused)",
    env: pgCatalogUrl,
    planted: { password: pgPassword, "user:password": `${pgUser}:${pgPassword}` },
    servers: () => [servers.pg!],
    config: () => ({ catalog: { driver: "postgres", options: {} } }),
    args: (mode, plan) => ["run", "wt-ready", ...WINDOW, ...stageFlags(mode, plan)],
    code: () => 2,
    reached: (_m, reqs) => reqs(servers.pg!).some((r) => r.method === "password" && r.body === pgPassword),
  },
  {
    name: "PostgreSQL block store, password in the config file's URL (lake backfill)",
    planted: { password: blocksPassword },
    servers: () => [servers.pgBlocks!],
    config: () => ({
      blocks: { driver: "postgres", options: { connectionString: `postgres://ops:${encodeURIComponent(blocksPassword)}@${servers.pgBlocks!.host}/ops` } },
    }),
    args: (mode) => ["backfill", "wt", ...RANGE, ...opsFlags(mode)],
    code: () => 2,
    reached: (_m, reqs) => reqs(servers.pgBlocks!).some((r) => r.method === "password" && r.body === blocksPassword),
  },
  {
    name: "Socrata publisher (HTTPS, credentials refused)",
    file: socrata,
    planted: { "basic-auth pair": `${socrata.SOCRATA_USERNAME}:${socrata.SOCRATA_PASSWORD}` },
    servers: () => [servers.socrata!],
    config: () => ({
      publisher: { driver: "socrata", options: { domain: servers.socrata!.host } },
      datasets: { wt: { production: "ab12-cd34", debug: "ab12-cd35" } },
    }),
    args: (mode, plan) => ["run", "wt-extract-soc", ...WINDOW, ...stageFlags(mode, plan)],
    // A simulation publishes nothing: it succeeds, with the upserts in its plan.
    code: (mode) => (mode === "plan" ? 0 : 2),
    reached: (mode, reqs) =>
      mode === "plan" ||
      reqs(servers.socrata!).some((r) => r.headers.authorization === `Basic ${Buffer.from(`${socrata.SOCRATA_USERNAME}:${socrata.SOCRATA_PASSWORD}`).toString("base64")}`),
  },
  {
    name: "Knack unit data (wt-json-standard stores the inventory)",
    env: knack,
    servers: () => [servers.knack!],
    config: () => ({ unitdata: { driver: "knack", options: { baseUrl: servers.knack!.url } } }),
    args: (mode, plan) => ["run", "wt-json-standard", ...WINDOW, ...stageFlags(mode, plan)],
    code: () => 2,
    reached: (_m, reqs) => reqs(servers.knack!).some((r) => r.headers["x-knack-rest-api-key"] === knack.KNACK_API_KEY),
  },
  {
    name: "MS SQL KITS database (wt-insert-lake, login refused)",
    file: mssql,
    servers: () => [servers.mssql!],
    config: () => ({
      sources: {
        wt: { sql: { driver: "mssql", options: { server: "127.0.0.1", port: servers.mssql!.port, database: "KITSDB", encrypt: false } } },
      },
    }),
    args: (mode, plan) => ["run", "wt-insert-lake", ...WINDOW, ...stageFlags(mode, plan)],
    code: () => 2,
    reached: (_m, reqs) => reqs(servers.mssql!).some((r) => r.method === "login7" && r.body === mssql.WT_DB_PASSWORD),
  },
  {
    name: "Redis queue, password in the config file's URL (lake enqueue)",
    planted: { password: redisPassword, "user:password": `${redisUser}:${redisPassword}` },
    servers: () => [servers.redis!],
    config: () => ({
      queue: { driver: "bullmq", timeoutMs: 5_000, options: { url: `redis://${redisUser}:${encodeURIComponent(redisPassword)}@${servers.redis!.host}` } },
    }),
    args: (mode) => ["enqueue", "wt", ...RANGE, ...opsFlags(mode)],
    // The login refusal is a ConfigError; a dry run lists the jobs without connecting.
    code: (mode) => (mode === "plan" ? 0 : 2),
    reached: (mode, reqs) => mode === "plan" || reqs(servers.redis!).some((r) => /^(auth|hello)$/i.test(r.method) && r.body.includes(redisPassword)),
  },
  {
    name: "webhook notification of a failed run (target answers 500 echoing its token)",
    env: { ...webhookToken, ...webhookKnack },
    servers: () => [servers.webhook!, servers.hookKnack!],
    config: () => ({
      unitdata: { driver: "knack", options: { baseUrl: servers.hookKnack!.url } },
      notify: { driver: "webhook", options: { url: servers.webhook!.url, tokenSecret: "LAKE_WEBHOOK_TOKEN", header: "X-Lake-Token", scheme: "" } },
    }),
    args: (mode, plan) => ["run", "wt-json-standard", ...WINDOW, ...stageFlags(mode, plan)],
    code: () => 2,
    // Simulations notify nobody (by default); every other failed run POSTs its summary with the token.
    reached: (mode, reqs) => {
      const posts = reqs(servers.webhook!);
      if (mode === "plan") return posts.length === 0;
      return posts.length > 0 && posts.every((r) => r.method === "POST" && r.headers["x-lake-token"] === webhookToken.LAKE_WEBHOOK_TOKEN);
    },
    extra: () => servers.webhook!.requests.map((r, i) => ({ where: `webhook body ${i}`, data: Buffer.from(r.body) })),
    check: (mode, r) => {
      if (mode === "plan") return;
      expect(r.stderr).toMatch(/the run\.failed notice was not delivered: notify \(webhook\): POST to http:\/\/127\.0\.0\.1:\d+: HTTP 500/);
      // The notice posted carries the run's error, the Knack echo with its credentials masked.
      const last = servers.webhook!.requests.at(-1)!;
      expect(JSON.parse(last.body)).toMatchObject({ event: "run.failed", ok: false, command: "lake run wt-json-standard", exitCode: 2 });
      expect(last.body).toContain("x-knack-rest-api-key: ***");
    },
  },
];

function allSecrets(s: Scenario): Record<string, string> {
  return { ...s.env, ...s.file, ...s.planted };
}

/** Runs a scenario in a mode on a fresh copy of the demo lake; returns the run and every output searched. */
async function runScenario(s: Scenario, mode: Mode): Promise<{ r: RunResult; outputs: Output[]; reached: boolean }> {
  const dir = tempDir("lake-secrets-");
  const home = path.join(dir, "home");
  cpSync(template, home, { recursive: true });
  const planFile = path.join(dir, "out", "plan.json");
  writeFileSync(path.join(dir, "secrets.json"), JSON.stringify(s.file ?? {}));
  const config = { home: "home", secretsFile: "secrets.json", retry: { retries: 1, minTimeoutMs: 1, maxTimeoutMs: 10 }, ...s.config() };
  const env = Object.fromEntries(Object.entries(s.env ?? {}).map(([k, v]) => [k, v.replace("HOST", servers.pg!.host)]));
  writeFileSync(path.join(dir, "lake.config.json"), JSON.stringify(config, null, 2));
  const before = new Map(s.servers().map((srv) => [srv, srv.requests.length]));
  const r = await lake([...s.args(mode, planFile), "--config", "lake.config.json"], { ...env, ...(certPath ? { NODE_EXTRA_CA_CERTS: certPath } : {}) }, dir);
  const outputs: Output[] = [
    { where: "stdout", data: Buffer.from(r.stdout) },
    { where: "stderr", data: Buffer.from(r.stderr) },
    ...filesUnder(home).map((f) => ({ where: path.relative(dir, f), data: readFileSync(f) })),
    ...filesUnder(path.join(dir, "out")).map((f) => ({ where: path.relative(dir, f), data: readFileSync(f) })),
    ...sqliteRows(home),
    ...(s.extra?.() ?? []),
  ];
  const reached = s.reached ? s.reached(mode, (srv) => fromRequests(srv, before.get(srv) ?? 0)) : true;
  return { r, outputs, reached };
}

beforeAll(async () => {
  await ensureBuilt();
  servers.s3 = await httpEcho({ format: "s3", okHead: true });
  servers.postgrest = await httpEcho({ status: 503 });
  servers.perfmet = await httpEcho({ status: 400 });
  servers.pg = await pgEcho();
  servers.pgBlocks = await pgEcho();
  servers.socrata = await httpEcho({ status: 403, tls: true });
  certPath = servers.socrata.certPath;
  servers.knack = await httpEcho({ status: 401 });
  servers.mssql = await tdsEcho();
  servers.redis = await redisEcho();
  servers.webhook = await httpEcho({ status: 500 });
  servers.hookKnack = await httpEcho({ status: 401 });
  // The demo lake (simulated KITS database and inventory, every wt stage run) in production and debug, copied per run.
  const dir = tempDir("lake-secrets-template-");
  template = path.join(dir, "demo");
  const made = await lake(["demo", "--dir", template, "--sources", "wt"], {}, dir);
  expect(made.code, made.stderr).toBe(0);
  const debug = await lake(["pipeline", "wt", "--debug", ...WINDOW.slice(0, 4)], { LAKE_HOME: template }, dir);
  expect(debug.code, debug.stderr).toBe(0);
}, TEST_MS);

afterAll(async () => {
  for (const s of Object.values(servers)) await s.close();
});

describe("secrets never leave the process: every driver against a server that echoes the request", () => {
  for (const s of SCENARIOS) {
    describe(s.name, () => {
      for (const mode of MODES) {
        it(`${mode}: fails as expected, 0 occurrences of any secret anywhere`, async () => {
          const { r, outputs, reached } = await runScenario(s, mode);
          if (process.env.SHOW_SECRETS_RUNS) console.log(`=== ${s.name} ${mode} code ${r.code}\n--stdout\n${r.stdout.slice(0, 1500)}\n--stderr\n${r.stderr.slice(0, 2500)}`);
          expect(r.code, `exit code\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(s.code(mode));
          expect(reached, `the planted credential reached the echo server\nstderr:\n${r.stderr}`).toBe(true);
          expect(leaks(outputs, allSecrets(s))).toEqual([]);
          // A failed run printed the server's echo with the credentials in it, masked.
          if (r.code !== 0) expect(`${r.stdout}${r.stderr}`, "the echo was printed, masked").toContain("***");
          if (mode === "json" && r.stdout.trim()) expect(() => JSON.parse(r.stdout.trim().split("\n").pop()!)).not.toThrow();
          if (mode === "plan" && s.args(mode, "x").includes("--plan") && r.code === 0) expect(outputs.some((o) => o.where.endsWith("plan.json"))).toBe(true);
          s.check?.(mode, r);
        }, TEST_MS);
      }
    });
  }
});

describe("a server's error body is truncated after it is redacted", () => {
  it("a secret across the truncation point leaves no part of itself", () => {
    const secret = plant("straddle");
    const redactor = new Redactor();
    redactor.add(secret);
    const body = { message: `${"x".repeat(ERROR_BODY_CHARS - 6)}${secret} and more` };
    expect(bodyText(body, redactor)).not.toContain(secret.slice(0, 6));
    expect(bodyText(body, redactor)).toContain("***");
    expect(echoText({ method: "GET", url: "/", headers: { authorization: "a" }, body: "" })).toContain("authorization: a");
  });
});

// ---------------------------------------------------------------- the real PostgreSQL service

describeService(["PG_URL"], "secrets never leave the process: the real PostgreSQL service", () => {
  const tag = randomBytes(3).toString("hex");
  const catalogSchema = `sec_${tag}`;
  const blocksSchema = `sec_${tag}_ops`;
  const wrongPassword = plant("real-pg-wrong", "#");
  const nobody = `sec_nobody_${tag}`;
  let admin: pg.Client;

  /** The service's URL with a planted password (the service trusts local logins, so any password is accepted). */
  const urlWith = (user: string, password: string) => {
    const u = new URL(serviceEnv("PG_URL")!);
    u.username = user;
    u.password = encodeURIComponent(password);
    return u.toString();
  };

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: serviceEnv("PG_URL")! });
    await admin.connect();
  });
  afterAll(async () => {
    await admin.query(`DROP SCHEMA IF EXISTS "${catalogSchema}" CASCADE`);
    await admin.query(`DROP SCHEMA IF EXISTS "${blocksSchema}" CASCADE`);
    await admin.end();
  });

  /** Every row of every table of the lake's schemas (catalog, blocks, leases), as JSON text. */
  async function pgRows(): Promise<Output[]> {
    const tables = await admin.query<{ table_schema: string; table_name: string }>(
      "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema = ANY($1) ORDER BY 1, 2",
      [[catalogSchema, blocksSchema]],
    );
    const out: Output[] = [];
    for (const t of tables.rows) {
      const rows = await admin.query(`SELECT * FROM "${t.table_schema}"."${t.table_name}"`);
      out.push({ where: `postgres ${t.table_schema}.${t.table_name} (${rows.rowCount} rows)`, data: Buffer.from(JSON.stringify(rows.rows)) });
    }
    return out;
  }

  const scenario = (user: string, password: string, code: (m: Mode) => number): Scenario => ({
    name: "real PostgreSQL",
    file: socrata,
    planted: { password, "user:password": `${user}:${password}`, "socrata pair": `${socrata.SOCRATA_USERNAME}:${socrata.SOCRATA_PASSWORD}` },
    servers: () => [servers.socrata!],
    config: () => ({
      catalog: { driver: "postgres", options: { connectionString: urlWith(user, password), schema: catalogSchema, ensureSchema: true } },
      blocks: { driver: "postgres", options: { connectionString: urlWith(user, password), schema: blocksSchema } },
      publisher: { driver: "socrata", options: { domain: servers.socrata!.host } },
      datasets: { wt: { production: "ab12-cd34", debug: "ab12-cd35" } },
    }),
    args: (mode) => ["backfill", "wt", ...RANGE, ...opsFlags(mode)],
    code,
  });

  for (const mode of MODES) {
    it(`${mode}: a planted password on a working login; the publisher's echoed credentials are recorded on the blocks masked`, async () => {
      const s = scenario("postgres", wrongPassword, (m) => (m === "plan" ? 0 : 2));
      const { r, outputs } = await runScenario(s, mode);
      expect(r.code, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(s.code(mode));
      const rows = await pgRows();
      if (mode !== "plan") {
        const blocks = rows.find((o) => o.where.includes(".lake_blocks"));
        expect(blocks?.data.toString()).toContain("***");
        expect(rows.some((o) => o.where.includes("data_lake_cat") && !o.where.includes("(0 rows)"))).toBe(true);
      }
      expect(leaks([...outputs, ...rows], allSecrets(s))).toEqual([]);
    }, TEST_MS);
  }

  it("a role that does not exist, with a planted password: the login fails, nothing anywhere names the password", async () => {
    const password = plant("real-pg-nobody", "@");
    const s = scenario(nobody, password, () => 2);
    const { r, outputs } = await runScenario(s, "debug");
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/role .* does not exist|refused the login/);
    expect(leaks([...outputs, ...(await pgRows())], allSecrets(s))).toEqual([]);
  }, TEST_MS);
});
