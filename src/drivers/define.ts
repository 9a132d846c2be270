/**
 * One file per driver (unstorage style): `export default defineDriver({ options, create })`.
 * `options` is a zod schema validated before create(); create receives the parsed options and a context that
 * gives secrets (env or secrets file, never logged) and the lake's zone/clock.
 */
import type * as z from "zod/mini";
import type { Clock } from "../util/dates.js";

export interface SecretSource {
  /** The secret's value, or undefined when unset. Never log it. */
  get(name: string): string | undefined;
  /** The secret's value; a ConfigError naming the variable and where to set it when unset. */
  require(name: string, purpose: string): string;
}

export interface DriverContext {
  secrets: SecretSource;
  zone: string;
  clock: Clock;
  /** True under --debug: drivers that choose tables or targets pick their test variants (fixes B24). */
  debug: boolean;
  /** Directory relative paths in options resolve against (the config file's folder, or the lake home). */
  baseDir: string;
  /** Absolute lake home folder: embedded drivers default their files under it (storage <home>/lake, ...). */
  home: string;
}

export interface DriverModule<I, S extends z.ZodMiniType = z.ZodMiniType> {
  options: S;
  create(options: z.infer<S>, ctx: DriverContext): I | Promise<I>;
}

export function defineDriver<I, S extends z.ZodMiniType>(def: DriverModule<I, S>): DriverModule<I, S> {
  return def;
}
