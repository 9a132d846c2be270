/**
 * Shared by the PostgREST drivers (catalog, perfmet): the client (no built-in retries or timeouts: the driver runtime owns both),
 * error classification, and the value conversions at the boundary (epoch ms ↔ ISO timestamptz, like patterns).
 */
import { PostgrestClient } from "@supabase/postgrest-js";
import { bodyText, ConfigError, TerminalError, TransientError } from "../../support/errors.js";


export interface PostgrestConnection {
  /** Base URL of the PostgREST server, e.g. "http://127.0.0.1:53000". */
  url: string;
  /** Schema (PostgREST profile); omitted = the server's first db-schemas entry. */
  schema?: string | undefined;
  /** Bearer JWT; never logged. Omitted = the anonymous role. */
  token?: string | undefined;
}

export function postgrestClient(c: PostgrestConnection): PostgrestClient<any, any, any> {
  return new PostgrestClient<any, any, any>(c.url.replace(/\/+$/, ""), {
    headers: c.token ? { Authorization: `Bearer ${c.token}` } : {},
    ...(c.schema ? { schema: c.schema } : {}),
    retry: false,
  } as ConstructorParameters<typeof PostgrestClient>[1]);
}

/** The request with the call's deadline signal attached (the runtime's timeout aborts it). */
export function abortable<B extends { abortSignal(signal: AbortSignal): B }>(builder: B, signal: AbortSignal | undefined): B {
  return signal ? builder.abortSignal(signal) : builder;
}

export interface PostgrestFailure {
  status: number;
  error: { message: string; code?: string; details?: string | null; hint?: string | null };
}

/**
 * The framework error for a failed PostgREST response. `keySecret` names the secret holding the JWT, so a 401
 * says which setting to fix (the token itself never appears).
 */
export function postgrestError(
  driver: string,
  op: string,
  where: string,
  url: string,
  keySecret: string,
  f: PostgrestFailure,
): Error {
  const code = f.error.code ? ` ${f.error.code}` : "";
  // The server's text is masked and cut short (an error body can echo the whole request, token included).
  const detail = bodyText(`${f.error.message}${f.error.details && f.status !== 0 ? ` (${f.error.details})` : ""}`);
  if (f.status === 0) {
    const cause = /\(([A-Z_]+)\)/.exec(f.error.details ?? "")?.[1] ?? f.error.message;
    return new TransientError(`${driver}: cannot reach PostgREST at ${url} for ${op} ${where} (${cause}): is the server up and the url right?`);
  }
  if (f.status === 401) {
    return new ConfigError(
      `${driver}: PostgREST at ${url} refused the token for ${op} ${where} (HTTP 401${code}: ${bodyText(f.error.message)}): ` +
        `check the secret ${keySecret} (a JWT signed with the server's jwt-secret)`,
    );
  }
  if (f.status === 403 || f.error.code === "42501") {
    return new ConfigError(
      `${driver}: the role of ${keySecret} may not ${op} ${where} (HTTP ${f.status}${code}: ${bodyText(f.error.message)}): grant it on the server or use a writer token`,
    );
  }
  if (f.error.code === "42P01" || f.error.code === "PGRST205" || f.error.code === "PGRST106") {
    return new ConfigError(`${driver}: ${where} is not served by PostgREST at ${url} (${bodyText(f.error.message)}): check table/schema options and db-schemas`);
  }
  if (f.status === 408 || f.status === 429 || f.status >= 500) {
    return new TransientError(`${driver}: ${op} ${where} failed at ${url}: HTTP ${f.status}${code}: ${detail}`);
  }
  return new TerminalError(`${driver}: ${op} ${where} refused by PostgREST at ${url}: HTTP ${f.status}${code}: ${detail}`);
}

/** True for a refusal of the payload itself (bad value, constraint), where finding the offending row helps. */
export function isPayloadRejection(f: PostgrestFailure): boolean {
  return f.status >= 400 && f.status < 500 && ![401, 403, 404, 408, 429].includes(f.status) && f.error.code !== "42501";
}

export function toIso(ms: number): string {
  return new Date(ms).toISOString();
}

export function isoOrNull(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : toIso(ms);
}

export function fromIso(text: string): number {
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new TerminalError(`PostgREST returned an unreadable timestamp ${JSON.stringify(text)}`);
  return ms;
}

export function fromIsoOrNull(text: string | null | undefined): number | null {
  return text === null || text === undefined ? null : fromIso(text);
}

/**
 * A PostgREST like value from a TextFilter pattern: "*" stays the wildcard, literal "_", "%" and "\" are escaped
 * (PostgreSQL LIKE treats "_" and "%" as wildcards, so "Burnet_Rich*" must not match "BurnetXRich").
 */
export function postgrestLike(pattern: string): string {
  return pattern.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Splits an array into chunks of at most n. */
export function chunked<T>(items: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n));
  return out;
}

/**
 * Sends a batch; when the server rejects the payload, halves it until the single refused row is found and throws a
 * TerminalError naming it (rows before it are written; upserts are idempotent, so a rerun is safe).
 */
export async function sendFindingRejectedRow<T>(
  rows: { index: number; row: T }[],
  send: (rows: T[]) => Promise<PostgrestFailure | null>,
  fail: (f: PostgrestFailure, culprit?: { index: number; row: T }) => Error,
): Promise<void> {
  const f = await send(rows.map((r) => r.row));
  if (!f) return;
  if (!isPayloadRejection(f)) throw fail(f);
  if (rows.length === 1) throw fail(f, rows[0]);
  const mid = Math.ceil(rows.length / 2);
  await sendFindingRejectedRow(rows.slice(0, mid), send, fail);
  // Both halves went through on their own: every row is written.
  await sendFindingRejectedRow(rows.slice(mid), send, fail);
}

/**
 * All rows of an ordered select, page by page with growing offset. A page shorter than asked for is either the last
 * one or the server's max-rows cap; one probe row tells which, and the page size shrinks to the cap (fixes B21).
 */
export async function* pagedSelect<T>(
  fetchPage: (offset: number, count: number) => Promise<T[]>,
  pageSize: number,
  limit = Number.POSITIVE_INFINITY,
): AsyncGenerator<T> {
  let offset = 0;
  let remaining = limit;
  let page = pageSize;
  while (remaining > 0) {
    const want = Math.min(page, remaining);
    const rows = await fetchPage(offset, want);
    yield* rows;
    offset += rows.length;
    remaining -= rows.length;
    if (rows.length === 0 || remaining <= 0) return;
    if (rows.length < want) {
      if ((await fetchPage(offset, 1)).length === 0) return;
      page = rows.length;
    }
  }
}
