/** The example source's demo: a drop folder with one CSV of per-minute counts per day for three counters. */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { DateTime } from "luxon";
import type { SourceDemo } from "../../support/kit.js";
import { seededRandom } from "../../util/random.js";
import { writeIfChanged } from "../../util/same-file.js";

const COUNTERS = ["lamar-n", "lamar-s", "congress-n"];

/** One day's file: every counter, every minute of the local day (23, 24 or 25 hours); the counters write UTC times. */
export function dayFile(day: DateTime): string {
  const lines = ["counter_id,time,count"];
  const start = day.toMillis();
  const end = day.plus({ days: 1 }).toMillis();
  COUNTERS.forEach((id, k) => {
    const rnd = seededRandom(start / 60_000 + k);
    for (let t = start; t < end; t += 60_000) lines.push(`${id},${new Date(t).toISOString().slice(0, 19)}Z,${Math.floor(rnd() * 20)}`);
  });
  return `${lines.join("\n")}\n`;
}

const demo: SourceDemo = {
  async simulate(ctx) {
    const dir = path.join(ctx.home, "sources", "counters");
    mkdirSync(dir, { recursive: true });
    const end = DateTime.fromISO(ctx.to, { zone: ctx.zone });
    for (let d = DateTime.fromISO(ctx.from, { zone: ctx.zone }); d < end; d = d.plus({ days: 1 })) {
      await writeIfChanged(path.join(dir, `counts_${d.toISODate()}.csv`), [dayFile(d)]);
    }
    return { dropdir: dir };
  },
};
export default demo;
