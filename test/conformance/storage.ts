/**
 * The storage conformance suite (keyv style): every StorageDriver runs it. Capability toggles switch on the slow
 * groups (bulk listing past 1,000 keys, multipart bodies). Keys live under a per-run prefix, so the suite can run
 * against a persistent server again and again.
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StorageDriver } from "../../src/support/drivers.js";
import { NotFoundError } from "../../src/support/errors.js";
import { RUN_ID, runtimeDriver } from "../helpers/context.js";
import { DateTime } from "luxon";
import { Storage } from "../../src/support/storage.js";
import { Catalog } from "../../src/support/catalog.js";
import { MemoryCatalog } from "../../src/drivers/catalog/memory.js";

export interface StorageSuiteOptions {
  /** Repository (bucket) the suite writes into. @default "lake-conformance" */
  repository?: string;
  /** Lists more than 1,000 keys (S3's page size). */
  bulk?: boolean;
  /** Number of keys for the bulk listing. @default 1205 */
  bulkKeys?: number;
  /** Writes a body larger than one multipart part. */
  multipart?: boolean;
  /** Size of the large body. @default 12 MiB + 123 B */
  multipartBytes?: number;
  /** Removes many keys at once after the bulk test (drivers with a batch delete). */
  deleteMany?: (driver: StorageDriver, repository: string, keys: string[]) => Promise<unknown>;
}

export function storageConformance(
  name: string,
  makeDriver: () => StorageDriver | Promise<StorageDriver>,
  opts: StorageSuiteOptions = {},
): void {
  const repo = opts.repository ?? "lake-conformance";
  const base = `conformance-${RUN_ID}`;
  let driver: StorageDriver;
  let n = 0;
  /** A fresh key prefix per test. */
  const prefix = () => `${base}/t${++n}/`;
  const text = (b: Buffer) => b.toString("utf8");

  describe(`storage conformance: ${name}`, () => {
    beforeAll(async () => {
      driver = runtimeDriver("storage", await makeDriver());
    });
    afterAll(async () => {
      await driver?.close?.();
    });

    it("puts and gets bytes", async () => {
      const key = `${prefix()}2019/06/01/bt/Austin_bt_2019-06-01_unmatched.txt`;
      await driver.put(repo, key, Buffer.from("a,b\r\n1,2\r\n"));
      expect(text(await driver.get(repo, key))).toBe("a,b\r\n1,2\r\n");
    });

    it("through Storage: a simulated write stores nothing and plans it; a real one stores the bytes and its row", async () => {
      const catalog = new MemoryCatalog();
      const day = DateTime.fromISO("2019-06-01", { zone: "America/Chicago" });
      const base = `Sim${RUN_ID}`;
      const plan: { kind: string; target: string; detail: string }[] = [];
      const sim = new Storage(driver, repo, "bt", new Catalog(catalog, "bt", { zone: "America/Chicago", simulate: true }), { simulate: true, plan: plan as never });
      const e = await sim.writeBuffer(Buffer.from("abc"), sim.createCatalogElement(base, "txt", day));
      expect(await driver.exists(repo, e.pointer)).toBe(false);
      expect(plan[0]).toMatchObject({ kind: "storage", target: repo, detail: `${e.pointer} (3 bytes)` });
      const real = new Storage(driver, repo, "bt", new Catalog(catalog, "bt", { zone: "America/Chicago" }));
      await real.writeStream((async function* () {
        yield "ab";
        yield Buffer.from("c");
      })(), real.createCatalogElement(base, "txt", day));
      expect(text(await real.retrieveBuffer(e.pointer))).toBe("abc");
      expect(catalog.rows.size).toBe(1);
      await driver.delete(repo, e.pointer);
    });

    it("stores an empty object", async () => {
      const key = `${prefix()}empty.json`;
      await driver.put(repo, key, new Uint8Array(0));
      expect(await driver.exists(repo, key)).toBe(true);
      expect((await driver.get(repo, key)).byteLength).toBe(0);
    });

    it("overwrites an object", async () => {
      const key = `${prefix()}x.json`;
      await driver.put(repo, key, Buffer.from("old body, longer"));
      await driver.put(repo, key, Buffer.from("new"), { contentType: "application/json" });
      expect(text(await driver.get(repo, key))).toBe("new");
    });

    it("says whether a key exists", async () => {
      const p = prefix();
      await driver.put(repo, `${p}here`, Buffer.from("1"));
      expect(await driver.exists(repo, `${p}here`)).toBe(true);
      expect(await driver.exists(repo, `${p}absent`)).toBe(false);
      // A prefix of an existing key is not itself an object.
      expect(await driver.exists(repo, p.slice(0, -1))).toBe(false);
    });

    it("deletes, and deleting a missing key is not an error", async () => {
      const key = `${prefix()}gone.txt`;
      await driver.put(repo, key, Buffer.from("x"));
      await driver.delete(repo, key);
      expect(await driver.exists(repo, key)).toBe(false);
      await expect(driver.delete(repo, key)).resolves.toBeUndefined();
    });

    it("throws NotFoundError for a missing key, from get and getStream", async () => {
      const key = `${prefix()}missing.json`;
      await expect(driver.get(repo, key)).rejects.toBeInstanceOf(NotFoundError);
      await expect(driver.getStream(repo, key)).rejects.toBeInstanceOf(NotFoundError);
    });

    it("a repository never written to holds nothing", async () => {
      const empty = `${repo}-empty-${RUN_ID}`;
      expect(await driver.exists(empty, "a/b.json")).toBe(false);
      await expect(driver.get(empty, "a/b.json")).rejects.toBeInstanceOf(NotFoundError);
      expect(await collect(driver.list(empty, ""))).toEqual([]);
      await expect(driver.delete(empty, "a/b.json")).resolves.toBeUndefined();
    });

    it("lists by prefix in ascending key order, with sizes", async () => {
      const p = prefix();
      const keys = ["b/2.txt", "a/1.txt", "a/10.txt", "a/2.txt", "c.txt", "a-z.txt"];
      for (const k of keys) await driver.put(repo, p + k, Buffer.from(k));
      await driver.put(repo, `${p.slice(0, -1)}-other/a.txt`, Buffer.from("outside"));
      const all = await collect(driver.list(repo, p));
      expect(all.map((o) => o.key)).toEqual([...keys].sort().map((k) => p + k));
      expect(all.find((o) => o.key === `${p}a/10.txt`)?.size).toBe(8);
      const sub = await collect(driver.list(repo, `${p}a/`));
      expect(sub.map((o) => o.key.slice(p.length))).toEqual(["a/1.txt", "a/10.txt", "a/2.txt"]);
      expect(await collect(driver.list(repo, `${p}nothing/`))).toEqual([]);
    });

    it("keeps keys with spaces and non-ASCII characters", async () => {
      const p = prefix();
      const keys = ["Burnet Rich creek.json", "Lamar_Blvd é ü.json", "日本/ストリート.txt", "plus+and&amp=.txt"];
      for (const k of keys) await driver.put(repo, p + k, Buffer.from(`body of ${k}`));
      for (const k of keys) {
        expect(await driver.exists(repo, p + k)).toBe(true);
        expect(text(await driver.get(repo, p + k))).toBe(`body of ${k}`);
      }
      const listed = (await collect(driver.list(repo, p))).map((o) => o.key.slice(p.length));
      expect(listed).toEqual([...keys].sort(byUtf8));
    });

    it("streams an object out and accepts a stream in", async () => {
      const key = `${prefix()}stream.bin`;
      const body = Buffer.alloc(300_000, 7);
      body.write("head", 0);
      await driver.put(repo, key, Readable.from([body.subarray(0, 100_000), body.subarray(100_000)]));
      const stream = await driver.getStream(repo, key);
      const chunks: Buffer[] = [];
      for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array));
      expect(Buffer.concat(chunks).equals(body)).toBe(true);
    });

    it.runIf(opts.multipart)("writes a large object in parts, from bytes and from a stream", async () => {
      const size = opts.multipartBytes ?? 12 * 1024 * 1024 + 123;
      const big = Buffer.alloc(size);
      for (let i = 0; i < size; i += 4096) big.writeUInt32BE(i, i);
      const p = prefix();
      await driver.put(repo, `${p}big.bin`, big);
      await driver.put(repo, `${p}big-stream.bin`, Readable.from(chunksOf(big, 1024 * 1024)));
      for (const k of ["big.bin", "big-stream.bin"]) {
        const back = await driver.get(repo, p + k);
        expect(back.byteLength).toBe(size);
        expect(md5(back)).toBe(md5(big));
      }
      const listed = await collect(driver.list(repo, p));
      expect(listed.map((o) => o.size)).toEqual([size, size]);
    });

    it.runIf(opts.bulk)("lists past 1,000 keys, in order, without repeats", async () => {
      const p = prefix();
      const count = opts.bulkKeys ?? 1205;
      const keys = Array.from({ length: count }, (_, i) => `${p}k${String(i).padStart(5, "0")}.json`);
      const queue = [...keys];
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          for (let k = queue.shift(); k !== undefined; k = queue.shift()) await driver.put(repo, k, Buffer.from("{}"));
        }),
      );
      const listed = (await collect(driver.list(repo, p))).map((o) => o.key);
      expect(listed.length).toBe(count);
      expect(listed).toEqual(keys);
      if (opts.deleteMany) {
        await opts.deleteMany(driver, repo, keys);
        expect(await collect(driver.list(repo, p))).toEqual([]);
      }
    }, 120_000);
  });
}

// --- Internal helpers ---

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

function md5(b: Buffer): string {
  return createHash("md5").update(b).digest("hex");
}

function* chunksOf(b: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < b.byteLength; i += size) yield b.subarray(i, i + size);
}

/** Byte order of the UTF-8 encodings (S3's listing order; equals UTF-16 order for these BMP keys). */
function byUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
