/**
 * The publisher conformance suite: every PublisherDriver runs it (keyv/unstorage style). The harness builds a
 * fresh driver with a small maxRowsPerRequest so chunking is visible, and may say how many requests reached the
 * target (to prove an empty batch sends nothing).
 */
import { beforeEach, describe, expect, it } from "vitest";
import type { PublisherDriver, PublishRow } from "../../src/support/drivers.js";
import { Publisher } from "../../src/support/publisher.js";
import { NO_RETRY } from "../../src/support/resilience.js";
import { TerminalError } from "../../src/support/errors.js";
import { runtimeDriver } from "../helpers/context.js";

export interface PublisherHarness {
  driver: PublisherDriver;
  /** Rows now stored in the dataset, as the target holds them (values may come back as text). */
  rows(dataset: string): Promise<Record<string, unknown>[]>;
  /** Requests that reached the target so far, when the target can tell. */
  requests?(): number;
}

export interface PublisherSuiteOptions {
  /** Builds a fresh driver whose capability is maxRowsPerRequest rows per request. */
  create(maxRowsPerRequest: number): Promise<PublisherHarness>;
  /** Row id field the target is keyed by. @default "row_id" */
  rowIdField?: string;
}

const CHUNK = 3;

function makeRows(ids: string[], rowIdField: string, extra: Record<string, string | number | null> = {}): PublishRow[] {
  return ids.map((id, i) => ({ [rowIdField]: id, volume: i, label: `row ${id}`, ...extra }));
}

/** Wraps a driver so every upsert call's row count is seen. */
function spy(driver: PublisherDriver): { driver: PublisherDriver; sizes: number[] } {
  const sizes: number[] = [];
  const wrapped: PublisherDriver = {
    driverName: driver.driverName,
    capabilities: driver.capabilities,
    upsert: (d, rows, f) => {
      sizes.push(rows.length);
      return driver.upsert(d, rows, f);
    },
    delete: (d, ids, f) => driver.delete(d, ids, f),
    ...(driver.countRows ? { countRows: (d: string) => driver.countRows!(d) } : {}),
  };
  return { driver: wrapped, sizes };
}

export function publisherConformance(name: string, opts: PublisherSuiteOptions): void {
  const idField = opts.rowIdField ?? "row_id";
  describe(`publisher conformance: ${name}`, () => {
    let h: PublisherHarness;
    let n = 0;
    let dataset: string;
    beforeEach(async () => {
      const made = await opts.create(CHUNK);
      h = { ...made, driver: runtimeDriver("publisher", made.driver) };
      dataset = `conf-${Date.now().toString(36)}-${n++}`;
    });

    const ids = async () => (await h.rows(dataset)).map((r) => String(r[idField])).sort();

    it("declares its row cap as a capability", () => {
      expect(h.driver.capabilities.maxRowsPerRequest).toBe(CHUNK);
      expect(typeof h.driver.capabilities.supportsDelete).toBe("boolean");
    });

    it("upsert creates rows, then updates them by id without duplicates", async () => {
      const first = await h.driver.upsert(dataset, makeRows(["a", "b", "c"], idField), idField);
      expect(first).toEqual({ created: 3, updated: 0 });
      const second = await h.driver.upsert(dataset, makeRows(["b", "c"], idField, { label: "changed" }), idField);
      expect(second).toEqual({ created: 0, updated: 2 });
      expect(await ids()).toEqual(["a", "b", "c"]);
      const b = (await h.rows(dataset)).find((r) => String(r[idField]) === "b")!;
      expect(b.label).toBe("changed");
    });

    it("running the same batch twice leaves one row per id", async () => {
      const rows = makeRows(["x", "y"], idField);
      await h.driver.upsert(dataset, rows, idField);
      await h.driver.upsert(dataset, rows, idField);
      expect(await ids()).toEqual(["x", "y"]);
    });

    it("the Publisher splits rows into chunks of the driver's capability", async () => {
      const s = spy(h.driver);
      const pub = new Publisher(s.driver, dataset, idField, { retry: NO_RETRY });
      for (const row of makeRows(["1", "2", "3", "4", "5", "6", "7"], idField)) await pub.addRow(row);
      await pub.flush();
      expect(s.sizes).toEqual([3, 3, 1]);
      expect(s.sizes.every((x) => x <= h.driver.capabilities.maxRowsPerRequest)).toBe(true);
      expect((await ids()).length).toBe(7);
    });

    it("an oversize call to the driver itself is still sent in capability-sized requests or refused", async () => {
      const before = h.requests?.();
      const rows = makeRows(["p", "q", "r", "s", "t"], idField);
      let refused = false;
      try {
        await h.driver.upsert(dataset, rows, idField);
      } catch (err) {
        expect(err).toBeInstanceOf(TerminalError);
        refused = true;
      }
      if (!refused) {
        expect((await ids()).length).toBe(5);
        if (before !== undefined) expect(h.requests!() - before).toBe(2);
      }
    });

    it("writers of one dataset through the runtime never overlap: concurrent upserts lose no row", async () => {
      const batches = Array.from({ length: 6 }, (_, b) => makeRows(Array.from({ length: 3 }, (_, i) => `c${b}-${i}`), idField));
      await Promise.all(batches.map((rows) => h.driver.upsert(dataset, rows, idField)));
      expect((await ids()).length).toBe(18);
    });

    it("a simulated Publisher sends nothing and plans every chunk", async () => {
      const plan: { kind: string; target: string; detail: string }[] = [];
      const pub = new Publisher(h.driver, dataset, idField, { simulate: true, plan: plan as never });
      await pub.addRows(makeRows(["s1", "s2", "s3", "s4"], idField));
      await pub.flush();
      expect(plan.map((p) => p.detail)).toEqual([`3 rows (upsert by ${idField})`, `1 rows (upsert by ${idField})`]);
      expect(await h.rows(dataset)).toEqual([]);
    });

    it("never sends an empty batch", async () => {
      const before = h.requests?.();
      expect(await h.driver.upsert(dataset, [], idField)).toEqual({ created: 0, updated: 0 });
      expect(await h.driver.delete(dataset, [], idField)).toBe(0);
      const s = spy(h.driver);
      const pub = new Publisher(s.driver, dataset, idField, { retry: NO_RETRY });
      await pub.flush();
      await pub.close();
      expect(s.sizes).toEqual([]);
      if (before !== undefined) expect(h.requests!()).toBe(before);
    });

    it("deletes by id and ignores unknown ids", async () => {
      if (!h.driver.capabilities.supportsDelete) return;
      await h.driver.upsert(dataset, makeRows(["a", "b", "c"], idField), idField);
      const deleted = await h.driver.delete(dataset, ["a", "c", "nope"], idField);
      expect(deleted).toBe(2);
      expect(await ids()).toEqual(["b"]);
    });

    it("counts rows", async () => {
      if (!h.driver.countRows) return;
      expect(await h.driver.countRows(dataset)).toBe(0);
      await h.driver.upsert(dataset, makeRows(["a", "b"], idField), idField);
      await h.driver.upsert(dataset, makeRows(["b", "c"], idField), idField);
      expect(await h.driver.countRows(dataset)).toBe(3);
    });

    it("counts which of a list of ids it holds (the publish audit), over more ids than one request carries", async () => {
      expect(h.driver.countIds, `${name} has countIds`).toBeTypeOf("function");
      const held = Array.from({ length: 450 }, (_, i) => `r${i}'${i % 7}`); // quotes in ids are escaped
      const cap = h.driver.capabilities.maxRowsPerRequest ?? held.length;
      for (let i = 0; i < held.length; i += cap) await h.driver.upsert(dataset, makeRows(held.slice(i, i + cap), idField), idField);
      const asked = [...held.filter((_, i) => i % 3 === 0), "nope", "r1'x"];
      expect(await h.driver.countIds!(dataset, asked, idField)).toBe(150);
      expect(await h.driver.countIds!(dataset, [], idField)).toBe(0);
    });

    it("refuses a row without a row id, naming the row and field, and writes nothing", async () => {
      const rows: PublishRow[] = [{ [idField]: "ok", v: 1 }, { v: 2 }];
      await expect(h.driver.upsert(dataset, rows, idField)).rejects.toThrow(new RegExp(`row 1.*${idField}|${idField}.*row 1`));
      expect(await ids()).toEqual([]);
    });

    it("keeps rows whose columns differ", async () => {
      await h.driver.upsert(dataset, [{ [idField]: "a", first: 1 }], idField);
      await h.driver.upsert(dataset, [{ [idField]: "b", second: "two" }], idField);
      const rows = await h.rows(dataset);
      expect(rows.map((r) => String(r[idField])).sort()).toEqual(["a", "b"]);
      expect(String(rows.find((r) => String(r[idField]) === "b")!.second)).toBe("two");
    });
  });
}
