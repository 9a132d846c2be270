/**
 * BullMQ on Redis: jobs outlive the process and reach worker processes on any machine that reaches the Redis.
 * Job ids make adds idempotent; a retry verdict is BullMQ's exponential backoff over `attempts`; a fail verdict an
 * UnrecoverableError (to the failed set, the dead letters, kept); busy moves the job back to delayed without using an
 * attempt. ioredis reconnects by itself, so the driver runtime adds no retries: every call (and a consumer's start)
 * has the runtime's deadline, and an unreachable Redis fails it within that time instead of waiting forever.
 */
import type { Job, Queue, Worker } from "bullmq";
import { defineDriver } from "../define.js";
import { bullmqOptions, type BullmqOptions } from "../options.js";
import { bodyText, ConfigError, TransientError } from "../../support/errors.js";
import type { CallOptions, DeadLetter, JobHandler, QueueConsumer, QueueDriver, QueueJob } from "../../support/drivers.js";

type Settings = BullmqOptions & { url: string };

/** host:port of a Redis URL, without credentials (for messages). */
export function redisWhere(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || 6379}`;
  } catch {
    return "the configured Redis";
  }
}

/** Rejects when signal aborts (the deadline), after running cleanup; else the call's own result. */
async function bounded<T>(work: Promise<T>, signal: AbortSignal | undefined, cleanup?: () => void): Promise<T> {
  if (!signal) return work;
  signal.throwIfAborted();
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      cleanup?.();
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

export class BullmqQueue implements QueueDriver {
  readonly driverName = "bullmq";
  readonly capabilities = { shared: true };
  readonly queueName: string;
  readonly where: string;
  readonly #s: Settings;
  readonly #where: string;
  #queue: Promise<Queue> | undefined;
  readonly #workers = new Set<Worker>();

  constructor(s: Settings) {
    this.#s = s;
    this.queueName = s.queueName;
    this.#where = redisWhere(s.url);
    this.where = `queue ${s.queueName} at Redis ${this.#where}`;
  }

  #connection() {
    // maxRetriesPerRequest null: a command waits for a reconnect rather than failing (BullMQ workers require it);
    // the runtime's deadline bounds the wait. The URL's credentials never appear in a message.
    return { url: this.#s.url, maxRetriesPerRequest: null, connectionName: `lake:${process.pid}` };
  }

  #open(): Promise<Queue> {
    this.#queue ??= import("bullmq").then(({ Queue }) => {
      const q = new Queue(this.#s.queueName, { connection: this.#connection(), prefix: this.#s.prefix });
      // An unreachable Redis surfaces as the failing call's deadline (ioredis keeps reconnecting); a server that
      // answers the connection's set-up (HELLO/AUTH) with an error refuses the login: the calls waiting fail at once.
      q.on("error", (err: Error) => {
        if (err?.name !== "ReplyError") return;
        for (const refuse of this.#waiting) refuse(err);
      });
      return q;
    });
    return this.#queue;
  }

  readonly #waiting = new Set<(err: Error) => void>();

  /** The call's work, or the login refusal the connection hears while it waits. */
  async #unlessRefused<T>(work: Promise<T>): Promise<T> {
    let refuse!: (err: Error) => void;
    const refused = new Promise<never>((_, reject) => (refuse = reject));
    this.#waiting.add(refuse);
    try {
      return await Promise.race([work, refused]);
    } finally {
      this.#waiting.delete(refuse);
    }
  }

  /** What a call says when it fails: which queue on which Redis, and what to check. */
  #fail(op: string, err: unknown): Error {
    if (err instanceof TransientError || err instanceof ConfigError) return err;
    const msg = err instanceof Error ? err.message : String(err);
    if (/NOAUTH|WRONGPASS|invalid password|invalid username|\bAUTH\b/i.test(msg)) {
      return new ConfigError(`bullmq: Redis at ${this.#where} refused the login for ${op} (${bodyText(msg)}): check the user and password in the queue URL or REDIS_URL`, { cause: err });
    }
    return new TransientError(`bullmq: ${op} on queue ${this.queueName} at ${this.#where} failed (${msg})`, { cause: err });
  }

  async #call<T>(op: string, opts: CallOptions | undefined, fn: (q: Queue) => Promise<T>): Promise<T> {
    try {
      const q = await this.#open();
      return await bounded(this.#unlessRefused(fn(q)), opts?.signal);
    } catch (err) {
      throw this.#fail(op, err);
    }
  }

  add(jobs: QueueJob[], opts?: CallOptions): Promise<void> {
    const s = this.#s;
    return this.#call("add", opts, async (q) => {
      await q.addBulk(
        jobs.map((j) => ({
          name: j.name,
          data: j.data,
          opts: {
            jobId: j.id,
            attempts: s.attempts,
            backoff: { type: "exponential" as const, delay: s.backoffMs },
            removeOnComplete: { count: s.keepCompleted },
            removeOnFail: false,
          },
        })),
      );
    });
  }

  pending(opts?: CallOptions): Promise<number> {
    return this.#call("count jobs", opts, async (q) => {
      const c = await q.getJobCounts("waiting", "active", "delayed", "prioritized", "waiting-children");
      return Object.values(c).reduce((a, b) => a + b, 0);
    });
  }

  deadLetters(opts?: CallOptions): Promise<DeadLetter[]> {
    return this.#call("list failed jobs", opts, async (q) =>
      (await q.getFailed(0, -1)).map((j) => ({
        id: String(j.id),
        name: j.name,
        data: j.data as unknown,
        attempts: j.attemptsMade,
        reason: j.failedReason,
        failedAt: j.finishedOn ?? null,
      })),
    );
  }

  retryDeadLetters(opts?: CallOptions): Promise<number> {
    return this.#call("retry failed jobs", opts, async (q) => {
      const failed = await q.getFailed(0, -1);
      for (const j of failed) await j.retry("failed");
      return failed.length;
    });
  }

  async consume(handler: JobHandler, o: { concurrency: number; onError?: (err: Error) => void }, opts?: CallOptions): Promise<QueueConsumer> {
    const { Worker, UnrecoverableError, DelayedError } = await import("bullmq");
    const s = this.#s;
    const processor = async (job: Job, token?: string): Promise<{ verdict: string }> => {
      const v = await handler({ id: String(job.id), name: job.name, data: job.data as unknown, attempt: job.attemptsMade + 1 });
      if (v.verdict === "done") return v;
      if (v.verdict === "busy") {
        await job.moveToDelayed(Date.now() + s.busyDelayMs, token);
        throw new DelayedError(v.reason);
      }
      if (v.verdict === "fail") throw new UnrecoverableError(v.reason);
      throw new Error(v.reason);
    };
    const worker = new Worker(s.queueName, processor, {
      connection: this.#connection(),
      prefix: s.prefix,
      concurrency: o.concurrency,
      lockDuration: s.lockMs,
      stalledInterval: s.stalledIntervalMs,
      maxStalledCount: 3,
    });
    worker.on("error", (err) => o.onError?.(err));
    this.#workers.add(worker);
    const forget = async () => {
      this.#workers.delete(worker);
      await worker.close(true).catch(() => undefined);
    };
    try {
      await bounded(worker.waitUntilReady(), opts?.signal, () => void forget());
    } catch (err) {
      await forget();
      throw this.#fail("start a worker", err);
    }
    return {
      close: async () => {
        await worker.close();
        this.#workers.delete(worker);
      },
    };
  }

  async close(): Promise<void> {
    for (const w of this.#workers) await w.close(true).catch(() => undefined);
    this.#workers.clear();
    const made = this.#queue;
    this.#queue = undefined;
    // A connection that never got through is dropped by close() at once.
    await (await made?.catch(() => undefined))?.close().catch(() => undefined);
  }
}

export default defineDriver({
  options: bullmqOptions,
  create: (o, ctx) => {
    const url = o.url ?? ctx.secrets.get("REDIS_URL");
    if (!url) throw new ConfigError("queue (bullmq): no Redis: set queue.options.url or the environment variable REDIS_URL");
    return new BullmqQueue({ ...o, url });
  },
});
