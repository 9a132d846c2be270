/** `lake serve [--port 8765] [--host 127.0.0.1]`: the operator console over the configured lake (read-only). */
import type { Command } from "commander";
import { UsageError } from "../support/errors.js";
import { setCode, stdout, withRuntime, type ActionDeps } from "./shared.js";

export interface ServeFlags {
  port?: string;
  host?: string;
  debug?: boolean;
  config?: string;
}

export function register(program: Command): void {
  program
    .command("serve")
    .description("web console: runs, coverage, device health and the publish audit of every source (JSON under /api/; read-only but for repair, which needs LAKE_CONSOLE_TOKEN)")
    .option("--port <port>", "port to listen on", "8765")
    .option("--host <host>", "address to bind (anything but loopback needs LAKE_CONSOLE_TOKEN)", "127.0.0.1")
    .option("--debug", "show the debug (test) repositories, datasets and perfmet tables")
    .option("--config <file>", "configuration file")
    .action(async (opts: ServeFlags, self: Command) => {
      setCode(self, await serveAction(opts));
    });
}

function parsePort(value: string | undefined): number {
  const n = Number(value ?? 8765);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--port must be a whole number from 0 to 65535, not "${String(value)}"`);
  return n;
}

/** Serves until stopped (SIGINT/SIGTERM, or deps.stop resolving). */
export async function serveAction(flags: ServeFlags, deps: ActionDeps & { stop?: Promise<void>; env?: NodeJS.ProcessEnv } = {}): Promise<number> {
  const out = deps.out ?? stdout;
  const env = deps.env ?? process.env;
  return withRuntime(flags, deps, async (runtime) => {
    const port = parsePort(flags.port);
    const { startConsole } = await import("../console/server.js");
    const { defaultRegistry } = await import("./runner.js");
    const registry = deps.registry ?? (await defaultRegistry());
    const token = env.LAKE_CONSOLE_TOKEN || undefined;
    const { repairUnderLeases } = await import("./repair.js");
    const repair = async (source: string, day: string) => {
      const { code, report } = await repairUnderLeases(runtime, registry, source, day, { debug: flags.debug }, deps);
      return { ok: code === 0, ...report };
    };
    const running = await startConsole({ runtime, registry, debug: Boolean(flags.debug) }, { host: flags.host ?? "127.0.0.1", port, token, repair });
    out(`lake console on ${running.url} (${token ? "read-only but for repair, which needs the token" : "read-only: set LAKE_CONSOLE_TOKEN to allow repair"}); Ctrl-C stops it\n`);
    const stop =
      deps.stop ??
      new Promise<void>((resolve) => {
        process.once("SIGINT", () => resolve());
        process.once("SIGTERM", () => resolve());
      });
    await stop;
    await running.close();
    return 0;
  });
}
