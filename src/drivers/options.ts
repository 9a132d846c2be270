/**
 * Every driver's options schema (zod/mini), apart from its driver so the registry can check a configuration's
 * options when it is loaded without importing any vendor SDK. A driver file imports its schema from here.
 * Timeouts, retries and concurrency are not driver options: they are the runtime's, set beside `driver` in a
 * spec (`publisher: {driver: socrata, timeoutMs: 120000, options: {...}}`).
 */
import * as z from "zod/mini";

/**
 * A schema built on first use, not when this module loads: a command checks the options of the drivers its
 * configuration names (a few of these 24 schemas), and building them all cost about 0.5 MiB and some ms at the start
 * of every process. The proxy forwards every operation to the schema once made.
 */
function lazy<T extends object>(make: () => T): T {
  let made: T | undefined;
  const real = (): T => (made ??= make());
  return new Proxy(Object.create(null) as T, {
    get: (_t, key) => Reflect.get(real(), key),
    set: (_t, key, value) => Reflect.set(real(), key, value),
    has: (_t, key) => Reflect.has(real(), key),
    ownKeys: () => Reflect.ownKeys(real()),
    getOwnPropertyDescriptor: (_t, key) => {
      const d = Reflect.getOwnPropertyDescriptor(real(), key);
      return d ? { ...d, configurable: true } : undefined;
    },
    defineProperty: (_t, key, d) => Reflect.defineProperty(real(), key, d),
    deleteProperty: (_t, key) => Reflect.deleteProperty(real(), key),
    getPrototypeOf: () => Reflect.getPrototypeOf(real()),
  });
}

// ---------------------------------------------------------------- storage

/** S3's smallest multipart part (except the last). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;

export const localStorageOptions = lazy(() =>
  z.strictObject({
    /** Folder holding one sub-folder per repository (default <home>/lake). */
    root: z.optional(z.string()),
  }),
);

export const memoryStorageOptions = lazy(() =>
  z.strictObject({}),
);

export const s3Options = lazy(() =>
  z.strictObject({
    /** Custom endpoint for S3-compatible servers, e.g. "http://127.0.0.1:58080"; omit for AWS. */
    endpoint: z.optional(z.url()),
    /** @default "us-east-1" */
    region: z._default(z.string().check(z.minLength(1)), "us-east-1"),
    /** Path-style URLs (endpoint/bucket/key); most non-AWS servers need it. @default false */
    forcePathStyle: z._default(z.boolean(), false),
    /** Bucket name = bucketPrefix + repository. @default "" */
    bucketPrefix: z._default(z.string(), ""),
    /** WHEN_SUPPORTED (AWS default: CRC32 headers, aws-chunked streams) or WHEN_REQUIRED (older S3 servers). */
    checksumMode: z._default(z.enum(["WHEN_SUPPORTED", "WHEN_REQUIRED"]), "WHEN_SUPPORTED"),
    /** Adds Content-MD5 to DeleteObjects (Swift, Ceph, older MinIO refuse it without). @default false */
    contentMd5ForDeletes: z._default(z.boolean(), false),
    /** Create a missing bucket on first use instead of failing with a ConfigError. @default false */
    createBuckets: z._default(z.boolean(), false),
    /** Bodies larger than this, and every stream, go up in parts of this size. @default 8 MiB */
    partSize: z._default(z.int().check(z.minimum(MIN_PART_SIZE)), 8 * 1024 * 1024),
    /** Parts uploaded at once per object. @default 4 */
    queueSize: z._default(z.int().check(z.minimum(1), z.maximum(32)), 4),
  }),
);
export type S3Options = z.infer<typeof s3Options>;

// ---------------------------------------------------------------- catalog

/** Columns of a catalog row: a PostgreSQL statement holds at most 65,535 parameters. */
export const CATALOG_COLUMNS = ["repository", "data_source", "id_base", "id_ext", "pointer", "collection_date", "collection_end", "processing_date", "metadata"] as const;
const MAX_BATCH = Math.floor(65_535 / CATALOG_COLUMNS.length);

export const sqliteCatalogOptions = lazy(() =>
  z.strictObject({
    /** Database file (default <home>/catalog.sqlite). */
    path: z.optional(z.string()),
  }),
);

export const memoryCatalogOptions = lazy(() =>
  z.strictObject({ maxRowsPerRequest: z.optional(z.int().check(z.positive())) }),
);

export const postgresCatalogOptions = lazy(() =>
  z.strictObject({
    /** postgres://user:password@host:5432/database; else the secret CATALOG_PG_URL, then PG_URL. */
    connectionString: z.optional(z.string().check(z.minLength(1))),
    /** @default "api" */
    schema: z._default(z.string().check(z.minLength(1)), "api"),
    /** @default "data_lake_cat" */
    table: z._default(z.string().check(z.minLength(1)), "data_lake_cat"),
    /** Rows fetched per statement while paging. @default 1000 */
    pageSize: z._default(z.int().check(z.minimum(1)), 1000),
    /** Rows per INSERT statement. @default 1000 */
    upsertBatch: z._default(z.int().check(z.minimum(1), z.maximum(MAX_BATCH)), 1000),
    /** Create the schema and table when missing (the login needs CREATE). @default false */
    ensureSchema: z._default(z.boolean(), false),
    /** Pool size. @default 4 */
    maxConnections: z._default(z.int().check(z.minimum(1)), 4),
  }),
);
export type PostgresCatalogOptions = z.infer<typeof postgresCatalogOptions>;

/** Connection options every PostgREST driver takes (catalog, perfmet). */
export const postgrestConnectionOptions = lazy(() =>
  z.object({
    /** PostgREST base URL, e.g. "https://data.example.org/api" or "http://127.0.0.1:53000". */
    url: z.url(),
    /** Schema (PostgREST profile); omit for the server's default schema. */
    schema: z.optional(z.string().check(z.minLength(1))),
    /** Rows asked for per read request; catalog reads shrink it to the server's max-rows cap when they meet one. @default 1000 */
    pageSize: z._default(z.int().check(z.minimum(1)), 1000),
    /** Rows per upsert request. @default 1000 */
    upsertBatch: z._default(z.int().check(z.minimum(1)), 1000),
    /** Secret holding the JWT (writes need a writer role). @default "CATALOG_KEY" */
    keySecret: z._default(z.string().check(z.minLength(1)), "CATALOG_KEY"),
  }),
);

export const postgrestCatalogOptions = lazy(() =>
  z.strictObject({
    ...postgrestConnectionOptions.shape,
    /** @default "data_lake_cat" */
    table: z._default(z.string().check(z.minLength(1)), "data_lake_cat"),
  }),
);
export type PostgrestCatalogOptions = z.infer<typeof postgrestCatalogOptions>;

// ---------------------------------------------------------------- perfmet

export const sqlitePerfmetOptions = lazy(() =>
  z.strictObject({ path: z.optional(z.string()) }),
);

export const memoryPerfmetOptions = lazy(() =>
  z.strictObject({}),
);

export const postgrestPerfmetOptions = lazy(() =>
  z.strictObject({
    ...postgrestConnectionOptions.shape,
    /** Job table; debug runs use `<jobTable>_test`. @default "etl_perfmet_job" */
    jobTable: z._default(z.string().check(z.minLength(1)), "etl_perfmet_job"),
    /** Observation table; debug runs use `<obsTable>_test`. @default "etl_perfmet_obs" */
    obsTable: z._default(z.string().check(z.minLength(1)), "etl_perfmet_obs"),
  }),
);
export type PostgrestPerfmetOptions = z.infer<typeof postgrestPerfmetOptions>;

// ---------------------------------------------------------------- publisher

/** Rows per SODA upsert request: the original's SOC_CHUNK and Socrata's recommended upper bound per request. */
export const SOCRATA_ROWS_PER_UPSERT = 10_000;
/** What soda-js's Connection.constructor accepts as a data site. */
const DATA_SITE = /^[a-z0-9-_.]+(:[0-9]+)?$/i;

export const csvPublisherOptions = lazy(() =>
  z.strictObject({
    /** Folder of the dataset files; relative paths resolve against the config's folder. @default <home>/published */
    dir: z.optional(z.string()),
    /** Rows per upsert call the framework sends (each call makes at most one pass over the file). @default 10000 */
    maxRowsPerRequest: z._default(z.int().check(z.positive()), 10_000),
  }),
);

export const memoryPublisherOptions = lazy(() =>
  z.strictObject({
    /** Rows per upsert request the driver accepts (tests lower it to exercise chunking). */
    maxRowsPerRequest: z._default(z.int().check(z.positive()), 10_000),
  }),
);

export const socrataOptions = lazy(() =>
  z.strictObject({
    /** Data site, host[:port], without scheme (soda-js always uses https). @example "data.austintexas.gov" */
    domain: z
      .string()
      .check(z.regex(DATA_SITE, "a host name with an optional :port, no scheme or path (e.g. data.austintexas.gov)")),
    /** Rows per upsert request (lower it when Socrata answers 413). @default 10000 */
    rowsPerUpsert: z._default(z.int().check(z.positive(), z.maximum(SOCRATA_ROWS_PER_UPSERT)), SOCRATA_ROWS_PER_UPSERT),
  }),
);
export type SocrataOptions = z.infer<typeof socrataOptions>;

// ---------------------------------------------------------------- unit data

/** Knack's largest page. */
export const KNACK_MAX_ROWS_PER_PAGE = 1000;
const fieldKey = z.string().check(z.regex(/^field_\d+$/, "a Knack field key such as field_884"));
const fieldMap = z._default(z.record(z.string(), fieldKey), {});

export const localUnitDataOptions = lazy(() =>
  z.strictObject({
    /** The inventory file; relative paths resolve against the config's folder. @default <home>/sources/inventory.json */
    path: z.optional(z.string()),
  }),
);

export const knackOptions = lazy(() =>
  z.strictObject({
    /** Knack API base URL. @default "https://api.knack.com" */
    baseUrl: z._default(z.url(), "https://api.knack.com"),
    /** Records per page (Knack allows at most 1000). @default 1000 */
    rowsPerPage: z._default(z.int().check(z.positive(), z.maximum(KNACK_MAX_ROWS_PER_PAGE)), KNACK_MAX_ROWS_PER_PAGE),
    /** The locations object. `fields` maps a label to its field key (label → "field_N"); unmapped labels come from the app metadata. */
    locations: z.prefault(z.strictObject({ object: z._default(z.string(), "object_11"), fields: fieldMap }), {}),
    /** The sensors object (Bluetooth readers, Wavetronix radars), filtered per data source. */
    sensors: z.prefault(z.strictObject({
      object: z._default(z.string(), "object_56"),
      filterField: z._default(z.string(), "field_884"),
      /** data source → value of filterField, where it differs from the device type the source declares. */
      filterValues: z._default(z.record(z.string(), z.string()), {}),
      fields: fieldMap,
    }), {}),
    /** The GRIDSMART detectors object. */
    detectors: z.prefault(z.strictObject({
      object: z._default(z.string(), "object_98"),
      filterField: z._default(z.string(), "field_2384"),
      filterValue: z._default(z.union([z.string(), z.number(), z.boolean()]), 1),
      /** Sources whose declared device type is this one read this object. */
      deviceType: z._default(z.string(), "GRIDSMART"),
      fields: fieldMap,
    }), {}),
  }),
);
export type KnackOptions = z.infer<typeof knackOptions>;

// ---------------------------------------------------------------- block stores

const IDENT = /^[a-z_][a-z0-9_]*$/;
/** Dry runs open the block store read-only: no table is created and nothing is written. */
const readOnly = z._default(z.boolean(), false);

export const sqliteBlocksOptions = lazy(() =>
  z.strictObject({
    /** Database file (default: the embedded catalog's, <home>/catalog.sqlite). */
    path: z.optional(z.string()),
    readOnly,
  }),
);

export const memoryBlocksOptions = lazy(() =>
  z.strictObject({ readOnly }),
);

export const postgresBlocksOptions = lazy(() =>
  z.strictObject({
    /** postgres://user:password@host:5432/database; else the secret CATALOG_PG_URL, then PG_URL. */
    connectionString: z.optional(z.string().check(z.minLength(1))),
    /** Same as connectionString. */
    url: z.optional(z.string().check(z.minLength(1))),
    /** Schema of the tables lake_blocks and lake_leases. @default "lake_ops" */
    schema: z._default(z.string().check(z.regex(IDENT, "a lower-case SQL identifier")), "lake_ops"),
    /** Connections in the pool. @default 4 */
    poolSize: z._default(z.int().check(z.minimum(1)), 4),
    readOnly,
  }),
);

// ---------------------------------------------------------------- job queues

/** How queued jobs are tried, for every queue driver. */
const jobPolicy = {
  /** Tries of a job with transient failures (the first included). @default 5 */
  attempts: z._default(z.int().check(z.minimum(1)), 5),
  /** First retry delay, ms; doubles each time. @default 5000 */
  backoffMs: z._default(z.int().check(z.minimum(0)), 5_000),
  /** How long a job waits before it is tried again when its block is leased elsewhere, ms. @default 5000 */
  busyDelayMs: z._default(z.int().check(z.minimum(10)), 5_000),
  /** Completed jobs kept (failed jobs, the dead letters, are all kept). @default 10000 */
  keepCompleted: z._default(z.int().check(z.minimum(0)), 10_000),
};

/** In this process only: jobs vanish with it (tests, embedding; `lake backfill` runs blocks in process without one). */
export const inprocessQueueOptions = lazy(() =>
  z.strictObject({ ...jobPolicy }),
);

export const bullmqOptions = lazy(() =>
  z.strictObject({
    /** redis://[user:password@]host:port; default the secret REDIS_URL. */
    url: z.optional(z.string()),
    /** @default "lake-blocks" */
    queueName: z._default(z.string().check(z.regex(/^[A-Za-z0-9_.-]+$/)), "lake-blocks"),
    /** Key prefix in Redis. @default "bull" */
    prefix: z._default(z.string(), "bull"),
    /** A job whose worker stops renewing its lock for this long is moved back to wait (crashed worker), ms. */
    lockMs: z._default(z.int().check(z.minimum(500)), 30_000),
    /** How often workers look for such stalled jobs, ms. */
    stalledIntervalMs: z._default(z.int().check(z.minimum(500)), 30_000),
    ...jobPolicy,
  }),
);
export type BullmqOptions = z.infer<typeof bullmqOptions>;

// ---------------------------------------------------------------- SQL sources

export const sqliteSqlOptions = lazy(() =>
  z.strictObject({
    /** Database file; relative paths resolve against the config file's folder. */
    path: z.string().check(z.minLength(1)),
    /** Open read-only (default). The file must then exist. */
    readonly: z._default(z.boolean(), true),
    /** Milliseconds to wait on a locked database before failing (SQLITE_BUSY, retried by the framework). */
    busyTimeoutMs: z._default(z.int().check(z.minimum(0)), 5_000),
  }),
);

export const postgresSqlOptions = lazy(() =>
  z.strictObject({
    /** postgres://user:password@host:5432/database; prefer the secret for anything with a password. */
    connectionString: z.optional(z.string().check(z.minLength(1))),
    /** Secret holding the connection string when the option is absent. @default "PG_URL" */
    secret: z._default(z.string().check(z.minLength(1)), "PG_URL"),
    /** Pool size. @default 4 */
    maxConnections: z._default(z.int().check(z.minimum(1)), 4),
  }),
);

export const mssqlOptions = lazy(() =>
  z.strictObject({
    /** Host name or address of the SQL Server. */
    server: z.string().check(z.minLength(1)),
    /** TCP port. @default 1433 */
    port: z._default(z.int().check(z.minimum(1), z.maximum(65535)), 1433),
    /** Database holding the tables (the original's WT_DB_NAME, missing from its template: B10). */
    database: z.optional(z.string().check(z.minLength(1))),
    /** Login name; the secret named by userSecret is used when absent. */
    user: z.optional(z.string().check(z.minLength(1))),
    /** Secret holding the login name when `user` is absent. @default "WT_DB_USER" */
    userSecret: z._default(z.string().check(z.minLength(1)), "WT_DB_USER"),
    /** Secret holding the password. @default "WT_DB_PASSWORD" */
    passwordSecret: z._default(z.string().check(z.minLength(1)), "WT_DB_PASSWORD"),
    /** TLS to the server. @default true */
    encrypt: z._default(z.boolean(), true),
    /** Accept a self-signed server certificate (on-premises servers often have one). @default false */
    trustServerCertificate: z._default(z.boolean(), false),
    /** Connecting (TCP + TLS + login) must finish within this many ms. @default 15000 */
    connectTimeoutMs: z._default(z.int().check(z.positive()), 15_000),
    /** Pool size. @default 4 */
    maxConnections: z._default(z.int().check(z.minimum(1)), 4),
  }),
);
export type MssqlOptions = z.infer<typeof mssqlOptions>;

// ---------------------------------------------------------------- notifiers

export const webhookOptions = lazy(() =>
  z
    .strictObject({
      /** Where the POST goes (http or https), e.g. "https://hooks.example.org/lake". Or give urlSecret. */
      url: z.optional(z.url({ protocol: /^https?$/ })),
      /** Secret holding the URL instead (chat webhooks carry their key in the path). */
      urlSecret: z.optional(z.string().check(z.minLength(1))),
      /** "failure" (default): runs that failed (exit code ≠ 0); "always": every run. */
      on: z._default(z.enum(["failure", "always"]), "failure"),
      /** Secret holding the token sent with every POST; unset = no token header. @default "LAKE_WEBHOOK_TOKEN" */
      tokenSecret: z._default(z.string().check(z.minLength(1)), "LAKE_WEBHOOK_TOKEN"),
      /** Header carrying the token. @default "Authorization" */
      header: z._default(z.string().check(z.regex(/^[A-Za-z0-9-]+$/, "a header name such as Authorization or X-Lake-Token")), "Authorization"),
      /** Put before the token in the header ("Bearer <token>"); "" = the token alone. @default "Bearer" */
      scheme: z._default(z.string(), "Bearer"),
      /** Notify simulations (-0) too. @default false */
      simulations: z._default(z.boolean(), false),
    })
    .check(z.refine((o) => (o.url === undefined) !== (o.urlSecret === undefined), "give exactly one of url and urlSecret")),
);
export type WebhookOptions = z.infer<typeof webhookOptions>;
