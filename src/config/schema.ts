/**
 * The configuration file's shape (JSON or YAML), validated with zod so a mistake reads as
 * "catalog.driver: unknown driver "sqlit" (known: sqlite, memory, postgrest, postgres)".
 */
import { z } from "zod";

/** A driver chosen by name with its options, or (programmatically) an already-built instance. */
export const driverSpec = z.object({
  driver: z.string().min(1),
  options: z.record(z.string(), z.unknown()).default({}),
});
export type DriverSpec = z.infer<typeof driverSpec>;

const repoNames = z.object({ production: z.string().min(1), debug: z.string().min(1) });

export const PURPOSES = ["raw", "standardized", "ready", "public"] as const;
export type Purpose = (typeof PURPOSES)[number];

export const configSchema = z
  .object({
    /** Folder the embedded defaults live in (storage, catalog, perfmet, published CSVs, demo sources). */
    home: z.string().default("demo-lake"),
    /** IANA zone of the lake's local days. */
    zone: z.string().default("America/Chicago"),
    /** Base of unit data and area-wide files (the original's UNIT_LOCATION). */
    areaBase: z.string().default("Austin"),
    /** Purpose → repository (bucket) names; --debug uses the debug names (fixes B24). */
    repositories: z
      .object({
        raw: repoNames.default({ production: "atd-datalake-raw", debug: "atd-datalake-raw-test" }),
        standardized: repoNames.default({ production: "atd-datalake-rawjson", debug: "atd-datalake-rawjson-test" }),
        ready: repoNames.default({ production: "atd-datalake-ready", debug: "atd-datalake-ready-test" }),
        public: repoNames.default({ production: "socrata", debug: "socrata-test" }),
      })
      .default({
        raw: { production: "atd-datalake-raw", debug: "atd-datalake-raw-test" },
        standardized: { production: "atd-datalake-rawjson", debug: "atd-datalake-rawjson-test" },
        ready: { production: "atd-datalake-ready", debug: "atd-datalake-ready-test" },
        public: { production: "socrata", debug: "socrata-test" },
      }),
    storage: driverSpec.default({ driver: "local", options: {} }),
    catalog: driverSpec.default({ driver: "sqlite", options: {} }),
    perfmet: driverSpec.default({ driver: "sqlite", options: {} }),
    publisher: driverSpec.default({ driver: "csv", options: {} }),
    unitdata: driverSpec.default({ driver: "local", options: {} }),
    /**
     * Publish targets: dataset key (e.g. "wt", "bt.matched", "gs.agg") → production and debug target ids.
     * The debug ids are separate datasets (fixes B24: debug never publishes to production).
     */
    datasets: z.record(z.string(), repoNames).default({}),
    /** Per-source settings (SQL source of wt, share folder of bt, device API of gs, ...). */
    sources: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
    /** Retries for transient failures in every driver call. */
    retry: z
      .object({
        retries: z.number().int().min(0).default(4),
        minTimeoutMs: z.number().int().min(0).default(500),
        maxTimeoutMs: z.number().int().min(0).default(15_000),
      })
      .default({ retries: 4, minTimeoutMs: 500, maxTimeoutMs: 15_000 }),
    /** Job runner for backfills: in-process (default) or a queue. */
    queue: driverSpec.default({ driver: "inprocess", options: {} }),
    /**
     * Block status and partition leases of backfills and workers. Without a driver, the catalog's database holds
     * them (sqlite catalog → the same file; postgres catalog → the same database; memory → memory).
     */
    blocks: z
      .object({
        driver: z.string().min(1).optional(),
        options: z.record(z.string(), z.unknown()).default({}),
        /** A lease not renewed for this long is taken over (a crashed run's block is retried). */
        leaseMs: z.number().int().min(100).default(60_000),
      })
      .default({ options: {}, leaseMs: 60_000 }),
    /** Nightly schedule overrides: stage name → {time "HH:MM", args, enabled}. */
    schedule: z
      .record(
        z.string(),
        z
          .object({
            time: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "expected HH:MM (24 h)").optional(),
            args: z.array(z.string()).optional(),
            enabled: z.boolean().optional(),
          })
          .strict(),
      )
      .default({}),
    /** A JSON file of secrets (name → value); environment variables win over it. */
    secretsFile: z.string().optional(),
  })
  .strict();

export type LakeConfig = z.infer<typeof configSchema>;
export type LakeConfigInput = z.input<typeof configSchema>;
