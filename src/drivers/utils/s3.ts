/**
 * Shared S3 plumbing for the s3 storage driver: failure classification into the framework's error classes, and the
 * DeleteObjects Content-MD5 middleware that Swift and Ceph need.
 */
import { createHash } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";
import { bodyText, ConfigError, NotFoundError, TerminalError, TransientError } from "../../support/errors.js";

const CREDENTIAL_ERRORS = new Set([
  "SignatureDoesNotMatch",
  "InvalidAccessKeyId",
  "AccessDenied",
  "InvalidToken",
  "ExpiredToken",
  "InvalidClientTokenId",
  "AuthorizationHeaderMalformed",
]);
const THROTTLE_ERRORS = new Set(["SlowDown", "Throttling", "ThrottlingException", "RequestTimeout"]);
const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

export function isNoSuchBucket(err: unknown): boolean {
  return (err as { name?: string }).name === "NoSuchBucket";
}

/** Maps an SDK failure to the framework's error classes, with a message that says what, where and what to do. */
export function classifyS3Error(err: unknown, op: string, where: string, endpoint: string | undefined): Error {
  if (err instanceof ConfigError || err instanceof TerminalError || err instanceof TransientError) return err;
  const e = err as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number }; cause?: { code?: string } };
  const name = e.name ?? "Error";
  const status = e.$metadata?.httpStatusCode;
  const code = e.code ?? e.cause?.code;
  const server = endpoint ?? "AWS S3";
  const detail = `${name}${status ? ` (HTTP ${status})` : ""}: ${bodyText(e.message ?? "")}`.trim();
  const opts = { cause: err };
  if (name === "NoSuchBucket") {
    return new ConfigError(`s3: bucket of ${where} does not exist on ${server}: create it, fix bucketPrefix, or set createBuckets: true`, opts);
  }
  if (name === "NoSuchKey" || name === "NotFound" || status === 404) return new NotFoundError(`s3: no object ${where}`, opts);
  if (CREDENTIAL_ERRORS.has(name) || status === 403) {
    return new ConfigError(
      `s3: ${server} refused the credentials for ${op} ${where} (${name}): check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the bucket policy`,
      opts,
    );
  }
  if (THROTTLE_ERRORS.has(name) || status === 429 || (status !== undefined && status >= 500)) {
    return new TransientError(`s3: ${op} ${where} failed on ${server}: ${detail}`, opts);
  }
  if ((code && NETWORK_CODES.has(code)) || name === "TimeoutError" || (status === undefined && name !== "NotImplemented")) {
    return new TransientError(`s3: cannot reach ${server} for ${op} ${where} (${code ?? name}): is the server up and the endpoint right?`, opts);
  }
  if (name === "NotImplemented") {
    return new ConfigError(`s3: ${server} does not implement ${op} as sent (${detail}): try checksumMode: WHEN_REQUIRED`, opts);
  }
  return new TerminalError(`s3: ${op} ${where} refused: ${detail}`, opts);
}

/** Build-step middleware: DeleteObjects with Content-MD5 instead of the SDK's CRC32 headers (Swift, Ceph). */
export function addContentMd5ForDeletes(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const req = args.request as { headers?: Record<string, string>; body?: unknown };
      if (context.commandName === "DeleteObjectsCommand" && req.headers && (typeof req.body === "string" || req.body instanceof Uint8Array)) {
        req.headers["content-md5"] = createHash("md5").update(req.body).digest("base64");
        for (const h of Object.keys(req.headers)) {
          if (h.toLowerCase().startsWith("x-amz-checksum-") || h.toLowerCase() === "x-amz-sdk-checksum-algorithm") delete req.headers[h];
        }
      }
      return next(args);
    },
    { step: "build", priority: "low", name: "lakeContentMd5ForDeletes" },
  );
}
