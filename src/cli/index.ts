/**
 * The `lake` CLI. Light to import: commands load their implementation inside their action, so `lake --help`
 * does no I/O and needs no service.
 */
import { Command, CommanderError } from "commander";
import { reportError } from "./entry.js";
import { register as registerCore } from "./core.js";
import { register as registerBackfill } from "./backfill.js";
import { register as registerEnqueue } from "./enqueue.js";
import { register as registerWorker } from "./worker.js";
import { register as registerPipeline } from "./pipeline.js";
import { register as registerSchedule } from "./schedule.js";
import { register as registerCoverage } from "./coverage.js";

export function buildProgram(): Command {
  const program = new Command("lake")
    .description("Data-lake ETL: sensor data through raw → standardized → ready → published, with a catalog and a compare loop")
    .enablePositionalOptions()
    .exitOverride();
  registerCore(program);
  registerBackfill(program);
  registerEnqueue(program);
  registerWorker(program);
  registerPipeline(program);
  registerSchedule(program);
  registerCoverage(program);
  return program;
}

export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  let code = 0;
  program.hook("postAction", (_this, action) => {
    const c = (action as Command & { exitCodeValue?: number }).exitCodeValue;
    if (c !== undefined) code = c;
  });
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    return reportError(err);
  }
  return code;
}
