/**
 * The runtime of one process: validated configuration, zone, clock, secrets, the event bus, and the drivers
 * (created lazily, once, and shared by every stage of a pipeline run). Tests inject drivers and a clock here.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { createDriver, isDriverSpec, type DriverInput } from "../config/factory.js";
import { loadConfig, createSecretSource, type LoadOptions } from "../config/load.js";
import type { DriverSpec, LakeConfig, Purpose } from "../config/schema.js";
import type { DriverContext, SecretSource } from "../drivers/define.js";
import { CALLS, driverEntry, type DriverKind, type DriverKinds } from "../drivers/registry.js";
import { ConfigError } from "./errors.js";
import { LakeEventBus } from "./events.js";
import { Handover } from "./handover.js";
import { assertZone, systemClock, type Clock } from "../util/dates.js";
import { useProcessZone } from "../util/process-zone.js";
import { LockService, wrapDriver, type DriverPolicy, type RetryPolicy } from "./resilience.js";
import { secretRedactor } from "../util/redact.js";

/** Where `lake demo` registers its simulated source systems, relative to the lake home. */
export const DEMO_SOURCES_FILE = "sources/config.json";

export interface RuntimeOptions extends LoadOptions {
  clock?: Clock;
  /** The host's real time (default: the clock given, else the system clock; LAKE_CLOCK leaves it the system's). */
  realClock?: Clock;
  /** Already-built drivers (tests, embedding): they win over configuration. */
  drivers?: Partial<{ [K in DriverKind]: DriverKinds[K] }>;
  events?: LakeEventBus;
  /**
   * Make the lake's zone the process's own (TZ), so luxon reads its offsets from Date instead of loading Intl's zone
   * data (util/process-zone.ts). For command-line processes, which have one zone; embedders keep theirs.
   */
  processZone?: boolean;
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
  /**
   * The host's real time, for what is measured against the world rather than the lake's (possibly replayed) clock:
   * a GRIDSMART device's clock is compared with it. The same as `clock` unless LAKE_CLOCK (or a test) moved that.
   */
  readonly realClock: Clock;
  readonly secrets: SecretSource;
  readonly home: string;
  private readonly instances = new Map<string, Promise<unknown>>();
  /** Injected (already built) drivers, each wrapped once. */
  private readonly wrappedInstances = new WeakMap<object, unknown>();
  private demoSources: Record<string, Record<string, unknown>> | undefined;
  private readonly sourceOverrides = new Map<string, Record<string, unknown>>();
  /** `lake pipeline`'s in-memory hand-over of a stage's written objects to the next stage (handover.ts). */
  readonly handover = new Handover();
  /** The per-dataset locks of this process (lock files under <home>/locks keep other processes out). */
  readonly locks: LockService;
  /** The configuration file read, when one was (absolute). */
  readonly configFile: string | undefined;

  constructor(
    readonly config: LakeConfig,
    readonly baseDir: string,
    private readonly injected: RuntimeOptions["drivers"] = {},
    opts: { clock?: Clock; realClock?: Clock; events?: LakeEventBus; env?: NodeJS.ProcessEnv; configFile?: string } = {},
  ) {
    this.configFile = opts.configFile;
    this.zone = assertZone(config.zone);
    this.clock = opts.clock ?? systemClock;
    this.realClock = opts.realClock ?? this.clock;
    this.events = opts.events ?? new LakeEventBus();
    this.home = path.resolve(baseDir, config.home);
    this.secrets = createSecretSource(config.secretsFile, opts.env ?? process.env, baseDir);
    // A password written into a URL of the configuration (a connection string) is masked like a secret.
    secretRedactor.addUrlCredentials(config);
    this.locks = new LockService({
      dir: path.join(this.home, "locks"),
      staleMs: config.blocks.leaseMs,
      what: process.argv.slice(2, 4).join(" ") || "lake",
      onWait: (key, holder, staleAt) =>
        this.events.emit("log", {
          app: "runtime",
          level: "info",
          message: `waiting for ${key}: held by ${holder ? `${holder.host}:${holder.pid} (${holder.what})` : "another process"} until ${new Date(staleAt).toISOString()} at the latest`,
        }),
    });
  }

  /** Reads and validates configuration (the only I/O: the config file). */
  static create(opts: RuntimeOptions = {}): LakeRuntime {
    const { config, baseDir, file } = loadConfig(opts);
    if (opts.processZone) useProcessZone(config.zone);
    const clock = opts.clock ?? clockFromEnv(opts.env ?? process.env);
    // A clock given in code is the whole world's (tests); one from LAKE_CLOCK replays the lake only.
    const realClock = opts.realClock ?? opts.clock ?? systemClock;
    return new LakeRuntime(config, baseDir, opts.drivers ?? {}, {
      ...(clock ? { clock } : {}),
      realClock,
      ...(opts.events ? { events: opts.events } : {}),
      ...(opts.env ? { env: opts.env } : {}),
      ...(file ? { configFile: file } : {}),
    });
  }

  get retry(): RetryPolicy {
    return this.config.retry;
  }

  driverContext(debug: boolean): DriverContext {
    return { secrets: this.secrets, zone: this.zone, clock: this.clock, debug, baseDir: this.baseDir, home: this.home };
  }

  /** The driver runtime's policy for a driver: its registry defaults, the spec's settings, the config's retries. */
  policy(kind: DriverKind, driverName: string, spec?: { timeoutMs?: number | undefined; concurrency?: number | undefined }): DriverPolicy {
    const defaults = driverEntry(kind, driverName)?.runtime ?? { timeoutMs: 0, concurrency: 0 };
    return {
      retry: defaults.retries === undefined ? this.config.retry : { ...this.config.retry, retries: defaults.retries },
      timeoutMs: spec?.timeoutMs ?? defaults.timeoutMs,
      concurrency: spec?.concurrency ?? defaults.concurrency,
    };
  }

  /** A driver behind the driver runtime (retries, deadline, dataset lock, limits, timing, redaction). */
  wrap<K extends DriverKind>(kind: K, driver: DriverKinds[K], spec?: { timeoutMs?: number | undefined; concurrency?: number | undefined }): DriverKinds[K] {
    const wrapped = wrapDriver(driver, {
      kind,
      calls: CALLS[kind],
      policy: this.policy(kind, driver.driverName, spec),
      events: this.events,
      locks: this.locks,
    });
    // Storage reads may be answered by the pipeline's in-memory hand-over (off unless a pipeline run turns it on).
    return kind === "storage" ? (this.handover.storage(wrapped as DriverKinds["storage"]) as DriverKinds[K]) : wrapped;
  }

  /** One driver per (kind, spec, debug), created on first use, behind the driver runtime. */
  driver<K extends DriverKind>(kind: K, debug: boolean, spec?: DriverInput<K>): Promise<DriverKinds[K]> {
    const injected = this.injected?.[kind];
    const chosen = (spec ?? injected ?? (this.config as unknown as Record<string, DriverInput<K>>)[kind]) as DriverInput<K> | undefined;
    if (!chosen) throw new ConfigError(`No ${kind} driver configured: add a "${kind}" section with a driver name`);
    if (!isDriverSpec(chosen)) {
      let made = this.wrappedInstances.get(chosen) as DriverKinds[K] | undefined;
      if (!made) this.wrappedInstances.set(chosen, (made = this.wrap(kind, chosen as DriverKinds[K])));
      return Promise.resolve(made);
    }
    const cacheKey = `${kind}|${debug}|${JSON.stringify(chosen)}`;
    let made = this.instances.get(cacheKey) as Promise<DriverKinds[K]> | undefined;
    if (!made) {
      made = createDriver(kind, chosen, this.driverContext(debug)).then((d) => this.wrap(kind, d, chosen));
      this.instances.set(cacheKey, made);
      made.catch(() => this.instances.delete(cacheKey));
    }
    return made;
  }

  /**
   * A new driver of its own (not shared, not cached), behind the driver runtime: the caller closes it. For
   * resources a command opens and closes itself, such as the block store.
   */
  async openDriver<K extends DriverKind>(kind: K, spec: DriverSpec, debug = false): Promise<DriverKinds[K]> {
    const made = await createDriver(kind, spec, this.driverContext(debug));
    return this.wrap(kind, made, spec);
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

  /** Whether the source has settings of its own (sources.<code> in the config, an override, or the demo's). */
  isSourceConfigured(code: string): boolean {
    const settings = this.sourceConfig(code);
    return this.sourceOverrides.has(code) || this.config.sources[code] !== undefined || Object.keys(settings).length > 0;
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
