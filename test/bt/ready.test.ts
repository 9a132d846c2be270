import { describe, expect, it } from "vitest";
import { btDeviceId, JOINS, ReadyBuilder, readyDevice } from "../../src/sources/bt/ready.js";
import { READY_SORT, type BtFileType } from "../../src/sources/bt/files.js";
import type { UnitDevice } from "../../src/support/drivers.js";
import { pyJson } from "../../src/util/pyjson.js";

const dev = (name: string, over: Partial<UnitDevice> = {}): UnitDevice => ({
  device_type: "BLUETOOTH",
  device_name: name,
  device_ip: `ip-${name}`,
  lat: 30.1,
  lon: -97.1,
  ...over,
});

function collect(gen: Generator<Buffer | string>): string {
  return Buffer.concat([...gen].map((p) => (typeof p === "string" ? Buffer.from(p) : p))).toString("utf8");
}

describe("device_id", () => {
  it("is MD5 over type + ip + str(lat) + str(lon), floats printed as Python does", () => {
    expect(btDeviceId({ device_type: "BLUETOOTH", device_ip: "10.66.1.11", lat: 30.2636414, lon: -97.7472349 })).toBe("d37b940a7eff3c0a1ec90f0cce009be2");
    // 30 is the float 30.0 in the inventory: str() gives "30.0".
    expect(btDeviceId({ device_type: "BLUETOOTH", device_ip: null, lat: 30, lon: -97.5 })).toBe("9cc2f14a829c48987d11f562cad6d240");
  });
  it('null ip or type hash as "None", null lat/lon as "nan" (no crash: B12)', () => {
    expect(btDeviceId({ device_type: null, device_ip: "10.0.0.1", lat: null, lon: null })).toBe("f12f4d5ec410e0fc28131de996d8f51e");
    expect(() => btDeviceId({})).not.toThrow();
  });
});

describe("ReadyBuilder", () => {
  it("inner-joins unmatched rows on reader_id, drops and counts rows of readers missing from the inventory", () => {
    const b = new ReadyBuilder("unmatched", [dev("a"), dev("b")]);
    b.add({ host_timestamp: "2019-06-01 00:00:02-05:00", reader_id: "b", dev_addr: "x" });
    b.add({ host_timestamp: "2019-06-01 00:00:01-05:00", reader_id: "zz", dev_addr: "y" });
    b.add({ host_timestamp: "2019-06-01 00:00:01-05:00", reader_id: "zz", dev_addr: "y" });
    b.add({ host_timestamp: "2019-06-01 00:00:01-05:00", reader_id: null, dev_addr: "y" });
    b.add({ host_timestamp: "2019-06-01 00:00:01-05:00", reader_id: "a", dev_addr: "z" });
    expect(b.stats.rowsOut).toBe(2);
    expect([...b.stats.missingReaders]).toEqual([
      ["zz", 2],
      ["(none)", 1],
    ]);
    const doc = JSON.parse(collect(b.json({ file_type: "unmatched", processing_date: "old" }, "new"))) as {
      header: Record<string, string>;
      data: Record<string, string>[];
      devices: Record<string, unknown>[];
    };
    expect(doc.header).toEqual({ file_type: "unmatched", processing_date: "new" });
    expect(doc.data.map((r) => r.reader_id)).toEqual(["a", "b"]);
    expect(Object.keys(doc.data[0]!)).toEqual(["host_timestamp", "reader_id", "dev_addr", "device_id"]);
    expect(doc.devices.map((d) => d.device_name)).toEqual(["a", "b"]);
  });

  it("matched rows need both readers; device ids go after the data columns", () => {
    const b = new ReadyBuilder("matched", [dev("a"), dev("b")]);
    b.add({ dev_addr: "x", origin_reader_id: "a", dest_reader_id: "b", start_time: "t2" });
    b.add({ dev_addr: "y", origin_reader_id: "a", dest_reader_id: "gone", start_time: "t1" });
    const doc = JSON.parse(collect(b.json({}, "p"))) as { data: Record<string, string>[]; devices: unknown[] };
    expect(doc.data).toEqual([
      { dev_addr: "x", origin_reader_id: "a", dest_reader_id: "b", start_time: "t2", origin_device_id: btDeviceId(dev("a")), dest_device_id: btDeviceId(dev("b")) },
    ]);
    expect(b.stats.missingReaders.get("gone")).toBe(1);
  });

  it("a reader name held by two inventory devices repeats the row (as the original's merge)", () => {
    const b = new ReadyBuilder("unmatched", [dev("a"), dev("a", { device_ip: "other" })]);
    b.add({ host_timestamp: "t", reader_id: "a", dev_addr: "x" });
    expect(b.rowCount).toBe(2);
  });

  it("escapes values like json.dumps, also when only a later row needs it", () => {
    const b = new ReadyBuilder("unmatched", [dev("a")]);
    b.add({ host_timestamp: "t1", reader_id: "a", dev_addr: "plain" });
    b.add({ host_timestamp: "t2", reader_id: "a", dev_addr: 'q"\u00e9\\', extra: 5 });
    const text = collect(b.json({}, "p"));
    expect(text).toContain('"dev_addr": "plain", "device_id"');
    expect(text).toContain('"dev_addr": "q\\"\\u00e9\\\\", "extra": 5, "device_id"');
    expect(JSON.parse(text).data[1].dev_addr).toBe('q"\u00e9\\');
  });

  it("devices keep their inventory values; lat/lon print as floats", () => {
    const b = new ReadyBuilder("unmatched", [dev("a", { lat: 30, lon: -97, kits_id: null })]);
    b.add({ host_timestamp: "t", reader_id: "a", dev_addr: "x" });
    const text = collect(b.json({}, "p"));
    expect(text).toContain('"lat": 30.0, "lon": -97.0, "kits_id": null, "device_id": ');
  });

  it("sorts ascending by the sort keys, nulls last, stable for ties", () => {
    const b = new ReadyBuilder("unmatched", [dev("a"), dev("b")]);
    const rows: [string | null, string | null][] = [
      ["2", "b"],
      [null, "a"],
      ["1", "b"],
      ["1", "a"],
      ["2", "a"],
      ["1", null],
    ];
    // a null reader is dropped; the rest sort by host_timestamp, reader_id
    rows.forEach(([t, r], i) => b.add({ host_timestamp: t, reader_id: r, n: String(i) }));
    const doc = JSON.parse(collect(b.json({}, "p"))) as { data: Record<string, string>[] };
    expect(doc.data.map((r) => r.n)).toEqual(["3", "2", "4", "0", "1"]);
  });
});

// The ready file by a plain model of the original's pandas steps: inner merges, stable sort_values, columns in
// order of first appearance (merged id columns last), json.dumps.
const DEVICES = [dev("a"), dev("b"), dev("c"), dev("b", { device_ip: "second-b" })];
function reference(fileType: BtFileType, rows: Record<string, unknown>[], header: Record<string, unknown>): string {
  const ids = (name: unknown) => DEVICES.filter((d) => d.device_name === name).map(btDeviceId);
  const joins = JOINS[fileType];
  const idCols = new Set(joins.map(([, c]) => c));
  const kept: Record<string, unknown>[] = [];
  const columns: string[] = [];
  const used = new Set<string>();
  for (const row of JSON.parse(pyJson(rows)) as Record<string, unknown>[]) {
    let out: Record<string, unknown>[] = [{ ...row }];
    for (const [name, idCol] of joins) {
      out = out.flatMap((r) => ids(row[name]).map((id) => ({ ...r, [idCol]: id })));
    }
    if (out.length) for (const k of Object.keys(row)) if (!idCols.has(k) && !columns.includes(k)) columns.push(k);
    kept.push(...out);
  }
  const order = [...columns, ...joins.map(([, c]) => c)];
  const keys = READY_SORT[fileType];
  const sorted = kept
    .map((r, i) => [r, i] as const)
    .sort(([x, i], [y, j]) => {
      for (const k of keys) {
        const [a, b] = [x[k], y[k]];
        const [an, bn] = [a === null || a === undefined, b === null || b === undefined];
        if (an || bn) {
          if (an && bn) continue;
          return an ? 1 : -1;
        }
        if (a !== b) return (a as string) < (b as string) ? -1 : 1;
      }
      return i - j;
    })
    .map(([r]) => {
      for (const [, c] of joins) used.add(r[c] as string);
      return Object.fromEntries(order.filter((k) => k in r).map((k) => [k, r[k]]));
    });
  const devices = DEVICES.map((d) => [d, btDeviceId(d)] as const).filter(([, id]) => used.has(id)).map(([d, id]) => readyDevice(d, id));
  return `{"header": ${pyJson(header)}, "data": [${sorted.map((r) => pyJson(r)).join(", ")}], "devices": [${devices.map((d) => pyJson(d)).join(", ")}]}`;
}

function chunks(text: string, size: number): Buffer[] {
  const b = Buffer.from(text, "utf8");
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += size) out.push(b.subarray(i, i + size));
  return out;
}

async function ready(fileType: BtFileType, rows: Record<string, unknown>[], size: number) {
  const b = new ReadyBuilder(fileType, DEVICES);
  const doc = await b.read(chunks(pyJson({ header: { file_type: fileType, processing_date: "x" }, data: rows }), size), "test");
  return { text: collect(b.json(doc.header as Record<string, unknown>, "now")), b };
}

const readers = ["a", "b", "c", "zz", null];
function unmatchedRows(n: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => {
    const sec = (i * 7919) % 37; // out of order, with repeats
    return {
      host_timestamp: i % 23 === 5 ? null : `2019-06-01 00:00:${String(sec).padStart(2, "0")}-05:00`,
      ip_address: `10.0.0.${i % 5}`,
      field_timestamp: `2019-06-01 00:00:${String((sec + 1) % 60).padStart(2, "0")}-05:00`,
      reader_id: readers[(i * 3) % readers.length],
      dev_addr: i % 11 === 0 ? null : `addr-${i % 13}`,
    };
  });
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

describe("ReadyBuilder.read: the ready file of a standardized file", () => {
  const header = { file_type: "unmatched", processing_date: "now" };
  for (const size of [7, 64, 1000, 1 << 20]) {
    it(`equals the pandas model: unmatched, ${size}-byte chunks`, async () => {
      const rows = unmatchedRows(300);
      const { text, b } = await ready("unmatched", rows, size);
      expect(text).toBe(reference("unmatched", rows, header));
      expect(b.stats.missingReaders.size).toBe(2);
      expect(b.stats.rowsIn).toBe(300);
    });
    it(`equals the pandas model: matched (two joins, a name held by two devices), ${size}-byte chunks`, async () => {
      const rows = matchedRows(200);
      expect((await ready("matched", rows, size)).text).toBe(reference("matched", rows, { ...header, file_type: "matched" }));
    });
  }

  const odd: [string, (rows: Record<string, unknown>[]) => void][] = [
    ["a number", (rows) => (rows[150]!.ip_address = 13)],
    ["a float", (rows) => (rows[150]!.ip_address = 13.5)],
    ["an escaped character", (rows) => (rows[150]!.dev_addr = 'a "quoted" \\ caf\u00e9')],
    ["another key order and a new key", (rows) => (rows[150] = { reader_id: "a", host_timestamp: "2019-06-01 00:00:01-05:00", extra: "x" })],
    ["a row lacking a key", (rows) => delete rows[150]!.ip_address],
    ["a device_id column of its own", (rows) => (rows[150]!.device_id = "mine")],
    ["device_id columns in every row", (rows) => rows.forEach((r, i) => (r.device_id = `mine-${i % 3}`))],
    ["an odd first row", (rows) => (rows[0]!.ip_address = 1)],
    ["a first row in another key order", (rows) => (rows[0] = { dev_addr: "q", reader_id: "a", host_timestamp: "2019-06-01 00:00:01-05:00" })],
    ["an empty row, and one of only a device_id", (rows) => ((rows[100] = {}), (rows[101] = { device_id: "x" }))],
  ];
  for (const [what, change] of odd) {
    it(`equals the pandas model with ${what}`, async () => {
      const rows = unmatchedRows(300);
      change(rows);
      for (const size of [64, 1 << 20]) expect((await ready("unmatched", rows, size)).text).toBe(reference("unmatched", rows, header));
    });
  }

  it("copies rows through as read, and names the file when it is not a document of rows", async () => {
    const b = new ReadyBuilder("unmatched", DEVICES);
    await expect(b.read(['{"header": {}, "data": [1]}'], "std/x.json")).rejects.toThrow(/std\/x\.json: "data" holds a non-object value/);
  });
});
