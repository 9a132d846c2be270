/** `lake doctor [--json]`: the configuration, every driver's options and secrets, and every configured system reached. */
import type { Command } from "commander";
import { UsageError } from "../support/errors.js";
import { setCode, stdout, type ActionDeps } from "./shared.js";

export interface DoctorFlags {
  json?: boolean;
  timeout?: string;
  debug?: boolean;
  config?: string;
}

export function register(program: Command): void {
  program
    .command("doctor")
    .description("check the configuration, every driver's options and secrets, and reach every configured system; exit 1 if any check fails")
    .option("--json", "print the findings as JSON")
    .option("--timeout <ms>", "deadline of each check in milliseconds", "5000")
    .option("--debug", "check the debug (test) targets")
    .option("--config <file>", "configuration file")
    .action(async (opts: DoctorFlags, self: Command) => setCode(self, await doctorAction(opts)));
}

export async function doctorAction(flags: DoctorFlags, deps: Pick<ActionDeps, "registry" | "out"> & { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<number> {
  const out = deps.out ?? stdout;
  const timeoutMs = Number(flags.timeout ?? 5000);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new UsageError(`--timeout must be a whole number of milliseconds, not "${String(flags.timeout)}"`);
  const { diagnose, formatFindings } = await import("../orchestration/doctor.js");
  const { defaultRegistry } = await import("./runner.js");
  const report = await diagnose({
    registry: deps.registry ?? (await defaultRegistry()),
    timeoutMs,
    debug: Boolean(flags.debug),
    ...(flags.config ? { file: flags.config } : {}),
    ...(deps.env ? { env: deps.env } : {}),
    ...(deps.cwd ? { cwd: deps.cwd } : {}),
  });
  out(flags.json ? `${JSON.stringify(report)}\n` : formatFindings(report.findings));
  return report.ok ? 0 : 1;
}
