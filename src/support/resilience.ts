/**
 * The one place retries, timeouts and concurrency limits live (style §4). Drivers only classify errors:
 * a TransientError is retried with jittered exponential backoff; anything else fails at once.
 */
import pRetry, { AbortError } from "p-retry";
import pLimit from "p-limit";
import { TransientError, errorMessage } from "./errors.js";

export interface RetryPolicy {
  retries: number;
  minTimeoutMs: number;
  maxTimeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 4, minTimeoutMs: 500, maxTimeoutMs: 15_000 };
export const NO_RETRY: RetryPolicy = { retries: 0, minTimeoutMs: 0, maxTimeoutMs: 0 };

/**
 * Runs fn, retrying TransientErrors up to policy.retries times; the last error is re-raised (never swallowed:
 * fixes B20). onRetry hears each failed attempt.
 */
export async function withRetry<T>(
  label: string,
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy = DEFAULT_RETRY,
  onRetry?: (info: { attempt: number; error: unknown; label: string }) => void,
): Promise<T> {
  return pRetry(
    async (attempt) => {
      try {
        return await fn(attempt);
      } catch (err) {
        if (err instanceof TransientError) {
          if (err.retryAfterMs !== undefined && err.retryAfterMs > 0) {
            await new Promise((r) => setTimeout(r, Math.min(err.retryAfterMs!, policy.maxTimeoutMs)));
          }
          throw err;
        }
        // p-retry rethrows the original error object for an AbortError.
        throw new AbortError(err instanceof Error ? err : new Error(String(err)));
      }
    },
    {
      retries: policy.retries,
      minTimeout: policy.minTimeoutMs,
      maxTimeout: policy.maxTimeoutMs,
      randomize: true,
      onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
        if (retriesLeft > 0 && error instanceof TransientError) onRetry?.({ attempt: attemptNumber, error, label });
      },
    },
  );
}

/** Rejects with a TransientError when the promise does not settle within ms. */
export async function withTimeout<T>(label: string, ms: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new TransientError(`${label}: no answer within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([fn(controller.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function limiter(concurrency: number): <T>(fn: () => Promise<T>) => Promise<T> {
  const limit = pLimit(Math.max(1, concurrency));
  return (fn) => limit(fn);
}

export function describeError(err: unknown): string {
  return errorMessage(err);
}
