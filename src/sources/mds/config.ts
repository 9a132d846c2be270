/**
 * `sources.mds` of the configuration (docs/sources/mds.md):
 *
 *   sources:
 *     mds:
 *       providers:
 *         - { name: lime, version: "0.4", url: "https://mds.lime.example/", tokenSecret: MDS_LIME_TOKEN }
 *         - { name: bird, version: "0.3", url: "https://mds.bird.example/", tokenSecret: MDS_BIRD_TOKEN, timeoutMs: 20000, endpoints: [trips] }
 *       database: { driver: postgres, options: { secret: MDS_PG_URL } }   # default: SQLite <home>/mds.sqlite
 *       batchSize: 500
 */
import * as z from "zod/mini";

const provider = z.object({
  name: z.string().check(z.regex(/^[a-z][a-z0-9_]*$/, "lower-case letters, digits and _")),
  version: z.enum(["0.3", "0.4"]),
  /** Base URL of the provider API (its /trips endpoint is below it). */
  url: z.string().check(z.minLength(1)),
  /** Name of the secret (environment variable or secrets file) holding the bearer token; none = no token. */
  tokenSecret: z.optional(z.string()),
  timeoutMs: z._default(z.int().check(z.positive()), 30_000),
  /** Retries of a transient failure (timeout, 429, 5xx), with jittered backoff from minDelayMs up to maxDelayMs. */
  retries: z._default(z.int().check(z.minimum(0)), 4),
  minDelayMs: z._default(z.int().check(z.minimum(0)), 1_000),
  maxDelayMs: z._default(z.int().check(z.minimum(0)), 30_000),
  /** Pages one hour may have before the extract gives up (a provider that loops its links). */
  maxPages: z._default(z.int().check(z.positive()), 1_000),
  /** The endpoints taken from the provider: its blocks are "<name>" (trips) and "<name>.status_changes". */
  endpoints: z._default(z.array(z.enum(["trips", "status_changes"])).check(z.minLength(1)), ["trips", "status_changes"]),
});

export const mdsConfig = z.looseObject({
  providers: z._default(z.array(provider), []),
  /** Where trips are loaded: a SQL driver spec (sqlite or postgres). */
  database: z.optional(z.object({ driver: z.string(), options: z._default(z.record(z.string(), z.unknown()), {}) })),
  batchSize: z._default(z.int().check(z.positive()), 500),
});

export type MdsConfig = z.infer<typeof mdsConfig>;
export type ProviderConfig = z.infer<typeof provider>;
