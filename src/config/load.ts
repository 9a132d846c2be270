/**
 * Configuration = one file (JSON or YAML) + environment variables. No I/O at import time.
 *
 * Lookup: the explicit path (--config), else $LAKE_CONFIG, else lake.config.{yaml,yml,json} in the working folder,
 * else the built-in embedded defaults. Environment overrides:
 *   LAKE_HOME, LAKE_ZONE               shortcuts for home and zone
 *   LAKE__<path>=<value>               any key, path segments separated by "__" (e.g. LAKE__catalog__driver=postgrest,
 *                                      LAKE__catalog__options__url=http://...); values are parsed as JSON when they can be
 *   LAKE_SECRETS_FILE                  the secrets file (JSON object name → value)
 * Secrets never live in the file itself: drivers read them through SecretSource (env first, then the secrets file).
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import type YAML from "yaml";
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";
import { ConfigError } from "../support/errors.js";
import { configSchema, type LakeConfig, type LakeConfigInput } from "./schema.js";
import { driverEntry, knownDrivers, type DriverKind } from "../drivers/registry.js";
import { secretRedactor } from "../util/redact.js";
import type { SecretSource } from "../drivers/define.js";

export interface LoadedConfig {
  config: LakeConfig;
  /** Folder relative paths resolve against. */
  baseDir: string;
  /** The file read, when one was. */
  file?: string;
}

// zod/mini carries no messages of its own (every issue would read "Invalid input"); the English locale names what
// was expected and what was found. Every schema of the project is checked in a process that has this module loaded.
z.config(en());

const DEFAULT_FILES = ["lake.config.yaml", "lake.config.yml", "lake.config.json"];

export function findConfigFile(explicit: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string | undefined {
  const chosen = explicit ?? env.LAKE_CONFIG;
  if (chosen) {
    const abs = path.resolve(cwd, chosen);
    if (!existsSync(abs)) throw new ConfigError(`Config file ${abs} does not exist: check --config or LAKE_CONFIG`);
    return abs;
  }
  for (const name of DEFAULT_FILES) {
    const abs = path.join(cwd, name);
    if (existsSync(abs)) return abs;
  }
  return undefined;
}

/** The YAML parser loads only for a YAML file: most commands start without one (JSON or no config file). */
function yaml(): typeof YAML {
  return createRequire(import.meta.url)("yaml") as typeof YAML;
}

function parseFile(file: string): unknown {
  const text = readFileSync(file, "utf8");
  try {
    return file.endsWith(".json") ? JSON.parse(text) : yaml().parse(text);
  } catch (err) {
    throw new ConfigError(`Config file ${file} is not valid ${file.endsWith(".json") ? "JSON" : "YAML"}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function setPath(target: Record<string, unknown>, keys: string[], value: unknown): void {
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== "object" || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

function parseEnvValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

export function applyEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out = structuredClone(raw);
  if (env.LAKE_HOME) out.home = env.LAKE_HOME;
  if (env.LAKE_ZONE) out.zone = env.LAKE_ZONE;
  if (env.LAKE_SECRETS_FILE) out.secretsFile = env.LAKE_SECRETS_FILE;
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith("LAKE__") || value === undefined) continue;
    const keys = name.slice("LAKE__".length).split("__").filter(Boolean);
    if (keys.length) setPath(out, keys, parseEnvValue(value));
  }
  return out;
}

function issueLines(err: z.core.$ZodError, prefix: PropertyKey[] = []): string[] {
  return err.issues.map((issue) => {
    const at = [...prefix, ...issue.path];
    return `  ${at.length ? at.join(".") : "(top level)"}: ${issue.message}`;
  });
}

export function formatZodError(err: z.core.$ZodError, where: string): string {
  return `Invalid configuration in ${where}:\n${issueLines(err).join("\n")}`;
}

/** The registry's driver kinds a configuration names at its top level. */
const DRIVER_SECTIONS = ["storage", "catalog", "perfmet", "publisher", "unitdata", "queue"] as const;

/**
 * Problems of one driver spec against the registry: an unknown driver name (with the known ones) or options its
 * driver's schema refuses, each as a message line under `at` (e.g. "publisher").
 */
export function driverSpecProblems(kind: DriverKind, spec: { driver: string; options?: unknown }, at: string): string[] {
  const entry = driverEntry(kind, spec.driver);
  if (!entry) return [`  ${at}.driver: unknown driver "${spec.driver}" (known: ${knownDrivers(kind).join(", ")})`];
  const parsed = entry.options.safeParse(spec.options ?? {});
  return parsed.success ? [] : issueLines(parsed.error, [at, "options"]);
}

/** A section of the configuration whose driver spec is refused, with its message lines. */
export interface SectionProblem {
  section: DriverKind;
  lines: string[];
}

/**
 * Checks the whole configuration without stopping at the first problem: the file's shape (config, when it holds),
 * then the options of every driver it names, each refused section with its lines (`lake doctor` reports them next
 * to the systems it could reach).
 */
export function checkConfig(raw: unknown, where: string): { config: LakeConfig; problems: SectionProblem[] } {
  const parsed = configSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new ConfigError(formatZodError(parsed.error, where));
  const problems: SectionProblem[] = [];
  const check = (section: DriverKind, spec: { driver: string; options?: unknown }) => {
    const lines = driverSpecProblems(section, spec, section);
    if (lines.length) problems.push({ section, lines });
  };
  for (const kind of DRIVER_SECTIONS) check(kind, parsed.data[kind]);
  if (parsed.data.notify) check("notify", parsed.data.notify);
  const blocks = parsed.data.blocks;
  if (blocks.driver) check("blocks", { driver: blocks.driver, options: blocks.options });
  return { config: parsed.data, problems };
}

/** Validates the whole configuration, the options of every driver it names included; every problem at once. */
export function validateConfig(raw: unknown, where: string): LakeConfig {
  const { config, problems } = checkConfig(raw, where);
  if (problems.length) throw new ConfigError(`Invalid configuration in ${where}:\n${problems.flatMap((p) => p.lines).join("\n")}`);
  return config;
}

export interface LoadOptions {
  file?: string;
  /** Programmatic config merged over the file (tests, embedding). */
  overrides?: LakeConfigInput;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    if (v && typeof v === "object" && !Array.isArray(v) && prev && typeof prev === "object" && !Array.isArray(prev)) {
      out[k] = deepMerge(prev as Record<string, unknown>, v as Record<string, unknown>);
    } else if (v !== undefined) {
      out[k] = v;
    }
  }
  return out;
}

/** The configuration as written: the file (when there is one), the programmatic overrides, the environment. */
export function readRawConfig(opts: LoadOptions = {}): { raw: Record<string, unknown>; where: string; baseDir: string; file?: string } {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const file = findConfigFile(opts.file, env, cwd);
  let raw: Record<string, unknown> = {};
  if (file) {
    const parsed = parseFile(file);
    if (parsed !== null && parsed !== undefined && (typeof parsed !== "object" || Array.isArray(parsed))) {
      throw new ConfigError(`Config file ${file} must hold an object at the top level`);
    }
    raw = (parsed as Record<string, unknown>) ?? {};
  }
  if (opts.overrides) raw = deepMerge(raw, opts.overrides as Record<string, unknown>);
  raw = applyEnv(raw, env);
  return { raw, where: file ?? "the built-in defaults and environment", baseDir: file ? path.dirname(file) : cwd, ...(file ? { file } : {}) };
}

export function loadConfig(opts: LoadOptions = {}): LoadedConfig {
  const { raw, where, baseDir, file } = readRawConfig(opts);
  const config = validateConfig(raw, where);
  return { config, baseDir, ...(file ? { file } : {}) };
}

/** Secrets: environment first, then the secrets file. Values are never printed: each is registered with the redactor. */
export function createSecretSource(secretsFile: string | undefined, env: NodeJS.ProcessEnv, baseDir: string): SecretSource {
  let fileValues: Record<string, string> | undefined;
  const fromFile = (): Record<string, string> => {
    if (fileValues) return fileValues;
    fileValues = {};
    if (!secretsFile) return fileValues;
    const abs = path.resolve(baseDir, secretsFile);
    if (!existsSync(abs)) throw new ConfigError(`Secrets file ${abs} does not exist: check secretsFile or LAKE_SECRETS_FILE`);
    try {
      const parsed = JSON.parse(readFileSync(abs, "utf8")) as Record<string, unknown>;
      for (const [k, v] of Object.entries(parsed)) {
        if (v === null || v === undefined) continue;
        fileValues[k] = String(v);
        secretRedactor.add(fileValues[k]); // every configured secret is masked in whatever leaves the process
      }
    } catch (err) {
      throw new ConfigError(`Secrets file ${abs} is not a JSON object of name → value`, { cause: err });
    }
    return fileValues;
  };
  const get = (name: string): string | undefined => {
    const v = env[name];
    const value = v !== undefined && v !== "" ? v : fromFile()[name];
    secretRedactor.add(value); // a secret handed to a driver is masked in every message from then on
    return value;
  };
  return {
    get,
    require(name, purpose) {
      const v = get(name);
      if (v === undefined || v === "") {
        throw new ConfigError(
          `Missing secret ${name} (${purpose}): set the environment variable ${name} or add it to the secrets file (LAKE_SECRETS_FILE)`,
        );
      }
      return v;
    },
  };
}
