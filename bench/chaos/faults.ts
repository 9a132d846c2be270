/**
 * Faults: the Wavetronix pipeline configured on the real services (S3 on Swift, PostgREST catalog and perfmet,
 * PostgreSQL block store, Socrata and Knack fakes, Redis queue), each reached through its own fault-injecting TCP
 * proxy (proxy.ts). For every system × fault kind (down, reset mid-run, stall mid-run, throttle) a trial runs the
 * pipeline with that fault set, lets it fail or succeed (a watchdog kills a run that hangs), clears the fault,
 * reruns until it exits 0 and compares published rows, storage objects, catalog rows, temp files and leases with a
 * clean run of the same configuration through the same (fault-free) proxies.
 *
 * Configurations: PostgREST, S3, Socrata and Knack trials run `lake pipeline wt` with the catalog on PostgREST;
 * PostgreSQL trials the same with the catalog on PostgreSQL directly (so its faults hit catalog writes, not only
 * the block leases); Redis trials run the blocks through the BullMQ queue (`lake enqueue` + `lake worker
 * --until-empty`), the one command that uses Redis.
 */
import { randomBytes } from "node:crypto";
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { S3Client, ListObjectsV2Command, GetObjectCommand, DeleteObjectCommand, DeleteBucketCommand } from "@aws-sdk/client-s3";
import { Redis } from "ioredis";
import pg from "pg";
import { SocrataFake } from "../../test/fakes/socrata-fake.js";
import { KnackFake, address, connection, num, type KnackObjectSeed, type KnackValue } from "../../test/fakes/knack-fake.js";
import { seededRandom } from "../../src/util/random.js";
import { defaultRegistry } from "../../src/orchestration/pipelines.js";
import { FaultProxy, FAULT_KINDS, type Fault, type FaultKind } from "./proxy.js";
import { childEnv, MAX_RERUNS } from "./kills.js";
import {
  addOutcome,
  aliasOf,
  badness,
  compare,
  homeTempFiles,
  learnVolatile,
  lockFiles,
  makeTemplate,
  ROOT,
  runLake,
  snapshot,
  zeroOutcome,
  type Alias,
  type LakeRun,
  type ObjectSource,
  type Outcome,
  type RawCatalogRow,
  type Snapshot,
  type SnapshotInput,
  type Volatile,
  type Window,
  pool,
} from "./lake.js";

export const SYSTEMS = ["postgres", "postgrest", "s3", "redis", "socrata", "knack"] as const;
export type System = (typeof SYSTEMS)[number];

/** The sources the fault trials run (Wavetronix: it uses every driver; its source database is a local file). */
export const FAULT_SOURCES = ["wt"];

/** Deadline of every driver call in the fault configuration (the defaults are 30–120 s), and its retries. */
const CALL_TIMEOUT_MS = 4_000;
/**
 * The reruns' call timeout: a faulted run needs short timeouts so that a stall shows as a failure, but the reruns
 * check recovery, not speed, and must not fail because a busy machine answered slowly.
 */
const RERUN_TIMEOUT_MS = 30_000;
const RETRY = { retries: 2, minTimeoutMs: 100, maxTimeoutMs: 1_000 };

export interface FaultOptions {
  seed: number;
  window: Window;
  work: string;
  keep: boolean;
  /** Trials at once (each has its own proxies, buckets, schemas, datasets, queue). @default 3 */
  concurrency?: number;
  /** Only these systems / kinds (default: all). */
  systems?: readonly System[];
  kinds?: readonly FaultKind[];
  log: (line: string) => void;
}

export interface FaultTrial {
  system: System;
  kind: FaultKind;
  fault: Fault;
  /** How the faulted run ended: exit codes, or "killed by the watchdog". */
  faulted: string;
  completed: boolean;
  reruns: number;
  /** Sum of the differences (0 = nothing lost, duplicated or differing). */
  bad: number;
  outcome: Outcome;
}

export interface FaultReport {
  trials: FaultTrial[];
  /** Differences between the two clean runs of the PostgREST configuration after masking (the harness's noise). */
  noise: number;
  rerunsFailed: number;
  cleanRows: Record<string, number>;
  outcome: Outcome;
}

// ---------------------------------------------------------------- services

interface Endpoint {
  host: string;
  port: number;
}

interface Services {
  pgUrl: string;
  pg: Endpoint;
  postgrest: Endpoint;
  jwt: string;
  s3: Endpoint;
  s3Url: string;
  s3Key: string;
  s3Secret: string;
  redis: Endpoint;
  cert: string;
}

const NEEDED = ["PG_URL", "POSTGREST_URL", "POSTGREST_JWT", "REDIS_URL", "S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY", "SOCRATA_FAKE_CERT", "SOCRATA_FAKE_KEY"];

/** The services' addresses: from the environment, else from the services' env file (scripts/services.sh). */
export function loadServices(): Services {
  const missing = () => NEEDED.filter((n) => !process.env[n]);
  if (missing().length) {
    const file = path.join(process.env.LAKE_SERVICES_DIR ?? path.join(ROOT, ".services"), "env");
    if (existsSync(file)) {
      for (const line of readFileSync(file, "utf8").split("\n")) {
        const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
        if (m && !process.env[m[1]!]) process.env[m[1]!] = m[2]!.replace(/^['"]|['"]$/g, "");
      }
    }
  }
  if (missing().length) {
    throw new Error(`chaos --faults needs the test services (${missing().join(", ")} unset): bash scripts/services.sh start, then set -a; . .services/env; set +a`);
  }
  const ep = (u: string): Endpoint => {
    const url = new URL(u);
    return { host: url.hostname, port: Number(url.port) };
  };
  const e = process.env as Record<string, string>;
  return {
    pgUrl: e.PG_URL!,
    pg: ep(e.PG_URL!),
    postgrest: ep(e.POSTGREST_URL!),
    jwt: e.POSTGREST_JWT!,
    s3: ep(e.S3_ENDPOINT!),
    s3Url: e.S3_ENDPOINT!,
    s3Key: e.S3_ACCESS_KEY!,
    s3Secret: e.S3_SECRET_KEY!,
    redis: ep(e.REDIS_URL!),
    cert: e.SOCRATA_FAKE_CERT!,
  };
}

/** Knack objects holding the demo inventory's devices (locations joined on ATD_LOCATION_ID), for the Knack fake. */
export function knackObjectsFor(inventory: Record<string, Record<string, unknown>[]>, codes: string[]): KnackObjectSeed[] {
  const locations = new Map<string, Record<string, KnackValue>>();
  const sensors: Record<string, KnackValue>[] = [];
  const n = (v: unknown) => num(v === null || v === undefined ? null : Number(v));
  for (const code of codes) {
    for (const d of inventory[code] ?? []) {
      const loc = String(d.atd_location_id ?? "");
      if (loc && !locations.has(loc)) {
        locations.set(loc, {
          ATD_LOCATION_ID: loc,
          COA_INTERSECTION_ID: n(d.coa_intersection_id),
          CROSS_ST: (d.cross_st as string | null) ?? "",
          CROSS_ST_SEGMENT_ID: n(d.cross_st_segment_id),
          LOCATION: address((d.lat as number | null) ?? null, (d.lon as number | null) ?? null),
          PRIMARY_ST: (d.primary_st as string | null) ?? "",
          PRIMARY_ST_SEGMENT_ID: n(d.primary_st_segment_id),
        });
      }
      sensors.push({
        ATD_SENSOR_ID: String(d.atd_device_id),
        READER_ID: String(d.device_name ?? ""),
        SENSOR_STATUS: String(d.device_status ?? ""),
        SENSOR_IP: String(d.device_ip ?? ""),
        SENSOR_TYPE: String(d.device_type),
        IP_COMM_STATUS: String(d.ip_comm_status ?? ""),
        ATD_LOCATION_ID: loc ? connection(loc) : "",
        KITS_ID: n(d.kits_id),
      });
    }
  }
  return [
    {
      key: "object_11",
      name: "locations",
      fields: { field_1: "ATD_LOCATION_ID", field_2: "COA_INTERSECTION_ID", field_3: "CROSS_ST", field_4: "CROSS_ST_SEGMENT_ID", field_5: "LOCATION", field_6: "PRIMARY_ST", field_7: "PRIMARY_ST_SEGMENT_ID", field_8: "SIGNAL_ID" },
      records: [...locations.values()],
    },
    {
      key: "object_56",
      name: "sensors",
      fields: { field_880: "ATD_SENSOR_ID", field_881: "READER_ID", field_882: "SENSOR_STATUS", field_883: "SENSOR_IP", field_884: "SENSOR_TYPE", field_885: "IP_COMM_STATUS", field_886: "ATD_LOCATION_ID", field_887: "KITS_ID" },
      records: sensors,
    },
    { key: "object_98", name: "detectors", fields: { field_2380: "DETECTOR_ID", field_2381: "DETECTOR_IP", field_2382: "DETECTOR_STATUS", field_2383: "IP_COMM_STATUS", field_2384: "DATA_LAKE", field_2385: "SIGNAL_ID" }, records: [] },
  ];
}

// ---------------------------------------------------------------- one lake on the services

type Variant = "postgrest" | "postgres" | "queue";

function variantOf(system: System): Variant {
  return system === "postgres" ? "postgres" : system === "redis" ? "queue" : "postgrest";
}

const PURPOSE_NAMES = ["raw", "standardized", "ready", "public", "state"] as const;
const SOCRATA_USER = "chaos";
const SOCRATA_PASSWORD = "chaos-pw";

interface Shared {
  services: Services;
  socrata: SocrataFake;
  knack: KnackFake;
  admin: pg.Client;
  s3: S3Client;
  tag: string;
  template: string;
  window: Window;
  /** Dataset key → row-id field. */
  datasets: Record<string, string>;
}

/** One lake home on the services, with its own proxies, buckets, schemas, datasets and queue. */
class RemoteLake {
  readonly home: string;
  readonly config: string;
  readonly proxies = {} as Record<System, FaultProxy>;
  readonly repos: Record<string, string> = {};
  readonly datasetIds: Record<string, string> = {};
  readonly opsSchema: string;
  readonly catSchema: string;
  readonly queueName: string;
  readonly alias: Alias;

  constructor(
    private readonly s: Shared,
    readonly name: string,
    readonly variant: Variant,
  ) {
    this.home = path.join(s.template, "..", name);
    this.config = path.join(this.home, "lake.config.json");
    const id = `${s.tag}-${name}`.toLowerCase().replace(/[^a-z0-9-]/g, "-");
    for (const p of PURPOSE_NAMES) this.repos[p] = `chaos-${id}-${p}`.slice(0, 63);
    for (const key of Object.keys(s.datasets)) this.datasetIds[key] = `${randomBytes(2).toString("hex")}-${randomBytes(2).toString("hex")}`;
    const ident = id.replace(/-/g, "_");
    this.opsSchema = `chaos_${ident}_ops`;
    this.catSchema = `chaos_${ident}_cat`;
    this.queueName = `chaos-${id}`;
    this.alias = aliasOf([...Object.entries(this.repos).map(([p, r]) => [r, `<${p}>`] as [string, string]), ...Object.entries(this.datasetIds).map(([k, d]) => [d, `<${k}>`] as [string, string])]);
  }

  async start(): Promise<void> {
    cpSync(this.s.template, this.home, { recursive: true });
    const sv = this.s.services;
    const targets: Record<System, Endpoint> = {
      postgres: sv.pg,
      postgrest: sv.postgrest,
      s3: sv.s3,
      redis: sv.redis,
      socrata: { host: "127.0.0.1", port: this.s.socrata.port },
      knack: { host: "127.0.0.1", port: this.s.knack.port },
    };
    for (const sys of SYSTEMS) this.proxies[sys] = await FaultProxy.start(targets[sys], { name: sys });
    for (const [key, id] of Object.entries(this.datasetIds)) this.s.socrata.setRowIdField(id, this.s.datasets[key]!);
    const p = this.proxies;
    const pgUrl = new URL(sv.pgUrl);
    pgUrl.hostname = "127.0.0.1";
    pgUrl.port = String(p.postgres.port);
    const at = (sys: System) => `http://127.0.0.1:${p[sys].port}`;
    const spec = (driver: string, options: Record<string, unknown>) => ({ driver, timeoutMs: CALL_TIMEOUT_MS, options });
    const config = {
      home: this.home,
      repositories: Object.fromEntries(PURPOSE_NAMES.map((n) => [n, { production: this.repos[n], debug: `${this.repos[n]}-t`.slice(0, 63) }])),
      datasets: Object.fromEntries(Object.entries(this.datasetIds).map(([k, id]) => [k, { production: id, debug: `${randomBytes(2).toString("hex")}-${randomBytes(2).toString("hex")}` }])),
      storage: spec("s3", { endpoint: at("s3"), forcePathStyle: true, checksumMode: "WHEN_REQUIRED", contentMd5ForDeletes: true, createBuckets: true }),
      catalog:
        this.variant === "postgres"
          ? spec("postgres", { connectionString: pgUrl.toString(), schema: this.catSchema, ensureSchema: true })
          : spec("postgrest", { url: at("postgrest") }),
      perfmet: spec("postgrest", { url: at("postgrest") }),
      blocks: { driver: "postgres", timeoutMs: CALL_TIMEOUT_MS, options: { connectionString: pgUrl.toString(), schema: this.opsSchema } },
      publisher: spec("socrata", { domain: `127.0.0.1:${p.socrata.port}` }),
      unitdata: spec("knack", { baseUrl: at("knack") }),
      retry: RETRY,
      ...(this.variant === "queue"
        ? {
            queue: {
              driver: "bullmq",
              timeoutMs: CALL_TIMEOUT_MS,
              options: { url: `redis://127.0.0.1:${p.redis.port}`, queueName: this.queueName, lockMs: 2_000, stalledIntervalMs: 1_000, busyDelayMs: 200, backoffMs: 200, attempts: 3 },
            },
          }
        : {}),
    };
    writeFileSync(this.config, JSON.stringify(config, null, 2));
  }

  /** Rewrites the config with every driver's `timeoutMs` set to `ms`. */
  relaxTimeouts(ms: number): void {
    const config = JSON.parse(readFileSync(this.config, "utf8")) as Record<string, unknown>;
    for (const v of Object.values(config)) {
      if (v && typeof v === "object" && "timeoutMs" in v) (v as { timeoutMs: number }).timeoutMs = ms;
    }
    writeFileSync(this.config, JSON.stringify(config, null, 2));
  }

  env(): NodeJS.ProcessEnv {
    const env = childEnv({
      AWS_ACCESS_KEY_ID: this.s.services.s3Key,
      AWS_SECRET_ACCESS_KEY: this.s.services.s3Secret,
      CATALOG_KEY: this.s.services.jwt,
      SOCRATA_USERNAME: SOCRATA_USER,
      SOCRATA_PASSWORD: SOCRATA_PASSWORD,
      KNACK_APP_ID: this.s.knack.appId,
      KNACK_API_KEY: this.s.knack.apiKey,
      NODE_EXTRA_CA_CERTS: this.s.services.cert,
    });
    for (const k of ["PG_URL", "CATALOG_PG_URL", "REDIS_URL", "SOCRATA_APP_TOKEN"]) delete env[k];
    return env;
  }

  commands(rerun: boolean): string[][] {
    const w = this.s.window;
    const cfg = ["--config", this.config];
    if (this.variant !== "queue") return FAULT_SOURCES.map((code) => ["pipeline", code, "-s", w.from, "-e", w.to, "--json", ...cfg]);
    return [
      ...FAULT_SOURCES.map((code) => ["enqueue", code, "--time-min", w.from, "--time-max", w.to, ...(rerun ? ["--incomplete-only"] : []), ...cfg]),
      ["worker", "--until-empty", "--concurrency", "2", ...cfg],
    ];
  }

  /** Runs the commands in order (each whatever the previous gave); the watchdog spans all of them. */
  async run(rerun: boolean, watchdogMs: number): Promise<LakeRun[]> {
    const out: LakeRun[] = [];
    const deadline = performance.now() + watchdogMs;
    for (const args of this.commands(rerun)) {
      const left = Math.max(1_000, deadline - performance.now());
      const r = await runLake(args, { cwd: this.home, env: this.env(), watchdogMs: left });
      out.push(r);
      if (r.watchdog) break;
    }
    return out;
  }

  objects(): ObjectSource {
    const s3 = this.s.s3;
    const buckets = Object.values(this.repos);
    const list = async (): Promise<string[]> => {
      const keys: string[] = [];
      for (const b of buckets) {
        let token: string | undefined;
        do {
          let page;
          try {
            page = await s3.send(new ListObjectsV2Command({ Bucket: b, ContinuationToken: token }));
          } catch (err) {
            if ((err as { name?: string }).name === "NoSuchBucket") break;
            throw err;
          }
          for (const o of page.Contents ?? []) keys.push(`${b}/${o.Key}`);
          token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token);
      }
      return keys.sort();
    };
    const split = (k: string) => [k.slice(0, k.indexOf("/")), k.slice(k.indexOf("/") + 1)] as const;
    return {
      list: async () => (await list()).filter((k) => !isTemp(k)),
      read: async (k) => {
        const [Bucket, Key] = split(k);
        const r = await s3.send(new GetObjectCommand({ Bucket, Key }));
        return Buffer.from(await r.Body!.transformToByteArray());
      },
      tempFiles: async () => (await list()).filter(isTemp),
    };
  }

  async catalogRows(): Promise<RawCatalogRow[]> {
    const table = this.variant === "postgres" ? `"${this.catSchema}".data_lake_cat` : "api.data_lake_cat";
    try {
      const r = await this.s.admin.query(`SELECT * FROM ${table} WHERE repository = ANY($1)`, [Object.values(this.repos)]);
      return r.rows.map((row) => ({
        ...row,
        collection_date: time(row.collection_date)!,
        collection_end: time(row.collection_end),
        processing_date: time(row.processing_date),
        metadata: row.metadata === null ? null : JSON.stringify(row.metadata),
      })) as RawCatalogRow[];
    } catch (err) {
      if ((err as { code?: string }).code === "42P01") return []; // the schema was never created
      throw err;
    }
  }

  async input(): Promise<SnapshotInput> {
    const published = new Map<string, string[]>();
    for (const id of Object.values(this.datasetIds)) {
      published.set(id, this.s.socrata.rows(id).map((r) => Object.keys(r).sort().map((k) => `${k}=${String(r[k])}`).join("\u001f")));
    }
    const objects = this.objects();
    const staleLeases: string[] = [];
    try {
      const r = await this.s.admin.query(`SELECT source, stage, day, owner FROM "${this.opsSchema}".lake_leases`);
      for (const l of r.rows) staleLeases.push(`lease ${l.source} ${l.stage} ${l.day} held by ${l.owner}`);
    } catch (err) {
      if ((err as { code?: string }).code !== "42P01") throw err;
    }
    staleLeases.push(...lockFiles(this.home));
    return { published, objects, catalog: await this.catalogRows(), tempFiles: [...homeTempFiles(this.home), ...(await objects.tempFiles())], staleLeases, alias: this.alias };
  }

  async stop(keep: boolean): Promise<void> {
    for (const p of Object.values(this.proxies)) await p.close();
    if (keep) return;
    const s3 = this.s.s3;
    for (const b of Object.values(this.repos)) {
      try {
        for (;;) {
          const page = await s3.send(new ListObjectsV2Command({ Bucket: b }));
          for (const o of page.Contents ?? []) await s3.send(new DeleteObjectCommand({ Bucket: b, Key: o.Key! }));
          if (!page.IsTruncated) break;
        }
        await s3.send(new DeleteBucketCommand({ Bucket: b }));
      } catch {
        // never created, or already gone
      }
    }
    await this.s.admin.query("DELETE FROM api.data_lake_cat WHERE repository = ANY($1)", [Object.values(this.repos)]).catch(() => undefined);
    await this.s.admin.query(`DROP SCHEMA IF EXISTS "${this.opsSchema}" CASCADE`).catch(() => undefined);
    await this.s.admin.query(`DROP SCHEMA IF EXISTS "${this.catSchema}" CASCADE`).catch(() => undefined);
    if (this.variant === "queue") {
      const redis = new Redis({ host: this.s.services.redis.host, port: this.s.services.redis.port, lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await redis.connect();
        const keys = await redis.keys(`bull:${this.queueName}:*`);
        if (keys.length) await redis.del(...keys);
      } catch {
        // best effort
      } finally {
        redis.disconnect();
      }
    }
    rmSync(this.home, { recursive: true, force: true });
  }
}

function isTemp(key: string): boolean {
  const name = key.slice(key.lastIndexOf("/") + 1);
  return name.startsWith(".lake-tmp-") || name.startsWith(".tmp-");
}

function time(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  return v instanceof Date ? v.getTime() : new Date(String(v)).getTime();
}

function describeRuns(runs: LakeRun[]): string {
  if (runs.some((r) => r.watchdog)) return `killed by the watchdog after ${(runs.at(-1)!.ms / 1000).toFixed(0)} s`;
  return `exit ${runs.map((r) => r.code).join(",")} in ${(runs.reduce((n, r) => n + r.ms, 0) / 1000).toFixed(1)} s`;
}

/** Reruns until every command exits 0 (at most MAX_RERUNS). */
async function repair(lake: RemoteLake): Promise<{ runs: LakeRun[][]; ok: boolean }> {
  const runs: LakeRun[][] = [];
  lake.relaxTimeouts(RERUN_TIMEOUT_MS);
  for (let i = 0; i < MAX_RERUNS; i++) {
    const r = await lake.run(true, 600_000);
    runs.push(r);
    if (r.every((x) => x.code === 0)) return { runs, ok: true };
  }
  return { runs, ok: false };
}

// ---------------------------------------------------------------- the trials

export async function runFaults(o: FaultOptions): Promise<FaultReport> {
  const services = loadServices();
  const template = path.join(o.work, "faults-template");
  await makeTemplate(template, o.window, FAULT_SOURCES);
  const inventory = JSON.parse(readFileSync(path.join(template, "sources", "inventory.json"), "utf8")) as Record<string, Record<string, unknown>[]>;
  const registry = await defaultRegistry();
  const datasets: Record<string, string> = {};
  for (const code of FAULT_SOURCES) {
    for (const [key, d] of Object.entries((await registry.source(code)).datasets ?? {})) datasets[key] = (d as { rowId?: string }).rowId ?? "row_id";
  }
  const socrata = await SocrataFake.start({ credentials: { username: SOCRATA_USER, password: SOCRATA_PASSWORD } });
  const knack = await KnackFake.start({ objects: knackObjectsFor(inventory, FAULT_SOURCES) });
  const admin = new pg.Client({ connectionString: services.pgUrl });
  await admin.connect();
  const s3 = new S3Client({
    endpoint: services.s3Url,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: services.s3Key, secretAccessKey: services.s3Secret },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  const shared: Shared = { services, socrata, knack, admin, s3, tag: randomBytes(3).toString("hex"), template, window: o.window, datasets };
  const lakes: RemoteLake[] = [];
  try {
    const systems = o.systems ?? SYSTEMS;
    const kinds = o.kinds ?? FAULT_KINDS;
    const variants = [...new Set(systems.map(variantOf))];
    if (!variants.includes("postgrest")) variants.unshift("postgrest");

    // Clean runs through the fault-free proxies: two of the PostgREST configuration (the reference, and what
    // differs between clean runs), one of each other configuration. Their byte counts per system place the faults.
    const clean = new Map<Variant, { snap: Snapshot; ms: number; bytes: Record<System, number> }>();
    const cleanLakes = new Map<string, RemoteLake>();
    const cleanRun = async (name: string, variant: Variant) => {
      // A clean run must pass in one go (on a fresh lake; a busy machine may need another try).
      let lake: RemoteLake;
      let runs: LakeRun[];
      let ms: number;
      for (let attempt = 1; ; attempt++) {
        lake = new RemoteLake(shared, attempt === 1 ? name : `${name}-${attempt}`, variant);
        lakes.push(lake);
        await lake.start();
        const t0 = performance.now();
        runs = await lake.run(false, 600_000);
        ms = performance.now() - t0;
        if (runs.every((r) => r.code === 0)) break;
        await lake.stop(false);
        if (attempt === MAX_RERUNS) throw new Error(`chaos: the clean run on the services (${variant}) failed ${attempt} times: ${describeRuns(runs)}\n${runs.map((r) => r.out).join("\n")}`);
      }
      cleanLakes.set(name, lake);
      const bytes = Object.fromEntries(SYSTEMS.map((s) => [s, lake.proxies[s].bytes])) as Record<System, number>;
      return { lake, ms, bytes };
    };
    const first = await cleanRun("clean-postgrest-1", "postgrest");
    const second = await cleanRun("clean-postgrest-2", "postgrest");
    const [ia, ib] = [await first.lake.input(), await second.lake.input()];
    let volatile: Volatile = await learnVolatile(ia.objects, ib.objects, first.lake.alias, second.lake.alias, ia.catalog, ib.catalog);
    const refSnap = await snapshot(ia, volatile);
    const noise = badness(compare(refSnap, await snapshot(ib, volatile)));
    clean.set("postgrest", { snap: refSnap, ms: (first.ms + second.ms) / 2, bytes: first.bytes });
    for (const v of variants.filter((x) => x !== "postgrest")) {
      const r = await cleanRun(`clean-${v}`, v);
      clean.set(v, { snap: await snapshot(await r.lake.input(), volatile), ms: r.ms, bytes: r.bytes });
    }
    const cleanRows: Record<string, number> = {};
    for (const [v, c] of clean) cleanRows[v] = [...c.snap.published.values()].reduce((n, m) => n + [...m.values()].reduce((x, y) => x + y, 0), 0);
    o.log(
      `faults: clean runs on the services: ${[...clean].map(([v, c]) => `${v} ${(c.ms / 1000).toFixed(1)} s, ${cleanRows[v]} rows, ${c.snap.objects.size} objects, ${c.snap.catalog.size} catalog rows`).join("; ")}` +
        `; bytes per system ${JSON.stringify(first.bytes)}${noise ? `; NOISE between two clean runs: ${noise}` : ""}`,
    );
    for (const l of cleanLakes.values()) await l.stop(o.keep);

    const rng = seededRandom(o.seed ^ 0x5eed);
    const plan: { system: System; kind: FaultKind; fault: Fault }[] = [];
    for (const system of systems) {
      const bytes = clean.get(variantOf(system))!.bytes[system];
      for (const kind of kinds) {
        const mid = Math.max(1, Math.floor((0.2 + 0.6 * rng()) * bytes));
        const fault: Fault =
          kind === "down" ? { kind } : kind === "throttle" ? { kind, bytesPerSecond: Math.max(8_192, Math.floor(bytes / 2)) } : { kind, afterBytes: mid };
        plan.push({ system, kind, fault });
      }
    }

    const trials = await pool(o.concurrency ?? 3, plan.length, async (i): Promise<FaultTrial> => {
      const { system, kind, fault } = plan[i]!;
      const variant = variantOf(system);
      const ref = clean.get(variant)!;
      const lake = new RemoteLake(shared, `fault-${system}-${kind}`, variant);
      lakes.push(lake);
      await lake.start();
      await lake.proxies[system].setFault(fault);
      const faultedRuns = await lake.run(false, Math.max(15_000, 3 * ref.ms));
      await lake.proxies[system].clearFault();
      const { runs, ok } = await repair(lake);
      const outcome = compare(ref.snap, await snapshot(await lake.input(), volatile));
      if (!ok) outcome.details.unshift(`the rerun never exited 0: ${describeRuns(runs.at(-1)!)}: ${runs.at(-1)!.map((r) => r.out.slice(-500)).join(" | ")}`);
      const bad = badness(outcome);
      const faulted = describeRuns(faultedRuns);
      o.log(
        `fault ${system} ${kind}${fault.afterBytes ? ` after ${fault.afterBytes} bytes` : ""}${fault.bytesPerSecond ? ` at ${fault.bytesPerSecond} B/s` : ""}: ` +
          `faulted run ${faulted}; rerun ${ok ? `ok (${runs.length})` : "FAILED"}${bad ? `: ${outcome.details.slice(0, 3).join("; ")}` : ""}`,
      );
      await lake.stop(o.keep && (bad > 0 || !ok));
      return { system, kind, fault, faulted, completed: ok, reruns: runs.length, bad, outcome };
    });

    const outcome = zeroOutcome();
    for (const t of trials) addOutcome(outcome, t.outcome, `fault ${t.system} ${t.kind}`);
    return { trials, noise, rerunsFailed: trials.filter((t) => !t.completed).length, cleanRows, outcome };
  } finally {
    for (const l of lakes) for (const p of Object.values(l.proxies)) await p.close().catch(() => undefined);
    await socrata.close();
    await knack.close();
    await admin.end();
    s3.destroy();
    if (!o.keep) rmSync(template, { recursive: true, force: true });
  }
}
