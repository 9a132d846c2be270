/**
 * The MDS provider API, versions 0.3 and 0.4, for one provider and hour. 0.3 asks for trips by
 * min_end_time/max_end_time (epoch ms); 0.4 by end_time=YYYY-MM-DDTHH (the UTC hour) with the version in the Accept
 * header. Both page through links.next. Pages are kept as the provider sent them (one JSONL line each), so a page
 * that is not JSON is bad input of that page, not a lost hour.
 */
import type { DateTime } from "luxon";
import { httpGetText, withQuery } from "../../support/http.js";
import type { ProviderConfig } from "./config.js";

export interface RawPage {
  page: number;
  url: string;
  body: string;
}

export interface FetchResult {
  pages: RawPage[];
  /** Trips in the pages that parsed. */
  trips: number;
  /** Pages that are not JSON (paging stops there: their link to the next page is lost). */
  malformed: number[];
}

/** The first page's URL of an hour [start, end). */
export function firstPageUrl(p: ProviderConfig, start: DateTime, end: DateTime): string {
  const base = new URL("trips", p.url.endsWith("/") ? p.url : `${p.url}/`).toString();
  if (p.version === "0.3") return withQuery(base, { min_end_time: start.toMillis(), max_end_time: end.toMillis() });
  return withQuery(base, { end_time: start.toUTC().toFormat("yyyy-MM-dd'T'HH") });
}

export function headersOf(p: ProviderConfig): Record<string, string> {
  return { Accept: `application/vnd.mds.provider+json;version=${p.version}` };
}

/** The trips and next link of a page's text; undefined when it is not an MDS page. */
export function parsePage(text: string): { trips: unknown[]; next: string | undefined } | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  const d = doc as { data?: { trips?: unknown }; links?: { next?: unknown } };
  if (!d || typeof d !== "object" || !d.data || !Array.isArray(d.data.trips)) return undefined;
  return { trips: d.data.trips, next: typeof d.links?.next === "string" && d.links.next ? d.links.next : undefined };
}

/** Every page of the hour, following links.next. */
export async function fetchHour(p: ProviderConfig, token: string | undefined, start: DateTime, end: DateTime, log: (m: string) => void): Promise<FetchResult> {
  const out: FetchResult = { pages: [], trips: 0, malformed: [] };
  let url: string | undefined = firstPageUrl(p, start, end);
  const seen = new Set<string>();
  while (url && out.pages.length < p.maxPages && !seen.has(url)) {
    seen.add(url);
    const page = out.pages.length + 1;
    const { text } = await httpGetText(url, {
      what: `mds ${p.name}: trips page ${page}`,
      headers: headersOf(p),
      ...(token ? { bearer: token } : {}),
      timeoutMs: p.timeoutMs,
      retry: { retries: p.retries, minTimeoutMs: p.minDelayMs, maxTimeoutMs: p.maxDelayMs },
      onRetry: log,
      credentials: `the token in ${p.tokenSecret ?? "(no tokenSecret)"} for provider ${p.name}`,
    });
    out.pages.push({ page, url, body: text });
    const parsed = parsePage(text);
    if (!parsed) {
      out.malformed.push(page);
      break;
    }
    out.trips += parsed.trips.length;
    url = parsed.next;
  }
  return out;
}
