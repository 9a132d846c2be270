/**
 * The runtime of one process: validated configuration, zone, clock, secrets, the event bus, and the drivers
 * (created lazily, once, and shared by every stage of a pipeline run). Tests inject drivers and a clock here.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { createDriver, type DriverInput } from "../config/factory.js";
import { loadConfig, createSecretSource, type LoadOptions } from "../config/load.js";
import type { LakeConfig, Purpose } from "../config/schema.js";
import type { DriverContext, SecretSource } from "../drivers/define.js";
import type { DriverKind, DriverKinds } from "../drivers/registry.js";
import { ConfigError } from "./errors.js";
import { LakeEventBus } from "./events.js";
import { assertZone, systemClock, type Clock } from "../util/dates.js";
import type { RetryPolicy } from "./resilience.js";

/** Where `lake demo` registers its simulated source systems, relative to the lake home. */
export const DEMO_SOURCES_FILE = "sources/config.json";

export interface RuntimeOptions extends LoadOptions {
  clock?: Clock;
  /** Already-built drivers (tests, embedding): they win over configuration. */
  drivers?: Partial<{ [K in DriverKind]: DriverKinds[K] }>;
  events?: LakeEventBus;
}

/**
 * LAKE_CLOCK=<ISO date-time> starts the process's clock at that instant (it then runs at normal speed): replaying a
 * night of the past, or running the demo lake's fixed weeks with relative windows such as `-s 14`.
 */
export function clockFromEnv(env: NodeJS.ProcessEnv): Clock | undefined {
  const text = env.LAKE_CLOCK;
  if (!text) return undefined;
  const start = Date.parse(text);
  if (Number.isNaN(start)) throw new ConfigError(`LAKE_CLOCK "${text}" is not an ISO date-time (e.g. 2024-11-10T09:00:00-06:00)`);
  const realStart = Date.now();
  return () => start + (Date.now() - realStart);
}

export class LakeRuntime {
  readonly events: LakeEventBus;
  readonly zone: string;
  readonly clock: Clock;
  readonly secrets: SecretSource;
  readonly home: string;
  private readonly instances = new Map<string, Promise<unknown>>();
  private demoSources: Record<string, Record<string, unknown>> | undefined;
  private readonly sourceOverrides = new Map<string, Record<string, unknown>>();

  constructor(
    readonly config: LakeConfig,
    readonly baseDir: string,
    private readonly injected: RuntimeOptions["drivers"] = {},
    opts: { clock?: Clock; events?: LakeEventBus; env?: NodeJS.ProcessEnv } = {},
  ) {
    this.zone = assertZone(config.zone);
    this.clock = opts.clock ?? systemClock;
    this.events = opts.events ?? new LakeEventBus();
    this.home = path.resolve(baseDir, config.home);
    this.secrets = createSecretSource(config.secretsFile, opts.env ?? process.env, baseDir);
  }

  /** Reads and validates configuration (the only I/O: the config file). */
  static create(opts: RuntimeOptions = {}): LakeRuntime {
    const { config, baseDir } = loadConfig(opts);
    const clock = opts.clock ?? clockFromEnv(opts.env ?? process.env);
    return new LakeRuntime(config, baseDir, opts.drivers ?? {}, {
      ...(clock ? { clock } : {}),
      ...(opts.events ? { events: opts.events } : {}),
      ...(opts.env ? { env: opts.env } : {}),
    });
  }

  get retry(): RetryPolicy {
    return this.config.retry;
  }

  driverContext(debug: boolean): DriverContext {
    return { secrets: this.secrets, zone: this.zone, clock: this.clock, debug, baseDir: this.baseDir, home: this.home };
  }

  /** One driver per (kind, spec, debug), created on first use. */
  driver<K extends DriverKind>(kind: K, debug: boolean, spec?: DriverInput<K>): Promise<DriverKinds[K]> {
    const injected = this.injected?.[kind];
    if (injected && !spec) return Promise.resolve(injected as DriverKinds[K]);
    const chosen = (spec ?? (this.config as unknown as Record<string, DriverInput<K>>)[kind]) as DriverInput<K> | undefined;
    if (!chosen) throw new ConfigError(`No ${kind} driver configured: add a "${kind}" section with a driver name`);
    const cacheKey = `${kind}|${debug}|${JSON.stringify(chosen)}`;
    let made = this.instances.get(cacheKey) as Promise<DriverKinds[K]> | undefined;
    if (!made) {
      made = createDriver(kind, chosen, this.driverContext(debug));
      this.instances.set(cacheKey, made);
      made.catch(() => this.instances.delete(cacheKey));
    }
    return made;
  }

  /** The repository of the lake's own bookkeeping (not a layer: nothing in it is catalogued). */
  stateRepository(debug: boolean): string {
    const names = this.config.repositories.state;
    return debug ? names.debug : names.production;
  }

  repository(purpose: Purpose, debug: boolean): string {
    const names = this.config.repositories[purpose];
    if (!names) throw new ConfigError(`Unknown purpose "${purpose}": use raw, standardized, ready or public`);
    return debug ? names.debug : names.production;
  }

  /**
   * Per-source settings block (sources.<code>). When the config has none, the simulated source systems that
   * `lake demo` made register theirs in <home>/sources/config.json, so stages find the demo's sources by default.
   */
  sourceConfig(code: string): Record<string, unknown> {
    const overridden = this.sourceOverrides.get(code);
    if (overridden) return overridden;
    const configured = this.config.sources[code];
    if (configured) return configured;
    if (this.demoSources === undefined) {
      const file = path.join(this.home, DEMO_SOURCES_FILE);
      this.demoSources = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, Record<string, unknown>>) : {};
    }
    return this.demoSources[code] ?? {};
  }

  /** Replaces a source's settings for this process (e.g. the address of a simulated system started for the run). */
  overrideSourceConfig(code: string, settings: Record<string, unknown>): void {
    this.sourceOverrides.set(code, settings);
  }

  async close(): Promise<void> {
    const made = [...this.instances.values()];
    this.instances.clear();
    for (const p of made) {
      try {
        const d = (await p) as { close?: () => Promise<void> };
        await d.close?.();
      } catch {
        // a driver that failed to build has nothing to close
      }
    }
  }
}
