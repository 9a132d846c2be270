/** `lake demo`: simulated sources, every pipeline on the embedded default, and what ended up in the lake. */
import type { Command } from "commander";
import path from "node:path";
import { setCode } from "./shared.js";

export interface DemoFlags {
  dir: string;
  sources?: string[];
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command("demo")
    .description("create simulated sources (two weeks spanning 2024-11-03) and run every pipeline on the embedded default")
    .option("--dir <dir>", "lake home folder for the demo", "demo-lake")
    .argument("[sources...]", "sources to include, e.g. `lake demo oeem` (same as --sources)")
    .option("--sources <codes>", "comma-separated sources to include (default: all)")
    .option("--json", "print the summary as JSON on the last line")
    .action(async (named: string[], opts: { dir: string; sources?: string; json?: boolean }, cmd: Command) => {
      const { reportError } = await import("./runner.js");
      const sources = [...named, ...(opts.sources ? opts.sources.split(",") : [])];
      try {
        setCode(cmd, await runDemo({ dir: opts.dir, ...(sources.length ? { sources } : {}), json: Boolean(opts.json) }));
      } catch (err) {
        setCode(cmd, reportError(err));
      }
    });
}

export async function runDemo(opts: DemoFlags): Promise<number> {
  const { demo, DEMO_FROM, DEMO_TO } = await import("../orchestration/demo.js");
  const { LakeEventBus } = await import("../support/events.js");
  const { attachConsole } = await import("./runner.js");
  const events = new LakeEventBus();
  const detach = await attachConsole(events, { quiet: Boolean(opts.json) });
  try {
    const result = await demo({ dir: opts.dir, ...(opts.sources ? { sources: opts.sources } : {}) }, events);
    const failed = result.stages.reduce((n, s) => n + s.failed, 0);
    const processed = result.stages.reduce((n, s) => n + s.processed, 0);
    if (opts.json) {
      process.stdout.write(
        `${JSON.stringify({
          home: result.home,
          configFile: result.configFile,
          clock: result.clock,
          processed,
          skipped: result.stages.reduce((n, s) => n + s.skipped, 0),
          failed,
          stages: result.stages.map(({ plan: _p, ...s }) => s),
          catalog: result.catalog,
          published: result.published,
        })}\n`,
      );
    } else {
      const out = (s: string) => process.stdout.write(`${s}\n`);
      out(`\nDemo lake: ${result.home}`);
      out(`Window ${DEMO_FROM} up to ${DEMO_TO} (America/Chicago days; 2024-11-03 has 25 hours)\n`);
      const { formatPipelineSummary } = await import("./runner.js");
      out(formatPipelineSummary(result.stages.map((s) => ({ source: "", stage: s.app, summary: s }))).trimEnd());
      out(`\nCatalog rows (source → repository → rows):`);
      for (const [code, repos] of Object.entries(result.catalog)) {
        out(`  ${code}: ${Object.entries(repos).map(([r, n]) => `${r} ${n}`).join(", ")}`);
      }
      out(`\nPublished datasets (CSV files under ${path.join(result.home, "published")}):`);
      for (const [id, n] of Object.entries(result.published)) out(`  ${id}: ${n} rows`);
      const after = failed > 0 ? " Some items failed (the FAILED lines above say why); the demo exits 1." : processed === 0 ? " Nothing new: the lake is up to date." : " Run it again: nothing is new, so 0 items are processed.";
      out(`\nTotal: ${processed} items processed, ${failed} failed.${after}`);
      const home = path.resolve(opts.dir) === path.resolve("demo-lake") ? "" : `LAKE_HOME=${opts.dir} `;
      const cfg = path.relative(process.cwd(), result.configFile) || result.configFile;
      out(`\nTry it (the demo's data is of ${DEMO_FROM} up to ${DEMO_TO}; LAKE_CLOCK puts the lake's clock just after it, so \`-s 7\` reaches it):`);
      out(`  LAKE_CLOCK=${result.clock} npx lake run wt-insert-lake -s 7 -F --config ${cfg}`);
      out(`  npx lake coverage gs -s 2024-11-01 -e 2024-11-08 --config ${cfg}`);
      out(`  npx lake audit wt --config ${cfg}`);
      out(`\nSee it in the console (runs, coverage, devices, audit): ${home}npx lake serve   → http://127.0.0.1:8765`);
    }
    return failed > 0 ? 1 : 0;
  } finally {
    detach();
  }
}
