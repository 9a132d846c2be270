/**
 * The HTTP source helper (F24), for a stage's own calls to an outside API: a deadline per attempt, retries of
 * transient answers (5xx, 408, 429 with Retry-After, network failures) with jittered backoff, bearer or basic auth,
 * answers classified by `httpStatusError`, and messages without secrets (the token is registered with the
 * redactor, so no error, log line or event can carry it).
 */
import { httpStatusError, networkCode, TransientError, type HttpHints } from "./errors.js";
import { DEFAULT_RETRY, withRetry, type RetryPolicy } from "./resilience.js";
import { secretRedactor } from "../util/redact.js";

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
