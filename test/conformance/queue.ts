/**
 * The job queue conformance suite: every QueueDriver (in process; BullMQ on Redis) runs it through the driver
 * runtime, as `lake enqueue` and `lake worker` get it. make(name) opens a queue of its own per test.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { JobVerdict, QueueDriver, QueueJob } from "../../src/support/drivers.js";
import { runtimeDriver } from "../helpers/context.js";

/** Every queue of the suite is made with these job settings (short delays, 3 attempts). */
export const QUEUE_SUITE_POLICY = { attempts: 3, backoffMs: 20, busyDelayMs: 30, keepCompleted: 1000 };

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function queueConformance(name: string, make: (queueName: string) => Promise<QueueDriver> | QueueDriver, cleanup?: (q: QueueDriver) => Promise<void>): void {
  const made: QueueDriver[] = [];
  let n = 0;
  const open = async () => {
    const q = runtimeDriver("queue", await make(`lake-conf-${process.pid}-${Date.now().toString(36)}-${++n}`));
    made.push(q);
    return q;
  };
  const job = (id: string, data: unknown = { id }): QueueJob => ({ id, name: "block", data });

  describe(`queue conformance: ${name}`, () => {
    afterAll(async () => {
      for (const q of made) {
        await cleanup?.(q).catch(() => undefined);
        await q.close?.();
      }
    });

    it("runs each job once with its data; an id already queued is not added again", async () => {
      const q = await open();
      await q.add([job("a", { day: "2024-11-01", next: ["x"] }), job("b"), job("c")]);
      await q.add([job("a", { day: "other" })]);
      expect(await q.pending()).toBe(3);
      const seen: unknown[] = [];
      const c = await q.consume(async (j) => {
        seen.push([j.id, j.data, j.attempt]);
        return { verdict: "done" };
      }, { concurrency: 2 });
      await until(async () => (await q.pending()) === 0 && seen.length === 3, "3 jobs");
      await c.close();
      expect(seen.sort()).toEqual([
        ["a", { day: "2024-11-01", next: ["x"] }, 1],
        ["b", { id: "b" }, 1],
        ["c", { id: "c" }, 1],
      ]);
      await q.add([job("a")]); // completed jobs keep their id
      expect(await q.pending()).toBe(0);
      expect(await q.deadLetters()).toEqual([]);
    });

    it("retry: tried again with the next attempt number; after the last attempt a dead letter with the reason", async () => {
      const q = await open();
      const attempts: Record<string, number[]> = { once: [], always: [] };
      await q.add([job("once"), job("always")]);
      const c = await q.consume(async (j): Promise<JobVerdict> => {
        attempts[j.id]!.push(j.attempt);
        if (j.id === "once" && j.attempt === 1) return { verdict: "retry", reason: "flaky" };
        if (j.id === "always") return { verdict: "retry", reason: `still down (try ${j.attempt})` };
        return { verdict: "done" };
      }, { concurrency: 1 });
      await until(async () => (await q.pending()) === 0, "both jobs to settle");
      await c.close();
      expect(attempts).toEqual({ once: [1, 2], always: [1, 2, 3] });
      const dead = await q.deadLetters();
      expect(dead.map((d) => [d.id, d.attempts, d.reason, d.data])).toEqual([["always", 3, "still down (try 3)", { id: "always" }]]);
      expect(typeof dead[0]!.failedAt).toBe("number");
    });

    it("fail: a dead letter at once; retryDeadLetters puts it back and it runs again", async () => {
      const q = await open();
      await q.add([job("bad")]);
      let fixed = false;
      const runs: number[] = [];
      const c = await q.consume(async (j): Promise<JobVerdict> => {
        runs.push(j.attempt);
        return fixed ? { verdict: "done" } : { verdict: "fail", reason: "bad input" };
      }, { concurrency: 1 });
      await until(async () => (await q.deadLetters()).length === 1, "the dead letter");
      expect((await q.deadLetters()).map((d) => [d.id, d.attempts, d.reason])).toEqual([["bad", 1, "bad input"]]);
      fixed = true;
      expect(await q.retryDeadLetters()).toBe(1);
      await until(async () => (await q.pending()) === 0 && runs.length === 2, "the retried job");
      await c.close();
      expect(await q.deadLetters()).toEqual([]);
      expect(runs[0]).toBe(1);
    });

    it("busy: the job comes back later without using an attempt", async () => {
      const q = await open();
      await q.add([job("held")]);
      const runs: number[] = [];
      const c = await q.consume(async (j): Promise<JobVerdict> => {
        runs.push(j.attempt);
        return runs.length < 4 ? { verdict: "busy", reason: "leased elsewhere" } : { verdict: "done" };
      }, { concurrency: 1 });
      await until(async () => (await q.pending()) === 0 && runs.length === 4, "four turns");
      await c.close();
      expect(runs).toEqual([1, 1, 1, 1]); // attempts = 3: busy turns would have used them up
      expect(await q.deadLetters()).toEqual([]);
    });

    it("runs at most `concurrency` jobs at once; close() waits for the running ones and takes no new job", async () => {
      const q = await open();
      await q.add(Array.from({ length: 8 }, (_, i) => job(`j${i}`)));
      let active = 0;
      let peak = 0;
      let done = 0;
      const c = await q.consume(async () => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 30));
        active--;
        done++;
        return { verdict: "done" };
      }, { concurrency: 3 });
      await until(() => done >= 2, "two jobs");
      await c.close();
      const at = done;
      expect(active).toBe(0);
      await new Promise((r) => setTimeout(r, 150));
      expect(done).toBe(at); // nothing ran after close
      expect(peak).toBeLessThanOrEqual(3);
      expect(peak).toBeGreaterThan(1);
      expect(await q.pending()).toBe(8 - at);
    });
  });
}
