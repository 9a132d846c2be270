/**
 * Every job queue driver through the conformance suite (in process; BullMQ on Redis when REDIS_URL is set), and the
 * BullMQ driver against a Redis that is not there: every call fails within the runtime's deadline, with a message
 * naming the queue and the address (never the password), and nothing is left running.
 */
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import inprocess from "../../src/drivers/queue/inprocess.js";
import bullmq from "../../src/drivers/queue/bullmq.js";
import type { QueueDriver } from "../../src/support/drivers.js";
import { TransientError } from "../../src/support/errors.js";
import { QUEUE_SUITE_POLICY, queueConformance } from "../conformance/queue.js";
import { runtimeDriver, testContext } from "../helpers/context.js";
import { describeService, serviceEnv } from "../helpers/services.js";

queueConformance("inprocess", () => inprocess.create(inprocess.options.parse(QUEUE_SUITE_POLICY), testContext()));

const bull = (url: string, queueName: string) =>
  bullmq.create(bullmq.options.parse({ url, queueName, ...QUEUE_SUITE_POLICY, lockMs: 1_000, stalledIntervalMs: 1_000 }), testContext()) as QueueDriver;

describeService(["REDIS_URL"], "bullmq queue", () => {
  queueConformance("bullmq", (name) => bull(serviceEnv("REDIS_URL")!, name), async (q) => {
    const { Queue } = await import("bullmq");
    const raw = new Queue(q.queueName, { connection: { url: serviceEnv("REDIS_URL")!, maxRetriesPerRequest: null } });
    await raw.obliterate({ force: true });
    await raw.close();
  });
});

describe("bullmq queue without a Redis", () => {
  /** A TCP server that accepts connections and never answers (a Redis behind a dead link). */
  let silent: net.Server;
  const sockets = new Set<net.Socket>();
  let silentUrl = "";
  beforeAll(async () => {
    silent = net.createServer((s) => {
      sockets.add(s);
      s.on("error", () => undefined);
    });
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    silentUrl = `redis://lake:s3cr3t-pw@127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  });

  const unreachable = () => [
    ["a closed port", "redis://lake:s3cr3t-pw@127.0.0.1:1"],
    ["a server that never answers", silentUrl],
  ];

  for (const which of ["a closed port", "a server that never answers"]) {
    it(`${which}: add, pending, dead letters and a consumer's start each fail within the deadline`, async () => {
      const url = unreachable().find(([w]) => w === which)![1]!;
      const q = runtimeDriver("queue", bull(url, "lake-unreachable"), { timeoutMs: 500, retry: { retries: 0, minTimeoutMs: 0, maxTimeoutMs: 0 } });
      const calls: [string, () => Promise<unknown>][] = [
        ["add", () => q.add([{ id: "a", name: "x", data: {} }])],
        ["pending", () => q.pending()],
        ["deadLetters", () => q.deadLetters()],
        ["consume", () => q.consume(async () => ({ verdict: "done" }), { concurrency: 1 })],
      ];
      for (const [op, call] of calls) {
        const err = await call().catch((e: unknown) => e);
        expect(err, op).toBeInstanceOf(TransientError);
        expect((err as Error).message, op).toMatch(new RegExp(`bullmq queue ${op}.*no answer within 500 ms`));
        expect((err as Error).message).not.toContain("s3cr3t-pw");
      }
      await q.close?.();
    });
  }
});
