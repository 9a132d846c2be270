import { describe, expect, it } from "vitest";
import { addressNumbers, publishRows, readReadyFile } from "../../src/sources/bt/publish.js";
import type { BtFileType } from "../../src/sources/bt/files.js";
import type { PublishRow } from "../../src/support/drivers.js";
import { ValueIds } from "../../src/util/json-rows.js";
import { md5Concat, pyJson } from "../../src/util/pyjson.js";
import { createMemoryPublisher } from "../../src/drivers/publisher/memory.js";
import { Publisher } from "../../src/support/publisher.js";

// The reference: the original's per-row code (§9.1.4) over parsed rows, with the day's counter fed unmatched rows
// then matched rows.
type Row = Record<string, unknown>;
type Skip = { skip: string };
const WALL = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.\d{1,6})?(?:[+-]\d{2}:\d{2}|Z)?$/;
const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const sv = (v: unknown) => (v === undefined ? null : v) as string | null;
function time(v: unknown, column: string): string | Skip {
  const m = typeof v === "string" ? WALL.exec(v) : null;
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}` : { skip: `${column} missing or not a time` };
}
function name(devices: Map<string, string>, id: unknown, which: string): string | Skip {
  return (typeof id === "string" ? devices.get(id) : undefined) ?? { skip: `${which} device id not among the file's devices` };
}
const isSkip = (v: unknown): v is Skip => typeof v === "object" && v !== null && "skip" in v;

class Counter {
  private readonly numbers = new Map<string, number>();
  add(a: unknown): number | null {
    if (typeof a !== "string") return null;
    if (!this.numbers.has(a)) this.numbers.set(a, this.numbers.size + 1);
    return this.numbers.get(a)!;
  }
}

function referenceRow(fileType: BtFileType, line: Row, devices: Map<string, string>, address: number | null): PublishRow | Skip {
  if (fileType === "unmatched") {
    const host = time(line.host_timestamp, "host_timestamp");
    if (isSkip(host)) return host;
    const field = time(line.field_timestamp, "field_timestamp");
    if (isSkip(field)) return field;
    const reader = name(devices, line.device_id, "reader");
    if (isSkip(reader)) return reader;
    return { host_read_time: host, field_device_read_time: field, reader_identifier: reader, device_address: address, record_id: md5Concat(host, reader, address) };
  }
  const origin = name(devices, line.origin_device_id, "origin");
  if (isSkip(origin)) return origin;
  const dest = name(devices, line.dest_device_id, "destination");
  if (isSkip(dest)) return dest;
  if (fileType === "matched") {
    const start = time(line.start_time, "start_time");
    if (isSkip(start)) return start;
    const end = time(line.end_time, "end_time");
    if (isSkip(end)) return end;
    const [y, m, d] = start.slice(0, 10).split("-").map(Number) as [number, number, number];
    return {
      device_address: address,
      origin_reader_identifier: origin,
      destination_reader_identifier: dest,
      travel_time_seconds: sv(line.travel_time_secs),
      speed_miles_per_hour: sv(line.speed),
      match_validity: sv(line.match_validity),
      filter_identifier: sv(line.filter_id),
      start_time: start,
      end_time: end,
      day_of_week: WEEKDAYS[new Date(Date.UTC(y, m - 1, d)).getUTCDay()],
      record_id: md5Concat(start, end, origin, dest, address),
    };
  }
  const ts = time(line.timestamp, "timestamp");
  if (isSkip(ts)) return ts;
  const seg = sv(line.seg_length);
  return {
    origin_reader_identifier: origin,
    destination_reader_identifier: dest,
    origin_roadway: sv(line.origin_road),
    origin_cross_street: sv(line.origin_cross_st),
    origin_direction: sv(line.origin_dir),
    destination_roadway: sv(line.dest_road),
    destination_cross_street: sv(line.dest_cross_st),
    destination_direction: sv(line.dest_dir),
    segment_length_miles: seg,
    timestamp: ts,
    average_travel_time_seconds: sv(line.avg_travel_time),
    average_speed_mph: sv(line.avg_speed),
    summary_interval_minutes: sv(line.interval),
    number_samples: sv(line.samples),
    standard_deviation: sv(line.std_dev),
    record_id: md5Concat(ts, origin, dest, seg),
  };
}

const DEVICES = [
  { device_name: "r1", device_id: "id1" },
  { device_name: "r2", device_id: "id2" },
  { device_name: "r3", device_id: "id3" },
];
const ids = ["id1", "id2", "id3", "gone", null];
const times = ["2019-06-01 00:00:01-05:00", "2019-06-01 00:00:01-05:00", "2019-06-01 13:59:59.123-05:00", "2019-06-02T00:00:00", "not a time", null, "2019-11-03 01:30:00-06:00"];

function unmatched(n: number): Row[] {
  return Array.from({ length: n }, (_, i) => ({
    host_timestamp: times[i % 7],
    ip_address: "10.0.0.1",
    field_timestamp: times[(i * 3) % 7],
    reader_id: "r",
    dev_addr: i % 13 === 0 ? null : `addr-${(i * 7) % 23}`,
    device_id: ids[(i * 5) % 5],
  }));
}

function matched(n: number): Row[] {
  return Array.from({ length: n }, (_, i) => ({
    dev_addr: `addr-${(i * 11) % 31}`,
    origin_reader_id: "r",
    dest_reader_id: "r",
    start_time: times[i % 7],
    end_time: times[(i + 1) % 7],
    travel_time_secs: String(100 + (i % 4)),
    speed: i % 9 === 0 ? null : "7",
    match_validity: "valid",
    filter_id: "125",
    origin_device_id: ids[i % 4],
    dest_device_id: ids[(i * 3) % 4],
  }));
}

function summary(n: number): Row[] {
  return Array.from({ length: n }, (_, i) => ({
    origin_reader_id: "r",
    dest_reader_id: "r",
    origin_road: "ROAD",
    origin_cross_st: "X",
    origin_dir: "NB",
    dest_road: "ROAD",
    dest_cross_st: "Y",
    dest_dir: "NB",
    seg_length: "0.5",
    timestamp: times[i % 7],
    avg_travel_time: String(i),
    avg_speed: "30",
    interval: "15",
    samples: "4",
    std_dev: "1.5",
    origin_device_id: ids[i % 3],
    dest_device_id: ids[(i + 1) % 4],
  }));
}

function chunks(text: string, size: number): Buffer[] {
  const b = Buffer.from(text, "utf8");
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += size) out.push(b.subarray(i, i + size));
  return out;
}

type Out = { rows: PublishRow[]; skips: string[] };

async function published(fileType: BtFileType, rows: Row[], day: ValueIds | undefined, size: number) {
  return readReadyFile(chunks(pyJson({ header: {}, data: rows, devices: DEVICES }), size), fileType, day, "test");
}

function rowsOf(file: Awaited<ReturnType<typeof published>>, numbers: Int32Array | undefined): Out {
  const out: Out = { rows: [], skips: [] };
  for (const rows of publishRows(file.rows, file.devices, numbers, (s) => out.skips.push(s))) out.rows.push(...rows);
  return out;
}

function reference(fileType: BtFileType, rows: Row[], counter: Counter): Out {
  const out: Out = { rows: [], skips: [] };
  const devices = new Map(DEVICES.map((d) => [d.device_id, d.device_name]));
  for (const line of JSON.parse(pyJson(rows)) as Row[]) {
    const r = referenceRow(fileType, line, devices, fileType === "traf_match_summary" ? null : counter.add(line.dev_addr));
    if (isSkip(r)) out.skips.push(r.skip);
    else out.rows.push(r);
  }
  return out;
}

describe("publishRows", () => {
  const odd: [string, (u: Row[], m: Row[]) => void][] = [
    ["rows as bt-ready writes them", () => undefined],
    [
      "some rows written otherwise (numbers, escapes, another key order, missing fields)",
      (u, m) => {
        u[10]!.dev_addr = 12;
        u[20]!.dev_addr = 'caf\u00e9 "q"';
        u[30] = { device_id: "id1", host_timestamp: times[0], field_timestamp: times[0], dev_addr: "addr-1" };
        delete u[40]!.host_timestamp;
        u[50]!.field_timestamp = 20190601;
        m[5]!.speed = 7.5;
        m[6]!.travel_time_secs = 100;
        delete m[7]!.filter_id;
      },
    ],
  ];
  for (const [what, change] of odd) {
    for (const size of [16, 4096]) {
      it(`give the original's rows, skips, record ids and day numbering: ${what}, ${size}-byte chunks`, async () => {
        const u = unmatched(120);
        const m = matched(80);
        const sm = summary(30);
        change(u, m);
        const day = new ValueIds();
        const fu = await published("unmatched", u, day, size);
        const fm = await published("matched", m, day, size);
        const numbers = addressNumbers(day);
        const counter = new Counter();
        const ru = reference("unmatched", u, counter);
        const rm = reference("matched", m, counter);
        const pu = rowsOf(fu, numbers);
        const pm = rowsOf(fm, numbers);
        expect(pu).toEqual(ru);
        expect(pm).toEqual(rm);
        expect(pu.rows.map((r) => Object.keys(r))).toEqual(ru.rows.map((r) => Object.keys(r)));
        expect(pm.rows.map((r) => Object.keys(r))).toEqual(rm.rows.map((r) => Object.keys(r)));
        expect(ru.rows.length).toBeGreaterThan(10);
        expect(ru.skips.length).toBeGreaterThan(10);
        const ps = rowsOf(await published("traf_match_summary", sm, undefined, size), undefined);
        const rs = reference("traf_match_summary", sm, new Counter());
        expect(ps).toEqual(rs);
        expect(ps.rows.map((r) => Object.keys(r))).toEqual(rs.rows.map((r) => Object.keys(r)));
      });
    }
  }

  it("row shapes: local wall times, reader names from the devices, record_id over str() values, day_of_week", async () => {
    const u = await published("unmatched", [{ host_timestamp: "2019-06-01 00:00:00-05:00", field_timestamp: "2019-06-01 00:00:12-05:00", reader_id: "r1", dev_addr: "addr", device_id: "id1" }], new ValueIds(), 4096);
    expect(rowsOf(u, Int32Array.of(1)).rows).toEqual([
      { host_read_time: "2019-06-01T00:00:00", field_device_read_time: "2019-06-01T00:00:12", reader_identifier: "r1", device_address: 1, record_id: md5Concat("2019-06-01T00:00:00", "r1", 1) },
    ]);
    const line = { dev_addr: "a", origin_reader_id: "r1", dest_reader_id: "r2", start_time: "2019-06-02 23:59:59-05:00", end_time: "2019-06-03 00:10:00-05:00", travel_time_secs: "600", speed: "5", match_validity: "valid", filter_id: "125", origin_device_id: "id1", dest_device_id: "id2" };
    const m = rowsOf(await published("matched", [line, { ...line, start_time: null }, { ...line, end_time: "garbage" }, { ...line, dest_device_id: "nope" }], undefined, 4096), undefined);
    expect(m.rows).toHaveLength(1);
    expect(m.rows[0]).toMatchObject({ day_of_week: "Sunday", device_address: null, start_time: "2019-06-02T23:59:59" });
    expect(m.skips).toEqual(["start_time missing or not a time", "end_time missing or not a time", "destination device id not among the file's devices"]);
  });

  it("numbers the day's addresses by first appearance; null has no number", async () => {
    const day = new ValueIds();
    const rows = ["x", "y", "x", null, "z", "y"].map((a) => ({ host_timestamp: times[0], field_timestamp: times[0], dev_addr: a, device_id: "id1" }));
    const out = rowsOf(await published("unmatched", rows, day, 4096), addressNumbers(day));
    expect(out.rows.map((r) => r.device_address)).toEqual([1, 2, 1, null, 3, 2]);
  });

  it("hands rows over in batches of 1,000", async () => {
    const day = new ValueIds();
    const fu = await published("unmatched", unmatched(3000), day, 4096);
    const sizes = [...publishRows(fu.rows, fu.devices, addressNumbers(day), () => undefined)].map((b) => b.length);
    expect(sizes.length).toBeGreaterThan(1);
    expect(sizes.slice(0, -1).every((n) => n === 1000)).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(rowsOf(fu, addressNumbers(day)).rows.length);
  });

  it("Publisher.addRows sends the rows in the driver's chunks, as addRow does", async () => {
    const driver = createMemoryPublisher(300);
    const p = new Publisher(driver, "ds", "record_id");
    const rows = Array.from({ length: 1000 }, (_, i) => ({ record_id: `r${i}`, n: i }));
    await p.addRows(rows.slice(0, 450));
    await p.addRows(rows.slice(450));
    await p.flush();
    expect(driver.batches.map((b) => b.rows)).toEqual([300, 300, 300, 100]);
    expect(driver.rows("ds")).toEqual(rows);
  });
});
