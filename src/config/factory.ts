/**
 * Config factories: a driver from {driver, options} through the registry, or an injected instance as is.
 */
import { ConfigError } from "../support/errors.js";
import { drivers, type DriverKind, type DriverKinds } from "../drivers/registry.js";
import type { DriverContext } from "../drivers/define.js";
import { formatZodError } from "./load.js";
import type { DriverSpec } from "./schema.js";

export type DriverInput<K extends DriverKind> = DriverSpec | DriverKinds[K];

function isSpec(x: unknown): x is DriverSpec {
  return typeof x === "object" && x !== null && typeof (x as DriverSpec).driver === "string" && !("driverName" in x);
}

export function knownDrivers(kind: DriverKind): string[] {
  return Object.keys(drivers[kind]);
}

export async function createDriver<K extends DriverKind>(
  kind: K,
  input: DriverInput<K>,
  ctx: DriverContext,
): Promise<DriverKinds[K]> {
  if (!isSpec(input)) return input as DriverKinds[K];
  const table = drivers[kind] as Record<string, () => Promise<{ default: { options: any; create: any } }>>;
  const load = table[input.driver];
  if (!load) {
    throw new ConfigError(
      `${kind}.driver: unknown driver "${input.driver}" (known: ${knownDrivers(kind).join(", ")})`,
    );
  }
  const mod = (await load()).default;
  const parsed = mod.options.safeParse(input.options ?? {});
  if (!parsed.success) throw new ConfigError(formatZodError(parsed.error, `${kind}.options (driver ${input.driver})`));
  return (await mod.create(parsed.data, ctx)) as DriverKinds[K];
}
