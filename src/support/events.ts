/**
 * Typed events (style §6): the framework emits, subscribers (console log, progress bar, perfmet, tests) listen.
 */
import { EventEmitter } from "node:events";
import type { DriverCallEvent, RetryPolicy } from "./resilience.js";
import { secretRedactor } from "../util/redact.js";

export interface LakeEvents {
  "run.start": { app: string; dataSource: string; stage: string; window: string; simulate: boolean; debug: boolean };
  "run.end": { app: string; summary: RunSummary };
  "item.skipped": { app: string; item: string; reason: string };
  "item.forced": { app: string; item: string };
  "item.start": { app: string; item: string };
  /** count > 0: the item was processed; date: its collection date (epoch ms). */
  "item.done": { app: string; item: string; date?: number; count: number; records: number; ms: number };
  "item.failed": { app: string; item: string; error: string; ms: number };
  write: { app: string; repository: string; key: string; bytes: number; simulated: boolean; localCopy?: string };
  "catalog.upsert": { app: string; rows: number; simulated: boolean };
  "publish.chunk": { app: string; dataset: string; rows: number; ms: number; simulated: boolean };
  /** Total items known up front (progress bars). */
  "plan.size": { app: string; total: number };
  log: { app: string; level: "debug" | "info" | "warn" | "error"; message: string };
  /** One driver call through the driver runtime: how long it took, how many attempts, whether it succeeded. */
  "driver.call": DriverCallEvent;
}

/**
 * A stage run's counts, in two units: items (the catalog entries, days or blocks a stage works on: processed,
 * skipped, failed, skipReasons) and rows (records of data: `records`, rowsLeftOut). Printed, they say "items" and
 * "rows"; `records` keeps the original's name in JSON.
 */
export interface RunSummary {
  app: string;
  /** Items the stage did work for. */
  processed: number;
  /** Items the compare loop or the stage skipped (already done, not applicable, no data). */
  skipped: number;
  /** Items that failed (each with a message in `failures`). */
  failed: number;
  /** Rows written or published. */
  records: number;
  seconds: number;
  /** terminal: the item failed the same way on `failTerminalAfter` consecutive runs; later runs skip it. */
  failures: { item: string; error: string; terminal?: boolean }[];
  /** Reasons items were skipped, counted in items (e.g. "already done": 2). */
  skipReasons: Record<string, number>;
  /** Rows of processed items left out, counted in rows by reason (dropped, quarantined, refused by the target). */
  rowsLeftOut?: Record<string, number>;
  simulate: boolean;
  /** Simulation plan: what would have been written where. */
  plan?: PlanEntry[];
  /** A block stage's blocks, what each did (the block runner records them). */
  blocks?: { key: string; status: string; message: string | null; total: number; processed: number; errors: number; payload: string | null; errorPayload: string | null; transient?: boolean }[];
}

export interface PlanEntry {
  kind: "storage" | "catalog" | "publish" | "perfmet";
  target: string;
  detail: string;
}

/** How a run's wrappers (catalog, storage, publisher) write: the run's mode, its event bus and plan, its retries. */
export interface RunWriteOptions {
  /** -0: write nothing; record the plan instead. */
  simulate?: boolean;
  /** -o DIR: also write every output locally. */
  outputDir?: string;
  events?: LakeEventBus;
  /** App name carried by events. */
  app?: string;
  retry?: RetryPolicy;
  /** Simulation plan sink. */
  plan?: PlanEntry[];
}

type Listener<T> = (payload: T) => void;

export class LakeEventBus {
  private readonly emitter = new EventEmitter();
  constructor() {
    this.emitter.setMaxListeners(100);
  }
  on<K extends keyof LakeEvents>(event: K, listener: Listener<LakeEvents[K]>): () => void {
    this.emitter.on(event, listener as Listener<unknown>);
    return () => this.emitter.off(event, listener as Listener<unknown>);
  }
  /** Every payload's text passes the secret redactor: no listener (console, progress, perfmet, tests) sees a secret. */
  emit<K extends keyof LakeEvents>(event: K, payload: LakeEvents[K]): void {
    if (this.emitter.listenerCount(event) === 0) return;
    this.emitter.emit(event, secretRedactor.redactDeep(payload));
  }
}
