/**
 * Config factories: a driver from {driver, options} through the registry, or an injected instance as is.
 */
import { ConfigError } from "../support/errors.js";
import { driverEntry, knownDrivers, type DriverEntry, type DriverKind, type DriverKinds } from "../drivers/registry.js";
import type { DriverContext } from "../drivers/define.js";
import { formatZodError } from "./load.js";
import type { DriverSpec } from "./schema.js";

export type DriverInput<K extends DriverKind> = DriverSpec | DriverKinds[K];

export function isDriverSpec(x: unknown): x is DriverSpec {
  return typeof x === "object" && x !== null && typeof (x as DriverSpec).driver === "string" && !("driverName" in x);
}

/** The registry entry of a spec; a ConfigError naming the known drivers when there is none. */
export function specEntry(kind: DriverKind, spec: DriverSpec): DriverEntry<unknown> {
  const entry = driverEntry(kind, spec.driver);
  if (!entry) throw new ConfigError(`${kind}.driver: unknown driver "${spec.driver}" (known: ${knownDrivers(kind).join(", ")})`);
  return entry;
}

export async function createDriver<K extends DriverKind>(kind: K, input: DriverInput<K>, ctx: DriverContext): Promise<DriverKinds[K]> {
  if (!isDriverSpec(input)) return input as DriverKinds[K];
  const entry = specEntry(kind, input);
  const parsed = entry.options.safeParse(input.options ?? {});
  if (!parsed.success) throw new ConfigError(formatZodError(parsed.error, `${kind}.options (driver ${input.driver})`));
  const mod = (await entry.load()).default;
  return (await mod.create(parsed.data, ctx)) as DriverKinds[K];
}
