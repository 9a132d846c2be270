/**
 * The GRIDSMART settings block, `sources.gs` of the configuration (documented in docs/sources/gridsmart.md):
 *
 *   sources:
 *     gs:
 *       deviceUrl: "http://{ip}:8902/api/"   # device API base; {ip} is the unit data's device_ip
 *       timeoutMs: 15000                     # per request (site, datetime, hardware info, counts list)
 *       downloadTimeoutMs: 120000            # per day archive download
 *       concurrency: 8                       # devices contacted at once during discovery
 *       dayCoveredToleranceMinutes: 5        # device midnight within this of local midnight → day_covered 0
 *       siteFileHorizonDays: 7               # a site file further than this from the data day is used with a warning
 *       zipMaxBytes: 536870912               # uncompressed bytes one archive may declare (zip bombs)
 *       zipMaxEntries: 10000
 *       zipMaxRatio: 1000
 */
import * as z from "zod/mini";
import { formatZodError } from "../../config/load.js";
import { ConfigError } from "../../support/errors.js";

export const DEFAULT_DEVICE_URL = "http://{ip}:8902/api/";

export const gsSourceSchema = z.looseObject({
  deviceUrl: z._default(
    z.string().check(z.refine((s) => s.includes("{ip}"), 'must contain "{ip}", e.g. "http://{ip}:8902/api/"')),
    DEFAULT_DEVICE_URL,
  ),
  timeoutMs: z._default(z.int().check(z.positive()), 15_000),
  downloadTimeoutMs: z._default(z.int().check(z.positive()), 120_000),
  concurrency: z._default(z.int().check(z.minimum(1), z.maximum(256)), 8),
  dayCoveredToleranceMinutes: z._default(z.number().check(z.minimum(0), z.maximum(720)), 5),
  siteFileHorizonDays: z._default(z.int().check(z.minimum(0)), 7),
  zipMaxBytes: z._default(z.int().check(z.positive()), 512 * 1024 * 1024),
  zipMaxEntries: z._default(z.int().check(z.positive()), 10_000),
  zipMaxRatio: z._default(z.number().check(z.positive()), 1_000),
});

export type GsSourceConfig = z.infer<typeof gsSourceSchema>;

export function readGsConfig(raw: Record<string, unknown>): GsSourceConfig {
  const parsed = gsSourceSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(formatZodError(parsed.error, "sources.gs"));
  return parsed.data;
}

/** The device API base URL of one device (always ending in "/"). */
export function deviceBaseUrl(template: string, ip: string): string {
  const url = template.replace(/\{ip\}/g, ip.trim());
  return url.endsWith("/") ? url : `${url}/`;
}
