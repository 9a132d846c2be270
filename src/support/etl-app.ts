/**
 * ETLApp (original §1): one stage of one source. Parses the standard flags, connects catalog/storage/perfmet from
 * the runtime, runs the stage's etlActivity (usually a compare loop), and returns a RunSummary.
 *
 * Fixes: B1 (the previous date advances, so staged catalog rows flush exactly on date change), B2 (the temp folder
 * is removed), B22 (main(args) takes an options object), B24 (debug → test repositories, datasets and perfmet
 * tables), B25 (simulation writes nothing at all), B32 (today is the configured zone's, from the injected clock).
 */
import { mkdtemp, rm, writeFile, mkdir, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Command, CommanderError } from "commander";
import { aliasTable, commanderOption, flagAliases, flagKey, kebabFlags, keyedValues, rewriteAliases, type FlagSpec } from "./flags.js";
import type { DateTime } from "luxon";
import type { Purpose } from "../config/schema.js";
import { Catalog, type CatalogEntry } from "./catalog.js";
import { ConfigError, UsageError, errorMessage, fsErrorMessage, isSystemError } from "./errors.js";
import type { PlanEntry, RunSummary } from "./events.js";
import { compare, describeItem, windowFor, type DateWindow, type LastUpdateProvider, type UpdateItem } from "./last-update.js";
import { PerfMet } from "./perfmet.js";
import { Publisher } from "./publisher.js";
import { LakeRuntime, type RuntimeOptions } from "./runtime.js";
import { Storage } from "./storage.js";
import { fetchUnitData, isMetadataExt, storeUnitData, UnitDataStorage, type UnitData } from "./unitdata.js";
import { addDays, earliestTime, nowIn, parseDate, parseWindowDay, todayMidnight } from "../util/dates.js";
import { redact, secretRedactor } from "../util/redact.js";
import { ENCRYPTION_KEY_SECRET, parseKey } from "../util/encryption.js";

export interface AppDefinition {
  /** Entry name, e.g. "wt-insert-lake". */
  name: string;
  description: string;
  /** Two-letter data source code (bt, wt, gs, ...). */
  dataSource: string;
  /** Perfmet stage label (Ingest, Standardize, Ready, Aggregate, Publish); none = no perfmet job row. */
  stage?: string;
  purposeSrc?: Purpose;
  purposeTgt?: Purpose;
  /** Long name of the data source (perfmet's data_source); default the code. */
  sourceName?: string;
  /** The source's device inventory: its type and keys (what the unit-data driver is asked for). */
  devices?: DeviceRequestSpec;
  /** Exts of the source's metadata objects beside unit data (not a day's output when comparing on base alone). */
  metadataExts?: readonly string[];
}

/** The device inventory of a data source as a stage asks the unit-data driver for it. */
export interface DeviceRequestSpec {
  type: string;
  keys: readonly string[];
}

/** A stage-specific flag, declared once for both argv and options-object callers. */
/**
 * A stage flag (support/flags.ts): commander flags, e.g. "-d, --sourcedir <dir>"; a snake_case long name is shown in
 * kebab-case and accepted as written. The options key is `key`, else the long name as written with "-" → "_".
 */
export type CustomOption = FlagSpec;

export interface StandardOptions {
  last_run_date?: string;
  start_date?: string;
  end_date?: string;
  force?: boolean;
  simulate?: boolean;
  output_filepath?: string;
  debug?: boolean;
  json?: boolean;
  /** Save the simulation plan as JSON here. */
  plan?: string;
  config?: string;
}

export type AppOptions = StandardOptions & Record<string, unknown>;

export const STANDARD_OPTIONS: CustomOption[] = [
  { flags: "-r, --last-run-date <date>", key: "last_run_date", description: "last run date: YYYY-MM-DD, ISO date-time or UNIX time; 0 = 2000-01-01" },
  { flags: "-s, --start <date>", key: "start_date", aliases: ["--start-date", "--start_date"], description: "window start: a date, or N = N days before today's local midnight (0 = today)" },
  { flags: "-e, --end <date>", key: "end_date", aliases: ["--end-date", "--end_date"], description: "window end, exclusive (a date or N days back); equal to the start = exactly that day" },
  { flags: "-F, --force", description: "process items even when the target already has them" },
  { flags: "-0, --simulate", aliases: ["--dry-run"], description: "write nothing to storage, catalog, publisher or perfmet; print a plan" },
  { flags: "-o, --output-filepath <dir>", key: "output_filepath", description: "also write every output to this local folder" },
  { flags: "--debug", description: "debug mode: test repositories, test publish targets and test perfmet tables" },
  { flags: "--json", description: "print the run summary as one JSON object on the last line" },
  { flags: "--plan <file>", description: "with -0: save the plan of what would be written as JSON" },
  { flags: "--config <file>", description: "configuration file (default: lake.config.{yaml,json} or $LAKE_CONFIG)" },
];

export interface AppClass<A extends ETLApp = ETLApp> {
  new (options: AppOptions, runtime: LakeRuntime): A;
  readonly definition: AppDefinition;
  readonly options?: CustomOption[];
}

/** The options key of flags as written: "-d, --sourcedir <dir>" → "sourcedir", "--last_run_date" → "last_run_date". */
export function optionKey(flags: string): string {
  return flagKey({ flags });
}

function allOptions(App: AppClass): CustomOption[] {
  return [...STANDARD_OPTIONS, ...(App.options ?? [])];
}

/** A commander command of flags (help text, argv parsing, unknown flags rejected); its output goes to `write`. */
export function flagCommand(name: string, description: string, options: readonly CustomOption[], write: (s: string) => void = (s) => process.stdout.write(s)): Command {
  const cmd = new Command(name).description(description).exitOverride().allowExcessArguments(false);
  cmd.configureOutput({ writeErr: () => undefined, writeOut: write });
  for (const o of options) cmd.addOption(commanderOption(o));
  return cmd;
}

/** argv parsed by a command of these flags (aliases rewritten) → options keyed by flagKey. */
export function parseFlags(cmd: Command, options: readonly CustomOption[], argv: readonly string[], name: string): Record<string, unknown> {
  try {
    cmd.parse(rewriteAliases(argv, aliasTable(options)), { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.help") throw err;
      throw new UsageError(`${name}: ${err.message.replace(/^error: /, "")} (see --help)`);
    }
    throw err;
  }
  return keyedValues(options, cmd.opts());
}

/** The commander command of a stage (help text, argv parsing, unknown flags rejected). */
export function buildCommand(App: AppClass): Command {
  return flagCommand(App.definition.name, App.definition.description, allOptions(App));
}

/**
 * main(args) accepts an argv array or an options object keyed by long names (fixes B22). Unknown flags or keys
 * are usage errors.
 */
export function parseOptions(App: AppClass, args: string[] | Record<string, unknown>): AppOptions {
  if (Array.isArray(args)) return parseFlags(buildCommand(App), allOptions(App), args, App.definition.name) as AppOptions;
  const known = new Map<string, CustomOption>();
  for (const o of allOptions(App)) {
    known.set(flagKey(o), o);
    for (const name of [kebabFlags(o.flags), ...flagAliases(o)]) {
      const m = /--([A-Za-z0-9_-]+)/.exec(name);
      if (m && !known.has(m[1]!.replace(/-/g, "_"))) known.set(m[1]!.replace(/-/g, "_"), o);
    }
  }
  const out: AppOptions = {};
  for (const o of allOptions(App)) if (o.default !== undefined) out[flagKey(o)] = o.default;
  for (const [rawKey, value] of Object.entries(args)) {
    if (value === undefined) continue;
    const key = rawKey.replace(/-/g, "_").replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    const opt = known.get(key);
    if (!opt) throw new UsageError(`${App.definition.name}: unknown option "${rawKey}" (known: ${[...new Set(allOptions(App).map(flagKey))].join(", ")})`);
    out[flagKey(opt)] = typeof value === "string" && opt.parse ? opt.parse(value) : typeof value === "number" && /<date>/.test(opt.flags) ? String(value) : value;
  }
  return out;
}

export interface ItemFailure {
  item: string;
  error: string;
  /** Failed the same way on the configured number of consecutive runs: later runs skip it. */
  terminal?: boolean;
}

/** A unit of a grouped stage: the items of one (day, base). */
export interface GroupInput {
  base: string;
  date: DateTime;
  label: string;
  items: UpdateItem<CatalogEntry>[];
}

/** Consecutive items of one (day, base) as one unit, in the order the loop yielded them. */
function groupItems(items: UpdateItem[]): GroupInput[] {
  const out: GroupInput[] = [];
  const index = new Map<string, GroupInput>();
  for (const item of items) {
    const key = `${item.date.toMillis()}\u0000${item.base}`;
    let g = index.get(key);
    if (!g) {
      g = { base: item.base, date: item.date, label: `${item.base}/${item.date.toISODate()}`, items: [] };
      index.set(key, g);
      out.push(g);
    }
    g.items.push(item as UpdateItem<CatalogEntry>);
  }
  return out.sort((a, b) => a.date.toMillis() - b.date.toMillis() || (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));
}

export abstract class ETLApp {
  readonly def: AppDefinition;
  readonly zone: string;
  lastRunDate: DateTime | undefined;
  startDate: DateTime | undefined;
  /** Exclusive end as given (start == end has been widened to one day). */
  endDate: DateTime | undefined;
  window!: DateWindow;
  force = false;
  simulate = false;
  debug = false;
  outputDir: string | undefined;
  catalog!: Catalog;
  storageSrc: Storage | undefined;
  storageTgt: Storage | undefined;
  perfmet: PerfMet | undefined;
  /** Local now when the current item started (the original's processingDate). */
  processingDate!: DateTime;
  itemCount = 0;
  readonly plan: PlanEntry[] = [];
  protected records = 0;
  protected skipped = 0;
  protected readonly failures: ItemFailure[] = [];
  protected readonly skipReasons: Record<string, number> = {};
  /** Rows left out of items that were processed, by reason (dropped, quarantined, refused): rows, not items. */
  protected readonly rowsLeftOut: Record<string, number> = {};
  private tempDirPath: string | undefined;
  private detachPerfmet: (() => void) | undefined;
  private fetchedUnitData: UnitData | undefined;
  private unitDataStored = false;
  private started = 0;

  constructor(
    readonly options: AppOptions,
    readonly runtime: LakeRuntime,
  ) {
    this.def = (this.constructor as AppClass).definition;
    this.zone = runtime.zone;
    this.ingestArgs();
  }

  get dataSource(): string {
    return this.def.dataSource;
  }

  /** Local now from the injected clock. */
  now(): DateTime {
    return nowIn(this.zone, this.runtime.clock);
  }

  today(): DateTime {
    return todayMidnight(this.zone, this.runtime.clock);
  }

  /** Standard argument ingestion (original §1.3); subclasses read their own flags after calling super. */
  protected ingestArgs(): void {
    const o = this.options;
    const name = this.def.name;
    const text = (v: unknown) => (v === undefined || v === null ? undefined : String(v));
    const r = text(o.last_run_date);
    const s = text(o.start_date);
    const e = text(o.end_date);
    if (r !== undefined && r !== "") this.lastRunDate = parseDate(r, this.zone, { dateOnly: true, flag: "-r/--last-run-date" });
    if (s !== undefined && s !== "") this.startDate = parseWindowDay(s, this.zone, this.runtime.clock, "-s/--start");
    if (e !== undefined && e !== "") this.endDate = parseWindowDay(e, this.zone, this.runtime.clock, "-e/--end");
    if (!this.lastRunDate && !this.startDate) {
      throw new UsageError(`${name}: a last run date (-r/--last-run-date) or a start date (-s/--start) must be given; -r 0 means from 2000-01-01`);
    }
    const earliest = this.startDate ?? this.lastRunDate!;
    if (this.endDate && this.endDate < earliest) {
      throw new UsageError(`${name}: the end date ${this.endDate.toISODate()} is before the start ${earliest.toISODate()}; -e is exclusive and must not precede -s`);
    }
    this.window = windowFor(earliest, this.endDate);
    this.force = Boolean(o.force);
    this.simulate = Boolean(o.simulate);
    this.debug = Boolean(o.debug);
    this.outputDir = text(o.output_filepath);
    if (o.plan && !this.simulate) throw new UsageError(`${name}: --plan saves the plan of a simulation; add -0/--simulate`);
  }

  /** "2024-11-01 up to 2024-11-08" / "… only" / "… onward". */
  describeWindow(): string {
    const { start, end } = this.window;
    const s = start?.toISODate() ?? "the beginning";
    if (!end) return `${s} onward`;
    if (start && addDays(start, 1).toMillis() === end.toMillis()) return `${s} only`;
    return `${s} up to ${end.toISODate()}`;
  }

  log(level: "debug" | "info" | "warn" | "error", message: string): void {
    this.runtime.events.emit("log", { app: this.def.name, level, message });
  }

  protected get wrapperOptions() {
    return {
      simulate: this.simulate,
      events: this.runtime.events,
      app: this.def.name,
      retry: this.runtime.retry,
      plan: this.plan,
      ...(this.outputDir ? { outputDir: this.outputDir } : {}),
    };
  }

  /** Builds the catalog, source/target storage and perfmet (original §1.5). */
  async connect(): Promise<void> {
    const catalogDriver = await this.runtime.driver("catalog", this.debug);
    this.catalog = new Catalog(catalogDriver, this.dataSource, { zone: this.zone, ...this.wrapperOptions });
    if (this.def.purposeSrc) this.storageSrc = await this.createStorage(this.def.purposeSrc);
    if (this.def.purposeTgt) this.storageTgt = await this.createStorage(this.def.purposeTgt);
    if (this.def.stage) {
      const perfDriver = await this.runtime.driver("perfmet", this.debug);
      this.perfmet = new PerfMet(perfDriver, this.def.sourceName ?? this.dataSource, this.def.stage, this.now(), {
        simulate: this.simulate,
        retry: this.runtime.retry,
        plan: this.plan,
        now: () => this.now(),
      });
      this.detachPerfmet = this.perfmet.subscribe(this.runtime.events, this.def.name, this.zone);
    }
  }

  async createStorage(purpose: Purpose): Promise<Storage> {
    const driver = await this.runtime.driver("storage", this.debug);
    return new Storage(driver, this.runtime.repository(purpose, this.debug), this.dataSource, this.catalog, {
      ...this.wrapperOptions,
      encryptionKey: () => parseKey(this.runtime.secrets.require(ENCRYPTION_KEY_SECRET, "encryption at rest of lake objects")),
    });
  }

  /** A publisher onto a publish target (a Socrata resource id, a CSV dataset name). */
  async createPublisherOn(target: string, rowIdField: string): Promise<Publisher> {
    const driver = await this.runtime.driver("publisher", this.debug);
    return new Publisher(driver, target, rowIdField, this.wrapperOptions);
  }

  /** Repository name of a purpose in this run's mode. */
  repository(purpose: Purpose): string {
    return this.runtime.repository(purpose, this.debug);
  }

  /** The device inventory from the unit-data driver (Knack or local), with its header; fetched once per run. */
  async fetchUnitData(): Promise<UnitData> {
    if (!this.fetchedUnitData) {
      const devices = this.def.devices;
      if (!devices) throw new ConfigError(`${this.def.name}: source ${this.dataSource} declares no device inventory`);
      const driver = await this.runtime.driver("unitdata", this.debug);
      this.fetchedUnitData = await fetchUnitData(
        driver,
        { dataSource: this.dataSource, deviceType: devices.type, keys: devices.keys },
        this.runtime.config.areaBase,
        this.now(),
      );
    }
    return this.fetchedUnitData;
  }

  /** Stores the run's inventory into a storage dated today, once per run (the original did it at the first item). */
  async storeUnitDataOnce(storage: Storage): Promise<void> {
    if (this.unitDataStored) return;
    await this.storeUnitData(storage, await this.fetchUnitData());
    this.unitDataStored = true;
  }

  /** Stores unit data into a storage dated today (the processing day). */
  storeUnitData(storage: Storage, unitData: UnitData) {
    return storeUnitData(storage, unitData, this.runtime.config.areaBase, this.today(), this.now());
  }

  unitDataStorage(storage: Storage): UnitDataStorage {
    return new UnitDataStorage(storage, this.runtime.config.areaBase);
  }

  providerOptions(sameDay = false) {
    return { sameDay, today: this.today() };
  }

  /** A fresh temp folder for this run, removed when the run ends (fixes B2). */
  async tempDir(): Promise<string> {
    if (!this.tempDirPath) this.tempDirPath = await mkdtemp(path.join(os.tmpdir(), `lake-${this.def.name}-`));
    return this.tempDirPath;
  }

  /** Records that an item was skipped for a reason (counted in the summary) and returns 0. */
  skipItem(item: UpdateItem | string, reason: string): number {
    this.skipped++;
    this.skipReasons[reason] = (this.skipReasons[reason] ?? 0) + 1;
    const label = typeof item === "string" ? item : describeItem(item);
    this.runtime.events.emit("item.skipped", { app: this.def.name, item: label, reason });
    return 0;
  }

  /** Records output records (rows written or published). */
  addRecords(n: number): void {
    this.records += n;
  }

  /** Records a failure that is not tied to one compare-loop item (e.g. one device of a day). */
  recordFailure(item: string, err: unknown): void {
    const error = redact(errorMessage(err));
    this.failures.push({ item, error });
    this.runtime.events.emit("item.failed", { app: this.def.name, item, error, ms: 0 });
  }

  /** The stage's work; returns the count of items processed. */
  protected abstract etlActivity(): Promise<number>;

  /** Work for one compare-loop item; returns 1 when processed, 0 when skipped (use skipItem to say why). */
  protected async innerLoopActivity(_item: UpdateItem): Promise<number> {
    return 0;
  }

  /** Runs once after the compare loop's last item (flush per-day work such as grouped days). */
  protected async afterLoop(): Promise<number> {
    return 0;
  }

  /** Hears an item (or group) that failed; returns true when it is now failed-terminal. */
  protected async itemFailed(_unit: UpdateItem | GroupInput, _error: string): Promise<boolean> {
    return false;
  }

  /** Work for one unit of a grouped stage (the items of one day and base); returns 1 when processed. */
  protected async groupActivity(_group: GroupInput): Promise<number> {
    return 0;
  }

  /**
   * The compare loop (original §1.7): yields source items no target covers, runs innerLoopActivity for each (or,
   * grouped, groupActivity once per day and base), flushes staged catalog rows when the date changes and at the
   * end. One failing item does not stop the others; its staged catalog rows are dropped.
   */
  protected async doCompareLoop(
    source: LastUpdateProvider,
    target: LastUpdateProvider | undefined,
    opts: { baseExtKey: boolean; groupBy?: "base" },
  ): Promise<number> {
    this.itemCount = 0;
    let prevDate: number | undefined;
    const grouped = opts.groupBy === "base";
    const declaredMetadata = new Set((this.def.metadataExts ?? []).map((e) => e.toLowerCase()));
    const items = compare(source, target, {
      window: this.window,
      force: this.force,
      baseExtKey: opts.baseExtKey,
      isMetadata: (ext) => isMetadataExt(ext, declaredMetadata),
      onForced: (s) => {
        this.log("info", `Forcing processing of ${s.base}${opts.baseExtKey ? `/${s.ext}` : ""} for date ${s.date.toISODate()}`);
        this.runtime.events.emit("item.forced", { app: this.def.name, item: describeItem(s) });
      },
      ...(grouped ? { groupBy: "base" as const } : {}),
      onCovered: () => {
        this.skipped++;
        this.skipReasons["already done"] = (this.skipReasons["already done"] ?? 0) + 1;
      },
    });
    // Plan first (cheap: catalog reads only), so progress knows the total and the listing is a snapshot taken
    // before this run writes anything.
    const planned: UpdateItem[] = [];
    for await (const item of items) planned.push(item);
    const units: (UpdateItem | GroupInput)[] = grouped ? groupItems(planned) : planned;
    this.runtime.events.emit("plan.size", { app: this.def.name, total: units.length });
    try {
      for (const unit of units) {
        const ms = unit.date.toMillis();
        if (prevDate !== undefined && ms !== prevDate) await this.catalog.flush();
        prevDate = ms;
        this.processingDate = this.now();
        const label = "items" in unit ? unit.label : describeItem(unit);
        const stagedBefore = this.catalog.stagedKeys();
        const t0 = Date.now();
        this.runtime.events.emit("item.start", { app: this.def.name, item: label });
        let n = 0;
        const recordsBefore = this.records;
        try {
          n = "items" in unit ? await this.groupActivity(unit) : await this.innerLoopActivity(unit);
        } catch (err) {
          if (err instanceof ConfigError) throw err;
          // Nothing half-done is recorded: rows this item staged are dropped; its objects are rewritten on rerun.
          this.catalog.discardStagedExcept(stagedBefore);
          // Masked here, once: the message goes to the summary, the events and the failure record in the catalog.
          const error = redact(errorMessage(err));
          const terminal = await this.itemFailed(unit, error);
          this.failures.push({ item: label, error, ...(terminal ? { terminal } : {}) });
          this.runtime.events.emit("item.failed", { app: this.def.name, item: label, error, ms: Date.now() - t0 });
          continue;
        }
        if (n > 0) this.itemCount += n;
        this.runtime.events.emit("item.done", {
          app: this.def.name,
          item: label,
          date: ms,
          count: n,
          records: this.records - recordsBefore,
          ms: Date.now() - t0,
        });
      }
      this.itemCount += await this.afterLoop();
    } finally {
      await this.catalog.flush();
    }
    return this.itemCount;
  }

  /** Runs the stage (the original's doMainLoop) and returns its summary. */
  async run(): Promise<RunSummary> {
    this.started = Date.now();
    try {
      await this.connect();
      this.runtime.events.emit("run.start", {
        app: this.def.name,
        dataSource: this.dataSource,
        stage: this.def.stage ?? "",
        window: this.describeWindow(),
        simulate: this.simulate,
        debug: this.debug,
      });
      this.processingDate = this.now();
      const count = await this.etlActivity();
      if (this.perfmet) {
        await this.perfmet.writeSensorObs();
        await this.perfmet.logJob(count, this.records);
      }
      const summary = this.summary(count);
      if (this.options.plan) await writePlanFile(path.resolve(String(this.options.plan)), redact(JSON.stringify({ app: this.def.name, window: this.describeWindow(), plan: this.plan }, null, 2)));
      this.runtime.events.emit("run.end", { app: this.def.name, summary });
      return summary;
    } finally {
      this.detachPerfmet?.();
      if (this.tempDirPath) await rm(this.tempDirPath, { recursive: true, force: true });
    }
  }

  /** The run's summary, secrets masked (it is printed, posted, recorded on blocks). */
  summary(processed: number): RunSummary {
    return secretRedactor.redactDeep({
      app: this.def.name,
      processed,
      skipped: this.skipped,
      failed: this.failures.length,
      records: this.records,
      seconds: (Date.now() - this.started) / 1000,
      failures: [...this.failures],
      skipReasons: { ...this.skipReasons },
      rowsLeftOut: { ...this.rowsLeftOut },
      simulate: this.simulate,
      ...(this.simulate ? { plan: [...this.plan] } : {}),
    } satisfies RunSummary);
  }
}

export interface MainOverrides extends RuntimeOptions {
  /** Run inside an existing runtime (pipelines, backfills, tests); it is not closed afterwards. */
  runtime?: LakeRuntime;
}

export type MainFn = (args?: string[] | Record<string, unknown>, overrides?: MainOverrides) => Promise<RunSummary>;

/** Runs an app class with already-parsed options. */
export async function runApp(App: AppClass, options: AppOptions, overrides: MainOverrides = {}): Promise<RunSummary> {
  const runtime = overrides.runtime ?? LakeRuntime.create({ ...overrides, ...(options.config ? { file: String(options.config) } : {}) });
  try {
    const app = new App(options, runtime);
    return await app.run();
  } finally {
    if (!overrides.runtime) await runtime.close();
  }
}

/** The entry's programmatic main(args): argv array or options object. */
export function makeMain(App: AppClass): MainFn {
  return (args, overrides) => runApp(App, parseOptions(App, args ?? process.argv.slice(2)), overrides);
}

/**
 * Writes the --plan file, creating its missing folders one at a time (a recursive mkdir spins forever under /proc);
 * a failure is a ConfigError naming the path and what to do (no stack).
 */
async function writePlanFile(file: string, text: string): Promise<void> {
  const fail = (err: unknown): never => {
    throw new ConfigError(isSystemError(err) ? fsErrorMessage(err, "--plan", file) : `--plan ${file}: ${(err as Error).message}`, { cause: err });
  };
  try {
    await writeFile(file, text);
    return;
  } catch (err) {
    if (!isSystemError(err) || err.code !== "ENOENT") fail(err);
  }
  const missing: string[] = [];
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    try {
      await stat(dir);
      break;
    } catch (err) {
      if (!isSystemError(err) || err.code !== "ENOENT" || path.dirname(dir) === dir || missing.length > 64) fail(err);
      missing.unshift(dir);
    }
  }
  try {
    for (const dir of missing) await mkdir(dir);
    await writeFile(file, text);
  } catch (err) {
    fail(err);
  }
}
