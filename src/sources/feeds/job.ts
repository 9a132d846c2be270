/**
 * A feeds job: what an implementation is (FeedJob: `run(ctx)` → bills, interval readings), the built-in ones, and the
 * child process's side of a run (src/support/isolated-run.ts calls runFeedJob in a process of its own): the
 * credentials decrypted (here only: the worker holds ciphertext), every value of them masked in whatever the
 * process prints, the implementation loaded and run, then result.json, bills.csv and readings.csv written beside
 * its downloads.
 */
import { writeFile } from "node:fs/promises";
import { DateTime } from "luxon";
import { stringify } from "csv-stringify/sync";
import { decrypt, parseKey } from "../../util/encryption.js";
import { redact, redactProcessOutput, secretRedactor } from "../../util/redact.js";

/** A bill as a job returns it; `pdf` is a file of the working directory. */
export interface Bill {
  account: string;
  start: string;
  end: string;
  cost: number;
  use: number;
  peak?: number | null;
  pdf?: string;
}
/** An interval reading: a meter's value over [start, end) (ISO with offset). */
export interface Reading {
  meter: string;
  start: string;
  end: string;
  value: number;
  unit?: string;
}
export interface FeedResult {
  bills?: Bill[];
  readings?: Reading[];
}
/** What a job's implementation gets: its working directory (also the process's cwd), the run's range and params. */
export interface FeedJobContext {
  job: string;
  runId: string;
  workdir: string;
  /** The run's range [start, end), ISO with offset. */
  start: string;
  end: string;
  params: Record<string, unknown>;
  /** The job's stored credentials, decrypted for this run (`lake feeds credentials set`); masked in the log. */
  credentials?: Record<string, unknown>;
  log(message: string): void;
}
/** A job implementation: a module whose default export (or a built-in) is this. */
export interface FeedJob {
  run(ctx: FeedJobContext): Promise<FeedResult>;
}

/** The name of the error a job throws when its login is refused: the job is disabled until `lake feeds enable`. */
export const AUTH_ERROR = "FeedAuthError";
export class FeedAuthError extends Error {
  override name = AUTH_ERROR;
}

/** Built-in implementations by name, each imported only by the run that needs it. */
export const IMPLEMENTATIONS: Record<string, () => Promise<FeedJob>> = {
  "fake-utility-bills": async () => (await import("./fakes.js")).billsJob,
  "fake-utility-portal": async () => (await import("./fakes.js")).portalJob,
  "fake-utility-interval": async () => (await import("./fakes.js")).intervalJob,
  "fake-utility-login": async () => (await import("./fakes.js")).loginJob,
  "fake-hang": async () => (await import("./fakes.js")).hangJob,
};

/** What the run's child gets on stdin: the job's context, which implementation, and its sealed credentials. */
export interface ChildInput extends Pick<FeedJobContext, "job" | "runId" | "workdir" | "start" | "end" | "params"> {
  impl?: string;
  module?: string;
  /** Sealed credentials (base64 of an encrypted lake object) and the key's text and name. */
  credentials?: { sealed: string; key: string; keyName: string };
}

function openCredentials(c: NonNullable<ChildInput["credentials"]>, job: string): Record<string, unknown> {
  const text = decrypt(Buffer.from(c.sealed, "base64"), parseKey(c.key, c.keyName), `the credentials of job ${job}`, c.keyName).toString("utf8");
  const value = JSON.parse(text) as Record<string, unknown>;
  for (const v of Object.values(value)) if (typeof v === "string") secretRedactor.add(v);
  return value;
}

export async function runFeedJob(input: ChildInput, ready: () => void): Promise<number> {
  redactProcessOutput(); // the log file is stdout and stderr: a job that prints its password prints ***
  const log = (m: string) => process.stdout.write(`${DateTime.utc().toISO()} ${m}\n`);
  log(`job ${input.job} run ${input.runId}: ${input.start} .. ${input.end}`);
  try {
    const credentials = input.credentials ? openCredentials(input.credentials, input.job) : undefined;
    const impl = input.module ? ((await import(input.module)) as { default: FeedJob }).default : await IMPLEMENTATIONS[input.impl!]!();
    ready(); // the job's timeout counts from here
    const result: FeedResult = await impl.run({ job: input.job, runId: input.runId, workdir: input.workdir, start: input.start, end: input.end, params: input.params, log, ...(credentials ? { credentials } : {}) });
    await writeFile("result.json", redact(JSON.stringify(result, null, 1)));
    const bills = Array.isArray(result?.bills) ? result.bills : [];
    const readings = Array.isArray(result?.readings) ? result.readings : [];
    await writeFile("bills.csv", stringify(bills.map((b) => [b.start, b.end, b.cost, b.use, b.peak ?? "", b.pdf ? "yes" : "no"]), { header: true, columns: ["start", "end", "cost", "use", "peak", "has_pdf"] }));
    if (readings.length) await writeFile("readings.csv", stringify(readings.map((r) => [r.meter, r.start, r.end, r.value, r.unit ?? ""]), { header: true, columns: ["meter", "start", "end", "value", "unit"] }));
    log(`done: ${bills.length} bill(s), ${readings.length} reading(s)`);
    return 0;
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    const auth = err instanceof Error && err.name === AUTH_ERROR;
    await writeFile("result.json", JSON.stringify({ error: redact(err instanceof Error ? err.message : String(err)), ...(auth ? { auth } : {}) }));
    return 1;
  }
}
