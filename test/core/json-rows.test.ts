import { describe, expect, it } from "vitest";
import {
  ByteBatcher,
  JsonRow,
  JsonRowWriter,
  jsonRowBatches,
  jsonText,
  readJsonRows,
  RowTemplate,
  scanJsonArray,
  sortedOrder,
  ValueIds,
} from "../../src/util/json-rows.js";
import { pyFloat, pyJson } from "../../src/util/pyjson.js";

function chunks(text: string, size: number): Buffer[] {
  const b = Buffer.from(text, "utf8");
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += size) out.push(b.subarray(i, i + size));
  return out;
}

const DOC = {
  header: { a: "x]}{[", data: "not the array", b: 'quote " and \\ backslash \\\\' },
  data: [{ k: "v\\", n: null, nested: { deep: [1, { z: "}" }] } }, { k: '"}]', e: "caf\u00e9 \\\"" }, {}, [1, "]"]],
  devices: [{ device_id: "id1", device_name: "n1" }],
};

describe("scanJsonArray", () => {
  for (const size of [1, 2, 3, 7, 64, 100_000]) {
    it(`hands over each row's bytes and returns the rest, whatever the chunk size (${size} bytes)`, async () => {
      const text = pyJson(DOC);
      const seen: unknown[] = [];
      const rest = await scanJsonArray(chunks(text, size), "data", "doc", (buf, start, end) => void seen.push(JSON.parse(buf.toString("utf8", start, end))));
      expect(seen).toEqual(DOC.data);
      expect(rest).toEqual({ ...DOC, data: [] });
    });
  }

  it("lets atRow take rows in place, and gives it every row's start", async () => {
    const text = pyJson({ data: [{ a: "1" }, { a: "22" }, { b: 3 }] });
    const taken: string[] = [];
    const given: string[] = [];
    await scanJsonArray(
      [text],
      "data",
      "doc",
      (buf, s, e) => void given.push(buf.toString("utf8", s, e)),
      (buf, p) => {
        if (buf[p + 2] !== 0x61) return -1; // not "a": leave it to onRow
        const end = buf.indexOf(0x7d, p) + 1;
        taken.push(buf.toString("utf8", p, end));
        return end;
      },
    );
    expect(taken).toEqual(['{"a": "1"}', '{"a": "22"}']);
    expect(given).toEqual(['{"b": 3}']);
  });

  it("awaits a returned promise before reading on", async () => {
    const order: string[] = [];
    await scanJsonArray([pyJson({ data: [{ a: 1 }, { a: 2 }] })], "data", "doc", async (buf, s, e) => {
      const t = buf.toString("utf8", s, e);
      order.push(`start ${t}`);
      await new Promise((r) => setTimeout(r, 1));
      order.push(`end ${t}`);
    });
    expect(order).toEqual(['start {"a": 1}', 'end {"a": 1}', 'start {"a": 2}', 'end {"a": 2}']);
  });

  it("names the object when the JSON is cut short or the rows are not objects", async () => {
    const none = () => undefined;
    await expect(scanJsonArray(['{"data": [{"a": 1}, {"a"'], "data", "ready/x.json", none)).rejects.toThrow(/ready\/x\.json: the JSON ends early/);
    await expect(scanJsonArray(['{"data": ["a"]}'], "data", "x", none)).rejects.toThrow(/holds a string/);
    await expect(scanJsonArray(['{"data": [1]}'], "data", "x", none)).rejects.toThrow(/non-object/);
    await expect(scanJsonArray(['{"data": []} x'], "data", "x", none)).rejects.toThrow(/x: not valid JSON/);
    await expect(scanJsonArray(["[1]"], "data", "x", none)).rejects.toThrow(/expected a JSON object/);
  });
});

describe("jsonRowBatches", () => {
  const rows = Array.from({ length: 25 }, (_, i) => ({ i, s: `r${i} "}]`, n: i % 3 ? null : 1.5, o: { a: [i] } }));
  const text = JSON.stringify({ header: { h: "[" }, data: rows, tail: 1 });

  for (const size of [1, 5, 100]) {
    it(`gives the rows as JSON.parse does, in order, in batches of ${size}; the rest to onDocument`, async () => {
      const got: unknown[][] = [];
      let rest: Record<string, unknown> | undefined;
      for await (const b of jsonRowBatches(chunks(text, 7), "data", "doc", size, (r) => (rest = r))) got.push(b);
      expect(got.flat()).toEqual(JSON.parse(text).data);
      expect(got.map((b) => b.length)).toEqual(Array.from({ length: Math.ceil(25 / size) }, (_, k) => Math.min(size, 25 - k * size)));
      expect(rest).toEqual({ header: { h: "[" }, data: [], tail: 1 });
    });
  }

  it("reads as it goes: a batch arrives before the rest of the input is read, and the scan waits for the consumer", async () => {
    let read = 0;
    const pieces = chunks(text, 16);
    async function* input() {
      for (const p of pieces) {
        read++;
        yield p;
      }
    }
    const it = jsonRowBatches(input(), "data", "doc", 2)[Symbol.asyncIterator]();
    expect(((await it.next()).value as unknown[]).length).toBe(2);
    for (let k = 0; k < 20; k++) await new Promise((r) => setImmediate(r));
    expect(read).toBeLessThan(pieces.length / 2); // waiting, not reading on
    await it.return!(undefined); // stopping early ends it
    expect(read).toBeLessThan(pieces.length);
  });

  it("passes on what onDocument throws, a row that is not JSON, and a document cut short", async () => {
    const drain = async (input: string, onDocument?: (r: Record<string, unknown>) => void) => {
      for await (const _ of jsonRowBatches([input], "data", "doc", 10, onDocument));
    };
    await expect(drain('{"other": []}', (r) => { if (!Array.isArray(r.data)) throw new Error("no data list"); })).rejects.toThrow("no data list");
    await expect(drain('{"data": [{"a": nope}]}')).rejects.toThrow(SyntaxError);
    await expect(drain('{"data": [{"a": 1}')).rejects.toThrow(/doc: the JSON ends early/);
  });
});

describe("RowTemplate", () => {
  const t = RowTemplate.of(["a", "b"])!;
  const m = (s: string) => t.match(Buffer.from(s, "latin1"), 0);
  it("recognises json.dumps flat rows of its keys and tells where values lie", () => {
    const buf = Buffer.from('{"a": "x y", "b": null}');
    expect(t.match(buf, 0)).toBe(buf.length);
    expect(buf.toString("latin1", t.starts[0], t.ends[0])).toBe("x y");
    expect(t.starts[1]).toBe(-1);
  });
  it("refuses anything json.dumps would write otherwise, and rows cut short", () => {
    for (const s of ['{"a":"x", "b": null}', '{"a": 1, "b": null}', '{"a": "\\u00e9", "b": null}', '{"a": "é", "b": null}', '{"b": "x", "a": null}', '{"a": "x", "b": null', '{"a": "x"}', '{"a": "x", "b": nul']) {
      expect(m(s), s).toBe(-1);
    }
  });
  it("is not made for keys that need escapes or repeat", () => {
    expect(RowTemplate.of(["a", "a"])).toBeUndefined();
    expect(RowTemplate.of(['q"'])).toBeUndefined();
    expect(RowTemplate.of([])).toBeUndefined();
  });
});

describe("ValueIds", () => {
  it("gives equal values one id, whether given as bytes or as values, across buffers and table growth", () => {
    const ids = new ValueIds();
    const seen = new Map<string, number>();
    for (let i = 0; i < 500; i++) {
      const v = `value-${i % 97}`;
      const buf = Buffer.from(`xx"${v}"`, "latin1");
      const id = ids.ofBytes(buf, 3, 3 + v.length);
      if (seen.has(v)) expect(id).toBe(seen.get(v));
      else seen.set(v, id);
      expect(ids.values[id]).toBe(v);
    }
    expect(ids.of("value-5")).toBe(seen.get("value-5"));
    expect(ids.ofBytes(Buffer.alloc(0), -1, -1)).toBe(ids.of(null));
    expect(ids.values).toHaveLength(98);
  });
  it("numbers by first appearance; other values by equality; tells strings apart without making their text", () => {
    const ids = new ValueIds();
    const b = Buffer.from("abcabc");
    expect([ids.ofBytes(b, 0, 3), ids.ofBytes(b, 3, 6), ids.of(12), ids.of("caf\u00e9"), ids.of(undefined), ids.of(12), ids.of("caf\u00e9")]).toEqual([0, 0, 1, 2, 3, 1, 2]);
    expect([0, 1, 2, 3].map((id) => ids.isString(id))).toEqual([true, false, true, false]);
    expect(ids.size).toBe(4);
    expect(ids.value(0)).toBe("abc");
  });
});

/** Rows of a document read through JsonRow: each field's value, its id, whether read in place, and the object. */
async function readAll(doc: unknown, fields: string[], size: number) {
  const row = new JsonRow(fields);
  const ids = fields.map(() => new ValueIds());
  const out: { values: unknown[]; ids: number[]; canonical: boolean; object: unknown; bytes: string }[] = [];
  const rest = await readJsonRows(
    chunks(pyJson(doc), size),
    "data",
    row,
    (r) =>
      void out.push({
        values: fields.map((_, k) => r.value(k)),
        ids: fields.map((_, k) => r.id(k, ids[k]!)),
        canonical: r.canonical,
        object: r.object(),
        bytes: r.buf.toString("utf8", r.start, r.end),
      }),
    "doc",
  );
  return { out, ids, rest };
}

describe("readJsonRows / JsonRow", () => {
  const rows: Record<string, unknown>[] = Array.from({ length: 60 }, (_, i) => ({ t: `2019-06-01 00:00:${String(i % 7).padStart(2, "0")}`, r: i % 3 ? "a" : null, v: `x${i % 5}` }));
  rows[10] = { t: "2019", r: 13, v: "x1" }; // a number
  rows[20] = { t: "2019", r: "caf\u00e9 \"q\"", v: "x1" }; // escapes
  rows[30] = { v: "x1", t: "2019" }; // another key order, a key missing
  rows[40] = { t: "2019", r: { nested: [1] }, v: "x1", extra: pyFloat(1.5) };

  for (const size of [5, 64, 1 << 20]) {
    it(`gives JSON.parse's values, one id per distinct value, in place for flat rows (${size}-byte chunks)`, async () => {
      const { out, ids, rest } = await readAll({ header: { h: 1 }, data: rows, devices: [] }, ["t", "r", "v", "absent"], size);
      const parsed = JSON.parse(pyJson(rows)) as Record<string, unknown>[];
      expect(out.map((o) => o.object)).toEqual(parsed);
      expect(out.map((o) => o.bytes)).toEqual(parsed.map((p) => pyJson(p)));
      out.forEach((o, i) => {
        expect(o.values).toEqual(["t", "r", "v", "absent"].map((f) => parsed[i]![f]));
        o.ids.forEach((id, k) => expect(ids[k]!.value(id)).toEqual(o.values[k]));
      });
      expect(out.filter((o) => !o.canonical).map((o) => out.indexOf(o))).toEqual([10, 20, 30, 40]);
      // one id per distinct value of "v" (x0…x4), however the rows were read
      expect(new Set(out.map((o) => o.ids[2])).size).toBe(5);
      expect(rest).toEqual({ header: { h: 1 }, data: [], devices: [] });
    });
  }

  it("takes the template from the first flat row, after rows that are not", async () => {
    const data = [{ a: 1 }, { a: "x", b: 2 }, { a: "y" }, { a: "z" }];
    const { out } = await readAll({ data }, ["a"], 1 << 20);
    expect(out.map((o) => o.canonical)).toEqual([false, false, true, true]);
    expect(out.map((o) => o.values[0])).toEqual([1, "x", "y", "z"]);
  });

  it("reads rows written otherwise than by json.dumps (no spaces) by parsing them", async () => {
    const row = new JsonRow(["a"]);
    const seen: unknown[] = [];
    await readJsonRows([JSON.stringify({ data: [{ a: "x" }, { a: null }] })], "data", row, (r) => void seen.push([r.value(0), r.canonical]), "doc");
    expect(seen).toEqual([["x", false], [null, false]]);
  });
});

describe("sortedOrder", () => {
  function keyOf(values: unknown[]) {
    const ids = new ValueIds();
    return { ids, rowIds: Int32Array.from(values, (v) => ids.of(v)) };
  }
  it("sorts ascending by several keys, nulls last, stable for ties", () => {
    const a = keyOf(["2", null, "1", "1", "2", "1"]);
    const b = keyOf(["x", "a", "y", "x", "x", null]);
    expect([...sortedOrder([a, b], 6)]).toEqual([3, 2, 5, 0, 4, 1]);
  });
  it("compares strings by code units, and undefined as null", () => {
    const a = keyOf(["b", "B", undefined, "a", null, "\u00e9", "ab"]);
    expect([...sortedOrder([a], 7)]).toEqual([1, 3, 6, 0, 5, 2, 4]);
  });
  it("sorts items through rowOf (items sharing a row keep their order)", () => {
    const a = keyOf(["z", "a"]);
    expect([...sortedOrder([a], 4, Int32Array.from([0, 1, 0, 1]))]).toEqual([1, 3, 0, 2]);
  });
  it("gives the same order when the keys are too many to pack into one number", () => {
    const n = 3000;
    const cols = [0, 1, 2, 3, 4].map((c) => Array.from({ length: n }, (_, i) => `v${(i * (c * 2 + 7)) % (c === 0 ? 5 : n)}`));
    const order = sortedOrder(cols.map(keyOf), n);
    const expected = Array.from({ length: n }, (_, i) => i).sort((x, y) => {
      for (const c of cols) if (c[x] !== c[y]) return c[x]! < c[y]! ? -1 : 1;
      return x - y;
    });
    expect([...order]).toEqual(expected);
  });
});

describe("JsonRowWriter / jsonText", () => {
  const VALUES = ["plain", 'q"', "b\\", "tab\t", "caf\u00e9", "\u{1F600}", "\u007f", null, 13, 1.5, true, pyFloat(2), [1, "a"], { x: null }];
  it("jsonText matches json.dumps", () => {
    for (const v of VALUES) expect(jsonText(v)).toBe(pyJson(v));
  });
  it("writes rows as json.dumps writes them, keys given once, undefined left out, ', ' between rows", () => {
    const w = new JsonRowWriter(["a", 'k"ey', "c"], 64);
    const rows: unknown[][] = VALUES.map((v, i) => [v, i % 3 === 0 ? undefined : `r${i}`, i % 4 === 0 ? null : i]);
    rows.push([undefined, undefined, undefined]);
    const out: Buffer[] = [];
    for (const r of rows) {
      const full = w.row(r);
      if (full) out.push(full);
    }
    out.push(w.take());
    expect(out.length).toBeGreaterThan(2);
    const objects = rows.map((r) => {
      const o: Record<string, unknown> = {};
      ["a", 'k"ey', "c"].forEach((k, i) => (o[k] = r[i]));
      return o;
    });
    expect(Buffer.concat(out).toString("latin1")).toBe(objects.map((o) => pyJson(o)).join(", "));
  });
  it("ByteBatcher keeps every byte in order across buffer boundaries", () => {
    const b = new ByteBatcher(16);
    const out: Buffer[] = [];
    const pieces = ["abc", "defghij", "klmnopqrstuvwxyz0123456789", "!", "end"];
    for (const p of pieces) {
      const full = b.add(p);
      if (full) out.push(full);
      const more = b.addBytes(Buffer.from(`<${p}>`), 1, p.length + 1);
      if (more) out.push(more);
    }
    out.push(b.take());
    expect(Buffer.concat(out).toString("latin1")).toBe(pieces.map((p) => p + p).join(""));
  });
});
