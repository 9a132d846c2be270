import { describe, expect, it } from "vitest";
import { btDeviceId, ReadyBuilder, RowTable } from "../../src/sources/bt/ready.js";
import type { UnitDevice } from "../../src/support/drivers.js";

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
    expect(b.table.length).toBe(2);
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
});

describe("RowTable.sortedOrder", () => {
  it("sorts ascending by several keys, nulls last, stable for ties", () => {
    const t = new RowTable();
    const [a, b, id] = [t.column("a"), t.column("b"), t.column("id")];
    const rows: [unknown, unknown, number][] = [
      ["2", "x", 0],
      [null, "a", 1],
      ["1", "y", 2],
      ["1", "x", 3],
      ["2", "x", 4],
      ["1", null, 5],
    ];
    for (const r of rows) t.push([a, b, id], r);
    expect(t.sortedOrder(["a", "b"]).map((r) => t.get(r, id))).toEqual([3, 2, 5, 0, 4, 1]);
  });
});
