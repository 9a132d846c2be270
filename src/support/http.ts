/**
 * The HTTP helper of sources that read an outside API: one GET with a timeout, classified by the one HTTP classifier
 * (httpStatusError: 429 with Retry-After, 408 and 5xx are transient), retried with jittered backoff by withRetry
 * (Retry-After honoured); the token is a registered secret, so no message, log line or block record shows it.
 * The body is returned as text: a source parses it itself (a page that is not JSON is bad input, not a crash).
 *
 * `httpText` / `httpJson` (any method, a JSON body, bearer or basic auth) and `paged` serve a stage's other calls
 * (OEEM: the auth service, ESPI, the datastore's bulk endpoints), with the same classifier and retries.
 */
import { httpStatusError, networkCode, TransientError, type HttpHints } from "./errors.js";
import { DEFAULT_RETRY, withRetry, type RetryPolicy } from "./resilience.js";
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
  /** Statuses that are an answer, not an error (returned with their text; e.g. MDS 0.4's 404 for an hour without data). */
  accept?: readonly number[];
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
    if (o.accept?.includes(res.status)) return { status: res.status, text };
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


export type HttpAuth = { bearer: string } | { basic: { user: string; password: string } };

export interface HttpOptions {
  method?: string;
  /** A JSON body (content-type application/json). */
  json?: unknown;
  headers?: Record<string, string>;
  auth?: HttpAuth;
  /** Per attempt (default 30 s). */
  timeoutMs?: number;
  retry?: RetryPolicy;
  hints?: HttpHints;
  /** What the call is, for messages (default: method and URL without its query). */
  what?: string;
}

/** One call; the answer's text, or an error classified by its status (a refusal names what and where). */
export async function httpText(url: string, o: HttpOptions = {}): Promise<string> {
  const method = o.method ?? (o.json !== undefined ? "POST" : "GET");
  const what = o.what ?? `${method} ${url.split("?")[0]}`;
  const headers: Record<string, string> = { accept: "application/json, application/xml;q=0.9, */*;q=0.5", ...o.headers };
  if (o.json !== undefined) headers["content-type"] = "application/json";
  if (o.auth && "bearer" in o.auth) {
    secretRedactor.add(o.auth.bearer);
    headers.authorization = `Bearer ${o.auth.bearer}`;
  } else if (o.auth) {
    secretRedactor.add(o.auth.basic.password);
    headers.authorization = `Basic ${Buffer.from(`${o.auth.basic.user}:${o.auth.basic.password}`).toString("base64")}`;
  }
  const body = o.json !== undefined ? JSON.stringify(o.json) : undefined;
  return withRetry(what, async () => {
    let res: Response;
    try {
      res = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}), signal: AbortSignal.timeout(o.timeoutMs ?? 30_000) });
    } catch (err) {
      throw secretRedactor.redactError(new TransientError(`${what}: ${networkCode(err)}`, { cause: err }));
    }
    const text = await res.text();
    const failure = httpStatusError(what, { status: res.status, body: text, retryAfter: res.headers.get("retry-after") }, o.hints);
    if (failure) throw secretRedactor.redactError(failure);
    return text;
  }, o.retry ?? DEFAULT_RETRY);
}

export async function httpJson<T>(url: string, o: HttpOptions = {}): Promise<T> {
  return JSON.parse(await httpText(url, o)) as T;
}

/** Every item of a paged listing: `page(url)` gives a page's items and the next page's URL, if any. */
export async function* paged<T>(first: string, page: (url: string) => Promise<{ items: T[]; next?: string | undefined }>): AsyncGenerator<T> {
  for (let url: string | undefined = first; url; ) {
    const p = await page(url);
    yield* p.items;
    url = p.next;
  }
}
