import { secretRedactor, type Redactor } from "../util/redact.js";

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

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A file-system error of Node (it has a code such as EACCES and usually the path). */
export function isSystemError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === "string" && typeof (err as NodeJS.ErrnoException).syscall === "string";
}

const FS_HINTS: Record<string, string> = {
  EACCES: "the path is not writable or readable by this user: fix its permissions or choose another path",
  EPERM: "the operation is not permitted on that path (read-only or immutable): fix it or choose another path",
  EROFS: "the file system is read-only: choose a writable path",
  ENOSPC: "the disk is full: free space and rerun",
  ENOENT: "a folder on the path does not exist: create it or choose another path",
  ENOTDIR: "a part of the path is a file, not a folder: choose another path",
  EISDIR: "the path is a folder, not a file: give a file name",
  EEXIST: "a file is in the way of a folder on the path: choose another path",
};

/** A file-system error as a message naming what was done, the path and what to do (no stack). */
export function fsErrorMessage(err: NodeJS.ErrnoException, what?: string, file?: string): string {
  const where = file ?? err.path ?? (err as { dest?: string }).dest;
  const hint = FS_HINTS[err.code ?? ""] ?? "check the path";
  return `${what ? `${what}: ` : ""}cannot ${err.syscall}${where ? ` ${where}` : ""} (${err.code}: ${err.message.replace(/^[A-Z]+: /, "").replace(/, \w+ '.*'$/, "")}); ${hint}`;
}

/** A storage key or catalog row that does not exist. */
export class NotFoundError extends TerminalError {
  override name = "NotFoundError";
}

// ---------------------------------------------------------------- HTTP answers

/** Characters of a server's error body kept in a message (bodies can echo a whole request). */
export const ERROR_BODY_CHARS = 300;

export interface HttpAnswer {
  status: number;
  /** The body (text or parsed JSON), when it was read. */
  body?: unknown;
  /** The Retry-After header. */
  retryAfter?: string | null | undefined;
}

export interface HttpHints {
  /** What to check when credentials are refused (401/403); without it a refusal is a TerminalError. */
  credentials?: string;
  /** What to check on 404; without it a 404 is a NotFoundError (a missing object, not a configuration mistake). */
  notFound?: string;
  /** What to do on 413. */
  tooLarge?: string;
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date. */
export function retryAfterMs(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/**
 * A server's error body as a short text: its "message" when it has one, else the text; secrets masked, then
 * truncated (masking first: a secret the cut would split leaves no part of itself).
 */
export function bodyText(body: unknown, redactor: Redactor = secretRedactor): string {
  let text: string;
  if (body && typeof body === "object" && "message" in body) text = String((body as { message: unknown }).message);
  else if (typeof body === "string") text = body;
  else if (body === undefined) text = "";
  else text = JSON.stringify(body ?? null);
  return redactor.clip(text, ERROR_BODY_CHARS);
}

/**
 * The one HTTP status classifier (Socrata, Knack, PostgREST, the GRIDSMART device API): undefined below 400;
 * 429 (with Retry-After), 408 and 5xx → TransientError; 413 → TerminalError; 401/403 → ConfigError when the
 * caller says what to check; 404 → ConfigError or NotFoundError; any other refusal → TerminalError.
 * `what` says who asked what of whom ("knack: records of object_11, page 2").
 */
export function httpStatusError(what: string, answer: HttpAnswer, hints: HttpHints = {}): Error | undefined {
  const { status } = answer;
  if (status < 400) return undefined;
  const detail = bodyText(answer.body);
  const where = `${what}: HTTP ${status}${detail ? ` ${detail}` : ""}`;
  if (status === 429) {
    const ms = retryAfterMs(answer.retryAfter);
    return new TransientError(`${where}: throttled${ms !== undefined ? `, retry after ${ms} ms` : ""}`, ms !== undefined ? { retryAfterMs: ms } : {});
  }
  if (status >= 500 || status === 408) return new TransientError(`${where}: server error, retrying may help`);
  if (status === 413) return new TerminalError(`${where}: the request is too large${hints.tooLarge ? `: ${hints.tooLarge}` : ""}`);
  if ((status === 401 || status === 403) && hints.credentials) return new ConfigError(`${where}: credentials refused: ${hints.credentials}`);
  if (status === 404) return hints.notFound ? new ConfigError(`${where}: not found: ${hints.notFound}`) : new NotFoundError(`${where}: not found`);
  return new TerminalError(`${where}: refused`);
}

/** Node's fetch/undici failure codes that mean the server was not reached or dropped the connection. */
export function networkCode(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } } | undefined;
  return e?.cause?.code ?? e?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}
