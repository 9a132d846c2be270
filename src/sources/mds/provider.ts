/**
 * The MDS provider API, versions 0.3 and 0.4, for one provider, endpoint (trips, status_changes) and hour: the query
 * of the hour is the endpoint's per version, the version is named in the Accept header, pages follow links.next.
 * MDS 0.4 answers an hour without data 404 (only the first page's 404 means that: a later one is an error).
 * Pages are kept as the provider sent them (one JSONL line each), so a page that is not JSON is bad input of that
 * page, not a lost hour.
 */
import type { DateTime } from "luxon";
import { httpGetText, withQuery } from "../../support/http.js";
import type { ProviderConfig } from "./config.js";
import type { Endpoint, EndpointName } from "./endpoint.js";

export interface RawPage {
  page: number;
  url: string;
  body: string;
}

export interface FetchResult {
  pages: RawPage[];
  /** Records in the pages that parsed. */
  records: number;
  /** Pages that are not JSON (paging stops there: their link to the next page is lost). */
  malformed: number[];
  /** MDS 0.4 answered the hour's first page 404: "the data does not exist" for the hour (no records). */
  notFound?: boolean;
}

/** The first page's URL of an hour [start, end) of an endpoint. */
export function firstPageUrl(p: ProviderConfig, endpoint: Endpoint, start: DateTime, end: DateTime): string {
  const base = new URL(endpoint.name, p.url.endsWith("/") ? p.url : `${p.url}/`).toString();
  return withQuery(base, endpoint.query[p.version](start, end));
}

export function headersOf(p: ProviderConfig): Record<string, string> {
  return { Accept: `application/vnd.mds.provider+json;version=${p.version}` };
}

/** The records (data.<endpoint>) and next link of a page's text; undefined when it is not an MDS page. */
export function parsePage(text: string, name: EndpointName): { records: unknown[]; next: string | undefined } | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  const d = doc as { data?: Record<string, unknown>; links?: { next?: unknown } };
  const records = d && typeof d === "object" && d.data && typeof d.data === "object" ? d.data[name] : undefined;
  if (!Array.isArray(records)) return undefined;
  return { records, next: typeof d.links?.next === "string" && d.links.next ? d.links.next : undefined };
}

/** Every page of the hour, following links.next. */
export async function fetchHour(p: ProviderConfig, endpoint: Endpoint, token: string | undefined, start: DateTime, end: DateTime, log: (m: string) => void): Promise<FetchResult> {
  const out: FetchResult = { pages: [], records: 0, malformed: [] };
  let url: string | undefined = firstPageUrl(p, endpoint, start, end);
  const seen = new Set<string>();
  while (url && out.pages.length < p.maxPages && !seen.has(url)) {
    seen.add(url);
    const page = out.pages.length + 1;
    const { status, text } = await httpGetText(url, {
      what: `mds ${p.name}: ${endpoint.name} page ${page}`,
      headers: headersOf(p),
      ...(token ? { bearer: token } : {}),
      timeoutMs: p.timeoutMs,
      retry: { retries: p.retries, minTimeoutMs: p.minDelayMs, maxTimeoutMs: p.maxDelayMs },
      onRetry: log,
      credentials: `the token in ${p.tokenSecret ?? "(no tokenSecret)"} for provider ${p.name}`,
      ...(p.version === "0.4" && page === 1 ? { accept: [404] } : {}),
    });
    if (status === 404) return { ...out, notFound: true };
    out.pages.push({ page, url, body: text });
    const parsed = parsePage(text, endpoint.name);
    if (!parsed) {
      out.malformed.push(page);
      break;
    }
    out.records += parsed.records.length;
    url = parsed.next;
  }
  return out;
}
