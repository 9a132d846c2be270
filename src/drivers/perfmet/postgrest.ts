/**
 * Perfmet on PostgREST (original §5): tables etl_perfmet_job and etl_perfmet_obs, or their "_test" twins when the
 * run is a debug run (the original wrote debug runs into production, B24). Reads page past the server's max-rows
 * cap (B21). The JWT comes from the secret CATALOG_KEY (as in the original) unless keySecret names another.
 */
import { defineDriver } from "../define.js";
import { postgrestPerfmetOptions, type PostgrestPerfmetOptions } from "../options.js";
import type { CallOptions, PerfmetDriver, PerfmetJob, PerfmetObs } from "../../support/drivers.js";
import { TerminalError } from "../../support/errors.js";
import {
  abortable,
  chunked,
  fromIso,
  fromIsoOrNull,
  isoOrNull,
  pagedSelect,
  postgrestClient,
  postgrestError,
  sendFindingRejectedRow,
  toIso,
  type PostgrestFailure,
} from "../utils/postgrest.js";
import { obsKey, perfmetTables } from "./tables.js";

export const DRIVER_NAME = "postgrest";
const JOB_KEY = "processing_date,data_source,stage";
const OBS_KEY = "collection_date,data_source,data_type,sensor_name";
const JOB_COLUMNS = "data_source,stage,seconds,records,rows,processing_date,collection_start,collection_end";
const OBS_COLUMNS = "data_source,sensor_name,data_type,data,expected,collection_date,timestamp_min,timestamp_max";


/** A row as PostgREST sends it: timestamps as ISO text. */
type JobRow = Omit<PerfmetJob, "processing_date" | "collection_start" | "collection_end"> & {
  processing_date: string;
  collection_start: string | null;
  collection_end: string | null;
};
type ObsRow = Omit<PerfmetObs, "collection_date" | "timestamp_min" | "timestamp_max"> & {
  collection_date: string;
  timestamp_min: string | null;
  timestamp_max: string | null;
};

export class PostgrestPerfmet implements PerfmetDriver {
  readonly driverName = DRIVER_NAME;
  readonly names: { job: string; obs: string };
  readonly #client;

  constructor(
    readonly options: PostgrestPerfmetOptions,
    token: string | undefined,
    debug: boolean,
  ) {
    this.names = perfmetTables(debug, { job: options.jobTable, obs: options.obsTable });
    this.#client = postgrestClient({ url: options.url, schema: options.schema, token });
  }

  async writeJob(job: PerfmetJob, opts?: CallOptions): Promise<void> {
    _checkDates("job", 0, job, ["processing_date", "collection_start", "collection_end"]);
    const row = {
      ...job,
      processing_date: toIso(job.processing_date),
      collection_start: isoOrNull(job.collection_start),
      collection_end: isoOrNull(job.collection_end),
    };
    const res = await abortable(this.#client.from(this.names.job).upsert(row, { onConflict: JOB_KEY }), opts?.signal);
    if (res.error) throw this.#error("write job", this.names.job, `${job.data_source}/${job.stage}`, res as PostgrestFailure);
  }

  async writeObs(obs: PerfmetObs[], opts?: CallOptions): Promise<void> {
    obs.forEach((o, i) => _checkDates("observation", i, o, ["collection_date", "timestamp_min", "timestamp_max"]));
    const byKey = new Map<string, { index: number; row: Record<string, unknown> }>();
    obs.forEach((o, index) =>
      byKey.set(obsKey(o), {
        index,
        row: { ...o, collection_date: toIso(o.collection_date), timestamp_min: isoOrNull(o.timestamp_min), timestamp_max: isoOrNull(o.timestamp_max) },
      }),
    );
    for (const batch of chunked([...byKey.values()], this.options.upsertBatch)) {
      await sendFindingRejectedRow(
        batch,
        async (rows) => {
          const res = await abortable(this.#client.from(this.names.obs).upsert(rows, { onConflict: OBS_KEY }), opts?.signal);
          return res.error ? (res as PostgrestFailure) : null;
        },
        (f, culprit) =>
          culprit
            ? new TerminalError(
                `postgrest perfmet: observation ${culprit.index} (sensor ${JSON.stringify(culprit.row.sensor_name)}, ` +
                  `${culprit.row.data_type}, ${culprit.row.collection_date}) refused by ${this.options.url}: HTTP ${f.status} ${f.error.code ?? ""}: ${f.error.message}`,
              )
            : this.#error("write observations", this.names.obs, `${batch.length} rows`, f),
      );
    }
  }

  async readJobs(q: { from: number; to: number }, opts?: CallOptions): Promise<PerfmetJob[]> {
    const out: PerfmetJob[] = [];
    const page = async (offset: number, count: number) => {
      const res = await abortable(this.#client.from(this.names.job).select(JOB_COLUMNS), opts?.signal)
        .gte("processing_date", toIso(q.from))
        .lt("processing_date", toIso(q.to))
        .order("data_source")
        .order("stage")
        .order("processing_date")
        .range(offset, offset + count - 1);
      if (res.error) throw this.#error("read jobs", this.names.job, "", res as PostgrestFailure);
      return (res.data ?? []) as unknown as JobRow[];
    };
    for await (const r of pagedSelect(page, this.options.pageSize)) {
      out.push({
        data_source: r.data_source,
        stage: r.stage,
        seconds: r.seconds,
        records: r.records,
        rows: r.rows ?? null,
        processing_date: fromIso(r.processing_date),
        collection_start: fromIsoOrNull(r.collection_start),
        collection_end: fromIsoOrNull(r.collection_end),
      });
    }
    return out;
  }

  async readObs(q: { from: number; to: number; dataSource?: string; dataType?: string }, opts?: CallOptions): Promise<PerfmetObs[]> {
    const out: PerfmetObs[] = [];
    const page = async (offset: number, count: number) => {
      let b = this.#client
        .from(this.names.obs)
        .select(OBS_COLUMNS)
        .gte("collection_date", toIso(q.from))
        .lt("collection_date", toIso(q.to));
      if (q.dataSource !== undefined) b = b.eq("data_source", q.dataSource);
      if (q.dataType !== undefined) b = b.eq("data_type", q.dataType);
      const res = await abortable(b, opts?.signal).order("data_type").order("sensor_name").order("collection_date").range(offset, offset + count - 1);
      if (res.error) throw this.#error("read observations", this.names.obs, "", res as PostgrestFailure);
      return (res.data ?? []) as unknown as ObsRow[];
    };
    for await (const r of pagedSelect(page, this.options.pageSize)) {
      out.push({
        data_source: r.data_source,
        sensor_name: r.sensor_name,
        data_type: r.data_type,
        data: r.data,
        expected: r.expected,
        collection_date: fromIso(r.collection_date),
        timestamp_min: fromIsoOrNull(r.timestamp_min),
        timestamp_max: fromIsoOrNull(r.timestamp_max),
      });
    }
    return out;
  }

  #error(op: string, table: string, where: string, f: PostgrestFailure): Error {
    return postgrestError("postgrest perfmet", op, `${table}${where ? ` ${where}` : ""}`, this.options.url, this.options.keySecret, f);
  }
}

export default defineDriver({
  options: postgrestPerfmetOptions,
  create: (o, ctx) => new PostgrestPerfmet(o, ctx.secrets.get(o.keySecret), ctx.debug),
});

// --- Internal helpers ---

/** Refuses a row whose dates are not epoch milliseconds, naming it, before anything is sent. */
function _checkDates<T extends object>(what: string, i: number, row: T, fields: (keyof T & string)[]): void {
  fields.forEach((f, n) => {
    const v = row[f] as unknown;
    if (n > 0 && v === null) return;
    if (typeof v !== "number" || Number.isNaN(new Date(v).getTime())) {
      throw new TerminalError(`postgrest perfmet: ${what} ${i}: ${f} must be epoch milliseconds, got ${JSON.stringify(v)}`);
    }
  });
}

