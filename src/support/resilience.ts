/**
 * The driver runtime (style §4): the one place retries, timeouts, the per-dataset lock, concurrency limits, timing
 * and the redaction of secrets live. `wrapDriver` puts one wrapper around a driver, driven by its interface's call
 * table (drivers.ts): every call runs as lock → limit → retry (TransientErrors only, jittered exponential backoff,
 * Retry-After honoured) → deadline (the call's AbortSignal; a call that does not settle in time fails with a
 * TransientError) → the driver; its duration is an event; any error it passes on has every secret masked, and so
 * has every string a `redactArgs` call writes (block messages, perfmet rows, notifications).
 * Drivers hold vendor I/O only.
 */
import path from "node:path";
import pRetry, { AbortError } from "p-retry";
import pLimit from "p-limit";
import { TransientError } from "./errors.js";
import type { CallOptions, CallSpec, CallTable } from "./drivers.js";
import type { LakeEventBus } from "./events.js";
import { secretRedactor, type Redactor } from "../util/redact.js";
import { acquireFileLock, type HeldLock, type LockHolder } from "../util/file-lock.js";

export interface RetryPolicy {
  retries: number;
  minTimeoutMs: number;
  maxTimeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 4, minTimeoutMs: 500, maxTimeoutMs: 15_000 };
export const NO_RETRY: RetryPolicy = { retries: 0, minTimeoutMs: 0, maxTimeoutMs: 0 };

/**
 * Runs fn, retrying TransientErrors up to policy.retries times; the last error is re-raised (never swallowed:
 * fixes B20). onRetry hears each failed attempt.
 */
export async function withRetry<T>(
  label: string,
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy = DEFAULT_RETRY,
  onRetry?: (info: { attempt: number; error: unknown; label: string }) => void,
): Promise<T> {
  if (policy.retries <= 0) return fn(1);
  return pRetry(
    async (attempt) => {
      try {
        return await fn(attempt);
      } catch (err) {
        if (err instanceof TransientError) {
          if (err.retryAfterMs !== undefined && err.retryAfterMs > 0) {
            await new Promise((r) => setTimeout(r, Math.min(err.retryAfterMs!, policy.maxTimeoutMs)));
          }
          throw err;
        }
        // p-retry rethrows the original error object for an AbortError.
        throw new AbortError(err instanceof Error ? err : new Error(String(err)));
      }
    },
    {
      retries: policy.retries,
      minTimeout: policy.minTimeoutMs,
      maxTimeout: policy.maxTimeoutMs,
      randomize: true,
      onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
        if (retriesLeft > 0 && error instanceof TransientError) onRetry?.({ attempt: attemptNumber, error, label });
      },
    },
  );
}

export function limiter(concurrency: number): <T>(fn: () => Promise<T>) => Promise<T> {
  const limit = pLimit(Math.max(1, concurrency));
  return (fn) => limit(fn);
}

function timeoutError(what: string, ms: number): TransientError {
  return new TransientError(`${what}: no answer within ${ms} ms (the driver's timeoutMs); the request was abandoned`);
}

/** Runs fn with a signal that aborts after ms; rejects with a TransientError then, whether or not fn listens. */
async function withDeadline<T>(what: string, ms: number, fn: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
  if (ms <= 0) return fn(undefined);
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = timeoutError(what, ms);
      reject(err); // first: the caller hears the deadline, not the driver's reaction to the abort
      controller.abort(err);
    }, ms);
  });
  try {
    return await Promise.race([fn(controller.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------- the per-dataset lock

export interface LockServiceOptions {
  /** Folder of the lock files (<home>/locks); without one, locks hold within this process only. */
  dir?: string;
  /** A lock file not refreshed for this long is taken over (its holder died on another host). */
  staleMs?: number;
  /** Who this process is, for waiting processes ("lake run wt-extract-soc"). */
  what?: string;
  /** Told when a lock is held elsewhere: who holds it and until when at the latest. */
  onWait?: (key: string, holder: LockHolder | undefined, staleAt: number) => void;
}

/**
 * Exclusive use of a named resource (a publisher's dataset): calls of this process queue one after another, and a
 * lock file keeps other processes out meanwhile. `hold(key)` keeps the resource for a whole stage (its calls then
 * only queue within the process).
 */
export class LockService {
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly held = new Map<string, { lock: HeldLock; holds: number }>();

  constructor(private readonly o: LockServiceOptions = {}) {}

  private file(key: string): string {
    return path.join(this.o.dir!, `${key.replace(/[^A-Za-z0-9._-]/g, "_")}.lock`);
  }

  private async acquire(key: string): Promise<HeldLock> {
    return acquireFileLock(this.file(key), {
      what: this.o.what ?? `pid ${process.pid}`,
      staleMs: this.o.staleMs ?? 60_000,
      onWait: (holder, staleAt) => this.o.onWait?.(key, holder, staleAt),
    });
  }

  /** Runs fn holding the resource: after this process's earlier calls on it, and with no other process on it. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const go = async () => {
      if (!this.o.dir || this.held.has(key)) return fn();
      const lock = await this.acquire(key);
      try {
        return await fn();
      } finally {
        await lock.release();
      }
    };
    const run = (this.queues.get(key) ?? Promise.resolve()).then(go, go);
    const settled = run.catch(() => undefined);
    this.queues.set(key, settled);
    void settled.then(() => {
      if (this.queues.get(key) === settled) this.queues.delete(key);
    });
    return run;
  }

  /** Holds the resource across processes until release() (reentrant within this process). */
  async hold(key: string): Promise<{ release(): Promise<void> }> {
    const current = this.held.get(key);
    if (current) current.holds++;
    else if (this.o.dir) this.held.set(key, { lock: await this.acquire(key), holds: 1 });
    else this.held.set(key, { lock: { release: async () => undefined }, holds: 1 });
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        const h = this.held.get(key);
        if (!h || --h.holds > 0) return;
        this.held.delete(key);
        await h.lock.release();
      },
    };
  }
}

// ---------------------------------------------------------------- the wrapper

export interface DriverPolicy {
  retry: RetryPolicy;
  /** Deadline of one call (one step of a listing), ms; 0 = none (drivers on local files and memory). */
  timeoutMs: number;
  /** Calls of one driver at once; 0 = no limit. */
  concurrency: number;
}

export const LOCAL_POLICY: DriverPolicy = { retry: DEFAULT_RETRY, timeoutMs: 0, concurrency: 0 };

export interface DriverCallEvent {
  /** Interface: storage, catalog, publisher, perfmet, unitdata, sql, blocks, queue. */
  kind: string;
  driver: string;
  op: string;
  what: string;
  ms: number;
  attempts: number;
  ok: boolean;
}

export interface WrapOptions {
  /** Interface name, for messages and events. */
  kind: string;
  calls: CallTable;
  policy: DriverPolicy;
  events?: LakeEventBus | undefined;
  locks?: LockService | undefined;
  redactor?: Redactor | undefined;
}

const WRAPPED = Symbol("lake.wrapped");

/** The driver a wrapper stands for (tests reach vendor internals through it); a bare driver is returned as is. */
export function unwrapDriver<D>(driver: D): D {
  return ((driver as { [WRAPPED]?: D })[WRAPPED] ?? driver) as D;
}

export function isWrapped(driver: unknown): boolean {
  return typeof driver === "object" && driver !== null && WRAPPED in driver;
}

function withCallOptions(args: unknown[], at: number, signal: AbortSignal | undefined): unknown[] {
  if (!signal) return args;
  const out = args.slice();
  while (out.length < at) out.push(undefined);
  out[at] = { ...((out[at] as object | undefined) ?? {}), signal } satisfies CallOptions;
  return out;
}

/**
 * The driver behind the runtime: the same interface, every method of the call table wrapped. Other members
 * (driverName, capabilities, close, a driver's extras) pass through. Wrapping a wrapped driver returns it as is.
 */
export function wrapDriver<D extends object>(driver: D, o: WrapOptions): D {
  if (isWrapped(driver)) return driver;
  const redactor = o.redactor ?? secretRedactor;
  const { policy } = o;
  const limit = policy.concurrency > 0 ? pLimit(policy.concurrency) : undefined;
  const name = String((driver as { driverName?: string }).driverName ?? o.kind);
  const whereText = (driver as { where?: string }).where;
  const at = whereText ? ` (${whereText})` : "";
  const wrapped = new WeakMap<object, unknown>();

  const emit = (op: string, what: string, started: number, attempts: number, ok: boolean) =>
    o.events?.emit("driver.call", { kind: o.kind, driver: name, op, what, ms: Date.now() - started, attempts, ok });

  function call(op: string, spec: CallSpec, fn: (...a: unknown[]) => Promise<unknown>) {
    return (...given: unknown[]) => {
      const args = spec.redactArgs ? redactor.redactDeep(given) : given;
      const what = `${name} ${o.kind} ${op}${spec.what ? ` ${spec.what(args)}` : ""}${at}`;
      const retry = spec.replayable && !spec.replayable(args) ? NO_RETRY : policy.retry;
      const attempt = async () => {
        const started = Date.now();
        let attempts = 0;
        try {
          const result = await withRetry(what, () => {
            attempts++;
            return withDeadline(what, policy.timeoutMs, (signal) => fn.apply(driver, withCallOptions(args, spec.at, signal)));
          }, retry);
          emit(op, what, started, attempts, true);
          return result;
        } catch (err) {
          emit(op, what, started, attempts, false);
          throw redactor.redactError(err);
        }
      };
      const limited = limit ? () => limit(attempt) : attempt;
      return spec.lock && o.locks ? o.locks.run(`${o.kind}-${name}-${spec.lock(args)}`, limited) : limited();
    };
  }

  /** A listing: each step has the deadline; a transient failure before the first item opens it again. */
  function iterate(op: string, spec: CallSpec, fn: (...a: unknown[]) => AsyncIterable<unknown>) {
    return (...args: unknown[]): AsyncIterable<unknown> => ({
      [Symbol.asyncIterator]() {
        const what = `${name} ${o.kind} ${op}${spec.what ? ` ${spec.what(args)}` : ""}${at}`;
        const ms = policy.timeoutMs;
        let controller: AbortController | undefined;
        let inner: AsyncIterator<unknown> | undefined;
        let yielded = false;
        let failures = 0;
        const open = () => {
          controller = ms > 0 ? new AbortController() : undefined;
          inner = fn.apply(driver, withCallOptions(args, spec.at, controller?.signal))[Symbol.asyncIterator]();
        };
        const step = (): Promise<IteratorResult<unknown>> => {
          if (!inner) open();
          const p = inner!.next();
          if (ms <= 0) return p;
          return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
              const err = timeoutError(what, ms);
              reject(err);
              controller?.abort(err);
            }, ms);
            p.then(
              (r) => (clearTimeout(timer), resolve(r)),
              (e) => (clearTimeout(timer), reject(e)),
            );
          });
        };
        const next = async (): Promise<IteratorResult<unknown>> => {
          for (;;) {
            try {
              const r = await step();
              if (!r.done) yielded = true;
              return r;
            } catch (err) {
              if (!yielded && err instanceof TransientError && failures < policy.retry.retries) {
                failures++;
                const wait = Math.min(policy.retry.maxTimeoutMs, policy.retry.minTimeoutMs * 2 ** (failures - 1) * (1 + Math.random()));
                await new Promise((r) => setTimeout(r, err.retryAfterMs ?? wait));
                inner = undefined;
                continue;
              }
              throw redactor.redactError(err);
            }
          }
        };
        return {
          next: ms > 0 || policy.retry.retries > 0 ? next : () => step().catch((err: unknown) => Promise.reject(redactor.redactError(err))),
          async return(value?: unknown) {
            await inner?.return?.(value);
            return { done: true as const, value };
          },
        };
      },
    });
  }

  const proxy = new Proxy(driver, {
    get(target, prop, receiver) {
      if (prop === WRAPPED) return target;
      const spec = typeof prop === "string" ? o.calls[prop] : undefined;
      const value = Reflect.get(target, prop, receiver === proxy ? target : receiver);
      if (!spec || typeof value !== "function") return typeof value === "function" ? value.bind(target) : value;
      // Keyed by the method itself: a method replaced on the driver later (a test's fault injection) is wrapped anew.
      let fn = wrapped.get(value);
      if (!fn) {
        fn = spec.iterable ? iterate(prop as string, spec, value as never) : call(prop as string, spec, value as never);
        wrapped.set(value, fn);
      }
      return fn;
    },
    has(target, prop) {
      return prop === WRAPPED || Reflect.has(target, prop);
    },
  });
  return proxy;
}
