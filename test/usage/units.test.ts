/** The usage source's parts: log parsing, the write modes (src/support/sql-write.ts), the lookup cache. */
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DateTime } from "luxon";
import { tempDir } from "../core/helpers.js";
import { LakeRuntime } from "../../src/support/runtime.js";
import type { SqlDriver } from "../../src/support/drivers.js";
import type { ObjectAccess } from "../../src/support/kit.js";
import { dedupeByKey, ensureTable, writeRows, type TableSpec } from "../../src/support/sql-write.js";
import { LookupCache } from "../../src/support/lookup-cache.js";
import { TransientError } from "../../src/support/errors.js";
import { parseLog } from "../../src/sources/usage/logs.js";
import { arrivalObjects } from "../../src/sources/usage/fake.js";
import { usageLake } from "./harness.js";

describe("usage logs", () => {
  it("parses both kinds by event time and reports each bad line with its number", () => {
    const objs = arrivalObjects(DateTime.fromISO("2024-11-05", { zone: "America/Chicago" }));
    const web = parseLog("web", `${objs["web/2024-11-05/part-000.jsonl"]!}{"insertId": "x"\n{"insertId":"y","timestamp":"2024-11-05T10:00:00Z"}\n`);
    expect(web.requests).toHaveLength(18);
    expect(web.bad).toEqual([{ line: 19, reason: "not JSON" }, { line: 20, reason: "no httpRequest.requestUrl/remoteIp" }]);
    const dl = parseLog("download", `${objs["download/2024-11-05/access.log"]!}garbage line\n`);
    expect(dl.requests).toHaveLength(8);
    expect(dl.requests[0]).toMatchObject({ kind: "download", method: "GET", status: 200 });
    expect(dl.bad).toEqual([{ line: 9, reason: "not an access log line" }]);
  });
});

describe("write modes (sql-write)", () => {
  const home = tempDir("lake-sqlwrite-");
  const runtime = LakeRuntime.create({ overrides: { home }, env: {} });
  afterAll(() => runtime.close());
  const spec: TableSpec = { name: "t_modes", columns: { id: "text", day: "text", v: "integer" }, key: ["id"], partitionColumn: "day" };
  const db = () => runtime.driver("sql", false, { driver: "sqlite", options: { path: path.join(home, "w.sqlite"), readonly: false } }) as Promise<SqlDriver>;
  const count = async (s = spec) => Number((await (await db()).query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${s.name}`))[0]!.n);

  it("de-duplicates by key in the batch, keeping the first", () => {
    expect(dedupeByKey([{ id: "a", v: 1 }, { id: "b", v: 2 }, { id: "a", v: 3 }], ["id"])).toEqual({ rows: [{ id: "a", v: 1 }, { id: "b", v: 2 }], duplicates: 1 });
  });

  it("upsert and replace-partition are idempotent; replace-partition drops rows the new load lacks; fail-on-conflict writes nothing", async () => {
    const d = await db();
    await ensureTable(d, spec);
    const rows = [{ id: "a", day: "d1", v: 1 }, { id: "b", day: "d1", v: 2 }, { id: "a", day: "d1", v: 9 }];
    expect(await writeRows(d, spec, rows)).toMatchObject({ mode: "upsert", written: 2, duplicates: 1 });
    await writeRows(d, spec, rows);
    expect(await count()).toBe(2);
    const r = await writeRows(d, spec, [{ id: "a", day: "d1", v: 5 }], { mode: "replace-partition", partition: "d1" });
    expect(r).toMatchObject({ written: 1, replaced: 1 });
    expect(await d.query("SELECT id, v FROM t_modes")).toEqual([{ id: "a", v: 5 }]);
    await expect(writeRows(d, spec, [{ id: "c", day: "d1", v: 1 }, { id: "a", day: "d1", v: 1 }], { mode: "fail-on-conflict" })).rejects.toThrow(/1 key\(s\) already loaded.*nothing was written/);
    expect(await count()).toBe(1);
  });

  it("append has no key: a rerun duplicates (which is why it is never the default); replace-partition is the keyless default", async () => {
    const d = await db();
    const keyless: TableSpec = { name: "t_append", columns: { day: "text", v: "integer" }, partitionColumn: "day" };
    await ensureTable(d, keyless);
    const rows = [{ day: "d1", v: 1 }, { day: "d1", v: 2 }];
    await writeRows(d, keyless, rows, { mode: "append" });
    await writeRows(d, keyless, rows, { mode: "append" });
    expect(await count(keyless)).toBe(4);
    expect(await writeRows(d, keyless, rows, { partition: "d1" })).toMatchObject({ mode: "replace-partition", replaced: 4 });
    expect(await count(keyless)).toBe(2);
  });
});

describe("lookup cache", () => {
  function memoryStore(): ObjectAccess & { texts: Map<string, string> } {
    const texts = new Map<string, string>();
    return { repository: "mem", scope: {}, texts, list: async function* () {}, read: async (k) => texts.get(k), write: async (k, t) => void texts.set(k, t) };
  }
  const retry = { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 5 };

  it("looks each distinct key up once, retries transient failures, persists with TTL, reports what still fails", async () => {
    const store = memoryStore();
    let now = 1_000_000;
    const calls: string[] = [];
    let flaky = 1;
    const lookup = async (k: string) => {
      calls.push(k);
      if (k === "b" && flaky-- > 0) throw new TransientError("busy");
      if (k === "bad") throw new Error("no such key");
      return k.toUpperCase();
    };
    const cache = () => new LookupCache<string>({ store, key: "c.json", ttlMs: 10_000, retry, clock: () => now });
    const first = await cache().get(["a", "b", "a", "a", "bad"], lookup);
    expect(calls).toEqual(["a", "b", "b", "bad"]);
    expect([first.distinct, first.hits, first.lookups, first.values.get("b"), first.failed.map((f) => f.key)]).toEqual([3, 0, 3, "B", ["bad"]]);
    // A new run (another process: a new scope) reads the stored cache: no call for a and b.
    calls.length = 0;
    const second = await new LookupCache<string>({ store: { ...store, scope: {} }, key: "c.json", ttlMs: 10_000, retry, clock: () => now }).get(["a", "b"], lookup);
    expect([calls, second.hits]).toEqual([[], 2]);
    now += 20_000; // past the TTL
    await new LookupCache<string>({ store: { ...store, scope: {} }, key: "c.json", ttlMs: 10_000, retry, clock: () => now }).get(["a"], lookup);
    expect(calls).toEqual(["a"]);
  });
});

describe("usage bad input", () => {
  it("a log line that does not parse is reported with file and line; the rest of the day loads", async () => {
    const lake = await usageLake();
    try {
      await lake.drop("2024-11-20", "2024-11-21", { "web/2024-11-20/part-002.jsonl": '{"insertId":"ok1","timestamp":"2024-11-20T15:00:00Z","httpRequest":{"requestUrl":"https://x.example/pudl.db","remoteIp":"198.51.100.7"}}\nnot json at all\n' });
      lake.setNow("2024-11-25T12:00");
      const { code } = await lake.backfill({ timeMin: "2024-11-20", timeMax: "2024-11-21" });
      expect(code).toBe(0);
      const [b] = await lake.blocks();
      expect([b!.status, b!.errors]).toEqual(["succeeded-with-errors", 1]);
      expect(JSON.parse(b!.errorPayload!)).toEqual([{ file: "usage-logs-test/web/2024-11-20/part-002.jsonl", line: 2, reason: "not JSON" }]);
      expect(await lake.rows()).toBe(28 + 1);
    } finally {
      await lake.close();
    }
  });
});
