/**
 * The HTTP helper of sources that read an outside API: one GET with a timeout, classified by the one HTTP classifier
 * (httpStatusError: 429 with Retry-After, 408 and 5xx are transient), retried with jittered backoff by withRetry
 * (Retry-After honoured); the token is a registered secret, so no message, log line or block record shows it.
 * The body is returned as text: a source parses it itself (a page that is not JSON is bad input, not a crash).
 */
import { httpStatusError, TransientError } from "./errors.js";
import { withRetry, type RetryPolicy } from "./resilience.js";
import { secretRedactor } from "../util/redact.js";

export interface HttpGetOptions {
  /** Who asks what of whom, for messages ("mds lime: trips page 2"). */
  what: string;
  headers?: Record<string, string>;
  /** A bearer token: sent as Authorization, masked everywhere. */
  bearer?: string;
  timeoutMs: number;
  retry: RetryPolicy;
  /** Told of each retried attempt (a log line, without secrets). */
  onRetry?: (message: string) => void;
  /** What to check when credentials are refused. */
  credentials?: string;
}

export async function httpGetText(url: string, o: HttpGetOptions): Promise<{ status: number; text: string }> {
  if (o.bearer) secretRedactor.add(o.bearer);
  const headers = { ...(o.headers ?? {}), ...(o.bearer ? { Authorization: `Bearer ${o.bearer}` } : {}) };
  const once = async () => {
    let res: Response;
    try {
      res = await fetch(url, { headers, signal: AbortSignal.timeout(o.timeoutMs) });
    } catch (err) {
      const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
      if (e?.name === "TimeoutError" || e?.name === "AbortError") throw new TransientError(`${o.what}: no answer within ${o.timeoutMs} ms`, { cause: err });
      throw new TransientError(`${o.what}: request failed (${e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err)})`, { cause: err });
    }
    const text = await res.text();
    const failed = httpStatusError(o.what, { status: res.status, body: text, retryAfter: res.headers.get("retry-after") }, o.credentials ? { credentials: o.credentials } : {});
    if (failed) throw failed;
    return { status: res.status, text };
  };
  return withRetry(o.what, once, o.retry, ({ attempt, error }) => o.onRetry?.(secretRedactor.redact(`${o.what}: attempt ${attempt} failed (${(error as Error).message}); retrying`)));
}

/** A URL with query parameters. */
export function withQuery(base: string, params: Record<string, string | number>): string {
  const u = new URL(base);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, String(v));
  return u.toString();
}

