import { describe, expect, it } from "vitest";
import { ValueIds } from "../../src/sources/bt/flat-rows.js";
import { HeldRows } from "../../src/sources/bt/held-rows.js";
import { scanJsonArray } from "../../src/sources/bt/json-stream.js";
import { addressNumbers, DailyAddressCounter, deviceNames, isSkip, publishHeld, publishRow } from "../../src/sources/bt/publish.js";
import type { BtFileType } from "../../src/sources/bt/files.js";
import type { PublishRow } from "../../src/support/drivers.js";
import { pyJson } from "../../src/util/pyjson.js";
import { createMemoryPublisher } from "../../src/drivers/publisher/memory.js";
import { Publisher } from "../../src/support/publisher.js";

const DEVICES = [
  { device_name: "r1", device_id: "id1" },
  { device_name: "r2", device_id: "id2" },
  { device_name: "r3", device_id: "id3" },
];
const ids = ["id1", "id2", "id3", "gone", null];
const times = ["2019-06-01 00:00:01-05:00", "2019-06-01 00:00:01-05:00", "2019-06-01 13:59:59.123-05:00", "2019-06-02T00:00:00", "not a time", null, "2019-11-03 01:30:00-06:00"];

function unmatched(n: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => ({
    host_timestamp: times[i % 7],
    ip_address: "10.0.0.1",
    field_timestamp: times[(i * 3) % 7],
    reader_id: "r",
    dev_addr: i % 13 === 0 ? null : `addr-${(i * 7) % 23}`,
    device_id: ids[(i * 5) % 5],
  }));
}

function matched(n: number): Record<string, unknown>[] {
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

function summary(n: number): Record<string, unknown>[] {
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

async function held(fileType: BtFileType, rows: Record<string, unknown>[], devAddrIds: ValueIds | undefined, size: number) {
  const h = new HeldRows(fileType, devAddrIds);
  const doc = pyJson({ header: {}, data: rows, devices: DEVICES });
  const rest = await scanJsonArray(chunks(doc, size), "data", (t) => h.addText(t), "test", undefined, (buf, p) => h.addBytes(buf, p));
  return { rows: h, devices: deviceNames(rest.devices) };
}

type Out = { rows: PublishRow[]; skips: string[] };

async function viaHeld(file: Awaited<ReturnType<typeof held>>, numbers: Int32Array | undefined): Promise<Out> {
  const out: Out = { rows: [], skips: [] };
  for (const rows of publishHeld(file.rows, file.devices, numbers, (s) => out.skips.push(s))) out.rows.push(...rows);
  return out;
}

/** The reference: parsed rows, the day's counter fed unmatched then matched, publishRow() per row. */
function viaParsed(fileType: BtFileType, rows: Record<string, unknown>[], counter: DailyAddressCounter): Out {
  const out: Out = { rows: [], skips: [] };
  const devices = deviceNames(DEVICES);
  for (const line of JSON.parse(JSON.stringify(rows)) as Record<string, unknown>[]) {
    const r = publishRow(fileType, line, devices, counter.add(line.dev_addr));
    if (isSkip(r)) out.skips.push(r.skip);
    else out.rows.push(r);
  }
  return out;
}

describe("HeldRows + publishHeld", () => {
  const odd: [string, (u: Record<string, unknown>[], m: Record<string, unknown>[]) => void][] = [
    ["flat rows only", () => undefined],
    [
      "some rows that are not flat (numbers, escapes, another key order, missing fields)",
      (u, m) => {
        u[10]!.dev_addr = 12;
        u[20]!.dev_addr = "caf\u00e9 \"q\"";
        u[30] = { device_id: "id1", host_timestamp: times[0], field_timestamp: times[0], dev_addr: "addr-1" };
        delete u[40]!.host_timestamp;
        m[5]!.speed = 7.5;
        m[6]!.travel_time_secs = 100;
        delete m[7]!.filter_id;
      },
    ],
  ];
  for (const [what, change] of odd) {
    for (const size of [16, 4096]) {
      it(`give the rows, skips, record ids and device_address of publishRow() over parsed rows: ${what}, ${size}-byte chunks`, async () => {
        const u = unmatched(120);
        const m = matched(80);
        const sm = summary(30);
        change(u, m);
        const day = new ValueIds();
        const hu = await held("unmatched", u, day, size);
        const hm = await held("matched", m, day, size);
        const numbers = addressNumbers(day);
        const counter = new DailyAddressCounter();
        const ru = viaParsed("unmatched", u, counter);
        const rm = viaParsed("matched", m, counter);
        const fu = await viaHeld(hu, numbers);
        const fm = await viaHeld(hm, numbers);
        expect(fu).toEqual(ru);
        expect(fm).toEqual(rm);
        expect(fu.rows.map((r) => Object.keys(r))).toEqual(ru.rows.map((r) => Object.keys(r)));
        expect(fm.rows.map((r) => Object.keys(r))).toEqual(rm.rows.map((r) => Object.keys(r)));
        expect(ru.rows.length).toBeGreaterThan(10);
        expect(ru.skips.length).toBeGreaterThan(10);
        const fs = await viaHeld(await held("traf_match_summary", sm, undefined, size), undefined);
        expect(fs).toEqual(viaParsed("traf_match_summary", sm, new DailyAddressCounter()));
      });
    }
  }

  it("hands rows over in batches of 1,000", async () => {
    const day = new ValueIds();
    const hu = await held("unmatched", unmatched(3000), day, 4096);
    const sizes = [...publishHeld(hu.rows, hu.devices, addressNumbers(day), () => undefined)].map((b) => b.length);
    expect(sizes.length).toBeGreaterThan(1);
    expect(sizes.slice(0, -1).every((n) => n === 1000)).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe((await viaHeld(hu, addressNumbers(day))).rows.length);
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
