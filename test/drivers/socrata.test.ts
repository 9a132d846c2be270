/**
 * Socrata publisher: soda-js defects guarded, fault classification, retries and deadlines through the driver runtime,
 * and no duplicate rows after a failed run is rerun. Runs on the in-repo HTTPS fake (test/fakes/socrata-fake.ts).
 */
import { spawn, spawnSync } from "node:child_process";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import socrataDriver, { createSocrataPublisher, SOCRATA_ROWS_PER_UPSERT, type SocrataCredentials } from "../../src/drivers/publisher/socrata.js";
import { retryAfterMs } from "../../src/support/errors.js";
import { SocrataFake, generateSelfSigned } from "../fakes/socrata-fake.js";
import { describeService } from "../helpers/services.js";
import { runtimeDriver, testContext } from "../helpers/context.js";
import { Publisher } from "../../src/support/publisher.js";
import { withRetry, NO_RETRY, type RetryPolicy } from "../../src/support/resilience.js";
import { ConfigError, TerminalError, TransientError } from "../../src/support/errors.js";
import type { PublishRow } from "../../src/support/drivers.js";

const CRED: SocrataCredentials = { username: "lake", password: "pw-XYZZY-secret", appToken: "tok-123" };
const FAST: RetryPolicy = { retries: 3, minTimeoutMs: 5, maxTimeoutMs: 30 };
const rows = (n: number, prefix = "r"): PublishRow[] => Array.from({ length: n }, (_, i) => ({ row_id: `${prefix}${i}`, volume: i }));

describe("socrata publisher: configuration (no server)", () => {
  it("takes secrets from the context and refuses to start without them", async () => {
    const opts = socrataDriver.options.parse({ domain: "data.example.org" });
    expect(opts).toMatchObject({ rowsPerUpsert: SOCRATA_ROWS_PER_UPSERT });
    await expect(async () => socrataDriver.create(opts, testContext({}))).rejects.toThrow(ConfigError);
    await expect(async () => socrataDriver.create(opts, testContext({}))).rejects.toThrow(/SOCRATA_USERNAME/);
    const d = await socrataDriver.create(opts, testContext({ SOCRATA_USERNAME: "u", SOCRATA_PASSWORD: "p" }));
    expect(d.capabilities).toEqual({ maxRowsPerRequest: 10_000, supportsDelete: true });
  });

  it("validates the domain (host[:port], no scheme) and caps rowsPerUpsert at 10,000", () => {
    expect(socrataDriver.options.safeParse({ domain: "https://data.example.org" }).success).toBe(false);
    expect(socrataDriver.options.safeParse({ domain: "127.0.0.1:54443" }).success).toBe(true);
    expect(socrataDriver.options.safeParse({ domain: "d.org", rowsPerUpsert: 20_000 }).success).toBe(false);
  });

  it("refuses a dataset id that would change the URL path", async () => {
    const d = runtimeDriver("publisher", createSocrataPublisher({ domain: "127.0.0.1:1", rowsPerUpsert: 10 }, CRED), { timeoutMs: 1000, retry: NO_RETRY });
    await expect(d.upsert("../admin", rows(1), "row_id")).rejects.toThrow(ConfigError);
  });

  it("reads Retry-After as seconds or as an HTTP date", () => {
    expect(retryAfterMs("3")).toBe(3000);
    expect(retryAfterMs("Wed, 25 Nov 2026 10:00:10 GMT", Date.parse("2026-11-25T10:00:00Z"))).toBe(10_000);
    expect(retryAfterMs(undefined)).toBeUndefined();
  });

  it("soda-js defect 1 (reproduced in a child process): a closed port crashes raw soda-js with an uncaught TypeError", () => {
    const script = `const soda=require("soda-js");new soda.Producer("127.0.0.1:1",{}).operation().withDataset("abcd-1234").upsert([{a:1}]);`;
    const r = spawnSync(process.execPath, ["-e", script], { cwd: process.cwd(), encoding: "utf8", timeout: 20_000 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/TypeError: Cannot read properties of undefined \(reading 'ok'\)/);
  });

  it("guards defect 1: a closed port is a TransientError, never an uncaught exception", async () => {
    const fake = await SocrataFake.start();
    const port = fake.port;
    await fake.close();
    const d = runtimeDriver("publisher", createSocrataPublisher({ domain: `127.0.0.1:${port}`, rowsPerUpsert: 10 }, CRED), { timeoutMs: 5000, retry: NO_RETRY });
    const err = await d.upsert("abcd-1234", rows(2), "row_id").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
    expect((err as Error).message).not.toContain(CRED.password);
  });

  it("a TLS failure (certificate not trusted) is a TransientError naming the handshake", async () => {
    const fake = await SocrataFake.start(generateSelfSigned());
    try {
      const d = runtimeDriver("publisher", createSocrataPublisher({ domain: fake.domain, rowsPerUpsert: 10 }, CRED), { timeoutMs: 5000, retry: NO_RETRY });
      const err = await d.upsert("abcd-1234", rows(1), "row_id").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransientError);
      expect((err as Error).message).toMatch(/TLS handshake failed/);
      expect(fake.count("abcd-1234")).toBe(0);
    } finally {
      await fake.close();
    }
  });
});

describeService(["SOCRATA_FAKE_CERT", "SOCRATA_FAKE_KEY", "NODE_EXTRA_CA_CERTS"], "socrata publisher on the HTTPS fake: faults", () => {
  let fake: SocrataFake;
  const driver = (over: { timeoutMs?: number; rowsPerUpsert?: number; retry?: RetryPolicy } = {}, cred = CRED) =>
    runtimeDriver("publisher", createSocrataPublisher({ domain: fake.domain, rowsPerUpsert: over.rowsPerUpsert ?? 10_000 }, cred), {
      timeoutMs: over.timeoutMs ?? 10_000,
      retry: over.retry ?? NO_RETRY,
    });

  beforeAll(async () => {
    fake = await SocrataFake.start({ credentials: { username: CRED.username, password: CRED.password, appToken: CRED.appToken! } });
  });
  afterEach(() => fake.reset());
  afterAll(async () => {
    await fake.close();
  });

  it("sends the SODA upsert soda-js builds: POST /resource/{id} with basic auth and app token (values never recorded)", async () => {
    await driver().upsert("abcd-1234", rows(2), "row_id");
    const [req] = fake.requests;
    expect(req).toMatchObject({ method: "POST", path: "/resource/abcd-1234", rows: 2, status: 200 });
    expect(req!.headers.authorization).toBe("<masked>");
    expect(req!.headers["x-app-token"]).toBe("<masked>");
    expect(req!.headers["content-type"]).toMatch(/^application\/json/); // soda-js's request, sent by superagent 10 (package.json overrides)
  });

  it("delete is an upsert of {row id, ':deleted': true} rows", async () => {
    const d = driver();
    await d.upsert("abcd-1234", rows(3), "row_id");
    expect(await d.delete("abcd-1234", ["r0", "r2"], "row_id")).toBe(2);
    expect(fake.rows("abcd-1234")).toEqual([{ row_id: "r1", volume: 1 }]);
    expect(fake.requests.at(-1)).toMatchObject({ method: "POST", rows: 2 });
  });

  it("countRows asks for a count, not the rows", async () => {
    const d = driver();
    await d.upsert("abcd-1234", rows(5), "row_id");
    expect(await d.countRows!("abcd-1234")).toBe(5);
    expect(fake.requests.at(-1)).toMatchObject({ method: "GET", path: "/resource/abcd-1234.json", query: { $select: "count(*) as count" } });
  });

  it(
    "guards defect 2: 202 Accepted is accepted, and nothing crashes 5 s later",
    async () => {
      const uncaught: unknown[] = [];
      const listener = (e: unknown) => uncaught.push(e);
      process.on("uncaughtException", listener);
      try {
        fake.acceptNext(1);
        await expect(driver().upsert("abcd-1234", rows(2), "row_id")).resolves.toEqual({ created: 0, updated: 0 });
        await new Promise((r) => setTimeout(r, 5_600)); // soda-js's own handler would re-request (and crash) after 5 s
        expect(uncaught).toEqual([]);
        expect(fake.requests.length).toBe(1);
        expect(fake.count("abcd-1234")).toBe(2);
      } finally {
        process.off("uncaughtException", listener);
      }
    },
    15_000,
  );

  it(
    "soda-js defect 2 (reproduced in a child process): raw soda-js crashes about 5 s after a 202",
    async () => {
      fake.acceptNext(1);
      const script = `const soda=require("soda-js");const e=new soda.Producer(${JSON.stringify(fake.domain)},{username:"lake",password:${JSON.stringify(CRED.password)}}).operation().withDataset("abcd-1234").upsert([{row_id:"a"}]);e.on("progress",()=>console.log("progress"));`;
      const child = spawn(process.execPath, ["-e", script], { cwd: process.cwd(), env: process.env });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
      expect(stdout).toContain("progress");
      expect(code).not.toBe(0);
      expect(stderr).toMatch(/TypeError: Cannot read properties of undefined \(reading 'networker'\)/);
    },
    20_000,
  );

  it("guards defect 3: concurrent operations get their own results; one dataset sees one request at a time", async () => {
    const d = driver({ rowsPerUpsert: 2 });
    await d.upsert("aaaa-0001", rows(1), "row_id");
    fake.setDelay(40);
    const [a, b, c] = await Promise.all([
      d.upsert("aaaa-0001", rows(4), "row_id"), // 1 update + 3 creates, two requests
      d.upsert("bbbb-0002", rows(3), "row_id"),
      d.upsert("aaaa-0001", rows(2, "x"), "row_id"),
    ]);
    expect(a).toEqual({ created: 3, updated: 1 });
    expect(b).toEqual({ created: 3, updated: 0 });
    expect(c).toEqual({ created: 2, updated: 0 });
    expect(fake.maxInFlight("aaaa-0001")).toBe(1);
    expect(fake.count("aaaa-0001")).toBe(6);
  });

  it("a stalled request fails with a TransientError after timeoutMs", async () => {
    fake.stallNext(1);
    const err = await driver({ timeoutMs: 300 }).upsert("abcd-1234", rows(1), "row_id").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).toMatch(/no answer within 300 ms/);
  });

  it("429 is a TransientError carrying Retry-After; withRetry waits and succeeds", async () => {
    fake.throttleNext(1, 2);
    const seen: unknown[] = [];
    const d = driver();
    const result = await withRetry("publish", () => d.upsert("abcd-1234", rows(3), "row_id"), FAST, ({ error }) => seen.push(error));
    expect(result).toEqual({ created: 3, updated: 0 });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(TransientError);
    expect((seen[0] as TransientError).retryAfterMs).toBe(2000);
    expect(fake.requests.map((r) => r.status)).toEqual([429, 200]);
  });

  it("a 5xx mid-run is retried by the Publisher and every row lands once", async () => {
    fake.failNext(503, 1, undefined, { after: 1 });
    const pub = new Publisher(driver({ rowsPerUpsert: 3, retry: FAST }), "abcd-1234", "row_id");
    for (const r of rows(10)) await pub.addRow(r);
    await pub.flush();
    expect(fake.requests.map((r) => r.status)).toEqual([200, 503, 200, 200, 200]);
    expect(fake.count("abcd-1234")).toBe(10);
  });

  it("413 is a TerminalError telling to lower rowsPerUpsert, not retried", async () => {
    fake.rejectTooLargeNext(1);
    const d = driver({ rowsPerUpsert: 500 });
    const err = await withRetry("publish", () => d.upsert("abcd-1234", rows(3), "row_id"), FAST).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TerminalError);
    expect((err as Error).message).toMatch(/lower the publisher's rowsPerUpsert \(now 500\)/);
    expect(fake.requests).toHaveLength(1);
  });

  it("wrong credentials are a ConfigError, not retried, and nothing is written", async () => {
    const d = driver({}, { ...CRED, password: "wrong" });
    const err = await withRetry("publish", () => d.upsert("abcd-1234", rows(3), "row_id"), FAST).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/SOCRATA_PASSWORD/);
    expect((err as Error).message).not.toContain("wrong");
    expect(fake.requests).toHaveLength(1);
    expect(fake.count("abcd-1234")).toBe(0);
    const badToken = driver({}, { ...CRED, appToken: "nope" });
    await expect(badToken.upsert("abcd-1234", rows(1), "row_id")).rejects.toThrow(ConfigError);
  });

  it("a rerun after a mid-run failure leaves no duplicate rows", async () => {
    fake.failNext(500, 100, undefined, { after: 2 });
    const d = driver({ rowsPerUpsert: 4 });
    const first = new Publisher(d, "abcd-1234", "row_id", { retry: FAST });
    const data = rows(10);
    await expect(
      (async () => {
        for (const r of data) await first.addRow(r);
        await first.flush();
      })(),
    ).rejects.toThrow(TransientError);
    expect(fake.count("abcd-1234")).toBe(8);
    fake.clearFaults();
    const rerun = new Publisher(d, "abcd-1234", "row_id", { retry: NO_RETRY });
    for (const r of data) await rerun.addRow(r);
    await rerun.flush();
    expect(fake.count("abcd-1234")).toBe(10);
    expect(new Set(fake.rows("abcd-1234").map((r) => r.row_id)).size).toBe(10);
    expect(await d.countRows!("abcd-1234")).toBe(10);
  });
});
