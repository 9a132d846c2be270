/**
 * S3 storage (@aws-sdk/client-s3 + lib-storage): one bucket per repository (bucketPrefix + repository).
 * Works with AWS and with S3-compatible servers (Swift s3api, Ceph, MinIO): set endpoint + forcePathStyle, and for
 * servers without the SDK's newer CRC32/aws-chunked checksums, checksumMode WHEN_REQUIRED and contentMd5ForDeletes.
 * The SDK's own retries are off (maxAttempts 1): the driver runtime owns retrying TransientErrors and the deadline
 * (each request takes the call's abort signal).
 */
import { Readable } from "node:stream";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { defineDriver, type DriverContext } from "../define.js";
import { s3Options, type S3Options, MIN_PART_SIZE } from "../options.js";
import type { CallOptions, ObjectInfo, StorageDriver } from "../../support/drivers.js";
import { ConfigError, NotFoundError, TerminalError } from "../../support/errors.js";
import { addContentMd5ForDeletes, classifyS3Error, isNoSuchBucket } from "../utils/s3.js";

export const DRIVER_NAME = "s3";
/** DeleteObjects takes at most 1,000 keys per request. */
const MAX_BULK_DELETE = 1000;


/** The SDK's per-request options: the call's deadline signal aborts the request. */
function sent(opts: CallOptions | undefined): { abortSignal?: AbortSignal } {
  return opts?.signal ? { abortSignal: opts.signal } : {};
}

export class S3Storage implements StorageDriver {
  readonly driverName = DRIVER_NAME;
  readonly capabilities = { multipart: true };
  readonly client: S3Client;
  readonly #checkedBuckets = new Map<string, Promise<void>>();

  constructor(
    readonly options: S3Options,
    clientConfig: S3ClientConfig = {},
  ) {
    this.client = new S3Client({
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      requestChecksumCalculation: options.checksumMode,
      responseChecksumValidation: options.checksumMode,
      maxAttempts: 1,
      ...clientConfig,
    });
    if (options.contentMd5ForDeletes) addContentMd5ForDeletes(this.client);
  }

  /** Bucket of a repository; a ConfigError when the name cannot be a bucket (3–63 chars, a-z 0-9 . -). */
  bucket(repository: string): string {
    const name = this.options.bucketPrefix + repository;
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name)) {
      throw new ConfigError(
        `s3: repository "${repository}" gives bucket "${name}", which is not a valid bucket name ` +
          "(3–63 characters of a-z, 0-9, '.', '-'): rename the repository or set bucketPrefix",
      );
    }
    return name;
  }

  async put(repository: string, key: string, body: Uint8Array | Readable, opts: { contentType?: string } & CallOptions = {}): Promise<void> {
    const Bucket = await this.#ready(repository);
    const where = `${Bucket}/${key}`;
    const ct = opts.contentType ? { ContentType: opts.contentType } : {};
    try {
      if (body instanceof Uint8Array && body.byteLength <= this.options.partSize) {
        await this.client.send(new PutObjectCommand({ Bucket, Key: key, Body: body, ...ct }), sent(opts));
        return;
      }
      const upload = new Upload({
        client: this.client,
        params: { Bucket, Key: key, Body: body, ...ct },
        partSize: this.options.partSize,
        queueSize: this.options.queueSize,
        leavePartsOnError: false,
      });
      const abort = () => void upload.abort();
      opts.signal?.addEventListener("abort", abort, { once: true });
      try {
        await upload.done();
      } finally {
        opts.signal?.removeEventListener("abort", abort);
      }
    } catch (err) {
      throw classifyS3Error(err, "put", where, this.options.endpoint);
    }
  }

  async get(repository: string, key: string, opts?: CallOptions): Promise<Buffer> {
    const Bucket = this.bucket(repository);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket, Key: key }), sent(opts));
      if (!out.Body) return Buffer.alloc(0);
      return Buffer.from(await out.Body.transformToByteArray());
    } catch (err) {
      throw this.#fail(err, "get", `${Bucket}/${key}`);
    }
  }

  async getStream(repository: string, key: string, opts?: CallOptions): Promise<Readable> {
    const Bucket = this.bucket(repository);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket, Key: key }), sent(opts));
      if (!out.Body) return Readable.from([]);
      return out.Body as Readable;
    } catch (err) {
      throw this.#fail(err, "get", `${Bucket}/${key}`);
    }
  }

  async exists(repository: string, key: string, opts?: CallOptions): Promise<boolean> {
    const Bucket = this.bucket(repository);
    try {
      await this.client.send(new HeadObjectCommand({ Bucket, Key: key }), sent(opts));
      return true;
    } catch (err) {
      const e = this.#fail(err, "head", `${Bucket}/${key}`);
      if (e instanceof NotFoundError) return false;
      throw e;
    }
  }

  async delete(repository: string, key: string, opts?: CallOptions): Promise<void> {
    const Bucket = this.bucket(repository);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket, Key: key }), sent(opts));
    } catch (err) {
      const e = this.#fail(err, "delete", `${Bucket}/${key}`);
      if (e instanceof NotFoundError) return;
      throw e;
    }
  }

  /** Deletes many keys, 1,000 per DeleteObjects request; returns how many the server confirmed. */
  async deleteMany(repository: string, keys: string[]): Promise<number> {
    const Bucket = this.bucket(repository);
    let deleted = 0;
    for (let i = 0; i < keys.length; i += MAX_BULK_DELETE) {
      const chunk = keys.slice(i, i + MAX_BULK_DELETE);
      try {
        const out = await this.client.send(
          new DeleteObjectsCommand({ Bucket, Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: false } }),
        );
        if (out.Errors?.length) {
          const first = out.Errors[0]!;
          throw new TerminalError(`s3: delete of ${Bucket}/${first.Key} refused: ${first.Code} ${first.Message ?? ""}`.trim());
        }
        deleted += out.Deleted?.length ?? 0;
      } catch (err) {
        throw classifyS3Error(err, "delete", `${Bucket} (${chunk.length} keys)`, this.options.endpoint);
      }
    }
    return deleted;
  }

  async *list(repository: string, prefix: string, opts?: CallOptions): AsyncIterable<ObjectInfo> {
    const Bucket = this.bucket(repository);
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({ Bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }),
          sent(opts),
        );
      } catch (err) {
        const e = this.#fail(err, "list", `${Bucket}/${prefix}*`);
        if (e instanceof NotFoundError) return;
        throw e;
      }
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        yield { key: o.Key, size: o.Size ?? 0, ...(o.LastModified ? { modified: o.LastModified.getTime() } : {}) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  /** Classifies a failure; with createBuckets, a bucket not made yet simply holds no objects. */
  #fail(err: unknown, op: string, where: string): Error {
    if (this.options.createBuckets && isNoSuchBucket(err)) return new NotFoundError(`s3: no object ${where} (its bucket does not exist yet)`, { cause: err });
    return classifyS3Error(err, op, where, this.options.endpoint);
  }

  /** The bucket name, after making sure the bucket exists when createBuckets is on (once per bucket). */
  #ready(repository: string): Promise<string> {
    const Bucket = this.bucket(repository);
    if (!this.options.createBuckets) return Promise.resolve(Bucket);
    let check = this.#checkedBuckets.get(Bucket);
    if (!check) {
      check = this.#ensureBucket(Bucket);
      this.#checkedBuckets.set(Bucket, check);
      check.catch(() => this.#checkedBuckets.delete(Bucket));
    }
    return check.then(() => Bucket);
  }

  async #ensureBucket(Bucket: string): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket }));
      return;
    } catch (err) {
      const e = classifyS3Error(err, "head bucket", Bucket, this.options.endpoint);
      if (!(e instanceof NotFoundError)) throw e;
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket }));
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name === "BucketAlreadyOwnedByYou" || name === "BucketAlreadyExists") return;
      throw classifyS3Error(err, "create bucket", Bucket, this.options.endpoint);
    }
  }
}

export default defineDriver({
  options: s3Options,
  create(options, ctx: DriverContext) {
    const accessKeyId = ctx.secrets.get("AWS_ACCESS_KEY_ID");
    const config: S3ClientConfig = {};
    if (accessKeyId) {
      const secretAccessKey = ctx.secrets.require("AWS_SECRET_ACCESS_KEY", "S3 storage, with AWS_ACCESS_KEY_ID");
      const sessionToken = ctx.secrets.get("AWS_SESSION_TOKEN");
      config.credentials = { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
    }
    // Without AWS_ACCESS_KEY_ID the SDK's default chain applies (profile, instance role, ...).
    return new S3Storage(options, config);
  },
});
