/** A DriverContext for driver tests: secrets from a plain map (never from the host environment). */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { DriverContext } from "../../src/drivers/define.js";
import { ConfigError } from "../../src/support/errors.js";
import { DEFAULT_ZONE, systemClock } from "../../src/util/dates.js";

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
