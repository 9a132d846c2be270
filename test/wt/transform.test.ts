import { describe, expect, it } from "vitest";
import { DateTime } from "luxon";
import { parse } from "csv-parse/sync";
import {
  CSV_HEADER,
  SocrataTimes,
  WallClock,
  deviceId,
  kitsCsv,
  ready,
  socrataRow,
  standardize,
  timebin,
  type StdJson,
  type StdRow,
} from "../../src/sources/wt/transform.js";
import { md5Concat, pyJson } from "../../src/util/pyjson.js";
import type { KitsRow } from "../../src/sources/wt/queries.js";

const ZONE = "America/Chicago";
const HEADER = CSV_HEADER.join(",");

function kits(over: Partial<KitsRow> = {}): KitsRow {
  return {
    detID: 101, intID: 1, curDateTime: "2024-11-05 10:00:00", intName: "LAMARMANCHACA", detName: "NB_in",
    volume: 19, occupancy: 0, speed: 34, status: "Working", uploadSuccess: 100, detCountComparison: 1, dailyCumulative: 19,
    ...over,
  };
}

function stdRow(over: Partial<StdRow> = {}): StdRow {
  return {
    detID: 101, intID: 1, curDateTime: "2024-11-05 10:00:00-06:00", intName: "LAMARMANCHACA", detName: "NB_in",
    volume: 19, occupancy: 0, speed: 34, status: "Working", uploadSuccess: 100, detCountComparison: 1, dailyCumulative: 19,
    ...over,
  };
}

describe("timebin (B18: minutes 53–59 roll into the next hour)", () => {
  it.each([
    [10, 0, "10:00"],
    [10, 7, "10:00"],
    [10, 8, "10:15"],
    [10, 22, "10:15"],
    [10, 23, "10:30"],
    [10, 52, "10:45"],
    [10, 53, "11:00"],
    [10, 59, "11:00"],
    [23, 53, "00:00"],
    [23, 55, "00:00"],
    [0, 0, "00:00"],
  ])("%i:%i → %s", (h, m, bin) => {
    expect(timebin(h, m)).toBe(bin);
  });

  it("a published row at 23:55 bins into the next day's 00:00 and keeps its own hour and day", () => {
    const row = socrataRow(stdRow({ curDateTime: "2024-11-05 23:55:00-06:00" }), new SocrataTimes(ZONE));
    expect(row).toMatchObject({ timebin: "00:00", hour: 23, minute: 55, day: 5, curdatetime: "2024-11-05T23:55:00" });
  });
});

describe("kitsCsv (raw layer)", () => {
  it("writes the original header and \\r\\n line ends", () => {
    const { text, rows } = kitsCsv([kits()]);
    expect(rows).toBe(1);
    expect(text).toBe(`${HEADER}\r\n101,1,2024-11-05 10:00:00,LAMARMANCHACA,NB_in,19,0,34,Working,100,1,19\r\n`);
  });

  it("quotes like Python's csv module (comma, quote, line break) and writes null as empty", () => {
    const { text } = kitsCsv([kits({ intName: "LAMAR, MANCHACA", detName: 'N"B', status: "two\nlines", speed: null })]);
    expect(text.split("\r\n")[1]).toBe('101,1,2024-11-05 10:00:00,"LAMAR, MANCHACA","N""B",19,0,,"two\nlines",100,1,19');
  });

  it("keeps values as the source gave them: 12.5 stays 12.5, a 64-bit integer keeps its digits (issue 14)", () => {
    const { text } = kitsCsv([kits({ detID: "101", volume: "12.5", occupancy: 19.7, dailyCumulative: 9223372036854775807n, speed: "9223372036854775807" })]);
    expect(text.split("\r\n")[1]).toBe("101,1,2024-11-05 10:00:00,LAMARMANCHACA,NB_in,12.5,19.7,9223372036854775807,Working,100,1,9223372036854775807");
  });
});

describe("standardize", () => {
  it("reads every column with its type and the local offset", () => {
    const csv = kitsCsv([kits()]).text;
    const { data, badRows } = standardize(csv, { file: "Austin_wt_2024-11-05.csv", zone: ZONE });
    expect(badRows).toEqual([]);
    expect(pyJson(data)).toBe(
      '[{"detID": 101, "intID": 1, "curDateTime": "2024-11-05 10:00:00-06:00", "intName": "LAMARMANCHACA", "detName": "NB_in", ' +
        '"volume": 19, "occupancy": 0, "speed": 34, "status": "Working", "uploadSuccess": 100, "detCountComparison": 1, "dailyCumulative": 19}]',
    );
  });

  it("skips bad rows with a message naming file, row and field, and keeps the rest of the day", () => {
    const csv =
      `${HEADER}\r\n` +
      "101,1,2024-11-05 10:00:00,LAMARMANCHACA,NB_in,19,0,34,Working,100,1,19\r\n" +
      "101,1,2024-11-05 10:15:00,LAMARMANCHACA,NB_in,abc,0,34,Working,100,1,19\r\n" +
      "101,1,,LAMARMANCHACA,NB_in,3,0,34,Working,100,1,22\r\n" +
      "101,1,2024-13-45 10:45:00,LAMARMANCHACA,NB_in,3,0,34,Working,100,1,22\r\n" +
      "101,1,2024-11-05 11:00:00,LAMARMANCHACA\r\n" +
      "102,1,2024-11-05 11:00:00,LAMARMANCHACA,SB_in,,0,34,Working,100,1,19\r\n" +
      "102,1,2024-11-05 11:15:00,LAMARMANCHACA,SB_in,4,0,34,Working,100,1,23\r\n";
    const { data, badRows } = standardize(csv, { file: "Austin_wt_2024-11-05.csv", zone: ZONE });
    expect(data.map((d) => d.curDateTime)).toEqual(["2024-11-05 10:00:00-06:00", "2024-11-05 11:15:00-06:00"]);
    expect(badRows.map((b) => [b.row, b.field])).toEqual([
      [2, "volume"],
      [3, "curDateTime"],
      [4, "curDateTime"],
      [5, "(row)"],
      [6, "volume"],
    ]);
    expect(badRows[0]!.message).toBe('Austin_wt_2024-11-05.csv row 2: field "volume" is "abc", not an integer; row skipped');
    expect(badRows[1]!.message).toBe('Austin_wt_2024-11-05.csv row 3: field "curDateTime" is empty; row skipped');
    expect(badRows[3]!.message).toContain("4 fields where the header has 12");
    expect(badRows[4]!.message).toContain('field "volume" is empty');
  });

  it("gives the rules the file's line of each row (BOM, blank lines and the header counted), reads quoted values back as written", () => {
    const csv = `\ufeff${kitsCsv([kits(), kits({ intName: "A, B" }), kits({ intName: "two\r\nlines" }), kits({ detID: 7 })]).text.replace("\r\n", "\r\n\r\n")}`;
    const lines: number[] = [];
    const rules = () => ({ accept: (_v: (c: number) => unknown, where: { line?: number }) => (lines.push(where.line!), true) });
    const { data, badRows } = standardize(csv, { file: "f.csv", zone: ZONE, rules });
    expect(badRows).toEqual([]);
    expect(lines).toEqual([3, 4, 5, 7]);
    expect(data.map((d) => d.intName)).toEqual(["LAMARMANCHACA", "A, B", "two\r\nlines", "LAMARMANCHACA"]);
  });

  it("a record that is not CSV (a quote never closed) is a bad row naming its line; the rows before it are kept", () => {
    const csv = `${HEADER}\r\n${kitsCsv([kits()]).text.split("\r\n")[1]}\r\n101,1,2024-11-05 10:15:00,"LAMAR,NB_in,19,0,34,Working,100,1,19\r\n`;
    const { data, badRows } = standardize(csv, { file: "f.csv", zone: ZONE });
    expect(data).toHaveLength(1);
    expect(badRows.map((b) => [b.row, b.field])).toEqual([[2, "(row)"]]);
    expect(badRows[0]!.message).toMatch(/^f\.csv row 2: line 3 a quoted value is not closed/);
  });

  it("refuses an empty file", () => {
    expect(() => standardize("", { file: "x.csv", zone: ZONE })).toThrow(/x\.csv: the file is empty \(no header line\)/);
  });

  it("a header-only file is a day without readings", () => {
    expect(standardize(`${HEADER}\r\n`, { file: "x.csv", zone: ZONE }).data).toEqual([]);
  });

  it("refuses a file whose header lacks columns, naming them", () => {
    expect(() => standardize("detID,intID\r\n1,2\r\n", { file: "x.csv", zone: ZONE })).toThrow(/x\.csv: header line lacks column\(s\) curDateTime, intName/);
  });

  it("perfmet: per intersection the volume sum and the first/last time as instants (B11), skipping empty names", () => {
    const csv = kitsCsv([
      kits({ curDateTime: "2024-11-05 09:00:00", volume: 5 }),
      kits({ curDateTime: "2024-11-05 23:45:00", volume: 7 }),
      kits({ curDateTime: "2024-11-05 00:15:00", volume: 1 }),
      kits({ intName: "", volume: 100 }),
      kits({ intName: "nan", volume: 100 }),
    ]).text;
    const { perf } = standardize(csv, { file: "f.csv", zone: ZONE });
    expect([...perf.keys()]).toEqual(["LAMARMANCHACA"]);
    const p = perf.get("LAMARMANCHACA")!;
    expect(p.volume).toBe(13);
    expect(p.min!.toISO()).toBe("2024-11-05T00:15:00.000-06:00");
    expect(p.max!.toISO()).toBe("2024-11-05T23:45:00.000-06:00");
  });
});

describe("the fall-back hour (2024-11-03, America/Chicago)", () => {
  it("WallClock gives a repeated wall time daylight time first, standard time second", () => {
    const c = new WallClock(ZONE);
    expect(c.isAmbiguous("2024-11-03 01:15:00")).toBe(true);
    expect(c.isAmbiguous("2024-11-03 00:45:00")).toBe(false);
    expect(c.isAmbiguous("2024-11-03 02:00:00")).toBe(false);
    expect(c.at("2024-11-03 01:15:00", 0)!.text).toBe("2024-11-03 01:15:00-05:00");
    expect(c.at("2024-11-03 01:15:00", 1)!.text).toBe("2024-11-03 01:15:00-06:00");
    expect(c.at("2024-11-03 02:00:00", 0)!.text).toBe("2024-11-03 02:00:00-06:00");
  });

  it("standardize counts occurrences per detector", () => {
    const csv = kitsCsv([
      kits({ detID: 101, curDateTime: "2024-11-03 01:00:00" }),
      kits({ detID: 102, curDateTime: "2024-11-03 01:00:00" }),
      kits({ detID: 101, curDateTime: "2024-11-03 01:00:00" }),
      kits({ detID: 102, curDateTime: "2024-11-03 01:00:00" }),
    ]).text;
    const { data } = standardize(csv, { file: "f.csv", zone: ZONE });
    expect(data.map((d) => `${d.detID} ${d.curDateTime}`)).toEqual([
      "101 2024-11-03 01:00:00-05:00",
      "102 2024-11-03 01:00:00-05:00",
      "101 2024-11-03 01:00:00-06:00",
      "102 2024-11-03 01:00:00-06:00",
    ]);
  });

  it("the second pass gets its own row_id; the first keeps the original's md5(intname + time + detid)", () => {
    const times = new SocrataTimes(ZONE);
    const first = socrataRow(stdRow({ curDateTime: "2024-11-03 01:00:00-05:00" }), times);
    const second = socrataRow(stdRow({ curDateTime: "2024-11-03 01:00:00-06:00" }), times);
    expect(first.curdatetime).toBe("2024-11-03T01:00:00");
    expect(second.curdatetime).toBe("2024-11-03T01:00:00");
    expect(first.row_id).toBe("9929676738d8e9707e2ec8c35ed1d01c"); // Python: md5("LAMARMANCHACA" "2024-11-03T01:00:00" "101")
    expect(second.row_id).toBe(md5Concat("LAMARMANCHACA", "2024-11-03T01:00:00-06:00", 101));
    expect(second.row_id).not.toBe(first.row_id);
    expect(first.day_of_week).toBe(0); // a Sunday
  });
});

describe("device ids and the ready join", () => {
  const device = { device_type: "RADAR", device_name: "X_RADAR", device_ip: "10.0.0.1", lat: 30.25, lon: -97, kits_id: 1 };

  it("hashes Python str() of type, name, ip, lat, lon (floats print 30.25 and -97.0)", () => {
    expect(deviceId(device)).toBe("3322d48e67e1cc0b1823b6462919f54f");
  });

  it("a missing coordinate in a float column prints nan; in a column of no numbers None", () => {
    expect(deviceId({ ...device, device_ip: null, lat: null, lon: null })).toBe("a8c18ff19d1cdb99811c0e74c61b3851");
    expect(deviceId({ ...device, device_type: null, lat: null, lon: null }, { lat: false, lon: false })).toBe("57af784aebb8fb3a11183ffaa59cf600");
  });

  const std: StdJson = {
    header: { data_type: "wavetronix", origin_filename: "o.csv", target_filename: "t.json", collection_date: "c", processing_date: "old" },
    data: [
      stdRow({ detID: 102, curDateTime: "2024-11-03 01:00:00-06:00" }),
      stdRow({ detID: 102, curDateTime: "2024-11-03 01:15:00-05:00" }),
      stdRow({ detID: 101, curDateTime: "2024-11-03 01:15:00-05:00" }),
      stdRow({ detID: 401, intID: 4, intName: "LAMARBRAKER" }),
      stdRow({ detID: 402, intID: 4, intName: "LAMARBRAKER" }),
    ],
  };

  it("sorts by instant then detID, drops and counts rows of intersections without a device, keeps ids integers (B46)", () => {
    const devices = [
      { ...device, coa_intersection_id: 5152102, kits_id: 1 },
      { ...device, device_name: "NOKITS", coa_intersection_id: null, kits_id: null },
    ];
    const processing = DateTime.fromISO("2024-11-20T10:00:00", { zone: ZONE });
    const { json, dropped } = ready(std, devices, processing);
    expect(json.data.map((r) => `${r.detID} ${r.curDateTime}`)).toEqual([
      "101 2024-11-03 01:15:00-05:00",
      "102 2024-11-03 01:15:00-05:00",
      "102 2024-11-03 01:00:00-06:00",
    ]);
    expect([...dropped.entries()]).toEqual([[4, { intName: "LAMARBRAKER", rows: 2 }]]);
    expect(json.header.processing_date).toBe("2024-11-20 10:00:00-06:00");
    expect(Object.keys(json.header)).toEqual(["data_type", "origin_filename", "target_filename", "collection_date", "processing_date"]);
    expect(json.devices).toHaveLength(1);
    expect(pyJson(json.devices)).toContain('"lat": 30.25, "lon": -97.0, "kits_id": 1, "coa_intersection_id": 5152102');
    expect(Object.keys(json.data[0]!).at(-1)).toBe("device_id");
  });

  it("two devices with one kits_id give each row once per device (the original's inner join)", () => {
    const devices = [device, { ...device, device_name: "TWIN" }];
    const { json } = ready({ ...std, data: [stdRow()] }, devices, DateTime.now().setZone(ZONE));
    expect(json.data.map((r) => r.device_id)).toEqual([deviceId(device), deviceId({ ...device, device_name: "TWIN" })]);
  });
});

describe("socrataRow", () => {
  it("has the original's columns in order, Sunday = 0, direction before the first underscore", () => {
    const row = socrataRow(stdRow({ curDateTime: "2024-11-10 07:38:00-06:00", detName: "EB_out_2" }), new SocrataTimes(ZONE));
    expect(Object.keys(row)).toEqual([
      "detid", "int_id", "curdatetime", "intname", "detname", "volume", "occupancy", "speed", "month", "day", "year",
      "hour", "minute", "day_of_week", "timebin", "direction", "row_id",
    ]);
    expect(row).toMatchObject({ curdatetime: "2024-11-10T07:38:00", day_of_week: 0, timebin: "07:45", direction: "EB", month: 11, year: 2024 });
    expect(row.row_id).toBe(md5Concat("LAMARMANCHACA", "2024-11-10T07:38:00", 101));
  });

  it("a time without an offset is read as local wall clock", () => {
    const row = socrataRow(stdRow({ curDateTime: "2024-11-05 10:00:00" }), new SocrataTimes("Asia/Tokyo"));
    expect(row).toMatchObject({ curdatetime: "2024-11-05T10:00:00", hour: 10, day: 5 });
  });

  it("a detector name without underscore is its own direction", () => {
    expect(socrataRow(stdRow({ detName: "NB" }), new SocrataTimes(ZONE)).direction).toBe("NB");
  });

  it("rejects an unreadable timestamp", () => {
    expect(() => socrataRow(stdRow({ curDateTime: "yesterday" }), new SocrataTimes(ZONE))).toThrow(/timestamp "yesterday"/);
  });
});

it("the raw CSV parses back to the same cells (round trip through csv-parse)", () => {
  const rows = [kits(), kits({ intName: "A, B" })];
  const back = parse(kitsCsv(rows).text) as string[][];
  expect(back[0]).toEqual([...CSV_HEADER]);
  expect(back[2]![3]).toBe("A, B");
});
