/**
 * Gates for tests that need a real service (scripts/services.sh starts them and writes .services/env).
 * Without the service's variables a block is skipped, unless LAKE_REQUIRE_SERVICES=1 (the full test run,
 * scripts/test-all.sh): then a missing service is a failing test, so a broken set-up can never pass as "skipped".
 */
import { describe, it } from "vitest";

/** The variable's value, or undefined when unset or empty. */
export function serviceEnv(name: string): string | undefined {
  const v = process.env[name];
  return v === undefined || v === "" ? undefined : v;
}

export function servicesRequired(): boolean {
  return process.env.LAKE_REQUIRE_SERVICES === "1";
}

/** describe() when every named variable is set; otherwise a skip, or one failing test under LAKE_REQUIRE_SERVICES=1. */
export function describeService(names: string[], title: string, fn: () => void): void {
  const missing = names.filter((n) => serviceEnv(n) === undefined);
  if (missing.length === 0) {
    describe(title, fn);
    return;
  }
  if (servicesRequired()) {
    describe(title, () => {
      it(`has its service (${missing.join(", ")})`, () => {
        throw new Error(
          `${title}: ${missing.join(", ")} unset while LAKE_REQUIRE_SERVICES=1: ` +
            "start the services (bash scripts/services.sh start) and load .services/env",
        );
      });
    });
    return;
  }
  describe.skipIf(true)(`${title} (skipped: ${missing.join(", ")} unset)`, fn);
}
