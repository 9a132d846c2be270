/**
 * The GRIDSMART device HTTP API (original gs_device / gs_log_reader): site.json, datetime.json,
 * system/hardwareinfo.json, counts.json (days with counts) and counts/bydate/YYYY-MM-DD (the day's zip).
 * Every request has a timeout (fixes B17: counts.json had none). Failures are classified for withRetry:
 * timeouts, network errors, 429 and 5xx are TransientError; 404 NotFoundError; other answers TerminalError.
 */
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { httpStatusError, TerminalError, TransientError } from "../../support/errors.js";
import { parsePyJson } from "../../util/pyjson-parse.js";
import { withRetry, type RetryPolicy } from "../../support/resilience.js";
import type { GsDateTime, GsSite } from "./types.js";

export interface DeviceApiOptions {
  timeoutMs: number;
  downloadTimeoutMs: number;
  retry: RetryPolicy;
}

function classify(url: string, err: unknown, ms: number): Error {
  if (err instanceof TransientError || err instanceof TerminalError) return err;
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === "TimeoutError" || e?.name === "AbortError") {
    return new TransientError(`GRIDSMART device ${url}: no answer within ${ms} ms (sources.gs.timeoutMs); check the device is reachable`, { cause: err });
  }
  const why = e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
  return new TransientError(`GRIDSMART device ${url}: request failed (${why}); check the device is reachable`, { cause: err });
}

async function checkStatus(url: string, res: Response): Promise<void> {
  if (res.ok) return;
  await res.body?.cancel().catch(() => undefined);
  throw httpStatusError(`GRIDSMART device ${url}`, { status: res.status, retryAfter: res.headers.get("retry-after") })!;
}

export class DeviceApi {
  constructor(
    /** Base URL ending in "/" (e.g. http://10.0.0.5:8902/api/). */
    readonly baseUrl: string,
    private readonly opts: DeviceApiOptions,
  ) {}

  private async getJsonOnce<T>(path: string): Promise<T> {
    const url = this.baseUrl + path;
    let res: Response;
    let body: string;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(this.opts.timeoutMs) });
      await checkStatus(url, res);
      body = await res.text();
    } catch (err) {
      throw classify(url, err, this.opts.timeoutMs);
    }
    try {
      // As the original's requests .json() reads it: 13.0 stays a float, big integers keep their digits, so the raw
      // site file (json.dumps of the answers) writes them as the device gave them.
      return parsePyJson(body) as T;
    } catch {
      throw new TerminalError(`GRIDSMART device ${url}: the answer is not JSON (${JSON.stringify(body.slice(0, 60))})`);
    }
  }

  getJson<T>(path: string): Promise<T> {
    return withRetry(`GRIDSMART ${this.baseUrl}${path}`, () => this.getJsonOnce<T>(path), this.opts.retry);
  }

  site(): Promise<GsSite> {
    return this.getJson<GsSite>("site.json");
  }

  datetime(): Promise<GsDateTime & Record<string, unknown>> {
    return this.getJson("datetime.json");
  }

  hardwareInfo(): Promise<Record<string, unknown>> {
    return this.getJson("system/hardwareinfo.json");
  }

  /** Days with counts ("YYYY-MM-DD"); anything else in the list is a TerminalError naming it. */
  async countDays(): Promise<string[]> {
    const list = await this.getJson<unknown>("counts.json");
    if (!Array.isArray(list)) throw new TerminalError(`GRIDSMART device ${this.baseUrl}counts.json: expected a list of YYYY-MM-DD dates`);
    for (const d of list) {
      if (typeof d !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(d)) {
        throw new TerminalError(`GRIDSMART device ${this.baseUrl}counts.json: ${JSON.stringify(d)} is not a YYYY-MM-DD date`);
      }
    }
    return list as string[];
  }

  /** Streams the day's archive into a file; a partial file is removed when the download fails. */
  downloadDay(day: string, file: string): Promise<number> {
    const url = `${this.baseUrl}counts/bydate/${day}`;
    return withRetry(
      `GRIDSMART ${url}`,
      async () => {
        try {
          const res = await fetch(url, { signal: AbortSignal.timeout(this.opts.downloadTimeoutMs) });
          await checkStatus(url, res);
          if (!res.body) throw new TerminalError(`GRIDSMART device ${url}: empty answer`);
          let bytes = 0;
          const counted = Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>).on("data", (c: Buffer) => (bytes += c.length));
          await pipeline(counted, createWriteStream(file));
          return bytes;
        } catch (err) {
          await rm(file, { force: true });
          throw classify(url, err, this.opts.downloadTimeoutMs);
        }
      },
      this.opts.retry,
    );
  }
}

/** HostTimeUTC as the original wrote it: the ingesting host's UTC clock, "MM/DD/YYYY hh:mm:ss AM". */
export function hostTimeUtc(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  const h = d.getUTCHours();
  return `${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${d.getUTCFullYear()} ${p(h % 12 === 0 ? 12 : h % 12)}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${h < 12 ? "AM" : "PM"}`;
}
