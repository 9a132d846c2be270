/**
 * The source kit: a source is declared, not programmed. `defineSource({...})` names a source, its datasets, its
 * device inventory, what a complete day looks like, its stages in run order and its demo simulator;
 * `defineStage({...})` declares one stage by kind:
 *
 * - ingest:    items of an outside system (a provider the stage builds) → objects of a lake layer;
 * - transform: objects of one lake layer → objects of another, per item or grouped per (day, base);
 * - publish:   objects of a lake layer → rows of a dataset at the publisher.
 *
 * The stage supplies what is its own (which items, and a transform from an item's bytes to outputs or rows); the kit
 * owns the rest, the same way for every source: the compare loop and its wiring, reading the item, writing outputs
 * and their catalog rows (staged, dropped when the item fails), skip and failure counting, perfmet (the job row, and
 * each item's observations written once the item succeeded), the device inventory, and the publish sequence
 * (publisher per dataset, chunking, the catalog row of a published day only after its rows went out).
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { DateTime } from "luxon";
import type { Purpose } from "../config/schema.js";
import type { CatalogEntry, CatalogQueryOptions } from "./catalog.js";
import type { DriverSpec } from "../config/schema.js";
import type { ObjectInfo, PublishRow, SqlDriver, TextFilter, UnitDevice } from "./drivers.js";
import type { RetryPolicy } from "./resilience.js";
import { ETLApp, makeMain, type AppClass, type AppDefinition, type CustomOption, type GroupInput, type MainFn } from "./etl-app.js";
import { ConfigError, TerminalError, UsageError, errorMessage } from "./errors.js";
import {
  CatalogProvider,
  FileProvider,
  ListProvider,
  MappedProvider,
  SqlDayProvider,
  type FilePattern,
  type LastUpdateProvider,
  type ProvItem,
  type SqlDayQueries,
  type UpdateItem,
} from "./last-update.js";
import type { Publisher } from "./publisher.js";
import type { LakeRuntime } from "./runtime.js";
import type { BlockStore } from "./block-store.js";
import type { SensorObservation } from "./perfmet.js";
import type { Storage } from "./storage.js";
import { QUARANTINE_SUFFIX, storeUnitData, type UnitData, type UnitDataStorage } from "./unitdata.js";
import { StateStore } from "./state.js";
import { formatPublishedIds, parsePublishedIds, publishedIdsKey } from "./published-ids.js";
import { RowCheck, type RowRules, type RuleBreak } from "./row-rules.js";
export type { RowRules, FieldRange, DayRule, RuleBreak } from "./row-rules.js";
import { pyJson } from "../util/pyjson.js";
import { guardBuffer, guardStream, type LineProblem } from "../util/line-guard.js";
import { AllTime, EntityState } from "./entities.js";
import { itemNotice, notifyRun, type ItemEvent } from "./notify.js";
import { parsePartitionKey, partitionsBetween, blockPartKey, type Grain, type Partition } from "../util/partitions.js";
import { redact } from "../util/redact.js";

// ------------------------------------------------------------------------------------------------ schemas

/**
 * A validation schema as the Standard Schema spec defines it (https://standardschema.dev; zod, valibot and others
 * implement it). The interface is the spec's own, copied as the spec intends.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly "~standard": {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}
type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<{ readonly message: string; readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined }> };

/** Validates a value with a Standard Schema; a ConfigError listing every issue (path and message) otherwise. */
export function validateWith<T>(schema: StandardSchemaV1<unknown, T>, value: unknown, where: string): T {
  const result = schema["~standard"].validate(value);
  if (result instanceof Promise) throw new ConfigError(`${where}: the schema validates asynchronously, which configuration does not support`);
  if (!result.issues) return result.value;
  const lines = result.issues.map((i) => {
    const path = (i.path ?? []).map((p) => String(typeof p === "object" && p !== null && "key" in p ? p.key : p)).join(".");
    return `${where}${path ? `.${path}` : ""}: ${i.message}`;
  });
  throw new ConfigError(lines.join("; "));
}

// ------------------------------------------------------------------------------------------------ declarations

export type StageKind = "ingest" | "transform" | "publish" | "block";
/** The perfmet job label of a stage (original §5). */
export type PerfmetStage = "Ingest" | "Standardize" | "Ready" | "Aggregate" | "Publish";
/** Coverage layers: the lake layers plus a source's aggregates and what is published. */
export type CoverageLayer = "raw" | "standardized" | "ready" | "aggregated" | "published";

export interface DatasetDeclaration {
  /** Publish target ids (Socrata resource id, CSV dataset name); debug never touches production (fixes B24). */
  production: string;
  debug: string;
  /** The row-id field rows are upserted by. */
  rowId: string;
  /**
   * Version of the row-id scheme (default 1): raise it when the way row ids are made changes. It is kept with each
   * publication (its id list, and its catalog row's metadata when above 1); republishing a day that was published
   * under another version deletes all of that publication's rows at the destination before the new rows go up, so a
   * scheme change never duplicates rows, whichever ids the two schemes share.
   */
  rowIdVersion?: number;
}

export interface DeviceDeclaration {
  /** Device type of the inventory (the unit-data driver selects by it: Knack's sensor type, a file's section). */
  type: string;
  /** Inventory keys in order (the unit-data drivers normalise every device to them). */
  keys: readonly string[];
  /** The name the source's perfmet observations give a device (default: its device_name): device health joins on it. */
  sensorName?(device: UnitDevice): string | undefined;
}

export interface CoverageDeclaration {
  /** Objects a complete day has per layer, where the source fixes it (e.g. three AWAM file types a day). */
  expectedPerDay?: Partial<Record<CoverageLayer, number>>;
  /** Ready objects that are aggregates (counted in the "aggregated" layer). */
  aggregateExt?: RegExp;
}

/**
 * A job of the schedule: a stage run every day at a local time (`lake run <stage>`), or a partitioned source's block
 * sweep every hour at a minute (`lake backfill <source>`: its stages in order, settled partitions only).
 */
export interface ScheduledStage {
  /** Full stage name, e.g. "wt-insert-lake"; for an hourly sweep, the source's code. */
  stage: string;
  /** "day": at `time` HH:MM local; "hour": at minute `time` ":MM" of every hour. Default "day". */
  every?: "day" | "hour";
  /** Local time HH:MM in the lake's zone, or ":MM" for an hourly job. */
  time: string;
  /** Window flags, e.g. ["-r", "0", "-s", "60"]; for a sweep, `lake backfill` flags. */
  args: string[];
  /** The command: `lake run` (a stage, default) or `lake backfill` (a partitioned source). */
  command?: "run" | "backfill";
}

/** A partitioned source's hourly block sweep: `lake backfill <source> <args>` at minute `minute` of every hour. */
export interface SweepSchedule {
  every: "hour";
  /** Minute of the hour, 0–59. */
  minute: number;
  /** `lake backfill` flags, e.g. ["--interval", "6h", "--incomplete-only", "--continue-on-error"]. */
  args: string[];
}

export interface ScheduleDeclaration {
  /** Local time HH:MM in the lake's zone. */
  at: string;
  /** Window flags of the nightly run, e.g. ["-r", "0", "-s", "60"]. */
  args: string[];
}

/** What a demo run gives a simulator: where the lake lives, its zone, the days to simulate. */
export interface DemoContext {
  /** Absolute lake home; simulated source systems go under <home>/sources/. */
  home: string;
  zone: string;
  /** First and last (exclusive) local days to simulate, YYYY-MM-DD. */
  from: string;
  to: string;
  /**
   * How much a simulated day holds: "demo" (default: small days, quick to run) or "large" (the benchmark's large
   * day, `npm run bench -- day`: a full day of a big deployment, sizes in docs/testing.md).
   */
  size?: DemoSize;
  /**
   * Whether the simulator shows its demonstration faults (an outage, throttling, a broken page) that the demo fails on
   * and repairs: true while `lake demo` runs; later commands on a demo lake meet healthy simulated systems, so they
   * work as printed (default true).
   */
  faults?: boolean;
}

export type DemoSize = "demo" | "large";

/** A source's simulator for the demo and the tests. */
export interface SourceDemo {
  /** Creates the simulated source system; returns settings merged into sources.<code>. */
  simulate(ctx: DemoContext): Promise<Record<string, unknown>>;
  /** Starts what must run while stages run (e.g. a device API); returns a stop function and settings. */
  serve?(ctx: DemoContext): Promise<{ stop(): Promise<void>; sourceConfig: Record<string, unknown> }>;
  /** Source stages whose runs need serve() (default: every stage of the source). */
  serveFor?: readonly string[];
  /** The days the demo runs this source over, when fewer than the demo's (e.g. one day of hourly blocks). */
  window?: { from: string; to: string };
  /** A partitioned source's demo dispatches its blocks on the configured queue and runs a worker (default: a backfill). */
  viaQueue?: boolean;
}

interface StageCommon<Cfg, S> {
  /** Short name; the stage's full name is `<source code>-<name>` (e.g. "insert-lake" → "wt-insert-lake"). */
  name: string;
  description: string;
  perfmet: PerfmetStage;
  /** The stage's own flags (the standard flags are every stage's). */
  options?: CustomOption[];
  /** Compare source and target items on base alone, or on (base, ext). */
  compareOn: "base" | "base+ext";
  /** Nightly schedule of the stage. */
  schedule?: ScheduleDeclaration;
  /** Stores the device inventory into the target layer once per run, at the first item processed. */
  storesInventory?: boolean;
  /** Per-run state (caches, lookups) handed to every call; built once the run is connected. */
  setup?(ctx: StageContext<Cfg>): S | Promise<S>;
  /** Once after the last item (or group) of the run: work that concerns the run as a whole, summary warnings. */
  finish?(ctx: StageContext<Cfg>, state: S): void | Promise<void>;
  /**
   * "all": the run's date window does not select items (both compare sides see every item): a stage whose work is
   * decided by entity state or completion markers (every raw object lacking its parsed or uploaded marker).
   */
  window?: "all";
}

/** Which target items count as done (the compare loop's target side). */
export interface TargetDeclaration {
  /** Target catalog filter (default: everything of the target repository); may depend on the stage's flags. */
  ext?: TextFilter | ((ctx: StageContext<never>) => TextFilter);
  /** Maps a target item (e.g. to the ext of the source item it stands for), or drops it with undefined. */
  map?(item: ProvItem<CatalogEntry>, ctx: StageContext<never>): ProvItem<CatalogEntry> | undefined;
}

/** Which source items a stage takes from its layer. */
export interface SelectDeclaration {
  base?: TextFilter;
  /** May depend on the stage's flags. */
  ext?: TextFilter | ((ctx: StageContext<never>) => TextFilter);
  /** Drops items the filter cannot express (e.g. metadata objects beside data). */
  accept?(entry: CatalogEntry): boolean;
}

/** An output object of an item: written to the target layer (or another) with its catalog row. */
export interface StageOutput {
  /** Default: the item's base. */
  base?: string;
  ext: string;
  /** Collection day; default: the item's. */
  date?: DateTime;
  /** The bytes: whole, or produced piece by piece (never held whole). */
  body?: Uint8Array | string | AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;
  /** Or a value serialised like Python's json.dumps. */
  json?: unknown;
  /** A local file to upload. */
  file?: string;
  /** Rows the output holds (the run's record count). */
  rows?: number;
  contentType?: string;
  /** Another layer than the stage's target. */
  layer?: Purpose;
  /** The object's file name instead of `<base>_<ds>_<day>.<ext>` (e.g. a run-numbered `<parts>_<run>.xml`). */
  name?: string;
  metadata?: Record<string, unknown> | null;
  collectionEnd?: DateTime | null;
  /** Encrypt the object at rest (AES-256-GCM, key LAKE_ENCRYPTION_KEY): raw payloads with personal data. */
  encrypt?: boolean;
}

/** An item of a catalog layer as a stage gets it. */
export interface LayerInput<Body> {
  item: UpdateItem<CatalogEntry>;
  entry: CatalogEntry;
  body: Body;
}

export type ReadMode = "buffer" | "stream" | "none";
type BodyOf<R extends ReadMode> = R extends "buffer" ? Buffer : R extends "stream" ? AsyncIterable<Buffer> : undefined;

/** What a transform or ingest call gives back: outputs (written in order) or nothing. */
export type Outputs = void | StageOutput | StageOutput[] | AsyncIterable<StageOutput> | Iterable<StageOutput>;
/** What a publish call gives back: row batches, sent in order. */
export type RowBatches = AsyncIterable<readonly PublishRow[]> | Iterable<readonly PublishRow[]>;

export interface IngestStage<Cfg, S> extends StageCommon<Cfg, S> {
  kind: "ingest";
  to: Purpose;
  /** The outside system's items in the run's window (the compare loop's source side). */
  items(ctx: StageContext<Cfg>, state: S): LastUpdateProvider | Promise<LastUpdateProvider>;
  target?: TargetDeclaration;
  process(item: UpdateItem, ctx: StageContext<Cfg>, state: S): Outputs | Promise<Outputs>;
}

export interface TransformStage<Cfg, S, R extends ReadMode = "buffer"> extends StageCommon<Cfg, S> {
  kind: "transform";
  from: Purpose;
  to: Purpose;
  select?: SelectDeclaration;
  target?: TargetDeclaration;
  /** How the item's object is handed over (default buffer); ignored when grouped. */
  read?: R;
  /** One call per (day, base) with that day's items, instead of one per item. */
  groupBy?: "base";
  process?(input: LayerInput<BodyOf<R>>, ctx: StageContext<Cfg>, state: S): Outputs | Promise<Outputs>;
  processGroup?(group: GroupInput, ctx: StageContext<Cfg>, state: S): Outputs | Promise<Outputs>;
}

export interface PublishStage<Cfg, S, R extends ReadMode = "buffer"> extends StageCommon<Cfg, S> {
  kind: "publish";
  from: Purpose;
  select?: SelectDeclaration;
  target?: TargetDeclaration & {
    /** Leaves published rows out of the target side (e.g. skip markers a retry flag reopens). */
    include?(entry: CatalogEntry, ctx: StageContext<Cfg>): boolean;
  };
  /** Dataset key of the source's datasets, or per item. */
  dataset: string | ((item: UpdateItem<CatalogEntry>) => string | undefined);
  read?: R;
  /** The item's rows, in batches. Call ctx.skip() to publish nothing (ctx.skip(reason, {record}) to remember it). */
  rows(input: LayerInput<BodyOf<R>>, ctx: StageContext<Cfg>, state: S): RowBatches | Promise<RowBatches>;
}

// ------------------------------------------------------------------------------------------------ block stages

/**
 * How a partitioned source cuts time: its blocks are (entity, partition) for every entity the configuration names
 * (providers; none = one block per partition), a stage at a time, their status kept in the block store.
 */
export interface PartitionDeclaration<Cfg = unknown> {
  grain: Grain;
  /**
   * The entities of a partition (e.g. the configured providers); without a partition, every entity there is. A
   * partition may have fewer (a job scheduled weekly has blocks on its weekday only).
   */
  entities?(config: Cfg, partition?: Partition): string[];
  /**
   * The one entity a run names through flags of the source's own (e.g. a configured id, or an account and a data
   * type): undefined when none of them is given (then --entity, if any, names it). It may name an entity that is
   * not configured (an ad hoc dev run): it then has a block in every partition of the window. Throws a UsageError
   * naming what does not resolve.
   */
  entityOf?(config: Cfg, options: Record<string, unknown>): string | undefined;
  /** Hours a partition must be over before a run without --time-max takes it (providers publish late). */
  settleHours?: number;
  /** The source's schedule: a block sweep of its stages every hour (`lake schedule`). */
  schedule?: SweepSchedule;
}

/** One block as a block stage gets it. */
export interface BlockInput {
  /** "<partition>#<entity>", the block store's key. */
  key: string;
  entity: string | undefined;
  partition: Partition;
}

/** A record a block did not take: where it was (file, line) and why. */
export interface RecordError {
  reason: string;
  file?: string;
  line?: number;
  /** The record's natural key, when it could be read. */
  id?: string;
  field?: string;
}

/** What a block stage did for one block; the status follows from it unless given. */
export interface BlockResult {
  /** Records the block had (0 = no data). */
  total: number;
  /** Records it carried over (written, loaded, published). */
  processed: number;
  /** Records refused, with where and why (the block's error payload; the first 200 are kept). */
  errors?: RecordError[];
  /** Problems that do not refuse a record (e.g. a point outside the reference layers), counted by reason. */
  warnings?: Record<string, number>;
  /** Where the block's output is (a lake object key). */
  payload?: string;
  message?: string;
  /**
   * Explicit status (e.g. "failed" when the input could not be read at all; "skipped" when the block was not run
   * at all, e.g. its entity is disabled: the message says why).
   */
  status?: BlockOutcomeStatus;
}

export type BlockOutcomeStatus = "succeeded" | "succeeded-with-errors" | "failed" | "no-data" | "skipped";

/** A block's result as the runner records it. */
export interface BlockReport {
  key: string;
  status: BlockOutcomeStatus;
  message: string | null;
  total: number;
  processed: number;
  errors: number;
  payload: string | null;
  /** JSON text of the refused records (file, line, reason), or null. */
  errorPayload: string | null;
  /** A failed block's failure was transient (a timeout, a 5xx after the retries): worth another try later. */
  transient?: boolean;
}

const MAX_ERROR_PAYLOAD = 200;

/** total 0 → no-data; errors and nothing carried over → failed; some errors → succeeded-with-errors. */
export function blockStatus(r: BlockResult): BlockOutcomeStatus {
  if (r.status) return r.status;
  const errors = r.errors?.length ?? 0;
  if (r.total === 0 && errors === 0) return "no-data";
  if (errors > 0) return r.processed > 0 ? "succeeded-with-errors" : "failed";
  return "succeeded";
}

/** A stage's context for one block: the stage context plus publishing rows to a declared dataset. */
export interface BlockContext<Cfg = Record<string, unknown>> extends StageContext<Cfg> {
  /** Upserts rows into a dataset of the source (chunked by the publisher's capability); returns the rows sent. */
  publish(dataset: string, rows: readonly PublishRow[]): Promise<number>;
}

/**
 * A stage run per block (entity × partition) rather than per catalog item: extract from an API, load into a
 * database, publish. Later stages of a partition read what earlier ones wrote (at keys of the partition), and the
 * runner (`lake backfill`) keeps each block's status, counters, payload and error payload in the block store.
 */
export interface BlockStage<Cfg, S> extends Omit<StageCommon<Cfg, S>, "compareOn"> {
  kind: "block";
  /** Block stages are not compared: the block store says what is done. */
  compareOn?: never;
  /** The layers it reads and writes (coverage and the console show them). */
  from?: Purpose;
  to?: Purpose;
  run(block: BlockInput, ctx: BlockContext<Cfg>, state: S): Promise<BlockResult>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type StageDeclaration<Cfg = any, S = any> = IngestStage<Cfg, S> | TransformStage<Cfg, S, ReadMode> | PublishStage<Cfg, S, ReadMode> | BlockStage<Cfg, S>;

/** Declares a stage (kept as given; bound to its source by defineSource). */
export function defineStage<Cfg = unknown, S = void, R extends ReadMode = "buffer">(
  decl: IngestStage<Cfg, S> | TransformStage<Cfg, S, R> | PublishStage<Cfg, S, R> | BlockStage<Cfg, S>,
): StageDeclaration<Cfg, S> {
  return decl as StageDeclaration<Cfg, S>;
}

export interface SourceDeclaration<Cfg = Record<string, unknown>> {
  /** Short code (lower-case letters and digits): data_source of catalog rows and key segment. */
  code: string;
  /** Long name (perfmet's data_source, docs). */
  name: string;
  description?: string;
  /** Schema of sources.<code> in the configuration (validated when a stage starts). */
  config?: StandardSchemaV1<unknown, Cfg>;
  datasets?: Record<string, DatasetDeclaration>;
  devices?: DeviceDeclaration;
  coverage?: CoverageDeclaration;
  /**
   * Exts of objects that describe the lake rather than a day's data, beside unit data (e.g. a device's site file):
   * not counted by coverage, and not taken as a day's output when a stage compares on base alone.
   */
  metadataExts?: readonly string[];
  /**
   * What the source's rows must be, per row kind (e.g. "kits", "unmatched"): value ranges and the day rule. A
   * stage checks its rows with ctx.rules(kind, columns); rows that break them are quarantined, not carried over.
   */
  rules?: Readonly<Record<string, RowRules>>;
  stages: StageDeclaration<Cfg>[];
  /** A partitioned source (every stage a block stage): its grain and entities. */
  partition?: PartitionDeclaration<Cfg>;
  /** The simulator, imported only when the demo or a test needs it. */
  demo?: () => Promise<SourceDemo | { default: SourceDemo }>;
  /**
   * The source's own operations commands, `lake <code> <command> …` (e.g. feeds: `lake feeds enable <job>`),
   * imported only when a command line names the source.
   */
  commands?: () => Promise<readonly SourceCommand[] | { default: readonly SourceCommand[] }>;
}

/** What a source command's run gets: the runtime of its --config, whether --debug was given, output and stdin. */
export interface SourceCommandContext {
  runtime: LakeRuntime;
  debug: boolean;
  out(text: string): void;
  /** The whole of stdin as text (for secrets, which never come on the command line). */
  input(): Promise<string>;
  /** The lake's block store (the caller closes it). */
  blockStore(): Promise<BlockStore>;
}

/**
 * One of a source's own commands: `lake <code> <name words> <args> [options]`; every one also takes --debug and
 * --config. A UsageError it throws exits 2, any other error 1; its returned number is the exit code (default 0).
 */
export interface SourceCommand {
  /** The words after `lake <code>`, e.g. "credentials set". */
  name: string;
  description: string;
  args?: readonly { name: string; description: string }[];
  /** commander option flags, e.g. { flags: "--from-env <var>", description: "…" }; values come in kebab → camelCase. */
  options?: readonly { flags: string; description: string }[];
  run(args: string[], options: Record<string, unknown>, ctx: SourceCommandContext): Promise<number | void>;
}

/** A stage bound to its source: full name, its app class and its main(args). */
export interface BoundStage {
  name: string;
  source: SourceDefinition;
  decl: StageDeclaration;
  App: AppClass;
  main: MainFn;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface SourceDefinition<Cfg = any> extends Omit<SourceDeclaration<Cfg>, "stages"> {
  stages: BoundStage[];
  /** Full stage names in run order. */
  stageNames: string[];
  /** The nightly schedule: scheduled stages in run order. */
  schedule: ScheduledStage[];
  /** The bound stage of a full or short name; a UsageError naming the stages otherwise. */
  stage(name: string): BoundStage;
  /** The validated source settings of a runtime. */
  settings(raw: Record<string, unknown>): Cfg;
  /** The simulator, loaded. */
  loadDemo(): Promise<SourceDemo | undefined>;
  /** The source's own commands, loaded (none: an empty list). */
  loadCommands(): Promise<readonly SourceCommand[]>;
}

const CODE = /^[a-z][a-z0-9]*$/;
const STAGE_NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;

export function defineSource<Cfg = Record<string, unknown>>(decl: SourceDeclaration<Cfg>): SourceDefinition<Cfg> {
  if (!CODE.test(decl.code)) throw new ConfigError(`source code "${decl.code}": use lower-case letters and digits, starting with a letter`);
  const seen = new Set<string>();
  const source = {
    ...decl,
    stages: [] as BoundStage[],
    stageNames: [] as string[],
    schedule: [] as ScheduledStage[],
    stage(name: string): BoundStage {
      const hit = source.stages.find((s) => s.name === name || s.decl.name === name);
      if (!hit) throw new UsageError(`Source ${decl.code} has no stage "${name}" (stages: ${source.stageNames.join(", ")})`);
      return hit;
    },
    settings(raw: Record<string, unknown>): Cfg {
      return decl.config ? validateWith(decl.config, raw, `sources.${decl.code}`) : (raw as Cfg);
    },
    async loadDemo(): Promise<SourceDemo | undefined> {
      if (!decl.demo) return undefined;
      const mod = await decl.demo();
      return "default" in mod ? mod.default : mod;
    },
    async loadCommands(): Promise<readonly SourceCommand[]> {
      if (!decl.commands) return [];
      const mod = await decl.commands();
      return "default" in mod ? mod.default : mod;
    },
  } as SourceDefinition<Cfg>;
  if (decl.partition && decl.stages.some((st) => st.kind !== "block")) {
    throw new ConfigError(`source ${decl.code} declares a partition: every stage must be a block stage (kind "block")`);
  }
  for (const stage of decl.stages) {
    if (stage.kind === "block" && !decl.partition) throw new ConfigError(`source ${decl.code}: block stage ${stage.name} needs the source's partition declaration`);
    if (!STAGE_NAME.test(stage.name)) throw new ConfigError(`stage "${stage.name}" of source ${decl.code}: use lower-case words joined by "-"`);
    const name = `${decl.code}-${stage.name}`;
    if (seen.has(name)) throw new ConfigError(`source ${decl.code} declares the stage ${name} twice`);
    seen.add(name);
    const App = stageApp(source as unknown as SourceDefinition, stage, name);
    source.stages.push({ name, source: source as unknown as SourceDefinition, decl: stage, App, main: makeMain(App) });
    source.stageNames.push(name);
    if (stage.schedule) source.schedule.push({ stage: name, time: stage.schedule.at, args: [...stage.schedule.args] });
  }
  const sweep = decl.partition?.schedule;
  if (sweep) {
    if (!Number.isInteger(sweep.minute) || sweep.minute < 0 || sweep.minute > 59) throw new ConfigError(`source ${decl.code}: partition.schedule.minute must be 0–59`);
    source.schedule.push({ stage: decl.code, every: "hour", time: `:${String(sweep.minute).padStart(2, "0")}`, args: [...sweep.args], command: "backfill" });
  }
  return source;
}

/**
 * The publish target of a source's dataset: the configuration's `datasets.<key>` when set, else the declared ids;
 * debug runs use the debug target (never production: B24).
 */
export function datasetTarget(
  source: Pick<SourceDefinition, "code" | "datasets">,
  key: string,
  configured: Record<string, { production: string; debug: string }>,
  debug: boolean,
): { target: string; rowId: string; rowIdVersion: number } {
  const declared = source.datasets?.[key];
  if (!declared) {
    throw new ConfigError(`Source ${source.code} declares no dataset "${key}" (its datasets: ${Object.keys(source.datasets ?? {}).join(", ") || "none"})`);
  }
  const ids = configured[key] ?? declared;
  return { target: debug ? ids.debug : ids.production, rowId: declared.rowId, rowIdVersion: declared.rowIdVersion ?? 1 };
}

// ------------------------------------------------------------------------------------------------ the context

/** A lake layer as stages see it: reads, catalog lookups, names. */
export interface LayerAccess {
  readonly purpose: Purpose;
  readonly repository: string;
  read(pointer: string): Promise<Buffer>;
  readStream(pointer: string): Promise<AsyncIterable<Buffer>>;
  readJson<T = unknown>(pointer: string): Promise<T>;
  /** The catalog entry of (base, ext, day), or undefined. */
  lookup(base: string, ext: string, date: DateTime): Promise<CatalogEntry | undefined>;
  list(q?: CatalogQueryOptions): Promise<CatalogEntry[]>;
  /** `<base>_<ds>_<day>(.|_)<ext>`. */
  filename(base: string, ext: string, date: DateTime): string;
  /** The last segment of a key. */
  basename(pointer: string): string;
  /** Unit data stored in this layer: the first dated strictly after the day (closest future). */
  units(day?: DateTime): Promise<UnitData>;
  unitEntry(day?: DateTime): Promise<CatalogEntry | undefined>;
  /** Writes an output into this layer (its catalog row staged with the item's). */
  write(output: StageOutput & { base: string; date: DateTime }): Promise<CatalogEntry>;
}

/** Objects of one storage repository, outside the catalog (StageContext.objects). */
export interface ObjectAccess {
  readonly repository: string;
  /** The same object for the same storage driver of a runtime: what may share in-process state (caches). */
  readonly scope: object;
  /** Every object whose key starts with prefix, in key order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** The text under a key, or undefined. */
  read(key: string): Promise<string | undefined>;
  write(key: string, text: string): Promise<void>;
}

export interface StageContext<Cfg = Record<string, unknown>> {
  readonly stage: string;
  readonly source: { code: string; name: string };
  readonly zone: string;
  /** sources.<code>, validated by the source's schema. */
  readonly config: Cfg;
  /** The stage's own flags and the standard ones, by long name (underscores). */
  readonly options: Record<string, unknown>;
  readonly force: boolean;
  readonly simulate: boolean;
  readonly debug: boolean;
  /** Local now when the current item started (the original's processingDate). */
  readonly processingDate: DateTime;
  now(): DateTime;
  today(): DateTime;
  /** Epoch ms of the run's clock (injected). */
  clock(): number;
  /** Real time, whatever clock the run replays (for measuring an outside system's clock). */
  realTime(): number;
  /** The run's window start and exclusive end. */
  readonly window: { start?: DateTime; end?: DateTime };
  readonly log: { info(message: string): void; warn(message: string): void; debug(message: string): void };
  /** The item (or group) is skipped for a reason; with record, the skip is remembered in the target's catalog. */
  skip(reason: string, opts?: { record?: Record<string, unknown> }): void;
  /** Rows of the item not carried over, counted by reason. */
  drop(reason: string, rows: number): void;
  /**
   * A row not carried over because it breaks the source's rules (a value out of range, a time outside the day):
   * counted by reason (summary and perfmet) and written, with where and why, to a quarantine object beside the day.
   */
  quarantine(row: QuarantinedRow): void;
  /**
   * The source's declared rules of a row kind (ranges, day rule) bound to a row layout and the current item's day.
   * `accept(value, where)` is true for a row that keeps them; otherwise the row is quarantined (with where, the
   * field and its value) and false. A kind the source does not declare accepts every row.
   */
  rules(kind: string, columns: readonly string[]): RowChecker;
  /**
   * An input text with its unreadable lines left out (src/util/line-guard.ts): a line that is not valid UTF-8 or
   * longer than `maxLineBytes` (configuration, default 1 MiB) is quarantined with the file and line and blanked,
   * so every other line keeps its number. A buffer comes back as a buffer (itself when clean), a stream as a stream.
   */
  readableLines<B extends Uint8Array | AsyncIterable<Uint8Array | string>>(body: B, file: string): B extends Uint8Array ? Buffer : AsyncIterable<Buffer>;
  /** A failure of a part of the run (a device, a sub-unit) that does not stop it. */
  fail(label: string, err: unknown): void;
  /** Adds to the item's row count (outputs with `rows` count themselves). */
  addRows(n: number): void;
  /** A perfmet observation of a sensor, written once the item succeeded. */
  observe(sensor: string, dataType: string, obs: SensorObservation): void;
  /** The source layer (transform, publish) and the target layer (ingest, transform). */
  readonly from: LayerAccess;
  readonly to: LayerAccess;
  layer(purpose: Purpose): LayerAccess;
  /** The device inventory from the unit-data driver, once per run. */
  inventory(): Promise<UnitData>;
  /** Stores the run's inventory into a layer, dated today (once per run and layer). */
  storeInventory(purpose?: Purpose): Promise<void>;
  /** Stores a given inventory into a layer dated its own collection day. */
  storeUnitData(unitData: UnitData, purpose: Purpose, collectionDay: DateTime, processingDate: DateTime): Promise<CatalogEntry>;
  /** A fresh temp folder of the run, removed at its end. */
  tempDir(): Promise<string>;
  /** A path of the configuration (relative to the config file's folder) made absolute. */
  resolvePath(p: string): string;
  /** Base of area-wide objects (unit data; the original's UNIT_LOCATION). */
  readonly areaBase: string;
  /** The retry policy of driver calls (for calls a stage makes itself). */
  readonly retry: RetryPolicy;
  /** A SQL source database by its driver spec (or an already-built SqlDriver). */
  sql(spec: DriverSpec | SqlDriver): Promise<SqlDriver>;
  /** The lake's home folder (absolute): where embedded databases live. */
  readonly home: string;
  /** A secret (environment or secrets file), masked in every message from now on; a ConfigError when unset. */
  secret(name: string, purpose: string): string;
  /**
   * Tells the configured notifier (the `notify` section) about one item now, e.g. a source disabled after an
   * authentication failure: body {event, source, stage, item, error, …}. Never throws (an undelivered notice is a
   * warning); under -0 only a notifier that wants simulations is told.
   */
  notify(event: ItemEvent, item: string, error: string): Promise<void>;
  /** Watermarks and run numbers of the source's entities (entities.ts), for a stage with a target layer. */
  readonly entities: EntityState;
  /**
   * Uncatalogued objects of a repository of the lake's storage driver (default: the lake's state repository):
   * list by key prefix (a date prefix: no full scans), read, write (nothing written in simulation). For inputs an
   * outside system drops into object storage and for shared caches.
   */
  objects(repository?: string): Promise<ObjectAccess>;
  /** Providers of outside items for ingest stages, bound to the run's window and today. */
  readonly providers: {
    /** Days a source database has data for (its availability query), as (base, ext, day) items. */
    sqlDays(db: SqlDriver, queries: SqlDayQueries, id: { base: string; ext: string }): LastUpdateProvider<DateTime>;
    /** Files in a folder whose names carry their date. */
    files(dir: string, patterns: readonly FilePattern[]): LastUpdateProvider<{ path: string; pattern: FilePattern }>;
    /** Items a stage lists itself (e.g. what field devices report). */
    list<P>(items: () => Promise<ProvItem<P>[]> | ProvItem<P>[]): LastUpdateProvider<P>;
  };
}

// ------------------------------------------------------------------------------------------------ the app


function isAsyncIterable<T>(v: unknown): v is AsyncIterable<T> {
  return v !== null && typeof v === "object" && Symbol.asyncIterator in v;
}

function isIterable<T>(v: unknown): v is Iterable<T> {
  return v !== null && typeof v === "object" && Symbol.iterator in v && !(v instanceof Uint8Array) && typeof v !== "string";
}

async function* each<T>(v: AsyncIterable<T> | Iterable<T>): AsyncGenerator<T> {
  if (isAsyncIterable<T>(v)) yield* v;
  else yield* v as Iterable<T>;
}

function isOutput(v: unknown): v is StageOutput {
  return v !== null && typeof v === "object" && "ext" in v && !isIterable(v) && !isAsyncIterable(v);
}

/** Per item: what the stage said while it ran. */
interface ItemScope {
  skipped?: { reason: string; record?: Record<string, unknown> };
  observations: { sensor: string; dataType: string; obs: SensorObservation }[];
  /** Versions of what the item (or group) was made from, one per line; undefined when one is not known. */
  from?: string;
  /** Rows not carried over, with where and why (written as the item's quarantine object). */
  quarantine: QuarantinedRow[];
  /** How many of them the quarantine object already holds. */
  quarantineWritten?: number;
  /** The item or group itself. */
  unit?: Pick<UpdateItem, "base" | "ext" | "date" | "label">;
}

/** A source's rules of one row kind, bound to a row layout and the item's day (see ctx.rules). */
export interface RowChecker {
  /** Whether any rule applies to this layout (when false, accept() is always true). */
  readonly active: boolean;
  /** The first rule a row breaks, without quarantining it. */
  check(value: (c: number) => unknown): RuleBreak | undefined;
  /** True when the row keeps the rules; else the row is quarantined and false. `text` is called only then. */
  accept(value: (c: number) => unknown, where: { line?: number; file?: string; text?: () => string }): boolean;
}

/** A row of an item that was not carried over: where it was and why. */
export interface QuarantinedRow {
  reason: string;
  /** The object or file it came from (default: the item's). */
  file?: string;
  line?: number;
  field?: string;
  value?: unknown;
  /** The row's text or values, as far as they could be read (cut to a few hundred characters). */
  text?: string;
}

/** What the catalog keeps of an item that failed (in the state repository; ext `failed:<stage>:<ext>`). */
interface FailureRecord {
  entry: CatalogEntry;
  runs: number;
  error: string;
  version: string;
  terminal: boolean;
}

/** An error message without its numbers (durations, counts), to tell whether an item failed "the same way". */
function errorShape(error: string): string {
  return error.replace(/\d+(\.\d+)?/g, "#");
}

/** The `from` of a unit: its items' versions, sorted; undefined when any is unknown. */
function fromOf(items: readonly Pick<UpdateItem, "provItem">[]): string | undefined {
  const versions: string[] = [];
  for (const i of items) {
    if (i.provItem.version === undefined) return undefined;
    versions.push(i.provItem.version);
  }
  return versions.sort().join("\n");
}

/** Passes the pieces of a body through, hashing them; `done()` gives the hash once they have all passed. */
function hashing(body: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>): { body: AsyncIterable<Uint8Array>; done(): string } {
  const h = createHash("md5");
  let digest: string | undefined;
  return {
    body: (async function* () {
      for await (const piece of body) {
        const buf = typeof piece === "string" ? Buffer.from(piece, "utf8") : piece;
        h.update(buf);
        yield buf;
      }
      digest = h.digest("hex");
    })(),
    done: () => {
      if (digest === undefined) throw new Error("hashing: the body was not read to its end");
      return digest;
    },
  };
}

const SKIP_MARKER = "skipped";


/**
 * The row ids of a batch as lines; each id is struck from `stale` (the previous publication's ids), so what is left
 * there at the end is what the new version no longer has.
 */
function rowIdsText(batch: readonly PublishRow[], field: string, stale: Set<string> | undefined, where: string): string {
  // Joined, not appended (+=): one flat string per batch, not a chain of two pieces per row that the item's
  // ids (300,000 rows: 600,000 pieces) would keep alive until the item is done.
  const texts: string[] = new Array(batch.length + 1);
  for (let i = 0; i < batch.length; i++) {
    const id = batch[i]![field];
    if (id === null || id === undefined || id === "") throw new TerminalError(`${where}: a row has no ${field} (the dataset's row id); nothing of the item was recorded`);
    const s = String(id);
    if (s.includes("\n")) throw new TerminalError(`${where}: row id ${JSON.stringify(s.slice(0, 40))} contains a line break`);
    stale?.delete(s);
    texts[i] = s;
  }
  texts[batch.length] = "";
  return texts.join("\n");
}

/** "3 missing trip_id (raw/x.json line 4, …); 1 not JSON (…)": refused records by reason, with the first place. */
function summarise(errors: readonly RecordError[]): string {
  const by = new Map<string, { n: number; at: string }>();
  for (const e of errors) {
    const at = [e.file, e.line !== undefined ? `line ${e.line}` : undefined].filter(Boolean).join(" ");
    const hit = by.get(e.reason);
    if (hit) hit.n++;
    else by.set(e.reason, { n: 1, at });
  }
  return [...by].map(([reason, { n, at }]) => `${n} ${reason}${at ? ` (first: ${at})` : ""}`).join("; ");
}

/** The ETLApp class of a declared stage. */
function stageApp(source: SourceDefinition, stage: StageDeclaration, name: string): AppClass {
  const definition: AppDefinition = {
    name,
    description: stage.description,
    dataSource: source.code,
    sourceName: source.name,
    ...(source.devices ? { devices: source.devices } : {}),
    ...(source.metadataExts ? { metadataExts: source.metadataExts } : {}),
    stage: stage.perfmet,
    ...(stage.kind !== "ingest" && stage.from ? { purposeSrc: stage.from } : {}),
    ...(stage.kind !== "publish" && stage.to ? { purposeTgt: stage.to } : {}),
  };
  class DeclaredStage extends KitApp {
    static readonly definition = definition;
    static readonly options = [...(stage.options ?? []), ...(stage.kind === "block" ? BLOCK_OPTIONS : [])];
    static override readonly source = source;
    static override readonly decl = stage;
  }
  Object.defineProperty(DeclaredStage, "name", { value: name.replace(/(^|-)([a-z0-9])/g, (_m, _d, c: string) => c.toUpperCase()) });
  return DeclaredStage as unknown as AppClass;
}

/** The flags of every block stage: one block, or the blocks of one entity. */
const BLOCK_OPTIONS: CustomOption[] = [
  { flags: "--partition <key>", description: "run one block: YYYY-MM-DD or YYYY-MM-DDTHH:mm±HH:MM, then #entity (the key lake backfill shows)" },
  { flags: "--entity <name>", description: "only the blocks of this entity (e.g. a provider)" },
];

abstract class KitApp extends ETLApp {
  static readonly source: SourceDefinition;
  static readonly decl: StageDeclaration;

  private get source(): SourceDefinition {
    return (this.constructor as typeof KitApp).source;
  }
  private get decl(): StageDeclaration {
    return (this.constructor as typeof KitApp).decl;
  }

  private ctx!: StageContext<unknown>;
  private state: unknown;
  scope: ItemScope = { observations: [], quarantine: [] };
  private readonly layers = new Map<Purpose, LayerAccess>();
  private readonly storages = new Map<Purpose, Storage>();
  private readonly unitStores = new Map<Purpose, UnitDataStorage>();
  private readonly inventoryStored = new Set<Purpose>();
  private readonly publishers = new Map<string, Publisher>();
  private readonly rowIdVersions = new Map<string, number>();
  private itemRows = 0;
  private entityState: EntityState | undefined;

  /** A block stage given only --partition takes its day as the window. */
  protected override ingestArgs(): void {
    const o = this.options;
    if (o.partition !== undefined && o.start_date === undefined && o.last_run_date === undefined) {
      const key = String(o.partition);
      o.start_date = key.slice(0, 10);
      o.end_date = key.slice(0, 10);
    }
    super.ingestArgs();
  }

  protected override async etlActivity(): Promise<number> {
    const config = this.source.settings(this.runtime.sourceConfig(this.source.code));
    this.ctx = this.makeContext(config);
    this.state = this.decl.setup ? await this.decl.setup(this.ctx) : undefined;
    if (this.decl.kind === "block") return this.runBlocks(this.decl, config);
    await this.loadFailures();
    const decl = this.decl;
    const popts = this.providerOptions();
    let src: LastUpdateProvider;
    let tgt: LastUpdateProvider;
    if (decl.kind === "ingest") {
      src = await decl.items(this.ctx, this.state);
    } else {
      const sel = decl.select ?? {};
      const ext = typeof sel.ext === "function" ? sel.ext(this.ctx as StageContext<never>) : sel.ext;
      const filters = { ...(sel.base !== undefined ? { base: sel.base } : {}), ...(ext !== undefined ? { ext } : {}) };
      const listed = new CatalogProvider(this.catalog, this.layerStorage(decl.from).repository, filters, popts);
      // Quarantine objects sit beside the days they belong to: never an item of a stage.
      src = new MappedProvider(listed, (i: ProvItem<CatalogEntry>) =>
        i.ext.toLowerCase().endsWith(QUARANTINE_SUFFIX) || (sel.accept && !sel.accept(i.payload)) ? undefined : i,
      );
    }
    const targetRepo = decl.kind === "publish" ? this.repository("public") : this.layerStorage(decl.to).repository;
    const tdecl = decl.target ?? {};
    const targetExt = typeof tdecl.ext === "function" ? tdecl.ext(this.ctx as StageContext<never>) : tdecl.ext;
    let target: LastUpdateProvider<CatalogEntry> = new CatalogProvider(this.catalog, targetRepo, targetExt !== undefined ? { ext: targetExt } : {}, popts);
    const include = decl.kind === "publish" ? decl.target?.include : undefined;
    if (tdecl.map || include) {
      const ctx = this.ctx;
      target = new MappedProvider(target, (t: ProvItem<CatalogEntry>) => {
        if (include && !include(t.payload, ctx)) return undefined;
        return tdecl.map ? tdecl.map(t, ctx as StageContext<never>) : t;
      });
    }
    if (decl.window === "all") {
      src = new AllTime(src);
      target = new AllTime(target);
    }
    try {
      return await this.doCompareLoop(src, target, {
        baseExtKey: decl.compareOn === "base+ext",
        ...(decl.kind === "transform" && decl.groupBy ? { groupBy: decl.groupBy } : {}),
      });
    } finally {
      for (const p of this.publishers.values()) p.reset();
      await this.entityState?.releaseLeases(); // after the loop's last flush: the entities' rows are written
    }
  }

  /** What each block of the run did (the block runner records it in the block store). */
  readonly blockReports: BlockReport[] = [];

  /** The blocks of the run: --partition, or every (entity, partition) of the window that is over. */
  private blocksOfRun(config: unknown): BlockInput[] {
    const partition = this.source.partition!;
    const resolved = partition.entityOf?.(config as never, this.options);
    const only = resolved ?? (this.options.entity === undefined ? undefined : String(this.options.entity));
    if (this.options.partition !== undefined) {
      const key = String(this.options.partition);
      const parsed = parsePartitionKey(key, this.zone);
      const entity = parsed.entity ?? only;
      return [{ key: blockPartKey(parsed.partition.key, entity), entity, partition: parsed.partition }];
    }
    const entities: (string | undefined)[] = partition.entities ? partition.entities(config as never) : [undefined];
    const adHoc = resolved !== undefined && !entities.includes(resolved);
    const chosen = only === undefined ? entities : adHoc ? [resolved] : entities.filter((e) => e === only);
    if (only !== undefined && chosen.length === 0) throw new UsageError(`${this.def.name}: no entity "${only}" (configured: ${entities.join(", ") || "none"})`);
    const start = this.window.start!;
    const now = this.now();
    const end = this.window.end && this.window.end < now ? this.window.end : now;
    const out: BlockInput[] = [];
    for (const p of partitionsBetween(start, end, partition.grain, this.zone)) {
      if (p.end > now) break; // a partition not over yet is not a block yet
      const of = partition.entities ? new Set(partition.entities(config as never, p)) : undefined;
      for (const entity of chosen) if (!of || adHoc || of.has(entity!)) out.push({ key: blockPartKey(p.key, entity), entity, partition: p });
    }
    return out;
  }

  /**
   * A block stage's run: each block in turn, its outputs' catalog rows flushed when it is done (dropped when it
   * fails), its result kept as a BlockReport; a failing block does not stop the others (a ConfigError does).
   */
  private async runBlocks(decl: BlockStage<unknown, unknown>, config: unknown): Promise<number> {
    const blocks = this.blocksOfRun(config);
    this.runtime.events.emit("plan.size", { app: this.def.name, total: blocks.length });
    // The stage context's getters stay live (no spread): the block context only adds publish.
    const ctx = Object.assign(Object.create(this.ctx) as StageContext<unknown>, {
      publish: (dataset: string, rows: readonly PublishRow[]) => this.publishRows(dataset, rows),
    }) as BlockContext<unknown>;
    let done = 0;
    for (const block of blocks) {
      this.processingDate = this.now();
      this.scope = { observations: [], quarantine: [] };
      const label = `${block.entity ? `${block.entity} ` : ""}${block.partition.key}`;
      const t0 = Date.now();
      this.runtime.events.emit("item.start", { app: this.def.name, item: label });
      const staged = this.catalog.stagedKeys();
      let report: BlockReport;
      try {
        const r = await decl.run(block, ctx, this.state);
        await this.catalog.flush();
        const status = blockStatus(r);
        const errors = r.errors ?? [];
        const warn = Object.entries(r.warnings ?? {}).filter(([, n]) => n > 0);
        const text = [
          r.message,
          errors.length ? `${errors.length} record(s) refused: ${summarise(errors)}` : undefined,
          warn.length ? warn.map(([w, n]) => `${n} ${w}`).join("; ") : undefined,
        ].filter(Boolean).join("; ");
        report = {
          key: block.key,
          status,
          message: text ? redact(text).slice(0, 2000) : status === "no-data" ? "no records in this partition" : null,
          total: r.total,
          processed: r.processed,
          errors: errors.length,
          payload: r.payload ?? null,
          errorPayload: errors.length ? redact(JSON.stringify(errors.slice(0, MAX_ERROR_PAYLOAD))) : null,
        };
        for (const [w, n] of warn) this.rowsLeftOut[w] = (this.rowsLeftOut[w] ?? 0) + n;
        if (errors.length) this.rowsLeftOut["rows refused"] = (this.rowsLeftOut["rows refused"] ?? 0) + errors.length;
      } catch (err) {
        if (err instanceof ConfigError) throw err;
        this.catalog.discardStagedExcept(staged);
        const error = redact(errorMessage(err));
        report = { key: block.key, status: "failed", message: `${err instanceof Error ? err.name : "Error"}: ${error}`.slice(0, 2000), total: 0, processed: 0, errors: 0, payload: null, errorPayload: null, transient: !(err instanceof TerminalError) };
      }
      this.blockReports.push(report);
      this.records += report.processed;
      if (report.status === "failed") {
        this.failures.push({ item: label, error: report.message ?? "failed" });
        this.runtime.events.emit("item.failed", { app: this.def.name, item: label, error: report.message ?? "failed", ms: Date.now() - t0 });
        continue;
      }
      if (report.status === "no-data" || report.status === "skipped") {
        this.skipped++;
        const reason = report.status === "no-data" ? "no data" : `not run: ${report.message ?? "skipped"}`;
        this.skipReasons[reason] = (this.skipReasons[reason] ?? 0) + 1;
        if (report.status === "skipped") this.runtime.events.emit("item.skipped", { app: this.def.name, item: label, reason });
      } else done++;
      if (report.status === "succeeded-with-errors") this.log("warn", `${label}: ${report.message}`);
      this.runtime.events.emit("item.done", { app: this.def.name, item: label, date: block.partition.start.toMillis(), count: report.status === "no-data" || report.status === "skipped" ? 0 : 1, records: report.processed, ms: Date.now() - t0 });
    }
    return done;
  }

  /** Upserts rows into a dataset of the source, chunked by the publisher. */
  private async publishRows(dataset: string, rows: readonly PublishRow[]): Promise<number> {
    const publisher = await this.publisherFor(dataset);
    publisher.reset();
    try {
      if (rows.length) await publisher.addRows(rows);
      await publisher.flush();
    } finally {
      publisher.reset();
    }
    return rows.length;
  }

  override summary(processed: number) {
    const s = super.summary(processed);
    return this.decl.kind === "block" ? { ...s, blocks: [...this.blockReports] } : s;
  }

  protected override async innerLoopActivity(item: UpdateItem): Promise<number> {
    const decl = this.decl;
    return this.runUnit(item, fromOf([item]), async () => {
      if (decl.storesInventory) await this.ctx.storeInventory(decl.kind === "publish" ? undefined : decl.to);
      if (decl.kind === "ingest") return this.writeOutputs(await decl.process(item, this.ctx, this.state), item.base, item.date);
      if (decl.kind === "transform") {
        if (!decl.process) throw new ConfigError(`${this.def.name}: a transform stage needs process() (or groupBy with processGroup())`);
        const input = await this.layerInput(item as UpdateItem<CatalogEntry>, decl.read ?? "buffer");
        return this.writeOutputs(await decl.process(input as never, this.ctx, this.state), item.base, item.date);
      }
      return this.publish(decl as PublishStage<unknown, unknown, ReadMode>, item as UpdateItem<CatalogEntry>);
    });
  }

  /**
   * One item or group: skipped when it is failed-terminal for the same source version (unless -F); else its work,
   * then its skip, observations, rows and quarantine recorded; a success clears its failure record.
   */
  private async runUnit(unit: Pick<UpdateItem, "base" | "ext" | "date" | "label">, from: string | undefined, work: () => Promise<number>): Promise<number> {
    this.scope = { observations: [], quarantine: [], unit, ...(from !== undefined ? { from } : {}) };
    this.itemRows = 0;
    const failure = this.failureRecords.get(this.failureKey(unit));
    if (failure?.terminal && !this.force && failure.version === (from ?? "")) {
      this.ctx.skip(`failed the same way on ${failure.runs} runs (terminal): ${failure.error} — fix the source, or rerun with -F`);
      return this.finishItem(unit, 0);
    }
    const n = await this.finishItem(unit, await work());
    if (failure && !this.simulate) {
      await this.catalog.delete([failure.entry]);
      this.failureRecords.delete(this.failureKey(unit));
    }
    return n;
  }

  private readonly failureRecords = new Map<string, FailureRecord>();

  private failureKey(unit: Pick<UpdateItem, "base" | "ext" | "date">): string {
    return `${unit.date.toMillis()}\u0000${unit.base}\u0000${unit.ext}`;
  }

  private failureExt(ext: string): string {
    return `failed:${this.def.name}:${ext}`;
  }

  /** The failure records of this stage (a few: items that failed on earlier runs). */
  private async loadFailures(): Promise<void> {
    const prefix = this.failureExt("");
    for (const e of await this.catalog.list(this.runtime.stateRepository(this.debug), { ext: { like: `${prefix}*` } })) {
      const m = e.metadata ?? {};
      this.failureRecords.set(this.failureKey({ base: e.base, ext: e.ext.slice(prefix.length), date: e.collectionDate }), {
        entry: e,
        runs: Number(m.runs ?? 0),
        error: String(m.error ?? ""),
        version: String(m.version ?? ""),
        terminal: m.terminal === true,
      });
    }
  }

  /**
   * Counts an item's consecutive failures of the same shape (same message apart from numbers, same source
   * version) in the catalog; at `failTerminalAfter` it is failed-terminal, and later runs skip it until its source
   * changes or -F forces it (a nightly run no longer fails forever on one bad file).
   */
  protected override async itemFailed(unit: UpdateItem | GroupInput, error: string): Promise<boolean> {
    if (this.simulate) return false;
    const ext = "items" in unit ? "" : unit.ext;
    const key = this.failureKey({ base: unit.base, ext, date: unit.date });
    const version = ("items" in unit ? fromOf(unit.items) : fromOf([unit])) ?? "";
    const prev = this.failureRecords.get(key);
    const same = prev !== undefined && errorShape(prev.error) === errorShape(error) && prev.version === version;
    const runs = same ? prev.runs + 1 : 1;
    const limit = this.runtime.config.failTerminalAfter;
    const terminal = limit > 0 && runs >= limit;
    const entry = this.catalog.build(this.runtime.stateRepository(this.debug), unit.base, this.failureExt(ext), unit.date, "", {
      processingDate: this.processingDate,
      metadata: { stage: this.def.name, runs, error, version, terminal },
    });
    await this.catalog.upsert(entry);
    this.failureRecords.set(key, { entry, runs, error, version, terminal });
    if (terminal) this.log("warn", `${unit.label}: failed the same way on ${runs} consecutive runs; marked failed-terminal: later runs skip it until its source changes (or -F)`);
    return terminal;
  }

  protected override async afterLoop(): Promise<number> {
    const n = await super.afterLoop();
    if (this.decl.finish) await this.decl.finish(this.ctx, this.state);
    return n;
  }

  protected override async groupActivity(group: GroupInput): Promise<number> {
    const decl = this.decl;
    if (decl.kind !== "transform" || !decl.processGroup) throw new ConfigError(`${this.def.name}: groupBy needs processGroup()`);
    const processGroup = decl.processGroup;
    return this.runUnit({ base: group.base, ext: "", date: group.date, label: group.label }, fromOf(group.items), async () => {
      if (decl.storesInventory) await this.ctx.storeInventory(decl.to);
      return this.writeOutputs(await processGroup(group, this.ctx, this.state), group.base, group.date);
    });
  }

  /** After an item's work: a skip is counted (and remembered when asked), observations and rows recorded. */
  private async finishItem(item: Pick<UpdateItem, "base" | "ext" | "date" | "label">, done: number): Promise<number> {
    const skipped = this.scope.skipped;
    await this.writeSideRecords();
    if (skipped?.record) await this.recordSkip(item, skipped.reason, skipped.record);
    this.addRecords(this.itemRows);
    if (skipped) return this.skipItem(item.label.includes("/") ? item.label : `${item.base}/${item.ext}/${item.date.toISODate()}`, skipped.reason);
    return done > 0 ? 1 : 0;
  }

  /**
   * The item's quarantine object and perfmet observations so far. Written before each of the item's outputs (and its
   * published day's catalog row), so they are never behind it: a run killed after an item's catalog row would
   * otherwise leave a done item whose observations no rerun writes (the rerun skips it). Observations are keyed by
   * sensor, type and day, so writing them again (more rows quarantined, a rerun) replaces them.
   */
  private async writeSideRecords(): Promise<void> {
    const unit = this.scope.unit;
    if (unit && this.scope.quarantine.length > (this.scope.quarantineWritten ?? 0)) {
      await this.writeQuarantine(unit);
      this.scope.quarantineWritten = this.scope.quarantine.length;
    }
    for (const o of this.scope.observations) this.perfmet?.recordSensorObs(o.sensor, o.dataType, o.obs);
    this.scope.observations = [];
    await this.perfmet?.writeSensorObs();
  }

  /**
   * The item's quarantined rows, beside the day in the layer the stage writes (a publish stage: the layer it reads):
   * `<base>_<ds>_<day>_<ext>.quarantine.json` = {header, rows}; counted per reason in perfmet ("Quarantined rows").
   */
  private async writeQuarantine(item: Pick<UpdateItem, "base" | "ext" | "date" | "label">): Promise<void> {
    const decl = this.decl;
    const layer = (decl.kind === "publish" ? decl.from : decl.to)!;
    const rows = this.scope.quarantine;
    const byReason = new Map<string, number>();
    for (const r of rows) byReason.set(r.reason, (byReason.get(r.reason) ?? 0) + 1);
    for (const [reason, n] of byReason) {
      this.scope.observations.push({ sensor: item.base, dataType: `Quarantined rows: ${reason}`, obs: { observation: n, collectionDate: item.date } });
    }
    const ext = `${item.ext || "day"}${QUARANTINE_SUFFIX}`;
    const header = { stage: this.def.name, item: item.label, collection_date: item.date.toISO(), processing_date: this.processingDate.toISO(), rows: rows.length };
    const rowsWritten = this.itemRows;
    await this.layerAccess(layer).write({ base: item.base, ext, date: item.date, json: { header, rows } });
    this.itemRows = rowsWritten; // a quarantine object's rows are not output rows
    this.log("warn", `${item.label}: ${rows.length} row(s) quarantined (${[...byReason].map(([r, n]) => `${n} ${r}`).join("; ")}) -> ${this.layerAccess(layer).filename(item.base, ext, item.date)}`);
  }

  private async recordSkip(item: Pick<UpdateItem, "base" | "ext" | "date">, reason: string, record: Record<string, unknown>): Promise<void> {
    const decl = this.decl;
    const repository = decl.kind === "publish" ? this.repository("public") : this.layerStorage(decl.to!).repository;
    const pointer = decl.kind === "publish" ? this.datasetOf(decl, item as UpdateItem<CatalogEntry>)?.publisher.dataset ?? "" : "";
    await this.catalog.upsert(
      this.catalog.build(repository, item.base, item.ext, item.date, pointer, { processingDate: this.processingDate, metadata: { [SKIP_MARKER]: reason, ...record } }),
    );
  }

  private async layerInput(item: UpdateItem<CatalogEntry>, read: ReadMode): Promise<LayerInput<unknown>> {
    const entry = item.provItem.payload;
    const storage = this.layerStorage((this.decl as TransformStage<unknown, unknown> | PublishStage<unknown, unknown>).from);
    const body = read === "buffer" ? await storage.retrieveBuffer(entry.pointer) : read === "stream" ? await storage.retrieveStream(entry.pointer) : undefined;
    return { item, entry, body };
  }

  /** Writes what a call gave back; returns how many outputs were written. */
  private async writeOutputs(result: Outputs, base: string, date: DateTime): Promise<number> {
    if (result === undefined || result === null) return this.scope.skipped ? 0 : 1;
    const decl = this.decl as IngestStage<unknown, unknown> | TransformStage<unknown, unknown>;
    let written = 0;
    const list = isOutput(result) ? [result] : (result as AsyncIterable<StageOutput> | Iterable<StageOutput>);
    for await (const out of each(list)) {
      await this.writeSideRecords();
      await this.layerAccess(out.layer ?? decl.to).write({ ...out, base: out.base ?? base, date: out.date ?? date });
      written++;
    }
    return written > 0 || !this.scope.skipped ? Math.max(written, 1) : 0;
  }

  private datasetOf(decl: PublishStage<unknown, unknown, ReadMode>, item: UpdateItem<CatalogEntry>): { key: string; publisher: Publisher } | undefined {
    const key = typeof decl.dataset === "string" ? decl.dataset : decl.dataset(item);
    if (key === undefined) return undefined;
    const publisher = this.publishers.get(key);
    return publisher ? { key, publisher } : undefined;
  }

  private async publisherFor(key: string): Promise<Publisher> {
    let p = this.publishers.get(key);
    if (!p) {
      const { target, rowId, rowIdVersion } = datasetTarget(this.source, key, this.runtime.config.datasets, this.debug);
      p = await this.createPublisherOn(target, rowId);
      this.publishers.set(key, p);
      this.rowIdVersions.set(key, rowIdVersion);
    }
    return p;
  }

  /**
   * The publish sequence: rows in batches, flushed; then the rows of the item's previous publication that the new
   * version no longer has are deleted (a republished day replaces the old one: after a fix, a rerun or a change of
   * the row-id scheme the destination holds exactly the new rows); then the item's row ids are kept in the state
   * repository and the published day's catalog row written. A failure records nothing, so the next run publishes
   * the item again (upserts by the same ids).
   */
  private async publish(decl: PublishStage<unknown, unknown, ReadMode>, item: UpdateItem<CatalogEntry>): Promise<number> {
    const key = typeof decl.dataset === "string" ? decl.dataset : decl.dataset(item);
    if (key === undefined) {
      this.ctx.skip(`no dataset for ${item.ext}`);
      return 0;
    }
    const publisher = await this.publisherFor(key);
    const input = await this.layerInput(item, decl.read ?? "buffer");
    const state = await this.stateStore();
    const idsKey = publishedIdsKey(publisher.dataset, input.entry.pointer);
    const version = this.rowIdVersions.get(key)!;
    const previousText = await state.read(idsKey);
    const previous = previousText ? parsePublishedIds(previousText) : undefined;
    let stale = previous ? new Set(previous.ids) : undefined;
    const ids: string[] = [];
    publisher.reset();
    let rows = 0;
    try {
      if (previous && previous.version !== version && stale!.size) {
        // Another row-id scheme: its rows go before the new ones, so no id the two schemes share is left ambiguous.
        this.log("info", `${input.entry.pointer}: row-id scheme version ${previous.version} → ${version}`);
        await this.removeStale(publisher, [...stale!], input.entry.pointer);
        stale = undefined;
      }
      const batches = await decl.rows(input as never, this.ctx, this.state);
      for await (const batch of each(batches)) {
        if (batch.length === 0) continue;
        ids.push(rowIdsText(batch, publisher.rowIdField, stale, input.entry.pointer));
        await publisher.addRows(batch);
        rows += batch.length;
      }
      if (this.scope.skipped) {
        publisher.reset();
        return 0;
      }
      await publisher.flush();
      if (stale?.size) await this.removeStale(publisher, [...stale], input.entry.pointer);
    } catch (err) {
      publisher.reset(); // nothing of a failed item is recorded: the next run publishes it again (same row ids)
      throw err;
    }
    publisher.reset();
    await state.write(idsKey, formatPublishedIds(version, ids.join("")));
    this.itemRows += rows;
    const metadata = { ...(this.scope.from !== undefined ? { from: this.scope.from } : {}), rows, ...(version !== 1 ? { rowIdVersion: version } : {}) };
    const done = this.catalog.build(this.repository("public"), item.base, item.ext, item.date, publisher.dataset, {
      processingDate: this.processingDate,
      metadata,
    });
    await this.writeSideRecords();
    await this.catalog.upsert(done); // nothing under -0
    this.log("info", `${input.entry.pointer}: ${this.layerStorage(decl.from).repository} -> ${publisher.dataset}: ${rows} rows`);
    return 1;
  }

  /** Deletes the rows of a previous publication that the new one no longer has. */
  private async removeStale(publisher: Publisher, stale: string[], pointer: string): Promise<void> {
    if (!publisher.driver.capabilities.supportsDelete) {
      this.log("warn", `${pointer}: ${stale.length} row(s) of its previous publication are no longer in it, but ${publisher.driver.driverName} cannot delete rows; remove them from ${publisher.dataset} by hand`);
      return;
    }
    const deleted = await publisher.delete(stale);
    this.log("info", `${pointer}: ${stale.length} row(s) of its previous publication removed from ${publisher.dataset}${this.simulate ? " (planned)" : ` (${deleted} found)`}`);
  }

  private stateStoreMade: Promise<StateStore> | undefined;
  private stateStore(): Promise<StateStore> {
    this.stateStoreMade ??= this.runtime.driver("storage", this.debug).then(
      (driver) => new StateStore(driver, this.runtime.stateRepository(this.debug), { simulate: this.simulate, plan: this.plan }),
    );
    return this.stateStoreMade;
  }

  private layerStorage(purpose: Purpose): Storage {
    if (purpose === this.def.purposeSrc && this.storageSrc) return this.storageSrc;
    if (purpose === this.def.purposeTgt && this.storageTgt) return this.storageTgt;
    const s = this.storages.get(purpose);
    if (!s) throw new ConfigError(`${this.def.name}: layer ${purpose} is not connected`);
    return s;
  }

  override async connect(): Promise<void> {
    await super.connect();
    for (const purpose of ["raw", "standardized", "ready"] as const) {
      if (purpose !== this.def.purposeSrc && purpose !== this.def.purposeTgt) this.storages.set(purpose, await this.createStorage(purpose));
    }
  }

  private layerAccess(purpose: Purpose): LayerAccess {
    let access = this.layers.get(purpose);
    if (access) return access;
    const storage = this.layerStorage(purpose);
    const app = this;
    access = {
      purpose,
      repository: storage.repository,
      read: (pointer) => storage.retrieveBuffer(pointer),
      readStream: (pointer) => storage.retrieveStream(pointer),
      readJson: <T>(pointer: string) => storage.retrieveJSON<T>(pointer),
      lookup: (base, ext, date) => storage.catalogLookup(base, ext, date),
      list: (q = {}) => app.catalog.list(storage.repository, q),
      filename: (base, ext, date) => storage.makeFilename(base, ext, date),
      basename: (pointer) => storage.extractFilename(pointer),
      units: (day) => app.unitStore(purpose).retrieve(day),
      unitEntry: (day) => app.unitStore(purpose).entryFor(day),
      async write(out) {
        const element = storage.createCatalogElement(out.base, out.ext, out.date, {
          processingDate: app.processingDate,
          ...(out.collectionEnd !== undefined ? { collectionEnd: out.collectionEnd } : {}),
          ...(out.metadata !== undefined ? { metadata: out.metadata } : {}),
          ...(out.name !== undefined ? { filename: out.name } : {}),
        });
        const opts = { cache: true, ...(out.contentType ? { contentType: out.contentType } : {}), ...(out.encrypt ? { encrypt: true } : {}) };
        let entry: CatalogEntry;
        let hash: string;
        const whole = (buf: Uint8Array) => {
          hash = createHash("md5").update(buf).digest("hex");
          return storage.writeBuffer(buf, element, opts);
        };
        if (out.json !== undefined) entry = await whole(Buffer.from(pyJson(out.json), "utf8"));
        else if (out.file !== undefined) entry = await whole(await readFile(out.file));
        else if (out.body instanceof Uint8Array) entry = await whole(out.body);
        else if (typeof out.body === "string") entry = await whole(Buffer.from(out.body, "utf8"));
        else if (out.body !== undefined) {
          const h = hashing(out.body);
          entry = await storage.writeStream(h.body, element, opts);
          hash = h.done();
        } else throw new TerminalError(`${app.def.name}: output ${out.base}/${out.ext} has no body, json or file`);
        // The object's version (its content hash) and what it was made from: a later run sees either change.
        const from = app.scope.from;
        // Its rows, when the stage counted them (coverage shows them per day and layer).
        entry = { ...entry, metadata: { ...(entry.metadata ?? {}), hash: hash!, ...(from !== undefined ? { from } : {}), ...(out.rows !== undefined ? { rows: out.rows } : {}) } };
        app.catalog.stage(entry);
        if (out.rows) app.itemRows += out.rows;
        return entry;
      },
    };
    this.layers.set(purpose, access);
    return access;
  }

  private unitStore(purpose: Purpose): UnitDataStorage {
    let u = this.unitStores.get(purpose);
    if (!u) {
      u = this.unitDataStorage(this.layerStorage(purpose));
      this.unitStores.set(purpose, u);
    }
    return u;
  }

  private makeContext(config: unknown): StageContext<unknown> {
    const app = this;
    const decl = this.decl;
    const fromPurpose = decl.kind === "ingest" ? undefined : decl.from;
    const toPurpose = decl.kind === "publish" ? undefined : decl.to;
    const missing = (which: string) => {
      throw new ConfigError(`${app.def.name}: a ${decl.kind} stage has no ${which} layer`);
    };
    return {
      stage: this.def.name,
      source: { code: this.source.code, name: this.source.name },
      zone: this.zone,
      config,
      options: this.options,
      force: this.force,
      simulate: this.simulate,
      debug: this.debug,
      get processingDate() {
        return app.processingDate;
      },
      now: () => this.now(),
      today: () => this.today(),
      clock: () => this.runtime.clock(),
      realTime: () => this.runtime.realClock(),
      window: { ...(this.window.start ? { start: this.window.start } : {}), ...(this.window.end ? { end: this.window.end } : {}) },
      log: {
        info: (m) => this.log("info", m),
        warn: (m) => this.log("warn", m),
        debug: (m) => this.log("debug", m),
      },
      skip: (reason, opts) => {
        this.scope.skipped = { reason, ...(opts?.record ? { record: opts.record } : {}) };
      },
      drop: (reason, rows) => {
        if (rows > 0) this.rowsLeftOut[reason] = (this.rowsLeftOut[reason] ?? 0) + rows;
      },
      quarantine: (row) => {
        const key = `quarantined: ${row.reason}`;
        this.rowsLeftOut[key] = (this.rowsLeftOut[key] ?? 0) + 1;
        this.scope.quarantine.push({ ...row, ...(row.text !== undefined ? { text: row.text.slice(0, 400) } : {}) });
      },
      rules: (kind, columns) => {
        const check = new RowCheck(this.source.rules?.[kind], columns, this.scope.unit?.date, this.zone);
        const quarantine = this.ctx.quarantine;
        return {
          active: check.active,
          check: (value) => (check.active ? check.check(value) : undefined),
          accept: (value, where) => {
            if (!check.active) return true;
            const broken = check.check(value);
            if (!broken) return true;
            quarantine({
              reason: broken.reason,
              ...(where.file !== undefined ? { file: where.file } : {}),
              ...(where.line !== undefined ? { line: where.line } : {}),
              field: broken.field,
              value: typeof broken.value === "bigint" ? broken.value.toString() : broken.value,
              ...(where.text ? { text: where.text() } : {}),
            });
            return false;
          },
        };
      },
      readableLines: ((body: Uint8Array | AsyncIterable<Uint8Array | string>, file: string) => {
        const maxLineBytes = this.runtime.config.maxLineBytes;
        const opts = {
          maxLineBytes,
          onProblem: (p: LineProblem) =>
            this.ctx.quarantine({
              reason: p.kind === "line too long" ? `line longer than ${maxLineBytes} bytes` : "invalid UTF-8",
              file,
              line: p.line,
              value: p.bytes,
              text: p.preview,
            }),
        };
        return body instanceof Uint8Array ? guardBuffer(body, opts) : guardStream(body, opts);
      }) as StageContext<unknown>["readableLines"],
      fail: (label, err) => this.recordFailure(label, err),
      addRows: (n) => {
        this.itemRows += n;
      },
      observe: (sensor, dataType, obs) => {
        this.scope.observations.push({ sensor, dataType, obs });
      },
      get from() {
        return fromPurpose ? app.layerAccess(fromPurpose) : missing("source");
      },
      get to() {
        return toPurpose ? app.layerAccess(toPurpose) : missing("target");
      },
      layer: (purpose) => this.layerAccess(purpose),
      get entities() {
        app.entityState ??= new EntityState(app.catalog, app.runtime.stateRepository(app.debug), app.layerStorage(toPurpose ?? fromPurpose ?? missing("data")).repository, app.def.name);
        return app.entityState;
      },
      inventory: () => this.fetchUnitData(),
      storeInventory: async (purpose = toPurpose) => {
        if (!purpose) missing("target");
        if (this.inventoryStored.has(purpose!)) return;
        await this.storeUnitData(this.layerStorage(purpose!), await this.fetchUnitData());
        this.inventoryStored.add(purpose!);
      },
      storeUnitData: (unitData, purpose, day, processed) => storeUnitData(this.layerStorage(purpose), unitData, this.runtime.config.areaBase, day, processed),
      tempDir: () => this.tempDir(),
      resolvePath: (p) => path.resolve(this.runtime.baseDir, p),
      areaBase: this.runtime.config.areaBase,
      retry: this.runtime.retry,
      // An injected SqlDriver goes behind the driver runtime too (retries, deadline, redaction).
      sql: (spec) => this.runtime.driver("sql", this.debug, spec),
      secret: (name, purpose) => this.runtime.secrets.require(name, purpose),
      notify: (event, item, error) =>
        notifyRun(this.runtime, itemNotice({ event, source: this.source.code, stage: this.def.name, item, error: redact(error), debug: this.debug, simulate: this.simulate, now: this.runtime.clock() })),
      objects: async (repository) => {
        const driver = await this.runtime.driver("storage", this.debug);
        const state = repository === undefined ? await this.stateStore() : new StateStore(driver, repository, { simulate: this.simulate, plan: this.plan });
        return { repository: state.repository, scope: driver, list: (prefix) => driver.list(state.repository, prefix), read: (key) => state.read(key), write: (key, text) => state.write(key, text) };
      },
      home: this.runtime.home,
      providers: {
        sqlDays: (db, queries, id) => new SqlDayProvider(db, queries, id.base, id.ext, this.zone, this.providerOptions()),
        files: (dir, patterns) => new FileProvider(dir, [...patterns], this.zone, this.providerOptions()),
        list: (items) => new ListProvider(items, this.providerOptions()),
      },
    };
  }
}

/** Devices of an inventory as a list (tests, simulators). */
export type { GroupInput, UnitDevice };
