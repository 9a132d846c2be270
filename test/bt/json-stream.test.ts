import { describe, expect, it } from "vitest";
import { ByteBatcher, jsonValue, scanJsonArray, scanJsonRows } from "../../src/sources/bt/json-stream.js";
import { pyJson } from "../../src/util/pyjson.js";

function chunks(text: string, size: number): Buffer[] {
  const b = Buffer.from(text, "utf8");
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += size) out.push(b.subarray(i, i + size));
  return out;
}

const DOC = {
  header: { a: "x]}{[", "data": "not the array", b: 'quote " and \\ backslash \\\\' },
  data: [{ k: "v\\", n: null, nested: { deep: [1, { z: "}" }] } }, { k: '"}]', e: "caf\u00e9 \\\"" }, []],
  devices: [{ device_id: "id1", device_name: "n1" }],
};

describe("scanJsonArray", () => {
  for (const size of [1, 2, 3, 7, 64, 100_000]) {
    it(`hands over each element and returns the rest, whatever the chunk size (${size} bytes)`, async () => {
      const text = pyJson(DOC);
      const seen: unknown[] = [];
      const rest = await scanJsonArray(chunks(text, size), "data", (t) => void seen.push(JSON.parse(t)), "doc");
      expect(seen).toEqual(JSON.parse(text).data);
      expect(rest).toEqual({ ...JSON.parse(text), data: [] });
    });
  }

  for (const size of [1, 5, 64, 100_000]) {
    it(`scanJsonRows hands over parsed rows in order, in batches (${size}-byte chunks)`, async () => {
      const text = pyJson(DOC);
      const seen: unknown[] = [];
      await scanJsonRows(chunks(text, size), "data", (rows) => void seen.push(...rows), "doc");
      expect(seen).toEqual(JSON.parse(text).data);
    });
  }

  it("awaits a returned promise before reading on", async () => {
    const order: string[] = [];
    await scanJsonArray([pyJson({ data: [{ a: 1 }, { a: 2 }] })], "data", async (t) => {
      order.push(`start ${t}`);
      await new Promise((r) => setTimeout(r, 1));
      order.push(`end ${t}`);
    }, "doc");
    expect(order).toEqual(['start {"a": 1}', 'end {"a": 1}', 'start {"a": 2}', 'end {"a": 2}']);
  });

  it("names the object when the JSON is cut short or not objects", async () => {
    await expect(scanJsonArray(['{"data": [{"a": 1}, {"a"'], "data", () => undefined, "ready/x.json")).rejects.toThrow(/ready\/x\.json: the JSON ends early/);
    await expect(scanJsonArray(['{"data": ["a"]}'], "data", () => undefined, "x")).rejects.toThrow(/holds a string/);
    await expect(scanJsonArray(['{"data": [1]}'], "data", () => undefined, "x")).rejects.toThrow(/non-object/);
  });
});

describe("json text helpers", () => {
  it("jsonValue matches json.dumps for plain and escaped strings", () => {
    for (const v of ["plain", 'q"', "b\\", "tab\t", "caf\u00e9", "\u{1F600}", null, 13, 1.5]) expect(jsonValue(v)).toBe(pyJson(v));
  });
  it("ByteBatcher keeps every byte in order across buffer boundaries", () => {
    const b = new ByteBatcher(16);
    const out: Buffer[] = [];
    const pieces = ["abc", "defghij", "klmnopqrstuvwxyz0123456789", "!", "end"];
    for (const p of pieces) {
      const full = b.add(p);
      if (full) out.push(full);
    }
    out.push(b.take());
    expect(Buffer.concat(out).toString("latin1")).toBe(pieces.join(""));
  });
});
