/**
 * The driver interfaces: vendor I/O only. Retries, timeouts, the per-dataset lock, concurrency limits, timing and the
 * redaction of secrets live in the driver runtime (resilience.ts: one wrapper per interface, driven by the call
 * tables below), never in a driver. Every driver of an interface passes the same conformance suite
 * (test/conformance/), run through that wrapper.
 *
 * Dates cross the driver boundary as epoch milliseconds (instants); the wrappers convert to zoned luxon DateTimes.
 * Drivers classify their failures: TransientError (retryable), TerminalError / NotFoundError (not), ConfigError.
 */
import type { Readable } from "node:stream";

/** What the driver runtime hands every call: the call's deadline as a signal (abort the vendor request on it). */
export interface CallOptions {
  signal?: AbortSignal | undefined;
}

/**
 * How the runtime wraps one method of an interface: `at` is the position of its CallOptions argument; `iterable`
 * methods return an AsyncIterable (the deadline applies to each step, a retry only before the first item);
 * `replayable` says whether a failed call may be sent again (a streamed body cannot); `lock` names the resource
 * the call must hold alone (a publisher's dataset); `what` describes the call's target in messages; `redactArgs`
 * masks secrets in every string of the arguments before the driver sees them (what the call writes is text the lake
 * wrote about itself: block messages, perfmet rows, notifications).
 */
export interface CallSpec {
  at: number;
  redactArgs?: boolean;
  iterable?: boolean;
  replayable?: (args: unknown[]) => boolean;
  lock?: (args: unknown[]) => string;
  what?: (args: unknown[]) => string;
}
export type CallTable = Readonly<Record<string, CallSpec>>;

export interface DriverBase {
  /** Driver name as registered ("local", "s3", "sqlite", ...). */
  readonly driverName: string;
  /** Where the driver's calls go, without credentials ("queue lake-blocks at 127.0.0.1:6379"), for messages. */
  readonly where?: string;
  close?(): Promise<void>;
}

// ---------------------------------------------------------------- storage
export interface ObjectInfo {
  key: string;
  size: number;
  /** Last modification, epoch ms, when the store knows it. */
  modified?: number;
}

export interface StorageCapabilities {
  /** Uploads large bodies in parts. */
  multipart: boolean;
}

export interface StorageDriver extends DriverBase {
  readonly capabilities: StorageCapabilities;
  /** Writes (or overwrites) one object atomically: readers see the old or the new body, never a partial one. */
  put(repository: string, key: string, body: Uint8Array | Readable, opts?: { contentType?: string } & CallOptions): Promise<void>;
  /** Whole object; NotFoundError when missing. */
  get(repository: string, key: string, opts?: CallOptions): Promise<Buffer>;
  /** Streamed object; NotFoundError when missing. */
  getStream(repository: string, key: string, opts?: CallOptions): Promise<Readable>;
  exists(repository: string, key: string, opts?: CallOptions): Promise<boolean>;
  /** Deleting a missing key is not an error. */
  delete(repository: string, key: string, opts?: CallOptions): Promise<void>;
  /** Every object whose key starts with prefix, in ascending key order, however many there are. */
  list(repository: string, prefix: string, opts?: CallOptions): AsyncIterable<ObjectInfo>;
}

const inRepo = (a: unknown[]) => `${String(a[0])}/${String(a[1])}`;
export const STORAGE_CALLS: CallTable = {
  // A streamed body is read once: a failed upload of one is not sent again (the item fails, a rerun redoes it).
  put: { at: 3, what: inRepo, replayable: (a) => a[2] instanceof Uint8Array },
  get: { at: 2, what: inRepo },
  getStream: { at: 2, what: inRepo },
  exists: { at: 2, what: inRepo },
  delete: { at: 2, what: inRepo },
  list: { at: 2, what: inRepo, iterable: true },
};

// ---------------------------------------------------------------- catalog
/** One catalog row. Primary key: (collection_date, repository, data_source, id_base, id_ext). */
export interface CatalogRecord {
  repository: string;
  data_source: string;
  id_base: string;
  id_ext: string;
  /** Storage key (YYYY/MM/DD/<ds>/<file>) or publish target id. */
  pointer: string;
  /** Start of collection, inclusive (epoch ms; usually local midnight). */
  collection_date: number;
  /** End of collection, exclusive; null = collection_date + 1 calendar day. */
  collection_end: number | null;
  processing_date: number | null;
  metadata: Record<string, unknown> | null;
}

export type CatalogKey = Pick<CatalogRecord, "collection_date" | "repository" | "data_source" | "id_base" | "id_ext">;

/** Exact text, or a pattern where "*" matches any run of characters (every other character is literal). */
export type TextFilter = string | { like: string };

export interface CatalogQuery {
  repository: string;
  dataSource: string;
  base?: TextFilter;
  ext?: TextFilter;
  /** collection_date >= early (or == early when exact). */
  early?: number;
  /** collection_date < late. */
  late?: number;
  exact?: boolean;
  /** Order by collection_date, id_base, id_ext. */
  order?: "asc" | "desc";
  /** At most this many rows (forwarded to the server: fixes B4). */
  limit?: number;
}

export interface CatalogCapabilities {
  /** Rows the server returns per request at most; the driver pages past it. */
  maxRowsPerRequest: number;
  /** Rows per upsert request. */
  maxUpsertBatch: number;
}

export interface CatalogDriver extends DriverBase {
  readonly capabilities: CatalogCapabilities;
  /** All matching rows in order, paging internally past the server's row cap (fixes B21). */
  query(q: CatalogQuery, opts?: CallOptions): AsyncIterable<CatalogRecord>;
  /** Insert or update on the primary key; metadata and collection_end are written (fixes B6). */
  upsert(records: CatalogRecord[], opts?: CallOptions): Promise<void>;
  /** Deletes by primary key; returns how many rows went. */
  delete(keys: CatalogKey[], opts?: CallOptions): Promise<number>;
  /**
   * Inserts the row only if its primary key is absent, atomically (INSERT … ON CONFLICT DO NOTHING): true when this
   * call inserted it. Concurrent claimers of one key: exactly one gets true (run-number allocation, entities.ts).
   */
  claim?(record: CatalogRecord, opts?: CallOptions): Promise<boolean>;
}

const rows = (a: unknown[]) => `(${(a[0] as unknown[]).length} rows)`;
export const CATALOG_CALLS: CallTable = {
  query: { at: 1, iterable: true, what: (a) => `${(a[0] as CatalogQuery).repository} ${(a[0] as CatalogQuery).dataSource}` },
  upsert: { at: 1, what: rows },
  delete: { at: 1, what: rows },
  claim: { at: 1, what: (a) => `${(a[0] as CatalogRecord).id_base} ${(a[0] as CatalogRecord).id_ext}` },
};

// ---------------------------------------------------------------- publisher
export type PublishValue = string | number | boolean | null;
export type PublishRow = Record<string, PublishValue>;

export interface PublisherCapabilities {
  /** Rows per upsert request (Socrata: 10,000). */
  maxRowsPerRequest: number;
  supportsDelete: boolean;
}

export interface PublisherDriver extends DriverBase {
  readonly capabilities: PublisherCapabilities;
  /** Upsert by row id: a row whose id exists is replaced, never duplicated. rows is never empty. */
  upsert(dataset: string, rows: PublishRow[], rowIdField: string, opts?: CallOptions): Promise<{ created: number; updated: number }>;
  /** Deletes rows by id; unknown ids are ignored. Returns rows deleted when the target says. */
  delete(dataset: string, rowIds: string[], rowIdField: string, opts?: CallOptions): Promise<number>;
  /** Rows now in the dataset (audit, tests). */
  countRows?(dataset: string, opts?: CallOptions): Promise<number>;
  /** How many of these row ids the dataset holds (the publish audit); unknown ids are not counted. */
  countIds?(dataset: string, rowIds: string[], rowIdField: string, opts?: CallOptions): Promise<number>;
}

const dataset = (a: unknown[]) => String(a[0]);
export const PUBLISHER_CALLS: CallTable = {
  // Writers of one dataset go one at a time, across processes (the runtime's dataset lock).
  upsert: { at: 3, lock: dataset, what: (a) => `${dataset(a)} (${(a[1] as unknown[]).length} rows)` },
  delete: { at: 3, lock: dataset, what: (a) => `${dataset(a)} (${(a[1] as unknown[]).length} row ids)` },
  countRows: { at: 1, lock: dataset, what: dataset },
  countIds: { at: 3, lock: dataset, what: (a) => `${dataset(a)} (${(a[1] as unknown[]).length} row ids)` },
};

// ---------------------------------------------------------------- perfmet
/** One row per run. PK (processing_date, data_source, stage). */
export interface PerfmetJob {
  data_source: string;
  stage: string;
  seconds: number;
  /** Items the run processed (the original's column and meaning). */
  records: number;
  /** Rows of data the run wrote or published; null (or absent) in rows written before the column existed. */
  rows?: number | null;
  processing_date: number;
  collection_start: number | null;
  collection_end: number | null;
}

/** Per sensor per day. PK (collection_date, data_source, data_type, sensor_name). */
export interface PerfmetObs {
  data_source: string;
  sensor_name: string;
  data_type: string;
  data: number | null;
  expected: number | null;
  collection_date: number;
  timestamp_min: number | null;
  timestamp_max: number | null;
}

export interface PerfmetDriver extends DriverBase {
  writeJob(job: PerfmetJob, opts?: CallOptions): Promise<void>;
  /** Upsert on the primary key. */
  writeObs(obs: PerfmetObs[], opts?: CallOptions): Promise<void>;
  /** Jobs with from <= processing_date < to, ordered by data_source, stage, processing_date. */
  readJobs(q: { from: number; to: number }, opts?: CallOptions): Promise<PerfmetJob[]>;
  /** Observations with from <= collection_date < to, ordered by data_type, sensor_name, collection_date. */
  readObs(q: { from: number; to: number; dataSource?: string; dataType?: string }, opts?: CallOptions): Promise<PerfmetObs[]>;
}

export const PERFMET_CALLS: CallTable = {
  writeJob: { at: 1, what: (a) => `job ${(a[0] as PerfmetJob).data_source} ${(a[0] as PerfmetJob).stage}`, redactArgs: true },
  writeObs: { at: 1, what: rows, redactArgs: true },
  readJobs: { at: 1 },
  readObs: { at: 1 },
};

// ---------------------------------------------------------------- unit data
export type UnitDevice = Record<string, string | number | boolean | null>;

/** What a source asks the inventory for: its devices of one type, normalised to its keys (original §6.1). */
export interface DeviceRequest {
  /** The source's code (a local inventory file's section). */
  dataSource: string;
  /** Device type (Knack's sensor type, e.g. BLUETOOTH, RADAR, GRIDSMART). */
  deviceType: string;
  /** Keys of a device, in order. */
  keys: readonly string[];
}

export interface UnitDataDriver extends DriverBase {
  /** The normalised device inventory of one data source, keys in the order the source declares. */
  devices(request: DeviceRequest, opts?: CallOptions): Promise<UnitDevice[]>;
}

export const UNITDATA_CALLS: CallTable = {
  devices: { at: 1, what: (a) => `${(a[0] as DeviceRequest).dataSource} ${(a[0] as DeviceRequest).deviceType}` },
};

// ---------------------------------------------------------------- job queue
/** One job: its id (a job whose id is already queued is not added again), its name and its data. */
export interface QueueJob<D = unknown> {
  id: string;
  name: string;
  data: D;
}

/**
 * What a job handler decides: done; retry (a transient failure: again after backoff while attempts last); fail (at
 * once, to the dead letters); busy (its resource is held elsewhere: again after the queue's busy delay, without
 * using an attempt).
 */
export type JobVerdict = { verdict: "done" } | { verdict: "retry" | "fail" | "busy"; reason: string };

export type JobHandler<D = unknown> = (job: QueueJob<D> & { attempt: number }) => Promise<JobVerdict>;

/** A failed job kept by the queue (terminal failure or attempts used up). */
export interface DeadLetter<D = unknown> extends QueueJob<D> {
  attempts: number;
  reason: string;
  failedAt: number | null;
}

export interface QueueCapabilities {
  /** Jobs outlive this process and reach workers in other processes (lake enqueue / lake worker need it). */
  shared: boolean;
}

export interface QueueConsumer {
  /** Takes no new job, waits for the running ones to finish. */
  close(): Promise<void>;
}

export interface QueueDriver extends DriverBase {
  readonly capabilities: QueueCapabilities;
  /** The queue's name, for messages. */
  readonly queueName: string;
  add(jobs: QueueJob[], opts?: CallOptions): Promise<void>;
  /** Jobs waiting, delayed or running. */
  pending(opts?: CallOptions): Promise<number>;
  deadLetters(opts?: CallOptions): Promise<DeadLetter[]>;
  /** Moves every dead letter back to wait; returns how many. */
  retryDeadLetters(opts?: CallOptions): Promise<number>;
  /**
   * Starts running jobs, `concurrency` at once, and resolves once the queue is reachable and the consumer
   * listens. onError hears the queue's own connection trouble while it runs.
   */
  consume(handler: JobHandler, o: { concurrency: number; onError?: (err: Error) => void }, opts?: CallOptions): Promise<QueueConsumer>;
}

export const QUEUE_CALLS: CallTable = {
  add: { at: 1, what: (a) => `(${(a[0] as unknown[]).length} jobs)` },
  pending: { at: 0 },
  deadLetters: { at: 0 },
  retryDeadLetters: { at: 0 },
  consume: { at: 2 },
};

// ---------------------------------------------------------------- SQL sources
export type SqlDialect = "sqlite" | "postgres" | "mssql";

/** A parameterised-query port onto a source database (day availability and retrieval). */
export interface SqlDriver extends DriverBase {
  readonly dialect: SqlDialect;
  /** Runs one parameterised statement; params are positional and referenced with placeholder(i). */
  query<T extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[], opts?: CallOptions): Promise<T[]>;
}

export const SQL_CALLS: CallTable = { query: { at: 2, what: (a) => String(a[0]).replace(/\s+/g, " ").trim().split(" ").slice(0, 4).join(" ") } };

/** The positional placeholder for parameter i (0-based) in a dialect. */
export function placeholder(dialect: SqlDialect, i: number): string {
  switch (dialect) {
    case "sqlite":
      return "?";
    case "postgres":
      return `$${i + 1}`;
    case "mssql":
      return `@p${i + 1}`;
  }
}
