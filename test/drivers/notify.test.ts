/**
 * The `webhook` notifier: `lake run` and `lake pipeline` POST the run's notice (JSON) to a real HTTP server at the end
 * of a run, with the token header from the secrets file; on failure only by default, or always; never for
 * simulations unless asked; retried by the driver runtime on 5xx; a target that stays down is a warning that leaves
 * the exit code alone; options checked when the configuration is loaded.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runStageAction } from "../../src/cli/run.js";
import { pipelineAction } from "../../src/cli/pipeline.js";
import { loadConfig } from "../../src/config/load.js";
import type { RunNotice } from "../../src/support/notify.js";
import { LakeRuntime } from "../../src/support/runtime.js";
import { tempHome, useLakes } from "../ops/helpers.js";

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  notice: RunNotice;
}

let server: http.Server;
let url: string;
const received: Received[] = [];
/** Statuses to answer before the 200s (a target that fails for a while). */
let failFirst: number[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString("utf8")));
    req.on("end", () => {
      received.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, notice: JSON.parse(body) as RunNotice });
      const status = failFirst.shift() ?? 200;
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ ok: status === 200 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/lake`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  received.length = 0;
  failFirst = [];
});

const { lake } = useLakes();
const TOKEN = "hook-token-5c1e93aa";
const WINDOW = ["-s", "2024-11-01", "-e", "2024-11-03"];

function notifyLake(options: Record<string, unknown> = {}, tt: Record<string, unknown> = {}) {
  const home = tempHome("lake-notify-");
  const secrets = path.join(home, "secrets.json");
  writeFileSync(secrets, JSON.stringify({ LAKE_WEBHOOK_TOKEN: TOKEN }));
  return lake(tt, { secretsFile: secrets, retry: { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 5 }, notify: { driver: "webhook", options: { url, ...options } } } as never, home);
}

function logs(runtime: LakeRuntime): string[] {
  const lines: string[] = [];
  runtime.events.on("log", (e) => lines.push(`${e.level}: ${e.message}`));
  return lines;
}

describe("webhook notifier", () => {
  it("a failed `lake run` POSTs its summary with the token; a good one (on: failure) posts nothing", async () => {
    const { runtime, d } = notifyLake({}, { failDays: ["2024-11-02"] });
    expect(await runStageAction("tt-make", WINDOW, d)).toBe(1);
    expect(received).toHaveLength(1);
    const [r] = received;
    expect(r!.method).toBe("POST");
    expect(r!.url).toBe("/hooks/lake");
    expect(r!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(r!.headers["content-type"]).toBe("application/json");
    expect(r!.notice).toMatchObject({ event: "run.failed", ok: false, command: "lake run tt-make", exitCode: 1, debug: false, simulate: false });
    expect(r!.notice.summary).toMatchObject({ app: "tt-make", processed: 1, failed: 1 });
    expect(r!.notice.summary!.failures[0]!.error).toContain("injected failure for 2024-11-02");

    const good = lake({}, { secretsFile: path.join(runtime.home, "secrets.json"), notify: { driver: "webhook", options: { url } } } as never, runtime.home);
    expect(await runStageAction("tt-make", ["-s", "2024-11-05", "-e", "2024-11-06"], good.d)).toBe(0);
    expect(received).toHaveLength(1);
  });

  it("on: always notifies a good run; a custom header and no scheme send the bare token", async () => {
    const { d } = notifyLake({ on: "always", header: "X-Lake-Token", scheme: "" });
    expect(await runStageAction("tt-make", WINDOW, d)).toBe(0);
    expect(received).toHaveLength(1);
    expect(received[0]!.headers["x-lake-token"]).toBe(TOKEN);
    expect(received[0]!.headers.authorization).toBeUndefined();
    expect(received[0]!.notice).toMatchObject({ event: "run.succeeded", ok: true, exitCode: 0 });
  });

  it("simulations notify nobody unless simulations: true (the plan is counted, not listed)", async () => {
    const quiet = notifyLake({ on: "always" });
    expect(await runStageAction("tt-make", [...WINDOW, "-0"], quiet.d)).toBe(0);
    expect(received).toHaveLength(0);
    const told = notifyLake({ on: "always", simulations: true });
    expect(await runStageAction("tt-make", [...WINDOW, "-0"], told.d)).toBe(0);
    expect(received).toHaveLength(1);
    expect(received[0]!.notice.simulate).toBe(true);
    expect(received[0]!.notice.summary!.planned).toBeGreaterThan(0);
    expect(received[0]!.notice.summary).not.toHaveProperty("plan");
  });

  it("`lake pipeline` notifies once, with every stage's summary", async () => {
    const { d } = notifyLake({}, { failDays: ["2024-11-01"], failStage: "tt-copy" });
    expect(await pipelineAction("tt", WINDOW, d)).toBe(1);
    expect(received).toHaveLength(1);
    const n = received[0]!.notice;
    expect(n).toMatchObject({ event: "run.failed", command: "lake pipeline tt", exitCode: 1 });
    expect(n.stages!.map((s) => `${s.stage} ${s.summary?.failed}`)).toEqual(["tt-make 0", "tt-copy 1"]);
  });

  it("a 503 is retried by the driver runtime and then delivered", async () => {
    failFirst = [503, 503];
    const { d } = notifyLake({}, { failDays: ["2024-11-02"] });
    expect(await runStageAction("tt-make", WINDOW, d)).toBe(1);
    expect(received).toHaveLength(3);
    expect(new Set(received.map((r) => r.notice.at)).size).toBe(1); // the same notice, sent again
  });

  it("a target that refuses or is down: a warning (masked), the run's exit code unchanged", async () => {
    failFirst = [401];
    const refused = notifyLake({ on: "always" });
    const lines = logs(refused.runtime);
    expect(await runStageAction("tt-make", WINDOW, refused.d)).toBe(0);
    expect(lines.join("\n")).toMatch(/the run.succeeded notice was not delivered: notify \(webhook\): POST to .*HTTP 401.*LAKE_WEBHOOK_TOKEN/);

    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", () => resolve()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const down = notifyLake({ url: `http://127.0.0.1:${port}/x`, on: "always" });
    const downLines = logs(down.runtime);
    expect(await runStageAction("tt-make", WINDOW, down.d)).toBe(0);
    expect(downLines.join("\n")).toMatch(/cannot reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    expect(downLines.join("\n")).not.toContain(TOKEN);
  });

  it("the URL may come from a secret; messages name its origin only", async () => {
    const home = tempHome("lake-notify-");
    const secrets = path.join(home, "secrets.json");
    writeFileSync(secrets, JSON.stringify({ HOOK_URL: `${url}?key=url-secret-77aa01`, LAKE_WEBHOOK_TOKEN: TOKEN }));
    failFirst = [400];
    const { runtime, d } = lake({}, { secretsFile: secrets, notify: { driver: "webhook", options: { urlSecret: "HOOK_URL", on: "always" } } } as never, home);
    const lines = logs(runtime);
    expect(await runStageAction("tt-make", WINDOW, d)).toBe(0);
    expect(received[0]!.url).toBe("/hooks/lake?key=url-secret-77aa01");
    expect(lines.join("\n")).toContain(`POST to ${new URL(url).origin}`);
    expect(lines.join("\n")).not.toContain("url-secret-77aa01");
  });

  it("its options are checked when the configuration is loaded", () => {
    const load = (notify: unknown) => () => loadConfig({ overrides: { notify } as never, env: {}, cwd: tempHome() });
    expect(load({ driver: "webhook", options: { url, bogus: 1 } })).toThrow(/notify\.options: Unrecognized key: "bogus"/);
    expect(load({ driver: "webhook", options: {} })).toThrow(/notify\.options: give exactly one of url and urlSecret/);
    expect(load({ driver: "webhook", options: { url: "ftp://x.example/" } })).toThrow(/notify\.options\.url/);
    expect(load({ driver: "webhook", options: { url, on: "sometimes" } })).toThrow(/notify\.options\.on/);
    expect(load({ driver: "webhook", options: { url, header: "Bad Header" } })).toThrow(/notify\.options\.header: a header name/);
    expect(load({ driver: "pager", options: {} })).toThrow(/notify\.driver: unknown driver "pager" \(known: webhook\)/);
    expect(load({ driver: "webhook", options: { url } })).not.toThrow();
  });

  it("no notify section: nothing is posted, nothing is loaded", async () => {
    const { d } = lake({}, {});
    expect(await runStageAction("tt-make", WINDOW, d)).toBe(0);
    expect(received).toHaveLength(0);
  });
});
