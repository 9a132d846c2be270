/**
 * An HTTPS fake of the Socrata SODA 2 endpoints the publisher uses (soda-js only speaks https).
 *
 * - `POST /resource/{id}[.json]` with a JSON array: upsert by the dataset's row-id field; rows carrying
 *   `":deleted": true` delete that row. Answers `{"Rows Created","Rows Updated","Rows Deleted","By RowIdentifier",
 *   "By SID","Errors"}` like Socrata.
 * - `DELETE /resource/{id}/{rowId}`: deletes one row.
 * - `GET /resource/{id}[.json]`: rows (`$limit`, `$offset`, `$order`, `$where=field = 'v'`), or a count with
 *   `$select=count(*) [as alias]`; `$where` is `field = 'v'` or `field in ('a', 'b', ...)` (anything else is a 400).
 * Every request is recorded (method, path, query, headers with auth values masked, row count, status).
 * Faults on demand: a status for the next K requests, 429 with Retry-After, stall (never answer), 202, 413.
 *
 * TLS: cert/key from SOCRATA_FAKE_CERT / SOCRATA_FAKE_KEY, else a fresh self-signed pair made with openssl.
 * soda-js (superagent 0.21) trusts it only when NODE_EXTRA_CA_CERTS names the cert when the process starts.
 *
 * Dev server: `node --import tsx test/fakes/socrata-fake.ts --port 54443 [--row-id row_id]`.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, realpathSync } from "node:fs";
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export type FakeRow = Record<string, unknown>;

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Request headers; authorization and x-app-token values are replaced by "<masked>". */
  headers: Record<string, string>;
  /** Rows in the body (array bodies only). */
  rows?: number;
  /** Status answered (undefined while stalled). */
  status?: number;
}

export interface SocrataFakeOptions {
  port?: number;
  host?: string;
  cert?: string;
  key?: string;
  /** Row-id field of datasets not configured with setRowIdField(). @default "row_id" */
  defaultRowIdField?: string;
  /** Required credentials: writes need HTTP basic auth with these; a wrong app token is refused with 403. */
  credentials?: { username: string; password: string; appToken?: string };
  /** Requests with more rows than this get 413. */
  maxRowsPerRequest?: number;
}

type Fault = { remaining: number; skip: number } & (
  | { kind: "status"; status: number; body?: unknown }
  | { kind: "throttle"; retryAfterSeconds: number }
  | { kind: "stall" }
  | { kind: "accepted" }
  | { kind: "tooLarge" }
);

/** Fault timing: `after` = how many requests pass untouched before the fault starts. */
export interface FaultTiming {
  after?: number;
}

/** Cert and key: from the environment when both are set, else a new self-signed pair for 127.0.0.1/localhost. */
export function fakeTlsMaterial(): { cert: string; key: string; certPath: string } {
  const certPath = process.env.SOCRATA_FAKE_CERT;
  const keyPath = process.env.SOCRATA_FAKE_KEY;
  if (certPath && keyPath && existsSync(certPath) && existsSync(keyPath)) {
    return { cert: readFileSync(certPath, "utf8"), key: readFileSync(keyPath, "utf8"), certPath };
  }
  return generateSelfSigned();
}

/** A new self-signed cert/key pair for 127.0.0.1 and localhost, made with openssl in a temp folder. */
export function generateSelfSigned(): { cert: string; key: string; certPath: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), "socrata-fake-"));
  const cp = path.join(dir, "cert.pem");
  const kp = path.join(dir, "key.pem");
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", kp, "-out", cp, "-days", "2", "-subj", "/CN=127.0.0.1",
      "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
    { stdio: "ignore" },
  );
  return { cert: readFileSync(cp, "utf8"), key: readFileSync(kp, "utf8"), certPath: cp };
}

/** True when the process trusts the fake's cert (NODE_EXTRA_CA_CERTS set at start to SOCRATA_FAKE_CERT). */
export function socrataFakeTrusted(): boolean {
  const ca = process.env.NODE_EXTRA_CA_CERTS;
  const cert = process.env.SOCRATA_FAKE_CERT;
  return Boolean(ca && cert && process.env.SOCRATA_FAKE_KEY && existsSync(ca) && path.resolve(ca) === path.resolve(cert));
}

const DATASET_PATH = /^\/resource\/([A-Za-z0-9._-]+?)(?:\.json)?(?:\/([^/]+))?$/;
const COUNT_SELECT = /^\s*count\(\s*\*\s*\)(?:\s+as\s+([A-Za-z_][A-Za-z0-9_]*))?\s*$/i;
const WHERE_EQ = /^\s*\(?\s*([A-Za-z_:][A-Za-z0-9_]*)\s*=\s*'((?:[^']|'')*)'\s*\)?\s*$/;
/** `field in ('a', 'b', ...)`. */
const WHERE_IN = /^\s*\(?\s*([A-Za-z_:][A-Za-z0-9_]*)\s+in\s*\(\s*('(?:[^']|'')*'(?:\s*,\s*'(?:[^']|'')*')*)\s*\)\s*\)?\s*$/i;

export class SocrataFake {
  readonly requests: RecordedRequest[] = [];
  readonly datasets = new Map<string, Map<string, FakeRow>>();
  private readonly rowIdFields = new Map<string, string>();
  private faults: Fault[] = [];
  private delayMs = 0;
  private readonly inFlight = new Map<string, number>();
  private readonly inFlightMax = new Map<string, number>();
  private readonly stalled = new Set<ServerResponse>();

  private constructor(
    private readonly server: https.Server,
    private readonly opts: SocrataFakeOptions,
    readonly certPath: string | undefined,
  ) {}

  static async start(opts: SocrataFakeOptions = {}): Promise<SocrataFake> {
    let tls: { cert: string; key: string; certPath?: string };
    if (opts.cert && opts.key) tls = { cert: opts.cert, key: opts.key };
    else tls = fakeTlsMaterial();
    const server = https.createServer({ cert: tls.cert, key: tls.key });
    const fake = new SocrataFake(server, opts, tls.certPath);
    // A client that goes away mid-request (a reset connection) gets nothing applied, as with a real server.
    server.on("request", (req, res) => void fake.track(req, res).catch(() => res.destroy()));
    server.on("tlsClientError", () => undefined);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => resolve());
    });
    fake.listenPort = (server.address() as AddressInfo).port;
    return fake;
  }

  private listenPort = 0;

  /** The port listened on (still known after close(), so tests can aim at the closed port). */
  get port(): number {
    return this.listenPort;
  }

  /** host:port, the form soda-js and the publisher's `domain` option take. */
  get domain(): string {
    return `127.0.0.1:${this.port}`;
  }

  setRowIdField(dataset: string, field: string): void {
    this.rowIdFields.set(dataset, field);
  }

  rowIdField(dataset: string): string {
    return this.rowIdFields.get(dataset) ?? this.opts.defaultRowIdField ?? "row_id";
  }

  rows(dataset: string): FakeRow[] {
    return [...(this.datasets.get(dataset)?.values() ?? [])];
  }

  count(dataset: string): number {
    return this.datasets.get(dataset)?.size ?? 0;
  }

  /** Answers the next `times` requests with `status` (and a JSON error body). */
  failNext(status: number, times = 1, body?: unknown, timing: FaultTiming = {}): void {
    this.faults.push({ kind: "status", status, remaining: times, body, skip: timing.after ?? 0 });
  }

  /** 429 Too Many Requests with a Retry-After header for the next `times` requests. */
  throttleNext(times = 1, retryAfterSeconds = 1, timing: FaultTiming = {}): void {
    this.faults.push({ kind: "throttle", remaining: times, retryAfterSeconds, skip: timing.after ?? 0 });
  }

  /** The next `times` requests are read but never answered. */
  stallNext(times = 1, timing: FaultTiming = {}): void {
    this.faults.push({ kind: "stall", remaining: times, skip: timing.after ?? 0 });
  }

  /** The next `times` writes are applied but answered 202 Accepted (Socrata's "still processing"). */
  acceptNext(times = 1, timing: FaultTiming = {}): void {
    this.faults.push({ kind: "accepted", remaining: times, skip: timing.after ?? 0 });
  }

  rejectTooLargeNext(times = 1, timing: FaultTiming = {}): void {
    this.faults.push({ kind: "tooLarge", remaining: times, skip: timing.after ?? 0 });
  }

  /** Answers every request this many ms late (to make overlapping requests observable). */
  setDelay(ms: number): void {
    this.delayMs = ms;
  }

  /** Most requests one dataset had in flight at once. */
  maxInFlight(dataset: string): number {
    return this.inFlightMax.get(dataset) ?? 0;
  }

  /** Drops pending faults (rows and recorded requests stay). */
  clearFaults(): void {
    this.faults = [];
  }

  /** Forgets rows, requests and pending faults. */
  reset(): void {
    this.requests.length = 0;
    this.datasets.clear();
    this.faults = [];
    this.inFlightMax.clear();
    this.delayMs = 0;
  }

  async close(): Promise<void> {
    for (const res of this.stalled) res.destroy();
    this.stalled.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // --- Internal helpers ---

  private takeFault(): Fault | undefined {
    const f = this.faults[0];
    if (f && f.skip > 0) {
      f.skip--;
      return undefined;
    }
    if (f) f.remaining--;
    this.faults = this.faults.filter((x) => x.remaining > 0);
    return f;
  }

  private async track(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const dataset = DATASET_PATH.exec(new URL(req.url ?? "/", "https://fake").pathname)?.[1] ?? "";
    const n = (this.inFlight.get(dataset) ?? 0) + 1;
    this.inFlight.set(dataset, n);
    this.inFlightMax.set(dataset, Math.max(n, this.inFlightMax.get(dataset) ?? 0));
    res.on("close", () => this.inFlight.set(dataset, (this.inFlight.get(dataset) ?? 1) - 1));
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    await this.handle(req, res);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "https://fake");
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v === undefined) continue;
      headers[k] = k === "authorization" || k === "x-app-token" ? "<masked>" : String(v);
    }
    const rec: RecordedRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
    };
    let body: unknown;
    if (text.trim() !== "") {
      try {
        body = JSON.parse(text);
      } catch {
        this.requests.push(rec);
        return this.send(res, rec, 400, { code: "invalid_request", error: true, message: "body is not JSON" });
      }
    }
    if (Array.isArray(body)) rec.rows = body.length;
    this.requests.push(rec);

    const fault = this.takeFault();
    if (fault?.kind === "stall") {
      this.stalled.add(res);
      res.on("close", () => this.stalled.delete(res));
      return;
    }
    if (fault?.kind === "status") {
      return this.send(res, rec, fault.status, fault.body ?? { code: "fake_failure", error: true, message: `fake failure ${fault.status}` });
    }
    if (fault?.kind === "throttle") {
      res.setHeader("Retry-After", String(fault.retryAfterSeconds));
      return this.send(res, rec, 429, { code: "too_many_requests", error: true, message: "Too many requests" });
    }
    const tooMany = this.opts.maxRowsPerRequest !== undefined && (rec.rows ?? 0) > this.opts.maxRowsPerRequest;
    if (fault?.kind === "tooLarge" || tooMany) {
      return this.send(res, rec, 413, { code: "request_too_large", error: true, message: "Request entity too large" });
    }

    const auth = this.checkAuth(req, rec.method !== "GET");
    if (auth) return this.send(res, rec, auth.status, auth.body);

    const m = DATASET_PATH.exec(url.pathname);
    if (!m) return this.send(res, rec, 404, { code: "not_found", error: true, message: `no route ${url.pathname}` });
    const dataset = m[1]!;
    const rowId = m[2] ? decodeURIComponent(m[2]) : undefined;
    const accepted = fault?.kind === "accepted";

    if (rec.method === "POST" && rowId === undefined) {
      if (!Array.isArray(body)) return this.send(res, rec, 400, { code: "invalid_request", error: true, message: "upsert body must be a JSON array" });
      const result = this.upsert(dataset, body as FakeRow[]);
      return this.send(res, rec, accepted ? 202 : 200, accepted ? { message: "Request accepted, processing" } : result);
    }
    if (rec.method === "DELETE" && rowId !== undefined) {
      const n = this.datasets.get(dataset)?.delete(rowId) ? 1 : 0;
      return this.send(res, rec, 200, summary(0, 0, n, n, 0, 0));
    }
    if (rec.method === "GET" && rowId === undefined) {
      const answer = this.query(dataset, url.searchParams);
      return this.send(res, rec, answer.status, answer.body);
    }
    return this.send(res, rec, 405, { code: "method_not_allowed", error: true, message: `${rec.method} ${url.pathname} not supported by the fake` });
  }

  private checkAuth(req: IncomingMessage, write: boolean): { status: number; body: unknown } | undefined {
    const cred = this.opts.credentials;
    if (!cred) return undefined;
    const token = req.headers["x-app-token"];
    if (cred.appToken && token !== undefined && token !== cred.appToken) {
      return { status: 403, body: { code: "permission_denied", error: true, message: "Invalid app_token specified" } };
    }
    const header = req.headers.authorization;
    const expected = `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString("base64")}`;
    if (header !== undefined && header !== expected) {
      return { status: 401, body: { code: "authentication_required", error: true, message: "Invalid username or password" } };
    }
    if (write && header === undefined) {
      return { status: 401, body: { code: "authentication_required", error: true, message: "You must be logged in to write" } };
    }
    return undefined;
  }

  private upsert(dataset: string, rows: FakeRow[]): Record<string, number> {
    const field = this.rowIdField(dataset);
    let table = this.datasets.get(dataset);
    if (!table) this.datasets.set(dataset, (table = new Map()));
    let created = 0;
    let updated = 0;
    let deleted = 0;
    let errors = 0;
    for (const row of rows) {
      const id = row[field];
      if (id === undefined || id === null || id === "") {
        errors++;
        continue;
      }
      const key = String(id);
      if (row[":deleted"] === true) {
        if (table.delete(key)) deleted++;
        continue;
      }
      const clean = Object.fromEntries(Object.entries(row).filter(([k]) => !k.startsWith(":")));
      if (table.has(key)) updated++;
      else created++;
      table.set(key, clean);
    }
    return summary(created, updated, deleted, created + updated + deleted, 0, errors);
  }

  private query(dataset: string, params: URLSearchParams): { status: number; body: unknown } {
    let rows = this.rows(dataset);
    const where = params.get("$where");
    if (where) {
      const m = WHERE_EQ.exec(where);
      const inList = m ? null : WHERE_IN.exec(where);
      if (m) rows = rows.filter((r) => String(r[m[1]!]) === m[2]!.replace(/''/g, "'"));
      else if (inList) {
        const wanted = new Set([...inList[2]!.matchAll(/'((?:[^']|'')*)'/g)].map((x) => x[1]!.replace(/''/g, "'")));
        rows = rows.filter((r) => wanted.has(String(r[inList[1]!])));
      } else return { status: 400, body: { code: "query.soql.invalid", error: true, message: `fake: $where ${where} is not understood` } };
    }
    const select = params.get("$select");
    const count = select ? COUNT_SELECT.exec(select) : null;
    if (count) return { status: 200, body: [{ [count[1] ?? "count"]: String(rows.length) }] };
    const order = params.get("$order");
    if (order) {
      const [col, dir] = order.trim().split(/\s+/);
      const sign = dir?.toLowerCase() === "desc" ? -1 : 1;
      rows = [...rows].sort((a, b) => (String(a[col!]) < String(b[col!]) ? -sign : String(a[col!]) > String(b[col!]) ? sign : 0));
    }
    const offset = Number(params.get("$offset") ?? 0);
    const limit = Number(params.get("$limit") ?? 1000);
    return { status: 200, body: rows.slice(offset, offset + limit) };
  }

  private send(res: ServerResponse, rec: RecordedRequest, status: number, body: unknown): void {
    rec.status = status;
    const text = JSON.stringify(body);
    res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(text) });
    res.end(text);
  }
}

function summary(created: number, updated: number, deleted: number, byRowId: number, bySid: number, errors: number): Record<string, number> {
  return {
    "Rows Created": created,
    "Rows Updated": updated,
    "Rows Deleted": deleted,
    "By RowIdentifier": byRowId,
    "By SID": bySid,
    Errors: errors,
  };
}

// --- Dev server ---

function isMain(): boolean {
  const argv1 = process.argv[1];
  if (!argv1) return false;
  try {
    return realpathSync(argv1) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  const args = process.argv.slice(2);
  const arg = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const fake = await SocrataFake.start({ port: Number(arg("--port") ?? 54443), defaultRowIdField: arg("--row-id") ?? "row_id" });
  process.stdout.write(
    `Socrata fake listening on https://${fake.domain} (row id field ${fake.rowIdField("")}; cert ${fake.certPath ?? "given"}; ` +
      `start clients with NODE_EXTRA_CA_CERTS pointing at it)\n`,
  );
  const stop = () => void fake.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
