/**
 * `npm run bench -- chaos`: the full chaos harness (issue 14): 100 kills of `lake pipeline all` on the embedded
 * default at seeded random points, and every fault kind through the TCP proxy in front of each real service
 * (needs the test services: scripts/services.sh start). Prints the harness's table; CHAOS_KILLS / CHAOS_SEED change
 * the run. CI runs the short version (test/chaos/chaos.test.ts).
 */
import { formatTable, runChaos } from "./chaos/index.js";

export async function run(): Promise<void> {
  const seed = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const report = await runChaos({
    kills: Number(process.env.CHAOS_KILLS ?? 100),
    faults: true,
    seed,
    concurrency: 2,
    faultConcurrency: 4,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`${formatTable(report)}\n`);
  if (!report.ok) process.exitCode = 1;
}
