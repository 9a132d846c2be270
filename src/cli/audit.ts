/** `lake audit <source> [--from D --to D] [--json]`: rows the lake published per day vs rows at the destination. */
import type { Command } from "commander";
import { UsageError } from "../support/errors.js";
import { addWindowFlags, setCode, stdout, windowDays, withRuntime, type ActionDeps } from "./shared.js";

export interface AuditFlags {
  from?: string;
  to?: string;
  json?: boolean;
  debug?: boolean;
  config?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command("audit")
    .description("per dataset and day: rows the lake published vs rows of those at the destination; exit 1 when a day differs")
    .argument("<source>", "source code, e.g. wt");
  addWindowFlags(cmd, { start: "first day: YYYY-MM-DD or N days back (default: the first day the lake holds)", end: "end day, exclusive: YYYY-MM-DD or N days back (default: after the last day the lake holds)", aliases: ["--from", "--to"] })
    .option("--json", "print the audit as JSON")
    .option("--debug", "audit the debug (test) datasets")
    .option("--config <file>", "configuration file")
    .action(async (source: string, opts: AuditFlags & { start?: string; end?: string }, self: Command) => {
      const { start, end, ...rest } = opts;
      setCode(self, await auditAction(source, { ...rest, ...(start ? { from: start } : {}), ...(end ? { to: end } : {}) }));
    });
}

export async function auditAction(source: string, flags: AuditFlags, deps: ActionDeps = {}): Promise<number> {
  const out = deps.out ?? stdout;
  return withRuntime(flags, deps, async (runtime) => {
    if (Boolean(flags.from) !== Boolean(flags.to)) throw new UsageError("lake audit: give both -s/--start and -e/--end, or neither (the days the lake holds)");
    const { audit } = await import("../console/model.js");
    const { defaultRegistry } = await import("./runner.js");
    const registry = deps.registry ?? (await defaultRegistry());
    if (!registry.has(source)) throw new UsageError(`lake audit: unknown source "${source}" (known: ${registry.codes().join(", ")})`);
    const datasets = await audit({ runtime, registry, debug: Boolean(flags.debug) }, { source, ...(flags.from && flags.to ? (await windowDays(runtime, flags.from, flags.to)) : {}) });
    const differing = datasets.flatMap((d) => d.days.filter((x) => x.difference !== null && x.difference !== 0).map((x) => ({ dataset: d.dataset, ...x })));
    if (flags.json) out(`${JSON.stringify({ datasets, differing: differing.length })}\n`);
    else {
      for (const d of datasets) {
        out(`${d.dataset} (${d.key}): lake ${d.lakeTotal} rows, destination ${d.destinationTotal ?? "n/a"} rows in all\n`);
        out(`  ${"day".padEnd(10)} ${"lake".padStart(8)} ${"dest".padStart(8)} ${"diff".padStart(8)}\n`);
        for (const x of d.days) {
          if (x.lake === 0 && !x.destination) continue;
          const mark = x.difference ? "  <- differs" : "";
          out(`  ${x.day} ${String(x.lake).padStart(8)} ${String(x.destination ?? "n/a").padStart(8)} ${String(x.difference ?? "n/a").padStart(8)}${mark}\n`);
        }
      }
      out(differing.length ? `${differing.length} day(s) differ: \`lake repair ${source} --day <day>\` republishes one\n` : "every published day is complete at the destination\n");
    }
    return differing.length > 0 ? 1 : 0;
  });
}
