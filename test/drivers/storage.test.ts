/** Every storage driver through the one conformance suite, plus the S3 driver's faults against real Swift s3api. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import localDriver from "../../src/drivers/storage/local.js";
import memoryDriver from "../../src/drivers/storage/memory.js";
import s3Driver, { S3Storage } from "../../src/drivers/storage/s3.js";
import type { S3Options } from "../../src/drivers/options.js";
import { ConfigError, TransientError } from "../../src/support/errors.js";
import { storageConformance } from "../conformance/storage.js";
import { RUN_ID, testContext } from "../helpers/context.js";
import { describeService, serviceEnv } from "../helpers/services.js";

storageConformance("memory", () => memoryDriver.create({}, testContext()));

storageConformance(
  "local",
  () => localDriver.create({ root: mkdtempSync(path.join(tmpdir(), "lake-local-")) }, testContext()),
  { bulk: true, bulkKeys: 1100 },
);

/** Swift s3api needs both compatibility settings (test-infrastructure §3). */
function s3Make(over: Partial<S3Options> = {}, secret = serviceEnv("S3_SECRET_KEY")) {
  const options = s3Driver.options.parse({
    endpoint: serviceEnv("S3_ENDPOINT"),
    forcePathStyle: true,
    checksumMode: "WHEN_REQUIRED",
    contentMd5ForDeletes: true,
    createBuckets: true,
    partSize: 5 * 1024 * 1024,
    ...over,
  });
  return s3Driver.create(
    options,
    testContext({ AWS_ACCESS_KEY_ID: serviceEnv("S3_ACCESS_KEY"), AWS_SECRET_ACCESS_KEY: secret }),
  ) as S3Storage;
}

describeService(["S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY"], "s3 driver on Swift s3api", () => {
  storageConformance("s3", () => s3Make(), {
    bulk: true,
    bulkKeys: 1010, // one past S3's 1,000-key page; Swift stores about 60 objects a second
    multipart: true,
    deleteMany: (d, repo, keys) => (d as S3Storage).deleteMany(repo, keys),
  });

  describe("s3 faults", () => {
    it("a wrong secret is a ConfigError naming the credentials, and nothing is written", async () => {
      const key = `faults-${RUN_ID}/bad-secret.txt`;
      const bad = s3Make({}, "not-the-secret");
      const err = await bad.put("lake-faults", key, Buffer.from("x")).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(/refused the credentials.*AWS_SECRET_ACCESS_KEY/);
      const good = s3Make();
      await good.put("lake-faults", `faults-${RUN_ID}/probe.txt`, Buffer.from("ok"));
      expect(await good.exists("lake-faults", key)).toBe(false);
      await Promise.all([bad.close(), good.close()]);
    });

    it("a closed port is a TransientError saying the server cannot be reached", async () => {
      const down = s3Make({ endpoint: "http://127.0.0.1:1" });
      const err = await down.get("lake-faults", "any").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransientError);
      expect((err as Error).message).toMatch(/cannot reach http:\/\/127\.0\.0\.1:1 .*ECONNREFUSED/);
      await down.close();
    });

    it("a missing bucket without createBuckets is a ConfigError saying what to do", async () => {
      const d = s3Make({ createBuckets: false });
      const err = await d.put(`lake-nobucket-${RUN_ID}`.toLowerCase(), "k", Buffer.from("x")).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(/does not exist.*createBuckets/);
      await d.close();
    });

    it("a repository that cannot be a bucket name is a ConfigError", () => {
      const d = s3Make();
      expect(() => d.bucket("vt")).toThrow(ConfigError);
      expect(() => d.bucket("Raw_Data")).toThrow(/not a valid bucket name/);
      expect(s3Make({ bucketPrefix: "atd-datalake-" }).bucket("raw")).toBe("atd-datalake-raw");
    });

    it("without Content-MD5, Swift refuses DeleteObjects; with it, the batch delete works", async () => {
      const p = `faults-${RUN_ID}/md5/`;
      const plain = s3Make({ contentMd5ForDeletes: false });
      await plain.put("lake-faults", `${p}a`, Buffer.from("a"));
      await expect(plain.deleteMany("lake-faults", [`${p}a`])).rejects.toThrow();
      const fixed = s3Make();
      expect(await fixed.deleteMany("lake-faults", [`${p}a`])).toBe(1);
      expect(await fixed.exists("lake-faults", `${p}a`)).toBe(false);
      await Promise.all([plain.close(), fixed.close()]);
    });
  });
});
