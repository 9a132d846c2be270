/** A lake with the usage source: logs as objects in the lake's storage, a geocoder fake, a clock the test moves. */
import { DateTime } from "luxon";
import { tempDir } from "../core/helpers.js";
import { LakeRuntime } from "../../src/support/runtime.js";
import { LakeEventBus } from "../../src/support/events.js";
import { backfillAction } from "../../src/cli/backfill.js";
import { openBlockStore } from "../../src/orchestration/blocks.js";
import { arrivalObjects, startFakeGeocoder, type FakeGeocoder } from "../../src/sources/usage/fake.js";
import type { BlockProgress } from "../../src/orchestration/block-runner.js";
import type { BlockRecord } from "../../src/support/block-store.js";
import type { SqlDriver } from "../../src/support/drivers.js";

export const ZONE = "America/Chicago";
export const LOGS = "usage-logs-test";
const quiet: BlockProgress = { start() {}, setTotal() {}, done() {}, log() {}, stop() {} };

export interface UsageLake {
  runtime: LakeRuntime;
  geo: FakeGeocoder;
  home: string;
  logs: string[];
  setNow(iso: string): void;
  /** Puts the log objects that arrive on the days [from, to] into the logs repository. */
  drop(from: string, to: string, extra?: Record<string, string>): Promise<void>;
  backfill(flags: Record<string, unknown>): Promise<{ code: number; out: string }>;
  blocks(): Promise<BlockRecord[]>;
  db(): Promise<SqlDriver>;
  rows(from?: string, to?: string): Promise<number>;
  close(): Promise<void>;
}

export async function usageLake(settings: Record<string, unknown> = {}): Promise<UsageLake> {
  const home = tempDir("lake-usage-");
  const geo = await startFakeGeocoder({ failFirst: 1 });
  const events = new LakeEventBus();
  const logs: string[] = [];
  events.on("log", (e) => logs.push(e.message));
  let now = DateTime.fromISO("2024-11-11T12:00", { zone: ZONE }).toMillis();
  const database = settings.database as { driver: string; options: Record<string, unknown> } | undefined;
  const runtime = LakeRuntime.create({
    overrides: {
      home,
      sources: { usage: { logs: { repository: LOGS }, geocoder: { url: geo.url, retries: 2, minDelayMs: 10, maxDelayMs: 50, ratePerSecond: 500 }, ...settings } },
    },
    env: {},
    events,
    clock: () => now,
  });
  const spec = database ?? { driver: "sqlite", options: { path: `${home}/usage.sqlite`, readonly: false } };
  const lake: UsageLake = {
    runtime,
    geo,
    home,
    logs,
    setNow(iso) {
      now = DateTime.fromISO(iso, { zone: ZONE }).toMillis();
    },
    async drop(from, to, extra = {}) {
      const storage = await runtime.driver("storage", false);
      const end = DateTime.fromISO(to, { zone: ZONE });
      const all: Record<string, string> = {};
      for (let d = DateTime.fromISO(from, { zone: ZONE }); d <= end; d = d.plus({ days: 1 })) Object.assign(all, arrivalObjects(d));
      for (const [k, v] of Object.entries({ ...all, ...extra })) await storage.put(LOGS, k, Buffer.from(v));
    },
    async backfill(flags) {
      let out = "";
      const code = await backfillAction("usage", { continueOnError: true, ...flags }, { runtime, out: (s) => (out += s), progress: quiet });
      return { code, out };
    },
    async blocks() {
      const store = await openBlockStore(runtime);
      try {
        return await store.list({ source: "usage" });
      } finally {
        await store.close();
      }
    },
    db: () => runtime.driver("sql", false, spec as never),
    async rows(from = "0000", to = "9999") {
      const db = await lake.db();
      const p = (i: number) => (db.dialect === "postgres" ? `$${i + 1}` : "?");
      const r = await db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM usage_requests WHERE partition_day >= ${p(0)} AND partition_day < ${p(1)}`, [from, to]);
      return Number(r[0]!.n);
    },
    async close() {
      await runtime.close();
      await geo.stop();
    },
  };
  return lake;
}
