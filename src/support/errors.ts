/**
 * Three error classes, not thirty (style §5). Messages say what, where (driver, item, file/row/field) and what to do.
 * - ConfigError: bad configuration or usage; the run does not start; exit code 2.
 * - TransientError: a retryable failure (network, 429, 5xx, timeout); the retry wrapper retries it.
 * - TerminalError: bad input or a refusal that retrying cannot fix; the item fails, the run goes on.
 */
export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A command-line usage error (malformed flag, unknown flag): also exit code 2. */
export class UsageError extends ConfigError {
  override name = "UsageError";
}

export class TransientError extends Error {
  override name = "TransientError";
  /** Milliseconds the server asked us to wait (Retry-After), when it said so. */
  retryAfterMs?: number;
  constructor(message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(message, options);
    if (options?.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

export class TerminalError extends Error {
  override name = "TerminalError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function isTransient(err: unknown): boolean {
  return err instanceof TransientError;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A storage key or catalog row that does not exist. */
export class NotFoundError extends TerminalError {
  override name = "NotFoundError";
}
