/** A lake with the mds source against fake providers: runtime, block store, counts of what landed. */
import { DateTime } from "luxon";
import path from "node:path";
import { tempDir } from "../core/helpers.js";
import { LakeRuntime } from "../../src/support/runtime.js";
import { LakeEventBus } from "../../src/support/events.js";
import { backfillAction } from "../../src/cli/backfill.js";
import { openBlockStore } from "../../src/orchestration/blocks.js";
import { startFakeMds, type FakeProvider, type FakeMds } from "../../src/sources/mds/fake.js";
import type { BlockProgress } from "../../src/orchestration/block-runner.js";
import type { BlockRecord } from "../../src/support/block-store.js";
import { fixedClock } from "../../src/util/dates.js";

export const ZONE = "America/Chicago";
/** The 6-hour range of the scenarios: 2024-11-01 00:00 to 06:00 local. */
export const T0 = DateTime.fromISO("2024-11-01T00:00", { zone: ZONE });
export const hour = (n: number) => T0.plus({ hours: n }).toMillis();
export const KEY = "ZGVtby1rZXktZm9yLXRoZS1sYWtlZmxvdy1kZW1vISE=";

const quiet: BlockProgress = { start() {}, setTotal() {}, done() {}, log() {}, stop() {} };

export interface MdsLake {
  runtime: LakeRuntime;
  fake: FakeMds;
  home: string;
  logs: string[];
  backfill(flags: Record<string, unknown>): Promise<{ code: number; out: string }>;
  blocks(): Promise<BlockRecord[]>;
  close(): Promise<void>;
}

export async function mdsLake(providers: FakeProvider[], database?: Record<string, unknown>): Promise<MdsLake> {
  const home = tempDir("lake-mds-");
  const fake = await startFakeMds(providers);
  const events = new LakeEventBus();
  const logs: string[] = [];
  events.on("log", (e) => logs.push(e.message));
  events.on("item.failed", (e) => logs.push(`${e.item}: ${e.error}`));
  const env: Record<string, string> = { LAKE_ENCRYPTION_KEY: KEY };
  for (const p of providers) env[`TOKEN_${p.name.toUpperCase()}`] = p.token;
  const runtime = LakeRuntime.create({
    overrides: {
      home,
      sources: {
        mds: {
          providers: providers.map((p) => ({ name: p.name, version: p.version, url: fake.url(p.name), tokenSecret: `TOKEN_${p.name.toUpperCase()}`, retries: 2, minDelayMs: 10, maxDelayMs: 200 })),
          ...(database ? { database } : {}),
        },
      },
    },
    env,
    events,
    clock: fixedClock("2024-11-10T12:00:00-06:00"),
  });
  const range = { timeMin: "2024-11-01-00", timeMax: "2024-11-01-06" };
  return {
    runtime,
    fake,
    home,
    logs,
    async backfill(flags) {
      let out = "";
      const code = await backfillAction("mds", { ...range, continueOnError: true, ...flags }, { runtime, out: (s) => (out += s), progress: quiet });
      return { code, out };
    },
    async blocks() {
      const store = await openBlockStore(runtime);
      try {
        return await store.list({ source: "mds" });
      } finally {
        await store.close();
      }
    },
    async close() {
      await runtime.close();
      await fake.stop();
    },
  };
}

/** Per hour of a provider: the stage statuses, e.g. "succeeded/succeeded/succeeded". */
export function statusesOf(blocks: BlockRecord[], provider: string): { stage: string; statuses: string[] }[] {
  return ["mds-extract", "mds-load", "mds-publish"].map((stage) => ({
    stage,
    statuses: blocks.filter((b) => b.stage === stage && b.day.endsWith(`#${provider}`)).map((b) => b.status),
  }));
}

export const homeFile = (lake: MdsLake, ...p: string[]) => path.join(lake.home, ...p);
