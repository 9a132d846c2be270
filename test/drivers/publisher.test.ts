import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { publisherConformance } from "../conformance/publisher.js";
import { createMemoryPublisher } from "../../src/drivers/publisher/memory.js";
import csvDriver, { createCsvPublisher, csvLine, type CsvPublisher } from "../../src/drivers/publisher/csv.js";
import { IdIndex } from "../../src/drivers/publisher/csv-ids.js";
import { stringify } from "csv-stringify/sync";
import { createSocrataPublisher } from "../../src/drivers/publisher/socrata.js";
import { SocrataFake } from "../fakes/socrata-fake.js";
import { describeService } from "../helpers/services.js";
import { runtimeDriver, testContext } from "../helpers/context.js";
import { Publisher } from "../../src/support/publisher.js";
import { NO_RETRY } from "../../src/support/resilience.js";
import type { PublishRow } from "../../src/support/drivers.js";

/** Write faults the csv publisher meets once when armed (everything else goes to the real file system). */
const faults = vi.hoisted(() => ({ tornAppend: false, failRename: false }));
vi.mock("node:fs/promises", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs/promises")>();
  const fault = (code: string) => Object.assign(new Error(`${code}: simulated failure`), { code });
  return {
    ...real,
    appendFile: async (file: string, data: string) => {
      if (!faults.tornAppend) return real.appendFile(file, data);
      faults.tornAppend = false;
      await real.appendFile(file, data.slice(0, 7)); // part of the data reached the disk: one row and a torn one
      throw fault("ENOSPC");
    },
    rename: async (from: string, to: string) => {
      if (!faults.failRename) return real.rename(from, to);
      faults.failRename = false;
      throw fault("EIO");
    },
  };
});

function readCsv(file: string): Record<string, unknown>[] {
  try {
    return parse(readFileSync(file, "utf8"), { columns: true }) as Record<string, unknown>[];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}

publisherConformance("memory", {
  async create(max) {
    const driver = createMemoryPublisher(max);
    return { driver, rows: async (d) => driver.rows(d), requests: () => driver.batches.length };
  },
});

publisherConformance("csv", {
  async create(max) {
    const dir = mkdtempSync(path.join(tmpdir(), "csvpub-"));
    const driver = createCsvPublisher(dir, max);
    return { driver, rows: async (d) => readCsv(path.join(dir, `${d}.csv`)) };
  },
});

describe("csv publisher", () => {
  it("defaults to <home>/published/<dataset>.csv and keeps rows across driver instances (a rerun never duplicates)", async () => {
    const ctx = testContext();
    const first = await csvDriver.create(csvDriver.options.parse({}), ctx);
    await first.upsert("i626-g7ub", [{ row_id: "a", v: 1 }, { row_id: "b", v: 2 }], "row_id");
    const second = await csvDriver.create(csvDriver.options.parse({}), ctx);
    const r = await second.upsert("i626-g7ub", [{ row_id: "b", v: 3 }, { row_id: "c", v: 4 }], "row_id");
    expect(r).toEqual({ created: 1, updated: 1 });
    const file = path.join(ctx.home, "published", "i626-g7ub.csv");
    expect(readFileSync(file, "utf8")).toBe("row_id,v\r\na,1\r\nb,3\r\nc,4\r\n");
    expect(await second.countRows!("i626-g7ub")).toBe(3);
  });

  it("header is the union of columns in first-seen order; nulls empty, booleans as Python writes them", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "csvpub-"));
    const d = createCsvPublisher(dir);
    await d.upsert("ds", [{ id: "1", a: "x,y", b: null }], "id");
    await d.upsert("ds", [{ id: "2", c: true, a: "z" }], "id");
    expect(readFileSync(path.join(dir, "ds.csv"), "utf8")).toBe('id,a,b,c\r\n1,"x,y",,\r\n2,z,,True\r\n');
  });

  it("reads back files with and without quoted fields (csv-parse and the unquoted fast path) without changing them", async () => {
    for (const body of ['id,a\r\n1,"x,y"\r\n2,"say ""hi"""\r\n', "id,a\r\n1,x\r\n2,y\r\n", "id,a\n1,x\n2,y\n"]) {
      const dir = mkdtempSync(path.join(tmpdir(), "csvpub-"));
      writeFileSync(path.join(dir, "ds.csv"), body);
      const d = createCsvPublisher(dir);
      expect(await d.upsert("ds", [{ id: "3", a: "z" }], "id")).toEqual({ created: 1, updated: 0 });
      expect(await d.upsert("ds", [{ id: "1", a: "w" }], "id")).toEqual({ created: 0, updated: 1 });
      const expected = body.replace(/\r?\n/g, "\r\n").replace(/^(id,a\r\n)1,[^\r]*\r\n/, "$11,w\r\n") + "3,z\r\n";
      expect(readFileSync(path.join(dir, "ds.csv"), "utf8")).toBe(expected);
    }
  });

  it("rewrites atomically: no temp file is left beside the dataset", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "csvpub-"));
    const d = runtimeDriver("publisher", createCsvPublisher(dir));
    await Promise.all([1, 2, 3, 4].map((i) => d.upsert("ds", [{ id: String(i) }], "id")));
    expect(readdirSync(dir)).toEqual(["ds.csv"]);
    expect(await d.countRows!("ds")).toBe(4);
  });

  it("deletes by id from an existing file read by a fresh instance", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "csvpub-"));
    await createCsvPublisher(dir).upsert("ds", [{ id: "1" }, { id: "2" }], "id");
    const fresh = createCsvPublisher(dir);
    expect(await fresh.countRows("ds")).toBe(2);
    expect(await fresh.delete("ds", ["1", "9"], "id")).toBe(1);
    expect(readFileSync(path.join(dir, "ds.csv"), "utf8")).toBe("id\r\n2\r\n");
  });

  it("appends brand-new rows, rewrites on updates, and never duplicates an id repeated within one batch", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "csvpub-"));
    const d = createCsvPublisher(dir);
    const file = path.join(dir, "ds.csv");
    await d.upsert("ds", [{ id: "1", v: "a" }], "id");
    await d.upsert("ds", [{ id: "2", v: "b" }, { id: "3", v: "c" }], "id");
    expect(readFileSync(file, "utf8")).toBe("id,v\r\n1,a\r\n2,b\r\n3,c\r\n");
    await d.upsert("ds", [{ id: "4", v: "d" }, { id: "4", v: "e" }], "id");
    await d.upsert("ds", [{ id: "2", v: "B" }], "id");
    expect(readFileSync(file, "utf8")).toBe("id,v\r\n1,a\r\n2,B\r\n3,c\r\n4,e\r\n");
  });

  it("drops a torn last record left by an interrupted write, then rewrites the file whole", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "csvpub-"));
    const file = path.join(dir, "ds.csv");
    writeFileSync(file, "id,v\r\n1,a\r\n2,b\r\n3,\"half");
    const d = createCsvPublisher(dir);
    expect(await d.countRows("ds")).toBe(2);
    await d.upsert("ds", [{ id: "3", v: "c" }], "id");
    expect(readFileSync(file, "utf8")).toBe("id,v\r\n1,a\r\n2,b\r\n3,c\r\n");
  });

  it("quotes like Python's csv module (QUOTE_MINIMAL): delimiter, quote, \\r or \\n", () => {
    const fields = ["plain", "a,b", 'say "hi"', "line\nbreak", "cr\r", "", " space "];
    expect(csvLine(fields)).toBe('plain,"a,b","say ""hi""","line\nbreak","cr\r",, space ');
    expect(csvLine([""])).toBe('""');
    // csv-stringify agrees wherever no lone line-break character is involved
    const common = ["plain", "a,b", 'say "hi"', "", " space "];
    expect(csvLine(common) + "\r\n").toBe(stringify([common], { record_delimiter: "\r\n" }));
    // and what the driver writes reads back with csv-parse
    expect(parse(csvLine(fields) + "\r\n")).toEqual([fields]);
  });

  it("refuses a dataset name that is not a plain file name", async () => {
    const d = createCsvPublisher(mkdtempSync(path.join(tmpdir(), "csvpub-")));
    await expect(d.upsert("../evil", [{ id: "1" }], "id")).rejects.toThrow(/cannot be a file name/);
  });

  it("names the file and column when an existing file lacks the row id column", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "csvpub-"));
    await createCsvPublisher(dir).upsert("ds", [{ id: "1" }], "id");
    await expect(createCsvPublisher(dir).upsert("ds", [{ row_id: "1" }], "row_id")).rejects.toThrow(/ds\.csv has no column "row_id"/);
  });
});

describe("csv publisher: bounded memory, appends and one-pass rewrites", () => {
  const newDir = () => mkdtempSync(path.join(tmpdir(), "csvpub-"));
  const many = (n: number, extra: (i: number) => Record<string, string | number | null> = () => ({})) =>
    Array.from({ length: n }, (_, i) => ({ id: `r${String(i).padStart(5, "0")}`, v: i, note: i % 7 === 0 ? 'has "quotes", commas\nand a line break' : `n${i}`, ...extra(i) }));

  async function publish(d: CsvPublisher, dataset: string, rows: PublishRow[], chunk: number): Promise<void> {
    const pub = new Publisher(d, dataset, "id", { retry: NO_RETRY, chunkSize: chunk });
    for (const r of rows) await pub.addRow(r);
    await pub.flush();
  }

  it("republishing the same rows gives no duplicates and the very same file, without writing it", async () => {
    const dir = newDir();
    const d = createCsvPublisher(dir, 500);
    const rows = many(2_000);
    await publish(d, "ds", rows, 500);
    const file = path.join(dir, "ds.csv");
    const before = readFileSync(file, "utf8");
    const mtime = statSync(file).mtimeMs;
    expect(await d.upsert("ds", rows.slice(0, 500), "id")).toEqual({ created: 0, updated: 500 });
    await publish(d, "ds", rows, 500);
    await publish(createCsvPublisher(dir, 500), "ds", rows, 500); // a fresh instance indexes the file first
    expect(readFileSync(file, "utf8")).toBe(before);
    expect(statSync(file).mtimeMs).toBe(mtime);
    const back = readCsv(file);
    expect(back).toHaveLength(2_000);
    expect(new Set(back.map((r) => r.id)).size).toBe(2_000);
    expect(back[7]!.note).toBe('has "quotes", commas\nand a line break');
  });

  it("an update of one row among many replaces that line in place and leaves every other byte as it was", async () => {
    const dir = newDir();
    const d = createCsvPublisher(dir, 1_000);
    await publish(d, "ds", many(3_000), 1_000);
    const file = path.join(dir, "ds.csv");
    const before = readFileSync(file, "utf8");
    expect(await d.upsert("ds", [{ id: "r01500", v: -1, note: "changed, quoted" }], "id")).toEqual({ created: 0, updated: 1 });
    const after = readFileSync(file, "utf8");
    expect(after).toBe(before.replace("r01500,1500,n1500\r\n", 'r01500,-1,"changed, quoted"\r\n'));
    expect(after).not.toBe(before);
    expect(await createCsvPublisher(dir).countRows("ds")).toBe(3_000);
    expect(readdirSync(dir)).toEqual(["ds.csv"]);
  });

  it("every row an update (-F with changed values): one rewrite per call, no duplicates, positions kept", async () => {
    const dir = newDir();
    const d = createCsvPublisher(dir, 400);
    await publish(d, "ds", many(1_200), 400);
    await publish(d, "ds", many(1_200, (i) => ({ v: i * 10 })), 400);
    const back = readCsv(path.join(dir, "ds.csv"));
    expect(back.map((r) => r.id)).toEqual(many(1_200).map((r) => r.id));
    expect(back.map((r) => Number(r.v))).toEqual(many(1_200).map((_, i) => i * 10));
  });

  it("a new column in a later chunk widens the header (first-seen order) and pads the earlier rows", async () => {
    const dir = newDir();
    const d = createCsvPublisher(dir, 2);
    const rows: PublishRow[] = [{ id: "1", a: "x" }, { id: "2", a: "y,z" }, { id: "3", a: "w", b: "new" }, { id: "4", c: null, a: "v" }, { id: "5", c: true }];
    await publish(d, "ds", rows, 2);
    expect(readFileSync(path.join(dir, "ds.csv"), "utf8")).toBe('id,a,b,c\r\n1,x,,\r\n2,"y,z",,\r\n3,w,new,\r\n4,v,,\r\n5,,,True\r\n');
    // unchanged rows sent again after the widening are still recognised as unchanged
    const mtime = statSync(path.join(dir, "ds.csv")).mtimeMs;
    expect(await d.upsert("ds", [{ id: "1", a: "x" }], "id")).toEqual({ created: 0, updated: 1 });
    expect(statSync(path.join(dir, "ds.csv")).mtimeMs).toBe(mtime);
  });

  it("deletes rows among many (quoted multi-line fields around them) in one pass", async () => {
    const dir = newDir();
    await publish(createCsvPublisher(dir, 300), "ds", many(900), 300);
    const d = createCsvPublisher(dir);
    expect(await d.delete("ds", ["r00007", "r00450", "r00899", "r00450", "nope"], "id")).toBe(3);
    const back = readCsv(path.join(dir, "ds.csv"));
    expect(back).toHaveLength(897);
    expect(back.map((r) => r.id)).toEqual(many(900).map((r) => r.id).filter((id) => !["r00007", "r00450", "r00899"].includes(id)));
    expect(await d.countRows("ds")).toBe(897);
    expect(await d.upsert("ds", [{ id: "r00450", v: 1 }], "id")).toEqual({ created: 1, updated: 0 });
  });

  it("an append cut short is repaired on load, by a fresh instance and by the instance that wrote the file", async () => {
    const dir = newDir();
    const file = path.join(dir, "ds.csv");
    const d = createCsvPublisher(dir);
    await d.upsert("ds", [{ id: "1", v: "a" }, { id: "2", v: "b" }], "id");
    const good = readFileSync(file, "utf8");
    appendFileSync(file, '3,"cut in the mid'); // a crash in the middle of an append
    const fresh = createCsvPublisher(dir);
    expect(await fresh.countRows("ds")).toBe(2);
    expect(await fresh.upsert("ds", [{ id: "2", v: "b" }], "id")).toEqual({ created: 0, updated: 1 });
    expect(readFileSync(file, "utf8")).toBe(good); // the torn record is cut off
    appendFileSync(file, "3,c\r\n4,"); // one complete record of the failed call, then a torn one
    expect(await d.upsert("ds", [{ id: "3", v: "c" }, { id: "5", v: "e" }], "id")).toEqual({ created: 1, updated: 1 });
    expect(readFileSync(file, "utf8")).toBe("id,v\r\n1,a\r\n2,b\r\n3,c\r\n5,e\r\n");
  });

  it("a failed write reports nothing as published: a torn append is cut back, a failed rewrite keeps the old file", async () => {
    const dir = newDir();
    const file = path.join(dir, "ds.csv");
    const d = createCsvPublisher(dir);
    await d.upsert("ds", [{ id: "1", v: "a" }], "id");
    const one = readFileSync(file, "utf8");
    faults.tornAppend = true;
    await expect(d.upsert("ds", [{ id: "2", v: "b" }, { id: "3", v: "c" }], "id")).rejects.toThrow(/cannot write .*ds\.csv: ENOSPC/);
    expect(readFileSync(file, "utf8")).toBe(one);
    expect(await d.upsert("ds", [{ id: "2", v: "b" }, { id: "3", v: "c" }], "id")).toEqual({ created: 2, updated: 0 });
    const three = readFileSync(file, "utf8");
    faults.failRename = true;
    await expect(d.upsert("ds", [{ id: "1", v: "A" }], "id")).rejects.toThrow(/cannot write .*ds\.csv: EIO/);
    expect(readFileSync(file, "utf8")).toBe(three);
    expect(readdirSync(dir)).toEqual(["ds.csv"]); // the temp file is gone
    expect(await d.upsert("ds", [{ id: "1", v: "A" }], "id")).toEqual({ created: 0, updated: 1 });
    expect(readFileSync(file, "utf8")).toBe("id,v\r\n1,A\r\n2,b\r\n3,c\r\n");
  });

  it("a file changed by another writer is indexed again: no duplicate", async () => {
    const dir = newDir();
    const file = path.join(dir, "ds.csv");
    const d = createCsvPublisher(dir);
    await d.upsert("ds", [{ id: "1", v: "a" }], "id");
    writeFileSync(file, "id,v\r\n1,a\r\n2,b\r\n");
    expect(await d.upsert("ds", [{ id: "2", v: "B" }], "id")).toEqual({ created: 0, updated: 1 });
    expect(readFileSync(file, "utf8")).toBe("id,v\r\n1,a\r\n2,B\r\n");
  });

  it("drops blank lines (before the header too) and normalises line endings when it rewrites", async () => {
    const dir = newDir();
    writeFileSync(path.join(dir, "ds.csv"), "\r\nid,v\n1,a\r\n\r\n2,b\n");
    const d = createCsvPublisher(dir);
    expect(await d.countRows("ds")).toBe(2);
    expect(await d.upsert("ds", [{ id: "1", v: "A" }], "id")).toEqual({ created: 0, updated: 1 });
    expect(readFileSync(path.join(dir, "ds.csv"), "utf8")).toBe("id,v\r\n1,A\r\n2,b\r\n");
  });

  it("names the file it cannot read", async () => {
    const dir = newDir();
    mkdirSync(path.join(dir, "ds.csv"));
    await expect(createCsvPublisher(dir).upsert("ds", [{ id: "1" }], "id")).rejects.toThrow(/cannot read .*ds\.csv/);
  });

  it("refuses a file that repeats a row id, naming the file, line and id", async () => {
    const dir = newDir();
    writeFileSync(path.join(dir, "ds.csv"), "id,v\r\n1,a\r\n2,b\r\n1,c\r\n");
    await expect(createCsvPublisher(dir).upsert("ds", [{ id: "9" }], "id")).rejects.toThrow(/ds\.csv line 4 repeats row id "1"/);
  });

  it("finds rows whose id needs quoting, or sits after quoted fields, when updating and deleting", async () => {
    const dir = newDir();
    const file = path.join(dir, "ds.csv");
    writeFileSync(file, 'note,key,v\r\n"a, b",k1,1\r\nplain,"k,2",2\r\n"multi\nline","k""3""",3\r\nx,k4,4\n');
    const d = createCsvPublisher(dir);
    expect(await d.upsert("ds", [{ key: "k,2", v: 20 }, { key: 'k"3"', note: "one line", v: 30 }, { key: "k5", w: "new" }], "key")).toEqual({ created: 1, updated: 2 });
    expect(readFileSync(file, "utf8")).toBe('note,key,v,w\r\n"a, b",k1,1,\r\n,"k,2",20,\r\none line,"k""3""",30,\r\nx,k4,4,\r\n,k5,,new\r\n');
    expect(await d.delete("ds", ["k,2", "k1"], "key")).toBe(2);
    expect(readFileSync(file, "utf8")).toBe('note,key,v,w\r\none line,"k""3""",30,\r\nx,k4,4,\r\n,k5,,new\r\n');
  });

  it("the id index agrees with a Map through growth and deletes (backward shift keeps probe runs whole)", () => {
    const index = new IdIndex();
    const ref = new Map<string, number>();
    let seed = 7;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let step = 0; step < 60_000; step++) {
      const id = step % 5 === 0 ? `é-${next() % 3_000}` : `r${next() % 20_000}`;
      if (next() % 3 === 0) expect(index.delete(id)).toBe(ref.delete(id));
      else {
        index.set(id, step);
        ref.set(id, step);
      }
    }
    expect(index.size).toBe(ref.size);
    for (const [id, v] of ref) expect(index.get(id)).toBe(v);
    for (let i = 0; i < 20_000; i++) expect(index.has(`r${i}`)).toBe(ref.has(`r${i}`));
    const bytes = Buffer.from("x,é-12,y");
    expect(index.hasBytes(bytes, 2, 7)).toBe(ref.has("é-12"));
  });

  it("holds at most one call's rows in memory, whatever the dataset size (the index keeps ids and hashes only)", async () => {
    const dir = newDir();
    const d = createCsvPublisher(dir, 250);
    await publish(d, "ds", many(5_000), 250);
    await publish(d, "ds", many(5_000, (i) => ({ v: -i })), 250);
    await d.delete("ds", many(100).map((r) => r.id), "id");
    const m = d.memory();
    expect(m.heldRows).toBe(0);
    expect(m.peakHeldRows).toBe(250);
    expect(m.indexedRows).toBe(4_900);
    expect(m.indexBytes).toBe(8_192 * 16); // 16 bytes a slot, slots doubled while three quarters full: no row content
    expect(await d.countRows("ds")).toBe(4_900);
  });
});

const TLS_ENV = ["SOCRATA_FAKE_CERT", "SOCRATA_FAKE_KEY", "NODE_EXTRA_CA_CERTS"];

describeService(TLS_ENV, "socrata publisher on the HTTPS fake", () => {
  let fake: SocrataFake;
  beforeAll(async () => {
    fake = await SocrataFake.start({ credentials: { username: "lake", password: "s3cret", appToken: "tok" } });
  });
  afterAll(async () => {
    await fake.close();
  });

  publisherConformance("socrata", {
    async create(max) {
      const driver = createSocrataPublisher({ domain: fake.domain, rowsPerUpsert: max }, { username: "lake", password: "s3cret", appToken: "tok" });
      return { driver, rows: async (d) => fake.rows(d), requests: () => fake.requests.length };
    },
  });

  it("publishes through the Publisher wrapper: one POST per 10,000-row chunk by default", async () => {
    const driver = createSocrataPublisher({ domain: fake.domain, rowsPerUpsert: 10_000 }, { username: "lake", password: "s3cret" });
    expect(driver.capabilities.maxRowsPerRequest).toBe(10_000);
    const before = fake.requests.length;
    const pub = new Publisher(driver, "big0-0001", "row_id", { retry: NO_RETRY });
    for (let i = 0; i < 25_000; i++) await pub.addRow({ row_id: `r${i}`, volume: i });
    await pub.flush();
    expect(fake.requests.slice(before).map((r) => r.rows)).toEqual([10_000, 10_000, 5_000]);
    expect(fake.count("big0-0001")).toBe(25_000);
  });
});
