/**
 * The two log kinds and their cleaning, pure (text in, rows out):
 *
 * - web: Cloud Run request logs exported as JSON lines (the seed's Datasette logs): insertId, timestamp and an
 *   httpRequest object (requestMethod, requestUrl, status, responseSize, remoteIp, userAgent);
 * - download: object-store access log lines (S3 server access log order):
 *   `<bucket> [06/Nov/2024:10:00:00 +0000] <ip> <request_id> <METHOD> <key> <status> <bytes|-> "<user agent>"`.
 *
 * Each line becomes a request row keyed by its log id (insert_id, request id), timed by its event time (UTC epoch
 * ms and ISO text: never a bare date); a line that does not parse is returned with its line number and why.
 */
import { DateTime } from "luxon";
import type { SqlRow, TableSpec } from "../../support/sql-write.js";

export type LogKind = "web" | "download";
export const LOG_KINDS: readonly LogKind[] = ["web", "download"];

export interface Request {
  id: string;
  kind: LogKind;
  time: number;
  ip: string;
  method: string;
  path: string;
  query: string;
  status: number;
  bytes: number | null;
  user_agent: string;
}

export const TABLE: TableSpec = {
  name: "usage_requests",
  columns: {
    id: "text", partition_day: "text", kind: "text", time_ms: "integer", time_utc: "text", ip: "text", method: "text", path: "text",
    query: "text", status: "integer", bytes: "integer", user_agent: "text", country: "text", region: "text", city: "text", org: "text",
  },
  key: ["id"],
  partitionColumn: "partition_day",
};

const DOWNLOAD = /^(\S+) \[(\d{2}\/\w{3}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\] (\S+) (\S+) ([A-Z]+) (\S+) (\d{3}) (\d+|-) "([^"]*)"$/;

function webLine(line: string): Request | string {
  let o: { insertId?: unknown; timestamp?: unknown; httpRequest?: Record<string, unknown> };
  try {
    o = JSON.parse(line) as typeof o;
  } catch {
    return "not JSON";
  }
  const h = o?.httpRequest;
  if (typeof o?.insertId !== "string" || !o.insertId) return "no insertId";
  const t = typeof o.timestamp === "string" ? DateTime.fromISO(o.timestamp, { setZone: true }) : undefined;
  if (!t?.isValid) return "no valid timestamp";
  if (!h || typeof h.requestUrl !== "string" || typeof h.remoteIp !== "string") return "no httpRequest.requestUrl/remoteIp";
  let url: URL;
  try {
    url = new URL(h.requestUrl);
  } catch {
    return `requestUrl "${h.requestUrl.slice(0, 80)}" is not a URL`;
  }
  const size = Number(h.responseSize);
  return {
    id: o.insertId, kind: "web", time: t.toMillis(), ip: h.remoteIp, method: String(h.requestMethod ?? "GET"), path: url.pathname, query: url.search.slice(1),
    status: Number(h.status ?? 0), bytes: Number.isFinite(size) ? size : null, user_agent: String(h.userAgent ?? ""),
  };
}

function downloadLine(line: string): Request | string {
  const m = DOWNLOAD.exec(line);
  if (!m) return "not an access log line";
  const t = DateTime.fromFormat(m[2]!, "dd/MMM/yyyy:HH:mm:ss ZZZ", { setZone: true });
  if (!t.isValid) return `bad time "${m[2]}"`;
  const [key, query = ""] = m[6]!.split("?");
  return { id: m[4]!, kind: "download", time: t.toMillis(), ip: m[3]!, method: m[5]!, path: `/${m[1]}/${key}`, query, status: Number(m[7]), bytes: m[8] === "-" ? null : Number(m[8]), user_agent: m[9]! };
}

/** The requests of one log object, and its lines that do not parse (1-based line numbers). */
export function parseLog(kind: LogKind, text: string): { requests: Request[]; bad: { line: number; reason: string }[] } {
  const requests: Request[] = [];
  const bad: { line: number; reason: string }[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    const r = kind === "web" ? webLine(line) : downloadLine(line);
    if (typeof r === "string") bad.push({ line: i + 1, reason: r });
    else requests.push(r);
  });
  return { requests, bad };
}

export interface Location {
  country: string | null;
  region: string | null;
  city: string | null;
  org: string | null;
}

/** The row of a request in the destination table. */
export function requestRow(r: Request, day: string, loc: Location | undefined): SqlRow {
  return {
    id: `${r.kind}:${r.id}`, partition_day: day, kind: r.kind, time_ms: r.time, time_utc: new Date(r.time).toISOString(), ip: r.ip, method: r.method,
    path: r.path, query: r.query, status: r.status, bytes: r.bytes, user_agent: r.user_agent,
    country: loc?.country ?? null, region: loc?.region ?? null, city: loc?.city ?? null, org: loc?.org ?? null,
  };
}
