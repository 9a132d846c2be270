/** A DriverContext for driver tests: secrets from a plain map (never from the host environment). */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { DriverContext } from "../../src/drivers/define.js";
import { ConfigError } from "../../src/support/errors.js";
import { DEFAULT_ZONE, systemClock } from "../../src/util/dates.js";
import { CALLS, type DriverKind, type DriverKinds } from "../../src/drivers/registry.js";
import { LockService, wrapDriver, type DriverPolicy, type RetryPolicy } from "../../src/support/resilience.js";
import type { LakeEventBus } from "../../src/support/events.js";

export function testContext(secrets: Record<string, string | undefined> = {}, over: Partial<DriverContext> = {}): DriverContext {
  const home = over.home ?? mkdtempSync(path.join(tmpdir(), "lake-test-"));
  return {
    secrets: {
      get: (name) => secrets[name],
      require(name, purpose) {
        const v = secrets[name];
        if (!v) throw new ConfigError(`Missing secret ${name} (${purpose})`);
        return v;
      },
    },
    zone: DEFAULT_ZONE,
    clock: systemClock,
    debug: false,
    baseDir: home,
    home,
    ...over,
  };
}

/** A short id unique to this test process, for keys and repositories on shared servers. */
export const RUN_ID = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

/**
 * A driver behind the driver runtime, as stages get it (keyv style: suites test the wrapped driver): retries with
 * short pauses, the given deadline and limit, the per-dataset lock (in process unless a lock folder is given).
 */
export function runtimeDriver<K extends DriverKind>(
  kind: K,
  driver: DriverKinds[K],
  over: Partial<DriverPolicy> & { lockDir?: string; events?: LakeEventBus } = {},
): DriverKinds[K] {
  const { lockDir, events, ...policy } = over;
  return wrapDriver(driver, {
    kind,
    calls: CALLS[kind],
    policy: { retry: FAST_RETRY, timeoutMs: 0, concurrency: 0, ...policy },
    locks: new LockService(lockDir ? { dir: lockDir } : {}),
    events,
  });
}

/** Retries without waiting long (tests). */
export const FAST_RETRY: RetryPolicy = { retries: 3, minTimeoutMs: 5, maxTimeoutMs: 30 };
