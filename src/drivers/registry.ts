/**
 * The one typed registry: interface → driver name → lazy import. A vendor SDK loads only when its driver is used,
 * so `lake --help` and unit tests run offline and fast.
 */
import type {
  CatalogDriver,
  PerfmetDriver,
  PublisherDriver,
  SqlDriver,
  StorageDriver,
  UnitDataDriver,
} from "../support/drivers.js";
import type { DriverModule } from "./define.js";

type Loader<I> = () => Promise<{ default: DriverModule<I> }>;

export interface DriverKinds {
  storage: StorageDriver;
  catalog: CatalogDriver;
  publisher: PublisherDriver;
  perfmet: PerfmetDriver;
  unitdata: UnitDataDriver;
  sql: SqlDriver;
}
export type DriverKind = keyof DriverKinds;

export const drivers: { [K in DriverKind]: Record<string, Loader<DriverKinds[K]>> } = {
  storage: {
    local: () => import("./storage/local.js"),
    memory: () => import("./storage/memory.js"),
    s3: () => import("./storage/s3.js"),
  },
  catalog: {
    sqlite: () => import("./catalog/sqlite.js"),
    memory: () => import("./catalog/memory.js"),
    postgrest: () => import("./catalog/postgrest.js"),
    postgres: () => import("./catalog/postgres.js"),
  },
  publisher: {
    csv: () => import("./publisher/csv.js"),
    memory: () => import("./publisher/memory.js"),
    socrata: () => import("./publisher/socrata.js"),
  },
  perfmet: {
    sqlite: () => import("./perfmet/sqlite.js"),
    memory: () => import("./perfmet/memory.js"),
    postgrest: () => import("./perfmet/postgrest.js"),
  },
  unitdata: {
    local: () => import("./unitdata/local.js"),
    knack: () => import("./unitdata/knack.js"),
  },
  sql: {
    sqlite: () => import("./sql/sqlite.js"),
    postgres: () => import("./sql/postgres.js"),
    mssql: () => import("./sql/mssql.js"),
  },
};
