/**
 * The command line's one logger: every line a command prints on stderr (stage logs, progress lines, errors) goes
 * through it. A line has a timestamp (UTC, ISO 8601) and a level (error, warn, info, debug); `--verbose` shows debug
 * lines, `--quiet` only warnings and errors; `--log-format json` prints one JSON object per line
 * ({time, level, app?, message, count?}). stdout stays for what a command answers (summaries, --json).
 *
 * Warnings of one cause (the same message but for its ids, dates and numbers, e.g. one per GRIDSMART zone) are
 * counted by a WarningTally: the first is printed at once, the rest as one line with their count when the stage ends.
 */

export type LogLevel = "error" | "warn" | "info" | "debug";
export type LogFormat = "text" | "json";

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface LogSettings {
  /** The least important level printed. */
  level: LogLevel;
  format: LogFormat;
}

export interface LogFields {
  /** The stage or command the line is about. */
  app?: string;
  /** How many times the line's cause occurred (aggregated warnings). */
  count?: number;
}

export class Logger {
  constructor(
    readonly settings: LogSettings,
    private readonly stream: NodeJS.WritableStream = process.stderr,
    private readonly now: () => number = Date.now,
    /** Where a line goes instead of the stream (a progress bar prints it above itself). */
    private readonly sink?: (line: string) => void,
  ) {}

  enabled(level: LogLevel): boolean {
    return RANK[level] <= RANK[this.settings.level];
  }

  /** The stream is a terminal and the lines are text: a progress bar may be drawn on it. */
  get interactive(): boolean {
    return Boolean((this.stream as NodeJS.WriteStream).isTTY) && this.settings.format === "text" && this.enabled("info");
  }

  /** The line as it is printed (without its newline). */
  format(level: LogLevel, message: string, fields: LogFields = {}): string {
    // UTC, as luxon's toISO() in zone utc writes it; Date keeps luxon (100 KiB) out of `lake --help`'s start-up.
    const time = new Date(this.now()).toISOString();
    if (this.settings.format === "json") {
      return JSON.stringify({ time, level, ...(fields.app ? { app: fields.app } : {}), message, ...(fields.count !== undefined ? { count: fields.count } : {}) });
    }
    return `${time} ${level.toUpperCase().padEnd(5)} ${fields.app ? `${fields.app}: ` : ""}${message}`;
  }

  log(level: LogLevel, message: string, fields?: LogFields): void {
    if (!this.enabled(level)) return;
    const line = `${this.format(level, message, fields)}\n`;
    if (this.sink) this.sink(line);
    else this.stream.write(line);
  }

  error(message: string, fields?: LogFields): void {
    this.log("error", message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    this.log("warn", message, fields);
  }
  info(message: string, fields?: LogFields): void {
    this.log("info", message, fields);
  }
  debug(message: string, fields?: LogFields): void {
    this.log("debug", message, fields);
  }

  /** A logger with these settings changed, on the same stream. */
  with(settings: Partial<LogSettings>): Logger {
    return new Logger({ ...this.settings, ...settings }, this.stream, this.now, this.sink);
  }

  /** The same settings on another stream. */
  on(stream: NodeJS.WritableStream): Logger {
    return new Logger(this.settings, stream, this.now);
  }

  /** The same settings, each line handed to sink (a progress bar's log, which keeps the bar below it). */
  via(sink: (line: string) => void): Logger {
    return new Logger(this.settings, this.stream, this.now, sink);
  }

  /** The same settings and stream on another clock (tests). */
  at(now: () => number): Logger {
    return new Logger(this.settings, this.stream, now, this.sink);
  }
}

let processLogger = new Logger({ level: "info", format: "text" });

/** The process's logger (configured from the command line by runCli). */
export function logger(): Logger {
  return processLogger;
}

export function configureLogger(settings: Partial<LogSettings>, stream?: NodeJS.WritableStream): Logger {
  processLogger = new Logger({ ...processLogger.settings, ...settings }, stream ?? process.stderr);
  return processLogger;
}

/** The logging flags of every command (help text; runCli takes them out of the arguments before a command parses). */
export const LOG_FLAGS_HELP = [
  "Logging (any command):",
  "  -v, --verbose        debug lines too (skipped items and why, driver details)",
  "  -q, --quiet          only warnings and errors",
  "  --log-format <fmt>   text (default) or json: one JSON object per line on stderr",
].join("\n");

/**
 * The logging flags of a command line, taken out of it (anywhere before `--`): -v/--verbose, -q/--quiet,
 * --log-format text|json (or --log-format=json). A value other than text or json is refused.
 */
export function takeLogFlags(argv: readonly string[]): { argv: string[]; settings: Partial<LogSettings> } {
  const rest: string[] = [];
  const settings: Partial<LogSettings> = {};
  let level: LogLevel | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      rest.push(...argv.slice(i));
      break;
    }
    if (a === "-v" || a === "--verbose") level = "debug";
    else if (a === "-q" || a === "--quiet") level = level === "debug" ? "debug" : "warn";
    else if (a === "--log-format" || a.startsWith("--log-format=")) {
      const value = a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[++i];
      if (value !== "text" && value !== "json") throw new LogFlagError(`--log-format must be text or json, not "${String(value)}"`);
      settings.format = value;
    } else rest.push(a);
  }
  if (level) settings.level = level;
  return { argv: rest, settings };
}

export class LogFlagError extends Error {}

/**
 * What makes warnings one cause: their text with ids, dates, times and numbers left out, and without the label of
 * what it is about when it starts with one ("Lamar_38th/2024-11-09: zone …: no file …" → "zone <id>: no file …").
 */
export function causeOf(message: string): string {
  const at = message.indexOf(": ");
  const about = at > 0 && message.indexOf(": ", at + 2) > 0 ? message.slice(at + 2) : message;
  return about
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, "<id>")
    .replace(/\d{4}-\d{2}-\d{2}(T[\d:.]+([+-]\d{2}:?\d{2}|Z)?)?/g, "<date>")
    .replace(/\b[0-9a-f]{16,}\b/gi, "<id>")
    .replace(/-?\d+(\.\d+)?/g, "<n>");
}

/**
 * Warnings counted per (stage, cause): the first of a cause is printed at once (add says so); the others are counted
 * and, when the stage ends (flush), printed as one line with how many there were and the last one's text.
 */
export class WarningTally {
  private readonly held = new Map<string, { app: string; count: number; last: string }>();

  /** True when the warning is the first of its cause in this stage run (print it now). */
  add(app: string, message: string): boolean {
    const key = `${app}\u0000${causeOf(message)}`;
    const seen = this.held.get(key);
    if (seen) {
      seen.count++;
      seen.last = message;
      return false;
    }
    this.held.set(key, { app, count: 1, last: message });
    return true;
  }

  /**
   * Hands on one line per cause that repeated in a stage run (every stage when app is undefined): "N more like it"
   * with the last one's text; fields.count is the cause's total.
   */
  flush(app: string | undefined, emit: (message: string, fields: { app: string; count: number }) => void): void {
    for (const [key, w] of this.held) {
      if (app !== undefined && w.app !== app) continue;
      this.held.delete(key);
      if (w.count > 1) emit(`${w.count - 1} more like it (${w.count} in all), the last: ${w.last}`, { app: w.app, count: w.count });
    }
  }
}
