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
import { z } from "zod";
import { formatZodError } from "../../config/load.js";
import { ConfigError } from "../../support/errors.js";

export const DEFAULT_DEVICE_URL = "http://{ip}:8902/api/";

export const gsSourceSchema = z
  .object({
    deviceUrl: z
      .string()
      .refine((s) => s.includes("{ip}"), 'must contain "{ip}", e.g. "http://{ip}:8902/api/"')
      .default(DEFAULT_DEVICE_URL),
    timeoutMs: z.number().int().positive().default(15_000),
    downloadTimeoutMs: z.number().int().positive().default(120_000),
    concurrency: z.number().int().min(1).max(256).default(8),
    dayCoveredToleranceMinutes: z.number().min(0).max(720).default(5),
    siteFileHorizonDays: z.number().int().min(0).default(7),
    zipMaxBytes: z.number().int().positive().default(512 * 1024 * 1024),
    zipMaxEntries: z.number().int().positive().default(10_000),
    zipMaxRatio: z.number().positive().default(1_000),
  })
  .passthrough();

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
