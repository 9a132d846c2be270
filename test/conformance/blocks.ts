/**
 * The block store conformance suite: every BlockStore driver (SQLite file, memory, PostgreSQL) runs it through the
 * driver runtime, as backfills, workers and window leases get it. Each suite uses keys of its own source, so it can
 * run against a shared, persistent database.
 */
import { spawnSync } from "node:child_process";
import { hostname } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { takeLease, type BlockStore } from "../../src/support/block-store.js";
import { runtimeDriver } from "../helpers/context.js";

/** The pid of a process that ran and ended (a killed run's owner text names it). */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout.trim());
}

export function blockStoreConformance(name: string, open: () => Promise<BlockStore> | BlockStore): void {
  const source = `tt${Math.random().toString(36).slice(2, 8)}`;
  const key = { source, stage: "tt-make", day: "2024-11-03" };
  const counts = { processed: 2, skipped: 1, failed: 0, records: 7 };

  describe(`block store conformance: ${name}`, () => {
    let store: BlockStore;
    beforeAll(async () => {
      store = runtimeDriver("blocks", await open());
    });
    afterAll(async () => {
      await store?.close();
    });

    it("records a block's life: pending, running (attempts), finished with counts and message", async () => {
      expect(await store.get(key)).toBeUndefined();
      await store.markPending(key, 1000, "queued");
      expect((await store.get(key))!.status).toBe("pending");
      await store.markRunning(key, "a", 2000);
      let b = (await store.get(key))!;
      expect([b.status, b.attempts, b.owner, b.startedAt, b.finishedAt, b.message]).toEqual(["leased", 1, "a", 2000, null, null]);
      await store.markPending(key, 2500); // a running block is not reset by a new enqueue
      expect((await store.get(key))!.status).toBe("leased");
      await store.markFinished(key, { status: "failed", message: "boom", counts }, 3000);
      b = (await store.get(key))!;
      expect([b.status, b.message, b.processed, b.skipped, b.records, b.finishedAt]).toEqual(["failed", "boom", 2, 1, 7, 3000]);
      await store.markRunning(key, "b", 4000);
      b = (await store.get(key))!;
      expect([b.status, b.message, b.processed, b.records]).toEqual(["leased", null, 0, 0]); // a new start clears the last outcome
      await store.markFinished(key, { status: "succeeded", message: null, counts }, 5000);
      b = (await store.get(key))!;
      expect([b.status, b.attempts, b.owner, b.message, b.updatedAt]).toEqual(["succeeded", 2, "b", null, 5000]);
    });

    it("lists blocks by source, stage and day range (end exclusive), ordered by day then stage", async () => {
      for (const day of ["2024-11-01", "2024-11-02", "2024-11-04"]) await store.markPending({ ...key, day }, 1);
      await store.markPending({ ...key, stage: "tt-copy", day: "2024-11-02" }, 1);
      await store.markPending({ ...key, source: `${source}x` }, 1);
      const all = await store.list({ source, from: "2024-11-02", to: "2024-11-04" });
      expect(all.map((b) => `${b.stage} ${b.day}`)).toEqual(["tt-copy 2024-11-02", "tt-make 2024-11-02", "tt-make 2024-11-03"]);
      expect((await store.list({ source, stage: "tt-copy" })).length).toBe(1);
      expect((await store.list({ source })).map((b) => b.day)).toEqual(["2024-11-01", "2024-11-02", "2024-11-02", "2024-11-03", "2024-11-04"]);
    });

    it("keeps record errors, the payload pointer and the error payload; hourly partition keys with an entity", async () => {
      const k = { ...key, day: "2024-11-03T01:00-06:00#lime" };
      const errorPayload = JSON.stringify([{ file: "raw/x.json", line: 3, reason: "missing trip_id" }]);
      await store.markFinished(k, { status: "succeeded-with-errors", message: "1 record refused", counts: { ...counts, errors: 1 }, payload: "2024/11/03/mds/x.json", errorPayload }, 10);
      let b = (await store.get(k))!;
      expect([b.status, b.errors, b.payload, b.errorPayload]).toEqual(["succeeded-with-errors", 1, "2024/11/03/mds/x.json", errorPayload]);
      await store.markRunning(k, "a", 20);
      b = (await store.get(k))!;
      expect([b.status, b.errors, b.errorPayload]).toEqual(["leased", 0, null]);
      await store.markFinished({ ...k, day: "2024-11-03T01:00-05:00#lime" }, { status: "skipped", message: null, counts }, 30);
      const hours = await store.list({ source, from: "2024-11-03", to: "2024-11-04" });
      expect(hours.filter((h) => h.day.includes("#")).map((h) => h.day)).toEqual(["2024-11-03T01:00-05:00#lime", "2024-11-03T01:00-06:00#lime"]);
    });

    it("keeps a long message and text with quotes as given", async () => {
      const k = { ...key, day: "2024-11-05" };
      const message = `it's "quoted"; DROP TABLE x; -- ${"é".repeat(1500)}`;
      await store.markFinished(k, { status: "failed", message, counts }, 10);
      expect((await store.get(k))!.message).toBe(message);
    });

    it("leases: one holder at a time, renewals, release, takeover after expiry", async () => {
      const k = { ...key, day: "2024-12-01" };
      expect(await store.acquireLease(k, "w1", 1000, 500)).toEqual({ acquired: true });
      const refused = await store.acquireLease(k, "w2", 1200, 500);
      expect(refused.acquired).toBe(false);
      expect(refused.acquired === false && [refused.holder?.owner, refused.holder?.expiresAt]).toEqual(["w1", 1500]);
      expect(await store.acquireLease(k, "w1", 1300, 500)).toEqual({ acquired: true }); // re-entrant for its owner
      expect(await store.renewLease(k, "w1", 1400, 500)).toBe(true); // now expires at 1900
      expect((await store.acquireLease(k, "w2", 1800, 500)).acquired).toBe(false);
      expect((await store.acquireLease(k, "w2", 1900, 500)).acquired).toBe(true); // expired: taken over
      expect(await store.renewLease(k, "w1", 1950, 500)).toBe(false); // w1 lost it
      await store.releaseLease(k, "w1"); // not w1's any more: no effect
      expect((await store.leases({ source })).map((l) => l.owner)).toEqual(["w2"]);
      await store.releaseLease(k, "w2");
      expect(await store.leases({ source })).toEqual([]);
      expect((await store.acquireLease(k, "w3", 1960, 500)).acquired).toBe(true);
      await store.releaseLease(k, "w3");
    });

    it("takes a lease over from a named owner only (takeOver), never from another", async () => {
      const k = { ...key, day: "2024-12-03" };
      expect((await store.acquireLease(k, "crashed", 1000, 60_000)).acquired).toBe(true);
      expect((await store.acquireLease(k, "me", 2000, 60_000, { takeOver: "someone-else" })).acquired).toBe(false);
      expect((await store.acquireLease(k, "me", 2000, 60_000, { takeOver: "crashed" })).acquired).toBe(true);
      expect((await store.leases({ source })).filter((l) => l.day === k.day).map((l) => [l.owner, l.expiresAt])).toEqual([["me", 62_000]]);
      await store.releaseLease(k, "me");
    });

    it("takeLease: a lease of a dead process of this host is taken at once; a live or remote holder is not", async () => {
      const k = { ...key, day: "2024-12-04" };
      const now = Date.now();
      const dead = `${hostname()}:${deadPid()}:run:abc123`;
      expect((await store.acquireLease(k, dead, now, 600_000)).acquired).toBe(true);
      expect(await takeLease(store, k, "me", now + 1, 60_000)).toEqual({ acquired: true });
      await store.releaseLease(k, "me");
      const live = `${hostname()}:${process.pid}:run:def456`;
      const remote = `elsewhere.example:${deadPid()}:run:789abc`;
      for (const holder of [live, remote]) {
        expect((await store.acquireLease(k, holder, now, 600_000)).acquired).toBe(true);
        const got = await takeLease(store, k, "me", now + 1, 60_000);
        expect(got.acquired === false && got.holder?.owner).toBe(holder);
        await store.releaseLease(k, holder);
      }
    });

    it("grants a contested lease to exactly one of many concurrent callers", async () => {
      const k = { ...key, day: "2024-12-02" };
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.acquireLease(k, `w${i}`, 10_000, 60_000)));
      expect(results.filter((r) => r.acquired).length).toBe(1);
      const winner = (await store.leases({ source })).find((l) => l.day === k.day)!.owner;
      await store.releaseLease(k, winner);
    });
  });
}
