/**
 * One flag convention for every command: kebab-case long flags (`--last-run-date`, `--name-filter`), the original's
 * snake_case names (`--last_run_date`) and older names (`--time-min`) kept as aliases. An alias is rewritten to its
 * flag before commander parses, so an option has one name in code and help; the options key of a stage flag stays
 * the original's snake_case name (`start_date`), which stage code and main(options) callers use.
 */
import { Option } from "commander";

export interface FlagSpec {
  /** commander flags, e.g. "-s, --start <date>" (snake_case long names are turned into kebab-case). */
  flags: string;
  description: string;
  default?: string | number | boolean;
  parse?: (value: string) => unknown;
  /** Options key, when not the long name with "-" → "_" (e.g. "start_date" for --start). */
  key?: string;
  /** Other long names accepted, e.g. ["--start-date", "--start_date"]; a snake_case long name is one by itself. */
  aliases?: string[];
}

const LONG = /--([A-Za-z0-9_-]+)/;

/** The long name of flags: "-d, --sourcedir <dir>" → "sourcedir" (as written). */
function longName(flags: string): string {
  const m = LONG.exec(flags);
  if (!m) throw new Error(`Option flags "${flags}" need a long name`);
  return m[1]!;
}

/** The flags with the long name in kebab-case. */
export function kebabFlags(flags: string): string {
  return flags.replace(LONG, (_m, name: string) => `--${name.replace(/_/g, "-")}`);
}

/** The options key of a flag: its declared key, else its long name with "-" → "_". */
export function flagKey(spec: Pick<FlagSpec, "flags" | "key">): string {
  return spec.key ?? longName(spec.flags).replace(/-/g, "_");
}

/** Every alias of a flag: the declared ones and the long name in snake_case (the original's convention). */
export function flagAliases(spec: Pick<FlagSpec, "flags" | "aliases">): string[] {
  const written = `--${longName(spec.flags)}`;
  const canonical = `--${longName(kebabFlags(spec.flags))}`;
  const snake = `--${canonical.slice(2).replace(/-/g, "_")}`;
  return [...new Set([written, snake, ...(spec.aliases ?? [])])].filter((a) => a !== canonical);
}

/** The commander option of a flag (kebab-case; a `--no-x` flag of the original is a plain boolean, not a negation). */
export function commanderOption(spec: FlagSpec): Option {
  const aliases = flagAliases(spec).filter((a) => !a.includes("_")); // the snake_case ones go without saying
  const opt = new Option(kebabFlags(spec.flags), `${spec.description}${aliases.length ? ` (alias ${aliases.join(", ")})` : ""}`);
  // "--no_unassigned" was the original's own flag (false unless given): keep it a flag, not commander's negation.
  if (opt.negate && spec.default !== true) opt.negate = false;
  if (spec.default !== undefined) opt.default(spec.default);
  if (spec.parse) opt.argParser((v: string) => spec.parse!(v));
  return opt;
}

/** The canonical flag of every alias of these specs. */
export function aliasTable(specs: readonly Pick<FlagSpec, "flags" | "aliases">[]): Map<string, string> {
  const table = new Map<string, string>();
  for (const s of specs) {
    const canonical = `--${longName(kebabFlags(s.flags))}`;
    for (const a of flagAliases(s)) table.set(a, canonical);
  }
  return table;
}

/** argv with every alias replaced by its flag (`--start_date=X` → `--start=X`); nothing after `--` is touched. */
export function rewriteAliases(argv: readonly string[], table: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  let rest = false;
  for (const a of argv) {
    if (rest || !a.startsWith("--")) {
      out.push(a);
      continue;
    }
    if (a === "--") {
      rest = true;
      out.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = eq < 0 ? a : a.slice(0, eq);
    const to = table.get(name);
    out.push(to ? `${to}${eq < 0 ? "" : a.slice(eq)}` : a);
  }
  return out;
}

/** commander's parsed values (attribute names) → options keys. */
export function keyedValues(specs: readonly FlagSpec[], values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of specs) {
    const attr = commanderOption(s).attributeName();
    if (values[attr] !== undefined) out[flagKey(s)] = values[attr];
  }
  return out;
}
