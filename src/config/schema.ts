/**
 * The configuration file's shape (JSON or YAML), validated with zod so a mistake reads as
 * "catalog.driver: unknown driver "sqlit" (known: sqlite, memory, postgrest, postgres)".
 */
import * as z from "zod/mini";
import type { DriverKind, DriverSpecOf } from "../drivers/registry.js";

/**
 * A driver chosen by name with its options (checked against the driver's schema when the config is loaded), plus
 * the runtime's settings for it: the deadline of one call and how many calls may run at once (defaults per driver
 * in the registry), or (programmatically) an already-built instance.
 */
export const driverSpec = z.strictObject({
  driver: z.string().check(z.minLength(1)),
  options: z._default(z.record(z.string(), z.unknown()), {}),
  /** Deadline of one call in ms (0 = none); default: the driver's (0 for local files, 30–120 s for services). */
  timeoutMs: z.optional(z.int().check(z.minimum(0))),
  /** Calls at once (0 = no limit); default: the driver's. */
  concurrency: z.optional(z.int().check(z.minimum(0))),
});
export type DriverSpec = z.infer<typeof driverSpec>;

const repoNames = z.object({ production: z.string().check(z.minLength(1)), debug: z.string().check(z.minLength(1)) });

export const PURPOSES = ["raw", "standardized", "ready", "public"] as const;
export type Purpose = (typeof PURPOSES)[number];

/** An integer of at least `min`. */
const intAtLeast = (min: number) => z.int().check(z.minimum(min));

export const configSchema = z.strictObject({
  /** Folder the embedded defaults live in (storage, catalog, perfmet, published CSVs, demo sources). */
  home: z._default(z.string(), "demo-lake"),
  /** IANA zone of the lake's local days. */
  zone: z._default(z.string(), "America/Chicago"),
  /** Base of unit data and area-wide files (the original's UNIT_LOCATION). */
  areaBase: z._default(z.string(), "Austin"),
  /** Purpose → repository (bucket) names; --debug uses the debug names (fixes B24). */
  repositories: z.prefault(
    z.object({
      raw: z._default(repoNames, { production: "atd-datalake-raw", debug: "atd-datalake-raw-test" }),
      standardized: z._default(repoNames, { production: "atd-datalake-rawjson", debug: "atd-datalake-rawjson-test" }),
      ready: z._default(repoNames, { production: "atd-datalake-ready", debug: "atd-datalake-ready-test" }),
      public: z._default(repoNames, { production: "socrata", debug: "socrata-test" }),
      /** The lake's own bookkeeping (e.g. the row ids of each publication, to replace a republished day). */
      state: z._default(repoNames, { production: "atd-datalake-state", debug: "atd-datalake-state-test" }),
    }),
    {},
  ),
  storage: z._default(driverSpec, { driver: "local", options: {} }),
  catalog: z._default(driverSpec, { driver: "sqlite", options: {} }),
  perfmet: z._default(driverSpec, { driver: "sqlite", options: {} }),
  publisher: z._default(driverSpec, { driver: "csv", options: {} }),
  unitdata: z._default(driverSpec, { driver: "local", options: {} }),
  /**
   * Publish targets: dataset key (e.g. "wt", "bt.matched", "gs.agg") → production and debug target ids.
   * The debug ids are separate datasets (fixes B24: debug never publishes to production).
   */
  datasets: z._default(z.record(z.string(), repoNames), {}),
  /** Per-source settings (SQL source of wt, share folder of bt, device API of gs, ...). */
  sources: z._default(z.record(z.string(), z.record(z.string(), z.unknown())), {}),
  /** Retries for transient failures in every driver call. */
  retry: z.prefault(
    z.object({
      retries: z._default(intAtLeast(0), 4),
      minTimeoutMs: z._default(intAtLeast(0), 500),
      maxTimeoutMs: z._default(intAtLeast(0), 15_000),
    }),
    {},
  ),
  /**
   * An item that fails the same way on this many consecutive runs is marked failed-terminal: later runs skip it
   * (and no longer fail) until its source changes or -F forces it; 0 = never.
   */
  failTerminalAfter: z._default(intAtLeast(0), 3),
  /**
   * Longest line of an input text file (Bluetooth AWAM files, the raw Wavetronix CSV, GRIDSMART zone CSVs) in
   * bytes; a longer line, like a line that is not valid UTF-8, is left out and reported with its file and line.
   */
  maxLineBytes: z._default(intAtLeast(1), 1024 * 1024),
  /** The job queue of `lake enqueue` / `lake worker`: inprocess (this process only, the default) or bullmq (Redis). */
  queue: z._default(driverSpec, { driver: "inprocess", options: {} }),
  /**
   * Block status and partition leases of backfills and workers. Without a driver, the catalog's database holds
   * them (sqlite catalog → the same file; postgres catalog → the same database; memory → memory).
   */
  blocks: z.prefault(
    z.strictObject({
      ...driverSpec.shape,
      driver: z.optional(z.string().check(z.minLength(1))),
      /** A lease not renewed for this long is taken over (a crashed run's block is retried). */
      leaseMs: z._default(intAtLeast(100), 60_000),
    }),
    {},
  ),
  /** Schedule overrides: stage name (or an hourly job's source code) → {time "HH:MM" (":MM" hourly), args, enabled}. */
  schedule: z._default(
    z.record(
      z.string(),
      z.strictObject({
        time: z.optional(z.string().check(z.regex(/^(([01]\d|2[0-3]):[0-5]\d|:[0-5]\d)$/, "expected HH:MM (24 h), or :MM for an hourly job"))),
        args: z.optional(z.array(z.string())),
        enabled: z.optional(z.boolean()),
      }),
    ),
    {},
  ),
  /** Who hears of a run's outcome at the end of `lake run` / `lake pipeline` (e.g. {driver: webhook}); none by default. */
  notify: z.optional(driverSpec),
  /** A JSON file of secrets (name → value); environment variables win over it. */
  secretsFile: z.optional(z.string()),
});

export type LakeConfig = z.infer<typeof configSchema>;
/** The config as written: each driver section typed by the registry (its driver names and their options). */
export type LakeConfigInput = Omit<z.input<typeof configSchema>, DriverKind> & { [K in Exclude<DriverKind, "blocks" | "sql">]?: DriverSpecOf<K> } & {
  /** The block store (default: the one in the catalog's database) and the lease time. */
  blocks?: Partial<DriverSpecOf<"blocks">> & { leaseMs?: number };
};
