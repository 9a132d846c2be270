/**
 * The driver runtime (support/resilience.ts wrapDriver): retries of transient failures only, the deadline and its
 * abort signal, replaying only replayable bodies, listings retried only before their first item, concurrency limits,
 * the per-dataset lock across processes, timing events and the redaction of every message it passes on.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { CallOptions, CatalogDriver, CatalogRecord, PublisherDriver, StorageDriver } from "../../src/support/drivers.js";
import { ConfigError, TerminalError, TransientError } from "../../src/support/errors.js";
import { LakeEventBus } from "../../src/support/events.js";
import { LockService, NO_RETRY, unwrapDriver, type DriverCallEvent } from "../../src/support/resilience.js";
import { secretRedactor } from "../../src/util/redact.js";
import { acquireFileLock } from "../../src/util/file-lock.js";
import { createCsvPublisher } from "../../src/drivers/publisher/csv.js";
import { MemoryStorage } from "../../src/drivers/storage/memory.js";
import { runtimeDriver } from "../helpers/context.js";

function flakyStorage(failures: number, error: () => Error = () => new TransientError("503 from the store")) {
  const inner = new MemoryStorage();
  let calls = 0;
  const driver: StorageDriver = {
    driverName: "flaky",
    capabilities: { multipart: false },
    async put(repo, key, body) {
      calls++;
      if (calls <= failures) throw error();
      return inner.put(repo, key, body);
    },
    get: (r, k) => inner.get(r, k),
    getStream: (r, k) => inner.getStream(r, k),
    exists: (r, k) => inner.exists(r, k),
    delete: (r, k) => inner.delete(r, k),
    list: (r, p) => inner.list(r, p),
  };
  return { driver, calls: () => calls, inner };
}

describe("driver runtime: retries", () => {
  it("retries a TransientError and succeeds; a TerminalError fails at once", async () => {
    const f = flakyStorage(2);
    await runtimeDriver("storage", f.driver).put("r", "k", Buffer.from("x"));
    expect(f.calls()).toBe(3);
    const t = flakyStorage(5, () => new TerminalError("bad key"));
    await expect(runtimeDriver("storage", t.driver).put("r", "k", Buffer.from("x"))).rejects.toBeInstanceOf(TerminalError);
    expect(t.calls()).toBe(1);
  });

  it("re-raises the last TransientError after the last attempt (never a silent success)", async () => {
    const f = flakyStorage(100);
    await expect(runtimeDriver("storage", f.driver).put("r", "k", Buffer.from("x"))).rejects.toThrow(/503 from the store/);
    expect(f.calls()).toBe(4); // FAST_RETRY: 3 retries
  });

  it("sends a streamed body once: it cannot be replayed", async () => {
    const f = flakyStorage(1);
    await expect(runtimeDriver("storage", f.driver).put("r", "k", Readable.from([Buffer.from("x")]))).rejects.toBeInstanceOf(TransientError);
    expect(f.calls()).toBe(1);
  });

  it("opens a listing again after a transient failure before its first item, never after", async () => {
    let opened = 0;
    const rec = (i: number): CatalogRecord => ({
      repository: "r", data_source: "bt", id_base: `B${i}`, id_ext: "json", pointer: "p", collection_date: i, collection_end: null, processing_date: null, metadata: null,
    });
    const catalog = (failAfter: number): CatalogDriver => ({
      driverName: "pages",
      capabilities: { maxRowsPerRequest: 10, maxUpsertBatch: 10 },
      async *query() {
        opened++;
        for (let i = 0; i < 3; i++) {
          if (i === failAfter && opened < 3) throw new TransientError("connection reset");
          yield rec(i);
        }
      },
      upsert: async () => undefined,
      delete: async () => 0,
    });
    const got: string[] = [];
    for await (const r of runtimeDriver("catalog", catalog(0)).query({ repository: "r", dataSource: "bt" })) got.push(r.id_base);
    expect(got).toEqual(["B0", "B1", "B2"]);
    expect(opened).toBe(3);
    opened = 0;
    const partial: string[] = [];
    const err = await (async () => {
      for await (const r of runtimeDriver("catalog", catalog(1)).query({ repository: "r", dataSource: "bt" })) partial.push(r.id_base);
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect(partial).toEqual(["B0"]);
    expect(opened).toBe(1);
  });
});

describe("driver runtime: deadlines", () => {
  it("fails a call that does not answer with a TransientError and aborts the driver's request", async () => {
    let aborted: unknown;
    const stalled: StorageDriver = {
      ...new MemoryStorage(),
      driverName: "stalled",
      capabilities: { multipart: false },
      get: (_r: string, _k: string, opts?: CallOptions) =>
        new Promise<Buffer>((_, reject) => {
          opts?.signal?.addEventListener("abort", () => {
            aborted = opts.signal!.reason;
            reject(new Error("aborted by the signal"));
          });
        }),
    } as unknown as StorageDriver;
    const err = await runtimeDriver("storage", stalled, { timeoutMs: 50, retry: NO_RETRY }).get("r", "k").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).toMatch(/stalled storage get r\/k: no answer within 50 ms/);
    expect(aborted).toBeInstanceOf(TransientError);
  });

  it("a driver that ignores the signal still gives way at the deadline", async () => {
    const deaf = { ...new MemoryStorage(), driverName: "deaf", exists: () => new Promise<boolean>(() => undefined) } as unknown as StorageDriver;
    await expect(runtimeDriver("storage", deaf, { timeoutMs: 30, retry: NO_RETRY }).exists("r", "k")).rejects.toThrow(/no answer within 30 ms/);
  });
});

describe("driver runtime: limits, timing, lock", () => {
  it("runs at most `concurrency` calls of one driver at once", async () => {
    let running = 0;
    let peak = 0;
    const slow = {
      ...new MemoryStorage(),
      driverName: "slow",
      exists: async () => {
        peak = Math.max(peak, ++running);
        await new Promise((r) => setTimeout(r, 10));
        running--;
        return true;
      },
    } as unknown as StorageDriver;
    const d = runtimeDriver("storage", slow, { concurrency: 2 });
    await Promise.all(Array.from({ length: 8 }, (_, i) => d.exists("r", `k${i}`)));
    expect(peak).toBe(2);
  });

  it("times every call and says how many attempts it took", async () => {
    const events = new LakeEventBus();
    const seen: DriverCallEvent[] = [];
    events.on("driver.call", (e) => seen.push(e));
    const f = flakyStorage(1);
    await runtimeDriver("storage", f.driver, { events }).put("repo", "a/b", Buffer.from("x"));
    expect(seen).toEqual([{ kind: "storage", driver: "flaky", op: "put", what: "flaky storage put repo/a/b", ms: expect.any(Number), attempts: 2, ok: true }]);
  });

  it("passes the driver's other members through and unwraps to the driver", () => {
    const csv = createCsvPublisher(mkdtempSync(path.join(tmpdir(), "rt-")));
    const d = runtimeDriver("publisher", csv);
    expect(d.capabilities).toEqual(csv.capabilities);
    expect((d as typeof csv).memory().heldRows).toBe(0);
    expect(unwrapDriver(d)).toBe(csv);
    expect(runtimeDriver("publisher", d)).toBe(d);
  });

  it("serialises writers of one dataset across processes: two processes upserting one CSV dataset lose no row", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "rt-csv-"));
    const locks = path.join(dir, "locks");
    const child = (tag: string) =>
      new Promise<number>((resolve, reject) => {
        const script = `
          const { createCsvPublisher } = await import(${JSON.stringify(path.resolve("src/drivers/publisher/csv.ts"))});
          const { runtimeDriver } = await import(${JSON.stringify(path.resolve("test/helpers/context.ts"))});
          const d = runtimeDriver("publisher", createCsvPublisher(${JSON.stringify(dir)}), { lockDir: ${JSON.stringify(locks)} });
          for (let b = 0; b < 40; b++) {
            const rows = Array.from({ length: 25 }, (_, i) => ({ id: "${tag}-" + b + "-" + i, v: String(i), ["col_${tag}_" + (b % 3)]: "x" }));
            await d.upsert("shared", rows, "id");
          }`;
        const p = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { stdio: ["ignore", "inherit", "inherit"] });
        p.on("exit", (code) => resolve(code ?? -1));
        p.on("error", reject);
      });
    expect(await Promise.all([child("a"), child("b")])).toEqual([0, 0]);
    expect(await createCsvPublisher(dir).countRows("shared")).toBe(2 * 40 * 25);
    expect(readdirSync(dir).filter((f) => f.includes(".tmp"))).toEqual([]);
    expect(readdirSync(locks)).toEqual([]);
  }, 60_000);

  it("a lock held by a dead process of this host is taken over at once; a live holder is named while waiting", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "rt-lock-"));
    const file = path.join(dir, "ds.lock");
    const dead = spawn(process.execPath, ["-e", "0"]);
    await new Promise((r) => dead.on("exit", r));
    const { writeFileSync } = await import("node:fs");
    const { hostname } = await import("node:os");
    writeFileSync(file, JSON.stringify({ host: hostname(), pid: dead.pid, what: "lake run x", since: 0 }));
    const started = Date.now();
    const mine = await acquireFileLock(file, { what: "test", staleMs: 60_000, waitMs: 5_000 });
    expect(Date.now() - started).toBeLessThan(5_000);
    const told: string[] = [];
    const err = await acquireFileLock(file, { what: "second", staleMs: 60_000, waitMs: 100, onWait: (h) => told.push(`${h?.pid} ${h?.what}`) }).catch((e: unknown) => e);
    expect(told).toEqual([`${process.pid} test`]);
    expect((err as Error).message).toMatch(new RegExp(`held by .*:${process.pid} \\(test\\) until \\d{4}-\\d{2}-\\d{2}T`));
    await mine.release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it("hold() keeps a dataset for a whole stage; the stage's own calls still run", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "rt-hold-"));
    const a = new LockService({ dir });
    const held = await a.hold("publisher-csv-ds");
    expect(await a.run("publisher-csv-ds", async () => "inside")).toBe("inside");
    const other = new LockService({ dir, staleMs: 60_000 });
    const waited: string[] = [];
    const late = other.run("publisher-csv-ds", async () => waited.push("ran"));
    await new Promise((r) => setTimeout(r, 100));
    expect(waited).toEqual([]);
    await held.release();
    await late;
    expect(waited).toEqual(["ran"]);
  });
});

describe("driver runtime: redaction", () => {
  it("masks every registered secret (plain, base64, inside a URL) in the errors it passes on", async () => {
    secretRedactor.add("pw-planted-7731");
    secretRedactor.add("svc-user-4410");
    const basic = Buffer.from("svc-user-4410:pw-planted-7731").toString("base64");
    const embedded = Buffer.from('{"k":"pw-planted-7731"}').toString("base64"); // the secret at an odd alignment
    const echoing: PublisherDriver = {
      driverName: "echo",
      capabilities: { maxRowsPerRequest: 10, supportsDelete: true },
      upsert: async () => {
        throw new ConfigError(
          `HTTP 401 {"echo":{"authorization":"Basic ${basic}","url":"https://svc-user-4410:pw-planted-7731@data.example.org/x","token":"pw-planted-7731","body":"${embedded}"}}`,
          { cause: new Error("inner pw-planted-7731") },
        );
      },
      delete: async () => 0,
    };
    const err = (await runtimeDriver("publisher", echoing).upsert("ds", [{ id: "1" }], "id").catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(ConfigError);
    const all = `${err.message}\n${err.stack}\n${(err.cause as Error).message}`;
    expect(all).not.toContain("pw-planted-7731");
    expect(all).not.toContain("svc-user-4410");
    expect(all).not.toContain(basic);
    expect(all).not.toContain(Buffer.from("pw-planted-7731").toString("base64").slice(2, -2));
    expect(err.message).toContain("https://***@data.example.org/x");
  });
});
