/**
 * Blocks: the unit of a backfill is one (source, stage, local day). Each block's status lives in a BlockStore in the
 * catalog's database (rebuilding atd-mds's schedule table without pre-materialised rows: a missing row is a block
 * never run), next to partition leases that keep two runs (cron overlap, two workers, a worker and a manual run)
 * from processing one block at once.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import type { DriverSpec } from "../config/schema.js";
import { ConfigError } from "../support/errors.js";
import type { LakeRuntime } from "../support/runtime.js";
import { isTerminal, type BlockStore } from "../support/block-store.js";

/** Finished for good (a terminal status): --incomplete-only leaves it alone. */
export function isDone(status: string | undefined): boolean {
  return isTerminal(status);
}

/**
 * The source column of a block: debug runs (test repositories and targets) keep their blocks apart, so a debug
 * backfill never makes a production block look done.
 */
export function blockSource(code: string, debug: boolean): string {
  return debug ? `${code}@debug` : code;
}

/** Catalog driver → the block store in the same database. */
const FROM_CATALOG: Record<string, string> = { sqlite: "sqlite", postgres: "postgres", memory: "memory" };

/** The configured block store (`blocks:`), or the one in the catalog's database. */
export function blockStoreSpec(runtime: LakeRuntime): DriverSpec {
  const { leaseMs: _lease, ...cfg } = runtime.config.blocks;
  if (cfg.driver) return { ...cfg, driver: cfg.driver };
  const catalog = runtime.config.catalog as { driver?: string; options?: Record<string, unknown> } | undefined;
  const name = catalog?.driver;
  const driver = name ? FROM_CATALOG[name] : undefined;
  if (!driver) {
    throw new ConfigError(
      `No block store for the "${String(name ?? "injected")}" catalog: add a blocks section, e.g. blocks: {driver: postgres, options: {url: ...}} or {driver: sqlite}`,
    );
  }
  // Where the catalog's database is (sqlite path / postgres connection string); the block store's own tables and
  // schema stay separate from the catalog's.
  const where: Record<string, unknown> = {};
  const co = catalog?.options ?? {};
  if (driver === "sqlite" && co.path !== undefined) where.path = co.path;
  if (driver === "postgres" && co.connectionString !== undefined) where.connectionString = co.connectionString;
  return { ...cfg, driver, options: { ...where, ...cfg.options } };
}

/**
 * Opens the block store through the driver registry, behind the driver runtime; the caller closes it.
 * readOnly = dry run: nothing is created or written.
 */
export async function openBlockStore(runtime: LakeRuntime, opts: { readOnly?: boolean } = {}): Promise<BlockStore> {
  const spec = blockStoreSpec(runtime);
  const readOnly = opts.readOnly ?? false;
  if (readOnly && spec.driver === "sqlite") {
    // A dry run must not create the database file.
    const file = path.resolve(runtime.baseDir, String(spec.options.path ?? path.join(runtime.home, "catalog.sqlite")));
    if (!existsSync(file)) return runtime.wrap("blocks", emptyStore());
  }
  return runtime.openDriver("blocks", { ...spec, options: { ...spec.options, ...(readOnly ? { readOnly } : {}) } });
}

/** A store with nothing in it that refuses writes (dry run on a lake without a database yet). */
function emptyStore(): BlockStore {
  const refuse = async (): Promise<never> => {
    throw new Error("read-only block store: nothing may be written in a dry run");
  };
  return {
    driverName: "empty",
    list: async () => [],
    get: async () => undefined,
    markPending: refuse,
    markRunning: refuse,
    markFinished: refuse,
    acquireLease: refuse,
    renewLease: refuse,
    releaseLease: refuse,
    leases: async () => [],
    close: async () => undefined,
  };
}
