/** The redaction layer's pieces: URL credentials in a configuration, stream masking, error bodies, call arguments. */
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { Redactor, redact, redactStream } from "../../src/util/redact.js";
import { bodyText, ERROR_BODY_CHARS } from "../../src/support/errors.js";
import { LakeRuntime } from "../../src/support/runtime.js";
import { wrapDriver } from "../../src/support/resilience.js";
import { PERFMET_CALLS, type PerfmetDriver } from "../../src/support/drivers.js";
import { tempDir } from "./helpers.js";

describe("redaction layer", () => {
  it("registers the password of every URL with user-info in a configuration, in its encoded and decoded forms", () => {
    const r = new Redactor();
    r.addUrlCredentials({ a: { b: ["postgres://ops:p%40ss%23word77@db.example.org:5432/lake"] }, c: "redis://:r3dis-pw-9@cache:6379", d: 4 });
    expect(r.redact("p@ss#word77 and p%40ss%23word77 and r3dis-pw-9")).toBe("*** and *** and ***");
    expect(r.redact(`Basic ${Buffer.from("ops:p@ss#word77").toString("base64")}`)).toBe("Basic ***");
    // a URL without a password registers nothing: the user name stays readable outside URLs
    const n = new Redactor();
    n.addUrlCredentials("postgres://postgres@127.0.0.1/lake");
    expect(n.size).toBe(0);
    expect(n.redact("role postgres; postgres://postgres@host/db")).toBe("role postgres; postgres://***@host/db");
  });

  it("a runtime registers the URL passwords of its configuration", () => {
    LakeRuntime.create({ overrides: { home: tempDir(), catalog: { driver: "postgres", options: { connectionString: "postgres://u:cfg-url-pw-4417@h/db" } } }, env: {} });
    expect(redact("login failed with cfg-url-pw-4417")).toBe("login failed with ***");
  });

  it("a stream behind the redactor masks strings and buffers", () => {
    const r = new Redactor();
    r.add("stream-secret-88");
    const s = new PassThrough();
    const seen: string[] = [];
    s.on("data", (c: Buffer) => seen.push(c.toString("utf8")));
    redactStream(s, r);
    redactStream(s, r); // idempotent
    s.write("a stream-secret-88 b\n");
    s.write(Buffer.from("c stream-secret-88 d\n"));
    expect(seen.join("")).toBe("a *** b\nc *** d\n");
  });

  it("an error body is masked, then cut", () => {
    const r = new Redactor();
    r.add("cut-secret-1234567");
    const text = bodyText(`${"x".repeat(ERROR_BODY_CHARS - 5)}cut-secret-1234567`, r);
    expect(text).toBe(`${"x".repeat(ERROR_BODY_CHARS - 5)}***`);
    expect(bodyText("y".repeat(ERROR_BODY_CHARS + 10), r)).toHaveLength(ERROR_BODY_CHARS + 1);
  });

  it("the driver runtime masks the arguments of redactArgs calls (perfmet rows) before the driver sees them", async () => {
    const r = new Redactor();
    r.add("row-secret-5566");
    const got: unknown[] = [];
    const driver = { driverName: "rec", writeJob: async (job: unknown) => void got.push(job), writeObs: async () => undefined } as unknown as PerfmetDriver;
    const wrapped = wrapDriver(driver, { kind: "perfmet", calls: PERFMET_CALLS, policy: { retry: { retries: 0, minTimeoutMs: 0, maxTimeoutMs: 0 }, timeoutMs: 0, concurrency: 0 }, redactor: r });
    await wrapped.writeJob({ data_source: "x", stage: "row-secret-5566 stage", seconds: 1, records: 2, processing_date: 3, collection_start: null, collection_end: null });
    expect(got).toEqual([{ data_source: "x", stage: "*** stage", seconds: 1, records: 2, processing_date: 3, collection_start: null, collection_end: null }]);
  });
});
