/**
 * `sources.usage` of the configuration (docs/sources/usage.md):
 *
 *   sources:
 *     usage:
 *       logs: { repository: usage-logs }          # objects web/<day>/..., download/<day>/... (or dropdir: a folder)
 *       database: { driver: postgres, options: { secret: USAGE_PG_URL } }   # default: SQLite <home>/usage.sqlite
 *       writeMode: upsert                         # append | upsert | replace-partition | fail-on-conflict
 *       geocoder: { url: "https://ipinfo.example/", tokenSecret: IPINFO_TOKEN, ttlDays: 30, ratePerSecond: 20 }
 */
import * as z from "zod/mini";
import { WRITE_MODES } from "../../support/sql-write.js";

const geocoder = z.object({
  /** Base URL: GET <url>/<ip>/json answers {country, region, city, org}. */
  url: z.string().check(z.minLength(1)),
  tokenSecret: z.optional(z.string()),
  ttlDays: z._default(z.number().check(z.positive()), 30),
  ratePerSecond: z._default(z.number().check(z.minimum(0)), 20),
  timeoutMs: z._default(z.int().check(z.positive()), 10_000),
  retries: z._default(z.int().check(z.minimum(0)), 3),
  minDelayMs: z._default(z.int().check(z.minimum(0)), 500),
  maxDelayMs: z._default(z.int().check(z.minimum(0)), 10_000),
  /** Key of the shared cache object in the lake's state repository. */
  cacheKey: z._default(z.string(), "cache/usage-geoip.json"),
});

export const usageConfig = z.looseObject({
  logs: z._default(z.object({ repository: z.optional(z.string()), dropdir: z.optional(z.string()) }), {}),
  database: z.optional(z.object({ driver: z.string(), options: z._default(z.record(z.string(), z.unknown()), {}) })),
  writeMode: z.optional(z.enum(WRITE_MODES as ["append", "upsert", "replace-partition", "fail-on-conflict"])),
  geocoder: z.optional(geocoder),
  batchSize: z._default(z.int().check(z.positive()), 500),
});

export type UsageConfig = z.infer<typeof usageConfig>;
export type GeocoderConfig = z.infer<typeof geocoder>;
