/** Storage.writeStream (added for the Bluetooth stages' large files): pieces stored in order, -o copy, simulation; Storage.retrieveStream, encrypted objects too. */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DateTime } from "luxon";
import { afterEach, describe, expect, it } from "vitest";
import { MemoryCatalog } from "../../src/drivers/catalog/memory.js";
import { MemoryStorage } from "../../src/drivers/storage/memory.js";
import { Catalog } from "../../src/support/catalog.js";
import type { PlanEntry } from "../../src/support/events.js";
import { Storage, type StorageOptions } from "../../src/support/storage.js";
import { parseKey } from "../../src/util/encryption.js";

const day = DateTime.fromISO("2019-06-01", { zone: "America/Chicago" });
const dirs: string[] = [];
afterEach(() => {
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});

function make(opts: { simulate?: boolean; outputDir?: string; plan?: PlanEntry[]; encryptionKey?: StorageOptions["encryptionKey"] } = {}) {
  const driver = new MemoryStorage();
  const catalogDriver = new MemoryCatalog();
  const catalog = new Catalog(catalogDriver, "bt", { zone: "America/Chicago", simulate: opts.simulate ?? false, ...(opts.plan ? { plan: opts.plan } : {}) });
  const storage = new Storage(driver, "repo", "bt", catalog, opts);
  return { driver, catalogDriver, storage };
}

async function* pieces() {
  yield "{\"a\": ";
  yield Buffer.from("[1, 2]");
  yield new Uint8Array([0x7d]);
}

describe("Storage.writeStream", () => {
  it("stores the pieces in order and upserts the catalog row", async () => {
    const { driver, catalogDriver, storage } = make();
    const entry = await storage.writeStream(pieces(), storage.createCatalogElement("Austin", "unmatched.json", day));
    expect(entry.pointer).toBe("2019/06/01/bt/Austin_bt_2019-06-01_unmatched.json");
    expect((await driver.get("repo", entry.pointer)).toString()).toBe('{"a": [1, 2]}');
    expect(catalogDriver.rows.size).toBe(1);
  });

  it("with -o writes the local copy and uploads it; with -0 stores nothing and plans the write", async () => {
    const out = mkdtempSync(path.join(tmpdir(), "bt-ws-"));
    dirs.push(out);
    const a = make({ outputDir: out });
    await a.storage.writeStream(pieces(), a.storage.createCatalogElement("Austin", "x.json", day), { cache: true });
    expect(readFileSync(path.join(out, "Austin_bt_2019-06-01_x.json"), "utf8")).toBe('{"a": [1, 2]}');
    expect((await a.driver.get("repo", "2019/06/01/bt/Austin_bt_2019-06-01_x.json")).toString()).toBe('{"a": [1, 2]}');
    expect(a.catalogDriver.rows.size).toBe(0); // staged, not yet flushed
    expect(a.storage.catalog.stagedCount).toBe(1);

    const plan: PlanEntry[] = [];
    const b = make({ simulate: true, plan });
    await b.storage.writeStream(pieces(), b.storage.createCatalogElement("Austin", "x.json", day));
    expect(await b.driver.exists("repo", "2019/06/01/bt/Austin_bt_2019-06-01_x.json")).toBe(false);
    expect(b.catalogDriver.rows.size).toBe(0);
    expect(plan.find((p) => p.kind === "storage")?.detail).toBe("2019/06/01/bt/Austin_bt_2019-06-01_x.json (13 bytes)");
  });
});

describe("Storage.retrieveStream", () => {
  const key = parseKey("ab".repeat(32));
  const read = async (s: NodeJS.ReadableStream) => {
    const parts: Buffer[] = [];
    for await (const p of s) parts.push(Buffer.from(p as Buffer));
    return Buffer.concat(parts).toString("utf8");
  };

  it("decrypts an object written encrypted, as retrieveBuffer does", async () => {
    const { driver, storage } = make({ encryptionKey: () => key });
    const entry = await storage.writeBuffer(Buffer.from("personal trips"), storage.createCatalogElement("Austin", "trips.json", day), { encrypt: true });
    expect((await driver.get("repo", entry.pointer)).subarray(0, 8).toString()).toBe("LAKEAES1"); // stored sealed
    expect(await read(await storage.retrieveStream(entry.pointer))).toBe("personal trips");
  });

  it("streams a plain object as stored, whatever the size of its first chunk", async () => {
    const { driver, storage } = make();
    await driver.put("repo", "short", Buffer.from("abc")); // shorter than the header it looks at
    expect(await read(await storage.retrieveStream("short"))).toBe("abc");
    await driver.put("repo", "empty", Buffer.alloc(0));
    expect(await read(await storage.retrieveStream("empty"))).toBe("");
    const big = "x".repeat(200_000);
    await driver.put("repo", "big", Buffer.from(big));
    expect(await read(await storage.retrieveStream("big"))).toBe(big);
  });

  it("an encrypted object read with the wrong key fails, naming the object", async () => {
    const a = make({ encryptionKey: () => key });
    const entry = await a.storage.writeBuffer(Buffer.from("x"), a.storage.createCatalogElement("Austin", "t.json", day), { encrypt: true });
    const wrong = new Storage(a.driver, "repo", "bt", a.storage.catalog, { encryptionKey: () => parseKey("cd".repeat(32)) });
    await expect(wrong.retrieveStream(entry.pointer)).rejects.toThrow(/repo\/.*t\.json: cannot decrypt/);
  });
});
