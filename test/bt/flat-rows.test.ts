import { describe, expect, it } from "vitest";
import { RowTemplate, ValueIds } from "../../src/sources/bt/flat-rows.js";
import { scanJsonArray } from "../../src/sources/bt/json-stream.js";
import { ReadyBuilder } from "../../src/sources/bt/ready.js";
import type { BtFileType } from "../../src/sources/bt/files.js";
import type { UnitDevice } from "../../src/support/drivers.js";
import { pyJson } from "../../src/util/pyjson.js";

const dev = (name: string, ip = `ip-${name}`): UnitDevice => ({ device_type: "BLUETOOTH", device_name: name, device_ip: ip, lat: 30.1, lon: -97.1 });
const DEVICES = [dev("a"), dev("b"), dev("c"), dev("b", "second-b")];

function chunks(text: string, size: number): Buffer[] {
  const b = Buffer.from(text, "utf8");
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += size) out.push(b.subarray(i, i + size));
  return out;
}

function text(gen: Generator<Buffer | string>): string {
  return Buffer.concat([...gen].map((p) => (typeof p === "string" ? Buffer.from(p) : p))).toString("utf8");
}

/** Ready text of rows given as parsed objects (the general way) and as a standardized file's bytes (the flat way). */
async function both(fileType: BtFileType, rows: Record<string, unknown>[], chunkSize: number) {
  const general = new ReadyBuilder(fileType, DEVICES);
  for (const r of rows) general.add(JSON.parse(JSON.stringify(r)) as Record<string, unknown>);
  const flat = new ReadyBuilder(fileType, DEVICES);
  const doc = pyJson({ header: { file_type: fileType }, data: rows });
  await scanJsonArray(chunks(doc, chunkSize), "data", (t) => flat.addText(t), "test", undefined, (buf, p) => flat.addBytes(buf, p));
  const header = { file_type: fileType, processing_date: "x" };
  return {
    general: text(general.json(header, "now")),
    flat: text(flat.json(header, "now")),
    stats: [general.stats, flat.stats],
    counts: [general.rowCount, flat.rowCount],
    holdsBytes: flat.holdsBytes,
  };
}

const readers = ["a", "b", "c", "zz", null];
function unmatchedRows(n: number): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const sec = (i * 7919) % 37; // out of order, with repeats
    out.push({
      host_timestamp: i % 23 === 5 ? null : `2019-06-01 00:00:${String(sec).padStart(2, "0")}-05:00`,
      ip_address: `10.0.0.${i % 5}`,
      field_timestamp: `2019-06-01 00:00:${String((sec + 1) % 60).padStart(2, "0")}-05:00`,
      reader_id: readers[(i * 3) % readers.length],
      dev_addr: i % 11 === 0 ? null : `addr-${i % 13}`,
    });
  }
  return out;
}

function matchedRows(n: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => ({
    dev_addr: `addr-${i % 9}`,
    origin_reader_id: readers[i % 4],
    dest_reader_id: readers[(i * 5 + 1) % 4],
    start_time: `2019-06-01 00:0${i % 3}:00-05:00`,
    end_time: `2019-06-01 00:1${i % 4}:00-05:00`,
    travel_time_secs: String(100 + i),
    speed: "7",
    match_validity: i % 2 ? "valid" : "invalid",
    filter_id: "125",
  }));
}

describe("ReadyBuilder: rows taken as bytes", () => {
  for (const size of [7, 64, 1000, 1 << 20]) {
    it(`writes the same ready file as parsed rows: unmatched, ${size}-byte chunks`, async () => {
      const r = await both("unmatched", unmatchedRows(300), size);
      expect(r.flat).toBe(r.general);
      expect(r.stats[1]).toEqual(r.stats[0]);
      expect(r.counts[1]).toBe(r.counts[0]);
      expect(r.stats[0]!.missingReaders.size).toBe(2);
      expect(r.holdsBytes).toBe(true);
    });
    it(`writes the same ready file as parsed rows: matched (two joins, a name held by two devices), ${size}-byte chunks`, async () => {
      const r = await both("matched", matchedRows(200), size);
      expect(r.holdsBytes).toBe(true);
      expect(r.flat).toBe(r.general);
      expect(r.stats[1]).toEqual(r.stats[0]);
    });
  }

  const odd: [string, (rows: Record<string, unknown>[]) => void][] = [
    ["a number", (rows) => (rows[150]!.ip_address = 13)],
    ["a float", (rows) => (rows[150]!.ip_address = 13.5)],
    ["an escaped character", (rows) => (rows[150]!.dev_addr = 'a "quoted" \\ caf\u00e9')],
    ["another key order", (rows) => (rows[150] = { reader_id: "a", host_timestamp: "2019-06-01 00:00:01-05:00", extra: "x" })],
    ["a row lacking a key", (rows) => delete rows[150]!.ip_address],
    ["a device_id column of its own", (rows) => (rows[150]!.device_id = "mine")],
    ["an odd first row", (rows) => (rows[0]!.ip_address = 1)],
  ];
  for (const [what, change] of odd) {
    it(`falls back to the general way on ${what}, with the same output`, async () => {
      const rows = unmatchedRows(300);
      change(rows);
      for (const size of [64, 1 << 20]) {
        const r = await both("unmatched", rows, size);
        expect(r.holdsBytes).toBe(false);
        expect(r.flat).toBe(r.general);
        expect(r.stats[1]).toEqual(r.stats[0]);
      }
    });
  }
});

describe("RowTemplate", () => {
  const t = RowTemplate.of(["a", "b"])!;
  const m = (s: string) => t.match(Buffer.from(s, "latin1"), 0);
  it("recognises json.dumps flat rows of its keys and tells where values lie", () => {
    const buf = Buffer.from('{"a": "x y", "b": null}');
    expect(t.match(buf, 0)).toBe(buf.length);
    expect(t.value(buf, 0)).toBe("x y");
    expect(t.value(buf, 1)).toBeNull();
  });
  it("refuses anything json.dumps would write otherwise, and rows cut short", () => {
    for (const s of ['{"a":"x", "b": null}', '{"a": 1, "b": null}', '{"a": "\\u00e9", "b": null}', '{"a": "é", "b": null}', '{"b": "x", "a": null}', '{"a": "x", "b": null', '{"a": "x"}', '{"a": "x", "b": nul']) {
      expect(m(s), s).toBe(-1);
    }
  });
  it("is not made for keys that need escapes or repeat", () => {
    expect(RowTemplate.of(["a", "a"])).toBeUndefined();
    expect(RowTemplate.of(['q"'])).toBeUndefined();
    expect(RowTemplate.fromText('{"a": 1}')).toBeUndefined();
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
});
