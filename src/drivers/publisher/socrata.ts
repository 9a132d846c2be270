/**
 * Socrata publisher on soda-js: upsert and delete by row id against a SODA 2 dataset (`/resource/{id}`).
 *
 * soda-js 0.2.3 builds the request (https URL, X-App-Token, basic auth, JSON body, SoQL query) and sends it
 * through superagent. Its default response handler has three defects this driver avoids by handing every request
 * its own handler (`connection.networker(opts, data)(handler)`), never using the shared emitter:
 *   1. a network/TLS error leaves `response` undefined and the handler throws an uncaught TypeError from a
 *      superagent callback: here the error reaches our handler and becomes a TransientError;
 *   2. on HTTP 202 it schedules a retry that crashes 5 s later (`this.consumer` is undefined): here 202 means
 *      "accepted" and nothing is scheduled;
 *   3. the emitter lives on the connection, so concurrent operations on one Producer clobber each other: here each
 *      request gets its own Producer, and operations on one dataset run one at a time.
 * The driver never retries: it classifies failures (429/5xx/timeout/network → TransientError, 413 → TerminalError,
 * 401/403/404 → ConfigError) and the framework's withRetry does the rest.
 */
import { createRequire } from "node:module";
import * as z from "zod/mini";
import { defineDriver } from "../define.js";
import type { PublisherDriver, PublishRow } from "../../support/drivers.js";
import { ConfigError, TerminalError, TransientError } from "../../support/errors.js";

export const DRIVER_NAME = "socrata";

/** Rows per SODA upsert request: the original's SOC_CHUNK and Socrata's recommended upper bound per request. */
export const SOCRATA_ROWS_PER_UPSERT = 10_000;

/** What soda-js's Connection.constructor accepts as a data site. */
const DATA_SITE = /^[a-z0-9-_.]+(:[0-9]+)?$/i;
/** Dataset ids go into the URL path: a Socrata 4x4 ("i626-g7ub") or a test name ("i626-g7ub-test"). */
const DATASET_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export const socrataOptions = z.strictObject({
  /** Data site, host[:port], without scheme (soda-js always uses https). @example "data.austintexas.gov" */
  domain: z
    .string()
    .check(z.regex(DATA_SITE, "a host name with an optional :port, no scheme or path (e.g. data.austintexas.gov)")),
  /** A request with no answer within this many ms fails with a TransientError. @default 120000 */
  timeoutMs: z._default(z.int().check(z.positive()), 120_000),
  /** Rows per upsert request (lower it when Socrata answers 413). @default 10000 */
  rowsPerUpsert: z._default(z.int().check(z.positive(), z.maximum(SOCRATA_ROWS_PER_UPSERT)), SOCRATA_ROWS_PER_UPSERT),
});
export type SocrataOptions = z.infer<typeof socrataOptions>;

export interface SocrataCredentials {
  username: string;
  password: string;
  appToken?: string;
}

// --- soda-js surface used (the package ships no types) ---
interface SuperagentResponse {
  status: number;
  header: Record<string, string | undefined>;
  body: unknown;
  text?: string;
}
interface SuperagentRequest {
  abort(): void;
}
type Handler = (err: (Error & { code?: string }) | null, res?: SuperagentResponse) => void;
interface SodaConnection {
  networker(opts: { method: string; path: string; query?: Record<string, string> }, data?: unknown): (handler: Handler) => SuperagentRequest;
}
interface SodaQuery {
  withDataset(id: string): SodaQuery;
  select(...s: string[]): SodaQuery;
  getOpts(): { method: string; path: string; query?: Record<string, string> };
}
interface SodaModule {
  Producer: new (site: string, opts: object) => { connection: SodaConnection };
  Consumer: new (site: string, opts: object) => { connection: SodaConnection; query(): SodaQuery };
}
const soda = createRequire(import.meta.url)("soda-js") as SodaModule;

interface SodaAnswer {
  status: number;
  body: unknown;
  /** The Retry-After header, when the server sent one. */
  retryAfter?: string | undefined;
}

export interface SocrataPublisher extends PublisherDriver {
  countRows(dataset: string): Promise<number>;
}

export function createSocrataPublisher(options: SocrataOptions, credentials: SocrataCredentials): SocrataPublisher {
  const { domain, timeoutMs, rowsPerUpsert } = options;
  const sodaOpts = { username: credentials.username, password: credentials.password, ...(credentials.appToken ? { apiToken: credentials.appToken } : {}) };
  const locks = new Map<string, Promise<unknown>>();

  /** One operation at a time per dataset (a second upsert waits for the first). */
  function exclusive<T>(dataset: string, fn: () => Promise<T>): Promise<T> {
    const run = (locks.get(dataset) ?? Promise.resolve()).then(fn, fn);
    locks.set(dataset, run.catch(() => undefined));
    return run;
  }

  /** Sends one request through soda-js with a handler of our own; settles exactly once, aborts on timeout. */
  function send(what: string, connection: SodaConnection, opts: { method: string; path: string; query?: Record<string, string> }, data?: unknown): Promise<SodaAnswer> {
    return new Promise<SodaAnswer>((resolve, reject) => {
      let settled = false;
      let request: SuperagentRequest | undefined;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
      };
      const timer = setTimeout(() => {
        finish(() => reject(new TransientError(`socrata: ${what} on ${domain}: no answer within ${timeoutMs} ms (timeoutMs); the request was abandoned`)));
        try {
          request?.abort();
        } catch {
          // the socket may already be gone
        }
      }, timeoutMs);
      try {
        request = connection.networker(opts, data)((err, res) => {
          if (res && typeof res.status === "number") {
            finish(() => resolve({ status: res.status, body: res.body ?? res.text, retryAfter: res.header?.["retry-after"] }));
          } else {
            finish(() => reject(networkError(what, domain, err)));
          }
        });
      } catch (err) {
        finish(() => reject(networkError(what, domain, err as Error)));
      }
    }).then((answer) => {
      const e = classifyStatus(what, domain, answer, rowsPerUpsert);
      if (e) throw e;
      return answer;
    });
  }

  async function upsertChunk(dataset: string, rows: object[], what: string): Promise<Record<string, number>> {
    const producer = new soda.Producer(domain, sodaOpts);
    const answer = await send(what, producer.connection, { method: "post", path: `/resource/${dataset}` }, rows);
    if (answer.status === 202) return {}; // accepted, still processing: Socrata applies it later
    const result = (answer.body ?? {}) as Record<string, number>;
    if (Number(result.Errors ?? 0) > 0) {
      throw new TerminalError(
        `socrata: ${what}: Socrata rejected ${result.Errors} of ${rows.length} rows: check that every row carries the dataset's row identifier and matches its columns`,
      );
    }
    return result;
  }

  return {
    driverName: DRIVER_NAME,
    capabilities: { maxRowsPerRequest: rowsPerUpsert, supportsDelete: true },

    async upsert(dataset, rows, rowIdField) {
      checkDataset(dataset);
      if (rows.length === 0) return { created: 0, updated: 0 }; // never an empty batch (fixes B35)
      rows.forEach((row: PublishRow, i) => {
        const id = row[rowIdField];
        if (id === undefined || id === null || id === "") {
          throw new TerminalError(`socrata: upsert into ${dataset}: row ${i} has no value in row id field "${rowIdField}"`);
        }
      });
      return exclusive(dataset, async () => {
        let created = 0;
        let updated = 0;
        for (let i = 0; i < rows.length; i += rowsPerUpsert) {
          const chunk = rows.slice(i, i + rowsPerUpsert);
          const r = await upsertChunk(dataset, chunk, `upsert of ${chunk.length} rows into ${dataset}`);
          created += Number(r["Rows Created"] ?? 0);
          updated += Number(r["Rows Updated"] ?? 0);
        }
        return { created, updated };
      });
    },

    async delete(dataset, rowIds, rowIdField) {
      checkDataset(dataset);
      if (rowIds.length === 0) return 0;
      return exclusive(dataset, async () => {
        let deleted = 0;
        for (let i = 0; i < rowIds.length; i += rowsPerUpsert) {
          const chunk = rowIds.slice(i, i + rowsPerUpsert).map((id) => ({ [rowIdField]: id, ":deleted": true }));
          const r = await upsertChunk(dataset, chunk, `delete of ${chunk.length} rows from ${dataset}`);
          deleted += Number(r["Rows Deleted"] ?? 0);
        }
        return deleted;
      });
    },

    async countRows(dataset) {
      checkDataset(dataset);
      const consumer = new soda.Consumer(domain, sodaOpts);
      const opts = consumer.query().withDataset(dataset).select("count(*) as count").getOpts();
      const answer = await send(`row count of ${dataset}`, consumer.connection, opts);
      const first = Array.isArray(answer.body) ? (answer.body[0] as Record<string, unknown> | undefined) : undefined;
      const n = Number(first?.count ?? Number.NaN);
      if (!Number.isFinite(n)) throw new TerminalError(`socrata: row count of ${dataset}: unexpected answer ${JSON.stringify(answer.body).slice(0, 200)}`);
      return n;
    },
  };
}

export default defineDriver({
  options: socrataOptions,
  create(options, ctx) {
    const username = ctx.secrets.require("SOCRATA_USERNAME", `Socrata publisher for ${options.domain}`);
    const password = ctx.secrets.require("SOCRATA_PASSWORD", `Socrata publisher for ${options.domain}`);
    const appToken = ctx.secrets.get("SOCRATA_APP_TOKEN");
    return createSocrataPublisher(options, { username, password, ...(appToken ? { appToken } : {}) });
  },
});

// --- Internal helpers ---

function checkDataset(dataset: string): void {
  if (!DATASET_ID.test(dataset)) {
    throw new ConfigError(`socrata: dataset "${dataset}" is not a Socrata resource id (e.g. i626-g7ub): check the publisher's datasets config`);
  }
}

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|TLS|SSL/i;

function networkError(what: string, domain: string, err: (Error & { code?: string }) | null | undefined): TransientError {
  const code = err?.code ?? "";
  const detail = err?.message ?? "no response";
  const hint = TLS_CODES.test(code) || TLS_CODES.test(detail)
    ? "the TLS handshake failed: check the domain's certificate (for a local fake, start the process with NODE_EXTRA_CA_CERTS pointing at its cert)"
    : "check the network and that the domain is right";
  return new TransientError(`socrata: ${what} on ${domain}: ${code ? `${code} ` : ""}${detail}; ${hint}`, { cause: err ?? undefined });
}

function serverMessage(body: unknown): string {
  if (body && typeof body === "object" && "message" in body) return String((body as { message: unknown }).message);
  if (typeof body === "string") return body.slice(0, 300);
  return JSON.stringify(body ?? null).slice(0, 300);
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

function classifyStatus(what: string, domain: string, answer: SodaAnswer, rowsPerUpsert: number): Error | undefined {
  const { status, body, retryAfter } = answer;
  if (status < 400) return undefined;
  const where = `socrata: ${what} on ${domain}: HTTP ${status} ${serverMessage(body)}`;
  if (status === 429) {
    const ms = retryAfterMs(retryAfter);
    return new TransientError(`${where}: throttled${ms !== undefined ? `, retry after ${ms} ms` : ""}`, ms !== undefined ? { retryAfterMs: ms } : {});
  }
  if (status >= 500 || status === 408) return new TransientError(`${where}: server error, retrying may help`);
  if (status === 413) return new TerminalError(`${where}: the request is too large: lower the publisher's rowsPerUpsert (now ${rowsPerUpsert})`);
  if (status === 401 || status === 403) {
    return new ConfigError(`${where}: credentials refused: check SOCRATA_USERNAME, SOCRATA_PASSWORD and SOCRATA_APP_TOKEN and the account's rights on the dataset`);
  }
  if (status === 404) return new ConfigError(`${where}: no such dataset: check the dataset id in the publisher config`);
  return new TerminalError(`${where}: refused`);
}
