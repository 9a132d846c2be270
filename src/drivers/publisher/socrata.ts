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
 *      request gets its own Producer.
 * The driver never retries, times out or locks: it classifies failures with the shared HTTP classifier
 * (429/5xx/network → TransientError, 413 → TerminalError, 401/403/404 → ConfigError), aborts a request when the
 * call's signal fires, and the driver runtime does the rest (retries, the deadline, one writer per dataset).
 */
import { createRequire } from "node:module";
import { defineDriver } from "../define.js";
import { socrataOptions, type SocrataOptions, SOCRATA_ROWS_PER_UPSERT } from "../options.js";
import type { CallOptions, PublisherDriver, PublishRow } from "../../support/drivers.js";
import { ConfigError, httpStatusError, TerminalError, TransientError } from "../../support/errors.js";

export const DRIVER_NAME = "socrata";

export { SOCRATA_ROWS_PER_UPSERT, socrataOptions };

/** Dataset ids go into the URL path: a Socrata 4x4 ("i626-g7ub") or a test name ("i626-g7ub-test"). */
const DATASET_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;


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
  where(...w: string[]): SodaQuery;
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
  countRows(dataset: string, opts?: CallOptions): Promise<number>;
  countIds(dataset: string, rowIds: string[], rowIdField: string, opts?: CallOptions): Promise<number>;
}

export function createSocrataPublisher(options: SocrataOptions, credentials: SocrataCredentials): SocrataPublisher {
  const { domain, rowsPerUpsert } = options;
  const sodaOpts = { username: credentials.username, password: credentials.password, ...(credentials.appToken ? { apiToken: credentials.appToken } : {}) };

  /** Sends one request through soda-js with a handler of our own; settles exactly once, aborts on the signal. */
  function send(
    what: string,
    connection: SodaConnection,
    opts: { method: string; path: string; query?: Record<string, string> },
    data: unknown,
    signal: AbortSignal | undefined,
  ): Promise<SodaAnswer> {
    return new Promise<SodaAnswer>((resolve, reject) => {
      let settled = false;
      let request: SuperagentRequest | undefined;
      const onAbort = () => {
        finish(() => reject(signal!.reason));
        try {
          request?.abort();
        } catch {
          // the socket may already be gone
        }
      };
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener("abort", onAbort);
        fn();
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
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
      const e = httpStatusError(`socrata: ${what} on ${domain}`, answer, {
        tooLarge: `lower the publisher's rowsPerUpsert (now ${rowsPerUpsert})`,
        credentials: "check SOCRATA_USERNAME, SOCRATA_PASSWORD and SOCRATA_APP_TOKEN and the account's rights on the dataset",
        notFound: "no such dataset: check the dataset id in the publisher config",
      });
      if (e) throw e;
      return answer;
    });
  }

  async function upsertChunk(dataset: string, rows: object[], what: string, signal: AbortSignal | undefined): Promise<Record<string, number>> {
    const producer = new soda.Producer(domain, sodaOpts);
    const answer = await send(what, producer.connection, { method: "post", path: `/resource/${dataset}` }, rows, signal);
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

    async upsert(dataset, rows, rowIdField, opts) {
      checkDataset(dataset);
      if (rows.length === 0) return { created: 0, updated: 0 }; // never an empty batch (fixes B35)
      rows.forEach((row: PublishRow, i) => {
        const id = row[rowIdField];
        if (id === undefined || id === null || id === "") {
          throw new TerminalError(`socrata: upsert into ${dataset}: row ${i} has no value in row id field "${rowIdField}"`);
        }
      });
      let created = 0;
      let updated = 0;
      for (let i = 0; i < rows.length; i += rowsPerUpsert) {
        const chunk = rows.slice(i, i + rowsPerUpsert);
        const r = await upsertChunk(dataset, chunk, `upsert of ${chunk.length} rows into ${dataset}`, opts?.signal);
        created += Number(r["Rows Created"] ?? 0);
        updated += Number(r["Rows Updated"] ?? 0);
      }
      return { created, updated };
    },

    async delete(dataset, rowIds, rowIdField, opts) {
      checkDataset(dataset);
      if (rowIds.length === 0) return 0;
      let deleted = 0;
      for (let i = 0; i < rowIds.length; i += rowsPerUpsert) {
        const chunk = rowIds.slice(i, i + rowsPerUpsert).map((id) => ({ [rowIdField]: id, ":deleted": true }));
        const r = await upsertChunk(dataset, chunk, `delete of ${chunk.length} rows from ${dataset}`, opts?.signal);
        deleted += Number(r["Rows Deleted"] ?? 0);
      }
      return deleted;
    },

    async countIds(dataset, rowIds, rowIdField, opts) {
      checkDataset(dataset);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(rowIdField)) throw new TerminalError(`socrata: row id field ${JSON.stringify(rowIdField)} is not a column name`);
      let found = 0;
      // SoQL `count(*)` over `id in (...)`, in chunks that keep the address short.
      for (let i = 0; i < rowIds.length; i += IDS_PER_COUNT) {
        const list = rowIds.slice(i, i + IDS_PER_COUNT).map((id) => `'${String(id).replace(/'/g, "''")}'`);
        const consumer = new soda.Consumer(domain, sodaOpts);
        const query = consumer.query().withDataset(dataset).select("count(*) as count").where(`${rowIdField} in (${list.join(",")})`).getOpts();
        const answer = await send(`row count of ${list.length} ids in ${dataset}`, consumer.connection, query, undefined, opts?.signal);
        found += countOf(answer.body, dataset);
      }
      return found;
    },

    async countRows(dataset, opts) {
      checkDataset(dataset);
      const consumer = new soda.Consumer(domain, sodaOpts);
      const query = consumer.query().withDataset(dataset).select("count(*) as count").getOpts();
      const answer = await send(`row count of ${dataset}`, consumer.connection, query, undefined, opts?.signal);
      return countOf(answer.body, dataset);
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

/** Row ids per SoQL count query of countIds. */
const IDS_PER_COUNT = 200;

/** The number of a `count(*) as count` answer. */
function countOf(body: unknown, dataset: string): number {
  const first = Array.isArray(body) ? (body[0] as Record<string, unknown> | undefined) : undefined;
  const n = Number(first?.count ?? Number.NaN);
  if (!Number.isFinite(n)) throw new TerminalError(`socrata: row count of ${dataset}: unexpected answer ${JSON.stringify(body).slice(0, 200)}`);
  return n;
}

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
