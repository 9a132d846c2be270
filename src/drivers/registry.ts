/**
 * The one typed registry: interface → driver name → its options schema, the runtime's defaults for it, and a lazy
 * import. A vendor SDK loads only when its driver is used, so `lake --help` and unit tests run offline and fast;
 * the schemas (options.ts, no SDK) let the configuration be checked whole when it is loaded.
 */
import type * as z from "zod/mini";
import type {
  CallTable,
  CatalogDriver,
  PerfmetDriver,
  PublisherDriver,
  QueueDriver,
  SqlDriver,
  StorageDriver,
  UnitDataDriver,
} from "../support/drivers.js";
import { CATALOG_CALLS, PERFMET_CALLS, PUBLISHER_CALLS, QUEUE_CALLS, SQL_CALLS, STORAGE_CALLS, UNITDATA_CALLS } from "../support/drivers.js";
import { BLOCK_CALLS, type BlockStore } from "../support/block-store.js";
import { NOTIFY_CALLS, type NotifyDriver } from "../support/notify.js";
import type { DriverModule } from "./define.js";
import * as o from "./options.js";

export interface DriverKinds {
  storage: StorageDriver;
  catalog: CatalogDriver;
  publisher: PublisherDriver;
  perfmet: PerfmetDriver;
  unitdata: UnitDataDriver;
  sql: SqlDriver;
  blocks: BlockStore;
  queue: QueueDriver;
  notify: NotifyDriver;
}
export type DriverKind = keyof DriverKinds;

/** How the driver runtime treats a driver unless its spec says otherwise. */
export interface RuntimeDefaults {
  /** Deadline of one call, ms; 0 = none (local files, memory). */
  timeoutMs: number;
  /** Calls at once; 0 = no limit. */
  concurrency: number;
  /** Retries of a transient failure, when not the configuration's (`retry.retries`). */
  retries?: number;
}

export interface DriverEntry<I, S extends z.ZodMiniType = z.ZodMiniType> {
  options: S;
  runtime: RuntimeDefaults;
  load: () => Promise<{ default: DriverModule<I, S> }>;
}

const LOCAL: RuntimeDefaults = { timeoutMs: 0, concurrency: 0 };
const NETWORK = (timeoutMs: number, concurrency: number): RuntimeDefaults => ({ timeoutMs, concurrency });
/** ioredis reconnects by itself and BullMQ retries jobs: the runtime adds no retries, so a call fails within its deadline. */
const REDIS: RuntimeDefaults = { timeoutMs: 10_000, concurrency: 0, retries: 0 };

function entry<I, S extends z.ZodMiniType>(options: S, runtime: RuntimeDefaults, load: () => Promise<{ default: DriverModule<I, S> }>): DriverEntry<I, S> {
  return { options, runtime, load };
}

export const drivers = {
  storage: {
    local: entry<StorageDriver, typeof o.localStorageOptions>(o.localStorageOptions, LOCAL, () => import("./storage/local.js")),
    memory: entry<StorageDriver, typeof o.memoryStorageOptions>(o.memoryStorageOptions, LOCAL, () => import("./storage/memory.js")),
    s3: entry<StorageDriver, typeof o.s3Options>(o.s3Options, NETWORK(120_000, 16), () => import("./storage/s3.js")),
  },
  catalog: {
    sqlite: entry<CatalogDriver, typeof o.sqliteCatalogOptions>(o.sqliteCatalogOptions, LOCAL, () => import("./catalog/sqlite.js")),
    memory: entry<CatalogDriver, typeof o.memoryCatalogOptions>(o.memoryCatalogOptions, LOCAL, () => import("./catalog/memory.js")),
    postgrest: entry<CatalogDriver, typeof o.postgrestCatalogOptions>(o.postgrestCatalogOptions, NETWORK(60_000, 8), () => import("./catalog/postgrest.js")),
    postgres: entry<CatalogDriver, typeof o.postgresCatalogOptions>(o.postgresCatalogOptions, NETWORK(60_000, 0), () => import("./catalog/postgres.js")),
  },
  publisher: {
    csv: entry<PublisherDriver, typeof o.csvPublisherOptions>(o.csvPublisherOptions, LOCAL, () => import("./publisher/csv.js")),
    memory: entry<PublisherDriver, typeof o.memoryPublisherOptions>(o.memoryPublisherOptions, LOCAL, () => import("./publisher/memory.js")),
    socrata: entry<PublisherDriver, typeof o.socrataOptions>(o.socrataOptions, NETWORK(120_000, 4), () => import("./publisher/socrata.js")),
  },
  perfmet: {
    sqlite: entry<PerfmetDriver, typeof o.sqlitePerfmetOptions>(o.sqlitePerfmetOptions, LOCAL, () => import("./perfmet/sqlite.js")),
    memory: entry<PerfmetDriver, typeof o.memoryPerfmetOptions>(o.memoryPerfmetOptions, LOCAL, () => import("./perfmet/memory.js")),
    postgrest: entry<PerfmetDriver, typeof o.postgrestPerfmetOptions>(o.postgrestPerfmetOptions, NETWORK(60_000, 8), () => import("./perfmet/postgrest.js")),
  },
  unitdata: {
    local: entry<UnitDataDriver, typeof o.localUnitDataOptions>(o.localUnitDataOptions, LOCAL, () => import("./unitdata/local.js")),
    knack: entry<UnitDataDriver, typeof o.knackOptions>(o.knackOptions, NETWORK(30_000, 4), () => import("./unitdata/knack.js")),
  },
  sql: {
    sqlite: entry<SqlDriver, typeof o.sqliteSqlOptions>(o.sqliteSqlOptions, LOCAL, () => import("./sql/sqlite.js")),
    postgres: entry<SqlDriver, typeof o.postgresSqlOptions>(o.postgresSqlOptions, NETWORK(60_000, 0), () => import("./sql/postgres.js")),
    mssql: entry<SqlDriver, typeof o.mssqlOptions>(o.mssqlOptions, NETWORK(60_000, 0), () => import("./sql/mssql.js")),
  },
  blocks: {
    sqlite: entry<BlockStore, typeof o.sqliteBlocksOptions>(o.sqliteBlocksOptions, LOCAL, () => import("./blocks/sqlite.js")),
    memory: entry<BlockStore, typeof o.memoryBlocksOptions>(o.memoryBlocksOptions, LOCAL, () => import("./blocks/memory.js")),
    postgres: entry<BlockStore, typeof o.postgresBlocksOptions>(o.postgresBlocksOptions, NETWORK(30_000, 0), () => import("./blocks/postgres.js")),
  },
  queue: {
    inprocess: entry<QueueDriver, typeof o.inprocessQueueOptions>(o.inprocessQueueOptions, LOCAL, () => import("./queue/inprocess.js")),
    bullmq: entry<QueueDriver, typeof o.bullmqOptions>(o.bullmqOptions, REDIS, () => import("./queue/bullmq.js")),
  },
  notify: {
    webhook: entry<NotifyDriver, typeof o.webhookOptions>(o.webhookOptions, NETWORK(10_000, 1), () => import("./notify/webhook.js")),
  },
} satisfies { [K in DriverKind]: Record<string, DriverEntry<DriverKinds[K], any>> };

/** The call table of each interface: which methods the runtime wraps, and how. */
export const CALLS: { [K in DriverKind]: CallTable } = {
  storage: STORAGE_CALLS,
  catalog: CATALOG_CALLS,
  publisher: PUBLISHER_CALLS,
  perfmet: PERFMET_CALLS,
  unitdata: UNITDATA_CALLS,
  sql: SQL_CALLS,
  blocks: BLOCK_CALLS,
  queue: QUEUE_CALLS,
  notify: NOTIFY_CALLS,
};

type Registry = typeof drivers;

/** A configuration's driver spec, typed by the registry: each driver name with its own options (z.input). */
export type DriverSpecOf<K extends DriverKind> = {
  [N in keyof Registry[K]]: {
    driver: N;
    options?: Registry[K][N] extends DriverEntry<any, infer S> ? z.input<S> : never;
    /** The runtime's deadline of one call, ms (0 = none). */
    timeoutMs?: number;
    /** Calls at once (0 = no limit). */
    concurrency?: number;
  };
}[keyof Registry[K]];

export function driverEntry(kind: DriverKind, name: string): DriverEntry<unknown> | undefined {
  return (drivers[kind] as Record<string, DriverEntry<unknown>>)[name];
}

export function knownDrivers(kind: DriverKind): string[] {
  return Object.keys(drivers[kind]);
}
