/**
 * The usage demo: a drop folder of web and download logs per arrival day (an overlapping export repeats lines; the
 * last requests of a day arrive the next day) and a geocoder fake whose first two requests fail (retried).
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { DateTime } from "luxon";
import type { SourceDemo } from "../../support/kit.js";
import { writeIfChanged } from "../../util/same-file.js";
import { arrivalObjects, startFakeGeocoder } from "./fake.js";

/** Writes the log objects that arrive on the days [from, to] (the day after `to` too: late lines) under dir. */
export async function writeLogs(dir: string, zone: string, from: string, to: string): Promise<void> {
  const end = DateTime.fromISO(to, { zone });
  for (let d = DateTime.fromISO(from, { zone }); d <= end; d = d.plus({ days: 1 })) {
    for (const [key, text] of Object.entries(arrivalObjects(d))) {
      mkdirSync(path.dirname(path.join(dir, key)), { recursive: true });
      await writeIfChanged(path.join(dir, key), [text]);
    }
  }
}

const demo: SourceDemo = {
  async simulate(ctx) {
    const dir = path.join(ctx.home, "sources", "usage");
    await writeLogs(dir, ctx.zone, ctx.from, ctx.to);
    return { logs: { dropdir: dir } };
  },
  async serve() {
    const geo = await startFakeGeocoder({ failFirst: 2 });
    return { stop: () => geo.stop(), sourceConfig: { geocoder: { url: geo.url, retries: 3, minDelayMs: 50, maxDelayMs: 500, ratePerSecond: 200 } } };
  },
};
export default demo;
