/**
 * The in-process job queue: jobs live in this process's memory and end with it (tests, embedding, one-process
 * runs). Same semantics as the BullMQ queue: ids are added once, a retried job waits backoffMs × 2^(attempt-1), a busy
 * job waits busyDelayMs without using an attempt, failed jobs stay as dead letters.
 */
import { defineDriver } from "../define.js";
import { inprocessQueueOptions } from "../options.js";
import type { DeadLetter, JobHandler, QueueConsumer, QueueDriver, QueueJob } from "../../support/drivers.js";
import type * as z from "zod/mini";

type State = "waiting" | "active" | "completed" | "failed";

interface Entry {
  job: QueueJob;
  state: State;
  attemptsMade: number;
  runAt: number;
  reason: string;
  failedAt: number | null;
}

export function createInprocessQueue(o: z.infer<typeof inprocessQueueOptions>, queueName = "inprocess"): QueueDriver {
  const entries = new Map<string, Entry>();
  const wakers = new Set<() => void>();
  const wake = () => {
    for (const w of wakers) w();
  };
  let completed: string[] = [];

  const complete = (e: Entry) => {
    e.state = "completed";
    completed.push(e.job.id);
    if (completed.length > o.keepCompleted) {
      for (const id of completed.slice(0, completed.length - o.keepCompleted)) entries.delete(id);
      completed = completed.slice(-o.keepCompleted);
    }
  };

  return {
    driverName: "inprocess",
    queueName,
    capabilities: { shared: false },
    async add(jobs) {
      for (const job of jobs) {
        if (!entries.has(job.id)) entries.set(job.id, { job, state: "waiting", attemptsMade: 0, runAt: 0, reason: "", failedAt: null });
      }
      wake();
    },
    async pending() {
      let n = 0;
      for (const e of entries.values()) if (e.state === "waiting" || e.state === "active") n++;
      return n;
    },
    async deadLetters(): Promise<DeadLetter[]> {
      return [...entries.values()]
        .filter((e) => e.state === "failed")
        .map((e) => ({ ...e.job, attempts: e.attemptsMade, reason: e.reason, failedAt: e.failedAt }));
    },
    async retryDeadLetters() {
      let n = 0;
      for (const e of entries.values()) {
        if (e.state !== "failed") continue;
        Object.assign(e, { state: "waiting", attemptsMade: 0, runAt: 0, reason: "", failedAt: null });
        n++;
      }
      wake();
      return n;
    },
    async consume(handler: JobHandler, c): Promise<QueueConsumer> {
      let closing = false;
      const running = new Set<Promise<void>>();
      let timer: NodeJS.Timeout | undefined;
      const runOne = async (e: Entry) => {
        e.state = "active";
        const attempt = e.attemptsMade + 1;
        let v;
        try {
          v = await handler({ ...e.job, attempt });
        } catch (err) {
          v = { verdict: "retry" as const, reason: err instanceof Error ? err.message : String(err) };
        }
        if (v.verdict === "done") return complete(e);
        if (v.verdict === "busy") {
          Object.assign(e, { state: "waiting", runAt: Date.now() + o.busyDelayMs });
          return;
        }
        e.attemptsMade = attempt;
        e.reason = v.reason;
        if (v.verdict === "retry" && attempt < o.attempts) {
          Object.assign(e, { state: "waiting", runAt: Date.now() + o.backoffMs * 2 ** (attempt - 1) });
        } else {
          Object.assign(e, { state: "failed", failedAt: Date.now() });
        }
      };
      const pump = () => {
        if (closing) return;
        clearTimeout(timer);
        const now = Date.now();
        let next = Number.POSITIVE_INFINITY;
        for (const e of entries.values()) {
          if (running.size >= c.concurrency) break;
          if (e.state !== "waiting") continue;
          if (e.runAt > now) {
            next = Math.min(next, e.runAt);
            continue;
          }
          const p = runOne(e).finally(() => {
            running.delete(p);
            pump();
          });
          running.add(p);
        }
        if (Number.isFinite(next)) timer = setTimeout(pump, Math.max(1, next - now));
      };
      wakers.add(pump);
      queueMicrotask(pump);
      return {
        async close() {
          closing = true;
          wakers.delete(pump);
          clearTimeout(timer);
          while (running.size) await Promise.allSettled([...running]);
        },
      };
    },
  };
}

export default defineDriver({
  options: inprocessQueueOptions,
  create: (o) => createInprocessQueue(o),
});
